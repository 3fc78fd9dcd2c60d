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
}
