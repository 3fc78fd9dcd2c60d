import ImagingXBytes
import ImagingXModel
import ImagingXFormats

/// Photometric handling of decoded DICOM frames, so that statistics describe the values
/// pydicom 3's `pixel_array` (and, for PALETTE COLOR, `apply_color_lut`) hands a user:
///
/// - YBR_FULL and YBR_FULL_422 with 8-bit samples become RGB (PS3.3 C.7.6.3.1.2): native
///   4:2:2 data (Y1 Y2 Cb Cr per pair of pixels) is upsampled by repeating each chroma pair,
///   then every pixel is converted as pydicom's `_convert_YBR_FULL_to_RGB` does (float32
///   matrix product, +0.5, floor, clip to 0…255). Decoders that convert themselves (libjpeg for
///   JPEG Baseline/Extended) are left alone.
/// - PALETTE COLOR indices are mapped through the red, green and blue LUTs (PS3.3
///   C.7.6.3.1.5–6; segmented LUTs C.7.9.2): values below the first mapped value take the first
///   entry, values past the last entry take the last one.
///
/// The output is pixel-interleaved RGB counted sample by sample, as RGB PNG/JPEG images are.
package struct FrameColor {
    enum Transform {
        /// `subsampled`: native 4:2:2; `planar`: colour-by-plane (Planar Configuration 1).
        case ybrFull(subsampled: Bool, planar: Bool)
        case palette(PaletteLUT)
    }

    let transform: Transform
    /// The stored samples of a frame.
    let input: SampleLayout
    /// The RGB samples handed to statistics.
    package let output: SampleLayout
    /// Pixels per frame.
    let pixels: Int
    /// Bytes of one stored (decoded, before colour handling) frame.
    package let storedFrameBytes: Int
    package var outputFrameBytes: Int { pixels * 3 * output.kind.size }

    /// How this header's frames are turned into what a pydicom user sees; nil when they are
    /// counted as stored. `native`: uncompressed Pixel Data (4:2:2 is stored subsampled only
    /// there); `decoderConvertsYBR`: the codec already returns RGB.
    package static func plan(_ h: DICOMHeader, tables: ByteSource, input: SampleLayout, pixels: Int,
                             native: Bool, decoderConvertsYBR: Bool) throws -> FrameColor? {
        let samples = max(h.samplesPerPixel ?? 1, 1)
        let output = SampleLayout(kind: .uint8, slope: input.slope, intercept: input.intercept)
        switch h.photometric {
        case "YBR_FULL", "YBR_FULL_422":
            guard samples == 3, !decoderConvertsYBR else { return nil }
            guard input.kind == .uint8 else {
                throw StatsError("\(h.photometric!) with \(input.kind.rawValue) samples: the conversion to RGB (PS3.3 C.7.6.3.1.2) is defined for unsigned 8-bit samples only (pydicom refuses it too)")
            }
            let subsampled = native && h.photometric == "YBR_FULL_422"
            if subsampled, (h.columns ?? 0) % 2 != 0 {
                throw StatsError("YBR_FULL_422 with an odd number of columns (\(h.columns ?? 0)): 4:2:2 pairs need an even width")
            }
            let planar = native && !subsampled && h.planarConfiguration == 1
            return FrameColor(transform: .ybrFull(subsampled: subsampled, planar: planar), input: input, output: output,
                              pixels: pixels, storedFrameBytes: pixels * (subsampled ? 2 : 3))
        case "PALETTE COLOR":
            guard samples == 1 else {
                throw StatsError("PALETTE COLOR with SamplesPerPixel \(samples): palette indices are single samples")
            }
            guard input.kind.size <= 2, input.kind != .float32 else {
                throw StatsError("PALETTE COLOR with \(h.bitsAllocated ?? 0)-bit samples: indices must be 8 or 16 bits")
            }
            let lut = try PaletteLUT(h.tables, source: tables)
            var out = output
            if lut.bits == 16 { out.kind = .uint16 }
            return FrameColor(transform: .palette(lut), input: input, output: out, pixels: pixels,
                              storedFrameBytes: pixels * input.kind.size)
        default:
            return nil
        }
    }

    /// Converts one stored frame (`storedFrameBytes`, in the input layout's byte order) into
    /// `out` (`outputFrameBytes`, host order).
    package func convert(_ frame: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        precondition(frame.count >= storedFrameBytes && out.count >= outputFrameBytes)
        switch transform {
        case .ybrFull(let subsampled, let planar):
            let o = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let f = frame.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let t = YBRTables.shared
            let red = t.red, blue = t.blue, partial = t.greenPartial, crToG = t.crToG
            // Strides of Y, Cb and Cr: interleaved (3, 1, 2 after Y) or planar.
            let step = planar ? 1 : 3, cbAt = planar ? pixels : 1, crAt = planar ? 2 * pixels : 2
            for i in 0..<pixels {
                let y, cb, cr: Int
                if subsampled {
                    let pair = (i >> 1) &* 4
                    y = Int(f[pair &+ (i & 1)]); cb = Int(f[pair &+ 2]); cr = Int(f[pair &+ 3])
                } else {
                    let at = i &* step
                    y = Int(f[at]); cb = Int(f[at &+ cbAt]); cr = Int(f[at &+ crAt])
                }
                let yb = y << 8 | cb
                o[3 &* i] = red[y << 8 | cr]
                o[3 &* i &+ 1] = FrameColor.clip(Float(crToG[cr] + Double(partial[yb])))
                o[3 &* i &+ 2] = blue[yb]
            }
        case .palette(let lut):
            let size = input.kind.size
            let big = input.bigEndian
            func index(_ i: Int) -> Int {
                let raw: UInt64
                if size == 1 {
                    raw = UInt64(frame[i])
                } else {
                    let a = UInt64(frame[2 * i]), b = UInt64(frame[2 * i + 1])
                    raw = big ? a << 8 | b : b << 8 | a
                }
                return lut.index(Int(input.integerValue(raw)))
            }
            if lut.bits == 16 {
                let o = out.bindMemory(to: UInt16.self)
                for i in 0..<pixels {
                    let k = index(i)
                    o[3 * i] = lut.red[k]; o[3 * i + 1] = lut.green[k]; o[3 * i + 2] = lut.blue[k]
                }
            } else {
                let o = out.bindMemory(to: UInt8.self)
                for i in 0..<pixels {
                    let k = index(i)
                    o[3 * i] = UInt8(truncatingIfNeeded: lut.red[k])
                    o[3 * i + 1] = UInt8(truncatingIfNeeded: lut.green[k])
                    o[3 * i + 2] = UInt8(truncatingIfNeeded: lut.blue[k])
                }
            }
        }
    }

    /// The float32 constants of pydicom's YBR_FULL → RGB matrix (rows Y, Cb, Cr; columns R, G,
    /// B), each computed in double precision and rounded to float, as numpy does.
    static let cbToG = Float(-0.114 * 1.772 / 0.587)
    static let crToG = Float(-0.299 * 1.402 / 0.587)
    static let crToR = Float(1.402)
    static let cbToB = Float(1.772)

    /// One pixel, exactly as numpy's float32 `matmul` produces it here (each product added
    /// with a single rounding, in the order Y, Cb, Cr), then `floor(x + 0.5)` clipped to 0…255.
    /// Checked against pydicom 3.0.2 on all 2^24 inputs (ColorTests). Red depends on (Y, Cr)
    /// and blue on (Y, Cb) only, so they come from 64 Ki tables; green from a table of its
    /// (Y, Cb) partial sum plus one multiply-add — the same roundings, a table lookup faster.
    @inline(__always)
    static func rgb(y: UInt8, cb: UInt8, cr: UInt8, _ t: YBRTables = .shared) -> (UInt8, UInt8, UInt8) {
        let yb = Int(y) << 8 | Int(cb), yr = Int(y) << 8 | Int(cr)
        let g = Float(t.crToG[Int(cr)] + Double(t.greenPartial[yb]))
        return (t.red[yr], clip(g), t.blue[yb])
    }

    /// `floor(v + 0.5)` (the sum rounded to float, as numpy adds), clipped to 0…255. The floor is
    /// taken in double after an exact shift by 1024, so it is a truncation, not a libm call.
    @inline(__always)
    static func clip(_ v: Float) -> UInt8 {
        let shifted = Double(v + 0.5) + 1024
        guard shifted > 1024 else { return 0 }
        guard shifted < 1279 else { return 255 }
        return UInt8(Int(shifted) - 1024)
    }

    /// `acc + x·m` with one rounding to float (the product is exact in double).
    @inline(__always)
    static func add(_ acc: Float, _ x: Float, _ m: Float) -> Float {
        Float(Double(x) * Double(m) + Double(acc))
    }
}

