/// Ready-made DICOM objects for tests, benchmarks and the generated conformance corpus.
public enum DICOMFixtures {
    /// A classic CT slice (header plus `pixels` samples, little-endian int16).
    public static func ctSlice(syntax: DICOMSyntax = .explicitLittle, preamble: Bool = true, fileMeta: Bool = true,
                               spec: CTSliceSpec = CTSliceSpec(), withPixels: Bool = true) -> [UInt8] {
        var b = DICOMBuilder(syntax: syntax, elements: spec.elements(pixels: withPixels ? [Int16](repeating: 100, count: spec.columns * spec.rows) : nil))
        b.preamble = preamble
        b.fileMeta = fileMeta
        if syntax == .explicitBig, withPixels {
            // OW in big endian: swap the sample bytes too.
            b.elements = spec.elements(pixels: nil) + [DICOMElement(0x7FE0_0010, "OW", .bytes([UInt8](repeating: 0, count: spec.columns * spec.rows * 2)))]
        }
        return b.encode()
    }

    /// An Enhanced CT / MR-like multi-frame object: geometry in the Shared Functional Groups
    /// (or, with `perFrameOnly`, in every Per-frame item), `frames` frames.
    public static func enhancedMultiFrame(frames: Int, undefinedLengths: Bool, perFrameOnly: Bool = false,
                                          sopClass: String = "1.2.840.10008.5.1.4.1.1.2.1", modality: String = "CT",
                                          bitsAllocated: UInt16 = 16, columns: UInt16 = 32, rows: UInt16 = 24,
                                          pixels: Bool = true) -> [UInt8] {
        let measures: [DICOMElement] = [
            .text(0x0018_0050, "DS", "1.25"),
            .text(0x0018_0088, "DS", "1.5"),
            .text(0x0028_0030, "DS", "0.5\\0.625"),
        ]
        let orientation: [DICOMElement] = [.text(0x0020_0037, "DS", "0\\1\\0\\0\\0\\-1")]
        let transform: [DICOMElement] = [
            .text(0x0028_1052, "DS", "-1024"),
            .text(0x0028_1053, "DS", "2"),
            .text(0x0028_1054, "LO", "HU"),
        ]
        func group(_ elements: [DICOMElement]) -> DICOMElement.Value { .sequence([elements], undefinedLength: undefinedLengths) }
        func frameItem(_ i: Int, full: Bool) -> [DICOMElement] {
            var item: [DICOMElement] = [
                DICOMElement(0x0020_9111, "SQ", group([.text(0x0020_9157, "UL", "\(i + 1)")])),  // FrameContent (DimensionIndexValues stand-in)
                DICOMElement(0x0020_9113, "SQ", group([.text(0x0020_0032, "DS", "-10\\\(Double(i) * 1.5 - 20)\\30")])),
            ]
            if full {
                item.append(DICOMElement(0x0028_9110, "SQ", group(measures)))
                item.append(DICOMElement(0x0020_9116, "SQ", group(orientation)))
                item.append(DICOMElement(0x0028_9145, "SQ", group(transform)))
            }
            return item.sorted { $0.tag < $1.tag }
        }
        var shared: [DICOMElement] = []
        if !perFrameOnly {
            shared = [
                DICOMElement(0x0020_9116, "SQ", group(orientation)),
                DICOMElement(0x0028_9110, "SQ", group(measures)),
                DICOMElement(0x0028_9145, "SQ", group(transform)),
            ]
        }
        var elements: [DICOMElement] = [
            .text(0x0008_0016, "UI", sopClass),
            .text(0x0008_0060, "CS", modality),
            .text(0x0010_0010, "PN", "MULTI^FRAME^PLANTED"),
            .text(0x0020_000E, "UI", "1.2.826.0.1.3680043.8.498.77.1"),
            .us(0x0028_0002, 1),
            .text(0x0028_0004, "CS", "MONOCHROME2"),
            .text(0x0028_0008, "IS", String(frames)),
            .us(0x0028_0010, rows),
            .us(0x0028_0011, columns),
            .us(0x0028_0100, bitsAllocated),
            .us(0x0028_0101, bitsAllocated == 1 ? 1 : 12),
            .us(0x0028_0103, 0),
            DICOMElement(0x5200_9229, "SQ", .sequence([shared], undefinedLength: undefinedLengths)),
            DICOMElement(0x5200_9230, "SQ", .sequence((0..<frames).map { frameItem($0, full: perFrameOnly) }, undefinedLength: undefinedLengths)),
        ]
        if pixels {
            let bytes = (Int(columns) * Int(rows) * frames * Int(bitsAllocated) + 7) / 8
            elements.append(DICOMElement(0x7FE0_0010, bitsAllocated > 8 ? "OW" : "OB", .bytes([UInt8](repeating: 0, count: bytes))))
        }
        var b = DICOMBuilder(syntax: .explicitLittle, elements: elements)
        b.sopClassUID = sopClass
        return b.encode()
    }

    /// A DICOM Segmentation (binary, 1 bit per pixel) with `frames` frames, per-frame plane
    /// positions and undefined-length sequences, as many SEG writers emit.
    public static func segmentation(frames: Int) -> [UInt8] {
        enhancedMultiFrame(frames: frames, undefinedLengths: true, sopClass: "1.2.840.10008.5.1.4.1.1.66.4",
                           modality: "SEG", bitsAllocated: 1, columns: 64, rows: 64)
    }

