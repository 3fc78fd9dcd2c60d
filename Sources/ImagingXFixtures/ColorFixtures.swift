/// DICOM objects for photometric handling and encapsulation: Palette Color (plain 8/16-bit
/// LUTs, segmented LUTs, first mapped value ≠ 0, indices outside the mapped range), YBR_FULL
/// and YBR_FULL_422 (native, planar, RLE), multi-fragment frames with and without a Basic
/// Offset Table, an Extended Offset Table, and pixel spacing that is zero, negative or missing.
public enum ColorFixtures {
    /// A palette description: descriptor values and the LUT elements (plain or segmented).
    public struct Palette: Sendable {
        public var entries: Int
        public var firstMapped: Int
        public var bits: Int
        /// (0028,1201–1203) or, with `segmented`, (0028,1221–1223) values.
        public var data: [[UInt8]]
        public var segmented = false
        /// Writes the descriptors as SS (signed first mapped value).
        public var signedDescriptor = false

        public init(entries: Int, firstMapped: Int, bits: Int, data: [[UInt8]], segmented: Bool = false, signedDescriptor: Bool = false) {
            self.entries = entries
            self.firstMapped = firstMapped
            self.bits = bits
            self.data = data
            self.segmented = segmented
            self.signedDescriptor = signedDescriptor
        }

        var elements: [DICOMElement] {
            var e: [DICOMElement] = []
            let first = UInt16(truncatingIfNeeded: firstMapped)
            for c in 0..<3 {
                e.append(DICOMElement(0x0028_1101 + UInt32(c), signedDescriptor ? "SS" : "US",
                                      .us([UInt16(truncatingIfNeeded: entries), first, UInt16(bits)])))
                e.append(DICOMElement((segmented ? 0x0028_1221 : 0x0028_1201) + UInt32(c), "OW", .bytes(data[c])))
            }
            return e
        }

        /// A plain LUT: `value(channel, entry)` for every entry, 1 or 2 bytes each (little-endian).
        public static func plain(entries: Int, firstMapped: Int, entryBytes: Int, signedDescriptor: Bool = false,
                                 _ value: (Int, Int) -> Int) -> Palette {
            let data = (0..<3).map { c -> [UInt8] in
                var out: [UInt8] = []
                for i in 0..<entries {
                    let v = value(c, i)
                    out.append(UInt8(truncatingIfNeeded: v))
                    if entryBytes == 2 { out.append(UInt8(truncatingIfNeeded: v >> 8)) }
                }
                return out
            }
            return Palette(entries: entries, firstMapped: firstMapped, bits: 8 * entryBytes, data: data,
                           signedDescriptor: signedDescriptor)
        }

        /// Segmented LUT data from segment words (PS3.3 C.7.9.2), little-endian words of
        /// `bits` (16) or bytes (8).
        public static func segmented(entries: Int, firstMapped: Int, bits: Int, _ segments: [[Int]]) -> Palette {
            let data = segments.map { words -> [UInt8] in
                bits == 8 ? words.map { UInt8(truncatingIfNeeded: $0) }
                    : words.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
            }
            return Palette(entries: entries, firstMapped: firstMapped, bits: bits, data: data, segmented: true)
        }
    }

    /// An image object with the given pixel module and Pixel Data element.
    public static func image(syntax: DICOMSyntax = .explicitLittle, photometric: String, columns: Int, rows: Int,
                             frames: Int = 1, samples: Int = 1, bits: Int = 8, signed: Bool = false,
                             planar: Int? = nil, spacing: String? = "0.5\\0.5", extra: [DICOMElement] = [],
                             pixelData: DICOMElement) -> [UInt8] {
        var e: [DICOMElement] = [
            .text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.7"),
            .text(0x0008_0060, "CS", "OT"),
            .text(0x0010_0010, "PN", "COLOR^PLANTED"),
            .text(0x0020_000E, "UI", "1.2.826.0.1.3680043.8.498.91.1"),
            .us(0x0028_0002, UInt16(samples)),
            .text(0x0028_0004, "CS", photometric),
            .us(0x0028_0010, UInt16(rows)),
            .us(0x0028_0011, UInt16(columns)),
            .us(0x0028_0100, UInt16(bits)),
            .us(0x0028_0101, UInt16(bits)),
            .us(0x0028_0102, UInt16(bits - 1)),
            .us(0x0028_0103, signed ? 1 : 0),
            pixelData,
        ]
        if frames > 1 { e.append(.text(0x0028_0008, "IS", String(frames))) }
        if let planar { e.append(.us(0x0028_0006, UInt16(planar))) }
        if let spacing { e.append(.text(0x0028_0030, "DS", spacing)) }
        var b = DICOMBuilder(syntax: syntax, elements: e + extra)
        b.sopClassUID = "1.2.840.10008.5.1.4.1.1.7"
        return b.encode()
    }

