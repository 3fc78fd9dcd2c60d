import Foundation

/// DICOM SEG label fixtures (written by `LayoutCorpus` under `seg/`, a plain-layout folder): each
/// case folder holds a 5-slice CT series (5 columns × 3 rows, so a BINARY frame is 15 bits and
/// frames share bytes) and one SEG that references it.
///
/// - `binary/`: BINARY, 2 segments, frames out of slice order, frame 3 placed by position only,
///   segments 1 and 2 overlap;
/// - `fractional/`: FRACTIONAL (MaximumFractionalValue 255, values 127 and 128 present);
/// - `short/`: BINARY whose Pixel Data is shorter than its frames;
/// - `foreign/`: a frame references a SOP instance that is not in the series;
/// - `grid/`: frames of 4 × 3 (the series has 5 × 3).
///
/// `writeListed` (LayoutCorpus's `seg-msd/`) lists series folders with NIfTI labels in a
/// dataset.json: the same grid, flipped axes, swapped axes, a label shifted off the grid, and a
/// MetaImage label with its slice axis reversed.
public enum SegCorpus {
    public static let columns = 5
    public static let rows = 3
    public static let slices = 5
    static let segClass = "1.2.840.10008.5.1.4.1.1.66.4"

    /// One SEG frame: the segment, the series slice (in slice order) and how the frame names it.
    public struct Frame: Sendable {
        public var segment: Int
        public var slice: Int
        public var byPosition: Bool
    }

    /// The BINARY SEG's frames, in stored order.
    public static let binaryFrames: [Frame] = [
        Frame(segment: 2, slice: 3, byPosition: false), Frame(segment: 1, slice: 2, byPosition: false),
        Frame(segment: 1, slice: 1, byPosition: true), Frame(segment: 2, slice: 2, byPosition: false),
        Frame(segment: 1, slice: 3, byPosition: false),
    ]
    public static let fractionalFrames: [Frame] = [
        Frame(segment: 1, slice: 4, byPosition: false), Frame(segment: 1, slice: 0, byPosition: false),
    ]

    /// Mask of a BINARY frame: pixel (x, y) is in the segment.
    public static func binaryMask(segment: Int, slice: Int, x: Int, y: Int) -> Bool {
        segment == 1 ? (x + 2 * y + slice) % 3 != 0 : x >= 2 && y <= 1
    }

    /// Stored value of a FRACTIONAL frame at (x, y) (0 … 255).
    public static func fractionalValue(slice: Int, x: Int, y: Int) -> UInt8 {
        [0, 127, 128, 255, 64, 200][(x + y * columns + slice) % 6]
    }

    /// Slice k of the series: its z position, and its SOPInstanceUID in `folder`.
    static func z(_ k: Int) -> Double { 10 + 2 * Double(k) }
    static func sopUID(_ series: Int, _ k: Int) -> String { "1.2.826.0.1.3680043.8.498.93.\(series).\(k + 1)" }
    static func seriesUID(_ series: Int) -> String { "1.2.826.0.1.3680043.8.498.92.\(series)" }

    /// The CT series of case `series` in `dir`; files named so that name order is not slice order.
    static func ctSeries(_ dir: String, series: Int) throws {
        for k in 0..<slices {
            var spec = CTSliceSpec()
            spec.columns = columns
            spec.rows = rows
            spec.pixelSpacing = (0.7, 0.8)
            spec.position = [-2, -1, z(k)]
            spec.seriesUID = seriesUID(series)
            spec.instanceNumber = k + 1
            let pixels = (0..<(columns * rows)).map { Int16(($0 * 37 + k * 101) % 400) }
            var e = spec.elements(pixels: pixels).filter { $0.tag != 0x0008_0018 }
            e.append(.text(0x0008_0018, "UI", sopUID(series, k)))
            var b = DICOMBuilder(syntax: .explicitLittle, elements: e)
            b.sopInstanceUID = sopUID(series, k)
            try LayoutCorpus.put(b.encode(), dir + "/CT/IM\((k * 3) % slices).dcm")
        }
    }

