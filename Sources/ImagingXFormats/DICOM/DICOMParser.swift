import ImagingXBytes
import ImagingXModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A header-only DICOM reader (PS3.10 file format, PS3.5 data encoding).
///
/// It walks elements by their lengths, enters only the sequences that carry geometry
/// (functional groups; the per-frame sequence's first item only), and stops at Pixel Data.
/// Every length is checked against the bytes left before it is skipped; nesting is bounded.
package struct DICOMParser {
    static let undefinedLength: UInt32 = 0xFFFF_FFFF
    /// Sequences nested deeper than this are refused (real objects nest a handful of levels).
    static let maxDepth = 32
    /// A deflated dataset is inflated up to this many bytes for its header.
    static let maxInflatedHeader = 64 << 20
    /// Values longer than this are never read into memory, even for wanted tags.
    static let maxValueLength = 4096

    package struct Encoding: Equatable {
        var explicit: Bool
        var bigEndian: Bool
        static let implicitLittle = Encoding(explicit: false, bigEndian: false)
        static let explicitLittle = Encoding(explicit: true, bigEndian: false)
        static let explicitBig = Encoding(explicit: true, bigEndian: true)

        /// The uncompressed transfer syntax that encodes a dataset this way.
        var uid: String {
            !explicit ? TransferSyntax.implicitLittle : bigEndian ? TransferSyntax.explicitBig : TransferSyntax.explicitLittle
        }
    }

    package enum Scope: Equatable { case top, shared, perFrame, referencedSeries, skip }
    /// At most this many ReferencedSeriesSequence items are kept (a SEG names one or a few).
    static let maxReferencedSeries = 64
    /// At most this many elements are collected with `collectNested` (a SEG frame has about ten).
    static let maxNested = 4 << 20

    package struct ElementHeader {
        var tag: UInt32
        var vr: UInt16
        var length: UInt32
        var valueOffset: Int
    }

    package var src: ByteSource
    let inflated: ByteSource
    var header = DICOMHeader()
    /// With `collectNested`: every element (outside Pixel Data) up to `maxValueLength` bytes goes to
    /// `header.nested` with its sequence path, and no sequence is jumped over (DICOM SEG frames).
    package var collectNested = false
    /// The sequence path of the element being read: sequence tag, item index, … (`collectNested`).
    var path: [UInt32] = []
    /// Added to offsets in messages when reading an inflated (deflated-syntax) dataset.
    var offsetNote = ""

    let inflater: Inflater

    package init(source: ByteSource, scratch: ByteSource, inflater: Inflater) {
        self.src = source
        self.inflated = scratch
        self.inflater = inflater
    }

    /// Whether the first bytes look like DICOM: "DICM" after a 128-byte preamble, or a
    /// preamble-less dataset that opens with a file meta (0002) or identifying (0008) group
    /// element in either byte order.
    package static func sniff(_ b: UnsafeRawBufferPointer) -> Bool {
        if b.count >= 132, b[128] == 0x44, b[129] == 0x49, b[130] == 0x43, b[131] == 0x4D { return true }
        return preamblelessEncoding(b) != nil
    }

    static func preamblelessEncoding(_ b: UnsafeRawBufferPointer) -> Encoding? {
        guard b.count >= 8 else { return nil }
        let groupLE = UInt16(b[0]) | UInt16(b[1]) << 8
        let groupBE = UInt16(b[0]) << 8 | UInt16(b[1])
        let elementLE = UInt16(b[2]) | UInt16(b[3]) << 8
        let elementBE = UInt16(b[2]) << 8 | UInt16(b[3])
        let vr = VR.code(b[4], b[5])
        let vrKnown = VR.isKnown(vr)
        if groupLE == 0x0002 || groupLE == 0x0008, elementLE < 0x1000 {
            if vrKnown { return .explicitLittle }
            // Implicit: a 4-byte length that is plausible for a header element.
            let length = UInt32(b[4]) | UInt32(b[5]) << 8 | UInt32(b[6]) << 16 | UInt32(b[7]) << 24
            return length < 0x1_0000 || length == undefinedLength ? .implicitLittle : nil
        }
        if groupBE == 0x0008, elementBE < 0x1000, vrKnown { return .explicitBig }
        return nil
    }

    package mutating func parse() throws(ParseError) -> DICOMHeader {
        var pos = 0
        var encoding = Encoding.explicitLittle
        let first = try src.bytes(at: 0, count: min(src.size, 132), "DICOM preamble")
        if first.count == 132, first[128] == 0x44, first[129] == 0x49, first[130] == 0x43, first[131] == 0x4D {
            header.hasPreamble = true
            pos = 132
        }
        // File meta information (PS3.10 §7.1): always explicit VR little endian, group 0002.
        if src.has(2, at: pos), try src.u16(pos, bigEndian: false, "file meta") == 0x0002 {
            header.hasFileMeta = true
            pos = try parseFileMeta(from: pos)
        } else if !header.hasPreamble, let guess = DICOMParser.preamblelessEncoding(first) {
            encoding = guess
        } else if header.hasPreamble {
            throw ParseError(.malformed, at: pos, "no file meta information group (0002) after the DICM prefix")
        }

        if header.hasFileMeta {
            if let ts = header.transferSyntax {
                switch ts {
                case TransferSyntax.implicitLittle: encoding = .implicitLittle
                case TransferSyntax.explicitBig: encoding = .explicitBig
                default: encoding = .explicitLittle
                }
                header.encodingSyntax = ts
            } else {
                encoding = try Self.guessEncoding(src, at: pos)
                header.encodingSyntax = encoding.uid
                header.findings.append(Finding(.transferSyntaxMissing, .warning,
                    "file meta has no TransferSyntaxUID (0002,0010); dataset read as \(encoding.explicit ? "explicit" : "implicit") VR"))
            }
        }
        if !header.hasFileMeta {
            header.encodingSyntax = encoding.uid
            header.findings.append(Finding(.noFileMeta, .info,
                "no file meta information: transfer syntax inferred from the first element"))
        }

        if header.transferSyntax == TransferSyntax.deflatedExplicitLittle {
            // PS3.5 §A.5: everything after the file meta is one raw deflate stream.
            try inflater.inflate(src, from: pos, wrapper: .raw, want: DICOMParser.maxInflatedHeader,
                                into: inflated, what: "deflated dataset")
            header.deflateStart = pos
            src = inflated
            offsetNote = " of the inflated dataset"
            pos = 0
        }
        // Writers sometimes declare one VR encoding and write the other. As pydicom does, the
        // first element decides: two uppercase letters where the VR belongs mean explicit VR.
        if src.has(8, at: pos) {
            let b = try src.bytes(at: pos, count: 8, "first dataset element")
            let looksExplicit = (0x41...0x5A).contains(b[4]) && (0x41...0x5A).contains(b[5])
            if looksExplicit != encoding.explicit {
                header.findings.append(Finding(.vrEncodingMismatch, .warning,
                    "transfer syntax implies \(encoding.explicit ? "explicit" : "implicit") VR but the dataset is written in \(looksExplicit ? "explicit" : "implicit") VR"))
                encoding.explicit = looksExplicit
            }
        }
        do {
            _ = try parseElements(from: pos, end: src.size, encoding: encoding, scope: .top, depth: 0)
        } catch {
            var e = error
            e.detail += offsetNote.isEmpty ? "" : " (offset\(offsetNote))"
            throw e
        }
        return header
    }

    private mutating func parseFileMeta(from start: Int) throws(ParseError) -> Int {
        var pos = start
        while src.has(8, at: pos), try src.u16(pos, bigEndian: false, "file meta") == 0x0002 {
            let b = try src.bytes(at: pos, count: 8, "file meta element")
            let tag = UInt32(b[0]) << 16 | UInt32(b[1]) << 24 | UInt32(b[2]) | UInt32(b[3]) << 8
            let vr = VR.code(b[4], b[5])
            var length: Int
            var valueOffset: Int
            if VR.isKnown(vr) {
                if VR.hasLongLength(vr) {
                    length = Int(try src.u32(pos + 8, bigEndian: false, "file meta element length"))
                    valueOffset = pos + 12
                } else {
                    length = Int(UInt16(b[6]) | UInt16(b[7]) << 8)
                    valueOffset = pos + 8
                }
            } else {
                // Some writers encode the meta group in implicit VR; PS3.10 forbids it but it is readable.
                length = Int(UInt32(b[4]) | UInt32(b[5]) << 8 | UInt32(b[6]) << 16 | UInt32(b[7]) << 24)
                valueOffset = pos + 8
                if !header.findings.contains(where: { $0.code == .fileMetaImplicitVr }) {
                    header.findings.append(Finding(.fileMetaImplicitVr, .warning, "file meta group is not explicit VR little endian"))
                }
            }
            guard src.has(length, at: valueOffset) else {
                throw .truncated(at: valueOffset, need: length, have: src.size - valueOffset, "file meta element \(Tag.describe(tag))")
            }
            switch tag {
            case Tag.transferSyntaxUID:
                header.transferSyntax = try Self.readString(src, at: valueOffset, length: length)
            case Tag.mediaStorageSOPClassUID:
                header.mediaStorageSOPClassUID = try Self.readString(src, at: valueOffset, length: length)
            default:
                break
            }
            pos = valueOffset + length
        }
        return pos
    }

    /// The meta lacks a transfer syntax: look at the first dataset element.
    private static func guessEncoding(_ src: ByteSource, at pos: Int) throws(ParseError) -> Encoding {
        guard src.has(8, at: pos) else { return .explicitLittle }
        let b = try src.bytes(at: pos, count: 8, "first dataset element")
        if VR.isKnown(VR.code(b[4], b[5])) {
            let groupLE = UInt16(b[0]) | UInt16(b[1]) << 8
            return groupLE <= 0x00FF || groupLE == 0x0008 ? .explicitLittle : .explicitBig
        }
        return .implicitLittle
    }

    @inline(__always)
    private static func readElementHeader(_ src: ByteSource, at pos: Int, _ enc: Encoding) throws(ParseError) -> ElementHeader {
        let b = try src.bytes(at: pos, count: 8, "element header")
        let group: UInt32
        let element: UInt32
        if enc.bigEndian {
            group = UInt32(b[0]) << 8 | UInt32(b[1])
            element = UInt32(b[2]) << 8 | UInt32(b[3])
        } else {
            group = UInt32(b[0]) | UInt32(b[1]) << 8
            element = UInt32(b[2]) | UInt32(b[3]) << 8
        }
        let tag = group << 16 | element
        // Item and delimiter tags (PS3.5 §7.5) carry a 4-byte length and no VR in every syntax.
        if group == 0xFFFE || !enc.explicit {
            let length = enc.bigEndian
                ? UInt32(b[4]) << 24 | UInt32(b[5]) << 16 | UInt32(b[6]) << 8 | UInt32(b[7])
                : UInt32(b[4]) | UInt32(b[5]) << 8 | UInt32(b[6]) << 16 | UInt32(b[7]) << 24
            return ElementHeader(tag: tag, vr: VR.implicit, length: length, valueOffset: pos + 8)
        }
        let vr = VR.code(b[4], b[5])
        if VR.hasLongLength(vr) {
            let length = try src.u32(pos + 8, bigEndian: enc.bigEndian, "element length of \(Tag.describe(tag))")
            return ElementHeader(tag: tag, vr: vr, length: length, valueOffset: pos + 12)
        }
        guard VR.isKnown(vr) else {
            throw ParseError(.malformed, at: pos + 4,
                             "element \(Tag.describe(tag)) has an invalid VR \(DICOMParser.printable(b[4], b[5]))")
        }
        let length = enc.bigEndian ? UInt32(b[6]) << 8 | UInt32(b[7]) : UInt32(b[6]) | UInt32(b[7]) << 8
        return ElementHeader(tag: tag, vr: vr, length: length, valueOffset: pos + 8)
    }

    /// Reads elements from `start` until `end`, or, when `end` is nil, through the item
    /// delimiter that closes an undefined-length item. Returns the offset after the last one.
    private mutating func parseElements(from start: Int, end: Int?, encoding enc: Encoding,
                                        scope: Scope, depth: Int) throws(ParseError) -> Int {
        var pos = start
        while true {
            if let end, pos >= end {
                if pos > end {
                    throw ParseError(.malformed, at: end, "an element runs past the end of its item (to byte \(pos))")
                }
                return pos
            }
            if end == nil, !src.has(8, at: pos) {
                throw .truncated(at: pos, need: 8, have: src.size - pos, "an undefined-length item (no item delimiter)")
            }
            let h = try Self.readElementHeader(src, at: pos, enc)
            if h.tag == Tag.itemDelimitation {
                if end == nil { return h.valueOffset }
                // A stray delimiter inside a defined-length item: harmless, step over it.
                pos = h.valueOffset
                continue
            }
            if h.tag == Tag.sequenceDelimitation || h.tag == Tag.item {
                if depth == 0 {
                    header.findings.append(Finding(.strayDelimiter, .warning, "\(Tag.describe(h.tag)) at top level, byte \(pos)"))
                    pos = h.valueOffset
                    continue
                }
                throw ParseError(.malformed, at: pos, "unexpected \(Tag.describe(h.tag)) inside an item")
            }
            if depth == 0, h.tag == Tag.pixelData || h.tag == Tag.floatPixelData || h.tag == Tag.doubleFloatPixelData {
                header.pixelDataTag = h.tag
                header.pixelDataOffset = h.valueOffset
                header.pixelDataUndefinedLength = h.length == DICOMParser.undefinedLength
                header.pixelDataLength = h.pixelDataLengthValue
                header.pixelDataVR = h.vr
                return pos
            }
            if h.length == DICOMParser.undefinedLength,
               h.tag == Tag.pixelData || h.tag == Tag.floatPixelData || h.tag == Tag.doubleFloatPixelData {
                // Encapsulated pixel data nested in an item (an icon image, PS3.3 §C.7.6.1.1.6).
                pos = try Self.skipEncapsulated(src, from: h.valueOffset, encoding: enc)
                continue
            }
            let isSequence = h.vr == VR.SQ
                || (h.vr == VR.UN && h.length == DICOMParser.undefinedLength)
                || (h.vr == VR.implicit && (h.length == DICOMParser.undefinedLength || Tag.isFunctionalGroupSequence(h.tag)
                                            || (collectNested && DICOMSegmentation.sequenceTags.contains(h.tag))))
            if isSequence {
                // PS3.5 §6.2.2: UN with undefined length is an implicit VR little endian sequence.
                let itemEncoding = h.vr == VR.UN ? Encoding.implicitLittle : enc
                var itemScope = Scope.skip
                var firstItemOnly = false
                switch scope {
                case .top:
                    if h.tag == Tag.sharedFunctionalGroupsSequence {
                        itemScope = .shared
                        header.hasSharedGroups = true
                    } else if h.tag == Tag.perFrameFunctionalGroupsSequence {
                        itemScope = .perFrame
                        firstItemOnly = true
                        header.hasPerFrameGroups = true
                    } else if h.tag == Tag.directoryRecordSequence {
                        header.isDirectory = true
                    } else if h.tag == Tag.referencedSeriesSequence {
                        itemScope = .referencedSeries
                    }
                case .shared, .perFrame:
                    if Tag.isFunctionalGroupSequence(h.tag) { itemScope = scope }
                case .referencedSeries, .skip:
                    break
                }
                pos = try parseSequence(h, encoding: itemEncoding, itemScope: itemScope,
                                        firstItemOnly: firstItemOnly, depth: depth + 1)
                continue
            }
            if h.length == DICOMParser.undefinedLength {
                throw ParseError(.malformed, at: pos, "element \(Tag.describe(h.tag)) has an undefined length but is not a sequence")
            }
            let length = Int(h.length)
            guard src.has(length, at: h.valueOffset) else {
                throw .truncated(at: h.valueOffset, need: length, have: src.size - h.valueOffset,
                                 "the value of \(Tag.describe(h.tag))")
            }
            if scope == .top, h.tag >= Tag.redPaletteDescriptor {
                locateTable(h, encoding: enc)
            }
            if scope != .skip, length <= DICOMParser.maxValueLength {
                try store(h, encoding: enc, scope: scope)
            }
            if collectNested, length <= DICOMParser.maxValueLength {
                guard header.nested.count < DICOMParser.maxNested else {
                    throw ParseError(.limitExceeded, at: pos, "more than \(DICOMParser.maxNested) elements in nested sequences")
                }
                let value = try src.bytes(at: h.valueOffset, count: length, "the value of \(Tag.describe(h.tag))")
                header.nested.append(NestedElement(path: path, tag: h.tag, vr: h.vr, bigEndian: enc.bigEndian, value: Array(value)))
            }
            pos = h.valueOffset + length
        }
    }

    private mutating func parseSequence(_ h: ElementHeader, encoding enc: Encoding, itemScope: Scope,
                                        firstItemOnly: Bool, depth: Int) throws(ParseError) -> Int {
        guard depth <= DICOMParser.maxDepth else {
            throw ParseError(.limitExceeded, at: h.valueOffset - 8, "sequences nested deeper than \(DICOMParser.maxDepth) levels")
        }
        let definedEnd: Int?
        if h.length == DICOMParser.undefinedLength {
            definedEnd = nil
        } else {
            let length = Int(h.length)
            guard src.has(length, at: h.valueOffset) else {
                throw .truncated(at: h.valueOffset, need: length, have: src.size - h.valueOffset,
                                 "sequence \(Tag.describe(h.tag))")
            }
            definedEnd = h.valueOffset + length
            // Nothing wanted inside: jump over the whole sequence.
            if itemScope == .skip && !collectNested { return h.valueOffset + length }
        }
        var pos = h.valueOffset
        var index = 0
        while true {
            if let definedEnd, pos >= definedEnd {
                if pos > definedEnd {
                    throw ParseError(.malformed, at: definedEnd, "an item runs past the end of sequence \(Tag.describe(h.tag))")
                }
                return pos
            }
            let item = try Self.readElementHeader(src, at: pos, Encoding(explicit: false, bigEndian: enc.bigEndian))
            if item.tag == Tag.sequenceDelimitation {
                if definedEnd == nil { return item.valueOffset }
                pos = item.valueOffset
                continue
            }
            guard item.tag == Tag.item else {
                throw ParseError(.malformed, at: pos, "sequence \(Tag.describe(h.tag)) holds \(Tag.describe(item.tag)) where an item (FFFE,E000) belongs")
            }
            let scope = firstItemOnly && index > 0 ? Scope.skip : itemScope
            if collectNested { path += [h.tag, UInt32(truncatingIfNeeded: index)] }
            defer { if collectNested { path.removeLast(2) } }
            if item.length == DICOMParser.undefinedLength {
                pos = try parseElements(from: item.valueOffset, end: nil, encoding: enc, scope: scope, depth: depth)
            } else {
                let length = Int(item.length)
                guard src.has(length, at: item.valueOffset) else {
                    throw .truncated(at: item.valueOffset, need: length, have: src.size - item.valueOffset,
                                     "item \(index + 1) of sequence \(Tag.describe(h.tag))")
                }
                if scope != .skip || collectNested {
                    _ = try parseElements(from: item.valueOffset, end: item.valueOffset + length, encoding: enc,
                                          scope: scope, depth: depth)
                }
                pos = item.valueOffset + length
            }
            index += 1
        }
    }

    /// Steps over encapsulated fragments (PS3.5 §A.4): items of defined length up to the
    /// sequence delimiter.
    private static func skipEncapsulated(_ src: ByteSource, from start: Int, encoding enc: Encoding) throws(ParseError) -> Int {
        var pos = start
        let itemEncoding = Encoding(explicit: false, bigEndian: enc.bigEndian)
        while true {
            let item = try Self.readElementHeader(src, at: pos, itemEncoding)
            if item.tag == Tag.sequenceDelimitation { return item.valueOffset }
            guard item.tag == Tag.item, item.length != DICOMParser.undefinedLength else {
                throw ParseError(.malformed, at: pos, "encapsulated pixel data holds \(Tag.describe(item.tag)) where a fragment item belongs")
            }
            let length = Int(item.length)
            guard src.has(length, at: item.valueOffset) else {
                throw .truncated(at: item.valueOffset, need: length, have: src.size - item.valueOffset, "a pixel data fragment")
            }
            pos = item.valueOffset + length
        }
    }

    // MARK: values

    /// Palette Color LUT descriptors and data, Extended Offset Table: the descriptors' three
    /// values are read, the data only located (PS3.3 C.7.6.3.1.5–6, C.7.9.2, C.7.6.3.1.8).
    private mutating func locateTable(_ h: ElementHeader, encoding enc: Encoding) {
        let range = ValueRange(offset: h.valueOffset, length: Int(h.length))
        header.tables.bigEndian = enc.bigEndian
        switch h.tag {
        case Tag.redPaletteDescriptor...(Tag.redPaletteDescriptor + 2):
            guard h.length == 6, let b = try? src.bytes(at: h.valueOffset, count: 6, "LUT descriptor") else { return }
            func u16(_ i: Int) -> Int {
                Int(enc.bigEndian ? UInt16(b[2 * i]) << 8 | UInt16(b[2 * i + 1]) : UInt16(b[2 * i]) | UInt16(b[2 * i + 1]) << 8)
            }
            // The first mapped value is signed when the VR is SS: explicitly, or in implicit VR
            // when Pixel Representation is 1 (PS3.3 C.7.6.3.1.5: "US or SS").
            let signed = h.vr == VR.SS || (h.vr == VR.implicit && header.pixelRepresentation == 1)
            let first = signed ? Int(Int16(truncatingIfNeeded: u16(1))) : u16(1)
            header.tables.descriptors[Int(h.tag - Tag.redPaletteDescriptor)] = [u16(0), first, u16(2)]
        case Tag.redPaletteData...(Tag.redPaletteData + 2):
            header.tables.data[Int(h.tag - Tag.redPaletteData)] = range
        case Tag.redSegmentedPaletteData...(Tag.redSegmentedPaletteData + 2):
            header.tables.segmented[Int(h.tag - Tag.redSegmentedPaletteData)] = range
        case Tag.extendedOffsetTable: header.tables.extendedOffsets = range
        case Tag.extendedOffsetTableLengths: header.tables.extendedLengths = range
        default: break
        }
    }

    private mutating func store(_ h: ElementHeader, encoding enc: Encoding, scope: Scope) throws(ParseError) {
        let length = Int(h.length)
        if scope == .top {
            switch h.tag {
            case Tag.sopClassUID: header.sopClassUID = try Self.readString(src, at: h.valueOffset, length: length)
            case Tag.modality: header.modality = try Self.readString(src, at: h.valueOffset, length: length)
            case Tag.imageType: header.imageType = try Self.readString(src, at: h.valueOffset, length: length)
            case Tag.photometricInterpretation: header.photometric = try Self.readString(src, at: h.valueOffset, length: length)
            case Tag.seriesInstanceUID: header.seriesInstanceUID = try Self.readString(src, at: h.valueOffset, length: length)
            case Tag.numberOfFrames: header.numberOfFrames = try Self.readInteger(src, h, enc)
            case Tag.rows: header.rows = try Self.readInteger(src, h, enc)
            case Tag.columns: header.columns = try Self.readInteger(src, h, enc)
            case Tag.samplesPerPixel: header.samplesPerPixel = try Self.readInteger(src, h, enc)
            case Tag.bitsAllocated: header.bitsAllocated = try Self.readInteger(src, h, enc)
            case Tag.bitsStored: header.bitsStored = try Self.readInteger(src, h, enc)
            case Tag.pixelRepresentation: header.pixelRepresentation = try Self.readInteger(src, h, enc)
            case Tag.planarConfiguration: header.planarConfiguration = try Self.readInteger(src, h, enc)
            case Tag.imagerPixelSpacing: header.imagerPixelSpacing = try Self.readDecimals(src, at: h.valueOffset, length: length)
            default: try Self.storeGeometry(src, h, into: &header.top)
            }
        } else if scope == .shared {
            try Self.storeGeometry(src, h, into: &header.shared)
        } else if scope == .perFrame {
            try Self.storeGeometry(src, h, into: &header.perFrame)
        } else if scope == .referencedSeries, h.tag == Tag.seriesInstanceUID,
                  header.referencedSeriesUIDs.count < DICOMParser.maxReferencedSeries,
                  let uid = try Self.readString(src, at: h.valueOffset, length: length) {
            header.referencedSeriesUIDs.append(uid)
        }
    }

    private static func storeGeometry(_ src: ByteSource, _ h: ElementHeader, into g: inout DICOMGeometry) throws(ParseError) {
        let length = Int(h.length)
        switch h.tag {
        case Tag.pixelSpacing: g.pixelSpacing = try Self.readDecimals(src, at: h.valueOffset, length: length)
        case Tag.sliceThickness: g.sliceThickness = try Self.readDecimals(src, at: h.valueOffset, length: length)?.first
        case Tag.spacingBetweenSlices: g.spacingBetweenSlices = try Self.readDecimals(src, at: h.valueOffset, length: length)?.first
        case Tag.imageOrientationPatient: g.orientation = try Self.readDecimals(src, at: h.valueOffset, length: length)
        case Tag.imagePositionPatient: g.position = try Self.readDecimals(src, at: h.valueOffset, length: length)
        case Tag.rescaleSlope: g.rescaleSlope = try Self.readDecimals(src, at: h.valueOffset, length: length)?.first
        case Tag.rescaleIntercept: g.rescaleIntercept = try Self.readDecimals(src, at: h.valueOffset, length: length)?.first
        default: break
        }
    }

    /// A text value with leading and trailing spaces and NULs removed (PS3.5 §6.2 padding).
    private static func readString(_ src: ByteSource, at offset: Int, length: Int) throws(ParseError) -> String? {
        guard length > 0 else { return nil }
        let b = try src.bytes(at: offset, count: length, "text value")
        var lo = 0
        var hi = length
        while lo < hi, b[lo] == 0x20 || b[lo] == 0 { lo += 1 }
        while hi > lo, b[hi - 1] == 0x20 || b[hi - 1] == 0 { hi -= 1 }
        guard hi > lo else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: b[lo..<hi]), as: UTF8.self)
    }

    /// US/SS/UL/SL binary values, or IS text (and the odd writer that puts US tags as text).
    private static func readInteger(_ src: ByteSource, _ h: ElementHeader, _ enc: Encoding) throws(ParseError) -> Int? {
        let length = Int(h.length)
        let vr = h.vr == VR.implicit ? (Tag.isUnsignedShort(h.tag) ? VR.US : VR.implicit) : h.vr
        switch vr {
        case VR.US:
            guard length >= 2 else { return nil }
            return Int(try src.u16(h.valueOffset, bigEndian: enc.bigEndian, "US value"))
        case VR.SS:
            guard length >= 2 else { return nil }
            return Int(Int16(bitPattern: try src.u16(h.valueOffset, bigEndian: enc.bigEndian, "SS value")))
        case VR.UL:
            guard length >= 4 else { return nil }
            return Int(try src.u32(h.valueOffset, bigEndian: enc.bigEndian, "UL value"))
        default:
            guard let first = try Self.readDecimals(src, at: h.valueOffset, length: length)?.first,
                  first.isFinite, first.rounded() == first, abs(first) < 1e15 else { return nil }
            return Int(first)
        }
    }

    /// A DS or IS value: decimal strings separated by backslashes (PS3.5 §6.2, VM > 1).
    /// nil when empty; a value that does not parse is nil too (the record notes it elsewhere).
    private static func readDecimals(_ src: ByteSource, at offset: Int, length: Int) throws(ParseError) -> [Double]? {
        guard length > 0 else { return nil }
        let b = try src.bytes(at: offset, count: length, "decimal string")
        var values: [Double] = []
        var separators = 0
        for i in 0..<length where b[i] == 0x5C { separators += 1 }
        values.reserveCapacity(separators + 1)
        var start = 0
        for i in 0...length {
            if i == length || b[i] == 0x5C {
                var lo = start
                var hi = i
                while lo < hi, b[lo] == 0x20 || b[lo] == 0 { lo += 1 }
                while hi > lo, b[hi - 1] == 0x20 || b[hi - 1] == 0 { hi -= 1 }
                if hi > lo {
                    guard let v = DICOMParser.parseDecimal(UnsafeRawBufferPointer(rebasing: b[lo..<hi])) else { return nil }
                    values.append(v)
                } else {
                    return nil
                }
                start = i + 1
            }
        }
        return values.isEmpty ? nil : values
    }

    package static func parseDecimal(_ b: UnsafeRawBufferPointer) -> Double? {
        // Fast path for plain decimals ("-0.703125", "512"); everything else goes to Double(String).
        var i = 0
        var negative = false
        if i < b.count, b[i] == 0x2D || b[i] == 0x2B { negative = b[i] == 0x2D; i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var fraction = 0
        var seenDot = false
        var simple = i < b.count
        while i < b.count {
            let c = b[i]
            if c >= 0x30, c <= 0x39 {
                if digits >= 15 { simple = false; break }  // exact below 2^53
                mantissa = mantissa * 10 + UInt64(c - 0x30)
                digits += 1
                if seenDot { fraction += 1 }
            } else if c == 0x2E, !seenDot {
                seenDot = true
            } else {
                simple = false
                break
            }
            i += 1
        }
        if simple, digits > 0 {
            let value = fraction == 0 ? Double(mantissa) : Double(mantissa) / powersOfTen[fraction]
            return negative ? -value : value
        }
        // Long or exponent forms: libc's strtod (correctly rounded, like Python's float()),
        // from a NUL-terminated stack copy; no String is made.
        guard b.count < 64 else { return Double(String(decoding: b, as: UTF8.self)) }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> Double? in
            for i in 0..<b.count { buffer[i] = CChar(bitPattern: b[i]) }
            buffer[b.count] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            let value = strtod(buffer.baseAddress!, &end)
            guard let end, end - buffer.baseAddress! == b.count else { return nil }
            return value
        }
    }

    private static let powersOfTen: [Double] = (0...18).map { p in (0..<p).reduce(1.0) { acc, _ in acc * 10 } }

    static func printable(_ a: UInt8, _ b: UInt8) -> String {
        func one(_ c: UInt8) -> String { (0x20...0x7E).contains(c) ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16) }
        return "'" + one(a) + one(b) + "'"
    }
}

extension DICOMParser.ElementHeader {
    var pixelDataLengthValue: Int { length == DICOMParser.undefinedLength ? -1 : Int(length) }
}
