import ArgumentParser
import ImagingX
#if canImport(Glibc)
import Glibc
#endif

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
        var attached: [String: CatalogEntry] = [:]
        if !catalogNames.isEmpty {
            let catalog = try CatalogCommand.load(catalogFile)
            for spec in catalogNames {
                let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else { throw ValidationError("--catalog \(spec): expected DATASET=NAME") }
                do { attached[parts[0]] = try catalog.resolve(parts[1]) } catch {
                    writeStderr("imagingx: --catalog \(spec): \(error.description)\n")
                    throw ExitCode(2)
                }
            }
        }
        let workers = jobs ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var contexts: [DatasetContext] = []
        for d in datasets {
            let fp: DatasetFingerprint
            if d.hasSuffix(".json"), let bytes = FileBytes.read(d) {
                fp = try Fingerprinter.decodeFingerprint(bytes)
            } else {
                let (info, cases) = Fingerprinter.summarizeFolder(d, jobs: workers)
                fp = Fingerprinter.reduce(cases, info: info)
            }
            let key = attached.keys.first { $0 == d || $0.trimmingSlashes == d.trimmingSlashes }
            contexts.append(DatasetContext(name: d, fingerprint: fp, catalog: key.flatMap { attached[$0] }))
        }
        var pairs: [Compatibility] = []
        for i in 0..<contexts.count {
            for j in (i + 1)..<contexts.count { pairs.append(Compat.score(contexts[i], contexts[j], weights: w)) }
        }
        let groups = Compat.groups(contexts, pairs, threshold: groupThreshold)
        if json {
            struct Out: Encodable { var pairs: [Compatibility]; var groups: [FusionGroup]; var threshold: Double }
            writeStdout(String(decoding: try Fingerprinter.encode(Out(pairs: pairs, groups: groups, threshold: groupThreshold)), as: UTF8.self))
            return
        }
        var out = "compatibility (0 = do not fuse voxel-wise, 1 = fuse as is)\n\n"
        let names = contexts.map(\.name)
        let width = max(10, (names.map(\.count).max() ?? 0))
        out += String(repeating: " ", count: width) + "  " + names.indices.map { String(format5("#\($0 + 1)")) }.joined(separator: " ") + "\n"
        for (i, n) in names.enumerated() {
            var row = n + String(repeating: " ", count: width - n.count) + "  "
            for j in names.indices {
                if i == j { row += format5("—") + " "; continue }
                let p = pairs.first { ($0.a == names[min(i, j)] && $0.b == names[max(i, j)]) }!
                row += format5(Fingerprinter.fmt((p.score * 100).rounded() / 100)) + " "
            }
            out += "#\(i + 1) " + row + "\n"
        }
        for p in pairs {
            out += "\n\(p.a) × \(p.b): \(Fingerprinter.fmt((p.score * 1000).rounded() / 1000))\(p.gated ? " (modality gate)" : "")\n"
            for f in p.factors {
                out += "  \(f.name) \(Fingerprinter.fmt((f.score * 100).rounded() / 100)) ×\(Fingerprinter.fmt(f.weight)): \(f.reason)\n"
            }
            out += "  shared cases (same voxels): \(p.shared_cases.count)"
            out += p.shared_cases.isEmpty ? "\n" : " — " + p.shared_cases.prefix(5).map { "\($0[0]) = \($0[1])" }.joined(separator: ", ") + (p.shared_cases.count > 5 ? ", …" : "") + "\n"
        }
        out += "\nfusion groups (pairs scoring ≥ \(Fingerprinter.fmt(groupThreshold))):\n"
        for (i, g) in groups.enumerated() {
            out += "  \(i + 1). \(g.datasets.joined(separator: " + ")): \(g.cases) cases"
            out += g.duplicate_cases > 0 ? " (\(g.duplicate_cases) duplicates counted once)" : ""
            out += ", \(g.voxels) voxels, \(g.bytes) bytes; modalities \(g.modalities.joined(separator: ", ")); labels \(g.labels.joined(separator: ", "))\n"
        }
        writeStdout(out)
    }

    func format5(_ s: String) -> String { s.count >= 5 ? s : String(repeating: " ", count: 5 - s.count) + s }
}

extension String {
    var trimmingSlashes: String {
        var s = self
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }
}
