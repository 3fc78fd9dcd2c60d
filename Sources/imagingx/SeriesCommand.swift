import ArgumentParser
import ImagingX
#if canImport(Glibc)
import Glibc
#endif

struct Series: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Assemble DICOM files into series volumes and check their geometry; one JSON line per volume.",
        discussion: """
            Files are grouped by series (hashed SeriesInstanceUID), orientation and grid; slices are ordered \
            by ImagePositionPatient projected on the slice normal. Each line gives dims, spacing (slice spacing \
            from positions), affine, axcodes and the geometry flags (single and orthogonal orientation, unique \
            positions, consistent pixel spacing and grid, uniform spacing within 0.2 mm, missing slices, gantry \
            tilt, regular_volume). Localizers, single slices and multi-frame objects are reported, not assembled.
            """)

    @Argument(help: "Directories (walked recursively) or files.")
    var paths: [String]

    @Option(name: .shortAndLong, help: "Write to FILE instead of standard output ('-': standard output); a FILE holding image data is refused.")
    var output: String?

    @Flag(help: "Decode pixels and add volume statistics (slices pooled exactly).")
    var stats = false

    @Option(name: .shortAndLong, help: "Parallel workers (default: the number of cores).")
    var jobs: Int?

    @Flag(help: "Include hidden files and directories.")
    var all = false

    @Option(help: ArgumentHelp("Only the DICOM files of the directories shard K of N owns (a part for `imagingx merge`; needs --output).", valueName: "K/N"))
    var shard: String?

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        try validateShard(shard, output: output)
    }

    func run() throws {
        var request = SeriesRequest(paths: paths)
        request.jobs = jobs
        request.includeHidden = all
        request.stats = stats
        request.shard = shard.flatMap(Shard.init(spec:))
        let line = PoolProgressLine(label: "series", enabled: isatty(2) == 1)
        let result = Application.series(request)
        line.stop()
        for e in result.rootErrors { writeStderr("imagingx: cannot read root \(e.root): \(e.message)\n") }
        if request.shard != nil, let output {
            do { try Application.writeSeriesShard(result, request: request, to: output) } catch {
                writeStderr("imagingx: \(error)\n")
                throw ExitCode(1)
            }
            if !result.rootErrors.isEmpty { throw ExitCode(1) }
            return
        }
        let bytes = try result.jsonLines()
        if let output, output != "-" {
            do {
                // The same guard as `scan --output`: never truncate a file that holds image data.
                let sink = try Application.openSink(.file(output))
                sink.write(bytes)
                sink.close()
            } catch {
                writeStderr("imagingx: \(error)\n")
                if case .wouldOverwriteImageData = error { throw ExitCode(2) }
                throw ExitCode(1)
            }
        } else {
            FileSink(fd: 1).write(bytes)
        }
        if !result.rootErrors.isEmpty { throw ExitCode(1) }
    }
}
