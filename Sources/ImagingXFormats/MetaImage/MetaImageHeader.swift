import ImagingXBytes
import ImagingXModel

/// What a MetaImage (ITK MetaIO `.mha` / `.mhd`) header says: `Key = Value` lines, the last
/// being `ElementDataFile`. Read as ITK's MetaImageIO reads it (SimpleITK is the reference).
package struct MetaImageHeader: Sendable {
    /// DimSize: the grid, fastest axis first.
    package var dims: [Int]
    /// ElementSpacing (else ElementSize, else 1).
    package var spacing: [Double]
    /// Offset (= Position = Origin), LPS mm; zeros when absent.
    package var origin: [Double]
    /// TransformMatrix (= Rotation = Orientation) as direction vectors: `direction[i]` is the
    /// unit LPS vector of voxel axis i. MetaIO writes the matrix so that the i-th run of NDims
    /// numbers is axis i's direction (ITK's MetaImageIO reads it so: column i of GetDirection).
    package var direction: [[Double]]
    /// CenterOfRotation (read, not applied: ITK ignores it for images).
    package var centerOfRotation: [Double]?
    /// AnatomicalOrientation as written (e.g. "RAI": ITK's letters name where each axis comes from).
    package var anatomicalOrientation: String?
    /// ElementType's value type and the record's dtype.
    package var elementType: String
    package var dtype: DType
    /// ElementNumberOfChannels.
    package var channels: Int
    package var data: StoredData
    package var findings: [Finding]

    /// The voxel-to-RAS+ affine: directions × spacing, origin, LPS → RAS.
    package var affine: Matrix4 {
        let n = min(dims.count, 3)
        let dirs = (0..<n).map { i in direction[i].prefix(n).map { $0 * spacing[i] } }
        return TextHeaderGeometry.affine(directions: dirs, origin: Array(origin.prefix(n)), lps: true)
    }
}

