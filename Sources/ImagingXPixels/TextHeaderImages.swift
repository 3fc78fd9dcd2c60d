import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import CBzip2
import CDeflate
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// MetaImage and NRRD: the header, the data check ("status means loadable") and the voxel
/// statistics, streamed from the header file or the data files it names.
extension FileReader {
    /// Reads a MetaImage or NRRD header if `head` starts like one; false when it does not.
    func readTextHeader(_ record: inout ImageRecord, head: UnsafeRawBufferPointer, fullPath: String?) throws(ParseError) -> Bool {
        let nrrd = NRRDReader.sniff(head)
        guard nrrd || MetaImageReader.sniff(head) else {
            if NRRDReader.sniffShort(head) {
                record.format = .nrrd
                throw .truncated(at: source.size, need: 8, have: source.size, "the NRRD magic")
            }
            return false
        }
        record.format = nrrd ? .nrrd : .metaimage
        // Headers are a few hundred bytes: parse the first 4 KiB (already in the read window),
        // and only a header that runs past them (a long file list) from up to 64 KiB.
        let data: StoredData
        var window = min(source.size, 4096)
        while true {
            let text = try source.bytes(at: 0, count: window, "text header")
            do {
                if nrrd {
                    let h = try NRRDReader.parse(text, fileSize: source.size)
                    NRRDRecord.fill(&record, from: h)
                    data = h.data
                } else {
                    let h = try MetaImageReader.parse(text, fileSize: source.size)
                    MetaImageRecord.fill(&record, from: h)
                    data = h.data
                }
                break
            } catch where error.kind == .limitExceeded && window < min(source.size, TextHeaderLines.limit) {
                window = min(source.size, TextHeaderLines.limit)
            }
        }
        checkStoredData(&record, data, fullPath: fullPath)
        if options.stats, record.status == .ok { storedStats(&record, data, fullPath: fullPath) }
        return true
    }

    /// A data file's path: relative names are relative to the header's folder.
    static func dataPath(_ name: String, header fullPath: String) -> String {
        if name.hasPrefix("/") { return name }
        guard let slash = fullPath.lastIndex(of: "/") else { return name }
        return String(fullPath[...slash]) + name
    }

    /// The header's data must be there, and (raw data) long enough: else `status: error`
    /// (SimpleITK and pynrrd raise on load), the header fields kept.
    func checkStoredData(_ record: inout ImageRecord, _ d: StoredData, fullPath: String?) {
        let per = d.bytesPerFile
        guard let files = d.files else {
            do {
                let start = try dataStart(source, d, base: d.byteSkipFromFileStart ? 0 : d.localOffset)
                switch d.encoding {
                case .raw:
                    let need = d.byteSkip == -1 ? per : per + d.byteSkip
                    if source.size - start < need {
                        record.fail(.truncated(at: source.size, need: need, have: source.size - start, "voxel data (from byte \(start))"))
                    }
                case .gzip:
                    // ISIZE: the inflated length mod 2^32 (RFC 1952 §2.3.1).
                    let total = max(d.byteSkip, 0) + per
                    if source.size - start >= 18, total < Int(UInt32.max) {
                        let isize = Int(try source.u32(source.size - 4, bigEndian: false, "gzip trailer"))
                        if isize < total {
                            record.fail(ParseError(.truncated, at: source.size,
                                                   "the gzip stream inflates to \(isize) bytes; the header needs \(total)",
                                                   need: total, have: isize))
                        }
                    } else if source.size - start < 18 {
                        record.fail(.truncated(at: source.size, need: 18, have: source.size - start, "the gzip stream"))
                    }
                default:
                    if source.size <= start {
                        record.fail(.truncated(at: source.size, need: 1, have: 0, "\(d.encoding.rawValue) voxel data"))
                    }
                }
            } catch {
                record.fail(error)
            }
            return
        }
        guard let fullPath else { return }
        for name in files {
            let path = FileReader.dataPath(name, header: fullPath)
            guard let size = siblingSize(path) else {
                record.fail(ParseError(.io, at: 0, "data file '\(name)' named by the header is missing", phase: .open))
                return
            }
            if d.encoding == .raw {
                let need = d.byteSkip == -1 ? per : per + d.byteSkip
                if size < need {
                    record.fail(.truncated(at: 0, need: need, have: size, "voxel data in '\(name)'"))
                    return
                }
            } else if size == 0 {
                record.fail(.truncated(at: 0, need: 1, have: 0, "\(d.encoding.rawValue) voxel data in '\(name)'"))
                return
            }
        }
    }

