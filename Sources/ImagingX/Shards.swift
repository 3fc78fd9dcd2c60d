import Dispatch
import FoundationEssentials
import ImagingXIndex
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// Runs split over machines (`--shard K/N`) and their exact merge (`imagingx merge`): N parts
// merged give the bytes one run over the whole tree gives.

/// What a part is, written beside it as `PART.shard.json`: a merge refuses parts that were not
/// made by the same command, version, roots and options, a set of parts that is not exactly
/// shards 0..<N, and a part whose size or record count differs from what its run wrote.
public struct ShardManifest: Codable, Sendable, Equatable {
    public static let kindName = "imagingx-shard"
    public var kind = ShardManifest.kindName
    public var manifestVersion = 1
    public var imagingxVersion = Application.version
    /// scan, index, fingerprint or series.
    public var command: String
    /// The roots as the command was given them (a record's path is relative to them).
    public var roots: [String]
    /// Every option that changes the output, by name.
    public var options: [String: String]
    public var shard: Int
    public var shards: Int
    /// Records (lines, files, cases or volumes) in the part.
    public var records: Int
    /// The part's size in bytes (0 for an index, whose file SQLite may rewrite).
    public var bytes: Int
    /// Roots that could not be read (every shard reports them).
    public var rootErrors: [String] = []

    enum CodingKeys: String, CodingKey {
        case kind, manifestVersion = "manifest_version", imagingxVersion = "imagingx_version", command, roots, options,
             shard, shards, records, bytes, rootErrors = "root_errors"
    }

    public static func path(for part: String) -> String { part + ".shard.json" }

    public func write(beside part: String) throws(MergeError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { throw .cannotWrite(Self.path(for: part), "cannot encode the manifest") }
        let path = Self.path(for: part)
        guard let sink = try? FileSink(path: path) else { throw .cannotWrite(path, String(cString: strerror(errno))) }
        sink.write(Array(data) + [0x0A])
        sink.close()
    }

    public static func read(beside part: String) throws(MergeError) -> ShardManifest {
        let path = path(for: part)
        guard let bytes = FileBytes.read(path) else { throw .badPart(part, "its manifest \(path) cannot be read") }
        guard bytes.count < 1 << 20, let m = try? JSONDecoder().decode(ShardManifest.self, from: Data(bytes)), m.kind == kindName else {
            throw .badPart(part, "\(path) is not an ImagingX shard manifest")
        }
        return m
    }
}

public enum MergeError: Error, Sendable, Equatable, CustomStringConvertible {
    case noParts
    case badPart(String, String)
    case mismatch(String)
    case cannotWrite(String, String)

    public var description: String {
        switch self {
        case .noParts: "give the parts to merge"
        case .badPart(let part, let why): "\(part): \(why)"
        case .mismatch(let why): "these parts do not make one run: \(why)"
        case .cannotWrite(let path, let why): "cannot write \(path): \(why)"
        }
    }
}

public struct MergeResult: Sendable {
    public var command: String
    public var parts: Int
    public var records: Int
    public var seconds: Double
}

extension Application {
    /// The version written into shard manifests and served by the API.
    public static let version = "0.7.0"

    /// Reads the manifests of `parts` and checks they are shards 0..<N of one run; returns them
    /// in shard order with their parts.
    static func checkedManifests(_ parts: [String]) throws(MergeError) -> [(part: String, manifest: ShardManifest)] {
        guard !parts.isEmpty else { throw .noParts }
        var all: [(part: String, manifest: ShardManifest)] = []
        for part in parts { all.append((part, try ShardManifest.read(beside: part))) }
        let first = all[0].manifest
        for (part, m) in all.dropFirst() {
            func differ(_ what: String, _ a: String, _ b: String) -> MergeError {
                .mismatch("\(all[0].part) has \(what) \(a), \(part) has \(b)")
            }
            if m.manifestVersion != first.manifestVersion { throw differ("manifest version", "\(first.manifestVersion)", "\(m.manifestVersion)") }
            if m.imagingxVersion != first.imagingxVersion { throw differ("imagingx version", first.imagingxVersion, m.imagingxVersion) }
            if m.command != first.command { throw differ("command", first.command, m.command) }
            if m.roots != first.roots { throw differ("roots", first.roots.description, m.roots.description) }
            if m.options != first.options {
                let keys = Set(m.options.keys).union(first.options.keys).sorted().filter { m.options[$0] != first.options[$0] }
                throw differ("options", keys.map { "\($0)=\(first.options[$0] ?? "unset")" }.joined(separator: ", "),
                             keys.map { "\($0)=\(m.options[$0] ?? "unset")" }.joined(separator: ", "))
            }
            if m.shards != first.shards { throw differ("shard count", "\(first.shards)", "\(m.shards)") }
        }
        if first.imagingxVersion != Application.version {
            throw .mismatch("the parts were made by imagingx \(first.imagingxVersion), this is \(Application.version)")
        }
        var byShard: [Int: String] = [:]
        for (part, m) in all {
            guard m.shard >= 0, m.shard < m.shards else { throw .badPart(part, "shard \(m.shard) of \(m.shards) is out of range") }
            if let other = byShard[m.shard] { throw .mismatch("\(other) and \(part) are both shard \(m.shard)/\(m.shards)") }
            byShard[m.shard] = part
        }
        let missing = (0..<first.shards).filter { byShard[$0] == nil }
        if !missing.isEmpty {
            throw .mismatch("shard\(missing.count == 1 ? "" : "s") \(missing.prefix(10).map(String.init).joined(separator: ", "))"
                            + "\(missing.count > 10 ? ", …" : "") of \(first.shards) missing")
        }
        return all.sorted { $0.manifest.shard < $1.manifest.shard }
    }

