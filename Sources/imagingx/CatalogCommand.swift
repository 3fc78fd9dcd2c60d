import ArgumentParser
import ImagingX
#if canImport(Glibc)
import Glibc
#endif

struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Import, normalise and search a catalog of public imaging datasets (MDFP).",
        subcommands: [Import.self, Search.self])

    /// Where the imported catalog lives: --catalog-file, else $IMAGINGX_HOME/catalog.json, else
    /// ~/.imagingx/catalog.json.
    static func defaultPath() -> String {
        if let home = getenv("IMAGINGX_HOME") { return String(cString: home) + "/catalog.json" }
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        return home + "/.imagingx/catalog.json"
    }

    static func load(_ path: String?) throws -> Catalog {
        let file = path ?? defaultPath()
        guard let bytes = FileBytes.read(file) else {
            if path != nil { writeStderr("imagingx: cannot read catalog \(file)\n"); throw ExitCode(1) }
            return StarterCatalog.catalog
        }
        return try Catalog.decode(bytes)
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the survey's table (JSON rows, a FILE or an http(s) URL), normalise it and store it.")

        @Argument(help: "The survey table: a JSON file, or an http(s) URL (fetched with curl).")
        var source: String

        @Option(help: "Where to store the normalised catalog (default: $IMAGINGX_HOME/catalog.json or ~/.imagingx/catalog.json).")
        var catalogFile: String?

        @Flag(help: "Print the normalised catalog as JSON instead of the summary.")
        var json = false

        func run() throws {
            let bytes: [UInt8]
            if source.hasPrefix("http://") || source.hasPrefix("https://") {
                bytes = try fetch(source)
            } else {
                guard let b = FileBytes.read(source) else {
                    writeStderr("imagingx: cannot read \(source): \(String(cString: strerror(errno)))\n")
                    throw ExitCode(1)
                }
                bytes = b
            }
            let catalog: Catalog
            do { catalog = try Catalog.importSurvey(bytes, source: source) } catch {
                writeStderr("imagingx: \(source) is not the survey's table (a JSON array of rows): \(error)\n")
                throw ExitCode(1)
            }
            let path = catalogFile ?? CatalogCommand.defaultPath()
            let dir = String(path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
            if !dir.isEmpty { mkdir(dir, 0o755) }
            guard let sink = try? FileSink(path: path) else {
                writeStderr("imagingx: cannot write \(path): \(String(cString: strerror(errno)))\n")
                throw ExitCode(1)
            }
            sink.write(try catalog.encoded())
            sink.close()
            if json {
                let bytes = try catalog.encoded()
                bytes.withUnsafeBytes { _ = Glibc.write(1, $0.baseAddress, $0.count) }
                return
            }
            var out = "imported \(catalog.rows_read) rows from \(source): \(catalog.entries.count) datasets "
                + "(\(catalog.duplicates_merged) duplicate rows merged) → \(path)\n"
            out += "findings:\n"
            for f in catalog.findings.sorted(by: { $0.count > $1.count }) {
                out += "  \(f.code) ×\(f.count): \(f.message) (e.g. \(f.examples.prefix(3).joined(separator: "; ")))\n"
            }
            writeStdout(out)
        }

        func fetch(_ url: String) throws -> [UInt8] {
            var pipe: [Int32] = [0, 0]
            guard Glibc.pipe(&pipe) == 0 else { throw ExitCode(1) }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
            posix_spawn_file_actions_addclose(&actions, pipe[0])
            var pid: pid_t = 0
            let args = ["curl", "-fsSL", "--max-time", "60", url]
            let cargs = args.map { strdup($0) } + [nil]
            defer { cargs.forEach { free($0) } }
            let rc = posix_spawnp(&pid, "curl", &actions, nil, cargs, environ)
            posix_spawn_file_actions_destroy(&actions)
            close(pipe[1])
            guard rc == 0 else {
                close(pipe[0])
                writeStderr("imagingx: cannot fetch \(url): curl is not installed\n")
                throw ExitCode(1)
            }
            var out: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = buf.withUnsafeMutableBytes { Glibc.read(pipe[0], $0.baseAddress, $0.count) }
                if n <= 0 { break }
                out += buf[0..<n]
            }
            close(pipe[0])
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let code = (status >> 8) & 0xFF
            guard code == 0 else {
                let why = code == 6 || code == 7 ? "no network (could not resolve or connect)" : code == 22 ? "the server answered with an HTTP error" : code == 28 ? "timed out" : "curl exit code \(code)"
                writeStderr("imagingx: cannot fetch \(url): \(why). Download it and import the file instead.\n")
                throw ExitCode(1)
            }
            return out
        }
    }
}

