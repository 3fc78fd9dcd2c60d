import Foundation

/// A small JPEG Lossless (ITU-T T.81 process 14, Annex H) encoder for fixtures: SOF3 with
/// precision 2–16, 1–4 components in one interleaved scan or one scan per component, predictors
/// 1–7, point transform, restart intervals, fixed or optimal (Annex K.2) Huffman tables, and
/// optional fill bytes before markers. Test data only: it favours clarity over speed.
public struct LosslessJPEGEncoder: Sendable {
    public var precision: Int
    public var predictor = 1
    public var pointTransform = 0
    /// Restart interval in MCUs (0: none); a whole number of lines for a decodable stream.
    public var restartInterval = 0
    /// One scan holding every component (false: one scan per component).
    public var interleaved = true
    /// Huffman tables built from the data's statistics (one per component); else one fixed table.
    public var optimalHuffman = false
    /// 0xFF fill bytes written before each RSTn and the EOI marker (T.81 B.1.1.2).
    public var fillBytes = 0

    public init(precision: Int, predictor: Int = 1, pointTransform: Int = 0, restartInterval: Int = 0,
                interleaved: Bool = true, optimalHuffman: Bool = false, fillBytes: Int = 0) {
        self.precision = precision
        self.predictor = predictor
        self.pointTransform = pointTransform
        self.restartInterval = restartInterval
        self.interleaved = interleaved
        self.optimalHuffman = optimalHuffman
        self.fillBytes = fillBytes
    }

