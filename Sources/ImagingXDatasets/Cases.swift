import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
import FoundationEssentials

/// One training case: its image channels and, if any, its label map.
public struct CaseFiles: Sendable, Codable, Equatable {
    /// Why a listed case cannot be summarised (a listed file is missing, a folder holds no series…):
    /// it goes to the fingerprint's `cases_failed` with this path and reason.
    public struct Failure: Sendable, Codable, Equatable {
        public var path: String
        public var reason: String
        public init(path: String, reason: String) { self.path = path; self.reason = reason }
    }

    public var id: String
    /// Image channels, relative to the dataset root (or absolute). A folder (with `series`) is a
    /// DICOM series whose volume is the case's image.
    public var images: [String]
    public var label: String?
    /// The image is a folder of DICOM files (a listed series folder).
    public var series: Bool?
    public var failure: Failure?
    /// Findings about how the case was found (e.g. a listed `.nii.gz` found as `.nii`).
    public var notes: [String]?

    public init(id: String, images: [String], label: String?, series: Bool? = nil, failure: Failure? = nil, notes: [String]? = nil) {
        self.id = id
        self.images = images
        self.label = label
        self.series = series
        self.failure = failure
        self.notes = notes
    }
}

/// How a dataset folder's cases were found (`layout` in fingerprints and saved cases). The
/// detection rule (`CaseFinder.detect`) is the one `fingerprint`, `compat`, `plan` and `profile` use.
public enum DatasetLayout: String, Codable, Sendable, CaseIterable {
    /// nnU-Net v2: `dataset.json` (`channel_names`, `labels`, `file_ending`, optionally a `dataset`
    /// dict of case id → {images, label}) beside `imagesTr/CASE_XXXX.ext` and `labelsTr/CASE.ext`.
    case nnunet
    /// Medical Segmentation Decathlon (and nnU-Net v1): `dataset.json` with a `training` list of
    /// {image, label}; an entry may name a file (4-D for several channels) or a DICOM series folder.
    case msd
    /// KiTS: one folder per case holding `imaging.nii.gz` and `segmentation.nii.gz`.
    case kits
    /// BraTS: one folder per case with `*_t1`, `*_t1ce`, `*_t2`, `*_flair` (2023: `-t1n`, `-t1c`,
    /// `-t2w`, `-t2f`) channels and a `*_seg` label.
    case brats
    /// A MONAI datalist (`--datalist FILE`): `training` / `validation` lists of {image, label}.
    case datalist
    /// Anything else: each image file is a case, labels paired by name; DICOM files become series
    /// volumes, DICOM SEG objects the labels of the series they reference.
    case plain

    public init(from decoder: Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        // "files" was the plain layout's name before the layouts were split.
        guard let value = raw == "files" ? .plain : DatasetLayout(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown layout \(raw)"))
        }
        self = value
    }
}

/// Finds the cases of a dataset folder (see `DatasetLayout` and `detect` for the layouts).
public enum CaseFinder {
    /// `.seg` is 3D Slicer's segmentation beside its volume (`MRHead.seg.nrrd`).
    public static let defaultLabelSuffixes = ["_seg", "_mask", "_label", "_labels", "_gt", "_segmentation", ".seg"]

    public struct DatasetInfo: Sendable, Codable, Equatable {
        public var name: String?
        /// label value → name (from dataset.json; both nnU-Net v2 and MSD spellings).
        public var labels: [Int: String] = [:]
        public var channelNames: [String: String] = [:]
        public var fileEnding: String?
        public var layout = DatasetLayout.plain
        /// dataset.json's `numTraining`, compared with the cases found.
        public var numTraining: Int?
        /// Findings about the dataset's description (the fingerprint's `dataset_findings`).
        public var notes: [String]?
        public init() {}
    }

    static let imageEndings = [".nii.gz", ".nii", ".hdr", ".mha", ".mhd", ".nrrd", ".nhdr", ".png", ".jpg", ".jpeg", ".dcm", ".tif"]
    /// Voxel data described by a header beside it (Analyze/NIfTI pairs, MetaImage, NRRD): never
    /// an image or a DICOM candidate of its own.
    static let dataEndings: Set<String> = [".img", ".raw", ".zraw"]

