import ImagingXDatasets
import ImagingXModel

/// What `imagingx serve` (its routes, index jobs and watcher) reads and writes: the file pass's
/// store (`FileIndexStore`) plus the API's reads and its saved compat results and plans. Two
/// stores: SQLite (`IndexStore`) and PostgreSQL (`PostgresIndexStore`, ImagingXIndexPostgres);
/// both answer every call with the same values, and the file pages with the same bytes.
public protocol ServiceIndexStore: FileIndexStore {
    // Files
    /// One page of files (ordered by id), and the cursor of the next page when there is one.
    func files(_ q: FileQuery) throws(IndexError) -> (files: [IndexedFile], next: Int64?)
    func file(id: Int64) throws(IndexError) -> IndexedFile?
    /// One page of files as the API's JSON array, its length and the next page's cursor.
    func filePageJSON(_ q: FileQuery) throws(IndexError) -> (json: [UInt8], count: Int, next: Int64?)
    /// How many files match (the cursor ignored).
    func countFiles(_ q: FileQuery) throws(IndexError) -> Int
    /// Counts by format, modality, status, dtype (NULL as "unknown") and finding code over the matches.
    func fileFacets(_ q: FileQuery) throws(IndexError) -> [String: [String: Int]]
    func totals() throws(IndexError) -> (files: Int, datasets: Int, roots: Int)
    func fileID(root: Int64, path: String) throws(IndexError) -> Int64?
    func fullPath(file id: Int64) throws(IndexError) -> (path: String, root: String)?
    /// Records in error under a root (path, message), at most `limit`, in path order.
    func errorRecords(root: String, limit: Int) throws(IndexError) -> [(path: String, message: String)]

    // Datasets
    /// The datasets of a root (all when nil), ordered by root path, then folder.
    func datasets(root: Int64?) throws(IndexError) -> [IndexedDataset]
    func dataset(id: Int64) throws(IndexError) -> IndexedDataset?
    func fingerprintJSON(dataset id: Int64) throws(IndexError) -> [UInt8]?
    func caseSummaries(dataset id: Int64) throws(IndexError) -> [String: CaseSummary]
    /// Series volumes as a JSON array of `{"id", "dataset_id", "series"}`, by id.
    func seriesJSON(dataset: Int64?, limit: Int) throws(IndexError) -> [UInt8]

    // Saved results of the API
    func saveCompat(request: String, result: String, at time: String) throws(IndexError) -> Int64
    func savePlan(request: String, plan: String, at time: String) throws(IndexError) -> Int64
    func plan(id: Int64) throws(IndexError) -> (request: String, plan: String)?
}

extension IndexStore: ServiceIndexStore {}

extension ServiceIndexStore {
    /// The datasets a listing asks for: filtered by modality, layout and a piece of the name or
    /// folder (case-insensitive), in the order `sort` names (largest first for the counts).
    public func datasets(matching q: DatasetQuery) throws(IndexError) -> [IndexedDataset] {
        q.apply(try datasets(root: nil))
    }
}

extension DatasetQuery {
    /// The listing's filters and order applied to `all` (in Swift: the same on every store).
    public func apply(_ all: [IndexedDataset]) -> [IndexedDataset] {
        var all = all
        if let m = modality { all = all.filter { $0.modality == m } }
        if let layout { all = all.filter { $0.layout == layout } }
        if let text = text?.lowercased(), !text.isEmpty {
            all = all.filter { $0.name.lowercased().contains(text) || $0.folder.lowercased().contains(text) }
        }
        switch sort {
        case .name: all.sort { ($0.name.lowercased(), $0.id) < ($1.name.lowercased(), $1.id) }
        case .files: all.sort { ($1.files, $0.id) < ($0.files, $1.id) }
        case .cases: all.sort { ($1.cases, $0.id) < ($0.cases, $1.id) }
        case .bytes: all.sort { ($1.bytes, $0.id) < ($0.bytes, $1.id) }
        }
        return all
    }
}

