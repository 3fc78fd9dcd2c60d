/// A 4×4 affine, row-major, in double precision.
public struct Matrix4: Sendable, Equatable {
    public var m: [Double]

    public init(rows: [[Double]]) {
        precondition(rows.count == 4 && rows.allSatisfy { $0.count == 4 })
        m = rows.flatMap { $0 }
    }

    public init(flat: [Double]) {
        precondition(flat.count == 16)
        m = flat
    }

    public static var identity: Matrix4 {
        Matrix4(flat: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])
    }

    public subscript(row: Int, column: Int) -> Double {
        get { m[row * 4 + column] }
        set { m[row * 4 + column] = newValue }
    }

    public var isFinite: Bool { m.allSatisfy { $0.isFinite } }

    /// The orientation codes of the voxel axes, as nibabel's `aff2axcodes` with labels
    /// (L,R), (P,A), (I,S): each voxel axis maps to the world axis it is closest to after taking
    /// the nearest orthogonal matrix of the normalised 3×3 part (nibabel's `io_orientation`).
    /// nil when an axis has no direction (a zero or degenerate column).
    public var axcodes: String? {
        var rs = [[Double]](repeating: [0, 0, 0], count: 3)  // rs[row][col]
        for col in 0..<3 {
            var norm = 0.0
            for row in 0..<3 { norm += self[row, col] * self[row, col] }
            norm = norm.squareRoot()
            if norm == 0 { norm = 1 }
            for row in 0..<3 { rs[row][col] = self[row, col] / norm }
        }
        guard var r = Matrix4.orthogonalPolarFactor(rs) else { return nil }
        let labels: [(Character, Character)] = [("L", "R"), ("P", "A"), ("I", "S")]
        var codes = ""
        for col in 0..<3 {
            var best = -1
            var bestValue = 0.0
            var allZero = true
            for row in 0..<3 {
                let v = abs(r[row][col])
                if v > 1e-8 { allZero = false }
                if v > bestValue { bestValue = v; best = row }
            }
            if allZero || best < 0 { return nil }
            codes.append(r[best][col] < 0 ? labels[best].0 : labels[best].1)
            for c in 0..<3 { r[best][c] = 0 }
        }
        return codes
    }

    /// U·Vᵀ of the SVD of `a` (the closest orthogonal matrix), by Newton's iteration
    /// X ← (X + X⁻ᵀ)/2, which converges quadratically for a non-singular matrix.
    static func orthogonalPolarFactor(_ a: [[Double]]) -> [[Double]]? {
        var x = a
        for _ in 0..<100 {
            guard let inv = invert3(x) else { return nil }
            var next = x
            var delta = 0.0
            for i in 0..<3 {
                for j in 0..<3 {
                    next[i][j] = 0.5 * (x[i][j] + inv[j][i])
                    delta = max(delta, abs(next[i][j] - x[i][j]))
                }
            }
            x = next
            if delta < 1e-14 { break }
        }
        return x
    }

    static func invert3(_ a: [[Double]]) -> [[Double]]? {
        let det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        guard det.isFinite, abs(det) > 1e-12 else { return nil }
        let inv = 1 / det
        return [
            [(a[1][1] * a[2][2] - a[1][2] * a[2][1]) * inv, (a[0][2] * a[2][1] - a[0][1] * a[2][2]) * inv, (a[0][1] * a[1][2] - a[0][2] * a[1][1]) * inv],
            [(a[1][2] * a[2][0] - a[1][0] * a[2][2]) * inv, (a[0][0] * a[2][2] - a[0][2] * a[2][0]) * inv, (a[0][2] * a[1][0] - a[0][0] * a[1][2]) * inv],
            [(a[1][0] * a[2][1] - a[1][1] * a[2][0]) * inv, (a[0][1] * a[2][0] - a[0][0] * a[2][1]) * inv, (a[0][0] * a[1][1] - a[0][1] * a[1][0]) * inv],
        ]
    }
}