package enum MetaImageReader {
    /// MET_ValueEnumType names (metaTypes.h) → sample type; MET_LONG is 4 bytes in MetaIO.
    static let elementTypes: [String: SampleKind] = [
        "MET_CHAR": .int8, "MET_ASCII_CHAR": .int8, "MET_UCHAR": .uint8, "MET_SHORT": .int16, "MET_USHORT": .uint16,
        "MET_INT": .int32, "MET_UINT": .uint32, "MET_LONG": .int32, "MET_ULONG": .uint32,
        "MET_LONG_LONG": .int64, "MET_ULONG_LONG": .uint64, "MET_FLOAT": .float32, "MET_DOUBLE": .float64,
    ]

    /// A MetaImage header starts with `ObjectType =` or `NDims =` (MetaIO writes ObjectType first).
    package static func sniff(_ b: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0D || b[i] == 0x0A { i += 1 }
        for key in ["ObjectType", "NDims"] {
            let k = Array(key.utf8)
            guard b.count - i > k.count, (0..<k.count).allSatisfy({ b[i + $0] == k[$0] }) else { continue }
            var j = i + k.count
            while j < b.count, b[j] == 0x20 || b[j] == 0x09 { j += 1 }
            if j < b.count, b[j] == UInt8(ascii: "=") { return true }
        }
        return false
    }

    static func isTrue(_ v: Substring) -> Bool {
        guard let c = v.utf8.first else { return false }
        return c == UInt8(ascii: "T") || c == UInt8(ascii: "t") || c == UInt8(ascii: "1")
    }

    /// Reads the header in `b` (the file's first bytes, at most `TextHeaderLines.limit`);
    /// `fileSize` tells a header cut by that limit from one cut by the end of the file.
    package static func parse(_ b: UnsafeRawBufferPointer, fileSize: Int) throws(ParseError) -> MetaImageHeader {
        var lines = TextHeaderLines(b)
        var fields = TextHeaderFields(b)
        var dataFile: (value: Substring, at: Int, end: Int)?
        var list: [String] = []
        while let line = lines.next() {
            if !line.terminated && b.count < fileSize {
                throw ParseError(.limitExceeded, at: b.count, "MetaImage header longer than \(TextHeaderLines.limit) bytes")
            }
            if line.range.isEmpty { continue }
            guard let eq = lines.first(UInt8(ascii: "="), in: line.range) else {
                throw ParseError(.malformed, at: line.start, "MetaImage header line without '=': '\(lines.text(line.range).prefix(40))'")
            }
            let keyRange = TextHeaderLines.trim(b, line.range.lowerBound..<eq)
            let valueRange = TextHeaderLines.trim(b, (eq + 1)..<line.range.upperBound)
            if TextHeaderLines.equals(b, keyRange, "ElementDataFile") {
                if !line.terminated {
                    if b.count < fileSize {
                        throw ParseError(.limitExceeded, at: b.count, "MetaImage header longer than \(TextHeaderLines.limit) bytes")
                    }
                    // MetaIO ends the line with a newline; without one the file was cut inside it.
                    throw .truncated(at: fileSize, need: fileSize + 1, have: fileSize, "the ElementDataFile line (no newline)")
                }
                dataFile = (lines.text(valueRange), line.start, lines.position)
                if TextHeaderLines.starts(b, valueRange, "LIST") {
                    // The rest of the file names the slice files, one a line.
                    while let name = lines.next() {
                        if !name.terminated, b.count == fileSize {
                            throw .truncated(at: fileSize, need: fileSize + 1, have: fileSize, "the file list (no newline after the last name)")
                        }
                        if !name.range.isEmpty { list.append(lines.string(name.range)) }
                        guard list.count <= StoredData.maxFiles else {
                            throw ParseError(.limitExceeded, at: name.start, "more than \(StoredData.maxFiles) files in the list")
                        }
                    }
                    if b.count < fileSize {
                        throw ParseError(.limitExceeded, at: b.count, "MetaImage file list longer than \(TextHeaderLines.limit) bytes")
                    }
                }
                break
            }
            fields.add(lines.string(keyRange), valueRange, at: line.start)
        }
        guard let dataFile else {
            if b.count < fileSize {
                throw ParseError(.limitExceeded, at: b.count, "no ElementDataFile in the first \(TextHeaderLines.limit) bytes of a MetaImage header")
            }
            throw .truncated(at: fileSize, need: fileSize + 1, have: fileSize, "the MetaImage header (no ElementDataFile line)")
        }
        func numbers(_ key: String, _ count: Int) throws(ParseError) -> [Double]? {
            guard let f = fields[key] else { return nil }
            guard let v = f.numbers, v.count >= count else {
                throw ParseError(.malformed, at: f.at, "\(key) needs \(count) numbers: '\(f.value.prefix(60))'")
            }
            return Array(v.prefix(count))
        }
        var findings: [Finding] = []

        if let type = fields["ObjectType"], !type.equals("Image") {
            throw ParseError(.unsupported, at: type.at, "MetaIO ObjectType '\(type.value.prefix(40))' is not an Image")
        }
        guard let nd = fields["NDims"] else { throw ParseError(.malformed, at: 0, "MetaImage header without NDims") }
        guard let ndim = nd.int, (1...10).contains(ndim) else {
            throw ParseError(.malformed, at: nd.at, "NDims is '\(nd.value.prefix(20))'; MetaIO allows 1 to 10")
        }
        guard let ds = fields["DimSize"] else { throw ParseError(.malformed, at: nd.at, "MetaImage header without DimSize") }
        guard let dimsAll = ds.integers, dimsAll.count >= ndim,
              dimsAll.prefix(ndim).allSatisfy({ $0 >= 1 }) else {
            throw ParseError(.malformed, at: ds.at, "DimSize needs \(ndim) positive whole numbers: '\(ds.value.prefix(60))'")
        }
        let dims = Array(dimsAll.prefix(ndim))

        guard let et = fields["ElementType"] else { throw ParseError(.malformed, at: nd.at, "MetaImage header without ElementType") }
        guard let kind = elementTypes[String(decoding: UnsafeRawBufferPointer(rebasing: b[et.range]), as: UTF8.self)] else {
            throw ParseError(.unsupported, at: et.at, "ElementType '\(et.value.prefix(30))' is not read")
        }
        var channels = 1
        if let c = fields["ElementNumberOfChannels"] {
            guard let n = c.int, (1...1024).contains(n) else {
                throw ParseError(.malformed, at: c.at, "ElementNumberOfChannels is '\(c.value.prefix(20))'")
            }
            channels = n
        }
        var spacing = Array(repeating: 1.0, count: ndim)
        if let v = try numbers("ElementSpacing", ndim) { spacing = v } else if let v = try numbers("ElementSize", ndim) { spacing = v }
        if spacing.contains(where: { !($0 > 0) || !$0.isFinite }) {
            findings.append(Finding(.spacingNonpositive, .warning, "ElementSpacing \(spacing) is not positive"))
        }
        var origin = Array(repeating: 0.0, count: ndim)
        for key in ["Offset", "Position", "Origin"] {
            if let v = try numbers(key, ndim) { origin = v; break }
        }
        var direction = (0..<ndim).map { i in (0..<ndim).map { $0 == i ? 1.0 : 0.0 } }
        for key in ["TransformMatrix", "Rotation", "Orientation"] {
            if let m = try numbers(key, ndim * ndim) {
                direction = (0..<ndim).map { i in Array(m[(i * ndim)..<((i + 1) * ndim)]) }
                break
            }
        }
        let center = try numbers("CenterOfRotation", ndim)
        let orientation = fields["AnatomicalOrientation"].map { String($0.value) }

        let bigEndian = fields["BinaryDataByteOrderMSB"].map { isTrue($0.value) } == true
            || fields["ElementByteOrderMSB"].map { isTrue($0.value) } == true
        if let binary = fields["BinaryData"], !isTrue(binary.value) {
            throw ParseError(.unsupported, at: binary.at, "BinaryData = False (ASCII voxel data) is not read")
        }
        let compressed = fields["CompressedData"].map { isTrue($0.value) } == true
        var headerSize = 0
        if let h = fields["HeaderSize"] {
            guard let v = h.int, v >= -1, v < StoredData.maxSkip else {
                throw ParseError(.malformed, at: h.at, "HeaderSize is '\(h.value.prefix(20))'")
            }
            headerSize = v
        }
        if compressed, headerSize == -1 {
            throw ParseError(.unsupported, at: fields["HeaderSize"]!.at, "HeaderSize = -1 with CompressedData: the data's start is unknown")
        }
        guard let bytes = TextHeaderLines.byteCount(dims, channels: channels, size: kind.size) else {
            throw ParseError(.malformed, at: ds.at, "DimSize \(dims) describes more voxels than any file can hold")
        }

        // ElementDataFile: LOCAL, LIST [subdim], a printf pattern with min max step [subdim], or a name.
        var files: [String]?
        let value = dataFile.value
        if value.utf8.elementsEqual("LOCAL".utf8) || value.utf8.elementsEqual("Local".utf8) || value.utf8.elementsEqual("local".utf8) {
            files = nil
        } else if value.utf8.starts(with: "LIST".utf8) {
            guard !list.isEmpty else { throw ParseError(.malformed, at: dataFile.at, "ElementDataFile = LIST names no file") }
            files = list
        } else if value.utf8.contains(UInt8(ascii: "%")) {
            let parts = value.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 4, let a = Int(parts[1]), let z = Int(parts[2]), let step = Int(parts[3]) else {
                throw ParseError(.malformed, at: dataFile.at, "ElementDataFile pattern needs '<pattern> <min> <max> <step>'")
            }
            files = try StoredData.expandPattern(String(parts[0]), first: a, last: z, step: step, at: dataFile.at)
        } else {
            guard !value.isEmpty else { throw ParseError(.malformed, at: dataFile.at, "ElementDataFile is empty") }
            files = [String(value)]
        }
        if let files, files.count > 1, bytes % files.count != 0 {
            throw ParseError(.malformed, at: dataFile.at, "\(bytes) bytes of voxels do not split evenly over \(files.count) files")
        }
        let data = StoredData(files: files, localOffset: dataFile.end, encoding: compressed ? .zlib : .raw, kind: kind,
                              bigEndian: bigEndian, bytes: bytes, byteSkip: headerSize,
                              byteSkipFromFileStart: files == nil && headerSize > 0)
        let dtype: DType
        switch (kind, channels) {
        case (.uint8, 3): dtype = .rgb24
        case (.uint8, 4): dtype = .rgba32
        default: dtype = DType(rawValue: kind.rawValue) ?? .uint8
        }
        return MetaImageHeader(dims: dims, spacing: spacing, origin: origin, direction: direction, centerOfRotation: center,
                               anatomicalOrientation: orientation, elementType: String(et.value), dtype: dtype,
                               channels: channels, data: data, findings: findings)
    }
}

