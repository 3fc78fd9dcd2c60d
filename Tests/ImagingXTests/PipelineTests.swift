import Foundation
import ImagingX
import ImagingXFixtures
import Synchronization
import Testing

@Suite("Typed pipeline: records, sinks, round trip, cancellation, file stat")
struct PipelineTests {
    /// Every record of a SampleData scan, typed, in path order.
    static func typedRecords(_ entries: [WalkEntry], stats: Bool = false, fileStat: Bool = false) -> [ImageRecord] {
        var records: [ImageRecord] = []
        _ = Scanner(jobs: 2, batchSize: 7, options: ReadOptions(stats: stats, fileStat: fileStat)).scan(entries) { batch in
            records += batch.records
            return .proceed
        }
        return records
    }

    @Test("JSON Lines written by the sink read back to the records the scanner yielded (SampleData, with stats and file stat)")
    func roundTrip() throws {
        let (root, entries) = try ScannerTests.sampleTree("roundtrip")
        defer { try? FileManager.default.removeItem(at: root) }
        let options = ReadOptions(stats: true, fileStat: true)
        var bytes: [UInt8] = []
        var typed: [ImageRecord] = []
        _ = Scanner(jobs: 2, batchSize: 5, options: options).scan(
            entries, encoding: RecordEncoding(format: .jsonl, stats: true, fileStat: true)
        ) { batch in
            bytes += batch.encoded
            typed += batch.records
            return .proceed
        }
        #expect(typed.count == entries.count)
        let read = try RecordReader.readJSONLines(bytes)
        #expect(read.count == typed.count)
        // write → read → write gives the same bytes.
        let buffer = ByteBuffer(capacity: 1 << 16)
        for r in read { RecordWriter.writeJSON(r, to: buffer, stats: true, fileStat: true) }
        #expect(buffer.bytes == bytes)
        // write → read gives the same record. Header values that are float32 in the file (NIfTI
        // pixdim, srow) are written in their shortest float32 form, as nibabel shows them ("0.9"
        // for float32 0.9 = 0.8999999761581421), so they read back as that decimal: equal once
        // narrowed to float32 again.
        func asWritten(_ back: Double, _ original: Double) -> Bool {
            back == original || Double(Float(back)) == original || (back.isNaN && original.isNaN)
        }
        var compared = 0
        for (back, original) in zip(read, typed) {
            var expected = original
            expected.slice = nil  // in-memory only (series assembly): the sinks do not write it
            var got = back
            if let a = got.spacing, let b = expected.spacing, a.count == b.count, zip(a, b).allSatisfy(asWritten) {
                got.spacing = b
            }
            if let a = got.affine, let b = expected.affine, zip(a.flat, b.flat).allSatisfy(asWritten) { got.affine = b }
            #expect(got == expected, "\(original.path)")
            compared += 1
        }
        #expect(compared == entries.count)
        #expect(typed.contains { $0.stats != nil } && typed.contains { $0.errorCode != nil } && typed.allSatisfy { $0.fileStat != nil })
        // JSONEncoder writes the same keys, so its output decodes to the same records too.
        let encoder = JSONEncoder()
        let again = try read.map { try JSONDecoder().decode(ImageRecord.self, from: encoder.encode($0)) }
        #expect(again == read)
    }

    @Test("a line that is not a record is refused with its line number")
    func readerRefuses() throws {
        let good = json(record(Array("not an image".utf8), path: "x.txt"))
        #expect(throws: RecordReader.LineError.self) { try RecordReader.readJSONLines(Array((good + "{\"path\":1}\n").utf8)) }
        do {
            _ = try RecordReader.readJSONLines(Array((good + "\n" + "[1,2]\n").utf8))
            Issue.record("an array is not a record")
        } catch {
            #expect(error.line == 3)
        }
    }

    @Test("error_code and error_offset carry the kind and the byte offset of every error (JSON and CSV)")
    func errorColumns() throws {
        let (root, entries) = try ScannerTests.sampleTree("errorcols")
        defer { try? FileManager.default.removeItem(at: root) }
        let records = PipelineTests.typedRecords(entries)
        let errors = records.filter { $0.status != .ok }
        #expect(errors.count >= 7)
        for r in errors {
            let sentence = try #require(r.error)
            let offset = try #require(r.errorOffset)
            #expect(sentence.hasSuffix("at byte \(offset)"), "\(r.path): \(sentence)")
            #expect(r.errorCode == (r.status == .unsupported ? .unsupported : r.errorCode))
        }
        #expect(records.filter { $0.status == .ok }.allSatisfy { $0.errorCode == nil && $0.errorOffset == nil })
        let truncated = try #require(records.first { $0.path == "broken/truncated-pixels.dcm" })
        #expect(truncated.errorCode == .truncated)
        var csv: [UInt8] = []
        RecordWriter.appendCSV(truncated, to: &csv)
        let header = String(decoding: RecordWriter.csvHeader(), as: UTF8.self)
        #expect(header.hasPrefix("path,format,status,error,error_code,error_offset,size_bytes,"))
        #expect(String(decoding: csv, as: UTF8.self).contains(",truncated,\(truncated.errorOffset!),"))
    }

