import ImagingXBytes
import ImagingXModel
/// Geometry and value-transform attributes, which live at the top level of classic objects and
/// inside functional group items (PS3.3 §C.7.6.16) of enhanced multi-frame objects.
package struct DICOMGeometry {
    var pixelSpacing: [Double]?
    var sliceThickness: Double?
    var spacingBetweenSlices: Double?
    var orientation: [Double]?
    var position: [Double]?
    var rescaleSlope: Double?
    var rescaleIntercept: Double?

    var isEmpty: Bool {
        pixelSpacing == nil && sliceThickness == nil && spacingBetweenSlices == nil && orientation == nil
            && position == nil && rescaleSlope == nil && rescaleIntercept == nil
    }
}

/// What the reader keeps of a DICOM header: the few attributes the record needs.
/// Identity attributes (PS3.15 Annex E) are never read into it; the SeriesInstanceUID is
/// held only until it is hashed into the record's `series_key`.
package struct DICOMHeader {
    var hasPreamble = false
    var hasFileMeta = false
    package var transferSyntax: String?
    /// The syntax the dataset was read with (declared, or inferred when the meta lacks it).
    package var encodingSyntax = TransferSyntax.explicitLittle
    var mediaStorageSOPClassUID: String?
    var sopClassUID: String?
    var modality: String?
    /// ImageType (0008,0008): value 3 LOCALIZER marks a scout/localizer image.
    var imageType: String?
    package var photometric: String?
    var seriesInstanceUID: String?
    /// ReferencedSeriesSequence (0008,1115) > SeriesInstanceUID: the series a DICOM SEG (or other
    /// derived object) was made from. Held only until hashed, like `seriesInstanceUID`.
    var referencedSeriesUIDs: [String] = []
    package var rows: Int?
    package var columns: Int?
    package var numberOfFrames: Int?
    package var samplesPerPixel: Int?
    package var bitsAllocated: Int?
    package var bitsStored: Int?
    package var pixelRepresentation: Int?
    var imagerPixelSpacing: [Double]?
    var top = DICOMGeometry()
    var shared = DICOMGeometry()
    var perFrame = DICOMGeometry()
    var hasSharedGroups = false
    var hasPerFrameGroups = false
    var isDirectory = false
    /// The Pixel Data element the reader stopped at (7FE0,0010 / 0008 / 0009), if any.
    package var pixelDataTag: UInt32?
    package var pixelDataOffset = 0
    package var pixelDataUndefinedLength = false
    package var pixelDataLength = 0
    package var pixelDataVR: UInt16 = 0
    /// Deflated syntax: where the raw deflate stream of the dataset starts in the file.
    package var deflateStart: Int?
    /// Planar Configuration (0028,0006): 1 = colour-by-plane.
    package var planarConfiguration: Int?
    /// Palette Color lookup tables and the Extended Offset Table: where they lie, for pixel
    /// decoding only (never copied into a record). See `DICOMPixelTables`.
    package var tables = DICOMPixelTables()
    var findings: [Finding] = []
    /// With `DICOMParser.collectNested`: the elements read, with their sequence paths.
    package var nested: [NestedElement] = []
}

/// One element read with `DICOMParser.collectNested`. UIDs among them stay in memory only.
package struct NestedElement {
    /// Sequence tag, item index (from 0), sequence tag, item index, … down to the element.
    package var path: [UInt32]
    package var tag: UInt32
    package var vr: UInt16
    package var bigEndian: Bool
    package var value: [UInt8]
}

/// Where a value lies in the dataset the parser read (`DICOMParser.src`): offset and length.
package struct ValueRange: Equatable, Sendable {
    package var offset: Int
    package var length: Int

    package init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }
}

/// The Palette Color Lookup Table module (PS3.3 C.7.6.3.1.5–6, C.7.9) and the Extended Offset
/// Table (PS3.3 C.7.6.3.1.8; PS3.5 A.4). Descriptors are read (3 × 16-bit); the LUT and offset
/// data, up to 128 KiB each, are only located here and read, bounded, when pixels are decoded.
package struct DICOMPixelTables: Sendable {
    /// Red, green, blue descriptors: entries (0 = 65536), first mapped value, bits per entry.
    package var descriptors: [[Int]?] = [nil, nil, nil]
    /// Red, green, blue Palette Color Lookup Table Data (0028,1201–1203).
    package var data: [ValueRange?] = [nil, nil, nil]
    /// Red, green, blue Segmented Palette Color Lookup Table Data (0028,1221–1223).
    package var segmented: [ValueRange?] = [nil, nil, nil]
    /// Extended Offset Table (7FE0,0001) and its Lengths (7FE0,0002), 64-bit values.
    package var extendedOffsets: ValueRange?
    package var extendedLengths: ValueRange?
    /// The byte order of these values (the dataset's).
    package var bigEndian = false

    package init() {}
}
