public import Foundation
public import GatewayStore
public import SealBase
public import SealCrypto
import SealPackage

/// The department's key lifecycle, as operations on a data folder and its store: the
/// recipient's rotation (pending → active → decrypt-only → retired), the trust root's rotation,
/// and the switch of the signing keys (`SigningKeyRotation`). Each step is logged and publishes a
/// new trust document version computed from the store (`TrustPublication`); files are switched
/// after the store, each by an atomic rename, so a crash at any step leaves a gateway that starts
/// and the same command finishes the step. The command line only parses and prints.
public enum DepartmentKeyLifecycle {
    public typealias PassphraseSource = () throws -> SecureBytes

    // MARK: - Recipient

    /// What activating a recipient did.
    public struct RecipientActivation: Sendable {
        public let active: String
        public let decryptOnlyUntil: Timestamp
        public let trustVersion: UInt64
    }

    /// What rotating the recipient did: a new key announced (pending), or already active.
    public enum RecipientRotation: Sendable {
        case pending(fingerprint: String, trustVersion: UInt64)
        case active(RecipientActivation)
    }

    /// Makes `next` the active recipient: every other active or pending one becomes decrypt-only
    /// for the grace; logged as `logKind`, a new trust version published, recipient.pub rewritten.
    public static func activateRecipient(
        _ next: RecipientRecord, dir: DataDirectory, store: any GatewayStore, passphrase: @escaping PassphraseSource,
        grace: Duration, logKind: LogKind, clock: any GatewayClock = .system
    ) async throws -> RecipientActivation {
        try await checkDatasetRecipients(department: AgeKeys.isPostQuantum(next.recipient), store: store)
        let at = clock.now
        let until = at.adding(grace)
        for r in try await store.recipients() where (r.state == .active || r.state == .pending) && r.fingerprint != next.fingerprint {
            try await store.setRecipientState(fingerprint: r.fingerprint, state: .decryptOnly, decryptUntil: until)
        }
        try await store.setRecipientState(fingerprint: next.fingerprint, state: .active, decryptUntil: nil)
        _ = try await store.appendLog(
            kind: logKind,
            body: JSON.object([
                "role": .string("recipient"), "active": .string(next.fingerprint),
                "decrypt_only_until": .string(until.text),
            ]).canonical, at: at)
        let doc = try await TrustPublication.publish(
            dir, store: store, keys: try DepartmentKeys.load(dir, passphrase: passphrase), clock: clock)
        try SecretFile.writePublic(
            path: dir.pub(.recipient), contents: "# department recipient, fingerprint \(next.fingerprint)\n\(next.recipient)\n", force: true)
        return RecipientActivation(active: next.fingerprint, decryptOnlyUntil: until, trustVersion: doc.version)
    }

    /// Activates the newest pending recipient. Throws `usage` when there is none.
    public static func activatePendingRecipient(
        dir: DataDirectory, store: any GatewayStore, passphrase: @escaping PassphraseSource,
        grace: Duration, clock: any GatewayClock = .system
    ) async throws -> RecipientActivation {
        guard let next = try await store.recipients().last(where: { $0.state == .pending }) else {
            throw SealError(.usage, "no pending recipient", remedy: "announce a new recipient as pending first")
        }
        return try await activateRecipient(
            next, dir: dir, store: store, passphrase: passphrase, grace: grace, logKind: .keyActivated, clock: clock)
    }

    /// A dataset is sealed to the handbook system's recipients and the department's active one:
    /// both must be post-quantum or both classical (age does not mix them). Throws
    /// `age_recipients_mixed` when a department recipient of this type would not go with the
    /// handbook connection's.
    public static func checkDatasetRecipients(department postQuantum: Bool, store: any GatewayStore) async throws {
        guard let handbook = try await HandbookEndpoint.load(store), !handbook.recipients.isEmpty else { return }
        let handbookPQ = handbook.recipients.allSatisfy { $0 is AgeHybridRecipient }
        guard handbookPQ == postQuantum else {
            throw SealError(
                .ageRecipientsMixed,
                "datasets are sealed to the handbook system's \(handbookPQ ? "post-quantum" : "classical") recipient and the department's active one, which would be \(postQuantum ? "post-quantum" : "classical"): age does not mix the two",
                remedy: postQuantum
                    ? "give the handbook system a post-quantum recipient first (its keys made post-quantum, and connected again), then rotate"
                    : "connect the handbook system with a classical recipient, or keep the department's recipient post-quantum")
        }
    }

