import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayStore
import SealCrypto
import SealPackage

/// Parses a duration like 14d, 12h, 30m, 45s (or plain seconds).
func parseDuration(_ text: String) throws -> TimeInterval {
    for (u, mult) in [("d", 86_400.0), ("h", 3_600.0), ("m", 60.0), ("s", 1.0)] where text.hasSuffix(u) {
        if let v = Double(text.dropLast()), v >= 0 { return v * mult }
    }
    if let v = Double(text), v >= 0 { return v }
    throw SealError(.usage, "bad duration '\(text)'", remedy: "e.g. 14d, 12h, 30m")
}

/// Publishes a new trust document version computed from the store (`TrustPublication`).
func publishTrust(_ dir: DataDirectory, store: any GatewayStore, keys: DepartmentKeys, previousRoot: MinisignSecretKey? = nil) throws -> TrustDocument {
    try TrustPublication.publish(dir, store: store, keys: keys, previousRoot: previousRoot)
}

/// Makes `next` the active recipient: every other active or pending one becomes decrypt-only for
/// the grace; logged, a new trust version published, recipient.pub rewritten.
func activateRecipient(_ next: RecipientRecord, dir: DataDirectory, store: any GatewayStore, passphrase pass: @escaping () throws -> SecureBytes,
                       graceSeconds: TimeInterval, logKind: String, quiet: Bool) throws -> [String: Any] {
    let now = Date()
    let at = PackageIdentifiers.timestamp(unixSeconds: Int(now.timeIntervalSince1970))
    let until = PackageIdentifiers.timestamp(unixSeconds: Int(now.timeIntervalSince1970 + graceSeconds))
    for r in try store.recipients() where (r.state == "active" || r.state == "pending") && r.fingerprint != next.fingerprint {
        try store.setRecipientState(fingerprint: r.fingerprint, state: "decrypt-only", decryptUntil: until)
    }
    try store.setRecipientState(fingerprint: next.fingerprint, state: "active", decryptUntil: nil)
    _ = try store.appendLog(kind: logKind, body: JSON.object(["role": .string("recipient"), "active": .string(next.fingerprint),
                                                              "decrypt_only_until": .string(until)]).canonical, at: at)
    let doc = try publishTrust(dir, store: store, keys: try DepartmentKeys.load(dir, passphrase: pass))
    try SecretFile.writePublic(path: dir.pub(.recipient), contents: "# department recipient, fingerprint \(next.fingerprint)\n\(next.recipient)\n", force: true)
    if !quiet { say("recipient \(next.fingerprint) is active; the previous one is decrypt-only until \(until); trust document version \(doc.version) published") }
    return ["active": next.fingerprint, "decrypt_only_until": until, "trust_version": doc.version]
}

/// A passphrase asked at most once per command.
func cachedPassphrase(_ options: PassphraseOptions) -> () throws -> SecureBytes {
    final class Box: @unchecked Sendable { var value: SecureBytes? }
    let box = Box()
    return {
        if let v = box.value { return v }
        let p = try Passphrase.obtain(file: options.passphraseFile, prompt: "Passphrase for the department keys: ")
        box.value = p
        return p
    }
}

