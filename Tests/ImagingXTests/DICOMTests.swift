@testable import ImagingX
import ImagingXFixtures
import Testing

@Suite("DICOM header reader")
struct DICOMTests {
    static let allSyntaxes: [DICOMSyntax] = [.implicitLittle, .explicitLittle, .explicitBig, .deflatedExplicitLittle]

    @Test("every uncompressed transfer syntax gives the same record", arguments: allSyntaxes)
    func syntaxes(_ syntax: DICOMSyntax) {
        var spec = CTSliceSpec()
        spec.columns = 20
        spec.rows = 10
        spec.pixelSpacing = (0.5, 0.25)
        spec.position = [-100, -50, 12.5]
        let r = record(DICOMFixtures.ctSlice(syntax: syntax, spec: spec))
        #expect(r.status == .ok, "\(r.error ?? "")")
        #expect(r.format == .dicom)
        #expect(r.transferSyntax == syntax.uid)
        #expect(r.dims == [20, 10])
        // Spacing is [column spacing, row spacing] = [PixelSpacing[1], PixelSpacing[0]].
        #expect(r.spacing == [0.25, 0.5])
        #expect(r.dtype == .int16)
        #expect(r.bitsStored == 12)
        #expect(r.channels == 1)
        #expect(r.modality == "CT")
        #expect(r.sopClassUID == "1.2.840.10008.5.1.4.1.1.2")
        #expect(r.compressed == false)
        #expect(r.rescaleSlope == 1)
        #expect(r.rescaleIntercept == -1024)
        #expect(r.axcodes == "LPS")
        // Axial identity orientation: RAS = (-x, -y, z) of LPS.
        let a = r.affine!
        #expect(a[0, 0] == -0.25 && a[1, 1] == -0.5 && a[2, 2] == 2.5)
        #expect(a[0, 3] == 100 && a[1, 3] == 50 && a[2, 3] == 12.5)
        #expect(r.seriesKey == String(SHA256.hex(Array(spec.seriesUID.utf8)).prefix(32)))
    }

    @Test("preamble-less datasets, with and without file meta")
    func preambleless() {
        for syntax in [DICOMSyntax.implicitLittle, .explicitLittle, .explicitBig] {
            let bare = record(DICOMFixtures.ctSlice(syntax: syntax, preamble: false, fileMeta: false))
            #expect(bare.status == .ok, "\(syntax): \(bare.error ?? "")")
            #expect(bare.transferSyntax == syntax.uid, "inferred syntax for \(syntax)")
            #expect(bare.findings.contains { $0.code == .noFileMeta })
            #expect(bare.dims == [64, 64])
            let metaOnly = record(DICOMFixtures.ctSlice(syntax: syntax, preamble: false, fileMeta: true))
            #expect(metaOnly.status == .ok && metaOnly.dims == [64, 64])
        }
    }

    @Test("oblique orientation: affine columns are the direction cosines times spacing, LPS → RAS")
    func obliqueAffine() {
        let spec = SampleData.ctSlice(3, of: 12)
        let r = record(DICOMFixtures.ctSlice(spec: spec))
        let a = r.affine!
        let col = Array(spec.orientation[3..<6])
        for axis in 0..<3 {
            let sign: Double = axis < 2 ? -1 : 1
            #expect(near(a[axis, 0], sign * spec.orientation[axis] * spec.pixelSpacing.column))
            #expect(near(a[axis, 1], sign * col[axis] * spec.pixelSpacing.row))
            #expect(near(a[axis, 3], sign * spec.position[axis]))
        }
        #expect(r.axcodes == "LPS")
    }

    @Test("enhanced multi-frame: geometry from the shared functional groups", arguments: [false, true])
    func enhancedShared(undefined: Bool) {
        let r = record(DICOMFixtures.enhancedMultiFrame(frames: 5, undefinedLengths: undefined))
        #expect(r.status == .ok, "\(r.error ?? "")")
        #expect(r.dims == [32, 24, 5])
        #expect(r.spacing == [0.625, 0.5, 1.5])
        #expect(r.rescaleSlope == 2 && r.rescaleIntercept == -1024)
        // Sagittal, IOP 0\1\0\0\0\-1 (LPS): i runs to +y (posterior), j to −z (inferior),
        // k = i × j to −x (right).
        #expect(r.affine != nil)
        #expect(r.axcodes == "PIR")
        // Position from the first per-frame item.
        #expect(r.affine![0, 3] == 10 && r.affine![1, 3] == 20 && r.affine![2, 3] == 30)
    }

    @Test("enhanced multi-frame without shared geometry: first per-frame item")
    func enhancedPerFrame() {
        let r = record(DICOMFixtures.enhancedMultiFrame(frames: 3, undefinedLengths: false, perFrameOnly: true))
        #expect(r.status == .ok)
        #expect(r.spacing == [0.625, 0.5, 1.5])
        #expect(r.rescaleSlope == 2)
        #expect(r.axcodes == "PIR")
    }

    @Test("a 10,000-frame SEG is read from its first per-frame item")
    func largeSegmentation() {
        let bytes = DICOMFixtures.segmentation(frames: 10_000)
        let r = record(bytes)
        #expect(r.status == .ok, "\(r.error ?? "")")
        #expect(r.dims == [64, 64, 10_000])
        #expect(r.dtype == .bit)
        #expect(r.modality == "SEG")
        #expect(r.sopClassUID == "1.2.840.10008.5.1.4.1.1.66.4")
        #expect(r.spacing == [0.625, 0.5, 1.5])
    }

