import ImagingXBytes
import ImagingXModel
import ImagingXFormats
/// A decoded image held in memory, in its stored layout (what label-aware statistics need:
/// image and label voxels side by side).
public struct Volume: Sendable {
    public var layout: SampleLayout
    public var bytes: [UInt8]
    public var count: Int { bytes.count / layout.kind.size }

    public init(layout: SampleLayout, bytes: [UInt8]) {
        self.layout = layout
        self.bytes = bytes
    }

    /// Calls `body` with consecutive pieces of the values (rescaled, as Double).
    package func forEachChunk(_ body: (_ start: Int, _ values: UnsafeBufferPointer<Double>) -> Void) {
        let n = count
        let piece = 65536
        var scratch = [Double](repeating: 0, count: piece)
        bytes.withUnsafeBytes { raw in
            let p = raw.baseAddress!
            var start = 0
            while start < n {
                let m = min(piece, n - start)
                scratch.withUnsafeMutableBufferPointer { out in
                    Volume.convert(p, layout, start, m, out.baseAddress!)
                }
                scratch.withUnsafeBufferPointer { body(start, UnsafeBufferPointer(rebasing: $0[0..<m])) }
                start += m
            }
        }
    }

    package static func convert(_ p: UnsafeRawPointer, _ l: SampleLayout, _ start: Int, _ m: Int, _ out: UnsafeMutablePointer<Double>) {
        // The kind is decided once per chunk; each loop below is a plain conversion.
        let plain = (l.bitsStored == nil || l.bitsStored! >= l.kind.size * 8)
        let slope = l.slope, intercept = l.intercept
        let identity = slope == 1 && intercept == 0
        @inline(__always) func emit(_ i: Int, _ v: Double) { out[i] = identity ? v : v * slope + intercept }
        switch l.kind {
        case .uint8 where plain:
            let b = (p + start).assumingMemoryBound(to: UInt8.self)
            for i in 0..<m { emit(i, Double(b[i])) }
        case .int8 where plain:
            let b = (p + start).assumingMemoryBound(to: Int8.self)
            for i in 0..<m { emit(i, Double(b[i])) }
        case .int16 where plain && !l.bigEndian:
            for i in 0..<m { emit(i, Double(Int16(bitPattern: p.loadUnaligned(fromByteOffset: 2 * (start + i), as: UInt16.self)))) }
        case .uint16 where plain && !l.bigEndian:
            for i in 0..<m { emit(i, Double(p.loadUnaligned(fromByteOffset: 2 * (start + i), as: UInt16.self))) }
        case .float32 where !l.bigEndian:
            for i in 0..<m { emit(i, Double(Float(bitPattern: p.loadUnaligned(fromByteOffset: 4 * (start + i), as: UInt32.self)))) }
        default:
            for i in 0..<m {
                let k = start + i
                var v: Double
                switch l.kind {
                case .uint8, .int8:
                    let raw = p.load(fromByteOffset: k, as: UInt8.self)
                    v = plain ? (l.kind == .int8 ? Double(Int8(bitPattern: raw)) : Double(raw)) : Double(l.integerValue(UInt64(raw)))
                case .uint16, .int16:
                    var raw = p.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)
                    if l.bigEndian { raw = raw.byteSwapped }
                    v = plain ? (l.kind == .int16 ? Double(Int16(bitPattern: raw)) : Double(raw)) : Double(l.integerValue(UInt64(raw)))
                case .float32: v = WideStats.F32.load(p, k, l)
                case .float64: v = WideStats.F64.load(p, k, l)
                case .int32, .uint32: v = WideStats.I32.load(p, k, l)
                case .int64, .uint64: v = WideStats.I64.load(p, k, l)
                }
                emit(i, v)
            }
        }
    }
}

/// Mergeable intensity summary: count, moments and a histogram whose bins are
/// [j·2^k, (j+1)·2^k). Two summaries merge exactly: the finer one is re-binned to the coarser
/// power of two (bins nest), counts add. With k ≤ 0 and integer values, every bin holds one
/// value and percentiles are exact.
public struct IntensityAccumulator: Sendable, Codable, Equatable {
    public var count = 0
    public var sum = 0.0
    /// Sum of squared deviations from this accumulator's mean (Chan et al. when merging).
    public var m2 = 0.0
    public var min = Double.infinity
    public var max = -Double.infinity
    /// log2 of the bin width.
    public var binExponent = 0
    /// Whether every value added was an integer (bins then hold exact values when k ≤ 0).
    public var integral = true
    /// Sparse bins: index → count.
    public var bins: [Int: Int] = [:]

    public init() {}

    /// From exact per-value counts and the rescale.
    init(_ h: ValueHistogram, _ layout: SampleLayout) {
        guard !h.values.isEmpty else { return }
        let slope = layout.slope, intercept = layout.intercept
        let a = Double(h.values.first!) * slope + intercept, b = Double(h.values.last!) * slope + intercept
        integral = slope == slope.rounded() && intercept == intercept.rounded()
        min = Swift.min(a, b)
        max = Swift.max(a, b)
        binExponent = Self.exponent(lo: min, hi: max, integral: integral)
        let scale = Double(sign: .plus, exponent: -binExponent, significand: 1)
        var n = 0
        var total = 0.0
        for (v, c) in zip(h.values, h.counts) {
            let r = Double(v) * slope + intercept
            n += Int(c)
            total += r * Double(c)
            bins[Self.binKey(r * scale), default: 0] += Int(c)
        }
        count = n
        sum = total
        let mean = total / Double(n)
        for (v, c) in zip(h.values, h.counts) {
            let d = Double(v) * slope + intercept - mean
            m2 += d * d * Double(c)
        }
    }

