import ImagingXIndex
import ImagingXModel
import PostgresNIO

/// What `imagingx serve` reads from a PostgreSQL index, and the compat results and plans it keeps
/// there: SQLite's queries (Queries.swift, FilePageJSON.swift, DatasetStore.swift) in PostgreSQL's
/// dialect, with the same answers. Text columns are COLLATE "C" (byte order, as SQLite's BINARY);
/// `instr(path, s) > 0` is `strpos(path, s) > 0`; a page's JSON is written in Swift from the row
/// by `FilePageRows`, the same bytes as SQLite's writer. Every statement goes through the store's
/// `withConnection` (time-bounded, retried with backoff on a lost connection, then an `IndexError`
/// the service answers with 503).
extension PostgresIndexStore: ServiceIndexStore {
    /// The WHERE clause of a file query, with $n parameters from `first`.
    static func clause(_ q: FileQuery, first: Int = 1) -> (sql: String, binds: PostgresBindings, matchesNothing: Bool) {
        var terms: [String] = []
        var binds = PostgresBindings()
        var n = first
        var nothing = false
        for f in q.filters {
            let p = "$\(n)"
            n += 1
            switch f.kind {
            case .equal: terms.append(f.column + " = " + p)
            case .atLeast: terms.append(f.column + " >= " + p)
            case .atMost: terms.append(f.column + " <= " + p)
            case .above: terms.append(f.column + " > " + p)
            case .hasFinding: terms.append("f.id IN (SELECT file_id FROM file_findings WHERE code = \(p))")
            case .pathContains: terms.append("strpos(f.path, \(p)) > 0")
            }
            switch f.value {
            case .integer(let v): binds.append(v)
            case .number(let v): binds.append(v)
            case .text(let v):
                // PostgreSQL text cannot hold NUL, so no stored value equals or contains it (SQLite
                // then matches nothing too): the query is not sent, its answer is empty.
                if v.utf8.contains(0) { nothing = true }
                binds.append(v)
            }
        }
        return (terms.isEmpty ? "" : " WHERE " + terms.joined(separator: " AND "), binds, nothing)
    }

    /// Root paths by id.
    func rootPaths(_ c: PostgresConnection) throws -> [Int64: String] {
        var out: [Int64: String] = [:]
        for row in try query(c, "SELECT id, path FROM roots").rows {
            let (id, path) = try row.decode((Int64, String).self)
            out[id] = path
        }
        return out
    }

    public func files(_ q: FileQuery) throws(IndexError) -> (files: [IndexedFile], next: Int64?) {
        let (whereSQL, binds, nothing) = Self.clause(q)
        if nothing { return ([], nil) }
        let limit = max(1, q.limit)
        let sql = "SELECT f.id, f.root_id, f.dataset_id, f.stats_read, " + FileRows.selectColumns.map { "f." + $0 }.joined(separator: ", ")
            + " FROM files f" + whereSQL + " ORDER BY f.id LIMIT \(limit + 1)"
        return try withConnection("files") { c in
            let roots = try rootPaths(c)
            var out: [IndexedFile] = []
            for row in try query(c, sql, binds).rows {
                let r = PostgresColumns(row.makeRandomAccess())
                out.append(IndexedFile.stored(id: r.int64(0) ?? 0, root: roots[r.int64(1) ?? -1] ?? "", datasetID: r.int64(2),
                                       record: FileRows.record(r, offset: 4), statsRead: (r.int64(3) ?? 0) != 0))
            }
            let next = out.count > limit ? out[limit - 1].id : nil
            return (Array(out.prefix(limit)), next)
        }
    }

    public func file(id: Int64) throws(IndexError) -> IndexedFile? {
        var q = FileQuery()
        q.after = id - 1
        q.limit = 1
        return try files(q).files.first { $0.id == id }
    }

    public func filePageJSON(_ q: FileQuery) throws(IndexError) -> (json: [UInt8], count: Int, next: Int64?) {
        let (whereSQL, binds, nothing) = Self.clause(q)
        if nothing { return (Array("[]".utf8), 0, nil) }
        let limit = max(1, q.limit)
        let sql = "SELECT " + FilePageRows.columns.joined(separator: ", ") + " FROM files f" + whereSQL + " ORDER BY f.id LIMIT \(limit + 1)"
        return try withConnection("files") { c in
            let roots = try rootPaths(c).mapValues(FilePageRows.rootJSON)
            let rows = try query(c, sql, binds).rows
            var out: [UInt8] = [UInt8(ascii: "[")]
            out.reserveCapacity(min(rows.count, limit) * 900)
            var count = 0
            var lastID: Int64 = 0
            for row in rows.prefix(limit) {
                let r = PostgresColumns(row.makeRandomAccess())
                if count > 0 { out.append(UInt8(ascii: ",")) }
                FilePageRows.appendFile(r, roots: roots, to: &out)
                lastID = r.int64(0) ?? 0
                count += 1
            }
            out.append(UInt8(ascii: "]"))
            return (out, count, rows.count > limit ? lastID : nil)
        }
    }

