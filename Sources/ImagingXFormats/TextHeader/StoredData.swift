import ImagingXBytes
import ImagingXModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where and how the voxels of a text-header image (MetaImage, NRRD) are stored: in the header
/// file after the header, or in one or more data files beside it (a name, a `LIST`, or a printf
/// pattern), raw or encoded. What the data check and the voxel decoder read.
package struct StoredData: Sendable, Equatable {
    package enum Encoding: String, Sendable {
        /// Bytes as they are.
        case raw
        /// zlib stream (MetaImage `CompressedData = True`).
        case zlib
        /// gzip stream (NRRD `encoding: gzip`).
        case gzip
        /// bzip2 stream (NRRD `encoding: bzip2`).
        case bzip2
        /// Numbers as text, separated by white space (NRRD `encoding: ascii`).
        case ascii
        /// Two hexadecimal digits a byte, white space ignored (NRRD `encoding: hex`).
        case hex

        package var isCompressed: Bool { self == .zlib || self == .gzip || self == .bzip2 }
    }

    /// nil: the voxels follow the header in the same file, from `localOffset`. Otherwise the data
    /// files in order, as written (relative names are relative to the header's folder); each
    /// holds an equal share of the voxels.
    package var files: [String]?
    /// Byte after the header's last line (attached data).
    package var localOffset: Int
    package var encoding: Encoding
    /// One sample's type (a channel of a multi-channel voxel).
    package var kind: SampleKind
    /// Samples of multi-byte types are big-endian (raw, compressed and hex data).
    package var bigEndian: Bool
    /// Decoded bytes of the whole image (all files); Int.max when the product overflows.
    package var bytes: Int
    /// Lines to skip at the start of each data file (NRRD `line skip`).
    package var lineSkip: Int
    /// Bytes to skip after the lines (NRRD `byte skip`, MetaImage `HeaderSize`); −1: the data is
    /// the last bytes of the file (raw data only).
    package var byteSkip: Int
    /// For attached MetaImage data, `HeaderSize` counts from the start of the file, not from the
    /// end of the header.
    package var byteSkipFromFileStart: Bool

    package init(files: [String]?, localOffset: Int, encoding: Encoding, kind: SampleKind, bigEndian: Bool, bytes: Int,
                 lineSkip: Int = 0, byteSkip: Int = 0, byteSkipFromFileStart: Bool = false) {
        self.files = files
        self.localOffset = localOffset
        self.encoding = encoding
        self.kind = kind
        self.bigEndian = bigEndian
        self.bytes = bytes
        self.lineSkip = lineSkip
        self.byteSkip = byteSkip
        self.byteSkipFromFileStart = byteSkipFromFileStart
    }

    /// Decoded bytes each data file (or the attached data) holds.
    package var bytesPerFile: Int {
        guard let files, files.count > 1 else { return bytes }
        return bytes / files.count
    }

    /// The largest byte or line skip accepted (larger ones describe no file, and must not
    /// overflow offset arithmetic).
    package static let maxSkip = 1 << 56

    /// Most data files one header may name (a list or a pattern).
    package static let maxFiles = 100_000

    /// Expands a printf-style file pattern (`slice%03d.raw`) for `first` through `last` by `step`
    /// (MetaIO and NRRD both write `<pattern> <min> <max> <step> [<subdim>]`). One `%d`/`%i`/`%u`
    /// conversion with optional `0` flag and width; `%%` is a percent sign.
    package static func expandPattern(_ pattern: String, first: Int, last: Int, step: Int, at offset: Int) throws(ParseError) -> [String] {
        guard step != 0 else { throw ParseError(.malformed, at: offset, "file pattern step is 0") }
        guard (step > 0 && first <= last) || (step < 0 && first >= last) else {
            throw ParseError(.malformed, at: offset, "file pattern range \(first)…\(last) step \(step) names no file")
        }
        let (difference, o0) = last.subtractingReportingOverflow(first)
        let (span, o1) = difference.dividedReportingOverflow(by: step)
        guard !o0, !o1, span < maxFiles else {
            throw ParseError(.limitExceeded, at: offset, "file pattern names more than \(maxFiles) files")
        }
        // Split the pattern around its one conversion.
        let chars = Array(pattern.utf8)
        var prefix: [UInt8] = [], suffix: [UInt8] = []
        var zeroPad = false, width = 0, found = false
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == UInt8(ascii: "%") {
                if i + 1 < chars.count, chars[i + 1] == UInt8(ascii: "%") {
                    if found { suffix.append(c) } else { prefix.append(c) }
                    i += 2
                    continue
                }
                guard !found else { throw ParseError(.unsupported, at: offset, "file pattern with more than one conversion") }
                var j = i + 1
                if j < chars.count, chars[j] == UInt8(ascii: "0") { zeroPad = true; j += 1 }
                while j < chars.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(chars[j]) {
                    width = width * 10 + Int(chars[j] - UInt8(ascii: "0"))
                    guard width <= 64 else { throw ParseError(.malformed, at: offset, "file pattern width over 64") }
                    j += 1
                }
                guard j < chars.count, [UInt8(ascii: "d"), UInt8(ascii: "i"), UInt8(ascii: "u")].contains(chars[j]) else {
                    throw ParseError(.unsupported, at: offset, "file pattern conversion is not %d")
                }
                found = true
                i = j + 1
                continue
            }
            if found { suffix.append(c) } else { prefix.append(c) }
            i += 1
        }
        guard found else { throw ParseError(.malformed, at: offset, "file pattern '\(pattern)' has no %d conversion") }
        var out: [String] = []
        var n = first
        while step > 0 ? n <= last : n >= last {
            var digits = String(n.magnitude)
            let sign = n < 0 ? "-" : ""
            let pad = max(0, width - digits.count - sign.count)
            digits = zeroPad ? sign + String(repeating: "0", count: pad) + digits
                             : String(repeating: " ", count: pad) + sign + digits
            out.append(String(decoding: prefix, as: UTF8.self) + digits + String(decoding: suffix, as: UTF8.self))
            let (next, o) = n.addingReportingOverflow(step)
            if o { break }
            n = next
        }
        return out
    }
}

