import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
/// The same scan in two datasets, whatever its file format: decoded values (after rescale, as
/// float32) reordered to a canonical RAS index order (fastest axis pointing Right, then
/// Anterior, then Superior) and hashed with the grid. A DICOM series and a NIfTI written from it
/// (by dcm2niix, with its row flip) give the same hash.
///
/// Values are written straight into their canonical place as they are decoded, so hashing a
/// volume needs one float32 copy of it, no more.
public struct VoxelHash {
    let dims: [Int]
    let step: [Int]
    let base: Int
    var out: [UInt32]
    let prefix: [UInt8]

    /// nil when the orientation codes do not name three distinct axes.
    public init?(dims input: [Int], axcodes: String?) {
        var d = input + Array(repeating: 1, count: max(0, 3 - input.count))
        d = Array(d.prefix(3))
        guard d.allSatisfy({ $0 > 0 }) else { return nil }
        var target = [0, 1, 2]
        var flip = [false, false, false]
        if let codes = axcodes.map(Array.init), codes.count == 3 {
            for (a, c) in codes.enumerated() {
                switch c {
                case "R": target[a] = 0
                case "L": target[a] = 0; flip[a] = true
                case "A": target[a] = 1
                case "P": target[a] = 1; flip[a] = true
                case "S": target[a] = 2
                case "I": target[a] = 2; flip[a] = true
                default: return nil
                }
            }
            guard Set(target).count == 3 else { return nil }
        }
        var outDims = [0, 0, 0]
        for a in 0..<3 { outDims[target[a]] = d[a] }
        let outStride = [1, outDims[0], outDims[0] * outDims[1]]
        var step = [0, 0, 0], base = 0
        for a in 0..<3 {
            let s = outStride[target[a]]
            step[a] = flip[a] ? -s : s
            if flip[a] { base += (d[a] - 1) * s }
        }
        dims = d
        self.step = step
        self.base = base
        out = [UInt32](repeating: 0, count: d[0] * d[1] * d[2])
        prefix = Array("\(outDims[0])x\(outDims[1])x\(outDims[2]):".utf8)
    }

    /// Places `values` (input order, x fastest) starting at input index `start`.
    mutating func put(_ start: Int, _ values: UnsafeBufferPointer<Double>) {
        let nx = dims[0], ny = dims[1]
        var x = start % nx, y = (start / nx) % ny, z = start / (nx * ny)
        out.withUnsafeMutableBufferPointer { o in
            for v in values {
                guard z < dims[2] else { return }
                let f = Float(v)
                o[base + x * step[0] + y * step[1] + z * step[2]] = (f == 0 ? Float(0) : f).bitPattern  // -0 as 0
                x += 1
                if x == nx { x = 0; y += 1; if y == ny { y = 0; z += 1 } }
            }
        }
    }

    /// Channel 0 of a captured volume (its first dims-product values).
    mutating func put(_ v: Volume, at start: Int = 0) {
        let n = out.count
        v.forEachChunk { s, values in
            guard s < n else { return }
            self.put(start + s, UnsafeBufferPointer(rebasing: values[0..<min(values.count, n - s)]))
        }
    }

    /// 128-bit hex over the grid and the values: a fast non-cryptographic hash of the values
    /// (identity of scans, not security; SHA-256 over a volume cost more than decoding it),
    /// then SHA-256 over the grid and that hash.
    public func finish() -> String {
        let h = out.withUnsafeBytes { VoxelHash.hash128($0) }
        var bytes = prefix
        for word in [h.0, h.1] { for k in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * UInt64(k)))) } }
        return SHA256.hex(bytes, bytes: 16)
    }

    /// Two 64-bit lanes of multiply–xorshift over 8-byte words, finished with splitmix64's mixer.
    static func hash128(_ b: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        var h1: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(b.count)
        var h2: UInt64 = 0xC2B2_AE3D_27D4_EB4F &+ UInt64(b.count)
        let p1: UInt64 = 0xFF51_AFD7_ED55_8CCD, p2: UInt64 = 0xC4CE_B9FE_1A85_EC53
        var i = 0
        let n = b.count
        while i + 16 <= n {
            let w1 = b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            let w2 = b.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
            h1 = (h1 ^ w1) &* p1; h1 ^= h1 >> 29
            h2 = (h2 ^ w2) &* p2; h2 ^= h2 >> 31
            i += 16
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n { tail |= UInt64(b[i]) << shift; shift += 8; i += 1; if shift == 64 { h1 = (h1 ^ tail) &* p1; tail = 0; shift = 0 } }
        h2 = (h2 ^ tail) &* p2
        func mix(_ x: UInt64) -> UInt64 {
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let a = mix(h1 ^ (h2 >> 1)), c = mix(h2 ^ (h1 << 1))
        return (a, c)
    }
}
