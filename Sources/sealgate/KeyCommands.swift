import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import Logging
import PackageCommands
import SealBase
import SealCrypto
import SealPackage

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate keys (minisign signing keys, age recipient keys).",
        subcommands: [Generate.self, Public.self, List.self, Rotate.self, Retire.self, RotateUnit.self, Activate.self, Bench.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub.",
            discussion: """
                signing: an Ed25519 minisign key pair (works with `minisign -S -s PREFIX.key` and `minisign -V -p PREFIX.pub`).

                recipient: an X25519 age identity (PREFIX.key, works with `age -d -i`) and its age1… recipient (PREFIX.pub). With --pq: a post-quantum hybrid identity (ML-KEM-768 with X25519, age's mlkem768x25519: AGE-SECRET-KEY-PQ-1…) and its age1pq1… recipient; age 1.3 or later opens what is sealed to it, Debian 12's age 1.1.1 does not.

                The secret key is encrypted with a passphrase unless --unencrypted is given (minisign's scrypt for signing keys; age's scrypt recipient for identities, so `age -d -i` still asks for the passphrase).
                """)

        enum Kind: String, ExpressibleByArgument, CaseIterable { case signing, recipient }

        @Argument(help: "signing | recipient") var kind: Kind
        @Option(name: .long, help: "Path prefix: writes PREFIX.key and PREFIX.pub.") var out: String
        @Flag(name: .long, help: "Store the secret key without a passphrase (test keys, automated services with protected storage).")
        var unencrypted = false
        @Flag(name: .long, help: "Overwrite existing files.") var force = false
        @Flag(name: .long, help: "recipient: a post-quantum hybrid key (age1pq1…, ML-KEM-768 with X25519) instead of X25519.") var pq = false
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if pq && kind != .recipient { throw ValidationError("--pq is for a recipient key") }
        }

        func run() async throws {
            try await runAsync(json: output.json, hints: newKeyHints) {
                let keyPath = out + ".key"
                let pubPath = out + ".pub"
                if !force {
                    for p in [keyPath, pubPath] where FileManager.default.fileExists(atPath: p) {
                        throw SealError(.keyFileExists, "\(p) already exists", remedy: "choose another --out prefix, or pass --force to replace it")
                    }
                }
                let pass: SecureBytes? =
                    unencrypted ? nil : try Passphrase.obtain(file: passphrase.passphraseFile, prompt: "Passphrase for the new key: ", confirm: true)
                switch kind {
                case .signing:
                    let key = MinisignSecretKey.generate()
                    try SecretFile.write(path: keyPath, contents: try key.fileContents(passphrase: pass), force: force)
                    try SecretFile.writePublic(path: pubPath, contents: key.publicKey.fileContents, force: force)
                    if !output.json {
                        say("wrote \(keyPath) (secret\(pass == nil ? ", UNENCRYPTED" : "")) and \(pubPath); key id \(key.publicKey.keyIdHex)")
                    }
                    return [
                        "kind": "signing", "secret_key": keyPath, "public_key": pubPath, "key_id": key.publicKey.keyIdHex, "encrypted": pass != nil,
                    ]
                case .recipient:
                    let identity: any AgeKeyIdentity = pq ? try AgeHybridIdentity.generate() : try AgeX25519Identity.generate()
                    let created = Timestamp.now.text
                    let plain = AgeIdentityFile.fileContents(identity, created: created)
                    if let pass {
                        let armored = try Age.encryptSmallSecret(plain, to: [AgeScryptRecipient(passphrase: pass)])
                        try SecretFile.write(path: keyPath, contents: armored.withUnsafeBytes { SecureBytes(copying: $0) }, force: force)
                    } else {
                        try SecretFile.write(path: keyPath, contents: plain, force: force)
                    }
                    let r = identity.keyRecipient
                    try SecretFile.writePublic(
                        path: pubPath, contents: "# sealgate recipient, fingerprint \(r.fingerprint)\n\(r.string)\n", force: force)
                    if !output.json {
                        // A post-quantum recipient is 1,959 characters: named by its file and fingerprint.
                        let shown = pq ? "post-quantum recipient in \(pubPath)" : "recipient \(r.string)"
                        say("wrote \(keyPath) (secret\(pass == nil ? ", UNENCRYPTED" : "")) and \(pubPath); \(shown) (fingerprint \(r.fingerprint))")
                    }
                    return [
                        "kind": "recipient", "secret_key": keyPath, "public_key": pubPath, "recipient": r.string, "fingerprint": r.fingerprint,
                        "encrypted": pass != nil, "post_quantum": pq,
                    ]
                }
            }
        }
    }
}

