import GRDB
import ImagingXModel
#if canImport(Glibc)
import Glibc
#endif

/// Why an index file cannot be used. Every case names the file and what to do; none of them
/// re-creates or empties the file.
public enum IndexError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file exists but is not an SQLite database (or is damaged).
    case notADatabase(path: String, detail: String)
    /// An SQLite database that ImagingX did not create.
    case foreignDatabase(path: String)
    /// Written by a newer ImagingX: its schema has migrations this version does not know.
    case newerSchema(path: String, unknown: [String])
    /// Another index job holds the writer lock.
    case busy(path: String)
    /// The file cannot be opened or created (permissions, a missing folder).
    case cannotOpen(path: String, detail: String)
    /// Opened for reading, and there is no file.
    case missing(path: String)
    /// SQLite failed during a job.
    case database(path: String, detail: String)

    public var description: String {
        switch self {
        case .notADatabase(let path, let detail):
            "\(path) is not an ImagingX index (SQLite: \(detail)); move it aside or give another --db"
        case .foreignDatabase(let path):
            "\(path) is \(path.hasPrefix("postgres") ? "a PostgreSQL database" : "an SQLite database") that ImagingX did not create; "
                + "give another --db (nothing was changed)"
        case .newerSchema(let path, let unknown):
            "\(path) was written by a newer ImagingX (schema steps \(unknown.joined(separator: ", ")) unknown here); "
                + "upgrade imagingx, or give another --db"
        case .busy(let path):
            "another index job is writing \(path); wait for it to finish (or give another --db)"
        case .cannotOpen(let path, let detail): "cannot open index \(path): \(detail)"
        case .missing(let path): "no index at \(path); create one with `imagingx index PATH... --db \(path)`"
        case .database(let path, let detail): "index \(path): \(detail)"
        }
    }
}

/// The persistent index: one SQLite file in WAL mode (readers never wait for the writer),
/// opened through GRDB. The schema is versioned by GRDB's migrator (`grdb_migrations`) and
/// stamped in `meta` so a foreign database is never taken for an index.
public final class IndexStore: Sendable {
    public let path: String
    public let pool: DatabasePool

    /// The schema's steps, oldest first. A file holding a step not listed here is newer.
    public static let schemaSteps = ["v1", "v2"]
    public static let application = "imagingx-index"

