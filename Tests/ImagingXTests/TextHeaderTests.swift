import Foundation
@testable import ImagingX
import ImagingXFixtures
import Testing

/// Writes a fixture's files into `dir` and reads the first (the header) as the scanner does.
private func scanFiles(_ files: [(String, [UInt8])], in dir: URL, stats: Bool = true) throws -> ImageRecord {
    for (name, bytes) in files { try write(bytes, to: dir.appendingPathComponent(name)) }
    let path = dir.appendingPathComponent(files[0].0).path
    return FileReader(options: ReadOptions(stats: stats)).read(fullPath: path, path: files[0].0)
}

private func expectedStats(_ values: [Double]) -> (min: Double, max: Double, mean: Double) {
    (values.min()!, values.max()!, values.reduce(0, +) / Double(values.count))
}

@Suite("MetaImage reader")
struct MetaImageTests {
    static let short = MetaImageBuilder.types["MET_SHORT"]!

    @Test("oblique .mha: dims, spacing, dtype, and the affine from TransformMatrix runs as axis directions (LPS → RAS)")
    func obliqueHeader() throws {
        var b = MetaImageBuilder(dims: [6, 5, 4], elementType: "MET_SHORT")
        b.spacing = [0.5, 0.7, 2]
        b.origin = [10, -20, 30]
        // Axis 0 along (0.6, 0.8, 0), axis 1 along (−0.8, 0.6, 0), axis 2 along z: a rotation about z.
        b.transform = [0.6, 0.8, 0, -0.8, 0.6, 0, 0, 0, 1]
        b.anatomicalOrientation = "RAI"
        let values = MetaCorpus.values(120, Self.short, seed: 3)
        let r = FileReader(options: ReadOptions(stats: true)).read(bytes: b.files(name: "x.mha", values: values)[0].1, path: "x.mha")
        #expect(r.format == .metaimage && r.status == .ok, "\(r.error ?? "")")
        #expect(r.dims == [6, 5, 4] && r.dtype == .int16 && r.channels == 1 && r.compressed == false)
        #expect(near(r.spacing, [0.5, 0.7, 2]))
        let a = try #require(r.affine)
        // Column 0 = −(0.6, 0.8) · 0.5 in x, y (LPS → RAS), column 1 = (0.8, −0.6) · 0.7, origin (−10, 20, 30).
        #expect(near([a[0, 0], a[1, 0], a[2, 0]], [-0.3, -0.4, 0]))
        #expect(near([a[0, 1], a[1, 1], a[2, 1]], [0.56, -0.42, 0]))
        #expect(near([a[0, 2], a[1, 2], a[2, 2]], [0, 0, 2]))
        #expect(near([a[0, 3], a[1, 3], a[2, 3]], [-10, 20, 30]))
        let s = try #require(r.stats)
        let e = expectedStats(values)
        #expect(s.count == 120 && s.min == e.min && s.max == e.max && near(s.mean, e.mean))
    }

    @Test("every element type, both byte orders, zlib with and without CompressedDataSize: the same statistics")
    func typesAndOrders() {
        for (name, type) in MetaImageBuilder.types {
            let values = MetaCorpus.values(60, type, seed: 11)
            let e = expectedStats(values.map { type.float && type.size == 4 ? Double(Float($0)) : $0 })
            for msb in [false, true] {
                for compressed in [false, true] {
                    var b = MetaImageBuilder(dims: [5, 4, 3], elementType: name)
                    b.msb = msb
                    b.compressed = compressed
                    b.writeCompressedSize = !msb
                    let r = FileReader(options: ReadOptions(stats: true)).read(bytes: b.files(name: "t.mha", values: values)[0].1, path: "t.mha")
                    #expect(r.status == .ok && r.bitsStored == type.size * 8, "\(name) msb \(msb): \(r.error ?? "")")
                    #expect(r.stats?.min == e.min && r.stats?.max == e.max, "\(name) msb \(msb) zlib \(compressed): \(r.statsError ?? "")")
                }
            }
        }
    }

