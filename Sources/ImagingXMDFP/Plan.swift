import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
import ImagingXDatasets
/// The resampling and normalisation plan for fusing datasets: what every case needs before
/// training, computed from the cases themselves.
public struct FusionPlan: Sendable, Codable {
    public struct CasePlan: Sendable, Codable {
        public var dataset: String
        public var id: String
        public var images: [String]
        public var label: String?
        public var modality: Modality?
        public var format: String?
        public var channels: Int
        /// The case's own stored axis order (record order), mm.
        public var spacing: [Double]
        public var dims: [Int]
        /// Old spacing / target spacing per stored axis: > 1 upsamples (more voxels), < 1 downsamples.
        public var zoom: [Double]
        public var new_shape: [Int]
        /// For each canonical axis (R–L, A–P, S–I), the stored axis that runs along it.
        public var ras_axes: [Int]
        /// Spacing, shape, zoom and new shape in the canonical RAS frame (x = R–L, y = A–P, z = S–I).
        public var spacing_ras: [Double]
        public var dims_ras: [Int]
        public var zoom_ras: [Double]
        public var new_shape_ras: [Int]
        /// Per canonical axis x, y, z (world axes, whatever the storage order).
        public var resampling: [String]
        public var output_bytes: Int
        public var orientation: String?
        public var warnings: [String]
    }
    public struct Normalisation: Sendable, Codable {
        /// Nil for the datasets whose modality is unknown (encoded as "unknown").
        public var modality: Modality?
        public var scheme: String
        public var parameters: [String: Double]
        public var datasets: [String]

        /// The modality's name, or "unknown": what the JSON and the plan's text show.
        public var modalityName: String { Self.name(of: modality) }

        static func name(of modality: Modality?) -> String { modality?.rawValue ?? "unknown" }

        public init(modality: Modality?, scheme: String, parameters: [String: Double], datasets: [String]) {
            self.modality = modality
            self.scheme = scheme
            self.parameters = parameters
            self.datasets = datasets
        }

        enum CodingKeys: String, CodingKey { case modality, scheme, parameters, datasets }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let name = try c.decode(String.self, forKey: .modality)
            if name == "unknown" {
                modality = nil
            } else if let m = Modality(rawValue: name) {
                modality = m
            } else {
                throw DecodingError.dataCorruptedError(forKey: .modality, in: c, debugDescription: "not a modality of the vocabulary: \(name)")
            }
            scheme = try c.decode(String.self, forKey: .scheme)
            parameters = try c.decode([String: Double].self, forKey: .parameters)
            datasets = try c.decode([String].self, forKey: .datasets)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(modalityName, forKey: .modality)
            try c.encode(scheme, forKey: .scheme)
            try c.encode(parameters, forKey: .parameters)
            try c.encode(datasets, forKey: .datasets)
        }
    }
    public struct LabelMapping: Sendable, Codable {
        public var name: String
        public var value: Int
        /// dataset → its own value for this name.
        public var source_values: [String: Int]
    }

    /// The canonical RAS frame (x = R–L, y = A–P, z = S–I), mm: every case's spacing enters the
    /// rule reoriented to it, whatever its stored axis order.
    public var target_spacing: [Double]
    /// The same in nnU-Net's order (z, y, x), as in its plans file after reorientation to RAS.
    public var target_spacing_zyx: [Double]
    /// The frame the target spacing is given in.
    public var target_frame = "RAS"

    public var rule: String
    public var target_orientation: String?
    public var normalisation: [Normalisation]
    public var labels: [LabelMapping]
    public var label_conflicts: [String]
    public var cases: [CasePlan]
    public var total_output_bytes: Int
    public var warnings: [String]
}

