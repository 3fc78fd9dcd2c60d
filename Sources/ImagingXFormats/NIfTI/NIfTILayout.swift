import ImagingXBytes
import ImagingXModel
/// The NIfTI-1 (and Analyze 7.5) and NIfTI-2 header layouts as declarative field tables.
/// Offsets are computed from the table, never typed by hand; a test checks that the tables
/// are contiguous and sum to 348 and 540 bytes (nifti1.h, nifti2.h).
public struct NIfTILayout: Sendable {
    public enum FieldType: Sendable {
        case char, int16, int32, int64, float32, float64
        var size: Int {
            switch self {
            case .char: 1
            case .int16: 2
            case .int32, .float32: 4
            case .int64, .float64: 8
            }
        }
    }

    public struct Field: Sendable {
        public let name: String
        public let type: FieldType
        public let count: Int
        public let offset: Int
    }

    public let fields: [Field]
    public let size: Int

    init(_ table: [(String, FieldType, Int)]) {
        var offset = 0
        var fields: [Field] = []
        for (name, type, count) in table {
            fields.append(Field(name: name, type: type, count: count, offset: offset))
            offset += type.size * count
        }
        self.fields = fields
        self.size = offset
    }

    public func field(_ name: String) -> Field {
        guard let f = fields.first(where: { $0.name == name }) else { preconditionFailure("no NIfTI field \(name)") }
        return f
    }

    /// nifti1.h `struct nifti_1_header` (Analyze 7.5 shares the first 344 bytes' layout).
    public static let nifti1 = NIfTILayout([
        ("sizeof_hdr", .int32, 1), ("data_type", .char, 10), ("db_name", .char, 18),
        ("extents", .int32, 1), ("session_error", .int16, 1), ("regular", .char, 1),
        ("dim_info", .char, 1), ("dim", .int16, 8), ("intent_p1", .float32, 1),
        ("intent_p2", .float32, 1), ("intent_p3", .float32, 1), ("intent_code", .int16, 1),
        ("datatype", .int16, 1), ("bitpix", .int16, 1), ("slice_start", .int16, 1),
        ("pixdim", .float32, 8), ("vox_offset", .float32, 1), ("scl_slope", .float32, 1),
        ("scl_inter", .float32, 1), ("slice_end", .int16, 1), ("slice_code", .char, 1),
        ("xyzt_units", .char, 1), ("cal_max", .float32, 1), ("cal_min", .float32, 1),
        ("slice_duration", .float32, 1), ("toffset", .float32, 1), ("glmax", .int32, 1),
        ("glmin", .int32, 1), ("descrip", .char, 80), ("aux_file", .char, 24),
        ("qform_code", .int16, 1), ("sform_code", .int16, 1), ("quatern_b", .float32, 1),
        ("quatern_c", .float32, 1), ("quatern_d", .float32, 1), ("qoffset_x", .float32, 1),
        ("qoffset_y", .float32, 1), ("qoffset_z", .float32, 1), ("srow_x", .float32, 4),
        ("srow_y", .float32, 4), ("srow_z", .float32, 4), ("intent_name", .char, 16),
        ("magic", .char, 4),
    ])

    /// nifti2.h `struct nifti_2_header`.
    public static let nifti2 = NIfTILayout([
        ("sizeof_hdr", .int32, 1), ("magic", .char, 8), ("datatype", .int16, 1),
        ("bitpix", .int16, 1), ("dim", .int64, 8), ("intent_p1", .float64, 1),
        ("intent_p2", .float64, 1), ("intent_p3", .float64, 1), ("pixdim", .float64, 8),
        ("vox_offset", .int64, 1), ("scl_slope", .float64, 1), ("scl_inter", .float64, 1),
        ("cal_max", .float64, 1), ("cal_min", .float64, 1), ("slice_duration", .float64, 1),
        ("toffset", .float64, 1), ("slice_start", .int64, 1), ("slice_end", .int64, 1),
        ("descrip", .char, 80), ("aux_file", .char, 24), ("qform_code", .int32, 1),
        ("sform_code", .int32, 1), ("quatern_b", .float64, 1), ("quatern_c", .float64, 1),
        ("quatern_d", .float64, 1), ("qoffset_x", .float64, 1), ("qoffset_y", .float64, 1),
        ("qoffset_z", .float64, 1), ("srow_x", .float64, 4), ("srow_y", .float64, 4),
        ("srow_z", .float64, 4), ("slice_code", .int32, 1), ("xyzt_units", .int32, 1),
        ("intent_code", .int32, 1), ("intent_name", .char, 16), ("dim_info", .char, 1),
        ("unused_str", .char, 15),
    ])
}

