import Dispatch
import ImagingXIndex
import ImagingXIndexPostgres
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// Use cases `index` and `export`: the persistent, incremental index of one or more folders.

public struct IndexRequest: Sendable {
    /// Folders to index (each becomes a root of the index).
    public var paths: [String]
    /// The index file (created when missing).
    public var database: String
    /// Decode pixels: records get `stats`, as `scan --stats`.
    public var stats = false
    public var jobs: Int?
    public var includeHidden = false
    /// Fingerprint the datasets found under each root (only those whose files changed).
    public var datasets = true
    /// Only shard K of N (one root): its directories' files and the cases of its folders; the
    /// index is then a part for `merge`, with its manifest beside it.
    public var shard: Shard?
    /// How `s3://bucket/prefix` roots are reached (IndexRemote.swift).
    public var remote = RemoteIndexOptions()

    /// The options that change what an index holds (a merge checks its parts agree on them).
    var outputOptions: [String: String] {
        ["stats": String(stats), "datasets": String(datasets), "include_hidden": String(includeHidden)]
    }

    public init(paths: [String], database: String) {
        self.paths = paths
        self.database = database
    }
}

/// How one root's pass went.
public struct RootOutcome: Sendable, Codable, Equatable {
    public var path: String
    public var available: Bool
    public var reason: String?
    /// Files the walk found.
    public var seen = 0
    /// Files opened and read (new or changed).
    public var read = 0
    /// Files whose device, inode, size and times were unchanged: not opened.
    public var unchanged = 0
    /// Rows removed: files no longer on disk (including those that vanished during the job).
    public var removed = 0
    public var errors = 0
    public var bytes = 0
    public var datasetsFingerprinted = 0
    public var datasetsKept = 0

    enum CodingKeys: String, CodingKey {
        case path, available, reason, seen, read, unchanged, removed, errors, bytes
        case datasetsFingerprinted = "datasets_fingerprinted", datasetsKept = "datasets_kept"
    }
}

public struct IndexResult: Sendable {
    public var roots: [RootOutcome]
    public var seconds: Double
    public var jobs: Int
    public var cancelled: Bool
}

/// Progress of an index job, for a terminal bar or the portal.
public struct IndexProgress: Sendable, Codable, Equatable {
    public var root: String
    /// Files walked so far (the walk runs ahead of the reading).
    public var seen = 0
    /// Files dealt with (read, or found unchanged).
    public var done = 0
    public var read = 0
    public var bytes = 0
    public var walkFinished = false
    public var seconds = 0.0
    /// "files", then "datasets" while the changed datasets are fingerprinted.
    public var phase = "files"
    public var datasetsDone = 0
    public var datasetsTotal = 0
}

/// A flag a caller sets to stop a running job after its current batch (the index stays consistent).
public final class CancelFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public func cancel() { value.store(true, ordering: .relaxed) }
    public var isCancelled: Bool { value.load(ordering: .relaxed) }
}

extension Application {
    /// `imagingx index`: brings the index up to date with the folders, reading only files that
    /// are new or whose `stat` changed, removing rows of files that are gone, and marking a root
    /// that cannot be walked as unavailable (its rows stay).
    public static func index(_ request: IndexRequest, cancel: CancelFlag? = nil,
                             progress: @escaping (IndexProgress) -> Void = { _ in }) throws(IndexError) -> IndexResult {
        let store = try openStore(request.database)
        defer { store.disconnect() }
        let lock = try store.writerLock(roots: request.paths.map(indexRootPath), shard: request.shard)
        defer { lock.release() }
        let result = try index(request, store: store, cancel: cancel, progress: progress)
        // A shard's SQLite file is a part for `merge`; shards sharing a PostgreSQL index are already one.
        if store is IndexStore, let shard = request.shard, let root = result.roots.first, root.available, !result.cancelled {
            let files = try store.roots().first { $0.path == root.path }?.files ?? 0
            let manifest = ShardManifest(command: "index", roots: [root.path], options: request.outputOptions, shard: shard.index,
                                         shards: shard.count, records: files, bytes: 0)
            do { try manifest.write(beside: request.database) } catch { throw .cannotOpen(path: ShardManifest.path(for: request.database), detail: error.description) }
        }
        return result
    }

