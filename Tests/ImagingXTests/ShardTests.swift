import Foundation
import GRDB
import ImagingX
import ImagingXFixtures
import Testing

/// A small seeded generator (SplitMix64), so a failing tree can be made again.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Shards and their merge")
struct ShardTests {
    /// Names chosen to sort around "/" and "." and to need quoting in CSV and escaping in JSON.
    static let names = ["a", "a.b", "a-b", "a b", "a,b", "b\"q", "Z", "é", "case_001", "x.nii", "ü/", "0", "a0", "a/"]

    /// A random tree under `root`: nested folders with copies of SampleData's files (every format,
    /// broken ones included), some folders empty, some files at the top.
    static func randomTree(at root: URL, seed: UInt64, files: Int) throws {
        var rng = SeededRandom(state: seed)
        let samples = try temporaryDirectory("shard-samples-\(seed)")
        defer { try? FileManager.default.removeItem(at: samples) }
        _ = try SampleData.write(to: samples.path)
        let sources = try FileManager.default.subpathsOfDirectory(atPath: samples.path).filter { path in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: samples.appendingPathComponent(path).path, isDirectory: &isDir) && !isDir.boolValue
        }.sorted()
        var folders = [""]
        for _ in 0..<(files / 4 + 1) {
            let parent = folders.randomElement(using: &rng)!
            let name = names.randomElement(using: &rng)!.replacingOccurrences(of: "/", with: "_") + String(Int.random(in: 0..<5, using: &rng))
            let folder = parent.isEmpty ? name : parent + "/" + name
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
            folders.append(folder)
        }
        for i in 0..<files {
            let folder = folders.randomElement(using: &rng)!
            let source = sources.randomElement(using: &rng)!
            let base = (source as NSString).lastPathComponent
            let target = root.appendingPathComponent(folder).appendingPathComponent("\(i)-" + base)
            try FileManager.default.copyItem(at: samples.appendingPathComponent(source), to: target)
        }
    }

    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

    /// Scans `paths` once whole and once in `n` shards merged, and returns both outputs.
    static func singleAndMerged(_ paths: [String], n: Int, work: URL, format: OutputFormat = .jsonl,
                                stats: Bool = false) throws -> (single: [UInt8], merged: [UInt8]) {
        var request = ScanRequest(paths: paths)
        request.format = format
        request.stats = stats
        request.jobs = 2
        let single = work.appendingPathComponent("single-\(n).\(format.rawValue)").path
        request.destination = .file(single)
        _ = try Application.scan(request)
        var parts: [String] = []
        for k in 0..<n {
            var part = request
            part.shard = Shard(index: k, count: n)
            let path = work.appendingPathComponent("part-\(n)-\(k).\(format.rawValue)").path
            part.destination = .file(path)
            _ = try Application.scan(part)
            parts.append(path)
        }
        let merged = work.appendingPathComponent("merged-\(n).\(format.rawValue)").path
        let result = try Application.merge(parts: parts.shuffled(), output: merged)
        #expect(result.parts == n)
        return (try bytes(single), try bytes(merged))
    }

    @Test("the shard of a directory is the documented function (checked against an independent Python computation)")
    func stableFunction() {
        let expected: [(String, [Int])] = [("", [1, 0, 5, 203]), ("ct-series", [1, 1, 1, 167]), ("ds00", [0, 1, 3, 488]),
                                           ("imagesTr", [0, 2, 3, 218]), ("a/b/c", [1, 0, 5, 759]), ("é", [0, 2, 0, 990])]
        for (directory, shards) in expected {
            #expect([2, 3, 7, 1000].map { Shard.of(directory: Array(directory.utf8), count: $0) } == shards, "\(directory)")
        }
    }

    @Test("shard specs: K/N with 0 ≤ K < N, nothing else")
    func specs() {
        #expect(Shard(spec: "0/1") == Shard(index: 0, count: 1))
        #expect(Shard(spec: "6/7")?.index == 6)
        for bad in ["", "1", "1/1", "7/7", "-1/3", "1/-3", "a/3", "1/3/4", " 1/3", "1/3 ", "0/0", "1.0/3", "+1/3", "0/99999999", "/3", "1/"] {
            #expect(Shard(spec: bad) == nil, "\(bad)")
        }
    }

    @Test("N = 1…7 shards of random trees merge to the single scan's bytes (JSON Lines)", arguments: [11, 12, 13] as [UInt64])
    func randomTreesJSONL(seed: UInt64) throws {
        let work = try temporaryDirectory("shards-\(seed)")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("tree")
        try Self.randomTree(at: root, seed: seed, files: 60)
        for n in 1...7 {
            let (single, merged) = try Self.singleAndMerged([root.path], n: n, work: work)
            #expect(single.count > 1000)
            #expect(merged == single, "seed \(seed), N = \(n)")
        }
    }

    @Test("CSV, --stats and several roots merge exactly too")
    func csvStatsAndRoots() throws {
        let work = try temporaryDirectory("shards-csv")
        defer { try? FileManager.default.removeItem(at: work) }
        let a = work.appendingPathComponent("a"), b = work.appendingPathComponent("a.b")
        try Self.randomTree(at: a, seed: 21, files: 40)
        try Self.randomTree(at: b, seed: 22, files: 30)
        for n in [2, 5] {
            let csv = try Self.singleAndMerged([a.path], n: n, work: work, format: .csv)
            #expect(csv.merged == csv.single)
            let stats = try Self.singleAndMerged([a.path], n: n, work: work, stats: true)
            #expect(stats.merged == stats.single)
            let roots = try Self.singleAndMerged([b.path, a.path], n: n, work: work)
            #expect(roots.merged == roots.single)
            let rootsCSV = try Self.singleAndMerged([b.path, a.path], n: n, work: work, format: .csv)
            #expect(rootsCSV.merged == rootsCSV.single)
        }
    }

    @Test("a file keeps its shard when files are added elsewhere")
    func stableWhenTheTreeGrows() throws {
        let work = try temporaryDirectory("shards-grow")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("tree")
        try Self.randomTree(at: root, seed: 31, files: 40)
        func paths(_ k: Int) throws -> Set<String> {
            var request = ScanRequest(paths: [root.path])
            request.shard = Shard(index: k, count: 3)
            let out = work.appendingPathComponent("p\(k).jsonl").path
            request.destination = .file(out)
            _ = try Application.scan(request)
            return Set(try RecordReader.readJSONLines(try Self.bytes(out)).map(\.path))
        }
        let before = try (0..<3).map(paths)
        try Self.randomTree(at: root.appendingPathComponent("new"), seed: 32, files: 20)
        let after = try (0..<3).map(paths)
        for k in 0..<3 { #expect(before[k].isSubset(of: after[k])) }
        #expect(after.reduce(0) { $0 + $1.count } == before.reduce(0) { $0 + $1.count } + 20)
    }

    @Test("merge refuses parts that do not make one run, with the reason")
    func refusals() throws {
        let work = try temporaryDirectory("shards-refuse")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("tree"), other = work.appendingPathComponent("other")
        try Self.randomTree(at: root, seed: 41, files: 30)
        try Self.randomTree(at: other, seed: 42, files: 5)
        func part(_ k: Int, _ n: Int, root: URL, format: OutputFormat = .jsonl, name: String) throws -> String {
            var request = ScanRequest(paths: [root.path])
            request.format = format
            request.shard = Shard(index: k, count: n)
            let out = work.appendingPathComponent(name).path
            request.destination = .file(out)
            _ = try Application.scan(request)
            return out
        }
        let p0 = try part(0, 2, root: root, name: "p0"), p1 = try part(1, 2, root: root, name: "p1")
        let out = work.appendingPathComponent("out").path
        func refused(_ parts: [String], _ fragment: String) {
            do {
                _ = try Application.merge(parts: parts, output: out)
                Issue.record("merged \(parts) but should refuse (\(fragment))")
            } catch {
                #expect(error.description.contains(fragment), "\(error.description)")
            }
        }
        refused([], "give the parts")
        refused([p0], "shard 1 of 2 missing")
        refused([p0, p0], "both shard 0/2")
        refused([p0, try part(1, 3, root: root, name: "q1")], "shard count")
        refused([p0, try part(1, 2, root: other, name: "o1")], "roots")
        refused([p0, try part(1, 2, root: root, format: .csv, name: "c1")], "options format=jsonl")
        refused([p0, work.appendingPathComponent("nothing").path], "manifest")
        #expect(throws: Never.self) { try Application.merge(parts: [p1, p0], output: out) }
        // A truncated part, a part with records out of order, another version.
        let saved = try Self.bytes(p1)
        try Data(saved.dropLast(7)).write(to: URL(fileURLWithPath: p1))
        refused([p0, p1], "bytes, its run wrote")
        var lines = saved.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { Array($0) + [0x0A] }
        #expect(lines.count > 2)
        lines.swapAt(0, lines.count - 1)
        try Data(lines.flatMap { $0 }).write(to: URL(fileURLWithPath: p1))
        refused([p0, p1], "not in path order")
        try Data(saved).write(to: URL(fileURLWithPath: p1))
        let manifest = ShardManifest.path(for: p1)
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "\"0.7.0\"", with: "\"0.6.9\"").write(toFile: manifest, atomically: true, encoding: .utf8)
        refused([p0, p1], "imagingx version")
        try text.write(toFile: manifest, atomically: true, encoding: .utf8)
        // Garbage with a manifest that matches its size: no path to order by, refused.
        var junk = SeededRandom(state: 7)
        let garbage = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &junk) }.map { $0 == 0x0A ? 0x20 : $0 }
        try Data(garbage).write(to: URL(fileURLWithPath: p1))
        var m = try ShardManifest.read(beside: p1)
        m.bytes = garbage.count
        try m.write(beside: p1)
        refused([p0, p1], "without a path")
        try Data(saved).write(to: URL(fileURLWithPath: p1))
        try text.write(toFile: manifest, atomically: true, encoding: .utf8)
        // The output is never one of the parts, nor a file holding image data.
        do {
            _ = try Application.merge(parts: [p0, p1], output: p0)
            Issue.record("merged onto a part")
        } catch { #expect(error.description.contains("one of the parts")) }
    }

    @Test("the CLI: scan --shard, merge, and their usage errors (exit 2)")
    func cli() throws {
        let work = try temporaryDirectory("shards-cli")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("tree")
        try Self.randomTree(at: root, seed: 51, files: 30)
        let single = work.appendingPathComponent("single.jsonl").path
        #expect(try ScannerTests.run(["scan", root.path, "--quiet", "--output", single]).status == 0)
        var parts: [String] = []
        for k in 0..<3 {
            let part = work.appendingPathComponent("part-\(k).jsonl").path
            #expect(try ScannerTests.run(["scan", root.path, "--quiet", "--shard", "\(k)/3", "--output", part]).status == 0)
            parts.append(part)
        }
        let merged = work.appendingPathComponent("merged.jsonl").path
        let m = try ScannerTests.run(["merge"] + parts + ["-o", merged])
        #expect(m.status == 0)
        #expect(m.stderr.contains("merged 3 scan parts"))
        #expect(try Self.bytes(merged) == Self.bytes(single))
        #expect(try ScannerTests.run(["scan", root.path, "--shard", "3/3", "--output", merged]).status == 2)
        #expect(try ScannerTests.run(["scan", root.path, "--shard", "x", "--output", merged]).status == 2)
        #expect(try ScannerTests.run(["scan", root.path, "--shard", "0/3"]).status == 2, "a part needs a file")
        let refused = try ScannerTests.run(["merge", parts[0], parts[1], "-o", merged])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("shard 2 of 3 missing"))
    }
}

