import Foundation
import GRDB
@testable import ImagingXIndex
@testable import ImagingXIndexPostgres
import ImagingX
import Testing

/// The service's store protocol without a PostgreSQL server (scripts/postgres/test_serve_postgres.py
/// runs `serve --db postgres://` against a real one): the file page any store writes from its rows,
/// the filters in both dialects, and the database's name in messages.
@Suite("Service store")
struct ServiceStoreTests {
    /// SampleData with stats, plus files whose names need JSON escapes.
    static func index(_ name: String = #function) throws -> (IndexStore, String) {
        let root = try IndexTests.sampleData(name)
        let png = try FileManager.default.subpathsOfDirectory(atPath: root).first { $0.hasSuffix(".png") }
        let source = root + "/" + (png ?? "")
        for odd in ["quote\"back\\slash.png", "tab\tnew\nline.png", "ctl\u{1}é.png"] {
            try FileManager.default.copyItem(atPath: source, toPath: root + "/" + odd)
        }
        let db = try temporaryDirectory(name).appendingPathComponent("index.sqlite").path
        _ = try IndexTests.index([root], db: db, stats: true)
        return (try IndexStore(path: db, create: false, readOnly: true), root)
    }

    @Test("a page written from rows (how PostgreSQL's are) equals SQLite's writer byte for byte")
    func pageFromRowsEqualsSQLiteWriter() throws {
        let (store, _) = try Self.index()
        var q = FileQuery()
        q.limit = 1000
        let sqlite = try store.filePageJSON(q)
        #expect(sqlite.count > 20)
        let fromRows: [UInt8] = try store.pool.read { db in
            var roots: [Int64: [UInt8]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, path FROM roots") { roots[row[0]] = FilePageRows.rootJSON(row[1]) }
            var out: [UInt8] = [UInt8(ascii: "[")]
            let rows = try Row.fetchAll(db, sql: "SELECT " + FilePageRows.columns.joined(separator: ", ") + " FROM files f ORDER BY f.id")
            for (i, row) in rows.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                FilePageRows.appendFile(row, roots: roots, to: &out)
            }
            return out + [UInt8(ascii: "]")]
        }
        #expect(fromRows == sqlite.json)
        // The escapes and the stats are really in there (the comparison is not of empty pages).
        let text = String(decoding: sqlite.json, as: UTF8.self)
        #expect(text.contains("quote\\\"back\\\\slash.png") && text.contains("tab\\tnew\\nline.png") && text.contains("ctl\\u0001é.png"))
        #expect(text.contains("\"stats\":{\"count\":"))
        let parsed = try JSONSerialization.jsonObject(with: Data(sqlite.json)) as? [[String: Any]]
        #expect(parsed?.count == sqlite.count)
    }

    @Test("filters: SQLite's WHERE clause as before, PostgreSQL's the same conditions with $n and strpos")
    func filtersInBothDialects() {
        var q = FileQuery()
        q.root = 1
        q.format = "dicom"
        q.finding = "spacing_mismatch"
        q.pathContains = "a/b"
        q.ndim = 3
        q.minDims[0] = 64
        q.maxSpacing[2] = 2.5
        q.after = 10
        let (sqlite, args) = q.clause()
        #expect(sqlite == " WHERE f.root_id = ? AND f.format = ? AND f.id IN (SELECT file_id FROM file_findings WHERE code = ?)"
                + " AND instr(f.path, ?) > 0 AND f.ndim = ? AND f.dim0 >= ? AND f.spacing2 <= ? AND f.id > ?")
        #expect(args.count == 8)
        let pg = PostgresIndexStore.clause(q)
        #expect(pg.sql == " WHERE f.root_id = $1 AND f.format = $2 AND f.id IN (SELECT file_id FROM file_findings WHERE code = $3)"
                + " AND strpos(f.path, $4) > 0 AND f.ndim = $5 AND f.dim0 >= $6 AND f.spacing2 <= $7 AND f.id > $8")
        #expect(pg.binds.count == 8)
        #expect(!pg.matchesNothing)
        #expect(PostgresIndexStore.clause(FileQuery()).sql == "")
        // PostgreSQL text cannot hold NUL: such a filter matches nothing there, unasked (the API refuses one: 400).
        var nul = FileQuery()
        nul.pathContains = "a\u{0}b"
        #expect(PostgresIndexStore.clause(nul).matchesNothing)
    }

    @Test("the database's name in messages never holds the password")
    func databaseNameIsRedacted() {
        #expect(Application.databaseName("/data/index.sqlite") == "/data/index.sqlite")
        #expect(Application.databaseName("postgres://lab:pa55word@db.example.org:6543/idx") == "postgres://lab@db.example.org:6543/idx")
        // Unparseable (a bad port): still no user info.
        let bad = Application.databaseName("postgres://lab:pa55word@db:99999/idx")
        #expect(!bad.contains("pa55word") && bad.hasPrefix("postgres://"))
    }

    @Test("dataset listings filter and sort the same on every store")
    func datasetQueryApply() {
        func d(_ id: Int64, _ name: String, files: Int, modality: String?) -> IndexedDataset {
            .stored(id: id, rootID: 1, root: "/r", folder: name, name: name, layout: "nnunet", modality: modality, files: files, bytes: files * 10,
                    cases: files / 2, casesFailed: 0, catalogID: nil, fingerprintedAt: nil)
        }
        let all = [d(1, "beta", files: 5, modality: "CT"), d(2, "Alpha", files: 9, modality: "MR"), d(3, "gamma", files: 9, modality: "CT")]
        #expect(DatasetQuery().apply(all).map(\.id) == [2, 1, 3])
        var q = DatasetQuery()
        q.sort = .files
        #expect(q.apply(all).map(\.id) == [2, 3, 1])
        q.modality = "CT"
        q.text = "AMM"
        #expect(q.apply(all).map(\.id) == [3])
    }
}
