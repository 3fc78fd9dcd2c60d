import ImagingX
import ImagingXFixtures
import ImagingXPixels
import Testing

/// JPEG Lossless (T.81 process 14): exact round trips through the fixture encoder for every
/// predictor, precision, point transform, restart interval and component layout; hand-built
/// codestreams for the rules the encoder could get wrong in the same way as the decoder; and
/// damage sweeps that must end in a stats_error with an offset, never a trap.
@Suite("JPEG Lossless")
struct JPEGLosslessTests {
    static let precisions = [2, 3, 7, 8, 9, 12, 15, 16]

    /// What decoding must give: each sample with its Pt low bits cleared (T.81 H.2.3).
    static func expected(_ samples: [UInt16], pt: Int) -> [UInt16] { samples.map { ($0 >> UInt16(pt)) << UInt16(pt) } }

    @Test("round trip: every precision, Pt, restart interval, component layout and table kind", arguments: 1...7)
    func roundTrip(predictor: Int) throws {
        let columns = 9, rows = 6
        var seed: UInt64 = UInt64(predictor) * 1000
        for precision in Self.precisions {
            for pt in Set([0, 1, precision - 1]).sorted() {
                for restart in [0, columns, 2 * columns] {
                    for (components, interleaved) in [(1, true), (3, true), (3, false), (4, true)] {
                        for optimal in [false, true] {
                            seed += 1
                            let image = LosslessJPEGCorpus.image(columns: columns, rows: rows, components: components,
                                                                 precision: precision, seed: seed)
                            let enc = LosslessJPEGEncoder(precision: precision, predictor: predictor, pointTransform: pt,
                                                          restartInterval: restart, interleaved: interleaved,
                                                          optimalHuffman: optimal, fillBytes: restart > 0 ? 1 : 0)
                            let stream = enc.encode(image, columns: columns, rows: rows, components: components)
                            let what = "P\(precision) Pt\(pt) Ri\(restart) Nf\(components)\(interleaved ? "" : " planes")\(optimal ? " optimal" : "")"
                            let got = try JPEGLossless.decode(stream, columns: columns, rows: rows, samples: components,
                                                              bitsAllocated: precision > 8 ? 16 : 8)
                            #expect(got == Self.expected(image, pt: pt), "predictor \(predictor) \(what)")
                        }
                    }
                }
            }
        }
    }

    @Test("a larger image, 16-bit noise over the whole range: long Huffman codes and every SSSS")
    func fullRange() throws {
        var rng = SampleData.Random(seed: 5)
        let columns = 300, rows = 40
        let image = (0..<(columns * rows)).map { _ in UInt16(truncatingIfNeeded: rng.next()) }
        for predictor in 1...7 {
            for optimal in [false, true] {
                let stream = LosslessJPEGEncoder(precision: 16, predictor: predictor, optimalHuffman: optimal)
                    .encode(image, columns: columns, rows: rows, components: 1)
                #expect(try JPEGLossless.decode(stream, columns: columns, rows: rows, samples: 1) == image, "predictor \(predictor)")
            }
        }
    }

    @Test("difference 32768 (SSSS 16, no extra bits) decodes")
    func ssss16() throws {
        let columns = 8, rows = 3
        let image = (0..<(columns * rows)).map { UInt16($0 % 2 == 0 ? 0 : 32768) }
        let stream = LosslessJPEGEncoder(precision: 16).encode(image, columns: columns, rows: rows, components: 1)
        #expect(try JPEGLossless.decode(stream, columns: columns, rows: rows, samples: 1) == image)
    }

