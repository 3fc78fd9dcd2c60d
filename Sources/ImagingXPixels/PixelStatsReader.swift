import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import CDeflate
import CImagingCodecs
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the scan computes besides the header.
public struct ReadOptions: Sendable {
    /// Decode pixels and add `stats` to image records.
    public var stats = false
    /// The most memory one image may need decoded (a float volume held for its percentiles,
    /// an interlaced PNG, a progressive JPEG's coefficients). Larger images get `stats_error`.
    public var maxDecodeBytes = 4 << 30
    /// Keep the decoded voxels of NIfTI, PNG and JPEG images in `FileReader.captured`
    /// (label-aware statistics need image and label side by side).
    public var captureVolume = false
    /// Fill `record.fileStat` (device, inode, size, times) from the reader's `fstat`.
    public var fileStat = false
    /// Keep each image's values as a mergeable `IntensityAccumulator` in `FileReader.histogram`
    /// (8/16-bit samples; series volumes pool their slices from these).
    public var keepHistogram = false
    /// `.nii.gz` files whose inflated size (gzip ISIZE) is at most this are inflated whole by
    /// libdeflate (about twice zlib's speed); larger ones stream through zlib.
    public var wholeInflateBytes = 1 << 30

    public init(stats: Bool = false, fileStat: Bool = false) {
        self.stats = stats
        self.fileStat = fileStat
    }
}

/// Why pixel statistics could not be computed for a readable header.
package struct StatsError: Error, CustomStringConvertible {
    package var description: String
    init(_ d: String) { description = d }
}

/// A consumer of decoded bytes.
package struct Sink {
    let consume: (UnsafeRawBufferPointer) -> Void
    init(_ consume: @escaping (UnsafeRawBufferPointer) -> Void) { self.consume = consume }
}

/// Per-worker decoding state: the statistics accumulator and the bulk read buffer.
package final class PixelWorkspace {
    let accumulator = StatsAccumulator()
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    let inflateOut = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 64)
    let deflater = libdeflate_alloc_decompressor()
    /// Whole-file buffers for libdeflate, grown on demand and given back when large.
    var compressed: [UInt8] = []
    var inflated: [UInt8] = []
    /// JPEG Lossless frame buffers and Huffman tables (JPEGLossless.swift).
    lazy var lossless = LosslessScratch()
    /// The JPEG-LS / JPEG 2000 frame buffer (Codecs.swift), reused across files.
    var codecFrame = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    deinit {
        codecFrame.deallocate()
        chunk.deallocate()
        inflateOut.deallocate()
        if let deflater { libdeflate_free_decompressor(deflater) }
    }

    /// Inflates the whole gzip file in `source` into `inflated` when its trailer says it holds
    /// exactly `expected` bytes; false (nothing consumed) when it does not fit or does not end
    /// where it should, so the caller streams through zlib and reports errors with offsets.
    func inflateWhole(_ source: ByteSource, expected: Int, limit: Int) throws -> Bool {
        let size = source.size
        // Deflate expands at most ~1032:1 (RFC 1951 stored/length limits): a header claiming more
        // than that of this file cannot be honest, and must not make us allocate for it.
        guard let deflater, size >= 18, expected <= limit, size <= limit, expected < Int(UInt32.max),
              expected <= size * 1032 + 4096 else { return false }
        let isize = Int(try source.u32(size - 4, bigEndian: false, "gzip trailer"))
        guard isize == expected else { return false }
        if compressed.count < size { compressed = [UInt8](repeating: 0, count: size) }
        if inflated.count < expected { inflated = [UInt8](repeating: 0, count: expected) }
        try compressed.withUnsafeMutableBytes { buffer in
            // The whole remainder is one piece: a file source preads straight into place; a
            // memory source hands its own bytes, which are copied.
            let dst = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<size])
            var done = 0
            try source.stream(from: 0, count: size, buffer: dst) { piece in
                let target = dst.baseAddress! + done
                if UnsafeRawPointer(target) != piece.baseAddress! {
                    target.copyMemory(from: piece.baseAddress!, byteCount: piece.count)
                }
                done += piece.count
            }
        }
        var actual = 0
        let result = compressed.withUnsafeBytes { input in
            inflated.withUnsafeMutableBytes { output in
                libdeflate_gzip_decompress(deflater, input.baseAddress, size, output.baseAddress, expected, &actual)
            }
        }
        return result == LIBDEFLATE_SUCCESS && actual == expected
    }

    /// Large whole-file buffers are not kept between files.
    func releaseLarge() {
        if compressed.count > 64 << 20 { compressed = [] }
        if inflated.count > 256 << 20 { inflated = [] }
    }
}

