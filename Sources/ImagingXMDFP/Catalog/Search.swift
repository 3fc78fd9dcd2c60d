import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
import ImagingXDatasets
/// Catalog search on normalised terms: "lung" finds "Lungs", "chest" finds lung and heart
/// datasets (sub-parts), "ct" never finds OCT or OCTA. Results come in two lists: strict matches,
/// and near matches that miss exactly one constraint (named).
public struct CatalogQuery: Sendable {
    /// Every one of these modalities (`PET` and `CT` find datasets that hold both); each may
    /// itself be a list ("CT/MR": either).
    public var modalities: [String] = []
    /// One modality constraint (the first of `modalities`).
    public var modality: String? {
        get { modalities.first }
        set { modalities = newValue.map { [$0] } ?? [] }
    }
    public var anatomy: String?
    public var task: String?
    public var dim: String?
    public var disease: String?
    public var labelled: Bool?
    public var access: String?
    public var platform: String?
    public var text: String?
    /// Rank open datasets first (the survey's policy when access matters).
    public var openFirst = false

    public init() {}

    public struct Hit: Sendable {
        public var entry: CatalogEntry
        /// For near matches: the constraint the entry misses.
        public var misses: String?
        /// With free text: how well the entry matches it (name words count most, then the
        /// disease, then the raw modality, anatomy and task fields, then the survey section).
        public var relevance = 0.0
    }

    public struct InvalidTerm: Error, CustomStringConvertible {
        public var description: String
    }

    package typealias Constraint = (name: String, test: (CatalogEntry) -> Bool)

    func constraints() throws(InvalidTerm) -> [Constraint] {
        var out: [Constraint] = []
        for q in modalities {
            let terms = Vocabulary.modality(q).terms
            guard !terms.isEmpty else { throw InvalidTerm(description: "unknown modality '\(q)' (known: \(Modality.allCases.map(\.rawValue).joined(separator: ", ")))") }
            // A refinement (CR, DX, MG, XA) asks for exactly that kind of X-ray.
            let refined = terms.intersection(Modality.xrayKinds)
            // ("PET/MG" still means PET or mammography: only the generic X-ray is dropped.)
            let wanted = refined.isEmpty ? terms : terms.subtracting([.xray])
            out.append(("modality \(wanted.sortedNames(separator: "/"))", { !wanted.isDisjoint(with: $0.modality) }))
        }
        if let q = anatomy {
            let terms = Vocabulary.anatomy(q).terms
            guard !terms.isEmpty else { throw InvalidTerm(description: "unknown anatomy '\(q)'") }
            // A region finds its parts; whole-body finds whole-body datasets only (its "parts" are
            // body-wide systems such as lymph nodes or vessels, not scans of the whole body).
            out.append(("anatomy \(terms.sorted().joined(separator: "/"))", { e in
                e.anatomy.contains { a in
                    a == "whole-body" ? terms.contains(a) : !terms.subtracting(["whole-body"]).isDisjoint(with: Vocabulary.ancestors(a))
                }
            }))
        }
        if let q = task {
            let terms = Vocabulary.task(q).terms
            guard !terms.isEmpty else { throw InvalidTerm(description: "unknown task '\(q)' (known: \(Vocabulary.tasks.joined(separator: ", ")))") }
            out.append(("task \(terms.sorted().joined(separator: "/"))", { !terms.isDisjoint(with: $0.task) }))
        }
        if let q = dim {
            let terms = Vocabulary.dim(q).terms
            guard !terms.isEmpty else { throw InvalidTerm(description: "unknown dim '\(q)' (2D, 3D, 4D, video)") }
            out.append(("dim \(terms.sorted().joined(separator: "/"))", { !terms.isDisjoint(with: $0.dim) }))
        }
        if let q = disease {
            let query = TextQuery(q)
            guard !query.concepts.isEmpty else { throw InvalidTerm(description: "--disease '\(q)' holds no word to search for") }
            out.append(("disease '\(q)'", { e in
                query.score([TextQuery.Field(words: TextQuery.words(e.diseases ?? ""), weight: 1)]) != nil
            }))
        }
        if let q = labelled {
            out.append((q ? "labelled" : "unlabelled", { $0.labelled == q }))
        }
        if let q = access.map(Vocabulary.clean) {
            out.append(("access \(q)", { $0.access == q }))
        }
        if let q = platform.map(Vocabulary.clean) {
            let aliases: [String: [String]] = ["tcia": ["cancerimagingarchive"], "grand-challenge": ["grand-challenge"],
                                               "physionet": ["physionet"], "kaggle": ["kaggle"], "synapse": ["synapse"],
                                               "zenodo": ["zenodo"], "github": ["github"], "figshare": ["figshare"]]
            let needles = aliases[q] ?? [q]
            out.append(("platform \(q)", { e in
                let hay = Vocabulary.clean((e.url ?? "") + " " + (e.download ?? ""))
                return needles.contains { hay.contains($0) }
            }))
        }
        if let q = text {
            let query = TextQuery(q)
            guard !query.concepts.isEmpty else { throw InvalidTerm(description: "--text '\(q)' holds no word to search for") }
            out.append(("text '\(q)'", { Self.relevance(query, $0) != nil }))
        }
        return out
    }

