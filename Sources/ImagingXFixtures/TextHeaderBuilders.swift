import CBzip2
import Foundation

/// One sample type of a fixture: size, sign, float.
public struct FixtureSampleType: Sendable {
    public var size: Int
    public var signed: Bool
    public var float: Bool

    public init(size: Int, signed: Bool, float: Bool = false) {
        self.size = size
        self.signed = signed
        self.float = float
    }

    /// Values as stored samples, little- or big-endian (integers truncated toward zero).
    public func encode(_ values: [Double], bigEndian: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * size)
        for v in values {
            var bytes: [UInt8]
            switch (float, size) {
            case (true, 4): bytes = withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { Array($0) }
            case (true, _): bytes = withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) }
            default:
                let bits: UInt64 = signed ? UInt64(bitPattern: Int64(v)) : UInt64(v)
                bytes = (0..<size).map { UInt8(truncatingIfNeeded: bits >> UInt64(8 * $0)) }
            }
            out += bigEndian ? bytes.reversed() : bytes
        }
        return out
    }

    /// Values as NRRD ascii text (one line per `perLine` values).
    public func text(_ values: [Double], perLine: Int) -> [UInt8] {
        var s = ""
        for (i, v) in values.enumerated() {
            if float {
                s += size == 4 ? "\(Float(v))" : "\(v)"
            } else {
                s += signed ? "\(Int64(v))" : "\(UInt64(v))"
            }
            s += (i + 1) % perLine == 0 ? "\n" : " "
        }
        return Array(s.utf8)
    }
}

/// Where a text-header fixture keeps its voxels.
public enum FixtureStorage: Sendable {
    /// After the header, in the same file.
    case attached
    /// In one data file of this name.
    case file(String)
    /// In one file per slowest-axis slice, named in a list.
    case list([String])
    /// In one file per slice, named by a printf pattern, first, last, step.
    case pattern(String, Int, Int, Int)
}

/// Byte-exact MetaImage (`.mha` / `.mhd`) fixtures: the header as MetaIO writes it, data attached
/// or detached, optionally zlib-compressed.
public struct MetaImageBuilder: Sendable {
    public var dims: [Int]
    public var elementType: String
    public var channels = 1
    public var spacing: [Double]?
    public var origin: [Double]?
    /// TransformMatrix in file order (axis 0's direction first).
    public var transform: [Double]?
    public var centerOfRotation: [Double]?
    public var anatomicalOrientation: String?
    public var msb = false
    /// Write `ElementByteOrderMSB` instead of `BinaryDataByteOrderMSB`.
    public var elementByteOrderKey = false
    public var compressed = false
    public var writeCompressedSize = true
    /// `HeaderSize`: bytes of filler before the data in each data file (attached: the data starts
    /// that many bytes into the file); −1 writes filler and −1.
    public var headerSize: Int?
    public var storage: FixtureStorage = .attached
    public var extraLines: [String] = []

    public init(dims: [Int], elementType: String) {
        self.dims = dims
        self.elementType = elementType
    }

    public static let types: [String: FixtureSampleType] = [
        "MET_CHAR": .init(size: 1, signed: true), "MET_UCHAR": .init(size: 1, signed: false),
        "MET_SHORT": .init(size: 2, signed: true), "MET_USHORT": .init(size: 2, signed: false),
        "MET_INT": .init(size: 4, signed: true), "MET_UINT": .init(size: 4, signed: false),
        "MET_LONG": .init(size: 4, signed: true), "MET_ULONG": .init(size: 4, signed: false),
        "MET_LONG_LONG": .init(size: 8, signed: true), "MET_ULONG_LONG": .init(size: 8, signed: false),
        "MET_FLOAT": .init(size: 4, signed: true, float: true), "MET_DOUBLE": .init(size: 8, signed: true, float: true),
    ]

