import FoundationEssentials
import GRDB
import ImagingXDatasets
import ImagingXScan

/// What the dataset pass of `index` reads and writes, on top of the file pass: one protocol, two
/// stores (SQLite: `IndexStore`; PostgreSQL: `PostgresIndexStore`), the same rows in both.
public protocol DatasetIndexStore: FileIndexStore {
    /// Whether shard writers share this index (PostgreSQL): a shard then stores its part of each
    /// dataset (`saveDatasetPart`) and the dataset is reduced once every shard's part is in.
    /// An SQLite file written with `--shard` is one shard's part for `imagingx merge` instead.
    var sharesShards: Bool { get }

    func datasets(root: Int64?) throws(IndexError) -> [IndexedDataset]
    /// The stored case summaries of a dataset, by case id.
    func caseSummaries(dataset id: Int64) throws(IndexError) -> [String: CaseSummary]
    /// Writes a dataset, its case summaries, series and fingerprint, and claims the root's files
    /// under its folder, in one transaction. Parts kept for the folder (`saveDatasetPart`) are dropped:
    /// this write supersedes them.
    func saveDataset(_ w: DatasetWrite, root: Int64, at time: String) throws(IndexError)
    /// Removes the root's datasets (and kept parts) whose folders are not in `folders`; returns how many datasets.
    func pruneDatasets(root: Int64, keeping folders: Set<String>) throws(IndexError) -> Int
    func meta(_ key: String) throws(IndexError) -> String?
    func setMeta(_ key: String, _ value: String) throws(IndexError)

    /// The part of a dataset folder a shard keeps (`DatasetPart.encoded()`), if any.
    func datasetPart(root: Int64, folder: String, shard: Shard) throws(IndexError) -> [UInt8]?
    /// Keeps one shard's part of a dataset (`DatasetPart.encoded()`), then, in the same
    /// transaction (writers of one dataset take turns), gives `complete` every kept part of that
    /// folder from shards of the same count, by shard index. When `complete` returns a dataset,
    /// it is written as `saveDataset` writes it, with the parts kept.
    func saveDatasetPart(_ part: [UInt8], root: Int64, folder: String, shard: Shard, at time: String,
                         complete: ([Int: [UInt8]]) throws -> DatasetWrite?) throws(IndexError)
}

extension DatasetPart {
    /// JSON with sorted keys (non-finite numbers as strings, as the case summaries are stored).
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return Array(try encoder.encode(self))
    }

    public static func decode(_ bytes: [UInt8]) throws -> DatasetPart {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try decoder.decode(DatasetPart.self, from: Data(bytes))
    }
}

/// Where a shared index keeps shards' dataset parts: rows of `meta` keyed
/// `dataset_part:ROOT:FOLDER<U+0001>N:K`, so one folder's parts (of any shard count) are the key
/// range [`dataset_part:ROOT:FOLDER<U+0001>`, `dataset_part:ROOT:FOLDER<U+0002>`) and a root's are
/// [`dataset_part:ROOT:`, `dataset_part:ROOT;`).
public enum DatasetPartKeys {
    public static func key(root: Int64, folder: String, shard: Shard) -> String {
        folderPrefix(root: root, folder: folder) + "\(shard.count):\(shard.index)"
    }
    public static func folderPrefix(root: Int64, folder: String) -> String { "dataset_part:\(root):\(folder)\u{1}" }
    public static func folderEnd(root: Int64, folder: String) -> String { "dataset_part:\(root):\(folder)\u{2}" }
    public static func rootPrefix(root: Int64) -> String { "dataset_part:\(root):" }
    public static func rootEnd(root: Int64) -> String { "dataset_part:\(root);" }

    /// (folder, count, index) of a key made by `key`.
    public static func parse(_ key: String, root: Int64) -> (folder: String, count: Int, index: Int)? {
        let prefix = rootPrefix(root: root)
        guard key.hasPrefix(prefix), let sep = key.lastIndex(of: "\u{1}") else { return nil }
        let folder = String(key[key.index(key.startIndex, offsetBy: prefix.count)..<sep])
        let numbers = key[key.index(after: sep)...].split(separator: ":")
        guard numbers.count == 2, let n = Int(numbers[0]), let k = Int(numbers[1]) else { return nil }
        return (folder, n, k)
    }
}

extension IndexStore: DatasetIndexStore {
    public var sharesShards: Bool { false }

    public func datasetPart(root: Int64, folder: String, shard: Shard) throws(IndexError) -> [UInt8]? {
        try meta(DatasetPartKeys.key(root: root, folder: folder, shard: shard)).map { Array($0.utf8) }
    }

    public func saveDatasetPart(_ part: [UInt8], root: Int64, folder: String, shard: Shard, at time: String,
                                complete: ([Int: [UInt8]]) throws -> DatasetWrite?) throws(IndexError) {
        // SQLite has one writer at a time: the write transaction is the turn.
        try guarded {
            try pool.write { db in
                try db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                               arguments: [DatasetPartKeys.key(root: root, folder: folder, shard: shard), String(decoding: part, as: UTF8.self)])
                var parts: [Int: [UInt8]] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT key, value FROM meta WHERE key >= ? AND key < ?",
                                            arguments: [DatasetPartKeys.folderPrefix(root: root, folder: folder),
                                                        DatasetPartKeys.folderEnd(root: root, folder: folder)]) {
                    if let p = DatasetPartKeys.parse(row[0], root: root), p.count == shard.count, p.folder == folder {
                        parts[p.index] = Array((row[1] as String).utf8)
                    }
                }
                if let write = try complete(parts) { try Self.writeDataset(write, root: root, at: time, db: db) }
            }
        }
    }
}
