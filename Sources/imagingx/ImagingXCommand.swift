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
        subcommands: [Scan.self, Series.self, Fingerprint.self, CatalogCommand.self, CompatCommand.self, PlanCommand.self,
                      ProfileCommand.self, IndexCommand.self, ExportCommand.self, ServeCommand.self, MergeCommand.self])
}

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read every file's header under PATH... and write one record per file, ordered by path.",
        discussion: """
            Exit status: 0 when the scan completed (per-file errors are counted in the records), \
            1 when a root cannot be read (or, with --strict, when any file is in error), 2 on usage errors.
            """)

    @Argument(help: "Directories (walked recursively) or single files; or one s3://bucket/prefix (S3-compatible object storage).")
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

    @Option(help: "s3:// only: requests in flight (default 64).")
    var ioDepth: Int = 64

    @Flag(help: "s3:// only: anonymous requests (public buckets); no credentials are read.")
    var noSignRequest = false

    @Option(help: "s3:// only: seconds one request may take, body included, before it is retried (default 30).")
    var requestTimeout: Double = 30

    func validate() throws {
        if paths.contains(where: RemoteScanRequest.isRemote) {
            guard paths.count == 1 else { throw ValidationError("give one s3:// URL alone, not with other paths") }
            guard ioDepth >= 1, ioDepth <= 4096 else { throw ValidationError("--io-depth must be 1...4096") }
            guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
        }
        guard OutputFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be jsonl or csv, not '\(format)'")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if paths.isEmpty { throw ValidationError("give at least one PATH") }
        try validateShard(shard, output: output)
    }

    @Flag(help: "Add each file's device, inode, mtime_ns and ctime_ns (what an index compares; null for s3:// objects).")
    var fileStat = false

    @Option(help: ArgumentHelp("Only shard K of N (0 ≤ K < N): the files of the directories whose hash falls to K. Needs --output; `imagingx merge` joins the parts.", valueName: "K/N"))
    var shard: String?

    func run() throws {
        if paths.count == 1, RemoteScanRequest.isRemote(paths[0]) { return try runRemote() }
        let logger = Logger(label: "imagingx.scan")
        var request = ScanRequest(paths: paths)
        request.format = OutputFormat(rawValue: format)!
        request.jobs = jobs
        request.includeHidden = all
        request.stats = stats
        request.fileStat = fileStat
        request.shard = shard.flatMap(Shard.init(spec:))
        if let output, output != "-" { request.destination = .file(output) }

        // A live line on a terminal only (never into a file or pipe).
        let bar = ProgressBar(label: "scan", enabled: !quiet && isatty(2) == 1)
        let result: ScanResult
        do {
            result = try Application.scan(request) { p in
                bar.update(done: p.done, total: p.walkFinished ? p.walked : nil, found: p.walked, bytes: p.bytes, seconds: p.seconds)
            }
        } catch {
            bar.clear()
            switch error {
            case .shardNeedsFile:
                writeStderr("imagingx: \(error)\n")
                throw ExitCode(2)
            case .wouldOverwriteImageData:
                writeStderr("imagingx: \(error)\n")
                throw ExitCode(2)
            case .cannotWrite:
                logger.error("\(error)")
                throw ExitCode(1)
            }
        }
        for e in result.rootErrors {
            logger.error("cannot read root \(e.root): \(e.message)")
        }
        bar.clear()
        if !quiet {
            let summary = result.summary
            var lines: [String] = []
            let formats = FileFormat.allCases.compactMap { f -> String? in
                guard let n = summary.byFormat[f], n > 0 else { return nil }
                return "\(f.rawValue) \(n)"
            }
            lines.append("scanned \(summary.files) files in \(formatted(result.seconds, result.seconds < 1 ? 3 : 2)) s (\(Int(result.filesPerSecond)) files/s, \(result.jobs) job\(result.jobs == 1 ? "" : "s"))")
            lines.append("formats: " + (formats.isEmpty ? "none" : formats.joined(separator: ", ")))
            lines.append("errors \(summary.errors), unsupported \(summary.unsupported), with findings \(summary.withFindings), skipped (not regular files) \(result.skipped)")
            lines.append("bytes read \(summary.bytesRead) (\(formatted(Double(summary.bytesRead) / Double(max(summary.files, 1)), 0)) per file)")
            writeStderr(lines.joined(separator: "\n") + "\n")
        }
        if !result.rootErrors.isEmpty { throw ExitCode(1) }
        if strict, result.summary.errors > 0 { throw ExitCode(1) }
    }
}

