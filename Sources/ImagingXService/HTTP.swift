import Hummingbird
import HTTPTypes
import enum ImagingX.JSONString

// HTTP plumbing that needs nothing else of ImagingX (this file imports only the JSON escaper of
// it, so NIO's ByteBuffer is the only one in sight).

/// An API error: its status and a JSON body `{"code": …, "message": …}`.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// The `Allow` header of a 405.
    public var allow: String?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, allow: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.allow = allow
    }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
    public static func forbidden(_ message: String) -> APIError { APIError(.forbidden, "forbidden", message) }
    public static func conflict(_ message: String) -> APIError { APIError(.conflict, "conflict", message) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var r = HTTP.json(Array(("{\"code\":" + HTTP.quote(code) + ",\"message\":" + HTTP.quote(message) + "}").utf8), status: status)
        if let allow { r.headers[.allow] = allow }
        return r
    }
}

enum HTTP {
    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func bytes(_ bytes: [UInt8], contentType: String, status: HTTPResponse.Status = .ok,
                      extra: [(HTTPField.Name, String)] = []) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        for (k, v) in extra { headers[k] = v }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// A body produced in chunks by `produce` (each call returns the next chunk, nil at the end);
    /// a client that goes away ends the writes.
    static func stream(contentType: String, filename: String?, produce: @escaping @Sendable () async throws -> [UInt8]?) -> Response {
        var headers: HTTPFields = [.contentType: contentType, .cacheControl: "no-store"]
        if let filename { headers[.contentDisposition] = "attachment; filename=\"\(filename)\"" }
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            while let chunk = try await produce() {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        })
    }

    /// A JSON string literal.
    static func quote(_ s: String) -> String { JSONString.quote(s) }

    /// The request body, at most `limit` bytes (413 beyond).
    static func body(_ request: Request, limit: Int = 1 << 20) async throws -> [UInt8] {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch {
            throw APIError(.contentTooLarge, "too_large", "request bodies are limited to \(limit) bytes")
        }
    }
}

/// Turns every error into the API's JSON shape, including the router's own 404/405.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Whether a path names a resource (so a 404 from the router means the method is wrong).
    let allowedMethods: @Sendable (String) -> String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPResponseError {
            if error.status == .notFound, let allowed = allowedMethods(request.uri.path) {
                throw APIError(.methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed on \(request.uri.path)",
                               allow: allowed)
            }
            let code = switch error.status {
            case .notFound: "not_found"
            case .methodNotAllowed: "method_not_allowed"
            case .contentTooLarge: "too_large"
            case .unauthorized: "unauthorized"
            default: error.status.code < 500 ? "bad_request" : "internal"
            }
            let message = error.status == .notFound ? "no such resource: \(request.uri.path)" : error.status.reasonPhrase
            throw APIError(error.status, code, message)
        } catch {
            throw APIError(.internalServerError, "internal", "\(error)")
        }
    }
}

/// With a token configured, every `/api/` request needs `Authorization: Bearer TOKEN`, compared
/// in constant time. The portal's static files are public (they hold no data).
struct BearerMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, request.uri.path.hasPrefix("/api/") else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), Self.equal(Array(header.utf8.dropFirst(prefix.utf8.count)), token) else {
            throw APIError(.unauthorized, "unauthorized", "this service needs `Authorization: Bearer <token>`")
        }
        return try await next(request, context)
    }

    /// Compares without an early exit, so the time taken does not tell how much matched.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0
    }
}

/// Headers every response carries: no sniffing, no framing, and a strict content policy for the
/// portal (its own scripts and styles only).
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.init("X-Content-Type-Options")!] = "nosniff"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        response.headers[.init("Content-Security-Policy")!] = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'"
        response.headers[.init("Referrer-Policy")!] = "no-referrer"
        return response
    }
}
