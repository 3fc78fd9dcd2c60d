import Foundation
import GRDB
import Testing
@testable import ImagingX
import ImagingXRemote
#if canImport(Glibc)
import Glibc
#endif

/// `index s3://bucket/prefix`: the pure parts (the root's one form, stored paths, the unchanged
/// decision, shard ownership) and what a failing listing does to stored rows. The passes against
/// a real S3 server are in scripts/s3/test_s3.py.
@Suite("Index of s3:// roots")
struct RemoteIndexTests {
    @Test("the root's one form: s3://bucket/prefix with the prefix as given; s3://b is s3://b/; anything else is refused")
    func rootForm() throws {
        #expect(RemoteRoot(url: "s3://b")?.path == "s3://b/")
        #expect(RemoteRoot(url: "s3://b/")?.path == "s3://b/")
        #expect(RemoteRoot(url: "s3://b/data/")?.path == "s3://b/data/")
        // A prefix is a string prefix of keys: with and without the slash they list different keys.
        #expect(RemoteRoot(url: "s3://b/data")?.path == "s3://b/data")
        #expect(RemoteRoot(url: "s3://b//x")?.path == "s3://b//x")
        for bad in ["s3://", "s3:///x", "/data", "S3://b/x", "https://b/x", ""] {
            #expect(RemoteRoot(url: bad) == nil, "\(bad)")
        }
        #expect(Application.indexRootPath("s3://b") == "s3://b/")
        #expect(Application.indexRootPath("s3://b/p/q") == "s3://b/p/q")
    }

    @Test("stored paths: keys relative to the prefix's folder, never empty; back to s3://bucket/key for export")
    func storedPaths() throws {
        let data = try #require(RemoteRoot(url: "s3://b/data/"))
        #expect(data.base == "data/")
        #expect(data.relative("data/ct/IM1.dcm") == "ct/IM1.dcm")
        #expect(data.relative("data/") == nil)  // the folder marker itself
        #expect(data.relative("other/x") == nil)
        let one = try #require(RemoteRoot(url: "s3://b/data/ct/IM1.dcm"))
        #expect(one.base == "data/ct/")
        #expect(one.relative("data/ct/IM1.dcm") == "IM1.dcm")
        #expect(one.relative("data/ct/IM1.dcm.bak") == "IM1.dcm.bak")
        #expect(one.relative("data/ct/IM2.dcm") == nil)
        let bare = try #require(RemoteRoot(url: "s3://b/Samp"))
        #expect(bare.base == "")
        #expect(bare.relative("SampleData/a.png") == "SampleData/a.png")
        let bucket = try #require(RemoteRoot(url: "s3://b"))
        #expect(bucket.relative("top.png") == "top.png")
        for (root, key) in [(data, "data/ct/IM1.dcm"), (one, "data/ct/IM1.dcm"), (bare, "SampleData/a.png"), (bucket, "x/y/z.nii.gz")] {
            #expect(root.recordPath(try #require(root.relative(key))) == "s3://b/" + key)
        }
        // Keys in byte order give stored paths in byte order (the merge with the stored rows relies on it).
        let keys = ["data/a/Z.dcm", "data/a/b.dcm", "data/a\u{e9}/c.dcm", "data/b"]
        let paths = keys.compactMap(data.relative)
        #expect(paths == paths.sorted { Walker.bytewiseLess($0, $1) })
    }

    @Test("overlapping roots: the same bucket and one prefix starting the other")
    func overlaps() throws {
        func r(_ s: String) throws -> RemoteRoot { try #require(RemoteRoot(url: s)) }
        #expect(try r("s3://b/data/").overlaps(r("s3://b/data/ct/")))
        #expect(try r("s3://b/Samp").overlaps(r("s3://b/SampleData/")))
        #expect(try r("s3://b/").overlaps(r("s3://b/anything")))
        #expect(try !r("s3://b/data/").overlaps(r("s3://b/date/")))
        #expect(try !r("s3://b/data/").overlaps(r("s3://c/data/")))
    }

    @Test("an object is unchanged only when its size, LastModified and ETag all equal the stored ones")
    func unchangedDecision() {
        let stored = StoredFile(rowID: 1, datasetID: nil, device: nil, inode: nil, size: 100, mtimeNs: nil, ctimeNs: nil,
                                statsRead: false, hadFindings: false, etag: "\"abc\"", lastModified: "2026-12-01T00:00:00.000Z")
        #expect(stored.unchanged(size: 100, lastModified: "2026-12-01T00:00:00.000Z", etag: "\"abc\""))
        #expect(!stored.unchanged(size: 101, lastModified: "2026-12-01T00:00:00.000Z", etag: "\"abc\""))
        #expect(!stored.unchanged(size: 100, lastModified: "2026-12-01T00:00:01.000Z", etag: "\"abc\""))
        #expect(!stored.unchanged(size: 100, lastModified: "2026-12-01T00:00:00.000Z", etag: "\"abd\""))
        // A listing without the version proves nothing; nor does a row stored without one (a file, a failed read).
        #expect(!stored.unchanged(size: 100, lastModified: "", etag: ""))
        var file = stored
        file.etag = nil
        file.lastModified = nil
        #expect(!file.unchanged(size: 100, lastModified: "", etag: ""))
        #expect(!file.unchanged(size: 100, lastModified: "2026-12-01T00:00:00.000Z", etag: "\"abc\""))
    }

    @Test("--shard owns an object by its folder relative to the prefix, as a local file by its folder relative to the root")
    func shardOwnership() throws {
        let root = try #require(RemoteRoot(url: "s3://b/SampleData/"))
        for folder in ["", "ct-series", "mr-nifti/imagesTr", "a/b/c"] {
            let key = "SampleData/" + (folder.isEmpty ? "" : folder + "/") + "f.dcm"
            let path = try #require(root.relative(key))
            for k in 0..<4 {
                let shard = try #require(Shard(index: k, count: 4))
                #expect(StoredCursor.owns(shard, path: path) == shard.owns(directory: Array(folder.utf8)), "\(key) \(k)")
            }
        }
    }

    @Test("schema v2: an object's ETag and LastModified round-trip through the store; files have none")
    func versionColumns() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try IndexStore(path: dir.appendingPathComponent("i.sqlite").path)
        let steps = try store.pool.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier") }
        #expect(steps == IndexStore.schemaSteps)
        let root = try store.root(path: "s3://b/data/")
        var object = ImageRecord(path: "ct/IM1.dcm")
        object.sizeBytes = 10
        object.objectVersion = ObjectVersion(etag: "\"e1\"", lastModified: "2026-12-01T00:00:00.000Z")
        var failed = ImageRecord(path: "ct/IM2.dcm")
        failed.status = .error
        try store.write([object, failed], root: root.id, statsRead: false, stored: [:])
        let page = try store.storedPage(root: root.id, after: "", maxID: Int64.max, limit: 10)
        #expect(page.map(\.path) == ["ct/IM1.dcm", "ct/IM2.dcm"])
        #expect(page[0].file.etag == "\"e1\"" && page[0].file.lastModified == "2026-12-01T00:00:00.000Z")
        #expect(page[1].file.etag == nil && page[1].file.lastModified == nil)
        var back: [ImageRecord] = []
        try store.forEachRecord(roots: [root.id]) { back.append($0) }
        #expect(back.first?.objectVersion == object.objectVersion)
        #expect(back.first?.fileStat == nil)
    }

