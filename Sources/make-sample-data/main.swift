import Foundation
import ImagingXFixtures

// Regenerates SampleData/ deterministically:      swift run make-sample-data [DIR]
// Writes the generated DICOM conformance corpus:  swift run make-sample-data --dicom-corpus DIR
// Writes the benchmark corpus (N files a format): swift run make-sample-data --bench-corpus DIR N
// Writes N large (8 MiB) DICOM files:            swift run make-sample-data --bench-large DIR N
// Writes the JPEG-LS / JPEG 2000 bench corpus:   swift run make-sample-data --bench-codecs DIR N
let arguments = Array(CommandLine.arguments.dropFirst())
do {
    if arguments.first == "--dicom-corpus", arguments.count == 2 {
        let n = try GeneratedCorpus.writeDICOM(to: arguments[1])
        print("wrote \(n) DICOM files under \(arguments[1])")
    } else if arguments.first == "--series-corpus", arguments.count == 2 {
        let n = try SeriesCorpus.write(to: arguments[1])
        print("wrote \(n) DICOM files (series with planted geometry faults) under \(arguments[1])")
    } else if arguments.first == "--bench-corpus", arguments.count == 3, let count = Int(arguments[2]) {
        try BenchCorpus.write(to: arguments[1], count: count)
        print("wrote \(count) files for each of \(BenchCorpus.formats.joined(separator: ", ")) under \(arguments[1])")
    } else if arguments.first == "--bench-large", arguments.count == 3, let count = Int(arguments[2]) {
        try BenchCorpus.writeLarge(to: arguments[1], count: count)
        print("wrote \(count) DICOM files of 8 MiB under \(arguments[1])")
    } else if arguments.first == "--bench-codecs", arguments.count == 3, let count = Int(arguments[2]) {
        let files = try CodecFixtures.benchCorpus(count: count)
        for f in files {
            let folder = URL(fileURLWithPath: arguments[1]).appendingPathComponent(f.folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(f.bytes).write(to: folder.appendingPathComponent(f.name))
        }
        print("wrote \(files.count) JPEG-LS / JPEG 2000 files under \(arguments[1])")
    } else if arguments.count <= 1, arguments.first?.hasPrefix("-") != true {
        let root = arguments.first ?? "SampleData"
        let written = try SampleData.write(to: root)
        print("wrote \(written.files) files (\(written.bytes) bytes) under \(root)")
    } else {
        FileHandle.standardError.write(Data("usage: make-sample-data [DIR] | --dicom-corpus DIR | --series-corpus DIR | --bench-corpus DIR N | --bench-large DIR N | --bench-codecs DIR N\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("make-sample-data: \(error)\n".utf8))
    exit(1)
}
