import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One file found by the walk.
public struct WalkEntry: Sendable {
    /// Absolute or root-relative path used to open the file.
    public var fullPath: String
    /// The path the record shows.
    public var path: String
    /// Set for a directory inside a root that could not be read: it becomes an error record,
    /// so a permission problem deep in a dataset is never silent.
    public var walkError: String?
    /// Device, inode, size and times from the walk's own `stat`: always for a root file and a
    /// file reached through a symbolic link, and for every file with `Walker.statFiles` (what an
    /// incremental index compares before deciding to read a file again).
    public var stat: FileStat?

    public init(fullPath: String, path: String, walkError: String? = nil, stat: FileStat? = nil) {
        self.fullPath = fullPath
        self.path = path
        self.walkError = walkError
        self.stat = stat
    }
}

extension FileStat {
    /// From a `stat` result; times in nanoseconds since the Unix epoch.
    public init(_ st: stat) {
        self.init(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int(st.st_size),
                  mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                  ctimeNs: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
    }
}

/// Lists regular files under roots with readdir, never opening fifos, sockets or devices.
/// Symbolic links are followed; a directory reached twice (a link loop, or two links to one
/// place) is walked once, keyed by (device, inode).
public struct Walker: Sendable {
    public var includeHidden = false
    /// `stat` every regular file so each entry carries its `FileStat` (one more system call per
    /// file; off for a plain scan, whose reader takes the same facts from its `fstat`).
    public var statFiles = false
    /// Files never listed, by (device, inode): the scan's own output file when it is written
    /// inside a scanned folder.
    public var excluded: [(device: UInt64, inode: UInt64)] = []
    /// Only the files of directories this shard owns (subdirectories are still walked: their
    /// files may belong to it). A directory that cannot be read is reported by its own shard.
    public var shard: Shard?

    public struct RootError: Error, Sendable {
        public var root: String
        public var message: String
    }

    public init(includeHidden: Bool = false) { self.includeHidden = includeHidden }

    /// Walks every root and returns all entries, sorted bytewise by `path`.
    /// A root that cannot be read is reported in `errors`; the others are still walked.
    public func walk(_ roots: [String]) -> (entries: [WalkEntry], errors: [RootError], skipped: Int) {
        var entries: [WalkEntry] = []
        let result = walk(roots, batchSize: 1 << 16) { entries.append(contentsOf: $0) }
        return (entries, result.errors, result.skipped)
    }

    /// Walks every root, handing entries to `emit` in batches of `batchSize`, in bytewise
    /// order of `path` as they are found: directories are read one at a time with their
    /// children sorted, and roots are taken in the order of their path prefixes, so the
    /// stream is globally sorted without holding it all.
    public func walk(_ roots: [String], batchSize: Int, emit: ([WalkEntry]) -> Void) -> (errors: [RootError], skipped: Int) {
        walk(roots, batchSize: batchSize, until: { emit($0); return true })
    }

    /// `walk` that stops as soon as `until` returns false for a batch (a cancelled scan).
    public func walk(_ roots: [String], batchSize: Int, until: ([WalkEntry]) -> Bool) -> (errors: [RootError], skipped: Int) {
        withoutActuallyEscaping(until) { emit in walkAll(roots, batchSize: batchSize, emit: emit) }
    }

    private func walkAll(_ roots: [String], batchSize: Int, emit: @escaping ([WalkEntry]) -> Bool) -> (errors: [RootError], skipped: Int) {
        var errors: [RootError] = []
        var visited = Set<DirectoryID>()
        let sink = Sink(batchSize: batchSize, emit: emit)
        var typed: [(root: String, key: String, st: stat)] = []
        for root in roots {
            var st = stat()
            guard stat(root, &st) == 0 else {
                errors.append(RootError(root: root, message: String(cString: strerror(errno))))
                continue
            }
            let type = st.st_mode & S_IFMT
            if type == S_IFREG {
                typed.append((root, root, st))
            } else if type == S_IFDIR {
                typed.append((root, roots.count == 1 ? "" : (root.hasSuffix("/") ? root : root + "/"), st))
            } else {
                errors.append(RootError(root: root, message: "not a regular file or directory"))
            }
        }
        typed.sort { Walker.bytewiseLess($0.key, $1.key) }
        for (root, key, st) in typed where !sink.stopped {
            if (st.st_mode & S_IFMT) == S_IFREG {
                if shard?.owns(directory: EmptyCollection<UInt8>()) ?? true {
                    sink.add(WalkEntry(fullPath: root, path: root, stat: FileStat(st)))
                }
            } else if let message = walkDirectory(root, relative: key, rootKey: key.utf8.count, id: DirectoryID(st),
                                                  visited: &visited, sink: sink) {
                errors.append(RootError(root: root, message: message))
            }
        }
        sink.flush()
        return (errors, sink.skipped)
    }

