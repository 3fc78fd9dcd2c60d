import ImagingXModel
/// Turns a parsed NIfTI / Analyze header into the record's fields, in one place.
package enum NIfTIRecord {
    /// `gzip`: the header came out of a `.nii.gz` (the record's `compressed`).
    package static func fill(_ record: inout ImageRecord, from h: NIfTIHeader, gzip: Bool) {
        record.format = h.variant.format
        record.compressed = gzip
        record.dims = h.dims
        record.dtype = h.voxels.type.dtype
        record.channels = h.voxels.type.channels
        record.bitsStored = h.voxels.type.bits
        record.spacing = h.spacing
        record.rescaleSlope = h.rescaleSlope
        record.rescaleIntercept = h.rescaleIntercept
        record.affine = h.affine
        record.axcodes = h.affine.axcodes
        record.appendFindings(h.findings)
    }
}
