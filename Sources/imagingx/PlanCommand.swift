import ArgumentParser
import ImagingX

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
        let planTarget: PlanRequest.Target
        do { planTarget = try PlanRequest.Target(parsing: target) } catch { throw error.cliError }
        let attached: CatalogAttachments
        do { attached = try CatalogAttachments.resolve(catalogNames, in: FileCatalogStore(path: catalogFile)) } catch { throw error.cliError }
        let request = PlanRequest(datasets: datasets, target: planTarget, catalog: attached, exportDirectory: export, jobs: jobs ?? Defaults.jobs)
        let result: PlanResult
        do { result = try PlanFusion.run(request) } catch { throw error.cliError }
        if export != nil { writeStderr("wrote \(result.exported.joined(separator: ", "))\n") }
        if json {
            writeStdout(String(decoding: try Fingerprinter.encode(result.plan), as: UTF8.self))
            return
        }
        writeStdout(text(result.plan))
    }

    /// Target, normalisation per modality, the label map and every case's resampling.
    func text(_ plan: FusionPlan) -> String {
        var out = "target spacing \(plan.target_spacing.map(Fingerprinter.fmt).joined(separator: " × ")) mm (x × y × z in the RAS frame; every case reoriented before the rule): \(plan.rule)\n"
        out += "target orientation \(plan.target_orientation ?? "unknown")\n"
        out += "\(plan.cases.count) cases, \(plan.total_output_bytes / 1_000_000) MB as float32 after resampling\n\nnormalisation:\n"
        for n in plan.normalisation {
            let params = n.parameters.sorted { $0.key < $1.key }.map { "\($0.key) \(Fingerprinter.fmt($0.value))" }.joined(separator: ", ")
            out += "  \(n.modalityName) (\(n.datasets.joined(separator: ", "))): \(n.scheme)\(params.isEmpty ? "" : " — " + params)\n"
        }
        out += "\nlabels: " + plan.labels.map { "\($0.value) \($0.name)" }.joined(separator: ", ") + "\n"
        for c in plan.label_conflicts { out += "  conflict: \(c)\n" }
        out += "\ncases:\n"
        for c in plan.cases {
            out += "  \(c.dataset)/\(c.id): \(c.dims.map(String.init).joined(separator: "×")) → \(c.new_shape.map(String.init).joined(separator: "×"))"
                + " stored \(c.orientation ?? "?") (\(c.resampling.joined(separator: ", ")))\n"
            for w in c.warnings { out += "    warning: \(w)\n" }
        }
        for w in plan.warnings { out += "warning: \(w)\n" }
        return out
    }
}
