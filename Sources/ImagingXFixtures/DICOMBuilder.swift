import CZlib

/// Builds DICOM files byte by byte for tests, SampleData and benchmarks.
/// Each element is written exactly as PS3.5 §7.1 lays it out for the chosen syntax.
public struct DICOMElement: Sendable {
    public var tag: UInt32
    public var vr: String
    public var value: Value

    public indirect enum Value: Sendable {
        case text(String)
        case us([UInt16])
        case ul([UInt32])
        case bytes([UInt8])
        /// Items of elements; `undefinedLength` writes delimiters instead of lengths.
        case sequence([[DICOMElement]], undefinedLength: Bool)
        /// Encapsulated pixel data: an empty basic offset table and one fragment per frame.
        case encapsulated([[UInt8]])
        /// Encapsulated pixel data item by item: the Basic Offset Table's bytes, then fragments.
        case fragments(offsetTable: [UInt8], [[UInt8]])
    }

    public init(_ tag: UInt32, _ vr: String, _ value: Value) {
        self.tag = tag
        self.vr = vr
        self.value = value
    }

    public static func text(_ tag: UInt32, _ vr: String, _ s: String) -> DICOMElement { DICOMElement(tag, vr, .text(s)) }
    public static func us(_ tag: UInt32, _ v: UInt16) -> DICOMElement { DICOMElement(tag, "US", .us([v])) }
}

public enum DICOMSyntax: Sendable, Equatable {
    case implicitLittle, explicitLittle, explicitBig, deflatedExplicitLittle
    /// Explicit VR little endian with encapsulated pixel data (e.g. "1.2.840.10008.1.2.4.50").
    case encapsulated(String)

    public var uid: String {
        switch self {
        case .implicitLittle: "1.2.840.10008.1.2"
        case .explicitLittle: "1.2.840.10008.1.2.1"
        case .explicitBig: "1.2.840.10008.1.2.2"
        case .deflatedExplicitLittle: "1.2.840.10008.1.2.1.99"
        case .encapsulated(let uid): uid
        }
    }

    var explicit: Bool { self != .implicitLittle }
    var bigEndian: Bool { self == .explicitBig }
}

public struct DICOMBuilder {
    public var elements: [DICOMElement]
    public var syntax: DICOMSyntax
    public var preamble = true
    public var fileMeta = true
    public var sopClassUID = "1.2.840.10008.5.1.4.1.1.2"
    public var sopInstanceUID = "1.2.826.0.1.3680043.8.498.1"

    public init(syntax: DICOMSyntax = .explicitLittle, elements: [DICOMElement] = []) {
        self.syntax = syntax
        self.elements = elements
    }

    public func encode() -> [UInt8] {
        var out: [UInt8] = []
        if preamble {
            out += [UInt8](repeating: 0, count: 128)
            out += Array("DICM".utf8)
        }
        if fileMeta {
            var meta: [UInt8] = []
            let metaElements: [DICOMElement] = [
                DICOMElement(0x0002_0001, "OB", .bytes([0, 1])),
                .text(0x0002_0002, "UI", sopClassUID),
                .text(0x0002_0003, "UI", sopInstanceUID),
                .text(0x0002_0010, "UI", syntax.uid),
                .text(0x0002_0012, "UI", "1.2.826.0.1.3680043.8.498.0"),
            ]
            for e in metaElements { DICOMBuilder.write(e, explicit: true, bigEndian: false, to: &meta) }
            var groupLength: [UInt8] = []
            DICOMBuilder.write(DICOMElement(0x0002_0000, "UL", .ul([UInt32(meta.count)])), explicit: true, bigEndian: false, to: &groupLength)
            out += groupLength + meta
        }
        var body: [UInt8] = []
        for e in elements.sorted(by: { $0.tag < $1.tag }) {
            DICOMBuilder.write(e, explicit: syntax.explicit, bigEndian: syntax.bigEndian, to: &body)
        }
        if syntax == .deflatedExplicitLittle { body = Compression.deflateRaw(body) }
        return out + body
    }