    @Test("channels: 3 × MET_UCHAR is rgb24, other vectors keep their component type")
    func channels() {
        var rgb = MetaImageBuilder(dims: [4, 3], elementType: "MET_UCHAR")
        rgb.channels = 3
        let r = record(rgb.files(name: "c.mha", values: (0..<36).map(Double.init))[0].1)
        #expect(r.dtype == .rgb24 && r.channels == 3 && r.dims == [4, 3])
        var vec = MetaImageBuilder(dims: [4, 3], elementType: "MET_FLOAT")
        vec.channels = 2
        let v = record(vec.files(name: "v.mha", values: (0..<24).map(Double.init))[0].1)
        #expect(v.dtype == .float32 && v.channels == 2)
    }

    @Test("detached .mhd: .raw, .zraw, HeaderSize (and −1), LIST, pattern; the .raw alone is described, not an image")
    func detached() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let values = MetaCorpus.values(280, Self.short, seed: 5)
        let e = expectedStats(values)
        var b = MetaImageBuilder(dims: [8, 7, 5], elementType: "MET_SHORT")
        let variants: [(String, (inout MetaImageBuilder) -> Void)] = [
            ("file", { $0.storage = .file("file.raw") }),
            ("zraw", { $0.storage = .file("zraw.zraw"); $0.compressed = true }),
            ("skip", { $0.storage = .file("skip.raw"); $0.headerSize = 100 }),
            ("tail", { $0.storage = .file("tail.raw"); $0.headerSize = -1 }),
            ("list", { $0.storage = .list((0..<5).map { "l/\($0).raw" }) }),
            ("pattern", { $0.storage = .pattern("p/slice%03d.raw", 1, 5, 1) }),
        ]
        for (name, change) in variants {
            var v = b
            change(&v)
            let r = try scanFiles(v.files(name: "\(name).mhd", values: values), in: dir)
            #expect(r.status == .ok && r.stats?.count == 280, "\(name): \(r.error ?? r.statsError ?? "")")
            #expect(r.stats?.min == e.min && r.stats?.max == e.max && near(r.stats?.mean, e.mean), "\(name)")
        }
        let raw = FileReader().read(fullPath: dir.appendingPathComponent("file.raw").path, path: "file.raw")
        #expect(raw.status == .unsupported && raw.error?.contains("described by file.mhd") == true)
        // Missing and short data files: status error, the header's fields kept.
        b.storage = .file("gone.raw")
        let gone = try scanFiles(Array(b.files(name: "gone.mhd", values: values).prefix(1)), in: dir)
        #expect(gone.status == .error && gone.errorCode == .io && gone.dims == [8, 7, 5])
        b.storage = .file("short.raw")
        var files = b.files(name: "short.mhd", values: values)
        files[1].1 = Array(files[1].1.prefix(100))
        let short = try scanFiles(files, in: dir)
        #expect(short.status == .error && short.errorCode == .truncated && short.dtype == .int16)
    }

    @Test("a file list past the first 4 KiB is read from up to 64 KiB; past 64 KiB it is refused")
    func longList() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var b = MetaImageBuilder(dims: [2, 2, 300], elementType: "MET_UCHAR")
        b.storage = .list((0..<300).map { String(format: "a-long-folder-name/slice-number-%05d.raw", $0) })
        let values = (0..<1200).map { Double($0 % 251) }
        let r = try scanFiles(b.files(name: "long.mhd", values: values), in: dir)
        #expect(r.status == .ok && r.stats?.count == 1200 && r.stats?.max == 250, "\(r.error ?? r.statsError ?? "")")
        b.dims = [1, 1, 2000]
        b.storage = .list((0..<2000).map { String(format: "a-long-folder-name/slice-number-%05d.raw", $0) })
        let header = b.files(name: "huge.mhd", values: (0..<2000).map { _ in 0 })[0].1
        #expect(header.count > 65536)
        #expect(record(header).errorCode == .limitExceeded)
    }

    @Test("AnatomicalOrientation is checked against the direction (ITK letters: where each axis comes from)")
    func anatomicalOrientation() {
        var b = MetaImageBuilder(dims: [2, 2, 2], elementType: "MET_UCHAR")
        b.anatomicalOrientation = "RAI"
        #expect(record(b.files(name: "a.mha", values: Array(repeating: 1, count: 8))[0].1).findings.isEmpty)
        b.anatomicalOrientation = "LPS"
        let r = record(b.files(name: "a.mha", values: Array(repeating: 1, count: 8))[0].1)
        #expect(r.findings.map(\.code) == [.orientationLabelMismatch])
    }

    @Test("sniffing by content: ObjectType/NDims first; other text is not MetaImage; a header past 64 KiB is refused")
    func sniffAndLimits() {
        #expect(record(Array("Object Type = Image\n".utf8)).status == .unsupported)
        #expect(record(Array("NDims = 3\nDimSize = 2 2\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n".utf8)).status == .error)
        let noData = record(Array("ObjectType = Image\nNDims = 2\n".utf8))
        #expect(noData.format == .metaimage && noData.errorCode == .truncated)
        let long = Array("ObjectType = Image\n".utf8) + Array(repeating: UInt8(ascii: "#"), count: 70_000)
        var withEq = long
        withEq.insert(contentsOf: Array("Comment = ".utf8), at: 19)
        let r = record(withEq)
        #expect(r.format == .metaimage && r.errorCode == .limitExceeded, "\(r.error ?? "")")
        let absurd = record(Array("NDims = 3\nDimSize = 100000 100000 100000\nElementType = MET_DOUBLE\nElementDataFile = LOCAL\n".utf8))
        #expect(absurd.status == .error && absurd.errorCode == .truncated)
    }
}

