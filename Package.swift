// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ImagingX",
    products: [
        .library(name: "ImagingX", targets: ["ImagingX"]),
        .library(name: "ImagingXFixtures", targets: ["ImagingXFixtures"]),
        .executable(name: "imagingx", targets: ["imagingx"]),
        .executable(name: "make-sample-data", targets: ["make-sample-data"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C libraries from Debian, linked through pkg-config.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", providers: [.apt(["libjpeg-dev"])]),
        // libdeflate: whole-buffer inflate of .nii.gz voxel data (about twice zlib's speed here).
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        // libpng and libjpeg report fatal errors by longjmp (or exit()); Swift cannot setjmp,
        // so the calls that can fail live in this small C target and return error codes.
        .target(
            name: "CImagingCodecs", dependencies: ["CPNG", "CJPEG"],
            linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        // Format readers, the record model and the scanner. One module so the hot parsing
        // loops are optimised together (whole-module) without @inlinable plumbing.
        .target(name: "ImagingX", dependencies: ["CZlib", "CDeflate", "CImagingCodecs"]),
        // Byte-level builders for DICOM, NIfTI, PNG and JPEG fixtures (tests, SampleData, benchmarks).
        .target(name: "ImagingXFixtures", dependencies: ["ImagingX", "CZlib", "CImagingCodecs"]),
        .executableTarget(
            name: "imagingx",
            dependencies: [
                "ImagingX",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(name: "make-sample-data", dependencies: ["ImagingXFixtures"]),
        .testTarget(name: "ImagingXTests", dependencies: ["ImagingX", "ImagingXFixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