extension Keys {
    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate a department key — recipient, receipt, dataset, log, or the trust root — without stopping the flow.",
            discussion: """
            recipient: a new recipient becomes active; the one(s) active so far become decrypt-only until the grace ends (packages sealed to them are still opened); `keys retire` then retires them.

            receipt | dataset | log: a new signing key becomes active; the old one is verify-only: it signs nothing more, and what it signed up to the end of the grace stays valid for verifiers (listed in the trust document's signing_keys). Its secret is destroyed (kept in keys/archive/ with --archive). For the log key, the checkpoint covering the switch is signed by both keys.

            With --pending (recipient, receipt, dataset, log) the new key is only announced — published in the trust document, so units and auditors have it before it is used — and `keys activate ROLE` switches later.

            A new trust document version is published at once, and a running gateway picks the change up with its next package (or checkpoint request).
            """)
        enum Role: String, ExpressibleByArgument { case recipient, receipt, dataset, log, root }
        @Argument(help: "recipient | receipt | dataset | log | root. For root: a new trust root signs a new trust document version, cross-signed by the old root; units' `trust fetch` moves their pin to it. The old root's secret is destroyed unless --archive.") var role: Role
        @Flag(name: .long, help: "root, receipt, dataset, log: keep the old secret key (encrypted as it was) in keys/archive/.") var archive = false
        @Flag(name: .long, help: "Publish the new key as pending (announced; a pending recipient is already decrypted by the gateway, a pending signing key already accepted by verifiers) and switch later with `keys activate`.") var pending = false
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "How long the old key stays decrypt-only (recipient) or verify-only (signing keys) (e.g. 14d, 12h, 0s).") var grace: String = "14d"
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let dir = data.dir
                let store = try dir.openStore()
                let pass = cachedPassphrase(passphrase)
                let keys = try DepartmentKeys.load(dir, passphrase: pass)
                if role == .root { return try rotateRoot(dir, store: store, keys: keys, passphrase: pass) }
                let graceSeconds = try parseDuration(grace)
                if let signing = DataDirectory.KeyRole(rawValue: role.rawValue), role != .recipient {
                    return try rotateSigning(signing, dir: dir, store: store, passphrase: pass, graceSeconds: graceSeconds)
                }
                let first = dir.key(.recipient)
                let encrypted = (FileManager.default.contents(atPath: first) ?? FileManager.default.contents(atPath: dir.keysPath + "/recipient-\(keys.recipients[0].recipient.fingerprint).key") ?? Data())
                    .starts(with: Array("-----BEGIN AGE".utf8))
                // Name every recipient file by its fingerprint from now on.
                if FileManager.default.fileExists(atPath: first) {
                    let ids = try AgeIdentityFile.load(path: first, passphrase: pass)
                    try FileManager.default.moveItem(atPath: first, toPath: "\(dir.keysPath)/recipient-\(ids[0].recipient.fingerprint).key")
                }
                let now = Date()
                let created = PackageIdentifiers.timestamp(unixSeconds: Int(now.timeIntervalSince1970))
                if try store.recipients().isEmpty { // a data folder from before recipient states
                    for id in keys.recipients {
                        try store.addRecipient(RecipientRecord(fingerprint: id.recipient.fingerprint, recipient: id.recipient.string, state: "active", decryptUntil: nil, createdAt: created))
                    }
                }
                let identity = try AgeX25519Identity.generate()
                let file = AgeIdentityFile.fileContents(identity, created: created)
                let path = "\(dir.keysPath)/recipient-\(identity.recipient.fingerprint).key"
                if encrypted {
                    let armored = try Age.encryptSmallSecret(file, to: [AgeScryptRecipient(passphrase: try pass())])
                    try SecretFile.write(path: path, contents: armored.withUnsafeBytes { SecureBytes(copying: $0) })
                } else {
                    try SecretFile.write(path: path, contents: file)
                }
                if pending {
                    try store.addRecipient(RecipientRecord(fingerprint: identity.recipient.fingerprint, recipient: identity.recipient.string, state: "pending", decryptUntil: nil, createdAt: created))
                    _ = try store.appendLog(kind: "key_rotated", body: JSON.object(["role": .string("recipient"), "pending": .string(identity.recipient.fingerprint)]).canonical, at: created)
                    let doc = try publishTrust(dir, store: store, keys: try DepartmentKeys.load(dir, passphrase: pass))
                    if !out.json { say("recipient \(identity.recipient.fingerprint) is pending (published in trust document version \(doc.version)); make it active with `sealgate keys activate --data \(dir.path)`") }
                    return ["pending": identity.recipient.fingerprint, "trust_version": doc.version]
                }
                let next = RecipientRecord(fingerprint: identity.recipient.fingerprint, recipient: identity.recipient.string, state: "pending", decryptUntil: nil, createdAt: created)
                try store.addRecipient(next)
                return try activateRecipient(next, dir: dir, store: store, passphrase: pass, graceSeconds: graceSeconds, logKind: "key_rotated", quiet: out.json)
            }
        }
    }

}

