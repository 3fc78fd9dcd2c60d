import Foundation

/// The SampleData tree: small, deterministic datasets of each kind a user meets.
public enum SampleData {
    /// A small deterministic generator (SplitMix64) so SampleData is byte-identical each time.
    public struct Random {
        var state: UInt64
        public init(seed: UInt64) { state = seed }
        public mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    }

    /// The CT series' geometry: oblique (rotated 15° about the patient's left-right axis).
    public static func ctSlice(_ index: Int, of count: Int) -> CTSliceSpec {
        var spec = CTSliceSpec()
        spec.columns = 64
        spec.rows = 64
        let angle = 15.0 * Double.pi / 180
        let row = [1.0, 0, 0]
        let col = [0.0, cos(angle), -sin(angle)]
        spec.orientation = row + col
        // normal = row × col
        let normal = [row[1] * col[2] - row[2] * col[1], row[2] * col[0] - row[0] * col[2], row[0] * col[1] - row[1] * col[0]]
        let spacing = 2.5
        let origin = [-120.0, -110.0, 40.0]
        spec.position = (0..<3).map { origin[$0] + Double(index) * spacing * normal[$0] }
        spec.sliceThickness = spacing
        spec.pixelSpacing = (0.78125, 0.78125)
        spec.instanceNumber = index + 1
        spec.rescaleSlope = 1
        spec.rescaleIntercept = -1024
        return spec
    }

    /// A body-like phantom slice: air, an ellipse of soft tissue, a bright "bone" ring.
    public static func ctPixels(columns: Int, rows: Int, slice: Int, rng: inout Random) -> [Int16] {
        var out = [Int16](repeating: 0, count: columns * rows)
        for y in 0..<rows {
            for x in 0..<columns {
                let dx = (Double(x) - Double(columns) / 2) / (Double(columns) * 0.42)
                let dy = (Double(y) - Double(rows) / 2) / (Double(rows) * 0.34)
                let r = dx * dx + dy * dy
                var hu = -1000.0
                if r < 1 { hu = 40 + Double(slice % 5) }
                if r > 0.8, r < 1 { hu = 700 }
                hu += (rng.unit() - 0.5) * 20
                out[y * columns + x] = Int16(max(0, min(4095, hu + 1024)))
            }
        }
        return out
    }

