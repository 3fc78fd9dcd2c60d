import Foundation
import ImagingXFixtures

// Regenerates SampleData/ deterministically:      swift run make-sample-data [DIR]
// Writes the generated DICOM conformance corpus:  swift run make-sample-data --dicom-corpus DIR
// Writes one dataset per layout (with faults):   swift run make-sample-data --layout-corpus DIR
// Writes the MetaImage/NRRD conformance corpus: swift run make-sample-data --meta-corpus DIR
// Writes the benchmark corpus (N files a format): swift run make-sample-data --bench-corpus DIR N
// Writes the MetaImage/NRRD speed corpus:      swift run make-sample-data --bench-meta DIR N XxYxZ
// Writes N large (8 MiB) DICOM files:            swift run make-sample-data --bench-large DIR N
// Writes N JPEG Lossless 512×512 CT slices:       swift run make-sample-data --ljpeg-bench DIR N
// Writes the JPEG-LS / JPEG 2000 bench corpus:   swift run make-sample-data --bench-codecs DIR N
let arguments = Array(CommandLine.arguments.dropFirst())
do {
    if arguments.first == "--dicom-corpus", arguments.count == 2 {
        let n = try GeneratedCorpus.writeDICOM(to: arguments[1])
        print("wrote \(n) DICOM files under \(arguments[1])")
    } else if arguments.first == "--series-corpus", arguments.count == 2 {
        let n = try SeriesCorpus.write(to: arguments[1])
        print("wrote \(n) DICOM files (series with planted geometry faults) under \(arguments[1])")
    } else if arguments.first == "--layout-corpus", arguments.count == 2 {
        try LayoutCorpus.write(to: arguments[1])
        print("wrote one dataset per layout (nnunet, nnunet-dataset, msd, datalist, kits, brats, plain, tcia) under \(arguments[1])")
    } else if arguments.first == "--meta-corpus", arguments.count == 2 {
        let n = try MetaCorpus.write(to: arguments[1])
        print("wrote \(n) MetaImage and NRRD files (headers and data files) under \(arguments[1])")
    } else if arguments.first == "--bench-corpus", arguments.count == 3, let count = Int(arguments[2]) {
        try BenchCorpus.write(to: arguments[1], count: count)
        print("wrote \(count) files for each of \(BenchCorpus.formats.joined(separator: ", ")) under \(arguments[1])")
    } else if arguments.first == "--bench-meta", arguments.count == 4, let count = Int(arguments[2]) {
        // --bench-meta DIR N XxYxZ: MetaImage/NRRD and the same volume as .nii/.nii.gz.
        let dims = arguments[3].split(separator: "x").compactMap { Int($0) }
        try BenchCorpus.writeTextHeader(to: arguments[1], count: count, dims: dims)
        print("wrote \(count) files each of mha, mhaz, mhd (+raw), nrrd, nrrdgz, nii, niigz under \(arguments[1])")
    } else if arguments.first == "--bench-large", arguments.count == 3, let count = Int(arguments[2]) {
        try BenchCorpus.writeLarge(to: arguments[1], count: count)
        print("wrote \(count) DICOM files of 8 MiB under \(arguments[1])")
    } else if arguments.first == "--ljpeg-bench", arguments.count == 3, let count = Int(arguments[2]) {
        let bytes = try LosslessJPEGCorpus.writeBench(to: arguments[1], count: count)
        print("wrote \(count) JPEG Lossless DICOM files (\(bytes) decoded sample bytes) under \(arguments[1])")
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
        FileHandle.standardError.write(Data("usage: make-sample-data [DIR] | --dicom-corpus DIR | --series-corpus DIR | --layout-corpus DIR | --meta-corpus DIR | --bench-corpus DIR N | --bench-meta DIR N XxYxZ | --bench-large DIR N | --bench-codecs DIR N | --ljpeg-bench DIR N\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("make-sample-data: \(error)\n".utf8))
    exit(1)
}
