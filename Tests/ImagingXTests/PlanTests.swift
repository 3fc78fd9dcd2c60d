import Foundation
import ImagingX
import ImagingXFixtures
import Testing

/// nnU-Net's target-spacing rule and the plan built on it.
@Suite("Fusion plan")
struct PlanTests {
    @Test("target spacing: median; anisotropic axis → 10th percentile; clamp to the in-plane median + 1e-5")
    func targetSpacing() {
        // Isotropic-ish: plain medians.
        let iso = Planner.nnUNetTargetSpacing(spacings: [[1, 0.8, 0.8], [1.2, 0.7, 0.7], [1.1, 0.9, 0.9]],
                                             sizes: [[200, 512, 512], [180, 512, 512], [190, 512, 512]])
        #expect(iso.target == [1.1, 0.8, 0.8])
        // ACDC-like: 10 mm slices, ~10 slices vs 200+ in-plane → the 10th percentile of z spacings
        // (numpy linear: rank 0.5 → 5 + 0.5·(6.5 − 5) = 5.75).
        let z: [Double] = [5, 6.5, 10, 10, 10, 10]
        let acdc = Planner.nnUNetTargetSpacing(spacings: z.map { [$0, 1.5, 1.5] }, sizes: z.map { _ in [10, 230, 230] })
        #expect(abs(acdc.target[0] - 5.75) < 1e-12 && acdc.target[1] == 1.5, "\(acdc.target)")
        #expect(acdc.rule.contains("10th percentile"))
        // The 10th percentile falls below the in-plane spacing: clamped.
        let clamp = Planner.nnUNetTargetSpacing(spacings: [[0.5, 1, 1], [0.5, 1, 1], [5, 1, 1], [5, 1, 1], [5, 1, 1]],
                                               sizes: Array(repeating: [20, 300, 300], count: 5))
        #expect(clamp.target[0] == 1 + 1e-5 && clamp.rule.contains("clamped"))
        // Anisotropic spacing but enough slices: no change (nnU-Net needs both conditions).
        let thick = Planner.nnUNetTargetSpacing(spacings: [[5, 1, 1], [4, 1, 1], [5, 1, 1]], sizes: [[200, 300, 300], [200, 300, 300], [200, 300, 300]])
        #expect(thick.target == [5, 1, 1])
    }

    @Test("a plan: zoom, shape, direction, warnings, CT normalisation from pooled foreground, label conflicts")
    func plan() throws {
        let (rootA, _) = try FingerprintTests.makeDataset("plan-a", count: 6)
        let (rootB, _) = try FingerprintTests.makeDataset("plan-b", labels: "\"background\": 0, \"organ\": 2, \"vessel\": 1",
                                                          sliceSpacing: 7.5, count: 6)
        var inputs: [Planner.Input] = []
        for root in [rootA, rootB] {
            let (info, cases) = Fingerprinter.summarizeFolder(root, jobs: 2)
            inputs.append(Planner.Input(name: root, info: info, cases: cases, modality: .ct))
        }
        let p = Planner.plan(inputs, target: [0.8, 0.8, 2.5])
        #expect(p.cases.count == 12 && p.rule == "given on the command line")
        let thick = try #require(p.cases.first { $0.dataset == rootB && $0.spacing[2] == 7.5 })
        #expect(abs(thick.zoom[2] - 3) < 1e-12 && thick.new_shape[2] == thick.dims[2] * 3)
        #expect(thick.warnings.contains { $0.hasPrefix("upsampled 3× along z") })
        #expect(thick.output_bytes == thick.new_shape.reduce(1, *) * 4)
        let ct = try #require(p.normalisation.first { $0.modality == .ct })
        #expect(ct.parameters["clip_low"]! < ct.parameters["clip_high"]! && ct.parameters["voxels"]! > 0)
        // organ is 1 in A and 2 in B; vessel takes value 1 in B, already A's organ.
        #expect(p.label_conflicts.contains { $0.contains("'organ' is 1") })
        #expect(Set(p.labels.map(\.value)).count == p.labels.count, "one value per name after remapping")
        // Exports: manifests only, paths to the original files.
        let out = try temporaryDirectory("plan-export").path
        let refs = inputs.map { Exporter.DatasetRef(name: $0.name, root: $0.name, fingerprint: Fingerprinter.reduce($0.cases, info: $0.info), catalog: nil, modality: .ct) }
        let files = try Exporter.write(p, datasets: refs, to: out)
        #expect(files.count == 6)
        let ds = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/dataset.json"))) as! [String: Any]
        #expect(ds["numTraining"] as? Int == 12 && (ds["labels"] as? [String: Int])?["background"] == 0)
        let entries = (ds["dataset"] as! [String: [String: Any]]).values
        #expect(entries.allSatisfy { FileManager.default.fileExists(atPath: $0["label"] as! String) })
        let lines = try String(contentsOfFile: out + "/items.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 12)
    }
}

extension PlanTests {
    /// A dataset of `count` NIfTI cases whose affine maps the stored axes to `columns` (one world
    /// direction per stored axis, in NIfTI's RAS+ world) with the given stored spacing and dims.
    static func orientedDataset(_ name: String, columns: [[Double]], spacing: [Double], dims: [Int], count: Int) throws -> String {
        let root = try temporaryDirectory(name).path
        try FileManager.default.createDirectory(atPath: root + "/imagesTr", withIntermediateDirectories: true)
        try Data("{\"labels\": {\"background\": 0}, \"channel_names\": {\"0\": \"CT\"}, \"file_ending\": \".nii.gz\"}".utf8)
            .write(to: URL(fileURLWithPath: root + "/dataset.json"))
        let n = dims.reduce(1, *)
        for i in 0..<count {
            var b = NIfTIBuilder(.nifti1)
            b.setGrid(dims: dims, pixdim: spacing, datatype: 4, bitpix: 16)
            // Row r of the sform: world coordinate r from the stored axes' direction × spacing.
            b.setSform((0..<3).map { r in (0..<3).map { k in columns[k][r] * spacing[k] } + [0] })
            let data = (0..<n).flatMap { v in withUnsafeBytes(of: Int16(100 + (v + i) % 50).littleEndian) { Array($0) } }
            try Data(Compression.gzip(b.singleFile(data: data)))
                .write(to: URL(fileURLWithPath: root + "/imagesTr/" + String(format: "case_%03d_0000.nii.gz", i)))
        }
        return root
    }