@Suite("NRRD reader")
struct NRRDTests {
    static let int16 = FixtureSampleType(size: 2, signed: true)

    static func base() -> NRRDBuilder {
        var b = NRRDBuilder(type: "short", sample: int16, sizes: [6, 5, 4])
        b.space = "left-posterior-superior"
        b.directions = [[0.7, 0, 0], [0, 0.75, 0], [0, 0, 3]]
        b.origin = [-90.5, 110, -40]
        return b
    }

    @Test("every encoding and byte order gives the same samples")
    func encodings() {
        let values = MetaCorpus.values(120, Self.int16, seed: 17)
        let e = expectedStats(values)
        for enc in ["raw", "gzip", "bzip2", "ascii", "hex"] {
            for endian in ["little", "big"] {
                var b = Self.base()
                b.encoding = enc
                b.endian = endian
                let r = FileReader(options: ReadOptions(stats: true)).read(bytes: b.files(name: "e.nrrd", values: values)[0].1, path: "e.nrrd")
                #expect(r.format == .nrrd && r.status == .ok, "\(enc) \(endian): \(r.error ?? "")")
                #expect(r.compressed == (enc == "gzip" || enc == "bzip2"))
                #expect(r.stats?.min == e.min && r.stats?.max == e.max && near(r.stats?.mean, e.mean), "\(enc) \(endian): \(r.statsError ?? "")")
            }
        }
    }

