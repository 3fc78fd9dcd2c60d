import CZlib

/// zlib deflate for fixtures (gzip members for `.nii.gz`, raw deflate for DICOM).
public enum Compression {
    public static func gzip(_ data: [UInt8], level: Int32 = 6) -> [UInt8] { deflate(data, windowBits: 15 + 16, level: level) }
    public static func deflateRaw(_ data: [UInt8], level: Int32 = 6) -> [UInt8] { deflate(data, windowBits: -15, level: level) }

    static func deflate(_ data: [UInt8], windowBits: Int32, level: Int32) -> [UInt8] {
        var stream = z_stream()
        let status = deflateInit2_(&stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2 failed")
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))) + 64)
        var input = data
        let produced: Int = input.withUnsafeMutableBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                let r = CZlib.deflate(&stream, Z_FINISH)
                precondition(r == Z_STREAM_END, "deflate did not finish")
                return outBuf.count - Int(stream.avail_out)
            }
        }
        return Array(out[0..<produced])
    }
}