extension Keys {
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rotate a department key — recipient, receipt, dataset, log, or the trust root — without stopping the flow.",
            discussion: """
                recipient: a new recipient becomes active; the one(s) active so far become decrypt-only until the grace ends (packages sealed to them are still opened); `keys retire` then retires them.

                receipt | dataset | log: a new signing key becomes active; the old one is verify-only: it signs nothing more, and what it signed up to the end of the grace stays valid for verifiers (listed in the trust document's signing_keys). Its secret is destroyed (kept in keys/archive/ with --archive). For the log key, the checkpoint covering the switch is signed by both keys.

                With --pending (recipient, receipt, dataset, log) the new key is only announced — published in the trust document, so units and auditors have it before it is used — and `keys activate ROLE` switches later.

                A new trust document version is published at once, and a running gateway picks the change up with its next package (or checkpoint request).
                """)
        enum Role: String, ExpressibleByArgument { case recipient, receipt, dataset, log, root }
        @Argument(
            help:
                "recipient | receipt | dataset | log | root. For root: a new trust root signs a new trust document version, cross-signed by the old root; units' `trust fetch` moves their pin to it. The old root's secret is destroyed unless --archive."
        ) var role: Role
        @Flag(name: .long, help: "root, receipt, dataset, log: keep the old secret key (encrypted as it was) in keys/archive/.") var archive = false
        @Flag(
            name: .long,
            help:
                "Publish the new key as pending (announced; a pending recipient is already decrypted by the gateway, a pending signing key already accepted by verifiers) and switch later with `keys activate`."
        ) var pending = false
        @Flag(
            name: .long,
            help:
                "recipient: a post-quantum hybrid recipient (age1pq1…, ML-KEM-768 with X25519) instead of X25519; units seal to it alone once it is the active one."
        ) var pq = false
        @Option(
            name: .long,
            help: ArgumentHelp(
                "receipt, dataset, log: the new key is this key on a token (pkcs11:token=…;object=…), generated there beforehand; keys/ROLE.key then names it (its secret never leaves the token).",
                valueName: "pkcs11-uri"))
        var tokenKey: String?
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "How long the old key stays decrypt-only (recipient) or verify-only (signing keys) (e.g. 14d, 12h, 0s).")
        var grace: String = "14d"
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var token: TokenOptions
        @OptionGroup var out: OutputOptions
        func validate() throws {
            if pq && role != .recipient { throw ValidationError("--pq is for the recipient key") }
            if tokenKey != nil && ![.receipt, .dataset, .log].contains(role) {
                throw ValidationError("--token-key is for the receipt, dataset and log keys")
            }
        }

        func run() async throws {
            try await runAsync(json: out.json) {
                let dir = data.dir
                let store = try await dir.openStore()
                let pass = cachedPassphrase(passphrase)
                let pin = token.departmentPIN()
                let keys = try DepartmentKeys.load(dir, passphrase: pass, pin: pin)
                if role == .root {
                    let quiet = out.json
                    let r = try await DepartmentKeyLifecycle.rotateRoot(dir: dir, store: store, keys: keys, passphrase: pass, archive: archive) {
                        root in
                        if !quiet { say("finishing the interrupted rotation to root \(root)") }
                    }
                    if !out.json {
                        say(
                            "trust root \(r.root) replaces \(r.previousRoot)\(archive ? " (old secret archived)" : " (old secret destroyed)"); trust document version \(r.trustVersion) published, signed by both"
                        )
                    }
                    return ["root": r.root, "previous_root": r.previousRoot, "trust_version": r.trustVersion]
                }
                let graceDuration = Duration.seconds(try parseDuration(grace))
                if let signing = DataDirectory.KeyRole(rawValue: role.rawValue), role != .recipient {
                    let onToken = try tokenKey.map { value -> SigningKeyRotation.TokenKey in
                        let uri = try Pkcs11URI(value)
                        let module = try token.module(for: uri)
                        return SigningKeyRotation.TokenKey(
                            signer: try Pkcs11Signer(uri: uri, modulePath: module, pin: { try pin(uri) }), modulePath: module)
                    }
                    let (key, version) = try await withHint(
                        "make it active with `sealgate keys activate \(signing.rawValue) --data \(dir.path)` first"
                    ) {
                        try await SigningKeyRotation.generate(
                            dir, store: store, role: signing, passphrase: pass, pin: pin, onToken: onToken, announce: pending)
                    }
                    if pending {
                        if !out.json {
                            say(
                                "\(signing.rawValue) key \(key.keyIdHex) is pending (published in trust document version \(version ?? 0)); make it active with `sealgate keys activate \(signing.rawValue) --data \(dir.path)`"
                            )
                        }
                        return ["role": signing.rawValue, "pending": key.keyIdHex, "trust_version": version as Any]
                    }
                    let r = try await SigningKeyRotation.activate(
                        dir, store: store, role: signing, passphrase: pass, pin: pin, grace: graceDuration, archive: archive, logKind: .keyRotated)
                    return reportSwitch(r, role: signing, archive: archive, quiet: out.json)
                }
                switch try await DepartmentKeyLifecycle.rotateRecipient(
                    dir: dir, store: store, keys: keys, passphrase: pass, pending: pending, grace: graceDuration, postQuantum: pq)
                {
                case .pending(let fingerprint, let version):
                    if !out.json {
                        say(
                            "recipient \(fingerprint) is pending (published in trust document version \(version)); make it active with `sealgate keys activate --data \(dir.path)`"
                        )
                    }
                    return ["pending": fingerprint, "trust_version": version]
                case .active(let a):
                    return reportRecipient(a, quiet: out.json)
                }
            }
        }
    }
}

