import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import ImagingXScan
/// Everything the dataset fingerprint needs from one case. Computed once per case; a dataset's
/// fingerprint is a deterministic reduction of its case summaries taken in case-id order, so
/// summaries computed in separate runs (`fingerprint --save-cases`, then `--merge`) give the
/// same fingerprint, to the bit, as one run over all cases.
public struct CaseSummary: Sendable, Codable, Equatable {
    public var id: String
    public var images: [String]
    public var label: String?
    public var format: String?
    public var dtype: DType?
    public var modality: String?
    public var channels = 1
    /// Spatial grid (up to three axes, NIfTI/record order: fastest first).
    public var dims: [Int] = []
    public var spacing: [Double] = []
    public var axcodes: String?
    /// All voxels, per channel.
    public var intensity: [IntensityAccumulator] = []
    /// Voxels where the label is > 0, per channel.
    public var foreground: [IntensityAccumulator] = []
    /// Label value → voxel count.
    public var labelVoxels: [String: Int] = [:]
    public var voxelVolume = 1.0
    /// nnU-Net's crop: the box of voxels non-zero in any channel.
    public var nonzeroBox: BoundingBox?
    public var foregroundBox: BoundingBox?
    public var findings: [String] = []
    public var error: String?
    /// The file or folder `error` is about (the fingerprint's `cases_failed` path).
    public var errorPath: String?
    /// Channel 0's decoded values in canonical (RAS) order, hashed: the same scan stored
    /// differently in two datasets has the same hash (VoxelHash).
    public var voxel_hash: String?
    /// Bytes of the case's files on disk (images and label).
    public var bytes = 0

    public init(id: String, images: [String], label: String?) {
        self.id = id
        self.images = images
        self.label = label
    }
}

/// Builds an `IntensityAccumulator` with a dense bin array over a known value range (one pass,
/// no hashing per voxel), and moments as shifted sums.
package struct DenseAccumulator {
    let k: Int
    let scale: Double
    let base: Int
    var counts: [Int]
    let shift: Double
    var n = 0
    var s1 = 0.0
    var s2 = 0.0
    var lo = Double.infinity
    var hi = -Double.infinity
    var integral = true

    init(lo: Double, hi: Double, integral: Bool, shift: Double) {
        k = IntensityAccumulator.exponent(lo: lo, hi: hi, integral: integral)
        scale = Double(sign: .plus, exponent: -k, significand: 1)
        base = lo.isFinite ? IntensityAccumulator.binKey(lo * scale) : 0
        let top = hi.isFinite ? IntensityAccumulator.binKey(hi * scale) : base
        counts = [Int](repeating: 0, count: min(max(1, top - base + 1), 1 << 18))
        self.shift = shift.isFinite ? shift : 0
    }

    @inline(__always)
    mutating func add(_ v: Double) {
        guard v.isFinite else { return }
        n += 1
        let d = v - shift
        s1 += d
        s2 += d * d
        if v < lo { lo = v }
        if v > hi { hi = v }
        if integral && v != v.rounded() { integral = false }
        let b = IntensityAccumulator.binKey(v * scale) - base
        counts[min(max(b, 0), counts.count - 1)] += 1
    }

    func finish() -> IntensityAccumulator {
        var a = IntensityAccumulator()
        a.count = n
        guard n > 0 else { return a }
        a.sum = Double(n) * shift + s1
        a.m2 = max(0, s2 - s1 * s1 / Double(n))
        a.min = lo
        a.max = hi
        a.integral = integral
        a.binExponent = k
        for (i, c) in counts.enumerated() where c > 0 { a.bins[base + i] = c }
        return a
    }
}