/// Reads numeric fields of one header through a layout, in the header's byte order.
/// Every value is widened to Int or Double; NIfTI-1's float32 fields keep float32 precision.
package struct NIfTIFields {
    let bytes: UnsafeRawBufferPointer
    let bigEndian: Bool

    @inline(__always)
    func int(_ f: NIfTISlot, _ index: Int = 0) -> Int {
        let at = f.offset + index * f.type.size
        switch f.type {
        case .char: return Int(bytes[at])
        case .int16:
            let raw = bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)
            return Int(Int16(bitPattern: bigEndian ? UInt16(bigEndian: raw) : UInt16(littleEndian: raw)))
        case .int32:
            let raw = bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)
            return Int(Int32(bitPattern: bigEndian ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)))
        case .int64:
            let raw = bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)
            return Int(Int64(bitPattern: bigEndian ? UInt64(bigEndian: raw) : UInt64(littleEndian: raw)))
        case .float32, .float64:
            let d = double(f, index)
            return d.isFinite && abs(d) < 9e18 ? Int(d) : 0
        }
    }

    @inline(__always)
    func double(_ f: NIfTISlot, _ index: Int = 0) -> Double {
        let at = f.offset + index * f.type.size
        switch f.type {
        case .float32:
            let raw = bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)
            return Double(Float(bitPattern: bigEndian ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)))
        case .float64:
            let raw = bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)
            return Double(bitPattern: bigEndian ? UInt64(bigEndian: raw) : UInt64(littleEndian: raw))
        default:
            return Double(int(f, index))
        }
    }


}

/// Where one field lives: its offset and type, without the name, so reading it costs no
/// reference counting.
package struct NIfTISlot: Sendable {
    let offset: Int
    let type: NIfTILayout.FieldType
    init(_ f: NIfTILayout.Field) {
        offset = f.offset
        type = f.type
    }
}

/// The fields the reader uses, looked up once per layout (not per file).
package struct NIfTISlots: Sendable {
    let sizeofHdr, dim, datatype, bitpix, pixdim, voxOffset, sclSlope, sclInter, xyztUnits,
        qformCode, sformCode, quaternB, quaternC, quaternD, qoffsetX, qoffsetY, qoffsetZ,
        srowX, srowY, srowZ, magic, intentCode, calMax, calMin: NIfTISlot
    let size: Int

    init(_ l: NIfTILayout) {
        func slot(_ name: String) -> NIfTISlot { NIfTISlot(l.field(name)) }
        sizeofHdr = slot("sizeof_hdr"); dim = slot("dim"); datatype = slot("datatype")
        bitpix = slot("bitpix"); pixdim = slot("pixdim"); voxOffset = slot("vox_offset")
        sclSlope = slot("scl_slope"); sclInter = slot("scl_inter"); xyztUnits = slot("xyzt_units")
        qformCode = slot("qform_code"); sformCode = slot("sform_code")
        quaternB = slot("quatern_b"); quaternC = slot("quatern_c"); quaternD = slot("quatern_d")
        qoffsetX = slot("qoffset_x"); qoffsetY = slot("qoffset_y"); qoffsetZ = slot("qoffset_z")
        srowX = slot("srow_x"); srowY = slot("srow_y"); srowZ = slot("srow_z")
        magic = slot("magic"); intentCode = slot("intent_code")
        calMax = slot("cal_max"); calMin = slot("cal_min")
        size = l.size
    }

    static let nifti1 = NIfTISlots(.nifti1)
    static let nifti2 = NIfTISlots(.nifti2)
    /// Analyze 7.5 fields that NIfTI-2 does not have (SPM2 scaling).
    static let glmax = NIfTISlot(NIfTILayout.nifti1.field("glmax"))
    static let glmin = NIfTISlot(NIfTILayout.nifti1.field("glmin"))
}