    /// Where the data starts in `src` after `line skip` lines from `base`.
    func dataStart(_ src: ByteSource, _ d: StoredData, base: Int) throws(ParseError) -> Int {
        var at = base
        var lines = d.lineSkip
        while lines > 0 {
            guard at < src.size else { throw .truncated(at: src.size, need: lines, have: 0, "the lines to skip (line skip)") }
            let n = min(64 << 10, src.size - at)
            let chunk = try src.bytes(at: at, count: n, "data file")
            var i = 0
            while i < n, lines > 0 {
                if chunk[i] == 0x0A { lines -= 1 }
                i += 1
            }
            at += i
        }
        return at
    }

    func storedStats(_ record: inout ImageRecord, _ d: StoredData, fullPath: String?) {
        withStats(&record) { record throws -> PixelStats in
            let layout = SampleLayout(kind: d.kind, bigEndian: d.encoding == .ascii ? false : d.bigEndian)
            try guardBudget(layout, d.bytes)
            let base = workspace.accumulator
            base.begin(layout, expectedBytes: d.bytes)
            // Label-aware statistics (fingerprints) keep the decoded voxels, as for NIfTI.
            let capture = options.captureVolume
            if capture && d.bytes > options.maxDecodeBytes {
                throw StatsError("\(d.bytes) bytes of voxels exceed the \(options.maxDecodeBytes >> 20) MiB decode limit")
            }
            var kept: [UInt8] = []
            if capture { kept.reserveCapacity(d.bytes) }
            let acc = Sink { piece in
                base.consume(piece)
                if capture { kept.append(contentsOf: piece) }
            }
            let per = d.bytesPerFile
            if let files = d.files {
                guard let fullPath else { throw StatsError("detached voxel data: the header was not read from a file") }
                let dataSource = ByteSource(capacity: 64 << 10)
                for name in files {
                    let path = FileReader.dataPath(name, header: fullPath)
                    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
                    guard fd >= 0 else { throw StatsError("cannot open data file '\(name)': \(String(cString: strerror(errno)))") }
                    defer { close(fd) }
                    var st = stat()
                    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { throw StatsError("data file '\(name)' is not a regular file") }
                    try dataSource.attach(fd: fd, size: Int(st.st_size), initialRead: 0)
                    do {
                        try decodeStored(dataSource, d, base: 0, count: per) { acc.consume($0) }
                    } catch let e as ParseError {
                        throw StatsError("\(e.description) in '\(name)'")
                    }
                }
            } else {
                try decodeStored(source, d, base: d.byteSkipFromFileStart ? 0 : d.localOffset, count: per) { acc.consume($0) }
            }
            guard base.samples * d.kind.size == d.bytes else {
                throw StatsError("decoded \(base.samples) samples; the header describes \(d.bytes / d.kind.size)")
            }
            if capture { captured = Volume(layout: layout, bytes: kept) }
            return finishStats(base, &record)
        }
    }

