import GRDB
import GRDBSQLite
import ImagingXModel
import ImagingXScan

/// A root as stored.
public struct IndexRoot: Sendable, Equatable, Codable {
    public var id: Int64
    public var path: String
    public var available: Bool
    public var unavailableReason: String?
    public var indexedAt: String?
    public var files: Int
    public var withStats: Bool

    enum CodingKeys: String, CodingKey {
        case id, path, available, unavailableReason = "unavailable_reason", indexedAt = "indexed_at", files
        case withStats = "with_stats"
    }
}

extension IndexStore {
    // MARK: Roots

    public func roots() throws(IndexError) -> [IndexRoot] {
        try guarded {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT id, path, available, unavailable_reason, indexed_at, files, with_stats FROM roots ORDER BY path")
                    .map(Self.root)
            }
        }
    }

    static func root(_ row: Row) -> IndexRoot {
        IndexRoot(id: row[0], path: row[1], available: row[2], unavailableReason: row[3], indexedAt: row[4],
                  files: row[5], withStats: row[6])
    }

    /// The root's row, created when new.
    public func root(path: String) throws(IndexError) -> IndexRoot {
        try guarded {
            try pool.write { db in
                try db.execute(sql: "INSERT INTO roots(path) VALUES (?) ON CONFLICT(path) DO NOTHING", arguments: [path])
                return Self.root(try Row.fetchOne(db, sql: "SELECT id, path, available, unavailable_reason, indexed_at, files, with_stats FROM roots WHERE path = ?",
                                                  arguments: [path])!)
            }
        }
    }

    /// A root that cannot be walked (unmounted, removed): marked, its files kept.
    public func markUnavailable(root: Int64, reason: String) throws(IndexError) {
        try guarded {
            try pool.write { db in
                try db.execute(sql: "UPDATE roots SET available = 0, unavailable_reason = ? WHERE id = ?", arguments: [reason, root])
            }
        }
    }

    /// The end of a complete pass over a root: its totals, and fresh planner statistics
    /// (sampled, so bounded in time) so filtered queries pick the selective index.
    public func finishRoot(_ root: Int64, at time: String, withStats: Bool) throws(IndexError) {
        try guarded {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA analysis_limit = 2000")
                try db.execute(sql: "ANALYZE")
            }
            try pool.write { db in
                try db.execute(sql: """
                    UPDATE roots SET available = 1, unavailable_reason = NULL, indexed_at = ?,
                        files = (SELECT count(*) FROM files WHERE root_id = ?), with_stats = ? WHERE id = ?
                    """, arguments: [time, root, withStats, root])
            }
        }
    }

    // MARK: Files

    /// Writes a batch of records in one transaction: each replaces the row of the same path.
    public func write(_ records: [ImageRecord], root: Int64, statsRead: Bool, stored: [String: StoredFile]) throws(IndexError) {
        guard !records.isEmpty else { return }
        try guarded {
            try pool.write { db in
                let insert = try db.cachedStatement(sql: FileRows.insertSQL)
                let update = try db.cachedStatement(sql: FileRows.updateSQL)
                let clear = try db.cachedStatement(sql: "DELETE FROM file_findings WHERE file_id = ?")
                let finding = try db.cachedStatement(sql: "INSERT INTO file_findings(file_id, code, level) VALUES (?, ?, ?)")
                for r in records {
                    let old = stored[r.path]
                    if let old, old.hadFindings { try clear.execute(arguments: [old.id]) }
                    var binder = RowBinder(old == nil ? insert : update)
                    FileRows.bind(r, rootID: root, datasetID: old?.datasetID, statsRead: statsRead, into: &binder)
                    if let old { binder.int64(old.id) }
                    try binder.step(db)
                    guard !r.findings.isEmpty else { continue }
                    let id = old?.id ?? db.lastInsertedRowID
                    for f in r.findings { try finding.execute(arguments: [id, f.code.rawValue, f.level.rawValue]) }
                }
            }
        }
    }

    /// Removes files (gone from disk) by id, in one transaction.
    public func deleteFiles(_ ids: [Int64]) throws(IndexError) {
        guard !ids.isEmpty else { return }
        try guarded {
            try pool.write { db in
                let delete = try db.cachedStatement(sql: "DELETE FROM files WHERE id = ?")
                for id in ids { try delete.execute(arguments: [id]) }
            }
        }
    }

    /// Records of the given roots (all when nil) in path order, as `scan ROOT...` prints them:
    /// with one root, paths relative to it; with several, prefixed by the root's path.
    public func forEachRecord(roots wanted: [Int64]? = nil, _ body: (ImageRecord) throws -> Void) throws(IndexError) {
        let all = try roots()
        let chosen = wanted.map { ids in all.filter { ids.contains($0.id) } } ?? all
        // `scan` orders its roots by their path prefix ("root/"), then walks each in byte order.
        let ordered = chosen.sorted { ($0.path + "/").utf8.lexicographicallyPrecedes(($1.path + "/").utf8) }
        let prefix = ordered.count > 1
        let sql = "SELECT " + FileRows.selectColumns.joined(separator: ", ") + " FROM files WHERE root_id = ? ORDER BY path"
        try guarded {
            try pool.read { db in
                for root in ordered {
                    let rows = try Row.fetchCursor(db, sql: sql, arguments: [root.id])
                    while let row = try rows.next() {
                        var r = FileRows.record(row)
                        if prefix { r.path = root.path + "/" + r.path }
                        try body(r)
                    }
                }
            }
        }
    }

    /// Files read without statistics among `roots` (an export with --stats needs none).
    public func filesWithoutStats(roots: [Int64]) throws(IndexError) -> Int {
        try guarded {
            try pool.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM files WHERE stats_read = 0 AND root_id IN (" + roots.map(String.init).joined(separator: ",") + ")") ?? 0
            }
        }
    }

    /// Records in error under a root (path, message), at most `limit`, in path order.
    public func errorRecords(root: String, limit: Int) throws(IndexError) -> [(path: String, message: String)] {
        try guarded {
            try pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT f.path, coalesce(f.error, '') FROM files f JOIN roots r ON r.id = f.root_id
                    WHERE r.path = ? AND f.status = 'error' ORDER BY f.path LIMIT ?
                    """, arguments: [root, limit]).map { (path: $0[0], message: $0[1]) }
            }
        }
    }
}

/// The stored files of a root in path order, read in pages as a walk (also in path order)
/// advances: a pass over a root of any size holds one page of stored state, not all of it.
/// Rows written after the cursor was made (`id` above `maxID`: this job's new files) are never
/// returned, so a file the job has just added is not taken for one that disappeared.
/// With a shard, files in folders of other shards are skipped: a shard's writer sharing one
/// index with the others never takes their files for ones that disappeared.
public final class StoredCursor {
    let store: any FileIndexStore
    let root: Int64
    let maxID: Int64
    let shard: Shard?
    static let page = 4096
    private var buffer: [(path: String, file: StoredFile)] = []
    private var index = 0
    private var lastKey = ""
    private var exhausted = false
    /// The first failure to read a page (the pass then stops).
    public private(set) var failure: IndexError?

    public init(store: any FileIndexStore, root: Int64, shard: Shard? = nil) throws(IndexError) {
        self.store = store
        self.root = root
        self.shard = shard.flatMap { $0.count > 1 ? $0 : nil }
        maxID = try store.maxFileID()
    }

    /// Whether the shard owns the folder of `path` (root-relative).
    public static func owns(_ shard: Shard, path: String) -> Bool {
        let utf8 = path.utf8
        guard let slash = utf8.lastIndex(of: UInt8(ascii: "/")) else { return shard.owns(directory: EmptyCollection<UInt8>()) }
        return shard.owns(directory: utf8[..<slash])
    }

    private func fill() {
        while !exhausted, failure == nil, index >= buffer.count {
            do throws(IndexError) {
                let page = try store.storedPage(root: root, after: lastKey, maxID: maxID, limit: Self.page)
                if let last = page.last { lastKey = last.path }
                if page.count < Self.page { exhausted = true }
                if let shard { buffer = page.filter { Self.owns(shard, path: $0.path) } } else { buffer = page }
                index = 0
            } catch {
                failure = error
                buffer = []
                exhausted = true
            }
        }
    }

    /// Moves to `path` (paths must come in byte order): the stored files passed over (not on
    /// disk any more, unless the walk skipped them) and the stored file at `path`, if any.
    public func advance(to path: String) -> (passed: [(path: String, file: StoredFile)], match: StoredFile?) {
        var passed: [(path: String, file: StoredFile)] = []
        while true {
            fill()
            guard index < buffer.count else { return (passed, nil) }
            let next = buffer[index]
            if next.path == path {
                index += 1
                return (passed, next.file)
            }
            if Walker.bytewiseLess(path, next.path) { return (passed, nil) }
            passed.append(next)
            index += 1
        }
    }

    /// Every stored file not reached yet.
    public func rest() -> [(path: String, file: StoredFile)] {
        var out: [(path: String, file: StoredFile)] = []
        while true {
            fill()
            guard index < buffer.count else { return out }
            out.append(contentsOf: buffer[index...])
            index = buffer.count
        }
    }
}

extension IndexStore {
    /// How many files the index holds under a root.
    public func fileCount(root: Int64) throws(IndexError) -> Int {
        try guarded { try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM files WHERE root_id = ?", arguments: [root]) ?? 0 } }
    }
}