// MARK: Filters, for any store's SQL

/// A value a filter compares with.
public enum FilterValue: Sendable, Equatable {
    case integer(Int64)
    case number(Double)
    case text(String)
}

/// One condition of a `FileQuery`, for a store to write in its own SQL dialect.
public struct FileFilter: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `column = value`, `column >= value`, `column <= value`, `column > value`.
        case equal, atLeast, atMost, above
        /// The file carries the finding code `value`.
        case hasFinding
        /// `value` is a substring of the root-relative path (bytes, case-sensitive).
        case pathContains
    }
    /// A column of `files f` (e.g. "f.root_id"); unused by `hasFinding` and `pathContains`.
    public var column: String
    public var kind: Kind
    public var value: FilterValue
}

extension FileQuery {
    /// The conditions every listed file must meet, in a fixed order (the cursor's last).
    public var filters: [FileFilter] {
        var out: [FileFilter] = []
        func add(_ column: String, _ kind: FileFilter.Kind, _ value: FilterValue) { out.append(FileFilter(column: column, kind: kind, value: value)) }
        if let root { add("f.root_id", .equal, .integer(root)) }
        if let dataset { add("f.dataset_id", .equal, .integer(dataset)) }
        if let format { add("f.format", .equal, .text(format)) }
        if let modality { add("f.modality", .equal, .text(modality)) }
        if let status { add("f.status", .equal, .text(status)) }
        if let dtype { add("f.dtype", .equal, .text(dtype)) }
        if let finding { add("f.id", .hasFinding, .text(finding)) }
        if let pathContains { add("f.path", .pathContains, .text(pathContains)) }
        if let ndim { add("f.ndim", .equal, .integer(Int64(ndim))) }
        for k in 0..<3 {
            if let v = minDims[k] { add("f.dim\(k)", .atLeast, .integer(Int64(v))) }
            if let v = maxDims[k] { add("f.dim\(k)", .atMost, .integer(Int64(v))) }
            if let v = minSpacing[k] { add("f.spacing\(k)", .atLeast, .number(v)) }
            if let v = maxSpacing[k] { add("f.spacing\(k)", .atMost, .number(v)) }
        }
        if let after { add("f.id", .above, .integer(after)) }
        return out
    }
}

// MARK: File pages from any store's rows

/// The API's file page written from a result row of any store, byte for byte as SQLite's
/// `filePageJSON` writes it (same columns, same escapes, same number forms).
public enum FilePageRows {
    /// The columns to select (from `files f`), in the order `appendFile` reads them.
    public static var columns: [String] { FilePageJSON.columns }

    /// A root's path as the JSON string a page names it by.
    public static func rootJSON(_ path: String) -> [UInt8] { Array(("\"" + JSONString.escape(path) + "\"").utf8) }