    static func numbers(_ v: [Double]) -> String {
        v.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : "\($0)" }.joined(separator: " ")
    }

    /// The files: (name relative to the folder, bytes); the header is `name`.
    public func files(name: String, values: [Double]) -> [(String, [UInt8])] {
        let type = MetaImageBuilder.types[elementType] ?? .init(size: 1, signed: false)
        let raw = type.encode(values, bigEndian: msb)
        let filler = [UInt8](repeating: 0x5A, count: max(headerSize ?? 0, headerSize == -1 ? 37 : 0))
        var out: [(String, [UInt8])] = []
        func payload(_ bytes: [UInt8]) -> [UInt8] {
            filler + (compressed ? Compression.zlib(bytes) : bytes)
        }
        var lines = ["ObjectType = Image", "NDims = \(dims.count)", "BinaryData = True",
                     "\(elementByteOrderKey ? "ElementByteOrderMSB" : "BinaryDataByteOrderMSB") = \(msb ? "True" : "False")",
                     "CompressedData = \(compressed ? "True" : "False")"]
        var dataFile = "LOCAL"
        var listNames: [String] = []
        var local: [UInt8] = []
        switch storage {
        case .attached:
            // HeaderSize > 0 with LOCAL data counts from the start of the file (as MetaIO reads it):
            // the data is placed there below, not after a filler.
            local = (headerSize ?? 0) > 0 ? (compressed ? Compression.zlib(raw) : raw) : payload(raw)
            if compressed, writeCompressedSize { lines.append("CompressedDataSize = \(local.count - ((headerSize ?? 0) > 0 ? 0 : filler.count))") }
        case .file(let f):
            let p = payload(raw)
            if compressed, writeCompressedSize { lines.append("CompressedDataSize = \(p.count - filler.count)") }
            out.append((f, p))
            dataFile = f
        case .list(let names):
            let per = raw.count / names.count
            for (i, n) in names.enumerated() { out.append((n, payload(Array(raw[(i * per)..<((i + 1) * per)])))) }
            dataFile = "LIST"
            listNames = names
        case .pattern(let p, let a, let z, let step):
            let names = try! patternNames(p, a, z, step)
            let per = raw.count / names.count
            for (i, n) in names.enumerated() { out.append((n, payload(Array(raw[(i * per)..<((i + 1) * per)])))) }
            dataFile = "\(p) \(a) \(z) \(step)"
        }
        if let transform { lines.append("TransformMatrix = \(Self.numbers(transform))") }
        if let origin { lines.append("Offset = \(Self.numbers(origin))") }
        if let centerOfRotation { lines.append("CenterOfRotation = \(Self.numbers(centerOfRotation))") }
        if let anatomicalOrientation { lines.append("AnatomicalOrientation = \(anatomicalOrientation)") }
        if let spacing { lines.append("ElementSpacing = \(Self.numbers(spacing))") }
        lines.append("DimSize = \(dims.map(String.init).joined(separator: " "))")
        if channels != 1 { lines.append("ElementNumberOfChannels = \(channels)") }
        if let headerSize { lines.append("HeaderSize = \(headerSize)") }
        lines += extraLines
        lines.append("ElementType = \(elementType)")
        lines.append("ElementDataFile = \(dataFile)")
        var header = Array((lines.joined(separator: "\n") + "\n").utf8)
        if !listNames.isEmpty { header += Array((listNames.joined(separator: "\n") + "\n").utf8) }
        if case .attached = storage, let hs = headerSize, hs > header.count {
            header += [UInt8](repeating: 0x5A, count: hs - header.count)
        }
        return [(name, header + local)] + out
    }
}

/// Byte-exact NRRD (`.nrrd` / `.nhdr`) fixtures: every encoding, skips, detached data.
public struct NRRDBuilder: Sendable {
    public var type: String
    public var sample: FixtureSampleType
    public var sizes: [Int]
    public var encoding = "raw"
    /// nil: no `endian` line.
    public var endian: String? = "little"
    public var space: String?
    public var spaceDimension: Int?
    /// One entry per axis; nil entries are written `none`.
    public var directions: [[Double]?]?
    public var origin: [Double]?
    public var spacings: [Double]?
    public var kinds: [String]?
    public var lineSkip = 0
    public var byteSkip = 0
    public var storage: FixtureStorage = .attached
    public var extraLines: [String] = []
    public var version = 4

    public init(type: String, sample: FixtureSampleType, sizes: [Int]) {
        self.type = type
        self.sample = sample
        self.sizes = sizes
    }

    static func vector(_ v: [Double]) -> String { "(" + v.map { "\($0)" }.joined(separator: ",") + ")" }

