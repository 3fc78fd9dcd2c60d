import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels

/// Label volumes for DICOM series cases: a DICOM SEG that references the series, or a label file
/// (NIfTI, NRRD, MetaImage) on the same grid. The label is built on the series grid (slices in the
/// assembled order) and counted the way `FileReader.summarize` counts a NIfTI label: voxels per
/// label value, foreground intensities (label > 0), the foreground box.
enum SeriesLabels {
    /// A SEG frame position matches a slice when its distance along the slice normal is at most
    /// this (SeriesAssembler's slice tolerance) …
    static let alongNormalTolerance = SeriesAssembler.sliceTolerance
    /// … and its in-plane offset from the slice's ImagePositionPatient at most this (in-plane tolerance).
    static let inPlaneTolerance = SeriesAssembler.inPlaneTolerance
    /// Label volumes past this many voxels are not built (one byte per voxel).
    static let maxVoxels = 1 << 31

    /// Decodes the SEG `segPath` (relative to `root`) onto the grid of the series `members` (in
    /// slice order) and fills the case's label fields. Whatever stops it becomes a `label_not_read`
    /// finding with the reason; the case keeps its image statistics.
    static func applySegmentation(_ segPath: String, root: String, members: [ImageRecord], to c: inout CaseSummary) {
        guard c.error == nil else { return }  // a failed case: no statistics to add to
        guard c.dims.count == 3, let g0 = members.first?.slice else {
            c.findings.append("label_not_read: DICOM SEG \(segPath): the series has no 3-D grid to place it on")
            return
        }
        let nx = c.dims[0], ny = c.dims[1], nz = c.dims[2]
        let slice = nx * ny
        var label: [UInt8] = []
        var sliceOf: [Int] = []
        var segments: [UInt8] = []
        var overlaps = 0
        var byPosition = 0
        let reader = FileReader()
        do {
            try reader.readSegmentation(fullPath: root + "/" + segPath, plan: { seg throws(SegmentationProblem) in
                guard seg.rows == ny, seg.columns == nx else {
                    throw SegmentationProblem("its frames are \(seg.rows) rows × \(seg.columns) columns, the series' slices \(ny) × \(nx)")
                }
                if let top = seg.segments.max(), top > 255 {
                    throw SegmentationProblem("segment number \(top) is over 255 (label volumes are 8-bit)")
                }
                if let o = seg.orientation, o.count == 6, zip(o, g0.orientation).contains(where: { abs($0 - $1) > SeriesAssembler.sameOrientationTolerance }) {
                    throw SegmentationProblem("its ImageOrientationPatient differs from the series' (beyond 0.01)")
                }
                sliceOf = try mapFrames(seg, members: members, root: root, byPosition: &byPosition)
                guard nz > 0, slice.multipliedReportingOverflow(by: nz).partialValue <= maxVoxels else {
                    throw SegmentationProblem("the series grid is over \(maxVoxels) voxels")
                }
                segments = seg.segments.map { UInt8($0) }
                label = [UInt8](repeating: 0, count: slice * nz)
            }, frame: { f, mask in
                let base = sliceOf[f] * slice
                let s = segments[f]
                label.withUnsafeMutableBufferPointer { l in
                    for i in 0..<slice where mask[i] != 0 {
                        let old = l[base + i]
                        if old != 0 && old != s { overlaps += 1 }
                        if s > old { l[base + i] = s }
                    }
                }
            })
        } catch {
            c.findings.append("label_not_read: DICOM SEG \(segPath) references this series but is not read: \(error.reason)")
            return
        }
        guard count(label, members: members, root: root, into: &c) else { return }
        c.label = segPath
        c.bytes += fileSize(root + "/" + segPath)
        if overlaps > 0 {
            c.findings.append("overlapping_segments: DICOM SEG \(segPath): \(overlaps) voxel labellings fell on a voxel another segment "
                              + "already holds; the highest segment number is kept")
        }
        if byPosition > 0 {
            c.findings.append("seg_frames_by_position: DICOM SEG \(segPath): \(byPosition) frames without a source image reference were "
                              + "placed by ImagePositionPatient")
        }
    }