    /// The summary a record carries, from the bins (exact when `integral` and k ≤ 0).
    public var pixelStats: PixelStats {
        var s = PixelStats()
        s.count = count
        guard count > 0 else { return s }
        s.min = min
        s.max = max
        s.mean = mean
        s.std = std
        s.p00_5 = percentile(0.5)
        s.p50 = percentile(50)
        s.p99_5 = percentile(99.5)
        return s
    }

    static let maxBins = 65536

    /// The exponent for a value range: fine enough for `maxBins` bins over [lo, hi], never
    /// finer than 1 for integer data.
    package static func exponent(lo: Double, hi: Double, integral: Bool) -> Int {
        // Half the width: hi - lo overflows to infinity for ranges near ±Double.greatestFiniteMagnitude.
        let half = Swift.max(hi / 2 - lo / 2, 0)
        let width = half * 2
        var k = half > 0 && half.isFinite ? Int((half / Double(maxBins)).exponent) + 2 : (half > 0 ? 1010 : 0)
        if integral { k = Swift.max(k, 0) }
        if width == 0 && !integral { k = -20 }
        // Up to 2^1010: any finite range (even ±1.8e308, or a huge DICOM rescale) fits in at most
        // 65,536 bins.
        return Swift.min(Swift.max(k, -60), 1010)
    }

    /// A scaled value's bin, floored; values whose bin would not fit an Int (a tiny spread far
    /// from zero, such as 1e20 ± 1) share the outermost bins instead of trapping.
    @inline(__always)
    package static func binKey(_ x: Double) -> Int {
        let limit = 4.6e18  // below Int.max / 2, so differences of two keys stay representable
        if x >= limit { return Int(limit) }
        if x <= -limit { return -Int(limit) }
        return Int(x.rounded(.down))
    }

    @inline(__always)
    static func binIndex(_ v: Double, _ k: Int) -> Int {
        binKey(v * Double(sign: .plus, exponent: -k, significand: 1))
    }

    /// Adds finite values (NaN/Inf must be filtered by the caller).
    mutating func add(_ values: UnsafeBufferPointer<Double>, mask: (Int) -> Bool) {
        let scale = Double(sign: .plus, exponent: -binExponent, significand: 1)
        for (i, v) in values.enumerated() where mask(i) && v.isFinite {
            count += 1
            let delta = v - (count > 1 ? sum / Double(count - 1) : v)
            sum += v
            m2 += delta * (v - sum / Double(count))
            if v < min { min = v }
            if v > max { max = v }
            if integral && v != v.rounded() { integral = false }
            bins[Self.binKey(v * scale), default: 0] += 1
        }
    }

    mutating func rebin(to k: Int) {
        guard k > binExponent else { return }
        let shift = k - binExponent
        var out: [Int: Int] = [:]
        for (b, c) in bins { out[b >> shift, default: 0] += c }
        bins = out
        binExponent = k
    }

    /// Exact merge: counts and bins add; moments combine by Chan's formula.
    public mutating func merge(_ other: IntensityAccumulator) {
        guard other.count > 0 else { return }
        guard count > 0 else { self = other; return }
        var o = other
        let k = Swift.max(binExponent, o.binExponent)
        rebin(to: k)
        o.rebin(to: k)
        let n = Double(count), m = Double(o.count)
        let delta = o.sum / m - sum / n
        m2 = m2 + o.m2 + delta * delta * n * m / (n + m)
        count += o.count
        sum += o.sum
        min = Swift.min(min, o.min)
        max = Swift.max(max, o.max)
        integral = integral && o.integral
        for (b, c) in o.bins { bins[b, default: 0] += c }
    }

    public var mean: Double { count > 0 ? sum / Double(count) : .nan }
    public var std: Double { count > 0 ? (m2 / Double(count)).squareRoot() : .nan }

    /// numpy-style linear percentile from the bins. A bin's value is its lower edge when bins
    /// hold single integers (exact), else its centre (within half a bin width).
    public func percentile(_ q: Double) -> Double {
        guard count > 0 else { return .nan }
        let keys = bins.keys.sorted()
        let width = Double(sign: .plus, exponent: binExponent, significand: 1)
        let exact = integral && binExponent <= 0
        func value(_ b: Int) -> Double {
            let v = exact ? Double(b) * width : (Double(b) + 0.5) * width
            return Swift.min(Swift.max(v, min), max)
        }
        func kth(_ r: Int) -> Double {
            var cumulative = 0
            for b in keys {
                cumulative += bins[b]!
                if r < cumulative { return value(b) }
            }
            return max
        }
        let h = (q / 100) * Double(count - 1)
        let i = Int(h.rounded(.down))
        return PixelStats.lerp(kth(i), kth(Swift.min(i + 1, count - 1)), h - Double(i))
    }
}

/// Index bounding box (inclusive) of voxels that pass a test.
public struct BoundingBox: Sendable, Codable, Equatable {
    public var lower: [Int]
    public var upper: [Int]
    public var size: [Int] { zip(lower, upper).map { $1 - $0 + 1 } }

    public init(lower: [Int], upper: [Int]) {
        self.lower = lower
        self.upper = upper
    }

    mutating func include(_ index: [Int]) {
        for a in 0..<index.count {
            lower[a] = Swift.min(lower[a], index[a])
            upper[a] = Swift.max(upper[a], index[a])
        }
    }
}
