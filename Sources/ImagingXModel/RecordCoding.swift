import ImagingXBytes
import FoundationEssentials

// Codable forms of the record model. Keys and shapes are exactly those the JSONL sink writes
// (RecordWriter.writeJSON), so a line written by `imagingx scan` decodes to the record it came
// from: `RecordReader` reads JSON Lines back, and JSONEncoder gives the same keys.

extension PixelStats: Codable {
    enum CodingKeys: String, CodingKey {
        case count, min, max, mean, std, p00_5, p50, p99_5, nan_count, inf_count
    }
    public init(from d: Decoder) throws {
        let c = try d.container(keyedBy: CodingKeys.self)
        self.init()
        count = try c.decode(Int.self, forKey: .count)
        min = try c.decodeIfPresent(Double.self, forKey: .min) ?? .nan
        max = try c.decodeIfPresent(Double.self, forKey: .max) ?? .nan
        mean = try c.decodeIfPresent(Double.self, forKey: .mean) ?? .nan
        std = try c.decodeIfPresent(Double.self, forKey: .std) ?? .nan
        p00_5 = try c.decodeIfPresent(Double.self, forKey: .p00_5) ?? .nan
        p50 = try c.decodeIfPresent(Double.self, forKey: .p50) ?? .nan
        p99_5 = try c.decodeIfPresent(Double.self, forKey: .p99_5) ?? .nan
        nanCount = try c.decode(Int.self, forKey: .nan_count)
        infCount = try c.decode(Int.self, forKey: .inf_count)
    }
    public func encode(to e: Encoder) throws {
        var c = e.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count)
        for (k, v) in [(CodingKeys.min, min), (.max, max), (.mean, mean), (.std, std), (.p00_5, p00_5), (.p50, p50), (.p99_5, p99_5)] {
            if v.isFinite { try c.encode(v, forKey: k) } else { try c.encodeNil(forKey: k) }
        }
        try c.encode(nanCount, forKey: .nan_count)
        try c.encode(infCount, forKey: .inf_count)
    }
}

extension Matrix4: Codable {
    /// Four rows of four numbers; a non-finite entry is written as null and read back as NaN.
    public init(from decoder: Decoder) throws {
        let rows = try [[Double?]](from: decoder)
        guard rows.count == 4, rows.allSatisfy({ $0.count == 4 }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "an affine is 4 rows of 4 numbers"))
        }
        self.init(rows: rows.map { $0.map { $0 ?? .nan } })
    }

    public func encode(to encoder: Encoder) throws {
        try (0..<4).map { r in (0..<4).map { c -> Double? in self[r, c].isFinite ? self[r, c] : nil } }.encode(to: encoder)
    }
}

extension ImageRecord: Codable {
    enum CodingKeys: String, CodingKey {
        case path, format, status, error, errorCode = "error_code", errorOffset = "error_offset"
        case sizeBytes = "size_bytes", dims, spacing, dtype, channels, bitsStored = "bits_stored", modality
        case sopClassUID = "sop_class_uid", transferSyntax = "transfer_syntax", compressed
        case rescaleSlope = "rescale_slope", rescaleIntercept = "rescale_intercept", affine, axcodes
        case seriesKey = "series_key", interlaced, coding, photometric, findings
        case stats, statsError = "stats_error"
        case device, inode, mtimeNs = "mtime_ns", ctimeNs = "ctime_ns"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(path: try c.decode(String.self, forKey: .path))
        format = try c.decode(FileFormat.self, forKey: .format)
        status = try c.decode(RecordStatus.self, forKey: .status)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        errorCode = try c.decodeIfPresent(ParseError.Kind.self, forKey: .errorCode)
        errorOffset = try c.decodeIfPresent(Int.self, forKey: .errorOffset)
        sizeBytes = try c.decode(Int.self, forKey: .sizeBytes)
        dims = try c.decodeIfPresent([Int].self, forKey: .dims)
        spacing = try c.decodeIfPresent([Double?].self, forKey: .spacing).map { $0.map { $0 ?? .nan } }
        dtype = try c.decodeIfPresent(DType.self, forKey: .dtype)
        channels = try c.decodeIfPresent(Int.self, forKey: .channels)
        bitsStored = try c.decodeIfPresent(Int.self, forKey: .bitsStored)
        modality = try c.decodeIfPresent(String.self, forKey: .modality)
        sopClassUID = try c.decodeIfPresent(String.self, forKey: .sopClassUID)
        transferSyntax = try c.decodeIfPresent(String.self, forKey: .transferSyntax)
        compressed = try c.decodeIfPresent(Bool.self, forKey: .compressed)
        rescaleSlope = try c.decodeIfPresent(Double.self, forKey: .rescaleSlope)
        rescaleIntercept = try c.decodeIfPresent(Double.self, forKey: .rescaleIntercept)
        affine = try c.decodeIfPresent(Matrix4.self, forKey: .affine)
        axcodes = try c.decodeIfPresent(String.self, forKey: .axcodes)
        seriesKey = try c.decodeIfPresent(String.self, forKey: .seriesKey)
        interlaced = try c.decodeIfPresent(Bool.self, forKey: .interlaced)
        coding = try c.decodeIfPresent(String.self, forKey: .coding)
        photometric = try c.decodeIfPresent(String.self, forKey: .photometric)
        findings = try c.decodeIfPresent([Finding].self, forKey: .findings) ?? []
        stats = try c.decodeIfPresent(PixelStats.self, forKey: .stats)
        statsError = try c.decodeIfPresent(String.self, forKey: .statsError)
        if let device = try c.decodeIfPresent(UInt64.self, forKey: .device),
           let inode = try c.decodeIfPresent(UInt64.self, forKey: .inode),
           let mtime = try c.decodeIfPresent(Int64.self, forKey: .mtimeNs),
           let ctime = try c.decodeIfPresent(Int64.self, forKey: .ctimeNs) {
            fileStat = FileStat(device: device, inode: inode, size: sizeBytes, mtimeNs: mtime, ctimeNs: ctime)
        }
    }

