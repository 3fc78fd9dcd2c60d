import GRDB
import ImagingXDatasets
import FoundationEssentials

// What merging the part indexes of a sharded `index` run needs from the store: their files
// copied in path order, and each part's datasets with their cases, series and layout facts.

/// One dataset folder as a part index holds it: its cases and series volumes are the part's only.
public struct DatasetPart: Sendable, Codable {
    public var folder: String
    public var info: CaseFinder.DatasetInfo?
    public var cases: [CaseSummary]
    public var series: [SeriesRecord]
    /// A shared index's part: the state of the dataset folder on disk when the part was made
    /// (`Application.folderState`); parts of one state reduce to the dataset.
    public var state: String?

    public init(folder: String, info: CaseFinder.DatasetInfo?, cases: [CaseSummary], series: [SeriesRecord], state: String? = nil) {
        self.folder = folder
        self.info = info
        self.cases = cases
        self.series = series
        self.state = state
    }
}

extension IndexStore {
    /// A value of the `meta` table.
    public func meta(_ key: String) throws(IndexError) -> String? {
        try guarded { try pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key]) } }
    }

    public func setMeta(_ key: String, _ value: String) throws(IndexError) {
        try guarded {
            try pool.write { db in
                try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                               arguments: [key, value])
            }
        }
    }

    /// The meta key under which a shard's part keeps a dataset's layout facts (the merge
    /// reduces the cases of all parts with them).
    public static func datasetInfoKey(_ folder: String) -> String { "dataset_info:" + folder }

    /// The datasets of a part index in the order the run stored them, each with its cases,
    /// series volumes and layout facts.
    public func datasetParts() throws(IndexError) -> [DatasetPart] {
        let decoder = JSONDecoder()
        var out: [DatasetPart] = []
        for d in try datasets().sorted(by: { $0.id < $1.id }) {
            let cases = try caseSummaries(dataset: d.id).values.sorted { $0.id < $1.id }
            let series: [SeriesRecord] = try guarded {
                try pool.read { db in
                    try String.fetchAll(db, sql: "SELECT record FROM series WHERE dataset_id = ? ORDER BY id", arguments: [d.id])
                        .map { try decoder.decode(SeriesRecord.self, from: Data($0.utf8)) }
                }
            }
            let info = try meta(Self.datasetInfoKey(d.folder)).flatMap { try? decoder.decode(CaseFinder.DatasetInfo.self, from: Data($0.utf8)) }
            out.append(DatasetPart(folder: d.folder, info: info, cases: cases, series: series))
        }
        return out
    }

    /// Copies the files (and their findings) of the part indexes at `parts` under `root`, in
    /// path order, so ids run in path order as after one first pass. A path in two parts fails
    /// the (root_id, path) key: the parts overlap. Staged in a temporary file (not memory).
    public func copyFiles(fromParts parts: [String], root: Int64) throws(IndexError) {
        let columns = FileRows.columns.dropFirst(3).filter { $0 != "dataset_id" }  // not id, root_id, path
        let list = columns.joined(separator: ", ")
        try guarded {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA temp_store = FILE")
                defer { try? db.execute(sql: "PRAGMA temp_store = MEMORY") }
                try db.execute(sql: "DROP TABLE IF EXISTS temp.staged_files")
                try db.execute(sql: "DROP TABLE IF EXISTS temp.staged_findings")
                try db.execute(sql: "CREATE TEMP TABLE staged_files AS SELECT 0 AS part, id, path, \(list) FROM main.files WHERE 0")
                try db.execute(sql: "CREATE TEMP TABLE staged_findings (part INTEGER, file_id INTEGER, code TEXT, level TEXT)")
                for (i, part) in parts.enumerated() {
                    try db.execute(sql: "ATTACH DATABASE ? AS part", arguments: [part])
                    do {
                        try db.inTransaction {
                            try db.execute(sql: "INSERT INTO temp.staged_files SELECT \(i), id, path, \(list) FROM part.files")
                            try db.execute(sql: "INSERT INTO temp.staged_findings SELECT \(i), file_id, code, level FROM part.file_findings")
                            return .commit
                        }
                    } catch {
                        try? db.execute(sql: "DETACH DATABASE part")
                        throw error
                    }
                    try db.execute(sql: "DETACH DATABASE part")
                }
                try db.inTransaction {
                    try db.execute(sql: "CREATE INDEX temp.staged_files_key ON staged_files(part, id)")
                    try db.execute(sql: """
                        INSERT INTO files (root_id, path, \(list)) SELECT ?, path, \(list) FROM temp.staged_files ORDER BY path
                        """, arguments: [root])
                    try db.execute(sql: """
                        INSERT INTO file_findings (file_id, code, level)
                        SELECT f.id, s.code, s.level FROM temp.staged_findings s
                        JOIN temp.staged_files st ON st.part = s.part AND st.id = s.file_id
                        JOIN files f ON f.root_id = ? AND f.path = st.path ORDER BY f.id, s.rowid
                        """, arguments: [root])
                    return .commit
                }
                try db.execute(sql: "DROP TABLE temp.staged_files")
                try db.execute(sql: "DROP TABLE temp.staged_findings")
            }
        }
    }
}