    /// The fixed table: code lengths for SSSS 0…16 (2, 3×5, then 4…14), no all-ones code.
    static let fixedCounts: [UInt8] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]

    /// Encodes `samples` (pixel-interleaved: row, column, component; values below 2^precision).
    public func encode(_ samples: [UInt16], columns: Int, rows: Int, components: Int) -> [UInt8] {
        precondition((2...16).contains(precision) && (1...7).contains(predictor) && pointTransform < precision)
        precondition(samples.count == columns * rows * components && (1...4).contains(components))
        let reduced = samples.map { Int($0) >> pointTransform }
        let scans: [[Int]] = interleaved ? [Array(0..<components)] : (0..<components).map { [$0] }
        // Differences per scan, in coding order, with the MCU index where each restart interval starts.
        var scanDiffs: [[(component: Int, diff: Int)]] = []
        for scan in scans { scanDiffs.append(differences(reduced, columns: columns, rows: rows, nf: components, scan: scan)) }
        // Huffman tables: fixed (table 0 for all) or optimal (table = component).
        var tables: [(counts: [UInt8], values: [UInt8])] = []
        if optimalHuffman {
            for c in 0..<components {
                var freq = [Int](repeating: 0, count: 17)
                for s in scanDiffs { for d in s where d.component == c { freq[Self.ssss(d.diff)] += 1 } }
                tables.append(Self.optimalTable(freq))
            }
        } else {
            tables.append((Self.fixedCounts, Array(0...16)))
        }
        let codes: [[(code: Int, length: Int)]] = tables.map { Self.codes($0.counts, $0.values) }

        var out: [UInt8] = [0xFF, 0xD8]
        func segment(_ marker: UInt8, _ body: [UInt8]) {
            out += [0xFF, marker, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xFF)]
            out += body
        }
        var sof: [UInt8] = [UInt8(precision), UInt8(rows >> 8), UInt8(rows & 0xFF), UInt8(columns >> 8), UInt8(columns & 0xFF), UInt8(components)]
        for c in 0..<components { sof += [UInt8(c + 1), 0x11, 0] }
        segment(0xC3, sof)
        var dht: [UInt8] = []
        for (i, t) in tables.enumerated() { dht += [UInt8(i)] + t.counts + t.values }
        segment(0xC4, dht)
        if restartInterval > 0 { segment(0xDD, [UInt8(restartInterval >> 8), UInt8(restartInterval & 0xFF)]) }
        for (si, scan) in scans.enumerated() {
            var sos: [UInt8] = [UInt8(scan.count)]
            for c in scan { sos += [UInt8(c + 1), UInt8((optimalHuffman ? c : 0) << 4)] }
            sos += [UInt8(predictor), 0, UInt8(pointTransform)]
            segment(0xDA, sos)
            var writer = BitWriter()
            let perMCU = scan.count
            var restart = 0
            for (i, d) in scanDiffs[si].enumerated() {
                let mcu = i / perMCU
                if restartInterval > 0, i % perMCU == 0, mcu > 0, mcu % restartInterval == 0 {
                    out += writer.finish()
                    writer = BitWriter()
                    out += [UInt8](repeating: 0xFF, count: fillBytes) + [0xFF, 0xD0 + UInt8(restart)]
                    restart = (restart + 1) & 7
                }
                let s = Self.ssss(d.diff)
                let code = codes[optimalHuffman ? d.component : 0][s]
                writer.put(code.code, code.length)
                if s > 0 && s < 16 {
                    writer.put(d.diff > 0 ? d.diff : d.diff - 1, s)
                }
            }
            out += writer.finish()
        }
        out += [UInt8](repeating: 0xFF, count: fillBytes) + [0xFF, 0xD9]
        return out
    }

    /// The differences of one scan in coding order (T.81 H.1.2.1 prediction, H.1.2.2 modulo 2^16).
    func differences(_ x: [Int], columns: Int, rows: Int, nf: Int, scan: [Int]) -> [(component: Int, diff: Int)] {
        var result: [(component: Int, diff: Int)] = []
        result.reserveCapacity(columns * rows * scan.count)
        let initial = 1 << (precision - pointTransform - 1)
        let stride = columns * nf
        var mcu = 0
        var restartStart = 0              // MCU index where the current restart interval began
        var firstLineOfInterval = 0       // line of that start
        for y in 0..<rows {
            for xx in 0..<columns {
                if restartInterval > 0, mcu > 0, mcu % restartInterval == 0 {
                    restartStart = mcu
                    firstLineOfInterval = y
                }
                for c in scan {
                    let i = y * stride + xx * nf + c
                    let pred: Int
                    if mcu == restartStart { pred = initial }
                    else if y == firstLineOfInterval { pred = x[i - nf] }
                    else if xx == 0 { pred = x[i - stride] }
                    else {
                        let a = x[i - nf], b = x[i - stride], cc = x[i - stride - nf]
                        switch predictor {
                        case 1: pred = a
                        case 2: pred = b
                        case 3: pred = cc
                        case 4: pred = a + b - cc
                        case 5: pred = a + ((b - cc) >> 1)
                        case 6: pred = b + ((a - cc) >> 1)
                        default: pred = (a + b) >> 1
                        }
                    }
                    var d = (x[i] - pred) & 0xFFFF
                    if d > 32768 { d -= 65536 }
                    result.append((c, d))
                }
                mcu += 1
            }
        }
        return result
    }

    static func ssss(_ d: Int) -> Int {
        if d == 32768 { return 16 }
        var m = abs(d), s = 0
        while m > 0 { s += 1; m >>= 1 }
        return s
    }

    /// Canonical codes (T.81 C.2) for each value, indexed by value.
    static func codes(_ counts: [UInt8], _ values: [UInt8]) -> [(code: Int, length: Int)] {
        var result = [(code: Int, length: Int)](repeating: (0, 0), count: 17)
        var code = 0, k = 0
        for l in 1...16 {
            for _ in 0..<Int(counts[l - 1]) {
                result[Int(values[k])] = (code, l)
                code += 1
                k += 1
            }
            code <<= 1
        }
        return result
    }

    /// Code lengths from symbol frequencies (T.81 K.2, Figures K.1–K.4): a reserved symbol of
    /// frequency 1 keeps any code from being all ones; lengths are limited to 16 bits.
    static func optimalTable(_ freqIn: [Int]) -> (counts: [UInt8], values: [UInt8]) {
        var freq = freqIn + [1]               // 17 symbols + the reserved one
        let n = freq.count
        var codesize = [Int](repeating: 0, count: n)
        var others = [Int](repeating: -1, count: n)
        while true {
            // The two least frequent (v1 < v2 on ties the larger index, as K.1).
            var v1 = -1, v2 = -1
            for i in 0..<n where freq[i] > 0 {
                if v1 < 0 || freq[i] <= freq[v1] { v1 = i }
            }
            for i in 0..<n where freq[i] > 0 && i != v1 {
                if v2 < 0 || freq[i] <= freq[v2] { v2 = i }
            }
            if v2 < 0 { break }
            freq[v1] += freq[v2]
            freq[v2] = 0
            codesize[v1] += 1
            var c = v1
            while others[c] >= 0 { c = others[c]; codesize[c] += 1 }
            others[c] = v2
            c = v2
            codesize[c] += 1
            while others[c] >= 0 { c = others[c]; codesize[c] += 1 }
        }
        var bits = [Int](repeating: 0, count: 40)
        for i in 0..<n where codesize[i] > 0 { bits[codesize[i]] += 1 }
        // K.3: limit code lengths to 16.
        var i = 39
        while i > 16 {
            while bits[i] > 0 {
                var j = i - 2
                while bits[j] == 0 { j -= 1 }
                bits[i] -= 2
                bits[i - 1] += 1
                bits[j + 1] += 2
                bits[j] -= 1
            }
            i -= 1
        }
        // Remove the reserved symbol's code (the longest).
        var l = 16
        while bits[l] == 0 { l -= 1 }
        bits[l] -= 1
        // Values sorted by code size, then by symbol (K.4), the reserved symbol excluded.
        var values: [UInt8] = []
        for size in 1...39 {
            for s in 0..<(n - 1) where codesize[s] == size { values.append(UInt8(s)) }
        }
        return ((1...16).map { UInt8(bits[$0]) }, values)
    }
}

