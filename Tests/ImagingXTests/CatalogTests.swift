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

/// Catalog search as people type it (issue 9, item 6), on a small catalog built here so each rule
/// is pinned whatever the survey table holds.
@Suite("Catalog search as people type it")
struct CatalogTypingTests {
    static func entry(_ name: String, disease: String? = nil, modality: [Modality] = [.ct], anatomy: [String] = ["abdomen"],
                      samples: Int = 100) -> CatalogEntry {
        var e = CatalogEntry(name: name)
        e.diseases = disease
        e.modality = modality
        e.anatomy = anatomy
        e.samples = samples
        return e
    }

    static let catalog = Catalog(entries: [
        entry("VinDr-Mammo", disease: "Breast cancer", modality: [.mg], anatomy: ["breast"], samples: 20000),
        entry("EyePACS", disease: "Diabetic Retinopathy", modality: [.fundus], anatomy: ["retina"], samples: 88700),
        entry("DRHAGIS", disease: "DR Lesions", modality: [.fundus], anatomy: ["retina"]),
        entry("NIH Chest X-ray 14", disease: "Thoracic diseases", modality: [.xray], anatomy: ["lung"], samples: 112000),
        entry("COVIDx CXR-2", disease: "COVID-19", modality: [.xray], anatomy: ["lung"]),
        entry("Chest radiograph lesions", disease: "Nodules", modality: [.xray], anatomy: ["lung"]),
        entry("UPENN-GBM", disease: "Glioblastoma", modality: [.mr], anatomy: ["brain"]),
        entry("Ivy Glioblastoma Atlas", disease: "Brain tumor", modality: [.mr], anatomy: ["brain"]),
        entry("BraTS 2021", disease: "Glioma", modality: [.mr], anatomy: ["brain"], samples: 2000),
        entry("MSD01 BrainTumour", disease: "Glioma", modality: [.mr], anatomy: ["brain"]),
        entry("KiTS19", disease: "Kidney tumor", anatomy: ["kidney"], samples: 300),
        entry("Kidney Tumor Seg", disease: "Kidney tumour", anatomy: ["kidney"], samples: 10),
        entry("AutoPET", disease: "Cancer", modality: [.ct, .pet], anatomy: ["whole-body"], samples: 1014),
        entry("LIDC-IDRI", disease: "Lung nodules", anatomy: ["lung"], samples: 1018),
        entry("TotalSegmentator", anatomy: ["whole-body"], samples: 1228),
        entry("PatchCamelyon", disease: "Metastasis", modality: [.histopathologyWSI], anatomy: ["lymph node"], samples: 327000),
    ], source: "test")

    static func names(_ configure: (inout CatalogQuery) -> Void) throws -> [String] {
        var q = CatalogQuery()
        configure(&q)
        return try q.run(catalog).strict.map(\.entry.name)
    }

    @Test("words: spelling folded, X-ray one word, BrainTumour two words, VinDr and COVIDx one")
    func words() {
        #expect(TextQuery.words("Tumour, chest X-ray and x ray; Xrays") == ["tumor", "chest", "xray", "and", "xray", "xray"])
        #expect(TextQuery.words("MSD01 BrainTumour") == ["msd01", "brain", "tumor"])
        #expect(TextQuery.words("VinDr-CXR COVIDx MRI") == ["vindr", "cxr", "covidx", "mri"])
    }

    @Test("tumour and tumor find the same datasets, BrainTumour among them")
    func spelling() throws {
        let a = try Self.names { $0.text = "tumour" }
        let b = try Self.names { $0.text = "tumor" }
        #expect(Set(a) == Set(b) && a.contains("MSD01 BrainTumour") && a.contains("KiTS19"))
        #expect(Set(try Self.names { $0.disease = "tumour" }) == Set(try Self.names { $0.disease = "tumor" }))
    }

    @Test("GBM ⇄ glioblastoma; glioma also finds glioblastoma, not the reverse")
    func glioma() throws {
        let gbm = Set(try Self.names { $0.text = "GBM" })
        #expect(gbm == ["UPENN-GBM", "Ivy Glioblastoma Atlas"])
        #expect(Set(try Self.names { $0.text = "glioblastoma" }) == gbm)
        let glioma = Set(try Self.names { $0.text = "glioma" })
        #expect(glioma == gbm.union(["BraTS 2021", "MSD01 BrainTumour"]))
    }

    @Test("DR ⇄ diabetic retinopathy, as a whole word: VinDr is not DR")
    func retinopathy() throws {
        let dr = Set(try Self.names { $0.text = "DR" })
        #expect(dr == ["EyePACS", "DRHAGIS"])
        #expect(Set(try Self.names { $0.text = "diabetic retinopathy" }) == dr)
    }

    @Test("CXR ⇄ chest X-ray ⇄ chest radiograph")
    func chestXray() throws {
        let expected: Set<String> = ["NIH Chest X-ray 14", "COVIDx CXR-2", "Chest radiograph lesions"]
        for typed in ["CXR", "chest x-ray", "Chest X ray", "chest xray", "chest radiograph"] {
            #expect(Set(try Self.names { $0.text = typed }) == expected, "\(typed)")
        }
    }

    @Test("--modality PET --modality CT finds datasets that hold both")
    func severalModalities() throws {
        #expect(try Self.names { $0.modalities = ["PET", "CT"] } == ["AutoPET"])
        #expect(try Self.names { $0.modalities = ["CT"] }.contains("LIDC-IDRI"))
        // One value with a slash still means either.
        #expect(try Self.names { $0.modalities = ["PET/MG"] }.count == 2)
    }

    @Test("whole-body is an anatomy: whole-body scans, not the body-wide lymph nodes")
    func wholeBody() throws {
        for typed in ["whole-body", "whole body", "full body"] {
            #expect(Set(try Self.names { $0.anatomy = typed }) == ["AutoPET", "TotalSegmentator"], "\(typed)")
        }
    }

    @Test("free text ranks by relevance: name words first, then the disease, before size")
    func relevance() throws {
        // Kidney Tumor Seg (name and disease) beats the larger KiTS19 (disease only).
        let ranked = try Self.names { $0.text = "kidney tumour" }
        #expect(ranked == ["Kidney Tumor Seg", "KiTS19"])
        // Without text, size ranks.
        #expect(try Self.names { $0.anatomy = "kidney" } == ["KiTS19", "Kidney Tumor Seg"])
        var q = CatalogQuery()
        q.text = "the of"
        #expect(throws: CatalogQuery.InvalidTerm.self) { try q.run(Self.catalog) }
    }
}
