import AsyncHTTPClient
import NIOSSL
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Why a request to the store failed (after its retries). Never holds a credential.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// The HTTP status, when the store answered.
    public var status: Int?
    /// Worth another try: 5xx, 429, throttling, a connection error, a timeout, a short body.
    public var retryable: Bool

    public var description: String { message }
}

/// A byte range of an object: `bytes=a-b` or the last `n` bytes (`bytes=-n`).
public enum ByteRange: Sendable, Equatable {
    case span(Range<Int>)
    case suffix(Int)

    var header: String {
        switch self {
        case .span(let r): "bytes=\(r.lowerBound)-\(r.upperBound - 1)"
        case .suffix(let n): "bytes=-\(n)"
        }
    }

    /// Offsets within an object of `size` bytes.
    func resolved(size: Int) -> Range<Int> {
        switch self {
        case .span(let r): max(0, min(r.lowerBound, size))..<max(0, min(r.upperBound, size))
        case .suffix(let n): max(0, size - n)..<size
        }
    }
}

/// Counts of what the client did (for the scan summary and tests).
public struct S3ClientCounts: Sendable {
    public var requests = 0
    public var retries = 0
    public var bytes = 0
    /// Answers of 200 with the whole object to a Range request (the body was cut off).
    public var rangeIgnored = 0
}

/// ListObjectsV2 and ranged GetObject through one AsyncHTTPClient, with SigV4 (or no) signing,
/// a deadline on every request and bounded retries with jittered exponential backoff.
public final class S3Client: Sendable {
    public let config: S3Config
    let http: HTTPClient
    /// Deadline of one request, body included.
    public let requestTimeout: TimeAmount
    public let maxAttempts: Int
    /// A body sent whole despite a Range header is read at most this far.
    public let maxIgnoredRangeBytes: Int
    private let counts = Mutex(S3ClientCounts())

