import ImagingXBytes
/// A 4×4 affine, row-major, in double precision, stored inline (no heap allocation).
public struct Matrix4: Sendable, Equatable {
    @usableFromInline var storage: InlineArray<16, Double>

    public init(rows: [[Double]]) {
        precondition(rows.count == 4 && rows.allSatisfy { $0.count == 4 })
        storage = InlineArray(repeating: 0)
        for r in 0..<4 { for c in 0..<4 { storage[r * 4 + c] = rows[r][c] } }
    }

    public init(flat: [Double]) {
        precondition(flat.count == 16)
        storage = InlineArray(repeating: 0)
        for i in 0..<16 { storage[i] = flat[i] }
    }

    @usableFromInline init(zero: ()) { storage = InlineArray(repeating: 0) }

    @inlinable public static var identity: Matrix4 {
        var m = Matrix4(zero: ())
        m.storage[0] = 1; m.storage[5] = 1; m.storage[10] = 1; m.storage[15] = 1
        return m
    }

    // @inlinable: the readers (ImagingXFormats) and series assembly build affines entry by entry.
    @inlinable public subscript(row: Int, column: Int) -> Double {
        get { storage[row * 4 + column] }
        set { storage[row * 4 + column] = newValue }
    }

    /// The 16 values, row-major.
    public var flat: [Double] { (0..<16).map { storage[$0] } }

    /// Every entry within `tolerance` of the other's.
    public func isClose(to o: Matrix4, tolerance: Double) -> Bool {
        for i in 0..<16 where !(abs(storage[i] - o.storage[i]) <= tolerance) { return false }
        return true
    }

    public var isFinite: Bool {
        for i in 0..<16 where !storage[i].isFinite { return false }
        return true
    }

    public static func == (a: Matrix4, b: Matrix4) -> Bool {
        for i in 0..<16 where a.storage[i] != b.storage[i] { return false }
        return true
    }

    /// The orientation codes of the voxel axes, as nibabel's `aff2axcodes` with labels
    /// (L,R), (P,A), (I,S): each voxel axis maps to the world axis it is closest to after taking
    /// the nearest orthogonal matrix of the column-normalised 3×3 part (nibabel's
    /// `io_orientation`, which uses the SVD: U·Vᵀ). nil when an axis has no direction.
    public var axcodes: String? {
        var a = Mat3()
        for col in 0..<3 {
            var norm = 0.0
            for row in 0..<3 { norm += self[row, col] * self[row, col] }
            norm = norm.squareRoot()
            if norm == 0 { norm = 1 }
            for row in 0..<3 { a[row, col] = self[row, col] / norm }
        }
        guard var r = a.isSignedPermutation ? a : a.orthogonalPolarFactor() else { return nil }
        // Negative then positive label of each world axis: L R, P A, I S.
        let labels: StaticString = "LRPAIS"
        var codes: (UInt8, UInt8, UInt8) = (0, 0, 0)
        let complete = withUnsafeMutableBytes(of: &codes) { out -> Bool in
            for col in 0..<3 {
                var best = -1
                var bestValue = 0.0
                for row in 0..<3 {
                    let v = abs(r[row, col])
                    if v > bestValue { bestValue = v; best = row }
                }
                if best < 0 || bestValue < 1e-8 { return false }
                out[col] = labels.utf8Start[2 * best + (r[best, col] < 0 ? 0 : 1)]
                for c in 0..<3 { r[best, c] = 0 }
            }
            return true
        }
        guard complete else { return nil }
        return withUnsafeBytes(of: codes) { String(decoding: $0, as: UTF8.self) }
    }
}

/// A 3×3 matrix for orientation arithmetic, row-major, inline.
package struct Mat3 {
    var v: InlineArray<9, Double> = InlineArray(repeating: 0)

    subscript(row: Int, column: Int) -> Double {
        get { v[row * 3 + column] }
        set { v[row * 3 + column] = newValue }
    }

    /// Every row and column has one entry of magnitude 1 and the rest 0: already orthogonal.
    var isSignedPermutation: Bool {
        for i in 0..<3 {
            var rowCount = 0, colCount = 0
            for j in 0..<3 {
                let x = abs(self[i, j]), y = abs(self[j, i])
                if x == 1 { rowCount += 1 } else if x != 0 { return false }
                if y == 1 { colCount += 1 } else if y != 0 { return false }
            }
            if rowCount != 1 || colCount != 1 { return false }
        }
        return true
    }

    var inverse: Mat3? {
        let a = self
        let det = a[0, 0] * (a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1])
            - a[0, 1] * (a[1, 0] * a[2, 2] - a[1, 2] * a[2, 0])
            + a[0, 2] * (a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0])
        guard det.isFinite, abs(det) > 1e-12 else { return nil }
        let s = 1 / det
        var m = Mat3()
        m[0, 0] = (a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1]) * s
        m[0, 1] = (a[0, 2] * a[2, 1] - a[0, 1] * a[2, 2]) * s
        m[0, 2] = (a[0, 1] * a[1, 2] - a[0, 2] * a[1, 1]) * s
        m[1, 0] = (a[1, 2] * a[2, 0] - a[1, 0] * a[2, 2]) * s
        m[1, 1] = (a[0, 0] * a[2, 2] - a[0, 2] * a[2, 0]) * s
        m[1, 2] = (a[0, 2] * a[1, 0] - a[0, 0] * a[1, 2]) * s
        m[2, 0] = (a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0]) * s
        m[2, 1] = (a[0, 1] * a[2, 0] - a[0, 0] * a[2, 1]) * s
        m[2, 2] = (a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]) * s
        return m
    }

    /// U·Vᵀ of the SVD (the closest orthogonal matrix) by Newton's iteration X ← (X + X⁻ᵀ)/2,
    /// which converges quadratically for a non-singular matrix. nil when singular.
    func orthogonalPolarFactor() -> Mat3? {
        var x = self
        for _ in 0..<100 {
            guard let inv = x.inverse else { return nil }
            var delta = 0.0
            var next = Mat3()
            for i in 0..<3 {
                for j in 0..<3 {
                    next[i, j] = 0.5 * (x[i, j] + inv[j, i])
                    delta = max(delta, abs(next[i, j] - x[i, j]))
                }
            }
            x = next
            if delta < 1e-14 { break }
        }
        return x
    }
}
