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

    /// Hex of SHA-256 over the grid and the values' digest (first 128 bits).
    public func finish() -> String {
        let digest = out.withUnsafeBytes { SHA256.digest($0) }
        return SHA256.hex(prefix + digest, bytes: 16)
    }
}
