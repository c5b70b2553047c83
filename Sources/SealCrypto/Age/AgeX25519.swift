import SealBase

/// A recipient known by its text (`age1…` or `age1pq1…`) and fingerprint.
public protocol AgeKeyRecipient: AgeRecipient {
    /// The recipient's text, as age writes it.
    var string: String { get }
    /// First 16 hex digits of SHA-256 of `string` (package format §1).
    var fingerprint: String { get }
}

/// An identity that can say its recipient and write itself as text.
public protocol AgeKeyIdentity: AgeIdentity {
    var keyRecipient: any AgeKeyRecipient { get }
    /// The identity's text (`AGE-SECRET-KEY-…1…`), in secure memory.
    func encoded() -> SecureBytes
}

/// Recipients and identities of either type by their text.
public enum AgeKeys {
    /// Whether a recipient's text is of the post-quantum hybrid type (`age1pq1…`).
    public static func isPostQuantum(_ recipient: some StringProtocol) -> Bool { recipient.hasPrefix("age1pq1") }

    /// Parses `age1pq1…` (post-quantum hybrid) or `age1…` (X25519). Throws `age_recipient_malformed`.
    public static func recipient(_ text: some StringProtocol) throws -> any AgeKeyRecipient {
        let t = text.trimmingASCIIWhitespace()
        if isPostQuantum(t) { return try AgeHybridRecipient(string: t) }
        return try AgeX25519Recipient(string: t)
    }

    /// Parses one `AGE-SECRET-KEY-PQ-1…` or `AGE-SECRET-KEY-1…` line held in secure memory;
    /// any other line is `key_malformed`.
    public static func identity(_ line: UnsafeRawBufferPointer) throws -> any AgeKeyIdentity {
        if line.starts(with: Array("AGE-SECRET-KEY-PQ-1".utf8)) { return try AgeHybridIdentity(encoded: line) }
        guard line.starts(with: Array("AGE-SECRET-KEY-1".utf8)) else {
            throw SealError(
                .keyMalformed, "identity file has a line that is not an X25519 or post-quantum identity",
                remedy: "only AGE-SECRET-KEY-1… and AGE-SECRET-KEY-PQ-1… identities are supported (no plugins, no SSH keys)")
        }
        return try AgeX25519Identity(encoded: line)
    }
}

/// An age X25519 recipient (`age1…`).
public struct AgeX25519Recipient: AgeKeyRecipient, Hashable {
    public let publicKey: [UInt8]

    public init(publicKey: [UInt8]) {
        precondition(publicKey.count == 32)
        self.publicKey = publicKey
    }

    /// Parses `age1…`. Throws `age_recipient_malformed`.
    public init(string: some StringProtocol) throws {
        let text = Array(string.trimmingASCIIWhitespace().utf8)
        let decoded = text.withUnsafeBytes { Bech32.decode($0) }
        guard let decoded, decoded.hrp == "age", decoded.data.count == 32, text.first == UInt8(ascii: "a") else {
            throw SealError(
                .ageRecipientMalformed, "not an age X25519 recipient: \(String(string.prefix(80)))",
                remedy: "give an age1… recipient or a file holding one (from `sealgate keys generate recipient` or `age-keygen`)")
        }
        self.publicKey = decoded.data.withUnsafeBytes { Array($0) }
    }

    /// The `age1…` string.
    public var string: String { publicKey.withUnsafeBytes { Bech32.encode(hrp: "age", data: $0) } }

    /// First 16 hex digits of SHA-256 of the `age1…` string (package format §1).
    public var fingerprint: String { AgeX25519Recipient.fingerprint(of: string) }

    public static func fingerprint(of recipient: String) -> String {
        hexString(SHA256Hasher.hash(Array(recipient.utf8)).prefix(8))
    }

