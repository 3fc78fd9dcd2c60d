import Dispatch
import ImagingXIndex
import ImagingXModel
import ImagingXScan
import Logging
import NIOSSL
import PostgresNIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The index on a PostgreSQL server (postgres-nio): the file pass of `index` and `export`,
/// with the tables of SQLite's schema v1 (`PostgresSchema`). Several shard writers may share one
/// database: roots are found or created race-free, each batch is one transaction that can be
/// replayed (rows are upserted by (root, path), their findings replaced), and the writer lock
/// is an advisory lock per (root, shard).
///
/// Every call is synchronous (the index job's threads block on it, never an event loop) and
/// bounded in time. A lost connection is retried with backoff (0.25, 0.5, 1, 2, 4 s); then the
/// job stops with the error, and every batch before it landed whole.
public final class PostgresIndexStore: FileIndexStore, @unchecked Sendable {
    public let url: PostgresURL
    public var location: String { url.redacted }
    let readOnly: Bool
    let logger = Logger(label: "imagingx.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    private let idle = Mutex<[PostgresConnection]>([])
    /// The writer lock this store took (checked before each write), weakly: released with its holder.
    private let heldLock = Mutex<WeakLock>(WeakLock())
    private let nextID = Atomic<Int>(1)
    /// How long a call may take: each statement, the waits between attempts, and all attempts
    /// together.
    public struct Bounds: Sendable {
        /// Seconds one statement (a batch's, a page's) may take before the connection is dropped
        /// and the statement tried again (a batch of 1,000 rows takes well under a second here).
        public var statementSeconds: Int64
        public var retryDelays: [Double]
        /// No new attempt starts after this many seconds of one call.
        public var deadlineSeconds: Double
        /// The most a connection (TCP, TLS and the startup exchange) may take, below the address's `connect_timeout`.
        public var connectSeconds: Int

        /// Index jobs and `export`: patient (a restarting server comes back).
        public static let jobs = Bounds(statementSeconds: 60, retryDelays: [0.25, 0.5, 1, 2, 4], deadlineSeconds: 600, connectSeconds: 600)
        /// The service's requests: a hung or absent server becomes a 503 in seconds, not minutes.
        public static let requests = Bounds(statementSeconds: 5, retryDelays: [0.25, 0.5, 1], deadlineSeconds: 8, connectSeconds: 4)
    }
    public let bounds: Bounds
    var statementTimeout: Int64 { bounds.statementSeconds }
    /// Seconds a reused connection has to answer `SELECT 1`.
    static let pingTimeout: Int64 = 5
    static let retryDelays = Bounds.jobs.retryDelays
    /// Rows per INSERT (PostgreSQL takes at most 65,535 parameters in one statement).
    static let rowsPerInsert = 1000

    public init(url text: String, readOnly: Bool = false, bounds: Bounds = .jobs) throws(IndexError) {
        do { url = try PostgresURL(text, environment: PostgresURL.processEnvironment) } catch {
            throw .cannotOpen(path: Self.safeName(text), detail: error.reason)
        }
        self.readOnly = readOnly
        self.bounds = bounds
        try migrate()
    }

    deinit { disconnect() }

    /// The address as given minus anything between `//` and `@` (a password must not reach a message).
    static func safeName(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text.lastIndex(of: "@"), at > scheme.upperBound else { return text }
        let info = text[scheme.upperBound..<at]
        let user = info.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        return String(text[..<scheme.upperBound]) + user + String(text[at...])
    }

    public func disconnect() {
        let all = idle.withLock { conns -> [PostgresConnection] in
            defer { conns = [] }
            return conns
        }
        for c in all { _ = try? Self.bounded(c.close(), seconds: 5) }
    }

    // MARK: Connections, time bounds and retries

    struct Timeout: Error, CustomStringConvertible {
        var seconds: Int64
        var description: String { "no answer within \(seconds) s" }
    }

    /// Waits for `future` at most `seconds`.
    static func bounded<T: Sendable>(_ future: EventLoopFuture<T>, seconds: Int64) throws -> T {
        let promise = future.eventLoop.makePromise(of: T.self)
        future.cascade(to: promise)
        let timer = future.eventLoop.scheduleTask(in: .seconds(seconds)) { promise.fail(Timeout(seconds: seconds)) }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return try promise.futureResult.wait()
    }

    func connect() throws -> PostgresConnection {
        var config = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                                      database: url.database, tls: try Self.tls(url))
        let connectSeconds = Int64(min(url.connectTimeout, bounds.connectSeconds))
        config.options.connectTimeout = .seconds(connectSeconds)
        config.options.additionalStartupParameters = [("application_name", "imagingx")]
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        return try Self.bounded(PostgresConnection.connect(on: MultiThreadedEventLoopGroup.singleton.next(), configuration: config,
                                                           id: id, logger: logger),
                                seconds: connectSeconds + 2)
    }

