import Foundation
import ImagingXBytes
import ImagingXModel
import ImagingXPixels
import ImagingXScan
import Synchronization

/// How a scan of a bucket prefix reads its objects.
public struct RemoteScanOptions: Sendable {
    /// Objects read at once; each has at most one request in flight, so this is also the
    /// number of requests in flight.
    public var ioDepth = 64
    /// Decode pixels (`--stats`): each object is downloaded once (with the pair or data files
    /// its header names), then read as a local file is.
    public var stats = false
    public var includeHidden = false
    /// The first read of every object: `bytes=0-(firstRead-1)`.
    public var firstRead = 4096
    /// A header that needs more than this many bytes, or more than `maxRounds` further reads,
    /// becomes an error record.
    public var maxHeaderBytes = 64 << 20
    public var maxRounds = 12
    /// `--stats` downloads objects up to this size; a larger one gets a `stats_error`.
    public var maxStatsBytes = 2 << 30
    /// Seconds a request may take, body included.
    public var requestTimeout = 30.0
    public var maxAttempts = 4

    public init() {}
}

/// A scan of `s3://bucket/prefix`: ListObjectsV2, then each object's header by HTTP Range, parsed
/// by the same readers a local scan uses (`FileReader.read(ranges:…)`). Records come back in
/// bytewise key order and equal a local scan of the same files in every field but the path.
public final class RemoteScanner: Sendable {
    public let client: S3Client
    public let location: S3Location
    public let options: RemoteScanOptions

    public init(client: S3Client, location: S3Location, options: RemoteScanOptions) {
        self.client = client
        self.location = location
        self.options = options
    }

    /// The objects a scan reads: listed, hidden names and folder markers left out, bytewise order.
    public func objects() async throws(S3Error) -> [S3Object] {
        let all = try await client.list(bucket: location.bucket, prefix: location.prefix)
        return all.filter { object in
            if object.key.hasSuffix("/") { return false }
            if options.includeHidden { return true }
            let relative = object.key.dropFirst(min(location.prefix.count, object.key.count))
            return !relative.split(separator: "/").contains { $0.hasPrefix(".") }
        }
    }

    /// Reads `objects` (from `objects()`), `ioDepth` at a time, and hands each record to `emit`
    /// in the objects' order. `siblings` are the listing's sizes by key (pair and data files).
    public func scan(_ objects: [S3Object], listing: [S3Object]? = nil, emit: (ImageRecord) -> Void) async {
        await scan(objects, sizes: Self.sizes(listing ?? objects), emit: emit)
    }

    /// The listing's sizes by key, for `scan(_:sizes:stop:emit:)`.
    public static func sizes(_ listing: [S3Object]) -> [String: Int] {
        var sizes: [String: Int] = [:]
        sizes.reserveCapacity(listing.count)
        for o in listing { sizes[o.key] = o.size }
        return sizes
    }

    /// As `scan(_:listing:emit:)`, with the listing's sizes by key made once; once `stop` answers
    /// true no further object is started (those in flight are read and emitted).
    public func scan(_ objects: [S3Object], sizes siblings: [String: Int], stop: () -> Bool = { false },
                     emit: (ImageRecord) -> Void) async {
        let readers = ReaderPool(options: ReadOptions(stats: options.stats), siblings: { siblings[$0] })
        let depth = max(1, options.ioDepth)
        await withTaskGroup(of: (Int, ImageRecord).self) { group in
            var next = 0
            var pending: [Int: ImageRecord] = [:]
            var emitted = 0
            func start(_ i: Int) {
                let object = objects[i]
                group.addTask { (i, await self.read(object, readers: readers, sizes: siblings)) }
            }
            while next < objects.count, next < depth { start(next); next += 1 }
            while let (i, record) = await group.next() {
                pending[i] = record
                while let r = pending.removeValue(forKey: emitted) {
                    emit(r)
                    emitted += 1
                }
                if next < objects.count, !stop() { start(next); next += 1 }
            }
        }
    }

    /// One object's record: its header by ranges, or (with `stats`) the whole object.
    func read(_ object: S3Object, readers: ReaderPool, sizes: [String: Int]) async -> ImageRecord {
        let path = location.path(of: object.key)
        let reader = readers.take()
        defer { readers.give(reader) }
        var ranges: [(offset: Int, bytes: [UInt8])] = []
        var fetched = 0
        var rounds = 0
        do throws(S3Error) {
            if object.size > 0 {
                let first = try await client.get(bucket: location.bucket, key: object.key,
                                                 range: .span(0..<min(object.size, options.firstRead)), size: object.size)
                ranges = [(0, first)]
                fetched = first.count
            }
            while true {
                reader.lookups.removeAll()
                switch reader.reader.read(ranges: ranges, totalSize: object.size, fullPath: object.key, path: path) {
                case .record(let record):
                    if options.stats { return await statsRecord(object, header: record, lookups: reader, sizes: sizes) }
                    return record
                case .needBytes(let missing):
                    rounds += 1
                    let range = Self.nextRange(missing, ranges: ranges, size: object.size, firstRead: options.firstRead,
                                               round: rounds, budget: options.maxHeaderBytes - fetched)
                    let want = range.resolved(size: object.size)
                    guard rounds <= options.maxRounds, fetched + want.count <= options.maxHeaderBytes, !want.isEmpty else {
                        return failed(object, ParseError(.limitExceeded, at: missing.lowerBound,
                            "\(path): the header needs bytes \(missing.lowerBound)..<\(missing.upperBound) after \(rounds - 1) further reads and \(fetched) bytes (limits: \(options.maxRounds) reads, \(options.maxHeaderBytes) bytes)"))
                    }
                    let bytes = try await client.get(bucket: location.bucket, key: object.key, range: range, size: object.size)
                    fetched += bytes.count
                    ranges = Self.merge(ranges, (want.lowerBound, bytes))
                }
            }
        } catch {
            return failed(object, ParseError(.io, at: ranges.last.map { $0.offset + $0.bytes.count } ?? 0,
                                             error.message, phase: .open))
        }
    }

