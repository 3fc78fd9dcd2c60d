import ImagingXBytes
import ImagingXModel
import ImagingXFormats
/// Computes `PixelStats` over a stream of decoded sample bytes.
///
/// 8- and 16-bit samples (most medical images: CT, MR, X-ray, photographs) are counted into a
/// histogram indexed by the raw container value, so the hot loop is one increment per sample
/// whatever the byte order, BitsStored or sign: those are applied afterwards, once per bin.
/// The histogram is split four ways so that runs of one value (CT air, padding) do not
/// serialise on a single counter. Everything else (32/64-bit integers, floats) is kept in one
/// buffer and summarised in three passes (see `WideStats`).
///
/// One accumulator per worker, reused across files: it holds 1 MiB of counters.
public final class StatsAccumulator {
    package struct State {
        var layout = SampleLayout(kind: .uint8)
        var carry: UInt64 = 0
        var carryCount = 0
        var samples = 0
        var pending = 0
        var wide: UnsafeMutableRawPointer?
        var wideCount = 0
        var wideCapacity = 0
        var wideLimit = 0
        /// Whether every 256-key block may hold counts (a large input took the fast loop);
        /// otherwise `touched` marks the blocks that do, so small images are summarised
        /// without walking all 65,536 keys.
        var touchedAll = false
    }

    static let ways = 4
    /// `ways` × 65536 UInt32 counters, flushed into `totals` before any can overflow.
    let sub: UnsafeMutablePointer<UInt32>
    let totals: UnsafeMutablePointer<UInt64>
    let touched: UnsafeMutablePointer<UInt8>
    let s: UnsafeMutablePointer<State>

    public init() {
        sub = .allocate(capacity: Self.ways * 65536)
        sub.initialize(repeating: 0, count: Self.ways * 65536)
        totals = .allocate(capacity: 65536)
        totals.initialize(repeating: 0, count: 65536)
        touched = .allocate(capacity: 256)
        touched.initialize(repeating: 0, count: 256)
        s = .allocate(capacity: 1)
        s.initialize(to: State())
    }

    deinit {
        s.pointee.wide?.deallocate()
        sub.deallocate()
        totals.deallocate()
        touched.deallocate()
        s.deinitialize(count: 1)
        s.deallocate()
    }

    var isNarrow: Bool { s.pointee.layout.kind.size <= 2 }

    /// Starts a new image. `expectedBytes` (already checked against the file) bounds what a
    /// wide buffer may grow to; it is grown as data arrives, so a header that lies about its
    /// size cannot make it allocate more than the data that actually decodes.
    public func begin(_ layout: SampleLayout, expectedBytes: Int) {
        s.pointee.layout = layout
        s.pointee.carry = 0
        s.pointee.carryCount = 0
        s.pointee.samples = 0
        s.pointee.pending = 0
        s.pointee.wideCount = 0
        s.pointee.wideLimit = expectedBytes
        s.pointee.touchedAll = layout.kind.size == 1
    }

    public var samples: Int { s.pointee.samples }

    /// Feeds decoded bytes; samples may straddle calls.
    public func consume(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var n = bytes.count
        let size = s.pointee.layout.kind.size
        if size == 1 {
            add8(p, n)
            return
        }
        // Complete a sample split across calls.
        if s.pointee.carryCount > 0 {
            while s.pointee.carryCount < size, n > 0 {
                s.pointee.carry |= UInt64(p.load(as: UInt8.self)) << UInt64(8 * s.pointee.carryCount)
                s.pointee.carryCount += 1
                p += 1
                n -= 1
            }
            guard s.pointee.carryCount == size else { return }
            withUnsafeBytes(of: s.pointee.carry) { whole in
                if size == 2 { add16(whole.baseAddress!, 2) } else { appendWide(whole.baseAddress!, size) }
            }
            s.pointee.carry = 0
            s.pointee.carryCount = 0
        }
        let whole = n - n % size
        if whole > 0 {
            if size == 2 { add16(p, whole) } else { appendWide(p, whole) }
        }
        for k in 0..<(n - whole) {
            s.pointee.carry |= UInt64(p.load(fromByteOffset: whole + k, as: UInt8.self)) << UInt64(8 * k)
            s.pointee.carryCount += 1
        }
    }

