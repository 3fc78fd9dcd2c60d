import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where the imported catalog is kept. `load` answers nil when nothing has been stored; the
/// use cases then fall back to the built-in starter catalog (`catalogOrStarter`).
public protocol CatalogStore: Sendable {
    /// Where the catalog lives, as shown to a user (a path, or "memory").
    var location: String { get }
    func load() throws(CatalogStoreError) -> Catalog?
    func save(_ catalog: Catalog) throws(CatalogStoreError)
}

extension CatalogStore {
    /// The stored catalog, else `StarterCatalog.catalog`: the one place this fallback lives.
    public func catalogOrStarter() throws(CatalogStoreError) -> Catalog {
        try load() ?? StarterCatalog.catalog
    }
}

public enum CatalogStoreError: Error, CustomStringConvertible {
    /// A catalog file named explicitly cannot be read (a missing default file is not an error).
    case unreadable(path: String)
    /// The file is not a catalog this version wrote.
    case undecodable(path: String, underlying: any Error)
    /// `open` failed with `errno`.
    case unwritable(path: String, errno: Int32)
    case unencodable(underlying: any Error)

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read catalog \(path)"
        case .undecodable(let path, let underlying): "\(path) is not a catalog: \(underlying)"
        case .unwritable(let path, let code): "cannot write \(path): \(FileIO.message(code))"
        case .unencodable(let underlying): "cannot encode the catalog: \(underlying)"
        }
    }
}

/// The catalog as a JSON file: the given path (`--catalog-file`), else $IMAGINGX_HOME/catalog.json,
/// else ~/.imagingx/catalog.json. Only an explicit path must exist; `save` creates the file's
/// folder (one level, as `mkdir` does) when it is missing.
public struct FileCatalogStore: CatalogStore {
    public let path: String
    /// True when the path was given: then a missing file is an error, not "nothing imported".
    public let explicit: Bool

    public init(path: String? = nil) {
        self.path = path ?? Self.defaultPath()
        explicit = path != nil
    }

    public var location: String { path }

    /// $IMAGINGX_HOME/catalog.json, else $HOME/.imagingx/catalog.json (./.imagingx without HOME).
    public static func defaultPath() -> String {
        if let home = getenv("IMAGINGX_HOME") { return String(cString: home) + "/catalog.json" }
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        return home + "/.imagingx/catalog.json"
    }

    public func load() throws(CatalogStoreError) -> Catalog? {
        guard let bytes = FileBytes.read(path) else {
            if explicit { throw .unreadable(path: path) }
            return nil
        }
        do { return try Catalog.decode(bytes) } catch { throw .undecodable(path: path, underlying: error) }
    }

    public func save(_ catalog: Catalog) throws(CatalogStoreError) {
        let dir = String(path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
        if !dir.isEmpty { mkdir(dir, 0o755) }
        let bytes: [UInt8]
        do { bytes = try catalog.encoded() } catch { throw .unencodable(underlying: error) }
        if let code = FileIO.write(bytes, to: path) { throw .unwritable(path: path, errno: code) }
    }
}

/// A catalog held in memory (tests, a service that imports per session).
public final class InMemoryCatalogStore: CatalogStore {
    private let stored: Mutex<Catalog?>

    public init(_ catalog: Catalog? = nil) { stored = Mutex(catalog) }

    public var location: String { "memory" }

    public func load() throws(CatalogStoreError) -> Catalog? { stored.withLock { $0 } }

    public func save(_ catalog: Catalog) throws(CatalogStoreError) { stored.withLock { $0 = catalog } }
}