    /// The recipients a handbook connection would get: of one type, and of a type the department
    /// has a recipient of (active, or announced while it moves to that type). Throws
    /// `age_recipients_mixed`.
    public static func checkHandbookRecipients(_ recipients: [any AgeKeyRecipient], store: any GatewayStore) async throws {
        let handbookPQ = recipients.contains { $0 is AgeHybridRecipient }
        if recipients.contains(where: { ($0 is AgeHybridRecipient) != handbookPQ }) {
            throw SealError(
                .ageRecipientsMixed, "post-quantum and classical recipients given for the handbook system",
                remedy: "give the handbook system's recipients of one type")
        }
        let department = try await store.recipients().filter { $0.state == .active || $0.state == .pending }
        if !department.isEmpty, !department.contains(where: { AgeKeys.isPostQuantum($0.recipient) == handbookPQ }) {
            throw SealError(
                .ageRecipientsMixed,
                "the handbook system's recipient is \(handbookPQ ? "post-quantum" : "classical") and the department has none of that type: datasets are sealed to both, and age does not mix the two",
                remedy: handbookPQ
                    ? "announce a post-quantum department recipient first (a pending one), then connect"
                    : "connect with a classical (age1…) recipient")
        }
    }

    /// A new recipient key, stored as the others are (passphrase-protected or not): announced as
    /// pending when `pending`, else active at once (the previous one decrypt-only for the grace).
    /// `postQuantum`: a hybrid ML-KEM-768/X25519 key (age1pq1…) instead of an X25519 one; units then
    /// seal to it alone (age does not mix the two types), once the old one is no longer active.
    public static func rotateRecipient(
        dir: DataDirectory, store: any GatewayStore, keys: DepartmentKeys, passphrase: @escaping PassphraseSource,
        pending: Bool, grace: Duration, postQuantum: Bool = false, clock: any GatewayClock = .system
    ) async throws -> RecipientRotation {
        if !pending { try await checkDatasetRecipients(department: postQuantum, store: store) }
        let fm = FileManager.default
        let first = dir.key(.recipient)
        let encrypted =
            (fm.contents(atPath: first) ?? fm.contents(atPath: dir.keysPath + "/recipient-\(keys.recipients[0].keyRecipient.fingerprint).key")
            ?? Data())
            .starts(with: Array("-----BEGIN AGE".utf8))
        // Every recipient file is named by its fingerprint from now on.
        if fm.fileExists(atPath: first) {
            let ids = try AgeIdentityFile.load(path: first, passphrase: passphrase)
            try fm.moveItem(atPath: first, toPath: "\(dir.keysPath)/recipient-\(ids[0].keyRecipient.fingerprint).key")
        }
        let created = clock.now
        if try await store.recipients().isEmpty {  // a data folder from before recipient states
            for id in keys.recipients {
                try await store.addRecipient(
                    RecipientRecord(
                        fingerprint: id.keyRecipient.fingerprint, recipient: id.keyRecipient.string, state: .active,
                        decryptUntil: nil, createdAt: created))
            }
        }
        let identity: any AgeKeyIdentity = postQuantum ? try AgeHybridIdentity.generate() : try AgeX25519Identity.generate()
        let file = AgeIdentityFile.fileContents(identity, created: created.text)
        let path = "\(dir.keysPath)/recipient-\(identity.keyRecipient.fingerprint).key"
        if encrypted {
            let armored = try Age.encryptSmallSecret(file, to: [AgeScryptRecipient(passphrase: try passphrase())])
            try SecretFile.write(path: path, contents: armored.withUnsafeBytes { SecureBytes(copying: $0) })
        } else {
            try SecretFile.write(path: path, contents: file)
        }
        let next = RecipientRecord(
            fingerprint: identity.keyRecipient.fingerprint, recipient: identity.keyRecipient.string, state: .pending,
            decryptUntil: nil, createdAt: created)
        try await store.addRecipient(next)
        if pending {
            _ = try await store.appendLog(
                kind: .keyRotated,
                body: JSON.object([
                    "role": .string("recipient"),
                    "pending": .string(identity.keyRecipient.fingerprint),
                ]).canonical, at: created)
            let doc = try await TrustPublication.publish(
                dir, store: store, keys: try DepartmentKeys.load(dir, passphrase: passphrase), clock: clock)
            return .pending(fingerprint: identity.keyRecipient.fingerprint, trustVersion: doc.version)
        }
        return await .active(
            try activateRecipient(
                next, dir: dir, store: store, passphrase: passphrase, grace: grace, logKind: .keyRotated, clock: clock))
    }

    /// What retiring did: the recipients retired, and the trust version published (nil when none was due).
    public struct Retirement: Sendable {
        public let retired: [String]
        public let trustVersion: UInt64?
    }

