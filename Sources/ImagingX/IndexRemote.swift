import Dispatch
import Foundation
import ImagingXIndex
import ImagingXRemote

// Use case `index s3://bucket/prefix`: the file pass of the index over an object store. The
// listing (ListObjectsV2, keys in byte order) takes the place of the walk and its `stat`; an
// object whose listed size, LastModified and ETag equal the stored ones is not read again; new
// and changed objects are read by Range exactly as `scan s3://` reads them; objects gone from
// the listing leave the index. A listing that fails removes nothing: the root is marked
// unavailable with the reason, as a local root that cannot be read.

/// How `index` reaches an object store (its `s3://` roots only).
public struct RemoteIndexOptions: Sendable {
    /// Requests in flight (`--io-depth`).
    public var ioDepth = 64
    /// Anonymous requests (`--no-sign-request`).
    public var unsigned = false
    /// Seconds one request may take (`--request-timeout`).
    public var requestTimeout = 30.0
    /// Where credentials, region and endpoint come from (the process's environment by default).
    public var environment: [String: String]?

    public init() {}
}

/// An `s3://bucket/prefix` root of the index.
///
/// Its path in the index is `s3://BUCKET/PREFIX` with the prefix exactly as given (a prefix is a
/// string prefix of keys, as ListObjectsV2 takes it: `s3://b/Sample` and `s3://b/Sample/` list
/// different keys, so they are different roots); the one rewriting is `s3://b` → `s3://b/` (both
/// list the whole bucket). Stored paths are the keys relative to the prefix's folder (the prefix
/// up to and including its last `/`): for the usual `s3://b/data/` that is the key relative to
/// the prefix, so `--shard` owns an object by its folder relative to the prefix, as a local
/// root's files by their folder relative to the root (the same `Shard` function); and no stored
/// path is ever empty, even for a prefix that names one object.
public struct RemoteRoot: Sendable, Equatable {
    public let location: S3Location
    /// The prefix's folder: the prefix up to and including its last `/` ("" when it has none).
    public let base: String

    public init?(url: String) {
        guard let location = S3Location(url: url) else { return nil }
        self.location = location
        let prefix = Array(location.prefix.utf8)
        let cut = prefix.lastIndex(of: UInt8(ascii: "/")).map { $0 + 1 } ?? 0
        base = String(decoding: prefix[..<cut], as: UTF8.self)
    }

    /// The root's path in the index (its one form).
    public var path: String { "s3://\(location.bucket)/\(location.prefix)" }

    /// The stored path of a listed key; nil for a key outside the prefix (a store that answers
    /// with keys it was not asked for) or a folder marker's own key.
    public func relative(_ key: String) -> String? {
        guard key.utf8.starts(with: location.prefix.utf8), key.utf8.count > base.utf8.count else { return nil }
        return String(decoding: key.utf8.dropFirst(base.utf8.count), as: UTF8.self)
    }

    /// The record path of a stored path: `s3://bucket/key`, as `scan s3://` prints it.
    public func recordPath(_ relative: String) -> String { "s3://\(location.bucket)/\(base)\(relative)" }

    /// Two roots that would index one object twice: the same bucket, and one prefix starts the other.
    public func overlaps(_ other: RemoteRoot) -> Bool {
        location.bucket == other.location.bucket
            && (location.prefix.utf8.starts(with: other.location.prefix.utf8) || other.location.prefix.utf8.starts(with: location.prefix.utf8))
    }
}

extension Application {
    /// The path a root given to `index` or `export` has in the index: an `s3://` root's one
    /// form, a folder's real path (or, when it cannot be resolved, its absolute path).
    static func indexRootPath(_ given: String) -> String {
        if RemoteScanRequest.isRemote(given) { return RemoteRoot(url: given)?.path ?? given }
        return canonicalRoot(given).resolved ?? FileIO.absolute(given)
    }