    /// `index` on an open store whose writer lock the caller holds (the service's jobs).
    public static func index(_ request: IndexRequest, store: any FileIndexStore, cancel: CancelFlag? = nil,
                             progress: @escaping (IndexProgress) -> Void = { _ in }) throws(IndexError) -> IndexResult {
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let jobs = request.jobs ?? Defaults.jobs
        var outcomes: [RootOutcome] = []
        var cancelled = false
        for given in request.paths {
            // An object store's prefix: its own pass (IndexRemote.swift).
            if RemoteScanRequest.isRemote(given) {
                outcomes.append(try indexRemote(given, request: request, store: store, cancel: cancel, progress: progress))
                if cancel?.isCancelled == true { cancelled = true; break }
                continue
            }
            let path = Self.canonicalRoot(given)
            var outcome = RootOutcome(path: path.resolved ?? FileIO.absolute(given), available: path.resolved != nil)
            guard let resolved = path.resolved else {
                outcome.reason = path.reason
                // A root the index already knows keeps its rows: an unmounted disk is not an empty one.
                if let known = try store.roots().first(where: { $0.path == outcome.path }) {
                    try store.markUnavailable(root: known.id, reason: path.reason ?? "cannot be read")
                }
                outcomes.append(outcome)
                continue
            }
            if let other = try store.roots().first(where: { $0.path != resolved && (resolved.hasPrefix($0.path + "/") || $0.path.hasPrefix(resolved + "/")) }) {
                outcome.available = false
                outcome.reason = "overlaps the indexed root \(other.path): a file would be indexed twice"
                outcomes.append(outcome)
                continue
            }
            let root = try store.root(path: resolved)
            try indexRoot(root, request: request, store: store, jobs: jobs, cancel: cancel, outcome: &outcome,
                          progress: { p in var p = p; p.seconds = elapsed(); progress(p) })
            outcomes.append(outcome)
            if cancel?.isCancelled == true { cancelled = true; break }
        }
        return IndexResult(roots: outcomes, seconds: elapsed(), jobs: jobs, cancelled: cancelled)
    }