    @Test("space: LPS and LAS to RAS+, RAS as is; a bare space dimension or none gives no affine")
    func spaces() throws {
        let values = [Double](repeating: 0, count: 120)
        for (space, signs) in [("left-posterior-superior", [-1.0, -1, 1]), ("LPS", [-1, -1, 1]), ("left-anterior-superior", [-1, 1, 1]),
                               ("right-anterior-superior", [1, 1, 1])] {
            var b = Self.base()
            b.space = space
            let r = record(b.files(name: "s.nrrd", values: values)[0].1)
            let a = try #require(r.affine, "\(space)")
            #expect(near([a[0, 0], a[1, 1], a[2, 2]], [0.7 * signs[0], 0.75 * signs[1], 3]), "\(space)")
            #expect(near([a[0, 3], a[1, 3], a[2, 3]], [-90.5 * signs[0], 110 * signs[1], -40]), "\(space)")
            #expect(near(r.spacing, [0.7, 0.75, 3]))
        }
        var bare = Self.base()
        bare.space = nil
        bare.spaceDimension = 3
        let r = record(bare.files(name: "b.nrrd", values: values)[0].1)
        #expect(r.status == .ok && r.affine == nil && r.findings.map(\.code) == [.geometryMissing])
        var spacings = Self.base()
        spacings.space = nil; spacings.directions = nil; spacings.origin = nil
        spacings.spacings = [0.5, 0.6, 4]
        let s = record(spacings.files(name: "p.nrrd", values: values)[0].1)
        #expect(near(s.spacing, [0.5, 0.6, 4]) && s.affine == nil)
    }

    @Test("a `none` direction or a non-domain kind is the channel axis: RGB-color is rgb24, vector keeps its type")
    func channelAxis() {
        var color = NRRDBuilder(type: "uchar", sample: .init(size: 1, signed: false), sizes: [3, 4, 2])
        color.space = "right-anterior-superior"
        color.directions = [nil, [1, 0, 0], [0, 1, 0]]
        color.kinds = ["RGB-color", "domain", "domain"]
        color.endian = nil
        let r = record(color.files(name: "c.nrrd", values: (0..<24).map(Double.init))[0].1)
        #expect(r.status == .ok && r.dims == [4, 2] && r.channels == 3 && r.dtype == .rgb24, "\(r.error ?? "")")
        var list = NRRDBuilder(type: "float", sample: .init(size: 4, signed: true, float: true), sizes: [2, 3, 3])
        list.kinds = ["list", "domain", "domain"]
        let l = record(list.files(name: "l.nrrd", values: (0..<18).map(Double.init))[0].1)
        #expect(l.dims == [3, 3] && l.channels == 2 && l.dtype == .float32)
    }

