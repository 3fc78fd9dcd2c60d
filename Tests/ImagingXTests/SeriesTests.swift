import Foundation
import ImagingX
import ImagingXFixtures
import Testing

/// Series assembly on generated series with planted geometry faults (SeriesCorpus).
@Suite("DICOM series")
struct SeriesTests {
    static func assembled() throws -> [String: [SeriesRecord]] {
        let root = try temporaryDirectory("series").path
        _ = try SeriesCorpus.write(to: root)
        let entries = Walker().walk([root]).entries
        var byVariant: [String: [SeriesRecord]] = [:]
        for s in SeriesAssembler.scan(entries, jobs: 2, stats: true) {
            byVariant[String(s.first_file.split(separator: "/")[0]), default: []].append(s)
        }
        return byVariant
    }

    @Test("every planted fault raises its flag, and only its flag")
    func flags() throws {
        let v = try SeriesTests.assembled()
        let regular = try #require(v["regular"]?.first)
        #expect(regular.regular_volume && regular.dims == [16, 12, 10] && regular.spacing == [0.8, 0.9, 2.5])
        #expect(regular.stats?.count == 16 * 12 * 10)
        // Slices come in shuffled file names: the first slice in position order is instance 1.
        #expect(regular.affine?[2][3] == 0 && abs((regular.affine?[2][2] ?? 0) - 2.5) < 1e-9)
        let oblique = try #require(v["oblique"]?.first)
        #expect(oblique.regular_volume && abs(oblique.spacing![2] - 2.5) < 1e-9 && oblique.gantry_tilt_degrees! < 1e-6)
        let gap = try #require(v["gap"]?.first)
        #expect(!gap.regular_volume && gap.missing_slices == 1 && gap.unique_positions == true)
        let uneven = try #require(v["uneven"]?.first)
        #expect(!uneven.regular_volume && uneven.uniform_spacing == false && abs(uneven.spacing_deviation_mm! - 0.5) < 1e-9
                && uneven.missing_slices == 0)
        let tilt = try #require(v["tilt"]?.first)
        #expect(!tilt.regular_volume && abs(tilt.gantry_tilt_degrees! - 15) < 1e-6 && tilt.uniform_spacing == true)
        let duplicate = try #require(v["duplicate"]?.first)
        #expect(!duplicate.regular_volume && duplicate.unique_positions == false && duplicate.duplicate_positions == 1)
        let localizer = try #require(v["localizer"]?.first)
        #expect(!localizer.assembled && localizer.reason?.contains("localizer") == true && localizer.files == 3)
        let two = try #require(v["two-orientations"])
        #expect(two.count == 2 && two.allSatisfy { !$0.single_orientation && !$0.regular_volume && $0.groups_in_series == 2 })
        let single = try #require(v["single"]?.first)
        #expect(!single.assembled && single.reason == "single slice")
    }

    @Test("volume statistics pool the slices exactly (equal to one histogram over all voxels)")
    func volumeStats() throws {
        let v = try SeriesTests.assembled()
        let regular = try #require(v["regular"]?.first?.stats)
        var values: [Double] = []
        for k in 0..<10 {
            for i in 0..<(16 * 12) {
                // CTSliceSpec: BitsStored 12, signed; rescale intercept -1024.
                var s = Int((i * 37 + k * 101) % 1500) & 0xFFF
                if s & 0x800 != 0 { s -= 4096 }
                values.append(Double(s) - 1024)
            }
        }
        StatsTests.expectClose(regular, StatsTests.reference(values), "volume")
    }

    @Test("a folder of DICOM series fingerprints one case per volume; non-volumes are listed with the reason")
    func fingerprintSeries() throws {
        let root = try temporaryDirectory("series-fp").path
        _ = try SeriesCorpus.write(to: root)
        let (info, files) = CaseFinder.find(root)
        #expect(files.isEmpty, "DICOM files are not per-file cases")
        let cases = Fingerprinter.summarizeSeries(CaseFinder.dicomCandidates(root), root: root, jobs: 2)
        let fp = Fingerprinter.reduce(cases, info: info)
        #expect(fp.cases == 10 && fp.cases_failed.count == 2)
        #expect(fp.cases_failed.contains { $0.reason.contains("localizer") } && fp.cases_failed.contains { $0.reason.contains("single slice") })
        #expect(fp.findings.keys.contains { $0.hasPrefix("tilt/") } && !fp.findings.keys.contains { $0.hasPrefix("regular/") })
        #expect(fp.intensity_per_channel["0"]?.count == 16 * 12 * (10 + 10 + 9 + 10 + 10 + 11 + 12))
    }
}

