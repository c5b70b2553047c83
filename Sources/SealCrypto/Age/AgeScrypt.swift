internal import CSodium
import SealBase

/// age's scrypt (passphrase) recipient. sealgate uses it only to protect identity files on
/// disk, so that `age -d -i dept.key` still works with a passphrase-protected identity;
/// packages are never sealed to a passphrase, and a package payload with an scrypt stanza is
/// refused with `age_unsupported_recipient`.
public struct AgeScryptRecipient: AgeRecipient {
    let passphrase: SecureBytes
    let workFactor: Int

    public init(passphrase: SecureBytes, workFactor: Int = 18) {
        self.passphrase = passphrase
        self.workFactor = workFactor
    }

    public func wrap(fileKey: SecureBytes) throws -> AgeStanza {
        let salt = SecureRandom.bytes(16)
        let key = try AgeScryptIdentity.deriveKey(passphrase: passphrase, salt: salt, workFactor: workFactor)
        var body = [UInt8](repeating: 0, count: 32)
        let aead = try ChaChaPoly(key: key)
        try fileKey.withUnsafeBytes { fk in
            try [UInt8](repeating: 0, count: 12).withUnsafeBytes { n in
                try body.withUnsafeMutableBytes { try aead.seal(nonce: n, plaintext: fk, into: $0) }
            }
        }
        return AgeStanza(type: "scrypt", arguments: [Base64.encode(salt, padded: false), String(workFactor)], body: body)
    }
}

/// The decrypting side of `AgeScryptRecipient`.
public struct AgeScryptIdentity: AgeIdentity {
    let passphrase: SecureBytes
    /// Highest work factor accepted (2^22 × 1 KiB = 4 GiB would be too much for a key file).
    public static let maxWorkFactor = 22

    public init(passphrase: SecureBytes) { self.passphrase = passphrase }

    static func deriveKey(passphrase: SecureBytes, salt: [UInt8], workFactor: Int) throws -> SecureBytes {
        Sodium.ensureInitialized()
        let fullSalt = Array("age-encryption.org/v1/scrypt".utf8) + salt
        let out = SecureBytes(count: 32)
        let rc = out.withUnsafeMutableBytes { o in
            passphrase.withUnsafeBytes { p in
                var z: UInt8 = 0
                let pp = p.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? withUnsafeMutablePointer(to: &z) { UnsafePointer($0) }
                return crypto_pwhash_scryptsalsa208sha256_ll(
                    pp, p.count, fullSalt, fullSalt.count, UInt64(1) << UInt64(workFactor), 8, 1,
                    o.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
            }
        }
        guard rc == 0 else { throw SealError(.cryptoFailure, "scrypt failed (out of memory?)", remedy: "free memory and try again") }
        return out
    }

    public func unwrap(stanzas: [AgeStanza]) throws -> SecureBytes? {
        for s in stanzas where s.type == "scrypt" {
            guard s.arguments.count == 2 else { throw AgeHeader.malformed("scrypt stanza must have two arguments") }
            guard let salt = Base64.decode(s.arguments[0], padded: false), salt.count == 16 else {
                throw AgeHeader.malformed("scrypt salt must be 16 bytes")
            }
            let wf = s.arguments[1]
            guard wf.allSatisfy({ $0 >= "0" && $0 <= "9" }), !wf.hasPrefix("0"), let w = Int(wf), w >= 1, w <= Self.maxWorkFactor else {
                throw AgeHeader.malformed("scrypt work factor must be a decimal from 1 to \(Self.maxWorkFactor)")
            }
            guard s.body.count == 32 else { throw AgeHeader.malformed("scrypt stanza body must be 32 bytes") }
            let key = try Self.deriveKey(passphrase: passphrase, salt: salt, workFactor: w)
            let aead = try ChaChaPoly(key: key)
            let fileKey = SecureBytes(count: 16)
            let ok = try fileKey.withUnsafeMutableBytes { fk in
                try [UInt8](repeating: 0, count: 12).withUnsafeBytes { n in
                    try s.body.withUnsafeBytes { try aead.open(nonce: n, ciphertext: $0, into: fk) }
                }
            }
            if ok { return fileKey }
            throw SealError(
                .keyWrongPassphrase, "wrong passphrase for this identity file",
                remedy: "give the passphrase again, and check where it comes from (a file, the environment or the prompt)")
        }
        return nil
    }
}
