import Foundation
import ImagingX
import ImagingXFixtures
import Testing

/// The application layer's use cases, called as a service would: typed requests, typed results,
/// typed errors (the CLI only parses, calls and prints).
@Suite("Application use cases")
struct ApplicationTests {
    /// A small catalog with two entries one name fits, and one entry per modality used below.
    static func catalog() -> Catalog {
        func entry(_ name: String, _ modality: Modality, _ anatomy: String, licence: String? = nil) -> CatalogEntry {
            var e = CatalogEntry(name: name)
            e.modality = [modality]
            e.anatomy = [anatomy]
            e.task = ["seg"]
            e.licence = licence
            return e
        }
        return Catalog(entries: [entry("Brain MRI Site A", .mr, "brain", licence: "CC-BY"), entry("Brain MRI Site B", .mr, "brain"),
                                 entry("Kidney CT", .ct, "kidney")], source: "test")
    }

    /// SampleData (mr-nifti, mr-nifti-site2, mr-nifti-partial, ct-series, …) generated afresh.
    static func sampleData(_ name: String = #function) throws -> String {
        let root = try temporaryDirectory(name).appendingPathComponent("SampleData").path
        _ = try SampleData.write(to: root)
        return root
    }

    /// A store whose every call fails: proves a use case did not read the catalog.
    struct UnreadableStore: CatalogStore {
        var location: String { "nowhere" }
        func load() throws(CatalogStoreError) -> Catalog? { throw .unreadable(path: "nowhere") }
        func save(_ catalog: Catalog) throws(CatalogStoreError) { throw .unwritable(path: "nowhere", errno: EACCES) }
    }

    // MARK: Catalog stores

    @Test("in-memory store: nothing stored reads nil; what is saved loads back")
    func inMemoryRoundTrip() throws {
        let store = InMemoryCatalogStore()
        #expect(try store.load() == nil)
        try store.save(Self.catalog())
        let loaded = try #require(try store.load())
        #expect(loaded.entries == Self.catalog().entries && loaded.source == "test")
        #expect(store.location == "memory")
    }

    @Test("file store: save creates the folder, load reads it back; an explicit missing file is an error")
    func fileRoundTrip() throws {
        let dir = try temporaryDirectory()
        let store = FileCatalogStore(path: dir.path + "/new-folder/catalog.json")
        try store.save(Self.catalog())
        #expect(try store.load()?.entries == Self.catalog().entries)
        let missing = FileCatalogStore(path: dir.path + "/absent.json")
        #expect(throws: CatalogStoreError.self) { try missing.load() }
        do { _ = try missing.load() } catch {
            guard case .unreadable(let path) = error else { Issue.record("expected .unreadable, got \(error)"); return }
            #expect(path == dir.path + "/absent.json")
        }
        try write(Array("{not json".utf8), to: dir.appendingPathComponent("bad.json"))
        #expect(throws: CatalogStoreError.self) { try FileCatalogStore(path: dir.path + "/bad.json").load() }
    }

    @Test("nothing imported: the starter catalog; once imported: the stored one")
    func starterFallback() throws {
        let store = InMemoryCatalogStore()
        let starter = try store.catalogOrStarter()
        #expect(starter.source == StarterCatalog.catalog.source && starter.entries == StarterCatalog.catalog.entries)
        var q = CatalogQuery()
        q.modality = "ct"
        #expect(try SearchCatalog.run(CatalogSearchRequest(query: q), in: store).catalog == StarterCatalog.catalog.source)
        try store.save(Self.catalog())
        let result = try SearchCatalog.run(CatalogSearchRequest(query: q), in: store)
        #expect(result.catalog == "test" && result.catalogSize == 3 && result.strict.map(\.name) == ["Kidney CT"])
    }