/// Prints and returns what activating a recipient did.
func reportRecipient(_ a: DepartmentKeyLifecycle.RecipientActivation, quiet: Bool) -> [String: Any] {
    if !quiet {
        say(
            "recipient \(a.active) is active; the previous one is decrypt-only until \(a.decryptOnlyUntil); trust document version \(a.trustVersion) published"
        )
    }
    return ["active": a.active, "decrypt_only_until": a.decryptOnlyUntil, "trust_version": a.trustVersion]
}

/// Prints and returns what a signing key's switch did.
func reportSwitch(
    _ r: (old: String, new: String, until: Timestamp, trustVersion: UInt64, oldOnToken: Bool), role: DataDirectory.KeyRole, archive: Bool,
    quiet: Bool
) -> [String: Any] {
    if !quiet {
        let secret =
            r.oldOnToken
            ? " (its secret stays on its token: delete it there when the grace has ended)" : archive ? " (secret archived)" : " (secret destroyed)"
        say(
            "\(role.rawValue) key \(r.new) is active; \(r.old) is verify-only until \(r.until)\(secret); trust document version \(r.trustVersion) published"
        )
    }
    return ["role": role.rawValue, "active": r.new, "previous": r.old, "verify_only_until": r.until, "trust_version": r.trustVersion]
}

/// Runs `body`; a `usage` refusal from it gets `remedy` (a command line) instead of the library's.
func withHint<T>(_ remedy: String, _ body: () async throws -> T) async throws -> T {
    do { return try await body() } catch let e as SealError where e.code == .usage {
        throw SealError(e.code, e.message, remedy: remedy, cause: e.cause)
    }
}

