// swift-tools-version:6.1
import PackageDescription

// Layers run one way; each target depends only on those below it (scripts/check-layers fails the
// test run when a lower target imports a higher one):
//
//   ImagingXBytes     bytes, errors, inflate, the file walker's I/O helpers
//   ImagingXModel     the record model (Codable, Sendable) and its JSONL/CSV sinks
//   ImagingXFormats   header readers: DICOM, NIfTI/Analyze, PNG/JPEG, MetaImage, NRRD
//   ImagingXPixels    decoders, volumes, statistics accumulators, the one-file reader
//   ImagingXScan      walker and the one worker pool (typed records, cancellation, progress)
//   ImagingXRemote    S3-compatible object storage: SigV4, ListObjectsV2, header reads by HTTP Range
//                     (AsyncHTTPClient; SigV4 with our own SHA-256/HMAC)
//   ImagingXDatasets  series assembly, cases and layouts, fingerprints, voxel hashes
//   ImagingXMDFP      catalog, compatibility, plans and exports
//   ImagingXIndex     the persistent index: SQLite through GRDB (schema, migrations, incremental writes),
//                     and the store protocol the file pass of `index` and `export` write and read through
//   ImagingXIndexPostgres  the same index on PostgreSQL (postgres-nio): shard writers sharing one database
//   ImagingX          application: typed requests → typed results (scan, series, fingerprint,
//                     compat, plan, catalog); re-exports the layers below
//   ImagingXService   the HTTP service (Hummingbird 2): routes parse, call ImagingX, write JSON; the portal's files
//   imagingx          the CLI: parses arguments, calls ImagingX (and ImagingXService for `serve`), prints
// The hot loops cross targets (parsers read through ImagingXBytes' ByteSource, the JSON writer
// appends to its ByteBuffer, readers build Matrix4s): those per-element paths are @inlinable, and
// release builds also optimise across modules (~1 % more on a header scan). Runtime exclusivity
// checks are off in release: every reader, buffer and accumulator has one owner by construction
// (the worker pool hands each to one thread), and the access markers cost ~2 % of a header scan
// once they crossed targets. Measured against the single-target build with callgrind: README,
// "Before and after the layer split".
let release: [SwiftSetting] = [
    .unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

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
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C libraries from Debian, linked through pkg-config.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", providers: [.apt(["libjpeg-dev"])]),
        // libdeflate: whole-buffer inflate of .nii.gz voxel data (about twice zlib's speed here).
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        // libbz2: NRRD `encoding: bzip2` (Debian ships no pkg-config file: the module map links "bz2").
        .systemLibrary(name: "CBzip2", providers: [.apt(["libbz2-dev"])]),
        // JPEG-LS (CharLS 2.4) and JPEG 2000 / HTJ2K (OpenJPEG 2.5), called from CImagingCodecs.
        .systemLibrary(name: "CCharLS", pkgConfig: "charls", providers: [.apt(["libcharls-dev"])]),
        .systemLibrary(name: "COpenJPEG", pkgConfig: "libopenjp2", providers: [.apt(["libopenjp2-7-dev"])]),
        // libpng and libjpeg report fatal errors by longjmp (or exit()); Swift cannot setjmp,
        // so the calls that can fail live in this small C target and return error codes.
        .target(
            name: "CImagingCodecs", dependencies: ["CPNG", "CJPEG", "CCharLS", "COpenJPEG"],
            linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg"), .linkedLibrary("charls"),
                             .linkedLibrary("openjp2")]),

        .target(name: "ImagingXBytes", dependencies: ["CZlib"], swiftSettings: release),
        .target(name: "ImagingXModel", dependencies: ["ImagingXBytes"], swiftSettings: release),
        .target(name: "ImagingXFormats", dependencies: ["ImagingXModel", "CZlib"], swiftSettings: release),
        .target(
            name: "ImagingXPixels", dependencies: ["ImagingXFormats", "CZlib", "CDeflate", "CImagingCodecs", "CBzip2"],
            swiftSettings: release),
        .target(name: "ImagingXScan", dependencies: ["ImagingXPixels"], swiftSettings: release),
        .target(
            name: "ImagingXRemote",
            dependencies: ["ImagingXScan", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl")]),
        .target(name: "ImagingXDatasets", dependencies: ["ImagingXScan"], swiftSettings: release),
        .target(name: "ImagingXMDFP", dependencies: ["ImagingXDatasets"], swiftSettings: release),
        .target(
            name: "ImagingXIndex",
            dependencies: ["ImagingXMDFP", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "GRDBSQLite", package: "GRDB.swift")],
            swiftSettings: release),
        .target(
            name: "ImagingXIndexPostgres",
            dependencies: ["ImagingXIndex", .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "Logging", package: "swift-log"), .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: release),
        .target(name: "ImagingX", dependencies: ["ImagingXMDFP", "ImagingXIndex", "ImagingXIndexPostgres", "ImagingXRemote"],
                swiftSettings: release),
        .target(
            name: "ImagingXService",
            dependencies: ["ImagingX", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HTTPTypes", package: "swift-http-types"),
                           .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Resources")]),

        // Byte-level builders for DICOM, NIfTI, PNG and JPEG fixtures (tests, SampleData, benchmarks).
        .target(name: "ImagingXFixtures", dependencies: ["ImagingX", "CZlib", "CImagingCodecs", "CBzip2"]),
        .executableTarget(
            name: "imagingx",
            dependencies: [
                "ImagingX",
                "ImagingXService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(name: "make-sample-data", dependencies: ["ImagingXFixtures"]),
        .testTarget(name: "ImagingXTests", dependencies: ["ImagingX", "ImagingXFixtures", "ImagingXRemote", .product(name: "GRDB", package: "GRDB.swift")]),
    ],
    swiftLanguageModes: [.v6]
)