@Suite("Shards of fingerprints and series")
struct ShardDatasetTests {
    /// A plain-layout dataset spread over folders: NIfTI cases with labels in several site
    /// folders, and DICOM series (each in its own folder, distinct UIDs).
    static func dataset(at root: URL, sites: Int, seriesCount: Int) throws {
        for s in 0..<sites {
            let folder = root.appendingPathComponent("site\(s)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for c in 0..<3 {
                try write(LayoutCorpus.nifti(seed: s * 10 + c), to: folder.appendingPathComponent("case\(s)_\(c).nii.gz"))
                try write(LayoutCorpus.nifti(seed: s * 10 + c, label: true), to: folder.appendingPathComponent("case\(s)_\(c)_seg.nii.gz"))
            }
        }
        for k in 0..<seriesCount {
            let folder = root.appendingPathComponent("patients/p\(k)/ct")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try LayoutCorpus.ctSeries(folder.path, uid: "1.2.826.0.1.3680043.8.498.99.\(k + 1)")
        }
    }

    static func fingerprintParts(_ folder: String, n: Int, work: URL) throws -> [String] {
        try (0..<n).map { k in
            var request = FingerprintRequest(folder: folder)
            request.jobs = 2
            request.shard = Shard(index: k, count: n)
            let result = try FingerprintDataset.run(request)
            let path = work.appendingPathComponent("fp-\(n)-\(k).json").path
            try FingerprintDataset.writeShard(result, request: request, to: path)
            return path
        }
    }