extension Keys.Rotate {
    func rotateSigning(_ role: DataDirectory.KeyRole, dir: DataDirectory, store: any GatewayStore, passphrase pass: @escaping () throws -> SecureBytes,
                       graceSeconds: TimeInterval) throws -> [String: Any] {
        let (key, version) = try SigningKeyRotation.generate(dir, store: store, role: role, passphrase: pass, announce: pending)
        if pending {
            if !out.json { say("\(role.rawValue) key \(key.keyIdHex) is pending (published in trust document version \(version ?? 0)); make it active with `sealgate keys activate \(role.rawValue) --data \(dir.path)`") }
            return ["role": role.rawValue, "pending": key.keyIdHex, "trust_version": version as Any]
        }
        let r = try SigningKeyRotation.activate(dir, store: store, role: role, passphrase: pass, graceSeconds: graceSeconds, archive: archive, logKind: "key_rotated")
        return SigningKeyRotation.report(r, role: role, archive: archive, quiet: out.json)
    }

    /// A new trust root: written aside as `root-next.key`, the new trust document version
    /// published signed by it and cross-signed by the old root, then the files switched (the old
    /// secret linked into keys/archive/, `root-next.pub` and `root-next.key` renamed into place,
    /// each atomic). A crash at any point leaves a gateway that starts; running the command
    /// again finishes an interrupted rotation instead of starting another. The old secret is
    /// destroyed unless --archive.
    func rotateRoot(_ dir: DataDirectory, store: any GatewayStore, keys: DepartmentKeys, passphrase pass: @escaping () throws -> SecureBytes) throws -> [String: Any] {
        struct Encrypted: Error {}
        let encrypted: Bool
        do { _ = try MinisignSecretKey.load(path: dir.key(.root), passphrase: { throw Encrypted() }); encrypted = false } catch is Encrypted { encrypted = true }
        let old = keys.root
        let (department, _) = try dir.config()
        let fm = FileManager.default
        let nextKey = "\(dir.keysPath)/root-next.key", nextPub = "\(dir.keysPath)/root-next.pub"
        let new: MinisignSecretKey
        var resumed = false
        if fm.fileExists(atPath: nextKey) {
            new = try MinisignSecretKey.load(path: nextKey, passphrase: pass)
            resumed = true
            if !out.json { say("finishing the interrupted rotation to root \(new.publicKey.keyIdHex)") }
        } else {
            new = MinisignSecretKey.generate()
            try SecretFile.write(path: nextKey, contents: try new.fileContents(passphrase: encrypted ? try pass() : nil, opsLimit: 1 << 20, memLimit: 1 << 26))
        }
        let pk = MinisignPublicKey(keyId: new.publicKey.keyId, key: new.publicKey.key, comment: "sealgate root key \(new.publicKey.keyIdHex) of \(department)")
        try SecretFile.writePublic(path: nextPub, contents: pk.fileContents, force: true)
        try Failpoints.check("keys.root.after-next")
        let latest = try store.latestTrust().map { TrustDocument(json: try JSON(parsing: $0.body)) }
        var version = latest?.version ?? 0
        if !(resumed && (try? latest?.publicKey("root").base64) == new.publicKey.base64) {
            let now = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970))
            _ = try store.appendLog(kind: "key_rotated", body: JSON.object(["role": .string("root"), "old": .string(old.publicKey.keyIdHex),
                                                                              "new": .string(new.publicKey.keyIdHex), "archived": .bool(archive)]).canonical, at: now)
            version = try publishTrust(dir, store: store, keys: try DepartmentKeys.load(dir, passphrase: pass).replacing(.root, with: new), previousRoot: old).version
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
        if !out.json {
            say("trust root \(new.publicKey.keyIdHex) replaces \(old.publicKey.keyIdHex)\(archive ? " (old secret archived)" : " (old secret destroyed)"); trust document version \(version) published, signed by both")
        }
        return ["root": new.publicKey.keyIdHex, "previous_root": old.publicKey.keyIdHex, "trust_version": version]
    }
}

