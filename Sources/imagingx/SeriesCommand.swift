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

    @Option(name: .shortAndLong, help: "Write to FILE instead of standard output.")
    var output: String?

    @Flag(help: "Decode pixels and add volume statistics (slices pooled exactly).")
    var stats = false

    @Option(name: .shortAndLong, help: "Parallel workers (default: the number of cores).")
    var jobs: Int?

    @Flag(help: "Include hidden files and directories.")
    var all = false

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let walk = Walker(includeHidden: all).walk(paths)
        for e in walk.errors { writeStderr("imagingx: cannot read root \(e.root): \(e.message)\n") }
        let workers = jobs ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let series = SeriesAssembler.scan(walk.entries, jobs: workers, stats: stats)
        var bytes: [UInt8] = []
        for s in series { bytes += try SeriesAssembler.jsonLine(s) }
        if let output {
            guard let sink = OutputSink(path: output) else {
                writeStderr("imagingx: cannot write \(output): \(String(cString: strerror(errno)))\n")
                throw ExitCode(1)
            }
            sink.write(bytes)
            sink.close()
        } else {
            bytes.withUnsafeBytes { _ = Glibc.write(1, $0.baseAddress, $0.count) }
        }
        if !walk.errors.isEmpty { throw ExitCode(1) }
    }
}
