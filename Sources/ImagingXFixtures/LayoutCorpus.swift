import Foundation

/// One small dataset per layout, each with planted faults, for the layout tests:
///
/// - `nnunet/`: two channels per case; `case_002_0000` is an unreadable gzip; `labelsTr/case_009`
///   has no image; numTraining says 5 (4 cases are found).
/// - `nnunet-dataset/`: nnU-Net v2's `dataset` dict (no imagesTr): `a2`'s image is missing; `a3`'s
///   image is a `.nii` beside a `.nii.gz` label.
/// - `msd/`: a `training` list with `./imagesTr/` paths: `m_001` a 4-D two-channel image,
///   `m_002` missing, `m_003` a `.nii` image beside a `.nii.gz` label, `m_004` listed as `.nii.gz`
///   but stored as `.nii`, `m_005` a DICOM series folder; numTraining says 6 (5 listed).
/// - `datalist/`: a MONAI datalist (`datalist.json`, two channels per case, training and
///   validation): the validation case's second channel is missing; `lists/from-root.json` lists
///   the same training cases relative to the dataset folder (for `--root`).
/// - `kits/`: `case_00000`, `case_00001`, and `case_00002` with a segmentation but no imaging.
/// - `brats/`: a BraTS 2021 case, one without its flair channel, and a BraTS 2023 case.
/// - `plain/`: `p1/image` + `p1/mask`, `p2_img` + `p2_mask`, `p3.nii` + `p3_seg.nii.gz`,
///   `k1/imaging` + `k1/segmentation`, and `orphan_label` with no image.
/// - `tcia/`: patient/study/series folders: a 4-slice CT series and a DICOM SEG that references
///   it; a second SEG references a series that is not there.
/// - `seg/`: DICOM series cases labelled by DICOM SEG objects (`SegCorpus`); `seg-msd/`: listed
///   DICOM series folders with NIfTI labels.
public enum LayoutCorpus {
    /// The raw UIDs planted in `tcia/` (privacy tests: none may reach any output).
    public static let ctSeriesUID = "1.2.826.0.1.3680043.8.498.77.1"
    public static let absentSeriesUID = "1.2.826.0.1.3680043.8.498.77.404"
    public static let segSeriesUIDs = ["1.2.826.0.1.3680043.8.498.77.2", "1.2.826.0.1.3680043.8.498.77.3"]

    static let dims = [6, 5, 3]
    static var voxels: Int { dims.reduce(1, *) }