extension Keys {
    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Make a pending key active; the active one becomes decrypt-only (recipient) or verify-only (receipt, dataset, log) for the grace.",
            discussion:
                "The second step of `keys rotate ROLE --pending`. A new trust document version is published; a running gateway picks the change up with its next package."
        )
        enum Role: String, ExpressibleByArgument { case recipient, receipt, dataset, log }
        @Argument(help: "recipient | receipt | dataset | log") var role: Role = .recipient
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "How long the old key stays decrypt-only or verify-only (e.g. 14d, 12h, 0s).") var grace: String = "14d"
        @Flag(name: .long, help: "receipt, dataset, log: keep the old secret key (encrypted as it was) in keys/archive/.") var archive = false
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var token: TokenOptions
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let dir = data.dir
                let store = try await dir.openStore()
                let pass = cachedPassphrase(passphrase)
                let pin = token.departmentPIN()
                let graceDuration = Duration.seconds(try parseDuration(grace))
                if role != .recipient, let signing = DataDirectory.KeyRole(rawValue: role.rawValue) {
                    let r = try await withHint("announce one first: sealgate keys rotate \(signing.rawValue) --pending --data \(dir.path)") {
                        try await SigningKeyRotation.activate(
                            dir, store: store, role: signing, passphrase: pass, pin: pin, grace: graceDuration, archive: archive,
                            logKind: .keyActivated)
                    }
                    return reportSwitch(r, role: signing, archive: archive, quiet: out.json)
                }
                let a = try await withHint("announce one first: sealgate keys rotate recipient --pending --data \(dir.path)") {
                    try await DepartmentKeyLifecycle.activatePendingRecipient(dir: dir, store: store, passphrase: pass, grace: graceDuration)
                }
                return reportRecipient(a, quiet: out.json)
            }
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire decrypt-only recipients whose grace has ended.",
            discussion:
                "Packages sealed to a retired recipient are refused with recipient_retired (the unit is told to fetch the trust document again). Its secret key is destroyed, unless --archive keeps it (encrypted as it was) in keys/archive/ for old spool files."
        )
        @OptionGroup var data: DataOption
        @Flag(name: .long, help: "Keep retired secret keys in keys/archive/.") var archive = false
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let dir = data.dir
                let store = try await dir.openStore()
                let r = try await DepartmentKeyLifecycle.retireRecipients(
                    dir: dir, store: store, archive: archive, passphrase: cachedPassphrase(passphrase))
                guard let version = r.trustVersion else {
                    // Say when there will be something: each decrypt-only recipient and the end of its grace.
                    let waiting = try await store.recipients().filter { $0.state == .decryptOnly }
                    if !out.json {
                        if waiting.isEmpty { say("nothing to retire: no recipient is decrypt-only") }
                        for w in waiting {
                            let until = w.decryptUntil?.text ?? "?"
                            say("nothing to retire yet: recipient \(w.fingerprint) is decrypt-only until \(until) (retire it once that has passed)")
                        }
                    }
                    return [
                        "retired": [String](),
                        "waiting": waiting.map { ["fingerprint": $0.fingerprint, "decrypt_until": $0.decryptUntil as Any] },
                    ]
                }
                if !out.json {
                    say(
                        "retired \(r.retired.joined(separator: ", "))\(archive ? " (archived)" : " (secret key destroyed)"); trust document version \(version) published"
                    )
                }
                return ["retired": r.retired, "trust_version": version]
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
        @Option(name: .long, help: "The unit's current (old) secret key file, or its key on a token (pkcs11:…).") var old: String
        @Option(name: .long, help: "The unit's new secret key (sealgate keys generate signing), or a key on a token (pkcs11:…).") var new: String
        @Option(name: .shortAndLong, help: "Where to write the statement.") var output: String?
        @Option(name: .long, help: "Post the statement to this gateway (https://host or http://host:port).") var gateway: String?
        @OptionGroup var client: ClientOptions
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var token: TokenOptions
        @Option(
            name: .long,
            help:
                "Read the new key's token PIN from this file, when the new key is on another token with another PIN than the old (default: the PIN source of the old key)."
        )
        var newPinFile: String?
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                guard output != nil || gateway != nil else {
                    throw SealError(.usage, "nowhere to put the statement", remedy: "give -o FILE, --gateway URL, or both")
                }
                let oldKey = try token.signer(old, passphrase: passphrase)
                var newToken = token
                if let newPinFile { newToken.pinFile = newPinFile }
                let newKey = try newToken.signer(new, passphrase: passphrase)
                let r = try UnitKeyRotation.make(
                    unit: unit, old: oldKey, new: newKey,
                    created: Timestamp.now)
                let text = r.json.canonical
                var result: [String: Any] = ["unit": unit, "old_key": r.oldKey.keyIdHex, "new_key": r.newKey.keyIdHex]
                if let output {
                    try text.write(toFile: output, atomically: true, encoding: .utf8)
                    if !out.json { say("wrote the rotation statement \(r.oldKey.keyIdHex) -> \(r.newKey.keyIdHex) for \(unit) to \(output)") }
                    result["output"] = output
                }
                if let gateway {
                    try checkServerURL(gateway, what: "--gateway URL")
                    var headers = [("Content-Type", "application/json")]
                    if let token = ProcessInfo.processInfo.environment["SEALGATE_TOKEN"] { headers.append(("Authorization", "Bearer \(token)")) }
                    let resp = try await GatewayClient.withClient(try client.settings(maxResponseBytes: 1 << 20)) { http in
                        try await http.send(
                            "POST", gateway.trimmingSlash + "/v1/units/\(unit)/keys", headers: headers, body: .bytes(Array(text.utf8)))
                    }
                    let answer = (try? JSON(parsing: resp.text)) ?? .null
                    guard resp.status == 200 else {
                        throw SealError(
                            SealErrorCode(answer["code"]?.string ?? "http_error"),
                            "the gateway refused the rotation (\(resp.status)): \(answer["detail"]?.string ?? resp.text)",
                            remedy: answer["remedy"]?.string ?? "check --gateway")
                    }
                    if !out.json {
                        say(
                            "the gateway took key \(r.newKey.keyIdHex) for \(unit) at \(answer["switch_at"]?.string ?? "?"); \(r.oldKey.keyIdHex) verifies packages created before that until \(answer["old_key_valid_until"]?.string ?? "?")"
                        )
                    }
                    result["switch_at"] = answer["switch_at"]?.string
                    result["old_key_valid_until"] = answer["old_key_valid_until"]?.string
                }
                return result
            }
        }
    }
}

