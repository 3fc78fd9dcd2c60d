import ImagingX

// One reader, reused as the scanner reuses it: state must not leak from one input to the next.
// Pixel statistics are on, so every decoder (NIfTI/gz, DICOM native/RLE/JPEG, PNG, JPEG) is fuzzed too.
nonisolated(unsafe) let reader = FileReader(options: ReadOptions(stats: true))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHeaders(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let record = reader.read(bytes: Array(UnsafeBufferPointer(start: data, count: size)), path: "fuzz")
    if record.status == .error {
        // Every error names a byte offset.
        precondition(record.error?.contains(" at byte ") == true, "error without an offset: \(record.error ?? "")")
    }
    var out: [UInt8] = []
    RecordWriter.appendJSON(record, to: &out)
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
