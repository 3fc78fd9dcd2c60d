import FoundationEssentials
import GRDB
import ImagingXBytes
import ImagingXModel

/// What the index remembers of a file to decide, without opening it, whether it changed.
public struct StoredFile: Sendable, Equatable {
    public var id: Int64
    public var datasetID: Int64?
    public var device: Int64?
    public var inode: Int64?
    public var size: Int64
    public var mtimeNs: Int64?
    public var ctimeNs: Int64?
    /// The file was read with `--stats`.
    public var statsRead: Bool

    /// The walk's `stat` equals what was stored (device, inode, size, mtime and ctime, in ns).
    public func unchanged(_ s: FileStat) -> Bool {
        device == Int64(bitPattern: s.device) && inode == Int64(bitPattern: s.inode) && size == Int64(s.size)
            && mtimeNs == s.mtimeNs && ctimeNs == s.ctimeNs
    }
}

/// The `files` table: an `ImageRecord` in columns, and back. Round-trips every field the
/// JSONL/CSV sinks write, so `export` prints what `scan` printed.
enum FileRows {
    static let columns = [
        "id", "root_id", "path", "dataset_id", "format", "status", "error", "error_code", "error_offset", "size_bytes",
        "dims", "ndim", "dim0", "dim1", "dim2", "spacing", "spacing0", "spacing1", "spacing2",
        "dtype", "channels", "bits_stored", "modality", "sop_class_uid", "transfer_syntax", "compressed",
        "rescale_slope", "rescale_intercept", "affine", "axcodes", "series_key", "referenced_series_keys",
        "interlaced", "coding", "photometric", "findings", "finding_count",
        "stats_read", "stats_error", "stat_count", "stat_min", "stat_max", "stat_mean", "stat_std",
        "stat_p00_5", "stat_p50", "stat_p99_5", "stat_nan_count", "stat_inf_count",
        "device", "inode", "mtime_ns", "ctime_ns",
    ]

    static let insertSQL = "INSERT OR REPLACE INTO files (" + columns.joined(separator: ", ") + ") VALUES ("
        + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"

    /// The record's column values, in `columns` order.
    static func arguments(_ r: ImageRecord, id: Int64?, rootID: Int64, datasetID: Int64?, statsRead: Bool) -> StatementArguments {
        var values: [(any DatabaseValueConvertible)?] = []
        values.reserveCapacity(columns.count)
        values.append(id)
        values.append(rootID)
        values.append(r.path)
        values.append(datasetID)
        values.append(r.format.rawValue)
        values.append(r.status.rawValue)
        values.append(r.error)
        values.append(r.errorCode?.rawValue)
        values.append(r.errorOffset)
        values.append(r.sizeBytes)
        values.append(r.dims.map(intList))
        values.append(r.dims?.count)
        for k in 0..<3 { values.append(r.dims.flatMap { k < $0.count ? $0[k] : nil }) }
        values.append(r.spacing.map(numberList))
        for k in 0..<3 { values.append(r.spacing.flatMap { k < $0.count && $0[k].isFinite ? $0[k] : nil }) }
        values.append(r.dtype?.rawValue)
        values.append(r.channels)
        values.append(r.bitsStored)
        values.append(r.modality)
        values.append(r.sopClassUID)
        values.append(r.transferSyntax)
        values.append(r.compressed)
        values.append(finite(r.rescaleSlope))
        values.append(finite(r.rescaleIntercept))
        values.append(r.affine.map(affineText))
        values.append(r.axcodes)
        values.append(r.seriesKey)
        values.append(r.referencedSeriesKeys.map { $0.joined(separator: ",") })
        values.append(r.interlaced)
        values.append(r.coding)
        values.append(r.photometric)
        values.append(r.findings.isEmpty ? "[]" : findingsText(r.findings))
        values.append(r.findings.count)
        values.append(statsRead)
        values.append(r.statsError)
        if let s = r.stats {
            values.append(s.count)
            for v in [s.min, s.max, s.mean, s.std, s.p00_5, s.p50, s.p99_5] { values.append(v.isFinite ? v : nil) }
            values.append(s.nanCount)
            values.append(s.infCount)
        } else {
            values.append(contentsOf: Array(repeating: nil, count: 10))
        }
        if let f = r.fileStat {
            values.append(Int64(bitPattern: f.device))
            values.append(Int64(bitPattern: f.inode))
            values.append(f.mtimeNs)
            values.append(f.ctimeNs)
        } else {
            values.append(contentsOf: [nil, nil, nil, nil])
        }
        return StatementArguments(values)
    }

    /// The columns `record(_:)` reads, in its order (after the root's path prefix).
    static let selectColumns = columns.dropFirst(2).filter { $0 != "dataset_id" && $0 != "finding_count" }