extension Keys {
    struct Activate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a pending key active; the active one becomes decrypt-only (recipient) or verify-only (receipt, dataset, log) for the grace.",
            discussion: "The second step of `keys rotate ROLE --pending`. A new trust document version is published; a running gateway picks the change up with its next package.")
        enum Role: String, ExpressibleByArgument { case recipient, receipt, dataset, log }
        @Argument(help: "recipient | receipt | dataset | log") var role: Role = .recipient
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "How long the old key stays decrypt-only or verify-only (e.g. 14d, 12h, 0s).") var grace: String = "14d"
        @Flag(name: .long, help: "receipt, dataset, log: keep the old secret key (encrypted as it was) in keys/archive/.") var archive = false
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let dir = data.dir
                let store = try dir.openStore()
                let pass = cachedPassphrase(passphrase)
                let graceSeconds = try parseDuration(grace)
                if role != .recipient, let signing = DataDirectory.KeyRole(rawValue: role.rawValue) {
                    let r = try SigningKeyRotation.activate(dir, store: store, role: signing, passphrase: pass, graceSeconds: graceSeconds, archive: archive, logKind: "key_activated")
                    return SigningKeyRotation.report(r, role: signing, archive: archive, quiet: out.json)
                }
                let all = try store.recipients()
                guard let next = all.last(where: { $0.state == "pending" }) else {
                    throw SealError(.usage, "no pending recipient", remedy: "announce one first: sealgate keys rotate recipient --pending --data \(dir.path)")
                }
                return try activateRecipient(next, dir: dir, store: store, passphrase: pass, graceSeconds: graceSeconds, logKind: "key_activated", quiet: out.json)
            }
        }
    }

    struct Retire: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire decrypt-only recipients whose grace has ended.",
            discussion: "Packages sealed to a retired recipient are refused with recipient_retired (the unit is told to fetch the trust document again). Its secret key is destroyed, unless --archive keeps it (encrypted as it was) in keys/archive/ for old spool files.")
        @OptionGroup var data: DataOption
        @Flag(name: .long, help: "Keep retired secret keys in keys/archive/.") var archive = false
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let dir = data.dir
                let store = try dir.openStore()
                let now = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970))
                let due = try store.recipients().filter { $0.state == "decrypt-only" && ($0.decryptUntil ?? "") <= now }
                guard !due.isEmpty else {
                    if !out.json { say("nothing to retire") }
                    return ["retired": [String]()]
                }
                for r in due {
                    let path = "\(dir.keysPath)/recipient-\(r.fingerprint).key"
                    if FileManager.default.fileExists(atPath: path) {
                        if archive {
                            try FileManager.default.createDirectory(atPath: "\(dir.keysPath)/archive", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                            try FileManager.default.moveItem(atPath: path, toPath: "\(dir.keysPath)/archive/recipient-\(r.fingerprint).key")
                        } else {
                            try FileManager.default.removeItem(atPath: path)
                        }
                    }
                    try store.setRecipientState(fingerprint: r.fingerprint, state: "retired", decryptUntil: r.decryptUntil)
                    _ = try store.appendLog(kind: "key_retired", body: JSON.object(["role": .string("recipient"), "fingerprint": .string(r.fingerprint),
                                                                                      "archived": .bool(archive)]).canonical, at: now)
                }
                let doc = try publishTrust(dir, store: store, keys: try DepartmentKeys.load(dir, passphrase: cachedPassphrase(passphrase)))
                if !out.json { say("retired \(due.map(\.fingerprint).joined(separator: ", "))\(archive ? " (archived)" : " (secret key destroyed)"); trust document version \(doc.version) published") }
                return ["retired": due.map(\.fingerprint), "trust_version": doc.version]
            }
        }
    }
}

