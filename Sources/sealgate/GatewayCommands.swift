import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import SealCrypto
import SealPackage

struct DataOption: ParsableArguments {
    @Option(name: .long, help: "The gateway's data folder.") var data: String
    @Option(name: .long, help: ArgumentHelp("The store: a PostgreSQL URL (postgres://USER@HOST:PORT/DB; password in PGPASSWORD). Default: $SEALGATE_DATABASE, else the one `init --database` recorded, else SQLite in the data folder.", valueName: "url"))
    var database: String?
    var dir: DataDirectory { DataDirectory(data, database: database ?? ProcessInfo.processInfo.environment["SEALGATE_DATABASE"]) }
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a gateway data folder: department keys (recipient, receipt, dataset, log, trust root) and the first trust document.")
    @OptionGroup var data: DataOption
    @Option(name: .long, help: "The department's id (goes into receipts and the trust document).") var department: String = "HCM-DTCD"
    @Option(name: .long, help: "The intake URL units submit to (written into every trust document; change it later with `trust publish --intake-url`). Give the address units reach, e.g. https://gateway.example.") var intakeURL: String = "http://127.0.0.1:8080"
    @Flag(name: .long, help: "Store the department's secret keys without a passphrase (tests, demos).") var unencrypted = false
    @Option(name: .long, help: "The campaign's deadline for units' snapshots (UTC, e.g. 2026-12-20T16:59:59Z); unset by default (`campaign set` later).") var submitBy: String?
    @Option(name: .long, help: "The deadline for the city-wide dataset.") var synthesizeBy: String?
    @Option(name: .long, help: "The deadline for the handbook system's synchronization.") var syncBy: String?
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var out: OutputOptions

    func run() throws {
        try sealgate.run(json: out.json) {
            try GatewayClient.checkURL(intakeURL, what: "--intake-url")
            let campaign = Campaign(submitBy: try submitBy.map(parseInstant), synthesizeBy: try synthesizeBy.map(parseInstant), syncBy: try syncBy.map(parseInstant))
            let pass: SecureBytes? = unencrypted ? nil : try Passphrase.obtain(file: passphrase.passphraseFile, prompt: "Passphrase for the department keys: ", confirm: true)
            try data.dir.initialize(department: department, intakeURL: intakeURL.trimmingSlash, passphrase: pass)
            if campaign.isSet { try campaign.save(try data.dir.openStore()) }
            let root = try MinisignPublicKey(path: data.dir.pub(.root))
            if !out.json {
                say("initialized \(data.data) for \(department)\(pass == nil ? " (keys UNENCRYPTED)" : "")")
                say("  trust root: \(data.dir.pub(.root)) (key id \(root.keyIdHex)) — give units this file to pin")
                say("  recipient:  \(data.dir.pub(.recipient))")
                say("  intake URL: \(intakeURL.trimmingSlash) (in every trust document; change it with `sealgate trust publish --intake-url URL --data \(data.data)`)")
                if !campaign.isSet { say("  campaign deadlines: not set (nobody counts as late); set them with `sealgate campaign set --data \(data.data) --submit-by …`") }
            }
            return ["data": data.data, "department": department, "root_key": root.base64, "root_key_file": data.dir.pub(.root)]
        }
    }
}

