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

    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var windowStart = 0
    private var windowCount = 0
    private var fd: Int32 = -1
    /// Total size of the current source (file size, or length of the memory buffer).
    public private(set) var size = 0
    /// Bytes read from the file descriptor since `open`, for the scan summary.
    public private(set) var bytesRead = 0
    /// Refill granularity: a refill reads at least this many bytes.
    public var chunk = 64 << 10

    public init(capacity: Int = 128 << 10) {
        self.capacity = max(capacity, 4096)
        self.storage = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Points the window at an open descriptor (not owned) of `size` bytes and reads its first
    /// `initialRead` bytes.
    public func attach(fd: Int32, size: Int, initialRead: Int = 4096) throws(ParseError) {
        self.fd = fd
        self.size = size
        windowStart = 0
        windowCount = 0
        bytesRead = 0
        if size > 0 { try fill(from: 0, atLeast: min(size, initialRead), readSize: min(size, initialRead)) }
    }

    /// Makes the window an in-memory copy of `bytes` (inflated data, tests).
    public func attach<C: Collection<UInt8>>(memory bytes: C) {
        fd = -1
        size = bytes.count
        ensureCapacity(bytes.count)
        let buffer = UnsafeMutableRawBufferPointer(start: storage, count: capacity)
        _ = buffer.initializeMemory(as: UInt8.self, from: bytes)
        windowStart = 0
        windowCount = bytes.count
        bytesRead = 0
    }

    /// Appends inflated bytes directly into the window (memory sources only).
    func withAppendBuffer(minimum: Int, _ body: (UnsafeMutableRawBufferPointer) -> Int) {
        ensureCapacity(windowCount + minimum)
        let free = UnsafeMutableRawBufferPointer(start: storage + windowCount, count: capacity - windowCount)
        let written = body(free)
        windowCount += written
        size = windowCount
    }

    func resetMemory() {
        fd = -1
        size = 0
        windowStart = 0
        windowCount = 0
        bytesRead = 0
    }

    /// `count` bytes starting at `offset`, valid until the next call on this source.
    @inline(__always)
    public func bytes(at offset: Int, count: Int, _ what: @autoclosure () -> String) throws(ParseError) -> UnsafeRawBufferPointer {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw .truncated(at: offset, need: count, have: size - offset, what())
        }
        if offset < windowStart || offset + count > windowStart + windowCount {
            guard count <= ByteSource.maxWindow else {
                throw ParseError(.limitExceeded, at: offset, "\(what()) needs \(count) bytes in memory, over the \(ByteSource.maxWindow >> 20) MiB limit")
            }
            try fill(from: offset, atLeast: count, readSize: min(max(count, chunk), size - offset))
        }
        return UnsafeRawBufferPointer(start: storage + (offset - windowStart), count: count)
    }

    /// Whether `count` bytes exist at `offset` (no read).
    @inline(__always)
    public func has(_ count: Int, at offset: Int) -> Bool {
        offset >= 0 && count >= 0 && offset <= size && count <= size - offset
    }

    @inline(__always)
    public func u8(_ offset: Int, _ what: @autoclosure () -> String) throws(ParseError) -> UInt8 {
        try bytes(at: offset, count: 1, what())[0]
    }

    @inline(__always)
    public func u16(_ offset: Int, bigEndian: Bool, _ what: @autoclosure () -> String) throws(ParseError) -> UInt16 {
        let raw = try bytes(at: offset, count: 2, what()).loadUnaligned(as: UInt16.self)
        return bigEndian ? UInt16(bigEndian: raw) : UInt16(littleEndian: raw)
    }

    @inline(__always)
    public func u32(_ offset: Int, bigEndian: Bool, _ what: @autoclosure () -> String) throws(ParseError) -> UInt32 {
        let raw = try bytes(at: offset, count: 4, what()).loadUnaligned(as: UInt32.self)
        return bigEndian ? UInt32(bigEndian: raw) : UInt32(littleEndian: raw)
    }

    private func ensureCapacity(_ needed: Int) {
        guard needed > capacity else { return }
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        if windowCount > 0 { grown.copyMemory(from: storage, byteCount: windowCount) }
        storage.deallocate()
        storage = grown
        capacity = newCapacity
    }

    private func fill(from offset: Int, atLeast needed: Int, readSize: Int) throws(ParseError) {
        guard fd >= 0 else {
            // Memory sources hold everything; reaching here means the caller's bound check failed.
            throw .truncated(at: offset, need: needed, have: size - offset, "buffer")
        }
        let want = max(readSize, needed)
        if want > capacity {
            // Shrink-to-fit later is not needed: capacity is bounded by maxWindow.
            storage.deallocate()
            var newCapacity = capacity
            while newCapacity < want { newCapacity *= 2 }
            storage = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            capacity = newCapacity
        }
        var done = 0
        while done < want {
            let n = pread(fd, storage + done, want - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ParseError(.io, at: offset + done, "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            done += n
        }
        bytesRead += done
        windowStart = offset
        windowCount = done
        guard done >= needed else {
            // The file shrank between fstat and read.
            throw .truncated(at: offset, need: needed, have: done, "file (it changed while being read)")
        }
    }
}
