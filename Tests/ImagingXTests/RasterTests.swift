import ImagingX
import ImagingXFixtures
import Testing

@Suite("PNG and JPEG header readers")
struct RasterTests {
    struct PNGCase: Sendable, CustomStringConvertible {
        var colorType: Int
        var bitDepth: Int
        var dtype: DType
        var channels: Int
        var description: String { "colour type \(colorType), \(bitDepth) bit" }
    }

    static let pngCases: [PNGCase] = [
        PNGCase(colorType: 0, bitDepth: 1, dtype: .bit, channels: 1),
        PNGCase(colorType: 0, bitDepth: 4, dtype: .uint8, channels: 1),
        PNGCase(colorType: 0, bitDepth: 8, dtype: .uint8, channels: 1),
        PNGCase(colorType: 0, bitDepth: 16, dtype: .uint16, channels: 1),
        PNGCase(colorType: 2, bitDepth: 8, dtype: .rgb24, channels: 3),
        PNGCase(colorType: 2, bitDepth: 16, dtype: .uint16, channels: 3),
        PNGCase(colorType: 3, bitDepth: 4, dtype: .rgb24, channels: 3),
        PNGCase(colorType: 4, bitDepth: 8, dtype: .uint8, channels: 2),
        PNGCase(colorType: 6, bitDepth: 8, dtype: .rgba32, channels: 4),
        PNGCase(colorType: 6, bitDepth: 16, dtype: .uint16, channels: 4),
    ]