    /// Retires the decrypt-only recipients whose grace has ended: their secret is destroyed
    /// (moved to keys/archive/ when `archive`), packages sealed to them are refused from now on.
    public static func retireRecipients(
        dir: DataDirectory, store: any GatewayStore, archive: Bool,
        passphrase: @escaping PassphraseSource, clock: any GatewayClock = .system
    ) async throws -> Retirement {
        let now = clock.now
        let fm = FileManager.default
        let due = try await store.recipients().filter { r in r.state == .decryptOnly && (r.decryptUntil.map { $0 <= now } ?? true) }
        guard !due.isEmpty else { return Retirement(retired: [], trustVersion: nil) }
        for r in due {
            let path = "\(dir.keysPath)/recipient-\(r.fingerprint).key"
            if fm.fileExists(atPath: path) {
                if archive {
                    try fm.createDirectory(
                        atPath: "\(dir.keysPath)/archive", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                    try fm.moveItem(atPath: path, toPath: "\(dir.keysPath)/archive/recipient-\(r.fingerprint).key")
                } else {
                    try fm.removeItem(atPath: path)
                }
            }
            try await store.setRecipientState(fingerprint: r.fingerprint, state: .retired, decryptUntil: r.decryptUntil)
            _ = try await store.appendLog(
                kind: .keyRetired,
                body: JSON.object([
                    "role": .string("recipient"), "fingerprint": .string(r.fingerprint),
                    "archived": .bool(archive),
                ]).canonical, at: now)
        }
        let doc = try await TrustPublication.publish(
            dir, store: store, keys: try DepartmentKeys.load(dir, passphrase: passphrase), clock: clock)
        return Retirement(retired: due.map(\.fingerprint), trustVersion: doc.version)
    }

    // MARK: - Trust root

    /// What a root rotation did.
    public struct RootRotation: Sendable {
        public let root: String
        public let previousRoot: String
        public let trustVersion: UInt64
        /// An interrupted rotation was finished rather than a new one started.
        public let resumed: Bool
    }

    /// A new trust root: written aside as `root-next.key`, the new trust document version
    /// published signed by it and cross-signed by the old root, then the files switched (the old
    /// secret linked into keys/archive/, `root-next.pub` and `root-next.key` renamed into place,
    /// each atomic). A crash at any point leaves a gateway that starts; running it again finishes
    /// an interrupted rotation instead of starting another. The old secret is destroyed unless
    /// `archive`. `resuming` is told the new root's key id when an interrupted rotation is finished.
    public static func rotateRoot(
        dir: DataDirectory, store: any GatewayStore, keys: DepartmentKeys, passphrase: @escaping PassphraseSource,
        archive: Bool, resuming: (String) -> Void = { _ in }, clock: any GatewayClock = .system
    ) async throws -> RootRotation {
        let encrypted = SigningKeyRotation.encrypted(dir, .root)
        let old = keys.root
        let (department, _) = try dir.config()
        let fm = FileManager.default
        let nextKey = "\(dir.keysPath)/root-next.key"
        let nextPub = "\(dir.keysPath)/root-next.pub"
        let new: MinisignSecretKey
        var resumed = false
        if fm.fileExists(atPath: nextKey) {
            new = try MinisignSecretKey.load(path: nextKey, passphrase: passphrase)
            resumed = true
            resuming(new.publicKey.keyIdHex)
        } else {
            new = MinisignSecretKey.generate()
            try SecretFile.write(
                path: nextKey, contents: try new.fileContents(passphrase: encrypted ? try passphrase() : nil, opsLimit: 1 << 20, memLimit: 1 << 26))
        }
        let pk = MinisignPublicKey(
            keyId: new.publicKey.keyId, key: new.publicKey.key, comment: "sealgate root key \(new.publicKey.keyIdHex) of \(department)")
        try SecretFile.writePublic(path: nextPub, contents: pk.fileContents, force: true)
        try Failpoints.check("keys.root.after-next")
        let latest = try await store.latestTrust().map { TrustDocument(json: try JSON(parsing: $0.body)) }
        var version = latest?.version ?? 0
        if !(resumed && (try? latest?.publicKey("root").base64) == new.publicKey.base64) {
            _ = try await store.appendLog(
                kind: .keyRotated,
                body: JSON.object([
                    "role": .string("root"), "old": .string(old.publicKey.keyIdHex),
                    "new": .string(new.publicKey.keyIdHex), "archived": .bool(archive),
                ]).canonical, at: clock.now)
            version = try await TrustPublication.publish(
                dir, store: store, keys: try DepartmentKeys.load(dir, passphrase: passphrase).replacingRoot(with: new),
                previousRoot: old, clock: clock
            ).version
        }
        try Failpoints.check("keys.root.after-publish")
        let archived = "\(dir.keysPath)/archive/root-\(old.publicKey.keyIdHex).key"
        try fm.createDirectory(atPath: "\(dir.keysPath)/archive", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if !fm.fileExists(atPath: archived) {
            guard link(dir.key(.root), archived) == 0 else { throw SealError.io("cannot archive \(dir.key(.root))", errno: errno) }
            try syncFolder("\(dir.keysPath)/archive")
        }
        if fm.fileExists(atPath: nextPub) { try renameDurably(nextPub, dir.pub(.root)) }
        try Failpoints.check("keys.root.after-pub")
        try renameDurably(nextKey, dir.key(.root))
        if !archive { try fm.removeItem(atPath: archived) }
        return RootRotation(root: new.publicKey.keyIdHex, previousRoot: old.publicKey.keyIdHex, trustVersion: version, resumed: resumed)
    }
}
