/// JSON string escaping (RFC 8259 §7), for text written into JSON by hand: quotes, backslashes
/// and control characters escaped, everything else as it is (UTF-8 passes through).
public enum JSONString {
    /// `text` escaped, without the surrounding quotes.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for u in text.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }

    /// `text` as a JSON string literal, quotes included.
    public static func quote(_ text: String) -> String { "\"" + escape(text) + "\"" }
}
