import ImagingXBytes
/// Serialises records as JSON Lines or CSV, with a fixed field order so output diffs clean.
public enum OutputFormat: String, Sendable, CaseIterable {
    case jsonl, csv
}

public enum RecordWriter {
    /// CSV columns, in order (the same names as the JSON keys).
    public static let csvColumns = [
        "path", "format", "status", "error", "error_code", "error_offset", "size_bytes", "dims", "spacing", "dtype", "channels",
        "bits_stored", "modality", "sop_class_uid", "transfer_syntax", "compressed", "rescale_slope",
        "rescale_intercept", "affine", "axcodes", "series_key", "interlaced", "coding", "photometric", "findings",
    ]

    /// Columns added by `scan --stats`.
    public static let csvStatsColumns = [
        "stats_count", "stats_min", "stats_max", "stats_mean", "stats_std", "stats_p00_5", "stats_p50",
        "stats_p99_5", "stats_nan_count", "stats_inf_count", "stats_error",
    ]

    /// Columns added by `scan --file-stat` (the file's identity and times, for an index).
    public static let csvFileStatColumns = ["device", "inode", "mtime_ns", "ctime_ns"]

    public static func csvHeader(stats: Bool = false, fileStat: Bool = false) -> [UInt8] {
        let columns = csvColumns + (stats ? csvStatsColumns : []) + (fileStat ? csvFileStatColumns : [])
        return Array((columns.joined(separator: ",") + "\n").utf8)
    }

    /// One JSON object and a newline. Absent values are written as null so every line has
    /// every key (pandas and DuckDB infer one schema).
    public static func writeJSON(_ r: ImageRecord, to buffer: ByteBuffer, stats: Bool = false, fileStat: Bool = false) {
        let w = JSONWriter(out: buffer)
        w.raw("{\"path\":"); w.string(r.path)
        w.raw(",\"format\":"); w.string(r.format.rawValue)
        w.raw(",\"status\":"); w.string(r.status.rawValue)
        w.raw(",\"error\":"); w.optionalString(r.error)
        w.raw(",\"error_code\":"); w.optionalString(r.errorCode?.rawValue)
        w.raw(",\"error_offset\":"); w.optionalInt(r.errorOffset)
        w.raw(",\"size_bytes\":"); w.int(r.sizeBytes)
        w.raw(",\"dims\":"); w.ints(r.dims)
        w.raw(",\"spacing\":"); w.numbers(r.spacing)
        w.raw(",\"dtype\":"); w.optionalString(r.dtype?.rawValue)
        w.raw(",\"channels\":"); w.optionalInt(r.channels)
        w.raw(",\"bits_stored\":"); w.optionalInt(r.bitsStored)
        w.raw(",\"modality\":"); w.optionalString(r.modality)
        w.raw(",\"sop_class_uid\":"); w.optionalString(r.sopClassUID)
        w.raw(",\"transfer_syntax\":"); w.optionalString(r.transferSyntax)
        w.raw(",\"compressed\":"); w.optionalBool(r.compressed)
        w.raw(",\"rescale_slope\":"); w.optionalNumber(r.rescaleSlope)
        w.raw(",\"rescale_intercept\":"); w.optionalNumber(r.rescaleIntercept)
        w.raw(",\"affine\":"); w.affine(r.affine)
        w.raw(",\"axcodes\":"); w.optionalString(r.axcodes)
        w.raw(",\"series_key\":"); w.optionalString(r.seriesKey)
        w.raw(",\"interlaced\":"); w.optionalBool(r.interlaced)
        w.raw(",\"coding\":"); w.optionalString(r.coding)
        w.raw(",\"photometric\":"); w.optionalString(r.photometric)
        w.raw(",\"findings\":[")
        for (i, f) in r.findings.enumerated() {
            w.raw(i > 0 ? ",{\"code\":" : "{\"code\":"); w.string(f.code.rawValue)
            w.raw(",\"level\":"); w.string(f.level.rawValue)
            w.raw(",\"message\":"); w.string(f.message)
            w.raw("}")
        }
        w.raw("]")
        if stats {
            w.raw(",\"stats\":")
            if let s = r.stats { writeStats(s, w) } else { w.raw("null") }
            w.raw(",\"stats_error\":"); w.optionalString(r.statsError)
        }
        if fileStat {
            if let f = r.fileStat {
                w.raw(",\"device\":"); w.int(Int(truncatingIfNeeded: f.device))
                w.raw(",\"inode\":"); w.int(Int(truncatingIfNeeded: f.inode))
                w.raw(",\"mtime_ns\":"); w.int(Int(f.mtimeNs))
                w.raw(",\"ctime_ns\":"); w.int(Int(f.ctimeNs))
            } else {
                w.raw(",\"device\":null,\"inode\":null,\"mtime_ns\":null,\"ctime_ns\":null")
            }
        }
        w.raw("}\n")
    }

