import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A reusable window of bytes over one file or one in-memory buffer.
///
/// Parsers ask for `bytes(at:count:)`: the one bounds check. A request past the end of the
/// source throws `.truncated` with the offset; a request outside the window refills it with one
/// `pread`. Nothing is allocated from a length read in a file: the window grows only to hold a
/// value a parser has decided it needs, capped by `maxWindow`.
///
/// Not thread-safe: each worker owns one and reuses its buffer for every file it reads.
public final class ByteSource {
    /// The window is never grown past this (a single needed value larger than it is refused).
    public static let maxWindow = 64 << 20

    /// Mutable state behind a pointer: stored `var`s of a class pay a dynamic exclusivity
    /// check (swift_beginAccess) on every access, which would dominate the per-element reads.
    @usableFromInline package struct State {
        @usableFromInline var storage: UnsafeMutableRawPointer
        @usableFromInline var capacity: Int
        @usableFromInline var windowStart = 0
        @usableFromInline var windowCount = 0
        @usableFromInline var fd: Int32 = -1
        @usableFromInline var size = 0
        @usableFromInline var bytesRead = 0
        @usableFromInline var chunk = 16 << 10
        @usableFromInline init(storage: UnsafeMutableRawPointer, capacity: Int) {
            self.storage = storage
            self.capacity = capacity
        }
    }

    @usableFromInline let s: UnsafeMutablePointer<State>
    /// Ranges source (`attach(ranges:totalSize:)`): the parts of a file that are held, and the
    /// first read that fell outside them (`missing`), nil otherwise.
    private var ranges: [(offset: Int, bytes: [UInt8])]?
    /// The first read of a ranges source that fell outside the ranges held: `offset..<end`.
    public private(set) var missing: Range<Int>?