    /// A NIfTI-1 volume (int16, or uint8 for labels), values from `seed`; `channels` > 1 is 4-D.
    public static func nifti(seed: Int, channels: Int = 1, label: Bool = false, gzip: Bool = true) -> [UInt8] {
        var b = NIfTIBuilder(.nifti1)
        let grid = channels > 1 ? dims + [channels] : dims
        b.setGrid(dims: grid, pixdim: channels > 1 ? [1, 1, 2, 1] : [1, 1, 2], datatype: label ? 2 : 4, bitpix: label ? 8 : 16)
        b.setSform([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0]])
        var data: [UInt8] = []
        for i in 0..<(voxels * channels) {
            if label {
                data.append(UInt8((i + seed) % 3 == 0 ? 1 : 0))
            } else {
                let v = Int16(100 + (i * 7 + seed * 13) % 200)
                data += [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)]
            }
        }
        let file = b.singleFile(data: data)
        return gzip ? Compression.gzip(file) : file
    }

    static func put(_ bytes: [UInt8], _ path: String) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }

    static func put(_ text: String, _ path: String) throws { try put(Array(text.utf8), path) }

    /// A 4-slice CT series (8 × 8, 2.5 mm) in `dir`, series UID `uid`.
    public static func ctSeries(_ dir: String, uid: String) throws {
        for k in 0..<4 {
            var spec = CTSliceSpec()
            spec.columns = 8
            spec.rows = 8
            spec.pixelSpacing = (1, 1)
            spec.position = [-4, -4, Double(k) * 2.5]
            spec.seriesUID = uid
            spec.instanceNumber = k + 1
            let pixels = (0..<64).map { Int16(($0 * 11 + k * 5) % 300) }
            try put(DICOMBuilder(syntax: .explicitLittle, elements: spec.elements(pixels: pixels)).encode(),
                    dir + "/IM\(k + 1).dcm")
        }
    }

    /// A DICOM SEG (binary, 4 frames of 8 × 8) whose ReferencedSeriesSequence names `referenced`.
    public static func segmentation(seriesUID: String, referenced: String, syntax: DICOMSyntax = .explicitLittle,
                                    references: Int = 1) -> [UInt8] {
        let segClass = "1.2.840.10008.5.1.4.1.1.66.4"
        let item: [DICOMElement] = [
            DICOMElement(0x0008_114A, "SQ", .sequence([[
                .text(0x0008_1150, "UI", "1.2.840.10008.5.1.4.1.1.2"),
                .text(0x0008_1155, "UI", "1.2.826.0.1.3680043.8.498.20.1"),
            ]], undefinedLength: false)),
            .text(0x0020_000E, "UI", referenced),
        ]
        var b = DICOMBuilder(syntax: syntax, elements: [
            .text(0x0008_0016, "UI", segClass),
            .text(0x0008_0018, "UI", seriesUID + ".1"),
            .text(0x0008_0060, "CS", "SEG"),
            DICOMElement(0x0008_1115, "SQ", .sequence(Array(repeating: item, count: references), undefinedLength: true)),
            .text(0x0010_0010, "PN", "DOE^JANE^PLANTED"),
            .text(0x0020_000D, "UI", "1.2.826.0.1.3680043.8.498.30.1"),
            .text(0x0020_000E, "UI", seriesUID),
            .us(0x0028_0002, 1),
            .text(0x0028_0004, "CS", "MONOCHROME2"),
            .text(0x0028_0008, "IS", "4"),
            .us(0x0028_0010, 8),
            .us(0x0028_0011, 8),
            .us(0x0028_0100, 1),
            .us(0x0028_0101, 1),
            .us(0x0028_0102, 0),
            .us(0x0028_0103, 0),
            .text(0x0062_0001, "CS", "BINARY"),
            DICOMElement(0x7FE0_0010, "OB", .bytes((0..<32).map { UInt8(truncatingIfNeeded: $0 * 37) })),
        ])
        b.sopClassUID = segClass
        b.sopInstanceUID = seriesUID + ".1"
        return b.encode()
    }

    /// Writes every dataset under `root/NAME/`.
    public static func write(to root: String) throws {
        // nnU-Net v2, imagesTr/labelsTr.
        var d = root + "/nnunet"
        try put("""
            {"name": "LayoutNN", "channel_names": {"0": "CT", "1": "PET"}, "labels": {"background": 0, "tumour": 1},
             "numTraining": 5, "file_ending": ".nii.gz"}
            """, d + "/dataset.json")
        for c in 0..<3 {
            for ch in 0..<2 {
                let name = String(format: "case_%03d_%04d.nii.gz", c, ch)
                var bytes = nifti(seed: c * 2 + ch)
                if c == 2 && ch == 0 { bytes = Array(bytes.prefix(40)) + [UInt8](repeating: 0x5A, count: 40) }
                try put(bytes, d + "/imagesTr/" + name)
            }
            try put(nifti(seed: c, label: true), d + String(format: "/labelsTr/case_%03d.nii.gz", c))
        }
        try put(nifti(seed: 9, label: true), d + "/labelsTr/case_009.nii.gz")

        // nnU-Net v2, the `dataset` dict.
        d = root + "/nnunet-dataset"
        try put("""
            {"name": "LayoutNNDict", "channel_names": {"0": "MRI"}, "labels": {"background": 0, "lesion": 1},
             "numTraining": 3, "file_ending": ".nii.gz",
             "dataset": {"a1": {"images": ["scans/a1_ch0.nii.gz"], "label": "masks/a1.nii.gz"},
                         "a2": {"images": ["scans/a2_ch0.nii.gz"], "label": "masks/a2.nii.gz"},
                         "a3": {"images": ["scans/a3_ch0.nii"], "label": "masks/a3.nii.gz"}}}
            """, d + "/dataset.json")
        try put(nifti(seed: 1), d + "/scans/a1_ch0.nii.gz")
        try put(nifti(seed: 3, gzip: false), d + "/scans/a3_ch0.nii")
        for id in ["a1", "a2", "a3"] { try put(nifti(seed: 1, label: true), d + "/masks/\(id).nii.gz") }

        // MSD.
        d = root + "/msd"
        try put("""
            {"name": "LayoutMSD", "modality": {"0": "FLAIR", "1": "T1w"}, "labels": {"0": "background", "1": "edema"},
             "numTraining": 6, "numTest": 0, "tensorImageSize": "4D",
             "training": [{"image": "./imagesTr/m_001.nii.gz", "label": "./labelsTr/m_001.nii.gz"},
                          {"image": "./imagesTr/m_002.nii.gz", "label": "./labelsTr/m_002.nii.gz"},
                          {"image": "./imagesTr/m_003.nii", "label": "./labelsTr/m_003.nii.gz"},
                          {"image": "./imagesTr/m_004.nii.gz", "label": "./labelsTr/m_004.nii.gz"},
                          {"image": "./series/m_005"}],
             "test": []}
            """, d + "/dataset.json")
        try put(nifti(seed: 1, channels: 2), d + "/imagesTr/m_001.nii.gz")
        try put(nifti(seed: 3, gzip: false), d + "/imagesTr/m_003.nii")
        try put(nifti(seed: 4, gzip: false), d + "/imagesTr/m_004.nii")
        for id in ["m_001", "m_002", "m_003", "m_004"] { try put(nifti(seed: 2, label: true), d + "/labelsTr/\(id).nii.gz") }
        try ctSeries(d + "/series/m_005", uid: "1.2.826.0.1.3680043.8.498.77.50")

        // MONAI datalist.
        d = root + "/datalist"
        try put("""
            {"name": "LayoutDatalist",
             "training": [{"image": ["img/d1_t1.nii.gz", "img/d1_t2.nii.gz"], "label": "seg/d1.nii.gz"},
                          {"image": ["img/d2_t1.nii.gz", "img/d2_t2.nii.gz"], "label": "seg/d2.nii.gz"}],
             "validation": [{"image": ["img/d3_t1.nii.gz", "img/d3_t2.nii.gz"], "label": "seg/d3.nii.gz"}]}
            """, d + "/datalist.json")
        try put("""
            {"training": [{"image": ["img/d1_t1.nii.gz", "img/d1_t2.nii.gz"], "label": "seg/d1.nii.gz"},
                          {"image": ["img/d2_t1.nii.gz", "img/d2_t2.nii.gz"], "label": "seg/d2.nii.gz"}]}
            """, d + "/lists/from-root.json")
        for (i, id) in ["d1", "d2", "d3"].enumerated() {
            try put(nifti(seed: i), d + "/img/\(id)_t1.nii.gz")
            if id != "d3" { try put(nifti(seed: i + 5), d + "/img/\(id)_t2.nii.gz") }
            try put(nifti(seed: i, label: true), d + "/seg/\(id).nii.gz")
        }

        // KiTS.
        d = root + "/kits"
        try put("[]", d + "/kits.json")
        for c in 0..<3 {
            let folder = d + String(format: "/case_%05d", c)
            if c < 2 { try put(nifti(seed: c), folder + "/imaging.nii.gz") }
            try put(nifti(seed: c, label: true), folder + "/segmentation.nii.gz")
        }

        // BraTS (2021 names, a case without flair, 2023 names).
        d = root + "/brats"
        for (folder, names) in [("BraTS2021_00000", ["_t1", "_t1ce", "_t2", "_flair"]), ("BraTS2021_00001", ["_t1", "_t1ce", "_t2"]),
                                ("BraTS-GLI-00002-000", ["-t1n", "-t1c", "-t2w", "-t2f"])] {
            for (i, suffix) in names.enumerated() { try put(nifti(seed: i), "\(d)/\(folder)/\(folder)\(suffix).nii.gz") }
            try put(nifti(seed: 0, label: true), "\(d)/\(folder)/\(folder)\(folder.hasPrefix("BraTS-") ? "-seg" : "_seg").nii.gz")
        }

        // Plain: labels paired by name.
        d = root + "/plain"
        try put(nifti(seed: 1), d + "/p1/image.nii.gz")
        try put(nifti(seed: 1, label: true), d + "/p1/mask.nii.gz")
        try put(nifti(seed: 2), d + "/p2_img.nii.gz")
        try put(nifti(seed: 2, label: true), d + "/p2_mask.nii.gz")
        try put(nifti(seed: 3, gzip: false), d + "/p3.nii")
        try put(nifti(seed: 3, label: true), d + "/p3_seg.nii.gz")
        try put(nifti(seed: 4), d + "/k1/imaging.nii.gz")
        try put(nifti(seed: 4, label: true), d + "/k1/segmentation.nii.gz")
        try put(nifti(seed: 5, label: true), d + "/orphan_label.nii.gz")

        // TCIA-style DICOM tree with DICOM SEG objects.
        d = root + "/tcia"
        try ctSeries(d + "/PAT1/STUDY1/CT", uid: ctSeriesUID)
        try put(segmentation(seriesUID: segSeriesUIDs[0], referenced: ctSeriesUID), d + "/PAT1/STUDY1/SEG/1-1.dcm")
        try put(segmentation(seriesUID: segSeriesUIDs[1], referenced: absentSeriesUID), d + "/PAT2/STUDY1/SEG/1-1.dcm")

        // DICOM series cases labelled by DICOM SEG objects.
        try SegCorpus.write(to: root + "/seg")
        try SegCorpus.writeListed(to: root + "/seg-msd")
    }
}
