import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
import ImagingXDatasets
import FoundationEssentials

/// Manifests for the fused set. Only manifests are written: images are never copied, moved or
/// modified; every path points at the original file.
public enum Exporter {
    public struct DatasetRef: Sendable {
        public var name: String
        public var root: String
        public var fingerprint: DatasetFingerprint
        public var catalog: CatalogEntry?
        public var modality: Modality?
        public init(name: String, root: String, fingerprint: DatasetFingerprint, catalog: CatalogEntry?, modality: Modality?) {
            self.name = name
            self.root = root
            self.fingerprint = fingerprint
            self.catalog = catalog
            self.modality = modality
        }
    }

    /// A JSON value built in order (manifests are read by people too).
    package indirect enum J: Encodable {
        case s(String), n(Double), i(Int), b(Bool), null, a([J]), o([(String, J)])
        package func encode(to encoder: Encoder) throws {
            switch self {
            case .s(let v): var c = encoder.singleValueContainer(); try c.encode(v)
            case .n(let v): var c = encoder.singleValueContainer(); if v.isFinite { try c.encode(v) } else { try c.encodeNil() }
            case .i(let v): var c = encoder.singleValueContainer(); try c.encode(v)
            case .b(let v): var c = encoder.singleValueContainer(); try c.encode(v)
            case .null: var c = encoder.singleValueContainer(); try c.encodeNil()
            case .a(let v): var c = encoder.unkeyedContainer(); for x in v { try c.encode(x) }
            case .o(let pairs):
                var c = encoder.container(keyedBy: Key.self)
                for (k, v) in pairs { try c.encode(v, forKey: Key(k)) }
            }
        }
        package struct Key: CodingKey {
            package var stringValue: String
            package var intValue: Int? { nil }
            init(_ s: String) { stringValue = s }
            package init?(stringValue: String) { self.stringValue = stringValue }
            package init?(intValue: Int) { nil }
        }
    }