    public init(capacity: Int = 128 << 10) {
        let capacity = max(capacity, 4096)
        s = .allocate(capacity: 1)
        s.initialize(to: State(storage: UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16), capacity: capacity))
    }

    deinit {
        s.pointee.storage.deallocate()
        s.deinitialize(count: 1)
        s.deallocate()
    }

    /// Total size of the current source (file size, or length of the memory buffer).
    @inlinable public var size: Int { s.pointee.size }
    /// Bytes read from the file descriptor since `attach`, for the scan summary.
    public var bytesRead: Int { s.pointee.bytesRead }

    /// Points the window at an open descriptor (not owned) of `size` bytes and reads its first
    /// `initialRead` bytes.
    public func attach(fd: Int32, size: Int, initialRead: Int = 4096) throws(ParseError) {
        ranges = nil
        missing = nil
        s.pointee.fd = fd
        s.pointee.size = size
        s.pointee.windowStart = 0
        s.pointee.windowCount = 0
        s.pointee.bytesRead = 0
        if size > 0 { try fill(from: 0, atLeast: min(size, initialRead), readSize: min(size, initialRead)) }
    }

    /// Makes the window an in-memory copy of `bytes` (inflated data, tests).
    public func attach<C: Collection<UInt8>>(memory bytes: C) {
        ranges = nil
        missing = nil
        s.pointee.fd = -1
        s.pointee.size = bytes.count
        ensureCapacity(bytes.count)
        let buffer = UnsafeMutableRawBufferPointer(start: s.pointee.storage, count: s.pointee.capacity)
        _ = buffer.initializeMemory(as: UInt8.self, from: bytes)
        s.pointee.windowStart = 0
        s.pointee.windowCount = bytes.count
        s.pointee.bytesRead = 0
    }

    /// Appends inflated bytes directly into the window (memory sources only).
    func withAppendBuffer(minimum: Int, _ body: (UnsafeMutableRawBufferPointer) -> Int) {
        ensureCapacity(s.pointee.windowCount + minimum)
        let free = UnsafeMutableRawBufferPointer(start: s.pointee.storage + s.pointee.windowCount,
                                                 count: s.pointee.capacity - s.pointee.windowCount)
        let written = body(free)
        s.pointee.windowCount += written
        s.pointee.size = s.pointee.windowCount
    }

    /// Makes the source some byte ranges of a file whose total size is `totalSize` (an object
    /// read by HTTP Range). Readers see the whole file's size; a read inside a range is served
    /// from it, a read outside every range throws `.truncated` and is noted in `missing` (the
    /// first such read), so a caller can fetch those bytes and parse again. A parse that
    /// noted a `missing` read is incomplete whatever it returned.
    public func attach(ranges: [(offset: Int, bytes: [UInt8])], totalSize: Int) {
        s.pointee.fd = -1
        s.pointee.size = totalSize
        s.pointee.windowStart = 0
        s.pointee.windowCount = 0
        s.pointee.bytesRead = 0
        self.ranges = ranges.filter { !$0.bytes.isEmpty && $0.offset >= 0 && $0.offset + $0.bytes.count <= totalSize }
        missing = nil
        if let first = self.ranges?.first(where: { $0.offset == 0 }) { load(first, at: 0) }
    }

    private func load(_ range: (offset: Int, bytes: [UInt8]), at offset: Int) {
        let count = range.offset + range.bytes.count - offset
        ensureCapacity(count)
        range.bytes.withUnsafeBytes { b in
            s.pointee.storage.copyMemory(from: b.baseAddress! + (offset - range.offset), byteCount: count)
        }
        s.pointee.windowStart = offset
        s.pointee.windowCount = count
    }

    /// Serves `offset..<offset+needed` from the held ranges, or notes it as missing.
    private func fillFromRanges(_ ranges: [(offset: Int, bytes: [UInt8])], offset: Int, needed: Int) throws(ParseError) {
        if let r = ranges.first(where: { $0.offset <= offset && offset + needed <= $0.offset + $0.bytes.count }) {
            s.pointee.windowCount = 0
            load(r, at: offset)
            return
        }
        if missing == nil { missing = offset..<(offset + max(needed, 1)) }
        throw .truncated(at: offset, need: needed, have: 0, "bytes not fetched yet (\(offset)..<\(offset + needed))")
    }

    func resetMemory() {
        ranges = nil
        missing = nil
        s.pointee.fd = -1
        s.pointee.size = 0
        s.pointee.windowStart = 0
        s.pointee.windowCount = 0
        s.pointee.bytesRead = 0
    }

    /// `count` bytes starting at `offset`, valid until the next call on this source.
    /// @inlinable with the small readers below: the parsers (ImagingXFormats) read every element
    /// through them, and a call across the target boundary per element costs.
    @inlinable @inline(__always)
    public func bytes(at offset: Int, count: Int, _ what: @autoclosure () -> String) throws(ParseError) -> UnsafeRawBufferPointer {
        let size = s.pointee.size
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw .truncated(at: offset, need: count, have: size - offset, what())
        }
        let start = s.pointee.windowStart
        if offset < start || offset + count > start + s.pointee.windowCount {
            guard count <= ByteSource.maxWindow else {
                throw ParseError(.limitExceeded, at: offset, "\(what()) needs \(count) bytes in memory, over the \(ByteSource.maxWindow >> 20) MiB limit")
            }
            try fill(from: offset, atLeast: count, readSize: min(max(count, s.pointee.chunk), size - offset))
        }
        return UnsafeRawBufferPointer(start: s.pointee.storage + (offset - s.pointee.windowStart), count: count)
    }

    /// Whether `count` bytes exist at `offset` (no read).
    @inlinable @inline(__always)
    public func has(_ count: Int, at offset: Int) -> Bool {
        let size = s.pointee.size
        return offset >= 0 && count >= 0 && offset <= size && count <= size - offset
    }

    @inlinable @inline(__always)
    public func u8(_ offset: Int, _ what: @autoclosure () -> String) throws(ParseError) -> UInt8 {
        try bytes(at: offset, count: 1, what())[0]
    }

    @inlinable @inline(__always)
    public func u16(_ offset: Int, bigEndian: Bool, _ what: @autoclosure () -> String) throws(ParseError) -> UInt16 {
        let raw = try bytes(at: offset, count: 2, what()).loadUnaligned(as: UInt16.self)
        return bigEndian ? UInt16(bigEndian: raw) : UInt16(littleEndian: raw)
    }

    @inlinable @inline(__always)
    public func u32(_ offset: Int, bigEndian: Bool, _ what: @autoclosure () -> String) throws(ParseError) -> UInt32 {
        let raw = try bytes(at: offset, count: 4, what()).loadUnaligned(as: UInt32.self)
        return bigEndian ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)
    }

    private func ensureCapacity(_ needed: Int) {
        guard needed > s.pointee.capacity else { return }
        var newCapacity = s.pointee.capacity
        while newCapacity < needed { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if s.pointee.windowCount > 0 { grown.copyMemory(from: s.pointee.storage, byteCount: s.pointee.windowCount) }
        s.pointee.storage.deallocate()
        s.pointee.storage = grown
        s.pointee.capacity = newCapacity
    }

    @usableFromInline func fill(from offset: Int, atLeast needed: Int, readSize: Int) throws(ParseError) {
        let fd = s.pointee.fd
        if fd < 0, let ranges {
            try fillFromRanges(ranges, offset: offset, needed: needed)
            return
        }
        guard fd >= 0 else {
            // Memory sources hold everything; reaching here means the caller's bound check failed.
            throw .truncated(at: offset, need: needed, have: s.pointee.size - offset, "buffer")
        }
        let want = max(readSize, needed)
        if want > s.pointee.capacity {
            s.pointee.storage.deallocate()
            var newCapacity = s.pointee.capacity
            while newCapacity < want { newCapacity *= 2 }
            s.pointee.storage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            s.pointee.capacity = newCapacity
        }
        let storage = s.pointee.storage
        var done = 0
        while done < want {
            let n = pread(fd, storage + done, want - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                s.pointee.windowCount = 0
                throw ParseError(.io, at: offset + done, "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            done += n
        }
        s.pointee.bytesRead += done
        ReadCounter.add(done)
        s.pointee.windowStart = offset
        s.pointee.windowCount = done
        guard done >= needed else {
            // The file shrank between fstat and read.
            throw .truncated(at: offset, need: needed, have: done, "file (it changed while being read)")
        }
    }
}

extension ByteSource {
    /// Hands `count` bytes from `offset` to `body` in pieces of at most `buffer.count` bytes:
    /// read with `pread` into `buffer` (file sources, bypassing the header window) or sliced
    /// from memory. Bulk pixel data flows through here, never through the window.
    package func stream(from offset: Int, count: Int, buffer: UnsafeMutableRawBufferPointer,
                _ body: (UnsafeRawBufferPointer) throws(ParseError) -> Void) throws(ParseError) {
        let size = s.pointee.size
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw .truncated(at: offset, need: count, have: size - offset, "pixel data")
        }
        let fd = s.pointee.fd
        if fd < 0, ranges != nil {
            // A ranges source streams through the window, one held range at a time.
            var done = 0
            while done < count {
                let n = min(buffer.count, count - done)
                try body(try bytes(at: offset + done, count: n, "pixel data"))
                done += n
            }
            return
        }
        if fd < 0 {
            var done = 0
            while done < count {
                let n = min(buffer.count, count - done)
                try body(UnsafeRawBufferPointer(start: s.pointee.storage + offset + done, count: n))
                done += n
            }
            return
        }
        var done = 0
        while done < count {
            let want = min(buffer.count, count - done)
            var got = 0
            while got < want {
                let n = pread(fd, buffer.baseAddress! + got, want - got, off_t(offset + done + got))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ParseError(.io, at: offset + done + got, "read failed: \(String(cString: strerror(errno)))")
                }
                if n == 0 {
                    throw .truncated(at: offset + done + got, need: count - done - got, have: 0, "pixel data (the file changed while being read)")
                }
                got += n
            }
            s.pointee.bytesRead += got
            ReadCounter.add(got)
            try body(UnsafeRawBufferPointer(start: buffer.baseAddress, count: got))
            done += got
        }
    }
}

/// Bytes read from files by every `ByteSource` of the process: the MB/s of a terminal's progress
/// line for the commands whose work runs in pool passes (`fingerprint`, `series`).
public enum ReadCounter {
    private static let total = Atomic<Int>(0)
    public static var bytes: Int { total.load(ordering: .relaxed) }
    static func add(_ n: Int) { total.add(n, ordering: .relaxed) }
}