    /// Little-endian bytes of `values` as `bytes`-byte samples.
    public static func samples(_ values: [Int], bytes: Int) -> [UInt8] {
        bytes == 1 ? values.map { UInt8(truncatingIfNeeded: $0) }
            : values.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
    }

    /// A native palette image of 8- or 16-bit indices.
    public static func palette(_ p: Palette, syntax: DICOMSyntax = .explicitLittle, columns: Int, rows: Int,
                               indexBits: Int = 8, signed: Bool = false, indices: [Int]) -> [UInt8] {
        image(syntax: syntax, photometric: "PALETTE COLOR", columns: columns, rows: rows, bits: indexBits, signed: signed,
              extra: p.elements,
              pixelData: DICOMElement(0x7FE0_0010, indexBits == 8 ? "OB" : "OW", .bytes(samples(indices, bytes: indexBits / 8))))
    }

    /// RLE Lossless fragments (PS3.5 Annex G), one per frame; `values` pixel-interleaved.
    public static func rleFrames(frames: Int, pixels: Int, samples: Int, bytesPerSample: Int, values: [Int]) -> [[UInt8]] {
        (0..<frames).map { f in
            var segments: [[UInt8]] = []
            for s in 0..<samples {
                for b in 0..<bytesPerSample {
                    let shift = 8 * (bytesPerSample - 1 - b)
                    segments.append(DICOMFixtures.packBits((0..<pixels).map { UInt8(truncatingIfNeeded: values[(f * pixels + $0) * samples + s] >> shift) }))
                }
            }
            var header = [UInt8](repeating: 0, count: 64)
            func put(_ v: Int, at o: Int) { for k in 0..<4 { header[o + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
            put(segments.count, at: 0)
            var offset = 64
            for (i, seg) in segments.enumerated() { put(offset, at: 4 + 4 * i); offset += seg.count }
            var fragment = header + segments.flatMap { $0 }
            if fragment.count % 2 == 1 { fragment.append(0) }
            return fragment
        }
    }

    static func u32s(_ v: [Int]) -> [UInt8] { v.flatMap { x in (0..<4).map { UInt8(truncatingIfNeeded: x >> (8 * $0)) } } }
    static func u64s(_ v: [Int]) -> [UInt8] { v.flatMap { x in (0..<8).map { UInt8(truncatingIfNeeded: x >> (8 * $0)) } } }

    /// How encapsulated frames are laid out in items.
    public enum Layout: Sendable {
        /// One fragment per frame, empty Basic Offset Table.
        case plain
        /// Each frame cut into `pieces` fragments; with or without a Basic Offset Table.
        case split(pieces: Int, basicOffsetTable: Bool)
        /// One fragment per frame, empty Basic Offset Table, Extended Offset Table + Lengths.
        case extended
    }

    /// The Pixel Data element (and any Extended Offset Table elements) for `frames` laid out.
    public static func encapsulate(_ frames: [[UInt8]], _ layout: Layout) -> [DICOMElement] {
        let padded = frames.map { $0.count % 2 == 1 ? $0 + [0] : $0 }
        switch layout {
        case .plain:
            return [DICOMElement(0x7FE0_0010, "OB", .fragments(offsetTable: [], padded))]
        case .split(let pieces, let bot):
            var fragments: [[UInt8]] = []
            var starts: [Int] = []
            var at = 0
            for f in padded {
                starts.append(at)
                // Even cut points, so no fragment needs padding.
                let step = max(2, (f.count / pieces) & ~1)
                var cut = 0
                for k in 0..<pieces {
                    let end = k == pieces - 1 ? f.count : min(f.count, cut + step)
                    guard end > cut else { continue }
                    fragments.append(Array(f[cut..<end]))
                    at += 8 + end - cut
                    cut = end
                }
            }
            return [DICOMElement(0x7FE0_0010, "OB", .fragments(offsetTable: bot ? u32s(starts) : [], fragments))]
        case .extended:
            var offsets: [Int] = []
            var at = 0
            for f in padded { offsets.append(at); at += 8 + f.count }
            return [
                DICOMElement(0x7FE0_0001, "OV", .bytes(u64s(offsets))),
                DICOMElement(0x7FE0_0002, "OV", .bytes(u64s(frames.map(\.count)))),
                DICOMElement(0x7FE0_0010, "OB", .fragments(offsetTable: [], padded)),
            ]
        }
    }

    /// An encapsulated image: `pixel` elements from `encapsulate`, the rest as `image`.
    public static func encapsulated(syntax: String, photometric: String, columns: Int, rows: Int, frames: Int,
                                    samples: Int, bits: Int = 8, extra: [DICOMElement] = [],
                                    pixel: [DICOMElement]) -> [UInt8] {
        let data = pixel.last!
        return image(syntax: .encapsulated(syntax), photometric: photometric, columns: columns, rows: rows,
                     frames: frames, samples: samples, bits: bits, planar: samples == 3 ? 0 : nil,
                     extra: extra + pixel.dropLast(), pixelData: data)
    }

    /// A deterministic, varied 8-bit pattern.
    static func pattern(_ n: Int, seed: Int) -> [Int] {
        var x = UInt32(truncatingIfNeeded: seed &* 2_654_435_761 | 1)
        return (0..<n).map { _ in
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            return Int(x & 0xFF)
        }
    }

    /// Every file of this family, by name.
    public static func corpus() throws -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        let w = 16, h = 8, n = 16 * 8
        // Palette Color: 8-bit entries, first mapped 0, every index in range.
        let gray8 = Palette.plain(entries: 256, firstMapped: 0, entryBytes: 1) { c, i in c == 0 ? i : c == 1 ? 255 - i : (i * 7) & 0xFF }
        out.append(("palette-8bit-lut.dcm", palette(gray8, columns: w, rows: h, indices: pattern(n, seed: 1))))
        // 16-bit entries, 200 of them from index 10: indices below 10 and above 209 clamp.
        let wide = Palette.plain(entries: 200, firstMapped: 10, entryBytes: 2) { c, i in (i * 311 + c * 4099) & 0xFFFF }
        out.append(("palette-16bit-lut-first10.dcm", palette(wide, columns: w, rows: h, indices: pattern(n, seed: 2))))
        // 16-bit indices into 4096 16-bit entries from 100; some indices past the end.
        let big = Palette.plain(entries: 4096, firstMapped: 100, entryBytes: 2) { c, i in (i * 13 + c * 1000) & 0xFFFF }
        out.append(("palette-16bit-index.dcm", palette(big, columns: w, rows: h, indexBits: 16,
                                                        indices: pattern(n, seed: 3).map { $0 * 20 })))
        // Signed indices and an SS descriptor whose first mapped value is negative.
        let signedLUT = Palette.plain(entries: 300, firstMapped: -100, entryBytes: 2, signedDescriptor: true) { c, i in i * 100 + c }
        out.append(("palette-signed-first-negative.dcm", palette(signedLUT, columns: w, rows: h, indexBits: 16, signed: true,
                                                                  indices: pattern(n, seed: 4).map { $0 * 2 - 300 })))
        out.append(("palette-signed-implicit-vr.dcm", palette(signedLUT, syntax: .implicitLittle, columns: w, rows: h, indexBits: 16,
                                                               signed: true, indices: pattern(n, seed: 4).map { $0 * 2 - 300 })))
        out.append(("palette-deflated.dcm", palette(wide, syntax: .deflatedExplicitLittle, columns: w, rows: h, indices: pattern(n, seed: 2))))
        // Segmented, 16-bit: discrete, linear, indirect (copying the first two segments), linear.
        let seg16 = Palette.segmented(entries: 256, firstMapped: 0, bits: 16, (0..<3).map { c in
            [0, 4, 10 + c, 4000, 20, 65535, 1, 100, 30000 + 1000 * c, 2, 2, 0, 0, 1, 148, 500 * c]
        })
        out.append(("palette-segmented-16bit.dcm", palette(seg16, columns: w, rows: h, indices: pattern(n, seed: 5))))
        // Segmented, 8-bit (bytes): discrete then linear segments.
        let seg8 = Palette.segmented(entries: 256, firstMapped: 0, bits: 8, (0..<3).map { c in
            [0, 3, 5, 200, 7 + c, 1, 125, 250, 1, 128, 3 * c]
        })
        out.append(("palette-segmented-8bit.dcm", palette(seg8, columns: w, rows: h, indices: pattern(n, seed: 6))))
        // RLE-compressed palette indices.
        let rleIndices = pattern(2 * n, seed: 7)
        out.append(("palette-rle.dcm", encapsulated(syntax: "1.2.840.10008.1.2.5", photometric: "PALETTE COLOR", columns: w, rows: h,
                                                    frames: 2, samples: 1, extra: gray8.elements,
                                                    pixel: encapsulate(rleFrames(frames: 2, pixels: n, samples: 1, bytesPerSample: 1, values: rleIndices), .plain))))
        // YBR_FULL: interleaved, planar, 4:2:2, RLE.
        let ybr = pattern(3 * n, seed: 8)
        out.append(("ybr-full.dcm", image(photometric: "YBR_FULL", columns: w, rows: h, samples: 3, planar: 0,
                                          pixelData: DICOMElement(0x7FE0_0010, "OB", .bytes(samples(ybr, bytes: 1))))))
        out.append(("ybr-full-planar.dcm", image(photometric: "YBR_FULL", columns: w, rows: h, samples: 3, planar: 1,
                                                 pixelData: DICOMElement(0x7FE0_0010, "OB", .bytes(samples(ybr, bytes: 1))))))
        let sub = pattern(2 * 2 * n, seed: 9)  // two frames of Y1 Y2 Cb Cr per pair
        out.append(("ybr-full-422.dcm", image(photometric: "YBR_FULL_422", columns: w, rows: h, frames: 2, samples: 3, planar: 0,
                                              pixelData: DICOMElement(0x7FE0_0010, "OB", .bytes(samples(sub, bytes: 1))))))
        out.append(("ybr-full-422-big-endian.dcm", image(syntax: .explicitBig, photometric: "YBR_FULL_422", columns: w, rows: h,
                                                         samples: 3, planar: 0,
                                                         pixelData: DICOMElement(0x7FE0_0010, "OB", .bytes(samples(Array(sub[0..<(2 * n)]), bytes: 1))))))
        let rleYBR = rleFrames(frames: 2, pixels: n, samples: 3, bytesPerSample: 1, values: pattern(2 * 3 * n, seed: 10))
        out.append(("ybr-full-rle.dcm", encapsulated(syntax: "1.2.840.10008.1.2.5", photometric: "YBR_FULL", columns: w, rows: h,
                                                     frames: 2, samples: 3, pixel: encapsulate(rleYBR, .plain))))
        // Frames over several fragments, with and without a Basic Offset Table; an Extended Offset Table.
        let rle16 = rleFrames(frames: 3, pixels: n, samples: 1, bytesPerSample: 2, values: pattern(3 * n, seed: 11).map { $0 * 200 })
        func rleImage(_ layout: Layout) -> [UInt8] {
            encapsulated(syntax: "1.2.840.10008.1.2.5", photometric: "MONOCHROME2", columns: w, rows: h, frames: 3,
                         samples: 1, bits: 16, pixel: encapsulate(rle16, layout))
        }
        out.append(("rle-fragments-bot.dcm", rleImage(.split(pieces: 3, basicOffsetTable: true))))
        out.append(("rle-extended-offset-table.dcm", rleImage(.extended)))
        let jpegFrames = try (0..<3).map { f in
            try RasterBuilder.jpeg(width: w, height: h, components: 3, pixels: pattern(3 * n, seed: 20 + f).map { UInt8($0 / 4 + 60 * f) })
        }
        func jpegImage(_ layout: Layout) -> [UInt8] {
            encapsulated(syntax: "1.2.840.10008.1.2.4.50", photometric: "YBR_FULL_422", columns: w, rows: h, frames: 3,
                         samples: 3, pixel: encapsulate(jpegFrames, layout))
        }
        // 4:2:0 colour JPEG: libjpeg-turbo's chroma upsampling (ours, and Pillow's) differs
        // from pylibjpeg-libjpeg's, which pydicom prefers (see exclusions.json).
        out.append(("jpeg-ybr-422.dcm", jpegImage(.plain)))
        // Lossy JPEG decoders agree exactly only on flat 8×8 blocks (DC terms alone): frames of
        // such blocks, a different value per block and frame, test the frame split exactly.
        var grayFrames: [[UInt8]] = []
        for f in 0..<3 {
            var flat = [UInt8](repeating: 0, count: 32 * 16)
            for i in 0..<flat.count {
                let x: Int = i % 32 / 8, y: Int = i / 32 / 8
                flat[i] = UInt8(30 * f + 20 * x + 50 * y)
            }
            grayFrames.append(try RasterBuilder.jpeg(width: 32, height: 16, components: 1, pixels: flat))
        }
        func grayImage(_ layout: Layout) -> [UInt8] {
            encapsulated(syntax: "1.2.840.10008.1.2.4.50", photometric: "MONOCHROME2", columns: 32, rows: 16, frames: 3,
                         samples: 1, pixel: encapsulate(grayFrames, layout))
        }
        out.append(("jpeg-fragments-bot.dcm", grayImage(.split(pieces: 2, basicOffsetTable: true))))
        out.append(("jpeg-fragments-no-bot.dcm", grayImage(.split(pieces: 2, basicOffsetTable: false))))
        out.append(("jpeg-extended-offset-table.dcm", grayImage(.extended)))
        // Geometry that is wrong never blocks statistics.
        for (name, spacing) in [("zero", "0\\0.5"), ("negative", "-0.5\\0.5"), ("missing", nil)] as [(String, String?)] {
            out.append(("spacing-\(name).dcm", image(photometric: "MONOCHROME2", columns: w, rows: h, bits: 16, spacing: spacing,
                                                   pixelData: DICOMElement(0x7FE0_0010, "OW", .bytes(samples(pattern(n, seed: 30).map { $0 * 9 }, bytes: 2))))))
        }
        return out
    }
}
