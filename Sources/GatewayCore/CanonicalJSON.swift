import Foundation
import SealBase
import SealPackage

/// A JSON value with one canonical encoding: object keys sorted (byte order), no insignificant
/// white space, integers only, UTF-8. Receipts and trust documents are signed in this form.
public indirect enum JSON: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null
    case array([JSON])
    case object([String: JSON])

    public var canonical: String {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the canonical text (keys in the order of their UTF-8 bytes, no space) to `out`:
    /// one buffer of bytes grown in place, not a string made for every value and joined.
    func write(into out: inout [UInt8]) {
        switch self {
        case .string(let s): jsonQuote(s, into: &out)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .bool(let b): out.append(contentsOf: b ? "true".utf8 : "false".utf8)
        case .null: out.append(contentsOf: "null".utf8)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            out.append(UInt8(ascii: "{"))
            for (i, k) in o.keys.sorted(by: JSON.utf8Precedes).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                jsonQuote(k, into: &out)
                out.append(UInt8(ascii: ":"))
                o[k]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Whether `a` comes before `b` in the order of their UTF-8 bytes (memcmp on the strings'
    /// own storage; a shorter string first when it is the other's prefix).
    static func utf8Precedes(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
    }

    /// Parses JSON text (any layout) into a value; numbers must be integers.
    public init(parsing text: String) throws {
        guard let data = text.data(using: .utf8), let obj = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            throw GatewayError(.malformedDocument, "not valid JSON", remedy: "the document is damaged; fetch it again")
        }
        self = try JSON.from(obj)
    }

    static func from(_ o: Any) throws -> JSON {
        switch o {
        case let s as String: return .string(s)
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { return .bool(n.boolValue) }
            guard n.doubleValue == n.doubleValue.rounded() else {
                throw GatewayError(.malformedDocument, "non-integer number", remedy: "fetch the document again")
            }
            // Beyond ±2^63 a conversion to Int64 would trap: refused instead.
            guard n.doubleValue.magnitude < 9.2e18 else {
                throw GatewayError(.malformedDocument, "number out of range", remedy: "fetch the document again")
            }
            return .int(n.int64Value)
        case is NSNull: return .null
        case let a as [Any]: return .array(try a.map(from))
        case let d as [String: Any]: return .object(try d.mapValues(from))
        default: throw GatewayError(.malformedDocument, "unsupported JSON value", remedy: "fetch the document again")
        }
    }

    public subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var int: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }
    public var array: [JSON]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var object: [String: JSON]? {
        if case .object(let o) = self { return o }
        return nil
    }
}
