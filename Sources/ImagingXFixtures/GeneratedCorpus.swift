import Foundation

/// DICOM objects built by our fixtures, written to a folder for the conformance run, so that
/// pydicom also judges the variants its own test files do not cover: enhanced multi-frame
/// functional groups, a large SEG, every uncompressed syntax with and without a preamble,
/// non-image objects and oblique geometry.
public enum GeneratedCorpus {
    public static func writeDICOM(to root: String) throws -> Int {
        var count = 0
        func put(_ name: String, _ bytes: [UInt8]) throws {
            let url = URL(fileURLWithPath: root).appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
            count += 1
        }
        let syntaxes: [(String, DICOMSyntax)] = [("implicit", .implicitLittle), ("explicit-le", .explicitLittle),
                                                 ("explicit-be", .explicitBig), ("deflated", .deflatedExplicitLittle)]
        for (name, syntax) in syntaxes {
            var spec = SampleData.ctSlice(4, of: 12)
            spec.columns = 24
            spec.rows = 16
            spec.rescaleSlope = 0.5
            try put("ct-\(name).dcm", DICOMFixtures.ctSlice(syntax: syntax, spec: spec))
            if syntax != .deflatedExplicitLittle {
                try put("ct-\(name)-no-meta.dcm", DICOMFixtures.ctSlice(syntax: syntax, preamble: false, fileMeta: false, spec: spec))
            }
        }
        for undefined in [false, true] {
            let tag = undefined ? "undefined" : "defined"
            try put("enhanced-shared-\(tag).dcm", DICOMFixtures.enhancedMultiFrame(frames: 6, undefinedLengths: undefined))
            try put("enhanced-per-frame-\(tag).dcm", DICOMFixtures.enhancedMultiFrame(frames: 4, undefinedLengths: undefined, perFrameOnly: true))
        }
        try put("seg-2000-frames.dcm", DICOMFixtures.segmentation(frames: 2000))
        try put("sr.dcm", DICOMFixtures.structuredReport())
        try put("nested-30.dcm", DICOMFixtures.deeplyNested(depth: 30))
        let jpeg = try RasterBuilder.jpeg(width: 16, height: 8, components: 3, pixels: [UInt8](repeating: 90, count: 16 * 8 * 3))
        try put("jpeg-baseline.dcm", DICOMFixtures.encapsulated(frame: jpeg, columns: 16, rows: 8))
        // Palette Color, YBR_FULL(_422), offset tables, broken spacing (ColorFixtures).
        for (name, bytes) in try ColorFixtures.corpus() { try put("color/" + name, bytes) }
        for (name, bytes) in LosslessJPEGCorpus.variants() { try put(name, bytes) }
        // JPEG-LS (CharLS) and JPEG 2000 (OpenJPEG) variants, compared with pydicom + pylibjpeg.
        for v in try CodecFixtures.variants() { try put("codecs/\(v.name).dcm", v.bytes) }
        return count
    }
}