    static func writeStats(_ s: PixelStats, _ w: JSONWriter) {
        w.raw("{\"count\":"); w.int(s.count)
        w.raw(",\"min\":"); w.double(s.min)
        w.raw(",\"max\":"); w.double(s.max)
        w.raw(",\"mean\":"); w.double(s.mean)
        w.raw(",\"std\":"); w.double(s.std)
        w.raw(",\"p00_5\":"); w.double(s.p00_5)
        w.raw(",\"p50\":"); w.double(s.p50)
        w.raw(",\"p99_5\":"); w.double(s.p99_5)
        w.raw(",\"nan_count\":"); w.int(s.nanCount)
        w.raw(",\"inf_count\":"); w.int(s.infCount)
        w.raw("}")
    }

    /// `writeJSON` into an array (tests, small tools).
    public static func appendJSON(_ r: ImageRecord, to out: inout [UInt8], stats: Bool = false, fileStat: Bool = false) {
        let buffer = ByteBuffer(capacity: 2048)
        writeJSON(r, to: buffer, stats: stats, fileStat: fileStat)
        out += buffer.bytes
    }

    public static func writeCSV(_ r: ImageRecord, to buffer: ByteBuffer, stats: Bool = false, fileStat: Bool = false) {
        var out: [UInt8] = []
        appendCSV(r, to: &out, stats: stats, fileStat: fileStat)
        buffer.append(contentsOf: out)
    }

    public static func appendCSV(_ r: ImageRecord, to out: inout [UInt8], stats: Bool = false, fileStat: Bool = false) {
        var fields: [String] = []
        fields.reserveCapacity(csvColumns.count)
        func json(_ body: (JSONWriter) -> Void) -> String {
            let buffer = ByteBuffer(capacity: 512)
            body(JSONWriter(out: buffer))
            return String(decoding: buffer.bytes, as: UTF8.self)
        }
        fields.append(r.path)
        fields.append(r.format.rawValue)
        fields.append(r.status.rawValue)
        fields.append(r.error ?? "")
        fields.append(r.errorCode?.rawValue ?? "")
        fields.append(r.errorOffset.map(String.init) ?? "")
        fields.append(String(r.sizeBytes))
        fields.append(r.dims == nil ? "" : json { $0.ints(r.dims) })
        fields.append(r.spacing == nil ? "" : json { $0.numbers(r.spacing) })
        fields.append(r.dtype?.rawValue ?? "")
        fields.append(r.channels.map(String.init) ?? "")
        fields.append(r.bitsStored.map(String.init) ?? "")
        fields.append(r.modality ?? "")
        fields.append(r.sopClassUID ?? "")
        fields.append(r.transferSyntax ?? "")
        fields.append(r.compressed.map { $0 ? "true" : "false" } ?? "")
        fields.append(r.rescaleSlope == nil ? "" : json { $0.optionalNumber(r.rescaleSlope) })
        fields.append(r.rescaleIntercept == nil ? "" : json { $0.optionalNumber(r.rescaleIntercept) })
        fields.append(r.affine == nil ? "" : json { $0.affine(r.affine) })
        fields.append(r.axcodes ?? "")
        fields.append(r.seriesKey ?? "")
        fields.append(r.interlaced.map { $0 ? "true" : "false" } ?? "")
        fields.append(r.coding ?? "")
        fields.append(r.photometric ?? "")
        fields.append(r.findings.map(\.code.rawValue).joined(separator: ";"))
        if stats {
            if let s = r.stats {
                fields.append(String(s.count))
                for v in [s.min, s.max, s.mean, s.std, s.p00_5, s.p50, s.p99_5] {
                    fields.append(json { $0.double(v) }.replacingNull())
                }
                fields.append(String(s.nanCount))
                fields.append(String(s.infCount))
            } else {
                fields.append(contentsOf: Array(repeating: "", count: 10))
            }
            fields.append(r.statsError ?? "")
        }
        if fileStat {
            if let f = r.fileStat {
                fields += [String(f.device), String(f.inode), String(f.mtimeNs), String(f.ctimeNs)]
            } else {
                fields += ["", "", "", ""]
            }
        }
        CSV.appendRow(fields, to: &out)
    }
}

