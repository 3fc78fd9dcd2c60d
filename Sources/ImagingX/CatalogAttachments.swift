/// Catalog entries attached to datasets (`--catalog DATASET=NAME`), looked up by dataset path with
/// one rule: trailing slashes do not count ("data/mr/" and "data/mr" are one dataset). When two
/// specs name the same dataset, the later one wins.
public struct CatalogAttachments: Sendable {
    private var byDataset: [String: CatalogEntry] = [:]

    public init() {}

    /// The key a dataset path is attached and looked up under.
    public static func key(_ dataset: String) -> String { FileIO.trimmingSlashes(dataset) }

    public var isEmpty: Bool { byDataset.isEmpty }

    public mutating func attach(_ entry: CatalogEntry, to dataset: String) {
        byDataset[Self.key(dataset)] = entry
    }

    public func entry(for dataset: String) -> CatalogEntry? { byDataset[Self.key(dataset)] }

    /// Parses and resolves DATASET=NAME specs in order against the store's catalog (else the
    /// starter catalog). With no specs the catalog is not read at all.
    public static func resolve(_ specs: [String], in store: any CatalogStore) throws(CatalogAttachmentError) -> CatalogAttachments {
        var out = CatalogAttachments()
        guard !specs.isEmpty else { return out }
        let catalog: Catalog
        do { catalog = try store.catalogOrStarter() } catch { throw .store(error) }
        for spec in specs {
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw .malformed(spec: spec) }
            do { out.attach(try catalog.resolve(parts[1]), to: parts[0]) } catch { throw .name(spec: spec, error) }
        }
        return out
    }
}

public enum CatalogAttachmentError: Error, CustomStringConvertible {
    case store(CatalogStoreError)
    /// Not DATASET=NAME.
    case malformed(spec: String)
    /// NAME matches no catalog entry, or several.
    case name(spec: String, Catalog.NameError)

    public var description: String {
        switch self {
        case .store(let e): e.description
        case .malformed(let spec): "--catalog \(spec): expected DATASET=NAME"
        case .name(let spec, let e): "--catalog \(spec): \(e.description)"
        }
    }
}
