import ArgumentParser
import ImagingX
#if canImport(Glibc)
import Glibc
#endif

struct Fingerprint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a dataset folder: spacing, shape, orientation, intensity and label statistics, outliers.",
        discussion: """
            Cases are found from an nnU-Net/MSD layout (dataset.json, imagesTr/, labelsTr/) or, in any other \
            folder, one case per image with labels paired by name (IMAGE_seg, IMAGE_mask, IMAGE_label). \
            --save-cases writes the per-case summaries; --merge builds one fingerprint from several such files \
            (partial runs over parts of a dataset), identical to a single run over all cases.
            """)

    @Argument(help: "The dataset folder (omit with --merge).")
    var folder: String?

    @Option(name: .shortAndLong, help: "Write the fingerprint JSON to FILE instead of standard output.")
    var output: String?

    @Option(help: "Also write nnU-Net v2's dataset_fingerprint.json to FILE.")
    var nnunet: String?

    @Option(help: "Write the per-case summaries (mergeable) to FILE.")
    var saveCases: String?

    @Option(parsing: .upToNextOption, help: "Build the fingerprint from per-case summary files instead of a folder.")
    var merge: [String] = []

    @Option(help: "Label file suffixes for folders without imagesTr/labelsTr (comma-separated).")
    var labelSuffixes: String = CaseFinder.defaultLabelSuffixes.joined(separator: ",")

    @Option(name: .shortAndLong, help: "Parallel workers (default: the number of cores).")
    var jobs: Int?

    func validate() throws {
        if folder == nil && merge.isEmpty { throw ValidationError("give a dataset FOLDER or --merge FILE...") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let request = FingerprintRequest(folder: folder, caseFiles: merge,
                                         labelSuffixes: labelSuffixes.split(separator: ",").map(String.init),
                                         jobs: jobs ?? Defaults.jobs)
        let result: FingerprintResult
        do { result = try FingerprintDataset.run(request) } catch { throw error.cliError }
        if let saveCases { try write(Fingerprinter.encode(result.caseSet), to: saveCases) }
        let json = try Fingerprinter.encode(result.fingerprint)
        if let output { try write(json, to: output) } else { json.withUnsafeBytes { _ = Glibc.write(1, $0.baseAddress, $0.count) } }
        if let nnunet { try write(result.nnUNetFingerprint(), to: nnunet) }
    }

    func write(_ bytes: [UInt8], to path: String) throws {
        guard let sink = try? FileSink(path: path) else {
            writeStderr("imagingx: cannot write \(path): \(String(cString: strerror(errno)))\n")
            throw ExitCode(1)
        }
        sink.write(bytes)
        sink.close()
    }
}