/// Lookup tables for `FrameColor.rgb`, built once per process (386 KiB, never freed;
/// immutable after `init`, so shared between workers).
final class YBRTables: @unchecked Sendable {
    static let shared = YBRTables()
    /// Indexed by Y << 8 | Cr.
    let red: UnsafeMutablePointer<UInt8>
    /// Indexed by Y << 8 | Cb.
    let blue: UnsafeMutablePointer<UInt8>
    /// Y + (Cb − 128)·m, rounded to float, indexed by Y << 8 | Cb.
    let greenPartial: UnsafeMutablePointer<Float>
    /// (Cr − 128)·m exactly, by Cr.
    let crToG: UnsafeMutablePointer<Double>

    private init() {
        var red = [UInt8](repeating: 0, count: 65536), blue = red
        var partial = [Float](repeating: 0, count: 65536)
        for y in 0..<256 {
            for c in 0..<256 {
                let fy = Float(y), fc = Float(c - 128)
                red[y << 8 | c] = FrameColor.clip(FrameColor.add(FrameColor.add(fy, fc, 0), fc, FrameColor.crToR))
                blue[y << 8 | c] = FrameColor.clip(FrameColor.add(FrameColor.add(fy, fc, FrameColor.cbToB), fc, 0))
                partial[y << 8 | c] = FrameColor.add(fy, fc, FrameColor.cbToG)
            }
        }
        func keep<T>(_ a: [T]) -> UnsafeMutablePointer<T> {
            let p = UnsafeMutablePointer<T>.allocate(capacity: a.count)
            p.initialize(from: a, count: a.count)
            return p
        }
        self.red = keep(red)
        self.blue = keep(blue)
        greenPartial = keep(partial)
        crToG = keep((0..<256).map { Double(Float($0 - 128)) * Double(FrameColor.crToG) })
    }
}

