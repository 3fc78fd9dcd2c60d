import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
import ImagingXDatasets
#if canImport(Glibc)
import Glibc
#endif

/// Pairwise compatibility of two datasets for voxel-wise fusion, from their fingerprints.
///
/// Each factor scores in [0, 1] with one sentence saying why. The score is the weighted mean of
/// the factors, multiplied by the modality gate (0 when both modalities are known and share
/// nothing: different imaging physics do not fuse voxel-wise). Weights are `CompatWeights`,
/// changed from the command line (`--weight spacing=3`).
public struct Compatibility: Sendable, Codable {
    public struct Factor: Sendable, Codable {
        public var name: CompatFactor
        public var score: Double
        public var weight: Double
        public var reason: String
    }
    public var a: String
    public var b: String
    public var score: Double
    public var gated: Bool
    public var factors: [Factor]
    /// The same scan in both datasets (equal canonical voxel hashes): [case in a, case in b].
    public var shared_cases: [[String]]
}

/// Datasets clustered for fusion: connected components of the pairs scoring at least the
/// threshold, with totals counted from the files (a case present in two datasets counted once).
public struct FusionGroup: Sendable, Codable {
    public var datasets: [String]
    public var cases: Int
    public var duplicate_cases: Int
    public var voxels: Int
    public var bytes: Int
    public var labels: [String]
    public var modalities: [Modality]
}

/// The factors of a compatibility score, in the order they are scored and reported. The raw
/// value is the factor's name in the JSON output and in `--weight FACTOR=W`.
public enum CompatFactor: String, CaseIterable, Codable, Sendable {
    case modality, dim, task, anatomy, labels, spacing, intensity, dtype, channels, orientation, licence

    /// The weight when `--weight` does not set one (the README's factor table).
    public var defaultWeight: Double {
        switch self {
        case .modality: 3
        case .dim, .labels, .spacing, .intensity: 2
        case .task, .anatomy, .channels: 1
        case .dtype, .orientation, .licence: 0.5
        }
    }
}

public struct CompatWeights: Sendable, Equatable {
    public var values: [CompatFactor: Double]
    public init() { values = Dictionary(uniqueKeysWithValues: CompatFactor.allCases.map { ($0, $0.defaultWeight) }) }

    public subscript(_ factor: CompatFactor) -> Double {
        get { values[factor] ?? factor.defaultWeight }
        set { values[factor] = newValue }
    }

    /// Applies "FACTOR=WEIGHT" settings in order; refuses an unknown factor or a weight that is not
    /// a finite number ≥ 0 (a typo never silently weighs 0).
    public mutating func apply(_ settings: [String]) throws(Compat.InvalidWeight) {
        for s in settings {
            let parts = s.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw .malformed(setting: s) }
            guard let factor = CompatFactor(rawValue: parts[0]) else { throw .unknownFactor(setting: s, factor: parts[0]) }
            guard let w = Double(parts[1]), w >= 0, w.isFinite else { throw .invalidWeight(setting: s, factor: factor, value: parts[1]) }
            self[factor] = w
        }
    }
}

/// What compat needs to know about a dataset besides its fingerprint (from a catalog entry).
public struct DatasetContext: Sendable {
    public var name: String
    public var fingerprint: DatasetFingerprint
    public var catalog: CatalogEntry?
    public init(name: String, fingerprint: DatasetFingerprint, catalog: CatalogEntry? = nil) {
        self.name = name
        self.fingerprint = fingerprint
        self.catalog = catalog
    }
}

public enum Compat {
    /// A `--weight` setting that cannot be applied; every case keeps the setting as written.
    public enum InvalidWeight: Error, CustomStringConvertible, Equatable {
        /// No "=" in the setting.
        case malformed(setting: String)
        /// FACTOR is not one of `CompatFactor.allCases`.
        case unknownFactor(setting: String, factor: String)
        /// WEIGHT is not a finite number ≥ 0.
        case invalidWeight(setting: String, factor: CompatFactor, value: String)

