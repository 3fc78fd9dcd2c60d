import ImagingXBytes
import ImagingXModel
import ImagingXFormats

/// JPEG Lossless, process 14 (ITU-T T.81 Annex H with Huffman coding per Annex C/F): DICOM
/// transfer syntaxes 1.2.840.10008.1.2.4.57 (any predictor) and .70 (selection value 1).
///
/// Handles SOF3 with precision 2–16 and 1–4 components (sampling 1×1), interleaved and
/// non-interleaved scans, predictors 1–7, the point transform, restart intervals (DRI/RSTn,
/// fill bytes before markers) and the difference 32768 (SSSS 16). Samples are reconstructed
/// into a reused frame buffer, pixel-interleaved like pydicom's array, and handed out shifted
/// left by Pt (T.81 H.2.3), as pydicom + pylibjpeg-libjpeg return them (with Pt > 0 that decoder
/// starts prediction from 2^(P−1) rather than T.81's 2^(P−Pt−1); this one follows T.81,
/// README "JPEG Lossless"). A damaged codestream — bad
/// Huffman code, missing marker, truncation — throws a `ParseError` with the byte offset in the
/// file; nothing is allocated from codestream sizes that the DICOM header has not bounded.
package enum JPEGLossless {
    /// What the DICOM header says a frame must be.
    package struct Expected {
        var columns: Int
        var rows: Int
        var samples: Int
        /// Container bytes per sample (1 or 2).
        var bytesPerSample: Int
        /// The most bytes the working buffer may take.
        var maxBytes: Int
    }

    /// Decodes one frame held in `data` (the joined `fragments`) and hands its samples, as
    /// little-endian containers of `expected.bytesPerSample` bytes, to `consume` in one piece.
    package static func decodeFrame(_ data: UnsafeRawBufferPointer, fragments: [EncapsulatedPixelData.Fragment],
                                    expected: Expected, scratch: LosslessScratch,
                                    consume: (UnsafeRawBufferPointer) -> Void) throws(ParseError) {
        let map = OffsetMap(fragments)
        var decoder = FrameDecoder(data: data, expected: expected, scratch: scratch)
        do {
            try decoder.run()
        } catch {
            // Errors carry positions in the frame; the record wants the file's byte offset.
            var e = error
            e.offset = map.file(e.offset)
            throw e
        }
        scratch.deliver(expected: expected, pointTransform: decoder.outputShift, consume: consume)
    }

    /// Decodes one codestream held in memory into its samples (shifted left by Pt,
    /// pixel-interleaved); errors carry positions in `codestream`.
    package static func decode(_ codestream: [UInt8], columns: Int, rows: Int, samples: Int,
                               bitsAllocated: Int = 16) throws(ParseError) -> [UInt16] {
        let want = Expected(columns: columns, rows: rows, samples: samples, bytesPerSample: bitsAllocated > 8 ? 2 : 1,
                            maxBytes: 1 << 30)
        var result: [UInt16] = []
        let fragment = EncapsulatedPixelData.Fragment(offset: 0, length: codestream.count)
        let failure = codestream.withUnsafeBytes { bytes -> ParseError? in
            do {
                try decodeFrame(bytes, fragments: [fragment], expected: want, scratch: LosslessScratch()) { out in
                    result = want.bytesPerSample == 2 ? Array(out.bindMemory(to: UInt16.self)) : out.map { UInt16($0) }
                }
                return nil
            } catch let e as ParseError {
                return e
            } catch {
                return ParseError(.malformed, at: 0, "\(error)")
            }
        }
        if let failure { throw failure }
        return result
    }

    /// Maps a position inside a (possibly joined) frame to its offset in the file.
    struct OffsetMap {
        var starts: [(frame: Int, file: Int)] = []
        init(_ fragments: [EncapsulatedPixelData.Fragment]) {
            var at = 0
            for f in fragments { starts.append((at, f.offset)); at += f.length }
        }
        func file(_ position: Int) -> Int {
            var best = starts.first ?? (0, 0)
            for s in starts where s.frame <= position { best = s }
            return best.file + (position - best.frame)
        }
    }
}