/// Collects decoded bytes that arrive in pieces of any size into whole stored frames, converts
/// each through a `FrameColor` and hands the result on.
package final class FrameAssembler {
    let color: FrameColor
    var frame: [UInt8]
    var filled = 0
    var out: [UInt8]
    let emit: (UnsafeRawBufferPointer) -> Void

    package init(_ color: FrameColor, emit: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.color = color
        self.emit = emit
        frame = [UInt8](repeating: 0, count: color.storedFrameBytes)
        out = [UInt8](repeating: 0, count: color.outputFrameBytes)
    }

    package func add(_ piece: UnsafeRawBufferPointer) {
        var at = 0
        while at < piece.count {
            let n = min(piece.count - at, frame.count - filled)
            frame.withUnsafeMutableBytes { f in
                f.baseAddress!.advanced(by: filled).copyMemory(from: piece.baseAddress!.advanced(by: at), byteCount: n)
            }
            filled += n
            at += n
            if filled == frame.count { flush() }
        }
    }

    /// One whole frame at once.
    package func convertFrame(_ bytes: UnsafeRawBufferPointer) {
        out.withUnsafeMutableBytes { o in color.convert(bytes, into: o) }
        out.withUnsafeBytes { emit($0) }
    }

    private func flush() {
        frame.withUnsafeBytes { f in out.withUnsafeMutableBytes { o in color.convert(f, into: o) } }
        out.withUnsafeBytes { emit($0) }
        filled = 0
    }
}