    /// One `s3://` root's pass (see the top of this file). Throws only for the index itself;
    /// everything about the store ends in the outcome.
    static func indexRemote(_ given: String, request: IndexRequest, store: any FileIndexStore, cancel: CancelFlag?,
                            progress: @escaping (IndexProgress) -> Void) throws(IndexError) -> RootOutcome {
        let started = DispatchTime.now().uptimeNanoseconds
        guard let remote = RemoteRoot(url: given) else {
            return RootOutcome(path: given, available: false, reason: "'\(given)' is not s3://bucket[/prefix]")
        }
        var outcome = RootOutcome(path: remote.path, available: true)
        if request.datasets {
            throw .database(path: remote.path, detail: "the dataset pass reads folders on a local disk and does not run on s3:// roots: "
                            + "index them with --no-datasets")
        }
        let roots = try store.roots()
        if let other = roots.first(where: { r in RemoteRoot(url: r.path).map { $0.path != remote.path && $0.overlaps(remote) } ?? false }) {
            outcome.available = false
            outcome.reason = "overlaps the indexed root \(other.path): an object would be indexed twice"
            return outcome
        }
        let known = roots.first { $0.path == remote.path }
        // The stored rows stay whatever went wrong with the store: an unreachable bucket is not an empty one.
        func unavailable(_ reason: String) throws(IndexError) -> RootOutcome {
            outcome.available = false
            outcome.reason = reason
            if let known { try store.markUnavailable(root: known.id, reason: reason) }
            return outcome
        }
        let config: S3Config
        do {
            config = try S3Config.fromEnvironment(request.remote.environment ?? ProcessInfo.processInfo.environment,
                                                  unsigned: request.remote.unsigned)
        } catch {
            return try unavailable(error.description)
        }
        var options = RemoteScanOptions()
        options.ioDepth = request.remote.ioDepth
        options.stats = request.stats
        options.includeHidden = request.includeHidden
        options.requestTimeout = request.remote.requestTimeout
        let client = S3Client(config: config, connections: options.ioDepth, requestTimeout: options.requestTimeout,
                              maxAttempts: options.maxAttempts)
        defer { blocking { await client.shutdown() } }
        let scanner = RemoteScanner(client: client, location: remote.location, options: options)
        let listing = blocking { () async -> Result<[S3Object], S3Error> in
            do throws(S3Error) { return .success(try await scanner.objects()) } catch { return .failure(error) }
        }
        let listed: [S3Object]
        switch listing {
        case .success(let objects): listed = objects
        case .failure(let error): return try unavailable("listing failed: \(error.message)")
        }

        // The listing merged with the stored rows in key order, a page of them at a time.
        let root = try store.root(path: remote.path)
        let storedCount = try store.fileCount(root: root.id)
        let cursor = try StoredCursor(store: store, root: root.id, shard: request.shard)
        var passed: [(path: String, file: StoredFile)] = []
        var chosen: [(object: S3Object, path: String)] = []
        var stored: [String: StoredFile] = [:]
        var last: String?
        for object in listed {
            // (A key listed twice, by a store that repeats itself across pages, is one object.)
            guard let path = remote.relative(object.key), path != last else { continue }
            last = path
            if let shard = request.shard, !StoredCursor.owns(shard, path: path) { continue }
            outcome.seen += 1
            let (gone, old) = storedCount > 0 ? cursor.advance(to: path) : ([], nil)
            passed += gone
            if let old, old.unchanged(size: object.size, lastModified: object.lastModified, etag: object.etag), old.statsRead || !request.stats {
                outcome.unchanged += 1
                continue
            }
            if let old { stored[path] = old }
            chosen.append((object, path))
        }
        if let failure = cursor.failure { throw failure }

        // New and changed objects, `ioDepth` at a time, written in batches while the next are read.
        let pass = RemotePass(store: store, root: root.id, request: request, chosen: chosen, stored: stored,
                              batch: request.stats ? 256 : 4096, cancel: cancel, outcome: outcome, progress: { p in
            var p = p
            p.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            progress(p)
        })
        pass.report()
        let sizes = RemoteScanner.sizes(listed)
        let objects = chosen.map(\.object)
        blocking {
            await scanner.scan(objects, sizes: sizes, stop: { pass.stopped }) { record in pass.add(record) }
        }
        pass.finish()
        outcome = pass.outcome
        if let failure = pass.writer.failure { throw failure }
        if pass.stopped { return outcome }

        passed += cursor.rest()
        if let failure = cursor.failure { throw failure }
        // A successful listing is the store's word: what it no longer lists is gone.
        try store.deleteFiles(passed.map(\.file.id))
        outcome.removed += passed.count
        pass.state.walkFinished = true
        pass.report()
        try store.finishRoot(root.id, at: Timestamp.now(), withStats: request.stats)
        return outcome
    }

