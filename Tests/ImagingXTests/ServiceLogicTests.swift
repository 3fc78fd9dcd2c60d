import Foundation
import ImagingX
import ImagingXFixtures
import Testing

/// What the service computes from the index: compatibility and plans from stored fingerprints and
/// case summaries (equal to what `compat` and `plan` compute from the folders), the MDFP
/// blueprint, and thumbnails.
@Suite("Service logic") struct ServiceLogicTests {
    static func indexedSampleData(_ name: String = #function) throws -> (root: String, store: IndexStore) {
        let root = try IndexTests.sampleData(name)
        let db = try temporaryDirectory(name).appendingPathComponent("index.sqlite").path
        _ = try IndexTests.index([root], db: db)
        return (root, try IndexStore(path: db, create: false, readOnly: true))
    }

    @Test func compatFromTheIndexEqualsCompatFromTheFolders() throws {
        let (root, store) = try Self.indexedSampleData()
        let datasets = try store.datasets().filter { ["mr-nifti", "mr-nifti-site2", "ct-series"].contains($0.folder) }
        #expect(datasets.count == 3)
        let (selection, fromIndex) = try Application.compat(indexed: datasets.map(\.id), store: store)
        let fromFolders = try CompareDatasets.run(CompatRequest(datasets: datasets.map { root + "/" + $0.folder }, jobs: 2))
        #expect(fromIndex.pairs.count == 3 && fromFolders.pairs.count == 3)
        for (a, b) in zip(fromIndex.pairs, fromFolders.pairs) {
            #expect(a.score == b.score)
            #expect(a.gated == b.gated)
            #expect(a.factors.map(\.score) == b.factors.map(\.score))
        }
        #expect(fromIndex.groups.map(\.cases).sorted() == fromFolders.groups.map(\.cases).sorted())
        #expect(selection.names.count == 3)
        #expect(throws: IndexAnalysisError.self) { try Application.compat(indexed: [datasets[0].id], store: store) }
        #expect(throws: IndexAnalysisError.self) { try Application.compat(indexed: [datasets[0].id, 999_999], store: store) }
        #expect(throws: IndexAnalysisError.self) { try Application.compat(indexed: [datasets[0].id, datasets[0].id], store: store) }
    }

    @Test func planFromTheIndexEqualsPlanFromTheFolders() throws {
        let (root, store) = try Self.indexedSampleData()
        let datasets = try store.datasets().filter { ["mr-nifti", "mr-nifti-site2"].contains($0.folder) }
        let (_, fromIndex) = try Application.plan(indexed: datasets.map(\.id), store: store)
        let fromFolders = try PlanFusion.run(PlanRequest(datasets: datasets.map { root + "/" + $0.folder }, jobs: 2))
        #expect(fromIndex.plan.target_spacing == fromFolders.plan.target_spacing)
        #expect(fromIndex.plan.cases.count == fromFolders.plan.cases.count)
        let a = fromIndex.plan.cases.sorted { $0.id < $1.id }, b = fromFolders.plan.cases.sorted { $0.id < $1.id }
        #expect(a.map(\.new_shape) == b.map(\.new_shape))
        #expect(a.map(\.zoom) == b.map(\.zoom))
        // An absurd target is refused, never a trap.
        #expect(throws: IndexAnalysisError.self) { try Application.plan(indexed: datasets.map(\.id), store: store, target: [5e-324, 1, 1]) }
        // Mixing 2D and 3D datasets is refused with the reason.
        let png = try #require(try store.datasets().first { $0.folder == "xray-png" })
        #expect(throws: IndexAnalysisError.self) { try Application.plan(indexed: [datasets[0].id, png.id], store: store) }
    }

    @Test func blueprintAppliesTheSurveyRules() throws {
        let catalog = StarterCatalog.catalog
        var rules = BlueprintRules()
        rules.task_types = ["segmentation"]
        rules.labelled_only = true
        rules.dim = "3D"
        let result = try Blueprint.apply(rules, to: catalog)
        #expect(result.rules.task_types == ["seg"])
        #expect(result.groups.map(\.task) == ["seg"])
        let seg = result.groups[0].datasets
        #expect(!seg.isEmpty && seg.allSatisfy { $0.task.contains("seg") && $0.labelled == true && $0.dim.contains("3D") })
        #expect(result.groups[0].images == seg.reduce(0) { $0 + ($1.samples ?? 0) })
        #expect(result.excluded.values.reduce(0, +) + result.total_datasets == catalog.entries.count)
        // A region admits its parts; 3D sources count as 2D only when allowed.
        var abdomen = BlueprintRules()
        abdomen.anatomy = ["abdomen"]
        let parts = try Blueprint.apply(abdomen, to: catalog).groups.flatMap(\.datasets)
        #expect(parts.contains { $0.anatomy.contains("liver") || $0.anatomy.contains("kidney") || $0.anatomy.contains("pancreas") })
        var twoD = BlueprintRules()
        twoD.dim = "2D"
        let strict = try Blueprint.apply(twoD, to: catalog).total_datasets
        twoD.allow_3d_as_2d = true
        #expect(try Blueprint.apply(twoD, to: catalog).total_datasets > strict)
        var bad = BlueprintRules()
        bad.task_types = ["sorcery"]
        #expect(throws: BlueprintRules.Invalid.self) { try Blueprint.apply(bad, to: catalog) }
    }

    @Test func thumbnailsAreSmallGreyPNGs() throws {
        let root = try IndexTests.sampleData()
        for path in ["mr-nifti/imagesTr/case_000_0000.nii.gz", "ct-series/IM0001.dcm", "xray-png/chest_1.png"] {
            guard case .success(let png) = Thumbnail.render(fullPath: root + "/" + path) else {
                Issue.record("no thumbnail for \(path)")
                continue
            }
            #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
            #expect(width > 0 && width <= Thumbnail.maxSide && height > 0 && height <= Thumbnail.maxSide)
            // Our own reader reads it back with the size the header gives.
            let r = record(png, path: "thumb.png")
            #expect(r.status == .ok && r.dims == [width, height] && r.dtype == .uint8)
        }
        if case .success = Thumbnail.render(fullPath: root + "/broken/truncated-pixels.dcm") {
            Issue.record("a truncated file has no thumbnail")
        }
    }
}