    public init(config: S3Config, connections: Int = 64, requestTimeout: Double = 30, maxAttempts: Int = 4,
                maxIgnoredRangeBytes: Int = 64 << 20) {
        self.config = config
        self.maxIgnoredRangeBytes = maxIgnoredRangeBytes
        self.requestTimeout = .milliseconds(Int64(max(requestTimeout, 0.05) * 1000))
        self.maxAttempts = max(1, maxAttempts)
        var c = HTTPClient.Configuration()
        c.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(10), read: self.requestTimeout)
        c.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections))
        c.decompression = .disabled
        c.redirectConfiguration = .disallow
        c.httpVersion = .http1Only
        if let bundle = config.caBundle {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(bundle)
            c.tlsConfiguration = tls
        }
        http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: c)
    }

    public func shutdown() async { try? await http.shutdown() }

    public var stats: S3ClientCounts { counts.withLock { $0 } }

    // MARK: Listing

    /// Every object under `prefix` (all pages), keys sorted bytewise.
    public func list(bucket: String, prefix: String) async throws(S3Error) -> [S3Object] {
        var objects: [S3Object] = []
        var token: String?
        var pages = 0
        repeat {
            var query = [("list-type", "2"), ("max-keys", "1000")]
            if !prefix.isEmpty { query.append(("prefix", prefix)) }
            if let token { query.append(("continuation-token", token)) }
            let body = try await withRetries("list s3://\(bucket)/\(prefix)") { () async throws(S3Error) -> [UInt8] in
                let response = try await self.send(bucket: bucket, key: nil, query: query, range: nil)
                guard response.status == .ok else { throw try await self.failure(response, "list s3://\(bucket)/\(prefix)") }
                return try await self.collect(response.body, limit: 64 << 20, what: "listing")
            }
            let page: ListPage
            do { page = try ListXML.parse(body) } catch { throw S3Error(message: error.description, status: 200, retryable: false) }
            objects += page.objects
            token = page.isTruncated ? page.nextContinuationToken : nil
            pages += 1
            if pages > 1_000_000 { throw S3Error(message: "listing did not end after \(pages) pages", status: nil, retryable: false) }
        } while token != nil
        objects.sort { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
        return objects
    }

    // MARK: Objects

    /// The bytes `range` of an object of `size` bytes. A server that ignores Range (200 with the
    /// whole object) is read only as far as the range needs, then the request is cancelled.
    public func get(bucket: String, key: String, range: ByteRange, size: Int) async throws(S3Error) -> [UInt8] {
        let wanted = range.resolved(size: size)
        let what = "s3://\(bucket)/\(key)"
        guard !wanted.isEmpty else { return [] }
        return try await withRetries(what) { () async throws(S3Error) -> [UInt8] in
            let response = try await self.send(bucket: bucket, key: key, query: [], range: range)
            switch response.status.code {
            case 206:
                let bytes = try await self.collect(response.body, limit: wanted.count, what: what)
                guard bytes.count == wanted.count else {
                    throw S3Error(message: "\(what): body ended after \(bytes.count) of \(wanted.count) bytes (\(range.header))",
                                  status: 206, retryable: true)
                }
                return bytes
            case 200:
                // Range ignored: read the whole body's first `upperBound` bytes only, and never
                // more than `maxIgnoredRangeBytes` of it (a gzip trailer of a large object then fails).
                self.counts.withLock { $0.rangeIgnored += 1 }
                guard wanted.upperBound <= self.maxIgnoredRangeBytes else {
                    throw S3Error(message: "\(what): the server ignores Range and the bytes needed (\(range.header)) lie past the first \(self.maxIgnoredRangeBytes) bytes",
                                  status: 200, retryable: false)
                }
                let prefix = try await self.collect(response.body, limit: wanted.upperBound, what: what, stopAtLimit: true)
                guard prefix.count >= wanted.upperBound else {
                    throw S3Error(message: "\(what): body ended after \(prefix.count) of \(wanted.upperBound) bytes (Range ignored)",
                                  status: 200, retryable: true)
                }
                return Array(prefix[wanted])
            case 416:
                throw S3Error(message: "\(what): range \(range.header) not satisfiable (the object changed since the listing?)",
                              status: 416, retryable: false)
            default:
                throw try await self.failure(response, what)
            }
        }
    }

    /// Writes the whole object (`size` bytes, from the listing) to `path` as its body arrives,
    /// never holding it in memory; retried whole like any request.
    public func download(bucket: String, key: String, size: Int, to path: String) async throws(S3Error) {
        let what = "s3://\(bucket)/\(key)"
        try await withRetries(what) { () async throws(S3Error) -> Void in
            let response = try await self.send(bucket: bucket, key: key, query: [], range: nil)
            guard response.status == .ok else { throw try await self.failure(response, what) }
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw S3Error(message: "cannot write a temporary copy of \(what)", status: nil, retryable: false) }
            defer { close(fd) }
            var written = 0
            do {
                for try await chunk in response.body {
                    guard written + chunk.readableBytes <= size else {
                        throw S3Error(message: "\(what): body longer than the listed \(size) bytes", status: 200, retryable: false)
                    }
                    try chunk.withUnsafeReadableBytes { raw throws(S3Error) in
                        var done = 0
                        while done < raw.count {
                            let n = write(fd, raw.baseAddress! + done, raw.count - done)
                            if n < 0, errno == EINTR { continue }
                            guard n > 0 else { throw S3Error(message: "cannot write a temporary copy of \(what)", status: nil, retryable: false) }
                            done += n
                        }
                    }
                    written += chunk.readableBytes
                }
            } catch let error as S3Error {
                throw error
            } catch {
                throw S3Error(message: "\(what): body cut off after \(written) bytes: \(Self.describe(error))", status: nil, retryable: true)
            }
            guard written == size else {
                throw S3Error(message: "\(what): body ended after \(written) of \(size) bytes", status: 200, retryable: true)
            }
            self.counts.withLock { $0.bytes += written }
        }
    }

    // MARK: Requests

    func url(bucket: String, key: String?, query: [(String, String)]) -> (url: String, host: String, path: String, query: String) {
        let hostPort = config.port.map { "\(config.host):\($0)" } ?? config.host
        let encodedKey = key.map { SigV4.encode($0, keepSlash: true) } ?? ""
        let host: String
        let path: String
        if config.pathStyle {
            host = hostPort
            path = "/" + SigV4.encode(bucket, keepSlash: false) + (key == nil ? "" : "/" + encodedKey)
        } else {
            host = bucket + "." + hostPort
            path = "/" + encodedKey
        }
        let q = query.map { SigV4.encode($0.0, keepSlash: false) + "=" + SigV4.encode($0.1, keepSlash: false) }
            .joined(separator: "&")
        return ("\(config.scheme)://\(host)\(path)\(q.isEmpty ? "" : "?" + q)", host, path, q)
    }

    func send(bucket: String, key: String?, query: [(String, String)], range: ByteRange?) async throws(S3Error) -> HTTPClientResponse {
        let target = url(bucket: bucket, key: key, query: query)
        var request = HTTPClientRequest(url: target.url)
        request.method = .GET
        request.headers.add(name: "Host", value: target.host)
        var extra: [(String, String)] = []
        if let range { extra.append(("Range", range.header)) }
        for (k, v) in extra { request.headers.add(name: k, value: v) }
        if let credentials = config.credentials {
            let signed = SigV4.sign(SigV4.Request(method: "GET", host: target.host, path: target.path, query: target.query, headers: extra),
                                    credentials: credentials, region: config.region, date: Date())
            for (k, v) in signed { request.headers.add(name: k, value: v) }
        }
        counts.withLock { $0.requests += 1 }
        do {
            return try await http.execute(request, timeout: requestTimeout)
        } catch {
            // A certificate that is not trusted stays so: no retry.
            throw S3Error(message: "\(key.map { "s3://\(bucket)/\($0)" } ?? "s3://\(bucket)"): \(Self.describe(error))",
                          status: nil, retryable: !(error is NIOSSLError))
        }
    }

    /// The body's bytes, at most `limit`: more is an error, unless `stopAtLimit` (then the rest is
    /// never read: leaving the loop cancels the request).
    func collect(_ body: HTTPClientResponse.Body, limit: Int, what: String, stopAtLimit: Bool = false) async throws(S3Error) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(min(limit, 1 << 20))
        do {
            for try await var chunk in body {
                let take = min(chunk.readableBytes, limit - out.count)
                if take > 0, let bytes = chunk.readBytes(length: take) { out += bytes }
                if chunk.readableBytes > 0 {
                    if stopAtLimit { break }
                    throw S3Error(message: "\(what): body longer than the \(limit) bytes asked for", status: nil, retryable: false)
                }
                if stopAtLimit, out.count >= limit { break }
            }
        } catch let error as S3Error {
            throw error
        } catch {
            throw S3Error(message: "\(what): body cut off after \(out.count) bytes: \(Self.describe(error))", status: nil, retryable: true)
        }
        counts.withLock { $0.bytes += out.count }
        return out
    }

    /// An error answer: its status and S3 error code (`<Code>`), retryable for 5xx and 429.
    func failure(_ response: HTTPClientResponse, _ what: String) async throws(S3Error) -> S3Error {
        let code = Int(response.status.code)
        let body = (try? await collect(response.body, limit: 8192, what: what, stopAtLimit: true)) ?? []
        var s3Code = ""
        if let start = ListXML.find(body, Array("<Code>".utf8), from: 0),
           let end = ListXML.find(body, Array("</Code>".utf8), from: start + 6), end - start < 80 {
            s3Code = " " + String(decoding: body[(start + 6)..<end], as: UTF8.self)
        }
        return S3Error(message: "\(what): HTTP \(code)\(s3Code)", status: code, retryable: code >= 500 || code == 429)
    }

    func withRetries<T>(_ what: String, _ body: () async throws(S3Error) -> T) async throws(S3Error) -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch {
                attempt += 1
                guard error.retryable, attempt < maxAttempts, !Task.isCancelled else {
                    if attempt > 1 {
                        var e = error
                        e.message += " (after \(attempt) attempts)"
                        throw e
                    }
                    throw error
                }
                counts.withLock { $0.retries += 1 }
                // Full jitter: uniform in [0, 50 ms · 2^attempt], capped at 2 s.
                let cap = min(2.0, 0.05 * Double(1 << min(attempt, 10)))
                try? await Task.sleep(nanoseconds: UInt64(Double.random(in: 0...cap) * 1e9))
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded: return "no answer within the request timeout"
            case .readTimeout: return "stalled: no bytes within the read timeout"
            case .connectTimeout: return "connect timed out"
            case .remoteConnectionClosed: return "the server closed the connection"
            case .cancelled: return "cancelled"
            default: return "\(e)"
            }
        }
        if let e = error as? NIOSSLError {
            let text = "\(e)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return "TLS: the server's certificate is not trusted (CERTIFICATE_VERIFY_FAILED); for a store with its own "
                    + "certificate authority set AWS_CA_BUNDLE to its PEM file"
            }
            return "TLS: \(text)"
        }
        return "\(error)"
    }
}
