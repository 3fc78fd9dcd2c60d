import Foundation
@testable import ImagingX
import ImagingXFixtures
import Testing

/// Shard writers sharing one index keep their parts of each dataset, and the last part in
/// reduces it (PostgreSQL's run is in scripts/postgres/pg_datasets.py; the store logic is the
/// same on SQLite, tested here without a server).
@Suite("Dataset parts of shards sharing an index")
struct SharedShardTests {
    func summary(_ id: String, _ image: String) -> CaseSummary {
        var c = CaseSummary(id: id, images: [image], label: nil)
        c.format = "nifti"
        c.dims = [4, 4, 2]
        c.spacing = [1, 1, 2]
        return c
    }

    func part(_ folder: String, _ cases: [CaseSummary], state: String) throws -> [UInt8] {
        var info = CaseFinder.DatasetInfo()
        info.layout = .plain
        return try DatasetPart(folder: folder, info: info, cases: cases, series: [], state: state).encoded()
    }

    @Test func partKeysRoundTrip() throws {
        for folder in ["", "a", "a/b c", "x:y", "deep/er/folder"] {
            for shard in [Shard(index: 0, count: 1)!, Shard(index: 3, count: 7)!] {
                let key = DatasetPartKeys.key(root: 12, folder: folder, shard: shard)
                let parsed = try #require(DatasetPartKeys.parse(key, root: 12))
                #expect(parsed.folder == folder && parsed.count == shard.count && parsed.index == shard.index)
                #expect(DatasetPartKeys.parse(key, root: 1) == nil)
                #expect(key >= DatasetPartKeys.folderPrefix(root: 12, folder: folder) && key < DatasetPartKeys.folderEnd(root: 12, folder: folder))
                #expect(key >= DatasetPartKeys.rootPrefix(root: 12) && key < DatasetPartKeys.rootEnd(root: 12))
            }
        }
        // One folder's range holds no other folder's keys (a folder that extends another's name).
        let other = DatasetPartKeys.key(root: 12, folder: "ab", shard: Shard(index: 0, count: 2)!)
        #expect(!(other >= DatasetPartKeys.folderPrefix(root: 12, folder: "a") && other < DatasetPartKeys.folderEnd(root: 12, folder: "a")))
    }

    @Test func theLastPartInReducesTheDatasetOnlyWhenAllPartsShareOneState() throws {
        let dir = try temporaryDirectory()
        let store = try IndexStore(path: dir.appendingPathComponent("i.sqlite").path)
        let root = try store.root(path: dir.path)
        let shards = (0..<3).map { Shard(index: $0, count: 3)! }
        let cases = [[summary("a", "a.nii")], [summary("b", "b.nii"), summary("c", "c.nii")], []]
        func save(_ k: Int, state: String) throws {
            try store.saveDatasetPart(try part("ds", cases[k], state: state), root: root.id, folder: "ds", shard: shards[k], at: "t") { parts in
                try Application.reduceSharedParts(parts, of: 3, root: root, folder: "ds")
            }
        }
        try save(0, state: "s1")
        try save(1, state: "s1")
        #expect(try store.datasets(root: root.id).isEmpty, "two parts of three: no dataset yet")
        try save(2, state: "s0")
        #expect(try store.datasets(root: root.id).isEmpty, "a part of another state: the dataset waits for it to catch up")
        try save(2, state: "s1")
        let made = try #require(try store.datasets(root: root.id).first)
        #expect(made.cases == 3)
        #expect(try store.caseSummaries(dataset: made.id).keys.sorted() == ["a", "b", "c"])
        // The same cases reduced in one piece give the same fingerprint.
        var info = CaseFinder.DatasetInfo()
        info.layout = .plain
        let whole = Application.datasetWrite(root: root, folder: "ds", info: info, cases: cases.flatMap { $0 }, series: [])
        #expect(try store.fingerprintJSON(dataset: made.id) == whole.fingerprint)
        // A case in two parts is refused, with both shards named.
        #expect(throws: IndexError.self) {
            try store.saveDatasetPart(try part("ds", [summary("a", "a.nii")], state: "s1"), root: root.id, folder: "ds", shard: shards[1], at: "t") { parts in
                try Application.reduceSharedParts(parts, of: 3, root: root, folder: "ds")
            }
        }
        // A whole write supersedes the parts; pruning a folder drops its parts.
        #expect(try store.datasetPart(root: root.id, folder: "ds", shard: shards[0]) != nil)
        try store.saveDataset(whole, root: root.id, at: "t")
        #expect(try store.datasetPart(root: root.id, folder: "ds", shard: shards[0]) == nil)
        try save(0, state: "s2")
        #expect(try store.pruneDatasets(root: root.id, keeping: []) == 1)
        #expect(try store.datasetPart(root: root.id, folder: "ds", shard: shards[0]) == nil)
    }

    @Test func folderStateChangesWithAFileAnywhereUnderTheFolder() throws {
        let dir = try temporaryDirectory()
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("a/b"), withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent("a/b/x.nii"))
        let before = Application.folderState(dir.path)
        #expect(Application.folderState(dir.path) == before)
        try Data([9]).write(to: dir.appendingPathComponent("a/.hidden"))
        #expect(Application.folderState(dir.path) == before, "hidden files are not the dataset's")
        try Data([1, 2, 3, 4]).write(to: dir.appendingPathComponent("a/b/x.nii"))
        #expect(Application.folderState(dir.path) != before)
    }
}
