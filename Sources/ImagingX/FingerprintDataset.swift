#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What to fingerprint: a dataset folder, saved per-case summaries (`--save-cases` files from
/// partial runs), or both. Cases must be unique by id across all of them.
public struct FingerprintRequest: Sendable {
    public var folder: String?
    /// Per-case summary files, read in order before the folder.
    public var caseFiles: [String]
    /// Label suffixes for the plain layout.
    public var labelSuffixes: [String]
    public var jobs: Int
    /// The folder's layout; nil detects it (`CaseFinder.detect`).
    public var layout: DatasetLayout?
    /// A MONAI datalist: its cases' paths are relative to `folder`, else to the datalist's folder.
    public var datalist: String?
    /// Only the cases of the folders this shard owns (`writeShard` then writes their summaries).
    public var shard: Shard?

    public init(folder: String? = nil, caseFiles: [String] = [], labelSuffixes: [String] = CaseFinder.defaultLabelSuffixes,
                jobs: Int = Defaults.jobs, layout: DatasetLayout? = nil, datalist: String? = nil) {
        self.folder = folder
        self.caseFiles = caseFiles
        self.labelSuffixes = labelSuffixes
        self.jobs = jobs
        self.layout = layout
        self.datalist = datalist
    }

    /// The folder the cases are read from: `folder`, or the datalist's own folder.
    public var root: String? {
        if let folder { return folder }
        guard let datalist else { return nil }
        let parent = datalist.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return datalist.contains("/") ? (parent.isEmpty ? "/" : parent) : "."
    }
}

public struct FingerprintResult: Sendable {
    /// The dataset's description: the folder's, else the first case file's with a name.
    public var info: CaseFinder.DatasetInfo
    /// The cases in the order read (case files, then the folder); the fingerprint is reduced from these.
    public var cases: [CaseSummary]
    public var fingerprint: DatasetFingerprint

    /// The per-case summaries by id: what `--save-cases` writes and `caseFiles` reads back.
    public var caseSet: Fingerprinter.CaseSet { Fingerprinter.CaseSet(info: info, cases: cases.sorted { $0.id < $1.id }) }

    /// nnU-Net v2's dataset_fingerprint.json.
    public func nnUNetFingerprint() -> [UInt8] { Fingerprinter.nnUNet(cases, fingerprint) }
}

public enum FingerprintError: Error, CustomStringConvertible {
    /// Neither a folder nor case files.
    case noInput
    case unreadableCaseFile(path: String)
    case undecodableCaseFile(path: String, underlying: any Error)
    /// A case id in two case files (`caseFile` is the second).
    case duplicateCase(id: String, caseFile: String)
    /// A case id of the folder already read from a case file.
    case folderCaseInCaseFile(id: String, folder: String)

    public var description: String {
        switch self {
        case .noInput: "give a dataset FOLDER or --merge FILE..."
        case .unreadableCaseFile(let path): "cannot read \(path)"
        case .undecodableCaseFile(let path, let underlying): "\(path) is not a case-summary file: \(underlying)"
        case .duplicateCase(let id, _): "case \(id) appears in more than one --merge file"
        case .folderCaseInCaseFile(let id, let folder): "case \(id) of \(folder) is also in a --merge file"
        }
    }
}

/// Fingerprints a dataset: summarises its cases (or reads saved summaries) and reduces them.
public enum FingerprintDataset {
    public static func run(_ request: FingerprintRequest) throws(FingerprintError) -> FingerprintResult {
        guard request.root != nil || !request.caseFiles.isEmpty else { throw .noInput }
        var cases: [CaseSummary] = []
        var known = Set<String>()
        var info = CaseFinder.DatasetInfo()
        // A case counted twice would skew every statistic (and the reducers key cases by id).
        func add(_ part: [CaseSummary], from path: String, folder: Bool) throws(FingerprintError) {
            if let dup = part.first(where: { known.contains($0.id) }) {
                throw folder ? .folderCaseInCaseFile(id: dup.id, folder: path) : .duplicateCase(id: dup.id, caseFile: path)
            }
            known.formUnion(part.map(\.id))
            cases += part
        }
        for file in request.caseFiles {
            guard let bytes = FileBytes.read(file) else { throw .unreadableCaseFile(path: file) }
            let set: Fingerprinter.CaseSet
            do { set = try Fingerprinter.decodeCases(bytes) } catch { throw .undecodableCaseFile(path: file, underlying: error) }
            if info.layout == .plain && info.name == nil { info = set.info }
            try add(set.cases, from: file, folder: false)
        }
        if let folder = request.root {
            let (found, summaries) = Fingerprinter.summarizeFolder(folder, jobs: request.jobs, labelSuffixes: request.labelSuffixes,
                                                                   layout: request.layout, datalist: request.datalist,
                                                                   shard: request.shard)
            info = found
            try add(summaries, from: folder, folder: true)
        }
        return FingerprintResult(info: info, cases: cases, fingerprint: Fingerprinter.reduce(cases, info: info))
    }

    /// The options that change a fingerprint (a merge checks its parts agree on them).
    static func options(_ request: FingerprintRequest) -> [String: String] {
        ["layout": request.layout?.rawValue ?? "auto", "label_suffixes": request.labelSuffixes.joined(separator: ","),
         "datalist": request.datalist ?? ""]
    }

    /// A shard's part: the summaries of its cases (a `--save-cases` file) and the manifest beside it.
    public static func writeShard(_ result: FingerprintResult, request: FingerprintRequest, to path: String) throws(MergeError) {
        guard let shard = request.shard else { return }
        guard let bytes = try? Fingerprinter.encode(result.caseSet) else { throw .cannotWrite(path, "cannot encode the cases") }
        guard let sink = try? FileSink(path: path) else { throw .cannotWrite(path, String(cString: strerror(errno))) }
        sink.write(bytes)
        sink.close()
        let manifest = ShardManifest(command: "fingerprint", roots: [request.datalist ?? request.root ?? ""], options: options(request),
                                     shard: shard.index, shards: shard.count, records: result.cases.count, bytes: bytes.count)
        try manifest.write(beside: path)
    }
}