extension FileReader {
    /// Runs `body` and files its failure as the record's `stats_error` (the header stays ok).
    func withStats(_ record: inout ImageRecord, _ body: (inout ImageRecord) throws -> PixelStats) {
        do {
            record.stats = try body(&record)
        } catch let e as ParseError {
            record.statsError = e.description
        } catch {
            record.statsError = "\(error)"
        }
    }

    // MARK: NIfTI / Analyze

    static func niftiLayout(_ voxels: NIfTIHeader.VoxelData, _ record: ImageRecord) throws(StatsError) -> SampleLayout {
        let type = voxels.type
        guard let kind = type.sampleKind else {
            if type.dtype == .bit {
                throw StatsError("datatype bit (1): 1-bit voxels are not decoded (nibabel does not read them either)")
            }
            if type.dtype.isComplex {
                throw StatsError("complex datatype \(record.dtype?.rawValue ?? ""): statistics of complex voxels are not defined")
            }
            throw StatsError("datatype \(record.dtype?.rawValue ?? String(voxels.datatype)) is not decoded")
        }
        return SampleLayout(kind: kind, bigEndian: voxels.bigEndian, slope: record.rescaleSlope ?? 1,
                            intercept: record.rescaleIntercept ?? 0)
    }

    func niftiStats(_ record: inout ImageRecord, _ voxels: NIfTIHeader.VoxelData, fullPath: String?, gzip: Bool) {
        withStats(&record) { record throws -> PixelStats in
            let layout = try Self.niftiLayout(voxels, record)
            let base = workspace.accumulator
            try guardBudget(layout, voxels.dataBytes)
            if options.captureVolume && voxels.dataBytes > options.maxDecodeBytes {
                throw StatsError("\(voxels.dataBytes) bytes of voxels exceed the \(options.maxDecodeBytes >> 20) MiB decode limit")
            }
            base.begin(layout, expectedBytes: voxels.dataBytes)
            let capture = options.captureVolume
            var kept: [UInt8] = []
            // Reserve only what the file can hold (a gzip expands at most ~1032:1); more grows as it arrives.
            if capture { kept.reserveCapacity(min(voxels.dataBytes, gzip ? source.size * 1032 + 4096 : voxels.dataBytes)) }
            let acc = Sink { piece in
                base.consume(piece)
                if capture { kept.append(contentsOf: piece) }
            }
            defer { if capture { captured = Volume(layout: layout, bytes: kept) } }
            if gzip {
                let ws = workspace
                defer { ws.releaseLarge() }
                let total = voxels.voxOffset + voxels.dataBytes
                if try ws.inflateWhole(source, expected: total, limit: options.wholeInflateBytes) {
                    ws.inflated.withUnsafeBytes { all in
                        var at = voxels.voxOffset
                        while at < total {
                            let n = min(1 << 20, total - at)
                            acc.consume(UnsafeRawBufferPointer(rebasing: all[at..<(at + n)]))
                            at += n
                        }
                    }
                } else {
                    try inflater.stream(source, from: 0, wrapper: .gzip, skip: voxels.voxOffset, count: voxels.dataBytes,
                                        output: workspace.inflateOut) { acc.consume($0) }
                }
            } else if voxels.isPair {
                guard let fullPath, let image = FileReader.pairedImage(for: fullPath) else {
                    throw StatsError("no .img file beside this header")
                }
                let stem = fullPath[..<(fullPath.lastIndex(of: "/").map { fullPath.index(after: $0) } ?? fullPath.startIndex)]
                let imagePath = String(stem) + image.name
                let fd = open(imagePath, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
                guard fd >= 0 else { throw StatsError("cannot open \(image.name): \(String(cString: strerror(errno)))") }
                defer { close(fd) }
                let imageSource = ByteSource(capacity: 4096)
                try imageSource.attach(fd: fd, size: image.size, initialRead: 0)
                try imageSource.stream(from: voxels.voxOffset, count: voxels.dataBytes, buffer: workspace.chunk) { acc.consume($0) }
            } else {
                try source.stream(from: voxels.voxOffset, count: voxels.dataBytes, buffer: workspace.chunk) { acc.consume($0) }
            }
            return finishStats(base, &record)
        }
    }

    /// The accumulator's statistics, and with `keepHistogram` its mergeable form.
    func finishStats(_ acc: StatsAccumulator, _ record: inout ImageRecord) -> PixelStats {
        guard options.keepHistogram, acc.isNarrow else { return acc.finish() }
        let layout = acc.s.pointee.layout
        let h = acc.finishHistogram()
        histogram = IntensityAccumulator(h, layout)
        return h.stats(layout)
    }

    func guardBudget(_ layout: SampleLayout, _ bytes: Int) throws(StatsError) {
        if layout.kind.size > 2, bytes > options.maxDecodeBytes {
            throw StatsError("\(bytes) bytes of \(layout.kind.rawValue) voxels exceed the \(options.maxDecodeBytes >> 20) MiB decode limit")
        }
    }

    // MARK: DICOM

    func dicomStats(_ record: inout ImageRecord, _ h: DICOMHeader, parsedFrom src: ByteSource) {
        guard let tag = h.pixelDataTag, let rows = h.rows, let columns = h.columns else { return }
        withStats(&record) { record throws -> PixelStats in
            let syntax = h.transferSyntax ?? h.encodingSyntax
            let deflated = src !== source
            if deflated && h.deflateStart == nil {
                throw StatsError("pixel data lies in an inflated dataset whose stream start is unknown")
            }
            let frames = max(h.numberOfFrames ?? 1, 1)
            let samples = max(h.samplesPerPixel ?? 1, 1)
            if h.photometric?.hasPrefix("YBR_") == true, h.photometric != "YBR_FULL", h.photometric != "YBR_FULL_422",
               TransferSyntax.isNative(syntax) {
                throw StatsError("\(h.photometric!) native pixel data (chroma subsampled): not decoded")
            }
            let kind: SampleKind
            if tag == Tag.floatPixelData { kind = .float32 }
            else if tag == Tag.doubleFloatPixelData { kind = .float64 }
            else {
                let signed = h.pixelRepresentation == 1
                switch h.bitsAllocated ?? 0 {
                case 1, 8: kind = signed ? .int8 : .uint8
                case 16: kind = signed ? .int16 : .uint16
                case 32: kind = signed ? .int32 : .uint32
                case 64: kind = signed ? .int64 : .uint64
                case let b: throw StatsError("BitsAllocated \(b) is not a sample size DICOM defines for images")
                }
            }
            var layout = SampleLayout(kind: kind, bigEndian: syntax == TransferSyntax.explicitBig,
                                      slope: record.rescaleSlope ?? 1, intercept: record.rescaleIntercept ?? 0)
            if tag == Tag.pixelData, let stored = h.bitsStored, stored > 0, stored < kind.size * 8 {
                layout.bitsStored = stored
            }
            // Sizes from the header, multiplied with overflow checks.
            var count = 1
            func times(_ f: Int) throws(StatsError) {
                let (p, o) = count.multipliedReportingOverflow(by: max(f, 0))
                guard !o, p < 1 << 56 else { throw StatsError("the pixel grid is larger than any file") }
                count = p
            }
            try times(columns); try times(rows); try times(frames); try times(samples)
            let bitPacked = h.bitsAllocated == 1 && tag == Tag.pixelData
            var expected = bitPacked ? (count + 7) / 8 : count * kind.size
            try guardBudget(layout, expected)
            let acc = workspace.accumulator
            let native = TransferSyntax.isNative(syntax) && !h.pixelDataUndefinedLength
            // Palette Color and YBR_FULL(_422) frames become RGB (Color.swift); nil: as stored.
            let color = tag == Tag.pixelData && !bitPacked
                ? try FrameColor.plan(h, tables: src, input: layout, pixels: columns * rows, native: native,
                                      decoderConvertsYBR: syntax == TransferSyntax.jpegBaseline || syntax == TransferSyntax.jpegExtended)
                : nil
            if let color {
                // One stored and one converted frame are held at a time.
                let (need, o) = color.storedFrameBytes.addingReportingOverflow(color.outputFrameBytes)
                guard !o, need <= options.maxDecodeBytes else {
                    throw StatsError("a \(columns)×\(rows) colour frame needs \(need) bytes to convert, over the \(options.maxDecodeBytes >> 20) MiB decode limit")
                }
                if native { expected = color.storedFrameBytes * frames }
            }
            let statsLayout = color?.output ?? layout
            let statsBytes = color.map { $0.outputFrameBytes * frames } ?? expected
            if native {
                guard h.pixelDataLength >= expected else {
                    throw StatsError("Pixel Data holds \(h.pixelDataLength) bytes; the grid needs \(expected)")
                }
                // Explicit VR big endian stores OW data as 16-bit words: 8-bit samples come
                // byte-swapped in pairs (PS3.5 §A.3), the pad byte of an odd count included.
                let swapPairs = layout.bigEndian && kind.size == 1 && h.pixelDataVR == VR.OW
                let readCount = swapPairs ? min(h.pixelDataLength, expected + expected % 2) : expected
                var ones = 0
                var delivered = 0
                let capture = options.captureVolume && !bitPacked
                var kept: [UInt8] = []
                if capture { kept.reserveCapacity(statsBytes) }
                let assembler = color.map { FrameAssembler($0) { rgb in
                    acc.consume(rgb)
                    if capture { kept.append(contentsOf: rgb) }
                } }
                let feed: (UnsafeRawBufferPointer) -> Void = { piece in
                    var piece = piece
                    var swapped: [UInt8] = []
                    if swapPairs {
                        // A copy: in-memory sources must not be changed.
                        swapped = Array(piece)
                        var i = 0
                        while i + 1 < swapped.count { swapped.swapAt(i, i + 1); i += 2 }
                    }
                    let take = min(piece.count, expected - delivered)
                    if swapPairs {
                        if let assembler {
                            swapped.withUnsafeBytes { assembler.add(UnsafeRawBufferPointer(rebasing: $0[0..<take])) }
                        } else {
                            swapped.withUnsafeBytes { acc.consume(UnsafeRawBufferPointer(rebasing: $0[0..<take])) }
                            if capture { kept += swapped[0..<take] }
                        }
                        delivered += take
                        return
                    }
                    piece = UnsafeRawBufferPointer(rebasing: piece[0..<take])
                    if bitPacked {
                        // Bits are packed from the least significant bit, frames back to back
                        // (PS3.5 §8.1.1); the last byte may hold padding bits.
                        for (i, byte) in piece.enumerated() {
                            let index = delivered + i
                            let valid = index == expected - 1 && count % 8 != 0 ? UInt8((1 << (count % 8)) - 1) : 0xFF
                            ones += (byte & valid).nonzeroBitCount
                        }
                    } else if let assembler {
                        assembler.add(piece)
                    } else {
                        acc.consume(piece)
                        if capture { kept.append(contentsOf: piece) }
                    }
                    delivered += take
                }
                acc.begin(statsLayout, expectedBytes: statsBytes)
                if deflated {
                    try inflater.stream(source, from: h.deflateStart!, wrapper: .raw, skip: h.pixelDataOffset,
                                        count: readCount, output: workspace.inflateOut, feed)
                } else if swapPairs {
                    try source.stream(from: h.pixelDataOffset, count: readCount, buffer: workspace.chunk) { piece in
                        feed(piece)
                    }
                } else {
                    try source.stream(from: h.pixelDataOffset, count: readCount, buffer: workspace.chunk, feed)
                }
                if capture { captured = Volume(layout: statsLayout, bytes: kept) }
                if bitPacked {
                    let pairs = [(0, count - ones), (1, ones)].filter { $0.1 > 0 }
                    return ValueHistogram(values: pairs.map(\.0), counts: pairs.map { UInt64($0.1) }).stats(layout)
                }
                return finishStats(acc, &record)
            }
            if bitPacked { throw StatsError("BitsAllocated 1 in encapsulated Pixel Data: not decoded") }
            if deflated { throw StatsError("encapsulated Pixel Data inside a deflated dataset") }
            let fragments = try EncapsulatedPixelData.frames(source, at: h.pixelDataOffset, frames: frames, tables: h.tables)
            let frameBytes = expected / frames
            let assembler = color.map { FrameAssembler($0) { acc.consume($0) } }
            switch syntax {
            case TransferSyntax.rle:
                // RLE output is a frame of little-endian samples built from byte planes.
                layout.bigEndian = false
                acc.begin(statsLayout, expectedBytes: statsBytes)
                var frame = [UInt8](repeating: 0, count: frameBytes)
                for f in fragments {
                    try RLEDecoder.decode(source, f, into: &frame, columns: columns, rows: rows,
                                          samples: samples, bytesPerSample: kind.size)
                    if let assembler { frame.withUnsafeBytes { assembler.convertFrame($0) } } else { frame.withUnsafeBytes { acc.consume($0) } }
                }
                return finishStats(acc, &record)
            case TransferSyntax.jpegLossless, TransferSyntax.jpegLosslessSV1:
                try losslessJPEGStats(fragments, layout: &layout, expected: expected, columns: columns, rows: rows, samples: samples,
                                      photometric: h.photometric)
                return finishStats(acc, &record)
            case TransferSyntax.jpegBaseline, TransferSyntax.jpegExtended:
                guard kind.size == 1 else {
                    throw StatsError("JPEG Extended with \(h.bitsStored ?? 12)-bit samples in \(h.bitsAllocated ?? 0)-bit containers: the system libjpeg-turbo 2.1 decodes 8-bit samples only")
                }
                acc.begin(statsLayout, expectedBytes: statsBytes)
                for f in fragments {
                    let info = try EncapsulatedPixelData.withFrame(source, f) { bytes in
                        try decodeRaster(bytes, jpeg: true, storedRGB: h.photometric == "RGB") { rows in
                            if let assembler { assembler.add(rows) } else { acc.consume(rows) }
                        }
                    }
                    if info.width != columns || info.height != rows {
                        throw StatsError("JPEG frame is \(info.width)×\(info.height); the header says \(columns)×\(rows)")
                    }
                }
                return finishStats(acc, &record)
            case let s where LosslessCodec.forSyntax(s) != nil:
                return try codecStats(LosslessCodec.forSyntax(s)!, h, fragments, columns: columns, rows: rows,
                                      samples: samples, layout: layout, &record)
            default:
                throw StatsError(TransferSyntax.undecodedReason(syntax))
            }
        }
    }

    // MARK: PNG / JPEG

    func rasterStats(_ record: inout ImageRecord, jpeg: Bool) {
        withStats(&record) { record throws -> PixelStats in
            let size = source.size
            guard size <= options.maxDecodeBytes else {
                throw StatsError("\(size)-byte file exceeds the decode limit")
            }
            let whole = try wholeFile()
            let acc = workspace.accumulator
            var began = false
            let capture = options.captureVolume
            var kept: [UInt8] = []
            var layout = SampleLayout(kind: .uint8)
            try decodeRaster(whole, jpeg: jpeg) { rows in
                acc.consume(rows)
                if capture { kept.append(contentsOf: rows) }
            } onInfo: { info in
                layout = SampleLayout(kind: info.bit_depth == 16 ? .uint16 : .uint8)
                acc.begin(layout, expectedBytes: 0)
                began = true
            }
            guard began else { throw StatsError("no image rows decoded") }
            if capture { captured = Volume(layout: layout, bytes: kept) }
            return finishStats(acc, &record)
        }
    }

    /// The whole current file in memory (PNG and JPEG files are read whole to decode them).
    func wholeFile() throws(ParseError) -> UnsafeRawBufferPointer {
        try source.bytes(at: 0, count: source.size, "image data")
    }

    /// Decodes a PNG or JPEG held in memory, handing rows to `rows`.
    @discardableResult
    func decodeRaster(_ bytes: UnsafeRawBufferPointer, jpeg: Bool, storedRGB: Bool = false,
                      rows: (UnsafeRawBufferPointer) -> Void,
                      onInfo: (ixc_image_info) -> Void = { _ in }) throws -> ixc_image_info {
        final class Context {
            let rows: (UnsafeRawBufferPointer) -> Void
            let onInfo: (ixc_image_info) -> Void
            var info: UnsafeMutablePointer<ixc_image_info>
            var started = false
            init(_ r: @escaping (UnsafeRawBufferPointer) -> Void, _ i: @escaping (ixc_image_info) -> Void,
                 _ info: UnsafeMutablePointer<ixc_image_info>) { rows = r; onInfo = i; self.info = info }
        }
        var info = ixc_image_info()
        var message = [CChar](repeating: 0, count: 256)
        let code: Int32 = try withoutActuallyEscaping(rows) { rows in
            try withoutActuallyEscaping(onInfo) { onInfo in
                try withUnsafeMutablePointer(to: &info) { infoPointer in
                    let context = Context(rows, onInfo, infoPointer)
                    let unmanaged = Unmanaged.passRetained(context)
                    defer { unmanaged.release() }
                    let callback: ixc_rows_fn = { ctx, data, count in
                        let c = Unmanaged<Context>.fromOpaque(ctx!).takeUnretainedValue()
                        if !c.started { c.started = true; c.onInfo(c.info.pointee) }
                        c.rows(UnsafeRawBufferPointer(start: data, count: count))
                        return 0
                    }
                    let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
                    guard let base else { throw StatsError("empty image data") }
                    return jpeg
                        ? ixc_jpeg_decode(base, bytes.count, options.maxDecodeBytes, storedRGB ? 1 : 0, callback, unmanaged.toOpaque(), infoPointer, &message, 256)
                        : ixc_png_decode(base, bytes.count, options.maxDecodeBytes, callback, unmanaged.toOpaque(), infoPointer, &message, 256)
                }
            }
        }
        if code != 0 {
            let text = String(decoding: message.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw StatsError((jpeg ? "JPEG" : "PNG") + (code == 2 ? " not decoded: " : " data damaged: ") + text)
        }
        return info
    }
}
