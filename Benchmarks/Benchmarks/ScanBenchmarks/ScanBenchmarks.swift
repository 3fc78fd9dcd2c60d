import Benchmark
import Foundation
import ImagingX
import ImagingXFixtures

// Header scans of a generated corpus: 10,000 files per format (BenchCorpus), written once to
// a temporary folder and page-cached by a warm-up scan before measuring. Each benchmark
// iteration walks one format's folder and scans every file with the library's Scanner,
// serialising JSON records into memory (as `imagingx scan` does, without the write).
let filesPerFormat = Int(ProcessInfo.processInfo.environment["IMAGINGX_BENCH_FILES"] ?? "") ?? 10_000

let corpus: String = {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("imagingx-bench-\(filesPerFormat)").path
    let marker = root + "/.complete"
    if !FileManager.default.fileExists(atPath: marker) {
        try? FileManager.default.removeItem(atPath: root)
        try! BenchCorpus.write(to: root, count: filesPerFormat)
        FileManager.default.createFile(atPath: marker, contents: Data())
    }
    return root
}()

func scan(_ format: String, jobs: Int) -> Int {
    var bytes = 0
    let result = Scanner(jobs: jobs).scan(roots: [corpus + "/" + format], walker: Walker(),
                                          emit: { (chunk: UnsafeRawBufferPointer) in bytes += chunk.count })
    precondition(result.summary.files == filesPerFormat && result.summary.errors == 0, "corpus changed")
    return bytes
}

// Pixel statistics (`scan --stats`) of a corpus of volumes and large images (StatsCorpus).
// Each iteration scans one format's folder; MB/s = decoded[format] / wall time (the corpus's
// decoded sizes are recounted from its records below).
let statsCorpus: (root: String, decoded: [String: Int]) = {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("imagingx-bench-stats").path
    let marker = root + "/.complete"
    if !FileManager.default.fileExists(atPath: marker) {
        try? FileManager.default.removeItem(atPath: root)
        _ = try! StatsCorpus.write(to: root)
        FileManager.default.createFile(atPath: marker, contents: Data())
    }
    var decoded: [String: Int] = [:]
    // Recount from the records so a stale corpus cannot mislead.
    for format in StatsCorpus.formats {
        let entries = Walker().walk([root + "/" + format]).entries
        let reader = FileReader()
        decoded[format] = entries.reduce(0) { total, e in
            let r = reader.read(fullPath: e.fullPath, path: e.path)
            return total + (r.dims ?? []).reduce(1, *) * (r.dtype == .int16 ? 2 : 1)
        }
    }
    return (root, decoded)
}()

func scanStats(_ format: String, jobs: Int) -> Int {
    var bytes = 0
    let result = Scanner(jobs: jobs, batchSize: 64, options: ReadOptions(stats: true))
        .scan(roots: [statsCorpus.root + "/" + format], walker: Walker(),
              emit: { (chunk: UnsafeRawBufferPointer) in bytes += chunk.count })
    precondition(result.summary.errors == 0, "stats corpus has errors")
    return bytes
}

// The index beside the scan (README "Index speed"): a first `index --no-datasets` of one
// format's folder into a new index file, and a pass over the unchanged folder (nothing opened).
let indexFolder = FileManager.default.temporaryDirectory.appendingPathComponent("imagingx-bench-index").path

func index(_ format: String, fresh: Bool) -> Int {
    try? FileManager.default.createDirectory(atPath: indexFolder, withIntermediateDirectories: true)
    let db = indexFolder + "/\(format).sqlite"
    if fresh {
        for suffix in ["", "-wal", "-shm", "-writer.lock"] { try? FileManager.default.removeItem(atPath: db + suffix) }
    }
    var request = IndexRequest(paths: [corpus + "/" + format], database: db)
    request.jobs = 2
    request.datasets = false
    let result = try! Application.index(request)
    precondition(result.roots[0].seen == filesPerFormat, "corpus changed")
    return result.roots[0].read
}

/// What counts as a regression when a run is checked against the committed thresholds
/// (`scripts/bench-check`, `Benchmarks/Thresholds/`, p90 of a run) or against another baseline
/// (p50): wall clock more than 15 % slower at p50, or 40 % at p90 (two runs of one build on this
/// shared 2-core machine differed by up to 35 % at p90), allocations up by more than 5 % (exact,
/// so the sharpest check), peak RSS up by more than 20 %. CPU time (10 ms granularity here) and
/// throughput (wall clock inverted) are left out.
var regressionTolerances: [BenchmarkMetric: BenchmarkThresholds] { [
    .wallClock: .init(relative: [.p50: 15.0, .p90: 40.0]),
    .mallocCountTotal: .init(relative: [.p50: 5.0, .p90: 5.0]),
    .peakMemoryResident: .init(relative: [.p50: 20.0, .p90: 20.0]),
] }

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .peakMemoryResident, .mallocCountTotal],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        scalingFactor: .one,
        maxDuration: .seconds(10),
        maxIterations: 10,
        thresholds: regressionTolerances)

    for format in BenchCorpus.formats {
        for jobs in [1, 2] {
            Benchmark("Scan.\(format).jobs\(jobs)") { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(scan(format, jobs: jobs))
                }
            }
        }
    }
    for format in ["dicom", "nii"] {
        Benchmark("Index.first.\(format).jobs2") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(index(format, fresh: true))
            }
        }
        Benchmark("Index.unchanged.\(format).jobs2") { benchmark in
            _ = index(format, fresh: true)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(index(format, fresh: false))
            }
        }
    }
    for format in StatsCorpus.formats {
        for jobs in [1, 2] {
            Benchmark("Stats.\(format).jobs\(jobs)",
                      configuration: .init(scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 10,
                                           thresholds: regressionTolerances)) { benchmark in
                for _ in benchmark.scaledIterations {
                    blackHole(scanStats(format, jobs: jobs))
                }
            }
        }
    }
}