    @Test("detached data, byte skip (incl. −1), line skip, LIST and pattern; a missing data file is an io error")
    func detached() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let values = MetaCorpus.values(120, Self.int16, seed: 23)
        let e = expectedStats(values)
        let variants: [(String, (inout NRRDBuilder) -> Void)] = [
            ("raw", { $0.storage = .file("raw.raw") }),
            ("skip", { $0.storage = .file("skip.dat"); $0.byteSkip = 33 }),
            ("tail", { $0.storage = .file("tail.dat"); $0.byteSkip = -1 }),
            ("lines", { $0.storage = .file("lines.dat"); $0.lineSkip = 4; $0.byteSkip = 3 }),
            ("gzskip", { $0.storage = .file("gzskip.raw.gz"); $0.encoding = "gzip"; $0.byteSkip = 10 }),
            ("bz", { $0.storage = .file("bz.raw.bz2"); $0.encoding = "bzip2" }),
            ("list", { $0.storage = .list((0..<4).map { "l/\($0).raw" }) }),
            ("pattern", { $0.storage = .pattern("p/s%02d.raw.gz", 0, 3, 1); $0.encoding = "gzip" }),
        ]
        for (name, change) in variants {
            var b = Self.base()
            change(&b)
            let r = try scanFiles(b.files(name: "\(name).nhdr", values: values), in: dir)
            #expect(r.status == .ok && r.stats?.count == 120, "\(name): \(r.error ?? r.statsError ?? "")")
            #expect(r.stats?.min == e.min && r.stats?.max == e.max && near(r.stats?.mean, e.mean), "\(name)")
        }
        let gz = FileReader().read(fullPath: dir.appendingPathComponent("gzskip.raw.gz").path, path: "gzskip.raw.gz")
        #expect(gz.status == .unsupported && gz.error?.contains("described by gzskip.nhdr") == true, "\(gz.error ?? "")")
        var gone = Self.base()
        gone.storage = .file("gone.raw")
        let r = try scanFiles(Array(gone.files(name: "gone.nhdr", values: values).prefix(1)), in: dir)
        #expect(r.status == .error && r.errorCode == .io && r.dims == [6, 5, 4])
    }

    @Test("attached data cut short is truncated; gzip data whose ISIZE is short too; bad fields name their line")
    func damaged() {
        let values = MetaCorpus.values(120, Self.int16, seed: 29)
        let whole = Self.base().files(name: "d.nrrd", values: values)[0].1
        let cut = record(Array(whole.dropLast(10)))
        #expect(cut.status == .error && cut.errorCode == .truncated && cut.dims == [6, 5, 4])
        var gz = Self.base()
        gz.encoding = "gzip"
        let g = gz.files(name: "g.nrrd", values: values)[0].1
        let gcut = FileReader(options: ReadOptions(stats: true)).read(bytes: Array(g.dropLast(30)), path: "g.nrrd")
        #expect(gcut.status == .error || gcut.statsError != nil)
        let noEndian = record(Array("NRRD0004\ntype: short\ndimension: 1\nsizes: 2\nencoding: raw\n\n\0\0\0\0".utf8))
        #expect(noEndian.status == .error && noEndian.error?.contains("endian") == true)
        let badType = record(Array("NRRD0004\ntype: quad\ndimension: 1\nsizes: 2\nencoding: raw\n\n".utf8))
        #expect(badType.errorCode == .malformed && badType.errorOffset == 9)
        #expect(record(Array("NRRD0".utf8)).format == .nrrd)
        // Channel axes whose sizes multiply past any file: an error, not an overflow trap.
        let huge = record(Array("NRRD0004\ntype: uchar\ndimension: 3\nsizes: 4611686018427387904 4611686018427387904 2\nkinds: list vector domain\nencoding: raw\n\n".utf8))
        #expect(huge.status == .error && huge.errorCode == .malformed)
        // A byte skip past any file is refused, not added to offsets.
        let skip = record(Array("NRRD0004\ntype: uchar\ndimension: 1\nsizes: 2\nencoding: gzip\nbyte skip: 9223372036854775807\n\n".utf8))
        #expect(skip.status == .error && skip.errorCode == .malformed)
    }

    @Test("printf file patterns: width, zero padding, negative steps, %%; no conversion or step 0 is an error")
    func patterns() throws {
        #expect(try StoredData.expandPattern("s%03d.raw", first: 1, last: 3, step: 1, at: 0) == ["s001.raw", "s002.raw", "s003.raw"])
        #expect(try StoredData.expandPattern("a%d%%.raw", first: 3, last: 1, step: -2, at: 0) == ["a3%.raw", "a1%.raw"])
        #expect(try StoredData.expandPattern("x%4d", first: 7, last: 7, step: 1, at: 0) == ["x   7"])
        #expect(throws: ParseError.self) { try StoredData.expandPattern("none", first: 1, last: 2, step: 1, at: 0) }
        #expect(throws: ParseError.self) { try StoredData.expandPattern("s%d", first: 1, last: 2, step: 0, at: 0) }
        #expect(throws: ParseError.self) { try StoredData.expandPattern("s%d", first: 0, last: Int.max, step: 1, at: 0) }
        #expect(throws: ParseError.self) { try StoredData.expandPattern("s%d", first: Int.min, last: Int.max, step: 1, at: 0) }
        #expect(try StoredData.expandPattern("s%d", first: Int.min, last: Int.min, step: 1, at: 0) == ["s-9223372036854775808"])
    }
}
