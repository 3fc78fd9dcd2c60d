import ImagingXBytes
import ImagingXModel
/// Turns a parsed DICOM header into the record's fields.
package enum DICOMRecord {
    /// SOP classes whose objects hold no image grid (PS3.4 Annex B; PS3.6 Annex A).
    static let directorySOPClass = "1.2.840.10008.1.3.10"

    /// Hashes UIDs into keys, remembering the last one: the files of a series usually sit
    /// together, so consecutive files of one worker mostly share the SeriesInstanceUID.
    package final class UIDHasher {
        private var lastUID: String?
        private var lastKey = ""
        package init() {}

        func key(_ uid: String) -> String {
            if uid != lastUID {
                lastUID = uid
                lastKey = SHA256.hex(Array(uid.utf8), bytes: 16)
            }
            return lastKey
        }
    }

    package static func fill(_ record: inout ImageRecord, from h: DICOMHeader, hasher: UIDHasher = UIDHasher()) {
        record.format = .dicom
        record.transferSyntax = h.transferSyntax ?? h.encodingSyntax
        record.sopClassUID = h.sopClassUID ?? h.mediaStorageSOPClassUID
        record.modality = h.modality
        record.findings.append(contentsOf: h.findings)
        if let uid = h.seriesInstanceUID {
            record.seriesKey = hasher.key(uid)
        }
        if !h.referencedSeriesUIDs.isEmpty {
            record.referencedSeriesKeys = h.referencedSeriesUIDs.map { SHA256.hex(Array($0.utf8), bytes: 16) }
        }
        if h.isDirectory || record.sopClassUID == directorySOPClass {
            record.note(.dicomdir, .info, "media storage directory (DICOMDIR): no image")
            return
        }
        let hasImage = h.pixelDataTag != nil || (h.rows != nil && h.columns != nil)
        if h.pixelDataTag == nil {
            // A file cut at an element boundary parses cleanly. What gives it away is an object
            // that should carry pixels (an image storage class, or an image pixel module) but
            // ends without them, or one with no SOP class at all. Header-only files (pixels
            // stripped for sharing) look the same, so this is a finding, not an error.
            let sop = record.sopClassUID
            if sop.map(isImageStorage) == true || h.bitsAllocated != nil {
                record.note(.pixelDataAbsent, .warning,
                            "an image object (SOP class \(sop ?? "unknown")) ends at byte \(record.sizeBytes) without Pixel Data: header-only, or cut short")
            } else if sop == nil {
                record.note(.sopClassMissing, .warning,
                            "no SOPClassUID (0008,0016 or 0002,0002) and no Pixel Data: an incomplete object, or cut short")
            }
        }
        guard hasImage else {
            record.note(.noImage, .info, "no Pixel Data and no image grid: a non-image object")
            return
        }
        record.photometric = h.photometric
        let encapsulated = h.pixelDataUndefinedLength
            || !TransferSyntax.isNative(h.transferSyntax ?? h.encodingSyntax)
        record.compressed = encapsulated

        guard let columns = h.columns, let rows = h.rows else {
            // pydicom's pixel_array raises: not loadable, so not `ok` (the other fields stay filled).
            record.fail(ParseError(.malformed, at: h.pixelDataOffset,
                                   "Pixel Data present but Rows (0028,0010) or Columns (0028,0011) missing"))
            return
        }
        var dims = [columns, rows]
        let frames = h.numberOfFrames ?? 1
        if frames > 1 { dims.append(frames) }
        if frames < 1 { record.note(.framesInvalid, .warning, "NumberOfFrames is \(frames)") }
        record.dims = dims

        let samples = h.samplesPerPixel ?? 1
        record.channels = samples
        record.bitsStored = h.bitsStored ?? h.bitsAllocated
        record.dtype = dtype(h, samples: samples)
        if h.bitsAllocated == nil { record.note(.bitsAllocatedMissing, .warning, "BitsAllocated (0028,0100) missing") }

        // Geometry: top level (classic objects), else the shared functional groups, else the
        // first frame's functional groups (PS3.3 §C.7.6.16).
        let pixelSpacing = h.top.pixelSpacing ?? h.shared.pixelSpacing ?? h.perFrame.pixelSpacing
        var inPlane: [Double]?
        if let ps = pixelSpacing, ps.count >= 2 {
            inPlane = [ps[1], ps[0]]
            if ps.count != 2 { record.note(.pixelSpacingVm, .warning, "PixelSpacing has \(ps.count) values, expected 2") }
        } else if let ips = h.imagerPixelSpacing, ips.count >= 2 {
            inPlane = [ips[1], ips[0]]
            record.note(.spacingFromImager, .info, "PixelSpacing absent: ImagerPixelSpacing (0018,1164) used (detector plane, not patient)")
        } else {
            record.note(.spacingMissing, .warning, "no PixelSpacing (0028,0030) or ImagerPixelSpacing (0018,1164)")
        }
        if let s = inPlane, s.contains(where: { !($0 > 0) || !$0.isFinite }) {
            record.note(.spacingNonpositive, .error, "pixel spacing \(s) is not positive")
        }
        let between = (h.top.spacingBetweenSlices ?? h.shared.spacingBetweenSlices ?? h.perFrame.spacingBetweenSlices)
        let thickness = (h.top.sliceThickness ?? h.shared.sliceThickness ?? h.perFrame.sliceThickness)
        if var s = inPlane {
            if frames > 1, let between { s.append(between) }
            record.spacing = s
        }
        record.rescaleSlope = (h.top.rescaleSlope ?? h.shared.rescaleSlope ?? h.perFrame.rescaleSlope)
        record.rescaleIntercept = (h.top.rescaleIntercept ?? h.shared.rescaleIntercept ?? h.perFrame.rescaleIntercept)
        if record.rescaleSlope == 0 { record.note(.rescaleSlopeZero, .warning, "RescaleSlope is 0") }

        if let iop = (h.top.orientation ?? h.shared.orientation ?? h.perFrame.orientation), let ipp = (h.top.position ?? h.shared.position ?? h.perFrame.position), let s = inPlane {
            guard iop.count == 6, ipp.count == 3 else {
                record.note(.geometryVm, .warning, "ImageOrientationPatient or ImagePositionPatient has the wrong number of values")
                return
            }
            let row = Array(iop[0..<3]), col = Array(iop[3..<6])
            let check = PatientGeometry.orthonormality(row: row, column: col)
            if !check.isOrthonormal(tolerance: PatientGeometry.fileCosineTolerance) {
                record.note(.orientationNotOrthonormal, .warning,
                            "ImageOrientationPatient cosines are not orthonormal (dot \(check.dot), norms \(check.rowNorm), \(check.columnNorm))")
            }
            // One file: k steps one slice spacing along the unit normal.
            let normal = PatientGeometry.sliceNormal(row: row, column: col)
            let dz = between ?? thickness ?? 1
            let m = PatientGeometry.affine(row: row, column: col, spacing: s, sliceStep: normal.map { $0 * dz }, origin: ipp)
            if m.isFinite {
                record.affine = m
                record.axcodes = m.axcodes
                let type = (h.imageType ?? "").split(separator: "\\", omittingEmptySubsequences: false)
                record.slice = SliceGeometry(orientation: iop, position: ipp, pixelSpacing: s, columns: columns, rows: rows,
                                             frames: frames, isLocalizer: type.count > 2 && type[2].uppercased().contains("LOCALIZER"))
            }
        } else {
            var missing: [String] = []
            if (h.top.orientation ?? h.shared.orientation ?? h.perFrame.orientation) == nil { missing.append("ImageOrientationPatient") }
            if (h.top.position ?? h.shared.position ?? h.perFrame.position) == nil { missing.append("ImagePositionPatient") }
            if !missing.isEmpty {
                record.note(.geometryMissing, .info, "no \(missing.joined(separator: " or ")): no patient-space affine")
            }
        }
        if !encapsulated, h.pixelDataLength >= 0, h.pixelDataTag != nil,
           let bits = h.bitsAllocated, bits > 0 {
            // Sizes come from the file: multiply with overflow checks (an absurd NumberOfFrames
            // must not trap), and treat an overflow as "more than any file holds".
            var expectedBits = 1
            var overflow = false
            // 4:2:2 chroma subsampling (YBR_FULL_422, YBR_PARTIAL_422; PS3.3 C.7.6.3.1.2) stores
            // two chroma samples per two pixels: 2 samples per pixel on average, not 3.
            let stored = samples == 3 && (h.photometric == "YBR_FULL_422" || h.photometric == "YBR_PARTIAL_422") ? 2 : max(samples, 1)
            for factor in [columns, rows, max(frames, 1), stored, bits] {
                let (p, o) = expectedBits.multipliedReportingOverflow(by: max(factor, 0))
                expectedBits = p
                overflow = overflow || o
            }
            let expected = overflow ? Int.max : expectedBits / 8
            if h.pixelDataLength < expected {
                // pydicom's pixel_array raises on a short native Pixel Data: not loadable.
                record.fail(ParseError(.truncated, at: h.pixelDataOffset,
                                       "Pixel Data holds \(h.pixelDataLength) bytes; the grid needs \(expected)",
                                       need: expected, have: h.pixelDataLength))
            }
        }
    }

    /// Storage SOP classes (PS3.4 Annex B, PS3.6 Annex A) under 1.2.840.10008.5.1.4.1.1 that
    /// hold images, i.e. everything there except documents, reports, presentation states,
    /// waveforms, RT non-image objects, registrations, surfaces and measurements.
    static func isImageStorage(_ uid: String) -> Bool {
        let root = "1.2.840.10008.5.1.4.1.1."
        guard uid.hasPrefix(root) else { return false }
        let rest = uid.dropFirst(root.count)
        let family = rest.split(separator: ".", maxSplits: 1).first.map(String.init) ?? ""
        let nonImageFamilies: Set<String> = ["9", "11", "88", "104", "67", "68", "78", "79", "80", "81", "82", "90", "91", "200", "201"]
        if nonImageFamilies.contains(family) { return false }
        let nonImage: Set<Substring> = ["66", "66.1", "66.2", "66.3", "66.5", "66.6", "481.3", "481.4", "481.5", "481.6",
                                        "481.7", "481.8", "481.9", "481.10", "481.11", "481.12", "481.13"]
        return !nonImage.contains(rest)
    }

    static func dtype(_ h: DICOMHeader, samples: Int) -> DType? {
        let signed = h.pixelRepresentation == 1
        if h.pixelDataTag == Tag.floatPixelData { return .float32 }
        if h.pixelDataTag == Tag.doubleFloatPixelData { return .float64 }
        guard let bits = h.bitsAllocated else { return nil }
        switch bits {
        case 1: return .bit
        case 8: return samples == 3 ? .rgb24 : signed ? .int8 : .uint8
        case 16: return signed ? .int16 : .uint16
        case 32: return signed ? .int32 : .uint32
        case 64: return signed ? .int64 : .uint64
        default: return nil
        }
    }
}
