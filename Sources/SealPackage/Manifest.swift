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

    /// Parses and checks the manifest's own shape; throws `payload_malformed`. The text `json`
    /// writes (every sealer of this project's) is read by `canonical` without Foundation's
    /// parser; any other layout is parsed in full.
    public init(json bytes: [UInt8]) throws {
        guard bytes.count <= Self.maxBytes else { throw SealError.payload("manifest larger than \(Self.maxBytes) bytes") }
        if let m = Self.canonical(bytes) {
            guard m.files.count <= Self.maxFiles else { throw SealError.payload("manifest lists more than \(Self.maxFiles) files") }
            var seen = Set<String>()
            for (i, e) in m.files.enumerated() { try Self.checkEntry(i, name: e.name, sha256: e.sha256, seen: &seen) }
            self = m
            return
        }
        self = try Self.parsedInFull(bytes)
    }

    /// `init(json:)` for any layout: Foundation's parser, then the same checks.
    static func parsedInFull(_ bytes: [UInt8]) throws -> Manifest {
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
        let unit = try str("unit")
        let package = try str("package")
        guard let seq = uint(obj["seq"]) else { throw SealError.payload("manifest seq is not an unsigned integer") }
        guard let kind = PackageKind(rawValue: try str("kind")) else { throw SealError.payload("manifest kind is unknown") }
        let created = try str("created")
        let schema = try str("schema")
        guard let list = obj["files"] as? [[String: Any]] else { throw SealError.payload("manifest files is not a list of objects") }
        guard list.count <= Self.maxFiles else { throw SealError.payload("manifest lists more than \(Self.maxFiles) files") }
        var seen = Set<String>()
        let files = try list.enumerated().map { i, e in
            let (name, h) = try Self.checkEntry(i, name: e["name"] as? String, sha256: e["sha256"] as? String, seen: &seen)
            guard let r = uint(e["records"]) else { throw SealError.payload("manifest entry \(i + 1): records is not an unsigned integer") }
            return Entry(name: name, sha256: h, records: r)
        }
        return Manifest(unit: unit, package: package, seq: seq, kind: kind, created: created, schema: schema, files: files)
    }

    /// An entry's name and hash (entry `i`, counted from 0), checked in that order; throws
    /// `payload_malformed` naming the entry by position, never by the unit's text.
    @discardableResult
    private static func checkEntry(_ i: Int, name: String?, sha256 h: String?, seen: inout Set<String>) throws -> (name: String, sha256: String) {
        guard let name, PackageIdentifiers.isValidDataFileName(name) else { throw SealError.payload("manifest entry \(i + 1) has a bad file name") }
        guard seen.insert(name).inserted else { throw SealError.payload("manifest entry \(i + 1) repeats a file name") }
        guard let h, h.utf8.count == 64, h.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw SealError.payload("manifest entry \(i + 1): sha256 is not 64 lower-case hex digits")
        }
        return (name, h)
    }

    /// The manifest when `bytes` are exactly what `json` writes for it (the spec's key order, no
    /// white space, strings with nothing escaped, numbers below 2^53), else nil. Scanned, then
    /// written back and compared: only a text that is that manifest's own encoding is taken, so
    /// it reads as Foundation's parser would read it.
    static func canonical(_ bytes: [UInt8]) -> Manifest? {
        var i = 0
        func literal(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard i + n <= bytes.count else { return false }
            let same = s.withUTF8Buffer { l in (0..<n).allSatisfy { bytes[i + $0] == l[$0] } }
            if same { i += n }
            return same
        }
        func string() -> String? {
            guard i < bytes.count, bytes[i] == 0x22 else { return nil }
            let start = i + 1
            var j = start
            while j < bytes.count, bytes[j] != 0x22 {
                if bytes[j] == 0x5C || bytes[j] < 0x20 { return nil }
                j += 1
            }
            guard j < bytes.count else { return nil }
            i = j + 1
            return String(decoding: bytes[start..<j], as: UTF8.self)
        }
        func number() -> UInt64? {
            var v: UInt64 = 0
            let start = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                v = v * 10 + UInt64(bytes[i] - 0x30)
                i += 1
                guard v <= 1 << 53 else { return nil }
            }
            return i > start ? v : nil
        }
        guard literal("{\"format\":"), string() == Self.format, literal(",\"unit\":"), let unit = string(), literal(",\"package\":"),
            let package = string(), literal(",\"seq\":"), let seq = number(), literal(",\"kind\":"),
            let kind = string().flatMap({ PackageKind(rawValue: $0) }),
            literal(",\"created\":"), let created = string(), literal(",\"schema\":"), let schema = string(), literal(",\"files\":[")
        else { return nil }
        var files: [Entry] = []
        if !literal("]") {
            repeat {
                guard files.count < Self.maxFiles + 1, literal("{\"name\":"), let name = string(), literal(",\"sha256\":"), let h = string(),
                    literal(",\"records\":"), let records = number(), literal("}")
                else { return nil }
                files.append(Entry(name: name, sha256: h, records: records))
            } while literal(",")
            guard literal("]") else { return nil }
        }
        guard literal("}"), i == bytes.count else { return nil }
        let m = Manifest(unit: unit, package: package, seq: seq, kind: kind, created: created, schema: schema, files: files)
        return m.json == bytes ? m : nil
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
    guard needsEscaping(s) else {
        out += "\""
        out += s
        out += "\""
        return
    }
    out += jsonQuote(s)
}

/// `jsonQuote(s)` appended to a buffer of UTF-8 bytes (canonical JSON is built so).
public func jsonQuote(_ s: String, into out: inout [UInt8]) {
    out.append(0x22)
    var s = s
    s.withUTF8 { u in
        // Nothing to escape (nearly always): the bytes in one copy.
        guard u.contains(where: mustEscape) else { return out.append(contentsOf: u) }
        for b in u {
            switch b {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case ..<0x20: out += [0x5C, 0x75, 0x30, 0x30, hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]]
            default: out.append(b)
            }
        }
    }
    out.append(0x22)
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

/// A byte JSON must escape: a control character, `"` or `\`.
private func mustEscape(_ b: UInt8) -> Bool { b < 0x20 || b == 0x22 || b == 0x5C }

/// Whether a string holds a byte JSON must escape: one pass over its own UTF-8 storage.
private func needsEscaping(_ s: String) -> Bool {
    var s = s
    return s.withUTF8 { $0.contains(where: mustEscape) }
}

/// JSON string quoting (RFC 8259), for deterministic output: `"` and `\` escaped, `\n`, `\r`,
/// `\t`, any other control character as `\u00xx`; everything else as it is.
public func jsonQuote(_ s: String) -> String {
    // Nothing to escape (no control character, quote or backslash): the text as it is.
    if !needsEscaping(s) { return "\"" + s + "\"" }
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count + 16)
    jsonQuote(s, into: &out)
    return String(decoding: out, as: UTF8.self)
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
