import ArgumentParser
import ImagingX
#if canImport(Glibc)
import Glibc
#endif

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "The resampling and normalisation plan for fusing dataset folders; optionally export nnU-Net, MONAI and MDFP manifests.",
        discussion: """
            Target spacing by nnU-Net v2's rule (median per axis; a markedly coarser, thinner axis takes its 10th \
            percentile, clamped to the in-plane spacing) or --target X,Y,Z (mm, x y z). Per case: zoom factors, new \
            shape, up/down-sampling per axis, output bytes (float32), warnings. Normalisation per modality with its \
            pooled parameters. A label map for the union of label names, with conflicts. --export DIR writes \
            manifests only: images are never copied or modified.
            """)

    @Argument(help: "Dataset folders.")
    var datasets: [String]

    @Option(help: "auto (nnU-Net's rule) or X,Y,Z in mm.")
    var target = "auto"

    @Option(help: "Write dataset.json (nnU-Net v2), datalist.json (MONAI), data-meta.jsonl, items.jsonl, plan.csv, plan.json into DIR.")
    var export: String?

    @Option(name: .customLong("catalog"), help: "Attach a catalog entry: DATASET=NAME (repeatable).")
    var catalogNames: [String] = []

    @Option(help: "Catalog file (default: the imported one, else the built-in starter catalog).")
    var catalogFile: String?

    @Flag(help: "Print the plan as JSON.")
    var json = false

    @Option(name: .shortAndLong, help: "Parallel workers.")
    var jobs: Int?

    func run() throws {
        var fixed: [Double]?
        if target != "auto" {
            let parts = target.split(separator: ",").compactMap { Double($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw ValidationError("--target must be auto or X,Y,Z with three positive spacings in mm")
            }
            fixed = parts
        }
        var attached: [String: CatalogEntry] = [:]
        if !catalogNames.isEmpty {
            let catalog = try CatalogCommand.load(catalogFile)
            for spec in catalogNames {
                let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("--catalog \(spec): expected DATASET=NAME") }
                do { attached[parts[0].trimmingSlashes] = try catalog.resolve(parts[1]) } catch {
                    writeStderr("imagingx: --catalog \(spec): \(error.description)\n")
                    throw ExitCode(2)
                }
            }
        }
        let workers = jobs ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var inputs: [Planner.Input] = []
        var refs: [Exporter.DatasetRef] = []
        for d in datasets {
            let (info, cases) = Fingerprinter.summarizeFolder(d, jobs: workers)
            let fp = Fingerprinter.reduce(cases, info: info)
            let cat = attached[d.trimmingSlashes]
            let modality = Compat.modalities(DatasetContext(name: d, fingerprint: fp, catalog: cat)).sorted().first
            inputs.append(Planner.Input(name: d, info: info, cases: cases, modality: modality))
            refs.append(Exporter.DatasetRef(name: d, root: absolute(d), fingerprint: fp, catalog: cat, modality: modality))
        }
        let plan = Planner.plan(inputs, target: fixed)
        if let export {
            let files = try Exporter.write(plan, datasets: refs, to: export)
            writeStderr("wrote \(files.joined(separator: ", "))\n")
        }
        if json {
            writeStdout(String(decoding: try Fingerprinter.encode(plan), as: UTF8.self))
            return
        }
        var out = "target spacing \(plan.target_spacing.map(Fingerprinter.fmt).joined(separator: " × ")) mm (x × y × z): \(plan.rule)\n"
        out += "target orientation \(plan.target_orientation ?? "unknown")\n"
        out += "\(plan.cases.count) cases, \(plan.total_output_bytes / 1_000_000) MB as float32 after resampling\n\nnormalisation:\n"
        for n in plan.normalisation {
            let params = n.parameters.sorted { $0.key < $1.key }.map { "\($0.key) \(Fingerprinter.fmt($0.value))" }.joined(separator: ", ")
            out += "  \(n.modality) (\(n.datasets.joined(separator: ", "))): \(n.scheme)\(params.isEmpty ? "" : " — " + params)\n"
        }
        out += "\nlabels: " + plan.labels.map { "\($0.value) \($0.name)" }.joined(separator: ", ") + "\n"
        for c in plan.label_conflicts { out += "  conflict: \(c)\n" }
        out += "\ncases:\n"
        for c in plan.cases {
            out += "  \(c.dataset)/\(c.id): \(c.dims.map(String.init).joined(separator: "×")) → \(c.new_shape.map(String.init).joined(separator: "×")) (\(c.resampling.joined(separator: ", ")))\n"
            for w in c.warnings { out += "    warning: \(w)\n" }
        }
        for w in plan.warnings { out += "warning: \(w)\n" }
        writeStdout(out)
    }

    func absolute(_ p: String) -> String {
        if p.hasPrefix("/") { return p.trimmingSlashes }
        var buf = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buf, buf.count) != nil else { return p }
        let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return cwd + "/" + p.trimmingSlashes
    }
}
