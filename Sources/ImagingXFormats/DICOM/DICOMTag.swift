import ImagingXBytes
import ImagingXModel
/// DICOM tags used by the header reader, as (group << 16 | element). Names from PS3.6.
/// Only what the record needs is listed: every other element is skipped by its length.
package enum Tag {
    static let fileMetaGroupLength: UInt32 = 0x0002_0000
    static let mediaStorageSOPClassUID: UInt32 = 0x0002_0002
    static let transferSyntaxUID: UInt32 = 0x0002_0010
    static let directoryRecordSequence: UInt32 = 0x0004_1220
    static let sopClassUID: UInt32 = 0x0008_0016
    static let modality: UInt32 = 0x0008_0060
    static let imageType: UInt32 = 0x0008_0008
    static let referencedSeriesSequence: UInt32 = 0x0008_1115
    static let sliceThickness: UInt32 = 0x0018_0050
    static let spacingBetweenSlices: UInt32 = 0x0018_0088
    static let imagerPixelSpacing: UInt32 = 0x0018_1164
    static let seriesInstanceUID: UInt32 = 0x0020_000E
    static let imagePositionPatient: UInt32 = 0x0020_0032
    static let imageOrientationPatient: UInt32 = 0x0020_0037
    static let planePositionSequence: UInt32 = 0x0020_9113
    static let planeOrientationSequence: UInt32 = 0x0020_9116
    static let samplesPerPixel: UInt32 = 0x0028_0002
    static let photometricInterpretation: UInt32 = 0x0028_0004
    static let numberOfFrames: UInt32 = 0x0028_0008
    static let rows: UInt32 = 0x0028_0010
    static let columns: UInt32 = 0x0028_0011
    static let pixelSpacing: UInt32 = 0x0028_0030
    static let bitsAllocated: UInt32 = 0x0028_0100
    static let bitsStored: UInt32 = 0x0028_0101
    static let pixelRepresentation: UInt32 = 0x0028_0103
    static let rescaleIntercept: UInt32 = 0x0028_1052
    static let rescaleSlope: UInt32 = 0x0028_1053
    static let pixelMeasuresSequence: UInt32 = 0x0028_9110
    static let pixelValueTransformationSequence: UInt32 = 0x0028_9145
    static let sharedFunctionalGroupsSequence: UInt32 = 0x5200_9229
    static let perFrameFunctionalGroupsSequence: UInt32 = 0x5200_9230
    static let planarConfiguration: UInt32 = 0x0028_0006
    /// Red/Green/Blue Palette Color Lookup Table Descriptor (0028,1101–1103), Data
    /// (0028,1201–1203) and Segmented Data (0028,1221–1223).
    static let redPaletteDescriptor: UInt32 = 0x0028_1101
    static let redPaletteData: UInt32 = 0x0028_1201
    static let redSegmentedPaletteData: UInt32 = 0x0028_1221
    static let extendedOffsetTable: UInt32 = 0x7FE0_0001
    static let extendedOffsetTableLengths: UInt32 = 0x7FE0_0002
    package static let floatPixelData: UInt32 = 0x7FE0_0008
    package static let doubleFloatPixelData: UInt32 = 0x7FE0_0009
    package static let pixelData: UInt32 = 0x7FE0_0010
    static let item: UInt32 = 0xFFFE_E000
    static let itemDelimitation: UInt32 = 0xFFFE_E00D
    static let sequenceDelimitation: UInt32 = 0xFFFE_E0DD

    /// Sequences whose items the reader enters (functional groups, PS3.3 §C.7.6.16).
    @inline(__always)
    static func isFunctionalGroupSequence(_ tag: UInt32) -> Bool {
        switch tag {
        case sharedFunctionalGroupsSequence, perFrameFunctionalGroupsSequence, pixelMeasuresSequence,
             planePositionSequence, planeOrientationSequence, pixelValueTransformationSequence:
            return true
        default:
            return false
        }
    }

    /// Tags whose value is US: in implicit VR their binary form comes from this table.
    @inline(__always)
    static func isUnsignedShort(_ tag: UInt32) -> Bool {
        switch tag {
        case samplesPerPixel, rows, columns, bitsAllocated, bitsStored, pixelRepresentation, planarConfiguration: return true
        default: return false
        }
    }

    package static func describe(_ tag: UInt32) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = [UInt8(ascii: "(")]
        for shift in stride(from: 28, through: 0, by: -4) {
            out.append(hex[Int((tag >> UInt32(shift)) & 0xF)])
            if shift == 16 { out.append(UInt8(ascii: ",")) }
        }
        out.append(UInt8(ascii: ")"))
        return String(decoding: out, as: UTF8.self)
    }
}

