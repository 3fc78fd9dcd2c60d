import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// One assembled (or not assemblable) DICOM volume: the files of one series that share an
/// orientation and a grid.
///
/// Flags follow the NCI Imaging Data Commons volume-geometry index and dcm2niix: slices are
/// ordered by projecting ImagePositionPatient on the slice normal (row × column cosines), the
/// slice spacing comes from those projections, not from SliceThickness. Tolerances: 0.01 on
/// direction cosines, 0.1 mm on pixel spacing, 0.2 mm on slice spacing, 0.01 mm for equal
/// positions.
public struct SeriesRecord: Sendable, Codable, Equatable {
    public var series_key: String
    /// Index of this orientation/grid group within the series, and how many the series has.
    public var group: Int
    public var groups_in_series: Int
    public var modality: String?
    public var files: Int
    /// First and last file of the group in slice order.
    public var first_file: String
    public var last_file: String
    public var assembled: Bool
    /// Why the group is not one volume (localizer, single slice, multi-frame object).
    public var reason: String?
    public var dims: [Int]?
    public var spacing: [Double]?
    public var affine: [[Double]]?
    public var axcodes: String?
    /// Series level: every non-localizer file has one orientation / one grid.
    public var single_orientation: Bool
    public var consistent_dimensions: Bool
    public var orthogonal_orientation: Bool?
    public var unique_positions: Bool?
    public var consistent_pixel_spacing: Bool?
    public var uniform_spacing: Bool?
    /// Largest difference between a slice gap and the median gap, mm.
    public var spacing_deviation_mm: Double?
    public var missing_slices: Int?
    public var duplicate_positions: Int?
    /// Angle between the slice-to-slice step and the slice normal, degrees.
    public var gantry_tilt_degrees: Double?
    public var regular_volume: Bool
    public var stats: PixelStats?
}

public enum SeriesAssembler {
    /// Two slices share an orientation when each of their six cosines differ by at most this
    /// (about 0.6°). Not the orthonormality test: that is `PatientGeometry.seriesCosineTolerance`.
    static let sameOrientationTolerance = 0.01
    static let inPlaneTolerance = 0.1
    static let sliceTolerance = 0.2
    static let samePosition = 0.01
    static let tiltTolerance = 0.1

    static func dot(_ a: [Double], _ b: [Double]) -> Double { a[0] * b[0] + a[1] * b[1] + a[2] * b[2] }
    static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

    /// Groups DICOM image records into series volumes. Records without a series key, slice
    /// geometry or `ok` status are left out. Output is ordered by series key, then group.
    public static func assemble(_ records: [ImageRecord]) -> [SeriesRecord] {
        assembleVolumes(records).map(\.record)
    }

    /// A volume's record and its files in slice order.
    package struct Assembled {
        var record: SeriesRecord
        var members: [ImageRecord]
        /// Each decoded member's values (by path), for pooled statistics.
        var histograms: [String: IntensityAccumulator]
    }

    static func assembleVolumes(_ records: [ImageRecord], histograms: [String: IntensityAccumulator] = [:]) -> [Assembled] {
        var bySeries: [String: [ImageRecord]] = [:]
        for r in records where r.status == .ok && r.format == .dicom && r.slice != nil {
            bySeries[r.seriesKey ?? "none", default: []].append(r)
        }
        var out: [Assembled] = []
        for key in bySeries.keys.sorted() {
            let files = bySeries[key]!.sorted { Walker.bytewiseLess($0.path, $1.path) }
            // Localizers apart; the rest clustered by orientation, then grid.
            let localizers = files.filter { $0.slice!.isLocalizer }
            let images = files.filter { !$0.slice!.isLocalizer }
            var groups: [[ImageRecord]] = []
            var orientations: [[Double]] = []
            var grids = Set<[Int]>()
            for r in images {
                let g = r.slice!
                grids.insert([g.columns, g.rows])
                if !orientations.contains(where: { o in zip(o, g.orientation).allSatisfy { abs($0 - $1) <= sameOrientationTolerance } }) {
                    orientations.append(g.orientation)
                }
                if let i = groups.firstIndex(where: { group in
                    let h = group[0].slice!
                    return h.columns == g.columns && h.rows == g.rows
                        && zip(h.orientation, g.orientation).allSatisfy { abs($0 - $1) <= sameOrientationTolerance }
                }) {
                    groups[i].append(r)
                } else {
                    groups.append([r])
                }
            }
            if !localizers.isEmpty { groups.append(localizers) }
            for (index, group) in groups.enumerated() {
                out.append(volume(group, key: key, index: index, of: groups.count,
                                  singleOrientation: orientations.count <= 1, consistentGrid: grids.count <= 1,
                                  histograms: histograms))
            }
        }
        return out
    }