    package static func split(_ name: String) -> (stem: String, ending: String) {
        let lower = name.lowercased()
        for e in imageEndings where lower.hasSuffix(e) {
            return (String(name.dropLast(e.count)), String(name.suffix(e.count)))
        }
        if let dot = name.lastIndex(of: ".") { return (String(name[..<dot]), String(name[dot...])) }
        return (name, "")
    }

    public static func readDatasetJSON(_ path: String) -> DatasetInfo? {
        guard let object = readJSONObject(path) else { return nil }
        var info = DatasetInfo()
        info.name = object["name"] as? String
        info.fileEnding = object["file_ending"] as? String
        info.numTraining = object["numTraining"].flatMap(JSONSerializationLite.int)
        if let labels = object["labels"] as? [String: Any] {
            for (k, v) in labels {
                if let value = JSONSerializationLite.int(v) { info.labels[value] = k }  // nnU-Net v2: name → value
                else if let key = Int(k), let name = v as? String { info.labels[key] = name }  // MSD: "1" → name
            }
        }
        let channels = (object["channel_names"] ?? object["modality"]) as? [String: Any] ?? [:]
        for (k, v) in channels { if let s = v as? String { info.channelNames[k] = s } }
        return info
    }

    static func readJSONObject(_ path: String) -> [String: Any]? {
        guard let data = FileBytes.read(path) else { return nil }
        return (try? JSONSerializationLite.parse(data)) as? [String: Any]
    }

    /// The cases of `root` in `layout` (nil: detected). With `datalist`, the layout is `datalist`
    /// and `root` is its base folder. Listed cases that cannot be read carry a `failure`.
    public static func find(_ root: String, labelSuffixes: [String] = defaultLabelSuffixes,
                            layout: DatasetLayout? = nil, datalist: String? = nil) -> (DatasetInfo, [CaseFiles]) {
        let chosen = datalist != nil ? .datalist : layout ?? detect(root)
        var info = readDatasetJSON(root + "/dataset.json") ?? DatasetInfo()
        info.layout = chosen
        if readJSONObject(root + "/dataset.json") == nil, Layouts.exists(root + "/dataset.json") {
            info.notes = ["dataset_json_unreadable: dataset.json is not a readable JSON object; its name, labels, channels and numTraining are not used"]
        }
        let cases: [CaseFiles]
        switch chosen {
        case .nnunet: cases = Layouts.nnunet(root, info: info)
        case .msd:
            if let object = readJSONObject(root + "/dataset.json"), object["training"] is [Any] {
                cases = Layouts.trainingList(root, key: ["training"], object: object)
            } else {
                cases = [CaseFiles(id: "dataset.json", images: [], label: nil,
                                   failure: .init(path: "dataset.json", reason: "no dataset.json with a `training` list: the msd layout has no cases"))]
            }
        case .datalist:
            let file = datalist ?? root + "/datalist.json"
            if let object = readJSONObject(file) {
                // A datalist may be an MSD dataset.json itself: its name and numTraining count.
                if let name = object["name"] as? String { info.name = name }
                if let n = object["numTraining"].flatMap(JSONSerializationLite.int) { info.numTraining = n }
                cases = Layouts.trainingList(root, key: ["training", "validation"], object: object)
            } else {
                cases = [CaseFiles(id: split(file.split(separator: "/").last.map(String.init) ?? file).stem, images: [], label: nil,
                                   failure: .init(path: file, reason: "the datalist cannot be read as a JSON object"))]
            }
        case .kits:
            info.channelNames = info.channelNames.isEmpty ? ["0": "CT"] : info.channelNames
            cases = Layouts.kits(root)
        case .brats:
            let (found, names) = Layouts.brats(root)
            if info.channelNames.isEmpty { info.channelNames = names }
            cases = found
        case .plain: cases = Layouts.plain(root, labelSuffixes: labelSuffixes)
        }
        return (info, cases.sorted { $0.id < $1.id })
    }