    /// The series slice of each SEG frame: its source image (SOPInstanceUID) when it names one,
    /// else its position projected on the slice normal.
    static func mapFrames(_ seg: DICOMSegmentation, members: [ImageRecord], root: String,
                          byPosition: inout Int) throws(SegmentationProblem) -> [Int] {
        var uids: [String: Int] = [:]
        if seg.sources.contains(where: { $0 != nil }) {
            let reader = FileReader()
            for (k, m) in members.enumerated() {
                guard let uid = reader.sopInstanceUID(fullPath: root + "/" + m.path) else {
                    throw SegmentationProblem("slice \(m.path) has no readable SOPInstanceUID to match the SEG's source references")
                }
                uids[uid] = k
            }
        }
        let o = members[0].slice!.orientation
        let normal = PatientGeometry.sliceNormal(row: Array(o[0..<3]), column: Array(o[3..<6]))
        let positions = members.map { $0.slice!.position }
        let projected = positions.map { SeriesAssembler.dot($0, normal) }
        var out: [Int] = []
        out.reserveCapacity(seg.frames)
        for f in 0..<seg.frames {
            if let uid = seg.sources[f] {
                guard let k = uids[uid] else {
                    throw SegmentationProblem("frame \(f + 1) references a source image (SOPInstanceUID) that is not in the series")
                }
                out.append(k)
            } else if let p = seg.positions[f], p.count == 3 {
                let d = SeriesAssembler.dot(p, normal)
                let k = projected.indices.min { abs(projected[$0] - d) < abs(projected[$1] - d) }!
                let along = abs(projected[k] - d)
                guard along <= alongNormalTolerance else {
                    throw SegmentationProblem("frame \(f + 1) lies \(Fingerprinter.fmt(along)) mm along the normal from the nearest slice "
                                              + "(tolerance \(alongNormalTolerance) mm)")
                }
                let offset = zip(p, positions[k]).map { $0 - $1 }
                let inPlane = max(0, SeriesAssembler.dot(offset, offset) - (projected[k] - d) * (projected[k] - d)).squareRoot()
                guard inPlane <= inPlaneTolerance else {
                    throw SegmentationProblem("frame \(f + 1) is shifted \(Fingerprinter.fmt(inPlane)) mm in-plane from its slice's origin")
                }
                byPosition += 1
                out.append(k)
            } else {
                throw SegmentationProblem("frame \(f + 1) has neither a source image reference nor a PlanePositionSequence position")
            }
        }
        return out
    }

    /// Re-reads the series' slices in order and counts `label` (one byte per voxel, slice-major)
    /// against them: label voxels, foreground intensities and box. False (with a finding) when a
    /// slice cannot be re-read as one sample per pixel.
    static func count(_ label: [UInt8], members: [ImageRecord], root: String, into c: inout CaseSummary) -> Bool {
        let nx = c.dims[0], ny = c.dims[1]
        let slice = nx * ny
        guard let all = c.intensity.first else { return false }
        var fg = DenseAccumulator(lo: all.min, hi: all.max, integral: all.integral, shift: all.mean)
        var counts = [Int](repeating: 0, count: 256)
        var lo = [Int.max, Int.max, Int.max], hi = [-1, -1, -1]
        var options = ReadOptions(stats: true)
        options.captureVolume = true
        let reader = FileReader(options: options)
        for (k, m) in members.enumerated() {
            _ = reader.read(fullPath: root + "/" + m.path, path: m.path)
            guard let v = reader.captured, v.count == slice else {
                c.findings.append("label_not_read: slice \(m.path) could not be re-read as \(nx) × \(ny) single-sample pixels")
                return false
            }
            label.withUnsafeBufferPointer { l in
                v.forEachChunk { s, values in
                    for i in 0..<values.count {
                        let value = l[k * slice + s + i]
                        counts[Int(value)] += 1
                        guard value > 0 else { continue }
                        fg.add(values[i])
                        let x = (s + i) % nx, y = (s + i) / nx
                        if x < lo[0] { lo[0] = x }; if x > hi[0] { hi[0] = x }
                        if y < lo[1] { lo[1] = y }; if y > hi[1] { hi[1] = y }
                        if k < lo[2] { lo[2] = k }; if k > hi[2] { hi[2] = k }
                    }
                }
            }
        }
        c.labelVoxels = Dictionary(uniqueKeysWithValues: counts.enumerated().filter { $0.element > 0 }.map { (String($0.offset), $0.element) })
        c.foreground = [fg.finish()]
        if hi[0] >= 0 { c.foregroundBox = BoundingBox(lower: lo, upper: hi) }
        return true
    }

