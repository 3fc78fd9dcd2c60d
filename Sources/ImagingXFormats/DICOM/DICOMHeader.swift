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
    var findings: [Finding] = []
}
