internal import Crypto
import Foundation
import SealBase

/// The age post-quantum hybrid recipient type `mlkem768x25519` (age ≥ 1.3, c2sp.org/age): the
/// file key sealed with HPKE base mode (RFC 9180) over the X-Wing KEM (ML-KEM-768 with X25519,
/// KEM id 0x647a), HKDF-SHA256 and ChaCha20-Poly1305, `info` "age-encryption.org/mlkem768x25519",
/// no associated data. The stanza's one argument after its type is the base64 encapsulated key
/// (1,120 bytes: the ML-KEM ciphertext and the X25519 share), its body the sealed file key
/// (32 bytes). The KEM and HPKE come from swift-crypto (BoringSSL's ML-KEM); nothing here is
/// lattice code.
///
/// A file sealed to this type is safe from a future quantum computer only if no stanza of a
/// classical type sits beside it: `AgeRecipients.checkMixing` refuses such a set when sealing.
public enum AgeHybrid {
    public static let stanzaType = "mlkem768x25519"
    static let info = Data("age-encryption.org/mlkem768x25519".utf8)
    static let suite = HPKE.Ciphersuite(kem: .XWingMLKEM768X25519, kdf: .HKDF_SHA256, aead: .chaChaPoly)
    /// The X-Wing public key: the ML-KEM-768 encapsulation key and the X25519 public key.
    public static let publicKeyBytes = 1216
    /// The encapsulated key: the ML-KEM-768 ciphertext and the X25519 share.
    static let encapsulatedBytes = 1120
    static let recipientHRP = "age1pq"
    static let identityHRP = "age-secret-key-pq-"
}

/// An age hybrid recipient (`age1pq1…`).
public struct AgeHybridRecipient: AgeKeyRecipient, Hashable {
    public let publicKey: [UInt8]

    /// Parses `age1pq1…`. Throws `age_recipient_malformed`.
    public init(string: some StringProtocol) throws {
        let text = Array(string.trimmingASCIIWhitespace().utf8)
        let decoded = text.count < 4096 ? text.withUnsafeBytes { Bech32.decode($0) } : nil
        guard let decoded, decoded.hrp == AgeHybrid.recipientHRP, decoded.data.count == AgeHybrid.publicKeyBytes,
            text.first == UInt8(ascii: "a")
        else {
            throw SealError(
                .ageRecipientMalformed, "not an age post-quantum recipient: \(String(string.prefix(80)))",
                remedy: "give a post-quantum recipient (age1pq1…), or a file holding one, as its key pair's maker wrote it")
        }
        let key = decoded.data.withUnsafeBytes { Array($0) }
        // The key must be one the KEM takes (its ML-KEM part checked by BoringSSL).
        guard (try? XWingMLKEM768X25519.PublicKey(rawRepresentation: key)) != nil else {
            throw SealError(
                .ageRecipientMalformed, "the age1pq1… recipient is not a valid ML-KEM-768/X25519 public key",
                remedy: "copy the recipient again from its source, whole")
        }
        self.publicKey = key
    }

    init(publicKey: [UInt8]) { self.publicKey = publicKey }

    /// The `age1pq1…` string (1,959 characters: Bech32 without its 90-character limit).
    public var string: String { publicKey.withUnsafeBytes { Bech32.encode(hrp: AgeHybrid.recipientHRP, data: $0) } }

    /// First 16 hex digits of SHA-256 of the `age1pq1…` string, as for an X25519 recipient.
    public var fingerprint: String { AgeX25519Recipient.fingerprint(of: string) }

    public func wrap(fileKey: SecureBytes) throws -> AgeStanza {
        do {
            let key = try XWingMLKEM768X25519.PublicKey(rawRepresentation: publicKey)
            var sender = try HPKE.Sender(recipientKey: key, ciphersuite: AgeHybrid.suite, info: AgeHybrid.info)
            let sealed = try fileKey.withUnsafeBytes { try sender.seal($0) }
            return AgeStanza(
                type: AgeHybrid.stanzaType, arguments: [Base64.encode(Array(sender.encapsulatedKey), padded: false)], body: Array(sealed))
        } catch let e as SealError {
            throw e
        } catch {
            throw SealError(.cryptoFailure, "the post-quantum key encapsulation failed", remedy: "report this as a bug")
        }
    }
}

/// An age hybrid identity (`AGE-SECRET-KEY-PQ-1…`): the 32-byte X-Wing seed, in secure memory
/// (the expanded private key is held by swift-crypto, which wipes it).
/// `@unchecked Sendable`: immutable once made.
public final class AgeHybridIdentity: AgeKeyIdentity, @unchecked Sendable, CustomStringConvertible {
    let seed: SecureBytes
    private let privateKey: XWingMLKEM768X25519.PrivateKey
    public let recipient: AgeHybridRecipient
    public var keyRecipient: any AgeKeyRecipient { recipient }

