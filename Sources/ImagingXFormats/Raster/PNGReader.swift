import ImagingXBytes
import ImagingXModel
import CZlib

/// PNG header facts from IHDR, pHYs and tRNS (PNG 3rd ed. §11.2.1, §11.3.5.3, §11.3.2.1). Chunks
/// are walked by their lengths up to the first IDAT; no image data is read.
package enum PNGReader {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    package static func sniff(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 8 else { return false }
        for i in 0..<8 where b[i] != signature[i] { return false }
        return true
    }

    static func chunkName(_ type: UInt32) -> String {
        let bytes = [UInt8(type >> 24 & 0xFF), UInt8(type >> 16 & 0xFF), UInt8(type >> 8 & 0xFF), UInt8(type & 0xFF)]
        return bytes.allSatisfy({ (0x20...0x7E).contains($0) }) ? String(decoding: bytes, as: UTF8.self) : "0x" + String(type, radix: 16)
    }

    static let IHDR: UInt32 = 0x4948_4452
    static let PLTE: UInt32 = 0x504C_5445
    static let IDAT: UInt32 = 0x4944_4154
    static let IEND: UInt32 = 0x4945_4E44
    static let pHYs: UInt32 = 0x7048_5973
    static let tRNS: UInt32 = 0x7452_4E53

    /// Reads the chunks before the first IDAT. Throws when the file cannot be read; what is odd
    /// but readable comes back as the header's findings.
    package static func parse(_ src: ByteSource) throws(ParseError) -> PNGHeader {
        var h = PNGHeader()
        var pos = 8
        var sawIHDR = false
        while true {
            let head = try src.bytes(at: pos, count: 8, "chunk header")
            let length = Int(UInt32(bigEndian: head.loadUnaligned(as: UInt32.self)))
            let type = UInt32(bigEndian: head.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            guard length <= 0x7FFF_FFFF else {
                throw ParseError(.malformed, at: pos, "chunk length \(length) exceeds 2^31−1")
            }
            guard src.has(length + 4, at: pos + 8) else {
                throw .truncated(at: pos + 8, need: length + 4, have: src.size - pos - 8, "chunk \(chunkName(type))")
            }
            if !sawIHDR {
                guard type == IHDR else {
                    throw ParseError(.malformed, at: pos, "first chunk is \(chunkName(type)), not IHDR")
                }
                guard length == 13 else {
                    throw ParseError(.malformed, at: pos, "IHDR length is \(length), not 13")
                }
                let chunk = try src.bytes(at: pos + 4, count: 4 + 13 + 4, "IHDR")
                let declared = UInt32(bigEndian: chunk.loadUnaligned(fromByteOffset: 17, as: UInt32.self))
                let computed = UInt32(crc32(0, chunk.baseAddress!.assumingMemoryBound(to: Bytef.self), 17))
                guard declared == computed else {
                    throw ParseError(.malformed, at: pos + 21, "IHDR CRC is 0x\(String(declared, radix: 16)), computed 0x\(String(computed, radix: 16))")
                }
                let width = Int(UInt32(bigEndian: chunk.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
                let height = Int(UInt32(bigEndian: chunk.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
                let bitDepth = Int(chunk[12])
                let colorType = Int(chunk[13])
                let compression = chunk[14], filter = chunk[15], interlace = chunk[16]
                guard width > 0, height > 0, width <= 0x7FFF_FFFF, height <= 0x7FFF_FFFF else {
                    throw ParseError(.malformed, at: pos + 8, "IHDR size \(width)×\(height) is outside 1…2^31−1")
                }
                let allowed: [Int]
                switch colorType {
                case 0: allowed = [1, 2, 4, 8, 16]
                case 3: allowed = [1, 2, 4, 8]
                case 2, 4, 6: allowed = [8, 16]
                default:
                    throw ParseError(.malformed, at: pos + 17, "IHDR colour type \(colorType) is not 0, 2, 3, 4 or 6")
                }
                guard allowed.contains(bitDepth) else {
                    throw ParseError(.malformed, at: pos + 16, "bit depth \(bitDepth) is not allowed with colour type \(colorType)")
                }
                guard compression == 0, filter == 0, interlace <= 1 else {
                    throw ParseError(.malformed, at: pos + 18, "IHDR compression \(compression), filter \(filter), interlace \(interlace) not defined")
                }
                h.width = width
                h.height = height
                h.bitDepth = bitDepth
                h.colorType = colorType
                h.interlaced = interlace == 1
                sawIHDR = true
            } else if type == pHYs {
                if length == 9 {
                    let d = try src.bytes(at: pos + 8, count: 9, "pHYs")
                    let ppuX = UInt32(bigEndian: d.loadUnaligned(as: UInt32.self))
                    let ppuY = UInt32(bigEndian: d.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                    if d[8] == 1, ppuX > 0, ppuY > 0 {
                        h.pixelsPerMetre = (ppuX, ppuY)
                    } else if d[8] == 1 {
                        h.findings.append(Finding(.physZero, .warning, "pHYs gives 0 pixels per metre"))
                    } else {
                        h.findings.append(Finding(.physAspectOnly, .info, "pHYs unit is unknown: pixel aspect ratio only"))
                    }
                } else {
                    h.findings.append(Finding(.physLength, .warning, "pHYs chunk has length \(length), not 9"))
                }
            } else if type == tRNS {
                h.hasTransparency = true
            } else if type == IDAT || type == IEND {
                break
            }
            pos += 12 + length
        }
        if h.colorType == 3 {
            // PNGRecord.fill shows palette indices as the RGB(A) they expand to: say so.
            h.findings.append(Finding(.palette, .info, "palette image: \(h.bitDepth)-bit indices into RGB\(h.hasTransparency ? "A" : "")"))
        }
        return h
    }
}
