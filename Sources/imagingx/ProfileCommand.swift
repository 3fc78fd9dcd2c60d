import ArgumentParser
import ImagingX

struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "A local dataset folder's fingerprint, with its catalog entry when --catalog NAME is given.",
        discussion: "NAME is matched ignoring case and punctuation; a name that fits several datasets is refused with the candidates.")

    @Argument(help: "The dataset folder.")
    var folder: String

    @Option(help: "The dataset's name in the catalog.")
    var catalog: String?

    @Option(help: "Catalog file (default: the imported one, else the built-in starter catalog).")
    var catalogFile: String?

    @Option(help: "The dataset layout: auto (detected as fingerprint does), nnunet, msd, kits, brats or plain.")
    var layout: String = "auto"

    @Option(name: .shortAndLong, help: "Parallel workers.")
    var jobs: Int?

    func validate() throws {
        if layout != "auto" && (DatasetLayout(rawValue: layout) == nil || layout == DatasetLayout.datalist.rawValue) {
            throw ValidationError("--layout must be one of auto, nnunet, msd, kits, brats, plain")
        }
    }

    func run() throws {
        let request = ProfileRequest(folder: folder, catalogName: catalog, jobs: jobs ?? Defaults.jobs,
                                     layout: DatasetLayout(rawValue: layout))
        let result: ProfileResult
        do { result = try ProfileDataset.run(request, catalog: FileCatalogStore(path: catalogFile)) } catch { throw error.cliError }
        writeStdout(String(decoding: try Fingerprinter.encode(result), as: UTF8.self))
    }
}
