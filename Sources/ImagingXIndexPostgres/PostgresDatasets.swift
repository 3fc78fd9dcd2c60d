import FoundationEssentials
import ImagingXDatasets
import ImagingXIndex
import ImagingXScan
import PostgresNIO

/// The dataset pass on PostgreSQL: the rows SQLite's `IndexStore` writes (datasets, cases,
/// series, the files' dataset ids), and shards' parts of a dataset kept in `meta` until every
/// shard's part is in (shard writers share this index, so no merge step reduces them).
///
/// Writers of one dataset take turns on a transaction-scoped advisory lock keyed by (root,
/// folder); every write is one transaction, so a retried one replays whole.
extension PostgresIndexStore: DatasetIndexStore {
    public var sharesShards: Bool { true }

    public func datasets(root: Int64?) throws(IndexError) -> [IndexedDataset] {
        try withConnection("datasets") { c in
            var binds = PostgresBindings()
            if let root { binds.append(root) }
            return try query(c, "SELECT \(Self.datasetColumns) FROM datasets d JOIN roots r ON r.id = d.root_id"
                             + (root != nil ? " WHERE d.root_id = $1" : "") + " ORDER BY r.path, d.folder", binds).rows.map(Self.dataset)
        }
    }

    public func caseSummaries(dataset id: Int64) throws(IndexError) -> [String: CaseSummary] {
        let rows: [(String, String)] = try withConnection("cases") { c in
            var binds = PostgresBindings()
            binds.append(id)
            return try query(c, "SELECT case_id, summary FROM cases WHERE dataset_id = $1", binds).rows.map { try $0.decode((String, String).self) }
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        var out: [String: CaseSummary] = [:]
        for (caseID, text) in rows {
            if let summary = try? decoder.decode(CaseSummary.self, from: Data(text.utf8)) { out[caseID] = summary }
        }
        return out
    }

    public func meta(_ key: String) throws(IndexError) -> String? {
        try withConnection("meta") { c in
            var binds = PostgresBindings()
            binds.append(key)
            return try query(c, "SELECT value FROM meta WHERE key = $1", binds).rows.first?.decode(String.self)
        }
    }

    public func setMeta(_ key: String, _ value: String) throws(IndexError) {
        try withConnection("meta") { c in
            _ = try query(c, "INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                          Self.bindings(key, value))
        }
    }

    public func saveDataset(_ w: DatasetWrite, root: Int64, at time: String) throws(IndexError) {
        try ensureLockHeld()
        let encoded = try encode(w)
        try withConnection("save dataset") { c in
            try transaction(c) {
                try lockDataset(c, root: root, folder: w.folder)
                try writeDataset(c, w, encoded: encoded, root: root, at: time)
                _ = try query(c, "DELETE FROM meta WHERE key >= $1 AND key < $2",
                              Self.bindings(DatasetPartKeys.folderPrefix(root: root, folder: w.folder), DatasetPartKeys.folderEnd(root: root, folder: w.folder)))
            }
        }
    }

    public func pruneDatasets(root: Int64, keeping folders: Set<String>) throws(IndexError) -> Int {
        try ensureLockHeld()
        return try withConnection("prune datasets") { c in
            try transaction(c) {
                var binds = PostgresBindings()
                binds.append(root)
                let all = try query(c, "SELECT id, folder FROM datasets WHERE root_id = $1", binds).rows.map { try $0.decode((Int64, String).self) }
                let gone = all.filter { !folders.contains($0.1) }.map(\.0)
                if !gone.isEmpty {
                    var ids = PostgresBindings()
                    ids.append(gone)
                    _ = try query(c, "DELETE FROM datasets WHERE id = ANY($1)", ids)
                }
                let keys = try query(c, "SELECT key FROM meta WHERE key >= $1 AND key < $2",
                                     Self.bindings(DatasetPartKeys.rootPrefix(root: root), DatasetPartKeys.rootEnd(root: root)))
                    .rows.map { try $0.decode(String.self) }
                let stale = keys.filter { DatasetPartKeys.parse($0, root: root).map { !folders.contains($0.folder) } ?? false }
                if !stale.isEmpty {
                    var binds = PostgresBindings()
                    binds.append(stale)
                    _ = try query(c, "DELETE FROM meta WHERE key = ANY($1)", binds)
                }
                return gone.count
            }
        }
    }

    public func datasetPart(root: Int64, folder: String, shard: Shard) throws(IndexError) -> [UInt8]? {
        try meta(DatasetPartKeys.key(root: root, folder: folder, shard: shard)).map { Array($0.utf8) }
    }

    public func saveDatasetPart(_ part: [UInt8], root: Int64, folder: String, shard: Shard, at time: String,
                                complete: ([Int: [UInt8]]) throws -> DatasetWrite?) throws(IndexError) {
        try ensureLockHeld()
        var failure: (any Error)?
        do { try withConnection("save a dataset part") { c in
            try transaction(c) {
                try lockDataset(c, root: root, folder: folder)
                _ = try query(c, "INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                              Self.bindings(DatasetPartKeys.key(root: root, folder: folder, shard: shard), String(decoding: part, as: UTF8.self)))
                var parts: [Int: [UInt8]] = [:]
                for row in try query(c, "SELECT key, value FROM meta WHERE key >= $1 AND key < $2",
                                     Self.bindings(DatasetPartKeys.folderPrefix(root: root, folder: folder),
                                                   DatasetPartKeys.folderEnd(root: root, folder: folder))).rows {
                    let (key, value) = try row.decode((String, String).self)
                    if let p = DatasetPartKeys.parse(key, root: root), p.count == shard.count, p.folder == folder { parts[p.index] = Array(value.utf8) }
                }
                // The caller's reduction failing is not a lost connection: no retry, the transaction rolls back.
                let write: DatasetWrite?
                do { write = try complete(parts) } catch { failure = error; throw CompleteFailed() }
                if let write { try writeDataset(c, write, encoded: try encode(write), root: root, at: time) }
            }
        } } catch {
            if let failure { throw .database(path: location, detail: "dataset \(folder.isEmpty ? "(root)" : folder): \(failure)") }
            throw error
        }
    }

    struct CompleteFailed: Error {}

    // MARK: Writing one dataset

    static func bindings(_ values: String...) -> PostgresBindings {
        var binds = PostgresBindings()
        for v in values { binds.append(v) }
        return binds
    }

    func encode(_ w: DatasetWrite) throws(IndexError) -> (cases: [(String, String)], series: [String]) {
        do { return (try w.encodedCases(), try w.encodedSeries()) } catch {
            throw .database(path: location, detail: "dataset \(w.folder): \(error)")
        }
    }

    /// Writers of one dataset folder take turns (until the transaction ends).
    func lockDataset(_ c: PostgresConnection, root: Int64, folder: String) throws {
        _ = try query(c, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", Self.bindings("imagingx-index dataset \(root) " + folder))
    }

    /// `IndexStore.writeDataset`'s statements, on a connection inside a transaction. The row is
    /// updated in place when it exists (an upsert would spend an identity value each time, and ids
    /// would drift from SQLite's).
    func writeDataset(_ c: PostgresConnection, _ w: DatasetWrite, encoded: (cases: [(String, String)], series: [String]),
                      root: Int64, at time: String) throws {
        var key = PostgresBindings()
        key.append(root)
        key.append(w.folder)
        var values = PostgresBinder(bindings: PostgresBindings())
        values.int64(root)
        values.text(w.folder)
        values.text(w.name)
        values.text(w.layout)
        values.text(w.modality)
        values.int(w.cases.count)
        values.int(w.casesFailed)
        values.text(String(decoding: w.fingerprint, as: UTF8.self))
        values.text(time)
        let id: Int64
        if let existing = try query(c, "SELECT id FROM datasets WHERE root_id = $1 AND folder = $2", key).rows.first?.decode(Int64.self) {
            id = existing
            values.int64(id)
            _ = try query(c, """
                UPDATE datasets SET name = $3, layout = $4, modality = $5, cases = $6, cases_failed = $7, fingerprint = $8,
                    fingerprinted_at = $9 WHERE id = $10 AND root_id = $1 AND folder = $2
                """, values.bindings)
        } else {
            guard let made = try query(c, """
                INSERT INTO datasets(root_id, folder, name, layout, modality, cases, cases_failed, fingerprint, fingerprinted_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
                """, values.bindings).rows.first?.decode(Int64.self) else {
                throw IndexError.database(path: location, detail: "dataset \(w.folder): no id returned")
            }
            id = made
        }
        var one = PostgresBindings()
        one.append(id)
        _ = try query(c, "DELETE FROM cases WHERE dataset_id = $1", one)
        try insertRows(c, "cases(dataset_id, case_id, summary)", columns: 3, count: encoded.cases.count) { i, b in
            b.append(id)
            b.append(encoded.cases[i].0)
            b.append(encoded.cases[i].1)
        }
        var claim = PostgresBindings()
        claim.append(id)
        claim.append(root)
        if w.folder.isEmpty {
            _ = try query(c, "UPDATE files SET dataset_id = $1 WHERE root_id = $2 AND dataset_id IS DISTINCT FROM $1", claim)
        } else {
            // Paths under "folder/": a range on the (root_id, path) key (byte order: the column is COLLATE "C").
            claim.append(w.folder + "/")
            claim.append(w.folder + "0")
            _ = try query(c, "UPDATE files SET dataset_id = $1 WHERE root_id = $2 AND path >= $3 AND path < $4 AND dataset_id IS DISTINCT FROM $1", claim)
        }
        _ = try query(c, "DELETE FROM series WHERE dataset_id = $1", one)
        try insertRows(c, "series(root_id, dataset_id, series_key, first_file, modality, slices, regular_volume, record)",
                       columns: 8, count: w.series.count) { i, b in
            let r = w.series[i]
            var binder = PostgresBinder(bindings: b)
            binder.int64(root)
            binder.int64(id)
            binder.text(r.series_key)
            binder.text(r.first_file)
            binder.text(r.modality)
            binder.int(r.files)
            binder.bool(r.regular_volume)
            binder.text(encoded.series[i])
            b = binder.bindings
        }
        _ = try query(c, """
            UPDATE datasets SET files = (SELECT count(*) FROM files WHERE dataset_id = $1),
                bytes = (SELECT coalesce(sum(size_bytes), 0) FROM files WHERE dataset_id = $1) WHERE id = $1
            """, one)
    }

    /// Multi-row INSERTs of `count` rows, 1,000 rows per statement.
    func insertRows(_ c: PostgresConnection, _ table: String, columns: Int, count: Int,
                    bind: (Int, inout PostgresBindings) -> Void) throws {
        var start = 0
        while start < count {
            let end = min(count, start + Self.rowsPerInsert)
            var binds = PostgresBindings(capacity: (end - start) * columns)
            var sql = "INSERT INTO \(table) VALUES "
            for i in start..<end {
                let n = (i - start) * columns
                sql += (i > start ? ", " : "") + "(" + (1...columns).map { "$\(n + $0)" }.joined(separator: ", ") + ")"
                bind(i, &binds)
            }
            _ = try query(c, sql, binds)
            start = end
        }
    }
}