/// A text header's fields: a few dozen at most, so a list searched in order (small-string
/// equality) costs less than hashing every key into a dictionary. Values stay byte ranges of the
/// header until a reader asks for one.
package struct TextHeaderFields {
    package struct Field {
        let bytes: UnsafeRawBufferPointer
        package let range: Range<Int>
        /// Byte offset of the field's line.
        package let at: Int
        /// The value as text (made on demand).
        package var value: Substring { Substring(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)) }
        package var numbers: [Double]? { TextHeaderLines.numbers(bytes, range) }
        package var int: Int? { TextHeaderLines.int(bytes, range) }
        package var integers: [Int]? { TextHeaderLines.integers(bytes, range) }
        package func equals(_ literal: StaticString) -> Bool { TextHeaderLines.equals(bytes, range, literal) }
        package func starts(with literal: StaticString) -> Bool { TextHeaderLines.starts(bytes, range, literal) }
    }

    let bytes: UnsafeRawBufferPointer
    var entries: [(key: String, range: Range<Int>, at: Int)] = []

    package init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        entries.reserveCapacity(24)
    }

    package subscript(key: String) -> Field? {
        for e in entries where e.key == key { return Field(bytes: bytes, range: e.range, at: e.at) }
        return nil
    }

    /// Adds a field; false when the key is there already.
    @discardableResult
    package mutating func add(_ key: String, _ range: Range<Int>, at: Int) -> Bool {
        if entries.contains(where: { $0.key == key }) { return false }
        entries.append((key, range, at))
        return true
    }
}