    /// Every key the JSONL sink writes, absent values as null; `stats`/`stats_error` and the
    /// file-stat keys only when the record has them.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(format, forKey: .format)
        try c.encode(status, forKey: .status)
        try c.encode(error, forKey: .error)
        try c.encode(errorCode, forKey: .errorCode)
        try c.encode(errorOffset, forKey: .errorOffset)
        try c.encode(sizeBytes, forKey: .sizeBytes)
        try c.encode(dims, forKey: .dims)
        try c.encode(spacing.map { $0.map { $0.isFinite ? $0 : nil } }, forKey: .spacing)
        try c.encode(dtype, forKey: .dtype)
        try c.encode(channels, forKey: .channels)
        try c.encode(bitsStored, forKey: .bitsStored)
        try c.encode(modality, forKey: .modality)
        try c.encode(sopClassUID, forKey: .sopClassUID)
        try c.encode(transferSyntax, forKey: .transferSyntax)
        try c.encode(compressed, forKey: .compressed)
        try c.encode(rescaleSlope.flatMap { $0.isFinite ? $0 : nil }, forKey: .rescaleSlope)
        try c.encode(rescaleIntercept.flatMap { $0.isFinite ? $0 : nil }, forKey: .rescaleIntercept)
        try c.encode(affine, forKey: .affine)
        try c.encode(axcodes, forKey: .axcodes)
        try c.encode(seriesKey, forKey: .seriesKey)
        try c.encode(interlaced, forKey: .interlaced)
        try c.encode(coding, forKey: .coding)
        try c.encode(photometric, forKey: .photometric)
        try c.encode(findings, forKey: .findings)
        if stats != nil || statsError != nil {
            try c.encode(stats, forKey: .stats)
            try c.encode(statsError, forKey: .statsError)
        }
        if let f = fileStat {
            try c.encode(f.device, forKey: .device)
            try c.encode(f.inode, forKey: .inode)
            try c.encode(f.mtimeNs, forKey: .mtimeNs)
            try c.encode(f.ctimeNs, forKey: .ctimeNs)
        }
    }
}

/// Reads records back from the JSONL sink's output.
public enum RecordReader {
    public struct LineError: Error, Sendable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// One record per non-empty line, in order.
    public static func readJSONLines(_ bytes: [UInt8]) throws(LineError) -> [ImageRecord] {
        let decoder = JSONDecoder()
        var records: [ImageRecord] = []
        var line = 0
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            line += 1
            if end > start {
                do {
                    records.append(try decoder.decode(ImageRecord.self, from: Data(bytes[start..<end])))
                } catch {
                    throw LineError(line: line, message: "\(error)")
                }
            }
            start = end + 1
        }
        return records
    }
}