    private func add8(_ p: UnsafeRawPointer, _ n: Int) {
        flushIfNeeded(n)
        let h0 = sub, h1 = sub + 256, h2 = sub + 512, h3 = sub + 768
        let b = p.assumingMemoryBound(to: UInt8.self)
        var i = 0
        while i + 4 <= n {
            h0[Int(b[i])] &+= 1
            h1[Int(b[i + 1])] &+= 1
            h2[Int(b[i + 2])] &+= 1
            h3[Int(b[i + 3])] &+= 1
            i += 4
        }
        while i < n { h0[Int(b[i])] &+= 1; i += 1 }
        s.pointee.samples += n
    }

    private func add16(_ p: UnsafeRawPointer, _ byteCount: Int) {
        let n = byteCount / 2
        flushIfNeeded(n)
        let h0 = sub, h1 = sub + 65536, h2 = sub + 131072, h3 = sub + 196608
        var i = 0
        var offset = 0
        if n <= 16384 && !s.pointee.touchedAll {
            // Small input: note which 256-key blocks are hit, so finishing stays cheap.
            let t = touched
            while i < n {
                let k = Int(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
                h0[k] &+= 1
                t[k >> 8] = 1
                i += 1
                offset += 2
            }
            s.pointee.samples += n
            return
        }
        s.pointee.touchedAll = true
        while i + 4 <= n {
            let v = p.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            h0[Int(truncatingIfNeeded: v & 0xFFFF)] &+= 1
            h1[Int(truncatingIfNeeded: (v >> 16) & 0xFFFF)] &+= 1
            h2[Int(truncatingIfNeeded: (v >> 32) & 0xFFFF)] &+= 1
            h3[Int(truncatingIfNeeded: v >> 48)] &+= 1
            i += 4
            offset += 8
        }
        while i < n {
            h0[Int(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))] &+= 1
            i += 1
            offset += 2
        }
        s.pointee.samples += n
    }

    /// UInt32 counters hold 2^32 − 1; fold them into the 64-bit totals well before that.
    private func flushIfNeeded(_ n: Int) {
        if s.pointee.pending + n >= 1 << 31 { flush() }
        s.pointee.pending += n
    }

    private func flush() {
        let bins = s.pointee.layout.kind.size == 1 ? 256 : 65536
        let all = s.pointee.touchedAll
        for w in 0..<Self.ways {
            let h = sub + w * bins
            for block in 0..<(bins + 255) / 256 where all || touched[block] != 0 {
                for k in (block * 256)..<min(bins, block * 256 + 256) where h[k] != 0 {
                    totals[k] &+= UInt64(h[k])
                    h[k] = 0
                }
            }
        }
        s.pointee.pending = 0
    }

    /// Moves the totals into a value histogram and clears them (and the block marks).
    private func drain() -> ValueHistogram {
        flush()
        let layout = s.pointee.layout
        let bins = layout.kind.size == 1 ? 256 : 65536
        let all = s.pointee.touchedAll
        var keys: [Int] = []
        var counts: [UInt64] = []
        for block in 0..<(bins + 255) / 256 where all || touched[block] != 0 {
            touched[block] = 0
            for k in (block * 256)..<min(bins, block * 256 + 256) where totals[k] != 0 {
                keys.append(k)
                counts.append(totals[k])
                totals[k] = 0
            }
        }
        s.pointee.touchedAll = false
        return ValueHistogram(keys: keys, counts: counts, layout: layout)
    }

    private func appendWide(_ p: UnsafeRawPointer, _ n: Int) {
        let needed = s.pointee.wideCount + n
        if needed > s.pointee.wideCapacity {
            var capacity = Swift.max(s.pointee.wideCapacity, 1 << 16)
            while capacity < needed { capacity *= 2 }
            // Never beyond what the header declared (checked against the file beforehand),
            // unless more data arrives than declared (then grow only to what arrived).
            capacity = Swift.min(capacity, Swift.max(s.pointee.wideLimit, needed))
            let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            if let old = s.pointee.wide {
                grown.copyMemory(from: old, byteCount: s.pointee.wideCount)
                old.deallocate()
            }
            s.pointee.wide = grown
            s.pointee.wideCapacity = capacity
        }
        (s.pointee.wide! + s.pointee.wideCount).copyMemory(from: p, byteCount: n)
        s.pointee.wideCount = needed
        s.pointee.samples += n / s.pointee.layout.kind.size
    }

