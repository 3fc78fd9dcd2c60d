import Foundation
import ImagingX
import ImagingXFixtures
import Testing

/// The typed modality: free text read onto the vocabulary, JSON as plain strings, the old string
/// order, and the CT-specific rules of compat and plan driven by the typed value.
@Suite("Modality")
struct ModalityTests {
    @Test("free text normalises as the catalog import reads it", arguments: [
        ("MRI", Modality.mr), ("ct", .ct), ("CT", .ct), ("OCTA (CT)", .oct), ("octa", .oct), ("PT", .pet),
        ("NM", .spect), ("Ultrasound", .us), ("xray", .xray), ("Mammography", .mg), ("CR", .cr), ("3D DSA", .xa),
        ("Fundus photo (CFP)", .fundus), ("Histopathology (WSI)", .histopathologyWSI), ("RTSTRUCT", .rt), ("Multi", .multi),
    ])
    func normalising(_ text: String, _ expected: Modality) {
        #expect(Modality(normalising: text) == expected, "\(text)")
    }

    @Test("text naming no modality, several, or an unknown piece is nil",
          arguments: ["", "NA", "SR", "OT", "PET/CT", "CT, MR", "CR/DX", "ultrasoundz", "CT/ foo"])
    func notOneModality(_ text: String) {
        #expect(Modality(normalising: text) == nil, "\(text)")
    }

    @Test("every vocabulary value normalises to itself, in any case")
    func vocabularyValuesNormalise() {
        for m in Modality.allCases {
            #expect(Modality(normalising: m.rawValue) == m, "\(m)")
            #expect(Modality(normalising: m.rawValue.uppercased()) == m, "\(m)")
        }
        #expect(Set(Modality.allCases.map(\.rawValue)).count == Modality.allCases.count)
        // The multi-valued reader the catalog import uses agrees.
        #expect(Vocabulary.modality("PET/CT").terms == [.pet, .ct])
        #expect(Vocabulary.modality("CR").terms == [.xray, .cr])
        #expect(Vocabulary.modality("OCTA (CT)").terms == [.oct])
    }

