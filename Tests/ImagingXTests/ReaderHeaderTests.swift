@testable import ImagingX
import ImagingXFixtures
import Testing

/// NIfTI, PNG and JPEG readers in two steps, as DICOM's: the parser gives a reader-local header
/// holding what the file says (and the findings), and one `fill` maps it to the record. The
/// record filled from the header must be the one the file reader gives for the same bytes.
@Suite("Reader headers and their one mapping to the record")
struct ReaderHeaderTests {
    /// The record `FileReader` would make before filling it: path and size only.
    static func blank(_ bytes: [UInt8]) -> ImageRecord {
        var r = ImageRecord(path: "fixture")
        r.sizeBytes = bytes.count
        return r
    }

    /// The header as the file reader parses it: sniffed, then the 348- or 540-byte header.
    static func niftiHeader(_ bytes: [UInt8]) throws -> NIfTIHeader {
        try bytes.withUnsafeBytes { all in
            guard let (variant, bigEndian) = NIfTIReader.sniff(all) else {
                throw ParseError(.unsupported, at: 0, "not NIfTI")
            }
            let size = variant == .nifti2 ? 540 : 348
            return try NIfTIReader.parse(UnsafeRawBufferPointer(rebasing: all[0..<size]), variant: variant,
                                         bigEndian: bigEndian)
        }
    }

    static func source(_ bytes: [UInt8]) -> ByteSource {
        let src = ByteSource()
        src.attach(memory: bytes)
        return src
    }

    // MARK: NIfTI

    @Test("NIfTI-1 with pixdim, units, scaling and an sform: the header holds them; fill gives the record")
    func niftiSform() throws {
        var b = NIfTIBuilder(.nifti1)
        b.setGrid(dims: [4, 5, 6], pixdim: [1.5, 2, 3], datatype: 512, bitpix: 16)
        b.set("xyzt_units", [2])  // millimetres
        b.setSform([[-1.5, 0, 0, 10], [0, 2, 0, -20], [0, 0, 3, 30]])
        b.set("scl_slope", [2]); b.set("scl_inter", [-5])
        let bytes = b.singleFile(data: [UInt8](repeating: 0, count: 4 * 5 * 6 * 2))

        let h = try Self.niftiHeader(bytes)
        #expect(h.variant == .nifti1 && h.voxels.bigEndian == false)
        #expect(h.ndim == 3 && h.dims == [4, 5, 6] && h.xyztUnits == 2)
        #expect(h.pixdim == [1.5, 2, 3] && h.spacing == [1.5, 2, 3])
        #expect(h.voxels.type.dtype == .uint16 && h.voxels.datatype == 512 && h.bitpix == 16)
        #expect(h.rescaleSlope == 2 && h.rescaleIntercept == -5)
        #expect(h.affine == Matrix4(rows: [[-1.5, 0, 0, 10], [0, 2, 0, -20], [0, 0, 3, 30], [0, 0, 0, 1]]))
        #expect(h.voxels.voxOffset == 352 && h.voxels.dataBytes == 240 && h.voxels.isPair == false)
        #expect(h.findings.isEmpty, "\(h.findings)")

        var r = Self.blank(bytes)
        NIfTIRecord.fill(&r, from: h, gzip: false)
        #expect(r.format == .nifti1 && r.dims == [4, 5, 6] && r.spacing == [1.5, 2, 3])
        #expect(r.dtype == .uint16 && r.bitsStored == 16 && r.channels == 1 && r.compressed == false)
        #expect(r.rescaleSlope == 2 && r.rescaleIntercept == -5)
        #expect(r.affine?[0, 0] == -1.5 && r.affine?[2, 3] == 30 && r.axcodes == "LAS")
        #expect(r == record(bytes))
    }

    @Test("NIfTI-2 big endian in metres and milliseconds: pixdim as stored, spacing in mm and s")
    func niftiUnits() throws {
        var b = NIfTIBuilder(.nifti2, bigEndian: true)
        b.setGrid(dims: [2, 2, 2, 3], pixdim: [0.001, 0.002, 0.003, 500], datatype: 16, bitpix: 32)
        b.set("xyzt_units", [17])  // metre | msec
        let bytes = b.singleFile(data: [UInt8](repeating: 0, count: 2 * 2 * 2 * 3 * 4))

        let h = try Self.niftiHeader(bytes)
        #expect(h.variant == .nifti2 && h.voxels.bigEndian)
        #expect(h.pixdim == [0.001, 0.002, 0.003, 500])
        #expect(near(h.spacing, [1, 2, 3, 0.5]))
        #expect(h.voxels.voxOffset == 544 && h.voxels.dataBytes == 96)
        #expect(h.findings.map(\.code) == [.noXform])

        var r = Self.blank(bytes)
        NIfTIRecord.fill(&r, from: h, gzip: false)
        #expect(r.format == .nifti2 && r.dtype == .float32 && near(r.spacing, [1, 2, 3, 0.5]))
        #expect(r == record(bytes))
    }

