// libFuzzer entry point over one of the targets of FuzzTargets, chosen by SEALGATE_FUZZ_TARGET.
// Built by `make fuzz` (scripts/fuzz) with -sanitize=fuzzer,address; not a product of the package.
import Foundation
import FuzzTargets

let target: @Sendable (UnsafeRawBufferPointer) -> Void = {
    let name = ProcessInfo.processInfo.environment["SEALGATE_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTargets.all[name] else {
        FileHandle.standardError.write(Data("set SEALGATE_FUZZ_TARGET to one of: \(FuzzTargets.all.keys.sorted().joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return t
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    target(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
