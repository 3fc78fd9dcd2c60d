/// Pairwise compatibility of two or more datasets, and the fusion groups it implies.
public struct CompatRequest: Sendable {
    /// Dataset folders (fingerprinted now) or fingerprint JSON files (paths ending in .json that can be read).
    public var datasets: [String]
    public var catalog: CatalogAttachments
    public var weights: CompatWeights
    /// Datasets join a fusion group when they score at least this with every member.
    public var groupThreshold: Double
    public var jobs: Int
    /// Let two datasets of unknown modality join a fusion group (off: unknown is not agreement).
    public var groupUnknownModality = false

    public init(datasets: [String], catalog: CatalogAttachments = CatalogAttachments(), weights: CompatWeights = CompatWeights(),
                groupThreshold: Double = 0.6, jobs: Int = Defaults.jobs) {
        self.datasets = datasets
        self.catalog = catalog
        self.weights = weights
        self.groupThreshold = groupThreshold
        self.jobs = jobs
    }
}

/// The `compat --json` document: every pair (i < j, in request order), the groups, the threshold.
public struct CompatReport: Sendable, Encodable {
    /// The datasets as requested, in order (not encoded: the pairs name them).
    public var datasets: [String]
    public var pairs: [Compatibility]
    public var groups: [FusionGroup]
    public var threshold: Double

    enum CodingKeys: String, CodingKey { case pairs, groups, threshold }

    /// The first pair scored with `a` first and `b` second (`a` comes earlier in `datasets`).
    public func pair(_ a: String, _ b: String) -> Compatibility? {
        pairs.first { $0.a == a && $0.b == b }
    }
}

public enum CompatError: Error, CustomStringConvertible {
    case tooFewDatasets(count: Int)
    /// The same dataset given twice (after trimming trailing slashes): a pair with itself.
    case duplicateDataset(name: String)
    case undecodableFingerprint(path: String, underlying: any Error)

    public var description: String {
        switch self {
        case .tooFewDatasets: "give at least two datasets"
        case .duplicateDataset(let name): "\(name) is given more than once"
        case .undecodableFingerprint(let path, let underlying): "\(path) is not a fingerprint: \(underlying)"
        }
    }
}

public enum CompareDatasets {
    public static func run(_ request: CompatRequest) throws(CompatError) -> CompatReport {
        guard request.datasets.count >= 2 else { throw .tooFewDatasets(count: request.datasets.count) }
        var seen = Set<String>()
        for d in request.datasets where !seen.insert(FileIO.trimmingSlashes(d)).inserted {
            throw .duplicateDataset(name: d)
        }
        var contexts: [DatasetContext] = []
        for d in request.datasets {
            let fp: DatasetFingerprint
            if d.hasSuffix(".json"), let bytes = FileBytes.read(d) {
                do { fp = try Fingerprinter.decodeFingerprint(bytes) } catch { throw .undecodableFingerprint(path: d, underlying: error) }
            } else {
                let (info, cases) = Fingerprinter.summarizeFolder(d, jobs: request.jobs)
                fp = Fingerprinter.reduce(cases, info: info)
            }
            contexts.append(DatasetContext(name: d, fingerprint: fp, catalog: request.catalog.entry(for: d)))
        }
        var pairs: [Compatibility] = []
        for i in 0..<contexts.count {
            for j in (i + 1)..<contexts.count { pairs.append(Compat.score(contexts[i], contexts[j], weights: request.weights)) }
        }
        return CompatReport(datasets: request.datasets, pairs: pairs,
                            groups: Compat.groups(contexts, pairs, threshold: request.groupThreshold,
                                                  groupUnknownModality: request.groupUnknownModality),
                            threshold: request.groupThreshold)
    }
}
