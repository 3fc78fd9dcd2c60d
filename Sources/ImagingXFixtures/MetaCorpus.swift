import Foundation

/// MetaImage and NRRD variants for the conformance run (`make-sample-data --meta-corpus DIR`):
/// SimpleITK and pynrrd judge every element type, byte order, encoding, storage (attached,
/// detached, LIST, pattern), skip and geometry field our readers handle.
public enum MetaCorpus {
    /// `count` values spread over the range of `type` (negative ones for signed types).
    public static func values(_ count: Int, _ type: FixtureSampleType, seed: UInt64) -> [Double] {
        var rng = SampleData.Random(seed: seed)
        return (0..<count).map { i in
            let u = rng.unit()
            if type.float { return (u - 0.3) * 1000 + Double(i % 7) * 0.125 }
            let bits = min(type.size * 8, 40)
            let span = Double(1 << UInt64(type.signed ? bits - 1 : bits))
            let v = type.signed ? (u * 2 - 1) * (span - 1) : u * (span - 1)
            return v.rounded(.towardZero)
        }
    }

    /// A rotation (about x by `a`, then z by `b`) as MetaIO's TransformMatrix: axis i's direction
    /// is the i-th run of three numbers.
    public static func oblique(_ a: Double, _ b: Double) -> [Double] {
        let rx = [[1, 0, 0], [0, cos(a), -sin(a)], [0, sin(a), cos(a)]]
        let rz = [[cos(b), -sin(b), 0], [sin(b), cos(b), 0], [0, 0, 1.0]]
        let m = (0..<3).map { r in (0..<3).map { c in (0..<3).reduce(0.0) { $0 + rz[r][$1] * rx[$1][c] } } }
        return (0..<3).flatMap { col in (0..<3).map { row in m[row][col] } }
    }