/// A minimal JSON emitter: shortest round-trip numbers, NaN/Inf as null, straight into a
/// reusable buffer.
package struct JSONWriter {
    let out: ByteBuffer

    @inline(__always)
    func raw(_ s: StaticString) { out.append(s) }

    func string(_ s: String) {
        var s = s
        s.withUTF8 { bytes in
            out.append(0x22)
            var clean = true
            for b in bytes where b < 0x20 || b == 0x22 || b == 0x5C { clean = false; break }
            if clean {
                out.append(UnsafeRawBufferPointer(bytes))
            } else {
                for byte in bytes { escaped(byte) }
            }
            out.append(0x22)
        }
    }

    private func escaped(_ byte: UInt8) {
        switch byte {
        case 0x22: out.append(0x5C); out.append(0x22)
        case 0x5C: out.append(0x5C); out.append(0x5C)
        case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
        case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
        case 0..<0x20:
            let hex: StaticString = "0123456789abcdef"
            out.append("\\u00")
            hex.withUTF8Buffer { h in
                out.append(h[Int(byte >> 4)])
                out.append(h[Int(byte & 15)])
            }
        default: out.append(byte)
        }
    }

    func optionalString(_ s: String?) {
        if let s { string(s) } else { raw("null") }
    }

    /// Decimal digits straight into the buffer (no String, no intermediate copy).
    func int(_ v: Int) {
        let p = out.reserve(21)
        var n = 0
        if v < 0 { p[0] = UInt8(ascii: "-"); n = 1 }
        var magnitude = v.magnitude
        var digits = 1
        var probe = magnitude
        while probe >= 10 { probe /= 10; digits += 1 }
        var i = n + digits - 1
        repeat {
            p[i] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
            magnitude /= 10
            i -= 1
        } while magnitude > 0
        out.advance(n + digits)
    }

    func optionalInt(_ v: Int?) {
        if let v { int(v) } else { raw("null") }
    }

    func optionalBool(_ v: Bool?) {
        guard let v else { raw("null"); return }
        if v { raw("true") } else { raw("false") }
    }

    /// Shortest text that reads back to the value. A value that is exactly a float32 (most
    /// NIfTI fields, PNG/JPEG ratios that happen to be) is printed at float32 precision, so
    /// a stored 0.9f reads "0.9", not "0.8999999761581421".
    /// Shortest text that reads back to exactly this double (statistics are computed values,
    /// not stored float32 fields).
    func double(_ v: Double) {
        guard v.isFinite else { raw("null"); return }
        if v == v.rounded(), abs(v) < 1e15 {
            int(Int(v))
            return
        }
        var text = v.description
        text.withUTF8 { out.append(UnsafeRawBufferPointer($0)) }
    }

    func number(_ v: Double) {
        guard v.isFinite else { raw("null"); return }
        if v == v.rounded(), abs(v) < 1e15 {
            int(Int(v))
            return
        }
        let f = Float(v)
        if Double(f) == v, f.isFinite, shortFloat(f) { return }
        var text = Double(f) == v && f.isFinite ? f.description
            : abs(v) >= 1e15 ? JSONWriter.exponentAbove1e15(v.description) : v.description
        text.withUTF8 { out.append(UnsafeRawBufferPointer($0)) }
    }

    /// Swift prints integral doubles below 2^53 positionally ("2243003700000000.0") but floats
    /// from 2^24 up with an exponent ("2.2430037e+15"). A float32 value of 1e15 or more, written
    /// in the float form and read back as a double, would then be written the other way: the
    /// same digits in the exponent form keep write → read → write stable (found by fuzzing).
    static func exponentAbove1e15(_ text: String) -> String {
        guard !text.contains("e"), let dot = text.firstIndex(of: ".") else { return text }
        var sign = ""
        var integer = Substring(text[..<dot])
        if integer.hasPrefix("-") { sign = "-"; integer = integer.dropFirst() }
        guard integer.count >= 16, text[text.index(after: dot)...].allSatisfy({ $0 == "0" }) else { return text }
        var digits = integer
        while digits.count > 1, digits.last == "0" { digits = digits.dropLast() }
        let exponent = integer.count - 1
        let mantissa = digits.count > 1 ? "\(digits.first!).\(digits.dropFirst())" : "\(digits)"
        return "\(sign)\(mantissa)e+\(exponent)"
    }

    /// Fast path for the float32 values headers are full of (0.9, 2.5, -1.25): the fewest
    /// decimals k ≤ 7 whose nearest k-decimal lies strictly within half a float32 gap of `f`,
    /// so it reads back to `f` under any rounding. For 0.001 ≤ |f| < 10^6, `v·10^k` is exact
    /// in double (a 24-bit mantissa times at most 10^7), so the test is exact; it gives the same
    /// digits as `Float.description` (checked by a test over a million values). Returns false
    /// when it does not apply.
    func shortFloat(_ f: Float) -> Bool {
        let magnitude = abs(f)
        guard magnitude >= 0.001, magnitude < 1_000_000 else { return false }
        let v = Double(magnitude)
        let lowerGap = (v - Double(magnitude.nextDown)) / 2
        let upperGap = (Double(magnitude.nextUp) - v) / 2
        var scale = 1.0
        for k in 1...7 {
            scale *= 10
            let exact = v * scale
            let m = exact.rounded(.toNearestOrEven)  // ties as Float.description breaks them
            let within = m >= exact ? (m - exact) < upperGap * scale : (exact - m) < lowerGap * scale
            guard within else { continue }
            // m has k decimals: integer part m / 10^k, fraction m % 10^k zero-padded to k.
            let digits = UInt64(m)
            let unit = UInt64(scale)
            if f < 0 { out.append(UInt8(ascii: "-")) }
            int(Int(digits / unit))
            out.append(UInt8(ascii: "."))
            var fraction = digits % unit
            var buffer: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &buffer) { b in
                for i in stride(from: k - 1, through: 0, by: -1) {
                    b[i] = UInt8(truncatingIfNeeded: fraction % 10) + 0x30
                    fraction /= 10
                }
                out.append(UnsafeRawBufferPointer(rebasing: b[0..<k]))
            }
            return true
        }
        return false
    }

    func optionalNumber(_ v: Double?) {
        if let v { number(v) } else { raw("null") }
    }

    func ints(_ values: [Int]?) {
        guard let values else { raw("null"); return }
        out.append(UInt8(ascii: "["))
        for (i, v) in values.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            int(v)
        }
        out.append(UInt8(ascii: "]"))
    }

    func numbers(_ values: [Double]?) {
        guard let values else { raw("null"); return }
        out.append(UInt8(ascii: "["))
        for (i, v) in values.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            number(v)
        }
        out.append(UInt8(ascii: "]"))
    }

    func affine(_ m: Matrix4?) {
        guard let m else { raw("null"); return }
        out.append(UInt8(ascii: "["))
        for row in 0..<4 {
            raw(row > 0 ? ",[" : "[")
            for col in 0..<4 {
                if col > 0 { out.append(UInt8(ascii: ",")) }
                number(m[row, col])
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
    }
}

extension String {
    fileprivate func replacingNull() -> String { self == "null" ? "" : self }
}
