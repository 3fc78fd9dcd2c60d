import ArgumentParser
import Dispatch
import ImagingX
#if canImport(Glibc)
import Glibc
#endif

struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Bring a persistent index (SQLite) up to date with PATH...: only new or changed files are read.",
        discussion: """
            A file whose device, inode, size, mtime and ctime are unchanged is not opened again; files that are \
            gone leave the index; a folder that is missing (an unmounted disk) is marked unavailable and keeps its \
            rows. An s3://bucket/prefix root is listed instead of walked: an object whose size, LastModified and ETag \
            are unchanged is not read again, and a listing that fails keeps the rows. Exit status: 0 when every root was indexed, 1 when a root is unavailable or the index cannot be \
            used (another job writing it, a damaged or newer file), 2 on usage errors.
            """)

    @Argument(help: "Folders to index, or s3://bucket/prefix (object storage; needs --no-datasets).")
    var paths: [String]

    @Option(help: ArgumentHelp("The index file (created when missing), or a PostgreSQL database: postgres://USER@HOST:PORT/DBNAME "
                               + "(password from the URL or PGPASSWORD).", valueName: "FILE|URL"))
    var db: String = "imagingx-index.sqlite"

    @Flag(help: "Decode pixels: records get intensity statistics, as scan --stats.")
    var stats = false

    @Option(name: .shortAndLong, help: "Parallel workers (default: the number of cores).")
    var jobs: Int?

    @Flag(help: "Include hidden files and directories.")
    var all = false

    @Flag(help: "Do not fingerprint the datasets found under the roots.")
    var noDatasets = false

    @Flag(help: "No summary or progress on standard error.")
    var quiet = false

    @Option(help: ArgumentHelp("Only shard K of N of one folder: the --db file becomes a part for `imagingx merge`; "
                               + "with PostgreSQL, N writers share the one database (each dataset is reduced when the last shard's part is in).", valueName: "K/N"))
    var shard: String?

    @Option(help: "s3:// only: requests in flight (default 64).")
    var ioDepth: Int = 64

    @Flag(help: "s3:// only: anonymous requests (public buckets); no credentials are read.")
    var noSignRequest = false

    @Option(help: "s3:// only: seconds one request may take, body included, before it is retried (default 30).")
    var requestTimeout: Double = 30

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if paths.isEmpty { throw ValidationError("give at least one folder") }
        if paths.contains(where: RemoteScanRequest.isRemote) {
            if !noDatasets {
                throw ValidationError("s3:// roots need --no-datasets: the dataset pass reads folders on a local disk, not objects")
            }
            guard ioDepth >= 1, ioDepth <= 4096 else { throw ValidationError("--io-depth must be 1...4096") }
            guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
        }
        try validateShard(shard, output: db)
        if shard != nil, paths.count != 1 { throw ValidationError("--shard indexes one folder") }
        if PostgresURL.isPostgres(db) {
            do { _ = try PostgresURL(db, environment: PostgresURL.processEnvironment) } catch { throw ValidationError("--db: \(error.reason)") }
        }
    }

    /// The --db as printed: a PostgreSQL URL without its password.
    var shownDB: String {
        guard PostgresURL.isPostgres(db) else { return db }
        return (try? PostgresURL(db).redacted) ?? "PostgreSQL"
    }

    func run() throws {
        var request = IndexRequest(paths: paths, database: db)
        request.stats = stats
        request.jobs = jobs
        request.includeHidden = all
        request.datasets = !noDatasets
        request.shard = shard.flatMap(Shard.init(spec:))
        request.remote.ioDepth = ioDepth
        request.remote.unsigned = noSignRequest
        request.remote.requestTimeout = requestTimeout
        let bar = ProgressBar(label: "index", enabled: !quiet && isatty(2) == 1)
        let result: IndexResult
        do {
            result = try Application.index(request) { p in bar.update(p) }
        } catch {
            bar.clear()
            throw fail(error, status: 1)
        }
        bar.clear()
        if !quiet {
            for r in result.roots {
                if r.available {
                    writeStderr("indexed \(r.path): \(r.seen) files, \(r.read) read, \(r.unchanged) unchanged, \(r.removed) removed, "
                                + "\(r.errors) errors; datasets \(r.datasetsFingerprinted) fingerprinted, \(r.datasetsKept) unchanged\n")
                } else {
                    writeStderr("imagingx: \(r.path) is unavailable (\(r.reason ?? "cannot be read")); its indexed files are kept\n")
                }
            }
            let files = result.roots.reduce(0) { $0 + $1.seen }
            writeStderr("\(files) files in \(formatted(result.seconds, result.seconds < 1 ? 3 : 2)) s "
                        + "(\(Int(result.seconds > 0 ? Double(files) / result.seconds : 0)) files/s, \(result.jobs) jobs) → \(shownDB)\n")
        }
        if result.roots.contains(where: { !$0.available }) { throw ExitCode(1) }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print the indexed records exactly as `scan` prints them for the same folders and options.")

    @Option(help: ArgumentHelp("The index file, or a PostgreSQL database: postgres://USER@HOST:PORT/DBNAME.", valueName: "FILE|URL"))
    var db: String = "imagingx-index.sqlite"

    @Option(help: "Record format: jsonl or csv.")
    var format: String = "jsonl"

    @Flag(help: "Add stats and stats_error (the index must have been made with --stats).")
    var stats = false

    @Flag(help: "Add device, inode, mtime_ns and ctime_ns.")
    var fileStat = false

    @Option(name: .customLong("root"), help: "Only this indexed root (repeatable; default: all).")
    var roots: [String] = []

    @Option(name: .shortAndLong, help: "Write to FILE instead of standard output.")
    var output: String?

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil else { throw ValidationError("--format must be jsonl or csv, not '\(format)'") }
    }

    func run() throws {
        var request = ExportRequest(database: db)
        request.format = OutputFormat(rawValue: format)!
        request.stats = stats
        request.fileStat = fileStat
        request.roots = roots
        if let output, output != "-" { request.destination = .file(output) }
        do { _ = try Application.export(request) } catch {
            throw fail(error, status: 1)
        }
    }
}