/// Value representations as their two ASCII bytes, first byte high (PS3.5 §6.2).
package enum VR {
    static func code(_ a: UInt8, _ b: UInt8) -> UInt16 { UInt16(a) << 8 | UInt16(b) }
    static let SQ = code(0x53, 0x51)
    static let UN = code(0x55, 0x4E)
    static let US = code(0x55, 0x53)
    static let UL = code(0x55, 0x4C)
    static let SS = code(0x53, 0x53)
    static let OB = code(0x4F, 0x42)
    package static let OW = code(0x4F, 0x57)
    static let OF = code(0x4F, 0x46)
    static let OD = code(0x4F, 0x44)
    /// Implicit VR: the VR comes from the dictionary.
    static let implicit: UInt16 = 0

    /// VRs that use a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 Table 7.1-1).
    @inline(__always)
    static func hasLongLength(_ vr: UInt16) -> Bool {
        switch vr {
        case code(0x4F, 0x42), code(0x4F, 0x44), code(0x4F, 0x46), code(0x4F, 0x4C), code(0x4F, 0x56),
             code(0x4F, 0x57), code(0x53, 0x51), code(0x53, 0x56), code(0x55, 0x43), code(0x55, 0x4E),
             code(0x55, 0x52), code(0x55, 0x54), code(0x55, 0x56):
            return true
        default:
            return false
        }
    }

    /// Every VR of PS3.5 Table 6.2-1.
    @inline(__always)
    static func isKnown(_ vr: UInt16) -> Bool {
        switch vr {
        case code(0x41, 0x45), code(0x41, 0x53), code(0x41, 0x54), code(0x43, 0x53), code(0x44, 0x41),
             code(0x44, 0x53), code(0x44, 0x54), code(0x46, 0x4C), code(0x46, 0x44), code(0x49, 0x53),
             code(0x4C, 0x4F), code(0x4C, 0x54), code(0x4F, 0x42), code(0x4F, 0x44), code(0x4F, 0x46),
             code(0x4F, 0x4C), code(0x4F, 0x56), code(0x4F, 0x57), code(0x50, 0x4E), code(0x53, 0x48),
             code(0x53, 0x4C), code(0x53, 0x51), code(0x53, 0x53), code(0x53, 0x54), code(0x53, 0x56),
             code(0x54, 0x4D), code(0x55, 0x43), code(0x55, 0x49), code(0x55, 0x4C), code(0x55, 0x4E),
             code(0x55, 0x52), code(0x55, 0x53), code(0x55, 0x54), code(0x55, 0x56):
            return true
        default:
            return false
        }
    }
}

/// Transfer syntaxes (PS3.5 §10, PS3.6 Table A-1) and how their dataset is encoded.
package enum TransferSyntax {
    static let implicitLittle = "1.2.840.10008.1.2"
    static let explicitLittle = "1.2.840.10008.1.2.1"
    static let deflatedExplicitLittle = "1.2.840.10008.1.2.1.99"
    package static let explicitBig = "1.2.840.10008.1.2.2"

    /// Whether Pixel Data is stored natively (not encapsulated) under this syntax.
    package static func isNative(_ uid: String) -> Bool {
        uid == implicitLittle || uid == explicitLittle || uid == deflatedExplicitLittle || uid == explicitBig
    }

    package static let rle = "1.2.840.10008.1.2.5"
    package static let jpegBaseline = "1.2.840.10008.1.2.4.50"
    package static let jpegExtended = "1.2.840.10008.1.2.4.51"

    /// Why pixels under an encapsulated syntax other than RLE and 8-bit JPEG are not decoded.
    package static func undecodedReason(_ uid: String) -> String {
        let name: String
        switch uid {
        case "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70": name = "JPEG Lossless (process 14)"
        case "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81": name = "JPEG-LS"
        case "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93":
            name = "JPEG 2000"
        case "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203": name = "High-Throughput JPEG 2000"
        case let u where u.hasPrefix("1.2.840.10008.1.2.4.10"): name = "MPEG/HEVC video"
        default: name = "transfer syntax \(uid)"
        }
        return "\(name) not supported: pixel statistics need a decoder ImagingX does not have"
    }
}
