import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
import FoundationEssentials

/// One training case: its image channels and, if any, its label map.
public struct CaseFiles: Sendable, Codable, Equatable {
    public var id: String
    public var images: [String]
    public var label: String?
}

/// How a dataset folder's cases were found (`layout` in fingerprints and saved cases).
public enum DatasetLayout: String, Codable, Sendable {
    /// `dataset.json` beside `imagesTr/` and `labelsTr/` (nnU-Net v2, and MSD, which shares it).
    case nnunet
    /// Any other folder: every image file is a case, labels paired by file-name suffix.
    case files
}

/// Finds the cases of a dataset folder.
///
/// - nnU-Net v2 / MSD: `dataset.json` beside `imagesTr/` (`CASE_XXXX.ext`, one file per channel;
///   MSD keeps 4-D files and no channel suffix) and `labelsTr/` (`CASE.ext`).
/// - Otherwise every image file under the folder is a case, and a file whose stem ends in one
///   of `labelSuffixes` (`_seg`, `_mask`, `_label`, …) is the label of the image with that stem.
public enum CaseFinder {
    public static let defaultLabelSuffixes = ["_seg", "_mask", "_label", "_labels", "_gt"]

    public struct DatasetInfo: Sendable, Codable, Equatable {
        public var name: String?
        /// label value → name (from dataset.json; both nnU-Net v2 and MSD spellings).
        public var labels: [Int: String] = [:]
        public var channelNames: [String: String] = [:]
        public var fileEnding: String?
        public var layout = DatasetLayout.files
        public init() {}
    }

    static let imageEndings = [".nii.gz", ".nii", ".hdr", ".mha", ".nrrd", ".png", ".jpg", ".jpeg", ".dcm", ".tif"]

    package static func split(_ name: String) -> (stem: String, ending: String) {
        let lower = name.lowercased()
        for e in imageEndings where lower.hasSuffix(e) {
            return (String(name.dropLast(e.count)), String(name.suffix(e.count)))
        }
        if let dot = name.lastIndex(of: ".") { return (String(name[..<dot]), String(name[dot...])) }
        return (name, "")
    }

    public static func readDatasetJSON(_ path: String) -> DatasetInfo? {
        guard let data = FileBytes.read(path), let object = try? JSONSerializationLite.parse(data) as? [String: Any] else { return nil }
        var info = DatasetInfo()
        info.name = object["name"] as? String
        info.fileEnding = object["file_ending"] as? String
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

    public static func find(_ root: String, labelSuffixes: [String] = defaultLabelSuffixes) -> (DatasetInfo, [CaseFiles]) {
        var info = readDatasetJSON(root + "/dataset.json") ?? DatasetInfo()
        let images = listFiles(root + "/imagesTr")
        if !images.isEmpty {
            info.layout = .nnunet
            let labels = Set(listFiles(root + "/labelsTr"))
            var byCase: [String: [String]] = [:]
            for name in images {
                let (stem, ending) = split(name)
                // nnU-Net v2 channel suffix _XXXX; MSD files have none.
                var id = stem
                if stem.count > 5, stem.dropLast(4).hasSuffix("_"), stem.suffix(4).allSatisfy(\.isNumber) {
                    id = String(stem.dropLast(5))
                }
                byCase[id + "\u{0}" + ending, default: []].append("imagesTr/" + name)
            }
            var cases: [CaseFiles] = []
            for (key, files) in byCase {
                let parts = key.split(separator: "\u{0}", omittingEmptySubsequences: false)
                let id = String(parts[0]), ending = String(parts[1])
                let label = labels.contains(id + ending) ? "labelsTr/" + id + ending : nil
                cases.append(CaseFiles(id: id, images: files.sorted(), label: label))
            }
            return (info, cases.sorted { $0.id < $1.id })
        }
        // Generic: walk, pair by suffix.
        let all = walkFiles(root, prefix: "")
        var labelFor: [String: String] = [:]
        var imageFiles: [String] = []
        for rel in all {
            let (stem, ending) = split(rel)
            // DICOM files (named .dcm or not named at all) become cases as series volumes.
            guard imageEndings.contains(ending.lowercased()), ending.lowercased() != ".dcm" else { continue }
            if let suffix = labelSuffixes.first(where: { stem.lowercased().hasSuffix($0) }) {
                labelFor[String(stem.dropLast(suffix.count)) + ending] = rel
            } else {
                imageFiles.append(rel)
            }
        }
        let cases = imageFiles.sorted().map { rel -> CaseFiles in
            let (stem, _) = split(rel)
            return CaseFiles(id: stem, images: [rel], label: labelFor[rel])
        }
        return (info, cases)
    }

    /// Files of a plain folder that may be DICOM (named .dcm, or with no image extension):
    /// the fingerprint assembles them into series volumes.
    public static func dicomCandidates(_ root: String) -> [String] {
        walkFiles(root, prefix: "").filter { rel in
            let ending = split(rel).ending.lowercased()
            return ending == ".dcm" || !imageEndings.contains(ending) && !rel.lowercased().hasSuffix(".json")
                && !rel.lowercased().hasSuffix(".img")
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