    /// SOI, SOF3 (P 8, 1 line of 2 samples), DHT (table 0: code 00 → SSSS 0, 01 → SSSS 4),
    /// SOS (predictor 1, Pt 1), one entropy-coded byte, EOI.
    static func handmade(entropy: [UInt8], pt: UInt8 = 1, restart: Bool = false) -> [UInt8] {
        var s: [UInt8] = [0xFF, 0xD8]
        s += [0xFF, 0xC3, 0, 11, 8, 0, 1, 0, 2, 1, 1, 0x11, 0]
        s += [0xFF, 0xC4, 0, 21, 0x00, 0, 2] + [UInt8](repeating: 0, count: 14) + [0, 4]
        s += [0xFF, 0xDA, 0, 8, 1, 1, 0x00, 1, 0, pt]
        s += entropy
        s += [0xFF, 0xD9]
        return s
    }

    @Test("hand-built stream: the first sample is predicted from 2^(P−Pt−1) (T.81 H.1.2.1), then shifted by Pt")
    func initialPrediction() throws {
        // Samples 100, 100 with Pt 1 → 50, 50. First: 50 − 2^(8−1−1) = −14: SSSS 4 (code 01),
        // extra bits of −14 − 1 = 0001. Second: 50 − 50 = 0 (code 00). Bits 01 0001 00 = 0x44.
        #expect(try JPEGLossless.decode(Self.handmade(entropy: [0x44]), columns: 2, rows: 1, samples: 1, bitsAllocated: 8) == [100, 100])
        // Pt 0: the same bits are 2^7 − 14 = 114, then 114.
        #expect(try JPEGLossless.decode(Self.handmade(entropy: [0x44], pt: 0), columns: 2, rows: 1, samples: 1, bitsAllocated: 8) == [114, 114])
        // A stuffed zero after 0xFF is not data; bits 11… match no code of this table.
        #expect(throws: ParseError.self) { try JPEGLossless.decode(Self.handmade(entropy: [0xFF, 0x00]), columns: 2, rows: 1, samples: 1) }
    }