extension Scan {
    /// `scan s3://bucket/prefix`.
    func runRemote() throws {
        var request = RemoteScanRequest(url: paths[0])
        request.format = OutputFormat(rawValue: format)!
        request.stats = stats
        request.fileStat = fileStat
        request.includeHidden = all
        request.ioDepth = ioDepth
        request.unsigned = noSignRequest
        request.requestTimeout = requestTimeout
        request.shard = shard.flatMap(Shard.init(spec:))
        if let output, output != "-" { request.destination = .file(output) }
        // Updated from the scan's task only, while this thread waits.
        nonisolated(unsafe) let bar = ProgressBar(label: "scan", enabled: !quiet && isatty(2) == 1)
        let started = DispatchTime.now().uptimeNanoseconds
        let result: RemoteScanResult
        do {
            result = try Application.scanRemote(request) { done, total in
                bar.update(done: done, total: total, found: total, bytes: 0,
                           seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            }
        } catch {
            bar.clear()
            writeStderr("imagingx: \(error)\n")
            switch error {
            case .usage, .output(.wouldOverwriteImageData): throw ExitCode(2)
            default: throw ExitCode(1)
            }
        }
        bar.clear()
        if !quiet {
            let s = result.summary
            writeStderr("""
                scanned \(s.files) objects in \(formatted(result.seconds, result.seconds < 1 ? 3 : 2)) s (\(Int(result.filesPerSecond)) files/s, io-depth \(ioDepth))
                errors \(s.errors), unsupported \(s.unsupported), with findings \(s.withFindings)
                requests \(result.requests), retries \(result.retries), range ignored \(result.rangeIgnored), bytes read \(s.bytesRead) (\(formatted(Double(s.bytesRead) / Double(max(s.files, 1)), 0)) per object)

                """)
        }
        if strict, result.summary.errors > 0 { throw ExitCode(1) }
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

/// A `--shard K/N` option: well formed, in range, and with a file to write the part to.
func validateShard(_ spec: String?, output: String?) throws {
    guard let spec else { return }
    guard Shard(spec: spec) != nil else {
        throw ValidationError("--shard must be K/N with 0 ≤ K < N ≤ \(Shard.maxCount), not '\(spec)'")
    }
    guard let output, output != "-" else { throw ValidationError("--shard needs --output FILE (the part's manifest is written beside it)") }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the parts of a sharded run (scan, index) into what one run over the whole tree writes.",
        discussion: """
            Each part needs its manifest (PART.shard.json, written by --shard). Parts of different \
            commands, versions, roots or options, or a set that is not exactly shards 0..N-1, are \
            refused with the reason (exit 2).
            """)

    @Argument(help: "The parts (the files written by --output or --db with --shard).")
    var parts: [String]

    @Option(name: .shortAndLong, help: "The merged file.")
    var output: String

    @Flag(help: "No summary on standard error.")
    var quiet = false

    func run() throws {
        do {
            let r = try Application.merge(parts: parts, output: output)
            if !quiet {
                writeStderr("merged \(r.parts) \(r.command) part\(r.parts == 1 ? "" : "s"): \(r.records) records in \(formatted(r.seconds, 2)) s\n")
            }
        } catch {
            writeStderr("imagingx merge: \(error)\n")
            if case .cannotWrite = error { throw ExitCode(1) }
            throw ExitCode(2)
        }
    }
}
