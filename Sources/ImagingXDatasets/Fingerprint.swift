import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
import Dispatch
import FoundationEssentials

/// A dataset's fingerprint: what nnU-Net's `dataset_fingerprint.json` holds, and more.
public struct DatasetFingerprint: Sendable, Codable {
    public struct Distribution: Sendable, Codable, Equatable {
        public var min, p10, median, p90, max: Double
    }
    public struct Intensity: Sendable, Codable, Equatable {
        public var count: Int
        public var mean, median, std, min, max, percentile_00_5, percentile_99_5: Double
        /// Pooled histogram: bins of width 2^bin_exponent, as [lower edge, count] pairs.
        public var bin_exponent: Int
        public var exact_percentiles: Bool
        public var histogram: [[Double]]
    }
    public struct Label: Sendable, Codable, Equatable {
        public var value: Int
        public var name: String?
        public var cases: Int
        public var voxels: Int
        public var median_volume_mm3: Double
    }
    /// A case that was listed or found but could not be summarised.
    public struct FailedCase: Sendable, Codable, Equatable {
        public var case_id: String
        /// The file or folder the reason is about (relative to the dataset root).
        public var path: String
        public var reason: String
        public init(case_id: String, path: String, reason: String) {
            self.case_id = case_id
            self.path = path
            self.reason = reason
        }
    }
    public struct Outlier: Sendable, Codable, Equatable {
        public var case_id: String
        public var reason: String
    }

    public var dataset: String?
    public var layout: DatasetLayout
    public var cases: Int
    public var cases_with_labels: Int
    /// Every case that could not be summarised, in case-id order: listed but missing, unreadable,
    /// a DICOM group that is not a volume, a label with no image. None is dropped silently.
    public var cases_failed: [FailedCase]
    public var by_format: [String: Int]
    public var by_modality: [String: Int]
    public var by_dtype: [String: Int]
    public var by_channels: [String: Int]
    public var spacing: [Distribution]
    public var shape: [Distribution]
    public var extent_mm: [Distribution]
    public var orientation: [String: Int]
    public var anisotropy: Distribution?
    public var anisotropic_cases: [String]
    public var intensity_per_channel: [String: Intensity]
    public var foreground_intensity_per_channel: [String: Intensity]
    public var labels: [Label]
    public var median_relative_size_after_cropping: Double?
    public var outliers: [Outlier]
    public var findings: [String: [String]]
    /// Findings about the dataset as a whole (e.g. `num_training_mismatch`).
    public var dataset_findings: [String]
    /// Case id → canonical voxel hash (overlap detection across datasets).
    public var case_hashes: [String: String]?
    /// Case id → voxels (grid × channels) and bytes on disk (for fusion totals).
    public var case_voxels: [String: Int]?
    public var case_bytes: [String: Int]?
}

public enum Fingerprinter {
    /// A case (and, in a plan, a dataset's target spacing) is anisotropic when its largest
    /// spacing is over this many times its smallest: nnU-Net v2's `ANISO_THRESHOLD` (3).
    public static let anisotropyThreshold = 3.0

    /// Summarises every case with `jobs` workers of the one pool; summaries come back in case order.
    public static func summarize(_ cases: [CaseFiles], root: String, jobs: Int) -> [CaseSummary] {
        WorkerPool(jobs: jobs).map(cases.count, makeWorker: { FileReader() }) { reader, i in
            reader.summarize(cases[i], root: root)
        }
    }