        public var setting: String {
            switch self {
            case .malformed(let s), .unknownFactor(let s, _), .invalidWeight(let s, _, _): s
            }
        }

        public var description: String {
            "--weight \(setting): expected FACTOR=WEIGHT (≥ 0) with FACTOR one of \(CompatFactor.allCases.map(\.rawValue).joined(separator: ", "))"
        }
    }

    /// nnU-Net channel names (cleaned) that are MR sequences: free text read onto `.mr`.
    static let mrSequences: Set<String> = ["t1", "t2", "flair", "adc", "dwi", "pd", "t1ce", "t1gd", "t1c", "t2w", "t1w",
                                           "bold", "swi", "mri", "dce", "t2*", "pdw", "cine"]

    /// Modalities of a dataset: DICOM Modality values, nnU-Net channel names (T1, FLAIR → MR),
    /// else its catalog entry.
    public static func modalities(_ d: DatasetContext) -> Set<Modality> {
        Set(modalityCases(d).keys)
    }

    /// The cases per modality (as `modalities` names them): a case counts for each modality its
    /// DICOM Modality or channel name maps to. Modalities known only from the catalog entry count 0.
    public static func modalityCases(_ d: DatasetContext) -> [Modality: Int] {
        var out: [Modality: Int] = [:]
        // The fingerprint's keys are free text (a file's DICOM Modality, or a channel name).
        for (key, cases) in d.fingerprint.by_modality {
            let k = Vocabulary.clean(key)
            if mrSequences.contains(k) { out[.mr, default: 0] += cases; continue }
            for m in Vocabulary.modality(key).terms.subtracting(Modality.xrayKinds) { out[m, default: 0] += cases }
        }
        if out.isEmpty, let c = d.catalog {
            for m in Set(c.modality).subtracting(Modality.xrayKinds.union([.multi])) { out[m] = 0 }
        }
        return out
    }

    /// The one modality a dataset is planned (normalised, exported) as: the one most of its cases
    /// have; a tie, or modalities known only from the catalog, goes to the alphabetically first.
    public static func dominantModality(_ d: DatasetContext) -> Modality? {
        modalityCases(d).max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
    }

    static func dims(_ f: DatasetFingerprint) -> String {
        f.shape.count >= 3 && f.shape[2].max > 1 ? "3D" : "2D"
    }

    static func f(_ v: Double) -> String { Fingerprinter.fmt(v) }

    /// 1-D Wasserstein distance between two histograms given as (value, count) pairs.
    public static func wasserstein(_ x: [(Double, Double)], _ y: [(Double, Double)]) -> Double {
        let nx = x.reduce(0) { $0 + $1.1 }, ny = y.reduce(0) { $0 + $1.1 }
        guard nx > 0, ny > 0 else { return .nan }
        // Merge the support; integrate |F_x − F_y| over it.
        let points = Array(Set(x.map(\.0) + y.map(\.0))).sorted()
        var fx = 0.0, fy = 0.0, i = 0, j = 0, distance = 0.0
        let xs = x.sorted { $0.0 < $1.0 }, ys = y.sorted { $0.0 < $1.0 }
        for (k, p) in points.enumerated() {
            while i < xs.count, xs[i].0 <= p { fx += xs[i].1 / nx; i += 1 }
            while j < ys.count, ys[j].0 <= p { fy += ys[j].1 / ny; j += 1 }
            if k + 1 < points.count { distance += abs(fx - fy) * (points[k + 1] - p) }
        }
        return distance
    }

    /// A channel-0 histogram (foreground if the dataset has labels) as (value, fraction) pairs,
    /// normalised the way the modality is for training: CT in HU, others z-scored.
    static func histogram(_ f: DatasetFingerprint, ct: Bool) -> [(Double, Double)]? {
        guard let i = f.foreground_intensity_per_channel["0"] ?? f.intensity_per_channel["0"], i.count > 0 else { return nil }
        let width = Double(sign: .plus, exponent: i.bin_exponent, significand: 1)
        let centre = i.exact_percentiles ? 0 : width / 2
        return i.histogram.map { pair in
            let v = pair[0] + centre
            return (ct ? v : (i.std > 0 ? (v - i.mean) / i.std : 0), pair[1])
        }
    }

