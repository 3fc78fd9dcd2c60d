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
    /// Its row has findings (rows in `file_findings` to clear when it is replaced).
    public var hadFindings = false
    /// An object's ETag and LastModified as last listed (schema v2; nil for files).
    public var etag: String?
    public var lastModified: String?

    /// An object of an `s3://` root is unchanged when its listed size, LastModified and ETag all
    /// equal the stored ones. A listing without an ETag or a LastModified proves nothing: read.
    public func unchanged(size: Int, lastModified: String, etag: String) -> Bool {
        guard !etag.isEmpty, !lastModified.isEmpty, let storedETag = self.etag, let storedTime = self.lastModified else { return false }
        return self.size == Int64(size) && storedETag == etag && storedTime == lastModified
    }

    /// The walk's `stat` equals what was stored (device, inode, size, mtime and ctime, in ns).
    public func unchanged(_ s: FileStat) -> Bool {
        device == Int64(bitPattern: s.device) && inode == Int64(bitPattern: s.inode) && size == Int64(s.size)
            && mtimeNs == s.mtimeNs && ctimeNs == s.ctimeNs
    }
}

/// Where `FileRows.bind` puts a row's values, in column order: SQLite's prepared statement
/// (`RowBinder`) or a PostgreSQL statement's parameters.
public protocol ColumnBinder {
    mutating func null()
    mutating func int(_ v: Int?)
    mutating func int64(_ v: Int64?)
    mutating func bool(_ v: Bool?)
    /// A finite number, or NULL (non-finite values are stored as NULL, as SQLite does).
    mutating func double(_ v: Double?)
    mutating func text(_ v: String?)
    mutating func text(bytes: [UInt8])
}

/// A result row's values by column number, for `FileRows.record` (GRDB's `Row`, a PostgreSQL row).
public protocol ColumnReader {
    func string(_ i: Int) -> String?
    func int64(_ i: Int) -> Int64?
    func double(_ i: Int) -> Double?
}

extension Row: ColumnReader {
    public func string(_ i: Int) -> String? { self[i] }
    public func int64(_ i: Int) -> Int64? { self[i] }
    public func double(_ i: Int) -> Double? { self[i] }
}

/// The `files` table: an `ImageRecord` in columns, and back. Round-trips every field the
/// JSONL/CSV sinks write, so `export` prints what `scan` printed.
public enum FileRows {
    public static let columns = [
        "id", "root_id", "path", "dataset_id", "format", "status", "error", "error_code", "error_offset", "size_bytes",
        "dims", "ndim", "dim0", "dim1", "dim2", "spacing", "spacing0", "spacing1", "spacing2",
        "dtype", "channels", "bits_stored", "modality", "sop_class_uid", "transfer_syntax", "compressed",
        "rescale_slope", "rescale_intercept", "affine", "axcodes", "series_key", "referenced_series_keys",
        "interlaced", "coding", "photometric", "findings", "finding_count",
        "stats_read", "stats_error", "stat_count", "stat_min", "stat_max", "stat_mean", "stat_std",
        "stat_p00_5", "stat_p50", "stat_p99_5", "stat_nan_count", "stat_inf_count",
        "device", "inode", "mtime_ns", "ctime_ns",
        "etag", "last_modified",
    ]

    /// New files: a plain single-row INSERT. (INSERT OR REPLACE would make SQLite journal every
    /// page the statement touches into a statement journal: about 100 KB of copying per file.)
    static let insertSQL = "INSERT INTO files (" + columns.dropFirst().joined(separator: ", ") + ") VALUES ("
        + Array(repeating: "?", count: columns.count - 1).joined(separator: ", ") + ")"

    /// Changed files keep their row id: an UPDATE by id, the id bound last.
    static let updateSQL = "UPDATE files SET " + columns.dropFirst().map { $0 + " = ?" }.joined(separator: ", ") + " WHERE id = ?"