    /// How well `e` matches free text, or nil when a word (or its synonyms) is missing.
    static func relevance(_ query: TextQuery, _ e: CatalogEntry) -> Double? {
        query.score([
            TextQuery.Field(words: TextQuery.words(e.name), weight: 3),
            TextQuery.Field(words: TextQuery.words(e.diseases ?? ""), weight: 2),
            TextQuery.Field(words: TextQuery.words([e.modality_raw ?? "", e.anatomy_raw ?? "", e.task_raw ?? ""].joined(separator: " ")), weight: 1),
            TextQuery.Field(words: TextQuery.words(e.sections.joined(separator: " ")), weight: 0.5),
        ])
    }

    /// Strict and near matches, each ranked.
    public func run(_ catalog: Catalog) throws(InvalidTerm) -> (strict: [Hit], near: [Hit]) {
        let cs = try constraints()
        let query = text.map(TextQuery.init)
        var strict: [Hit] = []
        var near: [Hit] = []
        for e in catalog.entries {
            let failed = cs.filter { !$0.test(e) }
            let relevance = query.flatMap { Self.relevance($0, e) } ?? 0
            if failed.isEmpty { strict.append(Hit(entry: e, relevance: relevance)) }
            else if failed.count == 1, cs.count > 1 { near.append(Hit(entry: e, misses: failed[0].name, relevance: relevance)) }
        }
        return (rank(strict), rank(near))
    }

    /// With free text, the most relevant first; then open first (when asked), labelled, larger,
    /// newer, then by name.
    func rank(_ hits: [Hit]) -> [Hit] {
        hits.sorted { a, b in
            let x = a.entry, y = b.entry
            if a.relevance != b.relevance { return a.relevance > b.relevance }
            if openFirst, (x.access == "open") != (y.access == "open") { return x.access == "open" }
            if (x.labelled == true) != (y.labelled == true) { return x.labelled == true }
            if (x.samples ?? -1) != (y.samples ?? -1) { return (x.samples ?? -1) > (y.samples ?? -1) }
            if (x.year ?? 0) != (y.year ?? 0) { return (x.year ?? 0) > (y.year ?? 0) }
            return x.name < y.name
        }
    }
}

extension Catalog {
    /// A name that does not pick one dataset.
    public enum NameError: Error, CustomStringConvertible, Equatable {
        case noMatch(query: String)
        /// Every entry the name fits (the description shows the first 8).
        case ambiguous(query: String, candidates: [String])

        public var query: String {
            switch self { case .noMatch(let q), .ambiguous(let q, _): q }
        }

        public var description: String {
            switch self {
            case .noMatch(let query):
                "no catalog dataset matches '\(query)'"
            case .ambiguous(let query, let candidates):
                "'\(query)' is ambiguous: \(candidates.prefix(8).joined(separator: ", "))\(candidates.count > 8 ? ", …" : ""); give the full name"
            }
        }
    }

    /// A dataset by name: exact (ignoring case and punctuation), else the one entry whose name
    /// contains the query; several candidates are refused, with their names, rather than guessed.
    public func resolve(_ query: String) throws(NameError) -> CatalogEntry {
        func key(_ s: String) -> String { String(Vocabulary.clean(s).filter { $0.isLetter || $0.isNumber }) }
        let q = key(query)
        let exact = entries.filter { key($0.name) == q }
        if exact.count == 1 { return exact[0] }
        let partial = exact.isEmpty ? entries.filter { key($0.name).contains(q) } : exact
        if partial.count == 1 { return partial[0] }
        if partial.isEmpty { throw .noMatch(query: query) }
        throw .ambiguous(query: query, candidates: partial.map(\.name))
    }
}