    @Test("export: an s3:// root's records carry s3://bucket/key (alone, with --root in any form, and beside a folder's)")
    func exportPaths() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("i.sqlite").path
        let folder = dir.appendingPathComponent("local").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let real = try #require(Application.canonicalRoot(folder).resolved)
        do {
            let store = try IndexStore(path: db)
            for (rootPath, path) in [("s3://b/", "a/x.png"), ("s3://b2/data/c", "ct/IM1.dcm"), (real, "y.png")] {
                let root = try store.root(path: rootPath)
                try store.write([ImageRecord(path: path)], root: root.id, statsRead: false, stored: [:])
            }
        }
        func paths(_ roots: [String]) throws -> [String] {
            var request = ExportRequest(database: db)
            request.roots = roots
            let out = dir.appendingPathComponent("out.jsonl").path
            request.destination = .file(out)
            _ = try Application.export(request)
            return try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map { line in
                let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                return json["path"] as! String
            }
        }
        #expect(try paths(["s3://b"]) == ["s3://b/a/x.png"])
        #expect(try paths(["s3://b2/data/c"]) == ["s3://b2/data/ct/IM1.dcm"])
        #expect(try paths([folder]) == ["y.png"])
        // Several roots: in the order `scan` gives roots (by path), a folder's paths prefixed with it.
        let all = try paths([])
        #expect(Set(all) == ["s3://b/a/x.png", "s3://b2/data/ct/IM1.dcm", real + "/y.png"])
        #expect(all == [real + "/y.png", "s3://b/a/x.png", "s3://b2/data/ct/IM1.dcm"])
    }

    @Test("a listing that fails (no server) keeps the stored rows and marks the root unavailable; no credential is stored")
    func failedListingKeepsRows() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("i.sqlite").path
        do {
            let store = try IndexStore(path: db)
            let root = try store.root(path: "s3://b/data/")
            var r = ImageRecord(path: "a.png")
            r.objectVersion = ObjectVersion(etag: "\"e\"", lastModified: "t")
            try store.write([r], root: root.id, statsRead: false, stored: [:])
            try store.finishRoot(root.id, at: "2026-12-01T00:00:00Z", withStats: false)
        }
        // A port nothing listens on: every attempt is refused, quickly.
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        close(socket)
        var request = IndexRequest(paths: ["s3://b/data/"], database: db)
        request.datasets = false
        request.remote.requestTimeout = 0.5  // a refused connection is retried by the client until the deadline
        request.remote.environment = ["AWS_ENDPOINT_URL_S3": "http://127.0.0.1:\(port)", "AWS_ACCESS_KEY_ID": "AKIDTEST",
                                      "AWS_SECRET_ACCESS_KEY": "secret-canary-4411", "AWS_REGION": "us-east-1", "HOME": dir.path]
        let result = try Application.index(request)
        let outcome = try #require(result.roots.first)
        #expect(outcome.path == "s3://b/data/")
        #expect(!outcome.available)
        #expect(outcome.reason?.contains("listing failed") == true, "\(outcome.reason ?? "")")
        #expect(outcome.reason?.contains("secret-canary-4411") == false)
        let store = try IndexStore(path: db, create: false, readOnly: true)
        let root = try #require(try store.roots().first)
        #expect(!root.available && root.unavailableReason == outcome.reason)
        #expect(try store.fileCount(root: root.id) == 1)
        // --no-datasets is required: the dataset pass reads local folders.
        request.datasets = true
        #expect(throws: IndexError.self) { try Application.index(request) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: db)) + ((try? Data(contentsOf: URL(fileURLWithPath: db + "-wal"))) ?? Data())
        #expect(bytes.range(of: Data("secret-canary-4411".utf8)) == nil)
    }
}