    static func json(_ v: J, pretty: Bool = true) throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return Array(try e.encode(v))
    }

    static func path(_ ref: DatasetRef, _ rel: String) -> String { ref.root + "/" + rel }

    static func ending(_ plan: FusionPlan) -> String {
        var counts: [String: Int] = [:]
        for c in plan.cases { if let f = c.images.first { counts[CaseFinder.split(f).ending.lowercased(), default: 0] += 1 } }
        return counts.max { $0.value < $1.value }?.key ?? ".nii.gz"
    }

    /// Writes dataset.json (nnU-Net v2), datalist.json (MONAI), data-meta.jsonl and items.jsonl
    /// (MDFP), plan.csv and plan.json into `dir`; returns the files written.
    public static func write(_ plan: FusionPlan, datasets: [DatasetRef], to dir: String) throws -> [String] {
        let refs = Dictionary(datasets.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        func full(_ c: FusionPlan.CasePlan, _ rel: String) -> String { refs[c.dataset].map { path($0, rel) } ?? rel }
        /// What a reader opens for the case's image: the file(s), or for a DICOM series its folder
        /// (MONAI's LoadImage reads a series folder).
        func imagePaths(_ c: FusionPlan.CasePlan) -> [String] {
            if c.format == "dicom" {
                let dir = c.images[0].split(separator: "/").dropLast().joined(separator: "/")
                return [refs[c.dataset].map { $0.root + (dir.isEmpty ? "" : "/" + dir) } ?? dir]
            }
            return c.images.map { full(c, $0) }
        }
        var written: [String] = []
        func put(_ name: String, _ bytes: [UInt8]) throws {
            let p = dir + "/" + name
            guard let fd = Optional(open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)), fd >= 0 else {
                throw ExportError(description: "cannot write \(p)")
            }
            defer { close(fd) }
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n == bytes.count else { throw ExportError(description: "short write to \(p)") }
            written.append(p)
        }
        mkdir(dir, 0o755)
        let labelled = plan.cases.filter { $0.label != nil && $0.format != "dicom" }
        // nnU-Net v2 dataset.json; "dataset" lists the files where they are (nnU-Net reads it
        // instead of imagesTr/labelsTr when present).
        let channels = max(1, labelled.map(\.channels).max() ?? 1)
        // The channel is named after the modality most labelled cases have ("unknown" if none is known).
        var modalityCounts: [String: Int] = [:]
        for c in labelled { modalityCounts[FusionPlan.Normalisation.name(of: c.modality), default: 0] += 1 }
        let modalityName = modalityCounts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key ?? "unknown"
        let channelNames: [(String, J)] = (0..<channels).map { (String($0), .s(channels == 1 ? modalityName : "\(modalityName)_\($0)")) }
        var labels: [(String, J)] = [("background", .i(0))]
        for l in plan.labels where l.value != 0 { labels.append((l.name, .i(l.value))) }
        let cases: [(String, J)] = labelled.map { c in
            (c.dataset.split(separator: "/").last.map(String.init).map { $0 + "__" } ?? "") + c.id.replacing("/", with: "_")
        }.enumerated().map { (i, key) in
            let c = labelled[i]
            return (key, .o([("images", .a(c.images.map { .s(full(c, $0)) })), ("label", .s(full(c, c.label!)))]))
        }
        try put("dataset.json", try json(.o([
            ("channel_names", .o(channelNames)), ("labels", .o(labels)), ("numTraining", .i(labelled.count)),
            ("file_ending", .s(ending(plan))), ("name", .s("ImagingX fused: " + datasets.map(\.name).joined(separator: " + "))),
            ("description", .s("Written by imagingx plan; target spacing \(plan.target_spacing.map(Fingerprinter.fmt).joined(separator: " x ")) mm (x, y, z in the RAS frame: each case reoriented before the rule; per-case zooms are given in both frames in items.jsonl). Files are referenced where they are; nothing was copied.")),
            ("dataset", .o(cases)),
        ])) + [0x0A])
        // MONAI datalist.
        try put("datalist.json", try json(.o([
            ("training", .a(plan.cases.filter { $0.label != nil }.map { c in
                let images = imagePaths(c)
                return .o([("image", images.count == 1 ? .s(images[0]) : .a(images.map { .s($0) })), ("label", .s(full(c, c.label!)))])
            })),
            ("unlabelled", .a(plan.cases.filter { $0.label == nil }.map { c in
                let images = imagePaths(c)
                return .o([("image", images.count == 1 ? .s(images[0]) : .a(images.map { .s($0) }))])
            })),
        ])) + [0x0A])
        // MDFP data-meta.jsonl: one line per dataset.
        var meta: [UInt8] = []
        for d in datasets {
            let fp = d.fingerprint
            let cat = d.catalog
            let modalities = cat?.modality ?? (d.modality.map { [$0] } ?? [])
            meta += try json(.o([
                ("dataset_name", .s(cat?.name ?? fp.dataset ?? d.name)), ("release_date", cat?.year.map { .s(String($0)) } ?? .null),
                ("homepage_url", cat?.url.map { .s($0) } ?? .null), ("organization", .null), ("challenge_series", .null),
                ("license", cat?.licence.map { .s($0) } ?? .null),
                ("description", .s("\(fp.cases) cases at \(d.root); fingerprinted by ImagingX")),
                ("modality_primary", modalities.first.map { .s($0.rawValue) } ?? .null),
                ("modality_secondary", .a(modalities.dropFirst().map { .s($0.rawValue) })),
                ("anatomical_structure", .a((cat?.anatomy ?? []).map { .s($0) })), ("disease", cat?.diseases.map { .s($0) } ?? .null),
                ("data_volume", .s("\(fp.cases) cases")), ("valid_image_n", .i(fp.cases - fp.cases_failed.count)),
                ("label_presence", .b(fp.cases_with_labels > 0)),
                ("task_type", .a((cat?.task ?? (fp.cases_with_labels > 0 ? ["seg"] : [])).map { .s($0) })),
                ("num_classes_per_task", fp.labels.isEmpty ? .null : .o([("seg", .i(fp.labels.count))])),
            ]), pretty: false) + [0x0A]
        }
        try put("data-meta.jsonl", meta)
        // Per item: the record, its media geometry and its plan.
        var items: [UInt8] = []
        var csv = Array("dataset,id,image,label,spacing_x,spacing_y,spacing_z,dim_x,dim_y,dim_z,orientation,zoom_x,zoom_y,zoom_z,new_x,new_y,new_z,output_bytes,warnings\n".utf8)
        for c in plan.cases {
            items += try json(.o([
                ("record", .o([("dataset", .s(c.dataset)), ("id", .s(c.id)), ("images", .a(imagePaths(c).map { .s($0) })),
                               ("label", c.label.map { .s(full(c, $0)) } ?? .null), ("modality", c.modality.map { .s($0.rawValue) } ?? .null)])),
                ("media_geometry", .o([("spacing", .a(c.spacing.map { .n($0) })), ("orientation", c.orientation.map { .s($0) } ?? .null),
                                       ("dims", .a(c.dims.map { .i($0) }))])),
                ("plan", .o([("target_spacing", .a(plan.target_spacing.map { .n($0) })), ("zoom", .a(c.zoom.map { .n($0) })),
                             ("new_shape", .a(c.new_shape.map { .i($0) })), ("ras_axes", .a(c.ras_axes.map { .i($0) })),
                             ("zoom_ras", .a(c.zoom_ras.map { .n($0) })), ("new_shape_ras", .a(c.new_shape_ras.map { .i($0) })), ("resampling", .a(c.resampling.map { .s($0) })),
                             ("output_bytes", .i(c.output_bytes)), ("warnings", .a(c.warnings.map { .s($0) }))])),
            ]), pretty: false) + [0x0A]
            let labelPath: String = c.label.map { full(c, $0) } ?? ""
            var fields: [String] = [c.dataset, c.id, imagePaths(c)[0], labelPath]
            fields += c.spacing.map { Fingerprinter.fmt($0) }
            fields += c.dims.map { String($0) }
            fields.append(c.orientation ?? "")
            fields += c.zoom.map { Fingerprinter.fmt($0) }
            fields += c.new_shape.map { String($0) }
            fields.append(String(c.output_bytes))
            fields.append(c.warnings.joined(separator: "; "))
            CSV.appendRow(fields, to: &csv)
        }
        try put("items.jsonl", items)
        try put("plan.csv", csv)
        try put("plan.json", try Fingerprinter.encode(plan))
        return written
    }

    public struct ExportError: Error, CustomStringConvertible { public var description: String }
}

#if canImport(Glibc)
import Glibc
#endif