    public func countFiles(_ q: FileQuery) throws(IndexError) -> Int {
        var q = q
        q.after = nil
        let (whereSQL, binds, nothing) = Self.clause(q)
        if nothing { return 0 }
        return try withConnection("count") { c in
            Int(try query(c, "SELECT count(*) FROM files f" + whereSQL, binds).rows.first?.decode(Int64.self) ?? 0)
        }
    }

    public func fileFacets(_ q: FileQuery) throws(IndexError) -> [String: [String: Int]] {
        var q = q
        q.after = nil
        let (whereSQL, binds, nothing) = Self.clause(q)
        let columns = ["format", "modality", "status", "dtype"]
        if nothing { return Dictionary(uniqueKeysWithValues: (columns + ["finding"]).map { ($0, [:]) }) }
        return try withConnection("facets") { c in
            func counts(_ sql: String) throws -> [String: Int] {
                var out: [String: Int] = [:]
                for row in try query(c, sql, binds).rows {
                    let (key, n) = try row.decode((String, Int64).self)
                    out[key, default: 0] += Int(n)
                }
                return out
            }
            var out: [String: [String: Int]] = [:]
            for column in columns {
                out[column] = try counts("SELECT coalesce(f.\(column), 'unknown'), count(*) FROM files f" + whereSQL + " GROUP BY 1")
            }
            out["finding"] = try counts("SELECT ff.code, count(*) FROM file_findings ff WHERE ff.file_id IN (SELECT f.id FROM files f"
                                        + whereSQL + ") GROUP BY 1")
            return out
        }
    }

    public func totals() throws(IndexError) -> (files: Int, datasets: Int, roots: Int) {
        try withConnection("totals") { c in
            guard let row = try query(c, "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM datasets), (SELECT count(*) FROM roots)")
                .rows.first else { return (0, 0, 0) }
            let (files, datasets, roots) = try row.decode((Int64, Int64, Int64).self)
            return (Int(files), Int(datasets), Int(roots))
        }
    }

    public func fileID(root: Int64, path: String) throws(IndexError) -> Int64? {
        if path.utf8.contains(0) { return nil }
        return try withConnection("file id") { c in
            var binds = PostgresBindings()
            binds.append(root)
            binds.append(path)
            return try query(c, "SELECT id FROM files WHERE root_id = $1 AND path = $2", binds).rows.first?.decode(Int64.self)
        }
    }

    public func fullPath(file id: Int64) throws(IndexError) -> (path: String, root: String)? {
        try withConnection("file path") { c in
            var binds = PostgresBindings()
            binds.append(id)
            guard let row = try query(c, "SELECT r.path, f.path FROM files f JOIN roots r ON r.id = f.root_id WHERE f.id = $1", binds)
                .rows.first else { return nil }
            let (root, path) = try row.decode((String, String).self)
            return (path: root + "/" + path, root: root)
        }
    }

    public func errorRecords(root: String, limit: Int) throws(IndexError) -> [(path: String, message: String)] {
        if root.utf8.contains(0) { return [] }
        return try withConnection("error records") { c in
            var binds = PostgresBindings()
            binds.append(root)
            binds.append(Int64(max(0, limit)))
            return try query(c, """
                SELECT f.path, coalesce(f.error, '') FROM files f JOIN roots r ON r.id = f.root_id
                WHERE r.path = $1 AND f.status = 'error' ORDER BY f.path LIMIT $2
                """, binds).rows.map { row in
                let (path, message) = try row.decode((String, String).self)
                return (path: path, message: message)
            }
        }
    }

    // MARK: Datasets (reads of what the dataset pass wrote)

    /// The columns `dataset(_:)` reads (SQLite's `datasetColumns`).
    static let datasetColumns = "d.id, d.root_id, r.path, d.folder, d.name, d.layout, d.modality, d.files, d.bytes, d.cases, "
        + "d.cases_failed, d.catalog_id, d.fingerprinted_at"

