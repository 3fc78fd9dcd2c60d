import GRDB
import GRDBSQLite
import ImagingXModel

/// The API's file pages written straight from SQLite's columns into JSON: the array columns
/// (dims, spacing, affine, findings) already hold JSON and go in as they are, so a page costs
/// no record decoding and no number formatting beyond the few scalar doubles. (About 5× less
/// work per row than decoding an `ImageRecord` and writing it; the list is the service's hot path.)
enum FilePageJSON {
    static func escape(_ text: String) -> String { JSONString.escape(text) }

    /// Columns in the order `write` reads them.
    static let columns = [
        "f.id", "f.root_id", "f.dataset_id", "f.stats_read",
        "f.path", "f.format", "f.status", "f.error", "f.error_code", "f.error_offset", "f.size_bytes", "f.dims", "f.spacing",
        "f.dtype", "f.channels", "f.bits_stored", "f.modality", "f.sop_class_uid", "f.transfer_syntax", "f.compressed",
        "f.rescale_slope", "f.rescale_intercept", "f.affine", "f.axcodes", "f.series_key", "f.interlaced", "f.coding",
        "f.photometric", "f.findings", "f.stats_error", "f.stat_count", "f.stat_min", "f.stat_max", "f.stat_mean", "f.stat_std",
        "f.stat_p00_5", "f.stat_p50", "f.stat_p99_5", "f.stat_nan_count", "f.stat_inf_count",
    ]

    struct Writer {
        let s: OpaquePointer
        var out: [UInt8]
        /// Root paths by id, as JSON strings (read once per page: no join in the query, so the
        /// planner always walks the filter's index or the id order).
        let roots: [Int64: [UInt8]]

        mutating func raw(_ text: StaticString) {
            text.withUTF8Buffer { out.append(contentsOf: $0) }
        }

        func isNull(_ i: Int32) -> Bool { sqlite3_column_type(s, i) == SQLITE_NULL }

        /// A text column as a JSON string (escaped), or null.
        mutating func string(_ i: Int32) {
            guard !isNull(i), let p = sqlite3_column_text(s, i) else { raw("null"); return }
            let n = Int(sqlite3_column_bytes(s, i))
            out.append(UInt8(ascii: "\""))
            let bytes = UnsafeBufferPointer(start: p, count: n)
            var start = 0
            for k in 0..<n {
                let b = bytes[k]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: bytes[start..<k])
                switch b {
                case UInt8(ascii: "\""): raw("\\\"")
                case UInt8(ascii: "\\"): raw("\\\\")
                case 0x0A: raw("\\n")
                case 0x0D: raw("\\r")
                case 0x09: raw("\\t")
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 15)]]
                }
                start = k + 1
            }
            out.append(contentsOf: bytes[start..<n])
            out.append(UInt8(ascii: "\""))
        }

        /// A text column that holds JSON, copied as it is (null when NULL).
        mutating func json(_ i: Int32) {
            guard !isNull(i), let p = sqlite3_column_text(s, i) else { raw("null"); return }
            out.append(contentsOf: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(s, i))))
        }

        mutating func int(_ i: Int32) {
            guard !isNull(i) else { raw("null"); return }
            FileRows.appendInteger(Int(sqlite3_column_int64(s, i)), to: &out)
        }

        mutating func bool(_ i: Int32) {
            guard !isNull(i) else { raw("null"); return }
            if sqlite3_column_int64(s, i) != 0 { raw("true") } else { raw("false") }
        }

        mutating func number(_ i: Int32) {
            guard !isNull(i) else { raw("null"); return }
            FileRows.appendNumber(sqlite3_column_double(s, i), to: &out)
        }

        /// One file: `{"id", "root", "dataset_id", "record": {…the scan record's keys…}}`.
        mutating func file() {
            raw("{\"id\":"); int(0)
            raw(",\"root\":")
            if let root = roots[sqlite3_column_int64(s, 1)] { out += root } else { raw("null") }
            raw(",\"dataset_id\":"); int(2)
            let statsRead = sqlite3_column_int64(s, 3) != 0
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
                if isNull(30) {
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
    }
}

extension IndexStore {
    /// One page of files as the API's JSON array (`[{…}, …]`), and the next page's cursor.
    public func filePageJSON(_ q: FileQuery) throws(IndexError) -> (json: [UInt8], count: Int, next: Int64?) {
        let (whereSQL, args) = q.clause()
        let limit = max(1, q.limit)
        let sql = "SELECT " + FilePageJSON.columns.joined(separator: ", ") + " FROM files f" + whereSQL + " ORDER BY f.id LIMIT \(limit + 1)"
        return try guarded {
            try pool.read { db in
                var roots: [Int64: [UInt8]] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT id, path FROM roots") {
                    roots[row[0]] = Array(("\"" + FilePageJSON.escape(row[1]) + "\"").utf8)
                }
                let statement = try db.cachedStatement(sql: sql)
                try statement.setArguments(StatementArguments(args))
                let s = statement.sqliteStatement
                defer { sqlite3_reset(s) }
                var w = FilePageJSON.Writer(s: s, out: [UInt8(ascii: "[")], roots: roots)
                w.out.reserveCapacity(limit * 900)
                var count = 0
                var lastID: Int64 = 0
                var more = false
                while true {
                    let code = sqlite3_step(s)
                    if code == SQLITE_DONE { break }
                    guard code == SQLITE_ROW else {
                        throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                    }
                    if count == limit { more = true; break }
                    if count > 0 { w.out.append(UInt8(ascii: ",")) }
                    w.file()
                    lastID = sqlite3_column_int64(s, 0)
                    count += 1
                }
                w.out.append(UInt8(ascii: "]"))
                return (w.out, count, more ? lastID : nil)
            }
        }
    }
}
