import ImagingX

/// Writes NIfTI-1/NIfTI-2/Analyze headers through the same field table the reader uses.
public struct NIfTIBuilder {
    public enum Kind: Sendable { case nifti1, nifti2, analyze }

    public let kind: Kind
    public let layout: NIfTILayout
    public var bigEndian = false
    public private(set) var header: [UInt8]

    public init(_ kind: Kind, bigEndian: Bool = false) {
        self.kind = kind
        self.bigEndian = bigEndian
        layout = kind == .nifti2 ? .nifti2 : .nifti1
        header = [UInt8](repeating: 0, count: layout.size)
        set("sizeof_hdr", [Double(layout.size)])
        switch kind {
        case .nifti1: setString("magic", "n+1")
        case .nifti2: setBytes("magic", Array("n+2\0\r\n\u{1A}\n".utf8))
        case .analyze: break
        }
        set("pixdim", [1, 1, 1, 1, 1, 1, 1, 1])
        set("scl_slope", [1])
        set("vox_offset", [Double(kind == .nifti2 ? 544 : 352)])
    }

    /// Writes numeric values into a field, starting at element `from`.
    public mutating func set(_ name: String, _ values: [Double], from: Int = 0) {
        let f = layout.field(name)
        precondition(from + values.count <= f.count, "\(name) has \(f.count) elements")
        for (i, v) in values.enumerated() {
            let at = f.offset + (from + i) * sizeOf(f.type)
            var bytes: [UInt8]
            switch f.type {
            case .char: bytes = [UInt8(truncatingIfNeeded: Int(v))]
            case .int16: bytes = le(UInt64(UInt16(truncatingIfNeeded: Int(v))), 2)
            case .int32: bytes = le(UInt64(UInt32(truncatingIfNeeded: Int(v))), 4)
            case .int64: bytes = le(UInt64(bitPattern: Int64(v)), 8)
            case .float32: bytes = le(UInt64(Float(v).bitPattern), 4)
            case .float64: bytes = le(v.bitPattern, 8)
            }
            if bigEndian, bytes.count > 1 { bytes.reverse() }
            header.replaceSubrange(at..<(at + bytes.count), with: bytes)
        }
    }

    public mutating func setString(_ name: String, _ s: String) {
        setBytes(name, Array(s.utf8))
    }

    public mutating func setBytes(_ name: String, _ bytes: [UInt8]) {
        let f = layout.field(name)
        precondition(f.type == .char)
        var padded = Array(bytes.prefix(f.count))
        padded += [UInt8](repeating: 0, count: f.count - padded.count)
        header.replaceSubrange(f.offset..<(f.offset + f.count), with: padded)
    }

    /// Writes bytes at an offset the field table does not name (Analyze's SPM `origin` at 253).
    public mutating func setRaw(_ offset: Int, _ bytes: [UInt8]) {
        header.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
    }

    /// Sets dim, pixdim, datatype and bitpix for a volume.
    public mutating func setGrid(dims: [Int], pixdim: [Double], datatype: Int, bitpix: Int) {
        set("dim", [Double(dims.count)] + dims.map(Double.init))
        set("pixdim", pixdim, from: 1)
        set("datatype", [Double(datatype)])
        set("bitpix", [Double(bitpix)])
    }

    /// Sets the sform (code and rows) from a row-major 3×4 matrix.
    public mutating func setSform(_ rows: [[Double]], code: Int = 1) {
        set("sform_code", [Double(code)])
        set("srow_x", rows[0]); set("srow_y", rows[1]); set("srow_z", rows[2])
    }

    /// Single-file layout: header, a 4-byte extension flag (zero), then data at vox_offset.
    public func singleFile(data: [UInt8]) -> [UInt8] {
        var out = header
        if kind != .analyze { out += [0, 0, 0, 0] }
        return out + data
    }

    private func sizeOf(_ t: NIfTILayout.FieldType) -> Int {
        switch t {
        case .char: 1
        case .int16: 2
        case .int32, .float32: 4
        case .int64, .float64: 8
        }
    }

    private func le(_ v: UInt64, _ n: Int) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
    }
}