    @Test("fingerprint: N = 1…5 shards merge to the single run's JSON, byte for byte")
    func fingerprints() throws {
        let work = try temporaryDirectory("shard-fp")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("data")
        try Self.dataset(at: root, sites: 6, seriesCount: 5)
        let whole = try FingerprintDataset.run(FingerprintRequest(folder: root.path, jobs: 2))
        let single: [UInt8] = try Fingerprinter.encode(whole.fingerprint)
        #expect(single.count > 1000)
        var spread = 0
        for n in 1...5 {
            let parts = try Self.fingerprintParts(root.path, n: n, work: work)
            let counts = try parts.map { try ShardManifest.read(beside: $0).records }
            let total: Int = counts.reduce(0, +)
            #expect(total == 23, "every case in exactly one part")
            spread = max(spread, counts.filter { $0 > 0 }.count)
            let out = work.appendingPathComponent("fp-merged-\(n).json").path
            let r = try Application.merge(parts: parts.reversed(), output: out)
            #expect(r.records == 23)
            let merged: [UInt8] = try ShardTests.bytes(out)
            #expect(merged == single, "N = \(n)")
        }
        #expect(spread >= 3, "the cases are spread over the shards")
    }

    @Test("series: shards merge to the single run's lines; a series split between shards is refused")
    func series() throws {
        let work = try temporaryDirectory("shard-series")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("data")
        try Self.dataset(at: root, sites: 1, seriesCount: 8)
        var request = SeriesRequest(paths: [root.path])
        request.jobs = 2
        let single: [UInt8] = try Application.series(request).jsonLines()
        let volumes = single.split(separator: 0x0A).count
        #expect(volumes == 8)
        for n in 1...5 {
            var parts: [String] = []
            for k in 0..<n {
                var part = request
                part.shard = Shard(index: k, count: n)
                let path = work.appendingPathComponent("s-\(n)-\(k).jsonl").path
                try Application.writeSeriesShard(Application.series(part), request: part, to: path)
                parts.append(path)
            }
            let out = work.appendingPathComponent("s-merged-\(n).jsonl").path
            _ = try Application.merge(parts: parts, output: out)
            let merged: [UInt8] = try ShardTests.bytes(out)
            #expect(merged == single, "N = \(n)")
        }
        // One series with its slices in two folders that fall to different shards.
        let split = work.appendingPathComponent("split")
        try LayoutCorpus.ctSeries(split.appendingPathComponent("a").path, uid: "1.2.826.0.1.3680043.8.498.99.77")
        try LayoutCorpus.ctSeries(split.appendingPathComponent("b").path, uid: "1.2.826.0.1.3680043.8.498.99.77")
        let a: [UInt8] = Array("a".utf8), b: [UInt8] = Array("b".utf8)
        let n = (2...9).first { Shard.of(directory: a, count: $0) != Shard.of(directory: b, count: $0) }!
        var parts: [String] = []
        for k in 0..<n {
            var part = SeriesRequest(paths: [split.path])
            part.shard = Shard(index: k, count: n)
            let path = work.appendingPathComponent("split-\(k).jsonl").path
            try Application.writeSeriesShard(Application.series(part), request: part, to: path)
            parts.append(path)
        }
        do {
            _ = try Application.merge(parts: parts, output: work.appendingPathComponent("split.jsonl").path)
            Issue.record("a split series was merged")
        } catch {
            #expect(error.description.contains("folders of different shards"))
        }
    }
}

