import ImagingXBytes
import ImagingXModel
import ImagingXFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// DICOM SEG frames as masks (for label volumes of DICOM series cases).
extension FileReader {
    /// Opens `fullPath` and attaches it to the reader's source; a problem names what failed.
    private func attach(_ fullPath: String) throws(SegmentationProblem) -> Int32 {
        let fd = open(fullPath, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw SegmentationProblem("cannot open: \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SegmentationProblem("not a regular file")
        }
        do { try source.attach(fd: fd, size: Int(st.st_size)) } catch {
            close(fd)
            throw SegmentationProblem("cannot read: \(error.detail)")
        }
        return fd
    }

    /// Parses the attached file's header with every nested element kept.
    private func parseNested() throws(SegmentationProblem) -> (DICOMHeader, ByteSource) {
        do throws(ParseError) {
            guard DICOMParser.sniff(try source.bytes(at: 0, count: min(source.size, 132), "header")) else {
                throw ParseError(.malformed, at: 0, "not a DICOM file")
            }
            var parser = DICOMParser(source: source, scratch: scratch, inflater: inflater)
            parser.collectNested = true
            let header = try parser.parse()
            return (header, parser.src)
        } catch {
            throw SegmentationProblem(error.description)
        }
    }

    /// The SOPInstanceUID of a DICOM file, for matching SEG frames to slices (memory only).
    package func sopInstanceUID(fullPath: String) -> String? {
        guard let fd = try? attach(fullPath) else { return nil }
        defer { close(fd) }
        guard let (header, _) = try? parseNested() else { return nil }
        return DICOMSegmentation.sopInstance(header)
    }

    /// Reads the DICOM SEG at `fullPath`: `plan` sees its frame description and may refuse it (by
    /// throwing); then `frame` gets each frame in order as a 0/1 mask of rows × columns. BINARY bits
    /// are unpacked LSB first, continuously across frames (PS3.5 8.1.1); a FRACTIONAL value counts
    /// when it is over half of MaximumFractionalValue (2·v > max). The pixel data length is checked
    /// against the frames before any frame is read.
    package func readSegmentation(fullPath: String,
                                  plan: (DICOMSegmentation) throws(SegmentationProblem) -> Void,
                                  frame: (Int, UnsafeBufferPointer<UInt8>) -> Void) throws(SegmentationProblem) {
        let fd = try attach(fullPath)
        defer { close(fd) }
        // A deflated dataset is read from the parser's inflated copy (up to its header limit).
        let (header, pixels) = try parseNested()
        let seg = try DICOMSegmentation.interpret(header)
        let need = seg.neededBytes
        let (product, overflow) = seg.frames.multipliedReportingOverflow(by: seg.rows * seg.columns)
        guard !overflow, product / seg.frames == seg.rows * seg.columns else {
            throw SegmentationProblem("NumberOfFrames × Rows × Columns overflows")
        }
        guard seg.pixelLength >= need else {
            throw SegmentationProblem("Pixel Data holds \(seg.pixelLength) bytes; \(seg.frames) frames of \(seg.rows) × \(seg.columns) need \(need)")
        }
        guard pixels.has(need, at: seg.pixelOffset) else {
            throw SegmentationProblem("Pixel Data is cut short: \(need) bytes needed at byte \(seg.pixelOffset), the file has \(pixels.size - seg.pixelOffset)")
        }
        try plan(seg)
        let n = seg.rows * seg.columns
        let mask = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: n)
        defer { mask.deallocate() }
        for f in 0..<seg.frames {
            do {
                switch seg.kind {
                case .binary:
                    let firstBit = f * n
                    let start = firstBit / 8
                    let bytes = try pixels.bytes(at: seg.pixelOffset + start, count: (firstBit + n + 7) / 8 - start, "SEG frame \(f + 1)")
                    var bit = firstBit % 8
                    var byte = 0
                    for i in 0..<n {
                        mask[i] = (bytes[byte] >> UInt8(bit)) & 1
                        bit += 1
                        if bit == 8 { bit = 0; byte += 1 }
                    }
                case .fractional(let maximum):
                    let bytes = try pixels.bytes(at: seg.pixelOffset + f * n, count: n, "SEG frame \(f + 1)")
                    for i in 0..<n { mask[i] = 2 * Int(bytes[i]) > maximum ? 1 : 0 }
                }
            } catch {
                throw SegmentationProblem("frame \(f + 1): \(error.detail) (byte \(error.offset))")
            }
            frame(f, UnsafeBufferPointer(mask))
        }
    }
}