    @Test("plan: an LPS dataset with an IPL one gives nnU-Net's target after reorientation to RAS, zooms in both frames")
    func planAcrossOrientations() throws {
        // LPS: stored axes run left, posterior, superior; 0.76 mm in-plane, 3 mm slices.
        let lps = try Self.orientedDataset("plan-lps", columns: [[-1, 0, 0], [0, -1, 0], [0, 0, 1]],
                                           spacing: [0.76, 0.76, 3.0], dims: [64, 64, 12], count: 3)
        // IPL: the same anatomy stored slice axis first: inferior, posterior, left.
        let ipl = try Self.orientedDataset("plan-ipl", columns: [[0, 0, -1], [0, -1, 0], [-1, 0, 0]],
                                           spacing: [3.0, 0.76, 0.76], dims: [12, 64, 64], count: 5)
        var inputs: [Planner.Input] = []
        for root in [lps, ipl] {
            let (info, cases) = Fingerprinter.summarizeFolder(root, jobs: 2)
            #expect(cases.count == (root == lps ? 3 : 5) && cases.allSatisfy { $0.error == nil })
            inputs.append(Planner.Input(name: root, info: info, cases: cases, modality: .ct))
        }
        let p = Planner.plan(inputs)
        // nnU-Net, after reorientation: z 3 mm, y and x 0.76 mm. In stored order it would pool
        // 3 mm with 0.76 mm on both first and last axes.
        #expect(p.target_spacing_zyx.map { ($0 * 1e6).rounded() / 1e6 } == [3.0, 0.76, 0.76], "\(p.target_spacing_zyx)")
        #expect(p.target_frame == "RAS")
        let c = try #require(p.cases.first { $0.dataset == ipl })
        #expect(c.orientation == "IPL" && c.ras_axes == [2, 1, 0])
        // NIfTI stores spacings as float32: 0.76 reads back as 0.7599999904….
        func near(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-6 } }
        #expect(near(c.spacing_ras, [0.76, 0.76, 3.0]) && c.dims_ras == [64, 64, 12])
        // Nothing to resample in either frame: the IPL case is already at the target.
        #expect(near(c.zoom, [1, 1, 1]) && c.new_shape == [12, 64, 64] && c.new_shape_ras == [64, 64, 12])
        #expect(c.resampling == ["x: none", "y: none", "z: none"])
        // A fixed target in RAS: 1.52 mm along x (stored axis 2 of IPL) halves that axis only.
        let q = Planner.plan(inputs, target: [1.52, 0.76, 3.0])
        let d = try #require(q.cases.first { $0.dataset == ipl })
        #expect(near(d.zoom, [1, 1, 0.5]) && d.new_shape == [12, 64, 32])
        #expect(near(d.zoom_ras, [0.5, 1, 1]) && d.new_shape_ras == [32, 64, 12])
        #expect(d.resampling[0] == "x: down 2×")
        let e = try #require(q.cases.first { $0.dataset == lps })
        #expect(e.new_shape == [32, 64, 12] && e.ras_axes == [0, 1, 2])
        #expect(e.warnings.contains { $0.contains("orientation LPS differs from the target IPL") })
    }

    @Test("plan: the canonical axes of each orientation code, and none for an unknown one")
    func rasAxes() {
        #expect(Planner.rasAxes("RAS") == [0, 1, 2] && Planner.rasAxes("LPS") == [0, 1, 2])
        #expect(Planner.rasAxes("IPL") == [2, 1, 0] && Planner.rasAxes("ASL") == [2, 0, 1] && Planner.rasAxes("SRA") == [1, 2, 0])
        #expect(Planner.rasAxes(nil) == nil && Planner.rasAxes("RRS") == nil && Planner.rasAxes("RA") == nil)
    }
}