    /// A SEG of `frames` over case `series`: BINARY (bits packed across frames) or FRACTIONAL.
    /// `foreignFrame` makes that frame reference an instance outside the series; `cut` drops that
    /// many bytes from the end of the Pixel Data; `frameColumns` writes frames of another width.
    public static func segmentation(series: Int, frames: [Frame], fractional: Bool, foreignFrame: Int? = nil,
                                    cut: Int = 0, frameColumns: Int = columns) -> [UInt8] {
        let segUID = "1.2.826.0.1.3680043.8.498.94.\(series)"
        let n = frameColumns * rows
        var perFrame: [[DICOMElement]] = []
        var pixels: [UInt8] = []
        var bits: [Bool] = []
        for (i, f) in frames.enumerated() {
            var item: [DICOMElement] = []
            if !f.byPosition {
                let uid = i == foreignFrame ? "1.2.826.0.1.3680043.8.498.99.1" : sopUID(series, f.slice)
                item.append(DICOMElement(0x0008_9124, "SQ", .sequence([[
                    DICOMElement(0x0008_2112, "SQ", .sequence([[
                        .text(0x0008_1150, "UI", "1.2.840.10008.5.1.4.1.1.2"),
                        .text(0x0008_1155, "UI", uid),
                    ]], undefinedLength: false)),
                ]], undefinedLength: true)))
            }
            item.append(DICOMElement(0x0020_9113, "SQ", .sequence([[
                .text(0x0020_0032, "DS", CTSliceSpec.ds([-2, -1, z(f.slice)])),
            ]], undefinedLength: false)))
            item.append(DICOMElement(0x0062_000A, "SQ", .sequence([[.us(0x0062_000B, UInt16(f.segment))]], undefinedLength: false)))
            perFrame.append(item)
            for p in 0..<n {
                let x = p % frameColumns, y = p / frameColumns
                if fractional { pixels.append(fractionalValue(slice: f.slice, x: x, y: y)) }
                else { bits.append(binaryMask(segment: f.segment, slice: f.slice, x: x, y: y)) }
            }
        }
        if !fractional {
            // PS3.5 8.1.1: the first pixel in the least significant bit, frames packed with no gap.
            pixels = [UInt8](repeating: 0, count: (bits.count + 7) / 8)
            for (i, b) in bits.enumerated() where b { pixels[i / 8] |= 1 << UInt8(i % 8) }
        }
        pixels = Array(pixels.dropLast(cut))
        let segmentNumbers = Set(frames.map(\.segment)).sorted()
        var elements: [DICOMElement] = [
            .text(0x0008_0016, "UI", segClass),
            .text(0x0008_0018, "UI", segUID + ".1"),
            .text(0x0008_0060, "CS", "SEG"),
            DICOMElement(0x0008_1115, "SQ", .sequence([[
                .text(0x0020_000E, "UI", seriesUID(series)),
            ]], undefinedLength: true)),
            .text(0x0010_0010, "PN", "DOE^JANE^PLANTED"),
            .text(0x0020_000D, "UI", "1.2.826.0.1.3680043.8.498.30.1"),
            .text(0x0020_000E, "UI", segUID),
            .us(0x0028_0002, 1),
            .text(0x0028_0004, "CS", "MONOCHROME2"),
            .text(0x0028_0008, "IS", String(frames.count)),
            .us(0x0028_0010, UInt16(rows)),
            .us(0x0028_0011, UInt16(frameColumns)),
            .us(0x0028_0100, fractional ? 8 : 1),
            .us(0x0028_0101, fractional ? 8 : 1),
            .us(0x0028_0102, fractional ? 7 : 0),
            .us(0x0028_0103, 0),
            .text(0x0062_0001, "CS", fractional ? "FRACTIONAL" : "BINARY"),
            DICOMElement(0x0062_0002, "SQ", .sequence(segmentNumbers.map { s in [
                .us(0x0062_0004, UInt16(s)),
                .text(0x0062_0005, "LO", "segment \(s)"),
                .text(0x0062_0008, "CS", "MANUAL"),
            ] }, undefinedLength: false)),
            DICOMElement(0x5200_9229, "SQ", .sequence([[
                DICOMElement(0x0020_9116, "SQ", .sequence([[.text(0x0020_0037, "DS", "1\\0\\0\\0\\1\\0")]], undefinedLength: false)),
                DICOMElement(0x0028_9110, "SQ", .sequence([[
                    .text(0x0018_0050, "DS", "2"),
                    .text(0x0028_0030, "DS", "0.7\\0.8"),
                ]], undefinedLength: false)),
            ]], undefinedLength: false)),
            DICOMElement(0x5200_9230, "SQ", .sequence(perFrame, undefinedLength: true)),
            DICOMElement(0x7FE0_0010, "OB", .bytes(pixels)),
        ]
        if fractional {
            elements.append(.us(0x0062_000E, 255))
            elements.append(.text(0x0062_0010, "CS", "PROBABILITY"))
        }
        var b = DICOMBuilder(syntax: .explicitLittle, elements: elements)
        b.sopClassUID = segClass
        b.sopInstanceUID = segUID + ".1"
        return b.encode()
    }

    /// Case folders (name, series number, SEG bytes).
    public static var cases: [(String, Int, [UInt8])] {
        [
            ("binary", 1, segmentation(series: 1, frames: binaryFrames, fractional: false)),
            ("fractional", 2, segmentation(series: 2, frames: fractionalFrames, fractional: true)),
            ("short", 3, segmentation(series: 3, frames: binaryFrames, fractional: false, cut: 4)),
            ("foreign", 4, segmentation(series: 4, frames: binaryFrames, fractional: false, foreignFrame: 1)),
            ("grid", 5, segmentation(series: 5, frames: binaryFrames, fractional: false, frameColumns: 4)),
        ]
    }

