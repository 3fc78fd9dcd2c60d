/// CSV as RFC 4180 writes it: the one quoter behind `scan --format csv` and the plan export.
public enum CSV {
    /// Whether `field` must be quoted: it holds a comma, a double quote, CR or LF (RFC 4180 §2.6).
    /// Decided on UTF-8 bytes, so a CR LF pair (one `Character` in Swift) is seen too.
    public static func needsQuotes(_ field: String) -> Bool {
        field.utf8.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
    }

    /// Appends `field`, quoted when it needs it, with inner quotes doubled (RFC 4180 §2.7).
    public static func appendField(_ field: String, to out: inout [UInt8]) {
        if !needsQuotes(field) { out.append(contentsOf: field.utf8); return }
        out.append(0x22)
        for byte in field.utf8 {
            if byte == 0x22 { out.append(0x22) }
            out.append(byte)
        }
        out.append(0x22)
    }

    /// `field` as it appears in a CSV row.
    public static func field(_ field: String) -> String {
        if !needsQuotes(field) { return field }
        var out: [UInt8] = []
        appendField(field, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends one row: the fields, comma-separated, then LF.
    public static func appendRow(_ fields: [String], to out: inout [UInt8]) {
        for (i, field) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendField(field, to: &out)
        }
        out.append(UInt8(ascii: "\n"))
    }
}
