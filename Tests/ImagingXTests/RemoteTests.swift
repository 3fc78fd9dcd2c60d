import Foundation
import Testing
import ImagingX
import ImagingXFixtures
@testable import ImagingXRemote

@Suite("S3: SigV4 against botocore, the listing XML reader, configuration")
struct RemoteProtocolTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("SigV4: our signer gives botocore's headers for every vector (scripts/s3/sigv4_vectors.json)")
    func sigV4Vectors() throws {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("scripts/s3/sigv4_vectors.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let vectors = try #require(json["vectors"] as? [[String: Any]])
        #expect(vectors.count >= 6)
        for v in vectors {
            let url = try #require(URLComponents(string: v["url"] as! String))
            let host = url.port.map { "\(url.host!):\($0)" } ?? url.host!
            let headers = (v["headers"] as! [String: String]).map { ($0.key, $0.value) }
            let token = v["session_token"] as? String
            let credentials = S3Credentials(accessKeyID: v["access_key"] as! String, secretAccessKey: v["secret_key"] as! String,
                                            sessionToken: token)
            let date = try #require(ISO8601DateFormatter().date(from: v["date"] as! String))
            let request = SigV4.Request(method: v["method"] as! String, host: host, path: url.percentEncodedPath,
                                        query: url.percentEncodedQuery ?? "", headers: headers)
            let signed = Dictionary(uniqueKeysWithValues: SigV4.sign(request, credentials: credentials, region: v["region"] as! String, date: date))
            #expect(signed["Authorization"] == v["authorization"] as? String, "\(v["url"]!)")
            #expect(signed["X-Amz-Date"] == v["x_amz_date"] as? String)
            #expect(signed["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD")
            #expect(signed["X-Amz-Security-Token"] == v["security_token"] as? String)
        }
    }

    @Test("SigV4: changing the secret, the date, the region or a signed header changes the signature")
    func sigV4Sensitivity() {
        let request = SigV4.Request(method: "GET", host: "h:9000", path: "/b/k", query: "", headers: [("Range", "bytes=0-4095")])
        let c = S3Credentials(accessKeyID: "AK", secretAccessKey: "s1")
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let base = SigV4.sign(request, credentials: c, region: "us-east-1", date: date).last!.1
        var other = request
        other.headers = [("Range", "bytes=0-4096")]
        #expect(SigV4.sign(other, credentials: c, region: "us-east-1", date: date).last!.1 != base)
        #expect(SigV4.sign(request, credentials: S3Credentials(accessKeyID: "AK", secretAccessKey: "s2"), region: "us-east-1", date: date).last!.1 != base)
        #expect(SigV4.sign(request, credentials: c, region: "eu-west-1", date: date).last!.1 != base)
        #expect(SigV4.sign(request, credentials: c, region: "us-east-1", date: date + 1).last!.1 != base)
        #expect(SigV4.encode("a b/ü+=", keepSlash: true) == "a%20b/%C3%BC%2B%3D")
        #expect(SigV4.encode("a/b", keepSlash: false) == "a%2Fb")
    }

    @Test("ListObjectsV2: keys, sizes, entities, pages")
    func listPage() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
            <KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
            <Contents><Key>p/a&amp;b &lt;1&gt;.dcm</Key><LastModified>2026-12-01T00:00:00.000Z</LastModified>
            <ETag>&quot;abc&quot;</ETag><Size>4096</Size><StorageClass>STANDARD</StorageClass></Contents>
            <Contents><Key><![CDATA[p/x&y.nii.gz]]></Key><Size>0</Size><Owner><ID>o</ID></Owner></Contents>
            <!-- a comment <Contents> -->
            <NextContinuationToken>1/ab+c==</NextContinuationToken></ListBucketResult>
            """
        let page = try ListXML.parse(Array(xml.utf8))
        #expect(page.objects == [S3Object(key: "p/a&b <1>.dcm", size: 4096, lastModified: "2026-12-01T00:00:00.000Z", etag: "\"abc\""),
                                 S3Object(key: "p/x&y.nii.gz", size: 0)])
        #expect(page.isTruncated)
        #expect(page.nextContinuationToken == "1/ab+c==")
        let last = try ListXML.parse(Array("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>&#x41;&#66;</Key><Size>7</Size></Contents></ListBucketResult>".utf8))
        #expect(last.objects == [S3Object(key: "AB", size: 7)])
        #expect(!last.isTruncated && last.nextContinuationToken == nil)
    }

    @Test("ListObjectsV2: malformed answers are errors, every prefix of a page too, never a crash")
    func listMalformed() throws {
        let bad = [
            "", "<", "<Error><Code>AccessDenied</Code></Error>",
            "<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>",
            "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
            "<ListBucketResult><Contents><Key>a</Key><Size>12x</Size></Contents></ListBucketResult>",
            "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
            "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
            "<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
            "<ListBucketResult><Contents><Key>a</Size></Contents></ListBucketResult>",
            "<ListBucketResult><Contents><Key>&bogus;</Key><Size>1</Size></Contents></ListBucketResult>",
            "<ListBucketResult><Contents><Key>&#0;</Key><Size>1</Size></Contents></ListBucketResult>",
            "<ListBucketResult></ListBucketResult><ListBucketResult></ListBucketResult>",
            "<ListBucketResult><![CDATA[x</ListBucketResult>",
            String(repeating: "<a>", count: 100),
        ]
        for text in bad {
            #expect(throws: ListXMLError.self, "\(text.prefix(60))") { try ListXML.parse(Array(text.utf8)) }
        }
        let good = Array("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k&amp;</Key><Size>3</Size></Contents></ListBucketResult>".utf8)
        for n in 0..<good.count {
            #expect(throws: ListXMLError.self) { try ListXML.parse(Array(good[..<n])) }
        }
        #expect(try ListXML.parse(good).objects.count == 1)
    }

    @Test("configuration: environment, profile files, endpoint; the secret never appears in messages")
    func configuration() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("imagingx-aws-\(getpid())").path
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        try "[default]\naws_access_key_id = AKDEF\naws_secret_access_key = SECRETdef\n[lab]\naws_access_key_id=AKLAB\naws_secret_access_key=SECRETlab\naws_session_token = TOK\n"
            .write(toFile: home + "/.aws/credentials", atomically: true, encoding: .utf8)
        try "[default]\nregion = eu-west-1\n[profile lab]\nregion=ap-south-1\n".write(toFile: home + "/.aws/config", atomically: true, encoding: .utf8)

        let env = try S3Config.fromEnvironment(["HOME": home, "AWS_ACCESS_KEY_ID": "AKENV", "AWS_SECRET_ACCESS_KEY": "SECRETenv",
                                                "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000", "AWS_REGION": "us-west-2"])
        #expect(env.credentials?.accessKeyID == "AKENV" && env.region == "us-west-2" && env.pathStyle && env.host == "127.0.0.1" && env.port == 9000)
        #expect(!"\(env.credentials!)".contains("SECRETenv") && !String(reflecting: env.credentials!).contains("SECRETenv"))
        let def = try S3Config.fromEnvironment(["HOME": home])
        #expect(def.credentials?.accessKeyID == "AKDEF" && def.region == "eu-west-1" && !def.pathStyle && def.host == "s3.eu-west-1.amazonaws.com")
        let lab = try S3Config.fromEnvironment(["HOME": home, "AWS_PROFILE": "lab"])
        #expect(lab.credentials?.sessionToken == "TOK" && lab.region == "ap-south-1")
        let anonymous = try S3Config.fromEnvironment(["HOME": "/nonexistent"], unsigned: true)
        #expect(anonymous.credentials == nil && anonymous.host == "s3.amazonaws.com")

        var messages: [String] = []
        do { _ = try S3Config.fromEnvironment(["HOME": "/nonexistent"]) } catch { messages.append(error.description) }
        do { _ = try S3Config.fromEnvironment(["HOME": home, "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SECRETbad",
                                               "AWS_ENDPOINT_URL": "ftp://x"]) } catch { messages.append(error.description) }
        #expect(messages.count == 2)
        #expect(messages.allSatisfy { !$0.contains("SECRETbad") && !$0.contains("SECRETdef") && !$0.contains("SECRETlab") })
        #expect(messages[0].contains("--no-sign-request"))
    }

    @Test("s3:// URLs")
    func locations() {
        #expect(S3Location(url: "s3://b/p/q/") == S3Location(bucket: "b", prefix: "p/q/"))
        #expect(S3Location(url: "s3://b") == S3Location(bucket: "b", prefix: ""))
        #expect(S3Location(url: "s3:///x") == nil && S3Location(url: "/data") == nil)
        #expect(S3Location(bucket: "b", prefix: "").path(of: "a/b.dcm") == "s3://b/a/b.dcm")
    }
}

@Suite("S3: headers read from byte ranges equal a local read")
struct RemoteRangesTests {
    /// Reads `bytes` as a remote scan does: 4 KiB first, then what the parse asks for.
    static func rangedRead(_ bytes: [UInt8], key: String, sizes: [String: Int]) -> (record: ImageRecord, rounds: Int, fetched: Int) {
        let reader = FileReader()
        reader.siblingSize = { sizes[$0] }
        var ranges: [(offset: Int, bytes: [UInt8])] = bytes.isEmpty ? [] : [(0, Array(bytes.prefix(4096)))]
        var fetched = ranges.first?.bytes.count ?? 0
        var rounds = 0
        while true {
            switch reader.read(ranges: ranges, totalSize: bytes.count, fullPath: key, path: key) {
            case .record(let r): return (r, rounds, fetched)
            case .needBytes(let missing):
                rounds += 1
                precondition(rounds < 20, "\(key): no end to the reads")
                let want = RemoteScanner.nextRange(missing, ranges: ranges, size: bytes.count, firstRead: 4096, round: rounds,
                                                   budget: (64 << 20) - fetched).resolved(size: bytes.count)
                fetched += want.count
                ranges = RemoteScanner.merge(ranges, (want.lowerBound, Array(bytes[want])))
            }
        }
    }

    static func json(_ r: ImageRecord) -> String {
        let b = ImagingXBytes.ByteBuffer()
        RecordEncoding().encode(r, into: b)
        return String(decoding: b.bytes, as: UTF8.self)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    /// Files whose header runs past the first 4 KiB (or needs the gzip trailer), one per format.
    static func straddling(_ sample: URL) throws -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        // DICOM: a 6,000-byte private element before the pixel data.
        var spec = CTSliceSpec()
        spec.columns = 16
        spec.rows = 16
        var elements = spec.elements(pixels: [Int16](repeating: 7, count: 256))
        let at = elements.firstIndex { $0.tag > 0x0009_1010 } ?? elements.count
        elements.insert(DICOMElement(0x0009_0010, "LO", .text("IMAGINGX TEST")), at: at)
        elements.insert(DICOMElement(0x0009_1010, "OB", .bytes([UInt8](repeating: 0x5A, count: 6000))), at: at + 1)
        var b = DICOMBuilder(syntax: .explicitLittle, elements: elements)
        b.preamble = true
        out.append(("straddle/private.dcm", b.encode()))
        // DICOM: per-frame functional groups for 60 frames.
        out.append(("straddle/enhanced.dcm", DICOMFixtures.enhancedMultiFrame(frames: 60, undefinedLengths: true, perFrameOnly: true)))
        // DICOM: 30 encapsulated frames of 100 KB (the fragment walk jumps through the object).
        let frames = (0..<30).map { f in [UInt8](repeating: UInt8(f), count: 100_000) }
        out.append(("straddle/fragments.dcm", CodecFixtures.dicom(syntax: CodecFixtures.jpeg2000, frames: frames, columns: 64, rows: 64,
                                                                  bitsAllocated: 16, bitsStored: 16, signed: false)))
        // NRRD and MetaImage: 6,000 bytes of comment lines in the text header.
        let nrrd = try [UInt8](Data(contentsOf: sample.appendingPathComponent("slicer-nrrd/MRHead.nrrd")))
        let firstLine = nrrd.firstIndex(of: 0x0A)! + 1
        out.append(("straddle/long.nrrd", Array(nrrd[..<firstLine]) + Array(String(repeating: "# a comment line of the header\n", count: 200).utf8) + Array(nrrd[firstLine...])))
        let mhd = try [UInt8](Data(contentsOf: sample.appendingPathComponent("ct-metaimage/subset0/case002.mha")))
        let mhdLine = mhd.firstIndex(of: 0x0A)! + 1
        out.append(("straddle/long.mha", Array(mhd[..<mhdLine]) + Array(("Comment = " + String(repeating: "x", count: 6000) + "\n").utf8) + Array(mhd[mhdLine...])))
        // JPEG: a 6,000-byte APP15 segment before the frame header.
        let jpeg = try [UInt8](Data(contentsOf: sample.appendingPathComponent("photo-jpeg/lesion_2.jpg")))
        let app: [UInt8] = [0xFF, 0xEF, UInt8((6002 >> 8) & 0xFF), UInt8(6002 & 0xFF)] + [UInt8](repeating: 0x20, count: 6000)
        out.append(("straddle/app15.jpg", Array(jpeg[..<2]) + app + Array(jpeg[2...])))
        // PNG: a 6,000-byte tEXt chunk after IHDR.
        let png = try [UInt8](Data(contentsOf: sample.appendingPathComponent("xray-png/chest_1.png")))
        let text = Array("tEXt".utf8) + Array("Comment".utf8) + [0] + [UInt8](repeating: 0x41, count: 5992)
        let crc = crc32(text)
        let len = UInt32(text.count - 4)
        let chunk = [UInt8(len >> 24), UInt8((len >> 16) & 0xFF), UInt8((len >> 8) & 0xFF), UInt8(len & 0xFF)] + text
            + [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        out.append(("straddle/text.png", Array(png[..<33]) + chunk + Array(png[33...])))
        // Analyze pair: the .img is found in the listing, not fetched.
        var hdr = NIfTIBuilder(.analyze)
        hdr.setGrid(dims: [3, 8, 8, 4], pixdim: [1, 1, 1, 2], datatype: 4, bitpix: 16)
        out.append(("straddle/pair.hdr", hdr.header))
        out.append(("straddle/pair.img", [UInt8](repeating: 1, count: 8 * 8 * 4 * 2)))
        out.append(("straddle/short-pair.hdr", hdr.header))
        out.append(("straddle/short-pair.img", [UInt8](repeating: 1, count: 100)))
        out.append(("straddle/lonely.hdr", hdr.header))
        return out
    }

    @Test("every SampleData file and a header past 4 KiB in every format: the ranged read equals the local read")
    func rangedEqualsLocal() throws {
        let sample = RemoteProtocolTests.root.appendingPathComponent("SampleData")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("imagingx-ranges-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        var files: [(String, [UInt8])] = []
        let walker = FileManager.default.enumerator(atPath: sample.path)!
        while let rel = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: sample.appendingPathComponent(rel).path, isDirectory: &isDir), !isDir.boolValue {
                files.append(("SampleData/" + rel, try [UInt8](Data(contentsOf: sample.appendingPathComponent(rel)))))
            }
        }
        #expect(files.count >= 50)
        let straddling = try Self.straddling(sample)
        files += straddling
        var sizes: [String: Int] = [:]
        for (key, bytes) in files {
            sizes[key] = bytes.count
            let url = dir.appendingPathComponent(key)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        var straddled = 0
        for (key, bytes) in files {
            let local = FileReader().read(fullPath: dir.appendingPathComponent(key).path, path: key)
            let (remote, rounds, fetched) = Self.rangedRead(bytes, key: key, sizes: sizes)
            #expect(Self.json(remote) == Self.json(local), "\(key)")
            if key.hasPrefix("straddle/") && !key.hasSuffix(".img") && !key.hasSuffix(".hdr") {
                #expect(rounds >= 1, "\(key) should need more than its first 4 KiB")
                straddled += 1
            }
            if key.hasSuffix(".nii.gz") && local.status == .ok && bytes.count > 4096 {
                #expect(rounds >= 1, "\(key): the gzip trailer is read by a suffix range")
            }
            if bytes.count > 64 << 10, key != "straddle/fragments.dcm" {
                #expect(fetched < bytes.count / 2, "\(key): \(fetched) of \(bytes.count) bytes fetched")
            }
            #expect(rounds <= 6, "\(key): \(rounds) further reads")
        }
        #expect(straddled == 7)
        let pair = files.first { $0.0 == "straddle/short-pair.hdr" }!
        #expect(Self.rangedRead(pair.1, key: pair.0, sizes: sizes).record.status == .error)
    }

    @Test("a ranges source: reads inside the held ranges succeed, the first read outside is noted")
    func rangesSource() throws {
        let source = ImagingXBytes.ByteSource(capacity: 4096)
        let file = (0..<10_000).map { UInt8($0 & 0xFF) }
        source.attach(ranges: [(0, Array(file[0..<4096])), (9996, Array(file[9996...]))], totalSize: file.count)
        #expect(source.size == 10_000)
        #expect(try source.u8(4095, "x") == 255)
        #expect(try source.u32(9996, bigEndian: false, "tail") == UInt32(file[9996]) | UInt32(file[9997]) << 8 | UInt32(file[9998]) << 16 | UInt32(file[9999]) << 24)
        #expect(try source.u8(10, "back to the head") == 10)
        #expect(source.missing == nil)
        #expect(throws: ParseError.self) { try source.bytes(at: 4090, count: 10, "straddles") }
        #expect(source.missing == 4090..<4100)
        #expect(throws: ParseError.self) { try source.u8(6000, "later miss") }
        #expect(source.missing == 4090..<4100)
        #expect(throws: ParseError.self) { try source.u8(10_000, "past the end") }
    }
}

@Suite("HMAC-SHA256")
struct HMACTests {
    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
        return out
    }

    @Test("RFC 4231 test cases 1, 2, 4 and 6 (a key longer than the block)")
    func rfc4231() {
        let cases: [([UInt8], [UInt8], String)] = [
            (Array(repeating: 0x0b, count: 20), Array("Hi There".utf8),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (Self.bytes("0102030405060708090a0b0c0d0e0f10111213141516171819"), Array(repeating: 0xcd, count: 50),
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (Array(repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ]
        for (key, message, expected) in cases {
            let mac = SHA256.hmac(key: key, message: message)
            #expect(mac == Self.bytes(expected))
        }
    }
}
