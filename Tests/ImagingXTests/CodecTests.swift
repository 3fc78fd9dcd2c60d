import ImagingX
import ImagingXFixtures
import Testing

/// JPEG-LS (CharLS) and JPEG 2000 (OpenJPEG) Pixel Data: round trips against the values encoded,
/// refusal of codestreams that disagree with the DICOM header or claim a huge grid, and damage
/// sweeps that must end in a record with a `stats_error`, never a trap.
@Suite("JPEG-LS and JPEG 2000")
struct CodecTests {
    static let variants: [CodecFixtures.Variant] = try! CodecFixtures.variants()

    static func read(_ bytes: [UInt8], _ name: String, maxDecodeBytes: Int? = nil) -> ImageRecord {
        var options = ReadOptions(stats: true)
        if let maxDecodeBytes { options.maxDecodeBytes = maxDecodeBytes }
        return FileReader(options: options).read(bytes: bytes, path: name + ".dcm")
    }

    @Test("lossless variants decode to exactly the values encoded (after pydicom's sign corrections)",
          arguments: variants.filter { $0.values != nil }.map(\.name))
    func lossless(_ name: String) throws {
        let v = try #require(CodecTests.variants.first { $0.name == name })
        let r = CodecTests.read(v.bytes, name)
        #expect(r.status == .ok, "\(name): \(r.error ?? "")")
        #expect(r.statsError == nil, "\(name): \(r.statsError ?? "")")
        let slope = r.rescaleSlope ?? 1, intercept = r.rescaleIntercept ?? 0
        StatsTests.expectClose(r.stats, StatsTests.reference(v.values!.map { Double($0) * slope + intercept }), name)
    }

    @Test("lossy variants: every sample decoded, values near the encoded ones",
          arguments: variants.filter { $0.values == nil }.map(\.name))
    func lossy(_ name: String) throws {
        let v = try #require(CodecTests.variants.first { $0.name == name })
        let r = CodecTests.read(v.bytes, name)
        let stats = try #require(r.stats, "\(name): \(r.statsError ?? "")")
        let slope = r.rescaleSlope ?? 1, intercept = r.rescaleIntercept ?? 0
        let want = StatsTests.reference(v.original.map { Double($0) * slope + intercept })
        #expect(stats.count == v.original.count)
        if let near = v.nearBound, !name.contains("signed-") || name.contains("unsigned") {
            // JPEG-LS near-lossless: every sample within NEAR of its original.
            let bound = Double(near) * abs(slope) + 1e-9
            #expect(abs(stats.min - want.min) <= bound && abs(stats.max - want.max) <= bound, "\(name): \(stats) vs \(want)")
            #expect(abs(stats.mean - want.mean) <= bound, "\(name): mean \(stats.mean) vs \(want.mean)")
        } else if v.nearBound != nil {
            // Signed near-lossless: JPEG-LS codes the stored bits as unsigned, so an error of NEAR
            // can carry +2047 across to −2048 (pydicom decodes the same); only the range is certain.
            #expect(stats.min >= want.min - 1e-9 && stats.max <= want.max + 1e-9, "\(name): \(stats)")
        } else {
            let range = want.max - want.min
            #expect(abs(stats.mean - want.mean) <= 0.02 * range, "\(name): mean \(stats.mean) vs \(want.mean)")
            #expect(abs(stats.p50 - want.p50) <= 0.05 * range, "\(name): median \(stats.p50) vs \(want.p50)")
        }
    }

    /// A copy of `bytes` with the first occurrence of `find` replaced by `replace`.
    static func patch(_ bytes: [UInt8], _ find: [UInt8], _ replace: [UInt8]) -> [UInt8] {
        var out = bytes
        for i in 0...(bytes.count - find.count) where Array(bytes[i..<(i + find.count)]) == find {
            out.replaceSubrange(i..<(i + find.count), with: replace)
            return out
        }
        Issue.record("pattern not found")
        return out
    }

