import ImagingXBytes
import ImagingXModel
/// NIfTI-1, NIfTI-2 and Analyze 7.5 headers, read as nibabel reads them: nibabel's load-time
/// fixes (qfac ∉ {−1, 1} → 1; zero spatial pixdim → 1; negative → |pixdim|; invalid xform
/// codes → 0) are applied and reported as findings, so spacing and affine match what a
/// nibabel user gets, and the user still learns that the header needed fixing.
package enum NIfTIReader {
    package enum Variant {
        case nifti1, nifti2, analyze, unknownNIfTI

        /// The record's format (`.unknown` for a NIfTI magic of an unknown version).
        package var format: FileFormat {
            switch self {
            case .nifti1: .nifti1
            case .nifti2: .nifti2
            case .analyze: .analyze
            case .unknownNIfTI: .unknown
            }
        }
    }

    /// Decides the variant from the first bytes (sizeof_hdr in either byte order, then magic).
    package static func sniff(_ b: UnsafeRawBufferPointer) -> (Variant, bigEndian: Bool)? {
        guard b.count >= 4 else { return nil }
        let le = b.loadUnaligned(as: UInt32.self)
        let sizeLE = Int32(bitPattern: UInt32(littleEndian: le))
        let sizeBE = Int32(bitPattern: UInt32(bigEndian: le))
        if sizeLE == 540 || sizeBE == 540, b.count >= 12 {
            // NIfTI-2 magic "n+2\0" or "ni2\0" then "\r\n\032\n" (nifti2.h).
            if b[4] == 0x6E, b[5] == 0x2B || b[5] == 0x69, b[6] == 0x32, b[7] == 0 {
                return (.nifti2, sizeBE == 540)
            }
        }
        if sizeLE == 348 || sizeBE == 348 {
            let bigEndian = sizeBE == 348
            if b.count >= 348, b[344] == 0x6E, b[345] == 0x2B || b[345] == 0x69, b[346] == 0x31, b[347] == 0 {
                return (.nifti1, bigEndian)
            }
            // A NIfTI-looking magic of an unknown version ("n+3\0") is not Analyze: refuse it.
            if b.count >= 348, b[344] == 0x6E, b[345] == 0x2B || b[345] == 0x69, b[347] == 0 {
                return (.unknownNIfTI, bigEndian)
            }
            // Analyze 7.5: no magic. Require a plausible dim[0] so random data that happens
            // to start with 348 is not taken for an image.
            if b.count >= 42 {
                let raw = UInt16(b[40]) | UInt16(b[41]) << 8
                let dim0 = bigEndian ? Int16(bitPattern: raw.byteSwapped) : Int16(bitPattern: raw)
                if (1...7).contains(dim0) { return (.analyze, bigEndian) }
            }
        }
        return nil
    }

    /// Reads a complete header in `b` (348 or 540 bytes). Throws when it cannot be read; what
    /// is odd but readable comes back as the header's findings.
    package static func parse(_ b: UnsafeRawBufferPointer, variant: Variant,
                              bigEndian: Bool) throws(ParseError) -> NIfTIHeader {
        if variant == .unknownNIfTI {
            let version = b.count > 346 ? String(UnicodeScalar(b[346])) : "?"
            throw ParseError(.unsupported, at: 344, "NIfTI magic with unknown version '\(version)'")
        }
        let slots = variant == .nifti2 ? NIfTISlots.nifti2 : NIfTISlots.nifti1
        guard b.count >= slots.size else {
            throw .truncated(at: b.count, need: slots.size, have: b.count, "the \(slots.size)-byte header")
        }
        let f = NIfTIFields(bytes: b, bigEndian: bigEndian)
        var findings: [Finding] = []

        // dim (nifti1.h): dim[0] is the number of dimensions, 1...7.
        let ndim = f.int(slots.dim, 0)
        guard (1...7).contains(ndim) else {
            throw ParseError(.malformed, at: slots.dim.offset, "dim[0] is \(ndim); NIfTI allows 1 to 7 dimensions")
        }
        // Fixed-size storage: the header holds raw values, the record's arrays are made once in
        // NIfTIRecord.fill.
        var dim = InlineArray<7, Int>(repeating: 0)
        var voxels = 1
        for i in 1...ndim {
            let d = f.int(slots.dim, i)
            guard d >= 0 else {
                throw ParseError(.malformed, at: slots.dim.offset + i * slots.dim.type.size, "dim[\(i)] is negative (\(d))")
            }
            dim[i - 1] = d
            let (product, overflow) = voxels.multipliedReportingOverflow(by: d)
            guard !overflow, product < 1 << 56 else {
                let dims = (0..<i).map { dim[$0] }
                throw ParseError(.malformed, at: slots.dim.offset + i * slots.dim.type.size, "dims \(dims) describe more voxels than any file can hold")
            }
            voxels = product
        }

        let code = f.int(slots.datatype)
        guard let type = NIfTIDataType(code: code) else {
            throw ParseError(.unsupported, at: slots.datatype.offset, "unknown NIfTI datatype code \(code)")
        }
        let bitpix = f.int(slots.bitpix)
        if bitpix != type.bits {
            findings.append(Finding(.bitpixMismatch, .warning, "bitpix is \(bitpix) but datatype \(type.dtype.rawValue) has \(type.bits) bits"))
        }

        // pixdim with nibabel's load-time fixes for the spatial axes.
        var pixdim = InlineArray<7, Double>(repeating: 0)
        var fixed: [String] = []
        for i in 1...ndim {
            var p = f.double(slots.pixdim, i)
            if i <= 3 {
                if p == 0 { p = 1; fixed.append("pixdim[\(i)] 0 → 1") }
                else if p < 0 { p = -p; fixed.append("pixdim[\(i)] negative → \(p)") }
            }
            if !p.isFinite { findings.append(Finding(.pixdimNonfinite, .error, "pixdim[\(i)] is not finite")) }
            pixdim[i - 1] = p
        }
        if !fixed.isEmpty {
            findings.append(Finding(.pixdimNonpositive, .warning, "spatial pixdim ≤ 0, read as nibabel does: " + fixed.joined(separator: ", ")))
        }

        // Units (xyzt_units, nifti1.h NIFTI_UNITS_*): spatial to mm, temporal to seconds.
        let units = f.int(slots.xyztUnits)
        if NIfTIHeader.millimetresPer(spaceUnit: units & 0x07) == nil, variant != .analyze {
            findings.append(Finding(.spaceUnitsUnknown, .info, "xyzt_units gives no spatial unit; millimetres assumed"))
        }

        let voxOffsetRaw = f.double(slots.voxOffset)
        var isPair = variant == .analyze
        var rescaleSlope: Double?, rescaleIntercept: Double?
        if variant != .analyze {
            isPair = b[slots.magic.offset + 1] == 0x69  // "ni1" / "ni2": header and image in separate files
            // scl_slope / scl_inter as nibabel's get_slope_inter: no scaling when the slope is
            // 0 or not finite.
            let slope = f.double(slots.sclSlope)
            let inter = f.double(slots.sclInter)
            if slope != 0, slope.isFinite {
                if inter.isFinite {
                    rescaleSlope = slope
                    rescaleIntercept = inter
                } else {
                    findings.append(Finding(.sclInterInvalid, .error, "scl_slope is \(slope) but scl_inter is \(inter)"))
                }
            }
            if !isPair, voxOffsetRaw < Double(slots.size + 4), voxOffsetRaw != 0 {
                findings.append(Finding(.voxOffsetLow, .warning, "vox_offset \(voxOffsetRaw) is inside the header"))
            }
        } else {
            (rescaleSlope, rescaleIntercept) = spm2Scaling(f, slots)
        }
        let minimumOffset = isPair ? 0 : slots.size + (variant == .analyze ? 0 : 4)
        var voxOffset = minimumOffset
        if voxOffsetRaw.isFinite, voxOffsetRaw >= 0 {
            // Beyond any file when it does not fit: the data check then reports it.
            voxOffset = max(voxOffsetRaw < 9e18 ? Int(voxOffsetRaw) : Int.max / 2, minimumOffset)
        } else {
            findings.append(Finding(.voxOffsetInvalid, .warning, "vox_offset is \(voxOffsetRaw); data read from byte \(minimumOffset)"))
        }

        let affine = affine(f, slots: slots, variant: variant, ndim: ndim, dim: dim, pixdim: pixdim, findings: &findings)

        let (dataBits, overflow) = voxels.multipliedReportingOverflow(by: max(type.bits, 1))
        let dataBytes = overflow ? Int.max : dataBits / 8 + (dataBits % 8 == 0 ? 0 : 1)
        let data = NIfTIHeader.VoxelData(voxOffset: voxOffset, dataBytes: dataBytes, isPair: isPair, type: type,
                                         bigEndian: bigEndian)
        return NIfTIHeader(variant: variant, ndim: ndim, dim: dim, bitpix: bitpix, pixdimFixed: pixdim, xyztUnits: units,
                           rescaleSlope: rescaleSlope, rescaleIntercept: rescaleIntercept, affine: affine,
                           voxels: data, findings: findings)
    }

    private static func affine(_ f: NIfTIFields, slots: NIfTISlots, variant: Variant, ndim: Int, dim: InlineArray<7, Int>,
                               pixdim: InlineArray<7, Double>, findings: inout [Finding]) -> Matrix4 {
        var base = Matrix4.identity
        // nibabel's shape_zoom_affine: x flipped, origin at the centre voxel.
        for axis in 0..<3 {
            let n = axis < ndim ? Double(dim[axis]) : 1
            var zoom = axis < ndim ? pixdim[axis] : 1
            if axis == 0 { zoom = -zoom }
            base[axis, axis] = zoom
            base[axis, 3] = -((n - 1) / 2) * zoom
        }
        if variant == .analyze { return spmOriginAffine(f, ndim: ndim, dim: dim, base: base, findings: &findings) }

        var qcode = f.int(slots.qformCode)
        var scode = f.int(slots.sformCode)
        if !(0...5).contains(qcode) {
            findings.append(Finding(.qformCodeInvalid, .warning, "qform_code \(qcode) is not a NIfTI xform code; read as 0"))
            qcode = 0
        }
        if !(0...5).contains(scode) {
            findings.append(Finding(.sformCodeInvalid, .warning, "sform_code \(scode) is not a NIfTI xform code; read as 0"))
            scode = 0
        }
        var sform: Matrix4?
        if scode != 0 {
            var m = Matrix4.identity
            for c in 0..<4 {
                m[0, c] = f.double(slots.srowX, c)
                m[1, c] = f.double(slots.srowY, c)
                m[2, c] = f.double(slots.srowZ, c)
            }
            sform = m
        }
        var qform: Matrix4?
        if qcode != 0 {
            var qfac = f.double(slots.pixdim, 0)
            if qfac != 1, qfac != -1 {
                findings.append(Finding(.qfacInvalid, .info, "pixdim[0] (qfac) is \(qfac); read as 1"))
                qfac = 1
            }
            let b = f.double(slots.quaternB), c = f.double(slots.quaternC), d = f.double(slots.quaternD)
            var w2 = 1 - (b * b + c * c + d * d)
            // nibabel's fillpositive tolerates rounding of float32 quaternions (3 eps).
            if w2 < 0 {
                if w2 < -3 * Double(Float.ulpOfOne) {
                    findings.append(Finding(.quaternionInvalid, .error, "quaternion (b, c, d) has norm > 1"))
                }
                w2 = 0
            }
            let a = w2.squareRoot()
            // Rotation of the (normalised) quaternion (a, b, c, d).
            let nq = a * a + b * b + c * c + d * d
            let s = nq < Double.ulpOfOne ? 0 : 2 / nq
            let (x2, y2, z2) = (b * s, c * s, d * s)
            let r: [[Double]] = nq < Double.ulpOfOne ? [[1, 0, 0], [0, 1, 0], [0, 0, 1]] : [
                [1 - (c * y2 + d * z2), b * y2 - a * z2, b * z2 + a * y2],
                [b * y2 + a * z2, 1 - (b * x2 + d * z2), c * z2 - a * x2],
                [b * z2 - a * y2, c * z2 + a * x2, 1 - (b * x2 + c * y2)],
            ]
            let zooms = [ndim > 0 ? pixdim[0] : 1, ndim > 1 ? pixdim[1] : 1, (ndim > 2 ? pixdim[2] : 1) * qfac]
            var m = Matrix4.identity
            for row in 0..<3 {
                for col in 0..<3 { m[row, col] = r[row][col] * zooms[col] }
            }
            m[0, 3] = f.double(slots.qoffsetX)
            m[1, 3] = f.double(slots.qoffsetY)
            m[2, 3] = f.double(slots.qoffsetZ)
            qform = m
        }
        if let s = sform, let q = qform {
            var worst = 0.0
            for row in 0..<3 { for col in 0..<4 { worst = max(worst, abs(s[row, col] - q[row, col])) } }
            if worst > 1e-3 {
                findings.append(Finding(.qformSformMismatch, .warning,
                                        "qform and sform differ by up to \(worst) mm; the sform is used (nibabel's rule)"))
            }
        }
        if let sform {
            if !sform.isFinite { findings.append(Finding(.sformNonfinite, .error, "sform has non-finite values")) }
            return sform
        }
        if let qform { return qform }
        findings.append(Finding(.noXform, .info, "qform_code and sform_code are 0: affine from pixdim (nibabel's base affine)"))
        return base
    }

    /// Analyze 7.5 as SPM writes it, which is how `nibabel.load` reads a `.hdr` without NIfTI
    /// magic (Spm2AnalyzeImage): the `originator` field holds the origin voxel as three int16
    /// (1-based, at byte 253); when it is set and within (−dim, 2·dim) the affine puts that voxel
    /// at 0 mm, else at the centre (spm99analyze.py `get_origin_affine`).
    static func spmOriginAffine(_ f: NIfTIFields, ndim: Int, dim: InlineArray<7, Int>, base: Matrix4,
                                findings: inout [Finding]) -> Matrix4 {
        var origin: [Double] = []
        for i in 0..<3 {
            let raw = f.bytes.loadUnaligned(fromByteOffset: 253 + 2 * i, as: UInt16.self)
            origin.append(Double(Int16(bitPattern: f.bigEndian ? UInt16(bigEndian: raw) : UInt16(littleEndian: raw))))
        }
        let grid = (0..<3).map { $0 < ndim ? Double(dim[$0]) : 1 }
        let usable = origin.contains { $0 != 0 } && (0..<3).allSatisfy { origin[$0] > -grid[$0] && origin[$0] < grid[$0] * 2 }
        guard usable else { return base }
        findings.append(Finding(.spmOrigin, .info, "Analyze origin field (SPM) \(origin.map { Int($0) }) places voxel \(origin.map { Int($0) - 1 }) at 0 mm"))
        var m = base
        for axis in 0..<3 {
            m[axis, 3] = -(origin[axis] - 1) * m[axis, axis]
        }
        return m
    }

    /// SPM2's scaling for Analyze (spm2analyze.py `get_slope_inter`, from spm_vol_ana.m): the
    /// `funused1` scale factor (and `funused2` offset) when finite and non-zero, else from the
    /// glmax/glmin and cal_max/cal_min ranges when both are non-zero, else none.
    static func spm2Scaling(_ f: NIfTIFields, _ slots: NIfTISlots) -> (Double?, Double?) {
        let slope = f.double(slots.sclSlope)
        if slope.isFinite, slope != 0 {
            let inter = f.double(slots.sclInter)
            return (slope, inter.isFinite ? inter : 0)
        }
        let glmax = Double(f.int(NIfTISlots.glmax)), glmin = Double(f.int(NIfTISlots.glmin))
        let calMax = f.double(slots.calMax), calMin = f.double(slots.calMin)
        let unscaled = glmax - glmin, scaled = calMax - calMin
        guard unscaled != 0, scaled != 0, scaled.isFinite else { return (nil, nil) }
        let s = scaled / unscaled
        return (s, calMin - s * glmin)
    }
}
