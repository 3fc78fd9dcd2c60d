import CImagingCodecs

/// JPEG-LS codestreams encoded with CharLS and JPEG 2000 codestreams encoded with OpenJPEG
/// (Sources/CImagingCodecs/jls_j2k.c), for fixtures, tests and the generated conformance corpus.
public enum CodecBuilder {
    /// `samples`: pixel-interleaved (planar when interleave is 0 and components > 1) unsigned
    /// sample values of `bits` bits.
    public static func jpegLS(width: Int, height: Int, components: Int = 1, bits: Int, near: Int = 0,
                              interleave: Int = 2, samples: [UInt16]) throws -> [UInt8] {
        let bytes: [UInt8] = bits <= 8 ? samples.map { UInt8(truncatingIfNeeded: $0) }
            : samples.withUnsafeBytes { Array($0) }
        return try call { out, size, message, messageSize in
            bytes.withUnsafeBytes {
                ixc_jls_encode($0.baseAddress, Int32(width), Int32(height), Int32(components), Int32(bits), Int32(near),
                               Int32(interleave), out, size, message, messageSize)
            }
        }
    }

    /// A J2K codestream. `values`: pixel-interleaved component values (signed when `signed`).
    /// `ratio` 0 → reversible 5/3 (lossless); > 0 → irreversible 9/7 at ratio:1.
    public static func jpeg2000(width: Int, height: Int, components: Int = 1, precision: Int, signed: Bool,
                                ratio: Float = 0, mct: Bool = false, values: [Int32]) throws -> [UInt8] {
        try call { out, size, message, messageSize in
            values.withUnsafeBufferPointer {
                ixc_j2k_encode($0.baseAddress, Int32(width), Int32(height), Int32(components), Int32(precision),
                               signed ? 1 : 0, ratio > 0 ? 1 : 0, ratio, mct ? 1 : 0, out, size, message, messageSize)
            }
        }
    }