    /// Collects entries and hands them on in batches.
    package final class Sink {
        let batchSize: Int
        let emit: ([WalkEntry]) -> Bool
        var pending: [WalkEntry] = []
        var skipped = 0
        /// The consumer refused a batch: the walk ends.
        var stopped = false

        init(batchSize: Int, emit: @escaping ([WalkEntry]) -> Bool) {
            self.batchSize = max(1, batchSize)
            self.emit = emit
            pending.reserveCapacity(self.batchSize)
        }

        func add(_ entry: WalkEntry) {
            if stopped { return }
            pending.append(entry)
            if pending.count >= batchSize { flush() }
        }

        func flush() {
            guard !pending.isEmpty, !stopped else { return }
            if !emit(pending) { stopped = true }
            pending.removeAll(keepingCapacity: true)
        }
    }

    /// Byte order of UTF-8 paths (what `sort` and `LC_ALL=C ls` give), by memcmp on the
    /// strings' contiguous storage.
    package static func bytewiseLess(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
    }

    package struct DirectoryID: Hashable {
        var device: UInt64
        var inode: UInt64
        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }
    }

    /// Walks one directory depth-first, children in byte order, so a single root's entries
    /// come out already sorted without a global sort (a directory name sorts as "name/", which
    /// is where its files' paths sort). Returns an error message when it cannot be opened.
    private func walkDirectory(_ dir: String, relative: String, rootKey: Int, id: DirectoryID, visited: inout Set<DirectoryID>,
                               sink: Sink) -> String? {
        guard visited.insert(id).inserted else { return nil }
        // `relative` is the root's key (empty for a single root), then the directory's path
        // under the root with a trailing "/".
        func owned(_ relative: String) -> Bool {
            guard let shard else { return true }
            let under = relative.utf8.dropFirst(rootKey)
            return shard.owns(directory: under.last == 0x2F ? under.dropLast() : under)
        }
        let mine = owned(relative)
        guard let handle = opendir(dir) else { return String(cString: strerror(errno)) }
        // Names go into one flat byte buffer (directories with a trailing "/"); an index array
        // is sorted by memcmp over it, so sorting moves integers, not strings.
        var keys: [UInt8] = []
        var spans: [(start: Int32, length: Int32, directory: DirectoryID?, stat: FileStat?)] = []
        var pendingStat: [Int] = []
        let base = dir.hasSuffix("/") ? dir : dir + "/"
        while let entry = readdir(handle) {
            let start = keys.count
            let raw = Self.entryName(entry)
            keys.append(contentsOf: UnsafeRawBufferPointer(start: raw, count: strlen(raw)))
            let length = keys.count - start
            let first = length > 0 ? keys[start] : 0
            if first == 0x2E, length == 1 || (length == 2 && keys[start + 1] == 0x2E) || !includeHidden {
                keys.removeLast(length)  // ".", "..", hidden
                continue
            }
            var type = Int32(entry.pointee.d_type)
            var st = stat()
            var statted = false
            if type == Int32(DT_DIR) || type == Int32(DT_LNK) || type == Int32(DT_UNKNOWN) {
                statted = true
                // Follow links; directories need their identity for loop detection. `fstatat`
                // on the open directory skips the path lookup a full path would cost.
                guard Self.statEntry(handle, entry, &st) else { if mine { sink.skipped += 1 }; keys.removeLast(length); continue }
                let mode = st.st_mode & S_IFMT
                type = mode == S_IFDIR ? Int32(DT_DIR) : mode == S_IFREG ? Int32(DT_REG) : Int32(DT_FIFO)
            }
            if type == Int32(DT_REG), !excluded.isEmpty,
               excluded.contains(where: { $0.inode == UInt64(entry.pointee.d_ino) && $0.device == id.device }) {
                keys.removeLast(length)
                continue
            }
            if type == Int32(DT_REG), !mine {
                keys.removeLast(length)  // another shard's
                continue
            }
            if type == Int32(DT_REG) {
                // Files are `stat`ed after the listing, several at a time (`statPending`).
                if !statted, statFiles { pendingStat.append(spans.count) }
                spans.append((Int32(start), Int32(length), nil, statted ? FileStat(st) : nil))
            } else if type == Int32(DT_DIR) {
                keys.append(0x2F)
                spans.append((Int32(start), Int32(length + 1), DirectoryID(st), nil))
            } else {
                if mine { sink.skipped += 1 }  // fifo, socket, device, dangling link: never opened
                keys.removeLast(length)
            }
        }
        if !pendingStat.isEmpty {
            let stats = Self.statPending(dirfd(handle), names: keys, spans: pendingStat.map { (spans[$0].start, spans[$0].length) })
            for (k, i) in pendingStat.enumerated() { spans[i].stat = stats[k] }
        }
        closedir(handle)
        var order = Array(0..<spans.count)
        keys.withUnsafeBufferPointer { k in
            spans.withUnsafeBufferPointer { sp in
                order.sort { i, j in
                    let a = sp[i], b = sp[j]
                    let n = Int(min(a.length, b.length))
                    let c = n == 0 ? 0 : memcmp(k.baseAddress! + Int(a.start), k.baseAddress! + Int(b.start), n)
                    return c != 0 ? c < 0 : a.length < b.length
                }
            }
        }
        for i in order where !sink.stopped {
            let span = spans[i]
            if let childID = span.directory {
                let name = String(decoding: keys[Int(span.start)..<Int(span.start + span.length - 1)], as: UTF8.self)
                if let message = walkDirectory(base + name, relative: relative + name + "/", rootKey: rootKey, id: childID,
                                               visited: &visited, sink: sink), owned(relative + name + "/") {
                    sink.add(WalkEntry(fullPath: base + name, path: relative + name + "/",
                                       walkError: "cannot read directory: \(message)"))
                }
            } else {
                let name = String(decoding: keys[Int(span.start)..<Int(span.start + span.length)], as: UTF8.self)
                sink.add(WalkEntry(fullPath: base + name, path: relative + name, stat: span.stat))
            }
        }
        return nil
    }
}

