import CZlibTesting
import Foundation

@testable import SealCrypto

/// Where the peer test vectors live: `Tests/Vectors` in the repository (sources and licences in its README).
enum TestPaths {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let vectors: URL = {
        if let env = ProcessInfo.processInfo.environment["SEALGATE_TESTVECTORS"] { return URL(fileURLWithPath: env) }
        return repoRoot.appendingPathComponent("Tests/Vectors")
    }()
    static let ageVectors: URL = {
        if let env = ProcessInfo.processInfo.environment["SEALGATE_AGE_VECTORS"] { return URL(fileURLWithPath: env) }
        return vectors.appendingPathComponent("age")
    }()
}

func hex(_ s: String) -> [UInt8] {
    var out = [UInt8]()
    var it = s.utf8.makeIterator()
    func v(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
    while let a = it.next(), let b = it.next() { out.append(v(a) << 4 | v(b)) }
    return out
}

/// zlib inflate (test-kit vectors marked `compressed: zlib`).
func zlibInflate(_ input: [UInt8]) throws -> [UInt8] {
    var stream = z_stream()
    guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw SealError(.ioError, "inflateInit", remedy: "")
    }
    defer { inflateEnd(&stream) }
    var output = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var inputCopy = input
    return try inputCopy.withUnsafeMutableBufferPointer { inBuf -> [UInt8] in
        stream.next_in = inBuf.baseAddress
        stream.avail_in = UInt32(inBuf.count)
        while true {
            let rc = chunk.withUnsafeMutableBufferPointer { out -> Int32 in
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            output += chunk[0..<(chunk.count - Int(stream.avail_out))]
            if rc == Z_STREAM_END { return output }
            guard rc == Z_OK else { throw SealError(.ioError, "inflate failed \(rc)", remedy: "") }
        }
    }
}

func identitySecret(_ s: String) -> SecureBytes {
    Array(s.utf8).withUnsafeBytes { SecureBytes(copying: $0) }
}
