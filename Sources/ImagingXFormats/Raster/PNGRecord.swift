import ImagingXModel
/// Turns a parsed PNG header into the record's fields, in one place.
package enum PNGRecord {
    package static func fill(_ record: inout ImageRecord, from h: PNGHeader) {
        record.format = .png
        record.dims = [h.width, h.height]
        record.spacing = h.spacing
        record.bitsStored = h.bitDepth
        record.interlaced = h.interlaced
        record.compressed = true
        switch h.colorType {
        case 0:
            record.channels = 1
            record.dtype = h.bitDepth == 16 ? .uint16 : h.bitDepth == 1 ? .bit : .uint8
        case 2:
            record.channels = 3
            record.dtype = h.bitDepth == 16 ? .uint16 : .rgb24
        case 3:
            // Palette indices expand to RGB (RGBA with tRNS), as every decoder presents them.
            record.channels = h.hasTransparency ? 4 : 3
            record.dtype = h.hasTransparency ? .rgba32 : .rgb24
        case 4:
            record.channels = 2
            record.dtype = h.bitDepth == 16 ? .uint16 : .uint8
        default:
            record.channels = 4
            record.dtype = h.bitDepth == 16 ? .uint16 : .rgba32
        }
        record.appendFindings(h.findings)
    }
}
