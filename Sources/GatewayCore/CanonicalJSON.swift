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
        var out = ""
        write(into: &out)
        return out
    }

    /// Appends the canonical text (keys in the order of their UTF-8 bytes, no space) to `out`:
    /// one string grown in place, not one made for every value and joined.
    func write(into out: inout String) {
        switch self {
        case .string(let s): jsonQuote(s, into: &out)
        case .int(let i): out += String(i)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(into: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, (k, v)) in o.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if i > 0 { out += "," }
                jsonQuote(k, into: &out)
                out += ":"
                v.write(into: &out)
            }
            out += "}"
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
