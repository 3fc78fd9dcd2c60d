import ImagingXBytes
import ImagingXModel
/// JPEG header facts (ITU-T T.81 Annex B): the frame header (SOFn) for size, precision,
/// components and coding process, and resolution from JFIF APP0 or Exif APP1. Segments are
/// walked by their lengths up to the first SOF; entropy-coded data is never read.
package enum JPEGReader {
    package static func sniff(_ b: UnsafeRawBufferPointer) -> Bool {
        b.count >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF
    }

    /// SOFn markers (T.81 Table B.1) → coding process.
    static func process(_ marker: UInt8) -> String? {
        switch marker {
        case 0xC0: "baseline"
        case 0xC1: "extended"
        case 0xC2: "progressive"
        case 0xC3: "lossless"
        case 0xC5: "extended-hierarchical"
        case 0xC6: "progressive-hierarchical"
        case 0xC7: "lossless-hierarchical"
        case 0xC9: "extended-arithmetic"
        case 0xCA: "progressive-arithmetic"
        case 0xCB: "lossless-arithmetic"
        case 0xCD: "extended-hierarchical-arithmetic"
        case 0xCE: "progressive-hierarchical-arithmetic"
        case 0xCF: "lossless-hierarchical-arithmetic"
        default: nil
        }
    }

    /// Reads the segments up to the first frame header. Throws when the file cannot be read;
    /// what is odd but readable comes back as the header's findings.
    package static func parse(_ src: ByteSource) throws(ParseError) -> JPEGHeader {
        var findings: [Finding] = []
        var pos = 2
        // Millimetres per pixel; .some(nil): the segment is there without a physical unit.
        var jfifSpacing: (Double, Double)??
        var exifSpacing: (Double, Double)??
        while true {
            var marker = try src.u8(pos, "marker")
            guard marker == 0xFF else {
                throw ParseError(.malformed, at: pos, "expected a marker (0xFF), found 0x\(String(marker, radix: 16))")
            }
            // Fill bytes: any number of 0xFF may precede a marker (T.81 §B.1.1.2).
            repeat {
                pos += 1
                marker = try src.u8(pos, "marker")
            } while marker == 0xFF
            pos += 1
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }  // no length
            if marker == 0xD8 {
                throw ParseError(.malformed, at: pos - 2, "second SOI marker before any frame header")
            }
            if marker == 0xD9 || marker == 0xDA {
                throw ParseError(.malformed, at: pos - 2, marker == 0xD9 ? "EOI before any frame header" : "scan (SOS) before any frame header")
            }
            let length = Int(try src.u16(pos, bigEndian: true, "segment length"))
            guard length >= 2 else {
                throw ParseError(.malformed, at: pos, "segment length \(length) is below 2")
            }
            guard src.has(length, at: pos) else {
                throw .truncated(at: pos, need: length, have: src.size - pos, "segment 0xFF\(String(marker, radix: 16, uppercase: true))")
            }
            if let process = process(marker) {
                guard length >= 8 else { throw ParseError(.malformed, at: pos, "frame header length \(length) is below 8") }
                let sof = try src.bytes(at: pos + 2, count: 6, "frame header")
                let precision = Int(sof[0])
                let height = Int(UInt16(sof[1]) << 8 | UInt16(sof[2]))
                let width = Int(UInt16(sof[3]) << 8 | UInt16(sof[4]))
                let components = Int(sof[5])
                guard width > 0 else { throw ParseError(.malformed, at: pos + 5, "frame width is 0") }
                guard components > 0, length >= 8 + 3 * components else {
                    throw ParseError(.malformed, at: pos + 7, "frame header declares \(components) components in \(length) bytes")
                }
                if height == 0 {
                    findings.append(Finding(.heightInDnl, .warning, "frame height 0: defined by a DNL marker after the first scan"))
                }
                if components == 4 { findings.append(Finding(.cmyk, .info, "4 components: CMYK or YCCK")) }
                // Resolution from the APPn segments before the frame: JFIF first, then Exif.
                var spacing: (x: Double, y: Double)?
                if let jfif = jfifSpacing, let s = jfif {
                    spacing = s
                } else if let exif = exifSpacing, let s = exif {
                    spacing = s
                } else if jfifSpacing != nil || exifSpacing != nil {
                    findings.append(Finding(.densityAspectOnly, .info, "JFIF/Exif density has no physical unit"))
                }
                return JPEGHeader(sofMarker: marker, coding: process, precision: precision, height: height, width: width,
                                  components: components, millimetresPerPixel: spacing, findings: findings)
            }
            if marker == 0xE0, jfifSpacing == nil, length >= 16 {
                let d = try src.bytes(at: pos + 2, count: 14, "APP0")
                if d[0] == 0x4A, d[1] == 0x46, d[2] == 0x49, d[3] == 0x46, d[4] == 0 {  // "JFIF\0"
                    let units = d[7]
                    let x = Double(UInt16(d[8]) << 8 | UInt16(d[9]))
                    let y = Double(UInt16(d[10]) << 8 | UInt16(d[11]))
                    let perUnit: Double? = units == 1 ? 25.4 : units == 2 ? 10 : nil  // mm per inch / cm
                    if let perUnit, x > 0, y > 0 { jfifSpacing = .some((perUnit / x, perUnit / y)) } else { jfifSpacing = .some(nil) }
                }
            } else if marker == 0xE1, exifSpacing == nil, length >= 16 {
                exifSpacing = .some(try exifResolution(src, at: pos + 2, length: length - 2))
            }
            pos += length
        }
    }

    /// XResolution / YResolution / ResolutionUnit from IFD0 of an Exif APP1 (Exif 2.3 §4.6.4;
    /// TIFF 6.0 tags 282, 283, 296). nil when absent or unitless.
    static func exifResolution(_ src: ByteSource, at start: Int, length: Int) throws(ParseError) -> (Double, Double)? {
        let d = try src.bytes(at: start, count: length, "APP1")
        guard length >= 14, d[0] == 0x45, d[1] == 0x78, d[2] == 0x69, d[3] == 0x66, d[4] == 0, d[5] == 0 else { return nil }
        let tiff = 6
        let big: Bool
        if d[tiff] == 0x4D, d[tiff + 1] == 0x4D { big = true } else if d[tiff] == 0x49, d[tiff + 1] == 0x49 { big = false } else { return nil }
        func u16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= length else { return nil }
            let v = d.loadUnaligned(fromByteOffset: o, as: UInt16.self)
            return Int(big ? UInt16(bigEndian: v) : UInt16(littleEndian: v))
        }
        func u32(_ o: Int) -> Int? {
            guard o >= 0, o + 4 <= length else { return nil }
            let v = d.loadUnaligned(fromByteOffset: o, as: UInt32.self)
            return Int(big ? UInt32(bigEndian: v) : UInt32(littleEndian: v))
        }
        func rational(_ o: Int) -> Double? {
            guard let n = u32(tiff + o), let q = u32(tiff + o + 4), q != 0 else { return nil }
            return Double(n) / Double(q)
        }
        guard let ifd = u32(tiff + 4), let count = u16(tiff + ifd) else { return nil }
        var xRes: Double?, yRes: Double?
        var unit = 2  // TIFF default: inches
        for i in 0..<min(count, 512) {
            let entry = tiff + ifd + 2 + i * 12
            guard let tag = u16(entry), let type = u16(entry + 2) else { break }
            switch tag {
            case 0x011A where type == 5: xRes = u32(entry + 8).flatMap(rational)
            case 0x011B where type == 5: yRes = u32(entry + 8).flatMap(rational)
            case 0x0128 where type == 3: unit = u16(entry + 8) ?? 2
            default: break
            }
        }
        let perUnit: Double? = unit == 2 ? 25.4 : unit == 3 ? 10 : nil
        guard let perUnit, let xRes, xRes > 0 else { return nil }
        let y = yRes.flatMap { $0 > 0 ? $0 : nil } ?? xRes
        return (perUnit / xRes, perUnit / y)
    }
}
