/// DICOM patient geometry (PS3.3 §C.7.6.2.1.1) and the voxel-to-RAS+ affine built from it: the one
/// builder behind a file's `affine` and a series volume's.
public enum PatientGeometry {
    // Two tolerances on purpose: each check keeps the reference it is compared with. One value
    // for both would move the series flag away from IDC's index, or loosen the file warning.

    /// One file's `orientation_not_orthonormal` finding: GDCM's `DirectionCosines::IsValid` epsilon.
    public static let fileCosineTolerance = 1e-3
    /// A series volume's `orthogonal_orientation` (README: 0.01): the NCI Imaging Data Commons
    /// `volume_geometry_index` orientationTolerance, so the flag agrees with that index.
    public static let seriesCosineTolerance = 0.01

    /// How far ImageOrientationPatient's two cosines are from orthonormal.
    public struct Orthonormality: Sendable, Equatable {
        public var dot: Double
        public var rowNorm: Double
        public var columnNorm: Double

        /// No measure is over `tolerance` (`fileCosineTolerance` or `seriesCosineTolerance`). A NaN
        /// measure is over nothing (a NaN cosine never reaches an affine: the matrix is not finite).
        public func isOrthonormal(tolerance: Double) -> Bool {
            !(abs(dot) > tolerance || abs(rowNorm - 1) > tolerance || abs(columnNorm - 1) > tolerance)
        }
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { a[0] * b[0] + a[1] * b[1] + a[2] * b[2] }

    public static func orthonormality(row: [Double], column: [Double]) -> Orthonormality {
        Orthonormality(dot: dot(row, column), rowNorm: dot(row, row).squareRoot(), columnNorm: dot(column, column).squareRoot())
    }

    /// row × column, scaled to unit length (left as is when zero).
    public static func sliceNormal(row: [Double], column: [Double]) -> [Double] {
        var normal = [row[1] * column[2] - row[2] * column[1], row[2] * column[0] - row[0] * column[2],
                      row[0] * column[1] - row[1] * column[0]]
        let nn = dot(normal, normal).squareRoot()
        if nn > 0 { for i in 0..<3 { normal[i] /= nn } }  // in place: one allocation per file, not two
        return normal
    }

    /// Voxel index (i = column, j = row, k = slice) to RAS+ millimetres.
    ///
    /// PS3.3 §C.7.6.2.1.1: P = S + i·Δc·row + j·Δr·column; k adds `sliceStep` (LPS mm per slice:
    /// the unit normal × spacing for one file, the measured slice-to-slice step for a series).
    /// LPS → RAS+ negates the first two world rows.
    /// - Parameters:
    ///   - row: ImageOrientationPatient[0..<3], the direction of increasing column index.
    ///   - column: ImageOrientationPatient[3..<6], the direction of increasing row index.
    ///   - spacing: [between columns, between rows] (PixelSpacing reversed), mm.
    ///   - origin: ImagePositionPatient of the first voxel.
    public static func affine(row: [Double], column: [Double], spacing: [Double], sliceStep: [Double],
                              origin: [Double]) -> Matrix4 {
        var m = Matrix4.identity
        for axis in 0..<3 {
            let sign: Double = axis < 2 ? -1 : 1
            m[axis, 0] = sign * row[axis] * spacing[0]
            m[axis, 1] = sign * column[axis] * spacing[1]
            m[axis, 2] = sign * sliceStep[axis]
            m[axis, 3] = sign * origin[axis]
        }
        return m
    }
}
