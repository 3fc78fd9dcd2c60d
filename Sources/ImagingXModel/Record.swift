import ImagingXBytes
/// Which reader produced a record. Decided from content, never from the file name.
public enum FileFormat: String, Sendable, CaseIterable, Codable {
    case dicom, nifti1, nifti2, analyze, png, jpeg, metaimage, nrrd, unknown
}

public enum RecordStatus: String, Sendable, Codable {
    /// The header was read; every image field that the format defines is filled.
    case ok
    /// The file is damaged: `error` says what and at which byte.
    case error
    /// Not an image format ImagingX reads, or a variant of one it does not handle yet.
    case unsupported
}

/// What a finding is about: the record's `findings[].code` (CSV: `findings`, joined by `;`).
/// The README's record section lists each with its meaning.
public enum FindingCode: String, Sendable, Codable, CaseIterable {
    case bitpixMismatch = "bitpix_mismatch"
    case bitsAllocatedMissing = "bits_allocated_missing"
    case cmyk
    case densityAspectOnly = "density_aspect_only"
    case dicomdir
    case fileMetaImplicitVr = "file_meta_implicit_vr"
    case framesInvalid = "frames_invalid"
    case geometryMissing = "geometry_missing"
    case geometryVm = "geometry_vm"
    case heightInDnl = "height_in_dnl"
    case noFileMeta = "no_file_meta"
    case noImage = "no_image"
    case noXform = "no_xform"
    case orientationLabelMismatch = "orientation_label_mismatch"
    case orientationNotOrthonormal = "orientation_not_orthonormal"
    case palette
    case physAspectOnly = "phys_aspect_only"
    case physLength = "phys_length"
    case physZero = "phys_zero"
    case pixdimNonfinite = "pixdim_nonfinite"
    case pixdimNonpositive = "pixdim_nonpositive"
    case pixelDataAbsent = "pixel_data_absent"
    case pixelSpacingVm = "pixel_spacing_vm"
    case qfacInvalid = "qfac_invalid"
    case qformCodeInvalid = "qform_code_invalid"
    case qformSformMismatch = "qform_sform_mismatch"
    case quaternionInvalid = "quaternion_invalid"
    case rescaleSlopeZero = "rescale_slope_zero"
    case sclInterInvalid = "scl_inter_invalid"
    case sformCodeInvalid = "sform_code_invalid"
    case sformNonfinite = "sform_nonfinite"
    case sopClassMissing = "sop_class_missing"
    case spaceUnitsUnknown = "space_units_unknown"
    case spacingFromImager = "spacing_from_imager"
    case spacingMissing = "spacing_missing"
    case spacingNonpositive = "spacing_nonpositive"
    case spmOrigin = "spm_origin"
    case strayDelimiter = "stray_delimiter"
    case transferSyntaxMissing = "transfer_syntax_missing"
    case voxOffsetInvalid = "vox_offset_invalid"
    case voxOffsetLow = "vox_offset_low"
    case vrEncodingMismatch = "vr_encoding_mismatch"
}

/// An odd but readable fact about a header. Findings are data: they never stop a scan.
public struct Finding: Sendable, Equatable, Codable {
    public enum Level: String, Sendable, Codable { case info, warning, error }
    public var code: FindingCode
    public var level: Level
    public var message: String

    public init(_ code: FindingCode, _ level: Level, _ message: String) {
        self.code = code
        self.level = level
        self.message = message
    }
}

/// The file's identity and times, from the `fstat` made when it was opened: what an index needs
/// to tell an unchanged file from a changed one without reading it (`scan --file-stat`).
public struct FileStat: Sendable, Equatable, Codable {
    public var device: UInt64
    public var inode: UInt64
    public var size: Int
    /// Modification and status-change times, nanoseconds since the Unix epoch.
    public var mtimeNs: Int64
    public var ctimeNs: Int64

    public init(device: UInt64, inode: UInt64, size: Int, mtimeNs: Int64, ctimeNs: Int64) {
        self.device = device
        self.inode = inode
        self.size = size
        self.mtimeNs = mtimeNs
        self.ctimeNs = ctimeNs
    }

    enum CodingKeys: String, CodingKey {
        case device, inode, size, mtimeNs = "mtime_ns", ctimeNs = "ctime_ns"
    }
}

/// One file's facts. Field names are the output contract (README "Record"); later work adds
/// fields and never renames these.
public struct ImageRecord: Sendable, Equatable {
    public var path: String
    public var format: FileFormat = .unknown
    public var status: RecordStatus = .ok
    public var error: String?
    /// The kind of `error` (`error_code`: truncated, malformed, limit_exceeded, unsupported, io).
    public var errorCode: ParseError.Kind?
    /// The byte offset where the reader stopped (`error_offset`).
    public var errorOffset: Int?
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
    /// Hashes (as `seriesKey`) of the series named in ReferencedSeriesSequence (0008,1115): for a
    /// DICOM SEG, its source series. In memory only (like `slice`): not written by the sinks.
    public var referencedSeriesKeys: [String]?
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
    /// DICOM slice geometry for series assembly. In memory only: not written by the JSONL/CSV
    /// sinks, so a record read back has none.
    public var slice: SliceGeometry?
    /// The file's device, inode, size and times (`scan --file-stat`; `ReadOptions.fileStat`).
    public var fileStat: FileStat?
    /// An object's version as its store's listing gave it (`index s3://…`: what decides whether
    /// the object changed). In memory and in the index only: not written by the sinks.
    public var objectVersion: ObjectVersion?

    public init(path: String) { self.path = path }

    package mutating func fail(_ error: ParseError) {
        status = error.kind == .unsupported ? .unsupported : .error
        self.error = error.description
        errorCode = error.kind
        errorOffset = error.offset
    }

    package mutating func note(_ code: FindingCode, _ level: Finding.Level, _ message: String) {
        findings.append(Finding(code, level, message))
    }

    /// Appends a reader's findings after any already noted. Most headers have none: nothing to
    /// do; a record with none yet takes the reader's array as it is (no copy, no allocation).
    @inlinable
    package mutating func appendFindings(_ more: [Finding]) {
        guard !more.isEmpty else { return }
        if findings.isEmpty { findings = more } else { findings.append(contentsOf: more) }
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

/// An object's ETag and LastModified, as text exactly as ListObjectsV2 gave them (compared for
/// equality only, never parsed).
public struct ObjectVersion: Sendable, Equatable {
    public var etag: String
    public var lastModified: String

    public init(etag: String, lastModified: String) {
        self.etag = etag
        self.lastModified = lastModified
    }
}
