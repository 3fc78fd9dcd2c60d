import ImagingXDatasets

/// The survey's MDFP blueprint: JSON rules in four phases (which task types; a licence/access
/// allow-list and labelled only; a minimum number of images per dataset, an anatomy allow-list
/// and a release-date range; whether 3D sources may serve as 2D slices) applied to the catalog.
/// The result is one candidate group per task type with its datasets and image totals.
public struct BlueprintRules: Codable, Sendable, Equatable {
    /// Task types (the vocabulary's terms or their spellings: "segmentation", "seg", "cls", …); nil or empty: all.
    public var task_types: [String]?
    /// Access allow-list ("open", "registration", "restricted", …); nil or empty: all.
    public var access: [String]?
    public var labelled_only: Bool?
    public var min_images: Int?
    /// Anatomy allow-list: a dataset matches when one of its structures is a listed one or lies
    /// below it ("abdomen" admits "liver"); nil or empty: all.
    public var anatomy: [String]?
    public var released_from: Int?
    public var released_to: Int?
    /// With `dim` "2D": 3D datasets qualify too (their slices serve as 2D images).
    public var allow_3d_as_2d: Bool?
    /// "2D" or "3D"; nil: both.
    public var dim: String?

    public init() {}

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The rules with every term in the vocabulary's form; an unknown term is an error naming the known ones.
    public func normalised() throws(Invalid) -> BlueprintRules {
        var r = self
        if let tasks = task_types, !tasks.isEmpty {
            var out: [String] = []
            for t in tasks {
                let (terms, unknown) = Vocabulary.task(t)
                guard unknown.isEmpty, !terms.isEmpty else {
                    throw Invalid(description: "unknown task type '\(t)'; known: " + Vocabulary.tasks.joined(separator: ", "))
                }
                out += terms.sorted()
            }
            r.task_types = Array(Set(out)).sorted()
        } else {
            r.task_types = nil
        }
        if let anatomy, !anatomy.isEmpty {
            var out: [String] = []
            for a in anatomy {
                let (terms, unknown) = Vocabulary.anatomy(a)
                guard unknown.isEmpty, !terms.isEmpty else { throw Invalid(description: "unknown anatomy '\(a)'") }
                out += terms
            }
            r.anatomy = Array(Set(out)).sorted()
        } else {
            r.anatomy = nil
        }
        if let access, !access.isEmpty { r.access = access.map { $0.lowercased() } } else { r.access = nil }
        if let dim {
            guard ["2D", "3D"].contains(dim.uppercased()) else { throw Invalid(description: "dim must be 2D or 3D, not '\(dim)'") }
            r.dim = dim.uppercased()
        }
        if let m = min_images, m < 0 { throw Invalid(description: "min_images must not be negative") }
        return r
    }
}

public struct BlueprintResult: Sendable, Encodable {
    public struct Group: Sendable, Encodable {
        public var task: String
        public var datasets: [CatalogEntry]
        /// Sum of the datasets' sample counts (lower bounds count as given).
        public var images: Int
    }
    public var rules: BlueprintRules
    public var groups: [Group]
    public var total_images: Int
    /// Distinct datasets in any group.
    public var total_datasets: Int
    /// Datasets left out, by the first rule they fail.
    public var excluded: [String: Int]
}

public enum Blueprint {
    public static func apply(_ rules: BlueprintRules, to catalog: Catalog) throws(BlueprintRules.Invalid) -> BlueprintResult {
        let r = try rules.normalised()
        var groups: [String: [CatalogEntry]] = [:]
        var excluded: [String: Int] = [:]
        for e in catalog.entries {
            if let reason = exclusion(e, r) {
                excluded[reason, default: 0] += 1
                continue
            }
            let tasks = r.task_types.map { Set(e.task).intersection($0) } ?? Set(e.task)
            for t in tasks { groups[t, default: []].append(e) }
        }
        let made = groups.keys.sorted().map { t in
            BlueprintResult.Group(task: t, datasets: groups[t]!, images: groups[t]!.reduce(0) { $0 + ($1.samples ?? 0) })
        }
        var seen = Set<String>()
        var total = 0
        for g in made {
            for d in g.datasets where seen.insert(d.name + "\u{0}" + (d.url ?? "")).inserted { total += d.samples ?? 0 }
        }
        return BlueprintResult(rules: r, groups: made, total_images: total, total_datasets: seen.count, excluded: excluded)
    }

    /// The first rule an entry fails, as a short reason; nil when it passes all.
    static func exclusion(_ e: CatalogEntry, _ r: BlueprintRules) -> String? {
        if let tasks = r.task_types, Set(e.task).isDisjoint(with: tasks) { return "task type not selected" }
        if let access = r.access, !access.contains(e.access.lowercased()) { return "access not allowed" }
        if r.labelled_only == true, e.labelled != true { return "not labelled" }
        if let m = r.min_images, m > 0, (e.samples ?? 0) < m { return "fewer images than the minimum" }
        if let anatomy = r.anatomy {
            let allowed = Set(anatomy)
            if !e.anatomy.contains(where: { Vocabulary.ancestors($0).contains { allowed.contains($0) } }) { return "anatomy not allowed" }
        }
        if r.released_from != nil || r.released_to != nil {
            guard let year = e.year else { return "release year unknown" }
            if let from = r.released_from, year < from { return "released too early" }
            if let to = r.released_to, year > to { return "released too late" }
        }
        if let dim = r.dim {
            let ok = e.dim.contains(dim) || (dim == "2D" && r.allow_3d_as_2d == true && e.dim.contains("3D"))
            if !ok { return "dimension not allowed" }
        }
        return nil
    }
}