/// Buffers reused across frames and files (one per worker).
package final class LosslessScratch {
    /// Reconstructed samples (before the point transform), pixel-interleaved.
    var samples: UnsafeMutablePointer<UInt16>
    var sampleCapacity: Int
    /// Narrowed or shifted output when it differs from `samples`.
    var output: UnsafeMutableRawPointer
    var outputCapacity: Int
    /// Huffman tables 0–3: fast lookup plus canonical decoding for long codes.
    let tables: [HuffmanTable]

    package init() {
        sampleCapacity = 0
        samples = .allocate(capacity: 1)
        outputCapacity = 0
        output = .allocate(byteCount: 1, alignment: 16)
        tables = (0..<4).map { _ in HuffmanTable() }
    }

    deinit {
        samples.deallocate()
        output.deallocate()
    }

    /// Buffers above 64 MiB are not kept between files.
    func releaseLarge() {
        if sampleCapacity > 32 << 20 { samples.deallocate(); samples = .allocate(capacity: 1); sampleCapacity = 0 }
        if outputCapacity > 64 << 20 { output.deallocate(); output = .allocate(byteCount: 1, alignment: 16); outputCapacity = 0 }
    }

    func reserve(_ count: Int) {
        if count > sampleCapacity {
            samples.deallocate()
            samples = .allocate(capacity: max(count, 1))
            sampleCapacity = max(count, 1)
        }
    }

    func reserveOutput(_ bytes: Int) {
        if bytes > outputCapacity {
            output.deallocate()
            output = .allocate(byteCount: max(bytes, 1), alignment: 16)
            outputCapacity = max(bytes, 1)
        }
    }

    /// Gives the decoded frame to `consume` in the container size the header asks for.
    func deliver(expected: JPEGLossless.Expected, pointTransform: Int, consume: (UnsafeRawBufferPointer) -> Void) {
        let count = expected.columns * expected.rows * expected.samples
        if expected.bytesPerSample == 2 {
            if pointTransform == 0 {
                consume(UnsafeRawBufferPointer(start: samples, count: count * 2))
                return
            }
            let shift = UInt16(pointTransform)
            for i in 0..<count { samples[i] = samples[i] << shift }
            consume(UnsafeRawBufferPointer(start: samples, count: count * 2))
            return
        }
        reserveOutput(count)
        let out = output.assumingMemoryBound(to: UInt8.self)
        let shift = UInt16(pointTransform)
        for i in 0..<count { out[i] = UInt8(truncatingIfNeeded: samples[i] << shift) }
        consume(UnsafeRawBufferPointer(start: output, count: count))
    }
}

/// One Huffman table (T.81 C.2 / F.2.2.3): a lookup of the first `lookBits` bits giving code
/// length and SSSS, and per-length maximum codes for longer codes.
final class HuffmanTable {
    static let lookBits = 10
    /// (length << 8) | value, or 0 when the code is longer than `lookBits`.
    let lookup = UnsafeMutablePointer<UInt16>.allocate(capacity: 1 << lookBits)
    /// When a code and its SSSS extra bits both lie within the first `lookBits` bits: the
    /// difference (high 16 bits, signed) and the bits they take (low 5 bits); else 0.
    let fused = UnsafeMutablePointer<UInt32>.allocate(capacity: 1 << lookBits)
    /// maxCode[l]: the largest code of length l, or -1; valueOffset[l]: index of its first value minus its first code.
    var maxCode = [Int32](repeating: -1, count: 18)
    var valueOffset = [Int32](repeating: 0, count: 17)
    var values = [UInt8](repeating: 0, count: 256)
    var defined = false

    deinit { lookup.deallocate(); fused.deallocate() }