    @Test("damaged codestreams: a ParseError with a position inside the stream, never a trap")
    func codestreamDamage() throws {
        let columns = 20, rows = 12
        let image = LosslessJPEGCorpus.image(columns: columns, rows: rows, components: 3, precision: 12, seed: 9)
        for enc in [LosslessJPEGEncoder(precision: 12, predictor: 7, restartInterval: columns, optimalHuffman: true),
                    LosslessJPEGEncoder(precision: 12, predictor: 4, interleaved: false)] {
            let stream = enc.encode(image, columns: columns, rows: rows, components: 3)
            #expect(try JPEGLossless.decode(stream, columns: columns, rows: rows, samples: 3) == image)
            // Every strict prefix fails, at an offset inside it.
            for length in 0..<stream.count {
                do {
                    _ = try JPEGLossless.decode(Array(stream[..<length]), columns: columns, rows: rows, samples: 3)
                    Issue.record("prefix of \(length) of \(stream.count) bytes decoded")
                } catch {
                    #expect(error.offset >= 0 && error.offset <= length, "prefix \(length): \(error)")
                }
            }
            // Every byte set to 0, 0xFF or flipped: decodes or fails with an offset in the stream.
            for i in 0..<stream.count {
                for value in [UInt8(0), 0xFF, stream[i] ^ 0x5A] {
                    var damaged = stream
                    damaged[i] = value
                    do {
                        _ = try JPEGLossless.decode(damaged, columns: columns, rows: rows, samples: 3)
                    } catch {
                        #expect(error.offset >= 0 && error.offset <= damaged.count, "byte \(i) = \(value): \(error)")
                    }
                }
            }
            // Seeded multi-byte damage: random bytes, insertions, deletions.
            var rng = SampleData.Random(seed: 77)
            for _ in 0..<600 {
                var damaged = stream
                for _ in 0..<(1 + Int(rng.next() % 4)) where !damaged.isEmpty {
                    let at = Int(rng.next() % UInt64(damaged.count))
                    switch rng.next() % 3 {
                    case 0: for k in 0..<Int(rng.next() % 6) where at + k < damaged.count { damaged[at + k] = UInt8(truncatingIfNeeded: rng.next()) }
                    case 1: damaged.insert(contentsOf: (0..<Int(rng.next() % 9)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
                    default: damaged.removeSubrange(at..<min(damaged.count, at + Int(rng.next() % 9)))
                    }
                }
                do {
                    _ = try JPEGLossless.decode(damaged, columns: columns, rows: rows, samples: 3)
                } catch {
                    #expect(error.offset >= 0 && error.offset <= damaged.count, "\(error)")
                }
            }
        }
    }

    @Test("restart intervals: RSTn out of order, missing, or inside a line are errors")
    func restarts() throws {
        let columns = 10, rows = 4
        let image = LosslessJPEGCorpus.image(columns: columns, rows: rows, components: 1, precision: 8, seed: 3)
        let stream = LosslessJPEGEncoder(precision: 8, restartInterval: columns).encode(image, columns: columns, rows: rows, components: 1)
        #expect(try JPEGLossless.decode(stream, columns: columns, rows: rows, samples: 1, bitsAllocated: 8) == image)
        let rst1 = try #require((0..<(stream.count - 1)).first { stream[$0] == 0xFF && stream[$0 + 1] == 0xD1 })
        var wrong = stream
        wrong[rst1 + 1] = 0xD5
        let e = #expect(throws: ParseError.self) { try JPEGLossless.decode(wrong, columns: columns, rows: rows, samples: 1, bitsAllocated: 8) }
        #expect(e?.detail.contains("RST1 marker expected") == true && e?.offset == rst1, "\(String(describing: e))")
        let midLine = LosslessJPEGEncoder(precision: 8, restartInterval: 4).encode(image, columns: columns, rows: rows, components: 1)
        let m = #expect(throws: ParseError.self) { try JPEGLossless.decode(midLine, columns: columns, rows: rows, samples: 1, bitsAllocated: 8) }
        #expect(m?.kind == .unsupported)
    }

    @Test("DICOM: stats of 16-bit, signed 12-bit, RGB and multi-frame files match the encoded samples")
    func dicomStats() {
        let columns = 17, rows = 11
        let reader = FileReader(options: ReadOptions(stats: true))
        // Unsigned 16-bit, predictor 5, restarts, two frames split over fragments.
        let a = LosslessJPEGCorpus.image(columns: columns, rows: rows, components: 1, precision: 16, seed: 1)
        let b = LosslessJPEGCorpus.image(columns: columns, rows: rows, components: 1, precision: 16, seed: 2)
        let enc = LosslessJPEGEncoder(precision: 16, predictor: 5, restartInterval: columns)
        let file = DICOMFixtures.losslessJPEG(frames: [enc.encode(a, columns: columns, rows: rows, components: 1),
                                                       enc.encode(b, columns: columns, rows: rows, components: 1)],
                                              columns: columns, rows: rows, bitsStored: 16, selectionValue1: false, split: true)
        let r = reader.read(bytes: file, path: "ljpeg.dcm")
        #expect(r.status == .ok && r.statsError == nil, "\(r.error ?? "") \(r.statsError ?? "")")
        StatsTests.expectClose(r.stats, StatsTests.reference((a + b).map(Double.init)), "16-bit two frames")
        // Signed 12-bit: stored as 12-bit two's complement, read as pydicom does (sign from bit 11).
        let signed = LosslessJPEGCorpus.image(columns: columns, rows: rows, components: 1, precision: 12, seed: 3)
        let s = reader.read(bytes: DICOMFixtures.losslessJPEG(
            frames: [LosslessJPEGEncoder(precision: 12).encode(signed, columns: columns, rows: rows, components: 1)],
            columns: columns, rows: rows, bitsStored: 12, signed: true, selectionValue1: true), path: "signed.dcm")
        StatsTests.expectClose(s.stats, StatsTests.reference(signed.map { Double($0 >= 2048 ? Int($0) - 4096 : Int($0)) }), "signed 12-bit")
        // 8-bit RGB, one scan per component.
        let rgb = LosslessJPEGCorpus.image(columns: columns, rows: rows, components: 3, precision: 8, seed: 4)
        let c = reader.read(bytes: DICOMFixtures.losslessJPEG(
            frames: [LosslessJPEGEncoder(precision: 8, predictor: 2, interleaved: false).encode(rgb, columns: columns, rows: rows, components: 3)],
            columns: columns, rows: rows, samplesPerPixel: 3, bitsAllocated: 8, bitsStored: 8, selectionValue1: false), path: "rgb.dcm")
        StatsTests.expectClose(c.stats, StatsTests.reference(rgb.map(Double.init)), "RGB planes")
    }

    @Test("DICOM: SOF sizes checked against the header, bounded before allocation; damage is a stats_error at a file offset")
    func dicomErrors() throws {
        let reader = FileReader(options: ReadOptions(stats: true))
        let image = LosslessJPEGCorpus.image(columns: 8, rows: 8, components: 1, precision: 12, seed: 6)
        let stream = LosslessJPEGEncoder(precision: 12).encode(image, columns: 8, rows: 8, components: 1)
        // The header says 8×9: the frame is 8×8.
        let mismatch = reader.read(bytes: DICOMFixtures.losslessJPEG(frames: [stream], columns: 8, rows: 9, bitsStored: 12, selectionValue1: true),
                                   path: "m.dcm")
        #expect(mismatch.stats == nil && mismatch.statsError?.contains("the DICOM header says 8×9") == true, "\(mismatch.statsError ?? "")")
        // A frame claiming 65535 × 65535 samples (header agreeing) in a few hundred bytes: refused
        // before any buffer is allocated for it.
        var huge = stream
        let sof = try #require((0..<(huge.count - 1)).first { huge[$0] == 0xFF && huge[$0 + 1] == 0xC3 })
        huge[sof + 5] = 0xFF; huge[sof + 6] = 0xFF; huge[sof + 7] = 0xFF; huge[sof + 8] = 0xFF
        let big = reader.read(bytes: DICOMFixtures.losslessJPEG(frames: [huge], columns: 65535, rows: 65535, bitsStored: 12, selectionValue1: true),
                              path: "huge.dcm")
        #expect(big.stats == nil && big.statsError?.contains("samples need at least") == true, "\(big.statsError ?? "")")
        // Precision 12 in 8-bit containers.
        let narrow = reader.read(bytes: DICOMFixtures.losslessJPEG(frames: [stream], columns: 8, rows: 8, bitsAllocated: 8, bitsStored: 8,
                                                                   selectionValue1: true), path: "n.dcm")
        #expect(narrow.statsError?.contains("precision 12 does not fit Bits Allocated 8") == true, "\(narrow.statsError ?? "")")
        // A byte of entropy-coded data set to a code no table has: stats_error naming the offset.
        let file = DICOMFixtures.losslessJPEG(frames: [stream], columns: 8, rows: 8, bitsStored: 12, selectionValue1: true)
        let sos = try #require((0..<(file.count - 1)).first { file[$0] == 0xFF && file[$0 + 1] == 0xDA })
        var bad = file
        for k in 0..<6 { bad[sos + 12 + k] = 0xFF; }
        let r = reader.read(bytes: bad, path: "bad.dcm")
        #expect(r.status == .ok && r.stats == nil, "\(r.statsError ?? "")")
        let message = r.statsError ?? ""
        let at = Int(message.split(separator: " ").last ?? "") ?? -1
        #expect(message.hasPrefix("JPEG Lossless") && at > sos && at < file.count, "\(message)")
    }

    @Test("JPEG Extended with 12-bit samples: a stats_error naming the system libjpeg's limit")
    func extended12() throws {
        let jpeg = try RasterBuilder.jpeg(width: 8, height: 8, components: 1, pixels: [UInt8](repeating: 7, count: 64))
        var b = DICOMBuilder(syntax: .encapsulated("1.2.840.10008.1.2.4.51"), elements: [
            .text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.7"),
            .us(0x0028_0002, 1), .text(0x0028_0004, "CS", "MONOCHROME2"),
            .us(0x0028_0010, 8), .us(0x0028_0011, 8), .us(0x0028_0100, 16), .us(0x0028_0101, 12), .us(0x0028_0103, 0),
            DICOMElement(0x7FE0_0010, "OB", .encapsulated([jpeg])),
        ])
        b.sopClassUID = "1.2.840.10008.5.1.4.1.1.7"
        let r = FileReader(options: ReadOptions(stats: true)).read(bytes: b.encode(), path: "x.dcm")
        #expect(r.status == .ok && r.stats == nil && r.statsError?.contains("libjpeg-turbo 2.1 decodes 8-bit samples only") == true,
                "\(r.statsError ?? "")")
    }
}

extension JPEGLosslessTests {
    @Test("YBR colour JPEG Lossless is refused with a stats_error (pydicom would convert it to RGB)")
    func ybrRefused() {
        let image = LosslessJPEGCorpus.image(columns: 5, rows: 4, components: 3, precision: 8, seed: 8)
        var file = DICOMFixtures.losslessJPEG(frames: [LosslessJPEGEncoder(precision: 8).encode(image, columns: 5, rows: 4, components: 3)],
                                              columns: 5, rows: 4, samplesPerPixel: 3, bitsAllocated: 8, bitsStored: 8,
                                              selectionValue1: true)
        // "RGB " → "YBR_FULL" needs a longer value: rewrite the element in place with the same length.
        let rgb = Array("CS\u{4}\0RGB ".utf8)
        let at = (0..<(file.count - rgb.count)).first { Array(file[$0..<($0 + rgb.count)]) == rgb }
        #expect(at != nil)
        if let at { file.replaceSubrange((at + 4)..<(at + 8), with: Array("YBR ".utf8)) }
        let r = FileReader(options: ReadOptions(stats: true)).read(bytes: file, path: "ybr.dcm")
        #expect(r.stats == nil && r.statsError?.contains("Photometric Interpretation YBR") == true, "\(r.statsError ?? "")")
    }
}

extension JPEGLosslessTests {
    @Test("a stand-alone lossless JPEG file (SOF3) gets statistics from the same decoder", arguments: [8, 12, 16])
    func standaloneFile(precision: Int) throws {
        let columns = 20, rows = 10
        let image = LosslessJPEGCorpus.image(columns: columns, rows: rows, components: 1, precision: precision, seed: 77)
        let stream = LosslessJPEGEncoder(precision: precision, predictor: 6).encode(image, columns: columns, rows: rows, components: 1)
        let record = FileReader(options: ReadOptions(stats: true)).read(bytes: stream, path: "lossless.jpg")
        #expect(record.status == .ok && record.format == .jpeg && record.statsError == nil, "\(record.statsError ?? "")")
        let stats = try #require(record.stats)
        let values = image.map(Double.init)
        #expect(stats.count == columns * rows)
        #expect(stats.min == values.min() && stats.max == values.max())
        #expect(abs(stats.mean - values.reduce(0, +) / Double(values.count)) < 1e-9)
        // A damaged entropy-coded segment is a stats_error with an offset, the header stays ok.
        var damaged = stream
        for i in (damaged.count - 40)..<(damaged.count - 2) { damaged[i] = 0xA5 }
        let bad = FileReader(options: ReadOptions(stats: true)).read(bytes: damaged, path: "lossless.jpg")
        #expect(bad.status == .ok && bad.stats == nil && bad.statsError?.contains("at byte") == true, "\(bad.statsError ?? "none")")
    }
}