    /// Finds the cases of a dataset folder (in `layout`, or the detected one; with `datalist`,
    /// `folder` is the datalist's base folder) and summarises them: listed DICOM series folders
    /// as their series volume, and in a plain folder every DICOM series volume as a case.
    public static func summarizeFolder(_ folder: String, jobs: Int,
                                       labelSuffixes: [String] = CaseFinder.defaultLabelSuffixes,
                                       layout: DatasetLayout? = nil, datalist: String? = nil,
                                       shard: Shard? = nil, shardPrefix: String = "") -> (CaseFinder.DatasetInfo, [CaseSummary]) {
        let (info, found) = CaseFinder.find(folder, labelSuffixes: labelSuffixes, layout: layout, datalist: datalist)
        // With a shard: only its cases (keyed by the first image's path, or a listed series
        // folder's path, so the cases of one nnU-Net `imagesTr` still spread over the shards and
        // a case's image and label stay together), and the DICOM files of the folders it owns
        // (a series stays in its folder's shard).
        // Folders are relative to the sharded root: `shardPrefix` is where this dataset lies in it.
        func owned(_ directory: Substring) -> Bool {
            guard let shard else { return true }
            let path = shardPrefix.isEmpty ? String(directory) : directory.isEmpty ? shardPrefix : shardPrefix + "/" + directory
            return shard.owns(directory: Array(path.utf8))
        }
        func folderOf(_ path: String) -> Substring { path.lastIndex(of: "/").map { path[..<$0] } ?? "" }
        let files = found.filter { c in
            guard shard != nil else { return true }
            let first = c.images.first ?? ""  // a case with no image (a failure): the dataset folder's shard
            return owned(Substring(first))
        }
        var cases = summarize(files.filter { $0.series != true || $0.failure != nil }, root: folder, jobs: jobs)
        for c in files where c.series == true && c.failure == nil {
            cases.append(seriesFolderCase(c, root: folder, jobs: jobs))
        }
        if info.layout == .plain {
            cases += summarizeSeries(CaseFinder.dicomCandidates(folder).filter { owned(folderOf($0)) }, root: folder, jobs: jobs)
        }
        return (info, cases)
    }

    /// A listed case whose image is a folder of DICOM files: the one series volume in it.
    static func seriesFolderCase(_ c: CaseFiles, root: String, jobs: Int) -> CaseSummary {
        let folder = c.images[0]
        let base = folder.hasPrefix("/") ? folder : root + "/" + folder
        let (found, grids) = summarizeSeriesGrids(CaseFinder.dicomCandidates(base), root: base, jobs: jobs)
        var summary: CaseSummary
        if found.count == 1 {
            summary = found[0]
        } else {
            summary = CaseSummary(id: c.id, images: [folder], label: c.label)
            summary.error = found.isEmpty ? "no DICOM series in the listed folder"
                : "the listed folder holds \(found.count) DICOM series groups or unreadable files, not one volume: "
                    + found.map { $0.id + ($0.error.map { " (\($0))" } ?? "") }.sorted().joined(separator: "; ")
            summary.errorPath = folder
            return summary
        }
        let grid = grids[summary.id]
        summary.id = c.id
        summary.images = summary.images.map { folder + "/" + $0 }
        if let path = summary.errorPath { summary.errorPath = folder + "/" + path }
        summary.findings = (c.notes ?? []) + summary.findings
        if let label = c.label {
            if let seg = summary.label, !summary.labelVoxels.isEmpty {
                summary.findings.append("label_not_read: \(label) is listed as this series case's label, but the DICOM SEG \(folder)/\(seg) "
                                        + "in the series folder already labels it")
                summary.label = folder + "/" + seg
            } else if let grid, summary.error == nil {
                summary.label = label
                SeriesLabels.applyLabelFile(label, fullPath: label.hasPrefix("/") ? label : root + "/" + label,
                                            members: grid.members, memberRoot: base, affine: grid.affine, to: &summary)
            } else {
                summary.label = label
            }
        } else if let seg = summary.label {
            summary.label = folder + "/" + seg
        }
        return summary
    }

    public static func decodeFingerprint(_ bytes: [UInt8]) throws -> DatasetFingerprint {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try d.decode(DatasetFingerprint.self, from: Data(bytes))
    }

    /// Series volumes from the DICOM files `paths` (relative to `root`), as cases: geometry from
    /// the assembled series, intensities pooled exactly from the slices. Groups that are not
    /// volumes (localizers, single slices, multi-frame objects) come back as cases with `error`.
    public static func summarizeSeries(_ paths: [String], root: String, jobs: Int) -> [CaseSummary] {
        summarizeSeriesGrids(paths, root: root, jobs: jobs).cases
    }

    /// A series case's slices (in slice order) and its assembled affine (RAS), for its label.
    struct SeriesGrid {
        var members: [ImageRecord]
        var affine: Matrix4?
    }