    /// Builds the table from BITS (16 counts) and HUFFVAL; returns why it is invalid, or nil.
    func build(counts: UnsafeRawBufferPointer, values v: UnsafeRawBufferPointer) -> String? {
        lookup.initialize(repeating: 0, count: 1 << Self.lookBits)
        fused.initialize(repeating: 0, count: 1 << Self.lookBits)
        for l in 0..<18 { maxCode[l] = -1 }
        var code: Int32 = 0
        var k = 0
        for l in 1...16 {
            let n = Int(counts[l - 1])
            valueOffset[l] = Int32(k) - code
            if n > 0 {
                for _ in 0..<n {
                    // Each code must fit in l bits (C.2) before it indexes the lookup. An all-ones
                    // code, which encoders should not emit, is still decoded.
                    guard code < (1 << l) else {
                        return "Huffman table has more codes than \(l)-bit lengths allow"
                    }
                    let value = v[k]
                    guard value <= 16 else { return "Huffman value \(value) (lossless differences need SSSS ≤ 16)" }
                    values[k] = value
                    if l <= Self.lookBits {
                        let shift = Self.lookBits - l
                        let first = Int(code) << shift
                        let entry = UInt16(l << 8) | UInt16(value)
                        for j in 0..<(1 << shift) { lookup[first + j] = entry }
                        let sv = Int(value)
                        if sv < 16 && l + sv <= Self.lookBits {
                            // The extra bits are the top `sv` of the remaining `shift` bits (F.2.2.1 EXTEND).
                            for j in 0..<(1 << shift) {
                                let extra = j >> (shift - sv)
                                let diff = sv == 0 ? 0 : (extra < 1 << (sv - 1) ? extra - (1 << sv) + 1 : extra)
                                fused[first + j] = UInt32(UInt16(bitPattern: Int16(diff))) << 16 | UInt32(l + sv)
                            }
                        }
                    }
                    code += 1
                    k += 1
                }
                maxCode[l] = code - 1
            }
            code <<= 1
        }
        defined = true
        return nil
    }
}

/// Decoding state of one frame.
struct FrameDecoder {
    let data: UnsafeRawBufferPointer
    let base: UnsafePointer<UInt8>
    let end: Int
    let expected: JPEGLossless.Expected
    let scratch: LosslessScratch

    var pos = 0
    var precision = 0
    var components: [Int] = []          // component identifiers, frame order
    var restartInterval = 0
    var outputShift = 0
    var decodedComponents: [Bool] = []
    var sawFrame = false

