import ArgumentParser
import Dispatch
import ImagingX
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct ImagingXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imagingx",
        abstract: "Learn what is inside medical imaging datasets (DICOM, NIfTI, PNG, JPEG).",
        subcommands: [Scan.self, Series.self, Fingerprint.self, CatalogCommand.self, CompatCommand.self, PlanCommand.self, ProfileCommand.self])
}

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read every file's header under PATH... and write one record per file, ordered by path.",
        discussion: """
            Exit status: 0 when the scan completed (per-file errors are counted in the records), \
            1 when a root cannot be read (or, with --strict, when any file is in error), 2 on usage errors.
            """)

    @Argument(help: "Directories (walked recursively) or single files.")
    var paths: [String]

    @Option(name: .shortAndLong, help: "Write records to FILE instead of standard output ('-': standard output).")
    var output: String?

    @Option(help: "Record format: jsonl or csv.")
    var format: String = "jsonl"

    @Option(name: .shortAndLong, help: "Parallel workers (default: the number of cores).")
    var jobs: Int?

    @Flag(help: "Include hidden files and directories (names starting with '.').")
    var all = false

    @Flag(help: "Exit 1 when any file's record has status error.")
    var strict = false

    @Flag(help: "No summary or progress on standard error.")
    var quiet = false

    @Flag(help: "Decode pixels and add intensity statistics (stats, stats_error) to each image record.")
    var stats = false

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be jsonl or csv, not '\(format)'")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if paths.isEmpty { throw ValidationError("give at least one PATH") }
    }

    func run() throws {
        let logger = Logger(label: "imagingx.scan")
        let started = DispatchTime.now().uptimeNanoseconds
        let outputFormat = OutputFormat(rawValue: format)!
        let workers = jobs ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))


        let sink: OutputSink
        if let output, output != "-" {
            // Never truncate data: refuse an --output that already holds an image.
            var existing = stat()
            if stat(output, &existing) == 0, (existing.st_mode & S_IFMT) == S_IFREG, existing.st_size > 0 {
                let record = FileReader().read(fullPath: output, path: output)
                if record.format != .unknown || record.error?.contains("gzip") == true {
                    writeStderr("imagingx: refusing to overwrite \(output): it holds \(record.format.rawValue) data\n")
                    throw ExitCode(2)
                }
            }
            guard let file = OutputSink(path: output) else {
                logger.error("cannot write \(output): \(String(cString: strerror(errno)))")
                throw ExitCode(1)
            }
            sink = file
        } else {
            sink = OutputSink(fd: 1)
        }
        if outputFormat == .csv { sink.write(RecordWriter.csvHeader(stats: stats)) }

        let showProgress = !quiet && isatty(2) == 1
        var lastProgress = started
        let scanner = Scanner(jobs: workers, format: outputFormat, batchSize: stats ? 256 : 4096, options: ReadOptions(stats: stats))
        var walker = Walker(includeHidden: all)
        var outputStat = stat()
        if sink.owned, fstat(sink.fd, &outputStat) == 0 {
            // Writing the records inside a scanned folder must not scan them too.
            walker.excluded = [(UInt64(outputStat.st_dev), UInt64(outputStat.st_ino))]
        }
        let (summary, rootErrors, skipped) = scanner.scan(
            roots: paths, walker: walker,
            emit: { (bytes: UnsafeRawBufferPointer) in sink.write(bytes) },
            progress: { done in
                guard showProgress else { return }
                let now = DispatchTime.now().uptimeNanoseconds
                if now - lastProgress > 200_000_000 {
                    lastProgress = now
                    let seconds = Double(now - started) / 1e9
                    let rate = seconds > 0 ? Double(done) / seconds : 0
                    writeStderr("\r\u{1B}[Kscanned \(done) files, \(Int(rate)) files/s")
                }
            })
        for e in rootErrors {
            logger.error("cannot read root \(e.root): \(e.message)")
        }
        sink.close()
        if showProgress { writeStderr("\r\u{1B}[K") }

        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        if !quiet {
            var lines: [String] = []
            let formats = FileFormat.allCases.compactMap { f -> String? in
                guard let n = summary.byFormat[f], n > 0 else { return nil }
                return "\(f.rawValue) \(n)"
            }
            lines.append("scanned \(summary.files) files in \(formatted(seconds, seconds < 1 ? 3 : 2)) s (\(Int(seconds > 0 ? Double(summary.files) / seconds : 0)) files/s, \(workers) job\(workers == 1 ? "" : "s"))")
            lines.append("formats: " + (formats.isEmpty ? "none" : formats.joined(separator: ", ")))
            lines.append("errors \(summary.errors), unsupported \(summary.unsupported), with findings \(summary.withFindings), skipped (not regular files) \(skipped)")
            lines.append("bytes read \(summary.bytesRead) (\(formatted(Double(summary.bytesRead) / Double(max(summary.files, 1)), 0)) per file)")
            writeStderr(lines.joined(separator: "\n") + "\n")
        }
        if !rootErrors.isEmpty { throw ExitCode(1) }
        if strict, summary.errors > 0 { throw ExitCode(1) }
    }
}

func formatted(_ v: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let r = (v * scale).rounded() / scale
    return decimals == 0 ? String(Int(r)) : String(r)
}

func writeStderr(_ s: String) {
    var bytes = Array(s.utf8)
    bytes.withUnsafeMutableBytes { raw in
        var done = 0
        while done < raw.count {
            let n = Glibc.write(2, raw.baseAddress! + done, raw.count - done)
            if n <= 0 { break }
            done += n
        }
    }
}

/// Buffered writes to a descriptor (stdout or a created file).
final class OutputSink {
    let fd: Int32
    let owned: Bool

    init(fd: Int32) {
        self.fd = fd
        owned = false
    }

    init?(path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        self.fd = fd
        owned = true
    }

    func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    func write(_ raw: UnsafeRawBufferPointer) {
        var done = 0
        while done < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
    }

    func close() {
        if owned { _ = Glibc.close(fd) }
    }
}
