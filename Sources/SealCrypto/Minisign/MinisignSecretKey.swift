internal import CSodium
import SealBase

/// A minisign secret key: Ed25519, stored scrypt-encrypted (`Sc`) or unencrypted, with a
/// BLAKE2b-256 checksum (`B2`). The secret half lives in `SecureBytes` only.
/// `@unchecked Sendable`: immutable once made (the secure bytes are only read).
public final class MinisignSecretKey: MinisignSigner, @unchecked Sendable, CustomStringConvertible {
    public let keyId: [UInt8]
    let secretKey: SecureBytes  // 64 bytes: seed ‖ public key
    public let publicKey: MinisignPublicKey

    private static let structSize = 158
    private static let keynumOffset = 54
    private static let keynumSize = 104  // key id 8 ‖ sk 64 ‖ checksum 32

    /// A new random key.
    public static func generate() -> MinisignSecretKey {
        let (pk, sk) = Ed25519.generate()
        let id = SecureRandom.bytes(8)
        return MinisignSecretKey(keyId: id, secretKey: sk, publicKey: pk)
    }

    private init(keyId: [UInt8], secretKey: SecureBytes, publicKey: [UInt8]) {
        self.keyId = keyId
        self.secretKey = secretKey
        self.publicKey = MinisignPublicKey(keyId: keyId, key: publicKey)
    }

    public var description: String { "MinisignSecretKey(\(Minisign.keyIdHex(keyId)), redacted)" }

    private static func checksum(_ keynum: UnsafeRawBufferPointer) -> [UInt8] {
        // BLAKE2b-256(sig_alg ‖ key id ‖ sk)
        let h = BLAKE2bHasher(outputLength: 32)
        h.update(Array("Ed".utf8))
        h.update(UnsafeRawBufferPointer(rebasing: keynum[0..<72]))
        return h.finalize()
    }

    private static func scryptStream(passphrase: SecureBytes, salt: UnsafeRawBufferPointer, ops: UInt64, mem: UInt64) throws -> SecureBytes {
        Sodium.ensureInitialized()
        // Refuse absurd costs from a hostile file before allocating.
        guard ops <= 1 << 34, mem <= 1 << 33 else {
            throw SealError(
                .keyMalformed, "secret key asks for an unreasonable scrypt cost", remedy: "the key file is damaged or hostile; use another key")
        }
        let stream = SecureBytes(count: keynumSize)
        let rc = stream.withUnsafeMutableBytes { out in
            passphrase.withUnsafeBytes { pw in
                let empty: StaticString = ""
                let pwp =
                    pw.baseAddress?.assumingMemoryBound(to: CChar.self)
                    ?? UnsafeRawPointer(empty.utf8Start).assumingMemoryBound(to: CChar.self)
                return crypto_pwhash_scryptsalsa208sha256(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(out.count),
                    pwp, UInt64(pw.count),
                    salt.baseAddress!.assumingMemoryBound(to: UInt8.self), ops, Int(mem))
            }
        }
        guard rc == 0 else { throw SealError(.cryptoFailure, "scrypt failed (out of memory?)", remedy: "free memory and try again") }
        return stream
    }

    /// Parses a secret key file held in secure memory. `passphrase` is asked only when the key is
    /// encrypted. Throws `key_wrong_passphrase` when the checksum does not match after decryption.
    public static func parse(fileContents: SecureBytes, passphrase: () throws -> SecureBytes) throws -> MinisignSecretKey {
        let bad = SealError(
            .keyMalformed, "not a minisign secret key file", remedy: "give the .key file written by `sealgate keys generate signing` or `minisign -G`"
        )
        // Find the second line: the base64 of the key struct.
        let line: SecureBytes = try fileContents.withUnsafeBytes { b in
            guard let nl = b.firstIndex(of: 0x0A) else { throw bad }
            let prefix = Array(Minisign.untrustedPrefix.utf8)
            guard nl >= prefix.count, Array(b[0..<prefix.count]) == prefix else { throw bad }
            var s = nl + 1
            var e = s
            while e < b.count, b[e] != 0x0A, b[e] != 0x0D { e += 1 }
            while s < e, b[s] == 0x20 { s += 1 }
            return SecureBytes(copying: UnsafeRawBufferPointer(rebasing: b[s..<e]))
        }
        guard let raw = line.withUnsafeBytes({ Base64.decodeSecret($0, padded: true) }), raw.count == structSize else { throw bad }
        let header: [UInt8] = raw.withUnsafeBytes { Array($0[0..<keynumOffset]) }
        guard header[0] == 0x45, header[1] == 0x64 else {  // "Ed"
            throw SealError(.keyUnsupported, "unsupported secret key algorithm", remedy: "use an Ed25519 minisign key")
        }
        guard header[4] == 0x42, header[5] == 0x32 else {  // "B2"
            throw SealError(.keyUnsupported, "unsupported secret key checksum algorithm", remedy: "use a key written by minisign 0.8 or later")
        }
        let encrypted: Bool
        if header[2] == 0x53 && header[3] == 0x63 {
            encrypted = true
        }  // "Sc"
        else if header[2] == 0 && header[3] == 0 {
            encrypted = false
        } else {
            throw SealError(.keyUnsupported, "unsupported secret key encryption", remedy: "use a key written by minisign or sealgate")
        }

        let keynum = raw.slice(keynumOffset..<structSize)
        if encrypted {
            let salt = Array(header[6..<38])
            let ops = header[38..<46].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            let mem = header[46..<54].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            let pw = try passphrase()
            let stream = try salt.withUnsafeBytes { try scryptStream(passphrase: pw, salt: $0, ops: ops, mem: mem) }
            keynum.withUnsafeMutableBytes { k in stream.withUnsafeBytes { s in for i in 0..<k.count { k[i] ^= s[i] } } }
        }
        let ok: Bool = keynum.withUnsafeBytes { k in
            let stored = UnsafeRawBufferPointer(rebasing: k[72..<104])
            let sum = checksum(k)
            // minisign 0.11 writes an all-zero checksum for unencrypted (-W) keys: accepted only there.
            if !encrypted && stored.allSatisfy({ $0 == 0 }) { return true }
            return sum.withUnsafeBytes { constantTimeEqual($0, stored) }
        }
        guard ok else {
            if encrypted {
                throw SealError(
                    .keyWrongPassphrase, "wrong passphrase for this secret key (checksum mismatch)",
                    remedy: "give the passphrase again, and check where it comes from (a file, the environment or the prompt)")
            }
            throw SealError(.keyMalformed, "secret key checksum mismatch", remedy: "the key file is damaged; restore it from backup")
        }
        let keyId: [UInt8] = keynum.withUnsafeBytes { Array($0[0..<8]) }
        let sk = keynum.slice(8..<72)
        let pk = Ed25519.publicKey(of: sk)
        return MinisignSecretKey(keyId: keyId, secretKey: sk, publicKey: pk)
    }

