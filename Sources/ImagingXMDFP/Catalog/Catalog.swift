import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
import ImagingXDatasets
import FoundationEssentials

/// One dataset in the catalog: the survey's raw values kept beside their normalised terms.
public struct CatalogEntry: Sendable, Codable, Equatable {
    public var name: String
    public var url: String?
    public var year: Int?
    /// Survey sections the dataset appears in (duplicate rows merged).
    public var sections: [String] = []
    public var modality: [Modality] = []
    public var modality_raw: String?
    public var anatomy: [String] = []
    public var anatomy_raw: String?
    public var task: [String] = []
    public var task_raw: String?
    public var dim: [String] = []
    public var dim_raw: String?
    public var samples: Int?
    public var samples_lower_bound = false
    public var samples_unit: String?
    public var samples_raw: String?
    public var labelled: Bool?
    public var diseases: String?
    /// open, registration, application or unknown.
    public var access = "unknown"
    public var download: String?
    public var licence: String?
    /// "survey" (imported) or "starter" (built in, checked by the team).
    public var source = "survey"

    public init(name: String) { self.name = name }
}

/// A normalisation problem, counted, with a few examples.
public struct CatalogFinding: Sendable, Codable, Equatable {
    public var code: String
    public var message: String
    public var count: Int
    public var examples: [String]
}

public struct Catalog: Sendable, Codable {
    public var entries: [CatalogEntry]
    public var rows_read = 0
    public var duplicates_merged = 0
    public var findings: [CatalogFinding] = []
    public var source: String

    public init(entries: [CatalogEntry], source: String) {
        self.entries = entries
        self.source = source
    }

    /// The survey table's row.
    package struct SurveyRow: Decodable {
        var section: String?
        var name: String?
        var url: String?
        var year: String?
        var dim: String?
        var modality: String?
        var structure: String?
        var samples: String?
        var label: Bool?
        var task: String?
        var diseases: String?
        var access: String?
        var download_method: String?
    }