    /// Decodes `count` bytes of samples from one data file (or the attached data from `base`).
    func decodeStored(_ src: ByteSource, _ d: StoredData, base: Int, count: Int,
                      _ body: (UnsafeRawBufferPointer) -> Void) throws {
        var start = try dataStart(src, d, base: base)
        switch d.encoding {
        case .raw:
            let from: Int
            if d.byteSkip == -1 {
                guard src.size - start >= count else { throw ParseError.truncated(at: src.size, need: count, have: src.size - start, "voxel data") }
                from = src.size - count
            } else {
                from = start + d.byteSkip
            }
            try src.stream(from: from, count: count, buffer: workspace.chunk) { body($0) }
        case .zlib:
            // MetaImage HeaderSize counts file bytes before the compressed stream.
            start += d.byteSkip
            if try inflateWhole(src, from: start, zlib: true, skip: 0, count: count, body) { return }
            try inflater.stream(src, from: start, wrapper: .zlib, skip: 0, count: count, output: workspace.inflateOut) { body($0) }
        case .gzip:
            if try inflateWhole(src, from: start, zlib: false, skip: max(d.byteSkip, 0), count: count, body) { return }
            try inflater.stream(src, from: start, wrapper: .gzip, skip: d.byteSkip, count: count, output: workspace.inflateOut) { body($0) }
        case .bzip2:
            // bzip2 expands up to ~10^6:1 (runs of one byte), so its output is not bounded by the
            // file as deflate's is: the decode limit bounds the work a small file can ask for.
            guard max(d.byteSkip, 0) + count <= options.maxDecodeBytes else {
                throw StatsError("bzip2 data of \(max(d.byteSkip, 0) + count) bytes exceeds the \(options.maxDecodeBytes >> 20) MiB decode limit")
            }
            try Bunzip2.stream(src, from: start, skip: d.byteSkip, count: count, output: workspace.inflateOut, body)
        case .hex:
            try TextSamples.hex(src, from: start + d.byteSkip, count: count, body)
        case .ascii:
            try TextSamples.ascii(src, from: start + d.byteSkip, kind: d.kind, count: count, body)
        }
    }
}

extension FileReader {
    /// As for `.nii.gz`: a zlib/gzip stream from `offset` to the end of `src` that inflates to
    /// `skip + count` bytes (at most `wholeInflateBytes`, and no more than deflate's 1032:1 bound
    /// of its compressed size) is inflated whole by libdeflate (about twice zlib's speed) and
    /// handed to `body` in 1 MiB pieces; false (nothing handed) when it does not fit or does not
    /// inflate to exactly that, and the caller streams through zlib, which reports errors with offsets.
    func inflateWhole(_ src: ByteSource, from offset: Int, zlib: Bool, skip: Int, count: Int,
                      _ body: (UnsafeRawBufferPointer) -> Void) throws -> Bool {
        let ws = workspace
        let size = src.size - offset
        let (expected, overflow) = skip.addingReportingOverflow(count)
        guard let deflater = ws.deflater, !overflow, size >= 6, expected <= options.wholeInflateBytes,
              size <= options.wholeInflateBytes, expected <= size * 1032 + 4096 else { return false }
        if !zlib {
            // The gzip trailer's ISIZE must say the same (RFC 1952 §2.3.1).
            guard Int(try src.u32(src.size - 4, bigEndian: false, "gzip trailer")) == expected & 0xFFFF_FFFF else { return false }
        }
        defer { ws.releaseLarge() }
        if ws.compressed.count < size { ws.compressed = [UInt8](repeating: 0, count: size) }
        if ws.inflated.count < expected { ws.inflated = [UInt8](repeating: 0, count: expected) }
        try ws.compressed.withUnsafeMutableBytes { buffer in
            let dst = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
            var done = 0
            try src.stream(from: offset, count: size, buffer: dst) { piece in
                let target = dst.baseAddress! + done
                if UnsafeRawPointer(target) != piece.baseAddress! { target.copyMemory(from: piece.baseAddress!, byteCount: piece.count) }
                done += piece.count
            }
        }
        var actualIn = 0, actualOut = 0
        let result = ws.compressed.withUnsafeBytes { input in
            ws.inflated.withUnsafeMutableBytes { output in
                zlib ? libdeflate_zlib_decompress_ex(deflater, input.baseAddress, size, output.baseAddress, expected, &actualIn, &actualOut)
                     : libdeflate_gzip_decompress_ex(deflater, input.baseAddress, size, output.baseAddress, expected, &actualIn, &actualOut)
            }
        }
        guard result == LIBDEFLATE_SUCCESS, actualOut == expected else { return false }
        ws.inflated.withUnsafeBytes { all in
            var at = skip
            while at < expected {
                let n = min(1 << 20, expected - at)
                body(UnsafeRawBufferPointer(rebasing: all[at..<(at + n)]))
                at += n
            }
        }
        return true
    }
}