@Suite("Shards of an index")
struct ShardIndexTests {
    /// What an index holds, as comparable text: every file row (all columns but the dataset
    /// link's id), findings, datasets (no timestamps), cases and series volumes.
    static func contents(_ path: String) throws -> [String] {
        let store = try IndexStore(path: path, create: false)
        return try store.pool.read { db in
            var out: [String] = []
            for row in try Row.fetchAll(db, sql: "SELECT * FROM files ORDER BY id") {
                out.append(row.columnNames.filter { $0 != "dataset_id" }.map { "\($0)=\(row[$0] as DatabaseValue)" }.joined(separator: "|"))
            }
            out += try String.fetchAll(db, sql: "SELECT f.path || ' ' || ff.code || ' ' || ff.level FROM file_findings ff JOIN files f ON f.id = ff.file_id ORDER BY 1")
            out += try String.fetchAll(db, sql: """
                SELECT d.folder || '|' || d.name || '|' || d.layout || '|' || coalesce(d.modality, '') || '|' || d.files || '|' || d.bytes
                    || '|' || d.cases || '|' || d.cases_failed || '|' || d.fingerprint FROM datasets d ORDER BY d.id
                """)
            out += try String.fetchAll(db, sql: "SELECT d.folder || '|' || f.path FROM files f JOIN datasets d ON d.id = f.dataset_id ORDER BY f.id")
            out += try String.fetchAll(db, sql: "SELECT d.folder || '|' || c.case_id || '|' || c.summary FROM cases c JOIN datasets d ON d.id = c.dataset_id ORDER BY 1")
            out += try String.fetchAll(db, sql: "SELECT d.folder || '|' || s.record FROM series s JOIN datasets d ON d.id = s.dataset_id ORDER BY 1")
            out += try String.fetchAll(db, sql: "SELECT path || '|' || files || '|' || with_stats FROM roots")
            return out
        }
    }