    /// libpq's `sslmode` as postgres-nio's TLS setting.
    static func tls(_ url: PostgresURL) throws -> PostgresConnection.Configuration.TLS {
        var config = TLSConfiguration.makeClientConfiguration()
        if let cert = url.sslRootCert { config.trustRoots = .file(cert) }
        switch url.sslMode {
        case .disable:
            return .disable
        case .allow, .prefer:
            config.certificateVerification = .none
            return .prefer(try NIOSSLContext(configuration: config))
        case .require:
            config.certificateVerification = url.sslRootCert == nil ? .none : .noHostnameVerification
            return .require(try NIOSSLContext(configuration: config))
        case .verifyCA:
            config.certificateVerification = .noHostnameVerification
            return .require(try NIOSSLContext(configuration: config))
        case .verifyFull:
            config.certificateVerification = .fullVerification
            return .require(try NIOSSLContext(configuration: config))
        }
    }

    /// Runs `body` on a connection of the store's own; on a lost connection (or a timeout, or a
    /// serialization failure) the connection is dropped and `body` runs again on a new one, a few
    /// times with backoff. `body` must be safe to run again: every write is one transaction.
    func withConnection<T>(_ what: String, _ body: (PostgresConnection) throws -> T) throws(IndexError) -> T {
        var attempt = 0
        let started = DispatchTime.now().uptimeNanoseconds
        while true {
            var connection: PostgresConnection?
            do {
                // An idle connection the server has closed meanwhile (restart, pg_terminate_backend) is dropped unused.
                var reused = idle.withLock { $0.popLast() }
                while let r = reused, r.isClosed {
                    _ = try? Self.bounded(r.close(), seconds: 5)
                    reused = idle.withLock { $0.popLast() }
                }
                if let r = reused {
                    // The server may have ended an idle connection without the client noticing
                    // (a statement sent on it then gets no answer): one short round trip first.
                    connection = r
                    _ = try Self.bounded(r.query(PostgresQuery(unsafeSQL: "SELECT 1"), logger: logger), seconds: Self.pingTimeout)
                }
                let c = try reused ?? connect()
                connection = c
                let result = try body(c)
                idle.withLock { $0.append(c) }
                return result
            } catch {
                if let connection { _ = try? Self.bounded(connection.close(), seconds: 5) }
                if let e = error as? IndexError { throw e }
                let retry = Self.retryable(error)
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                if retry && attempt < bounds.retryDelays.count && elapsed + bounds.retryDelays[attempt] < bounds.deadlineSeconds {
                    usleep(UInt32(bounds.retryDelays[attempt] * 1e6))
                    attempt += 1
                    continue
                }
                let detail = Self.describe(error)
                if connection == nil || retry {
                    throw .cannotOpen(path: location, detail: detail + (attempt > 0 ? " (after \(attempt + 1) attempts)" : ""))
                }
                throw .database(path: location, detail: "\(what): \(detail)")
            }
        }
    }

