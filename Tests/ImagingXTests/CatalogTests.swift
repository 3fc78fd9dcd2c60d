import Foundation
import ImagingX
import Testing

/// The survey table (../shared/catalog/imaging-x-datasets.json beside the repository; read from
/// there, never copied in) normalised, and searched.
@Suite("Catalog")
struct CatalogTests {
    static let fixture: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/catalog/imaging-x-datasets.json").path
    static let available = FileManager.default.fileExists(atPath: fixture)

    static func survey() throws -> (Catalog, [[String: Any]]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture))
        let rows = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        return (try Catalog.importSurvey(Array(data), source: "fixture"), rows)
    }

    @Test("every row is normalised or reported; no row is lost except merged duplicates", .enabled(if: available))
    func normalisation() throws {
        let (c, rows) = try CatalogTests.survey()
        #expect(c.rows_read == rows.count && rows.count == 1151)
        #expect(c.entries.count + c.duplicates_merged == c.rows_read, "rows = datasets + merged duplicates")
        #expect(c.duplicates_merged == 158)
        func count(_ code: String) -> Int { c.findings.first { $0.code == code }?.count ?? 0 }
        // Each field: a row either yields terms, or its unrecognised pieces / absence are counted.
        var emptyModality = 0, emptyTask = 0, emptyAnatomy = 0
        for row in rows {
            if Vocabulary.modality(row["modality"] as? String ?? "").terms.isEmpty { emptyModality += 1 }
            if Vocabulary.task(row["task"] as? String ?? "").terms.isEmpty { emptyTask += 1 }
            if Vocabulary.anatomy(row["structure"] as? String ?? "").terms.isEmpty { emptyAnatomy += 1 }
        }
        #expect(emptyModality <= count("modality_missing") + count("modality_unrecognised"))
        #expect(emptyTask <= count("task_missing") + count("task_unrecognised"))
        #expect(emptyAnatomy <= count("anatomy_missing") + count("structure_not_anatomy") + count("anatomy_unrecognised")
                + count("structure_is_modality"))
        // The traps REFERENCES.md lists.
        let rose = try #require(c.entries.first { $0.name == "ROSE" })
        #expect(rose.modality == [.oct] && count("modality_octa") == 1)
        #expect(count("modality_multi") > 0 && count("task_reg_ambiguous") > 0 && count("disease_is_anatomy") > 0)
        // Sample counts: "2.7k" is 2700 images; "200+" a lower bound; "0" unparsed, reported.
        let isic = try #require(c.entries.first { $0.name == "ISIC18" })
        #expect(isic.samples == 2700 && isic.samples_unit == "images" && isic.modality == [.dermoscopy])
        #expect(c.entries.contains { $0.samples_lower_bound } && count("samples_unparsed") > 0)
    }

    @Test("search on normalised terms: the cases a substring matcher gets wrong", .enabled(if: available))
    func search() throws {
        let (c, _) = try CatalogTests.survey()
        var q = CatalogQuery()
        q.modality = "ct"
        let ct = try q.run(c).strict
        #expect(!ct.contains { $0.entry.modality_raw?.uppercased().contains("OCT") == true && $0.entry.modality == [.oct] },
                "'ct' must not find OCT/OCTA")
        #expect(ct.contains { $0.entry.name == "MSD10-Colon" })
        q = CatalogQuery()
        q.anatomy = "lung"
        let lung = try q.run(c).strict
        #expect(lung.contains { $0.entry.anatomy_raw == "Lungs" }, "'lung' finds 'Lungs'")
        q.anatomy = "chest"
        let chest = try q.run(c).strict
        #expect(chest.count > lung.count && chest.contains { $0.entry.anatomy_raw == "Heart" }, "a region finds its parts")
        q = CatalogQuery()
        q.task = "qa"
        #expect(try q.run(c).strict.allSatisfy { !$0.entry.task.contains("vqa") || $0.entry.task.contains("qa") }, "QA is not VQA")
        // Near matches name the one constraint they miss.
        q = CatalogQuery()
        q.modality = "MR"
        q.anatomy = "prostate"
        q.dim = "3D"
        let r = try q.run(c)
        #expect(!r.strict.isEmpty && r.near.allSatisfy { $0.misses != nil })
        #expect(r.near.contains { $0.misses?.hasPrefix("modality") == true && $0.entry.modality.contains(.ct) })
        // Ranking: open first when asked, then labelled and larger.
        q.openFirst = true
        let ranked = try q.run(c).strict
        if let firstClosed = ranked.firstIndex(where: { $0.entry.access != "open" }) {
            #expect(ranked[firstClosed...].allSatisfy { $0.entry.access != "open" })
        }
        q.modality = "ultrasoundz"
        #expect(throws: CatalogQuery.InvalidTerm.self) { try q.run(c) }
    }

    @Test("the starter catalog: at least 60 datasets, every field normalised")
    func starter() {
        let c = StarterCatalog.catalog
        #expect(c.entries.count >= 60)
        let known = Set(Modality.allCases)
        for e in c.entries {
            #expect(!e.modality.isEmpty && e.modality.allSatisfy { known.contains($0) }, "\(e.name)")
            #expect(!e.anatomy.isEmpty && e.anatomy.allSatisfy { Vocabulary.anatomyParent[$0] != nil }, "\(e.name)")
            #expect(!e.task.isEmpty && e.task.allSatisfy { Vocabulary.tasks.contains($0) }, "\(e.name)")
            #expect((e.samples ?? 0) > 0 && e.url?.hasPrefix("http") == true, "\(e.name)")
        }
        #expect(Set(c.entries.map(\.name)).count == c.entries.count)
    }

    @Test("fuzzy name resolution: exact, unique partial, and a refusal to guess")
    func resolve() throws {
        let c = StarterCatalog.catalog
        #expect(try c.resolve("kits23").name == "KiTS23")
        #expect(try c.resolve("msd task04").name == "MSD Task04 Hippocampus")
        #expect(try c.resolve("Hippocampus").name == "MSD Task04 Hippocampus")
        #expect(throws: Catalog.NameError.self) { try c.resolve("MSD") }
        #expect(throws: Catalog.NameError.self) { try c.resolve("no such dataset") }
        do { _ = try c.resolve("kits") } catch { #expect(error.description.contains("KiTS19") && error.description.contains("ambiguous")) }
    }
}
