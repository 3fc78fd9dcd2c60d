import ImagingXBytes
import ImagingXModel
import ImagingXFormats
/// Encapsulated Pixel Data (PS3.5 §A.4): a Basic Offset Table item, then fragments, then a
/// Sequence Delimitation Item. Always little-endian.
package enum EncapsulatedPixelData {
    package struct Fragment { var offset: Int; var length: Int }

    static let itemTag: UInt32 = 0xE000_FFFE        // (FFFE,E000) read as a little-endian UInt32
    static let delimiterTag: UInt32 = 0xE0DD_FFFE   // (FFFE,E0DD)
    static let maxFragments = 1 << 20

    /// Every item (Basic Offset Table first, then the fragments) up to the Sequence
    /// Delimitation Item; throws `.truncated` with the offset if the file ends before it.
    static func items(_ src: ByteSource, at start: Int) throws(ParseError) -> [Fragment] {
        var pos = start
        var items: [Fragment] = []
        while true {
            guard src.has(8, at: pos) else {
                throw .truncated(at: pos, need: 8, have: src.size - pos, "encapsulated Pixel Data item (no Sequence Delimitation Item)")
            }
            let tag = try src.u32(pos, bigEndian: false, "item tag")
            let length = Int(try src.u32(pos + 4, bigEndian: false, "item length"))
            if tag == delimiterTag { break }
            guard tag == itemTag else {
                throw ParseError(.malformed, at: pos, "expected an item (FFFE,E000) in encapsulated Pixel Data, found tag 0x\(String(tag, radix: 16))")
            }
            guard length != 0xFFFF_FFFF, src.has(length, at: pos + 8) else {
                throw .truncated(at: pos + 8, need: length, have: src.size - pos - 8, "encapsulated Pixel Data fragment")
            }
            items.append(Fragment(offset: pos + 8, length: length))
            guard items.count <= maxFragments else {
                throw ParseError(.limitExceeded, at: pos, "more than \(maxFragments) Pixel Data fragments")
            }
            pos += 8 + length
        }
        return items
    }

    /// Whether the encapsulated Pixel Data at `start` is complete: fast when the file ends with
    /// the Sequence Delimitation Item (the usual layout), else by walking the items.
    static func checkComplete(_ src: ByteSource, at start: Int) throws(ParseError) {
        let size = src.size
        if size - start >= 16, try src.u32(size - 8, bigEndian: false, "file end") == delimiterTag,
           try src.u32(size - 4, bigEndian: false, "file end") == 0 {
            return
        }
        _ = try items(src, at: start)
    }

    /// The fragments of each frame.
    static func frames(_ src: ByteSource, at start: Int, frames: Int) throws(ParseError) -> [[Fragment]] {
        let items = try items(src, at: start)
        guard let table = items.first else {
            throw ParseError(.malformed, at: start, "encapsulated Pixel Data without a Basic Offset Table item")
        }
        let fragments = Array(items.dropFirst())
        guard !fragments.isEmpty else { throw ParseError(.malformed, at: start, "encapsulated Pixel Data holds no fragments") }
        if frames == 1 { return [fragments] }
        if fragments.count == frames { return fragments.map { [$0] } }
        // The Basic Offset Table: one offset per frame, from the first fragment's item tag.
        if table.length == 4 * frames {
            let origin = fragments[0].offset - 8
            var starts: [Int] = []
            for i in 0..<frames { starts.append(origin + Int(try src.u32(table.offset + 4 * i, bigEndian: false, "offset table"))) }
            var result: [[Fragment]] = Array(repeating: [], count: frames)
            var f = 0
            for frag in fragments {
                while f + 1 < frames, frag.offset - 8 >= starts[f + 1] { f += 1 }
                result[f].append(frag)
            }
            if !result.contains(where: \.isEmpty) { return result }
        }
        // No usable table: a frame starts at each fragment that opens with a JPEG / JPEG-LS SOI
        // or a JPEG 2000 SOC marker.
        var result: [[Fragment]] = []
        for frag in fragments {
            let marker = frag.length >= 2 ? try src.u16(frag.offset, bigEndian: true, "fragment") : 0
            let soi = marker == 0xFFD8 || marker == 0xFF4F
            if soi || result.isEmpty { result.append([frag]) } else { result[result.count - 1].append(frag) }
        }
        guard result.count == frames else {
            throw ParseError(.malformed, at: start, "\(fragments.count) fragments cannot be split into \(frames) frames (no usable offset table)")
        }
        return result
    }

    /// The bytes of one frame, contiguous (fragments joined when a frame spans several).
    static func withFrame<T>(_ src: ByteSource, _ fragments: [Fragment], _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        if fragments.count == 1 {
            return try body(try src.bytes(at: fragments[0].offset, count: fragments[0].length, "frame"))
        }
        var joined: [UInt8] = []
        joined.reserveCapacity(fragments.reduce(0) { $0 + $1.length })
        for f in fragments { joined += try src.bytes(at: f.offset, count: f.length, "fragment") }
        return try joined.withUnsafeBytes { try body($0) }
    }
}