    /// Errors worth a new connection: the connection (or server) went away, a statement timed
    /// out, or the server asked for a retry.
    static func retryable(_ error: any Error) -> Bool {
        if error is Timeout { return true }
        if let e = error as? PSQLError {
            // A certificate that is not trusted stays so.
            if e.underlying is NIOSSLError { return false }
            switch e.code {
            case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .messageDecodingFailure:
                return true
            case .server:
                let state = e.serverInfo?[.sqlState] ?? ""
                // 08: connection exception; 57P: operator intervention (shutdown); 40001/40P01: retry the transaction.
                return state.hasPrefix("08") || state.hasPrefix("57P") || state == "40001" || state == "40P01"
            default:
                return false
            }
        }
        // NIO's own connection and channel errors.
        return error is ChannelError || error is NIOConnectionError || error is IOError
    }

    /// A one-line account of an error, without the query's parameters or any password.
    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let info = e.serverInfo {
                let message = info[.message] ?? "server error"
                let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                let detail = info[.detail].map { ": \($0)" } ?? ""
                return message + detail + state
            }
            if let underlying = e.underlying { return "\(e.code): \(describe(underlying))" }
            return "\(e.code)"
        }
        if let e = error as? NIOSSLError {
            let text = "\(e)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return "TLS: the server's certificate is not trusted (CERTIFICATE_VERIFY_FAILED); give its authority's certificate "
                    + "as sslrootcert=FILE in the address (or PGSSLROOTCERT)"
            }
            return "TLS: \(text)"
        }
        if let e = error as? NIOConnectionError {
            let causes = e.connectionErrors.map { "\($0.target): \($0.error)" }
            return "cannot connect to \(e.host):\(e.port)" + (causes.isEmpty ? "" : " (" + causes.joined(separator: "; ") + ")")
        }
        if let e = error as? ChannelError, case .connectTimeout = e {
            return "no connection within the connect timeout"
        }
        return "\(error)"
    }

    static func query(_ c: PostgresConnection, _ sql: String, _ binds: PostgresBindings = PostgresBindings(),
                      logger: Logger, seconds: Int64 = Bounds.jobs.statementSeconds) throws -> PostgresQueryResult {
        try bounded(c.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger), seconds: seconds)
    }

    func query(_ c: PostgresConnection, _ sql: String, _ binds: PostgresBindings = PostgresBindings()) throws -> PostgresQueryResult {
        try Self.query(c, sql, binds, logger: logger, seconds: statementTimeout)
    }

    /// `body` between BEGIN and COMMIT. On any failure `withConnection` closes the connection,
    /// and the server rolls the transaction back (no ROLLBACK is sent: on a connection the
    /// server has ended, a statement may get no answer at all).
    func transaction<T>(_ c: PostgresConnection, _ body: () throws -> T) throws -> T {
        _ = try query(c, "BEGIN")
        let result = try body()
        _ = try query(c, "COMMIT")
        return result
    }

    // MARK: Schema

    private func migrate() throws(IndexError) {
        let location = self.location
        let readOnly = self.readOnly
        try withConnection("schema") { c in
            try transaction(c) {
                // One process at a time creates or checks the schema (shard writers start together).
                if !readOnly { _ = try query(c, "SELECT pg_advisory_xact_lock(hashtextextended('imagingx-index schema', 0))") }
                let tables = try query(c, "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()")
                    .rows.map { try $0.decode(String.self) }
                var stamp: String?
                if tables.contains("meta") {
                    stamp = try query(c, "SELECT value FROM meta WHERE key = 'application'").rows.first.map { try $0.decode(String.self) }
                }
                if !tables.isEmpty, stamp != IndexStore.application { throw IndexError.foreignDatabase(path: location) }
                let applied = tables.contains("schema_migrations")
                    ? try query(c, "SELECT identifier FROM schema_migrations").rows.map { try $0.decode(String.self) } : []
                let unknown = applied.filter { !PostgresSchema.steps.contains($0) }
                if !unknown.isEmpty { throw IndexError.newerSchema(path: location, unknown: unknown.sorted()) }
                if readOnly {
                    if tables.isEmpty { throw IndexError.missing(path: location) }
                    if applied.count < PostgresSchema.steps.count {
                        throw IndexError.database(path: location, detail: "the index's schema is older than this version; "
                                                  + "run `imagingx index` on it once to upgrade it")
                    }
                    return
                }
                if !applied.contains("v1") {
                    if !tables.contains("schema_migrations") { _ = try query(c, PostgresSchema.migrationsTable) }
                    for statement in PostgresSchema.v1 { _ = try query(c, statement) }
                    var binds = PostgresBindings()
                    binds.append(IndexStore.application)
                    _ = try query(c, "INSERT INTO meta(key, value) VALUES ('application', $1), ('created_schema', 'v1')", binds)
                    _ = try query(c, "INSERT INTO schema_migrations(identifier) VALUES ('v1')")
                }
                // Later steps, each once, in order (the same steps as SQLite's migrator).
                for (step, statements) in PostgresSchema.statements.dropFirst() where !applied.contains(step) {
                    for statement in statements { _ = try query(c, statement) }
                    var binds = PostgresBindings()
                    binds.append(step)
                    _ = try query(c, "INSERT INTO schema_migrations(identifier) VALUES ($1)", binds)
                }
            }
        }
    }

    // MARK: Roots

    static let rootColumns = "id, path, available, unavailable_reason, indexed_at, files, with_stats"

    static func root(_ row: PostgresRow) throws -> IndexRoot {
        let r = row.makeRandomAccess()
        return IndexRoot(rowID: try r[0].decode(Int64.self), path: try r[1].decode(String.self), available: try r[2].decode(Int64.self) != 0,
                         unavailableReason: try r[3].decode(String?.self), indexedAt: try r[4].decode(String?.self),
                         files: Int(try r[5].decode(Int64.self)), withStats: try r[6].decode(Int64.self) != 0)
    }

    public func roots() throws(IndexError) -> [IndexRoot] {
        try withConnection("roots") { c in
            try query(c, "SELECT \(Self.rootColumns) FROM roots ORDER BY path").rows.map(Self.root)
        }
    }

    public func root(path: String) throws(IndexError) -> IndexRoot {
        try withConnection("root") { c in
            var binds = PostgresBindings()
            binds.append(path)
            // Race-free among writers starting together: the row is made once, every writer reads it.
            _ = try query(c, "INSERT INTO roots(path) VALUES ($1) ON CONFLICT (path) DO NOTHING", binds)
            guard let row = try query(c, "SELECT \(Self.rootColumns) FROM roots WHERE path = $1", binds).rows.first else {
                throw IndexError.database(path: location, detail: "the root \(path) vanished while it was being added")
            }
            return try Self.root(row)
        }
    }

    public func markUnavailable(root: Int64, reason: String) throws(IndexError) {
        try withConnection("mark unavailable") { c in
            var binds = PostgresBindings()
            binds.append(reason)
            binds.append(root)
            _ = try query(c, "UPDATE roots SET available = 0, unavailable_reason = $1 WHERE id = $2", binds)
        }
    }

    public func finishRoot(_ root: Int64, at time: String, withStats: Bool) throws(IndexError) {
        try ensureLockHeld()
        try withConnection("finish root") { c in
            var binds = PostgresBindings()
            binds.append(time)
            binds.append(root)
            binds.append(Int64(withStats ? 1 : 0))
            _ = try query(c, """
                UPDATE roots SET available = 1, unavailable_reason = NULL, indexed_at = $1,
                    files = (SELECT count(*) FROM files WHERE root_id = $2), with_stats = $3 WHERE id = $2
                """, binds)
            // Planner statistics (sampled by the server, so bounded in time).
            _ = try query(c, "ANALYZE files")
        }
    }

    // MARK: Files

    /// `INSERT … VALUES (…), … ON CONFLICT (root_id, path) DO UPDATE`: a new file gets a row, a
    /// changed one keeps its id, and a batch replayed after a lost connection lands the same.
    static func upsertSQL(rows: Int) -> String {
        let names = Array(FileRows.columns.dropFirst())
        var sql = "INSERT INTO files (" + names.joined(separator: ", ") + ") VALUES "
        var n = 1
        for row in 0..<rows {
            if row > 0 { sql += ", " }
            sql += "("
            for k in 0..<names.count {
                if k > 0 { sql += ", " }
                sql += "$\(n)"
                n += 1
            }
            sql += ")"
        }
        sql += " ON CONFLICT (root_id, path) DO UPDATE SET "
            + names.filter { $0 != "root_id" && $0 != "path" }.map { "\($0) = EXCLUDED.\($0)" }.joined(separator: ", ")
            + " RETURNING id, path"
        return sql
    }

    public func write(_ records: [ImageRecord], root: Int64, statsRead: Bool, stored: [String: StoredFile]) throws(IndexError) {
        guard !records.isEmpty else { return }
        try ensureLockHeld()
        // Parameters are built once; a retry sends them again.
        var chunks: [(sql: String, binds: PostgresBindings)] = []
        var start = 0
        while start < records.count {
            let end = min(records.count, start + Self.rowsPerInsert)
            var binder = PostgresBinder(bindings: PostgresBindings(capacity: (end - start) * (FileRows.columns.count - 1)))
            for i in start..<end {
                FileRows.bind(records[i], rootID: root, datasetID: stored[records[i].path]?.datasetID, statsRead: statsRead, into: &binder)
            }
            chunks.append((Self.upsertSQL(rows: end - start), binder.bindings))
            start = end
        }
        // Findings to write, and rows whose old findings must go (a replay clears its own first insert's).
        var findings: [String: [Finding]] = [:]
        for i in records.indices where !records[i].findings.isEmpty || stored[records[i].path]?.hadFindings == true {
            findings[records[i].path] = records[i].findings
        }
        try withConnection("write a batch") { c in
            try transaction(c) {
                var ids: [String: Int64] = [:]
                for chunk in chunks {
                    for row in try query(c, chunk.sql, chunk.binds).rows {
                        let (id, path) = try row.decode((Int64, String).self)
                        if findings[path] != nil { ids[path] = id }
                    }
                }
                guard !ids.isEmpty else { return }
                var clear = PostgresBindings()
                clear.append(Array(ids.values))
                _ = try query(c, "DELETE FROM file_findings WHERE file_id = ANY($1)", clear)
                var rows: [(Int64, Finding)] = []
                for (path, list) in findings { if let id = ids[path] { for f in list { rows.append((id, f)) } } }
                var at = 0
                while at < rows.count {
                    let end = min(rows.count, at + 10_000)
                    var binds = PostgresBindings(capacity: (end - at) * 3)
                    var sql = "INSERT INTO file_findings(file_id, code, level) VALUES "
                    for k in at..<end {
                        let n = (k - at) * 3
                        sql += (k > at ? ", " : "") + "($\(n + 1), $\(n + 2), $\(n + 3))"
                        binds.append(rows[k].0)
                        binds.append(rows[k].1.code.rawValue)
                        binds.append(rows[k].1.level.rawValue)
                    }
                    _ = try query(c, sql, binds)
                    at = end
                }
            }
        }
    }

    public func deleteFiles(_ ids: [Int64]) throws(IndexError) {
        guard !ids.isEmpty else { return }
        try ensureLockHeld()
        try withConnection("delete files") { c in
            var binds = PostgresBindings()
            binds.append(ids)
            _ = try query(c, "DELETE FROM files WHERE id = ANY($1)", binds)
        }
    }

    public func maxFileID() throws(IndexError) -> Int64 {
        try withConnection("max id") { c in
            try query(c, "SELECT coalesce(max(id), 0)::bigint FROM files").rows.first?.decode(Int64.self) ?? 0
        }
    }

    public func storedPage(root: Int64, after: String, maxID: Int64, limit: Int) throws(IndexError) -> [(path: String, file: StoredFile)] {
        try withConnection("stored files") { c in
            var binds = PostgresBindings()
            binds.append(root)
            binds.append(after)
            binds.append(maxID)
            binds.append(Int64(limit))
            return try query(c, """
                SELECT path, id, dataset_id, device, inode, size_bytes, mtime_ns, ctime_ns, stats_read, finding_count, etag, last_modified
                FROM files WHERE root_id = $1 AND path > $2 AND id <= $3 ORDER BY path LIMIT $4
                """, binds).rows.map { row in
                let r = row.makeRandomAccess()
                let (path, id, dataset, device, inode) = (try r[0].decode(String.self), try r[1].decode(Int64.self), try r[2].decode(Int64?.self),
                                                          try r[3].decode(Int64?.self), try r[4].decode(Int64?.self))
                let (size, mtime, ctime, stats, findings) = (try r[5].decode(Int64.self), try r[6].decode(Int64?.self), try r[7].decode(Int64?.self),
                                                             try r[8].decode(Int64.self), try r[9].decode(Int64.self))
                return (path: path, file: StoredFile(rowID: id, datasetID: dataset, device: device, inode: inode, size: size, mtimeNs: mtime,
                                                     ctimeNs: ctime, statsRead: stats != 0, hadFindings: findings > 0,
                                                     etag: try r[10].decode(String?.self), lastModified: try r[11].decode(String?.self)))
            }
        }
    }

    public func fileCount(root: Int64) throws(IndexError) -> Int {
        try withConnection("count") { c in
            var binds = PostgresBindings()
            binds.append(root)
            return Int(try query(c, "SELECT count(*)::bigint FROM files WHERE root_id = $1", binds).rows.first?.decode(Int64.self) ?? 0)
        }
    }

    public func filesWithoutStats(roots: [Int64]) throws(IndexError) -> Int {
        try withConnection("count") { c in
            var binds = PostgresBindings()
            binds.append(roots)
            return Int(try query(c, "SELECT count(*)::bigint FROM files WHERE stats_read = 0 AND root_id = ANY($1)", binds)
                .rows.first?.decode(Int64.self) ?? 0)
        }
    }

    /// In pages of 4,096 rows by path (each page its own short query: a reader never holds a
    /// snapshot open while writers go on).
    public func forEachRecord(roots wanted: [Int64]?, _ body: (ImageRecord) throws -> Void) throws(IndexError) {
        let all = try roots()
        let chosen = wanted.map { ids in all.filter { ids.contains($0.id) } } ?? all
        let ordered = chosen.sorted { ($0.path + "/").utf8.lexicographicallyPrecedes(($1.path + "/").utf8) }
        let prefix = ordered.count > 1
        let sql = "SELECT " + FileRows.selectColumns.joined(separator: ", ") + " FROM files WHERE root_id = $1 AND path > $2 ORDER BY path LIMIT 4096"
        for root in ordered {
            var after = ""
            while true {
                let rows = try withConnection("export") { c in
                    var binds = PostgresBindings()
                    binds.append(root.id)
                    binds.append(after)
                    return try query(c, sql, binds).rows.map { PostgresColumns($0.makeRandomAccess()) }
                }
                var failure: (any Error)?
                for row in rows {
                    var r = FileRows.record(row)
                    after = r.path
                    if prefix { r.path = root.path + "/" + r.path }
                    do { try body(r) } catch { failure = error; break }
                }
                if let failure { throw .database(path: location, detail: "\(failure)") }
                if rows.count < 4096 { break }
            }
        }
    }

    // MARK: The writer lock

    /// An advisory lock held by a connection of its own until `release` (the server frees it when
    /// the process or its connection ends). Before every write the store checks it is still held
    /// (`ensureHeld`): a lock whose connection ended is taken again on a new connection, and when
    /// another job took it meanwhile the write is refused and the job stops.
    public final class AdvisoryLock: IndexWriterLock, @unchecked Sendable {
        struct State {
            var connection: PostgresConnection?
            var checked: UInt64
            var released = false
        }
        let keys: (shared: [String], exclusive: [String])
        let shardCount: Int?
        let roots: [String]
        let what: String
        private let state: Mutex<State>
        /// Nanoseconds between round trips that check an open connection still answers.
        static let pingInterval: UInt64 = 5_000_000_000

        init(connection: PostgresConnection, keys: (shared: [String], exclusive: [String]), shardCount: Int?, roots: [String], what: String) {
            self.keys = keys
            self.shardCount = shardCount
            self.roots = roots
            self.what = what
            state = Mutex(State(connection: connection, checked: DispatchTime.now().uptimeNanoseconds))
        }

        public func release() {
            let c = state.withLock { s -> PostgresConnection? in
                s.released = true
                defer { s.connection = nil }
                return s.connection
            }
            // Ending the session frees its advisory locks; a connection the server already ended holds none.
            if let c, !c.isClosed { _ = try? PostgresIndexStore.bounded(c.close(), seconds: 5) }
        }
        deinit { release() }

        /// Takes the keys on `c` without waiting; false when another session holds one. With a
        /// shard count, first claims each root for shards of that count: writers of shards of
        /// another count at once would each take the other's files for removed ones.
        static func take(_ keys: (shared: [String], exclusive: [String]), shardCount: Int?, roots: [String],
                         on c: PostgresConnection, store: PostgresIndexStore) throws -> Bool {
            let logger = store.logger
            func one(_ sql: String, _ key: String) throws -> Bool {
                var binds = PostgresBindings()
                binds.append(key)
                return try PostgresIndexStore.query(c, sql, binds, logger: logger).rows.first?.decode(Bool.self) ?? false
            }
            if let n = shardCount {
                _ = try PostgresIndexStore.query(c, "BEGIN", logger: logger)
                for root in roots.sorted() {
                    _ = try PostgresIndexStore.query(c, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                                                     PostgresIndexStore.bindings("imagingx-index root \(root) shard count"), logger: logger)
                    let countKey = "shard_count:" + root
                    let value = try PostgresIndexStore.query(c, "SELECT value FROM meta WHERE key = $1", PostgresIndexStore.bindings(countKey),
                                                             logger: logger).rows.first?.decode(String.self)
                    let stored = value.flatMap { Int($0) }
                    if let m = stored, m != n {
                        // Shards of count m still writing hold its key shared: the probe fails.
                        let probe = "imagingx-index root \(root) shards \(m)"
                        guard try one("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", probe) else {
                            _ = try? PostgresIndexStore.query(c, "ROLLBACK", logger: logger)
                            throw IndexError.database(path: store.location, detail: "shards of another count (K/\(m)) are writing \(root) now; "
                                                      + "the writers of one root at once must all use N = \(m) (this job has N = \(n))")
                        }
                        _ = try one("SELECT pg_advisory_unlock(hashtextextended($1, 0))", probe)
                    }
                    _ = try PostgresIndexStore.query(c, "INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                                                     PostgresIndexStore.bindings(countKey, String(n)), logger: logger)
                    _ = try one("SELECT pg_try_advisory_lock_shared(hashtextextended($1, 0))", "imagingx-index root \(root) shards \(n)")
                }
                _ = try PostgresIndexStore.query(c, "COMMIT", logger: logger)
            }
            for key in keys.shared + keys.exclusive {
                var binds = PostgresBindings()
                binds.append(key)
                let fn = keys.shared.contains(key) ? "pg_try_advisory_lock_shared" : "pg_try_advisory_lock"
                let held = try PostgresIndexStore.query(c, "SELECT \(fn)(hashtextextended($1, 0))", binds, logger: logger).rows.first?.decode(Bool.self) ?? false
                if !held { return false }
            }
            return true
        }

        /// Whether the lock is still held; taken again on a new connection when its own ended.
        func ensureHeld(by store: PostgresIndexStore) throws(IndexError) {
            let now = DispatchTime.now().uptimeNanoseconds
            let (current, released, due) = state.withLock { s in (s.connection, s.released, now &- s.checked >= Self.pingInterval) }
            guard !released else { return }
            if let current, !current.isClosed {
                guard due else { return }
                if (try? PostgresIndexStore.bounded(current.query(PostgresQuery(unsafeSQL: "SELECT 1"), logger: store.logger),
                                                    seconds: PostgresIndexStore.pingTimeout)) != nil {
                    state.withLock { $0.checked = now }
                    return
                }
                _ = try? PostgresIndexStore.bounded(current.close(), seconds: 5)
            }
            // The lock's session ended (the server restarted, or ended it): take it again.
            var attempt = 0
            while true {
                do {
                    let c = try store.connect()
                    if try Self.take(keys, shardCount: shardCount, roots: roots, on: c, store: store) {
                        state.withLock { s in
                            s.connection = c
                            s.checked = DispatchTime.now().uptimeNanoseconds
                        }
                        return
                    }
                    _ = try? PostgresIndexStore.bounded(c.close(), seconds: 5)
                    throw IndexError.database(path: store.location, detail: "the writer lock on \(what) was lost (its connection ended) and another "
                                              + "job holds it now; this job stopped (every batch it wrote landed whole)")
                } catch let error as IndexError {
                    throw error
                } catch {
                    if attempt < PostgresIndexStore.retryDelays.count {
                        usleep(UInt32(PostgresIndexStore.retryDelays[attempt] * 1e6))
                        attempt += 1
                        continue
                    }
                    throw .cannotOpen(path: store.location, detail: "the writer lock's connection ended and it cannot be taken again: "
                                      + PostgresIndexStore.describe(error))
                }
            }
        }
    }

    /// The lock's keys: the whole root is shared by its shards' writers and exclusive for a
    /// writer of the whole root; each (root, shard) is exclusive.
    public static func lockKeys(roots: [String], shard: Shard?) -> (shared: [String], exclusive: [String]) {
        let rootKeys = roots.sorted().map { "imagingx-index root " + $0 }
        guard let shard, shard.count > 1 else { return ([], rootKeys) }
        return (rootKeys, rootKeys.map { $0 + " shard \(shard.index)/\(shard.count)" })
    }

    public func writerLock(roots: [String], shard: Shard?) throws(IndexError) -> any IndexWriterLock {
        let keys = Self.lockKeys(roots: roots, shard: shard)
        let what = roots.joined(separator: ", ") + (shard.map { " shard \($0)" } ?? "")
        let c: PostgresConnection
        do { c = try connect() } catch { throw .cannotOpen(path: location, detail: Self.describe(error)) }
        let count = shard.flatMap { $0.count > 1 ? $0.count : nil }
        let lock = AdvisoryLock(connection: c, keys: keys, shardCount: count, roots: roots, what: what)
        let held: Bool
        do { held = try AdvisoryLock.take(keys, shardCount: count, roots: roots, on: c, store: self) } catch let error as IndexError {
            lock.release()
            throw error
        } catch {
            lock.release()
            throw .database(path: location, detail: "writer lock: \(Self.describe(error))")
        }
        guard held else {
            lock.release()
            throw .busy(path: "\(location) (\(what))")
        }
        heldLock.withLock { $0.lock = lock }
        return lock
    }

    /// Before a write: the writer lock this store took is still held (see `AdvisoryLock`).
    func ensureLockHeld() throws(IndexError) {
        guard let lock = heldLock.withLock({ $0.lock }) else { return }
        try lock.ensureHeld(by: self)
    }
}

