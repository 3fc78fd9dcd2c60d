import Foundation
import ImagingX
import ImagingXFixtures
import Testing

/// `scan --stats`: every path checked against a reference computed here by sorting (numpy's
/// linear percentile, population std), on data built to exercise masking, sign extension,
/// byte order, rescale (negative slopes too), NaN/Inf and ties.
@Suite("Pixel statistics")
struct StatsTests {
    /// numpy: sorted values, rank (n − 1)·q/100, `_lerp`.
    static func reference(_ values: [Double]) -> PixelStats {
        var s = PixelStats()
        let finite = values.filter(\.isFinite).sorted()
        s.nanCount = values.filter(\.isNaN).count
        s.infCount = values.filter(\.isInfinite).count
        s.count = finite.count
        guard !finite.isEmpty else { return s }
        s.min = finite.first!
        s.max = finite.last!
        s.mean = finite.reduce(0, +) / Double(finite.count)
        s.std = (finite.reduce(0) { $0 + ($1 - s.mean) * ($1 - s.mean) } / Double(finite.count)).squareRoot()
        func p(_ q: Double) -> Double {
            let h = (q / 100) * Double(finite.count - 1)
            let i = Int(h.rounded(.down)), j = min(i + 1, finite.count - 1), t = h - Double(i)
            let a = finite[i], b = finite[j], d = b - a
            return t >= 0.5 ? b - d * (1 - t) : a + d * t
        }
        s.p00_5 = p(0.5)
        s.p50 = p(50)
        s.p99_5 = p(99.5)
        return s
    }

    static func expectClose(_ got: PixelStats?, _ want: PixelStats, _ what: String) {
        guard let got else { Issue.record("\(what): no stats"); return }
        #expect(got.count == want.count && got.nanCount == want.nanCount && got.infCount == want.infCount, "\(what): counts \(got) vs \(want)")
        let scale = max(1, abs(want.min), abs(want.max))
        for (name, a, b) in [("min", got.min, want.min), ("max", got.max, want.max), ("p00_5", got.p00_5, want.p00_5),
                             ("p50", got.p50, want.p50), ("p99_5", got.p99_5, want.p99_5)] {
            #expect(abs(a - b) <= 1e-12 * scale, "\(what): \(name) \(a) vs \(b)")
        }
        #expect(abs(got.mean - want.mean) <= 1e-9 * scale, "\(what): mean \(got.mean) vs \(want.mean)")
        #expect(abs(got.std - want.std) <= 1e-9 * scale, "\(what): std \(got.std) vs \(want.std)")
    }

    static func le<T: FixedWidthInteger>(_ values: [T], bigEndian: Bool = false) -> [UInt8] {
        values.flatMap { v -> [UInt8] in
            let x = bigEndian ? v.bigEndian : v.littleEndian
            return withUnsafeBytes(of: x) { Array($0) }
        }
    }

    @Test("float32 NIfTI with NaN, ±Inf and ties: exact order statistics", arguments: [false, true])
    func floatNIfTI(bigEndian: Bool) {
        var rng = SampleData.Random(seed: 11)
        var values: [Float] = (0..<6000).map { _ in Float(Double(rng.next() % 100_000) / 7.0 - 3000) }
        for i in stride(from: 0, to: 6000, by: 97) { values[i] = .nan }
        values[5] = .infinity
        values[6] = -.infinity
        for i in 100..<400 { values[i] = 12.5 }  // a run of one value
        var b = NIfTIBuilder(.nifti1, bigEndian: bigEndian)
        b.setGrid(dims: [20, 30, 10], pixdim: [1, 1, 1], datatype: 16, bitpix: 32)
        b.set("scl_slope", [-2])
        b.set("scl_inter", [5])
        let data = StatsTests.le(values.map(\.bitPattern), bigEndian: bigEndian)
        let r = FileReader(options: ReadOptions(stats: true)).read(bytes: b.singleFile(data: data), path: "f.nii")
        #expect(r.status == .ok)
        StatsTests.expectClose(r.stats, StatsTests.reference(values.map { Double($0) * -2 + 5 }), "float32")
    }

