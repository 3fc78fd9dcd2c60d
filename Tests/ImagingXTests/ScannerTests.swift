import Foundation
import ImagingX
import ImagingXFixtures
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("Walker, scanner and CLI")
struct ScannerTests {
    /// A tree with hidden entries, a symlink loop, a fifo and a link to a file.
    static func makeTree() throws -> URL {
        let root = try temporaryDirectory("tree")
        let png = try RasterBuilder.png(width: 2, height: 2, bitDepth: 8, colorType: 0, pixels: [0, 1, 2, 3])
        try write(png, to: root.appendingPathComponent("b/one.png"))
        try write(png, to: root.appendingPathComponent("a/two.png"))
        try write(png, to: root.appendingPathComponent(".hidden/three.png"))
        try write(png, to: root.appendingPathComponent("a/.four.png"))
        try write(Array("text".utf8), to: root.appendingPathComponent("notes.txt"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("a/loop").path, withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link.png").path, withDestinationPath: "b/one.png")
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("dangling").path, withDestinationPath: "nowhere")
        #expect(mkfifo(root.appendingPathComponent("pipe").path, 0o644) == 0)
        return root
    }

    @Test("walk: recursive, sorted, hidden skipped unless asked, loops and fifos never followed")
    func walk() throws {
        let root = try ScannerTests.makeTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let visible = Walker().walk([root.path])
        #expect(visible.errors.isEmpty)
        #expect(visible.entries.map(\.path) == ["a/two.png", "b/one.png", "link.png", "notes.txt"])
        #expect(visible.skipped == 2)  // the fifo and the dangling link
        let all = Walker(includeHidden: true).walk([root.path])
        #expect(all.entries.map(\.path) == [".hidden/three.png", "a/.four.png", "a/two.png", "b/one.png", "link.png", "notes.txt"])
        let missing = Walker().walk([root.path, root.appendingPathComponent("absent").path])
        #expect(missing.errors.count == 1)
        #expect(missing.entries.allSatisfy { $0.path.hasPrefix(root.path + "/") }, "several roots: paths keep their root")
    }

    @Test("streamed walk: batches arrive in global path order, across several roots")
    func streamedOrder() throws {
        let root = try temporaryDirectory("stream")
        defer { try? FileManager.default.removeItem(at: root) }
        let png = try RasterBuilder.png(width: 1, height: 1, bitDepth: 8, colorType: 0, pixels: [0])
        // Names chosen so that "/" versus "." and "-" ordering matters (0x2D < 0x2E < 0x2F).
        for name in ["d/x.png", "d.png", "d-1/y.png", "d/sub/z.png", "e/a.png", "d/a b.png"] {
            try write(png, to: root.appendingPathComponent("r1/" + name))
        }
        try write(png, to: root.appendingPathComponent("r0/q.png"))
        let roots = [root.appendingPathComponent("r1").path, root.appendingPathComponent("r0").path]
        var batches: [[String]] = []
        _ = Walker().walk(roots, batchSize: 2) { batches.append($0.map(\.path)) }
        let streamed = batches.flatMap { $0 }
        #expect(batches.allSatisfy { $0.count <= 2 })
        #expect(streamed == streamed.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(streamed.count == 7)
        let single = Walker().walk([root.appendingPathComponent("r1").path]).entries.map(\.path)
        #expect(single == ["d-1/y.png", "d.png", "d/a b.png", "d/sub/z.png", "d/x.png", "e/a.png"])
    }

    @Test("output is identical whatever the number of jobs and the batch size")
    func deterministic() throws {
        let (root, entries) = try ScannerTests.sampleTree("det")
        defer { try? FileManager.default.removeItem(at: root) }
        func run(jobs: Int, batch: Int) -> [UInt8] {
            var out: [UInt8] = []
            _ = Scanner(jobs: jobs, batchSize: batch).scan(entries, emit: { out += $0 })
            return out
        }
        let one = run(jobs: 1, batch: 4096)
        #expect(one == run(jobs: 4, batch: 3))
        #expect(one == run(jobs: 2, batch: 1))
        // The pipelined scan (walk on its own thread) writes the same bytes.
        for (jobs, batch) in [(1, 4096), (2, 2), (3, 5)] {
            var piped: [UInt8] = []
            _ = Scanner(jobs: jobs, batchSize: batch).scan(roots: [root.path], walker: Walker(),
                                                           emit: { (b: UnsafeRawBufferPointer) in piped += b })
            #expect(piped == one, "jobs \(jobs), batch \(batch)")
        }
        let lines = String(decoding: one, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == entries.count)
    }

    @Test("SampleData: every kind reads, broken files give error records, no identity leaks")
    func sampleData() throws {
        let (root, entries) = try ScannerTests.sampleTree("sample")
        defer { try? FileManager.default.removeItem(at: root) }
        var jsonl: [UInt8] = []
        var csv: [UInt8] = []
        let summary = Scanner(jobs: 2).scan(entries, emit: { jsonl += $0 })
        _ = Scanner(jobs: 2, format: .csv).scan(entries, emit: { csv += $0 })
        #expect(summary.byFormat[.dicom] == 14)
        #expect(summary.byFormat[.nifti1] == 19)
        #expect(summary.byFormat[.png] == 4)
        #expect(summary.byFormat[.jpeg] == 4)
        let records = String(decoding: jsonl, as: UTF8.self).split(separator: "\n").map(String.init)
        for line in records where line.contains("\"path\":\"broken/") && !line.contains("notes.txt") {
            #expect(line.contains("\"status\":\"error\""), "\(line.prefix(120))")
            #expect(line.contains("at byte "), "\(line.prefix(120))")
        }
        for line in records where line.contains("\"path\":\"ct-series/") {
            #expect(line.contains("\"status\":\"ok\"") && line.contains("\"axcodes\":\"LPS\""))
        }
        let outputs = String(decoding: jsonl + csv, as: UTF8.self)
        for i in 0..<12 {
            for value in SampleData.ctSlice(i, of: 12).identityValues {
                #expect(!outputs.contains(value), "identity value \(value) in output")
            }
        }
        #expect(!outputs.contains("1.2.826.0.1.3680043.8.498.30.1"), "study UID in output")
    }

    /// A fresh SampleData tree in a temporary folder, and its walk; removed by the caller.
    static func sampleTree(_ name: String) throws -> (root: URL, entries: [WalkEntry]) {
        let root = try temporaryDirectory(name)
        _ = try SampleData.write(to: root.path)
        return (root, Walker().walk([root.path]).entries)
    }

    /// The built `imagingx` beside the test bundle.
    static var binary: String {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [here, here.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("imagingx").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return here.appendingPathComponent("imagingx").path
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test("CLI exit codes: 0 scanned, 1 unreadable root or --strict with errors, 2 usage")
    func exitCodes() throws {
        #expect(FileManager.default.isExecutableFile(atPath: ScannerTests.binary), "imagingx built at \(ScannerTests.binary)")
        let root = try temporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(at: root) }
        _ = try SampleData.write(to: root.path)
        let ok = try ScannerTests.run(["scan", root.appendingPathComponent("ct-series").path])
        #expect(ok.status == 0)
        #expect(ok.stdout.split(separator: "\n").count == 12)
        #expect(ok.stderr.contains("formats: dicom 12"))
        let broken = try ScannerTests.run(["scan", root.path, "--quiet"])
        #expect(broken.status == 0, "per-file errors are counted, not fatal")
        #expect(broken.stderr.isEmpty)
        #expect(try ScannerTests.run(["scan", root.path, "--strict", "--quiet"]).status == 1)
        #expect(try ScannerTests.run(["scan", root.appendingPathComponent("absent").path]).status == 1)
        #expect(try ScannerTests.run(["scan", root.path, "--format", "xml"]).status == 2)
        #expect(try ScannerTests.run(["scan", root.path, "--jobs", "0"]).status == 2)
        #expect(try ScannerTests.run(["scan", root.path, "--no-such-flag"]).status == 2)
        let csv = try ScannerTests.run(["scan", root.appendingPathComponent("xray-png").path, "--format", "csv"])
        #expect(csv.stdout.hasPrefix("path,format,status,"))
        let file = root.appendingPathComponent("out.jsonl").path
        #expect(try ScannerTests.run(["scan", root.appendingPathComponent("photo-jpeg").path, "-o", file, "--quiet"]).status == 0)
        #expect(try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").count == 3)
        // An --output that already holds an image is refused, and left as it was.
        let image = root.appendingPathComponent("photo-jpeg/lesion_1.jpg").path
        let before = try Data(contentsOf: URL(fileURLWithPath: image))
        #expect(try ScannerTests.run(["scan", root.appendingPathComponent("xray-png").path, "-o", image]).status == 2)
        #expect(try Data(contentsOf: URL(fileURLWithPath: image)) == before)
        // `series --output` has the same guard; a plain file is written.
        let ctImage = root.appendingPathComponent("ct-series/IM0001.dcm").path
        let ctBefore = try Data(contentsOf: URL(fileURLWithPath: ctImage))
        #expect(try ScannerTests.run(["series", root.appendingPathComponent("ct-series").path, "-o", ctImage]).status == 2)
        #expect(try Data(contentsOf: URL(fileURLWithPath: ctImage)) == ctBefore)
        let volumes = root.appendingPathComponent("volumes.jsonl").path
        #expect(try ScannerTests.run(["series", root.appendingPathComponent("ct-series").path, "-o", volumes]).status == 0)
        #expect(try String(contentsOfFile: volumes, encoding: .utf8).contains("\"assembled\":true"))
        // Records written inside the scanned folder are not scanned themselves.
        let inside = root.appendingPathComponent("photo-jpeg/records.jsonl").path
        #expect(try ScannerTests.run(["scan", root.appendingPathComponent("photo-jpeg").path, "-o", inside, "--strict", "--quiet"]).status == 0)
        let lines = try String(contentsOfFile: inside, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3 && !lines.contains { $0.contains("records.jsonl") })
    }

    @Test("an unreadable directory and an unreadable file become error records; the rest is scanned")
    func unreadable() throws {
        let root = try temporaryDirectory("perm")
        defer {
            chmod(root.appendingPathComponent("locked").path, 0o755)
            try? FileManager.default.removeItem(at: root)
        }
        let png = try RasterBuilder.png(width: 1, height: 1, bitDepth: 8, colorType: 0, pixels: [0])
        try write(png, to: root.appendingPathComponent("data/ok.png"))
        try write(png, to: root.appendingPathComponent("data/secret.png"))
        try write(png, to: root.appendingPathComponent("locked/hidden.png"))
        // The binary is copied next to the data so that an unprivileged user can run it.
        let binary = root.appendingPathComponent("imagingx").path
        try FileManager.default.copyItem(atPath: ScannerTests.binary, toPath: binary)
        // Explicit modes, whatever the umask: readable data, an executable copy.
        for path in [root.path, root.appendingPathComponent("data").path, binary] { chmod(path, 0o755) }
        chmod(root.appendingPathComponent("data/ok.png").path, 0o644)
        chmod(root.appendingPathComponent("data/secret.png").path, 0o000)
        chmod(root.appendingPathComponent("locked").path, 0o000)
        // root reads everything: drop to nobody with setpriv (util-linux) to see what a user sees.
        let arguments = ["scan", root.path, "--quiet"]
        let p = Process()
        if getuid() == 0 {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", binary] + arguments
        } else {
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = arguments
        }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "per-file errors are not fatal")
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("\"path\":\"data/ok.png\"") && $0.contains("\"status\":\"ok\"") })
        #expect(lines.contains { $0.contains("\"path\":\"data/secret.png\"") && $0.contains("cannot open: Permission denied at byte 0") })
        #expect(lines.contains { $0.contains("\"path\":\"locked/\"") && $0.contains("cannot read directory: Permission denied") })
        #expect(!text.contains("hidden.png"))
    }
}
