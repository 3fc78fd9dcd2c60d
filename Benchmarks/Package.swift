// swift-tools-version:6.1
import PackageDescription

// Benchmarks live in their own package so the main build never pays for package-benchmark.
// Run from this folder: swift package benchmark   (see the README's Speed section)
let package = Package(
    name: "ImagingXBenchmarks",
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "ImagingX", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "ScanBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ImagingX", package: "ImagingX"),
                .product(name: "ImagingXFixtures", package: "ImagingX"),
            ],
            path: "Benchmarks/ScanBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
    ],
    swiftLanguageModes: [.v6]
)
