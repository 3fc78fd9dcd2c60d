import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Use cases `scan` and `series`: typed requests in, typed results out. The CLI (and later the
// index and the service) only build a request and present the result.

/// Where serialised records go.
public enum RecordDestination: Sendable, Equatable {
    case standardOutput
    /// A file, created or truncated — never one that already holds image data.
    case file(String)
}

public struct ScanRequest: Sendable {
    /// Directories (walked recursively) or single files.
    public var paths: [String]
    public var format: OutputFormat = .jsonl
    /// Parallel workers; nil: one per core.
    public var jobs: Int?
    public var includeHidden = false
    /// Decode pixels and add `stats`/`stats_error`.
    public var stats = false
    /// Add the file's device, inode and times (`device`, `inode`, `mtime_ns`, `ctime_ns`).
    public var fileStat = false
    public var destination: RecordDestination = .standardOutput
    /// Only this shard's directories; the output file gets a manifest beside it (`merge`).
    public var shard: Shard?

    public init(paths: [String]) { self.paths = paths }

    /// The options that change what a scan writes (a merge checks its parts agree on them).
    var outputOptions: [String: String] {
        ["format": format.rawValue, "stats": String(stats), "file_stat": String(fileStat), "include_hidden": String(includeHidden)]
    }

    /// Header scans hand out large batches; pixel scans smaller ones, so progress moves.
    var batchSize: Int { stats ? 256 : 4096 }
}

/// How far a scan is: files done, files the walk has found (the total once `walkFinished`),
/// bytes of the files done, seconds since the start.
public struct ScanProgress: Sendable {
    public var done: Int
    public var walked: Int
    public var walkFinished: Bool
    public var bytes: Int
    public var seconds: Double
}

public struct ScanResult: Sendable {
    public var summary: ScanSummary
    public var rootErrors: [Walker.RootError]
    /// Entries that are not regular files (never opened).
    public var skipped: Int
    public var jobs: Int
    public var seconds: Double
    public var filesPerSecond: Double { seconds > 0 ? Double(summary.files) / seconds : 0 }
}

public enum ScanError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The output file already holds image data (`format`; gzip data counts as such).
    case wouldOverwriteImageData(path: String, format: String)
    case cannotWrite(path: String, reason: String)
    /// A shard's records need a file (its manifest goes beside it).
    case shardNeedsFile

    public var description: String {
        switch self {
        case .shardNeedsFile: "--shard needs --output FILE (the part's manifest is written beside it)"
        case .wouldOverwriteImageData(let path, let format): "refusing to overwrite \(path): it holds \(format) data"
        case .cannotWrite(let path, let reason): "cannot write \(path): \(reason)"
        }
    }
}

/// Buffered writes to a descriptor: standard output, or a file this process created.
public final class FileSink {
    public let fd: Int32
    /// The sink opened the file itself (and closes it).
    public let owned: Bool

    public init(fd: Int32) {
        self.fd = fd
        owned = false
    }

    /// Creates or truncates `path`.
    public init(path: String) throws(ScanError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        self.fd = fd
        owned = true
    }

    public func write(_ bytes: [UInt8]) { bytes.withUnsafeBytes { write($0) } }

    public func write(_ raw: UnsafeRawBufferPointer) {
        var done = 0
        while done < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
    }