    /// The record a row holds (`path` is the stored root-relative path).
    static func record(_ row: Row, offset: Int = 0) -> ImageRecord {
        var i = offset
        func next<T: DatabaseValueConvertible>(_: T.Type) -> T? {
            defer { i += 1 }
            return row[i]
        }
        var r = ImageRecord(path: next(String.self) ?? "")
        r.format = next(String.self).flatMap(FileFormat.init(rawValue:)) ?? .unknown
        r.status = next(String.self).flatMap(RecordStatus.init(rawValue:)) ?? .error
        r.error = next(String.self)
        r.errorCode = next(String.self).flatMap(ParseError.Kind.init(rawValue:))
        r.errorOffset = next(Int.self)
        r.sizeBytes = next(Int.self) ?? 0
        r.dims = next(String.self).map(parseInts)
        i += 4  // ndim, dim0–2
        r.spacing = next(String.self).map(parseNumbers)
        i += 3
        r.dtype = next(String.self).flatMap(DType.init(rawValue:))
        r.channels = next(Int.self)
        r.bitsStored = next(Int.self)
        r.modality = next(String.self)
        r.sopClassUID = next(String.self)
        r.transferSyntax = next(String.self)
        r.compressed = next(Bool.self)
        r.rescaleSlope = next(Double.self)
        r.rescaleIntercept = next(Double.self)
        r.affine = next(String.self).flatMap(parseAffine)
        r.axcodes = next(String.self)
        r.seriesKey = next(String.self)
        r.referencedSeriesKeys = next(String.self).map { $0.split(separator: ",").map(String.init) }
        r.interlaced = next(Bool.self)
        r.coding = next(String.self)
        r.photometric = next(String.self)
        let findings = next(String.self) ?? "[]"
        if findings != "[]" { r.findings = parseFindings(findings) }
        let statsRead = next(Bool.self) ?? false
        r.statsError = next(String.self)
        if statsRead, let count = next(Int.self) {
            var s = PixelStats()
            s.count = count
            s.min = next(Double.self) ?? .nan
            s.max = next(Double.self) ?? .nan
            s.mean = next(Double.self) ?? .nan
            s.std = next(Double.self) ?? .nan
            s.p00_5 = next(Double.self) ?? .nan
            s.p50 = next(Double.self) ?? .nan
            s.p99_5 = next(Double.self) ?? .nan
            s.nanCount = next(Int.self) ?? 0
            s.infCount = next(Int.self) ?? 0
            r.stats = s
        } else {
            i += statsRead ? 9 : 10
        }
        if let device = next(Int64.self), let inode = next(Int64.self), let mtime = next(Int64.self), let ctime = next(Int64.self) {
            r.fileStat = FileStat(device: UInt64(bitPattern: device), inode: UInt64(bitPattern: inode), size: r.sizeBytes,
                                  mtimeNs: mtime, ctimeNs: ctime)
        }
        return r
    }

    // MARK: Text forms of arrays (JSON, readable by sqlite3/pandas/DuckDB as they are)

    static func finite(_ v: Double?) -> Double? { v.flatMap { $0.isFinite ? $0 : nil } }

    static func intList(_ a: [Int]) -> String { "[" + a.map(String.init).joined(separator: ",") + "]" }

    /// Shortest round-trip decimal of each number; a non-finite one as null (as the sinks write it).
    static func numberList(_ a: [Double]) -> String {
        "[" + a.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ",") + "]"
    }

    static func affineText(_ m: Matrix4) -> String {
        "[" + (0..<4).map { r in numberList((0..<4).map { m[r, $0] }) }.joined(separator: ",") + "]"
    }

    static func parseInts(_ s: String) -> [Int] {
        s.utf8.split { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") || $0 == UInt8(ascii: ",") }
            .compactMap { Int(Substring($0)) }
    }

    static func parseNumbers(_ s: String) -> [Double] {
        s.utf8.split { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") || $0 == UInt8(ascii: ",") }
            .map { Double(Substring($0)) ?? .nan }
    }

    static func parseAffine(_ s: String) -> Matrix4? {
        let v = parseNumbers(s)
        guard v.count == 16 else { return nil }
        return Matrix4(rows: (0..<4).map { r in Array(v[(r * 4)..<(r * 4 + 4)]) })
    }

    static func findingsText(_ f: [Finding]) -> String {
        (try? String(decoding: JSONEncoder().encode(f), as: UTF8.self)) ?? "[]"
    }

    static func parseFindings(_ s: String) -> [Finding] {
        (try? JSONDecoder().decode([Finding].self, from: Data(s.utf8))) ?? []
    }
}