    static func dataset(_ row: PostgresRow) throws -> IndexedDataset {
        let r = row.makeRandomAccess()
        return IndexedDataset.stored(id: try r[0].decode(Int64.self), rootID: try r[1].decode(Int64.self), root: try r[2].decode(String.self),
                                     folder: try r[3].decode(String.self), name: try r[4].decode(String.self),
                                     layout: try r[5].decode(String.self), modality: try r[6].decode(String?.self),
                                     files: Int(try r[7].decode(Int64.self)), bytes: Int(try r[8].decode(Int64.self)),
                                     cases: Int(try r[9].decode(Int64.self)), casesFailed: Int(try r[10].decode(Int64.self)),
                                     catalogID: try r[11].decode(String?.self), fingerprintedAt: try r[12].decode(String?.self))
    }

    public func dataset(id: Int64) throws(IndexError) -> IndexedDataset? {
        try withConnection("dataset") { c in
            var binds = PostgresBindings()
            binds.append(id)
            return try query(c, "SELECT \(Self.datasetColumns) FROM datasets d JOIN roots r ON r.id = d.root_id WHERE d.id = $1", binds)
                .rows.first.map(Self.dataset)
        }
    }

    public func fingerprintJSON(dataset id: Int64) throws(IndexError) -> [UInt8]? {
        try withConnection("fingerprint") { c in
            var binds = PostgresBindings()
            binds.append(id)
            // A row with no fingerprint yet reads as nil, as SQLite's fetchOne of a NULL does.
            guard let row = try query(c, "SELECT fingerprint FROM datasets WHERE id = $1", binds).rows.first else { return nil }
            return try row.decode(String?.self).map { Array($0.utf8) }
        }
    }

    public func seriesJSON(dataset: Int64?, limit: Int) throws(IndexError) -> [UInt8] {
        try withConnection("series") { c in
            var binds = PostgresBindings()
            if let dataset { binds.append(dataset) }
            let rows = try query(c, "SELECT id, dataset_id, record FROM series" + (dataset != nil ? " WHERE dataset_id = $1" : "")
                                 + " ORDER BY id LIMIT \(max(1, limit))", binds).rows.map { row in
                let (id, datasetID, record) = try row.decode((Int64, Int64?, String).self)
                return (id: id, dataset: datasetID, record: record)
            }
            return FilePageRows.seriesJSON(rows)
        }
    }

    // MARK: Saved compat results and plans

    /// One row inserted, its id returned. (A lost connection after the server committed but
    /// before its answer arrived makes the retry insert a second row: a plan saved twice, never lost.)
    func insertReturningID(_ what: String, _ sql: String, _ values: [String]) throws(IndexError) -> Int64 {
        try withConnection(what) { c in
            var binds = PostgresBindings()
            for v in values { binds.append(v) }
            guard let id = try query(c, sql + " RETURNING id", binds).rows.first?.decode(Int64.self) else {
                throw IndexError.database(path: location, detail: "\(what): the server returned no id")
            }
            return id
        }
    }

    public func saveCompat(request: String, result: String, at time: String) throws(IndexError) -> Int64 {
        try insertReturningID("save compat", "INSERT INTO compat_results(created_at, request, result) VALUES ($1, $2, $3)",
                              [time, Self.withoutNUL(request), Self.withoutNUL(result)])
    }

    public func savePlan(request: String, plan: String, at time: String) throws(IndexError) -> Int64 {
        try insertReturningID("save plan", "INSERT INTO plans(created_at, request, plan) VALUES ($1, $2, $3)",
                              [time, Self.withoutNUL(request), Self.withoutNUL(plan)])
    }

    public func plan(id: Int64) throws(IndexError) -> (request: String, plan: String)? {
        try withConnection("plan") { c in
            var binds = PostgresBindings()
            binds.append(id)
            guard let row = try query(c, "SELECT request, plan FROM plans WHERE id = $1", binds).rows.first else { return nil }
            let (request, plan) = try row.decode((String, String).self)
            return (request: request, plan: plan)
        }
    }

    /// A request body is JSON (a raw NUL byte cannot occur in valid JSON text, but a body is kept as
    /// sent): PostgreSQL text cannot hold NUL, so one is kept as the escape \u0000.
    static func withoutNUL(_ s: String) -> String {
        s.utf8.contains(0) ? s.replacing("\u{0}", with: "\\u0000") : s
    }
}
