import Foundation
import ImagingX
import ImagingXFixtures
import Testing

/// The shared typed values and tables that replaced strings and copies: one CSV quoter, one NIfTI
/// datatype table, one DType, one DICOM affine builder.
@Suite("Typed values")
struct TypedValuesTests {
    @Test("CSV quoter: comma, quote, CR and LF are quoted (RFC 4180 §2.6), inner quotes doubled", arguments: [
        ("plain", "plain"),
        ("", ""),
        ("a,b", "\"a,b\""),
        ("say \"hi\"", "\"say \"\"hi\"\"\""),
        ("line\rbreak", "\"line\rbreak\""),
        ("line\nbreak", "\"line\nbreak\""),
        ("crlf\r\nend", "\"crlf\r\nend\""),
        ("tab\tand ;", "tab\tand ;"),
    ])
    func csvField(input: String, expected: String) {
        #expect(CSV.field(input) == expected)
        var out: [UInt8] = []
        CSV.appendField(input, to: &out)
        #expect(out == Array(expected.utf8))
    }

    @Test("CSV row: fields joined by commas, ended by LF")
    func csvRow() {
        var out: [UInt8] = []
        CSV.appendRow(["a", "b,c", "", "d\re"], to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "a,\"b,c\",,\"d\re\"\n")
    }

    @Test("plan.csv quotes a field holding a CR")
    func planCSVQuotesCR() throws {
        let (root, _) = try FingerprintTests.makeDataset("plan-cr", count: 2)
        let (info, cases) = Fingerprinter.summarizeFolder(root, jobs: 1)
        let name = "site\r1"
        let plan = Planner.plan([Planner.Input(name: name, info: info, cases: cases, modality: .ct)], target: [0.8, 0.8, 2.5])
        let ref = Exporter.DatasetRef(name: name, root: root, fingerprint: Fingerprinter.reduce(cases, info: info),
                                      catalog: nil, modality: .ct)
        let out = try temporaryDirectory("plan-cr-export").path
        _ = try Exporter.write(plan, datasets: [ref], to: out)
        let csv = try String(decoding: Data(contentsOf: URL(fileURLWithPath: out + "/plan.csv")), as: UTF8.self)
        let rows = csv.utf8.split(separator: 0x0A).dropFirst()
        #expect(rows.count == 2)
        #expect(rows.allSatisfy { String(decoding: $0, as: UTF8.self).hasPrefix("\"site\r1\",case_") })
    }

    @Test("affine builder: oblique cosines × spacing, slice step, origin; LPS → RAS+ negates x and y")
    func obliqueAffine() {
        // Rows along patient x; columns tilted 20° from y towards z (PS3.3 §C.7.6.2.1.1).
        let t = 20 * Double.pi / 180
        let row = [1.0, 0, 0], col = [0.0, cos(t), sin(t)]
        let normal = PatientGeometry.sliceNormal(row: row, column: col)
        #expect(normal.enumerated().allSatisfy { near($1, [0, -sin(t), cos(t)][$0], tolerance: 1e-15) })
        let m = PatientGeometry.affine(row: row, column: col, spacing: [0.5, 0.75], sliceStep: normal.map { $0 * 2.5 },
                                       origin: [10, 20, 30])
        let expected: [[Double]] = [
            [-0.5, 0, 0, -10],
            [0, -0.75 * cos(t), 2.5 * sin(t), -20],
            [0, 0.75 * sin(t), 2.5 * cos(t), 30],
            [0, 0, 0, 1],
        ]
        #expect(m.isClose(to: Matrix4(rows: expected), tolerance: 1e-12), "\(m.flat)")
        #expect(m.axcodes == "LPS")
        // Voxel (i, j, k) = (2, 3, 1) lands at S + 2·0.5·row + 3·0.75·col + 2.5·normal, in RAS+.
        let origin: [Double] = [10, 20, 30]
        let lps: [Double] = (0..<3).map { a in
            let inPlane: Double = 1.0 * row[a] + 2.25 * col[a]
            return origin[a] + inPlane + 2.5 * normal[a]
        }
        let ras: [Double] = (0..<3).map { a in
            let ij: Double = m[a, 0] * 2 + m[a, 1] * 3
            return ij + m[a, 2] + m[a, 3]
        }
        #expect(near(ras[0], -lps[0]) && near(ras[1], -lps[1]) && near(ras[2], lps[2]))
    }

    @Test("orthonormality: the file finding at 1e-3 (GDCM), the series flag at 0.01 (IDC)")
    func orthonormality() {
        let file = PatientGeometry.fileCosineTolerance, series = PatientGeometry.seriesCosineTolerance
        #expect(file == 1e-3 && series == 0.01)
        let t = 20 * Double.pi / 180
        #expect(PatientGeometry.orthonormality(row: [1, 0, 0], column: [0, cos(t), sin(t)]).isOrthonormal(tolerance: file))
        // Cosines written with 4 decimals (DS) pass both.
        #expect(PatientGeometry.orthonormality(row: [1, 0, 0], column: [0, 0.9397, 0.3420]).isOrthonormal(tolerance: file))
        // A 0.5% skew: the file is warned about, the series still counts as orthogonal.
        let skewed = PatientGeometry.orthonormality(row: [1, 0.005, 0], column: [0, 1, 0])
        #expect(!skewed.isOrthonormal(tolerance: file) && skewed.isOrthonormal(tolerance: series))
        let long = PatientGeometry.orthonormality(row: [1, 0, 0], column: [0, 1.011, 0])
        #expect(!long.isOrthonormal(tolerance: series))
        // Through the reader: the skewed header carries the finding and keeps its affine.
        var spec = CTSliceSpec()
        spec.orientation = [1, 0.005, 0, 0, 1, 0]
        let r = record(DICOMFixtures.ctSlice(spec: spec))
        #expect(r.findings.contains { $0.code == .orientationNotOrthonormal } && r.affine != nil)
    }

