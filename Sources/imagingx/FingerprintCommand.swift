import ArgumentParser
import ImagingX
#if canImport(Glibc)
import Glibc
#endif

struct Fingerprint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a dataset folder: spacing, shape, orientation, intensity and label statistics, outliers.",
        discussion: """
            Cases are found by the folder's layout (--layout, default auto): nnunet (dataset.json, imagesTr/, \
            labelsTr/, or dataset.json's `dataset` dict), msd (dataset.json's `training` list; entries may be \
            DICOM series folders), kits (case folders with imaging + segmentation), brats (case folders with \
            t1/t1ce/t2/flair or t1n/t1c/t2w/t2f channels and a seg label), datalist (a MONAI datalist given \
            with --datalist; paths relative to --root or the datalist's folder) or plain (one case per image, \
            labels paired by name, DICOM series volumes with their DICOM SEG labels). Auto checks them in \
            that order (msd, nnunet, kits, brats, plain); the layout is printed and stored in the JSON. \
            A listed case that is missing or unreadable goes to cases_failed with its path and reason; a \
            numTraining that disagrees with the cases found is a dataset finding.
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

    @Option(help: ArgumentHelp("Only the cases of the folders shard K of N owns; --output then gets their summaries (a part for `imagingx merge`).", valueName: "K/N"))
    var shard: String?

    @Option(parsing: .upToNextOption, help: "Build the fingerprint from per-case summary files instead of a folder.")
    var merge: [String] = []

    @Option(help: "The dataset layout: auto, nnunet, msd, kits, brats, datalist or plain.")
    var layout: String = "auto"

    @Option(help: "A MONAI datalist JSON ({\"training\": [{\"image\", \"label\"}], \"validation\": …}); replaces FOLDER.")
    var datalist: String?

    @Option(help: "The datalist's base folder (default: the datalist's own folder).")
    var root: String?

    @Option(help: "Label file suffixes for the plain layout (comma-separated).")
    var labelSuffixes: String = CaseFinder.defaultLabelSuffixes.joined(separator: ",")

    @Option(name: .shortAndLong, help: "Parallel workers (default: the number of cores).")
    var jobs: Int?

    func validate() throws {
        if folder == nil && merge.isEmpty && datalist == nil { throw ValidationError("give a dataset FOLDER, --datalist FILE or --merge FILE...") }
        if layout != "auto" && DatasetLayout(rawValue: layout) == nil {
            throw ValidationError("--layout must be one of auto, " + DatasetLayout.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if datalist != nil && folder != nil { throw ValidationError("--datalist replaces FOLDER: give its base folder with --root") }
        if datalist != nil && layout != "auto" && layout != DatasetLayout.datalist.rawValue {
            throw ValidationError("--datalist reads a datalist: --layout \(layout) does not apply")
        }
        if datalist == nil && layout == DatasetLayout.datalist.rawValue { throw ValidationError("--layout datalist needs --datalist FILE") }
        if root != nil && datalist == nil { throw ValidationError("--root is the base folder of --datalist") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        try validateShard(shard, output: output)
        if shard != nil, !merge.isEmpty { throw ValidationError("--shard reads a folder, not --merge files") }
    }

    func run() throws {
        var request = FingerprintRequest(folder: datalist != nil ? root : folder, caseFiles: merge,
                                         labelSuffixes: labelSuffixes.split(separator: ",").map(String.init),
                                         jobs: jobs ?? Defaults.jobs, layout: DatasetLayout(rawValue: layout),
                                         datalist: datalist)
        request.shard = shard.flatMap(Shard.init(spec:))
        let result: FingerprintResult
        let line = PoolProgressLine(label: "fingerprint", enabled: isatty(2) == 1)
        do { result = try FingerprintDataset.run(request) } catch { line.stop(); throw error.cliError }
        line.stop()
        // The layout, dataset findings and failed cases, on standard error (standard output may be the JSON).
        let how = folder == nil && datalist == nil ? "from the --merge files" : layout == "auto" && datalist == nil ? "detected" : "given"
        var lines = ["layout: \(result.fingerprint.layout.rawValue) (\(how))"]
        lines += result.fingerprint.dataset_findings.map { "finding: " + $0 }
        lines += result.fingerprint.cases_failed.map { "case failed: \($0.case_id) (\($0.path)): \($0.reason)" }
        writeStderr(lines.joined(separator: "\n") + "\n")
        if let saveCases { try write(Fingerprinter.encode(result.caseSet), to: saveCases) }
        if request.shard != nil, let output {
            do { try FingerprintDataset.writeShard(result, request: request, to: output) } catch {
                writeStderr("imagingx: \(error)\n")
                throw ExitCode(1)
            }
            return
        }
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
