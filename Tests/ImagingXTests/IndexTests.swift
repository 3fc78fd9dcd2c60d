import Foundation
import GRDB
import ImagingX
import ImagingXFixtures
import Testing

/// The persistent index: export equals scan byte for byte, incremental passes read only what
/// changed, and a bad, busy, foreign or newer index file is refused with a clear error.
@Suite("Index") struct IndexTests {
    static func sampleData(_ name: String = #function) throws -> String {
        let root = try temporaryDirectory(name).appendingPathComponent("SampleData").path
        _ = try SampleData.write(to: root)
        return root
    }

    static func scanBytes(_ paths: [String], format: OutputFormat = .jsonl, stats: Bool = false, fileStat: Bool = false) throws -> [UInt8] {
        let out = try temporaryDirectory("scan-out").appendingPathComponent("scan.out").path
        var request = ScanRequest(paths: paths)
        request.format = format
        request.stats = stats
        request.fileStat = fileStat
        request.jobs = 2
        request.destination = .file(out)
        _ = try Application.scan(request)
        return Array(try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    static func exportBytes(_ db: String, format: OutputFormat = .jsonl, stats: Bool = false, fileStat: Bool = false,
                            roots: [String] = []) throws -> [UInt8] {
        let out = try temporaryDirectory("export-out").appendingPathComponent("export.out").path
        var request = ExportRequest(database: db)
        request.format = format
        request.stats = stats
        request.fileStat = fileStat
        request.roots = roots
        request.destination = .file(out)
        _ = try Application.export(request)
        return Array(try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    static func index(_ paths: [String], db: String, stats: Bool = false) throws -> IndexResult {
        var request = IndexRequest(paths: paths, database: db)
        request.stats = stats
        request.jobs = 2
        return try Application.index(request)
    }

    @Test func exportEqualsScanByteForByte() throws {
        let root = try Self.sampleData()
        let db = try temporaryDirectory().appendingPathComponent("index.sqlite").path
        let result = try Self.index([root], db: db, stats: true)
        #expect(result.roots.count == 1 && result.roots[0].available)
        #expect(result.roots[0].read == result.roots[0].seen && result.roots[0].seen > 40)
        for format in OutputFormat.allCases {
            for (stats, fileStat) in [(false, false), (true, false), (true, true), (false, true)] {
                let scan = try Self.scanBytes([root], format: format, stats: stats, fileStat: fileStat)
                let export = try Self.exportBytes(db, format: format, stats: stats, fileStat: fileStat)
                #expect(scan == export, "format \(format) stats \(stats) file-stat \(fileStat)")
            }
        }
    }

    @Test func exportWithStatsNeedsAnIndexMadeWithStats() throws {
        let root = try Self.sampleData()
        let db = try temporaryDirectory().appendingPathComponent("index.sqlite").path
        _ = try Self.index([root], db: db)
        #expect(throws: ExportError.self) { try Self.exportBytes(db, stats: true) }
        // A pass with --stats re-reads every file (none was read with statistics).
        let again = try Self.index([root], db: db, stats: true)
        #expect(again.roots[0].read == again.roots[0].seen)
        #expect(try Self.exportBytes(db, stats: true) == Self.scanBytes([root], stats: true))
    }

    @Test func secondPassReadsOnlyWhatChanged() throws {
        let root = try Self.sampleData()
        let db = try temporaryDirectory().appendingPathComponent("index.sqlite").path
        let first = try Self.index([root], db: db)
        let seen = first.roots[0].seen
        let unchanged = try Self.index([root], db: db)
        #expect(unchanged.roots[0].read == 0 && unchanged.roots[0].unchanged == seen && unchanged.roots[0].removed == 0)
        #expect(unchanged.roots[0].datasetsFingerprinted == 0)

        // Change one file, add one, remove one.
        let changed = root + "/xray-png/chest_1.png"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: changed))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0, 0, 0, 0]))
        try handle.close()
        try FileManager.default.copyItem(atPath: root + "/mr-nifti/imagesTr/case_000_0000.nii.gz",
                                         toPath: root + "/mr-nifti/imagesTr/case_900_0000.nii.gz")
        let removedPath = root + "/photo-jpeg/lesion_3.jpg"
        try FileManager.default.removeItem(atPath: removedPath)
        let second = try Self.index([root], db: db)
        #expect(second.roots[0].read == 2)
        #expect(second.roots[0].removed == 1)
        #expect(second.roots[0].unchanged == seen - 2)
        // Only the datasets holding those files were fingerprinted again.
        #expect(second.roots[0].datasetsFingerprinted == 3)
        #expect(second.roots[0].datasetsKept == first.roots[0].datasetsFingerprinted - 3)
        #expect(try Self.exportBytes(db) == Self.scanBytes([root]))
    }

    @Test func storedFingerprintEqualsTheFingerprintCommand() throws {
        let root = try Self.sampleData()
        let db = try temporaryDirectory().appendingPathComponent("index.sqlite").path
        _ = try Self.index([root], db: db)
        let store = try IndexStore(path: db, create: false, readOnly: true)
        let datasets = try store.datasets()
        #expect(datasets.map(\.folder).contains("mr-nifti"))
        for d in datasets where ["mr-nifti", "ct-series", "xray-png"].contains(d.folder) {
            let direct = try FingerprintDataset.run(FingerprintRequest(folder: root + "/" + d.folder, jobs: 2))
            #expect(try store.fingerprintJSON(dataset: d.id) == Fingerprinter.encode(direct.fingerprint), "\(d.folder)")
            #expect(d.cases == direct.cases.count)
        }
        // Incremental: a new case in mr-nifti is summarised alone; the rest come from stored summaries.
        let folder = root + "/mr-nifti"
        try FileManager.default.copyItem(atPath: folder + "/imagesTr/case_000_0000.nii.gz", toPath: folder + "/imagesTr/case_901_0000.nii.gz")
        if FileManager.default.fileExists(atPath: folder + "/labelsTr/case_000.nii.gz") {
            try FileManager.default.copyItem(atPath: folder + "/labelsTr/case_000.nii.gz", toPath: folder + "/labelsTr/case_901.nii.gz")
        }
        _ = try Self.index([root], db: db)
        let reopened = try IndexStore(path: db, create: false, readOnly: true)
        let mr = try #require(try reopened.datasets().first { $0.folder == "mr-nifti" })
        let direct = try FingerprintDataset.run(FingerprintRequest(folder: folder, jobs: 2))
        #expect(try reopened.fingerprintJSON(dataset: mr.id) == Fingerprinter.encode(direct.fingerprint))
    }

    @Test func missingRootIsMarkedUnavailableAndKeepsItsRows() throws {
        let base = try temporaryDirectory()
        let root = base.appendingPathComponent("disk").path
        _ = try SampleData.write(to: root)
        let db = base.appendingPathComponent("index.sqlite").path
        _ = try Self.index([root], db: db)
        let before = try Self.exportBytes(db)
        try FileManager.default.moveItem(atPath: root, toPath: base.appendingPathComponent("elsewhere").path)
        let result = try Self.index([root], db: db)
        #expect(result.roots[0].available == false)
        #expect(try Self.exportBytes(db) == before)
        let roots = try IndexStore(path: db, create: false, readOnly: true).roots()
        #expect(roots.count == 1 && roots[0].available == false && roots[0].unavailableReason != nil)
        // An empty mount point is not an empty dataset either.
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let empty = try Self.index([root], db: db)
        #expect(empty.roots[0].available == false)
        #expect(try Self.exportBytes(db) == before)
    }

    @Test func secondWriterIsRefused() throws {
        let root = try Self.sampleData()
        let db = try temporaryDirectory().appendingPathComponent("index.sqlite").path
        let store = try IndexStore(path: db)
        let lock = try store.lockForWriting()
        #expect(throws: IndexError.busy(path: db)) { try Self.index([root], db: db) }
        lock.release()
        _ = try Self.index([root], db: db)
    }

    @Test func badIndexFilesAreRefusedNeverRecreated() throws {
        let dir = try temporaryDirectory()
        // Not SQLite at all.
        let garbage = dir.appendingPathComponent("garbage.sqlite").path
        try write(Array("this is not a database, it is a text file that someone named .sqlite\n".utf8), to: URL(fileURLWithPath: garbage))
        #expect { try IndexStore(path: garbage) } throws: { ($0 as? IndexError).map { if case .notADatabase = $0 { true } else { false } } ?? false }
        #expect(try Data(contentsOf: URL(fileURLWithPath: garbage)).starts(with: Data("this is not".utf8)))
        // SQLite, but not ours.
        let foreign = dir.appendingPathComponent("foreign.sqlite").path
        try DatabaseQueue(path: foreign).write { try $0.execute(sql: "CREATE TABLE t(x)") }
        #expect(throws: IndexError.foreignDatabase(path: foreign)) { try IndexStore(path: foreign) }
        // Ours, from a newer version.
        let newer = dir.appendingPathComponent("newer.sqlite").path
        let store = try IndexStore(path: newer)
        try store.pool.write { try $0.execute(sql: "INSERT INTO grdb_migrations(identifier) VALUES ('v99')") }
        #expect(throws: IndexError.newerSchema(path: newer, unknown: ["v99"])) { try IndexStore(path: newer) }
        // Truncated in the middle: the header is there but the pages are not.
        let cut = dir.appendingPathComponent("cut.sqlite").path
        _ = try IndexStore(path: cut)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: cut))
        try bytes.prefix(100).write(to: URL(fileURLWithPath: cut))
        #expect(throws: IndexError.self) { try IndexStore(path: cut) }
        // Reading an index that does not exist does not create one.
        let none = dir.appendingPathComponent("none.sqlite").path
        #expect(throws: ExportError.self) { try Self.exportBytes(none) }
        #expect(!FileManager.default.fileExists(atPath: none))
    }

    @Test func filesAreQueriedWithFiltersAndCursors() throws {
        let root = try Self.sampleData()
        let db = try temporaryDirectory().appendingPathComponent("index.sqlite").path
        _ = try Self.index([root], db: db)
        let store = try IndexStore(path: db, create: false, readOnly: true)
        var q = FileQuery()
        q.format = "dicom"
        q.limit = 3
        var seen: [Int64] = []
        while true {
            let page = try store.files(q)
            seen += page.files.map(\.id)
            #expect(page.files.allSatisfy { $0.record.format == .dicom })
            guard let next = page.next else { break }
            q.after = next
        }
        q.after = nil
        #expect(seen.count == (try store.countFiles(q)))
        #expect(Set(seen).count == seen.count)
        var errors = FileQuery()
        errors.status = "error"
        #expect(try store.files(errors).files.allSatisfy { $0.record.status == .error })
        var thin = FileQuery()
        thin.minSpacing[2] = 3.5
        let thick = try store.files(thin).files
        #expect(!thick.isEmpty && thick.allSatisfy { ($0.record.spacing?.count ?? 0) > 2 && $0.record.spacing![2] >= 3.5 })
    }
}