    public static func score(_ a: DatasetContext, _ b: DatasetContext, weights: CompatWeights = CompatWeights()) -> Compatibility {
        var factors: [Compatibility.Factor] = []
        func add(_ factor: CompatFactor, _ score: Double, _ reason: String) {
            factors.append(.init(name: factor, score: min(1, max(0, score)), weight: weights[factor], reason: reason))
        }
        let fa = a.fingerprint, fb = b.fingerprint
        // Modality (the gate).
        let ma = modalities(a), mb = modalities(b)
        var gated = false
        if ma.isEmpty && mb.isEmpty {
            add(.modality, 0.5, "modality unknown for both \(a.name) and \(b.name): scored as unknown, not as agreement, "
                + "and the pair is not grouped (give catalog entries to decide)")
        } else if ma.isEmpty || mb.isEmpty {
            add(.modality, 0.5, "modality unknown for \(ma.isEmpty ? a.name : b.name): give a catalog entry to decide")
        } else if ma.isDisjoint(with: mb) {
            gated = true
            add(.modality, 0, "\(ma.sortedNames(separator: "/")) and \(mb.sortedNames(separator: "/")) are different imaging physics: no voxel-wise fusion")
        } else {
            let j = Double(ma.intersection(mb).count) / Double(ma.union(mb).count)
            add(.modality, j, j == 1 ? "both \(ma.sortedNames(separator: "/"))" : "share \(ma.intersection(mb).sortedNames(separator: "/")) of \(ma.union(mb).sortedNames(separator: "/"))")
        }
        // Dimensionality.
        let da = dims(fa), db = dims(fb)
        add(.dim, da == db ? 1 : 0, da == db ? "both \(da)" : "\(a.name) is \(da), \(b.name) is \(db)")
        // Task: segmentation when label maps are present.
        let ta = fa.cases_with_labels > 0 ? "seg" : nil, tb = fb.cases_with_labels > 0 ? "seg" : nil
        let ca = a.catalog.map { Set($0.task) } ?? (ta.map { [$0] } ?? []), cb = b.catalog.map { Set($0.task) } ?? (tb.map { [$0] } ?? [])
        if ca.isEmpty || cb.isEmpty { add(.task, 0.5, "task unknown for \(ca.isEmpty ? a.name : b.name) (no label maps, no catalog entry)") }
        else { let s = ca.isDisjoint(with: cb) ? 0.0 : 1.0; add(.task, s, s == 1 ? "both \(ca.intersection(cb).sorted().joined(separator: "/"))" : "\(ca.sorted()) vs \(cb.sorted())") }
        // Anatomy from the catalog (a region overlaps its parts).
        if let x = a.catalog?.anatomy, let y = b.catalog?.anatomy, !x.isEmpty, !y.isEmpty {
            let ax = Set(x.flatMap(Vocabulary.ancestors)), ay = Set(y.flatMap(Vocabulary.ancestors))
            let overlap = Set(x).contains { ay.contains($0) } || Set(y).contains { ax.contains($0) }
            add(.anatomy, overlap ? 1 : 0, overlap ? "overlapping anatomy (\(x.joined(separator: ",")) / \(y.joined(separator: ",")))" : "\(x.joined(separator: ",")) vs \(y.joined(separator: ","))")
        } else {
            add(.anatomy, 0.5, "anatomy unknown without catalog entries for both")
        }
        // Labels: names, values, conflicts.
        let la = Dictionary(fa.labels.compactMap { l in l.name.map { (Vocabulary.clean($0), l.value) } }, uniquingKeysWith: { x, _ in x })
        let lb = Dictionary(fb.labels.compactMap { l in l.name.map { (Vocabulary.clean($0), l.value) } }, uniquingKeysWith: { x, _ in x })
        if la.isEmpty || lb.isEmpty {
            add(.labels, fa.labels.isEmpty && fb.labels.isEmpty ? 0.5 : 0.25,
                fa.labels.isEmpty && fb.labels.isEmpty ? "no labels in either" : "labels named in only one dataset")
        } else {
            let shared = Set(la.keys).intersection(lb.keys)
            let union = Set(la.keys).union(lb.keys)
            let sameNameOtherValue = shared.filter { la[$0] != lb[$0] }
            let va = Dictionary(la.map { ($1, $0) }, uniquingKeysWith: { x, _ in x })
            let vb = Dictionary(lb.map { ($1, $0) }, uniquingKeysWith: { x, _ in x })
            let sameValueOtherName = Set(va.keys).intersection(vb.keys).filter { va[$0] != vb[$0] }
            let jaccard = Double(shared.count) / Double(union.count)
            let conflicts = sameNameOtherValue.count + sameValueOtherName.count
            var reason = "\(shared.count) of \(union.count) label names shared"
            if !sameNameOtherValue.isEmpty { reason += "; same name, different value: \(sameNameOtherValue.sorted().map { "\($0) (\(la[$0]!) vs \(lb[$0]!))" }.joined(separator: ", "))" }
            if !sameValueOtherName.isEmpty { reason += "; same value, different name: \(sameValueOtherName.sorted().map { "\($0): \(va[$0]!) vs \(vb[$0]!)" }.joined(separator: ", "))" }
            add(.labels, jaccard * (1 - 0.5 * min(1, Double(conflicts) / Double(max(union.count, 1)))), reason)
        }
        // Spacing: mean |log2 ratio| of the median spacing per axis.
        let axes = min(fa.spacing.count, fb.spacing.count, 3)
        if axes > 0 {
            var total = 0.0
            var parts: [String] = []
            for k in 0..<axes {
                let r = log2(fa.spacing[k].median / fb.spacing[k].median)
                total += abs(r)
                parts.append("\(f(fa.spacing[k].median))/\(f(fb.spacing[k].median))")
            }
            let d = total / Double(axes)
            add(.spacing, pow(2, -d), "median spacing \(parts.joined(separator: ", ")) mm; mean |log2 ratio| \(f(d))")
        } else {
            add(.spacing, 0.5, "no spacing")
        }
        // Intensity: Wasserstein between the modality-normalised pooled histograms.
        let isCT = ma.contains(.ct) && mb.contains(.ct)
        if let ha = histogram(fa, ct: isCT), let hb = histogram(fb, ct: isCT) {
            let w = wasserstein(ha, hb)
            let s = isCT ? exp(-w / 100) : exp(-w)
            add(.intensity, s.isFinite ? s : 0, isCT ? "Wasserstein distance \(f(w)) HU between the pooled histograms"
                : "Wasserstein distance \(f(w)) between the z-scored pooled histograms")
        } else {
            add(.intensity, 0.5, "no intensity histogram (run on pixels)")
        }
        // dtype, channels, orientation, licence.
        let dta = Set(fa.by_dtype.keys), dtb = Set(fb.by_dtype.keys)
        let floatA = dta.contains { DType(rawValue: $0)?.isFloat == true }, floatB = dtb.contains { DType(rawValue: $0)?.isFloat == true }
        let dtScore = dta == dtb ? 1 : (floatA == floatB ? 0.7 : 0.5)
        add(.dtype, dtScore, "\(dta.sorted().joined(separator: ",")) vs \(dtb.sorted().joined(separator: ","))")
        let cha = Set(fa.by_channels.keys), chb = Set(fb.by_channels.keys)
        add(.channels, cha == chb ? 1 : 0, cha == chb ? "both \(cha.sorted().joined(separator: ",")) channel(s)" : "\(cha.sorted()) vs \(chb.sorted()) channels")
        func dominant(_ h: [String: Int]) -> String? {
            h.filter { $0.key != "unknown" }.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
        }
        let oa = dominant(fa.orientation), ob = dominant(fb.orientation)
        if let oa, let ob {
            add(.orientation, oa == ob ? 1 : 0.5, oa == ob ? "both mostly \(oa)" : "\(oa) vs \(ob): reorientation needed (lossless)")
        } else {
            add(.orientation, 0.5, "orientation unknown for \(oa == nil ? a.name : b.name) (no affine: 2D images)")
        }
        if let x = a.catalog?.licence, let y = b.catalog?.licence {
            let nc = x.contains("NC") || y.contains("NC")
            add(.licence, x == y ? 1 : 0.75, x == y ? "both \(x)" : "\(x) and \(y)\(nc ? ": the fused set is non-commercial" : "")")
        } else {
            add(.licence, 0.5, "licence unknown without catalog entries for both")
        }
        // Overlap: equal canonical voxel hashes.
        var shared: [[String]] = []
        if let ha = fa.case_hashes, let hb = fb.case_hashes {
            var byHash: [String: [String]] = [:]
            for (id, h) in hb { byHash[h, default: []].append(id) }
            for (id, h) in ha.sorted(by: { $0.key < $1.key }) {
                for other in (byHash[h] ?? []).sorted() { shared.append([id, other]) }
            }
        }
        let wsum = factors.reduce(0) { $0 + $1.weight }
        var total = wsum > 0 ? factors.reduce(0) { $0 + $1.weight * $1.score } / wsum : 0
        if gated { total = 0 }
        return Compatibility(a: a.name, b: b.name, score: total, gated: gated, factors: factors, shared_cases: shared)
    }