    @Test("int16 and uint8 NIfTI, plain and gzip, scaled by scl_slope")
    func integerNIfTI() {
        var rng = SampleData.Random(seed: 3)
        let ints: [Int16] = (0..<4096).map { _ in Int16(truncatingIfNeeded: Int(rng.next() % 4000) - 1024) }
        var b = NIfTIBuilder(.nifti1)
        b.setGrid(dims: [16, 16, 16], pixdim: [1, 1, 1], datatype: 4, bitpix: 16)
        b.set("scl_slope", [0.5])
        b.set("scl_inter", [-10])
        let file = b.singleFile(data: StatsTests.le(ints))
        let want = StatsTests.reference(ints.map { Double($0) * 0.5 - 10 })
        let reader = FileReader(options: ReadOptions(stats: true))
        StatsTests.expectClose(reader.read(bytes: file, path: "a.nii").stats, want, "int16")
        StatsTests.expectClose(reader.read(bytes: Compression.gzip(file), path: "a.nii.gz").stats, want, "int16 gz")

        let bytes: [UInt8] = (0..<999).map { _ in UInt8(truncatingIfNeeded: rng.next() % 7) }
        var u = NIfTIBuilder(.nifti1)
        u.setGrid(dims: [999], pixdim: [1], datatype: 2, bitpix: 8)
        StatsTests.expectClose(reader.read(bytes: u.singleFile(data: bytes), path: "u.nii").stats,
                               StatsTests.reference(bytes.map { Double($0) }), "uint8")
    }

    @Test("DICOM BitsStored 12 of 16, signed: high bits masked, sign extended, then rescaled")
    func dicomMasking() {
        var rng = SampleData.Random(seed: 5)
        var spec = CTSliceSpec()
        spec.columns = 32
        spec.rows = 16
        spec.rescaleSlope = 2
        spec.rescaleIntercept = -1024
        // Garbage in the 4 unused high bits (an overlay, say) must not change a value.
        let raw: [Int16] = (0..<512).map { _ in Int16(bitPattern: UInt16(truncatingIfNeeded: rng.next())) }
        let file = DICOMBuilder(syntax: .explicitLittle, elements: spec.elements(pixels: raw)).encode()
        let values = raw.map { r -> Double in
            var v = Int(UInt16(bitPattern: r) & 0x0FFF)
            if v & 0x800 != 0 { v -= 4096 }
            return Double(v) * 2 - 1024
        }
        let r = FileReader(options: ReadOptions(stats: true)).read(bytes: file, path: "ct.dcm")
        #expect(r.status == .ok && r.statsError == nil, "\(r.statsError ?? "")")
        StatsTests.expectClose(r.stats, StatsTests.reference(values), "bits stored 12")
    }

    @Test("a header-only or truncated image gets stats_error, never a trap")
    func statsErrors() {
        let reader = FileReader(options: ReadOptions(stats: true))
        var b = NIfTIBuilder(.nifti1)
        b.setGrid(dims: [4, 4], pixdim: [1, 1], datatype: 32, bitpix: 64)
        let complex = reader.read(bytes: b.singleFile(data: [UInt8](repeating: 0, count: 128)), path: "c.nii")
        #expect(complex.status == .ok && complex.stats == nil && complex.statsError?.contains("complex") == true)
        // gzip whose ISIZE claims the full data but whose stream is cut: the header record is
        // an error-free read of 540 bytes; the voxel stream fails with an offset.
        var g = NIfTIBuilder(.nifti1)
        g.setGrid(dims: [64, 64], pixdim: [1, 1], datatype: 4, bitpix: 16)
        var gz = Compression.gzip(g.singleFile(data: [UInt8](repeating: 9, count: 8192)))
        let trailer = Array(gz.suffix(8))
        gz = Array(gz.prefix(gz.count / 2)) + trailer
        let cut = reader.read(bytes: gz, path: "cut.nii.gz")
        #expect(cut.stats == nil)
        #expect(cut.statsError != nil || cut.status == .error, "\(cut)")
    }
}

@Suite("Encapsulated pixel data")
struct EncapsulatedStatsTests {
    @Test("RLE Lossless, 16-bit signed, multi-frame: decoded values match the stored ones")
    func rle16() {
        var rng = SampleData.Random(seed: 21)
        let values: [Int16] = (0..<(3 * 12 * 10)).map { i in i % 7 == 0 ? -1024 : Int16(truncatingIfNeeded: Int(rng.next() % 3000) - 1000) }
        let file = DICOMFixtures.rle(frames: 3, columns: 12, rows: 10, signed: true,
                                     samples: values.map { UInt32(UInt16(bitPattern: $0)) })
        let r = FileReader(options: ReadOptions(stats: true)).read(bytes: file, path: "rle.dcm")
        #expect(r.status == .ok && r.statsError == nil, "\(r.error ?? "") \(r.statsError ?? "")")
        StatsTests.expectClose(r.stats, StatsTests.reference(values.map(Double.init)), "RLE int16")
    }

