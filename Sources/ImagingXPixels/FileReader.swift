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

/// Reads one file's header into a record. Owns the buffers one worker reuses for every file,
/// so the per-file cost is open + fstat + one pread + close + parse.
public final class FileReader {
    let source = ByteSource()
    let scratch = ByteSource(capacity: 4096)
    let inflater = Inflater()
    let seriesHasher = DICOMRecord.UIDHasher()
    /// Linux's O_NOATIME (fcntl.h, 01000000), which Glibc's Swift module does not export
    /// (it is behind _GNU_SOURCE).
    #if os(Linux)
    static let noAtimeFlag: Int32 = 0o1000000
    #else
    static let noAtimeFlag: Int32 = 0
    #endif
    /// Cleared after the first EPERM (files owned by someone else), to save a failing syscall.
    private var noAtime = true
    /// Bytes read from disk since the reader was made (summary figure).
    public private(set) var bytesRead = 0
    public var options: ReadOptions
    /// Decoding state, made on first use (1.3 MiB of counters and buffers).
    lazy var workspace = PixelWorkspace()
    /// With `options.captureVolume`: the decoded voxels of the last file read, if any.
    public internal(set) var captured: Volume?
    /// With `options.keepHistogram`: the last file's values as a mergeable accumulator, if decoded.
    public internal(set) var histogram: IntensityAccumulator?

    /// How pair and detached data files are found beside a header (`x.img` for `x.hdr`, the
    /// `.raw` a MetaImage names): by default `stat` on the file system; a remote scan answers
    /// from its object listing instead. Returns the size of a regular file at the path, or nil.
    public var siblingSize: @Sendable (String) -> Int? = FileReader.statSize

    public init(options: ReadOptions = ReadOptions()) { self.options = options }

