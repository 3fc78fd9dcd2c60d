import Foundation
import ImagingX
import ImagingXFixtures
import Testing

/// Dataset fingerprints: numbers against a brute-force reference, and exact merging of
/// per-case summaries computed in separate runs.
@Suite("Fingerprints")
struct FingerprintTests {
    struct Case { var image: [Double]; var label: [Int]; var spacing: [Double] }

    /// An nnU-Net-layout dataset: int16 images (one float32), uint8 labels 0/1/2.
    static func makeDataset(_ name: String, channel: String = "CT",
                            labels: String = "\"background\": 0, \"organ\": 1, \"tumour\": 2",
                            sliceSpacing: Double = 2.5, offset: Double = 0, count: Int = 11) throws -> (root: String, cases: [String: Case]) {
        let dir = try temporaryDirectory(name)
        let root = dir.path
        try FileManager.default.createDirectory(atPath: root + "/imagesTr", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/labelsTr", withIntermediateDirectories: true)
        try write(Array("{\"labels\": {\(labels)}, \"channel_names\": {\"0\": \"\(channel)\"}, \"file_ending\": \".nii.gz\"}".utf8),
                  to: URL(fileURLWithPath: root + "/dataset.json"))
        var rng = SampleData.Random(seed: 42)
        var cases: [String: Case] = [:]
        for i in 0..<count {
            let dims = [8 + i % 3, 9, 4 + i % 2]
            let spacing = [0.8, 0.8, i == 7 ? 5.0 : sliceSpacing]
            let n = dims.reduce(1, *)
            let isFloat = i == 4
            var image: [Double] = []
            var label: [Int] = []
            for _ in 0..<n {
                let v = Double(Int(rng.next() % 3000)) - 1024 + offset
                image.append(isFloat ? v / 8 + 0.3 : v)
                label.append(Int(rng.next() % 5) < 3 ? 0 : Int(rng.next() % 2) + 1)
            }
            var b = NIfTIBuilder(.nifti1)
            b.setGrid(dims: dims, pixdim: spacing, datatype: isFloat ? 16 : 4, bitpix: isFloat ? 32 : 16)
            b.setSform([[spacing[0], 0, 0, 0], [0, spacing[1], 0, 0], [0, 0, spacing[2], 0]])
            let data: [UInt8] = isFloat
                ? image.flatMap { v in withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { Array($0) } }
                : image.flatMap { v in withUnsafeBytes(of: Int16(v).littleEndian) { Array($0) } }
            let id = String(format: "case_%03d", i)
            try write(Compression.gzip(b.singleFile(data: data)), to: URL(fileURLWithPath: root + "/imagesTr/\(id)_0000.nii.gz"))
            var l = NIfTIBuilder(.nifti1)
            l.setGrid(dims: dims, pixdim: spacing, datatype: 2, bitpix: 8)
            l.setSform([[spacing[0], 0, 0, 0], [0, spacing[1], 0, 0], [0, 0, spacing[2], 0]])
            try write(Compression.gzip(l.singleFile(data: label.map { UInt8($0) })), to: URL(fileURLWithPath: root + "/labelsTr/\(id).nii.gz"))
            cases[id] = Case(image: isFloat ? image.map { Double(Float($0)) } : image, label: label, spacing: spacing)
        }
        return (root, cases)
    }

    @Test("foreground statistics, label counts and spacings match a brute-force reference")
    func reference() throws {
        let (root, cases) = try FingerprintTests.makeDataset("fp-reference")
        let (info, files) = CaseFinder.find(root)
        #expect(files.count == 11 && files.allSatisfy { $0.label != nil })
        let summaries = Fingerprinter.summarize(files, root: root, jobs: 2)
        #expect(summaries.allSatisfy { $0.error == nil && $0.findings.isEmpty }, "\(summaries.compactMap(\.error))")
        let fp = Fingerprinter.reduce(summaries, info: info)
        let fg = cases.keys.sorted().flatMap { id in zip(cases[id]!.image, cases[id]!.label).filter { $0.1 > 0 }.map(\.0) }
        let want = StatsTests.reference(fg)
        let got = try #require(fp.foreground_intensity_per_channel["0"])
        #expect(got.count == want.count)
        #expect(abs(got.mean - want.mean) < 1e-9 * 3000 && abs(got.std - want.std) < 1e-9 * 3000, "\(got.mean) \(want.mean) \(got.std) \(want.std)")
        #expect(got.min == want.min && got.max == want.max)
        // One float case makes the pooled bins 1/8 wide at most: percentiles within a bin.
        let width = Double(sign: .plus, exponent: got.bin_exponent, significand: 1)
        #expect(abs(got.median - want.p50) <= width && abs(got.percentile_99_5 - want.p99_5) <= width, "bin \(width)")
        let organ = cases.values.map { $0.label.filter { $0 == 1 }.count }.reduce(0, +)
        #expect(fp.labels.first { $0.value == 1 }?.voxels == organ && fp.labels.first?.name == "organ")
        // 2.5 / 0.8 = 3.1 > 3: every case is anisotropic; case_007 (5 mm slices) stands out.
        #expect(fp.anisotropic_cases.count == 11)
        #expect(fp.outliers.contains { $0.case_id == "case_007" && $0.reason.contains("spacing[2]") })
    }

    @Test("per-case summaries from a random split merge into the same fingerprint, to the byte", arguments: [1, 2, 3])
    func mergeIsExact(seed: Int) throws {
        let (root, _) = try FingerprintTests.makeDataset("fp-merge-\(seed)")
        let (info, files) = CaseFinder.find(root)
        let whole = try Fingerprinter.encode(Fingerprinter.reduce(Fingerprinter.summarize(files, root: root, jobs: 2), info: info))
        var rng = SampleData.Random(seed: UInt64(seed))
        var parts: [[CaseFiles]] = [[], [], []]
        for f in files.shuffled(using: &rng) { parts[Int(rng.next() % 3)].append(f) }
        var merged: [CaseSummary] = []
        for part in parts {
            // Each part summarised on its own and round-tripped through its saved JSON.
            let saved = try Fingerprinter.encode(Fingerprinter.CaseSet(info: info, cases: Fingerprinter.summarize(part, root: root, jobs: 1)))
            merged += try Fingerprinter.decodeCases(saved).cases
        }
        let fromParts = try Fingerprinter.encode(Fingerprinter.reduce(merged.shuffled(using: &rng), info: info))
        #expect(fromParts == whole)
    }
}

@Suite("Compatibility")
struct CompatTests {
    static func context(_ name: String, channel: String = "CT", labels: String = "\"background\": 0, \"organ\": 1, \"tumour\": 2",
                        sliceSpacing: Double = 2.5, offset: Double = 0) throws -> DatasetContext {
        let (root, _) = try FingerprintTests.makeDataset(name, channel: channel, labels: labels, sliceSpacing: sliceSpacing,
                                                         offset: offset, count: 6)
        let (info, cases) = Fingerprinter.summarizeFolder(root, jobs: 2)
        return DatasetContext(name: name, fingerprint: Fingerprinter.reduce(cases, info: info))
    }