public enum Planner {
    /// nnU-Net v2's `determine_fullres_target_spacing`, on arrays in numpy (z, y, x) order:
    /// the per-axis median; the largest-median axis (first on ties) is anisotropic when its median
    /// is over 3× the largest other median and its median size × 3 is below the smallest other
    /// median size; it then takes the 10th percentile of its spacings, clamped to the largest
    /// other median + 1e-5.
    public static func nnUNetTargetSpacing(spacings: [[Double]], sizes: [[Double]]) -> (target: [Double], rule: String) {
        let axes = spacings.first?.count ?? 0
        func column(_ rows: [[Double]], _ k: Int) -> [Double] { rows.map { $0[k] }.sorted() }
        var target = (0..<axes).map { Fingerprinter.percentile(column(spacings, $0), 50) }
        guard axes == 3, !sizes.isEmpty else { return (target, "median spacing per axis") }
        let targetSize = (0..<axes).map { Fingerprinter.percentile(column(sizes, $0), 50) }
        var worst = 0
        for k in 1..<axes where target[k] > target[worst] { worst = k }
        let others = (0..<axes).filter { $0 != worst }
        let otherSpacing = others.map { target[$0] }.max()!
        let otherSize = others.map { targetSize[$0] }.min()!
        let anisoSpacing = target[worst] > Fingerprinter.anisotropyThreshold * otherSpacing
        let anisoVoxels = targetSize[worst] * Fingerprinter.anisotropyThreshold < otherSize
        guard anisoSpacing && anisoVoxels else {
            return (target, "median spacing per axis (no axis both over 3× the others' spacing and under a third of their size)")
        }
        var t = Fingerprinter.percentile(column(spacings, worst), 10)
        var rule = "median spacing per axis; the anisotropic axis (numpy axis \(worst)) takes the 10th percentile of its spacings"
        if t < otherSpacing {
            t = otherSpacing + 1e-5
            rule += ", clamped to the largest other median + 1e-5"
        }
        target[worst] = t
        return (target, rule)
    }

    public struct Input: Sendable {
        public var name: String
        public var info: CaseFinder.DatasetInfo
        public var cases: [CaseSummary]
        /// What the dataset is planned as (`Compat.dominantModality`); nil when unknown.
        public var modality: Modality?
        public init(name: String, info: CaseFinder.DatasetInfo, cases: [CaseSummary], modality: Modality?) {
            self.name = name
            self.info = info
            self.cases = cases
            self.modality = modality
        }
    }

    /// For each canonical axis (R–L, A–P, S–I), the stored axis that runs along it, from the
    /// case's orientation codes (nibabel's `aff2axcodes`); nil when the orientation is unknown.
    public static func rasAxes(_ axcodes: String?) -> [Int]? {
        guard let codes = axcodes.map(Array.init), codes.count == 3 else { return nil }
        var axes = [-1, -1, -1]
        for (stored, code) in codes.enumerated() {
            let world: Int
            switch code {
            case "L", "R": world = 0
            case "P", "A": world = 1
            case "I", "S": world = 2
            default: return nil
            }
            guard axes[world] < 0 else { return nil }
            axes[world] = stored
        }
        return axes
    }