    /// Binds the record's column values, in `columns` order.
    public static func bind<B: ColumnBinder>(_ r: ImageRecord, rootID: Int64, datasetID: Int64?, statsRead: Bool, into b: inout B) {
        b.int64(rootID)
        b.text(r.path)
        b.int64(datasetID)
        b.text(r.format.rawValue)
        b.text(r.status.rawValue)
        b.text(r.error)
        b.text(r.errorCode?.rawValue)
        b.int(r.errorOffset)
        b.int(r.sizeBytes)
        if let dims = r.dims { b.text(bytes: intList(dims)) } else { b.null() }
        b.int(r.dims?.count)
        for k in 0..<3 { b.int(r.dims.flatMap { k < $0.count ? $0[k] : nil }) }
        if let spacing = r.spacing { b.text(bytes: numberList(spacing)) } else { b.null() }
        for k in 0..<3 { b.double(r.spacing.flatMap { k < $0.count ? $0[k] : nil }) }
        b.text(r.dtype?.rawValue)
        b.int(r.channels)
        b.int(r.bitsStored)
        b.text(r.modality)
        b.text(r.sopClassUID)
        b.text(r.transferSyntax)
        b.bool(r.compressed)
        b.double(r.rescaleSlope)
        b.double(r.rescaleIntercept)
        if let affine = r.affine { b.text(bytes: affineText(affine)) } else { b.null() }
        b.text(r.axcodes)
        b.text(r.seriesKey)
        b.text(r.referencedSeriesKeys.map { $0.joined(separator: ",") })
        b.bool(r.interlaced)
        b.text(r.coding)
        b.text(r.photometric)
        b.text(r.findings.isEmpty ? "[]" : findingsText(r.findings))
        b.int(r.findings.count)
        b.bool(statsRead)
        b.text(r.statsError)
        if let s = r.stats {
            b.int(s.count)
            for v in [s.min, s.max, s.mean, s.std, s.p00_5, s.p50, s.p99_5] { b.double(v) }
            b.int(s.nanCount)
            b.int(s.infCount)
        } else {
            for _ in 0..<10 { b.null() }
        }
        if let f = r.fileStat {
            b.int64(Int64(bitPattern: f.device))
            b.int64(Int64(bitPattern: f.inode))
            b.int64(f.mtimeNs)
            b.int64(f.ctimeNs)
        } else {
            for _ in 0..<4 { b.null() }
        }
        b.text(r.objectVersion?.etag)
        b.text(r.objectVersion?.lastModified)
    }

    /// The columns `record(_:)` reads, in its order (after the root's path prefix).
    public static let selectColumns = columns.dropFirst(2).filter { $0 != "dataset_id" && $0 != "finding_count" }

    /// The record a row holds (`path` is the stored root-relative path).
    public static func record<R: ColumnReader>(_ row: R, offset: Int = 0) -> ImageRecord {
        var i = offset
        func next(_: String.Type) -> String? {
            defer { i += 1 }
            return row.string(i)
        }
        func next(_: Int64.Type) -> Int64? {
            defer { i += 1 }
            return row.int64(i)
        }
        func next(_: Int.Type) -> Int? {
            defer { i += 1 }
            return row.int64(i).map { Int(truncatingIfNeeded: $0) }
        }
        func next(_: Bool.Type) -> Bool? {
            defer { i += 1 }
            return row.int64(i).map { $0 != 0 }
        }
        func next(_: Double.Type) -> Double? {
            defer { i += 1 }
            return row.double(i)
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
        } else {
            i = offset + selectColumns.count - 2
        }
        if let etag = next(String.self), let lastModified = next(String.self) {
            r.objectVersion = ObjectVersion(etag: etag, lastModified: lastModified)
        }
        return r
    }

    // MARK: Text forms of arrays (JSON, readable by sqlite3/pandas/DuckDB as they are)

    static func finite(_ v: Double?) -> Double? { v.flatMap { $0.isFinite ? $0 : nil } }

    static func intList(_ a: [Int]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, v) in a.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendInteger(v, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    static func appendInteger(_ v: Int, to out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                n += 1
            } while m > 0
            for k in stride(from: n - 1, through: 0, by: -1) { out.append(d[k]) }
        }
    }

    /// Each number as the shortest decimal that reads back exactly (whole numbers below 2^53
    /// without a fraction, the common case in affines); a non-finite one as null (as the sinks write it).
    static func appendNumber(_ v: Double, to out: inout [UInt8]) {
        if !v.isFinite {
            out += [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")]
        } else if v == v.rounded(), abs(v) < 9.0e15, !(v == 0 && v.sign == .minus) {
            appendInteger(Int(v), to: &out)
        } else {
            out += Array(v.description.utf8)
        }
    }

    static func numberList(_ a: [Double]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        for (i, v) in a.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendNumber(v, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    static func affineText(_ m: Matrix4) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(96)
        for r in 0..<4 {
            out.append(UInt8(ascii: r == 0 ? "[" : ","))
            if r > 0 { out.append(UInt8(ascii: "[")) }
            for c in 0..<4 {
                if c > 0 { out.append(UInt8(ascii: ",")) }
                appendNumber(m[r, c], to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
        return out
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

    /// Keys sorted: the encoder's own key order varies from one encoder to the next, and the
    /// column must be the same text whichever process wrote it (a merged index equals one run's).
    static func findingsText(_ f: [Finding]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(f), as: UTF8.self)) ?? "[]"
    }

    static func parseFindings(_ s: String) -> [Finding] {
        (try? JSONDecoder().decode([Finding].self, from: Data(s.utf8))) ?? []
    }
}
