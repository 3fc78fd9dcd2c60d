import ImagingXModel

/// One NIfTI-1/-2 `datatype` code (nifti1.h `NIFTI_TYPE_*`; NIfTI-2 uses the same codes): the one
/// table the header reader and the voxel decoder both read.
public struct NIfTIDataType: Sendable, Equatable {
    /// The header's `datatype` field.
    public let code: Int
    /// The record's `dtype`.
    public let dtype: DType

    /// Bits of one voxel (nifti1.h: `bitpix` should equal it).
    public var bits: Int { dtype.bits }
    /// Values per voxel: 3 for RGB24, 4 for RGBA32, else 1.
    public var channels: Int { dtype.channelsPerValue }
    /// Bytes of one voxel; nil for DT_BINARY (1 bit).
    public var bytes: Int? { dtype.bytes }
    /// How the decoder reads one channel; nil for what it does not decode (binary, complex, float128).
    public var sampleKind: SampleKind? { dtype.sampleKind }

    /// nifti1.h, in code order.
    public static let all: [NIfTIDataType] = [
        .init(code: 1, dtype: .bit),           // NIFTI_TYPE_BINARY (DT_BINARY)
        .init(code: 2, dtype: .uint8),         // NIFTI_TYPE_UINT8
        .init(code: 4, dtype: .int16),         // NIFTI_TYPE_INT16
        .init(code: 8, dtype: .int32),         // NIFTI_TYPE_INT32
        .init(code: 16, dtype: .float32),      // NIFTI_TYPE_FLOAT32
        .init(code: 32, dtype: .complex64),    // NIFTI_TYPE_COMPLEX64
        .init(code: 64, dtype: .float64),      // NIFTI_TYPE_FLOAT64
        .init(code: 128, dtype: .rgb24),       // NIFTI_TYPE_RGB24
        .init(code: 256, dtype: .int8),        // NIFTI_TYPE_INT8
        .init(code: 512, dtype: .uint16),      // NIFTI_TYPE_UINT16
        .init(code: 768, dtype: .uint32),      // NIFTI_TYPE_UINT32
        .init(code: 1024, dtype: .int64),      // NIFTI_TYPE_INT64
        .init(code: 1280, dtype: .uint64),     // NIFTI_TYPE_UINT64
        .init(code: 1536, dtype: .float128),   // NIFTI_TYPE_FLOAT128
        .init(code: 1792, dtype: .complex128), // NIFTI_TYPE_COMPLEX128
        .init(code: 2048, dtype: .complex256), // NIFTI_TYPE_COMPLEX256
        .init(code: 2304, dtype: .rgba32),     // NIFTI_TYPE_RGBA32
    ]

    /// The entry for `code`; nil for a code nifti1.h does not define.
    public init?(code: Int) {
        guard let entry = Self.all.first(where: { $0.code == code }) else { return nil }
        self = entry
    }

    init(code: Int, dtype: DType) {
        self.code = code
        self.dtype = dtype
    }
}
