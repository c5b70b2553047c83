import Foundation
import SealCrypto

/// `manifest.json`, member 1 of the payload archive (spec §4).
public struct Manifest: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var sha256: String
        public var records: UInt64
        public init(name: String, sha256: String, records: UInt64) {
            self.name = name
            self.sha256 = sha256
            self.records = records
        }
    }

    public static let format = "sealgate-payload/1"
    public static let maxBytes = 1 << 20
    public static let maxFiles = 1024

    public var unit: String
    public var package: String
    public var seq: UInt64
    public var kind: PackageKind
    public var created: String
    public var schema: String
    public var files: [Entry]

    public init(unit: String, package: String, seq: UInt64, kind: PackageKind, created: String, schema: String, files: [Entry]) {
        self.unit = unit
        self.package = package
        self.seq = seq
        self.kind = kind
        self.created = created
        self.schema = schema
        self.files = files
    }

    /// Deterministic JSON in the spec's key order.
    public var json: [UInt8] {
        func q(_ s: String) -> String { jsonQuote(s) }
        let files = self.files.map { "{\"name\":\(q($0.name)),\"sha256\":\(q($0.sha256)),\"records\":\($0.records)}" }.joined(separator: ",")
        let text =
            "{\"format\":\(q(Self.format)),\"unit\":\(q(unit)),\"package\":\(q(package)),\"seq\":\(seq),\"kind\":\(q(kind.rawValue)),\"created\":\(q(created)),\"schema\":\(q(schema)),\"files\":[\(files)]}"
        return Array(text.utf8)
    }

    /// Parses and checks the manifest's own shape; throws `payload_malformed`.
    public init(json bytes: [UInt8]) throws {
        guard bytes.count <= Self.maxBytes else { throw SealError.payload("manifest larger than \(Self.maxBytes) bytes") }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw SealError.payload("manifest is not a JSON object")
        }
        guard obj["format"] as? String == Self.format else { throw SealError.payload("manifest format is not \(Self.format)") }
        func str(_ k: String) throws -> String {
            guard let v = obj[k] as? String else { throw SealError.payload("manifest field \(k) missing or not a string") }
            return v
        }
        func uint(_ v: Any?) -> UInt64? {
            guard let n = v as? NSNumber, CFGetTypeIDIfAvailable(n) else { return nil }
            let d = n.doubleValue
            guard d >= 0, d == d.rounded(), d < 1.8e19 else { return nil }
            return n.uint64Value
        }
        unit = try str("unit")
        package = try str("package")
        guard let s = uint(obj["seq"]) else { throw SealError.payload("manifest seq is not an unsigned integer") }
        seq = s
        guard let k = PackageKind(rawValue: try str("kind")) else { throw SealError.payload("manifest kind is unknown") }
        kind = k
        created = try str("created")
        schema = try str("schema")
        guard let list = obj["files"] as? [[String: Any]] else { throw SealError.payload("manifest files is not a list of objects") }
        guard list.count <= Self.maxFiles else { throw SealError.payload("manifest lists more than \(Self.maxFiles) files") }
        var seen = Set<String>()
        // Entries are named by position in errors, never by the unit's text.
        files = try list.enumerated().map { i, e in
            guard let name = e["name"] as? String, PackageIdentifiers.isValidDataFileName(name) else {
                throw SealError.payload("manifest entry \(i + 1) has a bad file name")
            }
            guard seen.insert(name).inserted else { throw SealError.payload("manifest entry \(i + 1) repeats a file name") }
            guard let h = e["sha256"] as? String, h.count == 64, h.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw SealError.payload("manifest entry \(i + 1): sha256 is not 64 lower-case hex digits")
            }
            guard let r = uint(e["records"]) else { throw SealError.payload("manifest entry \(i + 1): records is not an unsigned integer") }
            return Entry(name: name, sha256: h, records: r)
        }
    }

    /// Checks that the manifest names the same package as the signed comment (the defence
    /// against surreptitious forwarding). Throws `manifest_mismatch`.
    public func check(against c: TrustedComment) throws {
        var diffs = [String]()
        // Only the fields are named: the manifest's values are the payload's text.
        if unit != c.unit { diffs.append("unit") }
        if package != c.package { diffs.append("package") }
        if seq != c.seq { diffs.append("seq") }
        if kind != c.kind { diffs.append("kind") }
        if created != c.created { diffs.append("created") }
        guard diffs.isEmpty else {
            throw SealError(
                .manifestMismatch, "the encrypted manifest does not match the signed comment (\(diffs.joined(separator: ", ")))",
                remedy:
                    "the payload was re-signed by someone other than its author (surreptitious forwarding) or altered; refuse it and tell the signer's unit"
            )
        }
        if schema != kind.schema { throw SealError.payload("the manifest's schema does not fit kind \(kind.rawValue)") }
        if let required = kind.requiredFiles, Set(required) != Set(files.map(\.name)) || required.count != files.count {
            throw SealError.payload("a \(kind.rawValue) package must carry exactly \(required.joined(separator: ", "))")
        }
    }
}

private func CFGetTypeIDIfAvailable(_ n: NSNumber) -> Bool {
    // Booleans decode as NSNumber too; refuse them as numbers.
    String(cString: n.objCType) != "c"
}

/// `jsonQuote(s)` appended to `out` (a text with nothing to escape is appended as it is, with no
/// string made in between).
public func jsonQuote(_ s: String, into out: inout String) {
    guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else {
        out += "\""
        out += s
        out += "\""
        return
    }
    out += jsonQuote(s)
}

/// JSON string quoting (RFC 8259), for deterministic output.
public func jsonQuote(_ s: String) -> String {
    // Nothing to escape (no control character, quote or backslash): the text as it is.
    if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) { return "\"" + s + "\"" }
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

/// Counts RFC 4180 records (data rows, header excluded) in a stream of CSV bytes: newlines
/// inside quoted fields do not end a record; a final record without a newline counts.
public struct CSVRecordCounter: Sendable {
    private var inQuotes = false
    private var lines: UInt64 = 0
    private var lastByte: UInt8 = 0x0A
    private var any = false

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        any = true
        var q = inQuotes
        var n = lines
        for c in bytes {
            if c == 0x22 { q.toggle() } else if c == 0x0A && !q { n += 1 }
        }
        inQuotes = q
        lines = n
        lastByte = bytes[bytes.count - 1]
    }

    /// Data records: rows minus the header row.
    public var records: UInt64 {
        guard any else { return 0 }
        let rows = lines + (lastByte == 0x0A ? 0 : 1)
        return rows > 0 ? rows - 1 : 0
    }
}