extension Keys {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the department's keys: recipients and the receipt, dataset, log and root keys, with their states.",
            discussion: """
                One line a key: role, state (active, pending, decrypt-only, verify-only, retired), key id (a recipient's fingerprint), when it was created (a signing key: first published), and the end of a decrypt-only or verify-only grace; a note where the state alone does not tell (an interrupted rotation, a grace that has ended). Above it, the current trust document's version and expiry; below it, a warning for what expires within 14 days. Reads no secret key: no passphrase is asked.
                """)
        @OptionGroup var data: DataOption
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let dir = data.dir
                let inventory = try await KeyInventory.load(dir, store: try await dir.openStore())
                if !out.json {
                    if let v = inventory.trustVersion {
                        print(
                            "trust document version \(v): issued \(inventory.trustIssued?.text ?? "-"), expires \(inventory.trustExpires?.text ?? "-")"
                        )
                    }
                    print(
                        textTable(
                            [["ROLE", "STATE", "ID", "CREATED", "UNTIL", "NOTE"]]
                                + inventory.keys.map { [$0.role, $0.state, $0.id, $0.created?.text ?? "-", $0.until?.text ?? "-", $0.note ?? ""] }),
                        terminator: "")
                    for n in inventory.notices() { say(expiryWarning(n, data: data.data)) }
                }
                return (inventory.json.foundation as? [String: Any]) ?? [:]
            }
        }
    }
}

/// A department-side warning line: the notice, what to do, and the command that does it.
func expiryWarning(_ n: ExpiryNotice, data: String) -> String {
    switch n.subject {
    case .trustDocument: return "warning: \(n.message); \(n.remedy) — sealgate trust publish --data \(data)"
    case .key(_, _, let state) where state == "verify-only": return "warning: \(n.message)"
    case .key where n.hasPassed: return "warning: \(n.message); \(n.remedy) — sealgate keys retire --data \(data)"
    case .key: return "warning: \(n.message); \(n.remedy)"
    }
}

/// `serve`: warns of what expires within 14 days (at start, then `warnAheadOfExpiryDaily`).
func warnAheadOfExpiry(store: any GatewayStore, data: String, logger: Logger, clock: any GatewayClock = .system) async {
    do {
        for n in try await ExpiryWatch.check(store: store, clock: clock) { logger.warning("\(expiryWarning(n, data: data))") }
    } catch {
        let code = (error as? SealError)?.code.rawValue ?? (error as? StoreError)?.code.rawValue ?? "error"
        logger.warning("warning: could not check what expires soon (\(code)); checked again in a day")
    }
}

/// `serve`: the same warning once a day until the task is cancelled (a child task of `serve`'s,
/// ended with the server).
func warnAheadOfExpiryDaily(store: any GatewayStore, data: String, logger: Logger, clock: any GatewayClock = .system) async {
    while (try? await Task.sleep(for: .seconds(86_400))) != nil { await warnAheadOfExpiry(store: store, data: data, logger: logger, clock: clock) }
}