struct Units: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Register and list units.", subcommands: [Add.self, List.self, Show.self, AddKey.self, RevokeKey.self, Flagged.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a unit and its signing key.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Unit id, e.g. HCM-U001.") var id: String
        @Option(name: .long, help: "Unit name.") var name: String
        @Option(name: .long, help: "The unit's minisign public key file.") var signingKey: String
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                guard PackageIdentifiers.isValidUnit(id) else { throw SealError(.usage, "unit id '\(id)' is not [A-Z0-9][A-Z0-9-]{1,31}", remedy: "e.g. HCM-U001") }
                let key = try MinisignPublicKey(path: signingKey)
                let store = try data.dir.openStore()
                let now = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970))
                do {
                    try store.addUnit(UnitRecord(id: id, name: name, createdAt: now),
                                      key: UnitKeyRecord(keyId: key.keyIdHex, unitId: id, publicKey: key.base64, state: "active", addedAt: now))
                } catch let e as StoreError {
                    throw SealError(.unitExists, e.message, remedy: "units and keys are registered once; list them with `sealgate units list`")
                }
                _ = try store.appendLog(kind: "unit_registered", body: JSON.object(["unit": .string(id), "key_id": .string(key.keyIdHex)]).canonical, at: now)
                if !out.json { say("registered \(id) (\(name)) with key \(key.keyIdHex)") }
                return ["unit": id, "key_id": key.keyIdHex]
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered units.")
        @OptionGroup var data: DataOption
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let store = try data.dir.openStore()
                let list = try store.units().compactMap { try store.unitStatus($0.id) }
                if !out.json {
                    for s in list { print("\(s.unit.id)\t\(s.unit.name)\tlast seq \(s.lastSeq.map(String.init) ?? "-")\tmembers \(s.members)") }
                }
                return ["units": list.map { ["unit": $0.unit.id, "name": $0.unit.name, "members": $0.members] as [String: Any] }]
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one unit: keys, last seq and package, record counts.")
        @OptionGroup var data: DataOption
        @Argument(help: "Unit id.") var id: String
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                guard let s = try data.dir.openStore().unitStatus(id) else { throw SealError(.unitUnknown, "no unit \(id)", remedy: "list units with `sealgate units list`") }
                if !out.json {
                    print("unit          \(s.unit.id) — \(s.unit.name)")
                    for k in s.keys {
                        var note = ""
                        if let sw = k.switchedAt { note += ", replaced \(sw), valid for older packages until \(k.validUntil ?? "?")" }
                        if let c = k.compromisedAt { note += ", compromised from \(c)" }
                        print("key           \(k.keyId) (\(k.state)\(note))")
                    }
                    print("last seq      \(s.lastSeq.map(String.init) ?? "-") (\(s.lastStatus ?? "-"), package \(s.lastPackage ?? "-"))")
                    print("records       \(s.members) members, \(s.organizations) organizations")
                    print("packages      \(s.packages)")
                }
                return ["unit": s.unit.id, "members": s.members, "organizations": s.organizations, "last_seq": s.lastSeq.map { Int($0) } as Any]
            }
        }
    }
}

struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "API tokens (stored hashed; shown once).", subcommands: [Create.self, List.self, Revoke.self])
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; it is printed once and only its SHA-256 is stored.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "admin or unit.") var role: String
        @Option(name: .long, help: "The unit, for a unit token.") var unit: String?
        func run() throws {
            try sealgate.run(json: false) {
                guard role == "admin" || (role == "unit" && unit != nil) else {
                    throw SealError(.usage, "--role must be admin, or unit with --unit ID", remedy: "e.g. --role unit --unit HCM-U001")
                }
                let store = try data.dir.openStore()
                if let unit, try store.unit(unit) == nil { throw SealError(.unitUnknown, "no unit \(unit)", remedy: "register it first") }
                // The token lives in secure memory; only its SHA-256 is stored.
                let token = SecretToken.generate()
                let now = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970))
                try store.addToken(TokenRecord(hash: SecretToken.hash(token), role: role, unitId: unit, createdAt: now))
                _ = try store.appendLog(kind: "token_created", body: JSON.object(["role": .string(role), "unit": unit.map(JSON.string) ?? .null]).canonical, at: now)
                SecretToken.write(token, to: STDOUT_FILENO)
                say("created a \(role) token\(unit.map { " for \($0)" } ?? "") (id \(String(SecretToken.hash(token).prefix(16))), for `tokens revoke`); it is shown only now")
                return [:]
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens by id (the first 16 hex digits of their SHA-256; the tokens themselves are not stored).")
        @OptionGroup var data: DataOption
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let list = try data.dir.openStore().tokens()
                if !out.json {
                    for t in list { print("\(t.id)\t\(t.role)\t\(t.unitId ?? "-")\tcreated \(t.createdAt)\t\(t.revokedAt.map { "REVOKED \($0)" } ?? "valid")") }
                }
                return ["tokens": list.map { ["id": $0.id, "role": $0.role, "unit": $0.unitId as Any, "created_at": $0.createdAt, "revoked_at": $0.revokedAt as Any] }]
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token: it authenticates nothing from the next request on (401 unauthorized). Logged as token_revoked.",
            discussion: "Name it by its id (from `tokens create` or `tokens list`; a unique prefix of 6 or more hex digits will do). A running gateway checks tokens on every request, so no restart is needed.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "The token id (16 hex digits, or a unique prefix).") var id: String
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let now = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970))
                let t: TokenRecord
                do {
                    t = try data.dir.openStore().revokeToken(id: id, at: now) { t in
                        JSON.object(["id": .string(t.id), "role": .string(t.role), "unit": t.unitId.map(JSON.string) ?? .null]).canonical
                    }
                } catch let e as StoreError {
                    throw SealError(SealErrorCode(e.code), e.message, remedy: "check the id with `sealgate tokens list --data \(data.dir.path)`")
                }
                if !out.json { say("revoked token \(t.id) (\(t.role)\(t.unitId.map { " of \($0)" } ?? ""))") }
                return ["id": t.id, "revoked_at": now]
            }
        }
    }
}