    init(data: UnsafeRawBufferPointer, expected: JPEGLossless.Expected, scratch: LosslessScratch) {
        self.data = data
        self.base = data.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) } ?? UnsafePointer(bitPattern: 1)!
        self.end = data.count
        self.expected = expected
        self.scratch = scratch
        for t in scratch.tables { t.defined = false }
    }

    func fail(_ at: Int, _ what: String) -> ParseError {
        ParseError(.malformed, at: at, "JPEG Lossless: " + what)
    }

    func truncated(_ at: Int, _ what: String) -> ParseError {
        ParseError(.truncated, at: at, "JPEG Lossless: codestream ends inside " + what)
    }

    func u16(_ at: Int) -> Int { Int(base[at]) << 8 | Int(base[at + 1]) }

    /// The marker at `pos`, after any fill bytes (0xFF); `pos` is left after it.
    mutating func marker(_ what: String) throws(ParseError) -> UInt8 {
        guard pos < end else { throw truncated(pos, "the codestream: \(what) expected") }
        guard base[pos] == 0xFF else {
            throw fail(pos, "\(what) expected, found byte 0x\(String(base[pos], radix: 16))")
        }
        while pos < end && base[pos] == 0xFF { pos += 1 }
        guard pos < end else { throw truncated(pos, "a marker") }
        let m = base[pos]
        pos += 1
        return m
    }

    /// A marker segment's payload range (after its length field).
    mutating func segment(_ name: String) throws(ParseError) -> Range<Int> {
        guard pos + 2 <= end else { throw truncated(pos, "the \(name) segment length") }
        let length = u16(pos)
        guard length >= 2 else { throw fail(pos, "\(name) segment length \(length) is below 2") }
        guard pos + length <= end else { throw truncated(pos, "the \(name) segment (\(length) bytes)") }
        let r = (pos + 2)..<(pos + length)
        pos += length
        return r
    }

    mutating func run() throws(ParseError) {
        guard end >= 2, base[0] == 0xFF, base[1] == 0xD8 else {
            throw fail(0, "frame does not start with an SOI marker (FFD8)")
        }
        pos = 2
        while true {
            let at = pos
            let m = try marker("a marker segment")
            switch m {
            case 0xD9:  // EOI
                guard sawFrame else { throw fail(at, "EOI before any frame") }
                guard decodedComponents.allSatisfy({ $0 }) else {
                    throw fail(at, "EOI before every component was decoded")
                }
                return
            case 0xC3:
                guard !sawFrame else { throw fail(at, "a second SOF marker") }
                try frameHeader(try segment("SOF3"), at: at)
            case 0xC0, 0xC1, 0xC2, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7:
                throw fail(at, "SOF marker 0xFF\(String(m, radix: 16, uppercase: true)) is not lossless Huffman (SOF3, process 14)")
            case 0xC4:
                try huffmanTables(try segment("DHT"))
            case 0xDD:
                let r = try segment("DRI")
                guard r.count == 2 else { throw fail(at, "DRI segment of \(r.count) bytes (2 expected)") }
                restartInterval = u16(r.lowerBound)
            case 0xDA:
                guard sawFrame else { throw fail(at, "SOS before SOF3") }
                try scan(try segment("SOS"), at: at)
            case 0xD0...0xD7:
                throw fail(at, "RST\(m - 0xD0) marker outside entropy-coded data")
            case 0xD8:
                throw fail(at, "a second SOI marker")
            case 0xDC:
                throw fail(at, "DNL marker (number of lines defined after the scan) is not supported")
            case 0x01, 0xE0...0xEF, 0xFE, 0xDB, 0xCC, 0xDE, 0xDF, 0xF0...0xFD:
                _ = try segment("marker 0xFF\(String(m, radix: 16, uppercase: true))")
            default:
                throw fail(at, "unexpected marker 0xFF\(String(m, radix: 16, uppercase: true))")
            }
        }
    }

    mutating func frameHeader(_ r: Range<Int>, at: Int) throws(ParseError) {
        guard r.count >= 6 else { throw fail(at, "SOF3 segment of \(r.count) bytes") }
        let p = Int(base[r.lowerBound])
        let y = u16(r.lowerBound + 1)
        let x = u16(r.lowerBound + 3)
        let nf = Int(base[r.lowerBound + 5])
        guard (2...16).contains(p) else { throw fail(at, "precision \(p) (lossless allows 2–16)") }
        guard y != 0 else { throw fail(at, "SOF3 with 0 lines (DNL) is not supported") }
        guard (1...4).contains(nf), r.count == 6 + 3 * nf else {
            throw fail(at, "SOF3 lists \(nf) components in \(r.count) bytes")
        }
        guard x == expected.columns, y == expected.rows else {
            throw fail(at, "frame is \(x)×\(y); the DICOM header says \(expected.columns)×\(expected.rows)")
        }
        guard nf == expected.samples else {
            throw fail(at, "frame has \(nf) components; Samples per Pixel is \(expected.samples)")
        }
        guard p <= expected.bytesPerSample * 8 else {
            throw fail(at, "precision \(p) does not fit Bits Allocated \(expected.bytesPerSample * 8)")
        }
        for c in 0..<nf {
            let o = r.lowerBound + 6 + 3 * c
            let id = Int(base[o])
            guard !components.contains(id) else { throw fail(at, "component \(id) listed twice") }
            guard base[o + 1] == 0x11 else {
                throw fail(at, "component \(id) has sampling factors \(base[o + 1] >> 4)×\(base[o + 1] & 15) (only 1×1 is supported)")
            }
            components.append(id)
        }
        precision = p
        // Every scan spends at least one bit per sample (no Huffman code is shorter), so a
        // frame larger than 8 samples per codestream byte cannot be honest: refuse it before
        // allocating for it.
        let count = x * y * nf
        guard count <= (end - pos) * 8 + 64 else {
            throw truncated(pos, "the entropy-coded data: \(count) samples need at least \(count / 8) bytes, \(end - pos) left")
        }
        guard count * 2 <= expected.maxBytes else {
            throw ParseError(.limitExceeded, at: at, "JPEG Lossless frame of \(count * 2) bytes exceeds the decode limit")
        }
        scratch.reserve(count)
        decodedComponents = Array(repeating: false, count: nf)
        sawFrame = true
    }

    mutating func huffmanTables(_ r: Range<Int>) throws(ParseError) {
        var o = r.lowerBound
        while o < r.upperBound {
            guard o + 17 <= r.upperBound else { throw fail(o, "DHT table header cut short") }
            let tc = base[o] >> 4, th = Int(base[o] & 15)
            guard tc == 0, th < 4 else {
                throw fail(o, "DHT class \(tc) table \(th) (lossless uses class 0, tables 0–3)")
            }
            var n = 0
            for i in 0..<16 { n += Int(base[o + 1 + i]) }
            guard n <= 256, o + 17 + n <= r.upperBound else { throw fail(o, "DHT table lists \(n) values past its segment") }
            let counts = UnsafeRawBufferPointer(start: base + o + 1, count: 16)
            let values = UnsafeRawBufferPointer(start: base + o + 17, count: n)
            if let why = scratch.tables[th].build(counts: counts, values: values) { throw fail(o, why) }
            o += 17 + n
        }
    }

    mutating func scan(_ r: Range<Int>, at: Int) throws(ParseError) {
        guard r.count >= 1 else { throw fail(at, "empty SOS segment") }
        let ns = Int(base[r.lowerBound])
        guard (1...components.count).contains(ns), r.count == 1 + 2 * ns + 3 else {
            throw fail(at, "SOS lists \(ns) components in \(r.count) bytes")
        }
        var slots: [Int] = []
        var tables: [HuffmanTable] = []
        for i in 0..<ns {
            let o = r.lowerBound + 1 + 2 * i
            guard let slot = components.firstIndex(of: Int(base[o])) else {
                throw fail(o, "scan component \(base[o]) is not in the frame")
            }
            guard !slots.contains(slot), !decodedComponents[slot] else { throw fail(o, "component \(base[o]) scanned twice") }
            let td = Int(base[o + 1] >> 4)
            guard td < 4, scratch.tables[td].defined else { throw fail(o, "scan uses Huffman table \(td), which no DHT defined") }
            slots.append(slot)
            tables.append(scratch.tables[td])
        }
        let o = r.lowerBound + 1 + 2 * ns
        let predictor = Int(base[o])
        let pt = Int(base[o + 2] & 15)
        guard (1...7).contains(predictor) else { throw fail(o, "predictor (Ss) \(predictor); lossless allows 1–7") }
        guard base[o + 2] >> 4 == 0, pt < precision else { throw fail(o, "point transform \(pt) for precision \(precision)") }
        outputShift = pt
        try decodeScan(slots: slots, tables: tables, predictor: predictor, pt: pt)
        for s in slots { decodedComponents[s] = true }
    }

    /// The entropy-coded segment(s) of one scan (T.81 H.1.2: prediction, H.1.2.2 / F.1.2.1:
    /// difference coding), each restart interval in turn.
    mutating func decodeScan(slots: [Int], tables: [HuffmanTable], predictor: Int, pt: Int) throws(ParseError) {
        let width = expected.columns, height = expected.rows, nf = components.count
        let out = scratch.samples
        let stride = width * nf                       // samples per line
        let initial = 1 << (precision - pt - 1)
        let interval = restartInterval
        if interval > 0 && interval % width != 0 {
            // Where prediction restarts inside a line is not pinned down by T.81 H.1.2.1, and
            // decoders disagree (libjpeg-turbo refuses such streams): not decoded.
            throw ParseError(.unsupported, at: pos, "JPEG Lossless: restart interval \(interval) is not a whole number of lines (\(width) MCUs each)")
        }
        var reader = BitReader(base: base, pos: pos, end: end)
        var left = interval                          // MCUs left in this restart interval
        var restartIndex = 0
        var firstLine = true                         // first-line prediction (scan start, after a restart)
        var atRestart = true                         // the next MCU starts the scan or an interval
        for y in 0..<height {
            var x = 0
            if y > 0 && !atRestart { firstLine = false }
            let line = y * stride
            while x < width {
                if interval > 0 && left == 0 {
                    pos = try finishInterval(&reader, what: "restart interval")
                    let m = try marker("RST\(restartIndex) marker")
                    guard m == 0xD0 + UInt8(restartIndex) else {
                        throw fail(pos - 2, "RST\(restartIndex) marker expected, found 0xFF\(String(m, radix: 16, uppercase: true))")
                    }
                    restartIndex = (restartIndex + 1) & 7
                    reader = BitReader(base: base, pos: pos, end: end)
                    left = interval
                    atRestart = true
                    firstLine = true
                }
                // The run of MCUs on this line before the next restart boundary.
                let runEnd = interval > 0 ? min(width, x + left) : width
                if interval > 0 { left -= runEnd - x }
                if slots.count == 1 {
                    let t = tables[0]
                    var index = line + x * nf + slots[0]
                    let pred0: Int
                    if atRestart { pred0 = initial }
                    else if firstLine || x > 0 { pred0 = Int(out[index - nf]) }
                    else { pred0 = Int(out[index - stride]) }
                    let d0 = try reader.difference(t)
                    out[index] = UInt16(truncatingIfNeeded: pred0 + d0)
                    index += nf
                    let n = runEnd - x - 1
                    if n > 0 {
                        try reader.predictRun(out, index: index, count: n, nf: nf, stride: stride,
                                              predictor: firstLine ? 1 : predictor, table: t)
                    }
                } else {
                    try interleavedRun(&reader, out: out, line: line, from: x, to: runEnd, slots: slots, tables: tables,
                                       predictor: predictor, initial: initial, firstLine: firstLine, atRestart: atRestart)
                }
                atRestart = false
                x = runEnd
            }
        }
        pos = try finishInterval(&reader, what: "scan")
    }

    /// Interleaved MCUs `from..<to` of one line (every scan component per pixel).
    func interleavedRun(_ reader: inout BitReader, out: UnsafeMutablePointer<UInt16>, line: Int, from: Int, to: Int,
                        slots: [Int], tables: [HuffmanTable], predictor: Int, initial: Int,
                        firstLine: Bool, atRestart: Bool) throws(ParseError) {
        let nf = components.count, stride = expected.columns * nf
        for x in from..<to {
            for k in 0..<slots.count {
                let index = line + x * nf + slots[k]
                let pred: Int
                if x == from && atRestart { pred = initial }
                else if firstLine { pred = Int(out[index - nf]) }
                else if x == 0 { pred = Int(out[index - stride]) }
                else {
                    pred = FrameDecoder.predict(predictor, a: Int(out[index - nf]), b: Int(out[index - stride]),
                                                c: Int(out[index - stride - nf]))
                }
                let d = try reader.difference(tables[k])
                out[index] = UInt16(truncatingIfNeeded: pred + d)
            }
        }
    }

    /// Prediction (T.81 Table H.1).
    @inline(__always)
    static func predict(_ p: Int, a: Int, b: Int, c: Int) -> Int {
        switch p {
        case 1: return a
        case 2: return b
        case 3: return c
        case 4: return a + b - c
        case 5: return a + ((b - c) >> 1)
        case 6: return b + ((a - c) >> 1)
        default: return (a + b) >> 1
        }
    }

    /// Ends an entropy-coded segment: fails if decoding ran past its data, and returns the
    /// position of the marker that follows.
    func finishInterval(_ reader: inout BitReader, what: String) throws(ParseError) -> Int {
        if reader.overran {
            throw truncated(reader.pos, "the entropy-coded data of a \(what) (decoding needed bits past its end)")
        }
        return reader.pos
    }
}

