/// A record's `dtype`: the stored value type, as numpy / nibabel name it. Raw values are the
/// output strings (README "Record"); `rgb24` and `rgba32` are one 8-bit-per-channel colour value.
public enum DType: String, Sendable, Codable, CaseIterable {
    case bit
    case uint8, int8, uint16, int16, uint32, int32, uint64, int64
    case float32, float64, float128
    case complex64, complex128, complex256
    case rgb24, rgba32

    /// Bits of one value (all of a colour value's channels).
    public var bits: Int {
        switch self {
        case .bit: 1
        case .uint8, .int8: 8
        case .uint16, .int16: 16
        case .rgb24: 24
        case .uint32, .int32, .float32, .rgba32: 32
        case .uint64, .int64, .float64, .complex64: 64
        case .float128, .complex128: 128
        case .complex256: 256
        }
    }

    /// Bytes of one value; nil for packed 1-bit data.
    public var bytes: Int? { self == .bit ? nil : bits / 8 }

    /// Channels in one value: 3 for rgb24, 4 for rgba32, else 1.
    public var channelsPerValue: Int {
        switch self {
        case .rgb24: 3
        case .rgba32: 4
        default: 1
        }
    }

    /// Real floating point (not complex).
    public var isFloat: Bool { self == .float32 || self == .float64 || self == .float128 }
    public var isComplex: Bool { self == .complex64 || self == .complex128 || self == .complex256 }
    /// Every sample is an integer (colour values included: 8-bit channels).
    public var isInteger: Bool { !isFloat && !isComplex }
    public var isColour: Bool { self == .rgb24 || self == .rgba32 }

    /// How one channel is laid out for decoding; nil for what the pixel decoders do not read
    /// (1-bit, complex, 128-bit float).
    public var sampleKind: SampleKind? {
        switch self {
        case .uint8, .rgb24, .rgba32: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bit, .float128, .complex64, .complex128, .complex256: nil
        }
    }
}
