import FoundationEssentials
import ImagingXIndex

// Compatibility and plans from the index: fingerprints and case summaries as stored, no pixel
// read again (what `compat` and `plan` compute from folders, for the service).

public enum IndexAnalysisError: Error, Sendable, CustomStringConvertible {
    case index(IndexError)
    case unknownDataset(Int64)
    case notFingerprinted(String)
    case tooFewDatasets(Int)
    case duplicate(Int64)
    case plan(String)

    public var description: String {
        switch self {
        case .index(let e): e.description
        case .unknownDataset(let id): "no dataset \(id)"
        case .notFingerprinted(let name): "dataset \(name) has no fingerprint yet (index it first)"
        case .tooFewDatasets(let n): "give at least two datasets (got \(n))"
        case .duplicate(let id): "dataset \(id) is given twice"
        case .plan(let m): m
        }
    }
}

/// Indexed datasets with their stored fingerprints, named uniquely (the name, or root/folder when names clash).
public struct IndexedSelection: Sendable {
    public var datasets: [IndexedDataset]
    public var names: [String]
    public var fingerprints: [DatasetFingerprint]

    public static func load(_ ids: [Int64], store: any ServiceIndexStore) throws(IndexAnalysisError) -> IndexedSelection {
        var seen = Set<Int64>()
        var datasets: [IndexedDataset] = []
        var fingerprints: [DatasetFingerprint] = []
        for id in ids {
            guard seen.insert(id).inserted else { throw .duplicate(id) }
            let d: IndexedDataset?
            do { d = try store.dataset(id: id) } catch { throw .index(error) }
            guard let d else { throw .unknownDataset(id) }
            let bytes: [UInt8]?
            do { bytes = try store.fingerprintJSON(dataset: id) } catch { throw .index(error) }
            guard let bytes, let fp = try? Fingerprinter.decodeFingerprint(bytes) else { throw .notFingerprinted(d.name) }
            datasets.append(d)
            fingerprints.append(fp)
        }
        let clash = Dictionary(grouping: datasets, by: \.name).filter { $0.value.count > 1 }.keys
        let names = datasets.map { clash.contains($0.name) ? $0.root + "/" + $0.folder : $0.name }
        return IndexedSelection(datasets: datasets, names: names, fingerprints: fingerprints)
    }
}

extension Application {
    /// Pairwise compatibility and fusion groups of indexed datasets.
    public static func compat(indexed ids: [Int64], store: any ServiceIndexStore, weights: CompatWeights = CompatWeights(),
                              threshold: Double = 0.6, catalog: Catalog? = nil) throws(IndexAnalysisError) -> (IndexedSelection, CompatReport) {
        guard ids.count >= 2 else { throw .tooFewDatasets(ids.count) }
        let selection = try IndexedSelection.load(ids, store: store)
        let contexts = zip(selection.names, selection.fingerprints).enumerated().map { i, pair in
            DatasetContext(name: pair.0, fingerprint: pair.1,
                           catalog: selection.datasets[i].catalogID.flatMap { id in catalog?.entries.first { $0.name == id } })
        }
        var pairs: [Compatibility] = []
        for i in 0..<contexts.count {
            for j in (i + 1)..<contexts.count { pairs.append(Compat.score(contexts[i], contexts[j], weights: weights)) }
        }
        let report = CompatReport(datasets: selection.names, pairs: pairs,
                                  groups: Compat.groups(contexts, pairs, threshold: threshold, groupUnknownModality: false),
                                  threshold: threshold)
        return (selection, report)
    }

    /// A resampling/normalisation plan of indexed datasets from their stored case summaries;
    /// `exportDirectory` receives the nnU-Net, MONAI, MDFP and CSV files when given.
    public static func plan(indexed ids: [Int64], store: any ServiceIndexStore, target: [Double]? = nil,
                            exportDirectory: String? = nil) throws(IndexAnalysisError) -> (IndexedSelection, PlanResult) {
        guard !ids.isEmpty else { throw .tooFewDatasets(0) }
        let selection = try IndexedSelection.load(ids, store: store)
        var inputs: [Planner.Input] = []
        var refs: [Exporter.DatasetRef] = []
        for (i, d) in selection.datasets.enumerated() {
            let folder = d.folder.isEmpty ? d.root : d.root + "/" + d.folder
            let cases: [CaseSummary]
            do { cases = try store.caseSummaries(dataset: d.id).values.sorted { $0.id < $1.id } } catch { throw .index(error) }
            // The dataset's description (labels, channel names) from its own dataset.json, as fingerprint reads it.
            let info = CaseFinder.readDatasetJSON(folder + "/dataset.json") ?? CaseFinder.DatasetInfo()
            let fp = selection.fingerprints[i]
            let modality = Compat.dominantModality(DatasetContext(name: selection.names[i], fingerprint: fp))
            inputs.append(Planner.Input(name: selection.names[i], info: info, cases: cases, modality: modality))
            refs.append(Exporter.DatasetRef(name: selection.names[i], root: folder, fingerprint: fp, catalog: nil, modality: modality))
        }
        let readable = inputs.map { input in (input.name, input.cases.filter { $0.error == nil }.map(\.dims.count)) }
        let twoD = readable.filter { !$0.1.isEmpty && $0.1.allSatisfy { $0 < 3 } }.map(\.0)
        let threeD = readable.filter { $0.1.contains { $0 >= 3 } }.map(\.0)
        if !twoD.isEmpty, !threeD.isEmpty {
            throw .plan(PlanError.mixedDimensionality(twoD: twoD, threeD: threeD).description)
        }
        if let target, !PlanRequest.Target.valid(target) { throw .plan("the target spacing must be three numbers from 0.001 to 1000 mm") }
        let plan = Planner.plan(inputs, target: target)
        var exported: [String] = []
        if let dir = exportDirectory {
            do { exported = try Exporter.write(plan, datasets: refs, to: dir) } catch { throw .plan("cannot write the exports: \(error)") }
        }
        return (selection, PlanResult(plan: plan, datasets: refs, exported: exported))
    }
}
