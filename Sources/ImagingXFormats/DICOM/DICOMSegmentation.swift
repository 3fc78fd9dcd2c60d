import ImagingXBytes
import ImagingXModel

/// Why a DICOM SEG (or a source slice) cannot be turned into a label volume.
package struct SegmentationProblem: Error, Sendable {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
}

/// What a DICOM Segmentation object (PS3.3 A.51, C.8.20) says about its frames, read from a header
/// parsed with `DICOMParser.collectNested`. UIDs stay in memory for matching; none is written out.
package struct DICOMSegmentation: Sendable {
    package enum Kind: Sendable, Equatable {
        /// SegmentationType BINARY: 1 bit per pixel, packed LSB first continuously across frames.
        case binary
        /// SegmentationType FRACTIONAL: 8 bits per pixel, 0 … MaximumFractionalValue.
        case fractional(maximum: Int)
    }

    package var kind: Kind
    package var rows: Int
    package var columns: Int
    package var frames: Int
    /// Per frame: ReferencedSegmentNumber (SegmentIdentificationSequence, per-frame or shared).
    package var segments: [Int]
    /// Per frame: DerivationImageSequence > SourceImageSequence > ReferencedSOPInstanceUID, if any.
    package var sources: [String?]
    /// Per frame: PlanePositionSequence > ImagePositionPatient, if any.
    package var positions: [[Double]?]
    /// PlaneOrientationSequence > ImageOrientationPatient (shared, or the first frame's).
    package var orientation: [Double]?
    /// Where the native pixel data lies in the parsed dataset, and its length in bytes.
    package var pixelOffset: Int
    package var pixelLength: Int

    /// Bytes of pixel data the frames need: ⌈frames × rows × columns / 8⌉ for BINARY (PS3.5 8.1.1:
    /// no padding between frames), frames × rows × columns for FRACTIONAL.
    package var neededBytes: Int {
        let bits = frames.multipliedReportingOverflow(by: rows).partialValue.multipliedReportingOverflow(by: columns)
        if case .binary = kind { return (bits.partialValue + 7) / 8 }
        return bits.partialValue
    }

    package static let segmentationType: UInt32 = 0x0062_0001
    package static let segmentSequence: UInt32 = 0x0062_0002
    package static let segmentIdentificationSequence: UInt32 = 0x0062_000A
    package static let referencedSegmentNumber: UInt32 = 0x0062_000B
    package static let maximumFractionalValue: UInt32 = 0x0062_000E
    package static let derivationImageSequence: UInt32 = 0x0008_9124
    package static let sourceImageSequence: UInt32 = 0x0008_2112
    package static let referencedSOPInstanceUID: UInt32 = 0x0008_1155
    package static let sopInstanceUID: UInt32 = 0x0008_0018
    /// Sequences of a SEG that implicit VR writes with a defined length (entered when collecting).
    static let sequenceTags: Set<UInt32> = [segmentSequence, segmentIdentificationSequence, derivationImageSequence,
                                            sourceImageSequence, Tag.referencedSeriesSequence]
    /// Frames past this many are refused (a SEG of 1,000 slices × 100 segments has 100,000).
    static let maxFrames = 1 << 20

    /// Reads the frame description of a SEG header (`collectNested` on).
    package static func interpret(_ h: DICOMHeader) throws(SegmentationProblem) -> DICOMSegmentation {
        guard let rows = h.rows, let columns = h.columns, rows > 0, columns > 0 else {
            throw SegmentationProblem("Rows (0028,0010) or Columns (0028,0011) missing or 0")
        }
        let frames = h.numberOfFrames ?? 1
        guard frames >= 1, frames <= maxFrames else { throw SegmentationProblem("NumberOfFrames is \(frames)") }
        guard h.pixelDataTag == Tag.pixelData, !h.pixelDataUndefinedLength, h.pixelDataLength >= 0 else {
            throw SegmentationProblem(h.pixelDataTag == nil ? "no Pixel Data"
                : "encapsulated (compressed) Pixel Data: only native SEG pixel data is decoded")
        }
        let syntax = h.transferSyntax ?? h.encodingSyntax
        guard syntax == TransferSyntax.implicitLittle || syntax == TransferSyntax.explicitLittle
                || syntax == "1.2.840.10008.1.2.1.99" else {
            throw SegmentationProblem("transfer syntax \(syntax): only little-endian native (or deflated) SEG pixel data is decoded")
        }
        var type: String?
        var maximum: Int?
        var shared: Int?
        var sharedOrientation: [Double]?
        var firstOrientation: [Double]?
        var segments = [Int?](repeating: nil, count: frames)
        var sources = [String?](repeating: nil, count: frames)
        var positions = [[Double]?](repeating: nil, count: frames)
        var perFrameItems = 0
        for e in h.nested {
            if e.path.isEmpty {
                if e.tag == segmentationType { type = text(e) }
                if e.tag == maximumFractionalValue { maximum = integer(e) }
                continue
            }
            let top = e.path[0]
            if top == Tag.sharedFunctionalGroupsSequence {
                if e.tag == referencedSegmentNumber, e.path.contains(segmentIdentificationSequence) { shared = integer(e) }
                if e.tag == Tag.imageOrientationPatient { sharedOrientation = decimals(e) }
                continue
            }
            guard top == Tag.perFrameFunctionalGroupsSequence, e.path.count >= 2 else { continue }
            let f = Int(e.path[1])
            perFrameItems = max(perFrameItems, f + 1)
            guard f < frames else { continue }
            switch e.tag {
            case referencedSegmentNumber where e.path.contains(segmentIdentificationSequence):
                segments[f] = integer(e)
            case referencedSOPInstanceUID where e.path.contains(sourceImageSequence) && e.path.contains(derivationImageSequence):
                if sources[f] == nil { sources[f] = text(e) }
            case Tag.imagePositionPatient where e.path.contains(Tag.planePositionSequence):
                positions[f] = decimals(e)
            case Tag.imageOrientationPatient where f == 0:
                firstOrientation = decimals(e)
            default: break
            }
        }
        let kind: Kind
        switch type {
        case "BINARY":
            guard h.bitsAllocated == 1 else { throw SegmentationProblem("BINARY segmentation with BitsAllocated \(h.bitsAllocated.map(String.init) ?? "missing") (1 required)") }
            kind = .binary
        case "FRACTIONAL":
            guard h.bitsAllocated == 8 else { throw SegmentationProblem("FRACTIONAL segmentation with BitsAllocated \(h.bitsAllocated.map(String.init) ?? "missing") (8 required)") }
            guard let maximum, maximum > 0, maximum <= 255 else {
                throw SegmentationProblem("FRACTIONAL segmentation without a MaximumFractionalValue (0062,000E) of 1…255")
            }
            kind = .fractional(maximum: maximum)
        default:
            throw SegmentationProblem("SegmentationType (0062,0001) is \(type ?? "missing") (BINARY or FRACTIONAL expected)")
        }
        if h.hasPerFrameGroups || perFrameItems > 0 {
            guard perFrameItems == frames else {
                throw SegmentationProblem("PerFrameFunctionalGroupsSequence holds \(perFrameItems) items but NumberOfFrames is \(frames)")
            }
        }
        var resolved: [Int] = []
        resolved.reserveCapacity(frames)
        for f in 0..<frames {
            guard let s = segments[f] ?? shared else {
                throw SegmentationProblem("frame \(f + 1) has no SegmentIdentificationSequence > ReferencedSegmentNumber")
            }
            guard s >= 1 else { throw SegmentationProblem("frame \(f + 1) names segment \(s) (segment numbers start at 1)") }
            resolved.append(s)
        }
        return DICOMSegmentation(kind: kind, rows: rows, columns: columns, frames: frames, segments: resolved,
                                 sources: sources, positions: positions, orientation: sharedOrientation ?? firstOrientation,
                                 pixelOffset: h.pixelDataOffset, pixelLength: h.pixelDataLength)
    }

    /// The top-level SOPInstanceUID of a header parsed with `collectNested` (memory only).
    package static func sopInstance(_ h: DICOMHeader) -> String? {
        h.nested.first { $0.path.isEmpty && $0.tag == sopInstanceUID }.flatMap(text)
    }

    static func text(_ e: NestedElement) -> String? {
        var lo = 0, hi = e.value.count
        while lo < hi, e.value[lo] == 0x20 || e.value[lo] == 0 { lo += 1 }
        while hi > lo, e.value[hi - 1] == 0x20 || e.value[hi - 1] == 0 { hi -= 1 }
        return hi > lo ? String(decoding: e.value[lo..<hi], as: UTF8.self) : nil
    }

    /// US/UL binary values (implicit VR: by length), or IS text.
    static func integer(_ e: NestedElement) -> Int? {
        let v = e.value
        let binary = e.vr == VR.US || e.vr == VR.UL || (e.vr == VR.implicit && (v.count == 2 || v.count == 4)
                                                         && !v.allSatisfy { $0 == 0x20 || (0x30...0x39).contains($0) })
        if binary {
            // US with VM > 1: the first value.
            if v.count == 2 || (e.vr == VR.US && v.count >= 2) { return Int(e.bigEndian ? UInt16(v[0]) << 8 | UInt16(v[1]) : UInt16(v[1]) << 8 | UInt16(v[0])) }
            if v.count == 4 {
                let b = e.bigEndian ? v : v.reversed()
                return Int(UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3]))
            }
            return nil
        }
        guard let d = decimals(e)?.first, d.isFinite, d == d.rounded(), abs(d) < 1e9 else { return nil }
        return Int(d)
    }

    static func decimals(_ e: NestedElement) -> [Double]? {
        guard let s = text(e) else { return nil }
        var out: [Double] = []
        for part in s.split(separator: "\\", omittingEmptySubsequences: false) {
            let bytes = Array(part.utf8).filter { $0 != 0x20 }
            guard !bytes.isEmpty, let v = bytes.withUnsafeBytes({ DICOMParser.parseDecimal($0) }), v.isFinite else { return nil }
            out.append(v)
        }
        return out.isEmpty ? nil : out
    }
}
