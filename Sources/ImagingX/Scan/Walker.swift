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
}

/// Lists regular files under roots with readdir, never opening fifos, sockets or devices.
/// Symbolic links are followed; a directory reached twice (a link loop, or two links to one
/// place) is walked once, keyed by (device, inode).
public struct Walker {
    public var includeHidden = false

    public struct RootError: Error, Sendable {
        public var root: String
        public var message: String
    }

    public init(includeHidden: Bool = false) { self.includeHidden = includeHidden }

    /// Walks every root. Paths in the result are sorted bytewise by `path`.
    /// A root that cannot be read is reported in `errors`; the others are still walked.
    public func walk(_ roots: [String]) -> (entries: [WalkEntry], errors: [RootError], skipped: Int) {
        var entries: [WalkEntry] = []
        var errors: [RootError] = []
        var skipped = 0
        var visited = Set<DirectoryID>()
        for root in roots {
            var st = stat()
            guard stat(root, &st) == 0 else {
                errors.append(RootError(root: root, message: String(cString: strerror(errno))))
                continue
            }
            let type = st.st_mode & S_IFMT
            if type == S_IFREG {
                entries.append(WalkEntry(fullPath: root, path: root))
            } else if type == S_IFDIR {
                let prefix = roots.count == 1 ? "" : (root.hasSuffix("/") ? root : root + "/")
                if let message = walkDirectory(root, relative: prefix, id: DirectoryID(st), visited: &visited,
                                               entries: &entries, skipped: &skipped) {
                    errors.append(RootError(root: root, message: message))
                }
            } else {
                errors.append(RootError(root: root, message: "not a regular file or directory"))
            }
        }
        entries.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        return (entries, errors, skipped)
    }

    struct DirectoryID: Hashable {
        var device: UInt64
        var inode: UInt64
        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }
    }

    /// Returns an error message when the directory itself cannot be opened.
    private func walkDirectory(_ dir: String, relative: String, id: DirectoryID, visited: inout Set<DirectoryID>,
                               entries: inout [WalkEntry], skipped: inout Int) -> String? {
        guard visited.insert(id).inserted else { return nil }
        guard let handle = opendir(dir) else { return String(cString: strerror(errno)) }
        var subdirectories: [(String, String, DirectoryID)] = []
        let base = dir.hasSuffix("/") ? dir : dir + "/"
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> String in
                let bytes = raw.bindMemory(to: UInt8.self)
                let length = bytes.firstIndex(of: 0) ?? bytes.count
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<length]), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            if !includeHidden, name.hasPrefix(".") { continue }
            let full = base + name
            var type = Int32(entry.pointee.d_type)
            var st = stat()
            if type == Int32(DT_DIR) || type == Int32(DT_LNK) || type == Int32(DT_UNKNOWN) {
                // Follow links; directories need their identity for loop detection.
                guard stat(full, &st) == 0 else { skipped += 1; continue }
                let mode = st.st_mode & S_IFMT
                type = mode == S_IFDIR ? Int32(DT_DIR) : mode == S_IFREG ? Int32(DT_REG) : Int32(DT_FIFO)
            }
            if type == Int32(DT_REG) {
                entries.append(WalkEntry(fullPath: full, path: relative + name))
            } else if type == Int32(DT_DIR) {
                subdirectories.append((full, relative + name + "/", DirectoryID(st)))
            } else {
                skipped += 1  // fifo, socket, device, dangling link: never opened
            }
        }
        closedir(handle)
        for (full, rel, id) in subdirectories {
            if walkDirectory(full, relative: rel, id: id, visited: &visited, entries: &entries, skipped: &skipped) != nil {
                skipped += 1
            }
        }
        return nil
    }
}
