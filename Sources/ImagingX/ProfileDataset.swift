/// A dataset folder's fingerprint, with its catalog entry when a name is given.
public struct ProfileRequest: Sendable {
    public var folder: String
    /// The dataset's name in the catalog (matched ignoring case and punctuation).
    public var catalogName: String?
    public var jobs: Int
    /// The folder's layout; nil detects it (the same rule as `fingerprint`).
    public var layout: DatasetLayout?

    public init(folder: String, catalogName: String? = nil, jobs: Int = Defaults.jobs, layout: DatasetLayout? = nil) {
        self.folder = folder
        self.catalogName = catalogName
        self.jobs = jobs
        self.layout = layout
    }
}

/// The `profile` document.
public struct ProfileResult: Sendable, Encodable {
    public var folder: String
    public var catalog: CatalogEntry?
    public var fingerprint: DatasetFingerprint
}

public enum ProfileError: Error, CustomStringConvertible {
    case store(CatalogStoreError)
    case name(Catalog.NameError)

    public var description: String {
        switch self {
        case .store(let e): e.description
        case .name(let e): "--catalog: \(e.description)"
        }
    }
}

public enum ProfileDataset {
    /// Resolves the catalog name first (a wrong name fails before the folder is read).
    public static func run(_ request: ProfileRequest, catalog store: any CatalogStore) throws(ProfileError) -> ProfileResult {
        var entry: CatalogEntry?
        if let name = request.catalogName {
            let catalog: Catalog
            do { catalog = try store.catalogOrStarter() } catch { throw .store(error) }
            do { entry = try catalog.resolve(name) } catch { throw .name(error) }
        }
        let (info, cases) = Fingerprinter.summarizeFolder(request.folder, jobs: request.jobs, layout: request.layout)
        return ProfileResult(folder: request.folder, catalog: entry, fingerprint: Fingerprinter.reduce(cases, info: info))
    }
}