    /// `summarizeSeries`, and the grid of each assembled series case by case id.
    static func summarizeSeriesGrids(_ paths: [String], root: String, jobs: Int) -> (cases: [CaseSummary], grids: [String: SeriesGrid]) {
        let entries = paths.map { WalkEntry(fullPath: root + "/" + $0, path: $0) }
        let (records, histograms) = SeriesAssembler.readRecords(entries, jobs: jobs, stats: true)
        // DICOM SEG objects are labels of the series they reference, not volumes.
        let segmentations = records.filter { $0.sopClassUID == SeriesAssembler.segmentationSOPClass }.sorted { $0.path < $1.path }
        let images = records.filter { $0.sopClassUID != SeriesAssembler.segmentationSOPClass }
        var keys: [String?] = []
        var memberLists: [[ImageRecord]] = []
        var affines: [Matrix4?] = []
        var cases = SeriesAssembler.assembleVolumes(images, histograms: histograms).map { v -> CaseSummary in
            let r = v.record
            keys.append(r.assembled ? r.series_key : nil)
            memberLists.append(v.members)
            affines.append(r.affine.map { Matrix4(rows: $0) })
            let folder = r.first_file.split(separator: "/").dropLast().joined(separator: "/")
            let id = (folder.isEmpty ? "" : folder + "/") + "series-" + r.series_key.prefix(12)
                + (r.groups_in_series > 1 ? "-\(r.group)" : "")
            var c = CaseSummary(id: id, images: v.members.map(\.path), label: nil)
            c.format = "dicom"
            c.bytes = v.members.reduce(0) { $0 + $1.sizeBytes }
            c.dtype = v.members.first?.dtype
            c.modality = r.modality
            guard r.assembled, let dims = r.dims, let spacing = r.spacing else {
                c.error = "not a volume: " + (r.reason ?? "not assembled")
                c.errorPath = r.first_file
                return c
            }
            c.dims = dims
            c.spacing = spacing
            c.axcodes = r.axcodes
            c.voxelVolume = spacing.reduce(1, *)
            if !r.regular_volume {
                var faults: [String] = []
                if !r.single_orientation { faults.append("several orientations in the series") }
                if !r.consistent_dimensions { faults.append("several grids in the series") }
                if r.unique_positions == false { faults.append("\(r.duplicate_positions ?? 0) duplicate positions") }
                if r.uniform_spacing == false { faults.append("slice spacing varies by \(fmt(r.spacing_deviation_mm ?? 0)) mm") }
                if (r.missing_slices ?? 0) > 0 { faults.append("\(r.missing_slices!) missing slices") }
                if (r.gantry_tilt_degrees ?? 0) > SeriesAssembler.tiltTolerance { faults.append("gantry tilt \(fmt(r.gantry_tilt_degrees!))°") }
                if r.orthogonal_orientation == false { faults.append("orientation cosines not orthogonal") }
                c.findings.append("irregular_volume: " + faults.joined(separator: ", "))
            }
            if let bad = v.members.first(where: { v.histograms[$0.path] == nil }) {
                c.error = bad.statsError ?? "pixels not decoded"
                c.errorPath = bad.path
                return c
            }
            var pooled = IntensityAccumulator()
            for m in v.members { pooled.merge(v.histograms[m.path]!) }
            c.intensity = [pooled]
            c.voxel_hash = seriesHash(v.members, root: root, dims: dims, axcodes: r.axcodes)
            return c
        }
        // A DICOM file that cannot be read is a failed case, never left out.
        for r in images where r.status != .ok {
            var c = CaseSummary(id: split(r.path), images: [r.path], label: nil)
            c.format = "dicom"
            c.error = r.error ?? r.status.rawValue
            c.errorPath = r.path
            cases.append(c)
        }
        // Each SEG labels the series named in its ReferencedSeriesSequence (compared as hashes).
        for seg in segmentations {
            let refs = Set(seg.referencedSeriesKeys ?? [])
            let matches = keys.indices.filter { keys[$0].map(refs.contains) == true }
            for i in matches {
                if cases[i].label == nil {
                    // Decoded onto the series grid (SeriesLabels); a SEG that cannot be gets a label_not_read finding.
                    cases[i].label = seg.path
                    SeriesLabels.applySegmentation(seg.path, root: root, members: memberLists[i], to: &cases[i])
                } else {
                    cases[i].findings.append("extra_segmentation: DICOM SEG \(seg.path) also references this series")
                }
            }
            guard matches.isEmpty else { continue }
            var c = CaseSummary(id: split(seg.path), images: [], label: seg.path)
            c.format = "dicom"
            c.modality = seg.modality
            c.errorPath = seg.path
            c.error = seg.status != .ok ? "DICOM SEG: \(seg.error ?? seg.status.rawValue)"
                : refs.isEmpty ? "DICOM SEG without ReferencedSeriesSequence (0008,1115) > SeriesInstanceUID: its source series is unknown"
                : "DICOM SEG references a series that is not in the folder (or is not a volume)"
            cases.append(c)
        }
        var grids: [String: SeriesGrid] = [:]
        for i in keys.indices where keys[i] != nil { grids[cases[i].id] = SeriesGrid(members: memberLists[i], affine: affines[i]) }
        return (cases, grids)
    }