    @Test("Codable as the plain string; text outside the vocabulary does not decode")
    func codable() throws {
        let values: [Modality] = [.ct, .xray, .histopathologyWSI, .fundus]
        let bytes = try JSONEncoder().encode(values)
        #expect(String(decoding: bytes, as: UTF8.self) == #"["CT","X-ray","histopathology-WSI","fundus"]"#)
        #expect(try JSONDecoder().decode([Modality].self, from: bytes) == values)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Modality].self, from: Data(#"["ct"]"#.utf8)) }
        // A catalog entry's modalities read as before.
        var entry = CatalogEntry(name: "x")
        entry.modality = [.ct, .pet]
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(entry)) as? [String: Any])
        #expect(json["modality"] as? [String] == ["CT", "PET"])
        #expect(try JSONDecoder().decode(CatalogEntry.self, from: JSONEncoder().encode(entry)) == entry)
        // A plan's normalisation of unknown-modality datasets is named "unknown", and reads back as nil.
        let unknown = FusionPlan.Normalisation(modality: nil, scheme: "s", parameters: [:], datasets: ["d"])
        let encoded = try JSONEncoder().encode(unknown)
        #expect((try JSONSerialization.jsonObject(with: encoded) as? [String: Any])?["modality"] as? String == "unknown")
        #expect(try JSONDecoder().decode(FusionPlan.Normalisation.self, from: encoded).modality == nil)
    }

    @Test("sorting gives the order a sort of the strings gave")
    func sortOrder() {
        #expect(Modality.allCases.sorted().map(\.rawValue) == Modality.allCases.map(\.rawValue).sorted())
        #expect(Modality.allCases.sorted().prefix(3) == [.cr, .ct, .dx])
        #expect(Modality.xray < .dermoscopy, "upper case before lower case, as in the strings")
    }

    /// Fingerprint contexts of SampleData/ct-series and SampleData/mr-nifti, with their cases.
    static func sample() throws -> (ct: DatasetContext, mr: DatasetContext, inputs: [Planner.Input]) {
        let root = try temporaryDirectory("modality-sample").appendingPathComponent("SampleData").path
        _ = try SampleData.write(to: root)
        var contexts: [DatasetContext] = []
        var inputs: [Planner.Input] = []
        for name in ["ct-series", "mr-nifti"] {
            let (info, cases) = Fingerprinter.summarizeFolder(root + "/" + name, jobs: 2)
            let context = DatasetContext(name: name, fingerprint: Fingerprinter.reduce(cases, info: info))
            contexts.append(context)
            inputs.append(Planner.Input(name: name, info: info, cases: cases, modality: Compat.dominantModality(context)))
        }
        return (contexts[0], contexts[1], inputs)
    }

    @Test("compat's CT rule (histograms in HU) triggers from the typed modality, and only for CT × CT")
    func compatCTRule() throws {
        let (ct, mr, _) = try Self.sample()
        #expect(Compat.modalities(ct) == [.ct] && Compat.modalities(mr) == [.mr])
        func intensity(_ a: DatasetContext, _ b: DatasetContext) throws -> Compatibility.Factor {
            try #require(Compat.score(a, b).factors.first { $0.name == .intensity })
        }
        let ctct = try intensity(ct, ct)
        #expect(ctct.reason.hasSuffix("HU between the pooled histograms") && ctct.score == 1, "\(ctct.reason)")
        let ctmr = Compat.score(ct, mr)
        #expect(ctmr.gated && ctmr.score == 0)
        #expect(try intensity(ct, mr).reason.contains("z-scored"))
        // The same CT voxels, known as MR only from a catalog entry: the rule follows the modality.
        var asMR = ct
        asMR.fingerprint.by_modality = [:]
        asMR.catalog = CatalogEntry(name: "as MR")
        asMR.catalog?.modality = [.mr]
        #expect(Compat.modalities(asMR) == [.mr])
        #expect(try intensity(asMR, asMR).reason.contains("z-scored"))
        asMR.catalog?.modality = [.xray, .cr, .ct]
        #expect(Compat.modalities(asMR) == [.xray, .ct], "X-ray kinds fold into X-ray")
        #expect(try intensity(asMR, ct).reason.hasSuffix("HU between the pooled histograms"))
    }

    @Test("plan's CT normalisation triggers from the typed modality; others are z-scored")
    func planCTNormalisation() throws {
        let (_, _, inputs) = try Self.sample()
        #expect(inputs.map(\.modality) == [.ct, .mr])
        let plan = Planner.plan(inputs, target: [1, 1, 2])
        #expect(plan.normalisation.map(\.modality) == [.ct, .mr])
        let ct = try #require(plan.normalisation.first { $0.modality == .ct })
        #expect(ct.scheme.hasSuffix("(nnU-Net CTNormalization)") && ct.datasets == ["ct-series"])
        #expect(ct.parameters["clip_low"]! < ct.parameters["clip_high"]! && ct.parameters["voxels"]! > 0)
        let mr = try #require(plan.normalisation.first { $0.modality == .mr })
        #expect(mr.scheme == "per-case z-score (nnU-Net ZScoreNormalization)" && mr.parameters.isEmpty)
        #expect(plan.warnings.contains { $0.hasPrefix("the datasets hold different modalities (CT, MR)") })
        // The CT series planned as MR, or as unknown, is not CT-normalised.
        var relabelled = inputs[0]
        relabelled.modality = .mr
        #expect(Planner.plan([relabelled], target: [1, 1, 2]).normalisation.map(\.scheme) == [mr.scheme])
        relabelled.modality = nil
        let unknown = Planner.plan([relabelled, inputs[1]], target: [1, 1, 2]).normalisation
        #expect(unknown.map(\.modalityName) == ["MR", "unknown"] && unknown.allSatisfy { !$0.scheme.contains("CTNormalization") })
    }
}
