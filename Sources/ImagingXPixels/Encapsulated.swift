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

    /// The fragments of each frame (PS3.5 A.4), found as pydicom finds them: from the Extended
    /// Offset Table when there is one (one fragment per frame, PS3.3 C.7.6.3.1.8), else the
    /// Basic Offset Table, else one fragment per frame, else by the codestream start markers.
    /// A table that disagrees with the fragments is an error naming the table entry's offset.
    static func frames(_ src: ByteSource, at start: Int, frames: Int,
                       tables: DICOMPixelTables = DICOMPixelTables()) throws(ParseError) -> [[Fragment]] {
        let items = try items(src, at: start)
        guard let table = items.first else {
            throw ParseError(.malformed, at: start, "encapsulated Pixel Data without a Basic Offset Table item")
        }
        let fragments = Array(items.dropFirst())
        guard !fragments.isEmpty else { throw ParseError(.malformed, at: start, "encapsulated Pixel Data holds no fragments") }
        // Offsets count from the first byte of the first fragment's item tag.
        let origin = fragments[0].offset - 8
        /// The fragment whose item tag lies `offset` bytes after `origin`, by binary search.
        func fragment(at offset: Int) -> Int? {
            let target = origin + offset
            var lo = 0, hi = fragments.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if fragments[mid].offset - 8 < target { lo = mid + 1 } else { hi = mid }
            }
            return lo < fragments.count && fragments[lo].offset - 8 == target ? lo : nil
        }
        if tables.extendedOffsets != nil || tables.extendedLengths != nil {
            guard let offsets = tables.extendedOffsets, let lengths = tables.extendedLengths else {
                let at = (tables.extendedOffsets ?? tables.extendedLengths)!.offset
                throw ParseError(.malformed, at: at, "Extended Offset Table (7FE0,0001) and Extended Offset Table Lengths (7FE0,0002) must come together")
            }
            guard offsets.length % 8 == 0, offsets.length == lengths.length, offsets.length / 8 == frames else {
                throw ParseError(.malformed, at: offsets.offset, "Extended Offset Table holds \(offsets.length) bytes and its Lengths \(lengths.length); \(frames) frames need \(8 * frames) each")
            }
            var result: [[Fragment]] = []
            result.reserveCapacity(frames)
            for i in 0..<frames {
                let off = try u64(src, offsets.offset + 8 * i, tables.bigEndian, "Extended Offset Table")
                let len = try u64(src, lengths.offset + 8 * i, tables.bigEndian, "Extended Offset Table Lengths")
                guard off < UInt64(Int.max / 2), let k = fragment(at: Int(off)) else {
                    throw ParseError(.malformed, at: offsets.offset + 8 * i, "Extended Offset Table entry \(i + 1) (\(off)) does not point at a fragment's item tag")
                }
                guard len <= UInt64(fragments[k].length) else {
                    throw ParseError(.malformed, at: lengths.offset + 8 * i, "Extended Offset Table Lengths entry \(i + 1) (\(len)) is longer than its fragment (\(fragments[k].length) bytes)")
                }
                result.append([Fragment(offset: fragments[k].offset, length: Int(len))])
            }
            return result
        }
        if table.length > 0 {
            // The Basic Offset Table: one 32-bit offset per frame, the first 0, ascending.
            guard table.length % 4 == 0, table.length / 4 == frames else {
                throw ParseError(.malformed, at: table.offset - 4, "Basic Offset Table holds \(table.length) bytes; \(frames) frames need \(4 * frames)")
            }
            var starts: [Int] = []
            starts.reserveCapacity(frames)
            for i in 0..<frames {
                let off = Int(try src.u32(table.offset + 4 * i, bigEndian: false, "Basic Offset Table"))
                let k = fragment(at: off)
                guard let k, i == 0 ? k == 0 : k > starts[i - 1] else {
                    throw ParseError(.malformed, at: table.offset + 4 * i, "Basic Offset Table entry \(i + 1) (\(off)) does not point at the item tag of a later fragment")
                }
                starts.append(k)
            }
            return (0..<frames).map { i in Array(fragments[starts[i]..<(i + 1 < frames ? starts[i + 1] : fragments.count)]) }
        }
        if frames == 1 { return [fragments] }
        if fragments.count == frames { return fragments.map { [$0] } }
        guard fragments.count > frames else {
            throw ParseError(.malformed, at: start, "\(fragments.count) fragments cannot hold \(frames) frames")
        }
        // No table: a frame starts at each fragment that opens a codestream (JPEG and JPEG-LS
        // SOI FFD8, JPEG 2000 SOC FF4F).
        var result: [[Fragment]] = []
        for frag in fragments {
            let marker = frag.length >= 2 ? try src.u16(frag.offset, bigEndian: true, "fragment") : 0
            let opens = marker == 0xFFD8 || marker == 0xFF4F
            if opens || result.isEmpty { result.append([frag]) } else { result[result.count - 1].append(frag) }
        }
        guard result.count == frames else {
            throw ParseError(.malformed, at: start, "\(fragments.count) fragments cannot be split into \(frames) frames (no offset table, \(result.count) codestream starts)")
        }
        return result
    }

    static func u64(_ src: ByteSource, _ at: Int, _ big: Bool, _ what: String) throws(ParseError) -> UInt64 {
        let a = UInt64(try src.u32(at, bigEndian: big, what)), b = UInt64(try src.u32(at + 4, bigEndian: big, what))
        return big ? a << 32 | b : b << 32 | a
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