/// Line-by-line reading of a text header held in memory, with each line's byte offset.
package struct TextHeaderLines {
    /// Text headers are read from the first 64 KiB; a header (with its file list) longer than
    /// that is refused.
    package static let limit = 64 << 10

    let bytes: UnsafeRawBufferPointer
    package private(set) var position = 0

    package init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The next line: its content without line ending and surrounding blanks (a byte range),
    /// its start offset, and whether it ended with a newline (false: the buffer ended first).
    package mutating func next() -> (range: Range<Int>, start: Int, terminated: Bool)? {
        guard position < bytes.count else { return nil }
        let start = position
        var end = start
        while end < bytes.count, bytes[end] != 0x0A { end += 1 }
        let terminated = end < bytes.count
        position = terminated ? end + 1 : end
        let r = Self.trim(bytes, start..<end)
        return (r, start, terminated)
    }

    package func text(_ r: Range<Int>) -> Substring {
        Substring(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self))
    }

    package func string(_ r: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self)
    }

    package func first(_ byte: UInt8, in r: Range<Int>) -> Int? {
        var i = r.lowerBound
        while i < r.upperBound { if bytes[i] == byte { return i }; i += 1 }
        return nil
    }

    package func byte(_ i: Int) -> UInt8 { bytes[i] }

    package static func trim(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi, isBlank(b[lo]) { lo += 1 }
        while hi > lo, isBlank(b[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    package static func equals(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, _ literal: StaticString) -> Bool {
        guard r.count == literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        for i in 0..<r.count where b[r.lowerBound + i] != p[i] { return false }
        return true
    }

    package static func starts(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, _ literal: StaticString) -> Bool {
        guard r.count >= literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        for i in 0..<literal.utf8CodeUnitCount where b[r.lowerBound + i] != p[i] { return false }
        return true
    }

    /// Tokens of `r` split at blanks (and commas when `commas`).
    static func tokens(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, commas: Bool, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        let buf = UnsafeBufferPointer(start: b.baseAddress!.assumingMemoryBound(to: UInt8.self) + r.lowerBound, count: r.count)
        var i = 0
        while i < buf.count {
            while i < buf.count, isBlank(buf[i]) || (commas && buf[i] == UInt8(ascii: ",")) { i += 1 }
            guard i < buf.count else { break }
            let start = i
            while i < buf.count, !isBlank(buf[i]), !(commas && buf[i] == UInt8(ascii: ",")) { i += 1 }
            if !body(UnsafeBufferPointer(rebasing: buf[start..<i])) { return false }
        }
        return true
    }

    package static func numbers(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> [Double]? {
        values(b, r, commas: true, double)
    }

    package static func integers(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> [Int]? {
        values(b, r, commas: false, integer)
    }

    /// Every token of `r` parsed by `parse`; nil when one does not parse.
    static func values<T>(_ b: UnsafeRawBufferPointer, _ r: Range<Int>, commas: Bool,
                          _ parse: (UnsafeBufferPointer<UInt8>) -> T?) -> [T]? {
        guard !r.isEmpty else { return [] }
        var out: [T] = []
        out.reserveCapacity(16)
        let ok = tokens(b, r, commas: commas) { t in
            guard let v = parse(t) else { return false }
            out.append(v)
            return true
        }
        return ok ? out : nil
    }

    package static func int(_ b: UnsafeRawBufferPointer, _ r: Range<Int>) -> Int? {
        guard !r.isEmpty else { return nil }
        let buf = UnsafeBufferPointer(start: b.baseAddress!.assumingMemoryBound(to: UInt8.self) + r.lowerBound, count: r.count)
        return integer(buf)
    }

    static let powersOfTen: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]

    static func isBlank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D }

    /// Splits `value` at white space (and commas when `commas`) and hands each token's bytes to
    /// `body`; false as soon as `body` does. Works on UTF-8 bytes (the header is ASCII text).
    static func tokens(_ value: Substring, commas: Bool, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        var copy = value
        return copy.withUTF8 { buf in
            var i = 0
            while i < buf.count {
                while i < buf.count, isBlank(buf[i]) || (commas && buf[i] == UInt8(ascii: ",")) { i += 1 }
                guard i < buf.count else { break }
                let start = i
                while i < buf.count, !isBlank(buf[i]), !(commas && buf[i] == UInt8(ascii: ",")) { i += 1 }
                if !body(UnsafeBufferPointer(rebasing: buf[start..<i])) { return false }
            }
            return true
        }
    }

    /// A decimal number as strtod reads it (correctly rounded, also `nan`, `inf`); nil unless
    /// the whole token is the number.
    package static func double(_ token: UnsafeBufferPointer<UInt8>) -> Double? {
        guard !token.isEmpty, token.count < 128 else { return nil }
        // Fast path (Clinger): at most 15 digits and a decimal point: digits / 10^k is exact
        // arithmetic on two exactly representable doubles, so correctly rounded, as strtod.
        if token.count <= 17 {
            var i = 0, negative = false
            if token[0] == UInt8(ascii: "-") { negative = true; i = 1 }
            var mantissa: Int64 = 0, digits = 0, fraction = -1
            var plain = i < token.count
            while i < token.count {
                let c = token[i]
                if c == UInt8(ascii: ".") {
                    if fraction >= 0 { plain = false; break }
                    fraction = 0
                } else if c >= 48, c <= 57 {
                    mantissa = mantissa * 10 + Int64(c - 48)
                    digits += 1
                    if fraction >= 0 { fraction += 1 }
                } else { plain = false; break }
                i += 1
            }
            if plain, digits > 0, digits <= 15 {
                let v = Double(mantissa) / powersOfTen[max(fraction, 0)]
                return negative ? -v : v
            }
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: token.count + 1) { buf -> Double? in
            for i in 0..<token.count { buf[i] = CChar(bitPattern: token[i]) }
            buf[token.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let v = strtod(buf.baseAddress!, &end)
            guard let end, end - buf.baseAddress! == token.count else { return nil }
            return v
        }
    }

    /// A whole number (optional sign, decimal digits), nil on overflow or any other byte.
    package static func integer(_ token: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        var negative = false
        if i < token.count, token[i] == UInt8(ascii: "-") || token[i] == UInt8(ascii: "+") { negative = token[i] == UInt8(ascii: "-"); i += 1 }
        guard i < token.count else { return nil }
        var v = 0
        while i < token.count {
            let d = Int(token[i]) - 48
            guard (0...9).contains(d) else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(d)
            guard !o1, !o2 else { return nil }
            v = a
            i += 1
        }
        return negative ? -v : v
    }

    /// Numbers in a value, separated by white space (and commas).
    package static func numbers(_ value: Substring) -> [Double]? {
        var out: [Double] = []
        let ok = tokens(value, commas: true) { t in
            guard let v = double(t) else { return false }
            out.append(v)
            return true
        }
        return ok ? out : nil
    }

    /// Whole numbers in a value.
    package static func integers(_ value: Substring) -> [Int]? {
        var out: [Int] = []
        let ok = tokens(value, commas: false) { t in
            guard let v = integer(t) else { return false }
            out.append(v)
            return true
        }
        return ok ? out : nil
    }

    /// One whole number (the value trimmed).
    package static func int(_ value: Substring) -> Int? {
        guard let v = integers(value), v.count == 1 else { return nil }
        return v[0]
    }

    package static func trimmed(_ s: Substring) -> Substring {
        let u = s.utf8
        var lo = u.startIndex, hi = u.endIndex
        while lo < hi, isBlank(u[lo]) { lo = u.index(after: lo) }
        while hi > lo, isBlank(u[u.index(before: hi)]) { hi = u.index(before: hi) }
        return Substring(u[lo..<hi])
    }

    /// The blank-separated words of `s` (UTF-8 level).
    package static func words(_ s: Substring) -> [Substring] {
        let u = s.utf8
        var out: [Substring] = []
        var i = u.startIndex
        while i < u.endIndex {
            while i < u.endIndex, isBlank(u[i]) { i = u.index(after: i) }
            guard i < u.endIndex else { break }
            let start = i
            while i < u.endIndex, !isBlank(u[i]) { i = u.index(after: i) }
            out.append(Substring(u[start..<i]))
        }
        return out
    }

    /// Index of the first `byte` (an ASCII character) in `s`.
    package static func firstIndex(of byte: UInt8, in s: Substring) -> Substring.Index? {
        s.utf8.firstIndex(of: byte)
    }

    /// The product of `dims` × `factor` × `size`, or nil when it overflows or passes 2^56.
    package static func byteCount(_ dims: [Int], channels: Int, size: Int) -> Int? {
        var n = 1
        for f in dims + [channels, size] {
            let (p, o) = n.multipliedReportingOverflow(by: f)
            guard !o, p < 1 << 56 else { return nil }
            n = p
        }
        return n
    }
}

/// The affine both text formats share: direction columns × spacing, origin, in LPS or RAS world
/// coordinates, embedded in 3D (a 2D image gets the third axis along the normal of its plane,
/// 1 mm; axes past the third are dropped), returned in RAS+ as every record's `affine`.
package enum TextHeaderGeometry {
    /// `directions[i]`: world vector of one step along voxel axis i (spacing included), in a
    /// world of `directions[i].count` (≤ 3) axes; `origin`: the first voxel's centre.
    package static func affine(directions: [[Double]], origin: [Double], lps: Bool) -> Matrix4 {
        var m = Matrix4.identity
        let axes = min(directions.count, 3)
        for c in 0..<axes {
            for r in 0..<3 { m[r, c] = r < directions[c].count ? directions[c][r] : 0 }
        }
        if axes == 2 {
            // The normal of the plane (unit), so the 4×4 stays invertible.
            let a = (0..<3).map { m[$0, 0] }, b = (0..<3).map { m[$0, 1] }
            var n = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
            let norm = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).squareRoot()
            if norm > 0 { n = n.map { $0 / norm } } else { n = [0, 0, 1] }
            for r in 0..<3 { m[r, 2] = n[r] }
        } else if axes == 1 {
            m[1, 1] = 1; m[2, 2] = 1
        }
        for r in 0..<3 { m[r, 3] = r < origin.count ? origin[r] : 0 }
        if lps {
            for c in 0..<4 { m[0, c] = -m[0, c]; m[1, c] = -m[1, c] }
        }
        return m
    }
}

extension StoredData {
    /// The record fields MetaImage and NRRD fill alike: format, grid, type and the affine (or a
    /// `geometry_missing` warning saying why there is none).
    package func fill(_ record: inout ImageRecord, format: FileFormat, dims: [Int], spacing: [Double]?, dtype: DType,
                      channels: Int, affine: Matrix4?, nonFinite: String) {
        record.format = format
        record.compressed = encoding.isCompressed
        record.dims = dims
        record.spacing = spacing
        record.dtype = dtype
        record.channels = channels
        record.bitsStored = kind.size * 8
        guard let affine else { return }
        if affine.isFinite {
            record.affine = affine
            record.axcodes = affine.axcodes
        } else {
            record.note(.geometryMissing, .warning, nonFinite)
        }
    }
}