    @Test("non-image objects and DICOMDIR have a SOP class and no image fields")
    func nonImage() {
        let sr = record(DICOMFixtures.structuredReport())
        #expect(sr.status == .ok)
        #expect(sr.sopClassUID == "1.2.840.10008.5.1.4.1.1.88.11")
        #expect(sr.modality == "SR")
        #expect(sr.dims == nil && sr.spacing == nil && sr.dtype == nil && sr.affine == nil)
        #expect(sr.findings.contains { $0.code == .noImage })

        var dir = DICOMBuilder(syntax: .explicitLittle, elements: [
            DICOMElement(0x0004_1220, "SQ", .sequence([[.text(0x0004_1430, "CS", "PATIENT"), .text(0x0010_0010, "PN", "DIR^PLANTED")]], undefinedLength: true)),
        ])
        dir.sopClassUID = "1.2.840.10008.1.3.10"
        let d = record(dir.encode())
        #expect(d.status == .ok)
        #expect(d.sopClassUID == "1.2.840.10008.1.3.10")
        #expect(d.dims == nil)
        #expect(!json(d).contains("PLANTED"))
    }

    @Test("encapsulated pixel data is recognised as compressed")
    func encapsulated() throws {
        let jpeg = try RasterBuilder.jpeg(width: 16, height: 8, components: 3, pixels: [UInt8](repeating: 90, count: 16 * 8 * 3))
        let r = record(DICOMFixtures.encapsulated(frame: jpeg, columns: 16, rows: 8))
        #expect(r.status == .ok)
        #expect(r.compressed == true)
        #expect(r.transferSyntax == "1.2.840.10008.1.2.4.50")
        #expect(r.dtype == .rgb24 && r.channels == 3)
        #expect(r.photometric == "YBR_FULL_422")
    }

    @Test("nesting is bounded: 32 levels read, 40 refused with an offset")
    func nesting() {
        let ok = record(DICOMFixtures.deeplyNested(depth: 30))
        #expect(ok.status == .ok, "\(ok.error ?? "")")
        let deep = DICOMFixtures.deeplyNested(depth: 40)
        let r = record(deep)
        #expect(r.status == .error)
        #expect(r.error?.contains("nested deeper") == true)
        let defined = record(DICOMFixtures.deeplyNested(depth: 40, undefinedLengths: false))
        // Defined-length sequences that hold nothing wanted are skipped whole, never entered.
        #expect(defined.status == .ok)
    }

    @Test("absurd grid attributes never trap: the pixel-size check saturates")
    func absurdGrid() {
        var b = DICOMBuilder(syntax: .explicitLittle, elements: [
            .text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
            .us(0x0028_0002, 65535),
            .text(0x0028_0008, "IS", "999999999999999"),
            .us(0x0028_0010, 65535),
            .us(0x0028_0011, 65535),
            .us(0x0028_0100, 64),
            DICOMElement(0x7FE0_0010, "OW", .bytes([0, 0, 0, 0])),
        ])
        b.preamble = true
        let r = record(b.encode())
        #expect(r.dims == [65535, 65535, 999_999_999_999_999])
        #expect(r.status == .error && r.errorCode == .truncated && r.error?.contains("Pixel Data holds 4 bytes") == true)
    }

    @Test("lengths past the end of the file are errors with the offset")
    func lengthPastEOF() {
        var bytes = DICOMFixtures.ctSlice(withPixels: false)
        // Append an element whose declared length runs far past the end.
        bytes += [0x09, 0x00, 0x10, 0x10, 0x4C, 0x4F, 0xFF, 0x7F]  // (0009,1010) LO length 32767
        bytes += Array("short".utf8) + [0x20]
        let r = record(bytes)
        #expect(r.status == .error)
        #expect(r.error?.contains("(0009,1010)") == true)
        #expect(r.error?.contains("at byte \(bytes.count - 6)") == true)
    }

    @Test("a file that declares explicit VR but is written implicit is read as pydicom reads it")
    func vrMismatch() {
        let explicitUID = Array("1.2.840.10008.1.2.1\0".utf8)
        var meta = DICOMBuilder(syntax: .explicitLittle, elements: [])
        meta.preamble = true
        let header = meta.encode()
        var body: [UInt8] = []
        for e in CTSliceSpec().elements(pixels: [Int16](repeating: 0, count: 64 * 64)).sorted(by: { $0.tag < $1.tag }) {
            DICOMBuilder.write(e, explicit: false, bigEndian: false, to: &body)
        }
        let bytes = header + body
        #expect(header.firstRange(of: explicitUID) != nil)
        let r = record(bytes)
        #expect(r.status == .ok, "\(r.error ?? "")")
        #expect(r.dims == [64, 64])
        #expect(r.findings.contains { $0.code == .vrEncodingMismatch })
    }

    @Test("identity attributes never reach the record")
    func privacy() {
        let spec = CTSliceSpec()
        for syntax in DICOMTests.allSyntaxes {
            let text = json(record(DICOMFixtures.ctSlice(syntax: syntax, spec: spec)))
            for value in spec.identityValues {
                #expect(!text.contains(value), "\(syntax) leaks \(value)")
            }
        }
        let mf = json(record(DICOMFixtures.enhancedMultiFrame(frames: 2, undefinedLengths: true)))
        #expect(!mf.contains("PLANTED"))
        #expect(!mf.contains("1.2.826.0.1.3680043.8.498.77.1"))
    }

    @Test("decimal strings: plain, signed, exponent, padded")
    func decimals() {
        func parse(_ s: String) -> Double? {
            Array(s.utf8).withUnsafeBytes { DICOMParser.parseDecimal($0) }
        }
        #expect(parse("0.703125") == 0.703125)
        #expect(parse("-1024") == -1024)
        #expect(parse("+2.5") == 2.5)
        #expect(parse("1e-3") == 0.001)
        #expect(parse("3.14159265358979323846") == 3.14159265358979323846)
        #expect(parse("abc") == nil)
    }
}
