// swift-tools-version:6.1
import PackageDescription

// A libFuzzer target over every header reader (FileReader.read(bytes:)). Build and run:
//   cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
//   .build/release/FuzzHeaders -max_total_time=300 -max_len=65536 corpus/
// (see the README's "What counts as bad input").
let package = Package(
    name: "ImagingXFuzz",
    dependencies: [.package(name: "ImagingX", path: "..")],
    targets: [
        .executableTarget(name: "FuzzHeaders", dependencies: [.product(name: "ImagingX", package: "ImagingX")]),
    ],
    swiftLanguageModes: [.v6]
)