/// Reads entropy-coded bits MSB first, removing stuffed zero bytes (FF 00); stops at a marker
/// or at the end and then supplies zero bits, counting them so that an overrun is detected.
struct BitReader {
    let base: UnsafePointer<UInt8>
    var pos: Int
    let end: Int
    /// Bits, left-aligned; `count` of them are valid.
    var acc: UInt64 = 0
    var count = 0
    /// Zero bits appended past the data (at the tail of `acc`).
    var fake = 0

    init(base: UnsafePointer<UInt8>, pos: Int, end: Int) {
        self.base = base
        self.pos = pos
        self.end = end
    }

    var overran: Bool { fake > count }

    @inline(__always)
    mutating func refill() {
        if pos &+ 8 <= end && fake == 0 {
            let w = UInt64(bigEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
            let inv = ~w
            // No 0xFF byte in the word: take as many whole bytes as fit. The bits below the
            // last whole byte are the next byte's, ORed again (the same bits) when it is taken.
            if (inv &- 0x0101_0101_0101_0101) & ~inv & 0x8080_8080_8080_8080 == 0 {
                acc |= w &>> UInt64(truncatingIfNeeded: count)
                let take = (63 &- count) &>> 3
                pos &+= take
                count &+= take &<< 3
                return
            }
        }
        refillSlow()
    }

    mutating func refillSlow() {
        while count <= 56 {
            var byte: UInt8 = 0
            if fake == 0 && pos < end {
                byte = base[pos]
                if byte == 0xFF {
                    if pos + 1 < end && base[pos + 1] == 0 {
                        pos += 2
                    } else {
                        // A marker (or the end): the segment's data stops here.
                        fake += 8
                        acc &= count == 0 ? 0 : ~(UInt64.max >> UInt64(count))
                        count += 8
                        continue
                    }
                } else {
                    pos += 1
                }
            } else {
                if fake == 0 { acc &= count == 0 ? 0 : ~(UInt64.max >> UInt64(count)) }
                fake += 8
                count += 8
                continue
            }
            acc |= UInt64(byte) << UInt64(56 - count)
            count += 8
        }
    }

    /// One difference value (T.81 F.2.2.1 / H.1.2.2): a Huffman-coded SSSS, then SSSS extra bits;
    /// SSSS 16 means 32768 with no extra bits.
    @inline(__always)
    mutating func difference(_ t: HuffmanTable) throws(ParseError) -> Int {
        try difference(UnsafePointer(t.fused), t)
    }

    /// The same with the table's lookup already in hand (the hot loops hoist it). Wrapping
    /// arithmetic: every quantity is bounded (count ≤ 64, l and s ≤ 16).
    @inline(__always)
    mutating func difference(_ fused: UnsafePointer<UInt32>, _ t: HuffmanTable) throws(ParseError) -> Int {
        if count < 32 { refill() }
        let look = Int(truncatingIfNeeded: acc &>> UInt64(64 - HuffmanTable.lookBits))
        let f = fused[look]
        if f != 0 {
            // Code and extra bits in one step (most differences of smooth images).
            let bits = Int(f & 31)
            acc = acc &<< UInt64(truncatingIfNeeded: bits)
            count &-= bits
            return Int(Int32(bitPattern: f) &>> 16)
        }
        let e = Int(t.lookup[look])
        var s: Int
        if e != 0 {
            let l = e &>> 8
            s = e & 0xFF
            acc = acc &<< UInt64(truncatingIfNeeded: l)
            count &-= l
        } else {
            s = try slowCode(t)
        }
        if s == 0 { return 0 }
        let v = Int(truncatingIfNeeded: acc &>> UInt64(truncatingIfNeeded: 64 &- s))
        if s == 16 { return 32768 }
        acc = acc &<< UInt64(truncatingIfNeeded: s)
        count &-= s
        return v < (1 &<< (s &- 1)) ? v &- (1 &<< s) &+ 1 : v
    }

    mutating func slowCode(_ t: HuffmanTable) throws(ParseError) -> Int {
        for l in (HuffmanTable.lookBits + 1)...16 {
            let code = Int32(truncatingIfNeeded: acc >> UInt64(64 - l))
            if code <= t.maxCode[l] {
                acc <<= UInt64(l)
                count -= l
                return Int(t.values[Int(t.valueOffset[l] + code)])
            }
        }
        let at = max(pos - (count - fake) / 8, 0)
        if fake > count - 16 {
            throw ParseError(.truncated, at: at, "JPEG Lossless: codestream ends inside the entropy-coded data (no Huffman code in the remaining bits)")
        }
        throw ParseError(.malformed, at: at, "JPEG Lossless: bits match no code of the scan's Huffman table")
    }

    /// `count` samples of one component along a line (not the first line, not the line's first
    /// sample unless the caller handled it), each predicted from its left, upper and upper-left
    /// neighbours.
    @inline(__always)
    mutating func predictRun(_ out: UnsafeMutablePointer<UInt16>, index start: Int, count n: Int, nf: Int, stride: Int,
                             predictor: Int, table t: HuffmanTable) throws(ParseError) {
        var index = start
        let stop = start + n * nf
        let lk = UnsafePointer(t.fused)
        switch predictor {
        case 1:
            while index < stop { let d = try difference(lk, t); out[index] = UInt16(truncatingIfNeeded: Int(out[index &- nf]) &+ d); index &+= nf }
        case 2:
            while index < stop { let d = try difference(lk, t); out[index] = UInt16(truncatingIfNeeded: Int(out[index &- stride]) &+ d); index &+= nf }
        case 3:
            while index < stop { let d = try difference(lk, t); out[index] = UInt16(truncatingIfNeeded: Int(out[index &- stride &- nf]) &+ d); index &+= nf }
        case 4:
            while index < stop {
                let p = Int(out[index &- nf]) &+ Int(out[index &- stride]) &- Int(out[index &- stride &- nf])
                let d = try difference(lk, t); out[index] = UInt16(truncatingIfNeeded: p &+ d); index &+= nf
            }
        case 5:
            while index < stop {
                let p = Int(out[index &- nf]) &+ ((Int(out[index &- stride]) &- Int(out[index &- stride &- nf])) >> 1)
                let d = try difference(lk, t); out[index] = UInt16(truncatingIfNeeded: p &+ d); index &+= nf
            }
        case 6:
            while index < stop {
                let p = Int(out[index &- stride]) &+ ((Int(out[index &- nf]) &- Int(out[index &- stride &- nf])) >> 1)
                let d = try difference(lk, t); out[index] = UInt16(truncatingIfNeeded: p &+ d); index &+= nf
            }
        default:
            while index < stop {
                let p = (Int(out[index &- nf]) &+ Int(out[index &- stride])) >> 1
                let d = try difference(lk, t); out[index] = UInt16(truncatingIfNeeded: p &+ d); index &+= nf
            }
        }
    }
}

extension TransferSyntax {
    package static let jpegLossless = "1.2.840.10008.1.2.4.57"
    package static let jpegLosslessSV1 = "1.2.840.10008.1.2.4.70"
}

extension FileReader {
    /// Statistics of JPEG Lossless encapsulated frames: each frame decoded into the worker's
    /// reused buffer and fed to the accumulator (samples little-endian in the header's container).
    func losslessJPEGStats(_ frames: [[EncapsulatedPixelData.Fragment]], layout: inout SampleLayout, expected: Int,
                           columns: Int, rows: Int, samples: Int, photometric: String?) throws {
        let size = layout.kind.size
        if samples > 1, let p = photometric, p.hasPrefix("YBR") {
            // pydicom hands YBR data converted to RGB; lossless JPEG stores samples as they are.
            throw StatsError("JPEG Lossless with Photometric Interpretation \(p): the YBR → RGB conversion pydicom applies is not done; not decoded")
        }
        guard size == 1 || size == 2 else {
            throw StatsError("JPEG Lossless with Bits Allocated \(size * 8): samples of 2–16 bits need Bits Allocated 8 or 16")
        }
        layout.bigEndian = false
        let acc = workspace.accumulator
        acc.begin(layout, expectedBytes: expected)
        let want = JPEGLossless.Expected(columns: columns, rows: rows, samples: samples, bytesPerSample: size,
                                         maxBytes: options.maxDecodeBytes)
        let scratch = workspace.lossless
        defer { scratch.releaseLarge() }
        for f in frames {
            try EncapsulatedPixelData.withFrame(source, f) { bytes in
                try JPEGLossless.decodeFrame(bytes, fragments: f, expected: want, scratch: scratch) { acc.consume($0) }
            }
        }
    }

