import GRDB
import GRDBSQLite
import ImagingXModel
import ImagingXScan

/// A held writer lock; `release` gives it up (also when the process ends).
public protocol IndexWriterLock: AnyObject, Sendable {
    func release()
}

/// What the file pass of `index` and `export` read and write: one protocol, two stores (SQLite
/// through GRDB: `IndexStore`; PostgreSQL: `PostgresIndexStore` in ImagingXIndexPostgres).
/// Both hold the same schema v1 tables and give the same rows.
public protocol FileIndexStore: AnyObject, Sendable {
    /// What error messages name: the file's path, or the database URL without its password.
    var location: String { get }

    // Roots
    func roots() throws(IndexError) -> [IndexRoot]
    /// The root's row, created when new (race-free: concurrent writers get the same row).
    func root(path: String) throws(IndexError) -> IndexRoot
    func markUnavailable(root: Int64, reason: String) throws(IndexError)
    /// The end of a complete pass over a root (or over one shard of it): its totals.
    func finishRoot(_ root: Int64, at time: String, withStats: Bool) throws(IndexError)

    // Files
    /// One batch, whole or not at all: new records inserted, changed ones (in `stored`) updated
    /// in place, their findings replaced.
    func write(_ records: [ImageRecord], root: Int64, statsRead: Bool, stored: [String: StoredFile]) throws(IndexError)
    func deleteFiles(_ ids: [Int64]) throws(IndexError)
    /// The largest file id now (rows above it were written after: `StoredCursor` skips them).
    func maxFileID() throws(IndexError) -> Int64
    /// Stored files of a root with `path > after` (byte order) and `id <= maxID`, in path order, at most `limit`.
    func storedPage(root: Int64, after: String, maxID: Int64, limit: Int) throws(IndexError) -> [(path: String, file: StoredFile)]
    func fileCount(root: Int64) throws(IndexError) -> Int
    /// Files read without statistics among `roots`.
    func filesWithoutStats(roots: [Int64]) throws(IndexError) -> Int
    /// Records of the given roots (all when nil) in path order, as `scan ROOT...` prints them.
    func forEachRecord(roots wanted: [Int64]?, _ body: (ImageRecord) throws -> Void) throws(IndexError)

    /// Takes the writer lock for these roots (real paths) without waiting; `busy` when another
    /// job holds it. With a shard, only that shard of the root is locked (other shards' writers
    /// may run at once where the store allows it).
    func writerLock(roots: [String], shard: Shard?) throws(IndexError) -> any IndexWriterLock

    /// Ends the store's connections (an SQLite store closes with its last reference: nothing to do).
    func disconnect()
}

extension FileIndexStore {
    public func disconnect() {}
}

extension IndexStore.WriterLock: IndexWriterLock {}

extension IndexStore: FileIndexStore {
    public var location: String { path }

    /// One lock file per index: a part index of a shard is a file of its own anyway.
    public func writerLock(roots: [String], shard: Shard?) throws(IndexError) -> any IndexWriterLock {
        try lockForWriting()
    }

    public func maxFileID() throws(IndexError) -> Int64 {
        try guarded { try pool.read { db in try Int64.fetchOne(db, sql: "SELECT coalesce(max(id), 0) FROM files") ?? 0 } }
    }

    public func storedPage(root: Int64, after: String, maxID: Int64, limit: Int) throws(IndexError) -> [(path: String, file: StoredFile)] {
        try guarded {
            try pool.read { db in
                // Read column by column through SQLite's C API: this is the whole cost of
                // re-indexing an unchanged tree besides the walk's `stat`, and generic `Row`
                // decoding spent most of it looking up type metadata.
                let statement = try db.cachedStatement(sql: """
                    SELECT path, id, dataset_id, device, inode, size_bytes, mtime_ns, ctime_ns, stats_read, finding_count,
                        etag, last_modified
                    FROM files WHERE root_id = ? AND path > ? AND id <= ? ORDER BY path LIMIT ?
                    """)
                try statement.setArguments([root, after, maxID, limit])
                let s = statement.sqliteStatement
                defer { sqlite3_reset(s) }
                func optional(_ column: Int32) -> Int64? {
                    sqlite3_column_type(s, column) == SQLITE_NULL ? nil : sqlite3_column_int64(s, column)
                }
                func string(_ column: Int32) -> String? {
                    guard sqlite3_column_type(s, column) != SQLITE_NULL, let t = sqlite3_column_text(s, column) else { return nil }
                    return String(decoding: UnsafeBufferPointer(start: t, count: Int(sqlite3_column_bytes(s, column))), as: UTF8.self)
                }
                var page: [(path: String, file: StoredFile)] = []
                page.reserveCapacity(limit)
                while true {
                    let code = sqlite3_step(s)
                    if code == SQLITE_DONE { break }
                    guard code == SQLITE_ROW else {
                        throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                    }
                    let text = sqlite3_column_text(s, 0)
                    let length = Int(sqlite3_column_bytes(s, 0))
                    let path = text.map { String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self) } ?? ""
                    page.append((path: path,
                                 file: StoredFile(id: sqlite3_column_int64(s, 1), datasetID: optional(2), device: optional(3),
                                                  inode: optional(4), size: sqlite3_column_int64(s, 5), mtimeNs: optional(6),
                                                  ctimeNs: optional(7), statsRead: sqlite3_column_int64(s, 8) != 0,
                                                  hadFindings: sqlite3_column_int64(s, 9) > 0, etag: string(10),
                                                  lastModified: string(11))))
                }
                return page
            }
        }
    }
}

extension IndexRoot {
    /// For stores in other modules.
    public init(rowID id: Int64, path: String, available: Bool, unavailableReason: String?, indexedAt: String?, files: Int, withStats: Bool) {
        self.id = id
        self.path = path
        self.available = available
        self.unavailableReason = unavailableReason
        self.indexedAt = indexedAt
        self.files = files
        self.withStats = withStats
    }
}

extension StoredFile {
    /// For stores in other modules.
    public init(rowID id: Int64, datasetID: Int64?, device: Int64?, inode: Int64?, size: Int64, mtimeNs: Int64?, ctimeNs: Int64?,
                statsRead: Bool, hadFindings: Bool, etag: String? = nil, lastModified: String? = nil) {
        self.id = id
        self.datasetID = datasetID
        self.device = device
        self.inode = inode
        self.size = size
        self.mtimeNs = mtimeNs
        self.ctimeNs = ctimeNs
        self.statsRead = statsRead
        self.hadFindings = hadFindings
        self.etag = etag
        self.lastModified = lastModified
    }
}