    public func wrap(fileKey: SecureBytes) throws -> AgeStanza {
        let ephemeral = SecureBytes(random: 32)
        let share = try X25519.publicKey(of: ephemeral)
        let shared = try X25519.sharedSecret(secret: ephemeral, peer: publicKey)
        let wrapKey = try HKDFSHA256.derive(ikm: shared, salt: share + publicKey, info: Array("age-encryption.org/v1/X25519".utf8), length: 32)
        var body = [UInt8](repeating: 0, count: 32)
        let aead = try ChaChaPoly(key: wrapKey)
        try fileKey.withUnsafeBytes { fk in
            try [UInt8](repeating: 0, count: 12).withUnsafeBytes { nonce in
                try body.withUnsafeMutableBytes { try aead.seal(nonce: nonce, plaintext: fk, into: $0) }
            }
        }
        return AgeStanza(type: "X25519", arguments: [Base64.encode(share, padded: false)], body: body)
    }
}

/// Lower-case hex of public bytes.
public func hexString(_ bytes: some Collection<UInt8>) -> String {
    // Contiguous bytes (nearly every caller's) go the direct way: this generic function is
    // called from other modules unspecialized, and iterating its collection there costs more
    // than the digits.
    bytes.withContiguousStorageIfAvailable { hexString(UnsafeRawBufferPointer($0)) } ?? Array(bytes).withUnsafeBytes { hexString($0) }
}

/// Lower-case hex of raw bytes.
public func hexString(_ bytes: UnsafeRawBufferPointer) -> String {
    let digits: StaticString = "0123456789abcdef"
    return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
        digits.withUTF8Buffer { d in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = d[Int(b >> 4)]
                out[2 * i + 1] = d[Int(b & 15)]
            }
            return bytes.count * 2
        }
    }
}

/// An age X25519 identity (`AGE-SECRET-KEY-1…`); the scalar lives in secure memory.
/// `@unchecked Sendable`: immutable once made (the secure bytes are only read).
public final class AgeX25519Identity: AgeKeyIdentity, @unchecked Sendable, CustomStringConvertible {
    let secret: SecureBytes
    public let recipient: AgeX25519Recipient
    public var keyRecipient: any AgeKeyRecipient { recipient }

    /// A new random identity.
    public static func generate() throws -> AgeX25519Identity {
        try AgeX25519Identity(secret: SecureBytes(random: 32))
    }

    /// An identity from a 32-byte scalar in secure memory.
    public init(secret: SecureBytes) throws {
        self.secret = secret
        self.recipient = AgeX25519Recipient(publicKey: try X25519.publicKey(of: secret))
    }

    public var description: String { "AgeX25519Identity(\(recipient.string), redacted)" }

    /// Parses one `AGE-SECRET-KEY-1…` string held in secure memory.
    public convenience init(encoded: UnsafeRawBufferPointer) throws {
        guard let d = Bech32.decode(encoded), d.hrp == "age-secret-key-", d.data.count == 32,
            encoded.allSatisfy({ !($0 >= 97 && $0 <= 122) })
        else {
            throw SealError(
                .keyMalformed, "not an age X25519 identity", remedy: "give an identity file from `sealgate keys generate recipient` or `age-keygen`")
        }
        try self.init(secret: d.data)
    }

    /// The `AGE-SECRET-KEY-1…` text, in secure memory.
    public func encoded() -> SecureBytes {
        // Bech32 over the secret, upper-cased; built in place.
        let text = secret.withUnsafeBytes { Bech32.encode(hrp: "age-secret-key-", data: $0) }
        var utf8 = Array(text.uppercased().utf8)
        defer { utf8.withUnsafeMutableBytes { secureZero($0) } }
        return utf8.withUnsafeBytes { SecureBytes(copying: $0) }
    }

