import ImagingXModel
/// What a PNG says before its first IDAT (PNG 3rd ed. §11.2.1 IHDR, §11.3.5.3 pHYs, §11.3.2.1
/// tRNS), and the findings the reader noticed. Only a readable file is made into one;
/// `PNGRecord.fill` maps it to the record.
package struct PNGHeader {
    /// IHDR width and height, 1 … 2^31−1.
    package var width = 0
    package var height = 0
    /// IHDR bit depth, one of those allowed with `colorType`.
    package var bitDepth = 0
    /// IHDR colour type: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA.
    package var colorType = 0
    /// IHDR interlace method 1 (Adam7).
    package var interlaced = false
    /// A tRNS chunk before the first IDAT.
    package var hasTransparency = false
    /// pHYs in pixels per metre (unit specifier 1, both axes > 0); the last such chunk.
    package var pixelsPerMetre: (x: UInt32, y: UInt32)?
    /// Odd but readable facts, in the order the reader met them.
    package var findings: [Finding] = []

    /// Millimetres per pixel from `pixelsPerMetre`.
    package var spacing: [Double]? {
        pixelsPerMetre.map { [1000 / Double($0.x), 1000 / Double($0.y)] }
    }
}
