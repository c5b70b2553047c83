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
        switch self {
        case .string(let s): return Self.quote(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let a): return "[" + a.map(\.canonical).joined(separator: ",") + "]"
        case .object(let o):
            return "{"
                + o.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
                .map { Self.quote($0) + ":" + o[$0]!.canonical }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ s: String) -> String { jsonQuote(s) }  // SealPackage's RFC 8259 quoting

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