    @Test("NIfTI findings come back in the reader's order, and the record keeps that order")
    func niftiFindingsOrder() throws {
        var b = NIfTIBuilder(.nifti1)
        b.setGrid(dims: [4, 5, 6], pixdim: [0, -2, 3], datatype: 512, bitpix: 8)  // bitpix ≠ 16, pixdim fixed
        b.set("qform_code", [9])  // not an xform code
        let bytes = b.singleFile(data: [UInt8](repeating: 0, count: 240))

        let h = try Self.niftiHeader(bytes)
        #expect(h.pixdim == [1, 2, 3])
        let codes: [FindingCode] = [.bitpixMismatch, .pixdimNonpositive, .spaceUnitsUnknown, .qformCodeInvalid, .noXform]
        #expect(h.findings.map(\.code) == codes)
        // The base affine nibabel builds from pixdim: x flipped, centred.
        #expect(h.affine[0, 0] == -1 && h.affine[0, 3] == 1.5 && h.affine[2, 3] == -7.5)

        var r = Self.blank(bytes)
        NIfTIRecord.fill(&r, from: h, gzip: false)
        #expect(r.findings == h.findings)
        #expect(r == record(bytes))
    }

    @Test("NIfTI: an unreadable header throws from the parser with the offset the record reports")
    func niftiErrors() throws {
        var dt = NIfTIBuilder(.nifti1)
        dt.setGrid(dims: [4, 5, 6], pixdim: [1, 1, 1], datatype: 3, bitpix: 16)
        let bytes = dt.singleFile(data: [UInt8](repeating: 0, count: 240))
        let error = #expect(throws: ParseError.self) { try Self.niftiHeader(bytes) }
        #expect(error?.kind == .unsupported && error?.offset == 70)  // nifti1.h: datatype at byte 70
        let r = record(bytes)
        #expect(r.status == .unsupported && r.errorOffset == 70 && r.format == .nifti1)
    }

    @Test(".nii.gz: the same header, fill marks the record compressed")
    func niftiGzip() throws {
        var b = NIfTIBuilder(.nifti1)
        b.setGrid(dims: [4, 5, 6], pixdim: [1.5, 2, 3], datatype: 512, bitpix: 16)
        b.set("xyzt_units", [2])
        b.setSform([[1.5, 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0]])
        let plain = b.singleFile(data: [UInt8](repeating: 7, count: 240))
        let gz = Compression.gzip(plain)

        let h = try Self.niftiHeader(plain)
        var r = Self.blank(gz)
        NIfTIRecord.fill(&r, from: h, gzip: true)
        #expect(r.compressed == true && r.dims == [4, 5, 6] && r.findings.isEmpty)
        #expect(r == record(gz))
    }

    // MARK: PNG

    @Test("PNG with pHYs: the header holds IHDR and the density; fill gives the record", arguments: [false, true])
    func pngDensity(interlace: Bool) throws {
        let bytes = try RasterBuilder.png(width: 13, height: 7, bitDepth: 16, colorType: 0, interlace: interlace,
                                          pixelsPerMetre: (4000, 2000), pixels: [UInt8](repeating: 0x11, count: 26 * 7))
        let h = try PNGReader.parse(Self.source(bytes))
        #expect(h.width == 13 && h.height == 7 && h.bitDepth == 16 && h.colorType == 0)
        #expect(h.interlaced == interlace && h.hasTransparency == false)
        #expect(h.pixelsPerMetre?.x == 4000 && h.pixelsPerMetre?.y == 2000)
        #expect(h.spacing == [0.25, 0.5])  // 1000 mm / pixels per metre
        #expect(h.findings.isEmpty)

        var r = Self.blank(bytes)
        PNGRecord.fill(&r, from: h)
        #expect(r.format == .png && r.dims == [13, 7] && r.spacing == [0.25, 0.5])
        #expect(r.dtype == .uint16 && r.channels == 1 && r.bitsStored == 16)
        #expect(r.interlaced == interlace && r.compressed == true)
        #expect(r == record(bytes))
    }

