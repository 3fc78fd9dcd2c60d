import ImagingXModel
/// What a JPEG says up to its first frame header (ITU-T T.81 Annex B): the SOFn facts, the
/// resolution from JFIF APP0 or Exif APP1, and the findings the reader noticed. Only a readable
/// file is made into one; `JPEGRecord.fill` maps it to the record.
package struct JPEGHeader {
    /// The SOFn marker's second byte (T.81 Table B.1: 0xC0 … 0xCF, not C4, C8, CC) and its
    /// coding process: "baseline", "progressive", "lossless-arithmetic", …
    package var sofMarker: UInt8
    package var coding: String
    /// Sample precision P, lines Y (0: defined by a DNL marker), samples per line X, and
    /// components Nf of the frame header (T.81 §B.2.2).
    package var precision: Int
    package var height: Int
    package var width: Int
    package var components: Int
    /// Millimetres per pixel (x, y) from JFIF APP0 (units 1 or 2), else from Exif IFD0's
    /// X/YResolution and ResolutionUnit; nil when neither gives a physical unit.
    package var millimetresPerPixel: (x: Double, y: Double)?
    /// Odd but readable facts, in the order the reader met them.
    package var findings: [Finding]

    /// A progressive process (SOF2, SOF6, SOF10, SOF14: the markers whose two low bits are 10),
    /// the record's `interlaced`.
    package var isProgressive: Bool { sofMarker & 0x03 == 0x02 }
    /// `millimetresPerPixel` as the record's spacing.
    package var spacing: [Double]? { millimetresPerPixel.map { [$0.x, $0.y] } }
}
