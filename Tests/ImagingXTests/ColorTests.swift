@testable import ImagingXPixels
import ImagingXBytes
import ImagingX
import ImagingXFixtures
import Testing

/// Palette Color, YBR_FULL(_422) and encapsulated frame splitting: tiny images whose RGB
/// values are worked out by hand here, checked through the whole reader (`scan --stats`).
@Suite("Photometric handling and offset tables")
struct ColorTests {
    static func stats(_ bytes: [UInt8], _ what: String) -> ImageRecord {
        let r = FileReader(options: ReadOptions(stats: true)).read(bytes: bytes, path: what)
        #expect(r.status == .ok, "\(what): \(r.error ?? "")")
        return r
    }

    static func expectRGB(_ bytes: [UInt8], _ rgb: [Int], _ what: String) {
        let r = stats(bytes, what)
        #expect(r.statsError == nil, "\(what): \(r.statsError ?? "")")
        StatsTests.expectClose(r.stats, StatsTests.reference(rgb.map(Double.init)), what)
    }

    @Test("8-bit palette: first mapped 2, indices below and above the mapped range clamp")
    func palette8() {
        // Entries 0…3 map stored values 2…5.
        let p = ColorFixtures.Palette.plain(entries: 4, firstMapped: 2, entryBytes: 1) { c, i in
            [[10, 20, 30, 40], [1, 2, 3, 4], [100, 101, 102, 103]][c][i]
        }
        // Stored 0 → entry 0 (below), 2 → 0, 3 → 1, 5 → 3, 9 → 3 (above), 4 → 2.
        let file = ColorFixtures.palette(p, columns: 3, rows: 2, indices: [0, 2, 3, 5, 9, 4])
        let rgb = [10, 1, 100, 10, 1, 100, 20, 2, 101, 40, 4, 103, 40, 4, 103, 30, 3, 102]
        ColorTests.expectRGB(file, rgb, "palette 8-bit")
        // The LUTs read from an implicit-VR dataset and from an inflated (deflated-syntax) one.
        for syntax in [DICOMSyntax.implicitLittle, .deflatedExplicitLittle] {
            ColorTests.expectRGB(ColorFixtures.palette(p, syntax: syntax, columns: 3, rows: 2, indices: [0, 2, 3, 5, 9, 4]), rgb, "\(syntax)")
        }
    }

    @Test("16-bit entries and 16-bit indices; output samples are 16-bit")
    func palette16() {
        let p = ColorFixtures.Palette.plain(entries: 3, firstMapped: 0, entryBytes: 2) { c, i in
            [[1000, 2000, 65535], [0, 1, 2], [7, 7, 7]][c][i]
        }
        let file = ColorFixtures.palette(p, columns: 2, rows: 2, indexBits: 16, indices: [0, 1, 2, 3])
        ColorTests.expectRGB(file, [1000, 0, 7, 2000, 1, 7, 65535, 2, 7, 65535, 2, 7], "palette 16-bit")
    }

    @Test("signed indices with an SS descriptor whose first mapped value is negative")
    func paletteSigned() {
        let p = ColorFixtures.Palette.plain(entries: 3, firstMapped: -1, entryBytes: 2, signedDescriptor: true) { c, i in 10 * i + c }
        // −5 → entry 0, −1 → 0, 0 → 1, 1 → 2, 300 → 2.
        let file = ColorFixtures.palette(p, columns: 5, rows: 1, indexBits: 16, signed: true, indices: [-5, -1, 0, 1, 300])
        ColorTests.expectRGB(file, [0, 1, 2, 0, 1, 2, 10, 11, 12, 20, 21, 22, 20, 21, 22], "palette signed")
        // Implicit VR: the descriptor's VR is US or SS by Pixel Representation (1 here: signed).
        let implicit = ColorFixtures.palette(p, syntax: .implicitLittle, columns: 5, rows: 1, indexBits: 16, signed: true,
                                             indices: [-5, -1, 0, 1, 300])
        ColorTests.expectRGB(implicit, [0, 1, 2, 0, 1, 2, 10, 11, 12, 20, 21, 22, 20, 21, 22], "palette signed implicit")
    }