    /// (device, inode) of the file written, so a scan never reads its own output.
    public var identity: (device: UInt64, inode: UInt64)? {
        var st = stat()
        guard owned, fstat(fd, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    public func close() { if owned { _ = Glibc.close(fd) } }
}

public enum Application {
    /// Never truncate data: the image format an existing, non-empty `path` holds, if any
    /// (gzip counts, as a damaged `.nii.gz` is still someone's image).
    public static func imageDataFormat(at path: String) -> String? {
        var existing = stat()
        guard stat(path, &existing) == 0, (existing.st_mode & S_IFMT) == S_IFREG, existing.st_size > 0 else { return nil }
        let record = FileReader().read(fullPath: path, path: path)
        if record.format != .unknown { return record.format.rawValue }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var magic: (UInt8, UInt8) = (0, 0)
        guard pread(fd, &magic, 2, 0) == 2, magic == (0x1F, 0x8B) else { return nil }
        return record.format.rawValue
    }

    /// Opens the destination for records, refusing a file that holds image data.
    public static func openSink(_ destination: RecordDestination) throws(ScanError) -> FileSink {
        switch destination {
        case .standardOutput:
            return FileSink(fd: 1)
        case .file(let path):
            if let format = imageDataFormat(at: path) { throw .wouldOverwriteImageData(path: path, format: format) }
            return try FileSink(path: path)
        }
    }

    /// `imagingx scan`: walks, reads every header (and pixels with `stats`), writes the records
    /// to the destination in path order. `progress` gets the files done, found and sizes so far
    /// after each batch.
    public static func scan(_ request: ScanRequest, progress: (ScanProgress) -> Void = { _ in }) throws(ScanError) -> ScanResult {
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let jobs = request.jobs ?? Defaults.jobs
        if request.shard != nil, case .standardOutput = request.destination { throw .shardNeedsFile }
        let sink = try openSink(request.destination)
        defer { sink.close() }
        let encoding = RecordEncoding(format: request.format, stats: request.stats, fileStat: request.fileStat)
        sink.write(encoding.header)
        var walker = Walker(includeHidden: request.includeHidden)
        walker.shard = request.shard
        if let own = sink.identity { walker.excluded = [own] }
        var records = 0
        let scanner = Scanner(jobs: jobs, format: request.format, batchSize: request.batchSize,
                              options: ReadOptions(stats: request.stats, fileStat: request.fileStat))
        let outcome = scanner.scan(roots: request.paths, walker: walker, encoding: encoding, keepRecords: false) { batch in
            sink.write(batch.encoded)
            records = batch.done
            progress(ScanProgress(done: batch.done, walked: batch.walked, walkFinished: batch.walkFinished, bytes: batch.bytes,
                                  seconds: elapsed()))
            return .proceed
        }
        if let shard = request.shard, case .file(let path) = request.destination {
            var st = stat()
            _ = fstat(sink.fd, &st)
            let manifest = ShardManifest(command: "scan", roots: request.paths, options: request.outputOptions,
                                         shard: shard.index, shards: shard.count, records: records, bytes: Int(st.st_size),
                                         rootErrors: outcome.rootErrors.map { "\($0.root): \($0.message)" })
            do { try manifest.write(beside: path) } catch { throw .cannotWrite(path: ShardManifest.path(for: path), reason: error.description) }
        }
        return ScanResult(summary: outcome.summary, rootErrors: outcome.rootErrors, skipped: outcome.skipped,
                          jobs: jobs, seconds: elapsed())
    }
}

public struct SeriesRequest: Sendable {
    public var paths: [String]
    public var jobs: Int?
    public var includeHidden = false
    /// Decode pixels and pool the slices' statistics exactly.
    public var stats = false
    /// Only the DICOM files of the directories this shard owns (`writeShard` writes the part).
    public var shard: Shard?

    public init(paths: [String]) { self.paths = paths }

    var outputOptions: [String: String] { ["stats": String(stats), "include_hidden": String(includeHidden)] }
}

public struct SeriesResult: Sendable {
    public var volumes: [SeriesRecord]
    public var rootErrors: [Walker.RootError]

    /// One JSON line per volume (sorted keys).
    public func jsonLines() throws -> [UInt8] {
        var bytes: [UInt8] = []
        for s in volumes { bytes += try SeriesAssembler.jsonLine(s) }
        return bytes
    }
}

extension Application {
    /// `imagingx series`: DICOM files grouped into volumes with their geometry flags.
    public static func series(_ request: SeriesRequest) -> SeriesResult {
        var walker = Walker(includeHidden: request.includeHidden)
        walker.shard = request.shard
        let walk = walker.walk(request.paths)
        let volumes = SeriesAssembler.scan(walk.entries, jobs: request.jobs ?? Defaults.jobs, stats: request.stats)
        return SeriesResult(volumes: volumes, rootErrors: walk.errors)
    }
}

extension Application {
    /// A `series --shard` part: the shard's volumes as JSON lines, and the manifest beside them.
    public static func writeSeriesShard(_ result: SeriesResult, request: SeriesRequest, to path: String) throws(MergeError) {
        guard let shard = request.shard else { return }
        guard let bytes = try? result.jsonLines() else { throw .cannotWrite(path, "cannot encode the volumes") }
        let sink: FileSink
        do { sink = try openSink(.file(path)) } catch { throw .cannotWrite(path, error.description) }
        sink.write(bytes)
        sink.close()
        let manifest = ShardManifest(command: "series", roots: request.paths, options: request.outputOptions, shard: shard.index,
                                     shards: shard.count, records: result.volumes.count, bytes: bytes.count,
                                     rootErrors: result.rootErrors.map { "\($0.root): \($0.message)" })
        try manifest.write(beside: path)
    }
}