    /// One file: `{"id", "root", "dataset_id", "record": {…}}` from a row of `columns`.
    public static func appendFile<R: ColumnReader>(_ row: R, roots: [Int64: [UInt8]], to out: inout [UInt8]) {
        func raw(_ text: StaticString) { text.withUTF8Buffer { out.append(contentsOf: $0) } }
        func string(_ i: Int) {
            guard let s = row.string(i) else { raw("null"); return }
            appendEscaped(s, to: &out)
        }
        func json(_ i: Int) {
            guard let s = row.string(i) else { raw("null"); return }
            out.append(contentsOf: s.utf8)
        }
        func int(_ i: Int) {
            guard let v = row.int64(i) else { raw("null"); return }
            FileRows.appendInteger(Int(v), to: &out)
        }
        func bool(_ i: Int) {
            guard let v = row.int64(i) else { raw("null"); return }
            if v != 0 { raw("true") } else { raw("false") }
        }
        func number(_ i: Int) {
            guard let v = row.double(i) else { raw("null"); return }
            FileRows.appendNumber(v, to: &out)
        }
        raw("{\"id\":"); int(0)
        raw(",\"root\":")
        if let id = row.int64(1), let root = roots[id] { out += root } else { raw("null") }
        raw(",\"dataset_id\":"); int(2)
        let statsRead = (row.int64(3) ?? 0) != 0
        raw(",\"record\":{\"path\":"); string(4)
        raw(",\"format\":"); string(5)
        raw(",\"status\":"); string(6)
        raw(",\"error\":"); string(7)
        raw(",\"error_code\":"); string(8)
        raw(",\"error_offset\":"); int(9)
        raw(",\"size_bytes\":"); int(10)
        raw(",\"dims\":"); json(11)
        raw(",\"spacing\":"); json(12)
        raw(",\"dtype\":"); string(13)
        raw(",\"channels\":"); int(14)
        raw(",\"bits_stored\":"); int(15)
        raw(",\"modality\":"); string(16)
        raw(",\"sop_class_uid\":"); string(17)
        raw(",\"transfer_syntax\":"); string(18)
        raw(",\"compressed\":"); bool(19)
        raw(",\"rescale_slope\":"); number(20)
        raw(",\"rescale_intercept\":"); number(21)
        raw(",\"affine\":"); json(22)
        raw(",\"axcodes\":"); string(23)
        raw(",\"series_key\":"); string(24)
        raw(",\"interlaced\":"); bool(25)
        raw(",\"coding\":"); string(26)
        raw(",\"photometric\":"); string(27)
        raw(",\"findings\":"); json(28)
        if statsRead {
            raw(",\"stats\":")
            if row.int64(30) == nil {
                raw("null")
            } else {
                raw("{\"count\":"); int(30)
                raw(",\"min\":"); number(31)
                raw(",\"max\":"); number(32)
                raw(",\"mean\":"); number(33)
                raw(",\"std\":"); number(34)
                raw(",\"p00_5\":"); number(35)
                raw(",\"p50\":"); number(36)
                raw(",\"p99_5\":"); number(37)
                raw(",\"nan_count\":"); int(38)
                raw(",\"inf_count\":"); int(39)
                raw("}")
            }
            raw(",\"stats_error\":"); string(29)
        }
        raw("}}")
    }

    /// `text` as a JSON string: the escapes of `FilePageJSON.Writer.string`.
    static func appendEscaped(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in text.utf8 {
            guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { out.append(b); continue }
            switch b {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A series listing from its rows (id, dataset id, the stored record JSON), as SQLite's `seriesJSON`.
    public static func seriesJSON(_ rows: [(id: Int64, dataset: Int64?, record: String)]) -> [UInt8] {
        var out = "["
        for (i, row) in rows.enumerated() {
            out += (i > 0 ? "," : "") + "{\"id\":\(row.id),\"dataset_id\":" + (row.dataset.map(String.init) ?? "null")
                + ",\"series\":" + row.record + "}"
        }
        return Array((out + "]").utf8)
    }
}

extension IndexedFile {
    /// A file row read by a store in another module.
    public static func stored(id: Int64, root: String, datasetID: Int64?, record: ImageRecord, statsRead: Bool) -> IndexedFile {
        IndexedFile(id: id, root: root, datasetID: datasetID, record: record, statsRead: statsRead)
    }
}

extension IndexedDataset {
    /// A dataset row read by a store in another module.
    public static func stored(id: Int64, rootID: Int64, root: String, folder: String, name: String, layout: String, modality: String?,
                              files: Int, bytes: Int, cases: Int, casesFailed: Int, catalogID: String?,
                              fingerprintedAt: String?) -> IndexedDataset {
        IndexedDataset(id: id, rootID: rootID, root: root, folder: folder, name: name, layout: layout, modality: modality, files: files,
                       bytes: bytes, cases: cases, casesFailed: casesFailed, catalogID: catalogID, fingerprintedAt: fingerprintedAt)
    }
}
