/// SHA-256 (FIPS 180-4), used to turn DICOM UIDs into grouping keys that do not reveal them,
/// and (with `hmac`) to sign S3 requests. Whole messages in memory; no streaming interface.
public enum SHA256 {
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    public static func digest<C: Collection<UInt8>>(_ message: C) -> [UInt8] {
        var h: InlineArray<8, UInt32> = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        // Pad (FIPS 180-4 §5.1.1) into at most three blocks held inline; longer messages go
        // through a heap array (never the case for UIDs, which are at most 64 bytes).
        let length = message.count
        var data = [UInt8]()
        data.reserveCapacity((length + 72) & ~63)
        data.append(contentsOf: message)
        let bitLength = UInt64(length) &* 8
        data.append(0x80)
        let padded = (length + 9 + 63) & ~63
        data.append(contentsOf: repeatElement(0, count: padded - length - 9))
        for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        var w = InlineArray<64, UInt32>(repeating: 0)
        data.withUnsafeBufferPointer { d in
            for block in stride(from: 0, to: d.count, by: 64) {
                for t in 0..<16 {
                    let i = block + t * 4
                    w[t] = UInt32(d[i]) << 24 | UInt32(d[i + 1]) << 16 | UInt32(d[i + 2]) << 8 | UInt32(d[i + 3])
                }
                for t in 16..<64 {
                    let s0 = w[t - 15].rotr(7) ^ w[t - 15].rotr(18) ^ (w[t - 15] >> 3)
                    let s1 = w[t - 2].rotr(17) ^ w[t - 2].rotr(19) ^ (w[t - 2] >> 10)
                    w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
                }
                var (a, b, c, dd, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
                for t in 0..<64 {
                    let s1 = e.rotr(6) ^ e.rotr(11) ^ e.rotr(25)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = hh &+ s1 &+ ch &+ k[t] &+ w[t]
                    let s0 = a.rotr(2) ^ a.rotr(13) ^ a.rotr(22)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    let t2 = s0 &+ maj
                    (hh, g, f, e, dd, c, b, a) = (g, f, e, dd &+ t1, c, b, a, t1 &+ t2)
                }
                h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= dd
                h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for i in 0..<8 { for shift in [24, 16, 8, 0] { out.append(UInt8(truncatingIfNeeded: h[i] >> UInt32(shift))) } }
        return out
    }

    /// HMAC-SHA256 (RFC 2104; checked against RFC 4231's test vectors).
    public static func hmac<C: Collection<UInt8>>(key: [UInt8], message: C) -> [UInt8] {
        var k = key.count > 64 ? digest(key) : key
        k += repeatElement(0, count: 64 - k.count)
        let inner = digest(k.map { $0 ^ 0x36 } + Array(message))
        return digest(k.map { $0 ^ 0x5c } + inner)
    }

    /// Lower-case hex of the first `bytes` bytes of the digest (all 32 by default).
    public static func hex<C: Collection<UInt8>>(_ message: C, bytes: Int = 32) -> String {
        let table: StaticString = "0123456789abcdef"
        let d = digest(message)
        let n = min(max(bytes, 0), 32)
        return String(unsafeUninitializedCapacity: 2 * n) { out in
            table.withUTF8Buffer { t in
                for i in 0..<n {
                    out[2 * i] = t[Int(d[i] >> 4)]
                    out[2 * i + 1] = t[Int(d[i] & 15)]
                }
            }
            return 2 * n
        }
    }
}

extension UInt32 {
    @inline(__always) fileprivate func rotr(_ n: UInt32) -> UInt32 { (self >> n) | (self << (32 - n)) }
}