    /// `export`'s records of the chosen roots, in the order `scan` gives them: an `s3://` root's
    /// with their `s3://bucket/key` paths (what `scan s3://` prints), a folder's relative to it
    /// (prefixed with the folder when there are several roots).
    static func forEachExportRecord(_ store: any FileIndexStore, roots ids: [Int64], all: [IndexRoot],
                                    _ body: (ImageRecord) throws -> Void) throws(IndexError) {
        let chosen = all.filter { ids.contains($0.id) }
        guard chosen.contains(where: { RemoteScanRequest.isRemote($0.path) }) else { return try store.forEachRecord(roots: ids, body) }
        let ordered = chosen.sorted { ($0.path + "/").utf8.lexicographicallyPrecedes(($1.path + "/").utf8) }
        for root in ordered {
            let remote = RemoteScanRequest.isRemote(root.path) ? RemoteRoot(url: root.path) : nil
            try store.forEachRecord(roots: [root.id]) { record in
                var r = record
                if let remote { r.path = remote.recordPath(r.path) } else if ordered.count > 1 { r.path = root.path + "/" + r.path }
                try body(r)
            }
        }
    }
}

/// The mutable state of one `s3://` root's reading: used by the one task that runs the scan
/// while the calling thread waits for it (then read by that thread).
private final class RemotePass: @unchecked Sendable {
    let writer: BatchWriter
    let chosen: [(object: S3Object, path: String)]
    let stored: [String: StoredFile]
    let batchSize: Int
    let cancel: CancelFlag?
    let progress: (IndexProgress) -> Void
    var outcome: RootOutcome
    var state: IndexProgress
    private var records: [ImageRecord] = []
    private var next = 0
    /// A write failed or the job was cancelled: no further object is started.
    var stopped: Bool { writer.failure != nil || cancel?.isCancelled == true }

    init(store: any FileIndexStore, root: Int64, request: IndexRequest, chosen: [(object: S3Object, path: String)],
         stored: [String: StoredFile], batch: Int, cancel: CancelFlag?, outcome: RootOutcome, progress: @escaping (IndexProgress) -> Void) {
        writer = BatchWriter(store: store, root: root, statsRead: request.stats, notePaths: false)
        self.chosen = chosen
        self.stored = stored
        batchSize = batch
        self.cancel = cancel
        self.progress = progress
        self.outcome = outcome
        state = IndexProgress(root: outcome.path)
        state.seen = outcome.seen
        state.done = outcome.unchanged
        state.walkFinished = true
        records.reserveCapacity(min(batch, chosen.count))
    }

    func report() { progress(state) }

    /// The next record, in `chosen`'s order: stored under its relative path with the listed
    /// version, unless reading it failed (then no version: it is read again next time).
    func add(_ record: ImageRecord) {
        var r = record
        let (object, path) = chosen[next]
        next += 1
        r.path = path
        if !(r.status == .error && r.errorCode == .io) {
            r.objectVersion = ObjectVersion(etag: object.etag, lastModified: object.lastModified)
        }
        outcome.read += 1
        outcome.bytes += r.sizeBytes
        if r.status == .error { outcome.errors += 1 }
        records.append(r)
        if records.count >= batchSize { flush() }
    }

    private func flush() {
        guard !records.isEmpty else { return }
        var old: [String: StoredFile] = [:]
        if !stored.isEmpty { for r in records { if let s = stored[r.path] { old[r.path] = s } } }
        writer.submit(records, gone: [], stored: old)
        records.removeAll(keepingCapacity: true)
        state.read = outcome.read
        state.bytes = outcome.bytes
        state.done = outcome.unchanged + outcome.read
        report()
    }

    /// The last batch written (or the first write failure known).
    func finish() {
        flush()
        writer.finish()
    }
}
