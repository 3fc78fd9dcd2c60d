import Foundation
import ImagingX
import ImagingXFixtures
import Testing

@Suite("Orientation codes and hashing")
struct MathTests {
    static func affine(_ rows: [[Double]]) -> Matrix4 {
        Matrix4(rows: rows + [[0, 0, 0, 1]])
    }

    @Test("aff2axcodes: axis-aligned, flipped, permuted and oblique, as nibabel gives them")
    func axcodes() {
        #expect(MathTests.affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]).axcodes == "RAS")
        #expect(MathTests.affine([[-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 1, 0]]).axcodes == "LPS")
        #expect(MathTests.affine([[0, 0, -2, 0], [3, 0, 0, 0], [0, -1, 0, 0]]).axcodes == "AIL")
        // 30° in-plane rotation: still closest to R and A.
        let c = 0.8660254037844386, s = 0.5
        #expect(MathTests.affine([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0]]).axcodes == "RAS")
        // Anisotropic scaling must not change the codes.
        #expect(MathTests.affine([[0.1, 0, 0, 0], [0, 0, 5, 0], [0, -7, 0, 0]]).axcodes == "RIA")
        // A degenerate (zero) column has no code.
        #expect(MathTests.affine([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]]).axcodes == nil)
    }

    @Test("SHA-256 test vectors (FIPS 180-4 examples)")
    func sha256() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}

@Suite("Number output")
struct NumberOutputTests {
    /// The JSON text of one number, through the record writer's number formatting.
    static func text(_ v: Double) -> String {
        var r = ImageRecord(path: "")
        r.rescaleSlope = v
        let line = json(r)
        let start = line.range(of: "\"rescale_slope\":")!.upperBound
        return String(line[start...].prefix { $0 != "," })
    }

    @Test("float32 values print as Float.description does, and read back to the same float")
    func float32Shortest() {
        var rng = SampleData.Random(seed: 42)
        var checked = 0
        for _ in 0..<200_000 {
            // Random float32s over the fast path's range and beyond, plus short decimals.
            let bits = UInt32(truncatingIfNeeded: rng.next())
            var f = Float(bitPattern: bits & 0x7FFF_FFFF)
            if !f.isFinite || f == 0 { continue }
            if rng.next() % 2 == 0 { f = Float(Double(rng.next() % 2_000_000) / pow(10, Double(rng.next() % 7))) }
            if rng.next() % 2 == 0 { f = -f }
            let v = Double(f)
            if v == v.rounded() { continue }  // integers take the integer path
            let out = NumberOutputTests.text(v)
            #expect(Float(out) == f, "\(out) does not read back to \(f)")
            #expect(out == f.description || f.description.contains("e"), "\(out) vs \(f.description)")
            checked += 1
        }
        #expect(checked > 100_000)
        #expect(NumberOutputTests.text(Double(Float(0.9))) == "0.9")
        #expect(NumberOutputTests.text(Double(Float(-0.05))) == "-0.05")
        #expect(NumberOutputTests.text(0.1) == "0.1")  // a double, not a float32: description
        #expect(NumberOutputTests.text(.nan) == "null")
    }
}