    /// A stand-alone lossless JPEG file (SOF3, T.81 Annex H): the whole file is one codestream,
    /// decoded with the frame header's own grid (samples of 2–8 bits in bytes, 9–16 in 16-bit
    /// containers).
    func losslessRasterStats(_ record: inout ImageRecord, _ header: JPEGHeader) {
        withStats(&record) { record throws -> PixelStats in
            guard header.height > 0 else {
                throw StatsError("lossless JPEG whose height is defined by a DNL marker: not decoded")
            }
            let whole = try wholeFile()
            let layout = SampleLayout(kind: header.precision > 8 ? .uint16 : .uint8)
            let want = JPEGLossless.Expected(columns: header.width, rows: header.height, samples: header.components,
                                             bytesPerSample: layout.kind.size, maxBytes: options.maxDecodeBytes)
            let acc = workspace.accumulator
            acc.begin(layout, expectedBytes: header.width * header.height * header.components * layout.kind.size)
            let scratch = workspace.lossless
            defer { scratch.releaseLarge() }
            let capture = options.captureVolume
            var kept: [UInt8] = []
            try JPEGLossless.decodeFrame(whole, fragments: [EncapsulatedPixelData.Fragment(offset: 0, length: whole.count)],
                                         expected: want, scratch: scratch) { piece in
                acc.consume(piece)
                if capture { kept.append(contentsOf: piece) }
            }
            if capture { captured = Volume(layout: layout, bytes: kept) }
            return finishStats(acc, &record)
        }
    }
}
