import Foundation
import HummingbirdCore

/// The HTTP-side parsers a stranger's request reaches, for the fuzzer (`Fuzz/`) and the corpus
/// replay in the tests: the request target as Hummingbird parses it (path, query, percent
/// decoding), then every bounded parameter parser of the routes over what it yields. Must never
/// crash or hang; refusals are expected.
public enum ParameterFuzzing {
    public static func exercise(_ data: UnsafeRawBufferPointer) {
        let text = String(decoding: data.prefix(64 << 10), as: UTF8.self)
        let uri = URI(text)
        for (k, v) in uri.queryParameters {
            _ = try? Param.int(String(v), String(k), in: 0...Int64.max, example: "")
            _ = try? Param.int(String(v), String(k), in: Int64.min...Int64.max, example: "")
        }
        for component in uri.path.split(separator: "/") {
            let s = String(component)
            _ = Param.isUnitId(s)
            _ = UUID(uuidString: s)
            _ = try? Param.int(s, "version", in: 1...Int64.max, example: "")
        }
        _ = uri.path.removingPercentEncoding
    }
}