extension FileReader {
    /// Summarises one case: header and statistics of each channel, and with a label map, the
    /// label counts, foreground intensities and boxes. Problems become findings or `error`.
    public func summarize(_ files: CaseFiles, root: String) -> CaseSummary {
        var summary = CaseSummary(id: files.id, images: files.images, label: files.label)
        summary.findings = files.notes ?? []
        if let failure = files.failure {
            summary.error = failure.reason
            summary.errorPath = failure.path
            return summary
        }
        func full(_ path: String) -> String { path.hasPrefix("/") ? path : root + "/" + path }
        let saved = options
        options.stats = true
        options.captureVolume = true
        defer { options = saved }

        var channelVolumes: [Volume] = []
        var channelStats: [PixelStats?] = []
        var first: ImageRecord?
        for image in files.images {
            let r = read(fullPath: full(image), path: image)
            guard r.status == .ok else {
                summary.error = r.error ?? r.status.rawValue
                summary.errorPath = image
                return summary
            }
            guard let volume = captured, r.stats != nil else {
                summary.error = r.statsError ?? "pixels not decoded"
                summary.errorPath = image
                return summary
            }
            if first == nil { first = r }
            summary.bytes += r.sizeBytes
            // A 4-D NIfTI (MSD) holds its channels along the fourth axis.
            let spatial = Array((r.dims ?? []).prefix(3)).reduce(1, *)
            let perChannel = r.format == .png || r.format == .jpeg ? (r.channels ?? 1) : 1
            if perChannel > 1 {
                channelVolumes.append(volume)  // interleaved RGB: pooled as one channel
                channelStats.append(r.stats)
            } else if spatial > 0, volume.count > spatial, volume.count % spatial == 0 {
                let size = spatial * volume.layout.kind.size
                for c in 0..<(volume.count / spatial) {
                    channelVolumes.append(Volume(layout: volume.layout, bytes: Array(volume.bytes[(c * size)..<((c + 1) * size)])))
                    channelStats.append(r.stats)  // all channels pooled: a range that covers each
                }
            } else {
                channelVolumes.append(volume)
                channelStats.append(r.stats)
            }
        }
        guard let r = first else { summary.error = "no image files"; return summary }
        summary.format = r.format.rawValue
        summary.dtype = r.dtype
        summary.modality = r.modality
        summary.axcodes = r.axcodes
        let isRaster = r.format == .png || r.format == .jpeg
        summary.dims = Array((r.dims ?? []).prefix(isRaster ? 2 : 3))
        summary.spacing = Array((r.spacing ?? summary.dims.map { _ in 1 }).prefix(summary.dims.count))
        summary.voxelVolume = summary.spacing.reduce(1, *)
        summary.channels = channelVolumes.count
        let voxels = summary.dims.reduce(1, *)
        if let first = channelVolumes.first,
           var hash = VoxelHash(dims: isRaster ? [first.count] : summary.dims, axcodes: isRaster ? nil : r.axcodes) {
            hash.put(first)
            summary.voxel_hash = hash.finish()
        }

        // Label map: same grid required; spacing and affine compared.
        var labelVolume: Volume?
        if let label = files.label {
            let l = read(fullPath: full(label), path: label)
            if l.status != .ok || captured == nil {
                summary.findings.append("label_unreadable: \(label): \(l.error ?? l.statsError ?? "not decoded")")
            } else if Array((l.dims ?? []).prefix(summary.dims.count)) != summary.dims || captured!.count != voxels {
                summary.findings.append("label_grid_mismatch: label grid \(l.dims ?? []) differs from image grid \(r.dims ?? [])")
            } else {
                summary.bytes += l.sizeBytes
                labelVolume = captured
                let ls = Array((l.spacing ?? []).prefix(summary.spacing.count))
                if zip(ls, summary.spacing).contains(where: { abs($0 - $1) > 1e-4 * max(1, abs($1)) }) {
                    summary.findings.append("label_spacing_mismatch: label spacing \(ls) differs from image spacing \(summary.spacing)")
                }
                if let a = r.affine, let b = l.affine, !a.isClose(to: b, tolerance: 1e-3 * max(1, summary.spacing.max() ?? 1)) {
                    summary.findings.append("label_affine_mismatch: label and image affines differ (beyond 1e-3 of a voxel)")
                }
            }
        }

        // One pass per channel: all-voxel and foreground accumulators, boxes.
        let nx = summary.dims.count > 0 ? summary.dims[0] : 1
        let ny = summary.dims.count > 1 ? summary.dims[1] : 1
        let axes = summary.dims.count
        var nzLo = [Int.max, Int.max, Int.max], nzHi = [-1, -1, -1]
        var fgLo = nzLo, fgHi = nzHi
        var smallLabels = [Int](repeating: 0, count: 256)
        var otherLabels: [Int: Int] = [:]
        let labels = UnsafeMutableBufferPointer<Double>.allocate(capacity: 65536)
        defer { labels.deallocate() }
        for (channel, volume) in channelVolumes.enumerated() {
            // The histogram range: from the image's statistics when the scan computed them.
            let range: (lo: Double, hi: Double, mid: Double, integral: Bool)
            let l = volume.layout
            if let s = channelStats[channel], s.count > 0 {
                range = (s.min, s.max, s.mean, !l.kind.isFloat && l.slope == l.slope.rounded() && l.intercept == l.intercept.rounded())
            } else {
                range = channelRange(volume)
            }
            var all = DenseAccumulator(lo: range.lo, hi: range.hi, integral: range.integral, shift: range.mid)
            var fg = DenseAccumulator(lo: range.lo, hi: range.hi, integral: range.integral, shift: range.mid)
            let perVoxel = max(1, volume.count / max(voxels, 1))  // interleaved samples per voxel (RGB)
            let withLabels = labelVolume != nil && perVoxel == 1
            volume.forEachChunk { start, values in
                if withLabels, let lv = labelVolume {
                    lv.bytes.withUnsafeBytes { raw in
                        Volume.convert(raw.baseAddress!, lv.layout, start, values.count, labels.baseAddress!)
                    }
                }
                let index = start / perVoxel
                var x = index % nx, y = (index / nx) % ny, z = index / (nx * ny)
                var sub = start % perVoxel
                for i in 0..<values.count {
                    let v = values[i]
                    all.add(v)
                    if v != 0 && v.isFinite {
                        if x < nzLo[0] { nzLo[0] = x }; if x > nzHi[0] { nzHi[0] = x }
                        if y < nzLo[1] { nzLo[1] = y }; if y > nzHi[1] { nzHi[1] = y }
                        if z < nzLo[2] { nzLo[2] = z }; if z > nzHi[2] { nzHi[2] = z }
                    }
                    if withLabels {
                        let label = Int(labels[i])
                        if label > 0 { fg.add(v) }
                        if channel == 0 {
                            if label >= 0 && label < 256 { smallLabels[label] += 1 } else { otherLabels[label, default: 0] += 1 }
                            if label > 0 {
                                if x < fgLo[0] { fgLo[0] = x }; if x > fgHi[0] { fgHi[0] = x }
                                if y < fgLo[1] { fgLo[1] = y }; if y > fgHi[1] { fgHi[1] = y }
                                if z < fgLo[2] { fgLo[2] = z }; if z > fgHi[2] { fgHi[2] = z }
                            }
                        }
                    }
                    sub += 1
                    if sub == perVoxel {
                        sub = 0
                        x += 1
                        if x == nx { x = 0; y += 1; if y == ny { y = 0; z += 1 } }
                    }
                }
            }
            summary.intensity.append(all.finish())
            if withLabels { summary.foreground.append(fg.finish()) }
        }
        for (value, count) in smallLabels.enumerated() where count > 0 { otherLabels[value] = count }
        summary.labelVoxels = Dictionary(uniqueKeysWithValues: otherLabels.map { (String($0.key), $0.value) })
        if nzHi[0] >= 0 { summary.nonzeroBox = BoundingBox(lower: Array(nzLo.prefix(axes)), upper: Array(nzHi.prefix(axes))) }
        if fgHi[0] >= 0 { summary.foregroundBox = BoundingBox(lower: Array(fgLo.prefix(axes)), upper: Array(fgHi.prefix(axes))) }
        return summary
    }

    private func channelRange(_ v: Volume) -> (lo: Double, hi: Double, mid: Double, integral: Bool) {
        var lo = Double.infinity, hi = -Double.infinity
        var integral = !v.layout.kind.isFloat && v.layout.slope == v.layout.slope.rounded() && v.layout.intercept == v.layout.intercept.rounded()
        var sum = 0.0, n = 0
        v.forEachChunk { _, values in
            for x in values where x.isFinite {
                if x < lo { lo = x }
                if x > hi { hi = x }
                sum += x
                n += 1
            }
        }
        if lo > hi { lo = 0; hi = 0; integral = true }
        return (lo, hi, n > 0 ? sum / Double(n) : 0, integral)
    }
}