    /// The statistics of everything consumed since `begin`. Resets the counters.
    public func finish() -> PixelStats {
        let layout = s.pointee.layout
        if layout.kind.size > 2 {
            let result = WideStats.compute(UnsafeRawBufferPointer(start: s.pointee.wide, count: s.pointee.wideCount), layout)
            // Big buffers are given back; small ones are kept for the next file.
            if s.pointee.wideCapacity > 64 << 20 {
                s.pointee.wide?.deallocate()
                s.pointee.wide = nil
                s.pointee.wideCapacity = 0
            }
            s.pointee.wideCount = 0
            return result
        }
        return drain().stats(layout)
    }

    /// The counts per stored value of everything consumed since `begin` (pooling, labels).
    func finishHistogram() -> ValueHistogram { drain() }
}

/// Counts per stored integer value, sparse and in value order.
package struct ValueHistogram {
    var values: [Int]
    var counts: [UInt64]

    init(values: [Int], counts: [UInt64]) {
        self.values = values
        self.counts = counts
    }

    /// From raw container keys (host-order loads of the bytes, ascending) to stored values.
    init(keys: [Int], counts: [UInt64], layout: SampleLayout) {
        let bits = layout.kind.size * 8
        let identity = !layout.bigEndian && (layout.bitsStored ?? bits) >= bits
        var values = keys
        for (i, k) in keys.enumerated() {
            if identity {
                values[i] = layout.kind.isSigned ? (bits == 8 ? Int(Int8(truncatingIfNeeded: k)) : Int(Int16(truncatingIfNeeded: k))) : k
            } else {
                var raw = UInt64(k)
                if layout.bigEndian, bits == 16 { raw = UInt64(UInt16(k).byteSwapped) }
                values[i] = Int(layout.integerValue(raw))
            }
        }
        var sortedCounts = counts
        if identity && !layout.kind.isSigned {
            // Keys ascend, so values do.
        } else if identity {
            // Signed: keys 0x80…/0x8000… (negative values) come after the positive ones.
            if let split = values.firstIndex(where: { $0 < 0 }) {
                values = Array(values[split...] + values[..<split])
                sortedCounts = Array(counts[split...] + counts[..<split])
            }
        } else {
            // Masking can send several keys to one value: merge them after sorting.
            let order = values.indices.sorted { values[$0] < values[$1] }
            var v: [Int] = [], c: [UInt64] = []
            for i in order {
                if let last = v.last, last == values[i] { c[c.count - 1] &+= counts[i] } else { v.append(values[i]); c.append(counts[i]) }
            }
            values = v
            sortedCounts = c
        }
        self.values = values
        self.counts = sortedCounts
    }

    func stats(_ layout: SampleLayout) -> PixelStats {
        var n: UInt64 = 0
        var sum: Int128 = 0
        for (v, c) in zip(values, counts) {
            n &+= c
            sum += Int128(v) * Int128(c)
        }
        guard n > 0, let lo = values.first, let hi = values.last else { return PixelStats() }
        let count = Int(n)
        let mean = Double(sum) / Double(count)
        var m2 = 0.0
        for (v, c) in zip(values, counts) {
            let d = Double(v) - mean
            m2 += d * d * Double(c)
        }
        return PixelStats.summarize(
            count: count, nan: 0, inf: 0, storedMin: Double(lo), storedMax: Double(hi),
            storedMean: mean, storedVariance: m2 / Double(count), slope: layout.slope, intercept: layout.intercept
        ) { ranks in
            var out: [Double] = []
            var cumulative: UInt64 = 0
            var r = 0
            for (v, c) in zip(values, counts) {
                cumulative += c
                while r < ranks.count, UInt64(ranks[r]) < cumulative {
                    out.append(Double(v))
                    r += 1
                }
                if r == ranks.count { break }
            }
            return out
        }
    }
}