    @Test("RLE Lossless, 8-bit RGB: three samples per pixel pooled")
    func rleRGB() {
        var rng = SampleData.Random(seed: 22)
        let values: [UInt32] = (0..<(9 * 7 * 3)).map { _ in UInt32(rng.next() % 4) * 60 }
        let file = DICOMFixtures.rle(frames: 1, columns: 9, rows: 7, samplesPerPixel: 3, bitsAllocated: 8, samples: values)
        let r = FileReader(options: ReadOptions(stats: true)).read(bytes: file, path: "rle-rgb.dcm")
        StatsTests.expectClose(r.stats, StatsTests.reference(values.map(Double.init)), "RLE RGB")
    }

    @Test("a damaged RLE segment table or a missing fragment gives stats_error with an offset")
    func rleDamage() {
        let good = DICOMFixtures.rle(frames: 2, columns: 8, rows: 8, samples: (0..<128).map { UInt32($0 * 300) })
        let reader = FileReader(options: ReadOptions(stats: true))
        #expect(reader.read(bytes: good, path: "rle.dcm").stats != nil)
        // The segment count of the first frame's RLE header: claim 15 segments.
        let header = Array("\u{2}\0\0\0".utf8)  // 2 segments, little-endian
        guard let at = (0..<(good.count - 4)).first(where: { Array(good[$0..<($0 + 4)]) == header && good[$0 + 4] == 64 }) else {
            Issue.record("RLE header not found")
            return
        }
        var bad = good
        bad[at] = 15
        let r = reader.read(bytes: bad, path: "rle-bad.dcm")
        #expect(r.status == .ok && r.stats == nil && r.statsError?.contains("segments") == true && r.statsError?.contains("at byte") == true,
                "\(r.statsError ?? "")")
    }
}

/// Values at the ends of the float range: binning must neither trap nor allocate for the width.
@Suite("Extreme float ranges")
struct ExtremeRangeTests {
    static func nifti(_ values: [Double], float64: Bool) -> [UInt8] {
        var b = NIfTIBuilder(.nifti1)
        b.setGrid(dims: [values.count, 1, 1], pixdim: [1, 1, 1], datatype: float64 ? 64 : 16, bitpix: float64 ? 64 : 32)
        let data = values.flatMap { v in
            float64 ? withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) }
                    : withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { Array($0) }
        }
        return b.singleFile(data: data)
    }

    @Test("scan --stats on float64 values near ±1.8e308 and float32 near ±3.4e38 (a fuzzer-found trap)")
    func scanStats() throws {
        let huge = Double.greatestFiniteMagnitude
        for (values, wide) in [([-huge, huge, 0, 1], true), ([-3.4e38, 3.4e38, 1e20, 1e20 + 1e13], false)] {
            let r = FileReader(options: ReadOptions(stats: true)).read(bytes: Self.nifti(values, float64: wide), path: "x.nii")
            let s = try #require(r.stats, "\(r.statsError ?? "")")
            let stored = wide ? values : values.map { Double(Float($0)) }
            #expect(s.count == 4 && s.min == stored.min() && s.max == stored.max())
            let sorted = stored.sorted()
            #expect(s.p50 == sorted[1] / 2 + sorted[2] / 2, "numpy's linear median of the middle pair")
        }
    }

    @Test("fingerprint accumulators: a huge range, and a tiny spread far from zero, never trap")
    func accumulators() throws {
        let root = try temporaryDirectory("extreme").path
        try FileManager.default.createDirectory(atPath: root + "/imagesTr", withIntermediateDirectories: true)
        let cases: [[Double]] = [[-3.4e38, 3.4e38, 1, 2], [1e20, 1e20 + 1e13, 1e20 + 2e13, 1e20 + 3e13]]
        for (i, v) in cases.enumerated() {
            try Data(Self.nifti(v, float64: false)).write(to: URL(fileURLWithPath: root + "/imagesTr/case_00\(i)_0000.nii"))
        }
        let (_, summaries) = Fingerprinter.summarizeFolder(root, jobs: 1)
        #expect(summaries.count == 2 && summaries.allSatisfy { $0.error == nil }, "\(summaries.map { $0.error ?? "" })")
        for (s, v) in zip(summaries.sorted { $0.id < $1.id }, cases) {
            let acc = try #require(s.intensity.first)
            #expect(acc.count == 4 && acc.pixelStats.min == Double(Float(v.min()!)) && acc.pixelStats.max == Double(Float(v.max()!)))
        }
    }
}
