// libFuzzer entry point over every parser of untrusted bytes (see ParserFuzzing).
// Built by scripts/fuzz with -sanitize=fuzzer; not part of the package's products.
import SealPackage

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    ParserFuzzing.exercise(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