    @Test("index: N = 1…4 part indexes merge into what one index run stores (files, findings, datasets, cases, series)")
    func merge() throws {
        let work = try temporaryDirectory("shard-index")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("data")
        // Two datasets (a collection) and loose sample files with findings and errors.
        try ShardDatasetTests.dataset(at: root.appendingPathComponent("sites"), sites: 5, seriesCount: 4)
        _ = try SampleData.write(to: root.appendingPathComponent("samples").path)
        let single = work.appendingPathComponent("single.sqlite").path
        var request = IndexRequest(paths: [root.path], database: single)
        request.jobs = 2
        _ = try Application.index(request)
        let expected = try Self.contents(single)
        #expect(expected.count > 150)
        for n in 1...4 {
            var parts: [String] = []
            for k in 0..<n {
                var part = request
                part.database = work.appendingPathComponent("part-\(n)-\(k).sqlite").path
                part.shard = Shard(index: k, count: n)
                _ = try Application.index(part)
                parts.append(part.database)
            }
            let merged = work.appendingPathComponent("merged-\(n).sqlite").path
            let r = try Application.merge(parts: parts, output: merged)
            #expect(r.parts == n)
            let got = try Self.contents(merged)
            #expect(got == expected, "N = \(n): \(zip(got, expected).first { $0 != $1 }.map { "\($0.0)\n≠ \($0.1)" } ?? "counts \(got.count) vs \(expected.count)")")
            var export = ExportRequest(database: merged)
            export.fileStat = true
            var single = ExportRequest(database: request.database)
            single.fileStat = true
            let a = work.appendingPathComponent("a.jsonl").path, b = work.appendingPathComponent("b.jsonl").path
            export.destination = .file(a)
            single.destination = .file(b)
            _ = try Application.export(export)
            _ = try Application.export(single)
            let exported: [UInt8] = try ShardTests.bytes(a), expectedExport: [UInt8] = try ShardTests.bytes(b)
            #expect(exported == expectedExport)
            // Merging again onto the merged index is refused: a merge writes a new file.
            #expect(throws: MergeError.self) { try Application.merge(parts: parts, output: merged) }
        }
        // The shards run one after another into one index file: each pass answers for its own
        // folders only, so together they hold what one run holds (no shard removes another's rows).
        let shared = work.appendingPathComponent("shared.sqlite").path
        for round in 0..<2 {
            for k in 0..<3 {
                var part = request
                part.database = shared
                part.datasets = false
                part.shard = Shard(index: k, count: 3)
                let result = try Application.index(part)
                #expect(result.roots[0].removed == 0, "round \(round), shard \(k)")
            }
        }
        var all = ExportRequest(database: shared)
        all.fileStat = true
        let sharedOut = work.appendingPathComponent("shared.jsonl").path
        all.destination = .file(sharedOut)
        _ = try Application.export(all)
        var whole = ExportRequest(database: single)
        whole.fileStat = true
        let wholeOut = work.appendingPathComponent("whole.jsonl").path
        whole.destination = .file(wholeOut)
        _ = try Application.export(whole)
        let sharedBytes: [UInt8] = try ShardTests.bytes(sharedOut), wholeBytes: [UInt8] = try ShardTests.bytes(wholeOut)
        #expect(sharedBytes == wholeBytes)
    }
}