    /// The size of the regular file at `path`, nil when there is none.
    @Sendable public static func statSize(_ path: String) -> Int? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }

    /// What a parse of some byte ranges of a file gave: a record, or the bytes it still needs.
    public enum RangesOutcome {
        /// The parse read only bytes it was given: the record is what a local read gives.
        case record(ImageRecord)
        /// The parse read outside the ranges given: fetch `missing` and parse again.
        case needBytes(Range<Int>)
    }

    /// Reads a file of `totalSize` bytes of which only `ranges` are held (an object read by HTTP
    /// Range). `fullPath` names the file for pair lookups (through `siblingSize`), `path` is what
    /// the record shows. Header reads only (`options.stats` is not applied here).
    public func read(ranges: [(offset: Int, bytes: [UInt8])], totalSize: Int, fullPath: String, path: String) -> RangesOutcome {
        var record = ImageRecord(path: path)
        captured = nil
        record.sizeBytes = totalSize
        source.attach(ranges: ranges, totalSize: totalSize)
        let stats = options.stats
        options.stats = false
        defer { options.stats = stats }
        do { try parse(&record, fullPath: fullPath) } catch { record.fail(error) }
        if let missing = source.missing { return .needBytes(missing) }
        return .record(record)
    }

    /// Reads `fullPath`; `path` is what the record shows.
    public func read(fullPath: String, path: String) -> ImageRecord {
        var record = ImageRecord(path: path)
        captured = nil
        if options.keepHistogram { histogram = nil }
        // O_NONBLOCK: a file swapped for a fifo after the walk must not block the scan.
        // O_NOATIME: reading a header leaves even the access time alone; it is refused for files
        // the user does not own, and then the plain open is used.
        var fd = noAtime ? open(fullPath, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | FileReader.noAtimeFlag) : -1
        if fd < 0 {
            if errno == EPERM { noAtime = false }
            fd = open(fullPath, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        }
        guard fd >= 0 else {
            record.fail(ParseError(.io, at: 0, "cannot open: \(String(cString: strerror(errno)))", phase: .open))
            return record
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            record.fail(ParseError(.io, at: 0, "cannot stat: \(String(cString: strerror(errno)))", phase: .open))
            return record
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            record.fail(ParseError(.unsupported, at: 0, "not a regular file", phase: .open))
            return record
        }
        record.sizeBytes = Int(st.st_size)
        if options.fileStat {
            record.fileStat = FileStat(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int(st.st_size),
                                       mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                                       ctimeNs: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
        }
        do {
            try source.attach(fd: fd, size: Int(st.st_size))
            try parse(&record, fullPath: fullPath)
        } catch {
            record.fail(error)
        }
        bytesRead += source.bytesRead
        return record
    }

    /// Reads an in-memory file (tests, fuzzing); `fullPath` is used only to find pair files.
    public func read(bytes: [UInt8], path: String) -> ImageRecord {
        var record = ImageRecord(path: path)
        record.sizeBytes = bytes.count
        source.attach(memory: bytes)
        do { try parse(&record, fullPath: nil) } catch { record.fail(error) }
        return record
    }

    private func parse(_ record: inout ImageRecord, fullPath: String?) throws(ParseError) {
        let size = source.size
        guard size > 0 else { throw ParseError(.malformed, at: 0, "empty file") }
        let head = try source.bytes(at: 0, count: min(size, 348), "header")

        if DICOMParser.sniff(try source.bytes(at: 0, count: min(size, 132), "header")) {
            record.format = .dicom
            var parser = DICOMParser(source: source, scratch: scratch, inflater: inflater)
            let header = try parser.parse()
            DICOMRecord.fill(&record, from: header, hasher: seriesHasher)
            defer {
                if options.stats, record.status == .ok, record.dims != nil, header.pixelDataTag != nil {
                    // Only a finding that makes the pixels undecodable blocks statistics; geometry
                    // never does (`FindingCode.blocksPixelStatistics` holds the rule).
                    if let bad = record.findings.first(where: { $0.level == .error && $0.code.blocksPixelStatistics }) {
                        record.statsError = "not decoded: the header has an error (\(bad.code.rawValue): \(bad.message))"
                    } else {
                        dicomStats(&record, header, parsedFrom: parser.src)
                    }
                }
            }
            if header.pixelDataTag != nil, header.pixelDataUndefinedLength, parser.src === source {
                // Encapsulated: the fragments must end in a Sequence Delimitation Item.
                try EncapsulatedPixelData.checkComplete(source, at: header.pixelDataOffset)
            }
            if let tag = header.pixelDataTag, header.pixelDataLength >= 0 {
                let left = parser.src.size - header.pixelDataOffset
                if header.pixelDataLength > left {
                    record.fail(.truncated(at: header.pixelDataOffset, need: header.pixelDataLength, have: left,
                                           "Pixel Data \(Tag.describe(tag))"))
                }
            }
            return
        }
        // Each reader: the format first (a file that fails to parse still says what it is), then
        // parse → header → fill.
        if PNGReader.sniff(head) {
            record.format = .png
            PNGRecord.fill(&record, from: try PNGReader.parse(source))
            if options.stats { rasterStats(&record, jpeg: false) }
            return
        }
        if JPEGReader.sniff(head) {
            record.format = .jpeg
            let header = try JPEGReader.parse(source)
            JPEGRecord.fill(&record, from: header)
            if options.stats {
                // Lossless Huffman JPEG (SOF3): libjpeg-turbo 2.1 has no lossless decoder, ours does.
                if header.sofMarker == 0xC3 { losslessRasterStats(&record, header) } else { rasterStats(&record, jpeg: true) }
            }
            return
        }
        // MetaImage (`ObjectType =` / `NDims =`) and NRRD (`NRRD000X`): TextHeaderImages.swift.
        if try readTextHeader(&record, head: head, fullPath: fullPath) { return }
        if let (variant, bigEndian) = NIfTIReader.sniff(head) {
            let size = variant == .nifti2 ? 540 : 348
            let bytes = try source.bytes(at: 0, count: size, "NIfTI header")
            record.format = variant.format
            let header = try NIfTIReader.parse(bytes, variant: variant, bigEndian: bigEndian)
            let voxels = header.voxels
            NIfTIRecord.fill(&record, from: header, gzip: false)
            checkData(&record, voxels, fullPath: fullPath)
            if options.stats, record.status == .ok { niftiStats(&record, voxels, fullPath: fullPath, gzip: false) }
            return
        }
        if head.count >= 4 {
            // sizeof_hdr of NIfTI-1/Analyze (348) or NIfTI-2 (540), in either byte order, in a
            // file too short to hold that header: a truncated NIfTI, not an unknown file.
            let raw = head.loadUnaligned(as: UInt32.self)
            for declared in [UInt32(348), 540] where (raw == declared.littleEndian || raw == declared.bigEndian) && size < Int(declared) {
                throw .truncated(at: size, need: Int(declared), have: size, "a \(declared)-byte NIfTI/Analyze header")
            }
        }
        if head.count >= 3, head[0] == 0x1F, head[1] == 0x8B {
            do {
                try readGzip(&record)
            } catch where error.kind == .unsupported {
                // Not a .nii.gz: the gzip data file of a MetaImage/NRRD header beside it?
                if let fullPath, let header = FileReader.textHeader(describing: fullPath, lookup: siblingSize) {
                    throw ParseError(.unsupported, at: 0, "compressed voxel data with no header of its own: described by \(header)")
                }
                throw error
            }
            return
        }
        if let fullPath, let header = FileReader.pairedHeader(for: fullPath, lookup: siblingSize)
            ?? FileReader.textHeader(describing: fullPath, lookup: siblingSize) {
            throw ParseError(.unsupported, at: 0, "raw voxel data with no header of its own: described by \(header)")
        }
        throw ParseError(.unsupported, at: 0, "not a recognised image format (first bytes \(hexPrefix(head)))")
    }

    /// `.nii.gz`: inflate only the header (540 bytes at most) and read it.
    private func readGzip(_ record: inout ImageRecord) throws(ParseError) {
        guard try source.u8(2, "gzip header") == 8 else {
            throw ParseError(.malformed, at: 2, "gzip compression method is not deflate (8)")
        }
        try inflater.inflate(source, from: 0, wrapper: .gzip, want: 540, into: scratch, what: "gzip stream")
        let inflated = try scratch.bytes(at: 0, count: scratch.size, "inflated header")
        guard let (variant, bigEndian) = NIfTIReader.sniff(inflated) else {
            throw ParseError(.unsupported, at: 0, "gzip stream that does not hold a NIfTI header")
        }
        let size = variant == .nifti2 ? 540 : 348
        guard inflated.count >= size else {
            throw .truncated(at: inflated.count, need: size, have: inflated.count, "the inflated NIfTI header")
        }
        record.format = variant.format
        let header = try NIfTIReader.parse(UnsafeRawBufferPointer(rebasing: inflated[0..<size]), variant: variant,
                                           bigEndian: bigEndian)
        let voxels = header.voxels
        NIfTIRecord.fill(&record, from: header, gzip: true)
        // The gzip trailer's ISIZE is the inflated length mod 2^32 (RFC 1952 §2.3.1).
        if record.sizeBytes >= 18, voxels.dataBytes < Int(UInt32.max) - voxels.voxOffset {
            let isize = Int(try source.u32(record.sizeBytes - 4, bigEndian: false, "gzip trailer"))
            let needed = voxels.voxOffset + voxels.dataBytes
            if !voxels.isPair, isize < needed {
                // nibabel raises on load: not loadable, so not `ok` (the header fields stay filled).
                record.fail(ParseError(.truncated, at: record.sizeBytes,
                                       "the gzip stream inflates to \(isize) bytes; header and voxel data need \(needed)",
                                       need: needed, have: isize))
            }
        }
        if options.stats, !voxels.isPair, record.status == .ok { niftiStats(&record, voxels, fullPath: nil, gzip: true) }
    }

    /// A single file must hold the voxel data the header describes; a pair's `.img` beside it.
    private func checkData(_ record: inout ImageRecord, _ voxels: NIfTIHeader.VoxelData, fullPath: String?) {
        if voxels.isPair {
            guard let fullPath else { return }
            guard let image = FileReader.pairedImage(for: fullPath, lookup: siblingSize) else {
                // nibabel raises on load (FileNotFoundError): not loadable, so not `ok`.
                record.fail(ParseError(.io, at: 0, "no .img file beside this header", phase: .open))
                return
            }
            if image.size < voxels.dataBytes {
                record.fail(.truncated(at: image.size, need: voxels.dataBytes, have: image.size, "voxel data in \(image.name)"))
            }
            return
        }
        // Compared as "bytes after vox_offset" so a huge declared size cannot overflow.
        if source.size < voxels.voxOffset || source.size - voxels.voxOffset < voxels.dataBytes {
            record.fail(.truncated(at: source.size, need: voxels.dataBytes, have: source.size - voxels.voxOffset,
                                   "voxel data (from vox_offset \(voxels.voxOffset))"))
        }
    }

    /// The `.img` beside a `.hdr` (NIfTI pair or Analyze): same stem, same case convention.
    static func pairedImage(for header: String, lookup: (String) -> Int? = FileReader.statSize) -> (name: String, size: Int)? {
        guard let dot = header.lastIndex(of: ".") else { return nil }
        let stem = header[..<dot]
        let ext = header[header.index(after: dot)...]
        let candidates = ext == "HDR" ? ["IMG", "img"] : ["img", "IMG"]
        for c in candidates {
            let path = stem + "." + c
            if let size = lookup(String(path)) {
                return (String(path.split(separator: "/").last ?? ""), size)
            }
        }
        return nil
    }

    /// For an `.img` file, the `.hdr` beside it (a NIfTI pair or Analyze image), if any.
    static func pairedHeader(for image: String, lookup: (String) -> Int? = FileReader.statSize) -> String? {
        guard let dot = image.lastIndex(of: "."), image[image.index(after: dot)...].lowercased() == "img" else { return nil }
        let stem = image[..<dot]
        for ext in ["hdr", "HDR"] {
            if lookup(stem + "." + ext) != nil {
                return String((stem + "." + ext).split(separator: "/").last ?? "")
            }
        }
        return nil
    }

    private func hexPrefix(_ b: UnsafeRawBufferPointer) -> String {
        let table = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in b.prefix(8) { out.append(table[Int(byte >> 4)]); out.append(table[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