    public func unwrap(stanzas: [AgeStanza]) throws -> SecureBytes? {
        for s in stanzas where s.type == "X25519" {
            guard s.arguments.count == 1 else { throw AgeHeader.malformed("X25519 stanza must have one argument") }
            guard let share = Base64.decode(s.arguments[0], padded: false), share.count == 32 else {
                throw AgeHeader.malformed("X25519 share must be 32 bytes of canonical base64")
            }
            guard s.body.count == 32 else { throw AgeHeader.malformed("X25519 stanza body must be 32 bytes") }
            let shared = try X25519.sharedSecret(secret: secret, peer: share)
            let wrapKey = try HKDFSHA256.derive(
                ikm: shared, salt: share + recipient.publicKey, info: Array("age-encryption.org/v1/X25519".utf8), length: 32)
            let aead = try ChaChaPoly(key: wrapKey)
            let fileKey = SecureBytes(count: 16)
            let ok = try fileKey.withUnsafeMutableBytes { fk in
                try [UInt8](repeating: 0, count: 12).withUnsafeBytes { nonce in
                    try s.body.withUnsafeBytes { try aead.open(nonce: nonce, ciphertext: $0, into: fk) }
                }
            }
            if ok { return fileKey }
        }
        return nil
    }
}

/// An identity file: one or more `AGE-SECRET-KEY-1…` lines, `#` comments and blank lines
/// (the `age-keygen` format), or such a file encrypted with a passphrase (age's scrypt recipient).
public enum AgeIdentityFile {
    /// Reads identities from a file (mode 0600 or stricter). `passphrase` is asked only when the
    /// file is passphrase-encrypted.
    public static func load(path: String, passphrase: () throws -> SecureBytes) throws -> [any AgeKeyIdentity] {
        let contents = try SecretFile.read(path: path)
        let isEncrypted = contents.withUnsafeBytes {
            $0.starts(with: Array("age-encryption.org/".utf8)) || $0.starts(with: Array("-----BEGIN AGE".utf8))
        }
        if isEncrypted {
            let pw = try passphrase()
            let plain = try contents.withUnsafeBytes { c -> SecureBytes in
                try Age.decryptSmallSecret(ciphertext: c, identities: [AgeScryptIdentity(passphrase: pw)])
            }
            return try parse(plain)
        }
        return try parse(contents)
    }

    /// Parses identity lines held in secure memory.
    public static func parse(_ contents: SecureBytes) throws -> [any AgeKeyIdentity] {
        var out = [any AgeKeyIdentity]()
        try contents.withUnsafeBytes { b in
            var start = 0
            while start < b.count {
                var end = start
                while end < b.count && b[end] != 0x0A { end += 1 }
                var lineEnd = end
                if lineEnd > start && b[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                let line = UnsafeRawBufferPointer(rebasing: b[start..<lineEnd])
                if !line.isEmpty && line[0] != UInt8(ascii: "#") {
                    out.append(try AgeKeys.identity(line))
                }
                start = end + 1
            }
        }
        guard !out.isEmpty else {
            throw SealError(
                .keyMalformed, "no identity found in the identity file",
                remedy: "give an identity file from `sealgate keys generate recipient` or `age-keygen`")
        }
        return out
    }

    /// The age-keygen style file text for `identity`, in secure memory.
    public static func fileContents(_ identity: any AgeKeyIdentity, created: String) -> SecureBytes {
        let head = Array("# created: \(created)\n# public key: \(identity.keyRecipient.string)\n".utf8)
        let enc = identity.encoded()
        let out = SecureBytes(count: head.count + enc.count + 1)
        out.withUnsafeMutableBytes { o in
            for (i, c) in head.enumerated() { o[i] = c }
            enc.withUnsafeBytes { e in for i in 0..<e.count { o[head.count + i] = e[i] } }
            o[o.count - 1] = 0x0A
        }
        return out
    }
}

/// Reads recipients: an `age1…` or `age1pq1…` string, or a file of them (one a line, `#` comments).
public enum AgeRecipientList {
    public static func parse(argument: String, fileExists: (String) -> Bool) throws -> [any AgeKeyRecipient] {
        if argument.hasPrefix("age1") && !fileExists(argument) {
            return [try AgeKeys.recipient(argument)]
        }
        let text = try readTextFile(argument)
        let recipients = try text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.trimmingASCIIWhitespace() }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            .map { try AgeKeys.recipient($0) }
        guard !recipients.isEmpty else {
            throw SealError(
                .ageRecipientMalformed, "no age1… recipient in \(argument)",
                remedy: "give a recipient file from `sealgate keys generate recipient`, or an age1… string")
        }
        return recipients
    }
}