    /// A new random identity.
    public static func generate() throws -> AgeHybridIdentity { try AgeHybridIdentity(seed: SecureBytes(random: 32)) }

    /// An identity from its 32-byte seed.
    public init(seed: SecureBytes) throws {
        guard seed.count == 32 else { throw SealError(.keyMalformed, "a post-quantum identity's seed is 32 bytes", remedy: "report this as a bug") }
        self.seed = seed
        do {
            privateKey = try seed.withUnsafeBytes { try XWingMLKEM768X25519.PrivateKey(seedRepresentation: $0, publicKey: nil) }
        } catch {
            throw SealError(
                .keyMalformed, "not a post-quantum identity seed",
                remedy: "give a post-quantum identity file (AGE-SECRET-KEY-PQ-1…) as its maker wrote it")
        }
        recipient = AgeHybridRecipient(publicKey: Array(privateKey.publicKey.rawRepresentation))
    }

    public var description: String { "AgeHybridIdentity(\(recipient.fingerprint), redacted)" }

    /// Parses one `AGE-SECRET-KEY-PQ-1…` string held in secure memory.
    public convenience init(encoded: UnsafeRawBufferPointer) throws {
        guard let d = Bech32.decode(encoded), d.hrp == AgeHybrid.identityHRP, d.data.count == 32,
            encoded.allSatisfy({ !($0 >= 97 && $0 <= 122) })
        else {
            throw SealError(
                .keyMalformed, "not an age post-quantum identity",
                remedy: "give a post-quantum identity file (AGE-SECRET-KEY-PQ-1…) as its maker wrote it")
        }
        try self.init(seed: d.data)
    }

    /// The `AGE-SECRET-KEY-PQ-1…` text, in secure memory.
    public func encoded() -> SecureBytes {
        let text = seed.withUnsafeBytes { Bech32.encode(hrp: AgeHybrid.identityHRP, data: $0) }
        var utf8 = Array(text.uppercased().utf8)
        defer { utf8.withUnsafeMutableBytes { secureZero($0) } }
        return utf8.withUnsafeBytes { SecureBytes(copying: $0) }
    }

    /// The file key from a `mlkem768x25519` stanza addressed to this identity. A stanza of the
    /// wrong shape — other arguments, an encapsulated key that is not canonical base64 of
    /// 1,120 bytes, a body that is not 32 bytes (a 16-byte file key and its tag), an X25519 share
    /// of low order — is a malformed header; one that does not open is not addressed to it.
    public func unwrap(stanzas: [AgeStanza]) throws -> SecureBytes? {
        for s in stanzas where s.type == AgeHybrid.stanzaType {
            guard s.arguments.count == 1 else { throw AgeHeader.malformed("mlkem768x25519 stanza must have one argument") }
            guard let enc = Base64.decode(s.arguments[0], padded: false), enc.count == AgeHybrid.encapsulatedBytes else {
                throw AgeHeader.malformed("mlkem768x25519 encapsulated key must be 1120 bytes of canonical base64")
            }
            guard s.body.count == 32 else { throw AgeHeader.malformed("mlkem768x25519 stanza body must be 32 bytes") }
            // The X25519 share must not be of low order (its shared secret would be all zero);
            // any scalar shows it (a clamped scalar kills the small-order component).
            _ = try X25519.sharedSecret(secret: SecureBytes(random: 32), peer: Array(enc.suffix(32)))
            guard
                var recipient = try? HPKE.Recipient(
                    privateKey: privateKey, ciphersuite: AgeHybrid.suite, info: AgeHybrid.info, encapsulatedKey: Data(enc))
            else { continue }
            guard var opened = try? recipient.open(s.body) else { continue }
            defer { opened.withUnsafeMutableBytes { secureZero($0) } }
            guard opened.count == 16 else { throw AgeHeader.malformed("file key is not 16 bytes") }
            return opened.withUnsafeBytes { SecureBytes(copying: $0) }
        }
        return nil
    }
}

/// Which recipients may share a package: age's rule that a post-quantum recipient is not mixed
/// with a classical one (the file would be only as safe as its weakest stanza: one recorded
/// today and opened with a quantum computer later through the X25519 stanza).
public enum AgeRecipients {
    /// Throws `age_recipient_mixed` when `recipients` hold both hybrid and classical ones.
    public static func checkMixing(_ recipients: [any AgeRecipient]) throws {
        let hybrid = recipients.filter { $0 is AgeHybridRecipient }.count
        guard hybrid == 0 || hybrid == recipients.count else {
            throw SealError(
                .ageRecipientsMixed,
                "\(hybrid) post-quantum (age1pq1…) and \(recipients.count - hybrid) classical (age1…) recipients: a package sealed to both is only as safe as the classical one",
                remedy: "seal to post-quantum recipients only, or to classical ones only (the department's trust document says which are active)")
        }
    }
}
