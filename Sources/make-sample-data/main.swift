import Foundation
import ImagingXFixtures

// Regenerates SampleData/ deterministically: `swift run make-sample-data [DIR]`.
let root = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "SampleData"
do {
    let written = try SampleData.write(to: root)
    print("wrote \(written.files) files (\(written.bytes) bytes) under \(root)")
} catch {
    FileHandle.standardError.write(Data("make-sample-data: \(error)\n".utf8))
    exit(1)
}