struct WeakLock: @unchecked Sendable {
    weak var lock: PostgresIndexStore.AdvisoryLock?
}

/// `FileRows.bind`'s values as statement parameters (BIGINT, DOUBLE PRECISION, TEXT).
struct PostgresBinder: ColumnBinder {
    var bindings: PostgresBindings
    mutating func null() { bindings.appendNull() }
    mutating func int(_ v: Int?) { if let v { bindings.append(Int64(v)) } else { bindings.appendNull() } }
    mutating func int64(_ v: Int64?) { if let v { bindings.append(v) } else { bindings.appendNull() } }
    mutating func bool(_ v: Bool?) { int(v.map { $0 ? 1 : 0 }) }
    mutating func double(_ v: Double?) { if let v, v.isFinite { bindings.append(v) } else { bindings.appendNull() } }
    mutating func text(_ v: String?) { if let v { bindings.append(v) } else { bindings.appendNull() } }
    mutating func text(bytes: [UInt8]) { bindings.append(String(decoding: bytes, as: UTF8.self)) }
}

/// A result row for `FileRows.record`.
struct PostgresColumns: ColumnReader {
    let row: PostgresRandomAccessRow
    init(_ row: PostgresRandomAccessRow) { self.row = row }
    func string(_ i: Int) -> String? { (try? row[i].decode(String?.self)) ?? nil }
    func int64(_ i: Int) -> Int64? { (try? row[i].decode(Int64?.self)) ?? nil }
    func double(_ i: Int) -> Double? { (try? row[i].decode(Double?.self)) ?? nil }
}
