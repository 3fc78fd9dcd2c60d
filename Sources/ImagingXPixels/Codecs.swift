import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import CImagingCodecs

/// JPEG-LS (CharLS) and JPEG 2000 / HTJ2K (OpenJPEG) frames of encapsulated DICOM Pixel Data.
/// The C side (Sources/CImagingCodecs/jls_j2k.c) reads each codestream's header, checks it
/// against the DICOM header and the decode limit before anything is allocated for the image,
/// and returns the values pydicom 3.0.2 + pylibjpeg return (their sign and precision
/// corrections; J2K colour transforms give RGB).
package enum LosslessCodec: Sendable {
    case jpegLS, jpeg2000

    static let jpegLSSyntaxes: Set<String> = ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"]
    static let jpeg2000Syntaxes: Set<String> = [
        "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",
    ]

    /// The codec a transfer syntax needs, or nil.
    package static func forSyntax(_ uid: String) -> LosslessCodec? {
        if jpegLSSyntaxes.contains(uid) { return .jpegLS }
        if jpeg2000Syntaxes.contains(uid) { return .jpeg2000 }
        return nil
    }

    var name: String { self == .jpegLS ? "JPEG-LS" : "JPEG 2000" }
}

extension PixelWorkspace {
    /// The worker's frame buffer, grown to `bytes` (kept between files unless large).
    func frameBuffer(_ bytes: Int) -> UnsafeMutableRawBufferPointer {
        if codecFrame.count < bytes {
            codecFrame.deallocate()
            codecFrame = .allocate(byteCount: max(bytes, 4096), alignment: 64)
        }
        return UnsafeMutableRawBufferPointer(rebasing: codecFrame[0..<bytes])
    }
}

extension FileReader {
    /// Decodes every frame with `codec` into the worker's frame buffer and feeds the accumulator.
    func codecStats(_ codec: LosslessCodec, _ h: DICOMHeader, _ fragments: [[EncapsulatedPixelData.Fragment]],
                    columns: Int, rows: Int, samples: Int, layout: SampleLayout,
                    _ record: inout ImageRecord) throws -> PixelStats {
        guard [1, 2, 4].contains(layout.kind.size), layout.kind != .float32 else {
            throw StatsError("\(codec.name) with Bits Allocated \(h.bitsAllocated ?? 0): not decoded")
        }
        let photometric = h.photometric ?? ""
        if photometric.hasPrefix("YBR_") && photometric != "YBR_RCT" && photometric != "YBR_ICT" {
            // pydicom converts YBR_FULL(_422) to RGB after decoding; ImagingX does not convert.
            throw StatsError("\(codec.name) with Photometric Interpretation \(photometric): colour conversion not done")
        }
        let frameBytes = columns * rows * samples * layout.kind.size
        guard frameBytes <= options.maxDecodeBytes else {
            throw StatsError("a \(columns)×\(rows)×\(samples) frame needs \(frameBytes) bytes, over the \(options.maxDecodeBytes >> 20) MiB decode limit")
        }
        var spec = ixc_frame_spec()
        spec.width = Int32(columns)
        spec.height = Int32(rows)
        spec.components = Int32(samples)
        spec.bytes_per_sample = Int32(layout.kind.size)
        spec.pixel_representation = h.pixelRepresentation == 1 ? 1 : 0
        spec.sign_correction = photometric == "MONOCHROME1" || photometric == "MONOCHROME2" ? 1 : 0
        spec.max_bytes = options.maxDecodeBytes
        var values = layout
        values.bitsStored = nil   // pydicom applies no unused-bit mask to JPEG-LS / JPEG 2000 output
        values.bigEndian = false
        let acc = workspace.accumulator
        acc.begin(values, expectedBytes: frameBytes * fragments.count)
        let out = workspace.frameBuffer(frameBytes)
        defer { workspace.releaseFrame() }
        var message = [CChar](repeating: 0, count: 256)
        for (index, frame) in fragments.enumerated() {
            var info = ixc_codestream_info()
            let code: Int32 = try EncapsulatedPixelData.withFrame(source, frame) { bytes in
                guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else {
                    return -1
                }
                let target = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                return message.withUnsafeMutableBufferPointer { m in
                    codec == .jpegLS
                        ? ixc_jls_decode(base, bytes.count, &spec, target, out.count, &info, m.baseAddress, m.count)
                        : ixc_j2k_decode(base, bytes.count, &spec, target, out.count, &info, m.baseAddress, m.count)
                }
            }
            if code != 0 {
                let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                let at = frame.first.map { " (fragment at byte \($0.offset))" } ?? ""
                let what = code == -1 ? "empty frame" : text
                let kind = code == 2 ? "not decoded" : code == 3 ? "refused" : "data damaged"
                throw StatsError("\(codec.name) frame \(index + 1) of \(fragments.count)\(at) \(kind): \(what)")
            }
            acc.consume(UnsafeRawBufferPointer(out))
        }
        return finishStats(acc, &record)
    }
}

extension PixelWorkspace {
    /// A frame buffer over 64 MiB is not kept between files.
    func releaseFrame() {
        if codecFrame.count > 64 << 20 {
            codecFrame.deallocate()
            codecFrame = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        }
    }
}
