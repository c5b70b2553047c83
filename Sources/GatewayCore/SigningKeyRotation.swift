public import Foundation
public import GatewayStore
public import SealBase
public import SealCrypto
import SealPackage
import TransparencyLog

/// Rotation of the department's receipt, dataset and log keys (minisign): the same lifecycle as
/// the recipient's — pending (published, accepted by verifiers, not signing yet), active, then
/// verify-only: the rotated-out key signs nothing more, and signatures it made up to the end of
/// the grace stay valid for every verifier holding a newer trust document (`signing_keys`).
/// Its secret is destroyed at the switch (kept, encrypted as it was, in keys/archive/ with
/// --archive): a signing key's secret is never needed to check old signatures.
public enum SigningKeyRotation {
    static func nextKey(_ dir: DataDirectory, _ role: DataDirectory.KeyRole) -> String { "\(dir.keysPath)/\(role.rawValue)-next.key" }
    static func nextPub(_ dir: DataDirectory, _ role: DataDirectory.KeyRole) -> String { "\(dir.keysPath)/\(role.rawValue)-next.pub" }

    /// The store's role for a signing key; the recipient and the root are not rotated here.
    static func signingRole(_ role: DataDirectory.KeyRole) throws -> SigningKeyRole {
        guard let r = SigningKeyRole(rawValue: role.rawValue) else {
            throw SealError(.usage, "the \(role.rawValue) key is not a signing key", remedy: "rotate a receipt, dataset or log key")
        }
        return r
    }

    /// Whether the department's keys are passphrase-protected (a new key file is stored alike):
    /// the role's own file, or the root's when the role's key is on a token.
    static func encrypted(_ dir: DataDirectory, _ role: DataDirectory.KeyRole) -> Bool {
        struct Asked: Error {}
        let path = SigningKeyFile.namesToken(path: dir.key(role)) ? dir.key(.root) : dir.key(role)
        do {
            _ = try MinisignSecretKey.load(path: path, passphrase: { throw Asked() })
            return false
        } catch { return true }
    }

    /// A key on a token to rotate to: the signer (opened: its public key read from the token,
    /// the PIN taken) and the module it was reached through.
    public struct TokenKey: Sendable {
        public let signer: Pkcs11Signer
        public let modulePath: String
        public init(signer: Pkcs11Signer, modulePath: String) {
            self.signer = signer
            self.modulePath = modulePath
        }
    }

    /// Writes a new key as `<role>-next.key` — a new key file, or with `onToken` a file naming
    /// that key on a token; announced as pending (logged, published) when `announce`.
    public static func generate(
        _ dir: DataDirectory, store: any GatewayStore, role: DataDirectory.KeyRole, passphrase pass: @escaping () throws -> SecureBytes,
        pin: @escaping TokenPIN = DepartmentKeys.noPIN, onToken: TokenKey? = nil, announce: Bool, clock: any GatewayClock = .system
    ) async throws -> (key: MinisignPublicKey, trustVersion: UInt64?) {
        if FileManager.default.fileExists(atPath: nextKey(dir, role)) {
            throw SealError(
                .usage, "a new \(role.rawValue) key is already pending (\(nextKey(dir, role)))",
                remedy: "make the pending key active first")
        }
        let (department, _) = try dir.config()
        let publicKey: MinisignPublicKey
        if let onToken {
            publicKey = onToken.signer.publicKey
            // One key, one role: never a key the department signs with or has announced already
            // (under any role; read from the public files, no secret unlocked for it).
            for other in [DataDirectory.KeyRole.receipt, .dataset, .log] {
                for pub in [dir.pub(other), nextPub(dir, other)] where FileManager.default.fileExists(atPath: pub) {
                    guard publicKey.key != (try MinisignPublicKey(path: pub)).key else {
                        throw SealError(
                            .usage, "the token's key is the \(other.rawValue) key already", remedy: "make a key of its own for each role on the token"
                        )
                    }
                }
            }
            // It signs, and what it signs verifies with the key it shows, before it is published.
            try onToken.signer.check()
            let text = SigningKeyFile.tokenContents(uri: onToken.signer.uri, modulePath: onToken.modulePath, publicKey: publicKey)
            try SecretFile.write(path: nextKey(dir, role), contents: Array(text.utf8).withUnsafeBytes { SecureBytes(copying: $0) })
        } else {
            let k = MinisignSecretKey.generate()
            try SecretFile.write(
                path: nextKey(dir, role),
                contents: try k.fileContents(passphrase: encrypted(dir, role) ? try pass() : nil, opsLimit: 1 << 20, memLimit: 1 << 26))
            publicKey = k.publicKey
        }
        let pk = MinisignPublicKey(
            keyId: publicKey.keyId, key: publicKey.key, comment: "sealgate \(role.rawValue) key \(publicKey.keyIdHex) of \(department)")
        try SecretFile.writePublic(path: nextPub(dir, role), contents: pk.fileContents, force: true)
        guard announce else { return (pk, nil) }
        let at = clock.now
        try await store.putSigningKey(
            SigningKeyRecord(role: try signingRole(role), keyId: pk.keyIdHex, publicKey: pk.base64, state: .pending, until: nil, createdAt: at))
        _ = try await store.appendLog(
            kind: .keyRotated, body: JSON.object(["role": .string(role.rawValue), "pending": .string(pk.keyIdHex)]).canonical, at: at)
        let doc = try await TrustPublication.publish(dir, store: store, keys: try DepartmentKeys.load(dir, passphrase: pass, pin: pin), clock: clock)
        return (pk, doc.version)
    }