/// Loads the store, keys and intake. On a PostgreSQL store several processes share, each
/// spools into `spool/<node>/` (`node`: this process's name, stable across its restarts).
/// `node` is taken when given; on PostgreSQL a process always has one (`defaultNode`).
func loadIntake(_ data: DataOption, passphrase: PassphraseOptions, maxBytes: UInt64 = defaultMaxPackageBytes, node: String? = nil,
                defaultNode: String = "\(ProcessInfo.processInfo.hostName)-cli") throws -> (Intake, any GatewayStore) {
    var dir = data.dir
    let (department, _) = try dir.config()
    let store = try dir.openStore()
    if let node {
        guard !node.isEmpty, !node.contains("/"), !node.hasPrefix(".") else { throw SealError(.usage, "--node '\(node)' is not a folder name", remedy: "e.g. --node gw1") }
        dir.node = node
    } else if try dir.databaseURL() != nil {
        dir.node = defaultNode
    }
    if dir.node != nil {
        try FileManager.default.createDirectory(atPath: dir.spoolPath, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
    let pass = cachedPassphrase(passphrase)
    let keys = try DepartmentKeys.load(dir, passphrase: pass)
    return (try Intake(data: dir, store: store, keys: keys, department: department, maxPackageBytes: maxBytes, passphrase: pass), store)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway's HTTP API (intake, receipts, units, trust).",
        discussion: """
        With only --data it works: SQLite in the folder, the spool beside it, http://127.0.0.1:8080. Bodies spooled but not decided (after a crash) are processed first. Stops cleanly on SIGTERM or SIGINT.

        HTTPS: --tls-cert and --tls-key (PEM; TLS 1.2 or later, forward-secret AEAD suites only), re-read on SIGHUP without a restart; --client-ca to require client certificates. Or put a TLS proxy in front (docs/operations.md). Listening beyond loopback without TLS prints a warning.

        Strangers are bounded: --max-connections, a request head must arrive within --header-timeout, a body must keep up --min-body-rate after --body-grace.
        """)
    @OptionGroup var data: DataOption
    @Option(name: .long, help: "Address to bind.") var host: String = "127.0.0.1"
    @Option(name: .long, help: "Port (0: any free port; the chosen one is printed).") var port: Int = 8080
    @Option(name: .long, help: "Largest package body.") var maxBody: String = "256MiB"
    @Option(name: .long, help: "Packages processed at once.") var maxConcurrent: Int = 4
    @OptionGroup var listen: ListenOptions
    @Flag(name: .long, help: "Require a unit token (Authorization: Bearer) on POST /v1/packages and /v1/units/ID/keys.") var requireUnitToken = false
    @Option(name: .long, help: "How long a unit's replaced key still verifies packages created before its rotation (e.g. 14d, 2h).") var unitKeyGrace = "14d"
    @Option(name: .long, help: "Sign a checkpoint this often when the log grew outside an intake (key changes, registrations); 0s: only with receipts and on request.") var checkpointInterval = "5s"
    @Option(name: .long, help: "The forwarder's first retry delay after a failed delivery to the handbook system (doubles each time, with jitter).") var forwardRetryBase = "1s"
    @Option(name: .long, help: "The longest delay between delivery attempts.") var forwardRetryMax = "5m"
    @Option(name: .long, help: "Seconds a delivery may take before it counts as failed.") var forwardTimeout: Int = 120
    @Option(name: .long, help: "This process's name among several serving one store (its spool is spool/NAME/, which it recovers after a crash); default on PostgreSQL HOSTNAME-PORT (HOSTNAME-pidPID with --port 0).") var node: String?
    @Option(name: .long, help: "Synthesize a new dataset this often (e.g. 24h) when units' records changed since the last one; off by default (sealgate synthesize, POST /v1/datasets).") var synthesizeEvery: String?
    @OptionGroup var passphrase: PassphraseOptions

    func run() async throws {
        var config = GatewayServerConfig()
        config.maxConcurrentIntakes = max(1, maxConcurrent)
        config.requireUnitToken = requireUnitToken
        config.unitKeyGraceSeconds = try parseDuration(unitKeyGrace)
        config.checkpointIntervalSeconds = try parseDuration(checkpointInterval)
        config.forwardRetryBaseSeconds = try parseDuration(forwardRetryBase)
        config.forwardRetryMaxSeconds = try parseDuration(forwardRetryMax)
        config.forwardTimeoutSeconds = max(1, forwardTimeout)
        config.synthesizeEverySeconds = try synthesizeEvery.map(parseDuration) ?? 0
        let (intake, store): (Intake, any GatewayStore)
        let tls: (TLSIdentity, any DispatchSourceSignal)?
        var spoolLock: Int32 = -1
        do {
            config.listen = try listen.settings(host: host, port: port)
            tls = try listen.identity(config.listen)
            config.maxBodyBytes = Int(try parseSize(maxBody))
            (intake, store) = try loadIntake(data, passphrase: passphrase, maxBytes: UInt64(config.maxBodyBytes),
                                             node: node,
                                             // --port 0 names no stable port: the process id keeps two such processes apart
                                             defaultNode: "\(ProcessInfo.processInfo.hostName)-\(port != 0 ? String(port) : "pid\(ProcessInfo.processInfo.processIdentifier)")")
            spoolLock = try intake.data.lockSpool()
            let stale = intake.data.removeStale()
            if stale > 0 { say("removed \(stale) file(s) or folder(s) an interrupted run left (opened packages, unsealed dataset files)") }
            let recovered = try intake.recover()
            if !recovered.decided.isEmpty { say("decided \(recovered.decided.count) package(s) received whole but not decided by an earlier run") }
            if recovered.removed > 0 { say("removed \(recovered.removed) body(ies) an earlier run received only in part (never acknowledged: their units send them again)") }
            if recovered.setAside > 0 {
                say("set aside \(recovered.setAside) body(ies) the store does not know in \(intake.data.spoolPath)/orphans/ (never decided on start; `sealgate import` them by hand if they should be)")
            }
            if recovered.pending > 0 { say("warning: \(recovered.pending) package(s) could not be decided now (a fault of the gateway's own); they stay pending for the next start") }
        } catch let e as SealError {
            FileHandle.standardError.write(Data("error: \(e.code): \(e.message)\n  what to do: \(e.remedy)\n".utf8))
            throw ExitCode(exitStatus(for: e.code))
        }
        let listen = config.listen
        say("store \(store.location)\(intake.data.node.map { ", node \($0) (spool \(intake.data.spoolPath))" } ?? "")")
        if let w = listen.plainTextWarning { say("warning: \(w)") }
        let published = (try? Publication.load(intake.data, store: store))?.intakeURL
        let dataPath = data.data
        try await serveGateway(intake: intake, store: store, config: config, tls: tls?.0) { port in
            FileHandle.standardOutput.write(Data("listening on \(listen.url(port: port))\n".utf8))
            if let published, let w = intakeURLMismatch(published: published, listen: listen, port: port) {
                say("warning: \(w); change it with `sealgate trust publish --intake-url URL --data \(dataPath)`")
            }
        }
        withExtendedLifetime(tls) {}
        close(spoolLock)
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Process packages handed in on media, as the HTTP intake would; writes PKG.receipt.json and PKG.receipt.json.minisig beside each.")
    @OptionGroup var data: DataOption
    @Argument(help: "Package files.") var packages: [String]
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var out: OutputOptions
    func run() throws {
        try sealgate.run(json: out.json) {
            let (intake, _) = try loadIntake(data, passphrase: passphrase)
            var results: [[String: Any]] = []
            var anyRejected = false
            for p in packages {
                let (incoming, sha, size) = try intake.receiveFile(p)
                switch try intake.admit(incoming: incoming, sha256: sha, size: size, tokenUnit: nil, viewer: .admin) {
                case .refused(let e):
                    anyRejected = true
                    if !out.json { say("\(p): refused — \(e.code): \(e.message)\n  what to do: \(e.remedy)") }
                    results.append(["package": p, "status": "refused", "code": e.code.rawValue])
                case .duplicate(let receipt, let signature):
                    try receipt.write(toFile: "\(p).receipt.json", atomically: true, encoding: .utf8)
                    try signature.write(toFile: "\(p).receipt.json.minisig", atomically: true, encoding: .utf8)
                    if !out.json { say("\(p): already decided (its first receipt)") }
                    results.append(["package": p, "status": "duplicate", "receipt": "\(p).receipt.json"])
                case .admitted(let spoolId):
                    let r: IntakeResult
                    do { r = try intake.process(spoolId: spoolId) } catch {
                        intake.forget(spoolId: spoolId)
                        throw error
                    }
                    try r.outcome.receipt.write(toFile: "\(p).receipt.json", atomically: true, encoding: .utf8)
                    try r.outcome.receiptSignature.write(toFile: "\(p).receipt.json.minisig", atomically: true, encoding: .utf8)
                    let status = r.outcome.status
                    if r.kind != .accepted && r.kind != .duplicate { anyRejected = true }
                    if !out.json { say("\(p): \(r.kind == .duplicate ? "duplicate of an earlier package (first receipt)" : status)\(r.outcome.code.map { " — \($0)" } ?? "")") }
                    results.append(["package": p, "status": status, "code": r.outcome.code as Any, "receipt": "\(p).receipt.json"])
                }
            }
            if anyRejected && !out.json { throw ExitCode(1) }
            return ["results": results]
        }
    }
}

struct Trust: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The gateway's trust document (what units seal to).", subcommands: [Fetch.self, Publish.self])

    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a new version of the trust document (signed by the trust root), e.g. before the current one expires or when the intake URL changes.",
            discussion: "The document is computed from the store: every recipient and signing key in its current state (a decrypt-only or verify-only key keeps its date, a retired one is left out), the intake URL and the validity kept in the store. --intake-url and --valid-days change those for this and every later publication (key commands publish too). The version goes up by one; units' `trust fetch` takes it and refuses older versions from then on. The change is a log entry. A running gateway serves it at once.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Days the document is valid (kept for later publications).") var validDays: Int?
        @Option(name: .long, help: "The intake URL units submit to, e.g. https://gateway.example (kept for later publications).") var intakeURL: String?
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                if let validDays, !(1...3650).contains(validDays) { throw SealError(.usage, "--valid-days must be 1 to 3650", remedy: "e.g. --valid-days 90") }
                if let intakeURL { try GatewayClient.checkURL(intakeURL, what: "--intake-url") }
                let store = try data.dir.openStore()
                var publication = try Publication.load(data.dir, store: store)
                if let intakeURL { publication.intakeURL = intakeURL.trimmingSlash }
                if let validDays { publication.validityDays = validDays }
                if intakeURL != nil || validDays != nil { try publication.save(data.dir, store: store) }
                let keys = try DepartmentKeys.load(data.dir, passphrase: passphrase.provider(prompt: "Passphrase for the department keys: "))
                let doc = try TrustPublication.publish(data.dir, store: store, keys: keys)
                if !out.json { say("published trust document version \(doc.version) (intake \(doc.intakeURL), expires \(doc.expires))") }
                if let w = GatewayClient.plainTextWarning(doc.intakeURL) { say("warning: \(w)") }
                return ["version": doc.version, "expires": doc.expires, "intake_url": doc.intakeURL]
            }
        }
    }
    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch the trust document and verify it against the pinned root key; writes FILE and FILE.minisig.",
            discussion: "Refuses a document that is expired, not signed by --root, or older than the one already in FILE. When the department rotated its trust root, the versions since the one held are fetched in turn; a new root is taken only from the version signed by both the old and the new root, and --root is then rewritten with the new root (the pin moves).")
        @Option(name: .long, help: "Gateway URL, e.g. http://127.0.0.1:8080.") var gateway: String
        @Option(name: .long, help: "The department's trust-root public key (pinned).") var root: String
        @Option(name: .shortAndLong, help: "Where to keep the document.") var output: String = "trust.json"
        @OptionGroup var client: ClientOptions
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                try GatewayClient.checkURL(gateway, what: "--gateway URL")
                warnIfPlainText(gateway)
                return try await GatewayClient.withClient(try client.settings(maxResponseBytes: 1 << 20)) { http in
                func get(_ version: UInt64?) async throws -> (body: String, signature: String, cross: String?) {
                    let r = try await http.send("GET", gateway.trimmingSlash + "/v1/trust" + (version.map { "?version=\($0)" } ?? ""))
                    guard r.status == 200, let sigB64 = r.headers["sealgate-signature"], let sig = Base64.decode(sigB64, padded: true) else {
                        throw SealError(.httpError, "the gateway answered \(r.status) without a signed trust document", remedy: "check --gateway")
                    }
                    let cross = r.headers["sealgate-root-signature"].flatMap { Base64.decode($0, padded: true) }.map { String(decoding: $0, as: UTF8.self) }
                    return (r.text, String(decoding: sig, as: UTF8.self), cross)
                }
                let held = (try? String(contentsOfFile: output, encoding: .utf8)).flatMap { try? JSON(parsing: $0) }?["version"]?.int.map { UInt64($0) }
                let pinned = try MinisignPublicKey(path: root)
                var pin = pinned
                let latest = try await get(nil)
                if let named = TrustDocument.namedRoot(latest.body), named.base64 != pin.base64 {
                    // The root changed since: walk the versions after the one held, each checked
                    // against the current pin; the pin moves only on a doubly signed version.
                    let last = UInt64(try JSON(parsing: latest.body)["version"]?.int ?? 0)
                    let first = (held ?? 0) + 1
                    if first < last {
                        for v in first..<last {
                            let d = try await get(v)
                            _ = try TrustDocument.verify(body: d.body, signature: d.signature, root: pin, heldVersion: held, rootCrossSignature: d.cross, allowExpired: true)
                            if let n = TrustDocument.namedRoot(d.body) { pin = n }
                        }
                    }
                }
                let doc = try TrustDocument.verify(body: latest.body, signature: latest.signature, root: pin, heldVersion: held, rootCrossSignature: latest.cross)
                let newRoot = try doc.publicKey("root")
                try latest.body.write(toFile: output, atomically: true, encoding: .utf8)
                try latest.signature.write(toFile: output + ".minisig", atomically: true, encoding: .utf8)
                var result: [String: Any] = ["version": doc.version, "department": doc.department, "expires": doc.expires, "file": output]
                if newRoot.base64 != pinned.base64 {
                    let pk = MinisignPublicKey(keyId: newRoot.keyId, key: newRoot.key, comment: "sealgate root key \(newRoot.keyIdHex) of \(doc.department)")
                    try pk.fileContents.write(toFile: root, atomically: true, encoding: .utf8)
                    if !out.json { say("the department's trust root changed from \(pinned.keyIdHex) to \(newRoot.keyIdHex) (signed by both); \(root) now pins the new root") }
                    result["root_rotated_to"] = newRoot.keyIdHex
                }
                if !out.json { say("trust document version \(doc.version) of \(doc.department) verified (expires \(doc.expires)); saved to \(output)") }
                return result
                }
            }
        }
    }
}