    /// Reads and normalises the survey's table (a JSON array of rows).
    public static func importSurvey(_ bytes: [UInt8], source: String) throws -> Catalog {
        let rows = try JSONDecoder().decode([SurveyRow].self, from: Data(bytes))
        var findings: [String: (message: String, count: Int, examples: [String])] = [:]
        func note(_ code: String, _ message: String, _ example: String) {
            var f = findings[code] ?? (message, 0, [])
            f.count += 1
            if f.examples.count < 5, !f.examples.contains(example) { f.examples.append(example) }
            findings[code] = f
        }
        var byKey: [String: Int] = [:]
        var entries: [CatalogEntry] = []
        var merged = 0
        for row in rows {
            let name = Vocabulary.trim(row.name ?? "", " \u{200D}")
            guard !name.isEmpty else { note("name_missing", "row without a dataset name (dropped)", row.url ?? "?"); continue }
            var e = CatalogEntry(name: name)
            e.url = row.url.map { Vocabulary.trim($0, " ") }
            if let y = row.year.flatMap({ Int(Vocabulary.clean($0)) }), (1950...2100).contains(y) { e.year = y }
            else { note("year_missing", "year missing or not a year", "\(name): \(row.year ?? "nil")") }
            if let s = row.section { e.sections = [Vocabulary.trim(s, " \u{200D}")] }

            e.modality_raw = row.modality
            let m = Vocabulary.modality(row.modality ?? "")
            e.modality = m.terms.sorted()
            for u in m.unknown { note("modality_unrecognised", "modality text not in the vocabulary", "\(name): \(u)") }
            if m.terms.isEmpty && m.unknown.isEmpty { note("modality_missing", "no modality given", name) }
            if m.terms.contains(.multi) { note("modality_multi", "'Multi' hides which modalities the dataset holds", name) }
            if Vocabulary.clean(row.modality ?? "").hasPrefix("octa") {
                note("modality_octa", "'OCTA (CT)' is OCT angiography, read as OCT (not CT)", name)
            }

            e.anatomy_raw = row.structure
            let a = Vocabulary.anatomy(row.structure ?? "")
            e.anatomy = a.terms.sorted()
            if a.terms.isEmpty && a.unknown.isEmpty {
                let pieces = Vocabulary.pieces(row.structure ?? "", separators: ["/", ",", ";"]).filter { !Vocabulary.missing.contains($0) }
                if pieces.isEmpty {
                    note("anatomy_missing", "no structure given (NA)", name)
                } else {
                    note("structure_not_anatomy", "the structure field names no body part (instrument, phantom, surface, ...)", "\(name): \(row.structure ?? "")")
                }
            }
            for u in a.unknown {
                if Vocabulary.modalityTerms[u] != nil {
                    note("structure_is_modality", "the structure field names a modality", "\(name): \(u)")
                } else {
                    note("anatomy_unrecognised", "structure text not in the anatomy hierarchy", "\(name): \(u)")
                }
            }

            e.task_raw = row.task
            let t = Vocabulary.task(row.task ?? "")
            e.task = t.terms.sorted()
            for u in t.unknown { note("task_unrecognised", "task text not in the vocabulary", "\(name): \(u)") }
            if t.terms.isEmpty && t.unknown.isEmpty { note("task_missing", "no task given (NA)", name) }
            if t.terms.contains("reg") {
                note("task_reg_ambiguous", "'Reg' is registration or regression in the survey; read as registration", name)
            }

            e.dim_raw = row.dim
            let d = Vocabulary.dim(row.dim ?? "")
            e.dim = d.terms.sorted()
            for u in d.unknown { note("dim_unrecognised", "dim text not 2D/3D/4D/video/text", "\(name): \(u)") }

            e.samples_raw = row.samples
            let s = Vocabulary.samples(row.samples ?? "")
            e.samples = s.count
            e.samples_lower_bound = s.lowerBound
            e.samples_unit = Vocabulary.unit(d.terms)
            if s.count == nil { note("samples_unparsed", "sample count missing, zero or not a number", "\(name): \(row.samples ?? "nil")") }
            if s.lowerBound { note("samples_lower_bound", "sample count is a lower bound ('200+')", "\(name): \(row.samples ?? "")") }

            e.labelled = row.label
            let disease = row.diseases.map { Vocabulary.trim($0, " ") }
            if let disease, !Vocabulary.missing.contains(Vocabulary.clean(disease)) {
                e.diseases = disease
                let cleaned = Vocabulary.clean(disease)
                if Vocabulary.anatomyParent[cleaned] != nil || Vocabulary.anatomySynonyms[cleaned] != nil {
                    note("disease_is_anatomy", "the disease field names an organ or region", "\(name): \(disease)")
                } else if Vocabulary.modalityTerms[cleaned] != nil {
                    note("disease_is_modality", "the disease field names a modality", "\(name): \(disease)")
                }
            }
            let access = Vocabulary.clean(row.access ?? "unknown")
            e.access = ["open", "registration", "application"].contains(access) ? access : "unknown"
            e.download = row.download_method

            // Duplicates: the same name and URL under several sections.
            let key = Vocabulary.clean(name) + "|" + normalisedURL(e.url)
            if let i = byKey[key] {
                merged += 1
                var x = entries[i]
                x.sections = Array(Set(x.sections + e.sections)).sorted()
                if Set(x.modality) != Set(e.modality) || Set(x.task) != Set(e.task) {
                    note("duplicate_disagrees", "a repeated dataset's rows disagree (terms united)", name)
                }
                x.modality = Array(Set(x.modality + e.modality)).sorted()
                x.anatomy = Array(Set(x.anatomy + e.anatomy)).sorted()
                x.task = Array(Set(x.task + e.task)).sorted()
                x.dim = Array(Set(x.dim + e.dim)).sorted()
                if x.samples == nil { x.samples = e.samples }
                entries[i] = x
            } else {
                byKey[key] = entries.count
                entries.append(e)
            }
        }
        var c = Catalog(entries: entries, source: source)
        c.rows_read = rows.count
        c.duplicates_merged = merged
        c.findings = findings.keys.sorted().map { k in
            let f = findings[k]!
            return CatalogFinding(code: k, message: f.message, count: f.count, examples: f.examples)
        }
        return c
    }

    static func normalisedURL(_ url: String?) -> String {
        var u = Vocabulary.clean(url ?? "")
        for p in ["https://", "http://", "www."] where u.hasPrefix(p) { u = String(u.dropFirst(p.count)) }
        while u.hasSuffix("/") { u.removeLast() }
        return u
    }

    public func encoded() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try e.encode(self)) + [0x0A]
    }

    public static func decode(_ bytes: [UInt8]) throws -> Catalog {
        try JSONDecoder().decode(Catalog.self, from: Data(bytes))
    }
}
