import GRDB
import ImagingXModel

/// Filters for the indexed files (the API's `/files`). Every filter is optional; all given must hold.
public struct FileQuery: Sendable, Equatable {
    public var root: Int64?
    public var dataset: Int64?
    public var format: String?
    public var modality: String?
    public var status: String?
    public var dtype: String?
    /// A finding code the file must carry.
    public var finding: String?
    /// Substring of the root-relative path.
    public var pathContains: String?
    public var ndim: Int?
    /// Inclusive ranges on the first three axes (x = dims[0], y = dims[1], z = dims[2]).
    public var minDims: [Int?] = [nil, nil, nil]
    public var maxDims: [Int?] = [nil, nil, nil]
    public var minSpacing: [Double?] = [nil, nil, nil]
    public var maxSpacing: [Double?] = [nil, nil, nil]
    /// Files with an id greater than this (the cursor).
    public var after: Int64?
    public var limit = 100

    public init() {}

    /// The WHERE clause and its arguments (SQLite's SQL for `filters`).
    func clause() -> (String, [(any DatabaseValueConvertible)?]) {
        var terms: [String] = []
        var args: [(any DatabaseValueConvertible)?] = []
        for f in filters {
            switch f.kind {
            case .equal: terms.append(f.column + " = ?")
            case .atLeast: terms.append(f.column + " >= ?")
            case .atMost: terms.append(f.column + " <= ?")
            case .above: terms.append(f.column + " > ?")
            case .hasFinding: terms.append("f.id IN (SELECT file_id FROM file_findings WHERE code = ?)")
            case .pathContains: terms.append("instr(f.path, ?) > 0")
            }
            switch f.value {
            case .integer(let v): args.append(v)
            case .number(let v): args.append(v)
            case .text(let v): args.append(v)
            }
        }
        return (terms.isEmpty ? "" : " WHERE " + terms.joined(separator: " AND "), args)
    }
}

/// A file as the API lists it: its id, root and dataset, and the record.
public struct IndexedFile: Sendable {
    public var id: Int64
    public var root: String
    public var datasetID: Int64?
    public var record: ImageRecord
    public var statsRead: Bool
}

extension IndexStore {
    /// One page of files (ordered by id), and the cursor of the next page when there is one.
    public func files(_ q: FileQuery) throws(IndexError) -> (files: [IndexedFile], next: Int64?) {
        let (whereSQL, args) = q.clause()
        let limit = max(1, q.limit)
        // No join with roots: the planner then always walks the filter's index or the id order.
        let sql = "SELECT f.id, f.root_id, f.dataset_id, f.stats_read, " + FileRows.selectColumns.map { "f." + $0 }.joined(separator: ", ")
            + " FROM files f" + whereSQL + " ORDER BY f.id LIMIT \(limit + 1)"
        return try guarded {
            try pool.read { db in
                var out: [IndexedFile] = []
                let roots = Dictionary(try Row.fetchAll(db, sql: "SELECT id, path FROM roots").map { ($0[0] as Int64, $0[1] as String) },
                                       uniquingKeysWith: { a, _ in a })
                let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
                while let row = try rows.next() {
                    out.append(IndexedFile(id: row[0], root: roots[row[1]] ?? "", datasetID: row[2], record: FileRows.record(row, offset: 4),
                                           statsRead: row[3]))
                }
                let next = out.count > limit ? out[limit - 1].id : nil
                return (Array(out.prefix(limit)), next)
            }
        }
    }

    public func file(id: Int64) throws(IndexError) -> IndexedFile? {
        var q = FileQuery()
        q.after = id - 1
        q.limit = 1
        let page = try files(q)
        return page.files.first { $0.id == id }
    }

    /// How many files match (for the portal's counts).
    public func countFiles(_ q: FileQuery) throws(IndexError) -> Int {
        var q = q
        q.after = nil
        let (whereSQL, args) = q.clause()
        return try guarded {
            try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM files f" + whereSQL, arguments: StatementArguments(args)) ?? 0 }
        }
    }

    /// Counts by format, modality and status over the files matching `q` (facets).
    public func fileFacets(_ q: FileQuery) throws(IndexError) -> [String: [String: Int]] {
        var q = q
        q.after = nil
        let (whereSQL, args) = q.clause()
        return try guarded {
            try pool.read { db in
                var out: [String: [String: Int]] = [:]
                for column in ["format", "modality", "status", "dtype"] {
                    let rows = try Row.fetchAll(db, sql: "SELECT coalesce(f.\(column), 'unknown'), count(*) FROM files f" + whereSQL
                                                + " GROUP BY 1", arguments: StatementArguments(args))
                    out[column] = Dictionary(rows.map { ($0[0] as String, $0[1] as Int) }, uniquingKeysWith: +)
                }
                let findings = try Row.fetchAll(db, sql: "SELECT ff.code, count(*) FROM file_findings ff WHERE ff.file_id IN (SELECT f.id FROM files f"
                                                + whereSQL + ") GROUP BY 1", arguments: StatementArguments(args))
                out["finding"] = Dictionary(findings.map { ($0[0] as String, $0[1] as Int) }, uniquingKeysWith: +)
                return out
            }
        }
    }

    /// Totals for the health endpoint and the portal's header.
    public func totals() throws(IndexError) -> (files: Int, datasets: Int, roots: Int) {
        try guarded {
            try pool.read { db in
                (try Int.fetchOne(db, sql: "SELECT count(*) FROM files") ?? 0,
                 try Int.fetchOne(db, sql: "SELECT count(*) FROM datasets") ?? 0,
                 try Int.fetchOne(db, sql: "SELECT count(*) FROM roots") ?? 0)
            }
        }
    }
}