    public static func write(to root: String) throws -> Int {
        var count = 0
        func put(_ folder: String, _ files: [(String, [UInt8])]) throws {
            for (name, bytes) in files {
                let url = URL(fileURLWithPath: root).appendingPathComponent(folder).appendingPathComponent(name)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(bytes).write(to: url)
                count += 1
            }
        }
        var seed: UInt64 = 1
        func next() -> UInt64 { seed += 1; return seed }

        // MetaImage: every element type, little and big endian.
        for (name, type) in MetaImageBuilder.types.sorted(by: { $0.key < $1.key }) {
            for msb in [false, true] where !(msb && type.size == 1) {
                var b = MetaImageBuilder(dims: [5, 4, 3], elementType: name)
                b.msb = msb
                b.spacing = [0.8, 0.9, 2.5]
                b.origin = [-12.5, 30, 7]
                try put("metaimage", b.files(name: "\(name.lowercased())\(msb ? "-msb" : "").mha", values: values(60, type, seed: next())))
            }
        }
        let short = MetaImageBuilder.types["MET_SHORT"]!
        var ob = MetaImageBuilder(dims: [6, 5, 4], elementType: "MET_SHORT")
        ob.spacing = [0.7, 0.75, 3]
        ob.origin = [-100.25, 20.5, -7]
        ob.transform = oblique(0.4, 0.25)
        ob.centerOfRotation = [0, 0, 0]
        ob.anatomicalOrientation = "RAI"
        try put("metaimage", ob.files(name: "oblique.mha", values: values(120, short, seed: next())))
        var flipped = ob
        flipped.transform = [-1, 0, 0, 0, 0, 1, 0, -1, 0]
        flipped.anatomicalOrientation = "LSA"
        try put("metaimage", flipped.files(name: "flipped-axes.mha", values: values(120, short, seed: next())))
        var elementKey = ob
        elementKey.msb = true
        elementKey.elementByteOrderKey = true
        try put("metaimage", elementKey.files(name: "element-byte-order-msb.mha", values: values(120, short, seed: next())))
        var position = ob
        position.origin = nil
        position.extraLines = ["Position = 3 4 5"]
        try put("metaimage", position.files(name: "position-key.mha", values: values(120, short, seed: next())))
        var sizeOnly = MetaImageBuilder(dims: [6, 5, 4], elementType: "MET_USHORT")
        sizeOnly.extraLines = ["ElementSize = 1.5 1.5 4"]
        try put("metaimage", sizeOnly.files(name: "element-size-only.mha", values: values(120, .init(size: 2, signed: false), seed: next())))
        for sized in [true, false] {
            var z = ob
            z.compressed = true
            z.writeCompressedSize = sized
            try put("metaimage", z.files(name: "zlib\(sized ? "-sized" : "-unsized").mha", values: values(120, short, seed: next())))
        }
        var localSkip = ob
        localSkip.headerSize = 1024
        try put("metaimage", localSkip.files(name: "header-size-local.mha", values: values(120, short, seed: next())))
        var rgb = MetaImageBuilder(dims: [7, 6], elementType: "MET_UCHAR")
        rgb.channels = 3
        rgb.spacing = [0.2, 0.2]
        try put("metaimage", rgb.files(name: "rgb-2d.mha", values: values(126, .init(size: 1, signed: false), seed: next())))
        var vec = MetaImageBuilder(dims: [4, 4, 3], elementType: "MET_FLOAT")
        vec.channels = 2
        try put("metaimage", vec.files(name: "vector-float.mha", values: values(96, .init(size: 4, signed: true, float: true), seed: next())))
        var four = MetaImageBuilder(dims: [3, 3, 2, 4], elementType: "MET_SHORT")
        four.spacing = [1, 1, 2, 0.5]
        try put("metaimage", four.files(name: "four-d.mha", values: values(72, short, seed: next())))
        // Detached: .mhd + .raw, .zraw, HeaderSize, LIST, pattern.
        var luna = MetaImageBuilder(dims: [8, 7, 5], elementType: "MET_SHORT")
        luna.spacing = [0.6, 0.6, 2.5]
        luna.origin = [-150, -170, -300]
        luna.transform = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        luna.anatomicalOrientation = "RAI"
        luna.storage = .file("detached.raw")
        try put("metaimage", luna.files(name: "detached.mhd", values: values(280, short, seed: next())))
        var zraw = luna
        zraw.compressed = true
        zraw.storage = .file("detached-z.zraw")
        try put("metaimage", zraw.files(name: "detached-z.mhd", values: values(280, short, seed: next())))
        var skip = luna
        skip.headerSize = 64
        skip.storage = .file("header-size.raw")
        try put("metaimage", skip.files(name: "header-size.mhd", values: values(280, short, seed: next())))
        var tail = luna
        tail.headerSize = -1
        tail.storage = .file("header-size-tail.raw")
        try put("metaimage", tail.files(name: "header-size-tail.mhd", values: values(280, short, seed: next())))
        var list = luna
        list.storage = .list((0..<5).map { "list-slices/s\($0).raw" })
        try put("metaimage", list.files(name: "list.mhd", values: values(280, short, seed: next())))
        var pattern = luna
        pattern.storage = .pattern("pattern-slices/slice%03d.raw", 1, 5, 1)
        try put("metaimage", pattern.files(name: "pattern.mhd", values: values(280, short, seed: next())))

        // NRRD: every type name (and aliases), both byte orders.
        let typeNames: [(String, FixtureSampleType)] = [
            ("signed char", .init(size: 1, signed: true)), ("uchar", .init(size: 1, signed: false)),
            ("uint8_t", .init(size: 1, signed: false)), ("short", .init(size: 2, signed: true)),
            ("signed short int", .init(size: 2, signed: true)), ("ushort", .init(size: 2, signed: false)),
            ("unsigned short", .init(size: 2, signed: false)), ("int", .init(size: 4, signed: true)),
            ("int32_t", .init(size: 4, signed: true)), ("uint", .init(size: 4, signed: false)),
            ("longlong", .init(size: 8, signed: true)), ("int64", .init(size: 8, signed: true)),
            ("unsigned long long int", .init(size: 8, signed: false)), ("float", .init(size: 4, signed: true, float: true)),
            ("double", .init(size: 8, signed: true, float: true)),
        ]
        for (name, type) in typeNames {
            for big in [false, true] where !(big && type.size == 1) {
                var b = NRRDBuilder(type: name, sample: type, sizes: [5, 4, 3])
                b.endian = type.size == 1 ? nil : big ? "big" : "little"
                b.space = "left-posterior-superior"
                b.directions = [[0.8, 0, 0], [0, 0.9, 0], [0, 0, 2.5]]
                b.origin = [-12.5, 30, 7]
                let file = name.replacingOccurrences(of: " ", with: "-") + (big ? "-big" : "")
                try put("nrrd", b.files(name: "\(file).nrrd", values: values(60, type, seed: next())))
            }
        }
        let nshort = FixtureSampleType(size: 2, signed: true)
        func base() -> NRRDBuilder {
            var b = NRRDBuilder(type: "short", sample: nshort, sizes: [6, 5, 4])
            b.space = "left-posterior-superior"
            let t = oblique(0.3, -0.2)
            b.directions = [Array(t[0..<3]).map { $0 * 0.7 }, Array(t[3..<6]).map { $0 * 0.75 }, Array(t[6..<9]).map { $0 * 3 }]
            b.origin = [-90.5, 110, -40]
            b.kinds = ["domain", "domain", "domain"]
            return b
        }
        for enc in ["raw", "gzip", "bzip2", "ascii", "hex", "gz", "bz2", "txt", "text"] {
            var b = base()
            b.encoding = enc
            try put("nrrd", b.files(name: "encoding-\(enc).nrrd", values: values(120, nshort, seed: next())))
        }
        for (space, abbreviation) in [("right-anterior-superior", "ras"), ("left-anterior-superior", "las"), ("left-posterior-superior", "lps"), ("RAS", "ras-abbrev")] {
            var b = base()
            b.space = space
            try put("nrrd", b.files(name: "space-\(abbreviation).nrrd", values: values(120, nshort, seed: next())))
        }
        var bare = base()
        bare.space = nil
        bare.spaceDimension = 3
        try put("nrrd", bare.files(name: "space-dimension-3.nrrd", values: values(120, nshort, seed: next())))
        var spacings = base()
        spacings.space = nil
        spacings.directions = nil
        spacings.origin = nil
        spacings.spacings = [0.5, 0.6, 4]
        try put("nrrd", spacings.files(name: "spacings-only.nrrd", values: values(120, nshort, seed: next())))
        var plain = spacings
        plain.spacings = nil
        plain.kinds = nil
        try put("nrrd", plain.files(name: "no-geometry.nrrd", values: values(120, nshort, seed: next())))
        var color = NRRDBuilder(type: "unsigned char", sample: .init(size: 1, signed: false), sizes: [3, 7, 6])
        color.space = "left-posterior-superior"
        color.spaceDimension = nil
        color.directions = [nil, [0.3, 0, 0], [0, 0.3, 0]]
        color.kinds = ["RGB-color", "domain", "domain"]
        color.origin = [0, 0, 0]
        color.encoding = "gzip"
        try put("nrrd", color.files(name: "rgb-color.nrrd", values: values(126, .init(size: 1, signed: false), seed: next())))
        var vector = NRRDBuilder(type: "float", sample: .init(size: 4, signed: true, float: true), sizes: [2, 4, 4, 3])
        vector.space = "right-anterior-superior"
        vector.directions = [nil, [1, 0, 0], [0, 1, 0], [0, 0, 1.5]]
        vector.kinds = ["vector", "domain", "domain", "domain"]
        try put("nrrd", vector.files(name: "vector-none-direction.nrrd", values: values(96, .init(size: 4, signed: true, float: true), seed: next())))
        var listKind = NRRDBuilder(type: "short", sample: nshort, sizes: [3, 5, 4])
        listKind.kinds = ["list", "domain", "domain"]
        listKind.spacings = [.nan, 0.5, 0.5]
        try put("nrrd", listKind.files(name: "list-kind.nrrd", values: values(60, nshort, seed: next())))
        var twoD = NRRDBuilder(type: "ushort", sample: .init(size: 2, signed: false), sizes: [9, 7])
        twoD.spacings = [0.15, 0.15]
        try put("nrrd", twoD.files(name: "two-d.nrrd", values: values(63, .init(size: 2, signed: false), seed: next())))
        for (skipName, lines, bytes, enc) in [("byte-skip", 0, 40, "raw"), ("byte-skip-tail", 0, -1, "raw"),
                                              ("line-skip", 3, 0, "raw"), ("line-and-byte-skip", 2, 11, "raw"),
                                              ("gzip-byte-skip", 0, 24, "gzip"), ("ascii-line-skip", 2, 0, "ascii")] {
            var b = base()
            b.encoding = enc
            b.lineSkip = lines
            b.byteSkip = bytes
            b.storage = .file("\(skipName).dat")
            try put("nrrd", b.files(name: "\(skipName).nhdr", values: values(120, nshort, seed: next())))
        }
        var detached = base()
        detached.storage = .file("detached.raw")
        try put("nrrd", detached.files(name: "detached.nhdr", values: values(120, nshort, seed: next())))
        var detachedGz = base()
        detachedGz.encoding = "gzip"
        detachedGz.storage = .file("detached-gz.raw.gz")
        try put("nrrd", detachedGz.files(name: "detached-gz.nhdr", values: values(120, nshort, seed: next())))
        var nlist = base()
        nlist.storage = .list((0..<4).map { "nrrd-list/slice\($0).raw" })
        try put("nrrd", nlist.files(name: "list.nhdr", values: values(120, nshort, seed: next())))
        var npattern = base()
        npattern.encoding = "gzip"
        npattern.storage = .pattern("nrrd-pattern/s%02d.raw.gz", 0, 3, 1)
        try put("nrrd", npattern.files(name: "pattern.nhdr", values: values(120, nshort, seed: next())))
        var v5 = base()
        v5.version = 5
        v5.extraLines = ["content: fixture", "space units: \"mm\" \"mm\" \"mm\"", "measurement frame: (1,0,0) (0,1,0) (0,0,1)",
                         "origin-note:=free text key/value"]
        try put("nrrd", v5.files(name: "nrrd0005-extra-fields.nrrd", values: values(120, nshort, seed: next())))

        // Not loadable: status error on both sides.
        var gone = luna
        gone.storage = .file("absent.raw")
        try put("broken", gone.files(name: "missing-raw.mhd", values: values(280, short, seed: next())).prefix(1).map { $0 })
        var cut = luna
        cut.storage = .file("short.raw")
        let cutFiles = cut.files(name: "short-raw.mhd", values: values(280, short, seed: next()))
        try put("broken", [cutFiles[0], (cutFiles[1].0, Array(cutFiles[1].1.prefix(300)))])
        let attached = base().files(name: "cut-data.nrrd", values: values(120, nshort, seed: next()))
        try put("broken", [(attached[0].0, Array(attached[0].1.dropLast(50)))])
        var noData = base()
        noData.storage = .file("absent.raw")
        try put("broken", noData.files(name: "missing-data.nhdr", values: values(120, nshort, seed: next())).prefix(1).map { $0 })
        return count
    }
}