    @Test("compatible, partly compatible and incompatible datasets, with the reasons")
    func scores() throws {
        let a = try CompatTests.context("compat-a")
        let same = try CompatTests.context("compat-a2")
        // Same modality and task; labels swapped (a conflict both ways), 2× slice spacing, +300 HU.
        let partly = try CompatTests.context("compat-b", labels: "\"background\": 0, \"organ\": 2, \"tumour\": 1",
                                             sliceSpacing: 5, offset: 300)
        let mr = try CompatTests.context("compat-mr", channel: "T2")
        let s1 = Compat.score(a, same), s2 = Compat.score(a, partly), s3 = Compat.score(a, mr)
        #expect(s1.score > 0.8 && !s1.gated, "\(s1.score)")
        #expect(s2.score < s1.score && s2.score > 0.3, "\(s2.score)")
        #expect(s3.score == 0 && s3.gated && s3.factors[0].reason.contains("different imaging physics"))
        let labels = try #require(s2.factors.first { $0.name == .labels })
        #expect(labels.reason.contains("same name, different value") && labels.reason.contains("same value, different name"))
        let spacing = try #require(s2.factors.first { $0.name == .spacing })
        #expect(spacing.score < 0.9 && spacing.reason.contains("2.5/5"))
        let intensity = try #require(s2.factors.first { $0.name == .intensity })
        #expect(intensity.reason.contains("HU") && intensity.score < s1.factors.first { $0.name == .intensity }!.score)
        // A weight is a flag, not a code edit: only spacing counts → the score is the spacing factor.
        var w = CompatWeights()
        try w.apply(CompatFactor.allCases.map { "\($0.rawValue)=0" } + ["spacing=1"])
        #expect(abs(Compat.score(a, partly, weights: w).score - spacing.score) < 1e-12)
        #expect(throws: Compat.InvalidWeight.self) { var x = CompatWeights(); try x.apply(["colour=2"]) }
    }

    @Test("SampleData: site2 is compatible with mr-nifti, partial partly (labels swapped, spacing), ct-series not at all")
    func sampleData() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("SampleData").path
        func context(_ name: String) -> DatasetContext {
            let (info, cases) = Fingerprinter.summarizeFolder(root + "/" + name, jobs: 2)
            return DatasetContext(name: name, fingerprint: Fingerprinter.reduce(cases, info: info))
        }
        let mr = context("mr-nifti"), site2 = context("mr-nifti-site2"), partial = context("mr-nifti-partial"), ct = context("ct-series")
        let compatible = Compat.score(mr, site2), partly = Compat.score(mr, partial), none = Compat.score(mr, ct)
        #expect(compatible.score > 0.9, "\(compatible.score)")
        #expect(partly.score > 0.5 && partly.score < 0.85, "\(partly.score)")
        #expect(none.score == 0 && none.gated)
        let labels = try #require(partly.factors.first { $0.name == .labels })
        #expect(labels.reason.contains("right (2 vs 1)"))
    }

    @Test("Wasserstein distance of two histograms (known values)")
    func wasserstein() {
        #expect(abs(Compat.wasserstein([(0, 1)], [(3, 1)]) - 3) < 1e-12)
        #expect(abs(Compat.wasserstein([(0, 1), (1, 1)], [(1, 1), (2, 1)]) - 1) < 1e-12)
    }
}

extension SampleData.Random: RandomNumberGenerator {}