/// Reads a verified trust document kept by `trust fetch` (re-verified with its own root key):
/// FILE and its signature FILE.minisig beside it.
func loadTrust(_ path: String) throws -> TrustDocument {
    guard let body = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw SealError(.usage, "cannot read the trust document \(path)", remedy: "fetch it first: sealgate trust fetch --gateway URL --root ROOT.pub -o \(path)")
    }
    guard let sig = try? String(contentsOfFile: path + ".minisig", encoding: .utf8) else {
        throw SealError(.usage, "cannot read \(path).minisig, the trust document's signature, which `trust fetch` writes beside \(path)",
                        remedy: "keep \(path) and \(path).minisig together, or fetch both again: sealgate trust fetch --gateway URL --root ROOT.pub -o \(path)")
    }
    let doc = TrustDocument(json: try JSON(parsing: body))
    return try TrustDocument.verify(body: body, signature: sig, root: try doc.publicKey("root"), heldVersion: nil)
}

extension String {
    var trimmingSlash: String { hasSuffix("/") ? String(dropLast()) : self }
}

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit packages to the gateway; saves PKG.receipt.json and PKG.receipt.json.minisig and checks the receipt's signature.",
        discussion: "The gateway's address is the trust document's intake URL unless --gateway names another. An https:// gateway with a certificate from a private CA needs --ca-file (or SEALGATE_CA_FILE). A package that was not answered (a timeout, a 503) can be sent again as it is: the gateway gives each package one outcome and answers a repeat with its first receipt.")
    @Option(name: .long, help: "Gateway URL (default: the trust document's intake URL).") var gateway: String?
    @Option(name: .long, help: "The trust document from `trust fetch`.") var trust: String
    @Option(name: .long, help: "A unit token, when the gateway requires one (prefer SEALGATE_TOKEN: arguments are visible in `ps`).") var token: String?
    @OptionGroup var client: ClientOptions
    @Argument(help: "Package files.") var packages: [String]
    @OptionGroup var out: OutputOptions
    func run() async throws {
        try await runAsync(json: out.json) {
            let doc = try loadTrust(trust)
            let origin = gateway == nil ? "the intake URL of trust document \(trust), version \(doc.version)" : nil
            let base = (gateway ?? doc.intakeURL).trimmingSlash
            try GatewayClient.checkURL(base, what: origin.map { "gateway URL (\($0))" } ?? "--gateway URL")
            let url = base + "/v1/packages"
            let token = token ?? ProcessInfo.processInfo.environment["SEALGATE_TOKEN"]
            warnIfPlainText(base, origin: origin)
            return try await GatewayClient.withClient(try client.settings(maxResponseBytes: 4 << 20)) { http in
                var results: [[String: Any]] = []
                var failed = false
                for p in packages {
                    guard FileManager.default.isReadableFile(atPath: p) else {
                        throw SealError(.usage, "cannot read the package \(p)", remedy: "check the path; seal it first with `sealgate seal`")
                    }
                    var headers = [("Content-Type", "application/vnd.sealgate.package")]
                    if let token { headers.append(("Authorization", "Bearer \(token)")) }
                    let r: ClientResponse
                    do { r = try await http.send("POST", url, headers: headers, body: .file(p)) } catch let e as SealError {
                        guard let origin else { throw e }
                        throw SealError(e.code, "\(e.message) — the address is \(origin)", remedy: "\(e.remedy); or give --gateway URL", underlying: e.underlying)
                    }
                    var receiptText = r.text
                    if r.headers["content-type"]?.hasPrefix("application/problem+json") == true {
                        let prob = (try? JSON(parsing: r.text)) ?? .null
                        guard let embedded = prob["receipt"]?.string else {
                            failed = true
                            say("\(p): \(r.status) \(prob["code"]?.string ?? "error") — \(prob["detail"]?.string ?? "") (\(prob["remedy"]?.string ?? ""))")
                            results.append(["package": p, "http": r.status, "code": prob["code"]?.string as Any])
                            continue
                        }
                        receiptText = embedded
                    }
                    guard let sigB64 = r.headers["sealgate-receipt-signature"], let sigBytes = Base64.decode(sigB64, padded: true) else {
                        throw SealError(.receiptInvalid, "the gateway answered \(r.status) without a receipt signature", remedy: "check --gateway")
                    }
                    let sigText = String(decoding: sigBytes, as: UTF8.self)
                    let body = try Receipt.verify(text: receiptText, signature: sigText, trust: doc)
                    // A replay answered without the unit's token carries only the public facts:
                    // it never replaces the full receipt kept from the first submission.
                    let reduced = body["status"]?.string == "duplicate"
                    if !reduced || !FileManager.default.fileExists(atPath: "\(p).receipt.json") {
                        try receiptText.write(toFile: "\(p).receipt.json", atomically: true, encoding: .utf8)
                        try sigText.write(toFile: "\(p).receipt.json.minisig", atomically: true, encoding: .utf8)
                    }
                    let status = reduced ? (body["first_status"]?.string ?? "?") : (body["status"]?.string ?? "?")
                    let code = body["error"]?["code"]?.string ?? body["code"]?.string
                    if status != "accepted" { failed = true }
                    if !out.json {
                        let what = r.status == 200 ? "already received, decided \(status)\(reduced ? " (the full receipt: submit with the unit's token, SEALGATE_TOKEN)" : " (its first receipt)")" : status
                        say("\(p): \(r.status) \(what)\(code.map { " — \($0): \(body["error"]?["message"]?.string ?? "")" } ?? "") · receipt verified, leaf \(body["leaf"]?.int ?? -1)")
                        if let remedy = body["error"]?["remedy"]?.string { say("  what to do: \(remedy)") }
                    }
                    results.append(["package": p, "http": r.status, "status": status, "code": code as Any, "receipt": "\(p).receipt.json"])
                }
                if failed && !out.json { throw ExitCode(1) }
                return ["results": results]
            }
        }
    }
}

