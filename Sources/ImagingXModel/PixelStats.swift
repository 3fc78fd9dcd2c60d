import ImagingXBytes
/// Intensity statistics of one image (all channels pooled), in the values a user's array holds
/// after the modality rescale: `slope × stored + intercept` (DICOM Rescale Slope/Intercept,
/// NIfTI scl_slope/scl_inter). NaN and ±Inf are counted and left out of everything else.
///
/// Percentiles use numpy's default ("linear"): the value at rank (n − 1)·q/100 of the sorted
/// values, interpolated between its neighbours as numpy's `_lerp` does. For integer data they
/// come from a full histogram and are exact; for floating-point data they are exact too (a
/// histogram over [min, max] narrows each rank to one bin, whose values are then sorted).
public struct PixelStats: Sendable, Equatable {
    public var count = 0
    public var min = Double.nan
    public var max = Double.nan
    public var mean = Double.nan
    /// Population standard deviation (numpy's `std` with ddof 0).
    public var std = Double.nan
    public var p00_5 = Double.nan
    public var p50 = Double.nan
    public var p99_5 = Double.nan
    public var nanCount = 0
    public var infCount = 0

    public init() {}

    static let quantiles: [Double] = [0.5, 50, 99.5]

    /// numpy's `_lerp(a, b, t)`: `a + (b − a)·t`, computed from `b` when t ≥ 0.5 so the result is
    /// monotone and hits `b` exactly at t = 1.
    @inline(__always)
    package static func lerp(_ a: Double, _ b: Double, _ t: Double) -> Double {
        let diff = b - a
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t
    }

    /// Fills the summary from stored-value facts and a k-th smallest stored value function.
    /// `kth` receives sorted, distinct ranks (0-based, in stored ascending order) and returns
    /// their values. The rescale is applied here: a negative slope reverses the order, so the
    /// rescaled k-th smallest is the stored (n − 1 − k)-th.
    package static func summarize(count n: Int, nan: Int, inf: Int, storedMin: Double, storedMax: Double,
                          storedMean: Double, storedVariance: Double, slope: Double, intercept: Double,
                          kth: ([Int]) -> [Double]) -> PixelStats {
        var s = PixelStats()
        s.count = n
        s.nanCount = nan
        s.infCount = inf
        guard n > 0 else { return s }
        let a = storedMin * slope + intercept, b = storedMax * slope + intercept
        s.min = Swift.min(a, b)
        s.max = Swift.max(a, b)
        s.mean = storedMean * slope + intercept
        s.std = storedVariance.squareRoot() * abs(slope)
        // Ranks in the rescaled order, then mapped to stored ranks.
        var plans: [(i: Int, j: Int, t: Double)] = []
        var wanted = Set<Int>()
        for q in quantiles {
            let h = (q / 100) * Double(n - 1)
            let i = Int(h.rounded(.down))
            let j = Swift.min(i + 1, n - 1)
            plans.append((i, j, h - Double(i)))
            wanted.insert(i)
            wanted.insert(j)
        }
        let reversed = slope < 0
        let storedRanks = wanted.map { reversed ? n - 1 - $0 : $0 }.sorted()
        let values = kth(storedRanks)
        var byRank: [Int: Double] = [:]
        for (r, v) in zip(storedRanks, values) { byRank[reversed ? n - 1 - r : r] = v * slope + intercept }
        let p = plans.map { lerp(byRank[$0.i]!, byRank[$0.j]!, $0.t) }
        s.p00_5 = p[0]
        s.p50 = p[1]
        s.p99_5 = p[2]
        return s
    }
}

/// How stored samples are laid out in the decoded byte stream and turned into values.
public enum SampleKind: String, Sendable {
    case uint8, int8, uint16, int16, uint32, int32, uint64, int64, float32, float64

    package var size: Int {
        switch self {
        case .uint8, .int8: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        }
    }

    package var isSigned: Bool { self == .int8 || self == .int16 || self == .int32 || self == .int64 }
    package var isFloat: Bool { self == .float32 || self == .float64 }
}

public struct SampleLayout: Sendable {
    public var kind: SampleKind
    /// Bytes are big-endian (swapped on this little-endian host).
    public var bigEndian = false
    /// DICOM BitsStored when it is less than the container: the unused high bits are masked
    /// off and, for signed data, the sign bit (bit `bitsStored − 1`) extended.
    public var bitsStored: Int?
    public var slope = 1.0
    public var intercept = 0.0

    public init(kind: SampleKind, bigEndian: Bool = false, bitsStored: Int? = nil, slope: Double = 1, intercept: Double = 0) {
        self.kind = kind
        self.bigEndian = bigEndian
        self.bitsStored = bitsStored
        self.slope = slope
        self.intercept = intercept
    }

    /// The stored integer value of a raw container value (already in host order).
    @inline(__always)
    package func integerValue(_ raw: UInt64) -> Int64 {
        let width = kind.size * 8
        let bits = Swift.min(bitsStored ?? width, width)
        var v = bits >= 64 ? raw : raw & ((1 << UInt64(bits)) - 1)
        if kind.isSigned {
            if bits < 64, v & (1 << UInt64(bits - 1)) != 0 { v |= ~((1 << UInt64(bits)) - 1) }
            return Int64(bitPattern: v)
        }
        return Int64(bitPattern: v)  // uint64 above 2^63 is handled by the caller
    }
}