    func failed(_ object: S3Object, _ error: ParseError) -> ImageRecord {
        var record = ImageRecord(path: location.path(of: object.key))
        record.sizeBytes = object.size
        record.fail(error)
        return record
    }

    /// What to fetch for a read that missed: the bytes after the first range, at least doubling
    /// it, when the miss is near it; the object's tail by a suffix range when the miss is in its
    /// last 64 KiB (a gzip trailer); else the missing bytes themselves (at least 4 KiB). From the
    /// fourth further read on (a walk over many encapsulated fragments), everything from the miss
    /// to the end when that fits the header budget, so the reads stay few.
    static func nextRange(_ missing: Range<Int>, ranges: [(offset: Int, bytes: [UInt8])], size: Int, firstRead: Int,
                          round: Int = 1, budget: Int = Int.max) -> ByteRange {
        let held = ranges.first(where: { $0.offset == 0 }).map { $0.bytes.count } ?? 0
        if round >= 4, missing.lowerBound > held, size - missing.lowerBound <= budget {
            return .span(missing.lowerBound..<size)
        }
        if missing.lowerBound <= held + 65536 {
            let end = min(size, max(missing.upperBound, 2 * held, held + firstRead))
            return .span(held..<end)
        }
        if size - missing.lowerBound <= 65536 {
            return .suffix(size - missing.lowerBound)
        }
        return .span(missing.lowerBound..<min(size, max(missing.upperBound, missing.lowerBound + firstRead)))
    }

    /// Ranges sorted by offset with overlapping or touching ones joined (a read across the
    /// seam of two fetched pieces must find them as one).
    static func merge(_ ranges: [(offset: Int, bytes: [UInt8])], _ new: (offset: Int, bytes: [UInt8])) -> [(offset: Int, bytes: [UInt8])] {
        var all = ranges + [new]
        all.sort { $0.offset < $1.offset }
        var out: [(offset: Int, bytes: [UInt8])] = []
        for r in all where !r.bytes.isEmpty {
            if let last = out.last, r.offset <= last.offset + last.bytes.count {
                let end = last.offset + last.bytes.count
                let rEnd = r.offset + r.bytes.count
                if rEnd > end { out[out.count - 1].bytes += r.bytes[(end - r.offset)...] }
            } else {
                out.append(r)
            }
        }
        return out
    }

    // MARK: --stats

    /// Downloads the object and the files its header looked up beside it (pair `.img`, detached
    /// data) into a private temporary folder under their keys, and reads it as a local file.
    func statsRecord(_ object: S3Object, header: ImageRecord, lookups: ReaderPool.Slot, sizes: [String: Int]) async -> ImageRecord {
        var record = header
        guard header.status == .ok else { return record }
        let keys = [object.key] + lookups.lookups.filter { sizes[$0] != nil }.sorted()
        let total = keys.reduce(0) { $0 + (sizes[$1] ?? 0) }
        guard total <= options.maxStatsBytes else {
            record.statsError = "not decoded: \(location.path(of: object.key)) and its data files hold \(total) bytes, over the \(options.maxStatsBytes)-byte download limit"
            return record
        }
        let folder = NSTemporaryDirectory() + "imagingx-s3-\(getpid())-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            for key in Set(keys) {
                let local = folder + "/" + key
                try FileManager.default.createDirectory(atPath: (local as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try await client.download(bucket: location.bucket, key: key, size: sizes[key] ?? 0, to: local)
            }
        } catch let error as S3Error {
            record.statsError = "not decoded: download failed: \(error.message)"
            return record
        } catch {
            record.statsError = "not decoded: cannot keep a temporary copy: \(error)"
            return record
        }
        let reader = FileReader(options: ReadOptions(stats: true))
        var local = reader.read(fullPath: folder + "/" + object.key, path: location.path(of: object.key))
        local.path = location.path(of: object.key)
        return local
    }
}

/// FileReaders (with their buffers) reused by the scan's tasks: one task holds one at a time.
final class ReaderPool: Sendable {
    /// A reader and the sibling paths its last parse looked up.
    final class Slot: @unchecked Sendable {
        let reader: FileReader
        var lookups: Set<String> = []
        init(options: ReadOptions, siblings: @escaping @Sendable (String) -> Int?) {
            reader = FileReader(options: options)
            reader.siblingSize = { [unowned self] path in
                self.lookups.insert(path)
                return siblings(path)
            }
        }
    }

    private let free = Mutex<[Slot]>([])
    let options: ReadOptions
    let siblings: @Sendable (String) -> Int?

    init(options: ReadOptions, siblings: @escaping @Sendable (String) -> Int?) {
        self.options = options
        self.siblings = siblings
    }

    func take() -> Slot {
        free.withLock { $0.popLast() } ?? Slot(options: options, siblings: siblings)
    }

    func give(_ slot: Slot) { free.withLock { $0.append(slot) } }
}