    @Test("the typed scan, the byte sink and the async sequence agree, in path order")
    func threeWays() async throws {
        let (root, entries) = try ScannerTests.sampleTree("threeways")
        defer { try? FileManager.default.removeItem(at: root) }
        let typed = PipelineTests.typedRecords(entries)
        var bytes: [UInt8] = []
        _ = Scanner(jobs: 3, batchSize: 4).scan(entries, emit: { bytes += $0 })
        var fromTyped: [UInt8] = []
        for r in typed { RecordWriter.appendJSON(r, to: &fromTyped) }
        #expect(bytes == fromTyped)

        let progress = Mutex<[Int]>([])
        let outcome = Mutex<ScanOutcome?>(nil)
        var streamed: [ImageRecord] = []
        let sequence = Scanner(jobs: 2, batchSize: 6).records(
            roots: [root.path], walker: Walker(),
            progress: { done in progress.withLock { $0.append(done) } },
            finished: { o in outcome.withLock { $0 = o } })
        for await r in sequence { streamed.append(r) }
        #expect(streamed.map(\.path) == typed.map(\.path))
        #expect(streamed == typed)
        let steps = progress.withLock { $0 }
        #expect(steps.last == entries.count && steps == steps.sorted())
        #expect(outcome.withLock { $0 }?.cancelled == false)
        #expect(outcome.withLock { $0 }?.summary.files == entries.count)
    }

    @Test("stopping: a handler's .stop ends the walk and the workers; leaving the async loop does too")
    func cancellation() async throws {
        let root = try temporaryDirectory("cancel")
        defer { try? FileManager.default.removeItem(at: root) }
        let png = try RasterBuilder.png(width: 2, height: 2, bitDepth: 8, colorType: 0, pixels: [0, 1, 2, 3])
        for i in 0..<400 { try write(png, to: root.appendingPathComponent(String(format: "d%02d/f%03d.png", i / 20, i))) }
        var batches = 0
        let outcome = Scanner(jobs: 2, batchSize: 10).scan(roots: [root.path], walker: Walker()) { _ in
            batches += 1
            return batches == 3 ? .stop : .proceed
        }
        #expect(outcome.cancelled)
        #expect(batches == 3)
        #expect(outcome.summary.files == 30)

        let finished = Mutex<ScanOutcome?>(nil)
        var seen = 0
        for await _ in Scanner(jobs: 2, batchSize: 10).records(roots: [root.path], walker: Walker(),
                                                               finished: { o in finished.withLock { $0 = o } }) {
            seen += 1
            if seen == 15 { break }
        }
        #expect(seen == 15)
        // The producer notices the end of iteration and stops well before the 400 files.
        var waited = 0
        while finished.withLock({ $0 }) == nil, waited < 500 {
            try await Task.sleep(nanoseconds: 10_000_000)
            waited += 1
        }
        let o = try #require(finished.withLock { $0 })
        #expect(o.cancelled)
        #expect(o.summary.files < 400)
    }

    @Test("walk entries carry device, inode, size and times; records carry them with fileStat")
    func fileStat() throws {
        let root = try temporaryDirectory("filestat")
        defer { try? FileManager.default.removeItem(at: root) }
        let png = try RasterBuilder.png(width: 2, height: 2, bitDepth: 8, colorType: 0, pixels: [0, 1, 2, 3])
        try write(png, to: root.appendingPathComponent("a.png"))
        try write(png + [0, 0], to: root.appendingPathComponent("sub/b.png"))
        let plain = Walker().walk([root.path]).entries
        #expect(plain.allSatisfy { $0.stat == nil }, "a plain walk makes no extra system call per file")
        var walker = Walker()
        walker.statFiles = true
        let entries = walker.walk([root.path]).entries
        #expect(entries.map(\.path) == ["a.png", "sub/b.png"])
        var st = stat()
        #expect(stat(root.appendingPathComponent("sub/b.png").path, &st) == 0)
        let b = try #require(entries[1].stat)
        #expect(b.inode == UInt64(st.st_ino) && b.device == UInt64(st.st_dev) && b.size == png.count + 2)
        #expect(b.mtimeNs == Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
        #expect(b.ctimeNs > 0)
        let records = PipelineTests.typedRecords(entries, fileStat: true)
        #expect(records.map { $0.fileStat } == entries.map(\.stat))
        // Off by default: no file-stat keys in the output.
        #expect(!json(records[0]).contains("inode"))
        var out: [UInt8] = []
        let buffer = ByteBuffer(capacity: 256)
        RecordWriter.writeJSON(records[0], to: buffer, fileStat: true)
        out += buffer.bytes
        #expect(String(decoding: out, as: UTF8.self).contains("\"inode\":\(records[0].fileStat!.inode)"))
    }

    @Test("one worker pool: every item once, results in item order, whatever the jobs")
    func pool() {
        for jobs in [1, 2, 5] {
            final class W { var seen = 0 }
            let out = WorkerPool(jobs: jobs).map(1000, makeWorker: { W() }) { w, i -> Int in
                w.seen += 1
                return i * i
            }
            #expect(out == (0..<1000).map { $0 * $0 })
        }
    }
}

@Suite("JSON numbers")
struct JSONNumberTests {
    @Test("a float32 value of 1e15 or more writes the same text after a read-back (found by fuzzing)")
    func largeFloat32() throws {
        var r = ImageRecord(path: "x")
        r.spacing = [Double(Float(2.2430037e15)), -Double(Float(4.4860074e15)), 3.5e20, 1e15, 0.9]
        var out: [UInt8] = []
        RecordWriter.appendJSON(r, to: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains("\"spacing\":[2.2430037e+15,-4.4860074e+15,3.5e+20,1e+15,0.9]"), "\(text)")
        let back = try RecordReader.readJSONLines(out)
        var again: [UInt8] = []
        RecordWriter.appendJSON(back[0], to: &again)
        #expect(again == out, "\(String(decoding: again, as: UTF8.self))")
    }
}
