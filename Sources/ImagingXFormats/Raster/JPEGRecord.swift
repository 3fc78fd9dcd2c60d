import ImagingXModel
/// Turns a parsed JPEG header into the record's fields, in one place.
package enum JPEGRecord {
    package static func fill(_ record: inout ImageRecord, from h: JPEGHeader) {
        record.format = .jpeg
        record.dims = [h.width, h.height]
        record.channels = h.components
        record.bitsStored = h.precision
        record.coding = h.coding
        record.interlaced = h.isProgressive
        record.compressed = true
        record.dtype = h.precision <= 8 ? (h.components == 3 ? .rgb24 : .uint8) : .uint16
        record.spacing = h.spacing
        record.appendFindings(h.findings)
    }
}
