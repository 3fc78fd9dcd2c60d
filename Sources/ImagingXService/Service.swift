import Foundation
import Hummingbird
import ImagingX
import Logging

/// How `imagingx serve` runs.
public struct ServiceConfiguration: Sendable {
    /// The index: an SQLite file, or a `postgres://` address (a shared index on PostgreSQL).
    public var database: String
    /// Folders the API may index and name (real paths are compared, links followed).
    public var roots: [String]
    public var host = "127.0.0.1"
    public var port = 8080
    /// The bearer token (from `--token-file`); required for any address but loopback.
    public var token: String?
    /// Re-index a root when files under it change (inotify), debounced.
    public var watch = false
    /// Re-index every root this often (seconds), where inotify is not available or not wanted.
    public var rescanSeconds: Double?
    /// Index new roots with pixel statistics.
    public var stats = false
    /// The catalog file (default: the imported catalog, else the starter catalog).
    public var catalogFile: String?
    /// Serve the portal's files from this folder instead of the installed resources.
    public var portalDirectory: String?

    public init(database: String, roots: [String]) {
        self.database = database
        self.roots = roots
    }
}

public enum ServiceStartError: Error, CustomStringConvertible {
    case insecureBind(host: String)
    case tokenFile(path: String, reason: String)
    case root(path: String, reason: String)
    case index(IndexError)

    public var description: String {
        switch self {
        case .insecureBind(let host):
            "refusing to listen on \(host) without a token: give --token-file FILE (every API request then needs it), "
                + "or bind 127.0.0.1"
        case .tokenFile(let path, let reason): "token file \(path): \(reason)"
        case .root(let path, let reason): "root \(path): \(reason)"
        case .index(let e): e.description
        }
    }
}

/// The running service's shared state.
public final class ServiceState: Sendable {
    public let store: any ServiceIndexStore
    public let jobs: IndexJobs
    public let catalog: any CatalogStore
    public let configuration: ServiceConfiguration
    public let portal: Portal

    init(configuration: ServiceConfiguration, store: any ServiceIndexStore, roots: [String]) {
        self.configuration = configuration
        self.store = store
        jobs = IndexJobs(store: store, roots: roots, stats: configuration.stats)
        catalog = FileCatalogStore(path: configuration.catalogFile)
        portal = Portal.load(portalDirectory: configuration.portalDirectory)
    }
}

public enum ImagingXServer {
    /// A loopback address: 127.0.0.0/8, ::1 or localhost.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.") && host.split(separator: ".").count == 4
    }

    /// Checks the configuration before anything listens: a non-loopback bind needs a token;
    /// the token file must be readable and the token long enough; roots must be folders.
    public static func prepare(_ c: ServiceConfiguration, tokenFile: String?) throws(ServiceStartError) -> (ServiceConfiguration, [String]) {
        var c = c
        if let tokenFile {
            guard let bytes = FileBytes.read(tokenFile) else { throw .tokenFile(path: tokenFile, reason: "cannot be read") }
            let token = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard token.utf8.count >= 16 else { throw .tokenFile(path: tokenFile, reason: "the token must be at least 16 characters") }
            guard !token.contains(where: { $0.isWhitespace }) else { throw .tokenFile(path: tokenFile, reason: "the token must be one line without spaces") }
            c.token = token
        }
        if !isLoopback(c.host), c.token == nil { throw .insecureBind(host: c.host) }
        var real: [String] = []
        for root in c.roots {
            guard let r = realpath(root, nil) else { throw .root(path: root, reason: String(cString: strerror(errno))) }
            real.append(String(cString: r))
            free(r)
        }
        return (c, real)
    }

    /// Opens the index, builds the router and serves until the task is cancelled (Ctrl-C).
    /// `onReady` gets the URL once the server listens.
    public static func run(_ configuration: ServiceConfiguration, roots: [String], onReady: @escaping @Sendable (String) -> Void) async throws {
        let store: any ServiceIndexStore
        do { store = try Application.openServiceStore(configuration.database) } catch { throw ServiceStartError.index(error) }
        defer { store.disconnect() }
        let state = ServiceState(configuration: configuration, store: store, roots: roots)
        let router = makeRouter(state)
        var logger = Logger(label: "imagingx.serve")
        logger.logLevel = .warning
        let watcher = configuration.watch || configuration.rescanSeconds != nil
            ? Watcher(jobs: state.jobs, roots: roots, inotify: configuration.watch, every: configuration.rescanSeconds) : nil
        watcher?.start()
        defer { watcher?.stop() }
        let host = configuration.host
        let app = Hummingbird.Application(
            router: router,
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "imagingx"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                let shown = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
                onReady("http://\(shown):\(port)/")
            },
            logger: logger)
        try await app.runService()
    }

    public static func makeRouter(_ state: ServiceState) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: JSONErrorMiddleware(allowedMethods: Routes.allowedMethods))
        router.add(middleware: BearerMiddleware(token: state.configuration.token.map { Array($0.utf8) }))
        Routes(state: state).register(router)
        return router
    }
}