/// DICOM RLE Lossless (PS3.5 Annex G): per frame a 64-byte header (segment count and 15
/// offsets), then one PackBits segment per byte plane: for each sample, most significant byte
/// first.
package enum RLEDecoder {
    /// Decodes one frame into `frame` as interleaved little-endian samples.
    static func decode(_ src: ByteSource, _ fragments: [EncapsulatedPixelData.Fragment], into frame: inout [UInt8],
                       columns: Int, rows: Int, samples: Int, bytesPerSample: Int) throws {
        try EncapsulatedPixelData.withFrame(src, fragments) { data in
            let base = fragments[0].offset
            guard data.count >= 64 else {
                throw ParseError(.truncated, at: base, "RLE frame shorter than its 64-byte header")
            }
            let count = Int(UInt32(littleEndian: data.loadUnaligned(as: UInt32.self)))
            guard count == samples * bytesPerSample else {
                throw ParseError(.malformed, at: base, "RLE header lists \(count) segments; \(samples) samples of \(bytesPerSample) bytes need \(samples * bytesPerSample)")
            }
            let pixels = columns * rows
            try frame.withUnsafeMutableBytes { out in
                for seg in 0..<count {
                    let start = Int(UInt32(littleEndian: data.loadUnaligned(fromByteOffset: 4 + 4 * seg, as: UInt32.self)))
                    let end = seg + 1 < count ? Int(UInt32(littleEndian: data.loadUnaligned(fromByteOffset: 8 + 4 * seg, as: UInt32.self))) : data.count
                    guard start >= 64, start <= end, end <= data.count else {
                        throw ParseError(.malformed, at: base + 4 + 4 * seg, "RLE segment \(seg + 1) offsets \(start)…\(end) lie outside the frame (\(data.count) bytes)")
                    }
                    let sample = seg / bytesPerSample
                    let byte = bytesPerSample - 1 - seg % bytesPerSample
                    let stride = samples * bytesPerSample
                    var o = sample * bytesPerSample + byte
                    var produced = 0
                    var i = start
                    while produced < pixels, i < end {
                        let n = Int(Int8(bitPattern: data[i]))
                        i += 1
                        if n >= 0 {
                            let run = n + 1
                            guard i + run <= end else {
                                throw ParseError(.truncated, at: base + i, "RLE literal run of \(run) bytes past the segment end")
                            }
                            let take = min(run, pixels - produced)
                            for k in 0..<take { out[o] = data[i + k]; o += stride }
                            produced += take
                            i += run
                        } else if n != -128 {
                            guard i < end else { throw ParseError(.truncated, at: base + i, "RLE replicate run without its byte") }
                            let value = data[i]
                            i += 1
                            let take = min(1 - n, pixels - produced)
                            for _ in 0..<take { out[o] = value; o += stride }
                            produced += take
                        }
                    }
                    guard produced == pixels else {
                        throw ParseError(.truncated, at: base + end, "RLE segment \(seg + 1) decodes to \(produced) bytes; the frame needs \(pixels)")
                    }
                }
            }
        }
    }
}