    @Test("segmented LUTs: discrete, linear (rounded half to even), indirect")
    func segmented() {
        let p = ColorFixtures.Palette.segmented(entries: 8, firstMapped: 0, bits: 16, [
            // [10, 20] · line to 50 over 3: 30, 40, 50 · copy segment 1: 10, 20 · line to 0 over 1: 0
            [0, 2, 10, 20, 1, 3, 50, 2, 1, 0, 0, 1, 1, 0],
            // [0] · line to 5 over 2: 2.5 → 2 (half to even), 5 · [1, 2, 3, 4, 5]
            [0, 1, 0, 1, 2, 5, 0, 5, 1, 2, 3, 4, 5],
            [0, 8, 0, 3, 6, 9, 12, 15, 18, 21],
        ])
        let file = ColorFixtures.palette(p, columns: 8, rows: 1, indices: Array(0..<8))
        let red = [10, 20, 30, 40, 50, 10, 20, 0], green = [0, 2, 5, 1, 2, 3, 4, 5], blue = [0, 3, 6, 9, 12, 15, 18, 21]
        ColorTests.expectRGB(file, (0..<8).flatMap { [red[$0], green[$0], blue[$0]] }, "segmented")
    }

    @Test("indirect segment: a byte offset into 16-bit data; bad segments are errors with offsets")
    func segmentedDirect() throws {
        // Words: [0, 2, 7, 9] [2, 1, 0, 0] — byte offset 0 copies the discrete segment.
        var lut: [Int] = []
        _ = try PaletteLUT.expand([0, 2, 7, 9, 2, 1, 0, 0], from: 0, segments: nil, width: 2, bigEndian: false, base: 100, depth: 0, into: &lut)
        #expect(lut == [7, 9, 7, 9])
        // Byte offset 6 = word 3: the indirect segment itself, which would copy itself forever.
        var loop: [Int] = []
        #expect(throws: ParseError.self) {
            _ = try PaletteLUT.expand([0, 1, 5, 2, 1, 6, 0], from: 0, segments: nil, width: 2, bigEndian: false, base: 0, depth: 0, into: &loop)
        }
        for bad in [[1, 2, 5], [2, 1, 0, 0], [0, 9, 1], [7, 1, 1]] {
            var out: [Int] = []
            #expect(throws: ParseError.self, "\(bad)") {
                _ = try PaletteLUT.expand(bad, from: 0, segments: nil, width: 2, bigEndian: false, base: 0, depth: 0, into: &out)
            }
        }
    }

    @Test("palette without LUT data or with the wrong LUT length: stats_error, header ok")
    func paletteErrors() {
        var p = ColorFixtures.Palette.plain(entries: 4, firstMapped: 0, entryBytes: 1) { _, i in i }
        p.data[1] = [1, 2, 3]  // 3 bytes (padded to 4 by the builder) for 4 entries: 8-bit, fine
        #expect(ColorTests.stats(ColorFixtures.palette(p, columns: 2, rows: 1, indices: [0, 3]), "ok").statsError == nil)
        p.data[1] = [1, 2, 3, 4, 5, 6]  // 6 bytes for 4 entries
        let r = ColorTests.stats(ColorFixtures.palette(p, columns: 2, rows: 1, indices: [0, 3]), "bad length")
        #expect(r.stats == nil && r.statsError?.contains("Green Palette Color Lookup Table Data holds 6 bytes") == true, "\(r.statsError ?? "")")
        #expect(r.statsError?.contains("at byte") == true)
        let none = ColorFixtures.image(photometric: "PALETTE COLOR", columns: 2, rows: 1,
                                       pixelData: DICOMElement(0x7FE0_0010, "OB", .bytes([0, 1])))
        let n = ColorTests.stats(none, "no LUT")
        #expect(n.stats == nil && n.statsError?.contains("Descriptor") == true, "\(n.statsError ?? "")")
    }

    @Test("YBR_FULL → RGB by hand: grey, saturated red, clipping, and a value that floors to 0")
    func ybrFull() {
        // (Y, Cb, Cr) → (R, G, B): R = Y + 1.402 (Cr − 128); G = Y − 0.3441 (Cb − 128) − 0.7141 (Cr − 128);
        // B = Y + 1.772 (Cb − 128); floor(x + 0.5), clipped to 0…255.
        let ybr = [128, 128, 128, 0, 0, 255, 255, 255, 0, 76, 85, 255]
        let rgb = [128, 128, 128, 178, 0, 0, 76, 255, 255, 254, 0, 0]
        let interleaved = ColorFixtures.image(photometric: "YBR_FULL", columns: 2, rows: 2, samples: 3, planar: 0,
                                              pixelData: DICOMElement(0x7FE0_0010, "OB", .bytes(ybr.map(UInt8.init))))
        ColorTests.expectRGB(interleaved, rgb, "YBR_FULL")
        let planes = (0..<3).flatMap { c in (0..<4).map { UInt8(ybr[3 * $0 + c]) } }
        let planar = ColorFixtures.image(photometric: "YBR_FULL", columns: 2, rows: 2, samples: 3, planar: 1,
                                         pixelData: DICOMElement(0x7FE0_0010, "OB", .bytes(planes)))
        ColorTests.expectRGB(planar, rgb, "YBR_FULL planar")
        let rle = ColorFixtures.encapsulated(syntax: "1.2.840.10008.1.2.5", photometric: "YBR_FULL", columns: 2, rows: 2, frames: 1,
                                             samples: 3, pixel: ColorFixtures.encapsulate(
                                                ColorFixtures.rleFrames(frames: 1, pixels: 4, samples: 3, bytesPerSample: 1, values: ybr), .plain))
        ColorTests.expectRGB(rle, rgb, "YBR_FULL RLE")
        // 16-bit or signed YBR has no defined conversion: pydicom raises, we give stats_error.
        for (bits, signed) in [(16, false), (8, true)] {
            let file = ColorFixtures.image(photometric: "YBR_FULL", columns: 2, rows: 2, samples: 3, bits: bits, signed: signed,
                                           planar: 0, pixelData: DICOMElement(0x7FE0_0010, "OB", .bytes([UInt8](repeating: 1, count: 12 * bits / 8))))
            let r = ColorTests.stats(file, "YBR \(bits) \(signed)")
            #expect(r.stats == nil && r.statsError?.contains("unsigned 8-bit samples only") == true, "\(r.statsError ?? "")")
        }
    }

    @Test("YBR_FULL_422 native: Y1 Y2 Cb Cr per pair, chroma repeated, then converted")
    func ybr422() {
        // Pair 1: Y 0 and 255 with Cb = Cr = 128 → black, white. Pair 2: Y 0 and 76 with Cb 85, Cr 255:
        // Y 0 → R 127 × 1.402 = 178.05 → 178; G 14.80 − 90.69 < 0 → 0; B −43 × 1.772 < 0 → 0;
        // Y 76 → R 254.05 → 254; G 0.10 → 0; B −0.20 → 0.
        let stored: [UInt8] = [0, 255, 128, 128, 0, 76, 85, 255]
        let file = ColorFixtures.image(photometric: "YBR_FULL_422", columns: 2, rows: 2, samples: 3, planar: 0,
                                       pixelData: DICOMElement(0x7FE0_0010, "OB", .bytes(stored)))
        ColorTests.expectRGB(file, [0, 0, 0, 255, 255, 255, 178, 0, 0, 254, 0, 0], "YBR_FULL_422")
        let odd = ColorFixtures.image(photometric: "YBR_FULL_422", columns: 3, rows: 2, samples: 3, planar: 0,
                                      pixelData: DICOMElement(0x7FE0_0010, "OB", .bytes([UInt8](repeating: 9, count: 12))))
        #expect(ColorTests.stats(odd, "odd").statsError?.contains("odd number of columns") == true)
    }

    @Test("YBR_FULL → RGB equals pydicom 3.0.2 on all 2^24 inputs (digest computed with numpy)")
    func ybrExhaustive() {
        // For i over y (outer), cb, cr (inner) and each of R, G, B: Σ v·(i+1) and Σ v·i² mod 2^64,
        // computed by pydicom's _convert_YBR_FULL_to_RGB on the same 2^24 × 3 values.
        // Through the frame converter the reader uses, one Y value (65,536 pixels) at a time.
        let color = FrameColor(transform: .ybrFull(subsampled: false, planar: false), input: SampleLayout(kind: .uint8),
                               output: SampleLayout(kind: .uint8), pixels: 65536, storedFrameBytes: 3 * 65536)
        var frame = [UInt8](repeating: 0, count: 3 * 65536), out = frame
        var s0: UInt64 = 0, s1: UInt64 = 0, s2: UInt64 = 0
        var i: UInt64 = 0
        for y in 0..<256 {
            for k in 0..<65536 {
                frame[3 * k] = UInt8(y); frame[3 * k + 1] = UInt8(k >> 8); frame[3 * k + 2] = UInt8(k & 0xFF)
            }
            frame.withUnsafeBytes { f in out.withUnsafeMutableBytes { o in color.convert(f, into: o) } }
            for v in out {
                let x = UInt64(v)
                s0 &+= x; s1 &+= x &* (i &+ 1); s2 &+= x &* (i &* i)
                i &+= 1
            }
            // The single-pixel form agrees with the frame converter.
            let probe = FrameColor.rgb(y: UInt8(y), cb: UInt8(y / 2), cr: UInt8(255 - y))
            let k = (y / 2) << 8 | (255 - y)
            #expect(probe == (out[3 * k], out[3 * k + 1], out[3 * k + 2]))
        }
        #expect(s0 == 6_408_585_059 && s1 == 199_424_419_184_129_549 && s2 == 6_251_402_166_353_955_872)
    }

    /// Three RLE frames of 16-bit samples, laid out in items several ways.
    static let rleFrames = ColorFixtures.rleFrames(frames: 3, pixels: 12, samples: 1, bytesPerSample: 2,
                                                   values: (0..<36).map { ($0 * 1777) & 0xFFFF })
    static func rleImage(_ pixel: [DICOMElement]) -> [UInt8] {
        ColorFixtures.encapsulated(syntax: "1.2.840.10008.1.2.5", photometric: "MONOCHROME2", columns: 4, rows: 3, frames: 3,
                                   samples: 1, bits: 16, pixel: pixel)
    }

    @Test("frames over several fragments with a Basic Offset Table, and with an Extended Offset Table")
    func offsetTables() {
        let want = StatsTests.reference((0..<36).map { Double(($0 * 1777) & 0xFFFF) })
        for (name, layout) in [("plain", ColorFixtures.Layout.plain), ("bot", .split(pieces: 3, basicOffsetTable: true)),
                               ("eot", .extended)] {
            let r = ColorTests.stats(ColorTests.rleImage(ColorFixtures.encapsulate(ColorTests.rleFrames, layout)), name)
            #expect(r.statsError == nil, "\(name): \(r.statsError ?? "")")
            StatsTests.expectClose(r.stats, want, name)
        }
        // Without a table, three RLE fragments per frame cannot be split (no codestream markers).
        let none = ColorTests.stats(ColorTests.rleImage(ColorFixtures.encapsulate(ColorTests.rleFrames, .split(pieces: 3, basicOffsetTable: false))), "none")
        #expect(none.statsError?.contains("cannot be split into 3 frames") == true, "\(none.statsError ?? "")")
    }

    @Test("inconsistent offset tables are errors naming the entry's offset")
    func badTables() {
        // A Basic Offset Table whose second entry points inside a fragment.
        var elements = ColorFixtures.encapsulate(ColorTests.rleFrames, .plain)
        let lengths = ColorTests.rleFrames.map(\.count)
        let offsets = [0, 8 + lengths[0] + 2, 16 + lengths[0] + lengths[1]]
        elements[0] = DICOMElement(0x7FE0_0010, "OB", .fragments(offsetTable: offsets.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } },
                                                                 ColorTests.rleFrames))
        let bot = ColorTests.stats(ColorTests.rleImage(elements), "bad BOT")
        #expect(bot.stats == nil && bot.statsError?.contains("Basic Offset Table entry 2") == true && bot.statsError?.contains("at byte") == true,
                "\(bot.statsError ?? "")")
        // An Extended Offset Table with a length longer than its fragment, and one with too few entries.
        var eot = ColorFixtures.encapsulate(ColorTests.rleFrames, .extended)
        let u64 = { (v: [Int]) in v.flatMap { x in (0..<8).map { UInt8(truncatingIfNeeded: x >> (8 * $0)) } } }
        eot[1] = DICOMElement(0x7FE0_0002, "OV", .bytes(u64([lengths[0], lengths[1] + 2, lengths[2]])))
        let long = ColorTests.stats(ColorTests.rleImage(eot), "long EOT length")
        #expect(long.statsError?.contains("Extended Offset Table Lengths entry 2") == true, "\(long.statsError ?? "")")
        eot = ColorFixtures.encapsulate(ColorTests.rleFrames, .extended)
        eot[0] = DICOMElement(0x7FE0_0001, "OV", .bytes(u64([0, 8 + lengths[0]])))
        let short = ColorTests.stats(ColorTests.rleImage(eot), "short EOT")
        #expect(short.statsError?.contains("Extended Offset Table holds 16 bytes") == true, "\(short.statsError ?? "")")
        eot = ColorFixtures.encapsulate(ColorTests.rleFrames, .extended)
        eot[0] = DICOMElement(0x7FE0_0001, "OV", .bytes(u64([0, 8 + lengths[0] + 4, 16 + lengths[0] + lengths[1]])))
        let off = ColorTests.stats(ColorTests.rleImage(eot), "EOT off a fragment")
        #expect(off.statsError?.contains("Extended Offset Table entry 2") == true, "\(off.statsError ?? "")")
    }

    @Test("zero, negative or missing spacing never blocks statistics")
    func geometryDoesNotBlock() throws {
        for (name, bytes) in try ColorFixtures.corpus() where name.hasPrefix("spacing-") {
            let r = ColorTests.stats(bytes, name)
            #expect(r.stats != nil && r.statsError == nil, "\(name): \(r.statsError ?? "")")
        }
        let zero = ColorTests.stats(try ColorFixtures.corpus().first { $0.0 == "spacing-zero.dcm" }!.1, "zero")
        #expect(zero.findings.contains { $0.code == .spacingNonpositive && $0.level == .error })
        // The rule: no geometric code blocks; pixel-grid codes do.
        #expect(!FindingCode.spacingNonpositive.blocksPixelStatistics && !FindingCode.pixdimNonpositive.blocksPixelStatistics)
        #expect(FindingCode.bitsAllocatedMissing.blocksPixelStatistics)
    }

    // MARK: damage sweeps

    static let damaged: [CorruptionTests.Fixture] = {
        let corpus = try! ColorFixtures.corpus()
        let small = ColorFixtures.Palette.plain(entries: 6, firstMapped: 1, entryBytes: 2) { c, i in 1000 * i + c }
        let seg = ColorFixtures.Palette.segmented(entries: 8, firstMapped: 0, bits: 16, (0..<3).map { _ in
            [0, 2, 10, 20, 1, 3, 50, 2, 1, 0, 0, 1, 1, 0]
        })
        return [
            CorruptionTests.Fixture(name: "palette-16", bytes: ColorFixtures.palette(small, columns: 3, rows: 2, indices: [0, 1, 2, 3, 4, 9])),
            CorruptionTests.Fixture(name: "palette-segmented", bytes: ColorFixtures.palette(seg, columns: 4, rows: 2, indices: Array(0..<8))),
            CorruptionTests.Fixture(name: "rle-bot", bytes: rleImage(ColorFixtures.encapsulate(rleFrames, .split(pieces: 2, basicOffsetTable: true)))),
            CorruptionTests.Fixture(name: "rle-eot", bytes: rleImage(ColorFixtures.encapsulate(rleFrames, .extended))),
            CorruptionTests.Fixture(name: "ybr-422", bytes: corpus.first { $0.0 == "ybr-full-422.dcm" }!.1),
        ]
    }()

    @Test("LUT and offset-table damage: every prefix and every byte flipped gives a record, errors with offsets", arguments: damaged)
    func sweep(_ f: CorruptionTests.Fixture) {
        let reader = FileReader(options: ReadOptions(stats: true))
        let intact = reader.read(bytes: f.bytes, path: f.name)
        #expect(intact.status == .ok && intact.stats != nil, "\(f.name): \(intact.error ?? "") \(intact.statsError ?? "")")
        for length in 0..<f.bytes.count {
            let r = reader.read(bytes: Array(f.bytes.prefix(length)), path: f.name)
            if r.status == .error { #expect(CorruptionTests.offset(r) != nil, "\(f.name)[..<\(length)]: \(r.error ?? "")") }
            // A cut file never yields statistics: the pixels or the LUTs are incomplete.
            #expect(r.stats == nil, "\(f.name)[..<\(length)]: stats from a prefix")
        }
        for i in 0..<f.bytes.count {
            for value in [UInt8(0), 0xFF, f.bytes[i] ^ 0x80, f.bytes[i] &+ 1] {
                var damaged = f.bytes
                damaged[i] = value
                let r = reader.read(bytes: damaged, path: f.name)
                if r.status == .error { #expect(CorruptionTests.offset(r) != nil, "\(f.name) byte \(i) = \(value): \(r.error ?? "")") }
                if let e = r.statsError, e.contains("at byte") {
                    // A stats error with an offset points inside the file.
                    let tail = e.split(separator: " ").last.flatMap { Int($0) }
                    #expect(tail.map { $0 >= 0 && $0 <= damaged.count } ?? true, "\(f.name) byte \(i): \(e)")
                }
            }
        }
    }
}