/// A live progress line on standard error (never to a file or pipe): done/total with percent,
/// files/s and MB/s over the last seconds and an ETA once the walk has counted the files;
/// a count with a rate while it is still walking.
final class ProgressBar {
    let label: String
    let enabled: Bool
    private var samples: [(t: Double, done: Int, bytes: Int)] = []
    private var lastDraw = -1.0
    private var drawn = false

    init(label: String, enabled: Bool) {
        self.label = label
        self.enabled = enabled
    }

    func update(_ p: IndexProgress) {
        if p.phase == "datasets" {
            guard enabled, p.seconds - lastDraw >= 0.2 || p.datasetsDone == p.datasetsTotal else { return }
            lastDraw = p.seconds
            writeStderr("\r\u{1B}[K\(label): fingerprinting changed datasets \(p.datasetsDone)/\(p.datasetsTotal)")
            drawn = true
            return
        }
        update(done: p.done, total: p.walkFinished ? p.seen : nil, found: p.seen, bytes: p.bytes, seconds: p.seconds)
    }

    func update(done: Int, total: Int?, found: Int, bytes: Int, seconds: Double) {
        guard enabled else { return }
        samples.append((seconds, done, bytes))
        samples.removeAll { seconds - $0.t > 5 }
        guard seconds - lastDraw >= 0.2 else { return }
        lastDraw = seconds
        let first = samples.first!
        let span = max(seconds - first.t, 1e-3)
        let rate = Double(done - first.done) / span
        let mbps = Double(bytes - first.bytes) / span / 1e6
        // MB/s: file sizes for scan and index, bytes read for the worker pool's line.
        let speed = samples.count < 2 ? "" : "\(Int(rate)) files/s" + (bytes > 0 ? " \(formatted(mbps, 1)) MB/s" : "")
        var line: String
        if let total, total > 0 {
            let fraction = Double(done) / Double(total)
            let width = 24
            let filled = Int(fraction * Double(width))
            line = "\(label) [" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
                + "\(done)/\(total) (\(Int(fraction * 100))%) " + speed
            if rate > 0 { line += " ETA \(Int((Double(total - done) / rate).rounded())) s" }
        } else {
            line = "\(label): \(done) files done, \(found) found so far (walking) " + speed
        }
        writeStderr("\r\u{1B}[K" + line)
        drawn = true
    }

    func clear() {
        if drawn { writeStderr("\r\u{1B}[K") }
        drawn = false
    }
}

/// Draws the worker pool's progress (`WorkProgress`) every 0.2 s on its own queue, for the
/// commands without batch callbacks (`fingerprint`, `series`); a terminal only.
final class PoolProgressLine: @unchecked Sendable {
    private let queue = DispatchQueue(label: "imagingx.progress")
    private let bar: ProgressBar
    private var running = true
    private let start = DispatchTime.now().uptimeNanoseconds
    private let startBytes = ReadCounter.bytes

    init(label: String, enabled: Bool) {
        bar = ProgressBar(label: label, enabled: enabled)
        guard enabled else { running = false; return }
        tick()
    }

    private func tick() {
        queue.asyncAfter(deadline: .now() + 0.2) { [self] in
            guard running else { return }
            let p = WorkProgress.snapshot
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            bar.update(done: p.done, total: p.total > 0 ? p.total : nil, found: p.total, bytes: ReadCounter.bytes - startBytes, seconds: seconds)
            tick()
        }
    }

    func stop() {
        queue.sync {
            running = false
            bar.clear()
        }
    }
}
