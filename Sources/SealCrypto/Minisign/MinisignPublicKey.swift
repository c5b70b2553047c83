import SealBase

/// A minisign public key: algorithm `Ed`, an 8-byte key id and a 32-byte Ed25519 key.
public struct MinisignPublicKey: Sendable, Hashable {
    public let keyId: [UInt8]
    public let key: [UInt8]
    /// The untrusted comment line of the file it came from (without the prefix), if any.
    public let comment: String

    public init(keyId: [UInt8], key: [UInt8], comment: String? = nil) {
        precondition(keyId.count == 8 && key.count == 32)
        self.keyId = keyId
        self.key = key
        self.comment = comment ?? "minisign public key \(Minisign.keyIdHex(keyId))"
    }

    /// The key id as minisign prints it: 16 upper-case hex digits of the little-endian u64.
    public var keyIdHex: String { Minisign.keyIdHex(keyId) }

    /// The base64 line (`RWQ…`), as `minisign -P` takes it.
    public var base64: String { Base64.encode(Array("Ed".utf8) + keyId + key) }

    /// The two-line file contents.
    public var fileContents: String { "untrusted comment: \(comment)\n\(base64)\n" }

    /// Parses a public key from its base64 line.
    public init(base64 line: some StringProtocol, comment: String? = nil) throws {
        guard let raw = Base64.decode(line.trimmingASCIIWhitespace(), padded: true), raw.count == 42 else {
            throw SealError(
                .keyMalformed, "not a minisign public key", remedy: "give the .pub file written by `sealgate keys generate signing` or `minisign -G`")
        }
        guard raw[0] == 0x45, raw[1] == 0x64 else {  // "Ed"
            throw SealError(.keyUnsupported, "unsupported public key algorithm", remedy: "use an Ed25519 minisign key")
        }
        self.init(keyId: Array(raw[2..<10]), key: Array(raw[10..<42]), comment: comment)
    }

    /// Parses the contents of a `.pub` file (an untrusted comment line, then the key).
    public init(fileContents text: String) throws {
        let lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        let bad = SealError(
            .keyMalformed, "not a minisign public key file", remedy: "give the .pub file written by `sealgate keys generate signing` or `minisign -G`"
        )
        guard lines.count >= 2, lines[0].hasPrefix(Minisign.untrustedPrefix) else {
            if lines.count == 1 {
                try self.init(base64: lines[0])
                return
            }
            throw bad
        }
        try self.init(base64: lines[1], comment: String(lines[0].dropFirst(Minisign.untrustedPrefix.count)))
    }

    /// Reads a `.pub` file.
    public init(path: String) throws {
        let text = try readTextFile(path)
        try self.init(fileContents: text)
    }

    public static func == (a: Self, b: Self) -> Bool { a.keyId == b.keyId && a.key == b.key }
    public func hash(into h: inout Hasher) {
        h.combine(keyId)
        h.combine(key)
    }
}

/// Names and helpers of the minisign format.
public enum Minisign {
    static let untrustedPrefix = "untrusted comment: "
    static let trustedPrefix = "trusted comment: "
    /// minisign's default scrypt cost for secret keys (`OPSLIMIT_SENSITIVE`, `MEMLIMIT_SENSITIVE`).
    public static let defaultOpsLimit: UInt64 = 33_554_432
    public static let defaultMemLimit: UInt64 = 1_073_741_824

    public static func keyIdHex(_ id: [UInt8]) -> String {
        var v: UInt64 = 0
        for (i, b) in id.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 16 - s.count)) + s
    }
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> Substring {
        let s = Substring(self)
        var a = s.startIndex
        var b = s.endIndex
        while a < b, s[a] == " " || s[a] == "\t" || s[a] == "\r" || s[a] == "\n" { a = s.index(after: a) }
        while b > a, s[s.index(before: b)] == " " || s[s.index(before: b)] == "\t" || s[s.index(before: b)] == "\r" || s[s.index(before: b)] == "\n" {
            b = s.index(before: b)
        }
        return s[a..<b]
    }
}

/// Reads a small public text file (keys, signatures, recipients).
public func readTextFile(_ path: String, maxSize: Int = 1 << 20) throws -> String {
    let src = try FileSource(path: path)
    guard try src.size() <= UInt64(maxSize) else {
        throw SealError(.usage, "\(path) is too large", remedy: "check the path")
    }
    // Read to the end in pieces, never more than the limit and a byte (a pipe or /proc file
    // states no size): a key file of a few hundred bytes costs a few hundred bytes, not the limit.
    var bytes: [UInt8] = []
    var piece = [UInt8](repeating: 0, count: 4096)
    while bytes.count <= maxSize {
        let got = try piece.withUnsafeMutableBytes {
            try src.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<min($0.count, maxSize + 1 - bytes.count)]))
        }
        if got == 0 { break }
        bytes += piece[..<got]
    }
    let n = bytes.count
    guard n <= maxSize else { throw SealError(.usage, "\(path) is too large", remedy: "check the path") }
    return String(decoding: bytes.prefix(n), as: UTF8.self)
}