/// bzip2 streams through libbz2 (which reports errors by return code; it never exits on bad data).
enum Bunzip2 {
    static func stream(_ input: ByteSource, from offset: Int, skip: Int, count: Int, output: UnsafeMutableRawBufferPointer,
                       _ body: (UnsafeRawBufferPointer) -> Void) throws(ParseError) {
        var strm = bz_stream()
        guard BZ2_bzDecompressInit(&strm, 0, 0) == BZ_OK else { throw ParseError(.io, at: offset, "libbz2 could not start a stream") }
        defer { BZ2_bzDecompressEnd(&strm) }
        var inputOffset = offset
        var skipped = 0, delivered = 0
        while delivered < count {
            if strm.avail_in == 0 {
                let n = min(256 << 10, input.size - inputOffset)
                if n <= 0 {
                    throw ParseError(.truncated, at: inputOffset, "bzip2 stream ends after \(skipped + delivered) bytes; the header needs \(skip + count)")
                }
                let chunk = try input.bytes(at: inputOffset, count: n, "bzip2 voxel data")
                strm.next_in = UnsafeMutablePointer(mutating: chunk.baseAddress!.assumingMemoryBound(to: CChar.self))
                strm.avail_in = UInt32(n)
                inputOffset += n
            }
            let want = skipped < skip ? min(skip - skipped, output.count) : min(count - delivered, output.count)
            strm.next_out = output.baseAddress!.assumingMemoryBound(to: CChar.self)
            strm.avail_out = UInt32(want)
            let status = BZ2_bzDecompress(&strm)
            let produced = want - Int(strm.avail_out)
            if skipped < skip { skipped += produced } else if produced > 0 {
                body(UnsafeRawBufferPointer(start: output.baseAddress, count: produced))
                delivered += produced
            }
            if status == BZ_STREAM_END {
                if delivered < count {
                    throw ParseError(.truncated, at: inputOffset - Int(strm.avail_in),
                                     "bzip2 stream ends after \(skipped + delivered) bytes; the header needs \(skip + count)")
                }
                return
            }
            guard status == BZ_OK else {
                throw ParseError(.malformed, at: inputOffset - Int(strm.avail_in), "bzip2 voxel data damaged (libbz2 error \(status))")
            }
        }
    }
}

