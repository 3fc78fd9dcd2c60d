/// Serialises records as JSON Lines or CSV, with a fixed field order so output diffs clean.
public enum OutputFormat: String, Sendable, CaseIterable {
    case jsonl, csv
}

public enum RecordWriter {
    /// CSV columns, in order (the same names as the JSON keys).
    public static let csvColumns = [
        "path", "format", "status", "error", "size_bytes", "dims", "spacing", "dtype", "channels",
        "bits_stored", "modality", "sop_class_uid", "transfer_syntax", "compressed", "rescale_slope",
        "rescale_intercept", "affine", "axcodes", "series_key", "interlaced", "coding", "photometric", "findings",
    ]

    public static func csvHeader() -> [UInt8] {
        Array((csvColumns.joined(separator: ",") + "\n").utf8)
    }

    /// One JSON object and a newline. Absent values are written as null so every line has
    /// every key (pandas and DuckDB infer one schema).
    public static func appendJSON(_ r: ImageRecord, to out: inout [UInt8]) {
        var w = JSONWriter(out: out)
        out = []
        w.raw("{")
        w.key("path", first: true); w.string(r.path)
        w.key("format"); w.string(r.format.rawValue)
        w.key("status"); w.string(r.status.rawValue)
        w.key("error"); w.optionalString(r.error)
        w.key("size_bytes"); w.int(r.sizeBytes)
        w.key("dims"); w.ints(r.dims)
        w.key("spacing"); w.numbers(r.spacing)
        w.key("dtype"); w.optionalString(r.dtype)
        w.key("channels"); w.optionalInt(r.channels)
        w.key("bits_stored"); w.optionalInt(r.bitsStored)
        w.key("modality"); w.optionalString(r.modality)
        w.key("sop_class_uid"); w.optionalString(r.sopClassUID)
        w.key("transfer_syntax"); w.optionalString(r.transferSyntax)
        w.key("compressed"); w.optionalBool(r.compressed)
        w.key("rescale_slope"); w.optionalNumber(r.rescaleSlope)
        w.key("rescale_intercept"); w.optionalNumber(r.rescaleIntercept)
        w.key("affine"); w.affine(r.affine)
        w.key("axcodes"); w.optionalString(r.axcodes)
        w.key("series_key"); w.optionalString(r.seriesKey)
        w.key("interlaced"); w.optionalBool(r.interlaced)
        w.key("coding"); w.optionalString(r.coding)
        w.key("photometric"); w.optionalString(r.photometric)
        w.key("findings"); w.raw("[")
        for (i, f) in r.findings.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            w.key("code", first: true); w.string(f.code)
            w.key("level"); w.string(f.level.rawValue)
            w.key("message"); w.string(f.message)
            w.raw("}")
        }
        w.raw("]}\n")
        out = w.out
    }

    public static func appendCSV(_ r: ImageRecord, to out: inout [UInt8]) {
        var fields: [String] = []
        fields.reserveCapacity(csvColumns.count)
        func json(_ body: (inout JSONWriter) -> Void) -> String {
            var w = JSONWriter(out: [])
            body(&w)
            return String(decoding: w.out, as: UTF8.self)
        }
        fields.append(r.path)
        fields.append(r.format.rawValue)
        fields.append(r.status.rawValue)
        fields.append(r.error ?? "")
        fields.append(String(r.sizeBytes))
        fields.append(r.dims == nil ? "" : json { $0.ints(r.dims) })
        fields.append(r.spacing == nil ? "" : json { $0.numbers(r.spacing) })
        fields.append(r.dtype ?? "")
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
        fields.append(r.findings.map(\.code).joined(separator: ";"))
        for (i, field) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendCSVField(field, to: &out)
        }
        out.append(UInt8(ascii: "\n"))
    }

    /// RFC 4180 quoting: quote when the field holds a comma, quote, CR or LF.
    static func appendCSVField(_ s: String, to out: inout [UInt8]) {
        let needsQuotes = s.utf8.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
        if !needsQuotes { out.append(contentsOf: s.utf8); return }
        out.append(0x22)
        for byte in s.utf8 {
            if byte == 0x22 { out.append(0x22) }
            out.append(byte)
        }
        out.append(0x22)
    }
}

/// A minimal JSON emitter: fixed key order, shortest round-trip numbers, NaN/Inf as null.
struct JSONWriter {
    var out: [UInt8]

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    mutating func key(_ k: StaticString, first: Bool = false) {
        if !first { out.append(UInt8(ascii: ",")) }
        out.append(0x22)
        k.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(0x22)
        out.append(UInt8(ascii: ":"))
    }

    mutating func string(_ s: String) {
        out.append(0x22)
        for byte in s.utf8 {
            switch byte {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            default: out.append(byte)
            }
        }
        out.append(0x22)
    }

    mutating func optionalString(_ s: String?) {
        if let s { string(s) } else { raw("null") }
    }

    mutating func int(_ v: Int) { out.append(contentsOf: String(v).utf8) }

    mutating func optionalInt(_ v: Int?) {
        if let v { int(v) } else { raw("null") }
    }

    mutating func optionalBool(_ v: Bool?) {
        guard let v else { raw("null"); return }
        if v { raw("true") } else { raw("false") }
    }

    /// Shortest text that reads back to the value. A value that is exactly a float32 (most
    /// NIfTI fields, PNG/JPEG ratios that happen to be) is printed at float32 precision, so
    /// a stored 0.9f reads "0.9", not "0.8999999761581421".
    mutating func number(_ v: Double) {
        guard v.isFinite else { raw("null"); return }
        if v == v.rounded(), abs(v) < 1e15 {
            out.append(contentsOf: String(Int(v)).utf8)
            return
        }
        let f = Float(v)
        let text = Double(f) == v && f.isFinite ? f.description : v.description
        out.append(contentsOf: text.utf8)
    }

    mutating func optionalNumber(_ v: Double?) {
        if let v { number(v) } else { raw("null") }
    }

    mutating func ints(_ values: [Int]?) {
        guard let values else { raw("null"); return }
        out.append(UInt8(ascii: "["))
        for (i, v) in values.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            int(v)
        }
        out.append(UInt8(ascii: "]"))
    }

    mutating func numbers(_ values: [Double]?) {
        guard let values else { raw("null"); return }
        out.append(UInt8(ascii: "["))
        for (i, v) in values.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            number(v)
        }
        out.append(UInt8(ascii: "]"))
    }

    mutating func affine(_ m: Matrix4?) {
        guard let m else { raw("null"); return }
        out.append(UInt8(ascii: "["))
        for row in 0..<4 {
            if row > 0 { out.append(UInt8(ascii: ",")) }
            numbers(Array(m.m[(row * 4)..<(row * 4 + 4)]))
        }
        out.append(UInt8(ascii: "]"))
    }
}
