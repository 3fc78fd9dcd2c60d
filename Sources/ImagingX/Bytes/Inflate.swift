import CZlib

/// Bounded zlib inflation from a file window into a memory window.
enum Inflate {
    enum Wrapper {
        /// gzip member (RFC 1952), as `.nii.gz`.
        case gzip
        /// raw deflate (RFC 1951), as DICOM Deflated Explicit VR Little Endian (PS3.5 §A.5).
        case raw

        var windowBits: Int32 { self == .gzip ? 15 + 16 : -15 }
    }

    /// Inflates the stream that starts at `offset` of `input` into `output` (reset first) until
    /// `want` bytes are out or the stream ends. Never produces more than `want` bytes, so the
    /// memory used is bounded whatever the compressed data claims.
    /// Returns whether the stream ended (false: stopped at `want`).
    @discardableResult
    static func inflate(_ input: ByteSource, from offset: Int, wrapper: Wrapper, want: Int,
                        into output: ByteSource, what: String) throws(ParseError) -> Bool {
        output.resetMemory()
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, wrapper.windowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw ParseError(.io, at: offset, "zlib inflateInit failed (\(initStatus))")
        }
        defer { inflateEnd(&stream) }

        var inputOffset = offset
        var produced = 0
        var ended = false
        let inChunk = 16 << 10
        while produced < want {
            if stream.avail_in == 0 {
                let n = min(inChunk, input.size - inputOffset)
                if n <= 0 {
                    throw ParseError(.truncated, at: inputOffset,
                                     "\(what): compressed stream ends after \(produced) bytes, before its end marker")
                }
                let chunk = try input.bytes(at: inputOffset, count: n, what)
                stream.next_in = UnsafeMutablePointer(mutating: chunk.baseAddress!.assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(n)
                inputOffset += n
            }
            var status: Int32 = Z_OK
            let outWant = min(want - produced, 64 << 10)
            output.withAppendBuffer(minimum: outWant) { buffer in
                stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(outWant)
                status = CZlib.inflate(&stream, Z_NO_FLUSH)
                return outWant - Int(stream.avail_out)
            }
            produced = output.size
            if status == Z_STREAM_END { ended = true; break }
            if status == Z_BUF_ERROR && stream.avail_in == 0 { continue }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                let consumed = inputOffset - Int(stream.avail_in)
                let message = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw ParseError(.malformed, at: consumed, "\(what): \(message)")
            }
        }
        return ended
    }
}
