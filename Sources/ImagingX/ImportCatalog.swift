#if canImport(Glibc)
import Glibc
#endif

/// The survey's table (JSON rows) to import: a file path, or an http(s) URL fetched with curl.
public struct CatalogImportRequest: Sendable {
    public var source: String
    public init(source: String) { self.source = source }

    public var isURL: Bool { source.hasPrefix("http://") || source.hasPrefix("https://") }
}

public struct CatalogImportResult: Sendable {
    /// The normalised catalog, as stored.
    public var catalog: Catalog
    /// Where it was stored (`CatalogStore.location`).
    public var location: String

    /// The normalisation findings, most frequent first.
    public var findingsByCount: [CatalogFinding] { catalog.findings.sorted(by: { $0.count > $1.count }) }
}

public enum CatalogImportError: Error, CustomStringConvertible {
    /// `open` or `read` failed with `errno`.
    case unreadableSource(path: String, errno: Int32)
    case fetch(url: String, FetchFailure)
    /// Not a JSON array of survey rows.
    case notASurvey(source: String, underlying: any Error)
    case store(CatalogStoreError)

    public enum FetchFailure: Sendable, Equatable {
        /// `pipe` failed with `errno`.
        case pipe(errno: Int32)
        case curlMissing
        /// curl's exit status (6 and 7: no network, 22: an HTTP error, 28: timed out).
        case curlExit(Int32)
    }

    public var description: String {
        switch self {
        case .unreadableSource(let path, let code): "cannot read \(path): \(FileIO.message(code))"
        case .fetch(let url, .pipe(let code)): "cannot fetch \(url): no pipe for curl: \(FileIO.message(code))"
        case .fetch(let url, .curlMissing): "cannot fetch \(url): curl is not installed"
        case .fetch(let url, .curlExit(let code)):
            "cannot fetch \(url): \(code == 6 || code == 7 ? "no network (could not resolve or connect)" : code == 22 ? "the server answered with an HTTP error" : code == 28 ? "timed out" : "curl exit code \(code)"). Download it and import the file instead."
        case .notASurvey(let source, let underlying): "\(source) is not the survey's table (a JSON array of rows): \(underlying)"
        case .store(let e): e.description
        }
    }
}

/// Reads the survey's table, normalises it into a catalog and stores it.
public enum ImportCatalog {
    public static func run(_ request: CatalogImportRequest, into store: any CatalogStore) throws(CatalogImportError) -> CatalogImportResult {
        let bytes: [UInt8]
        if request.isURL {
            bytes = try fetch(request.source)
        } else {
            guard let b = FileBytes.read(request.source) else { throw .unreadableSource(path: request.source, errno: errno) }
            bytes = b
        }
        let catalog: Catalog
        do { catalog = try Catalog.importSurvey(bytes, source: request.source) } catch {
            throw .notASurvey(source: request.source, underlying: error)
        }
        do { try store.save(catalog) } catch { throw .store(error) }
        return CatalogImportResult(catalog: catalog, location: store.location)
    }

    /// The body of `url`, through `curl -fsSL --max-time 60` (no HTTP client in the toolchain).
    static func fetch(_ url: String) throws(CatalogImportError) -> [UInt8] {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw .fetch(url: url, .pipe(errno: errno)) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        var pid: pid_t = 0
        let args = ["curl", "-fsSL", "--max-time", "60", url]
        let cargs = args.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        let rc = posix_spawnp(&pid, "curl", &actions, nil, cargs, environ)
        posix_spawn_file_actions_destroy(&actions)
        close(pipe[1])
        guard rc == 0 else {
            close(pipe[0])
            throw .fetch(url: url, .curlMissing)
        }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(pipe[0], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        close(pipe[0])
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let code = (status >> 8) & 0xFF
        guard code == 0 else { throw .fetch(url: url, .curlExit(code)) }
        return out
    }
}
