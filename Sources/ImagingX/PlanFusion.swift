/// The resampling and normalisation plan for fusing dataset folders, optionally exported as
/// nnU-Net, MONAI and MDFP manifests.
public struct PlanRequest: Sendable {
    /// The target spacing: nnU-Net v2's rule, or fixed (x, y, z in mm).
    public enum Target: Sendable, Equatable {
        case auto
        case fixed([Double])

        /// "auto" or "X,Y,Z" (parts that are not numbers are skipped, as before); three finite
        /// spacings > 0 are required.
        public init(parsing text: String) throws(PlanError) {
            if text == "auto" { self = .auto; return }
            let parts = text.split(separator: ",").compactMap { Double($0) }
            guard Self.valid(parts) else { throw .invalidTarget(text) }
            self = .fixed(parts)
        }

        /// Three spacings from 1 µm to 1 m.
        static func valid(_ spacing: [Double]) -> Bool { spacing.count == 3 && spacing.allSatisfy { $0 >= 0.001 && $0 <= 1000 } }
    }

    public var datasets: [String]
    public var target: Target
    public var catalog: CatalogAttachments
    /// Write the manifests here (created, one level); images are never copied.
    public var exportDirectory: String?
    public var jobs: Int

    public init(datasets: [String], target: Target = .auto, catalog: CatalogAttachments = CatalogAttachments(),
                exportDirectory: String? = nil, jobs: Int = Defaults.jobs) {
        self.datasets = datasets
        self.target = target
        self.catalog = catalog
        self.exportDirectory = exportDirectory
        self.jobs = jobs
    }
}

public struct PlanResult: Sendable {
    public var plan: FusionPlan
    /// Per dataset, in request order: absolute root, fingerprint, catalog entry and the modality
    /// it is planned as (`Compat.dominantModality`).
    public var datasets: [Exporter.DatasetRef]
    /// The manifests written to `exportDirectory` (empty without one).
    public var exported: [String]
}

public enum PlanError: Error, CustomStringConvertible {
    case invalidTarget(String)
    /// 2D and 3D datasets in one request: nnU-Net plans them separately, and so must the user.
    case mixedDimensionality(twoD: [String], threeD: [String])
    case export(directory: String, underlying: any Error)

    public var description: String {
        switch self {
        case .invalidTarget: "--target must be auto or X,Y,Z with three spacings from 0.001 to 1000 mm"
        case .mixedDimensionality(let twoD, let threeD):
            "the datasets mix 2D images (\(twoD.joined(separator: ", "))) with 3D volumes (\(threeD.joined(separator: ", "))); "
                + "a resampling plan is made for one kind at a time, as nnU-Net plans 2D and 3D data separately: plan each set on its own"
        case .export(let directory, let underlying): "cannot export to \(directory): \(underlying)"
        }
    }
}

public enum PlanFusion {
    public static func run(_ request: PlanRequest) throws(PlanError) -> PlanResult {
        var fixed: [Double]?
        if case .fixed(let spacing) = request.target {
            guard PlanRequest.Target.valid(spacing) else { throw .invalidTarget(spacing.map { "\($0)" }.joined(separator: ",")) }
            fixed = spacing
        }
        var inputs: [Planner.Input] = []
        var refs: [Exporter.DatasetRef] = []
        for d in request.datasets {
            let (info, cases) = Fingerprinter.summarizeFolder(d, jobs: request.jobs)
            let fp = Fingerprinter.reduce(cases, info: info)
            let entry = request.catalog.entry(for: d)
            let modality = Compat.dominantModality(DatasetContext(name: d, fingerprint: fp, catalog: entry))
            inputs.append(Planner.Input(name: d, info: info, cases: cases, modality: modality))
            refs.append(Exporter.DatasetRef(name: d, root: FileIO.absolute(d), fingerprint: fp, catalog: entry, modality: modality))
        }
        // Never drop a dataset without a word: 2D images and 3D volumes are planned separately.
        let readable = inputs.map { input in (input.name, input.cases.filter { $0.error == nil }.map(\.dims.count)) }
        let twoD = readable.filter { !$0.1.isEmpty && $0.1.allSatisfy { $0 < 3 } }.map(\.0)
        let threeD = readable.filter { $0.1.contains { $0 >= 3 } }.map(\.0)
        if !twoD.isEmpty, !threeD.isEmpty { throw .mixedDimensionality(twoD: twoD, threeD: threeD) }
        let plan = Planner.plan(inputs, target: fixed)
        var exported: [String] = []
        if let dir = request.exportDirectory {
            do { exported = try Exporter.write(plan, datasets: refs, to: dir) } catch { throw .export(directory: dir, underlying: error) }
        }
        return PlanResult(plan: plan, datasets: refs, exported: exported)
    }
}