    /// `imagingx merge`: the parts of one sharded run (`scan`, `index`, `fingerprint` or `series`)
    /// into what one run over the whole tree writes.
    public static func merge(parts: [String], output: String) throws(MergeError) -> MergeResult {
        let started = DispatchTime.now().uptimeNanoseconds
        let checked = try checkedManifests(parts)
        if parts.contains(where: { FileIO.sameFile($0, output) }) { throw .cannotWrite(output, "it is one of the parts") }
        let command = checked[0].manifest.command
        let records: Int
        switch command {
        case "scan": records = try mergeRecordStreams(checked, output: output)
        case "fingerprint": records = try mergeFingerprints(checked, output: output)
        case "series": records = try mergeSeries(checked, output: output)
        case "index": records = try mergeIndexes(checked, output: output)
        default: throw .mismatch("\(command) parts cannot be merged")
        }
        return MergeResult(command: command, parts: checked.count, records: records,
                           seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }

    /// Fingerprint parts (case summaries): the fingerprint of all their cases, as `fingerprint`
    /// writes it for the whole dataset. A case in two parts is refused.
    static func mergeFingerprints(_ parts: [(part: String, manifest: ShardManifest)], output: String) throws(MergeError) -> Int {
        for (part, m) in parts {
            var st = stat()
            guard stat(part, &st) == 0, Int(st.st_size) == m.bytes else {
                throw .badPart(part, "its size is not the \(m.bytes) bytes its run wrote (missing, truncated or changed?)")
            }
        }
        let result: FingerprintResult
        do { result = try FingerprintDataset.run(FingerprintRequest(caseFiles: parts.map(\.part))) } catch {
            throw .mismatch(error.description)
        }
        guard let json = try? Fingerprinter.encode(result.fingerprint) else { throw .cannotWrite(output, "cannot encode the fingerprint") }
        if let format = imageDataFormat(at: output) { throw .cannotWrite(output, "it holds \(format) data") }
        guard let sink = try? FileSink(path: output) else { throw .cannotWrite(output, String(cString: strerror(errno))) }
        sink.write(json)
        sink.close()
        return result.cases.count
    }

    /// Index parts: a new index holding every part's files in path order, and each dataset
    /// reduced from the cases and series volumes of all parts (as one `index` run stores them).
    static func mergeIndexes(_ parts: [(part: String, manifest: ShardManifest)], output: String) throws(MergeError) -> Int {
        guard parts[0].manifest.roots.count == 1 else { throw .badPart(parts[0].part, "an index part has one root") }
        let rootPath = parts[0].manifest.roots[0]
        var st = stat()
        if stat(output, &st) == 0 { throw .cannotWrite(output, "it exists: a merge writes a new index") }
        var byFolder: [String: [(part: String, data: DatasetPart)]] = [:]
        var folders: [String] = []  // in the order the runs found them (each run finds them all)
        var files = 0
        for (part, m) in parts {
            do {
                let store = try IndexStore(path: part, create: false)
                let roots = try store.roots()
                guard roots.map(\.path) == [rootPath] else { throw MergeError.badPart(part, "it indexes \(roots.map(\.path)), its manifest says \(rootPath)") }
                guard roots[0].files == m.records else { throw MergeError.badPart(part, "it holds \(roots[0].files) files, its run wrote \(m.records)") }
                files += roots[0].files
                for d in try store.datasetParts() {
                    if byFolder[d.folder] == nil { folders.append(d.folder) }
                    byFolder[d.folder, default: []].append((part, d))
                }
            } catch let error as MergeError {
                throw error
            } catch let error as IndexError {
                throw .badPart(part, error.description)
            } catch {
                throw .badPart(part, "\(error)")
            }
        }
        let out: IndexStore
        do {
            out = try IndexStore(path: output)
            let lock = try out.lockForWriting()
            defer { lock.release() }
            let root = try out.root(path: rootPath)
            do { try out.copyFiles(fromParts: parts.map(\.part), root: root.id) } catch {
                throw MergeError.mismatch("the parts' files cannot be joined (\(error.description)); do two parts hold one path?")
            }
            let wantsDatasets = parts[0].manifest.options["datasets"] == "true"
            for folder in folders where wantsDatasets {
                let pieces = byFolder[folder]!
                guard let info = pieces.first(where: { $0.data.info != nil })?.data.info else {
                    throw MergeError.badPart(pieces[0].part, "dataset \(folder.isEmpty ? "(root)" : folder) has no layout facts: not a shard's part")
                }
                let (cases, series) = try reduceParts(folder: folder, pieces)
                let write = datasetWrite(root: root, folder: folder, info: info, cases: cases, series: series)
                try out.saveDataset(write, root: root.id, at: Timestamp.now())
            }
            try out.finishRoot(root.id, at: Timestamp.now(), withStats: parts[0].manifest.options["stats"] == "true")
        } catch let error as MergeError {
            throw error
        } catch let error as IndexError {
            throw .cannotWrite(output, error.description)
        } catch {
            throw .cannotWrite(output, "\(error)")
        }
        return files
    }

    /// One dataset's cases and series volumes gathered from shards' parts (by `merge`, and by
    /// shard writers sharing an index): refused when two parts found the folder laid out
    /// differently, or hold one case, or one series (its slices in folders of different shards).
    static func reduceParts(folder: String, _ pieces: [(part: String, data: DatasetPart)]) throws(MergeError) -> ([CaseSummary], [SeriesRecord]) {
        if let first = pieces.first(where: { $0.data.info != nil }), let other = pieces.first(where: { $0.data.info != nil && $0.data.info != first.data.info }) {
            throw MergeError.mismatch("\(first.part) and \(other.part) found dataset \(folder) laid out differently (did it change between the runs?)")
        }
        var cases: [CaseSummary] = [], caseOwner: [String: String] = [:]
        var series: [SeriesRecord] = [], seriesOwner: [String: String] = [:]
        for (part, d) in pieces {
            for c in d.cases {
                if let other = caseOwner[c.id] { throw MergeError.mismatch("case \(c.id) of \(folder) is in \(other) and in \(part)") }
                caseOwner[c.id] = part
                cases.append(c)
            }
            for key in Set(d.series.map(\.series_key)) {
                if let other = seriesOwner[key] {
                    throw MergeError.mismatch("series \(key) of \(folder) has files in \(other) and in \(part): its slices lie in folders "
                                              + "of different shards; index it unsharded")
                }
                seriesOwner[key] = part
            }
            series += d.series
        }
        series.sort { ($0.series_key, $0.group) < ($1.series_key, $1.group) }
        return (cases, series)
    }

    /// Series parts: their volumes in the order one `series` run writes them (by series key, then
    /// group). A series with files in two parts (its slices in folders of different shards) is
    /// refused: its volumes would be assembled from halves.
    static func mergeSeries(_ parts: [(part: String, manifest: ShardManifest)], output: String) throws(MergeError) -> Int {
        var volumes: [(key: String, group: Int, line: [UInt8])] = []
        var owner: [String: String] = [:]
        for (part, m) in parts {
            guard let bytes = FileBytes.read(part), bytes.count == m.bytes else {
                throw .badPart(part, "its size is not the \(m.bytes) bytes its run wrote (missing, truncated or changed?)")
            }
            var partKeys = Set<String>()
            var count = 0
            for line in bytes.split(separator: 0x0A) {
                guard let v = try? JSONDecoder().decode(SeriesRecord.self, from: Data(line)) else {
                    throw .badPart(part, "line \(count + 1) is not a series volume")
                }
                if let other = owner[v.series_key], other != part {
                    throw .mismatch("series \(v.series_key) has files in \(other) and in \(part): its slices lie in folders of different "
                                    + "shards, so neither part holds the whole volume; run `series` on it unsharded")
                }
                partKeys.insert(v.series_key)
                volumes.append((v.series_key, v.group, Array(line) + [0x0A]))
                count += 1
            }
            for key in partKeys { owner[key] = part }
            guard count == m.records else { throw .badPart(part, "it holds \(count) volumes, its run wrote \(m.records)") }
        }
        volumes.sort { ($0.key, $0.group) < ($1.key, $1.group) }
        if let format = imageDataFormat(at: output) { throw .cannotWrite(output, "it holds \(format) data") }
        guard let sink = try? FileSink(path: output) else { throw .cannotWrite(output, String(cString: strerror(errno))) }
        for v in volumes { sink.write(v.line) }
        sink.close()
        return volumes.count
    }

    /// Scan parts (JSON Lines or CSV): a k-way merge of their records by path, in the byte order
    /// one scan writes them, after the CSV header once.
    static func mergeRecordStreams(_ parts: [(part: String, manifest: ShardManifest)], output: String) throws(MergeError) -> Int {
        let options = parts[0].manifest.options
        let csv = options["format"] == "csv"
        let header = RecordEncoding(format: csv ? .csv : .jsonl, stats: options["stats"] == "true",
                                    fileStat: options["file_stat"] == "true").header
        var readers: [RecordStream] = []
        for (part, m) in parts {
            var st = stat()
            guard stat(part, &st) == 0 else { throw .badPart(part, String(cString: strerror(errno))) }
            guard Int(st.st_size) == m.bytes else {
                throw .badPart(part, "it holds \(st.st_size) bytes, its run wrote \(m.bytes) (truncated or changed?)")
            }
            guard let r = RecordStream(path: part, csv: csv) else { throw .badPart(part, String(cString: strerror(errno))) }
            if csv {
                guard let first = r.next(), first.bytes == header else { throw .badPart(part, "its CSV header is not the one its options give") }
            }
            readers.append(r)
        }
        if let format = imageDataFormat(at: output) { throw .cannotWrite(output, "it holds \(format) data") }
        let sink: FileSink
        do { sink = try FileSink(path: output) } catch { throw .cannotWrite(output, error.description) }
        defer { sink.close() }
        sink.write(header)
        // A binary heap of the parts' current records, least path first (ties: lower shard).
        var heap: [(key: [UInt8], record: [UInt8], reader: Int)] = []
        func less(_ a: (key: [UInt8], record: [UInt8], reader: Int), _ b: (key: [UInt8], record: [UInt8], reader: Int)) -> Bool {
            a.key.lexicographicallyPrecedes(b.key) || (a.key == b.key && a.reader < b.reader)
        }
        func push(_ e: (key: [UInt8], record: [UInt8], reader: Int)) {
            heap.append(e)
            var i = heap.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                guard less(heap[i], heap[p]) else { break }
                heap.swapAt(i, p)
                i = p
            }
        }
        func pop() -> (key: [UInt8], record: [UInt8], reader: Int) {
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < heap.count, less(heap[l], heap[m]) { m = l }
                    if r < heap.count, less(heap[r], heap[m]) { m = r }
                    if m == i { break }
                    heap.swapAt(i, m)
                    i = m
                }
            }
            return top
        }
        var counts = Array(repeating: 0, count: readers.count)
        func advance(_ i: Int) throws(MergeError) {
            guard let next = readers[i].next() else {
                if readers[i].overlong { throw .badPart(parts[i].part, "a record runs past \(RecordStream.maxRecord >> 20) MiB without a newline") }
                return
            }
            guard let key = next.path else { throw .badPart(parts[i].part, "a record without a path at byte \(next.offset)") }
            counts[i] += 1
            push((key, next.bytes, i))
        }
        for i in readers.indices { try advance(i) }
        var written = 0
        var previous: [UInt8]? = nil
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        while !heap.isEmpty {
            let e = pop()
            // Each part is in path order, and a path is in one part only (its directory's shard).
            if let previous, !previous.lexicographicallyPrecedes(e.key) {
                throw .badPart(parts[e.reader].part, "its records are not in path order, or a path is in two parts")
            }
            previous = e.key
            buffer += e.record
            if buffer.count >= 1 << 20 {
                sink.write(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
            written += 1
            try advance(e.reader)
        }
        sink.write(buffer)
        for (i, (part, m)) in parts.enumerated() where counts[i] != m.records {
            throw .badPart(part, "it holds \(counts[i]) records, its run wrote \(m.records)")
        }
        return written
    }
}