extension CatalogCommand {
    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search the catalog (the imported survey table, else the built-in starter catalog).",
            discussion: "Strict matches first, then near matches that miss one constraint, each with the constraint it misses.")

        @Option(help: "Modality: CT, MR, PET, SPECT, US, X-ray, CR, DX, MG, OCT, fundus, endoscopy, dermoscopy, WSI, microscopy, ...")
        var modality: String?
        @Option(help: "Anatomy; a region also finds its parts (chest finds lung and heart).")
        var anatomy: String?
        @Option(help: "Task: seg, cls, det, reg, rec, pred, track, gen, vqa, report, qa, est, loc.")
        var task: String?
        @Option(help: "Dimensionality: 2D, 3D, 4D, video.")
        var dim: String?
        @Option(help: "Disease (words in the disease field).")
        var disease: String?
        @Flag(inversion: .prefixedNo, help: "Only labelled (--labelled) or unlabelled (--no-labelled) datasets.")
        var labelled: Bool?
        @Option(help: "Access: open, registration, application, unknown.")
        var access: String?
        @Option(help: "Platform in the URL or download notes: tcia, kaggle, grand-challenge, physionet, synapse, zenodo, github, ...")
        var platform: String?
        @Option(help: "Free text: every word must appear in the name, disease or raw fields.")
        var text: String?
        @Flag(help: "Rank open-access datasets first.")
        var openFirst = false
        @Option(help: "Show at most N strict and N near matches in the table.")
        var limit = 20
        @Flag(help: "JSON for programs instead of a table.")
        var json = false
        @Option(help: "Catalog file (default: the imported one, else the built-in starter catalog).")
        var catalogFile: String?

        func run() throws {
            let catalog = try CatalogCommand.load(catalogFile)
            var q = CatalogQuery()
            q.modality = modality; q.anatomy = anatomy; q.task = task; q.dim = dim; q.disease = disease
            q.labelled = labelled; q.access = access; q.platform = platform; q.text = text; q.openFirst = openFirst
            let result: (strict: [CatalogQuery.Hit], near: [CatalogQuery.Hit])
            do { result = try q.run(catalog) } catch {
                writeStderr("imagingx: \(error)\n")
                throw ExitCode(2)
            }
            if json {
                struct Out: Encodable {
                    var catalog: String
                    var strict: [CatalogEntry]
                    var near: [Near]
                    struct Near: Encodable { var entry: CatalogEntry; var misses: String }
                }
                let out = Out(catalog: catalog.source, strict: result.strict.map(\.entry),
                              near: result.near.map { .init(entry: $0.entry, misses: $0.misses ?? "") })
                writeStdout(String(decoding: try Fingerprinter.encode(out), as: UTF8.self))
                return
            }
            var text = "catalog: \(catalog.source) (\(catalog.entries.count) datasets)\n"
            text += "\(result.strict.count) matching:\n" + table(result.strict.prefix(limit), near: false)
            text += "\n\(result.near.count) near matches (one constraint missed):\n" + table(result.near.prefix(limit), near: true)
            writeStdout(text)
        }

        func table(_ hits: ArraySlice<CatalogQuery.Hit>, near: Bool) -> String {
            var rows = [["name", "modality", "anatomy", "task", "dim", "samples", "access", "year"] + (near ? ["misses"] : [])]
            for h in hits {
                let e = h.entry
                let samples = e.samples.map { "\($0)\(e.samples_lower_bound ? "+" : "") \(e.samples_unit ?? "")" } ?? "?"
                let name: String = String(e.name.prefix(36))
                let anatomy: String = String(e.anatomy.joined(separator: ",").prefix(28))
                let year: String = e.year.map { String($0) } ?? "?"
                var row: [String] = [name, e.modality.joined(separator: ","), anatomy]
                row += [e.task.joined(separator: ","), e.dim.joined(separator: ","), samples, e.access, year]
                if near { row.append(h.misses ?? "") }
                rows.append(row)
            }
            let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
            return rows.map { r in
                zip(r, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
            }.joined(separator: "\n") + "\n"
        }
    }
}

func writeStdout(_ s: String) {
    let bytes = Array(s.utf8)
    bytes.withUnsafeBytes { _ = Glibc.write(1, $0.baseAddress, $0.count) }
}
