/// A catalog search: the query's constraints (see `CatalogQuery`).
public struct CatalogSearchRequest: Sendable {
    public var query: CatalogQuery
    public init(query: CatalogQuery) { self.query = query }
}

/// The `catalog search --json` document: strict matches, then near matches (one constraint
/// missed), each ranked.
public struct CatalogSearchResult: Sendable, Encodable {
    public struct NearMatch: Sendable, Encodable {
        public var entry: CatalogEntry
        /// The one constraint the entry misses.
        public var misses: String
    }
    /// The searched catalog's source (the imported table, or the starter catalog).
    public var catalog: String
    /// The searched catalog's size (not encoded).
    public var catalogSize: Int
    public var strict: [CatalogEntry]
    public var near: [NearMatch]

    enum CodingKeys: String, CodingKey { case catalog, strict, near }
}

public enum CatalogSearchError: Error, CustomStringConvertible {
    case store(CatalogStoreError)
    /// A constraint the vocabulary does not know.
    case invalidTerm(CatalogQuery.InvalidTerm)

    public var description: String {
        switch self {
        case .store(let e): e.description
        case .invalidTerm(let e): e.description
        }
    }
}

/// Searches the stored catalog, else the starter catalog.
public enum SearchCatalog {
    public static func run(_ request: CatalogSearchRequest, in store: any CatalogStore) throws(CatalogSearchError) -> CatalogSearchResult {
        let catalog: Catalog
        do { catalog = try store.catalogOrStarter() } catch { throw .store(error) }
        let hits: (strict: [CatalogQuery.Hit], near: [CatalogQuery.Hit])
        do { hits = try request.query.run(catalog) } catch { throw .invalidTerm(error) }
        return CatalogSearchResult(catalog: catalog.source, catalogSize: catalog.entries.count, strict: hits.strict.map(\.entry),
                                   near: hits.near.map { CatalogSearchResult.NearMatch(entry: $0.entry, misses: $0.misses ?? "") })
    }
}