    static func volume(_ files: [ImageRecord], key: String, index: Int, of count: Int,
                       singleOrientation: Bool, consistentGrid: Bool,
                       histograms: [String: IntensityAccumulator]) -> Assembled {
        let g0 = files[0].slice!
        let row = Array(g0.orientation[0..<3]), col = Array(g0.orientation[3..<6])
        let normal = PatientGeometry.sliceNormal(row: row, column: col)
        let ordered = files.map { ($0, dot($0.slice!.position, normal)) }
            .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : Walker.bytewiseLess($0.0.path, $1.0.path) }
        var r = SeriesRecord(series_key: key, group: index, groups_in_series: count, modality: files[0].modality,
                             files: files.count, first_file: ordered.first!.0.path, last_file: ordered.last!.0.path,
                             assembled: false, reason: nil, single_orientation: singleOrientation,
                             consistent_dimensions: consistentGrid, regular_volume: false)
        if g0.isLocalizer {
            r.reason = "localizer (ImageType LOCALIZER): not a volume"
            return Assembled(record: r, members: ordered.map(\.0), histograms: histograms)
        }
        if let multi = files.first(where: { $0.slice!.frames > 1 }) {
            r.reason = "multi-frame object (\(multi.slice!.frames) frames): each file is a volume of its own"
            return Assembled(record: r, members: ordered.map(\.0), histograms: histograms)
        }
        if files.count == 1 {
            r.reason = "single slice"
            return Assembled(record: r, members: ordered.map(\.0), histograms: histograms)
        }
        r.assembled = true
        r.orthogonal_orientation = PatientGeometry.orthonormality(row: row, column: col)
            .isOrthonormal(tolerance: PatientGeometry.seriesCosineTolerance)
        let spacings = files.map(\.slice!.pixelSpacing)
        r.consistent_pixel_spacing = spacings.allSatisfy { s in zip(s, spacings[0]).allSatisfy { abs($0 - $1) <= inPlaneTolerance } }
        // Gaps between consecutive projected positions; equal positions are duplicates.
        let positions = ordered.map(\.1)
        var gaps: [Double] = []
        var duplicates = 0
        for i in 1..<positions.count {
            let d = positions[i] - positions[i - 1]
            if d <= samePosition { duplicates += 1 } else { gaps.append(d) }
        }
        r.duplicate_positions = duplicates
        r.unique_positions = duplicates == 0
        let sortedGaps = gaps.sorted()
        let median = sortedGaps.isEmpty ? 0 : Fingerprinter.percentile(sortedGaps, 50)
        let deviation = gaps.map { abs($0 - median) }.max() ?? 0
        r.spacing_deviation_mm = deviation
        r.uniform_spacing = deviation <= sliceTolerance
        r.missing_slices = median > 0 ? gaps.filter { $0 > 1.5 * median }.map { Int(($0 / median).rounded()) - 1 }.reduce(0, +) : 0
        // Tilt: the step from the first to the last slice against the normal.
        let first = ordered.first!.0.slice!.position, last = ordered.last!.0.slice!.position
        let step = zip(last, first).map { $0 - $1 }
        let stepNorm = norm(step)
        let cosine = stepNorm > 0 ? min(1, abs(dot(step, normal)) / stepNorm) : 1
        r.gantry_tilt_degrees = acos(cosine) * 180 / .pi
        let n = files.count
        let ps = g0.pixelSpacing
        let dz = median
        r.dims = [g0.columns, g0.rows, n]
        r.spacing = [ps[0], ps[1], dz]
        // k steps along the actual slice-to-slice vector (dcm2niix's affine before any tilt
        // correction), not the normal × spacing that one file's affine uses.
        let kStep = n > 1 ? step.map { $0 / Double(n - 1) } : normal.map { $0 * dz }
        let m = PatientGeometry.affine(row: row, column: col, spacing: ps, sliceStep: kStep, origin: first)
        r.affine = (0..<4).map { i in (0..<4).map { m[i, $0] + 0 } }  // + 0: no "-0" in the output
        r.axcodes = m.axcodes
        r.regular_volume = singleOrientation && consistentGrid && r.orthogonal_orientation! && r.unique_positions!
            && r.consistent_pixel_spacing! && r.uniform_spacing! && r.missing_slices == 0
            && r.gantry_tilt_degrees! <= tiltTolerance
        // Volume statistics: the slices' accumulators merged in slice order.
        if files.allSatisfy({ histograms[$0.path] != nil }) {
            var pooled = IntensityAccumulator()
            for (f, _) in ordered { pooled.merge(histograms[f.path]!) }
            r.stats = pooled.pixelStats
        }
        return Assembled(record: r, members: ordered.map(\.0), histograms: histograms)
    }

    /// Reads `entries` with `jobs` workers (headers, and pixels when `stats`) and assembles.
    public static func scan(_ entries: [WalkEntry], jobs: Int, stats: Bool) -> [SeriesRecord] {
        read(entries, jobs: jobs, stats: stats).map(\.record)
    }

    static func read(_ entries: [WalkEntry], jobs: Int, stats: Bool) -> [Assembled] {
        let (records, histograms) = readRecords(entries, jobs: jobs, stats: stats)
        return assembleVolumes(records, histograms: histograms)
    }

    /// DICOM SEG storage (PS3.4 Annex B): a segmentation of another series, not a volume of its own.
    public static let segmentationSOPClass = "1.2.840.10008.5.1.4.1.1.66.4"

    /// The DICOM records of `entries` (headers, and pixel histograms by path when `stats`).
    static func readRecords(_ entries: [WalkEntry], jobs: Int, stats: Bool) -> ([ImageRecord], [String: IntensityAccumulator]) {
        var options = ReadOptions(stats: stats)
        options.keepHistogram = stats
        // The one worker pool; only DICOM records are kept, with their histograms.
        let read = WorkerPool(jobs: jobs).map(entries.count, makeWorker: { FileReader(options: options) }) {
            reader, i -> (ImageRecord, IntensityAccumulator?)? in
            let e = entries[i]
            guard e.walkError == nil else { return nil }
            var r = reader.read(fullPath: e.fullPath, path: e.path)
            if r.format != .dicom { return nil }
            r.findings = []
            return (r, reader.histogram)
        }.compactMap { $0 }
        var histograms: [String: IntensityAccumulator] = [:]
        for (r, h) in read { if let h { histograms[r.path] = h } }
        return (read.map(\.0), histograms)
    }

    public static func jsonLine(_ r: SeriesRecord) throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try e.encode(r)) + [0x0A]
    }
}