    /// The layout of a folder, checked in this order (the first that fits wins):
    /// 1. `dataset.json` with a `training` list → msd;
    /// 2. `dataset.json` with a `dataset` dict, or an `imagesTr/` folder → nnunet;
    /// 3. no image file at the top, a sub-folder holding `imaging.nii.gz` (or `.nii`), and no
    ///    sub-folder holding other images than `imaging` / `segmentation` → kits;
    /// 4. no image file at the top, and a sub-folder holding three or more BraTS channels of one
    ///    naming (`*_t1`, `*_t1ce`, `*_t2`, `*_flair`, or `*-t1n`, `*-t1c`, `*-t2w`, `*-t2f`) → brats;
    /// 5. otherwise plain. (`datalist` is chosen by `--datalist`, never guessed.)
    public static func detect(_ root: String) -> DatasetLayout {
        if let object = readJSONObject(root + "/dataset.json") {
            if object["training"] is [Any] { return .msd }
            if object["dataset"] is [String: Any] { return .nnunet }
        }
        if Walker.isDirectory(root + "/imagesTr") { return .nnunet }
        // Case-folder layouts hold no images at the top; their case folders hold only their kind's files.
        let names = listFiles(root)
        if names.contains(where: { imageEndings.contains(split($0).ending.lowercased()) && !Walker.isDirectory(root + "/" + $0) }) {
            return .plain
        }
        let folders = names.filter { Walker.isDirectory(root + "/" + $0) }.map { f in
            listFiles(root + "/" + f).filter { imageEndings.contains(split($0).ending.lowercased()) && !Walker.isDirectory(root + "/" + f + "/" + $0) }
        }.filter { !$0.isEmpty }
        if folders.contains(where: { $0.contains { Layouts.kitsImaging.contains($0.lowercased()) } }),
           folders.allSatisfy({ $0.allSatisfy { Layouts.kitsImaging.contains($0.lowercased()) || Layouts.kitsSegmentation.contains($0.lowercased()) } }) {
            return .kits
        }
        // BraTS: a case folder with at least three channels of one generation (one may be missing).
        if folders.contains(where: { files in
            let channels = files.compactMap { Layouts.bratsChannel(split($0).stem) }
            return (0..<Layouts.bratsGenerations.count).contains { g in Set(channels.filter { $0.generation == g }.map(\.channel)).count >= 3 }
        }) {
            return .brats
        }
        return .plain
    }

    /// Files of a plain folder that may be DICOM (named .dcm, or with no image extension):
    /// the fingerprint assembles them into series volumes.
    public static func dicomCandidates(_ root: String) -> [String] {
        walkFiles(root, prefix: "").filter { rel in
            let ending = split(rel).ending.lowercased()
            return ending == ".dcm" || !imageEndings.contains(ending) && !rel.lowercased().hasSuffix(".json")
                && !dataEndings.contains(ending)
        }
    }

    static func listFiles(_ dir: String) -> [String] {
        Walker.listNames(dir).filter { !$0.hasPrefix(".") }.sorted()
    }

    static func walkFiles(_ root: String, prefix: String) -> [String] {
        var out: [String] = []
        for name in Walker.listNames(root + (prefix.isEmpty ? "" : "/" + prefix)) where !name.hasPrefix(".") {
            let rel = prefix.isEmpty ? name : prefix + "/" + name
            if Walker.isDirectory(root + "/" + rel) { out += walkFiles(root, prefix: rel) } else { out.append(rel) }
        }
        return out
    }
}

/// Minimal whole-file read (dataset.json, saved case summaries); nil past 1 GiB.
public enum FileBytes {
    public static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n]
            if out.count > 1 << 30 { return nil }
        }
        return out
    }
}

/// JSON objects for dataset.json through FoundationEssentials' decoder.
package enum JSONSerializationLite {
    package indirect enum Value: Decodable {
        case object([String: Value]), array([Value]), string(String), number(Double), bool(Bool), null
        package init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let d = try? c.decode(Double.self) { self = .number(d) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([Value].self) { self = .array(a) }
            else { self = .object(try c.decode([String: Value].self)) }
        }
        var any: Any {
            switch self {
            case .object(let o): return o.mapValues(\.any)
            case .array(let a): return a.map(\.any)
            case .string(let s): return s
            case .number(let d): return d
            case .bool(let b): return b
            case .null: return Optional<Int>.none as Any
            }
        }
    }

    static func parse(_ bytes: [UInt8]) throws -> Any {
        try JSONDecoder().decode(Value.self, from: Data(bytes)).any
    }

    static func int(_ v: Any) -> Int? {
        if let d = v as? Double, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        return nil
    }
}

#if canImport(Glibc)
import Glibc
#endif
