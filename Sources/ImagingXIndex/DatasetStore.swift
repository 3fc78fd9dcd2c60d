import FoundationEssentials
import GRDB
import ImagingXModel
import ImagingXDatasets

/// A dataset as stored (its fingerprint is fetched separately: it can be large).
public struct IndexedDataset: Sendable, Codable, Equatable {
    public var id: Int64
    public var rootID: Int64
    public var root: String
    /// Folder relative to the root ("" when the root is the dataset).
    public var folder: String
    public var name: String
    public var layout: String
    public var modality: String?
    public var files: Int
    public var bytes: Int
    public var cases: Int
    public var casesFailed: Int
    public var catalogID: String?
    public var fingerprintedAt: String?

    /// For stores in other modules.
    public init(id: Int64, rootID: Int64, root: String, folder: String, name: String, layout: String, modality: String?,
                files: Int, bytes: Int, cases: Int, casesFailed: Int, catalogID: String?, fingerprintedAt: String?) {
        self.id = id
        self.rootID = rootID
        self.root = root
        self.folder = folder
        self.name = name
        self.layout = layout
        self.modality = modality
        self.files = files
        self.bytes = bytes
        self.cases = cases
        self.casesFailed = casesFailed
        self.catalogID = catalogID
        self.fingerprintedAt = fingerprintedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, rootID = "root_id", root, folder, name, layout, modality, files, bytes, cases
        case casesFailed = "cases_failed", catalogID = "catalog_id", fingerprintedAt = "fingerprinted_at"
    }
}

/// What a dataset pass writes.
public struct DatasetWrite: Sendable {
    /// (case id, summary JSON) as the `cases` table holds them: sorted keys, non-finite numbers as strings.
    public func encodedCases() throws -> [(String, String)] {
        let encoder = Self.encoder
        return try cases.map { ($0.id, String(decoding: try encoder.encode($0), as: UTF8.self)) }
    }

    /// The series records as the `series` table holds them.
    public func encodedSeries() throws -> [String] {
        let encoder = Self.encoder
        return try series.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    public var folder: String
    public var name: String
    public var layout: String
    public var modality: String?
    public var cases: [CaseSummary]
    public var casesFailed: Int
    public var fingerprint: [UInt8]
    /// The dataset's DICOM series volumes (paths relative to the root).
    public var series: [SeriesRecord] = []

    public init(folder: String, name: String, layout: String, modality: String?, cases: [CaseSummary], casesFailed: Int,
                fingerprint: [UInt8]) {
        self.folder = folder
        self.name = name
        self.layout = layout
        self.modality = modality
        self.cases = cases
        self.casesFailed = casesFailed
        self.fingerprint = fingerprint
    }
}

extension IndexStore {
    static let datasetColumns = "d.id, d.root_id, r.path, d.folder, d.name, d.layout, d.modality, d.files, d.bytes, d.cases, d.cases_failed, d.catalog_id, d.fingerprinted_at"

    static func dataset(_ row: Row) -> IndexedDataset {
        IndexedDataset(id: row[0], rootID: row[1], root: row[2], folder: row[3], name: row[4], layout: row[5], modality: row[6],
                       files: row[7], bytes: row[8], cases: row[9], casesFailed: row[10], catalogID: row[11], fingerprintedAt: row[12])
    }