    /// The real path of a folder to index, or why it cannot be one.
    static func canonicalRoot(_ given: String) -> (resolved: String?, reason: String?) {
        guard let real = realpath(given, nil) else { return (nil, FileIO.message(errno)) }
        defer { free(real) }
        let path = String(cString: real)
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return (nil, "not a directory") }
        return (path, nil)
    }

    static func indexRoot(_ root: IndexRoot, request: IndexRequest, store: any FileIndexStore, jobs: Int, cancel: CancelFlag?,
                          outcome: inout RootOutcome, progress: (IndexProgress) -> Void) throws(IndexError) {
        // The stored files are merged with the walk in path order, a page at a time: a pass over
        // a root of any size holds one page of stored state and the files of the batch in flight.
        let storedCount = try store.fileCount(root: root.id)
        let cursor = try StoredCursor(store: store, root: root.id, shard: request.shard)
        var passed: [(path: String, file: StoredFile)] = []
        var inFlight: [String: StoredFile] = [:]
        var walker = Walker(includeHidden: request.includeHidden)
        walker.shard = request.shard
        // Only a root with stored files needs the walk's `stat` to compare: on a first pass every
        // file is read, and the reader's own `fstat` is what gets stored.
        walker.statFiles = storedCount > 0
        var options = ReadOptions(stats: request.stats, fileStat: true)
        options.keepHistogram = false
        let scanner = Scanner(jobs: jobs, batchSize: request.stats ? 256 : 4096, options: options)
        var state = IndexProgress(root: root.path)
        var unreadableDirectories: [String] = []
        var failure: IndexError?
        let wantStats = request.stats
        var result = outcome
        var changed = Set<String>()
        let writer = BatchWriter(store: store, root: root.id, statsRead: request.stats, notePaths: request.datasets)
        let scan = scanner.scan(roots: [root.path], walker: walker, select: { walked in
            var chosen: [WalkEntry] = []
            for e in walked {
                result.seen += 1
                let (gone, old) = storedCount > 0 ? cursor.advance(to: e.path) : ([], nil)
                passed += gone
                if e.walkError != nil {
                    unreadableDirectories.append(e.path)
                } else if let st = e.stat, let old, old.unchanged(st), old.statsRead || !wantStats {
                    result.unchanged += 1
                    continue
                }
                if let old { inFlight[e.path] = old }
                chosen.append(e)
            }
            state.seen = result.seen
            state.done = result.unchanged + result.read
            progress(state)
            return chosen
        }, keepRecords: true) { batch in
            state.seen = max(state.seen, batch.walked)
            state.walkFinished = batch.walkFinished
            if let error = cursor.failure ?? writer.failure { failure = error; return .stop }
            var records = batch.records
            var stored: [String: StoredFile] = [:]
            // (Indices, not `for r in records`: a loop variable copies the whole record.)
            if !inFlight.isEmpty {
                for i in records.indices {
                    if let old = inFlight.removeValue(forKey: records[i].path) { stored[records[i].path] = old }
                }
            }
            var gone: [Int64] = []
            // A file that vanished between the walk and its reading is gone, not an error.
            // (Only looked for first: removing from `records`, which the batch shares, copies it.)
            func unread(_ r: ImageRecord) -> Bool { r.status == .error && r.errorCode == .io && r.fileStat == nil }
            if records.contains(where: unread) {
                records.removeAll { r in
                guard unread(r) else { return false }
                var st = stat()
                guard stat(root.path + "/" + r.path, &st) != 0, errno == ENOENT else { return false }
                if let old = stored[r.path] { gone.append(old.id) }
                changed.insert(r.path)
                return true
                }
            }
            let (errors, bytes) = records.reduce((0, 0)) { ($0.0 + ($1.status == .error ? 1 : 0), $0.1 + $1.sizeBytes) }
            let count = records.count
            // Written (and, for the dataset pass, the paths noted) on the writer's thread while
            // the workers read the next batch: this handler runs while they wait.
            writer.submit(records, gone: gone, stored: stored)
            result.read += count
            result.removed += gone.count
            result.errors += errors
            result.bytes += bytes
            state.read = result.read
            state.bytes = result.bytes
            state.done = result.unchanged + result.read
            progress(state)
            return cancel?.isCancelled == true ? .stop : .proceed
        }
        writer.finish()
        changed.formUnion(writer.paths)
        outcome = result
        if let failure = failure ?? cursor.failure ?? writer.failure { throw failure }
        if !scan.rootErrors.isEmpty {
            outcome.available = false
            outcome.reason = scan.rootErrors.map { $0.message }.joined(separator: "; ")
            try store.markUnavailable(root: root.id, reason: outcome.reason!)
            return
        }
        if scan.cancelled { return }
        if storedCount > 0 { passed += cursor.rest() }
        if let error = cursor.failure { throw error }
        // A shard's pass answers for its own folders' files: another shard's rows in the same
        // index were not walked, and are not gone.
        if let shard = request.shard {
            passed.removeAll { row in
                let folder = row.path.lastIndex(of: "/").map { row.path[..<$0] } ?? ""
                return !shard.owns(directory: Array(folder.utf8))
            }
        }
        // The folder is empty now but held files: an unmounted disk's mount point, not a wiped dataset.
        if outcome.seen == 0, !passed.isEmpty {
            outcome.available = false
            outcome.reason = "the folder is empty but the index holds \(passed.count) files under it (an unmounted disk?); "
                + "its rows are kept"
            try store.markUnavailable(root: root.id, reason: outcome.reason!)
            return
        }
        // Files not walked are gone, except under a folder that could not be listed this time.
        let removed = passed.filter { row in !unreadableDirectories.contains { row.path.hasPrefix($0) } }
        try store.deleteFiles(removed.map(\.file.id))
        outcome.removed += removed.count
        changed.formUnion(removed.map(\.path))
        state.walkFinished = true
        progress(state)
        try store.finishRoot(root.id, at: Timestamp.now(), withStats: wantStats)
        if request.datasets, let store = store as? any DatasetIndexStore {
            state.phase = "datasets"
            progress(state)
            let (made, kept) = try indexDatasets(root: root, changed: changed, store: store, jobs: jobs, shard: request.shard) { done, total in
                state.datasetsDone = done
                state.datasetsTotal = total
                progress(state)
            }
            outcome.datasetsFingerprinted = made
            outcome.datasetsKept = kept
        }
    }
}

