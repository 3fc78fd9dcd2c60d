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
    struct State {
        var layout = SampleLayout(kind: .uint8)
        var carry: UInt64 = 0
        var carryCount = 0
        var samples = 0
        var pending = 0
        var wide: UnsafeMutableRawPointer?
        var wideCount = 0
        var wideCapacity = 0
        var wideLimit = 0
    }

    static let ways = 4
    /// `ways` × 65536 UInt32 counters, flushed into `totals` before any can overflow.
    let sub: UnsafeMutablePointer<UInt32>
    let totals: UnsafeMutablePointer<UInt64>
    let s: UnsafeMutablePointer<State>

    public init() {
        sub = .allocate(capacity: Self.ways * 65536)
        sub.initialize(repeating: 0, count: Self.ways * 65536)
        totals = .allocate(capacity: 65536)
        totals.initialize(repeating: 0, count: 65536)
        s = .allocate(capacity: 1)
        s.initialize(to: State())
    }

    deinit {
        s.pointee.wide?.deallocate()
        sub.deallocate()
        totals.deallocate()
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
        for w in 0..<Self.ways {
            let h = sub + w * bins
            for k in 0..<bins where h[k] != 0 {
                totals[k] &+= UInt64(h[k])
                h[k] = 0
            }
        }
        s.pointee.pending = 0
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
        flush()
        let h = ValueHistogram(totals: totals, layout: layout)
        let bins = layout.kind.size == 1 ? 256 : 65536
        totals.update(repeating: 0, count: bins)
        return h.stats(layout)
    }

    /// Folds the raw-key counts into counts per stored value and returns them (pooling, labels).
    func finishHistogram() -> ValueHistogram {
        flush()
        let layout = s.pointee.layout
        let h = ValueHistogram(totals: totals, layout: layout)
        totals.update(repeating: 0, count: layout.kind.size == 1 ? 256 : 65536)
        return h
    }
}

/// Counts per stored integer value, in value order: `counts[i]` is the count of `base + i`.
struct ValueHistogram {
    var base: Int
    var counts: [UInt64]

    init(base: Int, counts: [UInt64]) {
        self.base = base
        self.counts = counts
    }

    /// Maps raw container keys (host-order loads of the bytes) to stored values.
    init(totals: UnsafePointer<UInt64>, layout: SampleLayout) {
        let bits = layout.kind.size * 8
        let keys = 1 << bits
        base = layout.kind.isSigned ? -(keys >> 1) : 0
        var counts = [UInt64](repeating: 0, count: keys)
        let identity = !layout.bigEndian && (layout.bitsStored ?? bits) >= bits
        for k in 0..<keys where totals[k] != 0 {
            if identity {
                let v = layout.kind.isSigned ? (bits == 8 ? Int(Int8(truncatingIfNeeded: k)) : Int(Int16(truncatingIfNeeded: k))) : k
                counts[v - base] &+= totals[k]
            } else {
                var raw = UInt64(k)
                if layout.bigEndian, bits == 16 { raw = UInt64(UInt16(k).byteSwapped) }
                let v = Int(layout.integerValue(raw))
                counts[v - base] &+= totals[k]
            }
        }
        self.counts = counts
    }

    func stats(_ layout: SampleLayout) -> PixelStats {
        var n: UInt64 = 0
        var sum: Int128 = 0
        var lo = -1, hi = -1
        for (i, c) in counts.enumerated() where c != 0 {
            if lo < 0 { lo = i }
            hi = i
            n &+= c
            sum += Int128(base + i) * Int128(c)
        }
        guard n > 0 else { return PixelStats() }
        let count = Int(n)
        let mean = Double(sum) / Double(count)
        var m2 = 0.0
        for i in lo...hi where counts[i] != 0 {
            let d = Double(base + i) - mean
            m2 += d * d * Double(counts[i])
        }
        return PixelStats.summarize(
            count: count, nan: 0, inf: 0, storedMin: Double(base + lo), storedMax: Double(base + hi),
            storedMean: mean, storedVariance: m2 / Double(count), slope: layout.slope, intercept: layout.intercept
        ) { ranks in
            var out: [Double] = []
            var cumulative: UInt64 = 0
            var r = 0
            for i in lo...hi where counts[i] != 0 {
                cumulative += counts[i]
                while r < ranks.count, UInt64(ranks[r]) < cumulative {
                    out.append(Double(base + i))
                    r += 1
                }
                if r == ranks.count { break }
            }
            return out
        }
    }
}
