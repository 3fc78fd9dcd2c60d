import ImagingX
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