    /// Reads and parses a secret key file (mode must be 0600 or stricter).
    public static func load(path: String, passphrase: () throws -> SecureBytes) throws -> MinisignSecretKey {
        try parse(fileContents: try SecretFile.read(path: path), passphrase: passphrase)
    }

    /// The file contents, encrypted with `passphrase` (minisign's default scrypt cost unless
    /// given), or unencrypted when `passphrase` is nil.
    public func fileContents(passphrase: SecureBytes?, opsLimit: UInt64 = Minisign.defaultOpsLimit, memLimit: UInt64 = Minisign.defaultMemLimit)
        throws -> SecureBytes
    {
        let raw = SecureBytes(count: Self.structSize)
        var salt = [UInt8](repeating: 0, count: 32)
        if passphrase != nil { salt = SecureRandom.bytes(32) }
        raw.withUnsafeMutableBytes { r in
            r[0] = 0x45
            r[1] = 0x64  // Ed
            if passphrase != nil {
                r[2] = 0x53
                r[3] = 0x63
            }  // Sc
            r[4] = 0x42
            r[5] = 0x32  // B2
            for i in 0..<32 { r[6 + i] = salt[i] }
            if passphrase != nil {
                for i in 0..<8 {
                    r[38 + i] = UInt8(opsLimit >> (8 * UInt64(i)) & 0xff)
                    r[46 + i] = UInt8(memLimit >> (8 * UInt64(i)) & 0xff)
                }
            }
            let base = Self.keynumOffset
            for i in 0..<8 { r[base + i] = keyId[i] }
            secretKey.withUnsafeBytes { sk in for i in 0..<64 { r[base + 8 + i] = sk[i] } }
            let sum = Self.checksum(UnsafeRawBufferPointer(rebasing: r[base..<(base + Self.keynumSize)]))
            for i in 0..<32 { r[base + 72 + i] = sum[i] }
        }
        if let passphrase {
            let stream = try salt.withUnsafeBytes { try Self.scryptStream(passphrase: passphrase, salt: $0, ops: opsLimit, mem: memLimit) }
            raw.withUnsafeMutableBytes { r in stream.withUnsafeBytes { s in for i in 0..<Self.keynumSize { r[Self.keynumOffset + i] ^= s[i] } } }
        }
        let comment =
            passphrase == nil ? "minisign secret key (unencrypted) \(publicKey.keyIdHex)" : "minisign encrypted secret key \(publicKey.keyIdHex)"
        // Base64 straight into secure memory.
        let b64 = raw.withUnsafeBytes { r in SecureBase64.encode(r) }
        let prefix = Array("untrusted comment: \(comment)\n".utf8)
        let out = SecureBytes(count: prefix.count + b64.count + 1)
        out.withUnsafeMutableBytes { o in
            for (i, c) in prefix.enumerated() { o[i] = c }
            b64.withUnsafeBytes { b in for i in 0..<b.count { o[prefix.count + i] = b[i] } }
            o[o.count - 1] = 0x0A
        }
        return out
    }

    /// Signs: Ed25519 over `message` (the BLAKE2b-512 prehash for `ED`, the raw bytes for `Ed`).
    public func signRaw(_ message: UnsafeRawBufferPointer) throws -> [UInt8] {
        try Ed25519.sign(message, secretKey: secretKey)
    }
}

/// Base64 into secure memory (for encoding secret key files).
enum SecureBase64 {
    static func encode(_ bytes: UnsafeRawBufferPointer) -> SecureBytes {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let out = SecureBytes(count: (bytes.count + 2) / 3 * 4)
        out.withUnsafeMutableBytes { o in
            var i = 0
            var j = 0
            while i < bytes.count {
                let b0 = UInt32(bytes[i])
                let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
                let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
                let n = b0 << 16 | b1 << 8 | b2
                o[j] = alphabet[Int(n >> 18 & 63)]
                o[j + 1] = alphabet[Int(n >> 12 & 63)]
                o[j + 2] = i + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "=")
                o[j + 3] = i + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "=")
                i += 3
                j += 4
            }
        }
        return out
    }
}