    public static func write(to root: String) throws -> (files: Int, bytes: Int) {
        let fm = FileManager.default
        if fm.fileExists(atPath: root) { try fm.removeItem(atPath: root) }
        var files = 0
        var bytes = 0
        func put(_ relative: String, _ data: [UInt8]) throws {
            let url = URL(fileURLWithPath: root).appendingPathComponent(relative)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(data).write(to: url)
            files += 1
            bytes += data.count
        }
        var rng = Random(seed: 20261129)

        // 1. CT-like DICOM series: 12 oblique int16 slices with rescale and planted identity.
        let sliceCount = 12
        for i in 0..<sliceCount {
            let spec = ctSlice(i, of: sliceCount)
            let pixels = ctPixels(columns: spec.columns, rows: spec.rows, slice: i, rng: &rng)
            let builder = DICOMBuilder(syntax: .explicitLittle, elements: spec.elements(pixels: pixels))
            try put("ct-series/IM\(String(format: "%04d", i + 1)).dcm", builder.encode())
        }

        // 2. MR-like NIfTI dataset in nnU-Net layout: .nii.gz images and labels, anisotropic.
        for case_ in 0..<3 {
            let dims = [40, 40, 12]
            let pixdim = [0.9, 0.9, 4.0]
            var image = NIfTIBuilder(.nifti1)
            image.setGrid(dims: dims, pixdim: pixdim, datatype: 4, bitpix: 16)  // int16
            image.set("xyzt_units", [2])  // mm
            image.set("qform_code", [1])
            image.set("quatern_b", [0]); image.set("quatern_c", [0]); image.set("quatern_d", [0])
            image.set("qoffset_x", [-18]); image.set("qoffset_y", [-20]); image.set("qoffset_z", [-22])
            image.setSform([[0.9, 0, 0, -18], [0, 0.9, 0, -20], [0, 0, 4.0, -22]])
            image.setString("descrip", "ImagingX synthetic MR case \(case_)")
            var voxels: [UInt8] = []
            var labels: [UInt8] = []
            voxels.reserveCapacity(dims.reduce(1, *) * 2)
            for z in 0..<dims[2] {
                for y in 0..<dims[1] {
                    for x in 0..<dims[0] {
                        let dx = Double(x - 20 - case_), dy = Double(y - 20), dz = Double(z - 6) * 4.0 / 0.9
                        let inside = dx * dx + dy * dy + dz * dz * 0.05 < 120
                        let value = Int16(inside ? 600 + Int(rng.unit() * 80) : Int(rng.unit() * 30))
                        let u = UInt16(bitPattern: value)
                        voxels.append(UInt8(u & 0xFF)); voxels.append(UInt8(u >> 8))
                        labels.append(inside ? (dx < 0 ? 1 : 2) : 0)
                    }
                }
            }
            let name = String(format: "case_%03d", case_)
            try put("mr-nifti/imagesTr/\(name)_0000.nii.gz", Compression.gzip(image.singleFile(data: voxels)))
            var label = image
            label.setGrid(dims: dims, pixdim: pixdim, datatype: 2, bitpix: 8)
            label.setString("descrip", "labels: 1 left, 2 right")
            try put("mr-nifti/labelsTr/\(name).nii.gz", Compression.gzip(label.singleFile(data: labels)))
        }
        let datasetJSON = """
            {
              "channel_names": {"0": "T1"},
              "labels": {"background": 0, "left": 1, "right": 2},
              "numTraining": 3,
              "file_ending": ".nii.gz",
              "name": "ImagingX synthetic MR"
            }

            """
        try put("mr-nifti/dataset.json", Array(datasetJSON.utf8))

        // 3. X-ray-like PNGs: 16-bit and 8-bit grayscale with pHYs (0.143 mm pixels ≈ 7000 px/m).
        for i in 0..<3 {
            let w = 96, h = 120
            let sixteen = i != 2
            var pixels: [UInt8] = []
            for y in 0..<h {
                for x in 0..<w {
                    let lung = (abs(x - w / 3) < w / 6 || abs(x - 2 * w / 3) < w / 6) && y > h / 6 && y < 5 * h / 6
                    let value = (lung ? 0.25 : 0.75) + (rng.unit() - 0.5) * 0.05
                    if sixteen {
                        let v = UInt16(max(0, min(65535, value * 4095)))
                        pixels.append(UInt8(v >> 8)); pixels.append(UInt8(v & 0xFF))
                    } else {
                        pixels.append(UInt8(max(0, min(255, value * 255))))
                    }
                }
            }
            let png = try RasterBuilder.png(width: w, height: h, bitDepth: sixteen ? 16 : 8, colorType: 0,
                                            interlace: i == 1, pixelsPerMetre: (7000, 7000), pixels: pixels)
            try put("xray-png/chest_\(i + 1).png", png)
        }

        // 4. Photo-like JPEGs (dermoscopy / fundus style): RGB, baseline and progressive, JFIF dpi.
        for i in 0..<3 {
            let w = 80, h = 64
            var pixels: [UInt8] = []
            for y in 0..<h {
                for x in 0..<w {
                    let d = hypot(Double(x - w / 2), Double(y - h / 2)) / Double(w / 2)
                    pixels.append(UInt8(max(0, min(255, 200 - d * 120 + rng.unit() * 10))))
                    pixels.append(UInt8(max(0, min(255, 120 - d * 60 + rng.unit() * 10))))
                    pixels.append(UInt8(max(0, min(255, 90 - d * 40 + rng.unit() * 10))))
                }
            }
            let jpeg = try RasterBuilder.jpeg(width: w, height: h, components: 3, quality: 85, progressive: i == 2,
                                              densityUnit: i == 1 ? 2 : 1, density: i == 1 ? (118, 118) : (300, 300),
                                              pixels: pixels)
            try put("photo-jpeg/lesion_\(i + 1).jpg", jpeg)
        }

        // 5. broken/: files that must give error records, never a crash.
        let good = DICOMBuilder(syntax: .explicitLittle, elements: ctSlice(0, of: 1).elements(pixels: [Int16](repeating: 0, count: 64 * 64))).encode()
        try put("broken/truncated-header.dcm", Array(good.prefix(700)))
        try put("broken/truncated-pixels.dcm", Array(good.prefix(good.count - 1000)))
        try put("broken/empty.nii", [])
        var absurd = NIfTIBuilder(.nifti1)
        // 32767³ float64 voxels: 281 TB of data declared in a 352-byte file.
        absurd.setGrid(dims: [32767, 32767, 32767], pixdim: [1, 1, 1], datatype: 64, bitpix: 64)
        try put("broken/absurd-dims.nii", absurd.singleFile(data: []))
        try put("broken/not-really.nii.gz", [0x1F, 0x8B, 0x08, 0x00] + Array("this is not a deflate stream at all".utf8))
        var badCRC = try RasterBuilder.png(width: 4, height: 4, bitDepth: 8, colorType: 0, pixels: [UInt8](repeating: 9, count: 16))
        badCRC[29] ^= 0xFF  // inside the IHDR CRC
        try put("broken/bad-crc.png", badCRC)
        let jpeg = try RasterBuilder.jpeg(width: 8, height: 8, components: 1, pixels: [UInt8](repeating: 128, count: 64))
        try put("broken/cut.jpg", Array(jpeg.prefix(30)))
        try put("broken/notes.txt", Array("Not an image: shows an 'unsupported' record.\n".utf8))
        // 6. Two more MR datasets for `imagingx compat` (their own generators, so the files above
        //    do not change): "mr-nifti-site2" is the same acquisition at another site (compatible
        //    with mr-nifti); "mr-nifti-partial" has other spacing, a brighter scanner and a label
        //    map that swaps meanings (right is 1, lesion is 2: a conflict both ways).
        func mrDataset(_ folder: String, seed: UInt64, dims: [Int], pixdim: [Double], base: Int, leftValue: UInt8,
                       rightValue: UInt8, labelsJSON: String, name: String) throws {
            var r = Random(seed: seed)
            for case_ in 0..<3 {
                var image = NIfTIBuilder(.nifti1)
                image.setGrid(dims: dims, pixdim: pixdim, datatype: 4, bitpix: 16)
                image.set("xyzt_units", [2])
                image.setSform([[pixdim[0], 0, 0, -18], [0, pixdim[1], 0, -20], [0, 0, pixdim[2], -22]])
                var voxels: [UInt8] = []
                var labels: [UInt8] = []
                let cx = dims[0] / 2, cy = dims[1] / 2, cz = dims[2] / 2
                for z in 0..<dims[2] {
                    for y in 0..<dims[1] {
                        for x in 0..<dims[0] {
                            let dx = Double(x - cx - case_) * pixdim[0], dy = Double(y - cy) * pixdim[1], dz = Double(z - cz) * pixdim[2]
                            let inside = dx * dx + dy * dy + dz * dz * 0.05 < 97
                            let value = Int16(inside ? base + Int(r.unit() * 80) : Int(r.unit() * 30))
                            let u = UInt16(bitPattern: value)
                            voxels.append(UInt8(u & 0xFF)); voxels.append(UInt8(u >> 8))
                            labels.append(inside ? (dx < 0 ? leftValue : rightValue) : 0)
                        }
                    }
                }
                let caseName = String(format: "case_%03d", case_)
                try put("\(folder)/imagesTr/\(caseName)_0000.nii.gz", Compression.gzip(image.singleFile(data: voxels)))
                var label = image
                label.setGrid(dims: dims, pixdim: pixdim, datatype: 2, bitpix: 8)
                try put("\(folder)/labelsTr/\(caseName).nii.gz", Compression.gzip(label.singleFile(data: labels)))
            }
            try put("\(folder)/dataset.json", Array("""
                {
                  "channel_names": {"0": "T1"},
                  "labels": \(labelsJSON),
                  "numTraining": 3,
                  "file_ending": ".nii.gz",
                  "name": "\(name)"
                }

                """.utf8))
        }
        try mrDataset("mr-nifti-site2", seed: 7_2026, dims: [40, 40, 12], pixdim: [0.9, 0.9, 4.0], base: 610, leftValue: 1,
                      rightValue: 2, labelsJSON: "{\"background\": 0, \"left\": 1, \"right\": 2}", name: "ImagingX synthetic MR, site 2")
        try mrDataset("mr-nifti-partial", seed: 9_2026, dims: [24, 24, 24], pixdim: [1.5, 1.5, 1.5], base: 900, leftValue: 2,
                      rightValue: 1, labelsJSON: "{\"background\": 0, \"right\": 1, \"lesion\": 2}", name: "ImagingX synthetic MR, other protocol")
        // 7. MetaImage and NRRD (their own generator, so the files above do not change).
        for (name, bytes) in textHeaderSamples() { try put(name, bytes) }
        return (files, bytes)
    }

