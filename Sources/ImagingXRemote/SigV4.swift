import ImagingXBytes
import Foundation

/// AWS Signature Version 4 for S3 requests (canonical request → string to sign → HMAC-SHA256 key
/// chain). Checked against botocore's S3 signer on fixed inputs: scripts/s3/sigv4_vectors.json.
public enum SigV4 {
    /// What is signed: a request with its URL already percent-encoded (path and query as sent).
    public struct Request: Sendable {
        public var method: String
        /// `host[:port]` as the Host header carries it.
        public var host: String
        /// The encoded path, e.g. `/bucket/a%20key`.
        public var path: String
        /// The encoded query (`a=1&b=2`), without `?`; empty for none.
        public var query: String
        /// Headers to sign besides host, x-amz-date, x-amz-content-sha256 and the session token.
        public var headers: [(String, String)]

        public init(method: String, host: String, path: String, query: String, headers: [(String, String)] = []) {
            self.method = method
            self.host = host
            self.path = path
            self.query = query
            self.headers = headers
        }
    }

    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The headers to add to `request`: X-Amz-Date, X-Amz-Content-SHA256, X-Amz-Security-Token
    /// (with a session token) and Authorization.
    public static func sign(_ request: Request, credentials: S3Credentials, region: String, date: Date,
                            service: String = "s3") -> [(String, String)] {
        let stamp = timestamp(date)
        let day = String(stamp.prefix(8))
        var all: [(String, String)] = request.headers.map { ($0.0.lowercased(), trim($0.1)) }
        all.append(("host", request.host))
        all.append(("x-amz-date", stamp))
        all.append(("x-amz-content-sha256", unsignedPayload))
        if let token = credentials.sessionToken { all.append(("x-amz-security-token", token)) }
        // Same-named headers join with commas, in the order given; names sort bytewise.
        var merged: [String: String] = [:]
        for (k, v) in all { merged[k] = merged[k].map { $0 + "," + v } ?? v }
        let names = merged.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        let signedHeaders = names.joined(separator: ";")
        let canonicalHeaders = names.map { "\($0):\(merged[$0]!)\n" }.joined()
        let canonicalRequest = [request.method.uppercased(), request.path.isEmpty ? "/" : request.path,
                                canonicalQuery(request.query), canonicalHeaders, signedHeaders, unsignedPayload]
            .joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", stamp, scope, hex(SHA256.digest(Array(canonicalRequest.utf8)))]
            .joined(separator: "\n")
        var key = Array(("AWS4" + credentials.secretAccessKey).utf8)
        for part in [day, region, service, "aws4_request"] {
            key = SHA256.hmac(key: key, message: Array(part.utf8))
        }
        let signature = hex(SHA256.hmac(key: key, message: Array(stringToSign.utf8)))
        var out: [(String, String)] = [("X-Amz-Date", stamp), ("X-Amz-Content-SHA256", unsignedPayload)]
        if let token = credentials.sessionToken { out.append(("X-Amz-Security-Token", token)) }
        out.append(("Authorization",
                    "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"))
        return out
    }

    /// `YYYYMMDDTHHMMSSZ` in UTC.
    public static func timestamp(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(tm.tm_year + 1900)\(two(tm.tm_mon + 1))\(two(tm.tm_mday))T\(two(tm.tm_hour))\(two(tm.tm_min))\(two(tm.tm_sec))Z"
    }

    /// Pairs of an encoded query sorted by key, then value (as sent: already encoded).
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&", omittingEmptySubsequences: true).map { pair -> (String, String) in
            if let eq = pair.firstIndex(of: "=") { return (String(pair[..<eq]), String(pair[pair.index(after: eq)...])) }
            return (String(pair), "")
        }
        return pairs.sorted { a, b in
            a.0 != b.0 ? Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8))
                       : Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8))
        }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters (and `/` when `keepSlash`).
    public static func encode(_ s: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        let digits = Array("0123456789ABCDEF")
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(b)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%")
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 15)])
            }
        }
        return out
    }

    static func trim(_ s: String) -> String {
        // Leading/trailing spaces dropped, inner runs of spaces made one (SigV4's header rule).
        s.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    static func hex<D: Sequence<UInt8>>(_ d: D) -> String {
        let digits = Array("0123456789abcdef")
        var s = ""
        for b in d { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
        return s
    }
}