    /// Label value of series voxel (x, y, k) in the `listed/` label files.
    public static func listedLabel(x: Int, y: Int, k: Int) -> UInt8 {
        (x + 2 * y + k) % 4 == 0 ? 1 : (x * y + k) % 5 == 0 ? 2 : 0
    }

    /// How each `listed/` case's NIfTI label stores the series grid: for each label axis, the
    /// series axis it runs along and whether backwards; `shift` moves its origin (a mismatch).
    public static let listedCases: [(name: String, axes: [Int], flips: [Bool], shift: Double)] = [
        ("same", [0, 1, 2], [false, false, false], 0),
        ("flipped", [0, 1, 2], [false, true, true], 0),
        ("permuted", [1, 0, 2], [false, false, false], 0),
        ("shifted", [0, 1, 2], [false, false, false], 0.8),
        ("mha-flipped", [0, 1, 2], [false, false, true], 0),
    ]

    /// An MSD-style dataset whose training entries name DICOM series folders with NIfTI labels.
    public static func writeListed(to root: String) throws {
        var entries: [String] = []
        let n = [columns, rows, slices]
        // RAS affine of the series: LPS (−2, −1, z) origin, 0.8 mm between columns, 0.7 between rows, 2 mm slices.
        let seriesColumns: [[Double]] = [[-0.8, 0, 0], [0, -0.7, 0], [0, 0, 2]]
        let seriesOrigin: [Double] = [2, 1, z(0)]
        for (i, c) in listedCases.enumerated() {
            try ctSeries(root + "/series/" + c.name, series: 10 + i)
            let mha = c.name.hasPrefix("mha")
            let file = "labels/\(c.name)" + (mha ? ".mha" : ".nii.gz")
            entries.append("{\"image\": \"./series/\(c.name)\", \"label\": \"./\(file)\"}")
            let ldims = c.axes.map { n[$0] }
            var columnsOut: [[Double]] = []
            var origin = seriesOrigin
            for a in 0..<3 {
                let j = c.axes[a]
                let col = seriesColumns[j].map { c.flips[a] ? -$0 : $0 }
                columnsOut.append(col)
                if c.flips[a] { for r in 0..<3 { origin[r] += seriesColumns[j][r] * Double(n[j] - 1) } }
            }
            origin[0] += c.shift
            var data = [UInt8](repeating: 0, count: columns * rows * slices)
            for k in 0..<slices {
                for y in 0..<rows {
                    for x in 0..<columns {
                        let v = [x, y, k]
                        let li = (0..<3).map { a in c.flips[a] ? n[c.axes[a]] - 1 - v[c.axes[a]] : v[c.axes[a]] }
                        data[li[0] + ldims[0] * (li[1] + ldims[1] * li[2])] = listedLabel(x: x, y: y, k: k)
                    }
                }
            }
            let spacing = c.axes.map { [0.8, 0.7, 2][$0] }
            if mha {
                // MetaImage: LPS world, TransformMatrix = each axis' unit direction in turn, Offset = origin.
                var m = MetaImageBuilder(dims: ldims, elementType: "MET_UCHAR")
                m.spacing = spacing
                m.transform = (0..<3).flatMap { a in (0..<3).map { r in (r < 2 ? -1 : 1) * columnsOut[a][r] / spacing[a] } }
                m.origin = (0..<3).map { r in (r < 2 ? -1 : 1) * origin[r] }
                for (_, bytes) in m.files(name: c.name + ".mha", values: data.map(Double.init)) {
                    try LayoutCorpus.put(bytes, root + "/" + file)
                }
            } else {
                var b = NIfTIBuilder(.nifti1)
                b.setGrid(dims: ldims, pixdim: spacing, datatype: 2, bitpix: 8)
                b.setSform((0..<3).map { r in (0..<3).map { columnsOut[$0][r] } + [origin[r]] })
                try LayoutCorpus.put(Compression.gzip(b.singleFile(data: data)), root + "/" + file)
            }
        }
        try LayoutCorpus.put("{\"name\": \"SeriesWithNIfTILabels\", \"labels\": {\"0\": \"background\", \"1\": \"a\", \"2\": \"b\"}, "
                             + "\"numTraining\": \(listedCases.count), \"training\": [" + entries.joined(separator: ", ") + "]}",
                             root + "/dataset.json")
    }

    public static func write(to root: String) throws {
        for (name, series, seg) in cases {
            try ctSeries(root + "/" + name, series: series)
            try LayoutCorpus.put(seg, root + "/" + name + "/SEG/seg.dcm")
        }
    }
}