extension Application {
    /// The index a `--db` names: a `postgres://` (or `postgresql://`) URL is a PostgreSQL
    /// database, anything else an SQLite file.
    public static func openStore(_ database: String, readOnly: Bool = false) throws(IndexError) -> any FileIndexStore {
        if PostgresURL.isPostgres(database) {
            return try PostgresIndexStore(url: database, readOnly: readOnly)
        }
        return try IndexStore(path: database, create: !readOnly, readOnly: readOnly)
    }

    /// The index `serve` reads and its jobs write, by the same rule (created when missing).
    public static func openServiceStore(_ database: String) throws(IndexError) -> any ServiceIndexStore {
        if PostgresURL.isPostgres(database) { return try PostgresIndexStore(url: database, bounds: .requests) }
        return try IndexStore(path: database)
    }

    /// What messages may call a `--db`: a PostgreSQL address without its password.
    public static func databaseName(_ database: String) -> String {
        guard PostgresURL.isPostgres(database) else { return database }
        if let url = try? PostgresURL(database, environment: PostgresURL.processEnvironment) { return url.redacted }
        // Unparseable: the scheme and what follows the last '@' (never the user info).
        let scheme = database.hasPrefix("postgresql://") ? "postgresql://" : "postgres://"
        return scheme + (database.lastIndex(of: "@").map { String(database[database.index(after: $0)...]) } ?? "…")
    }
}

/// UTC timestamps as ISO 8601 text (what the index stores).
public enum Timestamp {
    public static func now() -> String {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        var tm = tm()
        var seconds = t.tv_sec
        gmtime_r(&seconds, &tm)
        func pad(_ v: Int32, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2))Z"
    }
}

// MARK: Export

public struct ExportRequest: Sendable {
    public var database: String
    public var format: OutputFormat = .jsonl
    public var stats = false
    public var fileStat = false
    /// Only these roots (as indexed, or as given: resolved to their real paths); all when empty.
    public var roots: [String] = []
    public var destination: RecordDestination = .standardOutput

    public init(database: String) { self.database = database }
}

public enum ExportError: Error, CustomStringConvertible {
    case index(IndexError)
    case output(ScanError)
    case notIndexed(root: String)
    case noStatistics(files: Int)

    public var description: String {
        switch self {
        case .index(let e): e.description
        case .output(let e): e.description
        case .notIndexed(let root): "\(root) is not a root of this index"
        case .noStatistics(let n): "\(n) indexed files were read without --stats; run `imagingx index --stats` first"
        }
    }
}

