import Foundation

/// DICOM series with planted geometry faults, one folder per variant, file names in shuffled
/// order (slices must be ordered by position, not by name):
/// regular (axial), oblique (rotated 20° about x), gap (one slice missing), uneven (one gap
/// 3.0 mm among 2.5 mm), tilt (15° gantry tilt), duplicate (one position twice), localizer
/// (three planes), two-orientations (6 axial + 6 coronal in one series), single (one slice).
public enum SeriesCorpus {
    public struct Variant: Sendable {
        public var name: String
        public var slices: [(orientation: [Double], position: [Double], imageType: String)]
    }

    static func axial(_ zs: [Double], y: (Int) -> Double = { _ in -100 }) -> [(orientation: [Double], position: [Double], imageType: String)] {
        zs.enumerated().map { (i, z) in ([1, 0, 0, 0, 1, 0], [-80, y(i), z], "ORIGINAL\\PRIMARY\\AXIAL") }
    }

    public static var variants: [Variant] {
        let dz = 2.5
        let regular = (0..<10).map { Double($0) * dz }
        var uneven = regular
        for i in 6..<10 { uneven[i] += 0.5 }
        let angle = 20.0 * Double.pi / 180
        let row = [1.0, 0, 0], col = [0.0, cos(angle), sin(angle)]
        let normal = [0.0, -sin(angle), cos(angle)]
        let oblique = (0..<10).map { k in
            (orientation: row + col, position: [-80, -100 + normal[1] * Double(k) * dz, normal[2] * Double(k) * dz],
             imageType: "ORIGINAL\\PRIMARY\\OBLIQUE")
        }
        let tan15 = tan(15.0 * Double.pi / 180)
        var duplicate = axial(regular)
        duplicate.insert(duplicate[3], at: 4)
        let coronal = (0..<6).map { k in (orientation: [1.0, 0, 0, 0, 0, -1], position: [-80.0, Double(k) * 3, 40], imageType: "ORIGINAL\\PRIMARY\\OTHER") }
        let localizer: [(orientation: [Double], position: [Double], imageType: String)] = [
            ([1, 0, 0, 0, 1, 0], [-120, -120, 0], "ORIGINAL\\PRIMARY\\LOCALIZER"),
            ([1, 0, 0, 0, 0, -1], [-120, 0, 120], "ORIGINAL\\PRIMARY\\LOCALIZER"),
            ([0, 1, 0, 0, 0, -1], [0, -120, 120], "ORIGINAL\\PRIMARY\\LOCALIZER"),
        ]
        return [
            Variant(name: "regular", slices: axial(regular)),
            Variant(name: "oblique", slices: oblique),
            Variant(name: "gap", slices: axial(regular.enumerated().filter { $0.offset != 5 }.map(\.element))),
            Variant(name: "uneven", slices: axial(uneven)),
            Variant(name: "tilt", slices: axial(regular) { i in -100 + Double(i) * dz * tan15 }),
            Variant(name: "duplicate", slices: duplicate),
            Variant(name: "localizer", slices: localizer),
            Variant(name: "two-orientations", slices: axial((0..<6).map { Double($0) * dz }) + coronal),
            Variant(name: "single", slices: axial([0])),
        ]
    }

    /// Writes every variant under `root/NAME/`; returns the number of files.
    public static func write(to root: String) throws -> Int {
        var written = 0
        var rng = SampleData.Random(seed: 17)
        for (v, variant) in variants.enumerated() {
            let dir = root + "/" + variant.name
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // Shuffled names: instance k is written as a random-looking file name.
            var order = Array(0..<variant.slices.count)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            for (k, slice) in variant.slices.enumerated() {
                var spec = CTSliceSpec()
                spec.columns = 16
                spec.rows = 12
                spec.pixelSpacing = (0.9, 0.8)
                spec.sliceThickness = 1.0  // deliberately not the slice spacing
                spec.orientation = slice.orientation
                spec.position = slice.position
                spec.imageType = slice.imageType
                spec.seriesUID = "1.2.826.0.1.3680043.8.498.40.\(v + 1)"
                spec.instanceNumber = k + 1
                let pixels = (0..<(16 * 12)).map { Int16(truncatingIfNeeded: ($0 * 37 + k * 101) % 1500) }
                let bytes = DICOMBuilder(syntax: .explicitLittle, elements: spec.elements(pixels: pixels)).encode()
                try Data(bytes).write(to: URL(fileURLWithPath: dir + "/f\(String(format: "%02d", order[k])).dcm"))
                written += 1
            }
        }
        return written
    }
}
