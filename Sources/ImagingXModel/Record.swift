import ImagingXBytes
/// Which reader produced a record. Decided from content, never from the file name.
public enum FileFormat: String, Sendable, CaseIterable {
    case dicom, nifti1, nifti2, analyze, png, jpeg, unknown
}

public enum RecordStatus: String, Sendable {
    /// The header was read; every image field that the format defines is filled.
    case ok
    /// The file is damaged: `error` says what and at which byte.
    case error
    /// Not an image format ImagingX reads, or a variant of one it does not handle yet.
    case unsupported
}

/// An odd but readable fact about a header. Findings are data: they never stop a scan.
public struct Finding: Sendable, Equatable {
    public enum Level: String, Sendable { case info, warning, error }
    public var code: String
    public var level: Level
    public var message: String

    public init(_ code: String, _ level: Level, _ message: String) {
        self.code = code
        self.level = level
        self.message = message
    }
}

/// One file's facts. Field names are the output contract (README "Record"); later work adds
/// fields and never renames these.
public struct ImageRecord: Sendable {
    public var path: String
    public var format: FileFormat = .unknown
    public var status: RecordStatus = .ok
    public var error: String?
    public var sizeBytes: Int = 0
    /// Grid size, fastest-varying axis first.
    public var dims: [Int]?
    /// Millimetres per voxel in `dims` order (NIfTI's 4th axis in seconds).
    public var spacing: [Double]?
    public var dtype: DType?
    public var channels: Int?
    public var bitsStored: Int?
    public var modality: String?
    public var sopClassUID: String?
    public var transferSyntax: String?
    public var compressed: Bool?
    public var rescaleSlope: Double?
    public var rescaleIntercept: Double?
    /// Voxel index (fastest axis first) to RAS+ millimetres, row-major 4×4.
    public var affine: Matrix4?
    public var axcodes: String?
    /// SHA-256 of the SeriesInstanceUID (first 128 bits, hex). The UID itself is never kept.
    public var seriesKey: String?
    /// PNG Adam7 or JPEG progressive scans.
    public var interlaced: Bool?
    /// JPEG coding process from the SOF marker: baseline, extended, progressive, lossless
    /// (with "-arithmetic" / "-hierarchical" suffixes when those apply).
    public var coding: String?
    /// DICOM PhotometricInterpretation.
    public var photometric: String?
    public var findings: [Finding] = []
    /// Intensity statistics (`scan --stats`).
    public var stats: PixelStats?
    /// Why `stats` is missing for a readable image (`scan --stats`).
    public var statsError: String?
    /// DICOM slice geometry for series assembly (not part of the record's output).
    public var slice: SliceGeometry?

    public init(path: String) { self.path = path }

    package mutating func fail(_ error: ParseError) {
        status = error.kind == .unsupported ? .unsupported : .error
        self.error = error.description
    }

    package mutating func note(_ code: String, _ level: Finding.Level, _ message: String) {
        findings.append(Finding(code, level, message))
    }
}

/// What series assembly needs of one DICOM file, in patient (LPS) coordinates as stored.
public struct SliceGeometry: Sendable, Equatable {
    /// ImageOrientationPatient: row direction cosines, then column direction cosines.
    public var orientation: [Double]
    /// ImagePositionPatient of the first transmitted pixel.
    public var position: [Double]
    /// Spacing between columns (x) and between rows (y), mm.
    public var pixelSpacing: [Double]
    public var columns: Int
    public var rows: Int
    public var frames: Int
    public var isLocalizer: Bool

    public init(orientation: [Double], position: [Double], pixelSpacing: [Double], columns: Int, rows: Int,
                frames: Int, isLocalizer: Bool) {
        self.orientation = orientation
        self.position = position
        self.pixelSpacing = pixelSpacing
        self.columns = columns
        self.rows = rows
        self.frames = frames
        self.isLocalizer = isLocalizer
    }
}
