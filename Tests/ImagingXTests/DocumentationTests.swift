import Foundation
import ImagingX
import Testing

@Suite("README lists every code the records can carry")
struct DocumentationTests {
    static var readme: String {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
    }

    @Test("every finding code and every error code appears in the README's record section")
    func codes() throws {
        let text = DocumentationTests.readme
        let start = try #require(text.range(of: "## The record"))
        let end = try #require(text.range(of: "## What counts as bad input"))
        let section = String(text[start.upperBound..<end.lowerBound])
        for code in FindingCode.allCases {
            #expect(section.contains("`\(code.rawValue)`"), "finding code \(code.rawValue) is not in the README")
        }
        for kind in ParseError.Kind.allCases {
            #expect(section.contains("`\(kind.rawValue)`"), "error code \(kind.rawValue) is not in the README")
        }
        for column in ["error_code", "error_offset", "device", "inode", "mtime_ns", "ctime_ns"] {
            #expect(section.contains("`\(column)`"), "\(column) is not in the README")
        }
    }
}
