import ImagingXIndex
#if canImport(Glibc)
import Glibc
#endif

/// A `--db postgres://user[:password]@host[:port]/dbname[?connect_timeout=S&sslmode=M&sslrootcert=F]` address.
/// The password comes from the URL or, when the URL has none, from PGPASSWORD; it is never part of
/// `redacted` (what messages name) or of any description.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    /// Seconds a connection attempt may take.
    public var connectTimeout: Int = 10
    /// TLS as libpq's `sslmode` (and PGSSLMODE) has it; `prefer` by default, as libpq.
    public var sslMode: SSLMode = .prefer
    /// PEM certificates of the authorities to trust (`sslrootcert`, PGSSLROOTCERT); without it
    /// the verifying modes trust the system's authorities.
    public var sslRootCert: String?

    public enum SSLMode: String, Sendable, CaseIterable {
        /// No TLS.
        case disable
        /// TLS when the server offers it, without checking its certificate (libpq's `allow` tries
        /// plain first; both connect either way).
        case allow, prefer
        /// TLS or no connection; the certificate is checked against `sslrootcert` when one is
        /// given (as libpq does), else not.
        case require
        /// TLS with the server's certificate signed by a trusted authority.
        case verifyCA = "verify-ca"
        /// … and naming the host connected to.
        case verifyFull = "verify-full"
    }

    public static func isPostgres(_ s: String) -> Bool {
        s.hasPrefix("postgres://") || s.hasPrefix("postgresql://")
    }

    /// The URL without its password (what error messages and summaries print).
    public var redacted: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(Self.escape(user))@\(h):\(port)/\(Self.escape(database))"
    }

    public var description: String { redacted }
    public var debugDescription: String { redacted }

    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Parses `text`; `environment` supplies PGPASSWORD (and PGUSER) when the URL has none.
    public init(_ text: String, environment: [String: String] = [:]) throws(Invalid) {
        var rest: Substring
        if text.hasPrefix("postgres://") { rest = text.dropFirst("postgres://".count) }
        else if text.hasPrefix("postgresql://") { rest = text.dropFirst("postgresql://".count) }
        else { throw Invalid(reason: "a PostgreSQL address starts with postgres://") }
        var query: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        guard let slash = rest.firstIndex(of: "/") else {
            throw Invalid(reason: "the address names no database: postgres://user@host:port/dbname")
        }
        let authority = rest[..<slash]
        let db = try Self.unescape(rest[rest.index(after: slash)...])
        guard !db.isEmpty, !db.contains("/") else { throw Invalid(reason: "the address names no database: postgres://user@host:port/dbname") }
        database = db
        var hostPort = authority
        var userInfo: Substring?
        if let at = authority.lastIndex(of: "@") {
            userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
        }
        var givenUser: String?
        if let userInfo {
            if let colon = userInfo.firstIndex(of: ":") {
                givenUser = try Self.unescape(userInfo[..<colon])
                password = try Self.unescape(userInfo[userInfo.index(after: colon)...])
            } else {
                givenUser = try Self.unescape(userInfo)
            }
        }
        guard let u = givenUser ?? environment["PGUSER"], !u.isEmpty else {
            throw Invalid(reason: "the address names no user: postgres://user@host:port/dbname")
        }
        user = u
        if password == nil, let p = environment["PGPASSWORD"] { password = p }
        // Host: a name, an IPv4 address, or [IPv6]; then an optional :port.
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw Invalid(reason: "an IPv6 host needs its closing ]") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Invalid(reason: "unexpected text after the host") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = String(hostPort)
        }
        guard !host.isEmpty else { throw Invalid(reason: "the address names no host: postgres://user@host:port/dbname") }
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw Invalid(reason: "the port must be a number from 1 to 65535") }
            port = p
        } else {
            port = 5432
        }
        var modeGiven = false
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let kv = pair.split(separator: "=", maxSplits: 1)
            let key = String(kv[0])
            let value = kv.count > 1 ? String(kv[1]) : ""
            switch key {
            case "connect_timeout":
                guard let s = Int(value), (1...600).contains(s) else { throw Invalid(reason: "connect_timeout must be 1 to 600 seconds") }
                connectTimeout = s
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw Invalid(reason: "sslmode must be one of " + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
                }
                sslMode = mode
                modeGiven = true
            case "sslrootcert":
                sslRootCert = try Self.unescape(Substring(value))
            default:
                throw Invalid(reason: "unsupported parameter '\(key)' in the PostgreSQL address (known: connect_timeout, sslmode, sslrootcert)")
            }
        }
        if !modeGiven, let env = environment["PGSSLMODE"], !env.isEmpty {
            guard let mode = SSLMode(rawValue: env) else {
                throw Invalid(reason: "PGSSLMODE must be one of " + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            sslMode = mode
        }
        if sslRootCert == nil, let env = environment["PGSSLROOTCERT"], !env.isEmpty { sslRootCert = env }
        if let cert = sslRootCert, access(cert, R_OK) != 0 {
            throw Invalid(reason: "the root certificate '\(cert)' (sslrootcert or PGSSLROOTCERT) cannot be read")
        }
    }

    /// The process's PGPASSWORD and PGUSER.
    public static var processEnvironment: [String: String] {
        var out: [String: String] = [:]
        for key in ["PGPASSWORD", "PGUSER", "PGSSLMODE", "PGSSLROOTCERT"] {
            if let v = getenv(key) { out[key] = String(cString: v) }
        }
        return out
    }

    static func unescape(_ s: Substring) throws(Invalid) -> String {
        var out: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let hi = hex(it[it.startIndex]), let lo = hex(it[it.startIndex + 1]) else {
                    throw Invalid(reason: "a % in the address must be followed by two hex digits")
                }
                out.append(hi << 4 | lo)
                it = it.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let digits = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [digits[Int(b >> 4)], digits[Int(b & 15)]], as: UTF8.self)
            }
        }
        return out
    }
}
