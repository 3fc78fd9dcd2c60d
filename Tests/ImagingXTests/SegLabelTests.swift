import Foundation
import ImagingX
import ImagingXFixtures
import Testing

/// DICOM SEG labels of DICOM series cases (SegCorpus): decoded onto the series grid and counted
/// like a NIfTI label; SEGs that cannot be placed leave a `label_not_read` finding.
@Suite("DICOM SEG labels")
struct SegLabelTests {
    static let root: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imagingx-seg-\(UUID().uuidString)").path
        try! SegCorpus.write(to: dir)
        return dir
    }()

    /// Cases by case folder (binary, fractional, …).
    static func cases(_ root: String = root) -> [String: CaseSummary] {
        let (_, found) = Fingerprinter.summarizeFolder(root, jobs: 2)
        return Dictionary(found.map { (String($0.id.split(separator: "/")[0]), $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// The expected label volume, voxel by voxel (slice-major), from the corpus's declared frames.
    static func expected(_ frames: [SegCorpus.Frame], fractional: Bool) -> [Int] {
        let n = SegCorpus.columns * SegCorpus.rows
        var label = [Int](repeating: 0, count: n * SegCorpus.slices)
        for f in frames {
            for y in 0..<SegCorpus.rows {
                for x in 0..<SegCorpus.columns {
                    let on = fractional ? Int(SegCorpus.fractionalValue(slice: f.slice, x: x, y: y)) * 2 > 255
                        : SegCorpus.binaryMask(segment: f.segment, slice: f.slice, x: x, y: y)
                    let i = f.slice * n + y * SegCorpus.columns + x
                    if on { label[i] = max(label[i], f.segment) }
                }
            }
        }
        return label
    }

    /// The CT value at voxel i (slice-major): SegCorpus's pixel pattern, rescaled (intercept −1024).
    static func hu(_ i: Int) -> Double {
        let n = SegCorpus.columns * SegCorpus.rows
        return Double((i % n * 37 + i / n * 101) % 400) - 1024
    }

    static func counts(_ label: [Int]) -> [String: Int] {
        var out: [String: Int] = [:]
        for v in label { out[String(v), default: 0] += 1 }
        return out
    }

    @Test("BINARY, 2 segments, frames out of order, one placed by position: counts, foreground, box, findings")
    func binary() throws {
        let c = try #require(SegLabelTests.cases()["binary"])
        let want = SegLabelTests.expected(SegCorpus.binaryFrames, fractional: false)
        #expect(c.error == nil && c.label == "binary/SEG/seg.dcm")
        #expect(c.labelVoxels == SegLabelTests.counts(want))
        #expect(want.contains(2) && want.contains(1))
        let fg = want.indices.filter { want[$0] > 0 }.map(SegLabelTests.hu)
        let a = try #require(c.foreground.first)
        #expect(a.count == fg.count && a.min == fg.min() && a.max == fg.max() && a.sum == fg.reduce(0, +))
        #expect(c.foregroundBox?.lower == [0, 0, 1] && c.foregroundBox?.upper == [4, 2, 3])
        #expect(c.intensity.first?.count == SegCorpus.columns * SegCorpus.rows * SegCorpus.slices)
        #expect(c.findings.contains { $0.hasPrefix("overlapping_segments: DICOM SEG binary/SEG/seg.dcm") })
        #expect(c.findings.contains { $0.hasPrefix("seg_frames_by_position: DICOM SEG binary/SEG/seg.dcm: 1 frames") })
        #expect(!c.findings.contains { $0.hasPrefix("label_not_read") })
    }

    @Test("FRACTIONAL: a value counts when over half of MaximumFractionalValue (128 of 255 does, 127 does not)")
    func fractional() throws {
        let c = try #require(SegLabelTests.cases()["fractional"])
        let want = SegLabelTests.expected(SegCorpus.fractionalFrames, fractional: true)
        #expect(c.labelVoxels == SegLabelTests.counts(want))
        #expect(c.foreground.first?.count == want.filter { $0 > 0 }.count)
        #expect(c.findings.isEmpty)
    }

    @Test("short pixel data, a foreign source instance, another grid: image stats kept, label_not_read with the reason")
    func refused() throws {
        let all = SegLabelTests.cases()
        let reasons = ["short": "Pixel Data holds 6 bytes; 5 frames of 3 × 5 need 10",
                       "foreign": "frame 2 references a source image (SOPInstanceUID) that is not in the series",
                       "grid": "its frames are 3 rows × 4 columns, the series' slices 3 × 5"]
        for (name, reason) in reasons {
            let c = try #require(all[name])
            #expect(c.error == nil && c.intensity.first?.count == 75, "\(name)")
            #expect(c.labelVoxels.isEmpty && c.foreground.isEmpty, "\(name)")
            #expect(c.findings == ["label_not_read: DICOM SEG \(name)/SEG/seg.dcm references this series but is not read: \(reason)"], "\(name)")
        }
    }

    @Test("the fingerprint's label statistics include the SEG cases; no UID reaches the output")
    func fingerprint() throws {
        let (info, found) = Fingerprinter.summarizeFolder(SegLabelTests.root, jobs: 2)
        let fp = Fingerprinter.reduce(found, info: info)
        #expect(fp.cases == 5 && fp.cases_with_labels == 2 && fp.cases_failed.isEmpty)
        let binary = SegLabelTests.expected(SegCorpus.binaryFrames, fractional: false)
        let fractional = SegLabelTests.expected(SegCorpus.fractionalFrames, fractional: true)
        #expect(fp.labels.map(\.value) == [1, 2])
        #expect(fp.labels[0].voxels == binary.filter { $0 == 1 }.count + fractional.filter { $0 == 1 }.count && fp.labels[0].cases == 2)
        #expect(fp.labels[1].voxels == binary.filter { $0 == 2 }.count && fp.labels[1].cases == 1)
        #expect(fp.foreground_intensity_per_channel["0"]?.count == (binary + fractional).filter { $0 > 0 }.count)
        let text = String(decoding: try Fingerprinter.encode(fp) + Fingerprinter.encode(Fingerprinter.CaseSet(info: info, cases: found)), as: UTF8.self)
        #expect(!text.contains("1.2.826.0.1.3680043.8.498.9"))
        #expect(!text.contains("PLANTED"))
    }

    @Test("a SEG cut or corrupted anywhere never crashes: the case keeps its image, the label is read or refused")
    func corrupted() throws {
        let seg = SegCorpus.segmentation(series: 1, frames: SegCorpus.binaryFrames, fractional: false)
        let fractional = SegCorpus.segmentation(series: 1, frames: SegCorpus.fractionalFrames, fractional: true)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imagingx-segcut-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/c/SEG", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: SegLabelTests.root + "/binary/CT", toPath: dir + "/c/CT")
        var variants: [[UInt8]] = stride(from: 132, to: seg.count, by: 41).map { Array(seg.prefix($0)) }
        for original in [seg, fractional] {
            for at in stride(from: 132, to: original.count, by: 5) {
                for value: UInt8 in [0x00, 0xFF] where original[at] != value {
                    var b = original
                    b[at] = value
                    variants.append(b)
                }
            }
        }
        var read = 0
        for v in variants {
            try Data(v).write(to: URL(fileURLWithPath: dir + "/c/SEG/seg.dcm"))
            let found = Fingerprinter.summarizeFolder(dir, jobs: 1).1
            let c = try #require(found.first { $0.id.hasPrefix("c/CT/") })
            #expect(c.error == nil && c.intensity.first?.count == 75)
            if !c.labelVoxels.isEmpty { read += 1; #expect(c.labelVoxels.values.reduce(0, +) == 75) }
        }
        #expect(read < variants.count)
    }

    @Test("listed series folders with NIfTI/MetaImage labels: same grid, flipped, permuted are reordered and counted; shifted is a mismatch")
    func listedLabels() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imagingx-segmsd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SegCorpus.writeListed(to: dir)
        let (info, found) = Fingerprinter.summarizeFolder(dir, jobs: 2)
        #expect(info.layout == .msd)
        let cases = Dictionary(uniqueKeysWithValues: found.map { ($0.id, $0) })
        // Expected: the label function over the series grid, and the CT values where it is > 0.
        var want: [String: Int] = [:]
        var fg: [Double] = []
        let n = SegCorpus.columns * SegCorpus.rows
        for k in 0..<SegCorpus.slices {
            for y in 0..<SegCorpus.rows {
                for x in 0..<SegCorpus.columns {
                    let v = SegCorpus.listedLabel(x: x, y: y, k: k)
                    want[String(v), default: 0] += 1
                    if v > 0 { fg.append(SegLabelTests.hu(k * n + y * SegCorpus.columns + x)) }
                }
            }
        }
        for name in ["same", "flipped", "permuted", "mha-flipped"] {
            let c = try #require(cases[name])
            #expect(c.error == nil && c.label == "labels/\(name)" + (name.hasPrefix("mha") ? ".mha" : ".nii.gz"), "\(name)")
            #expect(c.labelVoxels == want, "\(name)")
            #expect(c.foreground.first?.count == fg.count && c.foreground.first?.sum == fg.reduce(0, +), "\(name)")
            #expect(!c.findings.contains { $0.hasPrefix("label_not_read") || $0.hasPrefix("label_grid_mismatch") }, "\(name)")
            #expect(c.findings.contains { $0.hasPrefix("label_reordered") } == (name != "same"), "\(name)")
        }
        let shifted = try #require(cases["shifted"])
        #expect(shifted.error == nil && shifted.labelVoxels.isEmpty && shifted.foreground.isEmpty)
        #expect(shifted.findings.contains { $0.hasPrefix("label_grid_mismatch: label grid [5, 3, 5] and affine do not describe the series grid") })
        let fp = Fingerprinter.reduce(found, info: info)
        #expect(fp.cases_with_labels == 4 && fp.labels.map(\.cases) == [4, 4])
    }
}
