import ImagingXBytes
import ImagingXModel
import ImagingXFormats
/// Statistics of 32/64-bit integer and floating-point samples held in one buffer.
///
/// Pass 1: NaN/Inf counts, min, max, sum (in blocks, so rounding stays near pairwise
/// summation). Pass 2: squared deviations from the mean and a 65,536-bin histogram over
/// [min, max]. Pass 3 gathers the values of the few bins that hold the wanted ranks and sorts
/// them, so percentiles are exact order statistics, not bin estimates.
package enum WideStats {
    package protocol Loader {
        static func load(_ p: UnsafeRawPointer, _ i: Int, _ layout: SampleLayout) -> Double
    }
    package enum F32: Loader {
        @inline(__always) package static func load(_ p: UnsafeRawPointer, _ i: Int, _ l: SampleLayout) -> Double {
            var raw = p.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self)
            if l.bigEndian { raw = raw.byteSwapped }
            return Double(Float(bitPattern: raw))
        }
    }
    package enum F64: Loader {
        @inline(__always) package static func load(_ p: UnsafeRawPointer, _ i: Int, _ l: SampleLayout) -> Double {
            var raw = p.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)
            if l.bigEndian { raw = raw.byteSwapped }
            return Double(bitPattern: raw)
        }
    }
    package enum I32: Loader {
        @inline(__always) package static func load(_ p: UnsafeRawPointer, _ i: Int, _ l: SampleLayout) -> Double {
            var raw = p.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self)
            if l.bigEndian { raw = raw.byteSwapped }
            if l.bitsStored == nil || l.bitsStored! >= 32 {
                return l.kind.isSigned ? Double(Int32(bitPattern: raw)) : Double(raw)
            }
            return Double(l.integerValue(UInt64(raw)))
        }
    }
    package enum I64: Loader {
        @inline(__always) package static func load(_ p: UnsafeRawPointer, _ i: Int, _ l: SampleLayout) -> Double {
            var raw = p.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self)
            if l.bigEndian { raw = raw.byteSwapped }
            return l.kind.isSigned ? Double(Int64(bitPattern: raw)) : Double(raw)
        }
    }

    static func compute(_ buffer: UnsafeRawBufferPointer, _ layout: SampleLayout) -> PixelStats {
        switch layout.kind {
        case .float32: run(F32.self, buffer, layout)
        case .float64: run(F64.self, buffer, layout)
        case .int32, .uint32: run(I32.self, buffer, layout)
        case .int64, .uint64: run(I64.self, buffer, layout)
        default: PixelStats()
        }
    }

    static let bins = 65536

    static func run<L: Loader>(_: L.Type, _ buffer: UnsafeRawBufferPointer, _ layout: SampleLayout) -> PixelStats {
        let total = buffer.count / layout.kind.size
        guard total > 0, let p = buffer.baseAddress else { return PixelStats() }
        var nan = 0, inf = 0
        var lo = Double.infinity, hi = -Double.infinity
        var sum = 0.0
        var i = 0
        while i < total {
            let end = Swift.min(i + 4096, total)
            var block = 0.0
            while i < end {
                let v = L.load(p, i, layout)
                if v.isFinite {
                    block += v
                    if v < lo { lo = v }
                    if v > hi { hi = v }
                } else if v.isNaN {
                    nan += 1
                } else {
                    inf += 1
                }
                i += 1
            }
            sum += block
        }
        let n = total - nan - inf
        guard n > 0 else {
            var s = PixelStats()
            s.nanCount = nan
            s.infCount = inf
            return s
        }
        let mean = sum / Double(n)
        // Pass 2: deviations and the bin counts.
        // Halves: hi - lo overflows to infinity for values near ±Double.greatestFiniteMagnitude
        // (a fuzzer-found trap: (v - lo) × 0 was NaN); halving is exact and keeps the order.
        let width = hi / 2 - lo / 2
        let scale = width > 0 ? Double(bins) / width : 0
        var counts = [Int](repeating: 0, count: bins)
        var m2 = 0.0
        counts.withUnsafeMutableBufferPointer { c in
            for k in 0..<total {
                let v = L.load(p, k, layout)
                guard v.isFinite else { continue }
                let d = v - mean
                m2 += d * d
                c[bin(v, lo, scale)] += 1
            }
        }
        return PixelStats.summarize(
            count: n, nan: nan, inf: inf, storedMin: lo, storedMax: hi, storedMean: mean,
            storedVariance: m2 / Double(n), slope: layout.slope, intercept: layout.intercept
        ) { ranks in
            // Which bin each rank falls in, and its rank inside that bin.
            var wanted: [Int: [Int]] = [:]  // bin → ranks
            var firstRank: [Int: Int] = [:]  // bin → rank of its first value
            var cumulative = 0
            var r = 0
            for b in 0..<bins where counts[b] != 0 {
                let next = cumulative + counts[b]
                while r < ranks.count, ranks[r] < next {
                    wanted[b, default: []].append(ranks[r])
                    firstRank[b] = cumulative
                    r += 1
                }
                cumulative = next
                if r == ranks.count { break }
            }
            // Pass 3: gather those bins' values (a bin → slot table keeps the loop hash-free).
            let binList = Array(wanted.keys)
            var slot = [Int8](repeating: -1, count: bins)
            for (k, b) in binList.enumerated() { slot[b] = Int8(k) }
            var buckets = [[Double]](repeating: [], count: binList.count)
            slot.withUnsafeBufferPointer { slot in
                for k in 0..<total {
                    let v = L.load(p, k, layout)
                    guard v.isFinite else { continue }
                    let s = slot[bin(v, lo, scale)]
                    if s >= 0 { buckets[Int(s)].append(v) }
                }
            }
            var gathered: [Int: [Double]] = [:]
            for (k, b) in binList.enumerated() { gathered[b] = buckets[k] }
            var byRank: [Int: Double] = [:]
            for (b, rs) in wanted {
                let sorted = gathered[b]!.sorted()
                for rank in rs { byRank[rank] = sorted[rank - firstRank[b]!] }
            }
            return ranks.map { byRank[$0]! }
        }
    }

    @inline(__always)
    static func bin(_ v: Double, _ lo: Double, _ scale: Double) -> Int {
        let x = (v / 2 - lo / 2) * scale
        guard x < Double(bins) else { return bins - 1 }
        return x > 0 ? Int(x) : 0
    }
}