    public func datasets(root: Int64? = nil) throws(IndexError) -> [IndexedDataset] {
        try guarded {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT \(Self.datasetColumns) FROM datasets d JOIN roots r ON r.id = d.root_id"
                                 + (root != nil ? " WHERE d.root_id = ?" : "") + " ORDER BY r.path, d.folder",
                                 arguments: root.map { [$0] } ?? []).map(Self.dataset)
            }
        }
    }

    // `datasets(matching:)`: ServiceIndexStore.swift (the same on every store).

    public func dataset(id: Int64) throws(IndexError) -> IndexedDataset? {
        try guarded {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT \(Self.datasetColumns) FROM datasets d JOIN roots r ON r.id = d.root_id WHERE d.id = ?",
                                 arguments: [id]).map(Self.dataset)
            }
        }
    }

    /// The fingerprint JSON as `imagingx fingerprint` prints it.
    public func fingerprintJSON(dataset id: Int64) throws(IndexError) -> [UInt8]? {
        try guarded {
            try pool.read { db in try String.fetchOne(db, sql: "SELECT fingerprint FROM datasets WHERE id = ?", arguments: [id]).map { Array($0.utf8) } }
        }
    }

    /// The stored case summaries of a dataset, by case id.
    public func caseSummaries(dataset id: Int64) throws(IndexError) -> [String: CaseSummary] {
        try guarded {
            try pool.read { db in
                var out: [String: CaseSummary] = [:]
                let decoder = JSONDecoder()
                decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
                let rows = try Row.fetchCursor(db, sql: "SELECT case_id, summary FROM cases WHERE dataset_id = ?", arguments: [id])
                while let row = try rows.next() {
                    let text: String = row[1]
                    if let c = try? decoder.decode(CaseSummary.self, from: Data(text.utf8)) { out[row[0]] = c }
                }
                return out
            }
        }
    }

    /// Writes a dataset, its case summaries and fingerprint, and claims the root's files under
    /// its folder; shards' parts kept for the folder are superseded and dropped.
    public func saveDataset(_ w: DatasetWrite, root: Int64, at time: String) throws(IndexError) {
        try guarded {
            try pool.write { db in
                try Self.writeDataset(w, root: root, at: time, db: db)
                try db.execute(sql: "DELETE FROM meta WHERE key >= ? AND key < ?",
                               arguments: [DatasetPartKeys.folderPrefix(root: root, folder: w.folder), DatasetPartKeys.folderEnd(root: root, folder: w.folder)])
            }
        }
    }

    static func writeDataset(_ w: DatasetWrite, root: Int64, at time: String, db: Database) throws {
        let summaries = try w.encodedCases()
        let series = try w.encodedSeries()
        try db.execute(sql: """
            INSERT INTO datasets(root_id, folder, name, layout, modality, cases, cases_failed, fingerprint, fingerprinted_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(root_id, folder) DO UPDATE SET name = excluded.name, layout = excluded.layout,
                modality = excluded.modality, cases = excluded.cases, cases_failed = excluded.cases_failed,
                fingerprint = excluded.fingerprint, fingerprinted_at = excluded.fingerprinted_at
            """, arguments: [root, w.folder, w.name, w.layout, w.modality, w.cases.count, w.casesFailed,
                             String(decoding: w.fingerprint, as: UTF8.self), time])
        let id = try Int64.fetchOne(db, sql: "SELECT id FROM datasets WHERE root_id = ? AND folder = ?", arguments: [root, w.folder])!
        try db.execute(sql: "DELETE FROM cases WHERE dataset_id = ?", arguments: [id])
        let insert = try db.cachedStatement(sql: "INSERT INTO cases(dataset_id, case_id, summary) VALUES (?, ?, ?)")
        for (caseID, summary) in summaries { try insert.execute(arguments: [id, caseID, summary]) }
        if w.folder.isEmpty {
            try db.execute(sql: "UPDATE files SET dataset_id = ? WHERE root_id = ? AND dataset_id IS NOT ?", arguments: [id, root, id])
        } else {
            // Paths under "folder/": a range on the path, so the (root_id, path) key serves it.
            try db.execute(sql: "UPDATE files SET dataset_id = ? WHERE root_id = ? AND path >= ? AND path < ? AND dataset_id IS NOT ?",
                           arguments: [id, root, w.folder + "/", w.folder + "0", id])
        }
        try Self.replaceSeries(w.series, encoded: series, dataset: id, root: root, db: db)
        try db.execute(sql: """
            UPDATE datasets SET files = (SELECT count(*) FROM files WHERE dataset_id = ?),
                bytes = (SELECT coalesce(sum(size_bytes), 0) FROM files WHERE dataset_id = ?) WHERE id = ?
            """, arguments: [id, id, id])
    }

    /// Removes the root's datasets whose folders are not in `folders` (gone from disk), and the
    /// shards' parts kept for such folders.
    public func pruneDatasets(root: Int64, keeping folders: Set<String>) throws(IndexError) -> Int {
        try guarded {
            try pool.write { db in
                let all = try Row.fetchAll(db, sql: "SELECT id, folder FROM datasets WHERE root_id = ?", arguments: [root])
                var removed = 0
                for row in all where !folders.contains(row[1] as String) {
                    try db.execute(sql: "DELETE FROM datasets WHERE id = ?", arguments: [row[0] as Int64])
                    removed += 1
                }
                let parts = try String.fetchAll(db, sql: "SELECT key FROM meta WHERE key >= ? AND key < ?",
                                                arguments: [DatasetPartKeys.rootPrefix(root: root), DatasetPartKeys.rootEnd(root: root)])
                for key in parts where DatasetPartKeys.parse(key, root: root).map({ !folders.contains($0.folder) }) ?? false {
                    try db.execute(sql: "DELETE FROM meta WHERE key = ?", arguments: [key])
                }
                return removed
            }
        }
    }

    /// Links a dataset to a catalog entry (nil unlinks).
    public func linkCatalog(dataset id: Int64, catalogID: String?) throws(IndexError) {
        try guarded {
            try pool.write { db in try db.execute(sql: "UPDATE datasets SET catalog_id = ? WHERE id = ?", arguments: [catalogID, id]) }
        }
    }
}