extension Walker {
    /// `stat` (links followed) of the names at `spans` in `names`, relative to the directory
    /// `fd`; nil where it fails. A large directory is split among the machine's cores: the
    /// system calls are what an incremental pass over an unchanged tree costs, and they are
    /// independent of each other.
    static func statPending(_ fd: Int32, names: [UInt8], spans: [(start: Int32, length: Int32)]) -> [FileStat?] {
        let chunk = 64
        let count = spans.count
        let out = UnsafeMutableBufferPointer<FileStat?>.allocate(capacity: count)
        defer { out.deallocate() }
        names.withUnsafeBufferPointer { k in
            // Each chunk writes its own slots of `out`, reading the names and spans only.
            struct Shared: @unchecked Sendable {
                let names: UnsafeBufferPointer<UInt8>
                let out: UnsafeMutableBufferPointer<FileStat?>
                let spans: [(start: Int32, length: Int32)]
            }
            let shared = Shared(names: k, out: out, spans: spans)
            let run: @Sendable (Int) -> Void = { c in
                var name = [CChar](repeating: 0, count: 4097)
                var st = stat()
                for j in c * chunk..<min(count, (c + 1) * chunk) {
                    let (start, length) = (Int(shared.spans[j].start), Int(shared.spans[j].length))
                    guard length < name.count else { (shared.out.baseAddress! + j).initialize(to: nil); continue }
                    name.withUnsafeMutableBufferPointer { n in
                        for b in 0..<length { n[b] = CChar(bitPattern: shared.names[start + b]) }
                        n[length] = 0
                    }
                    (shared.out.baseAddress! + j).initialize(to: fstatat(fd, name, &st, 0) == 0 ? FileStat(st) : nil)
                }
            }
            let chunks = (count + chunk - 1) / chunk
            if chunks == 1 { run(0) } else { parallelPerform(chunks, run) }
        }
        return Array(out)
    }

    /// A directory entry's NUL-terminated name, read in place. (Copying `d_name` out of the
    /// record, as `entry.pointee.d_name` does, reads all 256 bytes of the field even when the
    /// kernel's record is shorter: past the end of readdir's buffer that is an unmapped page.)
    static func entryName(_ entry: UnsafeMutablePointer<dirent>) -> UnsafePointer<CChar> {
        (UnsafeRawPointer(entry) + MemoryLayout<dirent>.offset(of: \.d_name)!).assumingMemoryBound(to: CChar.self)
    }

    /// `stat` of a directory entry (links followed), relative to its open directory.
    static func statEntry(_ dir: OpaquePointer, _ entry: UnsafeMutablePointer<dirent>, _ st: inout stat) -> Bool {
        let fd = dirfd(dir)
        return withUnsafePointer(to: &entry.pointee.d_name) { name in
            name.withMemoryRebound(to: CChar.self, capacity: 256) { fstatat(fd, $0, &st, 0) == 0 }
        }
    }

    /// The entry names of one directory (no "." or ".."), unsorted; empty if it cannot be read.
    package static func listNames(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = String(cString: Self.entryName(entry))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    package static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
