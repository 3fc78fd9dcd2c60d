import ImagingXBytes
import ImagingXModel

/// What an NRRD header says (teem's format definition, NRRD0001–NRRD0005; pynrrd is the
/// reference reader): `field: value` lines after the `NRRD000X` magic, ending at an empty line
/// (attached data follows) or at the end of a detached `.nhdr`.
package struct NRRDHeader: Sendable {
    /// `sizes`, all axes, fastest first.
    package var sizes: [Int]
    /// Which axes are domain (spatial or temporal) axes; the others (a `none` space direction,
    /// or a kind such as vector / RGB-color / list) hold the channels.
    package var domain: [Bool]
    /// One world vector per domain axis (`space directions`), in `space` coordinates; nil when
    /// the header gives none.
    package var directions: [[Double]]?
    package var origin: [Double]?
    /// `spacings` of the domain axes (used when there are no space directions).
    package var spacings: [Double]?
    /// The `space` field, normalised (e.g. "left-posterior-superior"), if any.
    package var space: String?
    /// World frame of `space`: true for LPS-like, false for RAS; nil when the space names no
    /// patient frame (scanner-xyz, 3D-right-handed, a bare `space dimension`).
    package var lps: Bool?
    /// Sign of the first world axis when `space` is LAS (x flipped against RAS).
    package var flipX: Bool
    package var dtype: DType
    package var data: StoredData
    package var findings: [Finding]

    package var dims: [Int] { zip(sizes, domain).filter { $0.1 }.map { $0.0 } }
    /// The product of the non-domain axes' sizes (checked against overflow when parsed).
    package var channels: Int

    /// Millimetres between samples along each domain axis: the length of its space direction,
    /// else its `spacings` value, else 1.
    package var spacing: [Double] {
        if let directions { return directions.map { v in v.reduce(0) { $0 + $1 * $1 }.squareRoot() } }
        if let spacings { return spacings.map { $0.isNaN ? 1 : $0 } }
        return dims.map { _ in 1 }
    }

    /// Voxel index (domain axes) to RAS+ mm; nil without space directions or a patient frame.
    package var affine: Matrix4? {
        guard let directions, let lps else { return nil }
        var dirs = directions
        var o = origin ?? Array(repeating: 0, count: directions.first?.count ?? 3)
        if flipX {
            for i in dirs.indices where !dirs[i].isEmpty { dirs[i][0] = -dirs[i][0] }
            if !o.isEmpty { o[0] = -o[0] }
        }
        return TextHeaderGeometry.affine(directions: dirs, origin: o, lps: lps)
    }
}

