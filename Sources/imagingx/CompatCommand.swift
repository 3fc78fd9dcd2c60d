import ArgumentParser
import ImagingX

struct CompatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compat",
        abstract: "Pairwise compatibility of datasets for fusion, in [0, 1], with a reason per factor.",
        discussion: """
            Each DATASET is a folder (fingerprinted now) or a fingerprint JSON written by `imagingx fingerprint`. \
            Score = weighted mean of the factor scores (modality, dim, task, anatomy, labels, spacing, intensity, \
            dtype, channels, orientation, licence), and 0 when the modalities are known and disjoint. \
            Change a weight with --weight FACTOR=W (repeatable). See the README for the formula and a worked example.
            """)

    @Argument(help: "Two or more dataset folders or fingerprint JSON files.")
    var datasets: [String]

    @Option(name: .customLong("catalog"), help: "Attach a catalog entry: DATASET=NAME (fuzzy name; refuses to guess when ambiguous). Repeatable.")
    var catalogNames: [String] = []

    @Option(help: "Catalog file (default: the imported one, else the built-in starter catalog).")
    var catalogFile: String?

    @Option(name: .customLong("weight"), help: "FACTOR=WEIGHT, e.g. spacing=3. Repeatable.")
    var weights: [String] = []

    @Option(help: "Fusion groups: datasets joined when a pair scores at least this.")
    var groupThreshold = 0.6

    @Flag(help: "Let two datasets whose modalities are both unknown join a fusion group (off: unknown is not agreement).")
    var groupUnknownModality = false

    @Flag(help: "JSON for programs.")
    var json = false

    @Option(name: .shortAndLong, help: "Parallel workers for fingerprinting folders.")
    var jobs: Int?

    func validate() throws {
        if datasets.count < 2 { throw ValidationError("give at least two datasets") }
    }

    func run() throws {
        var w = CompatWeights()
        do { try w.apply(weights) } catch { throw ValidationError(error.description) }
        let attached: CatalogAttachments
        do { attached = try CatalogAttachments.resolve(catalogNames, in: FileCatalogStore(path: catalogFile)) } catch { throw error.cliError }
        var request = CompatRequest(datasets: datasets, catalog: attached, weights: w, groupThreshold: groupThreshold,
                                    jobs: jobs ?? Defaults.jobs)
        request.groupUnknownModality = groupUnknownModality
        let report: CompatReport
        do { report = try CompareDatasets.run(request) } catch { throw error.cliError }
        if json {
            writeStdout(String(decoding: try Fingerprinter.encode(report), as: UTF8.self))
            return
        }
        writeStdout(text(report))
    }

    /// The matrix of rounded scores, each pair's factors with their reasons, and the groups.
    func text(_ report: CompatReport) -> String {
        let pairs = report.pairs, groups = report.groups
        var out = "compatibility (0 = do not fuse voxel-wise, 1 = fuse as is)\n\n"
        let names = report.datasets
        let width = max(10, (names.map(\.count).max() ?? 0))
        out += String(repeating: " ", count: width) + "  " + names.indices.map { String(format5("#\($0 + 1)")) }.joined(separator: " ") + "\n"
        for (i, n) in names.enumerated() {
            var row = n + String(repeating: " ", count: width - n.count) + "  "
            for j in names.indices {
                if i == j { row += format5("—") + " "; continue }
                let p = report.pair(names[min(i, j)], names[max(i, j)])!
                row += format5(Fingerprinter.fmt((p.score * 100).rounded() / 100)) + " "
            }
            out += "#\(i + 1) " + row + "\n"
        }
        for p in pairs {
            out += "\n\(p.a) × \(p.b): \(Fingerprinter.fmt((p.score * 1000).rounded() / 1000))\(p.gated ? " (modality gate)" : "")\n"
            for f in p.factors {
                out += "  \(f.name.rawValue) \(Fingerprinter.fmt((f.score * 100).rounded() / 100)) ×\(Fingerprinter.fmt(f.weight)): \(f.reason)\n"
            }
            out += "  shared cases (same voxels): \(p.shared_cases.count)"
            out += p.shared_cases.isEmpty ? "\n" : " — " + p.shared_cases.prefix(5).map { "\($0[0]) = \($0[1])" }.joined(separator: ", ") + (p.shared_cases.count > 5 ? ", …" : "") + "\n"
        }
        out += "\nfusion groups (pairs scoring ≥ \(Fingerprinter.fmt(report.threshold))):\n"
        for (i, g) in groups.enumerated() {
            out += "  \(i + 1). \(g.datasets.joined(separator: " + ")): \(g.cases) cases"
            out += g.duplicate_cases > 0 ? " (\(g.duplicate_cases) duplicates counted once)" : ""
            out += ", \(g.voxels) voxels, \(g.bytes) bytes; modalities \(g.modalities.map(\.rawValue).joined(separator: ", ")); labels \(g.labels.joined(separator: ", "))\n"
        }
        return out
    }

    func format5(_ s: String) -> String { s.count >= 5 ? s : String(repeating: " ", count: 5 - s.count) + s }
}