    @Test("DType: raw values are the output strings; kind, bits, bytes, channels", arguments: DType.allCases)
    func dtypeProperties(_ t: DType) throws {
        #expect(DType(rawValue: t.rawValue) == t)
        // Exactly one of integer, float, complex.
        #expect([t.isInteger, t.isFloat, t.isComplex].filter { $0 }.count == 1)
        #expect(t.isFloat == t.rawValue.hasPrefix("float"))
        #expect(t.isComplex == t.rawValue.hasPrefix("complex"))
        // The name's number is the bit count (bit: 1).
        #expect(t.bits == (Int(t.rawValue.filter(\.isNumber)) ?? 1))
        if t == .bit { #expect(t.bytes == nil) } else { #expect(t.bytes == t.bits / 8) }
        #expect(t.channelsPerValue == (t == .rgb24 ? 3 : t == .rgba32 ? 4 : 1))
        if let kind = t.sampleKind {
            #expect(kind.isFloat == t.isFloat && t.bits == kind.size * 8 * t.channelsPerValue)
        } else {
            #expect(t == .bit || t.isComplex || t == .float128)
        }
        // JSON: the raw string, as the record writer prints it.
        let encoded = try JSONEncoder().encode([t])
        #expect(String(decoding: encoded, as: UTF8.self) == "[\"\(t.rawValue)\"]")
        #expect(try JSONDecoder().decode([DType].self, from: encoded) == [t])
    }

    @Test("DType: strings that are not dtypes are refused")
    func dtypeUnknown() {
        for s in ["", "unknown", "UINT8", "float", "float16", "rgb", "uint12"] { #expect(DType(rawValue: s) == nil) }
        #expect(DType.uint8.isInteger && !DType.uint8.isColour && DType.rgba32.isColour && DType.rgba32.isInteger)
    }

    /// nifti1.h: code, dtype, bits per voxel (what `bitpix` should say).
    static let niftiCodes: [(Int, DType, Int)] = [
        (1, .bit, 1), (2, .uint8, 8), (4, .int16, 16), (8, .int32, 32), (16, .float32, 32), (32, .complex64, 64),
        (64, .float64, 64), (128, .rgb24, 24), (256, .int8, 8), (512, .uint16, 16), (768, .uint32, 32),
        (1024, .int64, 64), (1280, .uint64, 64), (1536, .float128, 128), (1792, .complex128, 128),
        (2048, .complex256, 256), (2304, .rgba32, 32),
    ]

    @Test("NIfTI datatype table: every nifti1.h code maps to its dtype, bits, channels and sample kind")
    func niftiTable() throws {
        #expect(NIfTIDataType.all.map(\.code) == Self.niftiCodes.map(\.0))
        for (code, dtype, bits) in Self.niftiCodes {
            let t = try #require(NIfTIDataType(code: code))
            #expect(t.code == code && t.dtype == dtype && t.bits == bits, "code \(code)")
            #expect(t.channels == (code == 128 ? 3 : code == 2304 ? 4 : 1))
            #expect(t.bytes == (code == 1 ? nil : bits / 8))
        }
        // What the decoder reads: colour as 8-bit channels; no kind for binary, complex, float128.
        let kinds = Dictionary(uniqueKeysWithValues: NIfTIDataType.all.map { ($0.code, $0.sampleKind) })
        #expect(kinds[2]! == .uint8 && kinds[128]! == .uint8 && kinds[2304]! == .uint8)
        #expect(kinds[4]! == .int16 && kinds[256]! == .int8 && kinds[1280]! == .uint64 && kinds[64]! == .float64)
        for code in [1, 32, 1536, 1792, 2048] { #expect(kinds[code]! == nil, "code \(code)") }
    }

    @Test("NIfTI datatype table: unknown codes are refused, and the reader reports them as unsupported",
          arguments: [0, 3, 6, 17, 255, 1000, 2305, 4096, -2])
    func niftiUnknownCode(_ code: Int) {
        #expect(NIfTIDataType(code: code) == nil)
        var b = NIfTIBuilder(.nifti1)
        b.setGrid(dims: [2, 2, 2], pixdim: [1, 1, 1], datatype: code, bitpix: 8)
        let r = record(b.singleFile(data: Array(repeating: 0, count: 8)))
        #expect(r.status == .unsupported && r.dtype == nil)
        #expect(r.error?.contains("unknown NIfTI datatype code \(code)") == true, "\(r.error ?? "no error")")
    }
}
