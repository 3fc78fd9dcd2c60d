import Dispatch
import Foundation
import ImagingX
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Keeps the index fresh by itself: with inotify, a change under a root starts an index job on
/// that root once the root has been quiet for `debounce` seconds; with `every`, each root is
/// re-indexed periodically (where inotify is not available, e.g. network file systems).
final class Watcher: Sendable {
    let jobs: IndexJobs
    let roots: [String]
    let inotify: Bool
    let every: Double?
    let debounce = 2.0
    private let stopped = Atomic<Bool>(false)
    private let fd = Atomic<Int32>(-1)

    init(jobs: IndexJobs, roots: [String], inotify: Bool, every: Double?) {
        self.jobs = jobs
        self.roots = roots
        self.inotify = inotify
        self.every = every
    }

    func start() {
        if inotify {
            Thread.detach { [self] in watchLoop() }
        }
        if let every {
            Thread.detach { [self] in
                while !stopped.load(ordering: .relaxed) {
                    var slept = 0.0
                    while slept < every, !stopped.load(ordering: .relaxed) { usleep(100_000); slept += 0.1 }
                    if stopped.load(ordering: .relaxed) { break }
                    for root in roots { _ = try? jobs.start(root) }
                }
            }
        }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        let f = fd.exchange(-1, ordering: .relaxed)
        if f >= 0 { close(f) }
    }

    /// Watches every folder under the roots (inotify is not recursive: new folders are added as
    /// they appear) and starts a job per root after a quiet period.
    private func watchLoop() {
        let f = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard f >= 0 else { return }
        fd.store(f, ordering: .relaxed)
        var folders: [Int32: (root: String, path: String)] = [:]
        let mask = UInt32(IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_ATTRIB)
        func add(_ path: String, root: String, depth: Int = 0) {
            guard depth < 64 else { return }
            let wd = inotify_add_watch(f, path, mask)
            if wd >= 0 { folders[wd] = (root, path) }
            for name in Walker.listNames(path) where !name.hasPrefix(".") {
                let child = path + "/" + name
                if Walker.isDirectory(child) { add(child, root: root, depth: depth + 1) }
            }
        }
        for root in roots { add(root, root: root) }
        var pending: [String: Double] = [:]
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !stopped.load(ordering: .relaxed) {
            var poll = pollfd(fd: f, events: Int16(POLLIN), revents: 0)
            _ = Glibc.poll(&poll, 1, 200)
            let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
            while true {
                let n = buffer.withUnsafeMutableBytes { read(f, $0.baseAddress, $0.count) }
                guard n > 0 else { break }
                var offset = 0
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let (wd, eventMask, length) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, Int) in
                        let e = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                        return (e.wd, e.mask, Int(e.len))
                    }
                    let nameStart = offset + MemoryLayout<inotify_event>.size
                    let name = String(decoding: buffer[nameStart..<min(nameStart + length, n)].prefix { $0 != 0 }, as: UTF8.self)
                    if let folder = folders[wd] {
                        pending[folder.root] = now
                        if eventMask & UInt32(IN_ISDIR) != 0, eventMask & UInt32(IN_CREATE | IN_MOVED_TO) != 0, !name.hasPrefix(".") {
                            add(folder.path + "/" + name, root: folder.root)
                        }
                    }
                    offset = nameStart + length
                }
            }
            for (root, last) in pending where now - last >= debounce {
                do {
                    try jobs.start(root)
                    pending[root] = nil
                } catch {
                    // A job on this root is running: try again after the next quiet period.
                    pending[root] = now
                }
            }
        }
    }
}

extension Thread {
    /// Runs `body` on a new thread of its own.
    static func detach(_ body: @escaping @Sendable () -> Void) {
        let t = Thread { body() }
        t.start()
    }
}