struct ReceiptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "receipt", abstract: "Check receipts.", subcommands: [VerifyReceipt.self])
    struct VerifyReceipt: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify a receipt (RECEIPT and RECEIPT.minisig) with the receipt key of the trust document.",
            discussion: "The key that signed it must be the trust document's receipt_key, or a rotated receipt key it lists in signing_keys (pending, or verify-only until a date not before the receipt's decided_at). The receipt's log entry must be included in the checkpoint it carries, signed by a log key accepted the same way. The same signature check by hand: minisign -V -p receipt.pub -m receipt.json (receipt.pub: the key of the trust document).")
        @Option(name: .long, help: "The trust document.") var trust: String
        @Argument(help: "The receipt (…receipt.json).") var receipt: String
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let doc = try loadTrust(trust)
                let text = try String(contentsOfFile: receipt, encoding: .utf8)
                let sig = try String(contentsOfFile: receipt + ".minisig", encoding: .utf8)
                let body = try Receipt.verify(text: text, signature: sig, trust: doc)
                if !out.json {
                    say("receipt verified (signature, and inclusion in the signed log checkpoint): package \(body["package"]?.string ?? "-") of \(body["unit"]?.string ?? "-") seq \(body["seq"]?.int.map(String.init) ?? "-") — \(body["status"]?.string ?? "?"), leaf \(body["leaf"]?.int ?? -1)")
                }
                return ["package": body["package"]?.string as Any, "status": body["status"]?.string as Any, "leaf": body["leaf"]?.int as Any]
            }
        }
    }
}

/// Why units would not reach this process at the published intake URL, if they would not:
/// another scheme or port (unless a proxy in front forwards one to the other).
func intakeURLMismatch(published: String, listen: ListenSettings, port: Int) -> String? {
    guard let u = URL(string: published), let scheme = u.scheme?.lowercased() else { return "the published intake URL '\(published)' is not a URL" }
    let ownScheme = listen.tls == nil ? "http" : "https"
    let publishedPort = u.port ?? (scheme == "https" ? 443 : 80)
    let host = (u.host ?? "").lowercased()
    let loopbackURL = host == "localhost" || host.hasPrefix("127.") || host == "::1"
    if scheme == ownScheme && publishedPort == port && (loopbackURL == listen.isLoopback || !loopbackURL) { return nil }
    return "units seal and submit to the published intake URL \(published), but this process listens on \(listen.url(port: port)): they reach it only if a proxy forwards one to the other"
}
