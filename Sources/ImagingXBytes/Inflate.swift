import CZlib

/// Bounded zlib inflation from a file window into a memory window.
///
/// One `Inflater` per worker keeps its z_stream (state and 32 KiB window) across files and
/// resets it per stream: allocating and freeing them per file cost more than inflating a
/// NIfTI header.
package final class Inflater {
    package enum Wrapper {
        /// gzip member (RFC 1952), as `.nii.gz`.
        case gzip
        /// raw deflate (RFC 1951), as DICOM Deflated Explicit VR Little Endian (PS3.5 §A.5).
        case raw
        /// zlib stream (RFC 1950), as MetaImage `CompressedData = True` (MetaIO writes it with compress2).
        case zlib

        var windowBits: Int32 {
            switch self {
            case .gzip: 15 + 16
            case .raw: -15
            case .zlib: 15
            }
        }
    }

    /// The stream lives behind a pointer: zlib keeps a pointer back to it in its state, so it
    /// must not move.
    let stream: UnsafeMutablePointer<z_stream>
    private var initialized: Wrapper?

    package init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
    }

    deinit {
        if initialized != nil { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func reset(_ wrapper: Wrapper, at offset: Int) throws(ParseError) {
        let status: Int32
        if initialized == nil {
            status = inflateInit2_(stream, wrapper.windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        } else {
            status = inflateReset2(stream, wrapper.windowBits)
        }
        guard status == Z_OK else {
            throw ParseError(.io, at: offset, "zlib could not start a stream (\(status))")
        }
        initialized = wrapper
    }

    /// Inflates the stream that starts at `offset` of `input` into `output` (reset first) until
    /// `want` bytes are out or the stream ends. Never produces more than `want` bytes, so the
    /// memory used is bounded whatever the compressed data claims.
    /// Returns whether the stream ended (false: stopped at `want`).
    @discardableResult
    package func inflate(_ input: ByteSource, from offset: Int, wrapper: Wrapper, want: Int,
                 into output: ByteSource, what: String) throws(ParseError) -> Bool {
        output.resetMemory()
        try reset(wrapper, at: offset)
        stream.pointee.avail_in = 0
        var inputOffset = offset
        var produced = 0
        // Feed small pieces first: a NIfTI header needs a few hundred compressed bytes, and
        // reading a whole .nii.gz to get them would cost more than the inflate. Pieces double
        // up to 64 KiB for long streams (deflated DICOM).
        var inChunk = 2048
        while produced < want {
            if stream.pointee.avail_in == 0 {
                let n = min(inChunk, input.size - inputOffset)
                if n <= 0 {
                    throw ParseError(.truncated, at: inputOffset,
                                     "\(what): compressed stream ends after \(produced) bytes, before its end marker")
                }
                let chunk = try input.bytes(at: inputOffset, count: n, what)
                inChunk = min(inChunk * 2, 64 << 10)
                stream.pointee.next_in = UnsafeMutablePointer(mutating: chunk.baseAddress!.assumingMemoryBound(to: Bytef.self))
                stream.pointee.avail_in = uInt(n)
                inputOffset += n
            }
            var status: Int32 = Z_OK
            let outWant = min(want - produced, 64 << 10)
            let stream = self.stream
            output.withAppendBuffer(minimum: outWant) { buffer in
                stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(outWant)
                status = CZlib.inflate(stream, Z_NO_FLUSH)
                return outWant - Int(stream.pointee.avail_out)
            }
            produced = output.size
            if status == Z_STREAM_END { return true }
            if status == Z_BUF_ERROR && stream.pointee.avail_in == 0 { continue }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                let consumed = inputOffset - Int(stream.pointee.avail_in)
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw ParseError(.malformed, at: consumed, "\(what): \(message)")
            }
        }
        return false
    }
}

extension Inflater {
    /// Inflates the stream at `offset` of `input` in pieces: the first `skip` inflated bytes
    /// are dropped, the next `count` are handed to `body` in pieces of at most `output.count`
    /// bytes. Neither the whole compressed nor the whole inflated stream is ever held.
    /// Throws `.truncated` (with the compressed offset) if the stream ends early.
    package func stream(_ input: ByteSource, from offset: Int, wrapper: Wrapper, skip: Int, count: Int,
                output: UnsafeMutableRawBufferPointer, inputChunk: Int = 256 << 10,
                _ body: (UnsafeRawBufferPointer) throws(ParseError) -> Void) throws(ParseError) {
        try reset(wrapper, at: offset)
        let stream = self.stream
        stream.pointee.avail_in = 0
        var inputOffset = offset
        var skipped = 0
        var delivered = 0
        while delivered < count {
            if stream.pointee.avail_in == 0 {
                let n = min(inputChunk, input.size - inputOffset)
                if n <= 0 {
                    throw ParseError(.truncated, at: inputOffset,
                                     "compressed stream ends after \(skipped + delivered) inflated bytes; the header needs \(skip + count)")
                }
                let chunk = try input.bytes(at: inputOffset, count: n, "compressed voxel data")
                stream.pointee.next_in = UnsafeMutablePointer(mutating: chunk.baseAddress!.assumingMemoryBound(to: Bytef.self))
                stream.pointee.avail_in = uInt(n)
                inputOffset += n
            }
            let want = skipped < skip ? min(skip - skipped, output.count) : min(count - delivered, output.count)
            stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(want)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            let produced = want - Int(stream.pointee.avail_out)
            if skipped < skip {
                skipped += produced
            } else if produced > 0 {
                try body(UnsafeRawBufferPointer(start: output.baseAddress, count: produced))
                delivered += produced
            }
            if status == Z_STREAM_END {
                if delivered < count {
                    throw ParseError(.truncated, at: inputOffset - Int(stream.pointee.avail_in),
                                     "compressed stream ends after \(skipped + delivered) inflated bytes; the header needs \(skip + count)")
                }
                return
            }
            if status == Z_BUF_ERROR && stream.pointee.avail_in == 0 { continue }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                let consumed = inputOffset - Int(stream.pointee.avail_in)
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw ParseError(.malformed, at: consumed, "compressed voxel data: \(message)")
            }
        }
    }
}
