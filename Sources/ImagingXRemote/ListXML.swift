/// One object of a listing.
public struct S3Object: Sendable, Equatable {
    public var key: String
    public var size: Int
    public var lastModified: String
    public var etag: String

    public init(key: String, size: Int, lastModified: String = "", etag: String = "") {
        self.key = key
        self.size = size
        self.lastModified = lastModified
        self.etag = etag
    }
}

/// One page of ListObjectsV2.
public struct ListPage: Sendable, Equatable {
    public var objects: [S3Object] = []
    public var isTruncated = false
    public var nextContinuationToken: String?
}

public struct ListXMLError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// A hand-written reader for the few elements of a ListObjectsV2 answer (`ListBucketResult`):
/// `Contents` (Key, Size, LastModified, ETag), `IsTruncated`, `NextContinuationToken`. Other
/// elements are skipped; entities and character references in text are decoded; anything
/// malformed is an error, never a crash.
public enum ListXML {
    public static let maxKeyBytes = 1024

    public static func parse(_ bytes: [UInt8]) throws(ListXMLError) -> ListPage {
        var page = ListPage()
        var i = 0
        var stack: [String] = []
        // Text of the current element: `raw` (entities not yet decoded) is decoded into `text`
        // at each markup boundary; CDATA goes to `text` as it is.
        var text: [UInt8] = []
        var raw: [UInt8] = []
        var current: S3Object?
        var sawRoot = false
        let n = bytes.count
        func fail(_ what: String) -> ListXMLError { ListXMLError(description: "listing XML: \(what) at byte \(i)") }
        while i < n {
            let b = bytes[i]
            if b != UInt8(ascii: "<") {
                raw.append(b)
                i += 1
                continue
            }
            if !raw.isEmpty {
                text += Array(try decode(raw, fail).utf8)
                raw.removeAll(keepingCapacity: true)
            }
            // Markup.
            guard i + 1 < n else { throw fail("'<' at the end") }
            let next = bytes[i + 1]
            if next == UInt8(ascii: "?") || next == UInt8(ascii: "!") {
                // Declaration, comment, doctype or CDATA.
                if bytes[i...].starts(with: Array("<![CDATA[".utf8)) {
                    guard let end = find(bytes, Array("]]>".utf8), from: i + 9) else { throw fail("unterminated CDATA") }
                    text.append(contentsOf: bytes[(i + 9)..<end])
                    i = end + 3
                    continue
                }
                let close: [UInt8] = bytes[i...].starts(with: Array("<!--".utf8)) ? Array("-->".utf8) : [UInt8(ascii: ">")]
                guard let end = find(bytes, close, from: i + 2) else { throw fail("unterminated markup") }
                i = end + close.count
                continue
            }
            guard let end = find(bytes, [UInt8(ascii: ">")], from: i + 1) else { throw fail("unterminated tag") }
            var inner = Array(bytes[(i + 1)..<end])
            i = end + 1
            if inner.first == UInt8(ascii: "/") {
                let name = tagName(Array(inner.dropFirst()))
                guard let top = stack.popLast(), top == name else { throw fail("closing </\(name)> does not match") }
                let value = String(decoding: text, as: UTF8.self)
                text.removeAll(keepingCapacity: true)
                if stack.count == 2, stack[1] == "Contents", current != nil {
                    switch name {
                    case "Key":
                        guard value.utf8.count <= maxKeyBytes else { throw fail("key longer than \(maxKeyBytes) bytes") }
                        current!.key = value
                    case "Size":
                        guard let size = Int(value), size >= 0 else { throw fail("Size '\(value.prefix(40))' is not a byte count") }
                        current!.size = size
                    case "LastModified": current!.lastModified = value
                    case "ETag": current!.etag = value
                    default: break
                    }
                } else if stack.count == 1, name == "Contents", let object = current {
                    guard !object.key.isEmpty else { throw fail("Contents without a Key") }
                    page.objects.append(object)
                    current = nil
                } else if stack.count == 1 {
                    switch name {
                    case "IsTruncated":
                        guard value == "true" || value == "false" else { throw fail("IsTruncated '\(value.prefix(40))'") }
                        page.isTruncated = value == "true"
                    case "NextContinuationToken": page.nextContinuationToken = value
                    default: break
                    }
                }
                continue
            }
            let selfClosing = inner.last == UInt8(ascii: "/")
            if selfClosing { inner.removeLast() }
            let name = tagName(inner)
            guard !name.isEmpty else { throw fail("empty tag name") }
            text.removeAll(keepingCapacity: true)
            if selfClosing { continue }
            if stack.isEmpty {
                guard name == "ListBucketResult", !sawRoot else { throw fail("root element <\(name)> is not ListBucketResult") }
                sawRoot = true
            }
            guard stack.count < 16 else { throw fail("elements nested too deep") }
            stack.append(name)
            if stack.count == 2, name == "Contents" { current = S3Object(key: "", size: -1) }
        }
        guard sawRoot, stack.isEmpty else { throw ListXMLError(description: "listing XML: no complete ListBucketResult") }
        if let bad = page.objects.first(where: { $0.size < 0 }) {
            throw ListXMLError(description: "listing XML: object '\(bad.key)' has no Size")
        }
        if page.isTruncated, page.nextContinuationToken?.isEmpty ?? true {
            throw ListXMLError(description: "listing XML: IsTruncated without a NextContinuationToken")
        }
        return page
    }

    static func tagName(_ inner: [UInt8]) -> String {
        let end = inner.firstIndex { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D } ?? inner.count
        var name = inner[..<end]
        if let colon = name.lastIndex(of: UInt8(ascii: ":")) { name = name[(colon + 1)...] }
        return String(decoding: name, as: UTF8.self)
    }

    static func find(_ bytes: [UInt8], _ needle: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, bytes.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0], bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// Text with the five predefined entities and numeric character references decoded.
    static func decode(_ text: [UInt8], _ fail: (String) -> ListXMLError) throws(ListXMLError) -> String {
        guard text.contains(UInt8(ascii: "&")) else { return String(decoding: text, as: UTF8.self) }
        var out: [UInt8] = []
        var i = 0
        while i < text.count {
            guard text[i] == UInt8(ascii: "&") else { out.append(text[i]); i += 1; continue }
            guard let semi = text[i...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else { throw fail("'&' without ';'") }
            let entity = String(decoding: text[(i + 1)..<semi], as: UTF8.self)
            switch entity {
            case "amp": out.append(UInt8(ascii: "&"))
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                var scalar: UInt32?
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") { scalar = UInt32(entity.dropFirst(2), radix: 16) }
                else if entity.hasPrefix("#") { scalar = UInt32(entity.dropFirst(), radix: 10) }
                guard let scalar, let u = Unicode.Scalar(scalar), scalar != 0 else { throw fail("unknown entity '&\(entity.prefix(10));'") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            }
            i = semi + 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