@Suite("Overlap")
struct OverlapTests {
    /// The SeriesCorpus "regular" series rewritten as a NIfTI in RAS order (flipped x and y,
    /// stored values with scl_inter −1024): one scan, two formats, two orientations.
    static func niftiCopy(flipValue: Bool = false) -> [UInt8] {
        let nx = 16, ny = 12, nz = 10
        var data = [Int16](repeating: 0, count: nx * ny * nz)
        for k in 0..<nz {
            for j in 0..<ny {
                for i in 0..<nx {
                    let stored = Int16((((j * nx + i) * 37) + k * 101) % 1500)
                    data[(nx - 1 - i) + nx * ((ny - 1 - j) + ny * k)] = stored
                }
            }
        }
        if flipValue { data[5] += 1 }
        var b = NIfTIBuilder(.nifti1)
        b.setGrid(dims: [nx, ny, nz], pixdim: [0.8, 0.9, 2.5], datatype: 4, bitpix: 16)
        b.setSform([[0.8, 0, 0, 0], [0, 0.9, 0, 0], [0, 0, 2.5, 0]])
        b.set("scl_slope", [1])
        b.set("scl_inter", [-1024])
        return b.singleFile(data: data.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } })
    }

    @Test("a scan stored as a DICOM series and as a reoriented NIfTI is found in both; one changed voxel is not")
    func overlap() throws {
        let root = try temporaryDirectory("overlap").path
        _ = try SeriesCorpus.write(to: root + "/dicom")
        try write(OverlapTests.niftiCopy(), to: URL(fileURLWithPath: root + "/nifti/scan.nii"))
        try write(OverlapTests.niftiCopy(flipValue: true), to: URL(fileURLWithPath: root + "/nifti-changed/scan.nii"))
        func context(_ dir: String) -> DatasetContext {
            let (info, cases) = Fingerprinter.summarizeFolder(root + "/" + dir, jobs: 2)
            return DatasetContext(name: dir, fingerprint: Fingerprinter.reduce(cases, info: info))
        }
        let dicom = context("dicom/regular"), nifti = context("nifti"), changed = context("nifti-changed")
        let same = Compat.score(dicom, nifti)
        #expect(same.shared_cases.count == 1 && same.shared_cases[0][1] == "scan", "\(same.shared_cases)")
        #expect(Compat.score(dicom, changed).shared_cases.isEmpty)
        // Fusion totals count the shared scan once.
        let groups = Compat.groups([dicom, nifti], [same], threshold: 0)
        #expect(groups.count == 1 && groups[0].cases == 1 && groups[0].duplicate_cases == 1)
    }

    @Test("fusion groups never join a gated pair through a third dataset")
    func groups() throws {
        let a = try CompatTests.context("groups-ct")
        let mr = try CompatTests.context("groups-mr", channel: "T1")
        let blank = DatasetContext(name: "zz-unknown", fingerprint: a.fingerprint)  // modality from by_modality "CT"
        let pairs = [Compat.score(a, mr), Compat.score(a, blank), Compat.score(mr, blank)]
        let g = Compat.groups([a, mr, blank], pairs, threshold: 0.5)
        #expect(!g.contains { $0.datasets.contains("groups-ct") && $0.datasets.contains("groups-mr") })
    }
}