/// MSB-first bit packing with byte stuffing (0xFF → 0xFF 0x00) and 1-bit padding (F.1.2.3).
struct BitWriter {
    var bytes: [UInt8] = []
    var acc = 0
    var count = 0

    mutating func put(_ value: Int, _ length: Int) {
        guard length > 0 else { return }
        acc = (acc << length) | (value & ((1 << length) - 1))
        count += length
        while count >= 8 {
            let b = UInt8((acc >> (count - 8)) & 0xFF)
            bytes.append(b)
            if b == 0xFF { bytes.append(0) }
            count -= 8
            acc &= (1 << count) - 1
        }
    }

    mutating func finish() -> [UInt8] {
        if count > 0 { put((1 << (8 - count)) - 1, 8 - count) }
        return bytes
    }
}

extension DICOMFixtures {
    /// JPEG Lossless (`.70` when every frame uses predictor 1, else `.57`) encapsulated image:
    /// one codestream per frame, each in its own fragment, or split in two fragments with `split`.
    public static func losslessJPEG(frames: [[UInt8]], columns: Int, rows: Int, samplesPerPixel: Int = 1,
                                    bitsAllocated: Int = 16, bitsStored: Int, signed: Bool = false,
                                    selectionValue1: Bool, split: Bool = false) -> [UInt8] {
        let syntax = selectionValue1 ? "1.2.840.10008.1.2.4.70" : "1.2.840.10008.1.2.4.57"
        var fragments: [[UInt8]] = []
        for f in frames {
            if split && f.count > 16 {
                var half = f.count / 2
                half += half % 2
                fragments.append(Array(f[0..<half]))
                fragments.append(Array(f[half...]))
            } else {
                fragments.append(f)
            }
        }
        var elements: [DICOMElement] = [
            .text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.7"),
            .text(0x0008_0060, "CS", "OT"),
            .us(0x0028_0002, UInt16(samplesPerPixel)),
            .text(0x0028_0004, "CS", samplesPerPixel == 3 ? "RGB" : "MONOCHROME2"),
        ]
        if samplesPerPixel > 1 { elements.append(.us(0x0028_0006, 0)) }
        elements += [
            .text(0x0028_0008, "IS", String(frames.count)),
            .us(0x0028_0010, UInt16(rows)),
            .us(0x0028_0011, UInt16(columns)),
            .us(0x0028_0100, UInt16(bitsAllocated)),
            .us(0x0028_0101, UInt16(bitsStored)),
            .us(0x0028_0102, UInt16(bitsStored - 1)),
            .us(0x0028_0103, signed ? 1 : 0),
        ]
        var b = DICOMBuilder(syntax: .encapsulated(syntax), elements: elements)
        // Frames split over two fragments carry no offset table: readers find each frame by
        // its SOI marker (PS3.5 A.4).
        b.elements.append(DICOMElement(0x7FE0_0010, "OB", .encapsulated(fragments)))
        b.sopClassUID = "1.2.840.10008.5.1.4.1.1.7"
        return b.encode()
    }

}
/// JPEG Lossless DICOM variants for the generated conformance corpus: every predictor at
/// several precisions and point transforms, restart intervals (on and off line boundaries),
/// 1 and 3 components (interleaved and not), fixed and optimal tables, fill bytes, signed
/// samples, multi-frame and split fragments, and the difference 32768.
public enum LosslessJPEGCorpus {
    /// A smooth gradient with noise, `precision` bits (the full range is used at the edges).
    public static func image(columns: Int, rows: Int, components: Int, precision: Int, seed: UInt64) -> [UInt16] {
        var rng = SampleData.Random(seed: seed)
        let top = (1 << precision) - 1
        var out: [UInt16] = []
        out.reserveCapacity(columns * rows * components)
        for y in 0..<rows {
            for x in 0..<columns {
                for c in 0..<components {
                    let base = (x * top) / max(columns - 1, 1) / 2 + (y * top) / max(rows - 1, 1) / 3 + c * top / 7
                    let noise = Int(rng.next() % UInt64(max(top / 16, 2)))
                    var v = base + noise
                    if (x + y * 3 + c) % 97 == 0 { v = top }          // a few saturated samples
                    if (x * 7 + y + c) % 89 == 0 { v = 0 }
                    out.append(UInt16(min(max(v, 0), top)))
                }
            }
        }
        return out
    }