extension Keys {
    struct RotateUnit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-unit",
            abstract: "Write a unit's key rotation statement, signed by its old and its new key.",
            discussion: """
            The statement (JSON) names the unit and both public keys and carries a minisign signature of each key over the same text. With --gateway it is posted to /v1/units/ID/keys at once (token from SEALGATE_TOKEN when the gateway requires one); otherwise it is written to -o, for the unit to post later. The gateway makes the new key active at once; the old key still verifies packages created before the switch, for the gateway's grace (default 14 days).

            Example: sealgate keys generate signing --out HCM-U001-2026 && sealgate keys rotate-unit --unit HCM-U001 --old HCM-U001.key --new HCM-U001-2026.key --gateway http://127.0.0.1:8080
            """)
        @Option(name: .long, help: "The unit id.") var unit: String
        @Option(name: .long, help: "The unit's current (old) secret key.") var old: String
        @Option(name: .long, help: "The unit's new secret key (sealgate keys generate signing).") var new: String
        @Option(name: .shortAndLong, help: "Where to write the statement.") var output: String?
        @Option(name: .long, help: "Post the statement to this gateway (https://host or http://host:port).") var gateway: String?
        @OptionGroup var client: ClientOptions
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                guard output != nil || gateway != nil else {
                    throw SealError(.usage, "nowhere to put the statement", remedy: "give -o FILE, --gateway URL, or both")
                }
                let oldKey = try MinisignSecretKey.load(path: old, passphrase: passphrase.provider(prompt: "Passphrase for \(old): "))
                let newKey = try MinisignSecretKey.load(path: new, passphrase: passphrase.provider(prompt: "Passphrase for \(new): "))
                let r = try UnitKeyRotation.make(unit: unit, old: oldKey, new: newKey,
                                                 created: PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970)))
                let text = r.json.canonical
                var result: [String: Any] = ["unit": unit, "old_key": r.oldKey.keyIdHex, "new_key": r.newKey.keyIdHex]
                if let output {
                    try text.write(toFile: output, atomically: true, encoding: .utf8)
                    if !out.json { say("wrote the rotation statement \(r.oldKey.keyIdHex) -> \(r.newKey.keyIdHex) for \(unit) to \(output)") }
                    result["output"] = output
                }
                if let gateway {
                    try GatewayClient.checkURL(gateway, what: "--gateway URL")
                    warnIfPlainText(gateway)
                    var headers = [("Content-Type", "application/json")]
                    if let token = ProcessInfo.processInfo.environment["SEALGATE_TOKEN"] { headers.append(("Authorization", "Bearer \(token)")) }
                    let resp = try await GatewayClient.withClient(try client.settings(maxResponseBytes: 1 << 20)) { http in
                        try await http.send("POST", gateway.trimmingSlash + "/v1/units/\(unit)/keys", headers: headers, body: .bytes(Array(text.utf8)))
                    }
                    let answer = (try? JSON(parsing: resp.text)) ?? .null
                    guard resp.status == 200 else {
                        throw SealError(SealErrorCode(answer["code"]?.string ?? "http_error"), "the gateway refused the rotation (\(resp.status)): \(answer["detail"]?.string ?? resp.text)",
                                        remedy: answer["remedy"]?.string ?? "check --gateway")
                    }
                    if !out.json {
                        say("the gateway took key \(r.newKey.keyIdHex) for \(unit) at \(answer["switch_at"]?.string ?? "?"); \(r.oldKey.keyIdHex) verifies packages created before that until \(answer["old_key_valid_until"]?.string ?? "?")")
                    }
                    result["switch_at"] = answer["switch_at"]?.string
                    result["old_key_valid_until"] = answer["old_key_valid_until"]?.string
                }
                return result
            }
        }
    }
}

/// A UTC time as the gateway writes it (2026-11-29T04:10:00Z), or "now".
func parseInstant(_ text: String) throws -> String {
    if text == "now" { return PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970)) }
    let ok = text.count == 20 && text.enumerated().allSatisfy { i, ch in
        switch i {
        case 4, 7: ch == "-"
        case 10: ch == "T"
        case 13, 16: ch == ":"
        case 19: ch == "Z"
        default: ch.isASCII && ch.isNumber
        }
    }
    guard ok else { throw SealError(.usage, "bad time '\(text)'", remedy: "give a UTC time like 2026-11-29T04:10:00Z, or now") }
    return text
}