    static let longVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]

    static func put16(_ v: UInt16, _ big: Bool, _ out: inout [UInt8]) {
        if big { out += [UInt8(v >> 8), UInt8(v & 0xFF)] } else { out += [UInt8(v & 0xFF), UInt8(v >> 8)] }
    }

    static func put32(_ v: UInt32, _ big: Bool, _ out: inout [UInt8]) {
        if big { put16(UInt16(v >> 16), true, &out); put16(UInt16(v & 0xFFFF), true, &out) } else { put16(UInt16(v & 0xFFFF), false, &out); put16(UInt16(v >> 16), false, &out) }
    }

    static func writeHeader(tag: UInt32, vr: String, length: UInt32, explicit: Bool, bigEndian big: Bool, to out: inout [UInt8]) {
        put16(UInt16(tag >> 16), big, &out)
        put16(UInt16(tag & 0xFFFF), big, &out)
        if explicit {
            out += Array(vr.utf8.prefix(2))
            if longVRs.contains(vr) {
                out += [0, 0]
                put32(length, big, &out)
            } else {
                put16(UInt16(truncatingIfNeeded: length), big, &out)
            }
        } else {
            put32(length, big, &out)
        }
    }

    public static func write(_ e: DICOMElement, explicit: Bool, bigEndian big: Bool, to out: inout [UInt8]) {
        switch e.value {
        case .text(let s):
            var bytes = Array(s.utf8)
            if bytes.count % 2 == 1 { bytes.append(e.vr == "UI" ? 0 : 0x20) }
            writeHeader(tag: e.tag, vr: e.vr, length: UInt32(bytes.count), explicit: explicit, bigEndian: big, to: &out)
            out += bytes
        case .us(let values):
            writeHeader(tag: e.tag, vr: e.vr, length: UInt32(values.count * 2), explicit: explicit, bigEndian: big, to: &out)
            for v in values { put16(v, big, &out) }
        case .ul(let values):
            writeHeader(tag: e.tag, vr: e.vr, length: UInt32(values.count * 4), explicit: explicit, bigEndian: big, to: &out)
            for v in values { put32(v, big, &out) }
        case .bytes(var bytes):
            if bytes.count % 2 == 1 { bytes.append(0) }
            writeHeader(tag: e.tag, vr: e.vr, length: UInt32(bytes.count), explicit: explicit, bigEndian: big, to: &out)
            out += bytes
        case .sequence(let items, let undefined):
            var content: [UInt8] = []
            for item in items {
                var itemBody: [UInt8] = []
                for child in item { write(child, explicit: explicit, bigEndian: big, to: &itemBody) }
                put16(0xFFFE, big, &content); put16(0xE000, big, &content)
                put32(undefined ? 0xFFFF_FFFF : UInt32(itemBody.count), big, &content)
                content += itemBody
                if undefined { put16(0xFFFE, big, &content); put16(0xE00D, big, &content); put32(0, big, &content) }
            }
            if undefined {
                put16(0xFFFE, big, &content); put16(0xE0DD, big, &content); put32(0, big, &content)
            }
            writeHeader(tag: e.tag, vr: "SQ", length: undefined ? 0xFFFF_FFFF : UInt32(content.count), explicit: explicit, bigEndian: big, to: &out)
            out += content
        case .encapsulated(let frames):
            writeHeader(tag: e.tag, vr: "OB", length: 0xFFFF_FFFF, explicit: explicit, bigEndian: big, to: &out)
            put16(0xFFFE, big, &out); put16(0xE000, big, &out); put32(0, big, &out)  // empty offset table
            for var f in frames {
                if f.count % 2 == 1 { f.append(0) }
                put16(0xFFFE, big, &out); put16(0xE000, big, &out); put32(UInt32(f.count), big, &out)
                out += f
            }
            put16(0xFFFE, big, &out); put16(0xE0DD, big, &out); put32(0, big, &out)
        case .fragments(let table, let fragments):
            writeHeader(tag: e.tag, vr: "OB", length: 0xFFFF_FFFF, explicit: explicit, bigEndian: big, to: &out)
            for var f in [table] + fragments {
                if f.count % 2 == 1 { f.append(0) }
                put16(0xFFFE, big, &out); put16(0xE000, big, &out); put32(UInt32(f.count), big, &out)
                out += f
            }
            put16(0xFFFE, big, &out); put16(0xE0DD, big, &out); put32(0, big, &out)
        }
    }
}