    public static func variants() -> [(name: String, bytes: [UInt8])] {
        var result: [(String, [UInt8])] = []
        let columns = 23, rows = 17
        var seed: UInt64 = 70
        func add(_ name: String, _ enc: LosslessJPEGEncoder, components: Int = 1, bitsAllocated: Int? = nil,
                 signed: Bool = false, frames: Int = 1, split: Bool = false, image: [UInt16]? = nil) {
            seed += 1
            var codestreams: [[UInt8]] = []
            for f in 0..<frames {
                let pixels = image ?? Self.image(columns: columns, rows: rows, components: components,
                                                 precision: enc.precision, seed: seed &+ UInt64(f) &* 1000)
                codestreams.append(enc.encode(pixels, columns: columns, rows: rows, components: components))
            }
            let allocated = bitsAllocated ?? (enc.precision > 8 ? 16 : 8)
            result.append(("ljpeg/\(name).dcm", DICOMFixtures.losslessJPEG(
                frames: codestreams, columns: columns, rows: rows, samplesPerPixel: components, bitsAllocated: allocated,
                bitsStored: enc.precision, signed: signed, selectionValue1: enc.predictor == 1, split: split)))
        }
        for predictor in 1...7 {
            for precision in [2, 8, 12, 16] {
                let pt = precision > 2 ? predictor % 3 : 0
                add("p\(predictor)-b\(precision)-pt\(pt)",
                    LosslessJPEGEncoder(precision: precision, predictor: predictor, pointTransform: pt,
                                        optimalHuffman: predictor % 2 == 0))
            }
        }
        add("p1-b16-restart-rows", LosslessJPEGEncoder(precision: 16, restartInterval: columns))
        add("p6-b12-restart-2-rows-fill", LosslessJPEGEncoder(precision: 12, predictor: 6, restartInterval: 2 * columns, fillBytes: 2))
        add("p7-b8-rgb-interleaved", LosslessJPEGEncoder(precision: 8, predictor: 7), components: 3)
        add("p4-b8-rgb-planes-optimal", LosslessJPEGEncoder(precision: 8, predictor: 4, interleaved: false, optimalHuffman: true), components: 3)
        add("p1-b8-rgb-restart-rows", LosslessJPEGEncoder(precision: 8, restartInterval: columns, optimalHuffman: true), components: 3)
        add("p3-b16-planes-restart-3-rows", LosslessJPEGEncoder(precision: 16, predictor: 3, restartInterval: 3 * columns, interleaved: false), components: 3)
        add("p1-b12-signed", LosslessJPEGEncoder(precision: 12), signed: true)
        add("p5-b16-signed", LosslessJPEGEncoder(precision: 16, predictor: 5, optimalHuffman: true), signed: true)
        add("p1-b8-in-16", LosslessJPEGEncoder(precision: 8), bitsAllocated: 16)
        add("p2-b10-3-frames", LosslessJPEGEncoder(precision: 10, predictor: 2), frames: 3)
        add("p1-b12-split-fragments", LosslessJPEGEncoder(precision: 12), frames: 2, split: true)
        // Alternating 0 and 32768 along each line: every difference is ±32768 (SSSS 16).
        let jumps = (0..<(columns * rows)).map { UInt16(($0 % columns) % 2 == 0 ? 0 : 32768) }
        add("p1-b16-ssss16", LosslessJPEGEncoder(precision: 16), image: jumps)
        return result
    }
}

extension LosslessJPEGCorpus {
    /// The speed corpus (scripts/bench_ljpeg.py): `count` CT-like 512×512 slices, 12 bits stored
    /// in 16 (air outside a noisy elliptical body, a denser core), encoded with selection value 1
    /// as most DICOM JPEG Lossless writers do. Returns the decoded sample bytes.
    @discardableResult
    public static func writeBench(to root: String, count: Int) throws -> Int {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var rng = SampleData.Random(seed: 57)
        let n = 512
        var decoded = 0
        for i in 0..<count {
            var pixels = [UInt16](repeating: 0, count: n * n)
            for y in 0..<n {
                for x in 0..<n {
                    let dx = Double(x - 256) / 220, dy = Double(y - 256) / (170 + Double(i % 7))
                    let r = dx * dx + dy * dy
                    // Roughly Gaussian noise: the sum of four uniforms.
                    var noise = 0
                    for _ in 0..<4 { noise += Int(rng.next() % 21) }
                    noise -= 40
                    let value = r > 1 ? 24 + noise / 4 : (r < 0.15 ? 1300 + noise : 1064 + noise)
                    pixels[y * n + x] = UInt16(max(0, min(4095, value)))
                }
            }
            let stream = LosslessJPEGEncoder(precision: 12).encode(pixels, columns: n, rows: n, components: 1)
            let file = DICOMFixtures.losslessJPEG(frames: [stream], columns: n, rows: n, bitsStored: 12, selectionValue1: true)
            try Data(file).write(to: URL(fileURLWithPath: root + "/ct\(i).dcm"))
            decoded += n * n * 2
        }
        return decoded
    }
}