/// Red, green and blue Palette Color LUTs, expanded (PS3.3 C.7.6.3.1.5–6, C.7.9.2), read the
/// way pydicom 3.0.2's `apply_color_lut` reads them: the red descriptor rules all three;
/// plain LUT data has 8-bit entries when it holds one byte per entry and 16-bit entries when
/// it holds two; segmented data is read as bytes or words by the descriptor's bit depth.
package struct PaletteLUT {
    /// Entries the descriptor declares (0 means 65536).
    let entries: Int
    /// The stored value mapped to the first entry (may be negative with SS descriptors).
    let firstMapped: Int
    /// 8 or 16 bits per output sample.
    let bits: Int
    let red: [UInt16]
    let green: [UInt16]
    let blue: [UInt16]

    /// Plain LUT data: two bytes per entry at most, plus one pad byte.
    static let maxDataBytes = 2 * 65536 + 1
    /// Segmented LUT data and its expansion are bounded too.
    static let maxSegmentedBytes = 1 << 20
    static let maxExpandedEntries = 1 << 17
    static let maxIndirectDepth = 16

    /// The LUT entry a stored value selects.
    @inline(__always)
    func index(_ value: Int) -> Int {
        value < firstMapped ? 0 : min(value - firstMapped, entries - 1)
    }

    init(_ t: DICOMPixelTables, source src: ByteSource) throws {
        guard let d = t.descriptors[0], d.count == 3 else {
            throw StatsError("PALETTE COLOR without a Red Palette Color Lookup Table Descriptor (0028,1101)")
        }
        entries = d[0] == 0 ? 65536 : d[0]
        firstMapped = d[1]
        let nominal = d[2]
        var tables: [[UInt16]] = []
        if t.data[0] != nil {
            var depth = 0
            for (c, name) in ["Red", "Green", "Blue"].enumerated() {
                guard let r = t.data[c] else {
                    throw StatsError("PALETTE COLOR: \(name) Palette Color Lookup Table Data (0028,120\(c + 1)) missing")
                }
                guard r.length <= PaletteLUT.maxDataBytes else {
                    throw ParseError(.limitExceeded, at: r.offset, "\(name) Palette Color Lookup Table Data holds \(r.length) bytes; 65536 entries of 16 bits need at most 131072")
                }
                // One byte per entry (padded to even) or two (PS3.3 C.7.6.3.1.6).
                let size = r.length == 2 * entries ? 2 : (r.length == entries || r.length == entries + 1) ? 1 : 0
                guard size > 0 else {
                    throw ParseError(.malformed, at: r.offset, "\(name) Palette Color Lookup Table Data holds \(r.length) bytes; \(entries) entries need \(entries) (8-bit) or \(2 * entries) (16-bit)")
                }
                if depth == 0 { depth = size }
                guard size == depth else {
                    throw ParseError(.malformed, at: r.offset, "\(name) Palette Color Lookup Table Data has \(8 * size)-bit entries; Red has \(8 * depth)-bit")
                }
                let bytes = try src.bytes(at: r.offset, count: r.length, "palette LUT data")
                var lut = [UInt16](repeating: 0, count: entries)
                for i in 0..<entries {
                    if size == 1 {
                        lut[i] = UInt16(bytes[i])
                    } else {
                        let a = UInt16(bytes[2 * i]), b = UInt16(bytes[2 * i + 1])
                        lut[i] = t.bigEndian ? a << 8 | b : b << 8 | a
                    }
                }
                tables.append(lut)
            }
            bits = 8 * depth
        } else if t.segmented[0] != nil {
            guard nominal == 8 || nominal == 16 else {
                throw StatsError("PALETTE COLOR: the Red descriptor says \(nominal) bits per entry; segmented LUTs are read as 8 or 16")
            }
            let width = nominal / 8
            for (c, name) in ["Red", "Green", "Blue"].enumerated() {
                guard let r = t.segmented[c] else {
                    throw StatsError("PALETTE COLOR: Segmented \(name) Palette Color Lookup Table Data (0028,122\(c + 1)) missing")
                }
                guard r.length <= PaletteLUT.maxSegmentedBytes else {
                    throw ParseError(.limitExceeded, at: r.offset, "Segmented \(name) Palette Color Lookup Table Data holds \(r.length) bytes (more than \(PaletteLUT.maxSegmentedBytes))")
                }
                let bytes = try src.bytes(at: r.offset, count: r.length, "segmented palette LUT data")
                var words = [Int](repeating: 0, count: r.length / width)
                for i in 0..<words.count {
                    if width == 1 {
                        words[i] = Int(bytes[i])
                    } else {
                        let a = Int(bytes[2 * i]), b = Int(bytes[2 * i + 1])
                        words[i] = t.bigEndian ? a << 8 | b : b << 8 | a
                    }
                }
                var lut: [Int] = []
                _ = try PaletteLUT.expand(words, from: 0, segments: nil, width: width, bigEndian: t.bigEndian,
                                          base: r.offset, depth: 0, into: &lut)
                guard lut.count >= entries else {
                    throw ParseError(.malformed, at: r.offset, "Segmented \(name) Palette Color Lookup Table Data expands to \(lut.count) entries; the descriptor declares \(entries)")
                }
                tables.append(lut.map { UInt16(truncatingIfNeeded: $0) })
            }
            guard tables[1].count == tables[0].count, tables[2].count == tables[0].count else {
                throw StatsError("PALETTE COLOR: the segmented LUTs expand to \(tables.map(\.count)) entries; they must be the same length")
            }
            bits = nominal
        } else {
            throw StatsError("PALETTE COLOR without Palette Color Lookup Table Data (0028,1201) or Segmented data (0028,1221)")
        }
        red = tables[0]; green = tables[1]; blue = tables[2]
    }

    /// Expands segments (PS3.3 C.7.9.2) from `data[start...]` into `lut`, at most `segments`
    /// of them when given (an indirect segment's copy). Discrete (0) appends its values; linear
    /// (1) draws a line from the previous value to its own, rounded half to even as numpy's
    /// `around(linspace(...))` in pydicom does; indirect (2) re-expands earlier segments from a
    /// 32-bit byte offset (low word first). Returns the segments expanded.
    static func expand(_ data: [Int], from start: Int, segments limit: Int?, width: Int, bigEndian: Bool,
                       base: Int, depth: Int, into lut: inout [Int]) throws -> Int {
        guard depth <= maxIndirectDepth else {
            throw ParseError(.limitExceeded, at: base + start * width, "indirect palette LUT segments nested deeper than \(maxIndirectDepth)")
        }
        var o = start
        var done = 0
        func at(_ i: Int) -> Int { base + i * width }
        // `o + 1 < count`: a trailing pad value is not a segment.
        while o + 1 < data.count {
            if let limit, done == limit { break }
            let opcode = data[o], length = data[o + 1]
            switch opcode {
            case 0:
                guard o + 2 + length <= data.count else {
                    throw ParseError(.truncated, at: at(o), "discrete palette LUT segment of \(length) entries runs past the data (\(data.count - o - 2) left)")
                }
                lut.append(contentsOf: data[(o + 2)..<(o + 2 + length)])
                o += 2 + length
            case 1:
                guard let y0 = lut.last else {
                    throw ParseError(.malformed, at: at(o), "a linear palette LUT segment cannot come first")
                }
                guard o + 2 < data.count else {
                    throw ParseError(.truncated, at: at(o), "linear palette LUT segment without its end value")
                }
                guard length > 0 else {
                    throw ParseError(.malformed, at: at(o), "linear palette LUT segment of length 0")
                }
                let y1 = data[o + 2]
                if y0 == y1 {
                    lut.append(contentsOf: repeatElement(y1, count: length))
                } else {
                    // numpy.linspace(y0 + step, y1, length): start + i × ((stop − start) / (n − 1)),
                    // the last value exactly `stop`; then numpy.around (half to even).
                    let step = Double(y1 - y0) / Double(length)
                    let first = Double(y0) + step
                    let inner = length > 1 ? (Double(y1) - first) / Double(length - 1) : 0
                    for i in 0..<length {
                        let v = i == length - 1 && length > 1 ? Double(y1) : Double(i) * inner + first
                        lut.append(Int(v.rounded(.toNearestOrEven)))
                    }
                }
                o += 3
            case 2:
                guard !lut.isEmpty else {
                    throw ParseError(.malformed, at: at(o), "an indirect palette LUT segment cannot come first")
                }
                let offset: Int
                if width == 1 {
                    guard o + 5 < data.count else { throw ParseError(.truncated, at: at(o), "indirect palette LUT segment without its offset") }
                    // Two 16-bit words (low word first) seen as bytes.
                    offset = bigEndian ? data[o + 4] << 24 | data[o + 5] << 16 | data[o + 2] << 8 | data[o + 3]
                        : data[o + 5] << 24 | data[o + 4] << 16 | data[o + 3] << 8 | data[o + 2]
                    o += 6
                } else {
                    guard o + 3 < data.count else { throw ParseError(.truncated, at: at(o), "indirect palette LUT segment without its offset") }
                    offset = data[o + 3] << 16 | data[o + 2]
                    o += 4
                }
                // A byte offset from the start of the segmented data (PS3.3 C.7.9.2.3).
                guard offset % width == 0, offset / width < data.count else {
                    throw ParseError(.malformed, at: at(o), "indirect palette LUT segment points at byte \(offset), outside the \(data.count * width)-byte data")
                }
                let copied = try expand(data, from: offset / width, segments: length, width: width, bigEndian: bigEndian,
                                        base: base, depth: depth + 1, into: &lut)
                guard copied == length else {
                    throw ParseError(.malformed, at: at(o), "indirect palette LUT segment copies \(length) segments; \(copied) follow its offset")
                }
            default:
                throw ParseError(.malformed, at: at(o), "unknown palette LUT segment opcode \(opcode)")
            }
            guard lut.count <= maxExpandedEntries else {
                throw ParseError(.limitExceeded, at: at(o), "segmented palette LUT expands past \(maxExpandedEntries) entries")
            }
            done += 1
        }
        return done
    }
}