    @Test("import: the survey's rows normalised into the store; an unreadable source names its errno")
    func importIntoStore() throws {
        let dir = try temporaryDirectory()
        let rows = dir.appendingPathComponent("rows.json")
        try write(Array(#"[{"name": "KiTS23", "modality": "CT", "structure": "Kidney", "task": "Seg", "year": "2023"}]"#.utf8), to: rows)
        let store = InMemoryCatalogStore()
        let result = try ImportCatalog.run(CatalogImportRequest(source: rows.path), into: store)
        #expect(result.location == "memory" && result.catalog.entries.map(\.name) == ["KiTS23"])
        #expect(try store.load()?.entries.first?.modality == [.ct])
        #expect(throws: CatalogImportError.self) { try ImportCatalog.run(CatalogImportRequest(source: dir.path + "/absent.json"), into: store) }
        do { _ = try ImportCatalog.run(CatalogImportRequest(source: dir.path + "/absent.json"), into: store) } catch {
            guard case .unreadableSource(_, let code) = error else { Issue.record("expected .unreadableSource, got \(error)"); return }
            #expect(code == ENOENT)
        }
    }

    // MARK: Catalog names

    @Test("DATASET=NAME: an ambiguous name is refused with every candidate")
    func ambiguousName() throws {
        let store = InMemoryCatalogStore(Self.catalog())
        let error = #expect(throws: CatalogAttachmentError.self) { try CatalogAttachments.resolve(["data/mr=brain mri"], in: store) }
        guard case .name(let spec, .ambiguous(let query, let candidates)) = error else {
            Issue.record("expected an ambiguous name, got \(String(describing: error))")
            return
        }
        #expect(spec == "data/mr=brain mri" && query == "brain mri")
        #expect(candidates == ["Brain MRI Site A", "Brain MRI Site B"])
        #expect(error?.description == "--catalog data/mr=brain mri: 'brain mri' is ambiguous: Brain MRI Site A, Brain MRI Site B; give the full name")
        // More than 8 candidates: all kept as evidence, 8 shown.
        let msd = #expect(throws: Catalog.NameError.self) { try StarterCatalog.catalog.resolve("MSD") }
        guard case .ambiguous(_, let all) = msd else { Issue.record("expected ambiguous"); return }
        #expect(all.count == 10 && msd?.description.hasSuffix(", …; give the full name") == true)
        #expect(throws: Catalog.NameError.noMatch(query: "zzz")) { try StarterCatalog.catalog.resolve("zzz") }
    }

    @Test("DATASET=NAME: keys match with trailing slashes trimmed; the later spec wins; malformed specs refused")
    func attachmentKeys() throws {
        let store = InMemoryCatalogStore(Self.catalog())
        let a = try CatalogAttachments.resolve(["data/mr/=site a", "data/ct=kidney ct", "data/ct//=site b"], in: store)
        #expect(a.entry(for: "data/mr")?.name == "Brain MRI Site A")
        #expect(a.entry(for: "data/mr///")?.name == "Brain MRI Site A")
        #expect(a.entry(for: "data/ct/")?.name == "Brain MRI Site B", "the later spec for the same dataset wins")
        #expect(a.entry(for: "data") == nil && a.entry(for: "data/m") == nil)
        #expect(throws: CatalogAttachmentError.self) { try CatalogAttachments.resolve(["data/mr"], in: store) }
        // No specs: the catalog is not read at all; with specs, a store failure is passed on typed.
        #expect(try CatalogAttachments.resolve([], in: UnreadableStore()).isEmpty)
        let failed = #expect(throws: CatalogAttachmentError.self) { try CatalogAttachments.resolve(["x=y"], in: UnreadableStore()) }
        guard case .store(.unreadable) = failed else { Issue.record("expected .store(.unreadable), got \(String(describing: failed))"); return }
    }

    @Test("profile: the catalog name is resolved first; an ambiguous one fails before the folder is read")
    func profile() throws {
        let store = InMemoryCatalogStore(Self.catalog())
        let error = #expect(throws: ProfileError.self) {
            try ProfileDataset.run(ProfileRequest(folder: "/nonexistent", catalogName: "brain", jobs: 1), catalog: store)
        }
        guard case .name(.ambiguous(_, let candidates)) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(candidates.count == 2)
        let root = try Self.sampleData()
        let result = try ProfileDataset.run(ProfileRequest(folder: root + "/ct-series", catalogName: "kidney", jobs: 2), catalog: store)
        #expect(result.catalog?.name == "Kidney CT" && result.fingerprint.cases == 1 && result.fingerprint.by_modality == ["CT": 1])
    }

    // MARK: Compatibility

    @Test("compat: the same dataset twice (with or without a trailing slash) is refused, not a crash")
    func duplicateDataset() throws {
        let request = CompatRequest(datasets: ["SampleData/ct-series", "SampleData/mr-nifti", "SampleData/ct-series/"])
        do {
            _ = try CompareDatasets.run(request)
            Issue.record("a dataset given twice was accepted")
        } catch {
            guard case .duplicateDataset(let name) = error else { Issue.record("\(error)"); return }
            #expect(name == "SampleData/ct-series/")
        }
    }

    @Test("--weight: an unknown factor, a bad weight and a missing '=' are refused, naming every factor")
    func unknownFactor() throws {
        var w = CompatWeights()
        #expect(throws: Compat.InvalidWeight.unknownFactor(setting: "colour=2", factor: "colour")) { try w.apply(["colour=2"]) }
        #expect(throws: Compat.InvalidWeight.unknownFactor(setting: "Spacing=2", factor: "Spacing")) { try w.apply(["Spacing=2"]) }
        #expect(throws: Compat.InvalidWeight.invalidWeight(setting: "spacing=-1", factor: .spacing, value: "-1")) { try w.apply(["spacing=-1"]) }
        #expect(throws: Compat.InvalidWeight.malformed(setting: "spacing")) { try w.apply(["spacing"]) }
        #expect(w == CompatWeights(), "a refused setting changes nothing")
        let message = Compat.InvalidWeight.unknownFactor(setting: "colour=2", factor: "colour").description
        #expect(message == "--weight colour=2: expected FACTOR=WEIGHT (≥ 0) with FACTOR one of "
            + "modality, dim, task, anatomy, labels, spacing, intensity, dtype, channels, orientation, licence")
        try w.apply(["spacing=3", "licence=0"])
        #expect(w[.spacing] == 3 && w[.licence] == 0 && w[.modality] == 3)
        #expect(CompatFactor.allCases.map(\.defaultWeight) == [3, 2, 1, 1, 2, 2, 2, 0.5, 1, 0.5, 0.5])
    }