    /// The encoded bytes of one data file (skip lines and bytes included).
    func encoded(_ values: [Double]) -> [UInt8] {
        let big = endian == "big"
        var body: [UInt8]
        switch encoding {
        case "ascii", "text", "txt": body = sample.text(values, perLine: sizes.first ?? 8)
        case "hex":
            let raw = sample.encode(values, bigEndian: big)
            let digits = Array("0123456789abcdef".utf8)
            body = []
            for (i, b) in raw.enumerated() {
                body.append(digits[Int(b >> 4)]); body.append(digits[Int(b & 15)])
                if (i + 1) % 32 == 0 { body.append(0x0A) }
            }
        default: body = sample.encode(values, bigEndian: big)
        }
        if byteSkip > 0, encoding == "gzip" || encoding == "gz" || encoding == "bzip2" || encoding == "bz2" {
            body = [UInt8](repeating: 0x33, count: byteSkip) + body  // skipped after decompression
        }
        switch encoding {
        case "gzip", "gz": body = Compression.gzip(body)
        case "bzip2", "bz2": body = Compression.bzip2(body)
        default: break
        }
        var prefix: [UInt8] = []
        for i in 0..<lineSkip { prefix += Array("skipped line \(i)\n".utf8) }
        if byteSkip > 0, !["gzip", "gz", "bzip2", "bz2"].contains(encoding) { prefix += [UInt8](repeating: 0x33, count: byteSkip) }
        if byteSkip == -1 { prefix += [UInt8](repeating: 0x44, count: 29) }
        return prefix + body
    }

    public func files(name: String, values: [Double]) -> [(String, [UInt8])] {
        var lines = ["NRRD000\(version)", "# ImagingX fixture", "type: \(type)", "dimension: \(sizes.count)"]
        if let space { lines.append("space: \(space)") }
        if let spaceDimension { lines.append("space dimension: \(spaceDimension)") }
        lines.append("sizes: \(sizes.map(String.init).joined(separator: " "))")
        if let directions {
            lines.append("space directions: " + directions.map { $0.map(Self.vector) ?? "none" }.joined(separator: " "))
        }
        if let spacings { lines.append("spacings: " + spacings.map { $0.isNaN ? "nan" : "\($0)" }.joined(separator: " ")) }
        if let kinds { lines.append("kinds: " + kinds.joined(separator: " ")) }
        if let endian { lines.append("endian: \(endian)") }
        lines.append("encoding: \(encoding)")
        if let origin { lines.append("space origin: \(Self.vector(origin))") }
        if lineSkip > 0 { lines.append("line skip: \(lineSkip)") }
        if byteSkip != 0 { lines.append("byte skip: \(byteSkip)") }
        lines += extraLines
        var out: [(String, [UInt8])] = []
        switch storage {
        case .attached:
            let header = Array((lines.joined(separator: "\n") + "\n\n").utf8)
            return [(name, header + encoded(values))]
        case .file(let f):
            lines.append("data file: \(f)")
            out.append((f, encoded(values)))
        case .list(let names):
            lines.append("data file: LIST")
            lines += names
            let per = values.count / names.count
            for (i, n) in names.enumerated() { out.append((n, encoded(Array(values[(i * per)..<((i + 1) * per)])))) }
        case .pattern(let p, let a, let z, let step):
            lines.append("data file: \(p) \(a) \(z) \(step)")
            let names = try! patternNames(p, a, z, step)
            let per = values.count / names.count
            for (i, n) in names.enumerated() { out.append((n, encoded(Array(values[(i * per)..<((i + 1) * per)])))) }
        }
        return [(name, Array((lines.joined(separator: "\n") + "\n").utf8))] + out
    }
}

/// The names a `%0Nd` pattern gives (fixtures write only `%d` / `%0Nd`).
func patternNames(_ p: String, _ a: Int, _ z: Int, _ step: Int) throws -> [String] {
    var out: [String] = []
    var i = a
    while step > 0 ? i <= z : i >= z {
        out.append(String(format: p, i))
        i += step
    }
    return out
}

extension Compression {
    /// zlib stream (RFC 1950), as MetaIO's compress2.
    public static func zlib(_ data: [UInt8], level: Int32 = 6) -> [UInt8] { deflate(data, windowBits: 15, level: level) }

    /// bzip2 stream (libbz2, block size 9).
    public static func bzip2(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: data.count + data.count / 100 + 700)
        var length = UInt32(out.count)
        // One byte more than given, so the buffer has an address even for empty input (its
        // length is passed apart).
        var input = data + [0]
        let status = input.withUnsafeMutableBytes { inBuf in
            out.withUnsafeMutableBytes { outBuf in
                BZ2_bzBuffToBuffCompress(outBuf.baseAddress!.assumingMemoryBound(to: CChar.self), &length,
                                         inBuf.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(data.count), 9, 0, 0)
            }
        }
        precondition(status == BZ_OK, "bzip2 compression failed (\(status))")
        return Array(out[0..<Int(length)])
    }
}