/// NRRD's text encodings, decoded into samples in host byte order (ascii) or file order (hex).
enum TextSamples {
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 || c == 0x0B || c == 0x0C }

    /// Two hex digits a byte, white space between them ignored.
    static func hex(_ src: ByteSource, from: Int, count: Int, _ body: (UnsafeRawBufferPointer) -> Void) throws(ParseError) {
        var out = [UInt8](); out.reserveCapacity(min(count, 64 << 10))
        var delivered = 0
        var at = from
        var high: UInt8?
        while delivered + out.count < count {
            guard at < src.size else {
                throw ParseError(.truncated, at: src.size, "hex data ends after \(delivered + out.count) bytes; the header needs \(count)",
                                 need: count, have: delivered + out.count)
            }
            let n = min(64 << 10, src.size - at)
            let chunk = try src.bytes(at: at, count: n, "hex data")
            for i in 0..<n where delivered + out.count < count {
                let c = chunk[i]
                if isSpace(c) { continue }
                guard let v = hexValue(c) else { throw ParseError(.malformed, at: at + i, "hex data holds a byte that is not a hex digit") }
                if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
                if out.count == 64 << 10 {
                    out.withUnsafeBytes { body($0) }
                    delivered += out.count
                    out.removeAll(keepingCapacity: true)
                }
            }
            at += n
        }
        out.withUnsafeBytes { body($0) }
    }

    /// Numbers separated by white space (or commas), each converted to one sample of `kind`.
    static func ascii(_ src: ByteSource, from: Int, kind: SampleKind, count: Int, _ body: (UnsafeRawBufferPointer) -> Void) throws(ParseError) {
        let wanted = count / kind.size
        var out = [UInt8](); out.reserveCapacity(min(count, 64 << 10))
        var done = 0
        var at = from
        var token: [UInt8] = []
        var tokenStart = from
        func emit(_ token: [UInt8], at offset: Int) throws(ParseError) {
            let text = String(decoding: token, as: UTF8.self)
            func bad() -> ParseError { ParseError(.malformed, at: offset, "ascii data value '\(text.prefix(30))' is not a \(kind.rawValue)") }
            switch kind {
            case .float32:
                guard let v = Double(text) else { throw bad() }
                withUnsafeBytes(of: Float(v)) { out.append(contentsOf: $0) }
            case .float64:
                guard let v = Double(text) else { throw bad() }
                withUnsafeBytes(of: v) { out.append(contentsOf: $0) }
            case .uint64:
                guard let v = UInt64(text) else { throw bad() }
                withUnsafeBytes(of: v) { out.append(contentsOf: $0) }
            default:
                guard let v = Int64(text) else { throw bad() }
                switch kind {
                case .int8: guard let x = Int8(exactly: v) else { throw bad() }; out.append(UInt8(bitPattern: x))
                case .uint8: guard let x = UInt8(exactly: v) else { throw bad() }; out.append(x)
                case .int16: guard let x = Int16(exactly: v) else { throw bad() }; withUnsafeBytes(of: x) { out.append(contentsOf: $0) }
                case .uint16: guard let x = UInt16(exactly: v) else { throw bad() }; withUnsafeBytes(of: x) { out.append(contentsOf: $0) }
                case .int32: guard let x = Int32(exactly: v) else { throw bad() }; withUnsafeBytes(of: x) { out.append(contentsOf: $0) }
                case .uint32: guard let x = UInt32(exactly: v) else { throw bad() }; withUnsafeBytes(of: x) { out.append(contentsOf: $0) }
                default: withUnsafeBytes(of: v) { out.append(contentsOf: $0) }
                }
            }
            done += 1
            if out.count >= 64 << 10 {
                out.withUnsafeBytes { body($0) }
                out.removeAll(keepingCapacity: true)
            }
        }
        while done < wanted {
            guard at < src.size else {
                if !token.isEmpty { try emit(token, at: tokenStart); token.removeAll(); continue }
                throw ParseError(.truncated, at: src.size, "ascii data ends after \(done) values; the header needs \(wanted)",
                                 need: wanted, have: done)
            }
            let n = min(64 << 10, src.size - at)
            let chunk = try src.bytes(at: at, count: n, "ascii data")
            for i in 0..<n where done < wanted {
                let c = chunk[i]
                if isSpace(c) || c == UInt8(ascii: ",") {
                    if !token.isEmpty { try emit(token, at: tokenStart); token.removeAll(keepingCapacity: true) }
                } else {
                    if token.isEmpty { tokenStart = at + i }
                    guard token.count < 64 else { throw ParseError(.malformed, at: tokenStart, "ascii data value longer than 64 characters") }
                    token.append(c)
                }
            }
            at += n
        }
        out.withUnsafeBytes { body($0) }
    }
}

extension FileReader {
    /// For a detached data file (`x.raw`, `x.zraw`, `x.raw.gz`, …), the MetaImage `.mhd` or NRRD
    /// `.nhdr` of the same stem beside it, if any.
    static func textHeader(describing data: String, lookup: (String) -> Int? = FileReader.statSize) -> String? {
        let name = data.split(separator: "/").last.map(String.init) ?? data
        guard let dot = name.lastIndex(of: ".") else { return nil }
        let ext = name[name.index(after: dot)...].lowercased()
        guard ext != "mhd", ext != "nhdr" else { return nil }
        var stems = [String(data.dropLast(name.count - name.distance(from: name.startIndex, to: dot)))]
        if let inner = stems[0].split(separator: "/").last, let d2 = inner.lastIndex(of: "."),
           inner[inner.index(after: d2)...].lowercased() == "raw" {
            stems.append(String(stems[0].dropLast(inner.count - inner.distance(from: inner.startIndex, to: d2))))
        }
        for stem in stems {
            for ext in ["mhd", "MHD", "nhdr", "NHDR"] {
                if lookup(stem + "." + ext) != nil {
                    return String((stem + "." + ext).split(separator: "/").last ?? "")
                }
            }
        }
        return nil
    }
}
