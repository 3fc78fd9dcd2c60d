import Foundation
import ImagingX
import ImagingXFixtures

/// Reads bytes as a file would be read, through the same sniff-and-dispatch path.
func record(_ bytes: [UInt8], path: String = "fixture") -> ImageRecord {
    FileReader().read(bytes: bytes, path: path)
}

func json(_ r: ImageRecord) -> String {
    var out: [UInt8] = []
    RecordWriter.appendJSON(r, to: &out)
    return String(decoding: out, as: UTF8.self)
}

func near(_ a: Double?, _ b: Double, tolerance: Double = 1e-6) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= tolerance * max(1, abs(b))
}

func near(_ a: [Double]?, _ b: [Double], tolerance: Double = 1e-6) -> Bool {
    guard let a, a.count == b.count else { return false }
    return zip(a, b).allSatisfy { near($0, $1, tolerance: tolerance) }
}

/// A fresh temporary directory, removed by the caller with `cleanup`.
func temporaryDirectory(_ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("imagingx-\(safe)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func write(_ bytes: [UInt8], to url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
}