/// The records of a JSON Lines or CSV file, one at a time, each with its path decoded (what the
/// merge orders by). A CSV record ends at a newline outside quotes.
final class RecordStream {
    let fd: Int32
    let csv: Bool
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false
    private var consumed = 0

    init?(path: String, csv: Bool) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.csv = csv
    }

    deinit { close(fd) }

    private func fill() -> Bool {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { eof = true; return false }
        buffer += chunk[0..<n]
        return true
    }

    /// The longest record read (a part with no newline for this long is not a part).
    static let maxRecord = 64 << 20
    /// Set when a record ran past `maxRecord`.
    private(set) var overlong = false

    /// The next record (its bytes with the newline), its decoded path and its offset in the file.
    func next() -> (bytes: [UInt8], path: [UInt8]?, offset: Int)? {
        var i = start
        var quoted = false
        while true {
            if i - start > Self.maxRecord {
                overlong = true
                return nil
            }
            if i >= buffer.count {
                let scanned = i - start
                if !fill() {
                    guard start < buffer.count else { return nil }
                    // A last record without its newline: a truncated part (the size check catches it).
                    let bytes = Array(buffer[start...])
                    start = buffer.count
                    return (bytes, path(of: bytes), consumed)
                }
                i = start + scanned
                continue
            }
            let b = buffer[i]
            if csv, b == 0x22 { quoted.toggle() }
            if b == 0x0A, !quoted {
                let bytes = Array(buffer[start...i])
                let offset = consumed
                consumed += bytes.count
                start = i + 1
                return (bytes, path(of: bytes), offset)
            }
            i += 1
        }
    }

    /// The first field (CSV) or the `path` value that opens each JSON line, unescaped.
    func path(of record: [UInt8]) -> [UInt8]? {
        csv ? RecordStream.csvFirstField(record) : RecordStream.jsonPath(record)
    }

    static func csvFirstField(_ r: [UInt8]) -> [UInt8]? {
        guard let first = r.first else { return nil }
        if first != 0x22 { return Array(r.prefix { $0 != 0x2C && $0 != 0x0A && $0 != 0x0D }) }
        var out: [UInt8] = []
        var i = 1
        while i < r.count {
            if r[i] == 0x22 {
                if i + 1 < r.count, r[i + 1] == 0x22 { out.append(0x22); i += 2; continue }
                return out
            }
            out.append(r[i])
            i += 1
        }
        return nil
    }

    static func jsonPath(_ r: [UInt8]) -> [UInt8]? {
        let opening = Array("{\"path\":\"".utf8)
        guard r.starts(with: opening) else { return nil }
        var out: [UInt8] = []
        var i = opening.count
        func hex(_ at: Int) -> UInt32? {
            guard at + 4 <= r.count else { return nil }
            var v: UInt32 = 0
            for b in r[at..<at + 4] {
                guard let d = hexDigit(b) else { return nil }
                v = v << 4 | d
            }
            return v
        }
        while i < r.count {
            let b = r[i]
            if b == 0x22 { return out }
            if b != 0x5C { out.append(b); i += 1; continue }
            guard i + 1 < r.count else { return nil }
            let e = r[i + 1]
            switch e {
            case 0x22, 0x5C, 0x2F: out.append(e); i += 2
            case 0x62: out.append(0x08); i += 2
            case 0x66: out.append(0x0C); i += 2
            case 0x6E: out.append(0x0A); i += 2
            case 0x72: out.append(0x0D); i += 2
            case 0x74: out.append(0x09); i += 2
            case 0x75:
                guard var v = hex(i + 2) else { return nil }
                i += 6
                if v >= 0xD800, v < 0xDC00, i + 1 < r.count, r[i] == 0x5C, r[i + 1] == 0x75, let low = hex(i + 2), low >= 0xDC00, low < 0xE000 {
                    v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                out += Array(String(Character(Unicode.Scalar(v) ?? "\u{FFFD}")).utf8)
            default: return nil
            }
        }
        return nil
    }

    static func hexDigit(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: UInt32(b - 0x30)
        case 0x41...0x46: UInt32(b - 0x41 + 10)
        case 0x61...0x66: UInt32(b - 0x61 + 10)
        default: nil
        }
    }
}