    /// A path without its image ending: the id of a case made of one file.
    static func split(_ path: String) -> String { CaseFinder.split(path).stem }

    /// Re-reads a series' slices in slice order (one volume in memory at a time) and hashes them.
    static func seriesHash(_ members: [ImageRecord], root: String, dims: [Int], axcodes: String?) -> String? {
        var options = ReadOptions(stats: true)
        options.captureVolume = true
        let reader = FileReader(options: options)
        guard var hash = VoxelHash(dims: dims, axcodes: axcodes) else { return nil }
        let slice = dims[0] * dims[1]
        for (k, m) in members.enumerated() {
            _ = reader.read(fullPath: root + "/" + m.path, path: m.path)
            guard let v = reader.captured, v.count >= slice else { return nil }
            // One slice: its first `slice` values go to input positions k·slice onwards.
            v.forEachChunk { s, values in
                guard s < slice else { return }
                hash.put(k * slice + s, UnsafeBufferPointer(rebasing: values[0..<min(values.count, slice - s)]))
            }
        }
        return hash.finish()
    }

    /// numpy linear percentile of a list.
    package static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let h = (q / 100) * Double(sorted.count - 1)
        let i = Int(h.rounded(.down))
        return PixelStats.lerp(sorted[i], sorted[min(i + 1, sorted.count - 1)], h - Double(i))
    }

    static func distribution(_ values: [Double]) -> DatasetFingerprint.Distribution? {
        let s = values.filter(\.isFinite).sorted()
        guard !s.isEmpty else { return nil }
        return .init(min: s.first!, p10: percentile(s, 10), median: percentile(s, 50), p90: percentile(s, 90), max: s.last!)
    }

    static func intensity(_ a: IntensityAccumulator) -> DatasetFingerprint.Intensity {
        let width = Double(sign: .plus, exponent: a.binExponent, significand: 1)
        return .init(count: a.count, mean: a.mean, median: a.percentile(50), std: a.std, min: a.min, max: a.max,
                     percentile_00_5: a.percentile(0.5), percentile_99_5: a.percentile(99.5),
                     bin_exponent: a.binExponent, exact_percentiles: a.integral && a.binExponent <= 0,
                     histogram: a.bins.keys.sorted().map { [Double($0) * width, Double(a.bins[$0]!)] })
    }

    /// Iglewicz–Hoaglin modified z-score: 0.6745 (x − median) / MAD; |z| > 3.5 is an outlier.
    static func outliers(_ values: [(String, Double)], what: String) -> [DatasetFingerprint.Outlier] {
        let xs = values.map(\.1).filter(\.isFinite).sorted()
        guard xs.count >= 5 else { return [] }
        let median = percentile(xs, 50)
        let mad = percentile(xs.map { abs($0 - median) }.sorted(), 50)
        guard mad > 0 else {
            // Most cases agree exactly: anything different stands out.
            return values.filter { $0.1.isFinite && $0.1 != median }.map {
                .init(case_id: $0.0, reason: "\(what) is \(fmt($0.1)) while most cases have exactly \(fmt(median))")
            }
        }
        return values.compactMap { id, x in
            let z = 0.6745 * (x - median) / mad
            return abs(z) > 3.5 ? .init(case_id: id, reason: "\(what) \(fmt(x)) is far from the median \(fmt(median)) (modified z \(fmt(z)))") : nil
        }
    }

    public static func fmt(_ v: Double) -> String {
        let r = (v * 1000).rounded() / 1000
        return r == r.rounded() && abs(r) < 1e15 ? String(Int(r)) : String(r)
    }

    /// The deterministic reduction: cases in id order, accumulators merged in that order.
    public static func reduce(_ input: [CaseSummary], info: CaseFinder.DatasetInfo) -> DatasetFingerprint {
        let cases = input.sorted { $0.id < $1.id }
        let ok = cases.filter { $0.error == nil }
        let failed = cases.filter { $0.error != nil }.map {
            DatasetFingerprint.FailedCase(case_id: $0.id, path: $0.errorPath ?? $0.images.first ?? $0.label ?? "", reason: $0.error!)
        }
        var datasetFindings = info.notes ?? []
        if let n = info.numTraining, n != cases.count {
            datasetFindings.append("num_training_mismatch: dataset.json says numTraining \(n), \(cases.count) case\(cases.count == 1 ? " was" : "s were") found"
                                   + (failed.isEmpty ? "" : " (\(failed.count) of them failed)"))
        }
        func histogram(_ key: (CaseSummary) -> String?) -> [String: Int] {
            var h: [String: Int] = [:]
            for c in ok { h[key(c) ?? "unknown", default: 0] += 1 }
            return h
        }
        let axes = ok.map(\.dims.count).max() ?? 0
        var spacing: [DatasetFingerprint.Distribution] = []
        var shape: [DatasetFingerprint.Distribution] = []
        var extent: [DatasetFingerprint.Distribution] = []
        var outliers: [DatasetFingerprint.Outlier] = []
        for a in 0..<axes {
            let sp = ok.map { a < $0.spacing.count ? ($0.id, $0.spacing[a]) : ($0.id, Double.nan) }
            let sh = ok.map { a < $0.dims.count ? ($0.id, Double($0.dims[a])) : ($0.id, Double.nan) }
            spacing.append(distribution(sp.map(\.1)) ?? .init(min: .nan, p10: .nan, median: .nan, p90: .nan, max: .nan))
            shape.append(distribution(sh.map(\.1)) ?? .init(min: .nan, p10: .nan, median: .nan, p90: .nan, max: .nan))
            extent.append(distribution(zip(sp, sh).map { $0.1 * $1.1 }) ?? .init(min: .nan, p10: .nan, median: .nan, p90: .nan, max: .nan))
            outliers += Fingerprinter.outliers(sp, what: "spacing[\(a)]")
            outliers += Fingerprinter.outliers(sh, what: "shape[\(a)]")
        }
        let aniso = ok.map { c -> (String, Double) in
            let s = c.spacing.prefix(3).filter { $0 > 0 }
            return (c.id, (s.max() ?? 1) / (s.min() ?? 1))
        }
        var pooled: [Int: IntensityAccumulator] = [:]
        var pooledFg: [Int: IntensityAccumulator] = [:]
        for c in ok {
            for (i, a) in c.intensity.enumerated() { pooled[i, default: IntensityAccumulator()].merge(a) }
            for (i, a) in c.foreground.enumerated() { pooledFg[i, default: IntensityAccumulator()].merge(a) }
        }
        outliers += Fingerprinter.outliers(ok.compactMap { c in c.intensity.first.map { (c.id, $0.mean) } }, what: "mean intensity")
        var labelAgg: [Int: (cases: Int, voxels: Int, volumes: [Double])] = [:]
        for c in ok {
            for (k, n) in c.labelVoxels {
                guard let v = Int(k), v != 0 else { continue }
                var e = labelAgg[v] ?? (0, 0, [])
                e.cases += 1
                e.voxels += n
                e.volumes.append(Double(n) * c.voxelVolume)
                labelAgg[v] = e
            }
        }
        let labels = labelAgg.keys.sorted().map { v -> DatasetFingerprint.Label in
            let e = labelAgg[v]!
            return .init(value: v, name: info.labels[v], cases: e.cases, voxels: e.voxels,
                         median_volume_mm3: percentile(e.volumes.sorted(), 50))
        }
        let relative = ok.compactMap { c -> Double? in
            guard let box = c.nonzeroBox else { return nil }
            return Double(box.size.reduce(1, *)) / Double(max(c.dims.reduce(1, *), 1))
        }
        var findings: [String: [String]] = [:]
        for c in ok where !c.findings.isEmpty { findings[c.id] = c.findings }
        return DatasetFingerprint(
            dataset: info.name, layout: info.layout, cases: cases.count,
            cases_with_labels: ok.filter { $0.label != nil && !$0.foreground.isEmpty }.count,
            cases_failed: failed,
            by_format: histogram(\.format), by_modality: histogram { $0.modality ?? info.channelNames["0"] },
            by_dtype: histogram { $0.dtype?.rawValue }, by_channels: histogram { String($0.channels) },
            spacing: spacing, shape: shape, extent_mm: extent, orientation: histogram(\.axcodes),
            anisotropy: distribution(aniso.map(\.1)),
            anisotropic_cases: aniso.filter { $0.1 > anisotropyThreshold }.map(\.0),
            intensity_per_channel: Dictionary(uniqueKeysWithValues: pooled.map { (String($0.key), intensity($0.value)) }),
            foreground_intensity_per_channel: Dictionary(uniqueKeysWithValues: pooledFg.map { (String($0.key), intensity($0.value)) }),
            labels: labels,
            median_relative_size_after_cropping: relative.isEmpty ? nil : percentile(relative.sorted(), 50),
            outliers: outliers, findings: findings, dataset_findings: datasetFindings,
            case_hashes: Dictionary(uniqueKeysWithValues: ok.compactMap { c in c.voxel_hash.map { (c.id, $0) } }),
            case_voxels: Dictionary(uniqueKeysWithValues: ok.map { ($0.id, $0.dims.reduce(1, *) * max(1, $0.channels)) }),
            case_bytes: Dictionary(uniqueKeysWithValues: ok.map { ($0.id, $0.bytes) }))
    }

    /// nnU-Net v2's `dataset_fingerprint.json` (same keys and shapes; axes in numpy order z, y, x).
    public static func nnUNet(_ input: [CaseSummary], _ fp: DatasetFingerprint) -> [UInt8] {
        let cases = input.sorted { $0.id < $1.id }.filter { $0.error == nil }
        func num(_ v: Double) -> String { v.isFinite ? (v == v.rounded() && abs(v) < 1e15 ? "\(Int(v)).0" : "\(v)") : "NaN" }
        var out = "{\n    \"foreground_intensity_properties_per_channel\": {\n"
        let channels = fp.foreground_intensity_per_channel.keys.sorted { Int($0)! < Int($1)! }
        for (n, k) in channels.enumerated() {
            let i = fp.foreground_intensity_per_channel[k]!
            out += "        \"\(k)\": {\n"
            out += "            \"max\": \(num(i.max)),\n            \"mean\": \(num(i.mean)),\n            \"median\": \(num(i.median)),\n"
            out += "            \"min\": \(num(i.min)),\n            \"percentile_00_5\": \(num(i.percentile_00_5)),\n"
            out += "            \"percentile_99_5\": \(num(i.percentile_99_5)),\n            \"std\": \(num(i.std))\n"
            out += "        }" + (n + 1 < channels.count ? ",\n" : "\n")
        }
        out += "    },\n"
        out += "    \"median_relative_size_after_cropping\": \(num(fp.median_relative_size_after_cropping ?? 1)),\n"
        let shapes = cases.map { c -> String in
            let size = c.nonzeroBox?.size ?? c.dims
            return "[" + size.reversed().map(String.init).joined(separator: ", ") + "]"
        }
        out += "    \"shapes_after_crop\": [\n        " + shapes.joined(separator: ",\n        ") + "\n    ],\n"
        let spacings = cases.map { "[" + $0.spacing.reversed().map(num).joined(separator: ", ") + "]" }
        out += "    \"spacings\": [\n        " + spacings.joined(separator: ",\n        ") + "\n    ]\n}\n"
        return Array(out.utf8)
    }

    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return Array(try e.encode(value)) + [0x0A]
    }

    /// What `--save-cases` writes: the dataset's description and its case summaries.
    public struct CaseSet: Codable, Sendable {
        public var info: CaseFinder.DatasetInfo
        public var cases: [CaseSummary]
        public init(info: CaseFinder.DatasetInfo, cases: [CaseSummary]) { self.info = info; self.cases = cases }
    }

    public static func decodeCases(_ bytes: [UInt8]) throws -> CaseSet {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try d.decode(CaseSet.self, from: Data(bytes))
    }
}