    /// Opens (and with `create`, creates) the index at `path`, bringing its schema up to date.
    public init(path: String, create: Bool = true, readOnly: Bool = false) throws(IndexError) {
        self.path = path
        var st = stat()
        let exists = stat(path, &st) == 0
        if !exists && (!create || readOnly) { throw .missing(path: path) }
        if exists, (st.st_mode & S_IFMT) != S_IFREG { throw .cannotOpen(path: path, detail: "not a regular file") }
        if exists, st.st_size > 0, !Self.hasSQLiteMagic(path) {
            throw .notADatabase(path: path, detail: "the file does not start with the SQLite header")
        }
        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(10)
        config.foreignKeysEnabled = true
        config.label = "imagingx-index"
        config.prepareDatabase { db in
            // WAL with synchronous=NORMAL: each commit survives the process being killed (only a
            // power loss can lose the last commits, never consistency).
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                // Bulk writes: 16 KiB pages (a quarter of the write calls of 4 KiB ones; takes
                // effect when the file is created) and checkpoints every 64 MiB of WAL.
                try db.execute(sql: "PRAGMA page_size = 16384")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 4096")
            }
            try db.execute(sql: "PRAGMA cache_size = -65536")
            // Statement journals (INSERT OR REPLACE, foreign keys) in memory, not in temp files:
            // on disk they cost about 14 write calls per indexed file.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch let error as DatabaseError {
            throw Self.classify(error, path: path)
        } catch {
            throw .cannotOpen(path: path, detail: "\(error)")
        }
        try migrate(readOnly: readOnly)
    }

    static func hasSQLiteMagic(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return true }  // let SQLite report the error
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 16)
        let n = read(fd, &magic, 16)
        return n == 16 && magic == Array("SQLite format 3\u{0}".utf8)
    }

    static func classify(_ error: DatabaseError, path: String) -> IndexError {
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: .notADatabase(path: path, detail: error.message ?? "\(error)")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY: .cannotOpen(path: path, detail: error.message ?? "\(error)")
        case .SQLITE_BUSY, .SQLITE_LOCKED: .busy(path: path)
        default: .database(path: path, detail: error.message ?? "\(error)")
        }
    }

    /// Runs `body` and turns GRDB's errors into `IndexError`s.
    public func guarded<T>(_ body: () throws -> T) throws(IndexError) -> T {
        do { return try body() } catch let error as DatabaseError {
            throw Self.classify(error, path: path)
        } catch let error as IndexError {
            throw error
        } catch {
            throw .database(path: path, detail: "\(error)")
        }
    }

    private func migrate(readOnly: Bool) throws(IndexError) {
        let migrator = Schema.migrator
        let path = self.path
        try guarded {
            let (applied, tables, stamp) = try pool.read { db -> ([String], [String], String?) in
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                let applied = tables.contains("grdb_migrations")
                    ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") : []
                let stamp = tables.contains("meta")
                    ? try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'application'") : nil
                return (applied, tables, stamp)
            }
            if !tables.isEmpty, stamp != Self.application { throw IndexError.foreignDatabase(path: path) }
            let unknown = applied.filter { !Self.schemaSteps.contains($0) }
            if !unknown.isEmpty { throw IndexError.newerSchema(path: path, unknown: unknown.sorted()) }
            if readOnly {
                if applied.count < Self.schemaSteps.count {
                    throw IndexError.database(path: path, detail: "the index's schema is older than this version; "
                                              + "run `imagingx index` on it once to upgrade it")
                }
                return
            }
            try migrator.migrate(pool)
        }
    }

    // MARK: The writer lock

    /// Holds the index's writer lock (an advisory `flock` on `FILE-writer.lock` beside it) until
    /// `release`. Readers never take it.
    public final class WriterLock: Sendable {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        public func release() {
            flock(fd, LOCK_UN)
            close(fd)
        }
        deinit {}
    }

    /// Takes the writer lock without waiting: `busy` when another job (in this or another
    /// process) holds it.
    public func lockForWriting() throws(IndexError) -> WriterLock {
        let lockPath = path + "-writer.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotOpen(path: lockPath, detail: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .busy(path: path)
        }
        return WriterLock(fd: fd)
    }
}