/// Turns a MetaImage header into the record's fields.
package enum MetaImageRecord {
    /// The opposite anatomical letter (either case), "?" for any other byte.
    static func opposite(_ c: UInt8) -> UInt8 {
        switch c | 0x20 {
        case UInt8(ascii: "r"): UInt8(ascii: "L")
        case UInt8(ascii: "l"): UInt8(ascii: "R")
        case UInt8(ascii: "a"): UInt8(ascii: "P")
        case UInt8(ascii: "p"): UInt8(ascii: "A")
        case UInt8(ascii: "i"): UInt8(ascii: "S")
        case UInt8(ascii: "s"): UInt8(ascii: "I")
        default: UInt8(ascii: "?")
        }
    }

    package static func fill(_ record: inout ImageRecord, from h: MetaImageHeader) {
        h.data.fill(&record, format: .metaimage, dims: h.dims, spacing: h.spacing, dtype: h.dtype, channels: h.channels,
                    affine: h.affine, nonFinite: "TransformMatrix, ElementSpacing or Offset has non-finite values: no affine")
        record.appendFindings(h.findings)
        if let label = h.anatomicalOrientation, let codes = record.axcodes, label.utf8.count == 3, h.dims.count >= 3 {
            // ITK's letters say where each axis comes from ("RAI": from right, anterior, inferior),
            // nibabel's axcodes where it goes ("LPS"): compare with each letter's opposite.
            let toward = String(decoding: label.utf8.map(opposite), as: UTF8.self)
            if toward != codes {
                record.note(.orientationLabelMismatch, .warning,
                            "AnatomicalOrientation \(label) (axes toward \(toward)) disagrees with TransformMatrix (\(codes))")
            }
        }
    }
}