    private static func call(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>, UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = message.withUnsafeMutableBufferPointer { body(&out, &size, $0.baseAddress!, $0.count) }
        defer { ixc_free(out) }
        guard status == 0, let out else {
            throw CodecError(description: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }
}

/// DICOM objects with JPEG-LS and JPEG 2000 Pixel Data.
public enum CodecFixtures {
    public static let jpegLSLossless = "1.2.840.10008.1.2.4.80"
    public static let jpegLSNearLossless = "1.2.840.10008.1.2.4.81"
    public static let jpeg2000Lossless = "1.2.840.10008.1.2.4.90"
    public static let jpeg2000 = "1.2.840.10008.1.2.4.91"

    /// A secondary-capture object holding `frames` (one fragment each, or `split` fragments for
    /// a single frame).
    public static func dicom(syntax: String, frames: [[UInt8]], columns: Int, rows: Int, samplesPerPixel: Int = 1,
                             bitsAllocated: Int, bitsStored: Int, signed: Bool, photometric: String? = nil,
                             rescale: (slope: Double, intercept: Double)? = nil, split: Int = 1) -> [UInt8] {
        var fragments = frames
        if split > 1, frames.count == 1 {
            let f = frames[0]
            var step = (f.count + split - 1) / split
            step += step % 2  // fragments of even length: only the last may be padded
            fragments = stride(from: 0, to: f.count, by: step).map { Array(f[$0..<min(f.count, $0 + step)]) }
        }
        var elements: [DICOMElement] = [
            .text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.7"),
            .text(0x0008_0060, "CS", "OT"),
            .us(0x0028_0002, UInt16(samplesPerPixel)),
            .text(0x0028_0004, "CS", photometric ?? (samplesPerPixel == 3 ? "RGB" : "MONOCHROME2")),
        ]
        if samplesPerPixel > 1 { elements.append(.us(0x0028_0006, 0)) }
        if frames.count > 1 { elements.append(.text(0x0028_0008, "IS", String(frames.count))) }
        elements += [
            .us(0x0028_0010, UInt16(rows)),
            .us(0x0028_0011, UInt16(columns)),
            .us(0x0028_0100, UInt16(bitsAllocated)),
            .us(0x0028_0101, UInt16(bitsStored)),
            .us(0x0028_0102, UInt16(bitsStored - 1)),
            .us(0x0028_0103, signed ? 1 : 0),
        ]
        if let rescale {
            elements.append(.text(0x0028_1052, "DS", CTSliceSpec.ds([rescale.intercept])))
            elements.append(.text(0x0028_1053, "DS", CTSliceSpec.ds([rescale.slope])))
        }
        elements.append(DICOMElement(0x7FE0_0010, "OB", .encapsulated(fragments)))
        var b = DICOMBuilder(syntax: .encapsulated(syntax), elements: elements)
        b.sopClassUID = "1.2.840.10008.5.1.4.1.1.7"
        return b.encode()
    }

    /// A generated variant: the file, and for lossless codings the values pydicom returns.
    public struct Variant: Sendable {
        public var name: String
        public var bytes: [UInt8]
        /// Every frame's values in the order decoded (nil for lossy codings).
        public var values: [Int]?
        /// Lossy codings: the largest error allowed per sample (JPEG-LS NEAR), or nil (J2K 9/7).
        public var nearBound: Int?
        public var original: [Int]
    }

    /// Test image values in [lo, hi]: a ramp with seeded noise, both extremes present.
    public static func pattern(count: Int, lo: Int, hi: Int, seed: UInt64) -> [Int] {
        var rng = SampleData.Random(seed: seed)
        let span = hi - lo
        var v = (0..<count).map { i -> Int in
            let ramp = span * (i % 97) / 96
            let noise = Int(rng.next() % UInt64(max(span / 16, 1) + 1)) - span / 32
            return min(hi, max(lo, ramp + lo + noise))
        }
        if count >= 2 { v[0] = lo; v[count - 1] = hi }
        return v
    }

    /// Every variant of the generated corpus: JPEG-LS 8/12/16-bit, signed and unsigned, 1 and 3
    /// components in each interleave mode, NEAR > 0, multi-frame; JPEG 2000 5/3 and 9/7 at 8/12/16
    /// bits, signed and unsigned codestreams (also disagreeing with Pixel Representation), RGB
    /// with and without the component transform, multi-frame and a frame split in fragments.
    public static func variants() throws -> [Variant] {
        var out: [Variant] = []
        let w = 40, h = 24, n = w * h
        var seed: UInt64 = 100
        func next() -> UInt64 { seed += 1; return seed }

        // JPEG-LS, one component: (bits, signed, near, frames)
        for (bits, signed, near, frames) in [(8, false, 0, 1), (12, false, 0, 1), (16, false, 0, 1), (12, true, 0, 1),
                                             (16, true, 0, 1), (8, true, 0, 1), (8, false, 2, 1), (16, false, 3, 1),
                                             (12, true, 1, 1), (12, false, 0, 3)] {
            let lo = signed ? -(1 << (bits - 1)) : 0, hi = signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1
            var codestreams: [[UInt8]] = []
            var all: [Int] = []
            for _ in 0..<frames {
                let values = pattern(count: n, lo: lo, hi: hi, seed: next())
                let stored = values.map { UInt16(truncatingIfNeeded: $0 & ((1 << bits) - 1)) }
                codestreams.append(try CodecBuilder.jpegLS(width: w, height: h, bits: bits, near: near, samples: stored))
                all += values
            }
            let allocated = bits <= 8 ? 8 : 16
            let file = dicom(syntax: near > 0 ? jpegLSNearLossless : jpegLSLossless, frames: codestreams, columns: w, rows: h,
                             bitsAllocated: allocated, bitsStored: bits, signed: signed,
                             rescale: bits == 16 && signed ? (1, -1024) : nil)
            let name = "jls-\(bits)bit-\(signed ? "signed" : "unsigned")" + (near > 0 ? "-near\(near)" : "") + (frames > 1 ? "-\(frames)frames" : "")
            out.append(Variant(name: name, bytes: file, values: near > 0 ? nil : all, nearBound: near > 0 ? near : nil, original: all))
        }
        // JPEG-LS, RGB, 8 bits, each interleave mode; one lossy.
        for (interleave, near) in [(0, 0), (1, 0), (2, 0), (2, 4)] {
            let values = pattern(count: n * 3, lo: 0, hi: 255, seed: next())
            var samples = values.map { UInt16($0) }
            if interleave == 0 {  // planes
                samples = (0..<3).flatMap { c in (0..<n).map { UInt16(values[$0 * 3 + c]) } }
            }
            let cs = try CodecBuilder.jpegLS(width: w, height: h, components: 3, bits: 8, near: near, interleave: interleave, samples: samples)
            let file = dicom(syntax: near > 0 ? jpegLSNearLossless : jpegLSLossless, frames: [cs], columns: w, rows: h,
                             samplesPerPixel: 3, bitsAllocated: 8, bitsStored: 8, signed: false)
            let mode = ["none", "line", "sample"][interleave]
            out.append(Variant(name: "jls-rgb-\(mode)" + (near > 0 ? "-near\(near)" : ""), bytes: file,
                               values: near > 0 ? nil : values, nearBound: near > 0 ? near : nil, original: values))
        }

        // JPEG 2000, one component: (precision, dicomSigned, codestreamSigned, ratio, frames, split)
        for (bits, signed, csSigned, ratio, frames, split) in [
            (8, false, false, Float(0), 1, 1), (12, false, false, 0, 1, 1), (16, false, false, 0, 1, 1),
            (16, true, true, 0, 1, 1), (12, true, true, 0, 1, 1), (13, true, false, 0, 1, 1), (12, false, true, 0, 1, 1),
            (16, true, true, 8, 1, 1), (12, false, false, 6, 1, 1), (8, false, false, 5, 1, 1),
            (16, true, true, 0, 3, 1), (12, false, false, 0, 1, 3),
        ] {
            let lo = signed ? -(1 << (bits - 1)) : 0, hi = signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1
            var codestreams: [[UInt8]] = []
            var all: [Int] = []
            for _ in 0..<frames {
                let values = pattern(count: n, lo: lo, hi: hi, seed: next())
                // The codestream's own view of the same bits (pydicom's correction undoes a mismatch).
                let mask = (1 << bits) - 1
                let coded = values.map { v -> Int32 in
                    let low = v & mask
                    return Int32(csSigned && low >= 1 << (bits - 1) ? low - (1 << bits) : low)
                }
                codestreams.append(try CodecBuilder.jpeg2000(width: w, height: h, precision: bits, signed: csSigned,
                                                             ratio: ratio, values: coded))
                all += values
            }
            let allocated = bits <= 8 ? 8 : 16
            let file = dicom(syntax: ratio > 0 ? jpeg2000 : jpeg2000Lossless, frames: codestreams, columns: w, rows: h,
                             bitsAllocated: allocated, bitsStored: bits, signed: signed,
                             rescale: bits == 16 && signed ? (0.5, -100) : nil, split: split)
            var name = "j2k-\(bits)bit-\(signed ? "signed" : "unsigned")"
            if csSigned != signed { name += "-codestream-\(csSigned ? "signed" : "unsigned")" }
            name += ratio > 0 ? "-97-ratio\(Int(ratio))" : "-53"
            if frames > 1 { name += "-\(frames)frames" }
            if split > 1 { name += "-\(split)fragments" }
            out.append(Variant(name: name, bytes: file, values: ratio > 0 ? nil : all, nearBound: nil, original: all))
        }
        // JPEG 2000 RGB: RCT (YBR_RCT), no transform (RGB), ICT lossy (YBR_ICT).
        for (mct, ratio, photometric) in [(true, Float(0), "YBR_RCT"), (false, 0, "RGB"), (true, 6, "YBR_ICT")] {
            let values = pattern(count: n * 3, lo: 0, hi: 255, seed: next())
            let cs = try CodecBuilder.jpeg2000(width: w, height: h, components: 3, precision: 8, signed: false, ratio: ratio,
                                               mct: mct, values: values.map { Int32($0) })
            let file = dicom(syntax: ratio > 0 ? jpeg2000 : jpeg2000Lossless, frames: [cs], columns: w, rows: h, samplesPerPixel: 3,
                             bitsAllocated: 8, bitsStored: 8, signed: false, photometric: photometric)
            out.append(Variant(name: "j2k-rgb-\(photometric.lowercased())" + (ratio > 0 ? "-97" : "-53"), bytes: file,
                               values: ratio > 0 ? nil : values, nearBound: nil, original: values))
        }
        return out
    }
}

extension CodecFixtures {
    /// The codec benchmark corpus (scripts/bench_codecs.py): `count` 512×512 CT-like slices
    /// (12 bits stored in 16, intercept −1024) each as JPEG-LS lossless, JPEG 2000 5/3 and
    /// JPEG 2000 9/7 (ratio 10), and `count` 512×512 8-bit RGB images as JPEG-LS.
    public static func benchCorpus(count: Int) throws -> [(folder: String, name: String, bytes: [UInt8])] {
        var out: [(String, String, [UInt8])] = []
        let w = 512, h = 512
        var rng = SampleData.Random(seed: 2024)
        for i in 0..<count {
            var ct = [Int](repeating: 24, count: w * h)
            for y in 64..<h {
                for x in 0..<w {
                    let noise = Int(rng.next() % 201) + Int(rng.next() % 201) + Int(rng.next() % 201) - 300
                    let body = (x - 256) * (x - 256) + (y - 288) * (y - 288) < 200 * 200 ? 1064 : 24
                    ct[y * w + x] = min(4095, max(0, body + noise))
                }
            }
            let jls = try CodecBuilder.jpegLS(width: w, height: h, bits: 12, samples: ct.map { UInt16($0) })
            let j53 = try CodecBuilder.jpeg2000(width: w, height: h, precision: 12, signed: false, values: ct.map { Int32($0) })
            let j97 = try CodecBuilder.jpeg2000(width: w, height: h, precision: 12, signed: false, ratio: 10, values: ct.map { Int32($0) })
            for (folder, syntax, cs) in [("jls-ct", jpegLSLossless, jls), ("j2k-ct-53", jpeg2000Lossless, j53), ("j2k-ct-97", jpeg2000, j97)] {
                out.append((folder, "s\(i).dcm", dicom(syntax: syntax, frames: [cs], columns: w, rows: h, bitsAllocated: 16,
                                                         bitsStored: 12, signed: false, rescale: (1, -1024))))
            }
            var rgb = [UInt16](repeating: 0, count: w * h * 3)
            for p in 0..<(w * h) {
                let x = p % w, y = p / w
                rgb[p * 3] = UInt16((x + i) & 255)
                rgb[p * 3 + 1] = UInt16((y * 2) & 255)
                rgb[p * 3 + 2] = UInt16((x ^ y) & 255 / 2 + Int(rng.next() % 64))
            }
            let jrgb = try CodecBuilder.jpegLS(width: w, height: h, components: 3, bits: 8, samples: rgb)
            out.append(("jls-rgb", "s\(i).dcm", dicom(syntax: jpegLSLossless, frames: [jrgb], columns: w, rows: h, samplesPerPixel: 3,
                                                      bitsAllocated: 8, bitsStored: 8, signed: false)))
        }
        return out
    }
}
