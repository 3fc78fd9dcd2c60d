import Foundation
@testable import ImagingX
import ImagingXFixtures
import Testing

@Suite("NIfTI and Analyze header reader")
struct NIfTITests {
    @Test("field tables are contiguous and match nifti1.h / nifti2.h")
    func layouts() {
        for (layout, size) in [(NIfTILayout.nifti1, 348), (NIfTILayout.nifti2, 540)] {
            var offset = 0
            for f in layout.fields {
                #expect(f.offset == offset, "\(f.name)")
                let width: Int
                switch f.type {
                case .char: width = 1
                case .int16: width = 2
                case .int32, .float32: width = 4
                case .int64, .float64: width = 8
                }
                offset += width * f.count
            }
            #expect(offset == size)
            #expect(layout.size == size)
        }
        // Offsets quoted in nifti1.h and nifti2.h.
        let one: [String: Int] = ["dim": 40, "datatype": 70, "bitpix": 72, "pixdim": 76, "vox_offset": 108,
                                  "scl_slope": 112, "xyzt_units": 123, "qform_code": 252, "quatern_b": 256,
                                  "srow_x": 280, "intent_name": 328, "magic": 344]
        for (name, offset) in one { #expect(NIfTILayout.nifti1.field(name).offset == offset, "\(name)") }
        let two: [String: Int] = ["magic": 4, "datatype": 12, "dim": 16, "pixdim": 104, "vox_offset": 168,
                                  "scl_slope": 176, "qform_code": 344, "srow_x": 400, "xyzt_units": 500, "dim_info": 524]
        for (name, offset) in two { #expect(NIfTILayout.nifti2.field(name).offset == offset, "\(name)") }
    }

    static func volume(_ kind: NIfTIBuilder.Kind, bigEndian: Bool = false) -> NIfTIBuilder {
        var b = NIfTIBuilder(kind, bigEndian: bigEndian)
        b.setGrid(dims: [4, 5, 6], pixdim: [1.5, 2, 3], datatype: 512, bitpix: 16)
        b.set("xyzt_units", [2])
        return b
    }

    @Test("NIfTI-1 and NIfTI-2, both byte orders", arguments: [NIfTIBuilder.Kind.nifti1, .nifti2], [false, true])
    func variants(kind: NIfTIBuilder.Kind, bigEndian: Bool) {
        var b = NIfTITests.volume(kind, bigEndian: bigEndian)
        b.setSform([[-1.5, 0, 0, 10], [0, 2, 0, -20], [0, 0, 3, 30]])
        b.set("scl_slope", [2]); b.set("scl_inter", [-5])
        let r = record(b.singleFile(data: [UInt8](repeating: 0, count: 4 * 5 * 6 * 2)))
        #expect(r.status == .ok, "\(r.error ?? "")")
        #expect(r.format == (kind == .nifti1 ? .nifti1 : .nifti2))
        #expect(r.dims == [4, 5, 6])
        #expect(r.spacing == [1.5, 2, 3])
        #expect(r.dtype == .uint16 && r.bitsStored == 16 && r.channels == 1)
        #expect(r.rescaleSlope == 2 && r.rescaleIntercept == -5)
        #expect(r.affine?[0, 0] == -1.5 && r.affine?[2, 3] == 30)
        #expect(r.axcodes == "LAS")
        #expect(r.compressed == false)
    }

    @Test("qform from the quaternion when sform_code is 0, qfac flips k")
    func qform() {
        var b = NIfTITests.volume(.nifti1)
        // 90° about z: quaternion (cos45, 0, 0, sin45).
        let s = 0.5.squareRoot()
        b.set("qform_code", [1])
        b.set("quatern_b", [0]); b.set("quatern_c", [0]); b.set("quatern_d", [s])
        b.set("qoffset_x", [1]); b.set("qoffset_y", [2]); b.set("qoffset_z", [3])
        b.set("pixdim", [-1], from: 0)
        let r = record(b.singleFile(data: [UInt8](repeating: 0, count: 240)))
        let a = r.affine!
        #expect(near(a[0, 0], 0, tolerance: 1e-6) && near(a[1, 0], 1.5, tolerance: 1e-6))
        #expect(near(a[0, 1], -2, tolerance: 1e-6) && near(a[1, 1], 0, tolerance: 1e-6))
        #expect(near(a[2, 2], -3, tolerance: 1e-6))
        #expect(a[0, 3] == 1 && a[1, 3] == 2 && a[2, 3] == 3)
        #expect(r.axcodes == "ALI")
    }

    @Test("qform and sform that disagree give a finding; the sform wins (nibabel's rule)")
    func mismatch() {
        var b = NIfTITests.volume(.nifti1)
        b.set("qform_code", [1])  // identity quaternion, zero offset
        b.setSform([[1.5, 0, 0, 10], [0, 2, 0, 0], [0, 0, 3, 0]])
        let r = record(b.singleFile(data: [UInt8](repeating: 0, count: 240)))
        #expect(r.findings.contains { $0.code == .qformSformMismatch })
        #expect(r.affine?[0, 0] == 1.5)
    }

    @Test("no xform: nibabel's base affine (x flipped, centred)")
    func baseAffine() {
        let r = record(NIfTITests.volume(.nifti1).singleFile(data: [UInt8](repeating: 0, count: 240)))
        let a = r.affine!
        #expect(a[0, 0] == -1.5 && a[0, 3] == 1.5 * 1.5)
        #expect(a[1, 1] == 2 && a[1, 3] == -4)
        #expect(a[2, 2] == 3 && a[2, 3] == -7.5)
        #expect(r.findings.contains { $0.code == .noXform })
    }

    @Test("pixdim ≤ 0 is read as nibabel reads it and reported")
    func pixdimFix() {
        var b = NIfTITests.volume(.nifti1)
        b.set("pixdim", [0, -2, 3], from: 1)
        let r = record(b.singleFile(data: [UInt8](repeating: 0, count: 240)))
        #expect(r.spacing == [1, 2, 3])
        #expect(r.findings.contains { $0.code == .pixdimNonpositive })
    }

    @Test("units: metres and microns to millimetres, milliseconds to seconds")
    func units() {
        var b = NIfTIBuilder(.nifti1)
        b.setGrid(dims: [2, 2, 2, 3], pixdim: [0.001, 0.002, 0.003, 500], datatype: 16, bitpix: 32)
        b.set("xyzt_units", [17])  // metre | msec
        let r = record(b.singleFile(data: [UInt8](repeating: 0, count: 2 * 2 * 2 * 3 * 4)))
        #expect(near(r.spacing, [1.0, 2.0, 3.0, 0.5], tolerance: 1e-6))
        b.set("xyzt_units", [3])
        b.set("pixdim", [500, 500, 500], from: 1)
        let microns = record(b.singleFile(data: [UInt8](repeating: 0, count: 96)))
        #expect(near(microns.spacing, [0.5, 0.5, 0.5, 500.0], tolerance: 1e-6))
    }

    @Test(".nii.gz: only the header is inflated; ISIZE checks the data length")
    func gzip() {
        var b = NIfTITests.volume(.nifti1)
        b.setSform([[1.5, 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0]])
        let data = [UInt8](repeating: 7, count: 240)
        let r = record(Compression.gzip(b.singleFile(data: data)))
        #expect(r.status == .ok && r.compressed == true && r.dims == [4, 5, 6])
        #expect(r.findings.isEmpty, "\(r.findings)")
        let short = record(Compression.gzip(b.singleFile(data: Array(data.prefix(100)))))
        // Not loadable (nibabel raises): an error record, header fields still filled.
        #expect(short.status == .error && short.errorCode == .truncated && short.dims == [4, 5, 6], "\(short.error ?? "")")
        #expect(short.error?.contains("the gzip stream inflates to") == true)
        // A large stream: the reader still inflates only the header.
        let big = Compression.gzip(b.singleFile(data: []) + [UInt8](repeating: 0, count: 50_000_000))
        let reader = FileReader()
        let rb = reader.read(bytes: big, path: "big.nii.gz")
        #expect(rb.status == .ok)
    }

    @Test("gzip that is not gzip, gzip that is not NIfTI")
    func badGzip() {
        let notDeflate = record([0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 3] + Array("garbage garbage garbage".utf8))
        #expect(notDeflate.status == .error)
        #expect(notDeflate.error?.contains("at byte") == true)
        let notNifti = record(Compression.gzip(Array("hello, world — not a header".utf8)))
        #expect(notNifti.status == .unsupported)
        let cut = Compression.gzip(NIfTITests.volume(.nifti1).singleFile(data: [UInt8](repeating: 1, count: 240)))
        let truncated = record(Array(cut.prefix(20)))
        #expect(truncated.status == .error)
    }

    @Test("absurd dims, negative dims, dim[0] out of range, unknown datatype")
    func badHeaders() {
        var huge = NIfTIBuilder(.nifti2)
        huge.setGrid(dims: [1 << 40, 1 << 40, 1 << 40], pixdim: [1, 1, 1], datatype: 16, bitpix: 32)
        let h = record(huge.singleFile(data: []))
        #expect(h.status == .error && h.error?.contains("more voxels") == true)

        var big = NIfTIBuilder(.nifti1)
        big.setGrid(dims: [32767, 32767, 32767], pixdim: [1, 1, 1], datatype: 64, bitpix: 64)
        let t = record(big.singleFile(data: []))
        #expect(t.status == .error && t.error?.contains("file ends inside voxel data") == true)

        var neg = NIfTITests.volume(.nifti1)
        neg.set("dim", [-4], from: 1)
        #expect(record(neg.singleFile(data: [])).error?.contains("dim[1] is negative") == true)

        var dim0 = NIfTITests.volume(.nifti1)
        dim0.set("dim", [9], from: 0)
        let d0 = record(dim0.singleFile(data: []))
        // dim[0] outside 1…7 fails both the sniff's Analyze check and the reader: an error either way.
        #expect(d0.status != .ok)

        for offset in [-1e30, Double.nan, -1] {
            var vox = NIfTITests.volume(.nifti1)
            vox.set("vox_offset", [offset])
            let r = record(vox.singleFile(data: [UInt8](repeating: 0, count: 240)))
            #expect(r.status == .ok && r.findings.contains { $0.code == .voxOffsetInvalid }, "vox_offset \(offset)")
        }
        var far = NIfTITests.volume(.nifti1)
        far.set("vox_offset", [1e30])
        #expect(record(far.singleFile(data: [UInt8](repeating: 0, count: 240))).error?.contains("voxel data") == true)

        var dt = NIfTITests.volume(.nifti1)
        dt.set("datatype", [3])
        #expect(record(dt.singleFile(data: [UInt8](repeating: 0, count: 240))).status == .unsupported)
    }

    @Test("Analyze: SPM origin (1-based voxel at 0 mm) and SPM2 scaling from gl/cal ranges, as nib.load")
    func spmAnalyze() {
        var b = NIfTITests.volume(.analyze)
        b.setRaw(253, [3, 0, 4, 0, 5, 0])  // origin (3, 4, 5), little endian int16
        b.set("scl_slope", [0])
        b.set("glmax", [110]); b.set("glmin", [10]); b.set("cal_max", [0.8]); b.set("cal_min", [0.2])
        let r = record(b.singleFile(data: [UInt8](repeating: 0, count: 240)))
        let a = r.affine!
        #expect(a[0, 0] == -1.5 && a[0, 3] == 3)  // -(3 - 1) × -1.5
        #expect(a[1, 3] == -6 && a[2, 3] == -12)
        #expect(r.findings.contains { $0.code == .spmOrigin })
        #expect(near(r.rescaleSlope, 0.006, tolerance: 1e-6) && near(r.rescaleIntercept, 0.14, tolerance: 1e-6))
        // An origin outside (−dim, 2·dim) is ignored: centred.
        b.setRaw(253, [0xFF, 0x7F, 4, 0, 5, 0])
        #expect(record(b.singleFile(data: [UInt8](repeating: 0, count: 240))).affine?[0, 3] == 1.5 * 1.5)
    }

    @Test("Analyze 7.5 and NIfTI pairs on disk: the .img beside the .hdr is checked")
    func pairs() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var analyze = NIfTITests.volume(.analyze)
        analyze.set("vox_offset", [0])
        try write(analyze.header, to: dir.appendingPathComponent("a.hdr"))
        try write([UInt8](repeating: 0, count: 240), to: dir.appendingPathComponent("a.img"))
        var pair = NIfTITests.volume(.nifti1)
        pair.setString("magic", "ni1")
        pair.set("vox_offset", [0])
        try write(pair.header, to: dir.appendingPathComponent("p.hdr"))
        try write([UInt8](repeating: 0, count: 100), to: dir.appendingPathComponent("p.img"))
        try write(pair.header, to: dir.appendingPathComponent("lonely.hdr"))

        let reader = FileReader()
        let a = reader.read(fullPath: dir.appendingPathComponent("a.hdr").path, path: "a.hdr")
        #expect(a.status == .ok && a.format == .analyze && a.dims == [4, 5, 6])
        // SPM2's scale factor (funused1 = 1 here), as nib.load reads Analyze.
        #expect(a.rescaleSlope == 1 && a.rescaleIntercept == 0)
        #expect(a.affine?[0, 3] == 1.5 * 1.5, "no SPM origin: centred, x flipped")
        let p = reader.read(fullPath: dir.appendingPathComponent("p.hdr").path, path: "p.hdr")
        #expect(p.format == .nifti1 && p.status == .error)
        #expect(p.error?.contains("p.img") == true)
        let img = reader.read(fullPath: dir.appendingPathComponent("a.img").path, path: "a.img")
        #expect(img.status == .unsupported && img.error?.contains("described by a.hdr") == true)
        let lonely = reader.read(fullPath: dir.appendingPathComponent("lonely.hdr").path, path: "lonely.hdr")
        #expect(lonely.status == .error && lonely.errorCode == .io && lonely.error == "no .img file beside this header at byte 0")
        #expect(lonely.dims != nil && lonely.affine != nil, "the header fields stay filled")
    }
}