/// The schema. Every step is append-only: a released step is never edited, a change is a new step.
public enum Schema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: v1)
            try db.execute(sql: "INSERT INTO meta(key, value) VALUES ('application', ?), ('created_schema', 'v1')",
                           arguments: [IndexStore.application])
        }
        m.registerMigration("v2") { db in try db.execute(sql: v2) }
        return m
    }

    /// Step v2: an object's version, for the roots of `index s3://bucket/prefix`. An object has
    /// no device, inode or ctime; what tells a changed object from an unchanged one is its size
    /// (`size_bytes`), LastModified and ETag as ListObjectsV2 lists them. They get columns of their
    /// own, text exactly as listed (compared, never parsed: stores differ in LastModified's
    /// precision, and an ETag is an opaque token), rather than hashed into `device`/`inode`, which
    /// keep their meaning for files and stay NULL for objects (so `--file-stat` gives nulls for
    /// an object, in `scan s3://` and `export` alike). NULL for files and for an object whose
    /// read failed (it is read again next time).
    public static let v2 = """
        ALTER TABLE files ADD COLUMN etag TEXT;
        ALTER TABLE files ADD COLUMN last_modified TEXT;
        """

    public static let v1 = """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        -- Folders given to `imagingx index`. A root that is missing at index time is marked
        -- unavailable; its files stay.
        CREATE TABLE roots (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            available INTEGER NOT NULL DEFAULT 1,
            unavailable_reason TEXT,
            indexed_at TEXT,
            files INTEGER NOT NULL DEFAULT 0,
            with_stats INTEGER NOT NULL DEFAULT 0
        );

        -- One row per file: every field of the scan record (README "The record"), arrays as JSON
        -- text, plus the first three dims/spacings as numbers for range filters.
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
            format TEXT NOT NULL,
            status TEXT NOT NULL,
            error TEXT,
            error_code TEXT,
            error_offset INTEGER,
            size_bytes INTEGER NOT NULL,
            dims TEXT,
            ndim INTEGER,
            dim0 INTEGER, dim1 INTEGER, dim2 INTEGER,
            spacing TEXT,
            spacing0 REAL, spacing1 REAL, spacing2 REAL,
            dtype TEXT,
            channels INTEGER,
            bits_stored INTEGER,
            modality TEXT,
            sop_class_uid TEXT,
            transfer_syntax TEXT,
            compressed INTEGER,
            rescale_slope REAL,
            rescale_intercept REAL,
            affine TEXT,
            axcodes TEXT,
            series_key TEXT,
            referenced_series_keys TEXT,
            interlaced INTEGER,
            coding TEXT,
            photometric TEXT,
            findings TEXT NOT NULL DEFAULT '[]',
            finding_count INTEGER NOT NULL DEFAULT 0,
            stats_read INTEGER NOT NULL DEFAULT 0,
            stats_error TEXT,
            stat_count INTEGER, stat_min REAL, stat_max REAL, stat_mean REAL, stat_std REAL,
            stat_p00_5 REAL, stat_p50 REAL, stat_p99_5 REAL, stat_nan_count INTEGER, stat_inf_count INTEGER,
            device INTEGER,
            inode INTEGER,
            mtime_ns INTEGER,
            ctime_ns INTEGER,
            UNIQUE (root_id, path)
        );
        CREATE INDEX files_dataset ON files(dataset_id);
        CREATE INDEX files_format ON files(format);
        CREATE INDEX files_modality ON files(modality);
        CREATE INDEX files_status ON files(status);
        -- Slice thickness is the range filter users reach for first.
        CREATE INDEX files_spacing2 ON files(spacing2);

        -- Finding codes per file, for filtering by code.
        CREATE TABLE file_findings (
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            code TEXT NOT NULL,
            level TEXT NOT NULL
        );
        CREATE INDEX file_findings_code ON file_findings(code, file_id);
        CREATE INDEX file_findings_file ON file_findings(file_id);

        -- Dataset folders found under the roots by the fingerprint's layout rules.
        CREATE TABLE datasets (
            id INTEGER PRIMARY KEY,
            root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
            folder TEXT NOT NULL,
            name TEXT NOT NULL,
            layout TEXT NOT NULL,
            modality TEXT,
            files INTEGER NOT NULL DEFAULT 0,
            bytes INTEGER NOT NULL DEFAULT 0,
            cases INTEGER NOT NULL DEFAULT 0,
            cases_failed INTEGER NOT NULL DEFAULT 0,
            fingerprint TEXT,
            catalog_id TEXT,
            fingerprinted_at TEXT,
            UNIQUE (root_id, folder)
        );

        -- Mergeable per-case summaries (what `fingerprint --save-cases` writes), with the files
        -- they were read from: a dataset whose files changed is re-reduced from these.
        CREATE TABLE cases (
            dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
            case_id TEXT NOT NULL,
            summary TEXT NOT NULL,
            PRIMARY KEY (dataset_id, case_id)
        );

        -- DICOM series volumes (`imagingx series`), keyed by the hashed SeriesInstanceUID.
        CREATE TABLE series (
            id INTEGER PRIMARY KEY,
            root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
            dataset_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
            series_key TEXT NOT NULL,
            first_file TEXT NOT NULL,
            modality TEXT,
            slices INTEGER,
            regular_volume INTEGER,
            record TEXT NOT NULL
        );
        CREATE INDEX series_dataset ON series(dataset_id);

        -- The survey catalog (imported), one entry per dataset.
        CREATE TABLE catalog_entries (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            entry TEXT NOT NULL
        );

        -- Compatibility results and plans asked for through the API, kept for their pages.
        CREATE TABLE compat_results (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            request TEXT NOT NULL,
            result TEXT NOT NULL
        );
        CREATE TABLE plans (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            request TEXT NOT NULL,
            plan TEXT NOT NULL
        );

        -- Index jobs (CLI and service): progress and outcome.
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            root_id INTEGER REFERENCES roots(id) ON DELETE CASCADE,
            state TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            files_seen INTEGER NOT NULL DEFAULT 0,
            files_read INTEGER NOT NULL DEFAULT 0,
            files_removed INTEGER NOT NULL DEFAULT 0,
            message TEXT
        );
        """
}
