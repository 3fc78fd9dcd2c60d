import ArgumentParser
import Dispatch
import ImagingX
import ImagingXService
#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the index's HTTP API (/api/v1, /openapi.json) and the discovery portal (/).",
        discussion: """
            Listens on 127.0.0.1 unless --host says otherwise; any other address needs --token-file, and every \
            API request then needs `Authorization: Bearer TOKEN`. Paths given to the API must lie inside a --root.
            """)

    @Option(help: "The index file (created when missing), or a PostgreSQL index: postgres://user@host:port/dbname (password from PGPASSWORD).")
    var db: String = "imagingx-index.sqlite"

    @Option(name: .customLong("root"), help: "A folder the API may index (repeatable).")
    var roots: [String] = []

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port (0: any free port).")
    var port: Int = 8080

    @Option(help: "A file holding the bearer token (one line, at least 16 characters).")
    var tokenFile: String?

    @Flag(help: "Re-index a root when files under it change (inotify, debounced).")
    var watch = false

    @Option(help: "Re-index every root every SECONDS (where inotify is not available).")
    var rescan: Double?

    @Flag(help: "Index with pixel statistics.")
    var stats = false

    @Option(help: "Catalog file (default: the imported catalog, else the starter catalog).")
    var catalogFile: String?

    @Option(help: "Serve the portal's files from this folder (portal development).")
    var portalDir: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        if let rescan, !(rescan >= 1) { throw ValidationError("--rescan must be at least 1 second") }
    }

    func run() throws {
        var c = ServiceConfiguration(database: db, roots: roots)
        c.host = host
        c.port = port
        c.watch = watch
        c.rescanSeconds = rescan
        c.stats = stats
        c.catalogFile = catalogFile
        c.portalDirectory = portalDir
        let (config, realRoots): (ServiceConfiguration, [String])
        do { (config, realRoots) = try ImagingXServer.prepare(c, tokenFile: tokenFile) } catch {
            throw fail(error, status: 2)
        }
        let done = DispatchSemaphore(value: 0)
        let failure = ErrorBox()
        Task {
            do {
                try await ImagingXServer.run(config, roots: realRoots) { url in
                    writeStderr("imagingx: serving \(Application.databaseName(db)) at \(url) (Ctrl-C stops; the index stays)\n")
                }
            } catch {
                failure.set("\(error)")
            }
            done.signal()
        }
        done.wait()
        if let message = failure.get() { throw fail(message, status: 1) }
    }
}

final class ErrorBox: @unchecked Sendable {
    private var message: String?
    private let lock = DispatchSemaphore(value: 1)
    func set(_ m: String) { lock.wait(); message = m; lock.signal() }
    func get() -> String? { lock.wait(); defer { lock.signal() }; return message }
}