    /// Reads a label file (NIfTI, NRRD, MetaImage) for a series case. Its grid must be the series'
    /// grid up to an axis flip or permutation: the label affine's inverse times the series' affine
    /// must map voxel indices onto voxel indices (a signed permutation, within 1e-3, with the
    /// translation a flipped axis needs, within 0.05 voxel). Then its voxels are reordered into the
    /// series' slice order and counted; otherwise `label_grid_mismatch` and no label statistics.
    static func applyLabelFile(_ label: String, fullPath: String, members: [ImageRecord], memberRoot: String,
                               affine: Matrix4?, to c: inout CaseSummary) {
        guard c.dims.count == 3, let series = affine else {
            c.findings.append("label_not_read: \(label): the series has no assembled 3-D affine to match the label's against")
            return
        }
        var options = ReadOptions(stats: true)
        options.captureVolume = true
        let reader = FileReader(options: options)
        let l = reader.read(fullPath: fullPath, path: label)
        guard l.status == .ok, let volume = reader.captured else {
            c.findings.append("label_unreadable: \(label): \(l.error ?? l.statsError ?? "not decoded")")
            return
        }
        let ldims = l.dims ?? []
        guard ldims.count >= 3, ldims.dropFirst(3).allSatisfy({ $0 == 1 }), let la = l.affine else {
            c.findings.append("label_grid_mismatch: label grid \(ldims) is not a 3-D grid with an affine (series grid \(c.dims))")
            return
        }
        guard let (axis, flip) = indexMap(label: la, labelDims: Array(ldims.prefix(3)), series: series, seriesDims: c.dims) else {
            c.findings.append("label_grid_mismatch: label grid \(Array(ldims.prefix(3))) and affine do not describe the series grid \(c.dims) "
                              + "(up to an axis flip or permutation)")
            return
        }
        let total = ldims.prefix(3).reduce(1, *)
        guard volume.count == total else {
            c.findings.append("label_grid_mismatch: the label holds \(volume.count) values for a grid of \(total) voxels")
            return
        }
        var values = [UInt8](repeating: 0, count: total)
        var bad: Double?
        volume.forEachChunk { start, chunk in
            for i in 0..<chunk.count {
                let v = chunk[i]
                if v >= 0, v <= 255, v == v.rounded() { values[start + i] = UInt8(v) } else if bad == nil { bad = v }
            }
        }
        if let bad {
            c.findings.append("label_not_read: \(label) holds the value \(bad); series case labels are read as integers 0…255")
            return
        }
        // Series voxel (x, y, k) → label voxel: per series axis j, label axis axis[j], flipped or not.
        let nx = c.dims[0], ny = c.dims[1], nz = c.dims[2]
        let lstride = [1, ldims[0], ldims[0] * ldims[1]]
        var reordered = [UInt8](repeating: 0, count: nx * ny * nz)
        for k in 0..<nz {
            for y in 0..<ny {
                for x in 0..<nx {
                    let v = [x, y, k]
                    var li = 0
                    for j in 0..<3 {
                        let n = c.dims[j]
                        li += (flip[j] ? n - 1 - v[j] : v[j]) * lstride[axis[j]]
                    }
                    reordered[(k * ny + y) * nx + x] = values[li]
                }
            }
        }
        guard count(reordered, members: members, root: memberRoot, into: &c) else { return }
        c.bytes += l.sizeBytes
        if axis != [0, 1, 2] || flip.contains(true) {
            c.findings.append("label_reordered: the series' column, row and slice axes run along \(label)'s axes "
                              + (0..<3).map { "\(flip[$0] ? "-" : "+")\(["i", "j", "k"][axis[$0]])" }.joined(separator: ", ")
                              + "; its voxels were reordered onto the series grid")
        }
    }

    /// For each series axis j: the label axis it runs along and whether it runs backwards, when
    /// label⁻¹ · series maps the series' voxel grid onto the label's; nil otherwise.
    static func indexMap(label: Matrix4, labelDims: [Int], series: Matrix4, seriesDims: [Int]) -> (axis: [Int], flip: [Bool])? {
        // Inverse of the label's 3 × 3 part (cofactors).
        let a = (0..<3).map { r in (0..<3).map { label[r, $0] } }
        let det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        guard det.isFinite, abs(det) > 1e-12 else { return nil }
        var inv = [[Double]](repeating: [0, 0, 0], count: 3)
        for r in 0..<3 {
            for col in 0..<3 {
                let r1 = (col + 1) % 3, r2 = (col + 2) % 3, c1 = (r + 1) % 3, c2 = (r + 2) % 3
                inv[r][col] = (a[r1][c1] * a[r2][c2] - a[r1][c2] * a[r2][c1]) / det
            }
        }
        func apply(_ v: [Double]) -> [Double] { (0..<3).map { r in (0..<3).reduce(0) { $0 + inv[r][$1] * v[$1] } } }
        let t = apply((0..<3).map { series[$0, 3] - label[$0, 3] })
        var axis: [Int] = [], flip: [Bool] = []
        for j in 0..<3 {
            let m = apply((0..<3).map { series[$0, j] })
            guard let i = m.indices.max(by: { abs(m[$0]) < abs(m[$1]) }),
                  abs(abs(m[i]) - 1) <= 1e-3, m.indices.allSatisfy({ $0 == i || abs(m[$0]) <= 1e-3 }),
                  !axis.contains(i), labelDims[i] == seriesDims[j] else { return nil }
            axis.append(i)
            flip.append(m[i] < 0)
        }
        // The series' first voxel must land on the label's corner those flips imply.
        for j in 0..<3 where abs(t[axis[j]] - (flip[j] ? Double(labelDims[axis[j]] - 1) : 0)) > 0.05 { return nil }
        return (axis, flip)
    }

    static func fileSize(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }
}

#if canImport(Glibc)
import Glibc
#endif