    @Test("compat on SampleData: pairs in request order, the modality gate, fusion groups, the JSON document's keys")
    func compat() throws {
        let root = try Self.sampleData()
        let names = ["mr-nifti", "mr-nifti-site2", "mr-nifti-partial", "ct-series"].map { root + "/" + $0 }
        let report = try CompareDatasets.run(CompatRequest(datasets: names, jobs: 2))
        #expect(report.pairs.map { [$0.a, $0.b] } == [[names[0], names[1]], [names[0], names[2]], [names[0], names[3]],
                                                       [names[1], names[2]], [names[1], names[3]], [names[2], names[3]]])
        let site2 = try #require(report.pair(names[0], names[1]))
        let partial = try #require(report.pair(names[0], names[2]))
        #expect(site2.score > 0.9 && partial.score > 0.5 && partial.score < site2.score)
        #expect(site2.factors.map(\.name) == CompatFactor.allCases)
        for p in report.pairs where p.b == names[3] { #expect(p.score == 0 && p.gated, "\(p.a) × ct-series") }
        #expect(report.groups.map(\.datasets) == [[names[3]], [names[0], names[2], names[1]]], "complete linkage over sorted names")
        #expect(report.threshold == 0.6)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(Fingerprinter.encode(report))) as? [String: Any])
        #expect(Set(json.keys) == ["pairs", "groups", "threshold"])
        let factor = try #require(((json["pairs"] as? [[String: Any]])?.first?["factors"] as? [[String: Any]])?.first)
        #expect(factor["name"] as? String == "modality")
        // Catalog entries attached with a trailing slash reach the anatomy and licence factors.
        var attached = CatalogAttachments()
        attached.attach(Self.catalog().entries[0], to: names[0] + "/")
        attached.attach(Self.catalog().entries[1], to: names[1])
        let weighted = try CompareDatasets.run(CompatRequest(datasets: [names[0], names[1]], catalog: attached, jobs: 2))
        let anatomy = try #require(weighted.pairs[0].factors.first { $0.name == .anatomy })
        #expect(anatomy.score == 1 && anatomy.reason.contains("overlapping anatomy"))
        #expect(throws: CompatError.self) { try CompareDatasets.run(CompatRequest(datasets: [names[0]])) }
    }

    @Test("compat: two datasets of unknown modality score as unknown and are not grouped unless asked")
    func unknownModality() throws {
        let root = try Self.sampleData()
        let names = ["photo-jpeg", "xray-png"].map { root + "/" + $0 }
        var request = CompatRequest(datasets: names, groupThreshold: 0, jobs: 2)
        let report = try CompareDatasets.run(request)
        let modality = try #require(report.pairs[0].factors.first { $0.name == .modality })
        #expect(modality.score == 0.5 && modality.reason.contains("unknown for both"), "\(modality.reason)")
        #expect(report.groups.map(\.datasets) == [[names[0]], [names[1]]], "threshold 0, yet not joined")
        request.groupUnknownModality = true
        #expect(try CompareDatasets.run(request).groups.map(\.datasets) == [names])
    }

    // MARK: Plan

    @Test("plan refuses 2D images mixed with 3D volumes, naming each side, instead of dropping the 2D ones")
    func planMixedDimensionality() throws {
        let root = try Self.sampleData()
        let names = ["mr-nifti", "xray-png"].map { root + "/" + $0 }
        do {
            _ = try PlanFusion.run(PlanRequest(datasets: names, jobs: 2))
            Issue.record("a 2D dataset was planned with a 3D one")
        } catch {
            guard case .mixedDimensionality(let twoD, let threeD) = error else { Issue.record("\(error)"); return }
            #expect(twoD == [names[1]] && threeD == [names[0]])
            #expect(error.description.contains("plan each set on its own"))
        }
    }

    @Test("plan on SampleData: fixed target, per-dataset modality and absolute root, manifests exported")
    func plan() throws {
        let root = try Self.sampleData()
        let names = [root + "/mr-nifti/", root + "/mr-nifti-partial"]
        let export = try temporaryDirectory().path + "/export"
        let result = try PlanFusion.run(PlanRequest(datasets: names, target: try .init(parsing: "1,1,2"), exportDirectory: export, jobs: 2))
        #expect(result.plan.target_spacing == [1, 1, 2] && result.plan.rule == "given on the command line")
        #expect(result.plan.cases.count == 6 && Set(result.plan.cases.map(\.dataset)) == Set(names))
        #expect(result.datasets.map(\.name) == names && result.datasets.map(\.modality) == [.mr, .mr])
        #expect(result.datasets[0].root == root + "/mr-nifti", "absolute, trailing slash trimmed")
        #expect(result.plan.normalisation.map(\.modality) == [.mr])
        #expect(result.exported.map { URL(fileURLWithPath: $0).lastPathComponent }
                == ["dataset.json", "datalist.json", "data-meta.jsonl", "items.jsonl", "plan.csv", "plan.json"])
        #expect(result.exported.allSatisfy { FileManager.default.fileExists(atPath: $0) })
        let auto = try PlanFusion.run(PlanRequest(datasets: [names[0]], jobs: 2))
        #expect(auto.exported.isEmpty && near(auto.plan.target_spacing, [0.9, 0.9, 4]), "\(auto.plan.target_spacing)")
        #expect(try PlanRequest.Target(parsing: "auto") == .auto)
        #expect(throws: PlanError.self) { try PlanRequest.Target(parsing: "1,2") }
        #expect(throws: PlanError.self) { try PlanRequest.Target(parsing: "1,0,2") }
        #expect(throws: PlanError.self) { try PlanFusion.run(PlanRequest(datasets: [names[0]], target: .fixed([1, .infinity, 1]))) }
    }

    @Test("the modality a dataset is planned as: most cases; a tie or catalog-only modalities go alphabetically")
    func dominantModality() throws {
        let root = try Self.sampleData()
        let (info, cases) = Fingerprinter.summarizeFolder(root + "/mr-nifti", jobs: 2)
        var fp = Fingerprinter.reduce(cases, info: info)
        fp.by_modality = ["CT": 1, "T1": 2, "FLAIR": 1]
        #expect(Compat.dominantModality(DatasetContext(name: "d", fingerprint: fp)) == .mr, "T1 and FLAIR count as MR: 3 > 1")
        fp.by_modality = ["PT": 2, "CT": 2]
        #expect(Compat.dominantModality(DatasetContext(name: "d", fingerprint: fp)) == .ct)
        fp.by_modality = [:]
        var entry = CatalogEntry(name: "x")
        entry.modality = [.us, .ct, .multi]
        #expect(Compat.dominantModality(DatasetContext(name: "d", fingerprint: fp, catalog: entry)) == .ct)
        #expect(Compat.dominantModality(DatasetContext(name: "d", fingerprint: fp)) == nil)
    }

    // MARK: Fingerprint

    @Test("fingerprint: saved case sets merge to the folder's fingerprint; a case read twice is refused, not trapped on")
    func fingerprintMerge() throws {
        let root = try Self.sampleData()
        let dir = try temporaryDirectory()
        let whole = try FingerprintDataset.run(FingerprintRequest(folder: root + "/mr-nifti", jobs: 2))
        let saved = dir.appendingPathComponent("cases.json")
        try write(Fingerprinter.encode(whole.caseSet), to: saved)
        let merged = try FingerprintDataset.run(FingerprintRequest(caseFiles: [saved.path]))
        #expect(try Fingerprinter.encode(merged.fingerprint) == Fingerprinter.encode(whole.fingerprint))
        let twice = #expect(throws: FingerprintError.self) { try FingerprintDataset.run(FingerprintRequest(caseFiles: [saved.path, saved.path])) }
        guard case .duplicateCase("case_000", saved.path) = twice else { Issue.record("got \(String(describing: twice))"); return }
        // mr-nifti-partial reuses the ids case_000…: before, reducing such a set trapped.
        let overlap = #expect(throws: FingerprintError.self) {
            try FingerprintDataset.run(FingerprintRequest(folder: root + "/mr-nifti-partial", caseFiles: [saved.path], jobs: 2))
        }
        guard case .folderCaseInCaseFile("case_000", _) = overlap else { Issue.record("got \(String(describing: overlap))"); return }
        #expect(throws: FingerprintError.self) { try FingerprintDataset.run(FingerprintRequest()) }
    }
}

extension ApplicationTests {
    @Test("fingerprint: LUNA16-like MetaImage (.mhd + .raw, .mha) and a 3D Slicer volume with its .seg.nrrd become cases")
    func fingerprintTextHeaders() throws {
        let root = try Self.sampleData()
        let luna = try FingerprintDataset.run(FingerprintRequest(folder: root + "/ct-metaimage", jobs: 2)).fingerprint
        // The .raw beside the .mhd is its data, not a case or a DICOM candidate.
        #expect(luna.cases == 2 && luna.cases_failed.isEmpty, "\(luna.cases_failed)")
        #expect(luna.by_format["metaimage"] == 2)
        let slicer = try FingerprintDataset.run(FingerprintRequest(folder: root + "/slicer-nrrd", jobs: 2)).fingerprint
        #expect(slicer.cases == 1 && slicer.cases_with_labels == 1 && slicer.cases_failed.isEmpty, "\(slicer.cases_failed)")
        #expect(slicer.by_format["nrrd"] == 1)
    }
}