    @Test("PNG palette, pHYs without a unit: no density, findings in the reader's order")
    func pngPalette() throws {
        let bytes = try RasterBuilder.png(width: 4, height: 4, bitDepth: 4, colorType: 3, pixelsPerMetre: (1, 2),
                                          aspectOnly: true, paletteSize: 16, pixels: [UInt8](repeating: 0x11, count: 8))
        let h = try PNGReader.parse(Self.source(bytes))
        #expect(h.colorType == 3 && h.bitDepth == 4)
        #expect(h.pixelsPerMetre == nil && h.spacing == nil)
        #expect(h.findings.map(\.code) == [.physAspectOnly, .palette])

        var r = Self.blank(bytes)
        PNGRecord.fill(&r, from: h)
        #expect(r.dtype == .rgb24 && r.channels == 3 && r.spacing == nil)
        #expect(r.findings == h.findings)
        #expect(r == record(bytes))
    }

    @Test("PNG: a bad IHDR CRC throws from the parser at the CRC's byte")
    func pngError() throws {
        var bytes = try RasterBuilder.png(width: 4, height: 4, bitDepth: 8, colorType: 0, pixels: [UInt8](repeating: 0, count: 16))
        bytes[29] ^= 1
        let error = #expect(throws: ParseError.self) { try PNGReader.parse(Self.source(bytes)) }
        #expect(error?.offset == 29 && error?.kind == .malformed)
        let r = record(bytes)
        #expect(r.format == .png && r.errorOffset == 29 && r.dims == nil)
    }

    // MARK: JPEG

    @Test("progressive JPEG with JFIF dots per cm: the header holds SOF and density; fill gives the record")
    func jpegProgressive() throws {
        let bytes = try RasterBuilder.jpeg(width: 8, height: 8, components: 3, progressive: true, densityUnit: 2,
                                           density: (100, 50), pixels: [UInt8](repeating: 50, count: 192))
        let h = try JPEGReader.parse(Self.source(bytes))
        #expect(h.sofMarker == 0xC2 && h.coding == "progressive" && h.isProgressive)
        #expect(h.precision == 8 && h.width == 8 && h.height == 8 && h.components == 3)
        #expect(near(h.millimetresPerPixel?.x, 0.1) && near(h.millimetresPerPixel?.y, 0.2))  // 10 mm / dots per cm
        #expect(near(h.spacing, [0.1, 0.2]))
        #expect(h.findings.isEmpty)

        var r = Self.blank(bytes)
        JPEGRecord.fill(&r, from: h)
        #expect(r.format == .jpeg && r.coding == "progressive" && r.interlaced == true)
        #expect(r.dtype == .rgb24 && r.channels == 3 && r.bitsStored == 8 && r.compressed == true)
        #expect(near(r.spacing, [0.1, 0.2]))
        #expect(r == record(bytes))
    }

    @Test("JPEG 12-bit CMYK frame of DNL height: header facts and findings in the reader's order")
    func jpegFrame() throws {
        let bytes = RasterTests.frame(0xC1, precision: 12, width: 512, height: 0, components: 4)
        let h = try JPEGReader.parse(Self.source(bytes))
        #expect(h.sofMarker == 0xC1 && h.coding == "extended" && !h.isProgressive)
        #expect(h.precision == 12 && h.width == 512 && h.height == 0 && h.components == 4)
        #expect(h.millimetresPerPixel == nil && h.spacing == nil)
        #expect(h.findings.map(\.code) == [.heightInDnl, .cmyk])

        var r = Self.blank(bytes)
        JPEGRecord.fill(&r, from: h)
        #expect(r.dims == [512, 0] && r.dtype == .uint16 && r.bitsStored == 12 && r.interlaced == false)
        #expect(r.findings == h.findings)
        #expect(r == record(bytes))
    }

    @Test("JPEG: a scan before any frame throws from the parser at the marker")
    func jpegError() {
        let bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08]
        let error = #expect(throws: ParseError.self) { try JPEGReader.parse(Self.source(bytes)) }
        #expect(error?.offset == 2 && error?.kind == .malformed)
        let r = record(bytes)
        #expect(r.format == .jpeg && r.errorOffset == 2)
    }
}
