import CZlib
import ImagingXBytes
import ImagingXModel

/// A small grey-level PNG of an image's middle slice, for the portal: CT through a soft-tissue
/// window (level 40, width 400 HU), anything else stretched from its 0.5th to 99.5th percentile.
/// Rows are shown top to bottom as a radiologist expects: NIfTI/Analyze (RAS, y anterior) flipped
/// vertically, DICOM, MetaImage and NRRD rows as stored. Colour images show their first channel.
public enum Thumbnail {
    public static let maxSide = 256

    public enum Failure: Error, Sendable, CustomStringConvertible, Equatable {
        case unreadable(String)
        case notDecoded(String)
        public var description: String {
            switch self {
            case .unreadable(let m): "the file cannot be read: \(m)"
            case .notDecoded(let m): "no pixels to show: \(m)"
            }
        }
    }

    /// Reads `fullPath` (pixels decoded within the reader's memory limit) and renders its middle slice.
    public static func render(fullPath: String, maxDecodeBytes: Int = 1 << 30) -> Result<[UInt8], Failure> {
        var options = ReadOptions(stats: true)
        options.captureVolume = true
        options.maxDecodeBytes = maxDecodeBytes
        let reader = FileReader(options: options)
        let r = reader.read(fullPath: fullPath, path: fullPath)
        guard r.status == .ok else { return .failure(.unreadable(r.error ?? r.status.rawValue)) }
        guard let volume = reader.captured, let dims = r.dims, dims.count >= 2 else {
            return .failure(.notDecoded(r.statsError ?? "this format's pixels are not decoded here"))
        }
        let nx = dims[0], ny = dims[1]
        let nz = dims.count > 2 ? max(1, dims[2]) : 1
        let channels = max(1, r.channels ?? 1)
        let perSlice = nx * ny * channels
        guard nx > 0, ny > 0, volume.count >= perSlice * nz else { return .failure(.notDecoded("fewer samples than the header's grid")) }
        let start = perSlice * (nz / 2)
        var slice = [Double](repeating: 0, count: nx * ny)
        volume.forEachChunk { offset, values in
            let lo = max(offset, start), hi = min(offset + values.count, start + perSlice)
            guard lo < hi else { return }
            for i in lo..<hi where (i - start) % channels == 0 { slice[(i - start) / channels] = values[i - offset] }
        }
        let (low, high): (Double, Double)
        if r.modality == "CT" {
            (low, high) = (40 - 200, 40 + 200)
        } else {
            let finite = slice.filter { $0.isFinite }.sorted()
            guard !finite.isEmpty else { return .failure(.notDecoded("no finite values in the middle slice")) }
            func q(_ p: Double) -> Double { finite[min(finite.count - 1, Int((p / 100 * Double(finite.count - 1)).rounded()))] }
            (low, high) = (q(0.5), q(99.5))
        }
        let scale = max(Double(nx), Double(ny)) / Double(maxSide)
        let step = max(1.0, scale)
        let w = max(1, Int((Double(nx) / step).rounded(.down))), h = max(1, Int((Double(ny) / step).rounded(.down)))
        let flip = r.format == .nifti1 || r.format == .nifti2 || r.format == .analyze
        var pixels = [UInt8](repeating: 0, count: w * h)
        let span = high > low ? high - low : 1
        for row in 0..<h {
            let sy = min(ny - 1, Int(Double(row) * step))
            let y = flip ? ny - 1 - sy : sy
            for col in 0..<w {
                let x = min(nx - 1, Int(Double(col) * step))
                let v = slice[y * nx + x]
                let t = v.isFinite ? (v - low) / span : 0
                pixels[row * w + col] = UInt8(max(0, min(255, (t * 255).rounded())))
            }
        }
        return .success(PNGWriter.gray8(width: w, height: h, pixels: pixels))
    }
}

/// The smallest PNG writer: 8-bit grey, no filtering, one zlib stream (PNG 1.2 §§ 4–11).
public enum PNGWriter {
    public static func gray8(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        var raw = [UInt8]()
        raw.reserveCapacity((width + 1) * height)
        for y in 0..<height {
            raw.append(0)
            raw += pixels[(y * width)..<((y + 1) * width)]
        }
        var compressedSize = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        _ = compressed.withUnsafeMutableBufferPointer { out in
            raw.withUnsafeBufferPointer { input in compress2(out.baseAddress, &compressedSize, input.baseAddress, uLong(raw.count), 6) }
        }
        compressed.removeLast(compressed.count - Int(compressedSize))
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) {
            let body = Array(type.utf8) + data
            png += be32(data.count) + body
            let crc = body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
            png += be32(Int(crc))
        }
        chunk("IHDR", be32(width) + be32(height) + [8, 0, 0, 0, 0])
        chunk("IDAT", compressed)
        chunk("IEND", [])
        return png
    }
}
