internal import CFuzzerDriver
internal import FuzzEntries

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    FuzzEntry.interopString(UnsafeRawBufferPointer(start: start, count: count))
    return 0
}

// SwiftPM links executables with `--defsym main=FuzzInteropString_main` (so that tests can link them);
// built with -parse-as-library there is no such symbol, so hand control to libFuzzer's driver here.
@_cdecl("FuzzInteropString_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        guard let data else { return 0 }
        return fuzz(UnsafeRawPointer(data), size)
    }
}