    /// A Basic Text SR: no pixel data, a content sequence.
    public static func structuredReport() -> [UInt8] {
        let content: [[DICOMElement]] = [[
            .text(0x0040_A040, "CS", "TEXT"),
            .text(0x0040_A160, "UT", "No findings."),
        ]]
        var b = DICOMBuilder(syntax: .explicitLittle, elements: [
            .text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.88.11"),
            .text(0x0008_0060, "CS", "SR"),
            .text(0x0010_0010, "PN", "REPORT^PLANTED"),
            .text(0x0020_000E, "UI", "1.2.826.0.1.3680043.8.498.88.1"),
            DICOMElement(0x0040_A730, "SQ", .sequence(content, undefinedLength: true)),
        ])
        b.sopClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
        return b.encode()
    }

    /// A JPEG Baseline (encapsulated) secondary capture.
    public static func encapsulated(frame: [UInt8], columns: UInt16, rows: UInt16) -> [UInt8] {
        var b = DICOMBuilder(syntax: .encapsulated("1.2.840.10008.1.2.4.50"), elements: [
            .text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.7"),
            .text(0x0008_0060, "CS", "OT"),
            .us(0x0028_0002, 3),
            .text(0x0028_0004, "CS", "YBR_FULL_422"),
            .us(0x0028_0006, 0),
            .us(0x0028_0010, rows),
            .us(0x0028_0011, columns),
            .us(0x0028_0100, 8),
            .us(0x0028_0101, 8),
            .us(0x0028_0103, 0),
            DICOMElement(0x7FE0_0010, "OB", .encapsulated([frame])),
        ])
        b.sopClassUID = "1.2.840.10008.5.1.4.1.1.7"
        return b.encode()
    }

    /// RLE Lossless (PS3.5 Annex G) multi-frame image. `samples` holds every frame's stored
    /// values, pixel-interleaved (frame, row, column, sample), as unsigned container values.
    public static func rle(frames: Int, columns: Int, rows: Int, samplesPerPixel: Int = 1, bitsAllocated: Int = 16,
                           signed: Bool = false, samples: [UInt32]) -> [UInt8] {
        let bytesPerSample = bitsAllocated / 8
        let pixels = columns * rows
        var fragments: [[UInt8]] = []
        for f in 0..<frames {
            var segments: [[UInt8]] = []
            for s in 0..<samplesPerPixel {
                for b in 0..<bytesPerSample {
                    let shift = UInt32(8 * (bytesPerSample - 1 - b))
                    let plane = (0..<pixels).map { UInt8(truncatingIfNeeded: samples[(f * pixels + $0) * samplesPerPixel + s] >> shift) }
                    segments.append(packBits(plane))
                }
            }
            var header = [UInt8](repeating: 0, count: 64)
            func put(_ v: Int, at o: Int) { for k in 0..<4 { header[o + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }
            put(segments.count, at: 0)
            var offset = 64
            for (i, seg) in segments.enumerated() { put(offset, at: 4 + 4 * i); offset += seg.count }
            var fragment = header + segments.flatMap { $0 }
            if fragment.count % 2 == 1 { fragment.append(0) }
            fragments.append(fragment)
        }
        var b = DICOMBuilder(syntax: .encapsulated("1.2.840.10008.1.2.5"), elements: [
            .text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.7"),
            .text(0x0008_0060, "CS", "OT"),
            .us(0x0028_0002, UInt16(samplesPerPixel)),
            .text(0x0028_0004, "CS", samplesPerPixel == 3 ? "RGB" : "MONOCHROME2"),
            .text(0x0028_0008, "IS", String(frames)),
            .us(0x0028_0010, UInt16(rows)),
            .us(0x0028_0011, UInt16(columns)),
            .us(0x0028_0100, UInt16(bitsAllocated)),
            .us(0x0028_0101, UInt16(bitsAllocated)),
            .us(0x0028_0103, signed ? 1 : 0),
            DICOMElement(0x7FE0_0010, "OB", .encapsulated(fragments)),
        ])
        b.sopClassUID = "1.2.840.10008.5.1.4.1.1.7"
        return b.encode()
    }

    /// PackBits: replicate runs of 3 or more, literal runs otherwise (at most 128 bytes each).
    static func packBits(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        var literal: [UInt8] = []
        func flush() {
            var k = 0
            while k < literal.count {
                let n = min(128, literal.count - k)
                out.append(UInt8(n - 1))
                out += literal[k..<(k + n)]
                k += n
            }
            literal.removeAll()
        }
        while i < data.count {
            var run = 1
            while i + run < data.count, data[i + run] == data[i], run < 128 { run += 1 }
            if run >= 3 {
                flush()
                out.append(UInt8(bitPattern: Int8(1 - run)))
                out.append(data[i])
            } else {
                literal += data[i..<(i + run)]
            }
            i += run
        }
        flush()
        return out
    }

    /// Sequences nested `depth` levels deep (private tags), for the nesting bound.
    public static func deeplyNested(depth: Int, undefinedLengths: Bool = true) -> [UInt8] {
        var inner: [DICOMElement] = [.text(0x0009_1010, "LO", "leaf")]
        for _ in 0..<depth {
            inner = [DICOMElement(0x0009_1011, "SQ", .sequence([inner], undefinedLength: undefinedLengths))]
        }
        let b = DICOMBuilder(syntax: .explicitLittle, elements: [
            .text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.7"),
            .text(0x0008_0060, "CS", "OT"),
            DICOMElement(0x0009_0010, "LO", .text("IMAGINGX")),
        ] + inner)
        return b.encode()
    }
}