    /// Switches to `<role>-next.key`: the old key becomes verify-only until the grace ends; logged
    /// and published; for the log key, the checkpoint covering the switch is signed by both keys.
    ///
    /// Crash-safe in this order: (1) the store records the new states and the trust document
    /// naming the new key is published (signed with the keys in memory); (2) the old secret is
    /// linked into keys/archive/; (3) `<role>-next.pub` replaces `<role>.pub`; (4)
    /// `<role>-next.key` replaces `<role>.key` — each an atomic rename, the folder fsynced. A
    /// crash before (4) leaves the old key in place, verify-only and still valid: the gateway
    /// starts and signs with it, and `keys activate ROLE` finishes the switch. The archived
    /// secret is removed last, unless `archive`.
    public static func activate(
        _ dir: DataDirectory, store: any GatewayStore, role: DataDirectory.KeyRole, passphrase pass: @escaping () throws -> SecureBytes,
        pin: @escaping TokenPIN = DepartmentKeys.noPIN, grace: Duration, archive: Bool, logKind: LogKind, clock: any GatewayClock = .system
    ) async throws -> (old: String, new: String, until: Timestamp, trustVersion: UInt64, oldOnToken: Bool) {
        let fm = FileManager.default
        guard fm.fileExists(atPath: nextKey(dir, role)) else {
            throw SealError(.usage, "no pending \(role.rawValue) key", remedy: "announce a new \(role.rawValue) key as pending first")
        }
        let old = try DepartmentKeys.signer(dir, path: dir.key(role), passphrase: pass, pin: pin)
        let new = try DepartmentKeys.signer(dir, path: nextKey(dir, role), passphrase: pass, pin: pin)
        // A key on a token signs a test message before anything is switched (its PIN at hand,
        // its token present, its key the published one); the old one too for the log, whose
        // switch checkpoint both sign.
        try (new as? Pkcs11Signer)?.check()
        if role == .log { try (old as? Pkcs11Signer)?.check() }
        let at = clock.now
        let until = at.adding(grace)
        try await store.putSigningKey(
            SigningKeyRecord(
                role: try signingRole(role), keyId: old.publicKey.keyIdHex, publicKey: old.publicKey.base64, state: .verifyOnly, until: until,
                createdAt: at))
        try await store.putSigningKey(
            SigningKeyRecord(
                role: try signingRole(role), keyId: new.publicKey.keyIdHex, publicKey: new.publicKey.base64, state: .active, until: nil,
                createdAt: at))
        _ = try await store.appendLog(
            kind: logKind,
            body: JSON.object([
                "role": .string(role.rawValue), "active": .string(new.publicKey.keyIdHex), "previous": .string(old.publicKey.keyIdHex),
                "verify_only_until": .string(until.text), "archived": .bool(archive),
            ]).canonical, at: at)
        let doc = try await TrustPublication.publish(
            dir, store: store, keys: try DepartmentKeys.load(dir, passphrase: pass, pin: pin).replacing(role, with: new), clock: clock)
        try Failpoints.check("keys.activate.after-publish")
        let archived = "\(dir.keysPath)/archive/\(role.rawValue)-\(old.publicKey.keyIdHex).key"
        try fm.createDirectory(atPath: "\(dir.keysPath)/archive", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if !fm.fileExists(atPath: archived) {
            guard link(dir.key(role), archived) == 0 else { throw SealError.io("cannot archive \(dir.key(role))", errno: errno) }
            try syncFolder("\(dir.keysPath)/archive")
        }
        try Failpoints.check("keys.activate.after-archive")
        if fm.fileExists(atPath: nextPub(dir, role)) { try renameDurably(nextPub(dir, role), dir.pub(role)) }  // else done before an interruption
        try Failpoints.check("keys.activate.after-pub")
        try renameDurably(nextKey(dir, role), dir.key(role))
        try Failpoints.check("keys.activate.after-key")
        do {
            if role == .log {
                let (department, _) = try dir.config()
                let log = await GatewayLog(store: store, key: new, department: department)
                log.head = LogHead(path: dir.logHeadPath)
                try await log.load()  // refuses a store behind what this gateway signed, as `serve` does
                _ = try await log.checkpoint(cosigners: [old])
            }
        } catch {
            // The switch stands (the next checkpoint is signed by the new key alone); the old
            // secret is not left behind in the archive for it.
            if !archive { try? fm.removeItem(atPath: archived) }
            throw error
        }
        if !archive { try fm.removeItem(atPath: archived) }
        return (old.publicKey.keyIdHex, new.publicKey.keyIdHex, until, doc.version, old is Pkcs11Signer)
    }
}

extension Timestamp {
    /// The moment as Foundation's `Date` (for the code that still computes with one).
    var date: Date { Date(timeIntervalSince1970: TimeInterval(unixSeconds)) }
}
