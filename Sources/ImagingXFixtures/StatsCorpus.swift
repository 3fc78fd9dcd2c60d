import Foundation
import ImagingX

/// The pixel-statistics benchmark corpus (package-benchmark `Stats.*`): CT-like int16 volumes
/// (`.nii`, `.nii.gz`), 512×512 int16 CT DICOM slices, 1024×1024 8-bit PNG and JPEG. Content is
/// noise around a body value with a band of air, so histograms see long runs of one value.
public enum StatsCorpus {
    public static let formats = ["nii", "niigz", "dicom", "png", "jpeg"]

    /// Writes the corpus under `root` and returns the decoded sample bytes per format.
    @discardableResult
    public static func write(to root: String) throws -> [String: Int] {
        var rng = SampleData.Random(seed: 99)
        var decoded: [String: Int] = [:]
        for f in formats { try FileManager.default.createDirectory(atPath: root + "/" + f, withIntermediateDirectories: true) }
        func ct(_ n: Int, air: Int) -> [Int16] {
            (0..<n).map { i in i < air ? -1024 : Int16(truncatingIfNeeded: 40 + Int(rng.next() % 600) - 300) }
        }
        for i in 0..<4 {
            let dims = [256, 256, 64]
            let n = dims.reduce(1, *)
            let samples = ct(n, air: n / 5)
            var b = NIfTIBuilder(.nifti1)
            b.setGrid(dims: dims, pixdim: [0.8, 0.8, 2.5], datatype: 4, bitpix: 16)
            let file = b.singleFile(data: samples.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } })
            try Data(file).write(to: URL(fileURLWithPath: root + "/nii/ct\(i).nii"))
            decoded["nii", default: 0] += n * 2
            if i < 2 {
                try Data(Compression.gzip(file)).write(to: URL(fileURLWithPath: root + "/niigz/ct\(i).nii.gz"))
                decoded["niigz", default: 0] += n * 2
            }
        }
        for i in 0..<32 {
            var spec = CTSliceSpec()
            spec.columns = 512
            spec.rows = 512
            spec.instanceNumber = i + 1
            let file = DICOMBuilder(syntax: .explicitLittle, elements: spec.elements(pixels: ct(512 * 512, air: 512 * 64))).encode()
            try Data(file).write(to: URL(fileURLWithPath: root + "/dicom/s\(i).dcm"))
            decoded["dicom", default: 0] += 512 * 512 * 2
        }
        for i in 0..<16 {
            var pixels = [UInt8](repeating: 0, count: 1024 * 1024)
            for y in 0..<1024 {
                for x in 0..<1024 {
                    pixels[y * 1024 + x] = UInt8(truncatingIfNeeded: 128 + (x / 16 + y / 24 + i) % 64 + Int(rng.next() % 16))
                }
            }
            try Data(try RasterBuilder.png(width: 1024, height: 1024, bitDepth: 8, colorType: 0, pixels: pixels))
                .write(to: URL(fileURLWithPath: root + "/png/x\(i).png"))
            try Data(try RasterBuilder.jpeg(width: 1024, height: 1024, components: 1, pixels: pixels))
                .write(to: URL(fileURLWithPath: root + "/jpeg/x\(i).jpg"))
            decoded["png", default: 0] += 1024 * 1024
            decoded["jpeg", default: 0] += 1024 * 1024
        }
        return decoded
    }
}