    /// Deterministic clustering: datasets in name order; each joins the first group whose every
    /// member it scores at least `threshold` with (complete linkage, so a gated pair never ends up
    /// in one group through a third dataset), else starts a new group.
    /// Fusion groups by complete linkage: a dataset joins the first group whose every member it
    /// scores at least `threshold` with. Two datasets whose modalities are both unknown never
    /// count as joinable (unknown is not agreement) unless `groupUnknownModality`.
    public static func groups(_ contexts: [DatasetContext], _ pairs: [Compatibility], threshold: Double,
                              groupUnknownModality: Bool = false) -> [FusionGroup] {
        let names = contexts.map(\.name).sorted()
        let unknown = Set(contexts.filter { modalities($0).isEmpty }.map(\.name))
        var scores: [String: Double] = [:]
        for p in pairs {
            let score = !groupUnknownModality && unknown.contains(p.a) && unknown.contains(p.b) ? -1 : p.score
            scores[p.a + "\u{0}" + p.b] = score
            scores[p.b + "\u{0}" + p.a] = score
        }
        var clusters: [[String]] = []
        for n in names {
            if let i = clusters.firstIndex(where: { c in c.allSatisfy { (scores[n + "\u{0}" + $0] ?? 0) >= threshold } }) {
                clusters[i].append(n)
            } else {
                clusters.append([n])
            }
        }
        var members: [String: [String]] = [:]
        for c in clusters { members[c[0]] = c }
        let byName = Dictionary(uniqueKeysWithValues: contexts.map { ($0.name, $0) })
        return members.keys.sorted().map { root in
            let group = members[root]!
            var seen = Set<String>()
            var cases = 0, duplicates = 0, voxels = 0, bytes = 0
            var labels = Set<String>()
            var modalities = Set<Modality>()
            for n in group {
                let fp = byName[n]!.fingerprint
                modalities.formUnion(Compat.modalities(byName[n]!))
                for l in fp.labels { labels.insert(l.name ?? String(l.value)) }
                let ids = Set((fp.case_voxels ?? [:]).keys)
                for id in ids.sorted() {
                    if let h = fp.case_hashes?[id], !seen.insert(h).inserted { duplicates += 1; continue }
                    cases += 1
                    voxels += fp.case_voxels?[id] ?? 0
                    bytes += fp.case_bytes?[id] ?? 0
                }
            }
            return FusionGroup(datasets: group, cases: cases, duplicate_cases: duplicates, voxels: voxels, bytes: bytes,
                               labels: labels.sorted(), modalities: modalities.sorted())
        }
    }
}
