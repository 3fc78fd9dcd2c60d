import Foundation
import ImagingX
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
