#if canImport(Glibc)
import Glibc
#endif

/// The application layer's file writes and path helpers (the CLI keeps its own for standard output).
package enum FileIO {
    /// Creates or truncates `path` and writes `bytes`; on failure, the `errno` of `open`.
    package static func write(_ bytes: [UInt8], to path: String) -> Int32? {
        let sink: FileSink
        do { sink = try FileSink(path: path) } catch { return errno }
        sink.write(bytes)
        sink.close()
        return nil
    }

    /// `strerror` as a Swift string.
    /// Both paths name one existing file (same device and inode).
    package static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    package static func message(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// The path with trailing slashes removed ("a/b/" and "a/b" name one dataset).
    package static func trimmingSlashes(_ path: String) -> String {
        var s = path
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }

    /// An absolute path for `path` (relative to the working directory), trailing slashes removed.
    package static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return trimmingSlashes(path) }
        var buf = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buf, buf.count) != nil else { return path }
        let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return cwd + "/" + trimmingSlashes(path)
    }
}