extension IndexStore {
    /// The id of a root's file by its root-relative path.
    public func fileID(root: Int64, path: String) throws(IndexError) -> Int64? {
        try guarded {
            try pool.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM files WHERE root_id = ? AND path = ?", arguments: [root, path]) }
        }
    }

    /// The full path of a file (root + relative path) by id.
    public func fullPath(file id: Int64) throws(IndexError) -> (path: String, root: String)? {
        try guarded {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT r.path, f.path FROM files f JOIN roots r ON r.id = f.root_id WHERE f.id = ?", arguments: [id])
                    .map { (path: ($0[0] as String) + "/" + ($0[1] as String), root: $0[0] as String) }
            }
        }
    }

    /// Keeps a plan (request and result JSON) for its page and exports; returns its id.
    public func savePlan(request: String, plan: String, at time: String) throws(IndexError) -> Int64 {
        try guarded {
            try pool.write { db in
                try db.execute(sql: "INSERT INTO plans(created_at, request, plan) VALUES (?, ?, ?)", arguments: [time, request, plan])
                return db.lastInsertedRowID
            }
        }
    }

    public func plan(id: Int64) throws(IndexError) -> (request: String, plan: String)? {
        try guarded {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT request, plan FROM plans WHERE id = ?", arguments: [id]).map { (request: $0[0], plan: $0[1]) }
            }
        }
    }

    /// Keeps a compatibility result; returns its id.
    public func saveCompat(request: String, result: String, at time: String) throws(IndexError) -> Int64 {
        try guarded {
            try pool.write { db in
                try db.execute(sql: "INSERT INTO compat_results(created_at, request, result) VALUES (?, ?, ?)", arguments: [time, request, result])
                return db.lastInsertedRowID
            }
        }
    }
}

extension IndexStore {
    static func replaceSeries(_ records: [SeriesRecord], encoded: [String], dataset: Int64, root: Int64, db: Database) throws {
        try db.execute(sql: "DELETE FROM series WHERE dataset_id = ?", arguments: [dataset])
        let insert = try db.cachedStatement(sql: """
            INSERT INTO series(root_id, dataset_id, series_key, first_file, modality, slices, regular_volume, record)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (r, json) in zip(records, encoded) {
            try insert.execute(arguments: [root, dataset, r.series_key, r.first_file, r.modality, r.files, r.regular_volume, json])
        }
    }

    /// Series volumes as JSON objects (`imagingx series` records with the index's ids), filtered by dataset.
    public func seriesJSON(dataset: Int64?, limit: Int) throws(IndexError) -> [UInt8] {
        try guarded {
            try pool.read { db in
                let rows = try Row.fetchAll(db, sql: "SELECT id, dataset_id, record FROM series"
                                            + (dataset != nil ? " WHERE dataset_id = ?" : "") + " ORDER BY id LIMIT \(max(1, limit))",
                                            arguments: dataset.map { [$0] } ?? [])
                var out = "["
                for (i, row) in rows.enumerated() {
                    let id: Int64 = row[0]
                    let datasetID: Int64? = row[1]
                    out += (i > 0 ? "," : "") + "{\"id\":\(id),\"dataset_id\":" + (datasetID.map(String.init) ?? "null")
                        + ",\"series\":" + (row[2] as String) + "}"
                }
                return Array((out + "]").utf8)
            }
        }
    }
}

/// A dataset listing's filters and order.
public struct DatasetQuery: Sendable {
    public enum Sort: String, Sendable, CaseIterable { case name, files, cases, bytes }
    public var modality: String?
    public var layout: String?
    /// A piece of the dataset's name or folder.
    public var text: String?
    public var sort: Sort = .name
    public init() {}
}