/// A CT slice with realistic tags, planted (fake) identity values and an optional pixel grid.
public struct CTSliceSpec: Sendable {
    public var columns = 64
    public var rows = 64
    public var pixelSpacing: (row: Double, column: Double) = (0.7, 0.75)
    public var orientation: [Double] = [1, 0, 0, 0, 1, 0]
    public var position: [Double] = [-120, -130, 50]
    public var sliceThickness = 2.5
    public var rescaleSlope = 1.0
    public var rescaleIntercept = -1024.0
    public var seriesUID = "1.2.826.0.1.3680043.8.498.10.1"
    public var instanceNumber = 1
    public var imageType = "ORIGINAL\\PRIMARY\\AXIAL"
    /// Fake identity, planted so privacy tests can prove it never reaches any output.
    public var patientName = "DOE^JANE^PLANTED"
    public var patientID = "PID-PLANTED-0001"
    public var birthDate = "19010101"
    public var institution = "PLANTED GENERAL HOSPITAL"
    public var referringPhysician = "REFERRER^PLANTED"
    public var accessionNumber = "ACC-PLANTED-77"

    public init() {}

    /// The planted identity strings, for privacy assertions.
    public var identityValues: [String] {
        [patientName, patientID, birthDate, institution, referringPhysician, accessionNumber, seriesUID]
    }

    static func ds(_ values: [Double]) -> String {
        values.map { v in
            var s = String(v)
            if s.hasSuffix(".0") { s.removeLast(2) }
            return s
        }.joined(separator: "\\")
    }

    /// Elements of the slice; `pixels` are little-endian int16 samples (or nil for none).
    public func elements(pixels: [Int16]?) -> [DICOMElement] {
        var e: [DICOMElement] = [
            .text(0x0008_0005, "CS", "ISO_IR 100"),
            .text(0x0008_0008, "CS", imageType),
            .text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
            .text(0x0008_0018, "UI", "1.2.826.0.1.3680043.8.498.20.\(instanceNumber)"),
            .text(0x0008_0020, "DA", "20240102"),
            .text(0x0008_0050, "SH", accessionNumber),
            .text(0x0008_0060, "CS", "CT"),
            .text(0x0008_0070, "LO", "ImagingX Synthetic"),
            .text(0x0008_0080, "LO", institution),
            .text(0x0008_0090, "PN", referringPhysician),
            .text(0x0010_0010, "PN", patientName),
            .text(0x0010_0020, "LO", patientID),
            .text(0x0010_0030, "DA", birthDate),
            .text(0x0010_0040, "CS", "F"),
            .text(0x0018_0050, "DS", CTSliceSpec.ds([sliceThickness])),
            .text(0x0018_0060, "DS", "120"),
            .text(0x0020_000D, "UI", "1.2.826.0.1.3680043.8.498.30.1"),
            .text(0x0020_000E, "UI", seriesUID),
            .text(0x0020_0013, "IS", String(instanceNumber)),
            .text(0x0020_0032, "DS", CTSliceSpec.ds(position)),
            .text(0x0020_0037, "DS", CTSliceSpec.ds(orientation)),
            .us(0x0028_0002, 1),
            .text(0x0028_0004, "CS", "MONOCHROME2"),
            .us(0x0028_0010, UInt16(rows)),
            .us(0x0028_0011, UInt16(columns)),
            .text(0x0028_0030, "DS", CTSliceSpec.ds([pixelSpacing.row, pixelSpacing.column])),
            .us(0x0028_0100, 16),
            .us(0x0028_0101, 12),
            .us(0x0028_0102, 11),
            .us(0x0028_0103, 1),
            .text(0x0028_1050, "DS", "40"),
            .text(0x0028_1051, "DS", "400"),
            .text(0x0028_1052, "DS", CTSliceSpec.ds([rescaleIntercept])),
            .text(0x0028_1053, "DS", CTSliceSpec.ds([rescaleSlope])),
        ]
        if let pixels {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(pixels.count * 2)
            for p in pixels { let u = UInt16(bitPattern: p); bytes.append(UInt8(u & 0xFF)); bytes.append(UInt8(u >> 8)) }
            e.append(DICOMElement(0x7FE0_0010, "OW", .bytes(bytes)))
        }
        return e
    }
}