    @Test("PNG colour types and bit depths", arguments: pngCases, [false, true])
    func png(_ c: PNGCase, interlace: Bool) throws {
        let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][c.colorType]!
        let w = 13, h = 7
        let stride = (w * channels * c.bitDepth + 7) / 8
        let bytes = try RasterBuilder.png(width: w, height: h, bitDepth: c.bitDepth, colorType: c.colorType,
                                          interlace: interlace, pixelsPerMetre: (4000, 2000),
                                          paletteSize: 16, pixels: [UInt8](repeating: 0x11, count: stride * h))
        let r = record(bytes)
        #expect(r.status == .ok, "\(r.error ?? "")")
        #expect(r.format == .png)
        #expect(r.dims == [13, 7])
        #expect(r.dtype == c.dtype && r.channels == c.channels && r.bitsStored == c.bitDepth)
        #expect(r.interlaced == interlace)
        #expect(r.spacing == [0.25, 0.5])  // 1000 mm / pixels per metre
    }

    @Test("PNG pHYs without a unit gives no spacing")
    func aspectOnly() throws {
        let bytes = try RasterBuilder.png(width: 4, height: 4, bitDepth: 8, colorType: 0, pixelsPerMetre: (1, 2),
                                          aspectOnly: true, pixels: [UInt8](repeating: 0, count: 16))
        let r = record(bytes)
        #expect(r.spacing == nil)
        #expect(r.findings.contains { $0.code == .physAspectOnly })
    }

    @Test("PNG: bad IHDR CRC, wrong first chunk, invalid depth are errors with offsets")
    func badPNG() throws {
        let good = try RasterBuilder.png(width: 4, height: 4, bitDepth: 8, colorType: 0, pixels: [UInt8](repeating: 0, count: 16))
        var crc = good
        crc[29] ^= 1
        #expect(record(crc).error?.contains("IHDR CRC") == true)
        var depth = good
        depth[24] = 3  // bit depth 3
        #expect(record(depth).status == .error)
        #expect(record(Array(good.prefix(20))).error?.contains("file ends inside") == true)
        var order = good
        order[12] = UInt8(ascii: "X")  // chunk type "XHDR"
        #expect(record(order).error?.contains("not IHDR") == true)
    }

    @Test("JPEG: baseline, progressive, gray, CMYK; JFIF dots per inch and per cm")
    func jpeg() throws {
        let gray = try RasterBuilder.jpeg(width: 21, height: 9, components: 1, densityUnit: 1, density: (254, 127),
                                          pixels: [UInt8](repeating: 50, count: 21 * 9))
        let g = record(gray)
        #expect(g.status == .ok && g.format == .jpeg)
        #expect(g.dims == [21, 9] && g.channels == 1 && g.dtype == .uint8 && g.bitsStored == 8)
        #expect(g.coding == "baseline" && g.interlaced == false)
        #expect(near(g.spacing, [0.1, 0.2]))

        let rgb = try RasterBuilder.jpeg(width: 8, height: 8, components: 3, progressive: true, densityUnit: 2,
                                         density: (100, 50), pixels: [UInt8](repeating: 50, count: 192))
        let c = record(rgb)
        #expect(c.dtype == .rgb24 && c.channels == 3 && c.coding == "progressive" && c.interlaced == true)
        #expect(near(c.spacing, [0.1, 0.2]))

        let cmyk = try RasterBuilder.jpeg(width: 8, height: 8, components: 4, jfif: false, pixels: [UInt8](repeating: 50, count: 256))
        let k = record(cmyk)
        #expect(k.channels == 4 && k.dtype == .uint8 && k.spacing == nil)

        let aspect = try RasterBuilder.jpeg(width: 8, height: 8, components: 1, densityUnit: 0, density: (1, 1),
                                            pixels: [UInt8](repeating: 0, count: 64))
        #expect(record(aspect).spacing == nil)
    }

    /// SOI, SOFn, EOI: enough for a header reader.
    static func frame(_ marker: UInt8, precision: UInt8, width: UInt16, height: UInt16, components: UInt8) -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xD8, 0xFF, marker]
        let length = 8 + 3 * Int(components)
        out += [UInt8(length >> 8), UInt8(length & 0xFF), precision, UInt8(height >> 8), UInt8(height & 0xFF),
                UInt8(width >> 8), UInt8(width & 0xFF), components]
        for i in 0..<components { out += [i + 1, 0x11, 0] }
        return out + [0xFF, 0xD9]
    }

    @Test("JPEG 12-bit extended, 16-bit lossless, arithmetic and hierarchical frames")
    func processes() {
        let twelve = record(RasterTests.frame(0xC1, precision: 12, width: 512, height: 400, components: 1))
        #expect(twelve.coding == "extended" && twelve.dtype == .uint16 && twelve.bitsStored == 12)
        #expect(twelve.dims == [512, 400])
        let lossless = record(RasterTests.frame(0xC3, precision: 16, width: 10, height: 10, components: 1))
        #expect(lossless.coding == "lossless" && lossless.bitsStored == 16)
        #expect(record(RasterTests.frame(0xC9, precision: 8, width: 2, height: 2, components: 3)).coding == "extended-arithmetic")
        #expect(record(RasterTests.frame(0xC6, precision: 8, width: 2, height: 2, components: 3)).coding == "progressive-hierarchical")
    }

    @Test("Exif resolution in both byte orders when JFIF gives none")
    func exif() {
        for big in [false, true] {
            func u16(_ v: Int) -> [UInt8] { big ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
            func u32(_ v: Int) -> [UInt8] { big ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16) }
            var tiff: [UInt8] = big ? Array("MM".utf8) : Array("II".utf8)
            tiff += u16(42) + u32(8) + u16(3)
            let data = 8 + 2 + 3 * 12 + 4
            tiff += u16(0x011A) + u16(5) + u32(1) + u32(data)
            tiff += u16(0x011B) + u16(5) + u32(1) + u32(data + 8)
            tiff += u16(0x0128) + u16(3) + u32(1) + u16(3) + u16(0)  // centimetres
            tiff += u32(0)
            tiff += u32(50) + u32(1) + u32(25) + u32(1)
            let app1 = Array("Exif\0\0".utf8) + tiff
            let length = app1.count + 2
            var bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + app1
            bytes += Array(RasterTests.frame(0xC0, precision: 8, width: 4, height: 4, components: 3).dropFirst(2))
            let r = record(bytes)
            #expect(r.status == .ok, "\(r.error ?? "")")
            #expect(near(r.spacing, [0.2, 0.4]), "big endian: \(big)")
        }
    }

    @Test("JPEG: a scan before the frame, EOI, zero width, cut segments are errors")
    func badJPEG() {
        #expect(record([0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08]).error?.contains("scan (SOS) before") == true)
        #expect(record([0xFF, 0xD8, 0xFF, 0xD9]).error?.contains("EOI") == true)
        #expect(record(RasterTests.frame(0xC0, precision: 8, width: 0, height: 4, components: 1)).error?.contains("width is 0") == true)
        #expect(record([0xFF, 0xD8, 0xFF, 0xE0, 0x10, 0x00, 0x4A]).status == .error)
        #expect(record([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01]).error?.contains("below 2") == true)
    }
}
