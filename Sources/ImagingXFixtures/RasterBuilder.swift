import CImagingCodecs

public struct CodecError: Error, CustomStringConvertible {
    public let description: String
}

/// PNG and JPEG files encoded with libpng and libjpeg-turbo, for fixtures and SampleData.
public enum RasterBuilder {
    public static func png(width: Int, height: Int, bitDepth: Int, colorType: Int, interlace: Bool = false,
                           pixelsPerMetre: (UInt32, UInt32)? = nil, aspectOnly: Bool = false,
                           paletteSize: Int = 256, pixels: [UInt8]) throws -> [UInt8] {
        var opt = ixc_png_options()
        opt.width = Int32(width); opt.height = Int32(height)
        opt.bit_depth = Int32(bitDepth); opt.color_type = Int32(colorType)
        opt.interlace = interlace ? 1 : 0
        opt.phys_unit = pixelsPerMetre == nil ? -1 : aspectOnly ? 0 : 1
        opt.ppu_x = pixelsPerMetre?.0 ?? 0
        opt.ppu_y = pixelsPerMetre?.1 ?? 0
        opt.palette_size = Int32(paletteSize)
        return try call { out, size, message, messageSize in
            pixels.withUnsafeBufferPointer { ixc_png_encode($0.baseAddress, &opt, out, size, message, messageSize) }
        }
    }

    public static func jpeg(width: Int, height: Int, components: Int, quality: Int = 90, progressive: Bool = false,
                            densityUnit: Int = 1, density: (Int, Int) = (72, 72), jfif: Bool = true,
                            pixels: [UInt8]) throws -> [UInt8] {
        var opt = ixc_jpeg_options()
        opt.width = Int32(width); opt.height = Int32(height)
        opt.components = Int32(components); opt.quality = Int32(quality)
        opt.progressive = progressive ? 1 : 0
        opt.density_unit = Int32(densityUnit)
        opt.x_density = Int32(density.0); opt.y_density = Int32(density.1)
        opt.write_jfif = jfif ? 1 : 0
        return try call { out, size, message, messageSize in
            pixels.withUnsafeBufferPointer { ixc_jpeg_encode($0.baseAddress, &opt, out, size, message, messageSize) }
        }
    }

    private static func call(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>, UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = message.withUnsafeMutableBufferPointer { body(&out, &size, $0.baseAddress!, $0.count) }
        defer { ixc_free(out) }
        guard status == 0, let out else {
            throw CodecError(description: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }
}
