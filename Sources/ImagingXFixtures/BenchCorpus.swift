import Foundation

/// The benchmark corpus: `count` files per format, realistic headers, small voxel payloads
/// (header scans read the first 4 KiB; payload size only costs disk). Deterministic.
public enum BenchCorpus {
    public static let formats = ["dicom", "nii", "niigz", "png", "jpeg"]

    public static func write(to root: String, count: Int, formats: [String] = formats) throws {
        let fm = FileManager.default
        var rng = SampleData.Random(seed: 7)
        for format in formats {
            let dir = URL(fileURLWithPath: root).appendingPathComponent(format)
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            // One template per format, varied per file where a header field is cheap to vary.
            var nifti = NIfTIBuilder(.nifti1)
            nifti.setGrid(dims: [32, 32, 16], pixdim: [0.9, 0.9, 3], datatype: 4, bitpix: 16)
            nifti.set("xyzt_units", [10])
            // qform equal to the sform, as scanners write them: 180° about y (quaternion c = 1)
            // with qfac −1 gives diag(−0.9, 0.9, 3).
            nifti.set("qform_code", [1])
            nifti.set("quatern_c", [1])
            nifti.set("pixdim", [-1], from: 0)
            nifti.set("qoffset_x", [14]); nifti.set("qoffset_y", [-14]); nifti.set("qoffset_z", [-24])
            nifti.setSform([[-0.9, 0, 0, 14], [0, 0.9, 0, -14], [0, 0, 3, -24]])
            let niftiFile = nifti.singleFile(data: (0..<(32 * 32 * 16 * 2)).map { _ in UInt8(truncatingIfNeeded: rng.next()) & 0x0F })
            let niftiGz = Compression.gzip(niftiFile)
            let gray = (0..<(128 * 128)).map { i in UInt8(truncatingIfNeeded: (i % 128) + (i / 128)) }
            let png = try RasterBuilder.png(width: 128, height: 128, bitDepth: 8, colorType: 0, pixelsPerMetre: (5000, 5000), pixels: gray)
            let rgb = (0..<(128 * 128 * 3)).map { i in UInt8(truncatingIfNeeded: i / 7) }
            let jpeg = try RasterBuilder.jpeg(width: 128, height: 128, components: 3, quality: 80, pixels: rgb)
            for i in 0..<count {
                let bytes: [UInt8]
                let name: String
                switch format {
                case "dicom":
                    var spec = SampleData.ctSlice(i % 300, of: 300)
                    spec.columns = 64
                    spec.rows = 64
                    spec.seriesUID = "1.2.826.0.1.3680043.8.498.10.\(i / 300 + 1)"
                    spec.instanceNumber = i + 1
                    bytes = DICOMFixtures.ctSlice(spec: spec)
                    name = String(format: "IM%06d.dcm", i)
                case "nii": bytes = niftiFile; name = String(format: "case_%06d.nii", i)
                case "niigz": bytes = niftiGz; name = String(format: "case_%06d.nii.gz", i)
                case "png": bytes = png; name = String(format: "img_%06d.png", i)
                default: bytes = jpeg; name = String(format: "img_%06d.jpg", i)
                }
                try Data(bytes).write(to: dir.appendingPathComponent(name))
            }
        }
    }

    /// Large files for the memory check: `count` DICOM objects of `megabytes` MiB each (a
    /// multi-frame 512×512 int16 grid). A header scan must use the same memory as for small files.
    public static func writeLarge(to root: String, count: Int, megabytes: Int = 8) throws {
        let dir = URL(fileURLWithPath: root)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let frames = max(1, megabytes * (1 << 20) / (512 * 512 * 2))
        var spec = SampleData.ctSlice(0, of: 1)
        spec.columns = 512
        spec.rows = 512
        var elements = spec.elements(pixels: nil)
        elements.append(.text(0x0028_0008, "IS", String(frames)))
        elements.append(DICOMElement(0x7FE0_0010, "OW", .bytes([UInt8](repeating: 0x11, count: 512 * 512 * 2 * frames))))
        let bytes = DICOMBuilder(syntax: .explicitLittle, elements: elements).encode()
        for i in 0..<count {
            try Data(bytes).write(to: dir.appendingPathComponent(String(format: "large_%05d.dcm", i)))
        }
    }

    /// The MetaImage/NRRD speed corpus: `count` files each of `.mha` (raw and zlib), `.mhd` + `.raw`, `.nrrd`
    /// (raw), `.nrrd` (gzip), and the same volume as `.nii` and `.nii.gz`, an int16 grid of `dims`
    /// with CT-like values, so header scans and `--stats` compare like with like.
    public static func writeTextHeader(to root: String, count: Int, dims: [Int]) throws {
        let fm = FileManager.default
        var rng = SampleData.Random(seed: 11)
        let n = dims.reduce(1, *)
        let values = (0..<n).map { i in Double(Int(rng.next() % 64) + (i % 977) - 1024) }
        let int16 = FixtureSampleType(size: 2, signed: true)
        var mha = MetaImageBuilder(dims: dims, elementType: "MET_SHORT")
        mha.spacing = [0.9, 0.9, 3]
        mha.origin = [14, -14, -24]
        mha.transform = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        mha.anatomicalOrientation = "RAI"
        var nrrd = NRRDBuilder(type: "short", sample: int16, sizes: dims)
        nrrd.space = "left-posterior-superior"
        nrrd.directions = [[0.9, 0, 0], [0, 0.9, 0], [0, 0, 3]]
        nrrd.origin = [14, -14, -24]
        nrrd.kinds = ["domain", "domain", "domain"]
        var nrrdGz = nrrd
        nrrdGz.encoding = "gzip"
        var nifti = NIfTIBuilder(.nifti1)
        nifti.setGrid(dims: dims, pixdim: [0.9, 0.9, 3], datatype: 4, bitpix: 16)
        nifti.set("xyzt_units", [10])
        nifti.setSform([[-0.9, 0, 0, -14], [0, -0.9, 0, 14], [0, 0, 3, -24]])
        let niftiFile = nifti.singleFile(data: int16.encode(values))
        let templates: [(String, String, [(String, [UInt8])])] = [
            ("mha", "mha", mha.files(name: "x.mha", values: values)),
            ("mhd", "mhd", { var m = mha; m.storage = .file("x.raw"); return m.files(name: "x.mhd", values: values) }()),
            ("mhaz", "mha", { var m = mha; m.compressed = true; return m.files(name: "x.mha", values: values) }()),
            ("nrrd", "nrrd", nrrd.files(name: "x.nrrd", values: values)),
            ("nrrdgz", "nrrd", nrrdGz.files(name: "x.nrrd", values: values)),
            ("nii", "nii", [("x.nii", niftiFile)]),
            ("niigz", "nii.gz", [("x.nii.gz", Compression.gzip(niftiFile))]),
        ]
        for (folder, ext, files) in templates {
            let dir = URL(fileURLWithPath: root).appendingPathComponent(folder)
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            for i in 0..<count {
                let stem = String(format: "case_%06d", i)
                var header = files[0].1
                if folder == "mhd" {
                    // Each header names its own data file.
                    header = Array(String(decoding: header, as: UTF8.self).replacingOccurrences(of: "x.raw", with: stem + ".raw").utf8)
                    try Data(files[1].1).write(to: dir.appendingPathComponent(stem + ".raw"))
                }
                try Data(header).write(to: dir.appendingPathComponent(stem + "." + ext))
            }
        }
    }
}
