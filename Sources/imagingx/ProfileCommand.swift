import ArgumentParser
import ImagingX
#if canImport(Glibc)
import Glibc
#endif

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

    @Option(name: .shortAndLong, help: "Parallel workers.")
    var jobs: Int?

    func run() throws {
        var entry: CatalogEntry?
        if let catalog {
            do { entry = try CatalogCommand.load(catalogFile).resolve(catalog) } catch let e as Catalog.NameError {
                writeStderr("imagingx: --catalog: \(e.description)\n")
                throw ExitCode(2)
            }
        }
        let workers = jobs ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let (info, cases) = Fingerprinter.summarizeFolder(folder, jobs: workers)
        struct Profile: Encodable { var folder: String; var catalog: CatalogEntry?; var fingerprint: DatasetFingerprint }
        writeStdout(String(decoding: try Fingerprinter.encode(Profile(folder: folder, catalog: entry,
                                                                     fingerprint: Fingerprinter.reduce(cases, info: info))), as: UTF8.self))
    }
}
