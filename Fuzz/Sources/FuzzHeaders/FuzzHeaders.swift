import ImagingX

// One reader, reused as the scanner reuses it: state must not leak from one input to the next.
// Pixel statistics are on, so every decoder (NIfTI/gz, DICOM native/RLE/JPEG, PNG, JPEG, MetaImage and
// NRRD attached data in every encoding) is fuzzed too.
nonisolated(unsafe) let reader = FileReader(options: ReadOptions(stats: true))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHeaders(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let record = reader.read(bytes: Array(UnsafeBufferPointer(start: data, count: size)), path: "fuzz")
    if record.status == .error {
        // Every error has a code and a byte offset, and its sentence ends with that offset.
        precondition(record.errorCode != nil, "error without a code: \(record.error ?? "")")
        precondition(record.errorOffset.map { record.error?.hasSuffix(" at byte \($0)") == true } == true,
                     "error without an offset: \(record.error ?? "")")
    }
    var out: [UInt8] = []
    RecordWriter.appendJSON(record, to: &out)
    // Whatever the input, the record reads back and writes the same bytes again.
    let back = try! RecordReader.readJSONLines(out)
    var again: [UInt8] = []
    RecordWriter.appendJSON(back[0], to: &again)
    precondition(again == out, "record does not round-trip: \(String(decoding: out, as: UTF8.self))")
    return 0
}

// SwiftPM links an executable's entry as `<Target>_main`; hand control to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("FuzzHeaders_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments, { data, size in fuzzHeaders(data, size) })
}
