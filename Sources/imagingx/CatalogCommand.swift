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
            let result: CatalogImportResult
            do { result = try ImportCatalog.run(CatalogImportRequest(source: source), into: FileCatalogStore(path: catalogFile)) } catch {
                throw error.cliError
            }
            if json {
                let bytes = try result.catalog.encoded()
                bytes.withUnsafeBytes { _ = Glibc.write(1, $0.baseAddress, $0.count) }
                return
            }
            let catalog = result.catalog
            var out = "imported \(catalog.rows_read) rows from \(source): \(catalog.entries.count) datasets "
                + "(\(catalog.duplicates_merged) duplicate rows merged) → \(result.location)\n"
            out += "findings:\n"
            for f in result.findingsByCount {
                out += "  \(f.code) ×\(f.count): \(f.message) (e.g. \(f.examples.prefix(3).joined(separator: "; ")))\n"
            }
            writeStdout(out)
        }
    }
}

extension CatalogCommand {
    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Search the catalog (the imported survey table, else the built-in starter catalog).",
            discussion: "Strict matches first, then near matches that miss one constraint, each with the constraint it misses.")

        @Option(help: "Modality: CT, MR, PET, SPECT, US, X-ray, CR, DX, MG, OCT, fundus, endoscopy, dermoscopy, WSI, microscopy, ...; repeat it for datasets that hold every one (--modality PET --modality CT).")
        var modality: [String] = []
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
        @Option(help: "Free text: every word (or a spelling variant, synonym or abbreviation of it: tumour/tumor, GBM/glioblastoma, CXR/chest X-ray) must appear in the name, disease or raw fields; the most relevant come first.")
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
            var q = CatalogQuery()
            q.modalities = modality; q.anatomy = anatomy; q.task = task; q.dim = dim; q.disease = disease
            q.labelled = labelled; q.access = access; q.platform = platform; q.text = text; q.openFirst = openFirst
            let result: CatalogSearchResult
            do { result = try SearchCatalog.run(CatalogSearchRequest(query: q), in: FileCatalogStore(path: catalogFile)) } catch {
                throw error.cliError
            }
            if json {
                writeStdout(String(decoding: try Fingerprinter.encode(result), as: UTF8.self))
                return
            }
            var text = "catalog: \(result.catalog) (\(result.catalogSize) datasets)\n"
            text += "\(result.strict.count) matching:\n" + table(result.strict.prefix(limit).map { ($0, nil) })
            text += "\n\(result.near.count) near matches (one constraint missed):\n"
                + table(result.near.prefix(limit).map { ($0.entry, $0.misses) }, near: true)
            writeStdout(text)
        }

        /// Entries (with the constraint each misses, for near matches) as aligned columns.
        func table(_ hits: [(entry: CatalogEntry, misses: String?)], near: Bool = false) -> String {
            var rows = [["name", "modality", "anatomy", "task", "dim", "samples", "access", "year"] + (near ? ["misses"] : [])]
            for h in hits {
                let e = h.entry
                let samples = e.samples.map { "\($0)\(e.samples_lower_bound ? "+" : "") \(e.samples_unit ?? "")" } ?? "?"
                let name: String = String(e.name.prefix(36))
                let anatomy: String = String(e.anatomy.joined(separator: ",").prefix(28))
                let year: String = e.year.map { String($0) } ?? "?"
                var row: [String] = [name, e.modality.map(\.rawValue).joined(separator: ","), anatomy]
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
