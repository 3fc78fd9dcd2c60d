#if canImport(Glibc)
import Glibc
#endif

/// A growable byte buffer that a worker reuses for every record it serialises: appends are a
/// bounds check and a memcpy, with no per-record allocation.
///
/// The mutable state sits behind a pointer rather than in stored `var`s: a class's stored
/// properties get dynamic exclusivity checks on every access (swift_beginAccess), which cost
/// more than the appends themselves on this hot path. One owner at a time, by construction.
public final class ByteBuffer {
    @usableFromInline package struct State {
        @usableFromInline var base: UnsafeMutablePointer<UInt8>
        @usableFromInline var count: Int
        @usableFromInline var capacity: Int
        @usableFromInline init(base: UnsafeMutablePointer<UInt8>, count: Int, capacity: Int) {
            self.base = base
            self.count = count
            self.capacity = capacity
        }
    }

    @usableFromInline let state: UnsafeMutablePointer<State>

    public init(capacity: Int = 64 << 10) {
        let capacity = max(capacity, 256)
        state = .allocate(capacity: 1)
        state.initialize(to: State(base: .allocate(capacity: capacity), count: 0, capacity: capacity))
    }

    deinit {
        state.pointee.base.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    @inlinable public var base: UnsafeMutablePointer<UInt8> { state.pointee.base }
    @inlinable public var count: Int { state.pointee.count }

    public func removeAll() { state.pointee.count = 0 }

    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: state.pointee.base, count: state.pointee.count)) }

    /// Room for `extra` more bytes; returns where they go.
    // The appends are @inlinable: the JSON writer (ImagingXModel) calls them per key and per
    // digit, and a call across the target boundary cost 5–10 % of a header scan.
    @inlinable @inline(__always)
    package func reserve(_ extra: Int) -> UnsafeMutablePointer<UInt8> {
        if state.pointee.count + extra > state.pointee.capacity { grow(state.pointee.count + extra) }
        return state.pointee.base + state.pointee.count
    }

    @inlinable @inline(__always)
    package func advance(_ n: Int) { state.pointee.count += n }

    @usableFromInline func grow(_ needed: Int) {
        var newCapacity = state.pointee.capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.update(from: state.pointee.base, count: state.pointee.count)
        state.pointee.base.deallocate()
        state.pointee.base = grown
        state.pointee.capacity = newCapacity
    }

    @inlinable @inline(__always)
    public func append(_ byte: UInt8) {
        reserve(1).pointee = byte
        state.pointee.count += 1
    }

    @inlinable @inline(__always)
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        memcpy(reserve(bytes.count), bytes.baseAddress!, bytes.count)
        state.pointee.count += bytes.count
    }

    @inlinable @inline(__always)
    public func append(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        memcpy(reserve(n), s.utf8Start, n)
        state.pointee.count += n
    }

    public func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Appends the range `[start, end)` of another buffer.
    public func append(from other: ByteBuffer, start: Int, end: Int) {
        append(UnsafeRawBufferPointer(start: other.base + start, count: end - start))
    }
}