    /// SampleData/ct-metaimage (LUNA16-like `.mhd` + `.raw`, and a zlib `.mha`) and
    /// SampleData/slicer-nrrd (3D Slicer-like gzip `.nrrd` volume and segmentation).
    static func textHeaderSamples() -> [(String, [UInt8])] {
        var r = Random(seed: 31_2026)
        var out: [(String, [UInt8])] = []
        func ct(_ n: Int, _ slices: Int) -> [Double] {
            (0..<slices).flatMap { z in ctPixels(columns: n, rows: n, slice: z, rng: &r).map { Double($0) - 1024 } }
        }
        var luna = MetaImageBuilder(dims: [48, 48, 12], elementType: "MET_SHORT")
        luna.transform = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        luna.origin = [-198.1, -195.0, -335.25]
        luna.centerOfRotation = [0, 0, 0]
        luna.anatomicalOrientation = "RAI"
        luna.spacing = [0.703125, 0.703125, 2.5]
        luna.storage = .file("case001.raw")
        out += luna.files(name: "case001.mhd", values: ct(48, 12)).map { ("ct-metaimage/subset0/" + $0.0, $0.1) }
        var packed = MetaImageBuilder(dims: [32, 32, 8], elementType: "MET_SHORT")
        packed.transform = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        packed.origin = [-160, -150, -90]
        packed.anatomicalOrientation = "RAI"
        packed.spacing = [0.9, 0.9, 3]
        packed.compressed = true
        out += packed.files(name: "case002.mha", values: ct(32, 8)).map { ("ct-metaimage/subset0/" + $0.0, $0.1) }

        let int16 = FixtureSampleType(size: 2, signed: true)
        let angle = 10.0 * Double.pi / 180
        var volume = NRRDBuilder(type: "short", sample: int16, sizes: [40, 40, 10])
        volume.encoding = "gzip"
        volume.space = "left-posterior-superior"
        volume.directions = [[0.9, 0, 0], [0, 0.9 * cos(angle), 0.9 * sin(angle)], [0, -3 * sin(angle), 3 * cos(angle)]]
        volume.origin = [-18, -20, -15]
        volume.kinds = ["domain", "domain", "domain"]
        volume.extraLines = ["space units: \"mm\" \"mm\" \"mm\""]
        let voxels = ct(40, 10)
        out += volume.files(name: "MRHead.nrrd", values: voxels).map { ("slicer-nrrd/" + $0.0, $0.1) }
        var seg = volume
        seg.type = "unsigned char"
        seg.sample = FixtureSampleType(size: 1, signed: false)
        seg.endian = nil
        seg.extraLines = ["Segment0_ID:=Segment_1", "Segment0_Name:=tissue", "Segment0_LabelValue:=1"]
        out += seg.files(name: "MRHead.seg.nrrd", values: voxels.map { $0 > 0 ? 1 : 0 }).map { ("slicer-nrrd/" + $0.0, $0.1) }
        return out
    }
}