package enum NRRDReader {
    /// `NRRD000` then a version digit.
    package static func sniff(_ b: UnsafeRawBufferPointer) -> Bool {
        let magic = Array("NRRD000".utf8)
        guard b.count >= 8 else { return false }
        return (0..<7).allSatisfy { b[$0] == magic[$0] } && (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(b[7])
    }

    /// A file that starts like an NRRD magic but is too short to hold one.
    package static func sniffShort(_ b: UnsafeRawBufferPointer) -> Bool {
        let magic = Array("NRRD000".utf8)
        return b.count >= 4 && b.count < 8 && (0..<min(b.count, 7)).allSatisfy { b[$0] == magic[$0] }
    }

    /// teem's type names and aliases (nrrd/format.html "type").
    static let types: [String: SampleKind] = {
        var t: [String: SampleKind] = [:]
        for n in ["signed char", "int8", "int8_t"] { t[n] = .int8 }
        for n in ["uchar", "unsigned char", "uint8", "uint8_t"] { t[n] = .uint8 }
        for n in ["short", "short int", "signed short", "signed short int", "int16", "int16_t"] { t[n] = .int16 }
        for n in ["ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"] { t[n] = .uint16 }
        for n in ["int", "signed int", "int32", "int32_t"] { t[n] = .int32 }
        for n in ["uint", "unsigned int", "uint32", "uint32_t"] { t[n] = .uint32 }
        for n in ["longlong", "long long", "long long int", "signed long long", "signed long long int", "int64", "int64_t"] { t[n] = .int64 }
        for n in ["ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t"] { t[n] = .uint64 }
        t["float"] = .float32
        t["double"] = .float64
        return t
    }()

    /// teem's space names and their abbreviations → (LPS-like?, x flipped against RAS?).
    static let spaces: [String: (name: String, lps: Bool?, flipX: Bool)] = [
        "right-anterior-superior": ("right-anterior-superior", false, false), "ras": ("right-anterior-superior", false, false),
        "left-anterior-superior": ("left-anterior-superior", false, true), "las": ("left-anterior-superior", false, true),
        "left-posterior-superior": ("left-posterior-superior", true, false), "lps": ("left-posterior-superior", true, false),
        "right-anterior-superior-time": ("right-anterior-superior-time", false, false), "rast": ("right-anterior-superior-time", false, false),
        "left-anterior-superior-time": ("left-anterior-superior-time", false, true), "last": ("left-anterior-superior-time", false, true),
        "left-posterior-superior-time": ("left-posterior-superior-time", true, false), "lpst": ("left-posterior-superior-time", true, false),
        "scanner-xyz": ("scanner-xyz", nil, false), "scanner-xyz-time": ("scanner-xyz-time", nil, false),
        "3d-right-handed": ("3D-right-handed", nil, false), "3d-left-handed": ("3D-left-handed", nil, false),
        "3d-right-handed-time": ("3D-right-handed-time", nil, false), "3d-left-handed-time": ("3D-left-handed-time", nil, false),
    ]

    /// Axis kinds that are not sample positions in space or time: such an axis holds channels.
    static let domainKinds: Set<String> = ["domain", "space", "time"]

    /// Reads the header in `b` (the file's first bytes, at most `TextHeaderLines.limit`).
    /// `detached`: the file is all header (`.nhdr`), so it may end without an empty line.
    package static func parse(_ b: UnsafeRawBufferPointer, fileSize: Int) throws(ParseError) -> NRRDHeader {
        var lines = TextHeaderLines(b)
        _ = lines.next()  // the magic
        var fields = TextHeaderFields(b)
        var end: Int?
        var list: [String] = []
        var listFollows = false
        while let line = lines.next() {
            if !line.terminated {
                if b.count < fileSize {
                    throw ParseError(.limitExceeded, at: b.count, "NRRD header longer than \(TextHeaderLines.limit) bytes")
                }
                // teem ends every header line with a newline; without one the file was cut inside it.
                throw .truncated(at: fileSize, need: fileSize + 1, have: fileSize, "an NRRD header line (no newline)")
            }
            let r = line.range
            if r.isEmpty {
                end = lines.position
                break
            }
            if listFollows {
                // After `data file: LIST`, every line up to the end of the header names a file.
                list.append(lines.string(r))
                guard list.count <= StoredData.maxFiles else {
                    throw ParseError(.limitExceeded, at: line.start, "more than \(StoredData.maxFiles) files in the list")
                }
                continue
            }
            if lines.byte(r.lowerBound) == UInt8(ascii: "#") { continue }
            // The first ':' followed by ' ' (a field) or '=' (a key/value pair: free text).
            var colon: Int?
            var i = r.lowerBound
            while i + 1 < r.upperBound {
                if lines.byte(i) == UInt8(ascii: ":"), lines.byte(i + 1) == 0x20 || lines.byte(i + 1) == UInt8(ascii: "=") { colon = i; break }
                i += 1
            }
            guard let colon else {
                throw ParseError(.malformed, at: line.start, "NRRD header line is not 'field: value': '\(lines.text(r).prefix(40))'")
            }
            if lines.byte(colon + 1) == UInt8(ascii: "=") { continue }
            var key = lines.string(r.lowerBound..<colon)
            if key.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) { key = key.lowercased() }
            if key == "datafile" { key = "data file" }
            if key == "centerings" { key = "centers" }
            let valueRange = TextHeaderLines.trim(b, (colon + 2)..<r.upperBound)
            guard fields.add(key, valueRange, at: line.start) else {
                throw ParseError(.malformed, at: line.start, "NRRD field '\(key)' given twice")
            }
            if key == "data file", TextHeaderLines.starts(b, valueRange, "LIST") { listFollows = true }
        }
        if end == nil, b.count < fileSize {
            throw ParseError(.limitExceeded, at: b.count, "NRRD header longer than \(TextHeaderLines.limit) bytes")
        }
        func need(_ key: String) throws(ParseError) -> TextHeaderFields.Field {
            guard let f = fields[key] else { throw ParseError(.malformed, at: 0, "NRRD header without the required field '\(key)'") }
            return f
        }
        var findings: [Finding] = []

        let typeField = try need("type")
        let typeName = TextHeaderLines.words(typeField.value).joined(separator: " ").lowercased()
        guard let kind = types[typeName] else {
            throw ParseError(typeName == "block" ? .unsupported : .malformed, at: typeField.at, "NRRD type '\(typeField.value.prefix(30))' is not read")
        }
        let dimField = try need("dimension")
        guard let ndim = dimField.int, (1...16).contains(ndim) else {
            throw ParseError(.malformed, at: dimField.at, "NRRD dimension is '\(dimField.value.prefix(20))'")
        }
        let sizesField = try need("sizes")
        guard let sizes = sizesField.integers, sizes.count == ndim, sizes.allSatisfy({ $0 >= 1 }) else {
            throw ParseError(.malformed, at: sizesField.at, "NRRD sizes needs \(ndim) positive whole numbers: '\(sizesField.value.prefix(60))'")
        }
        let encField = try need("encoding")
        let encoding: StoredData.Encoding
        switch String(encField.value).lowercased() {
        case "raw": encoding = .raw
        case "txt", "text", "ascii": encoding = .ascii
        case "hex": encoding = .hex
        case "gz", "gzip": encoding = .gzip
        case "bz2", "bzip2": encoding = .bzip2
        default: throw ParseError(.unsupported, at: encField.at, "NRRD encoding '\(encField.value.prefix(20))' is not read")
        }
        var bigEndian = false
        if let e = fields["endian"] {
            switch e.value.lowercased() {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default: throw ParseError(.malformed, at: e.at, "NRRD endian is '\(e.value.prefix(20))'")
            }
        } else if kind.size > 1, encoding != .ascii {
            // pynrrd and teem refuse multi-byte data without a byte order.
            throw ParseError(.malformed, at: typeField.at, "NRRD header without 'endian' for \(kind.size)-byte samples")
        }

        // Space: `space` (a named frame) or `space dimension` (a bare one), not both.
        var spaceName: String?, lps: Bool?, flipX = false
        var spaceDim: Int?
        if let s = fields["space"] {
            guard let entry = spaces[s.value.lowercased()] else {
                throw ParseError(.malformed, at: s.at, "NRRD space '\(s.value.prefix(40))' is not one teem defines")
            }
            spaceName = entry.name
            lps = entry.lps
            flipX = entry.flipX
            spaceDim = entry.name.hasSuffix("time") ? 4 : 3
            if fields["space dimension"] != nil {
                throw ParseError(.malformed, at: s.at, "NRRD header gives both 'space' and 'space dimension'")
            }
        } else if let d = fields["space dimension"] {
            guard let n = d.int, (1...16).contains(n) else {
                throw ParseError(.malformed, at: d.at, "NRRD space dimension is '\(d.value.prefix(20))'")
            }
            spaceDim = n
        }

        var kinds: [String]?
        if let k = fields["kinds"] {
            let names = TextHeaderLines.words(k.value).map { $0.lowercased() }
            guard names.count == ndim else {
                throw ParseError(.malformed, at: k.at, "NRRD kinds has \(names.count) entries for \(ndim) axes")
            }
            kinds = names
        }
        var domain = kinds.map { $0.map { domainKinds.contains($0) || $0 == "???" || $0 == "none" } } ?? Array(repeating: true, count: ndim)

        var directions: [[Double]]?
        if let sd = fields["space directions"] {
            guard let spaceDim else {
                throw ParseError(.malformed, at: sd.at, "NRRD space directions without a space")
            }
            let tokens = TextHeaderLines.words(sd.value)
            guard tokens.count == ndim else {
                throw ParseError(.malformed, at: sd.at, "NRRD space directions has \(tokens.count) entries for \(ndim) axes")
            }
            var vectors: [[Double]] = []
            for (axis, t) in tokens.enumerated() {
                if t.utf8.elementsEqual("none".utf8) {
                    domain[axis] = false
                    continue
                }
                guard t.utf8.first == UInt8(ascii: "("), t.utf8.last == UInt8(ascii: ")"),
                      let v = TextHeaderLines.numbers(Substring(t.utf8.dropFirst().dropLast())), v.count == spaceDim else {
                    throw ParseError(.malformed, at: sd.at, "NRRD space direction '\(t.prefix(60))' is not a vector of \(spaceDim) numbers")
                }
                guard domain[axis] else {
                    throw ParseError(.malformed, at: sd.at, "NRRD axis \(axis) has a space direction but kind '\(kinds?[axis] ?? "")'")
                }
                vectors.append(v)
            }
            directions = vectors
        }
        var origin: [Double]?
        if let so = fields["space origin"] {
            guard let spaceDim else { throw ParseError(.malformed, at: so.at, "NRRD space origin without a space") }
            let t = so.value
            guard t.utf8.first == UInt8(ascii: "("), t.utf8.last == UInt8(ascii: ")"),
                  let v = TextHeaderLines.numbers(Substring(t.utf8.dropFirst().dropLast())), v.count == spaceDim else {
                throw ParseError(.malformed, at: so.at, "NRRD space origin '\(t.prefix(60))' is not a vector of \(spaceDim) numbers")
            }
            origin = v
        }
        var spacings: [Double]?
        if let sp = fields["spacings"] {
            let tokens = TextHeaderLines.words(sp.value)
            guard tokens.count == ndim else {
                throw ParseError(.malformed, at: sp.at, "NRRD spacings has \(tokens.count) entries for \(ndim) axes")
            }
            var values: [Double] = []
            for (axis, t) in tokens.enumerated() where domain[axis] {
                guard let v = t.lowercased() == "nan" ? Double.nan : Double(t) else {
                    throw ParseError(.malformed, at: sp.at, "NRRD spacing '\(t.prefix(20))' is not a number")
                }
                values.append(v)
            }
            spacings = values
        }
        if directions == nil, spaceName != nil {
            findings.append(Finding(.geometryMissing, .info, "NRRD space '\(spaceName!)' without space directions: no affine"))
        } else if directions != nil, lps == nil {
            findings.append(Finding(.geometryMissing, .info, "NRRD space \(spaceName ?? "of dimension \(spaceDim ?? 0)") names no patient frame: no affine"))
        }
        let domainSizes = zip(sizes, domain).filter { $0.1 }.map { $0.0 }
        var channels = 1
        for (size, isDomain) in zip(sizes, domain) where !isDomain {
            let (p, o) = channels.multipliedReportingOverflow(by: size)
            guard !o, p < 1 << 56 else {
                throw ParseError(.malformed, at: sizesField.at, "NRRD sizes \(sizes) describe more samples than any file can hold")
            }
            channels = p
        }
        guard let bytes = TextHeaderLines.byteCount(domainSizes, channels: channels, size: kind.size) else {
            throw ParseError(.malformed, at: sizesField.at, "NRRD sizes \(sizes) describe more samples than any file can hold")
        }
        var lineSkip = 0, byteSkip = 0
        if let l = fields["line skip"] ?? fields["lineskip"] {
            guard let v = l.int, v >= 0, v < StoredData.maxSkip else { throw ParseError(.malformed, at: l.at, "NRRD line skip is '\(l.value.prefix(20))'") }
            lineSkip = v
        }
        if let s = fields["byte skip"] ?? fields["byteskip"] {
            guard let v = s.int, v >= -1, v < StoredData.maxSkip else { throw ParseError(.malformed, at: s.at, "NRRD byte skip is '\(s.value.prefix(20))'") }
            if v == -1, encoding != .raw {
                throw ParseError(.malformed, at: s.at, "NRRD byte skip -1 is only defined for raw encoding")
            }
            byteSkip = v
        }

        var files: [String]?
        if let df = fields["data file"] {
            let v = df.value
            if df.starts(with: "LIST") {
                guard !list.isEmpty else { throw ParseError(.malformed, at: df.at, "NRRD data file LIST names no file") }
                files = list
            } else {
                let parts = v.split(separator: " ", omittingEmptySubsequences: true)
                if parts.count >= 4, v.contains("%"), let a = Int(parts[1]), let z = Int(parts[2]), let step = Int(parts[3]) {
                    files = try StoredData.expandPattern(String(parts[0]), first: a, last: z, step: step, at: df.at)
                } else {
                    guard !v.isEmpty else { throw ParseError(.malformed, at: df.at, "NRRD data file is empty") }
                    files = [String(v)]
                }
            }
            if let files, files.count > 1, bytes % files.count != 0 {
                throw ParseError(.malformed, at: df.at, "\(bytes) bytes of samples do not split evenly over \(files.count) files")
            }
        } else if end == nil {
            // Attached data needs the empty line that ends the header.
            throw .truncated(at: fileSize, need: fileSize + 1, have: fileSize, "the NRRD header (no empty line before the data)")
        }
        let data = StoredData(files: files, localOffset: end ?? b.count, encoding: encoding, kind: kind, bigEndian: bigEndian,
                              bytes: bytes, lineSkip: lineSkip, byteSkip: byteSkip)
        let dtype: DType
        switch (kind, channels) {
        case (.uint8, 3): dtype = .rgb24
        case (.uint8, 4): dtype = .rgba32
        default: dtype = DType(rawValue: kind.rawValue) ?? .uint8
        }
        return NRRDHeader(sizes: sizes, domain: domain, directions: directions, origin: origin, spacings: spacings,
                          space: spaceName, lps: lps, flipX: flipX, dtype: dtype, data: data, findings: findings,
                          channels: channels)
    }
}

/// Turns an NRRD header into the record's fields.
package enum NRRDRecord {
    package static func fill(_ record: inout ImageRecord, from h: NRRDHeader) {
        h.data.fill(&record, format: .nrrd, dims: h.dims, spacing: h.spacing, dtype: h.dtype, channels: h.channels,
                    affine: h.affine, nonFinite: "NRRD space directions or origin have non-finite values: no affine")
        record.appendFindings(h.findings)
    }
}
