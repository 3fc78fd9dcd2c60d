import Foundation
import ImagingX
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
        let plan = Planner.plan([Planner.Input(name: name, info: info, cases: cases, modality: "CT")], target: [0.8, 0.8, 2.5])
        let ref = Exporter.DatasetRef(name: name, root: root, fingerprint: Fingerprinter.reduce(cases, info: info),
                                      catalog: nil, modality: "CT")
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

    @Test("orthonormality: one tolerance (1e-3) for the file finding and the series check")
    func orthonormality() {
        let t = 20 * Double.pi / 180
        #expect(PatientGeometry.orthonormality(row: [1, 0, 0], column: [0, cos(t), sin(t)]).isOrthonormal())
        // Cosines written with 4 decimals (DS) are within 1e-3; a 0.5% skew is not.
        #expect(PatientGeometry.orthonormality(row: [1, 0, 0], column: [0, 0.9397, 0.3420]).isOrthonormal())
        let skewed = PatientGeometry.orthonormality(row: [1, 0.005, 0], column: [0, 1, 0])
        #expect(!skewed.isOrthonormal() && skewed.isOrthonormal(tolerance: 0.01))
        #expect(!PatientGeometry.orthonormality(row: [1, 0, 0], column: [0, 1.01, 0]).isOrthonormal())
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
}