    @Test("a codestream claiming a grid other than the DICOM header's is refused before decoding")
    func mismatchedGrid() throws {
        let values = CodecFixtures.pattern(count: 40 * 24, lo: 0, hi: 4095, seed: 3)
        // JPEG 2000: SIZ Xsiz/Ysiz 40×24 → 60000×60000 (a 14 GB image).
        let j2k = try CodecBuilder.jpeg2000(width: 40, height: 24, precision: 12, signed: false, values: values.map { Int32($0) })
        let hugeJ2K = CodecTests.patch(j2k, [0, 0, 0, 40, 0, 0, 0, 24], [0, 0, 0xEA, 0x60, 0, 0, 0xEA, 0x60])
        let a = CodecTests.read(CodecFixtures.dicom(syntax: CodecFixtures.jpeg2000Lossless, frames: [hugeJ2K], columns: 40, rows: 24,
                                                    bitsAllocated: 16, bitsStored: 12, signed: false), "j2k-huge")
        #expect(a.stats == nil)
        #expect(a.statsError?.contains("refused: JPEG 2000 image is 60000×60000 with 1 components; the DICOM header says 40×24") == true,
                "\(a.statsError ?? "")")
        // JPEG-LS: SOF55 height/width 24/40 → 65000/65000.
        let jls = try CodecBuilder.jpegLS(width: 40, height: 24, bits: 12, samples: values.map { UInt16($0) })
        let hugeJLS = CodecTests.patch(jls, [0xFF, 0xF7, 0, 11, 12, 0, 24, 0, 40], [0xFF, 0xF7, 0, 11, 12, 0xFD, 0xE8, 0xFD, 0xE8])
        let b = CodecTests.read(CodecFixtures.dicom(syntax: CodecFixtures.jpegLSLossless, frames: [hugeJLS], columns: 40, rows: 24,
                                                    bitsAllocated: 16, bitsStored: 12, signed: false), "jls-huge")
        #expect(b.statsError?.contains("refused: JPEG-LS frame is 65000×65000 with 1 components") == true, "\(b.statsError ?? "")")
        // Components and precision are checked too.
        let c = CodecTests.read(CodecFixtures.dicom(syntax: CodecFixtures.jpeg2000Lossless, frames: [j2k], columns: 40, rows: 24,
                                                    samplesPerPixel: 3, bitsAllocated: 16, bitsStored: 12, signed: false), "j2k-rgb-claim")
        #expect(c.statsError?.contains("with 1 components; the DICOM header says 40×24 with 3") == true, "\(c.statsError ?? "")")
        let d = CodecTests.read(CodecFixtures.dicom(syntax: CodecFixtures.jpeg2000Lossless, frames: [j2k], columns: 40, rows: 24,
                                                    bitsAllocated: 8, bitsStored: 8, signed: false), "j2k-8bit-claim")
        #expect(d.statsError?.contains("precision 12 bits does not fit Bits Allocated 8") == true, "\(d.statsError ?? "")")
    }

    @Test("a grid the DICOM header and codestream agree on but over maxDecodeBytes is refused before allocation")
    func decodeLimit() throws {
        // 2000×2000 12-bit: 8 MB as uint16, 16 MB of OpenJPEG planes; a blank image codes to a few hundred bytes.
        let w = 2000, h = 2000
        let j2k = try CodecBuilder.jpeg2000(width: w, height: h, precision: 12, signed: false, values: [Int32](repeating: 7, count: w * h))
        let file = CodecFixtures.dicom(syntax: CodecFixtures.jpeg2000Lossless, frames: [j2k], columns: w, rows: h,
                                       bitsAllocated: 16, bitsStored: 12, signed: false)
        #expect(file.count < 4096)
        let limited = CodecTests.read(file, "limit", maxDecodeBytes: 10 << 20)
        #expect(limited.stats == nil)
        #expect(limited.statsError?.contains("16000000 bytes of component planes, over the 10485760-byte limit") == true,
                "\(limited.statsError ?? "")")
        let frameLimited = CodecTests.read(file, "limit", maxDecodeBytes: 4 << 20)
        #expect(frameLimited.statsError?.contains("needs 8000000 bytes, over the 4 MiB decode limit") == true,
                "\(frameLimited.statsError ?? "")")
        let full = CodecTests.read(file, "full")
        #expect(full.stats?.count == w * h && full.stats?.min == 7 && full.stats?.max == 7, "\(full.statsError ?? "")")
    }

    static let damageFixtures = ["jls-8bit-unsigned", "jls-16bit-signed", "jls-rgb-line", "jls-12bit-unsigned-3frames",
                                 "j2k-16bit-signed-53", "j2k-12bit-unsigned-97-ratio6", "j2k-rgb-ybr_rct-53",
                                 "j2k-16bit-signed-53-3frames"]

    /// Where the Pixel Data element starts (its tag), to tell codestream damage from header damage.
    static func pixelDataStart(_ bytes: [UInt8]) -> Int {
        let tag: [UInt8] = [0xE0, 0x7F, 0x10, 0x00, 0x4F, 0x42]
        for i in stride(from: bytes.count - tag.count, through: 0, by: -1) where Array(bytes[i..<(i + tag.count)]) == tag { return i }
        return bytes.count
    }

    static func check(_ r: ImageRecord, _ what: String) -> Bool {
        // Every outcome is a record: an error with an offset, or ok with stats or a stats_error.
        if r.status == .error {
            #expect(r.errorOffset != nil, "\(what): \(r.error ?? "")")
            return false
        }
        #expect(r.stats != nil || (r.statsError?.isEmpty == false), "\(what): ok without stats or stats_error")
        return r.statsError != nil
    }

    @Test("truncation at every byte of the Pixel Data: a record, never a trap", arguments: damageFixtures)
    func truncation(_ name: String) throws {
        let v = try #require(CodecTests.variants.first { $0.name == name })
        let start = CodecTests.pixelDataStart(v.bytes)
        let reader = FileReader(options: ReadOptions(stats: true))
        #expect(reader.read(bytes: v.bytes, path: name).stats != nil)
        // Every byte of the Pixel Data element for small files; every k-th for larger ones (≤ 400 cuts).
        let step = max(1, (v.bytes.count - start) / 400)
        for length in stride(from: start + 1, to: v.bytes.count, by: step) {
            let r = reader.read(bytes: Array(v.bytes.prefix(length)), path: name)
            _ = CodecTests.check(r, "\(name)[..<\(length)]")
            #expect(r.stats == nil, "\(name)[..<\(length)]: a truncated file gave statistics")
        }
    }

    /// Truncates the codestream inside an intact DICOM wrapper: the fragment shrinks, the file stays
    /// well formed, so only the decoder can notice.
    @Test("a codestream cut short inside a well-formed file: stats_error naming the frame", arguments: damageFixtures)
    func shortCodestream(_ name: String) throws {
        let v = try #require(CodecTests.variants.first { $0.name == name })
        let items = try #require(Self.fragments(v.bytes))
        let first = items[0]
        var errors = 0, total = 0
        let step = max(1, first.length / 40)
        for keep in stride(from: 0, to: first.length - 2, by: step) {
            // Rewrite the first fragment's item length, drop the cut bytes (even lengths only).
            let k = keep & ~1
            var damaged = Array(v.bytes[..<(first.offset - 4)])
            damaged += withUnsafeBytes(of: UInt32(k).littleEndian) { Array($0) }
            damaged += v.bytes[first.offset..<(first.offset + k)]
            damaged += v.bytes[(first.offset + first.length)...]
            let r = CodecTests.read(damaged, name)
            total += 1
            if CodecTests.check(r, "\(name) fragment cut to \(k)") {
                errors += 1
                #expect(r.statsError!.contains("frame 1 of") || r.statsError!.contains("fragment"), "\(r.statsError!)")
            }
        }
        // Nearly every cut must be noticed (OpenJPEG may decode a stream cut after its last
        // needed packet, CharLS one cut in the trailing EOI).
        #expect(errors * 10 >= total * 8, "\(name): only \(errors) of \(total) cuts reported")
    }

    /// The encapsulated fragments (after the Basic Offset Table item): offset and length of each.
    static func fragments(_ bytes: [UInt8]) -> [(offset: Int, length: Int)]? {
        var at = pixelDataStart(bytes) + 12
        func u32(_ i: Int) -> Int { Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24 }
        var items: [(Int, Int)] = []
        while at + 8 <= bytes.count, bytes[at] == 0xFE, bytes[at + 1] == 0xFF, bytes[at + 2] == 0x00, bytes[at + 3] == 0xE0 {
            items.append((at + 8, u32(at + 4)))
            at += 8 + u32(at + 4)
        }
        return items.count > 1 ? Array(items.dropFirst()) : nil
    }

    @Test("every codestream byte set to 0x00, 0xFF and flipped: a record, never a trap", arguments: damageFixtures)
    func flips(_ name: String) throws {
        let v = try #require(CodecTests.variants.first { $0.name == name })
        let items = try #require(Self.fragments(v.bytes))
        let reader = FileReader(options: ReadOptions(stats: true))
        var reported = 0
        // Every codestream byte of small files; every k-th byte of larger ones (≤ 500 positions).
        let bytes = items.reduce(0) { $0 + $1.length }
        let step = max(1, bytes / 500)
        for item in items {
            for i in stride(from: item.offset, to: item.offset + item.length, by: step) {
                for value in [UInt8(0), 0xFF, v.bytes[i] ^ 0x80] where value != v.bytes[i] {
                    var damaged = v.bytes
                    damaged[i] = value
                    if CodecTests.check(reader.read(bytes: damaged, path: name), "\(name) byte \(i) = \(value)") { reported += 1 }
                }
            }
        }
        #expect(reported > 0, "\(name): no damage was ever reported")
    }

    @Test("seeded multi-byte damage of the codestream: a record, never a trap", arguments: damageFixtures)
    func randomDamage(_ name: String) throws {
        let v = try #require(CodecTests.variants.first { $0.name == name })
        let items = try #require(Self.fragments(v.bytes))
        var rng = SampleData.Random(seed: UInt64(name.utf8.reduce(11) { $0 &* 31 &+ UInt64($1) }))
        let reader = FileReader(options: ReadOptions(stats: true))
        var reported = 0
        for _ in 0..<300 {
            var damaged = v.bytes
            let item = items[Int(rng.next() % UInt64(items.count))]
            for _ in 0..<(1 + Int(rng.next() % 6)) {
                let at = item.offset + Int(rng.next() % UInt64(item.length))
                switch rng.next() % 3 {
                case 0: damaged[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: for k in 0..<4 where at + k < item.offset + item.length { damaged[at + k] = 0xFF }
                default:  // copy another stretch of the codestream here (same length: the wrapper stays intact)
                    let from = item.offset + Int(rng.next() % UInt64(item.length))
                    let n = min(32, item.offset + item.length - max(at, from))
                    if n > 0 { damaged.replaceSubrange(at..<(at + n), with: v.bytes[from..<(from + n)]) }
                }
            }
            if CodecTests.check(reader.read(bytes: damaged, path: name), "\(name) seeded damage") { reported += 1 }
        }
        #expect(reported > 0, "\(name): no damage was ever reported")
    }
}