func flaggedJSON(_ f: FlaggedPackage) -> [String: Any] {
    ["package": f.packageId, "unit": f.unitId, "seq": Int(f.seq), "key_id": f.keyId as Any, "created": f.created as Any, "reason": f.reason, "flagged_at": f.flaggedAt]
}

extension Units {
    struct AddKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-key",
            abstract: "Register another signing key for a unit (e.g. after its key was revoked or lost).",
            discussion: "Check the unit's identity and the key's fingerprint out of band first: this is the path that needs no signature from the old key. Prefer `keys rotate-unit` when the unit still holds its current key. Logged as unit_key_added.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Unit id.") var unit: String
        @Option(name: .long, help: "The new minisign public key file.") var signingKey: String
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let key = try MinisignPublicKey(path: signingKey)
                let store = try data.dir.openStore()
                let now = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970))
                let log = JSON.object(["unit": .string(unit), "key_id": .string(key.keyIdHex), "public_key": .string(key.base64)]).canonical
                do {
                    try store.addUnitKey(UnitKeyRecord(keyId: key.keyIdHex, unitId: unit, publicKey: key.base64, state: "active", addedAt: now), logBody: log)
                } catch let e as StoreError {
                    throw SealError(SealErrorCode(e.code), e.message, remedy: e.code == "unit_unknown" ? "register the unit first (sealgate units add)" : "give a newly generated key")
                }
                if !out.json { say("added key \(key.keyIdHex) to \(unit) (active)") }
                return ["unit": unit, "key_id": key.keyIdHex]
            }
        }
    }

    struct RevokeKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-key",
            abstract: "Revoke a unit's signing key as compromised from a given time.",
            discussion: """
            Packages signed by the key and created at or after --compromised-at are refused from now on (key_state); packages it signed that were already imported and created from then on are flagged for review and listed (again with `sealgate units flagged`). Choose the earliest time the key may have left the unit's hands: a thief can write any creation time. Takes effect in a running gateway with its next package. Logged as unit_key_revoked. The unit then needs a new key: `sealgate units add-key` after an out-of-band check.

            Example: sealgate units revoke-key --data /srv/sealgate --unit HCM-U001 --key-id 3F2A… --compromised-at 2026-11-20T00:00:00Z
            """)
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Unit id.") var unit: String
        @Option(name: .long, help: "The key id (16 hex digits, as `sealgate units show` prints it).") var keyId: String
        @Option(name: .long, help: "From when the key may have been compromised (UTC, 2026-11-29T04:10:00Z, or now).") var compromisedAt: String
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let t = try parseInstant(compromisedAt)
                let store = try data.dir.openStore()
                let now = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970))
                let id = keyId.uppercased()
                let log = JSON.object(["unit": .string(unit), "key_id": .string(id), "compromised_at": .string(t)]).canonical
                let flagged: [FlaggedPackage]
                do {
                    flagged = try store.revokeUnitKey(unitId: unit, keyId: id, compromisedAt: t, at: now, logBody: log)
                } catch let e as StoreError {
                    throw SealError(SealErrorCode(e.code), e.message, remedy: "check the unit's keys with `sealgate units show \(unit)`")
                }
                if !out.json {
                    say("revoked key \(id) of \(unit) as compromised from \(t)")
                    say(flagged.isEmpty ? "no imported package needs review" : "\(flagged.count) imported package(s) flagged for review:")
                    for f in flagged { print("\(f.unitId)\tseq \(f.seq)\t\(f.packageId)\tcreated \(f.created ?? "?")") }
                }
                return ["unit": unit, "key_id": id, "compromised_at": t, "flagged": flagged.map(flaggedJSON)]
            }
        }
    }

    struct Flagged: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List imported packages flagged for review (signed by a key revoked as compromised).")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Only this unit.") var unit: String?
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let list = try data.dir.openStore().flaggedPackages(unitId: unit)
                if !out.json {
                    if list.isEmpty { say("no package is flagged") }
                    for f in list { print("\(f.unitId)\tseq \(f.seq)\t\(f.packageId)\tcreated \(f.created ?? "?")\t\(f.reason)") }
                }
                return ["flagged": list.map(flaggedJSON)]
            }
        }
    }
}
