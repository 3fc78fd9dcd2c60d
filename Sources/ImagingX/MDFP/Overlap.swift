/// The same scan in two datasets, whatever its file format: decoded values (after rescale, as
/// float32) reordered to a canonical RAS index order (fastest axis pointing Right, then
/// Anterior, then Superior) and hashed with the grid. A DICOM series and a NIfTI written from it
/// (by dcm2niix, with its row flip) give the same hash.
public enum VoxelHash {
    /// `values`: one channel, x fastest; `axcodes`: where each index axis points (nibabel).
    public static func canonical(_ values: UnsafeBufferPointer<Float>, dims: [Int], axcodes: String?) -> String? {
        var d = dims + Array(repeating: 1, count: max(0, 3 - dims.count))
        d = Array(d.prefix(3))
        let n = d[0] * d[1] * d[2]
        guard n > 0, values.count >= n else { return nil }
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
        // Strides of each input axis in the output array (negative when flipped).
        let outStride = [1, outDims[0], outDims[0] * outDims[1]]
        var step = [0, 0, 0], base = 0
        for a in 0..<3 {
            let s = outStride[target[a]]
            step[a] = flip[a] ? -s : s
            if flip[a] { base += (d[a] - 1) * s }
        }
        var out = [UInt32](repeating: 0, count: n)
        var i = 0
        for z in 0..<d[2] {
            for y in 0..<d[1] {
                var o = base + y * step[1] + z * step[2]
                for _ in 0..<d[0] {
                    let v = values[i]
                    out[o] = (v == 0 ? Float(0) : v).bitPattern  // -0 and 0 hash alike
                    o += step[0]
                    i += 1
                }
            }
        }
        var bytes: [UInt8] = Array("\(outDims[0])x\(outDims[1])x\(outDims[2]):".utf8)
        bytes.reserveCapacity(bytes.count + 4 * n)
        out.withUnsafeBytes { bytes.append(contentsOf: $0) }
        return SHA256.hex(bytes, bytes: 16)
    }

    /// Channel 0 of a captured volume as rescaled float32 values.
    static func floats(_ v: Volume, count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: min(count, v.count))
        v.forEachChunk { start, values in
            for (k, x) in values.enumerated() where start + k < out.count { out[start + k] = Float(x) }
        }
        return out
    }
}
