import ImagingX
import ImagingXFixtures
import Testing

/// Truncation and byte-flip sweeps: every damaged fixture yields a record (never a trap), an
/// error names an offset inside the file, and no prefix shorter than the header reads as ok.
@Suite("Corruption sweeps")
struct CorruptionTests {
    struct Fixture: Sendable, CustomStringConvertible {
        var name: String
        var bytes: [UInt8]
        var description: String { name }
    }

    static let fixtures: [Fixture] = {
        var spec = CTSliceSpec()
        spec.columns = 8
        spec.rows = 8
        var nifti1 = NIfTIBuilder(.nifti1)
        nifti1.setGrid(dims: [3, 4, 5], pixdim: [1, 1, 2], datatype: 4, bitpix: 16)
        nifti1.setSform([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0]])
        var nifti2 = NIfTIBuilder(.nifti2, bigEndian: true)
        nifti2.setGrid(dims: [3, 4, 5], pixdim: [1, 1, 2], datatype: 16, bitpix: 32)
        let png = try! RasterBuilder.png(width: 5, height: 3, bitDepth: 8, colorType: 2, pixelsPerMetre: (1000, 1000),
                                         pixels: [UInt8](repeating: 1, count: 45))
        let jpeg = try! RasterBuilder.jpeg(width: 6, height: 4, components: 3, pixels: [UInt8](repeating: 1, count: 72))
        let values = MetaCorpus.values(24, .init(size: 2, signed: true), seed: 41)
        var mha = MetaImageBuilder(dims: [4, 3, 2], elementType: "MET_SHORT")
        mha.transform = MetaCorpus.oblique(0.2, 0.1)
        mha.spacing = [0.5, 0.5, 2]
        var mhaZ = mha
        mhaZ.compressed = true
        mhaZ.msb = true
        func nrrd(_ encoding: String) -> [UInt8] {
            var b = NRRDBuilder(type: "short", sample: .init(size: 2, signed: true), sizes: [4, 3, 2])
            b.encoding = encoding
            b.space = "left-posterior-superior"
            b.directions = [[0.5, 0, 0], [0, 0.5, 0], [0, 0, 2]]
            b.origin = [1, 2, 3]
            return b.files(name: "n.nrrd", values: values)[0].1
        }
        return [
            Fixture(name: "metaimage", bytes: mha.files(name: "m.mha", values: values)[0].1),
            Fixture(name: "metaimage-zlib", bytes: mhaZ.files(name: "m.mha", values: values)[0].1),
            Fixture(name: "nrrd-raw", bytes: nrrd("raw")),
            Fixture(name: "nrrd-gzip", bytes: nrrd("gzip")),
            Fixture(name: "nrrd-bzip2", bytes: nrrd("bzip2")),
            Fixture(name: "nrrd-ascii", bytes: nrrd("ascii")),
            Fixture(name: "nrrd-hex", bytes: nrrd("hex")),
            Fixture(name: "dicom-explicit-le", bytes: DICOMFixtures.ctSlice(spec: spec)),
            Fixture(name: "dicom-implicit", bytes: DICOMFixtures.ctSlice(syntax: .implicitLittle, spec: spec)),
            Fixture(name: "dicom-big-endian", bytes: DICOMFixtures.ctSlice(syntax: .explicitBig, spec: spec)),
            Fixture(name: "dicom-deflated", bytes: DICOMFixtures.ctSlice(syntax: .deflatedExplicitLittle, spec: spec)),
            Fixture(name: "dicom-no-meta", bytes: DICOMFixtures.ctSlice(preamble: false, fileMeta: false, spec: spec)),
            Fixture(name: "dicom-enhanced", bytes: DICOMFixtures.enhancedMultiFrame(frames: 2, undefinedLengths: true, columns: 4, rows: 4)),
            Fixture(name: "dicom-enhanced-defined", bytes: DICOMFixtures.enhancedMultiFrame(frames: 2, undefinedLengths: false, columns: 4, rows: 4)),
            Fixture(name: "dicom-rle", bytes: DICOMFixtures.rle(frames: 2, columns: 6, rows: 5, signed: true,
                                                                samples: (0..<60).map { UInt32(($0 * 977) & 0xFFFF) })),
            Fixture(name: "dicom-jpeg", bytes: DICOMFixtures.encapsulated(
                frame: try! RasterBuilder.jpeg(width: 6, height: 4, components: 3, pixels: [UInt8](repeating: 90, count: 72)),
                columns: 6, rows: 4)),
            Fixture(name: "dicom-jpeg-lossless", bytes: DICOMFixtures.losslessJPEG(
                frames: [LosslessJPEGEncoder(precision: 12, predictor: 6, restartInterval: 6, optimalHuffman: true)
                    .encode((0..<60).map { UInt16(($0 * 389) & 0xFFF) }, columns: 6, rows: 5, components: 2)],
                columns: 6, rows: 5, samplesPerPixel: 2, bitsStored: 12, selectionValue1: false)),
            Fixture(name: "nifti1", bytes: nifti1.singleFile(data: [UInt8](repeating: 0, count: 120))),
            Fixture(name: "nifti2-big-endian", bytes: nifti2.singleFile(data: [UInt8](repeating: 0, count: 240))),
            Fixture(name: "nifti1-gz", bytes: Compression.gzip(nifti1.singleFile(data: [UInt8](repeating: 0, count: 120)))),
            Fixture(name: "png", bytes: png),
            Fixture(name: "jpeg", bytes: jpeg),
        ]
    }()

    /// The record's `error_offset`, checked against the sentence it ends ("... at byte N").
    static func offset(_ r: ImageRecord) -> Int? {
        guard let at = r.errorOffset else { return nil }
        #expect(r.error?.hasSuffix("at byte \(at)") == true && r.errorCode != nil, "\(r.path): \(r.error ?? "")")
        return at
    }

    @Test("every prefix: a record, an in-file offset, never clean before the file is complete", arguments: fixtures)
    func truncation(_ f: Fixture) {
        // Pixel statistics on: every prefix is also decoded as far as it goes.
        let reader = FileReader(options: ReadOptions(stats: true))
        let intact = reader.read(bytes: f.bytes, path: f.name)
        #expect(intact.status == .ok, "the intact fixture reads")
        #expect(intact.stats != nil, "the intact fixture decodes: \(intact.statsError ?? "")")
        var firstOK: Int?
        var okAfterFirstOK = true
        for length in 0..<f.bytes.count {
            let r = reader.read(bytes: Array(f.bytes.prefix(length)), path: f.name)
            // A DICOM cut at an element boundary is a well-formed dataset; it must still never
            // look complete: it carries a finding that says pixels or the SOP class are missing.
            let flagged = r.findings.contains { $0.code == .pixelDataAbsent || $0.code == .sopClassMissing }
            if r.status == .ok && !flagged {
                if firstOK == nil { firstOK = length }
            } else {
                if firstOK != nil { okAfterFirstOK = false }
                if r.status == .error {
                    let at = CorruptionTests.offset(r)
                    #expect(at != nil, "\(f.name)[..<\(length)]: error without an offset: \(r.error ?? "")")
                    if let at { #expect(at >= 0 && at <= max(length, 1 << 20), "\(f.name)[..<\(length)]: offset \(at)") }
                }
            }
        }
        // Readable prefixes form one tail: once the header is complete, longer prefixes stay ok.
        #expect(okAfterFirstOK, "\(f.name): a longer prefix failed after a shorter one read")
        if f.name.hasPrefix("dicom") || f.name.hasPrefix("nifti1") && !f.name.hasSuffix("gz") || f.name.hasPrefix("nifti2")
            || f.name == "metaimage" || f.name == "nrrd-raw" {
            // These carry the image data in the file: only the whole file reads clean.
            #expect(firstOK == nil, "\(f.name): a strict prefix of \(firstOK ?? -1) bytes read clean")
        }
    }

    @Test("every byte set to 0x00, 0xFF and flipped: a record, never a trap", arguments: fixtures)
    func flips(_ f: Fixture) {
        let reader = FileReader(options: ReadOptions(stats: true))
        let limit = min(f.bytes.count, 1500)
        for i in 0..<limit {
            for value in [UInt8(0), 0xFF, f.bytes[i] ^ 0x80] {
                var damaged = f.bytes
                damaged[i] = value
                let r = reader.read(bytes: damaged, path: f.name)
                if r.status == .error {
                    let at = CorruptionTests.offset(r)
                    #expect(at != nil, "\(f.name) byte \(i) = \(value): \(r.error ?? "")")
                }
            }
        }
    }

    @Test("random multi-byte damage (seeded): huge lengths, insertions, deletions, splices", arguments: fixtures)
    func randomDamage(_ f: Fixture) {
        var rng = SampleData.Random(seed: UInt64(f.name.utf8.reduce(7) { $0 &* 31 &+ UInt64($1) }))
        let reader = FileReader(options: ReadOptions(stats: true))
        let patterns: [[UInt8]] = [[0xFF, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0x7F], [0, 0, 0, 0x80], [0xFE, 0xFF, 0x00, 0xE0],
                                   [0xFE, 0xFF, 0xDD, 0xE0], [0x53, 0x51, 0, 0], [0x55, 0x4E, 0, 0]]
        for _ in 0..<1500 {
            var damaged = f.bytes
            let edits = 1 + Int(rng.next() % 4)
            for _ in 0..<edits where !damaged.isEmpty {
                let at = Int(rng.next() % UInt64(damaged.count))
                switch rng.next() % 5 {
                case 0:  // a length-like pattern
                    let p = patterns[Int(rng.next() % UInt64(patterns.count))]
                    for (k, byte) in p.enumerated() where at + k < damaged.count { damaged[at + k] = byte }
                case 1:  // random bytes
                    for k in 0..<Int(rng.next() % 8) where at + k < damaged.count { damaged[at + k] = UInt8(truncatingIfNeeded: rng.next()) }
                case 2:  // insert
                    damaged.insert(contentsOf: (0..<Int(rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
                case 3:  // delete
                    damaged.removeSubrange(at..<min(damaged.count, at + Int(rng.next() % 16)))
                default:  // splice a copy of another region here
                    let from = Int(rng.next() % UInt64(damaged.count))
                    let length = min(Int(rng.next() % 64), damaged.count - from)
                    damaged.insert(contentsOf: damaged[from..<(from + length)], at: at)
                }
            }
            let r = reader.read(bytes: damaged, path: f.name)
            if r.status == .error {
                #expect(CorruptionTests.offset(r) != nil, "\(f.name): \(r.error ?? "")")
            }
        }
    }
}

@Suite("Wrong magic")
struct WrongMagicTests {
    @Test("a near-miss signature is never read as the format it imitates")
    func nearMisses() throws {
        var dicm = DICOMFixtures.ctSlice()
        dicm[131] = UInt8(ascii: "X")  // "DICX"
        #expect(record(dicm).status != .ok)

        var nifti = NIfTIBuilder(.nifti1)
        nifti.setGrid(dims: [2, 2, 2], pixdim: [1, 1, 1], datatype: 2, bitpix: 8)
        nifti.setString("magic", "n+3")
        let n = record(nifti.singleFile(data: [UInt8](repeating: 0, count: 8)))
        #expect(n.status == .unsupported && n.error?.contains("unknown version '3'") == true)

        var png = try RasterBuilder.png(width: 2, height: 2, bitDepth: 8, colorType: 0, pixels: [1, 2, 3, 4])
        png[1] = UInt8(ascii: "Q")
        #expect(record(png).status == .unsupported)

        var jpeg = try RasterBuilder.jpeg(width: 8, height: 8, components: 1, pixels: [UInt8](repeating: 0, count: 64))
        jpeg[2] = 0x00
        #expect(record(jpeg).status == .unsupported)
        #expect(record([0x1F, 0x8B]).status != .ok)
    }
}
