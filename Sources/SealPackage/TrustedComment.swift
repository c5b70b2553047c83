import SealCrypto

/// What a package says about itself, signed: the trusted comment of spec §3.
///
///     sealgate/1 unit=HCM-U001 package=<uuid> seq=42 kind=snapshot created=2026-11-27T08:00:00Z to=<fp>,<fp>
public struct TrustedComment: Sendable, Equatable {
    public var unit: String
    public var package: String
    public var seq: UInt64
    public var kind: PackageKind
    public var created: String
    public var to: [String]
    /// Unknown `key=value` pairs after the known ones (ignored by version-1 readers).
    public var extra: [(String, String)] = []

    public static let prefix = "sealgate/1"
    public static let maxBytes = 1024

    public init(unit: String, package: String, seq: UInt64, kind: PackageKind, created: String, to: [String]) {
        self.unit = unit
        self.package = package
        self.seq = seq
        self.kind = kind
        self.created = created
        self.to = to
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.unit == b.unit && a.package == b.package && a.seq == b.seq && a.kind == b.kind && a.created == b.created && a.to == b.to
    }

    /// The one-line text.
    public var text: String {
        var s = "\(Self.prefix) unit=\(unit) package=\(package) seq=\(seq) kind=\(kind.rawValue) created=\(created) to=\(to.joined(separator: ","))"
        for (k, v) in extra { s += " \(k)=\(v)" }
        return s
    }

    /// Parses strictly; throws `comment_malformed`.
    public init(parsing text: String) throws {
        guard text.utf8.count <= Self.maxBytes else { throw SealError.comment("longer than \(Self.maxBytes) bytes") }
        guard text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) else { throw SealError.comment("not printable US-ASCII") }
        // Printable US-ASCII (checked above): each byte is a character, so the text is cut and
        // searched as bytes (a comment is parsed a few times a package).
        let parts = text.utf8.split(separator: 0x20, omittingEmptySubsequences: false).map { Substring($0) }
        guard parts.first == Substring(Self.prefix) else { throw SealError.comment("does not start with \(Self.prefix)") }
        let known = ["unit", "package", "seq", "kind", "created", "to"]
        guard parts.count >= 1 + known.count else { throw SealError.comment("missing keys (need \(known.joined(separator: ", ")))") }
        var values = [String: String]()
        // Fields are named by position or by the keys we know, never by the signer's text.
        for (i, name) in known.enumerated() {
            let p = parts[1 + i]
            guard let eq = p.utf8.firstIndex(of: 0x3D) else { throw SealError.comment("field \(i + 2) is not key=value") }
            let k = String(p[..<eq])
            guard k == name else {
                throw SealError.comment(known.contains(k) ? "key \(k) out of order or repeated" : "field \(i + 2) is not \(name)=")
            }
            values[k] = String(p[p.index(after: eq)...])
        }
        var extra = [(String, String)]()
        for (i, p) in parts.dropFirst(1 + known.count).enumerated() {
            guard let eq = p.utf8.firstIndex(of: 0x3D), eq != p.startIndex else {
                throw SealError.comment("field \(known.count + i + 2) is not key=value")
            }
            let k = String(p[..<eq])
            if known.contains(k) { throw SealError.comment("key \(k) repeated") }
            extra.append((k, String(p[p.index(after: eq)...])))
        }
        let unit = values["unit"]!
        guard PackageIdentifiers.isValidUnit(unit) else { throw SealError.comment("unit is not [A-Z0-9][A-Z0-9-]{1,31}") }
        let package = values["package"]!
        guard PackageIdentifiers.isValidUUID(package) else { throw SealError.comment("package is not a lower-case UUID") }
        let seqText = values["seq"]!
        guard !seqText.isEmpty, seqText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), seqText == "0" || !seqText.hasPrefix("0"),
            let seq = UInt64(seqText)
        else {
            throw SealError.comment("seq is not a decimal u64")
        }
        guard let kind = PackageKind(rawValue: values["kind"]!) else {
            throw SealError.comment("kind must be snapshot, correction, dataset or files")
        }
        let created = values["created"]!
        guard PackageIdentifiers.isValidTimestamp(created) else { throw SealError.comment("created is not an RFC 3339 UTC time with seconds and Z") }
        let toText = values["to"]!
        let to = toText.utf8.split(separator: 0x2C, omittingEmptySubsequences: false).map { String(Substring($0)) }
        func isFingerprint(_ f: String) -> Bool {
            f.utf8.count == 16 && f.utf8.allSatisfy { c in (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) }
        }
        guard !toText.isEmpty, to.allSatisfy(isFingerprint) else {
            throw SealError.comment("to must be comma-separated 16-hex-digit recipient fingerprints")
        }
        self.init(unit: unit, package: package, seq: seq, kind: kind, created: created, to: to)
        self.extra = extra
    }
}

/// The kinds of package (spec §4).
public enum PackageKind: String, Sendable, CaseIterable, Codable {
    case snapshot, correction, dataset, files

    /// The data files a package of this kind must carry (nil: any).
    public var requiredFiles: [String]? {
        switch self {
        case .snapshot: return ["organizations.csv", "members.csv"]
        case .correction: return ["corrections.csv"]
        case .dataset: return ["organizations.csv", "members.csv", "conflicts.csv", "stats.json"]
        case .files: return nil
        }
    }

    /// The manifest's `schema`.
    public var schema: String { self == .files ? "none" : "party-records/1" }
}