extension Application {
    /// `imagingx export`: the indexed records, written exactly as `scan` writes them for the same
    /// folders and options.
    public static func export(_ request: ExportRequest) throws(ExportError) -> Int {
        let store: any FileIndexStore
        do { store = try openStore(request.database, readOnly: true) } catch { throw .index(error) }
        defer { store.disconnect() }
        let all: [IndexRoot]
        do { all = try store.roots() } catch { throw .index(error) }
        var ids: [Int64] = []
        for given in request.roots {
            let path = indexRootPath(given)
            guard let root = all.first(where: { $0.path == path || $0.path == given }) else { throw .notIndexed(root: given) }
            ids.append(root.id)
        }
        if ids.isEmpty { ids = all.map(\.id) }
        if request.stats {
            let missing: Int
            do { missing = try store.filesWithoutStats(roots: ids) } catch { throw .index(error) }
            if missing > 0 { throw .noStatistics(files: missing) }
        }
        let sink: FileSink
        do { sink = try openSink(request.destination) } catch { throw .output(error) }
        defer { sink.close() }
        let encoding = RecordEncoding(format: request.format, stats: request.stats, fileStat: request.fileStat)
        sink.write(encoding.header)
        let buffer = ByteBuffer(capacity: 1 << 20)
        var count = 0
        do {
            try forEachExportRecord(store, roots: ids, all: all) { r in
                encoding.encode(r, into: buffer)
                count += 1
                if buffer.count >= 1 << 20 {
                    sink.write(UnsafeRawBufferPointer(start: buffer.base, count: buffer.count))
                    buffer.removeAll()
                }
            }
        } catch { throw .index(error) }
        sink.write(UnsafeRawBufferPointer(start: buffer.base, count: buffer.count))
        return count
    }
}

/// Writes an index job's batches on a thread of its own, at most two batches behind the
/// readers, each in one transaction. The first failure stops the writes; the job reads it from
/// `failure` and stops the scan. The thread runs at the priority of the one that made the
/// writer (a service's background job runs below the requests it answers).
final class BatchWriter: @unchecked Sendable {
    let store: any FileIndexStore
    let root: Int64
    let statsRead: Bool
    let notePaths: Bool
    /// With `notePaths`, the path of every record written (read it after `finish`).
    private(set) var paths = Set<String>()
    private struct Work {
        var records: [ImageRecord]
        var gone: [Int64]
        var stored: [String: StoredFile]
    }
    private let room = DispatchSemaphore(value: 2)
    private let ready = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    /// Submitted batches in order; nil asks the thread to end.
    private final class Pending: Sendable { let items = Mutex<[Work?]>([]) }
    private let pending = Pending()
    private let failed = Mutex<IndexError?>(nil)
    private var threaded = false

    init(store: any FileIndexStore, root: Int64, statsRead: Bool, notePaths: Bool) {
        self.store = store
        self.root = root
        self.statsRead = statsRead
        self.notePaths = notePaths
        let niceness = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        // The thread holds the writer (and so the store) only while it writes a batch: once
        // `finish` returns, nothing of this job keeps the index file open.
        let (room, ready, done, pending) = (room, ready, done, pending)
        threaded = startThread { [weak self] in
            if niceness > 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) }
            while true {
                ready.wait()
                guard let work = pending.items.withLock({ $0.removeFirst() }) else { break }
                self?.write(work)
                room.signal()
            }
            done.signal()
        }
    }

    var failure: IndexError? { failed.withLock { $0 } }

    /// Writes `records` (`stored`: what the index held of those already in it) and removes `gone`.
    func submit(_ records: [ImageRecord], gone: [Int64], stored: [String: StoredFile]) {
        let work = Work(records: records, gone: gone, stored: stored)
        // No thread to be had: write here, before the next batch is read.
        guard threaded else { return write(work) }
        room.wait()
        pending.items.withLock { $0.append(work) }
        ready.signal()
    }

    private func write(_ work: Work) {
        guard failure == nil else { return }
        if notePaths { for i in work.records.indices { paths.insert(work.records[i].path) } }
        do throws(IndexError) {
            try store.write(work.records, root: root, statsRead: statsRead, stored: work.stored)
            try store.deleteFiles(work.gone)
        } catch {
            failed.withLock { $0 = error }
        }
    }

    /// Waits until every submitted batch is written (or failed); the thread then ends.
    func finish() {
        guard threaded else { return }
        pending.items.withLock { $0.append(nil) }
        ready.signal()
        done.wait()
    }
}