    /// Plans the fusion of `inputs`. `target`: a spacing in the canonical RAS frame (x, y, z), or
    /// nil for nnU-Net's rule applied after every case is reoriented to RAS.
    public static func plan(_ inputs: [Input], target fixed: [Double]? = nil) -> FusionPlan {
        let all = inputs.flatMap { input in input.cases.filter { $0.error == nil && $0.dims.count == 3 }.map { (input, $0) } }
        // Each case in the canonical frame: a stored IPL volume's first axis is S–I, so its
        // spacing counts as z. Unknown orientation: the stored order, with a warning.
        let axes = all.map { rasAxes($0.1.axcodes) ?? [0, 1, 2] }
        func ras<T>(_ values: [T], _ a: [Int]) -> [T] { a.map { values[$0] } }
        // nnU-Net works in numpy order (z, y, x) on the cropped shapes.
        let spacingsZYX = all.indices.map { Array(ras(Array(all[$0].1.spacing.prefix(3)), axes[$0]).reversed()) }
        let sizesZYX = all.indices.map { i in
            ras(Array((all[i].1.nonzeroBox?.size ?? all[i].1.dims).prefix(3)), axes[i]).reversed().map(Double.init)
        }
        var rule: String
        var targetXYZ: [Double]
        if let fixed {
            targetXYZ = fixed
            rule = "given on the command line"
        } else {
            let r = nnUNetTargetSpacing(spacings: spacingsZYX, sizes: sizesZYX)
            targetXYZ = r.target.reversed()
            rule = r.rule
        }
        // Orientation: the most common among the cases.
        var orientations: [String: Int] = [:]
        for (_, c) in all { if let o = c.axcodes { orientations[o, default: 0] += 1 } }
        let targetOrientation = orientations.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key

        var cases: [FusionPlan.CasePlan] = []
        var planWarnings: [String] = []
        for (i, (input, c)) in all.enumerated() {
            let a = axes[i]
            var p = FusionPlan.CasePlan(dataset: input.name, id: c.id, images: c.images, label: c.label, modality: input.modality,
                                        format: c.format, channels: max(1, c.channels), spacing: c.spacing, dims: c.dims,
                                        zoom: [0, 0, 0], new_shape: [0, 0, 0], ras_axes: a,
                                        spacing_ras: ras(Array(c.spacing.prefix(3)), a), dims_ras: ras(Array(c.dims.prefix(3)), a),
                                        zoom_ras: [], new_shape_ras: [], resampling: [],
                                        output_bytes: 0, orientation: c.axcodes, warnings: [])
            if rasAxes(c.axcodes) == nil {
                p.warnings.append("orientation unknown (no usable affine): its stored axes are taken as x, y, z")
            }
            for k in 0..<3 {
                let zoom = p.spacing_ras[k] / targetXYZ[k]
                // A tiny target spacing (or a huge case) cannot make a grid beyond Int32: saturate, and say so.
                let exact = (Double(p.dims_ras[k]) * zoom).rounded()
                let shape = exact.isFinite && exact < Double(Int32.max) ? max(1, Int(exact)) : Int(Int32.max)
                if shape == Int(Int32.max) { p.warnings.append("the resampled grid along \(["x", "y", "z"][k]) exceeds 2^31 voxels: check the target spacing") }
                p.zoom_ras.append(zoom)
                p.new_shape_ras.append(shape)
                p.zoom[a[k]] = zoom
                p.new_shape[a[k]] = shape
                let axis = ["x", "y", "z"][k]
                if abs(zoom - 1) < 1e-3 { p.resampling.append("\(axis): none") }
                else if zoom > 1 { p.resampling.append("\(axis): up \(Fingerprinter.fmt(zoom))×") }
                else { p.resampling.append("\(axis): down \(Fingerprinter.fmt(1 / zoom))×") }
                if zoom > 2 { p.warnings.append("upsampled \(Fingerprinter.fmt(zoom))× along \(axis): interpolated slices carry no new information") }
            }
            let sp = c.spacing.prefix(3)
            if let hi = sp.max(), let lo = sp.min(), lo > 0, hi / lo > Fingerprinter.anisotropyThreshold {
                p.warnings.append("anisotropic (\(Fingerprinter.fmt(hi / lo)):1 spacing)")
            }
            if let o = c.axcodes, let t = targetOrientation, o != t {
                p.warnings.append("orientation \(o) differs from the target \(t): reorient (a lossless flip/permutation) before resampling")
            }
            for f in c.findings where f.hasPrefix("label_") { p.warnings.append("image/label: " + f) }
            // float32 voxels; saturating, as a plan with an absurd target must still be printable.
            p.output_bytes = (p.new_shape + [max(1, c.channels), 4]).reduce(1) { a, b in
                let (v, overflow) = a.multipliedReportingOverflow(by: b)
                return overflow ? Int.max : v
            }
            cases.append(p)
        }

        // Normalisation per modality, with parameters pooled over the datasets of that modality.
        // Groups in the order of their names, "unknown" among them, as the plan lists them.
        var byModality: [Modality?: [Input]] = [:]
        for input in inputs { byModality[input.modality, default: []].append(input) }
        var norms: [FusionPlan.Normalisation] = []
        for (modality, group) in byModality.sorted(by: { FusionPlan.Normalisation.name(of: $0.key) < FusionPlan.Normalisation.name(of: $1.key) }) {
            let names = group.map(\.name)
            let photographic = modality.map { Modality.photographic.contains($0) } ?? false
            if modality == .ct {
                var pooled = IntensityAccumulator()
                for input in group { for c in input.cases.sorted(by: { $0.id < $1.id }) where c.error == nil { if let f = c.foreground.first { pooled.merge(f) } } }
                if pooled.count == 0 {
                    for input in group { for c in input.cases.sorted(by: { $0.id < $1.id }) where c.error == nil { if let f = c.intensity.first { pooled.merge(f) } } }
                    planWarnings.append("CT normalisation from all voxels: no label maps to define the foreground")
                }
                norms.append(.init(modality: modality, scheme: "clip to the pooled foreground [p00_5, p99_5], then z-score with the pooled foreground mean and std (nnU-Net CTNormalization)",
                                   parameters: ["clip_low": pooled.percentile(0.5), "clip_high": pooled.percentile(99.5),
                                                "mean": pooled.mean, "std": pooled.std, "voxels": Double(pooled.count)],
                                   datasets: names))
            } else if photographic
                        || group.allSatisfy({ $0.cases.allSatisfy { $0.dtype == .uint8 || $0.dtype == .rgb24 || $0.error != nil } }) {
                norms.append(.init(modality: modality, scheme: "8-bit images: scale to [0, 1] (divide by 255)", parameters: ["scale": 1.0 / 255], datasets: names))
            } else {
                norms.append(.init(modality: modality, scheme: "per-case z-score (nnU-Net ZScoreNormalization)", parameters: [:], datasets: names))
            }
        }

        // Label map: the union of names, values from the first dataset that defines them.
        var map: [String: FusionPlan.LabelMapping] = [:]
        var order: [String] = []
        var conflicts: [String] = []
        for input in inputs {
            for (value, name) in input.info.labels.sorted(by: { $0.key < $1.key }) {
                let key = Vocabulary.clean(name)
                if var m = map[key] {
                    if m.value != value { conflicts.append("'\(name)' is \(m.value) in \(m.source_values.keys.sorted().joined(separator: ", ")) but \(value) in \(input.name)") }
                    m.source_values[input.name] = value
                    map[key] = m
                } else {
                    map[key] = .init(name: name, value: value, source_values: [input.name: value])
                    order.append(key)
                }
            }
        }
        // Give a fresh value to a name whose value another name already took.
        var used: [Int: String] = [:]
        var next = (map.values.map(\.value).max() ?? 0) + 1
        for key in order {
            guard var m = map[key] else { continue }
            if let other = used[m.value], other != key {
                conflicts.append("value \(m.value) means '\(map[other]!.name)' and '\(m.name)': '\(m.name)' becomes \(next)")
                m.value = next
                next += 1
                map[key] = m
            }
            used[m.value] = key
        }
        let labels = order.compactMap { map[$0] }.sorted { $0.value < $1.value }
        // Where a dataset's own values differ from the fused map, its label files need remapping.
        for input in inputs {
            var remap: [(Int, Int)] = []
            for (value, name) in input.info.labels.sorted(by: { $0.key < $1.key }) {
                if let fused = map[Vocabulary.clean(name)]?.value, fused != value { remap.append((value, fused)) }
            }
            if !remap.isEmpty {
                planWarnings.append("label files of \(input.name) must be remapped before training (the exported labels are the fused map): "
                                    + remap.map { "\($0.0)→\($0.1)" }.joined(separator: ", "))
            }
        }
        let modalities = Set(inputs.compactMap(\.modality))
        if modalities.count > 1 {
            planWarnings.append("the datasets hold different modalities (\(modalities.sortedNames(separator: ", "))): they cannot share an input channel; train them apart or as separate channels of registered cases")
        }
        return FusionPlan(target_spacing: targetXYZ, target_spacing_zyx: targetXYZ.reversed(), rule: rule,
                          target_orientation: targetOrientation, normalisation: norms, labels: labels,
                          label_conflicts: conflicts, cases: cases,
                          total_output_bytes: cases.reduce(0) { $0 + $1.output_bytes }, warnings: planWarnings)
    }
}
