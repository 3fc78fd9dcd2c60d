import Foundation
import ImagingX
import ImagingXFixtures
import Testing

/// Every common dataset layout becomes cases (LayoutCorpus, with planted faults); a listed case
/// that cannot be read is in `cases_failed` with its path and reason, never dropped.
@Suite("Dataset layouts")
struct LayoutTests {
    /// The corpus, written once per test process.
    static let root: String = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imagingx-layouts-\(UUID().uuidString)").path
        try! LayoutCorpus.write(to: dir)
        return dir
    }()

    static func fingerprint(_ name: String, layout: DatasetLayout? = nil, datalist: String? = nil)
        -> (info: CaseFinder.DatasetInfo, cases: [String: CaseSummary], fp: DatasetFingerprint) {
        let (info, cases) = Fingerprinter.summarizeFolder(root + "/" + name, jobs: 2, layout: layout, datalist: datalist)
        return (info, Dictionary(uniqueKeysWithValues: cases.map { ($0.id, $0) }), Fingerprinter.reduce(cases, info: info))
    }

    static func failed(_ fp: DatasetFingerprint) -> [String] { fp.cases_failed.map { "\($0.case_id) | \($0.path) | \($0.reason)" } }

    @Test("auto detection, in order: msd, nnunet, kits, brats, plain")
    func detection() {
        let want: [String: DatasetLayout] = ["nnunet": .nnunet, "nnunet-dataset": .nnunet, "msd": .msd, "kits": .kits,
                                             "brats": .brats, "plain": .plain, "tcia": .plain, "datalist": .plain]
        for (name, layout) in want {
            #expect(CaseFinder.detect(LayoutTests.root + "/" + name) == layout, "\(name)")
        }
    }

    @Test("nnU-Net v2: channels by _XXXX, an unreadable image and a label without image fail, numTraining disagrees")
    func nnunet() throws {
        let (info, cases, fp) = LayoutTests.fingerprint("nnunet")
        #expect(fp.layout == .nnunet && info.numTraining == 5 && info.fileEnding == ".nii.gz")
        #expect(cases.keys.sorted() == ["case_000", "case_001", "case_002", "case_009"])
        let c0 = try #require(cases["case_000"])
        #expect(c0.images == ["imagesTr/case_000_0000.nii.gz", "imagesTr/case_000_0001.nii.gz"] && c0.channels == 2)
        #expect(c0.label == "labelsTr/case_000.nii.gz" && c0.error == nil && !c0.foreground.isEmpty)
        #expect(fp.cases == 4 && fp.cases_with_labels == 2)
        let failed = LayoutTests.failed(fp)
        #expect(failed.count == 2)
        #expect(failed.first?.hasPrefix("case_002 | imagesTr/case_002_0000.nii.gz | gzip stream") == true, "\(failed)")
        #expect(failed.last == "case_009 | labelsTr/case_009.nii.gz | a label with no image in imagesTr")
        #expect(fp.dataset_findings == ["num_training_mismatch: dataset.json says numTraining 5, 4 cases were found (2 of them failed)"])
    }

    @Test("nnU-Net v2 `dataset` dict: listed paths, a missing image fails, a .nii image beside a .nii.gz label")
    func nnunetDatasetKey() throws {
        let (_, cases, fp) = LayoutTests.fingerprint("nnunet-dataset")
        #expect(fp.layout == .nnunet && fp.dataset == "LayoutNNDict")
        #expect(cases.keys.sorted() == ["a1", "a2", "a3"])
        #expect(cases["a1"]?.images == ["scans/a1_ch0.nii.gz"] && cases["a1"]?.label == "masks/a1.nii.gz")
        #expect(cases["a3"]?.images == ["scans/a3_ch0.nii"] && cases["a3"]?.label == "masks/a3.nii.gz" && cases["a3"]?.error == nil)
        #expect(cases["a3"]?.format == "nifti1" && cases["a3"]?.foreground.isEmpty == false)
        #expect(LayoutTests.failed(fp) == ["a2 | scans/a2_ch0.nii.gz | image file missing"])
        #expect(fp.dataset_findings.isEmpty, "numTraining 3 = 3 cases")
    }

    @Test("MSD: ./imagesTr paths, 4-D channels, a missing case, .nii beside .nii.gz, a DICOM series folder, numTraining wrong")
    func msd() throws {
        let (info, cases, fp) = LayoutTests.fingerprint("msd")
        #expect(fp.layout == .msd && info.channelNames == ["0": "FLAIR", "1": "T1w"] && info.labels[1] == "edema")
        #expect(cases.keys.sorted() == ["m_001", "m_002", "m_003", "m_004", "m_005"])
        let m1 = try #require(cases["m_001"])
        #expect(m1.images == ["imagesTr/m_001.nii.gz"] && m1.channels == 2 && m1.dims == [6, 5, 3] && m1.foreground.count == 2)
        #expect(cases["m_003"]?.images == ["imagesTr/m_003.nii"] && cases["m_003"]?.label == "labelsTr/m_003.nii.gz")
        #expect(cases["m_003"]?.error == nil && cases["m_003"]?.foreground.isEmpty == false)
        #expect(cases["m_004"]?.images == ["imagesTr/m_004.nii"]
                && cases["m_004"]?.findings == ["listed_path_differs: ./imagesTr/m_004.nii.gz is listed; m_004.nii was found and used"])
        let m5 = try #require(cases["m_005"])
        #expect(m5.format == "dicom" && m5.dims == [8, 8, 4] && m5.spacing == [1, 1, 2.5] && m5.error == nil)
        #expect(m5.images == (1...4).map { "series/m_005/IM\($0).dcm" })
        #expect(LayoutTests.failed(fp) == ["m_002 | imagesTr/m_002.nii.gz | image file missing"])
        #expect(fp.dataset_findings == ["num_training_mismatch: dataset.json says numTraining 6, 5 cases were found (1 of them failed)"])
    }

    @Test("MONAI datalist: training and validation, channel lists, base_dir = the datalist's folder or a given root")
    func datalist() throws {
        let dir = LayoutTests.root + "/datalist"
        let (info, cases, fp) = LayoutTests.fingerprint("datalist", datalist: dir + "/datalist.json")
        #expect(info.layout == .datalist && fp.layout == .datalist && fp.dataset == "LayoutDatalist")
        // The MSD dataset.json used as a datalist (as MONAI users do): the same cases as --layout msd.
        let asList = LayoutTests.fingerprint("msd", datalist: LayoutTests.root + "/msd/dataset.json")
        let asMSD = LayoutTests.fingerprint("msd")
        #expect(asList.fp.layout == .datalist && asList.cases.keys.sorted() == asMSD.cases.keys.sorted())
        #expect(asList.fp.cases_failed == asMSD.fp.cases_failed && asList.fp.dataset_findings == asMSD.fp.dataset_findings)
        #expect(cases.keys.sorted() == ["d1_t1", "d2_t1", "d3_t1"])
        #expect(cases["d1_t1"]?.images == ["img/d1_t1.nii.gz", "img/d1_t2.nii.gz"] && cases["d1_t1"]?.channels == 2)
        #expect(cases["d2_t1"]?.label == "seg/d2.nii.gz" && cases["d2_t1"]?.foreground.count == 2)
        #expect(LayoutTests.failed(fp) == ["d3_t1 | img/d3_t2.nii.gz | image file missing"])
        // A datalist in a sub-folder whose paths are relative to the dataset folder.
        let (_, rooted) = Fingerprinter.summarizeFolder(dir, jobs: 1, datalist: dir + "/lists/from-root.json")
        #expect(rooted.map(\.id).sorted() == ["d1_t1", "d2_t1"] && rooted.allSatisfy { $0.error == nil })
        let (_, unrooted) = Fingerprinter.summarizeFolder(dir + "/lists", jobs: 1, datalist: dir + "/lists/from-root.json")
        #expect(unrooted.allSatisfy { $0.error == "image file missing" } && unrooted.count == 2)
    }

    @Test("KiTS: imaging is the image, segmentation the label (never an image); a case without imaging fails")
    func kits() throws {
        let (info, cases, fp) = LayoutTests.fingerprint("kits")
        #expect(fp.layout == .kits && info.channelNames == ["0": "CT"])
        #expect(cases.keys.sorted() == ["case_00000", "case_00001", "case_00002"])
        #expect(cases["case_00001"]?.images == ["case_00001/imaging.nii.gz"] && cases["case_00001"]?.label == "case_00001/segmentation.nii.gz")
        #expect(fp.cases_with_labels == 2)
        #expect(LayoutTests.failed(fp) == ["case_00002 | case_00002 | no imaging.nii.gz in the case folder"])
    }

    @Test("BraTS: channels in the fixed order (2021 and 2023 names), seg as label, a missing channel fails")
    func brats() throws {
        let (info, cases, fp) = LayoutTests.fingerprint("brats")
        #expect(fp.layout == .brats)
        #expect(cases.keys.sorted() == ["BraTS-GLI-00002-000", "BraTS2021_00000", "BraTS2021_00001"])
        let old = try #require(cases["BraTS2021_00000"])
        #expect(old.images == ["_t1", "_t1ce", "_t2", "_flair"].map { "BraTS2021_00000/BraTS2021_00000\($0).nii.gz" })
        #expect(old.label == "BraTS2021_00000/BraTS2021_00000_seg.nii.gz" && old.channels == 4 && old.foreground.count == 4)
        let new = try #require(cases["BraTS-GLI-00002-000"])
        #expect(new.images == ["-t1n", "-t1c", "-t2w", "-t2f"].map { "BraTS-GLI-00002-000/BraTS-GLI-00002-000\($0).nii.gz" })
        #expect(new.label == "BraTS-GLI-00002-000/BraTS-GLI-00002-000-seg.nii.gz")
        #expect(LayoutTests.failed(fp) == ["BraTS2021_00001 | BraTS2021_00001 | missing BraTS channel(s): flair"])
        // The channel names come from the first complete case (folders in name order: the 2023 one).
        #expect(info.channelNames == ["0": "T1N", "1": "T1C", "2": "T2W", "3": "T2F"])
    }

    @Test("plain: image/mask, _img/_mask, .nii beside _seg.nii.gz, imaging/segmentation; a label without image fails")
    func plain() throws {
        let (_, cases, fp) = LayoutTests.fingerprint("plain")
        #expect(fp.layout == .plain)
        #expect(cases.keys.sorted() == ["k1", "orphan_label", "p1", "p2", "p3"])
        #expect(cases["p1"]?.images == ["p1/image.nii.gz"] && cases["p1"]?.label == "p1/mask.nii.gz")
        #expect(cases["p2"]?.images == ["p2_img.nii.gz"] && cases["p2"]?.label == "p2_mask.nii.gz")
        #expect(cases["p3"]?.images == ["p3.nii"] && cases["p3"]?.label == "p3_seg.nii.gz")
        #expect(cases["k1"]?.images == ["k1/imaging.nii.gz"] && cases["k1"]?.label == "k1/segmentation.nii.gz")
        #expect(fp.cases_with_labels == 4)
        #expect(LayoutTests.failed(fp) == ["orphan_label | orphan_label.nii.gz | a label file with no image to pair it with"])
    }

    @Test("--layout overrides detection: the KiTS folder read as plain pairs by name; as nnunet it has no cases; as msd it says why")
    func forcedLayout() {
        let (_, cases, fp) = LayoutTests.fingerprint("kits", layout: .plain)
        #expect(fp.layout == .plain && cases.keys.sorted() == ["case_00000", "case_00001", "case_00002/segmentation"])
        #expect(cases["case_00000"]?.label == "case_00000/segmentation.nii.gz")
        #expect(LayoutTests.failed(fp) == ["case_00002/segmentation | case_00002/segmentation.nii.gz | a label file with no image to pair it with"])
        let (_, none, nn) = LayoutTests.fingerprint("kits", layout: .nnunet)
        #expect(nn.layout == .nnunet && none.isEmpty)
        let msd = LayoutTests.fingerprint("kits", layout: .msd).fp
        #expect(LayoutTests.failed(msd) == ["dataset.json | dataset.json | no dataset.json with a `training` list: the msd layout has no cases"])
    }

    @Test("TCIA tree: a DICOM SEG is the label of the series its ReferencedSeriesSequence names (hashed); an unmatched SEG fails")
    func tcia() throws {
        let dir = LayoutTests.root + "/tcia"
        let seg = FileReader().read(fullPath: dir + "/PAT1/STUDY1/SEG/1-1.dcm", path: "1-1.dcm")
        let ctKey = SHA256.hex(Array(LayoutCorpus.ctSeriesUID.utf8), bytes: 16)
        #expect(seg.sopClassUID == "1.2.840.10008.5.1.4.1.1.66.4" && seg.referencedSeriesKeys == [ctKey])
        let ct = FileReader().read(fullPath: dir + "/PAT1/STUDY1/CT/IM1.dcm", path: "IM1.dcm")
        #expect(ct.seriesKey == ctKey && ct.referencedSeriesKeys == nil)

        let (info, cases, fp) = LayoutTests.fingerprint("tcia")
        let id = "PAT1/STUDY1/CT/series-" + ctKey.prefix(12)
        #expect(cases.keys.sorted() == [id, "PAT2/STUDY1/SEG/1-1"])
        let volume = try #require(cases[id])
        #expect(volume.dims == [8, 8, 4] && volume.label == "PAT1/STUDY1/SEG/1-1.dcm" && volume.error == nil)
        #expect(volume.findings.contains { $0.hasPrefix("label_not_read: DICOM SEG PAT1/STUDY1/SEG/1-1.dcm references this series") })
        #expect(LayoutTests.failed(fp) == ["PAT2/STUDY1/SEG/1-1 | PAT2/STUDY1/SEG/1-1.dcm | DICOM SEG references a series that is not in the folder (or is not a volume)"])
        // Privacy: no raw UID (nor the planted identity) in the fingerprint or the saved cases.
        let outputs = [try Fingerprinter.encode(fp), try Fingerprinter.encode(Fingerprinter.CaseSet(info: info, cases: Array(cases.values)))]
        for text in outputs.map({ String(decoding: $0, as: UTF8.self) }) {
            for uid in [LayoutCorpus.ctSeriesUID, LayoutCorpus.absentSeriesUID] + LayoutCorpus.segSeriesUIDs + CTSliceSpec().identityValues {
                #expect(!text.contains(uid), "\(uid) in output")
            }
        }
    }

    @Test("malformed lists: an unreadable dataset.json is a dataset finding; odd training entries fail with their reason")
    func malformed() throws {
        let dir = try temporaryDirectory("layout-malformed").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try write(Array("{\"name\": \"cut".utf8), to: URL(fileURLWithPath: dir + "/nn/dataset.json"))
        try write(LayoutCorpus.nifti(seed: 1), to: URL(fileURLWithPath: dir + "/nn/imagesTr/x_0000.nii.gz"))
        let (info, cases) = Fingerprinter.summarizeFolder(dir + "/nn", jobs: 1)
        let fp = Fingerprinter.reduce(cases, info: info)
        #expect(fp.layout == .nnunet && cases.map(\.id) == ["x"] && cases[0].error == nil)
        #expect(fp.dataset_findings == ["dataset_json_unreadable: dataset.json is not a readable JSON object; its name, labels, channels and numTraining are not used"])
        try write(Array("""
            {"numTraining": 4, "training": [7, {"image": 3}, {"image": "a.nii.gz"}, {"image": "./a.nii.gz"}, {"image": [], "label": "l.nii.gz"}]}
            """.utf8), to: URL(fileURLWithPath: dir + "/msd/dataset.json"))
        try write(LayoutCorpus.nifti(seed: 1), to: URL(fileURLWithPath: dir + "/msd/a.nii.gz"))
        let (msdInfo, msdCases) = Fingerprinter.summarizeFolder(dir + "/msd", jobs: 1)
        let msd = Fingerprinter.reduce(msdCases, info: msdInfo)
        #expect(msd.layout == .msd && msd.cases == 5)
        #expect(LayoutTests.failed(msd) == [
            "training[0] |  | training[0] is neither a path nor {image, label}",
            "training[1] |  | training[1] names no image",
            "training[3] | ./a.nii.gz | listed twice (also case a)",
            "training[4] |  | training[4] names no image",
        ])
        #expect(msd.dataset_findings == ["num_training_mismatch: dataset.json says numTraining 4, 5 cases were found (4 of them failed)"])
    }

    @Test("ReferencedSeriesSequence is read in every VR encoding, hashed, and bounded")
    func referencedSeries() {
        let key = SHA256.hex(Array(LayoutCorpus.ctSeriesUID.utf8), bytes: 16)
        for syntax in [DICOMSyntax.implicitLittle, .explicitLittle, .explicitBig, .deflatedExplicitLittle] {
            let r = FileReader().read(bytes: LayoutCorpus.segmentation(seriesUID: LayoutCorpus.segSeriesUIDs[0], referenced: LayoutCorpus.ctSeriesUID,
                                                                       syntax: syntax), path: "seg.dcm")
            #expect(r.referencedSeriesKeys == [key] && r.seriesKey == SHA256.hex(Array(LayoutCorpus.segSeriesUIDs[0].utf8), bytes: 16),
                    "\(syntax): \(r.error ?? "")")
        }
        // A SEG naming many series keeps the first 64.
        let many = FileReader().read(bytes: LayoutCorpus.segmentation(seriesUID: LayoutCorpus.segSeriesUIDs[0], referenced: LayoutCorpus.ctSeriesUID,
                                                                      references: 100), path: "seg.dcm")
        #expect(many.referencedSeriesKeys?.count == 64)
    }

    @Test("CLI: --layout and --datalist print the layout, failed cases and the numTraining finding; bad flags exit 2")
    func cli() throws {
        let root = LayoutTests.root
        let out = root + "/cli-fp.json"
        let kits = try ScannerTests.run(["fingerprint", root + "/kits", "--layout", "kits", "--output", out])
        #expect(kits.status == 0)
        #expect(kits.stderr.contains("layout: kits (given)") && kits.stderr.contains("case failed: case_00002 (case_00002): no imaging.nii.gz in the case folder"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any]
        #expect(json?["layout"] as? String == "kits")
        #expect((json?["cases_failed"] as? [[String: String]])?.first == ["case_id": "case_00002", "path": "case_00002", "reason": "no imaging.nii.gz in the case folder"])
        let msd = try ScannerTests.run(["fingerprint", root + "/msd", "--output", out])
        #expect(msd.status == 0 && msd.stderr.contains("layout: msd (detected)"))
        #expect(msd.stderr.contains("finding: num_training_mismatch: dataset.json says numTraining 6, 5 cases were found"))
        let list = try ScannerTests.run(["fingerprint", "--datalist", root + "/datalist/lists/from-root.json", "--root", root + "/datalist"])
        #expect(list.status == 0 && list.stderr == "layout: datalist (given)\n", "\(list.stderr)")
        let fp = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any]
        #expect(fp?["layout"] as? String == "datalist" && fp?["cases"] as? Int == 2)
        #expect(try ScannerTests.run(["fingerprint", root + "/kits", "--layout", "kaggle"]).status == 2)
        #expect(try ScannerTests.run(["fingerprint", root + "/kits", "--datalist", root + "/datalist/datalist.json"]).status == 2)
        #expect(try ScannerTests.run(["fingerprint", root + "/kits", "--layout", "datalist"]).status == 2)
        let profile = try ScannerTests.run(["profile", root + "/kits", "--layout", "plain"])
        let p = try JSONSerialization.jsonObject(with: Data(profile.stdout.utf8)) as? [String: Any]
        #expect((p?["fingerprint"] as? [String: Any])?["layout"] as? String == "plain")
    }
}
