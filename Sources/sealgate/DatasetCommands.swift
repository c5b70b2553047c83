import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import SealCrypto
import SealPackage

struct Synthesize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge every unit's current records into the next city-wide dataset version, sealed to the handbook system.",
        discussion: """
        Writes DATA/datasets/vN/ (organizations.csv, members.csv, conflicts.csv, stats.json) and DATA/datasets/dataset-vN.sgp (kind=dataset, seq = N, signed with the dataset key, encrypted to the handbook system's recipients). Records that share a citizen_id or member_id with another unit's are withheld and listed in conflicts.csv with both units. The same store contents give the same data bytes. A running gateway's forwarder delivers the version (also: POST /v1/datasets with an admin token).
        """)
    @OptionGroup var data: DataOption
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var out: OutputOptions
    func run() throws {
        try sealgate.run(json: out.json) {
            let dir = data.dir
            let (department, _) = try dir.config()
            let store = try dir.openStore()
            let keys = try DepartmentKeys.load(dir, passphrase: cachedPassphrase(passphrase))
            let start = Date()
            if !out.json { say("synthesizing from \(try store.campaignRows().count) registered units…") }
            let s = try Synthesis.synthesize(data: dir, store: store, keys: keys, department: department, progress: { if !out.json { say("  " + $0) } })
            if !out.json {
                say(String(format: "dataset version %llu: %d members, %d organizations from %d units; %d conflict row(s), %d record(s) withheld — %.1f s",
                           s.version, s.members, s.organizations, s.units, s.conflicts, s.withheld, Date().timeIntervalSince(start)))
                say("sealed to the handbook system: \(s.path) (package \(s.packageId)); the gateway's forwarder delivers it")
            }
            return ["version": s.version, "package": s.packageId, "path": s.path, "members": s.members, "organizations": s.organizations,
                    "conflicts": s.conflicts, "withheld": s.withheld, "units": s.units]
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The campaign view: units registered / submitted / accepted clean / with warnings / rejected / missing, what is late, the last dataset's delivery.",
        discussion: "The same as GET /v1/campaign (admin token). Deadlines: `sealgate campaign set`.")
    @OptionGroup var data: DataOption
    @Flag(name: .long, help: "List every unit, not only those that need attention.") var all = false
    @OptionGroup var out: OutputOptions
    func run() throws {
        try sealgate.run(json: out.json) {
            let j = try CampaignStatus.build(store: try data.dir.openStore())
            if !out.json {
                let u = j["units"]!, c = j["campaign"]!
                switch j["deadlines"]?.string {
                case "unset":
                    print("campaign: deadlines not set — nobody counts as late (now \(j["now"]?.string ?? ""))")
                    print("  set them: sealgate campaign set --data \(data.data) --submit-by 2026-12-20T16:59:59Z --synthesize-by … --sync-by …")
                default:
                    print("campaign: submit by \(c["submit_by"]?.string ?? "-"), synthesize by \(c["synthesize_by"]?.string ?? "-"), sync by \(c["sync_by"]?.string ?? "-")  (now \(j["now"]?.string ?? ""))")
                    if j["deadlines"]?.string == "submission_closed" {
                        print("  the submit deadline has passed: units without an accepted snapshot are late (move it with `sealgate campaign set --submit-by`)")
                    }
                }
                print("units: \(u["registered"]?.int ?? 0) registered, \(u["submitted"]?.int ?? 0) submitted (\(u["accepted_clean"]?.int ?? 0) clean, \(u["accepted_with_warnings"]?.int ?? 0) with warnings), \(u["rejected"]?.int ?? 0) rejected only, \(u["missing"]?.int ?? 0) missing; \(u["late"]?.array?.count ?? 0) late")
                for row in j["per_unit"]?.array ?? [] where all || row["state"]?.string == "rejected" || row["state"]?.string == "missing" || row["late"] == .bool(true) {
                    print("  \(row["unit"]?.string ?? "")\t\(row["state"]?.string ?? "")\tmembers \(row["members"]?.int ?? 0)\tcompleteness \(row["completeness"]?.string ?? "-")\(row["late"] == .bool(true) ? "\tLATE" : "")")
                }
                if let d = j["last_dataset"], d != .null {
                    print("last dataset: version \(d["version"]?.int ?? 0), \(d["members"]?.int ?? 0) members, \(d["conflicts"]?.int ?? 0) conflict rows — \(d["state"]?.string ?? "") after \(d["attempts"]?.int ?? 0) attempt(s)\(d["delivered_at"]?.string.map { " at \($0)" } ?? "")\(d["last_error"]?.string.map { "; last error: \($0)" } ?? "")")
                } else {
                    print("no dataset synthesized yet")
                }
            }
            return ["campaign": j.foundation]
        }
    }
}

struct CampaignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "campaign", abstract: "The campaign's deadlines.", subcommands: [Set.self])
    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the deadlines (UTC, e.g. 2026-12-20T16:59:59Z, or \"now\"); each is unset until set, and nobody is late against an unset one. Logged.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Units submit by.") var submitBy: String?
        @Option(name: .long, help: "The department synthesizes by.") var synthesizeBy: String?
        @Option(name: .long, help: "The handbook system is synchronized by.") var syncBy: String?
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let store = try data.dir.openStore()
                guard submitBy != nil || synthesizeBy != nil || syncBy != nil else {
                    throw SealError(.usage, "no deadline given", remedy: "give --submit-by, --synthesize-by and/or --sync-by (UTC, e.g. 2026-12-20T16:59:59Z)")
                }
                var c = try Campaign.load(store)
                if let v = submitBy { c.submitBy = try parseInstant(v) }
                if let v = synthesizeBy { c.synthesizeBy = try parseInstant(v) }
                if let v = syncBy { c.syncBy = try parseInstant(v) }
                try c.save(store)
                if !out.json { say("deadlines: submit by \(c.submitBy ?? "-"), synthesize by \(c.synthesizeBy ?? "-"), sync by \(c.syncBy ?? "-")") }
                return ["submit_by": c.submitBy as Any, "synthesize_by": c.synthesizeBy as Any, "sync_by": c.syncBy as Any]
            }
        }
    }
}

struct Handbook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The handbook system's side: a receiver for datasets, and connecting the gateway to it.",
        subcommands: [HandbookInit.self, Connect.self, HandbookServe.self])

    struct HandbookInit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create the handbook receiver's keys: identity.key (age; datasets are encrypted to identity.pub) and ack.key (minisign; signs acknowledgements, ack.pub).")
        @Option(name: .long, help: "The receiver's data folder.") var data: String
        @Flag(name: .long, help: "Store the secret keys without a passphrase (a service with protected storage, demos).") var unencrypted = false
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let pass: SecureBytes? = unencrypted ? nil : try Passphrase.obtain(file: passphrase.passphraseFile, prompt: "Passphrase for the handbook keys: ", confirm: true)
                let identity = try AgeX25519Identity.generate()
                let file = AgeIdentityFile.fileContents(identity, created: PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970)))
                if let pass {
                    let armored = try Age.encryptSmallSecret(file, to: [AgeScryptRecipient(passphrase: pass)])
                    try SecretFile.write(path: "\(data)/identity.key", contents: armored.withUnsafeBytes { SecureBytes(copying: $0) })
                } else {
                    try SecretFile.write(path: "\(data)/identity.key", contents: file)
                }
                try SecretFile.writePublic(path: "\(data)/identity.pub", contents: "# handbook system recipient, fingerprint \(identity.recipient.fingerprint)\n\(identity.recipient.string)\n")
                let ack = MinisignSecretKey.generate()
                try SecretFile.write(path: "\(data)/ack.key", contents: try ack.fileContents(passphrase: pass, opsLimit: 1 << 20, memLimit: 1 << 26))
                try SecretFile.writePublic(path: "\(data)/ack.pub", contents: MinisignPublicKey(keyId: ack.publicKey.keyId, key: ack.publicKey.key, comment: "sealgate handbook ack key \(ack.publicKey.keyIdHex)").fileContents)
                if !out.json {
                    say("wrote \(data)/identity.key and identity.pub (recipient \(identity.recipient.string)), \(data)/ack.key and ack.pub (key id \(ack.publicKey.keyIdHex))")
                    say("give identity.pub and ack.pub to the department: sealgate handbook connect --data DEPT --url http://… --recipient identity.pub --ack-key ack.pub")
                }
                return ["recipient": identity.recipient.string, "ack_key_id": ack.publicKey.keyIdHex]
            }
        }
    }

    struct Connect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tell the gateway where the handbook system is: its sync URL, the recipient(s) datasets are sealed to, the key its acknowledgements are signed with. Logged.",
            discussion: "The endpoint is tried once (GET URL/v1/health): a certificate the gateway does not trust is refused here (tls_untrusted), while a receiver that is not up yet only gives a warning — the forwarder keeps trying. For https:// with a private CA give --ca-file: its certificates are kept in the store, so every gateway process checks the receiver with them; --client-cert/--client-key (paths on the gateway's machines) when the receiver requires a client certificate.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "The handbook system's base URL (POST URL/v1/datasets).") var url: String
        @Option(name: .long, help: "The handbook system's age recipient file (or age1… text); repeat for several.") var recipient: [String]
        @Option(name: .long, help: "The handbook system's acknowledgement public key (minisign .pub).") var ackKey: String
        @OptionGroup var client: ClientOptions
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                try GatewayClient.checkURL(url, what: "--url")
                warnIfPlainText(url)
                let recipients = try recipient.map { r -> AgeX25519Recipient in
                    let text = FileManager.default.fileExists(atPath: r) ? (try String(contentsOfFile: r, encoding: .utf8)) : r
                    guard let line = text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: { $0.hasPrefix("age1") }) else {
                        throw SealError(.usage, "\(r) holds no age1… recipient", remedy: "give the handbook system's identity.pub")
                    }
                    return try AgeX25519Recipient(string: line)
                }
                let settings = try client.settings(maxResponseBytes: 1 << 20)
                var caPEM: String?
                if let ca = settings.caFile {
                    guard let text = try? String(contentsOfFile: ca, encoding: .utf8), text.contains("-----BEGIN CERTIFICATE-----") else {
                        throw SealError(.usage, "\(ca) is not a PEM certificate file", remedy: "give --ca-file the CA certificate that signed the handbook receiver's certificate")
                    }
                    caPEM = text
                }
                let endpoint = HandbookEndpoint(url: url.trimmingSlash, recipients: recipients, ackKey: try MinisignPublicKey(path: ackKey), caPEM: caPEM,
                                                clientCertificateFile: client.clientCert.map { DataDirectory.absolute($0) },
                                                clientKeyFile: client.clientKey.map { DataDirectory.absolute($0) })
                // One try now: a wrong CA is a configuration error; a receiver that is down is not.
                var checkSettings = endpoint.clientSettings(timeoutSeconds: min(client.timeout, 15))
                checkSettings.maxResponseBytes = 1 << 20
                var reachable = true
                do {
                    _ = try await GatewayClient.withClient(checkSettings) { try await $0.send("GET", endpoint.url + "/v1/health") }
                } catch let e as SealError where e.code == .tlsUntrusted || e.code == .tlsFailed || e.code == .tlsClientRefused || e.code == .usage {
                    throw e
                } catch let e as SealError {
                    reachable = false
                    say("warning: \(e.message); the endpoint is recorded and the forwarder keeps trying")
                }
                let store = try data.dir.openStore()
                try store.setSetting("handbook", endpoint.json.canonical)
                _ = try store.appendLog(kind: "handbook_connected", body: endpoint.json.canonical, at: PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970)))
                if !out.json { say("datasets go to \(endpoint.url), sealed to \(recipients.map(\.fingerprint).joined(separator: ", ")); acknowledgements checked with \(endpoint.ackKey.keyIdHex)") }
                return ["url": endpoint.url, "recipients": recipients.map(\.string), "ack_key_id": endpoint.ackKey.keyIdHex, "reachable": reachable]
            }
        }
    }

    struct HandbookServe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Run the handbook receiver: POST /v1/datasets takes a sealed dataset and answers a signed acknowledgement.",
            discussion: "Verifies the department's dataset signature through the trust document (re-read on every dataset, so a newer `trust fetch` takes effect at once), decrypts with the identity, checks the manifest, imports into DATA/handbook.sqlite all or nothing, refuses an older or repeated version (a repeat of the same package gets its first acknowledgement). GET /v1/health shows the current counts. TLS and client limits as for `sealgate serve` (--tls-cert/--tls-key, re-read on SIGHUP; --client-ca; --max-connections, --header-timeout, --body-grace, --min-body-rate).")
        @Option(name: .long, help: "The receiver's data folder (from `handbook init`).") var data: String
        @Option(name: .long, help: "The age identity datasets are encrypted to (default DATA/identity.key).") var identity: String?
        @Option(name: .long, help: "The minisign key acknowledgements are signed with (default DATA/ack.key).") var ackKey: String?
        @Option(name: .long, help: "The department's trust document (from `sealgate trust fetch`).") var trust: String
        @Option(name: .long, help: "Address to bind.") var host: String = "127.0.0.1"
        @Option(name: .long, help: "Port (0: any free port; printed).") var port: Int = 8090
        @Option(name: .long, help: "Largest dataset accepted.") var maxBody: String = "4GiB"
        @OptionGroup var listen: ListenOptions
        @OptionGroup var passphrase: PassphraseOptions
        func run() async throws {
            let receiver: HandbookReceiver
            let maxBytes: UInt64
            let settings: ListenSettings
            let tls: (TLSIdentity, any DispatchSourceSignal)?
            do {
                settings = try listen.settings(host: host, port: port)
                tls = try listen.identity(settings)
                maxBytes = try parseSize(maxBody)
                let pass = cachedPassphrase(passphrase)
                let ids = try AgeIdentityFile.load(path: identity ?? "\(data)/identity.key", passphrase: pass)
                let ack = try MinisignSecretKey.load(path: ackKey ?? "\(data)/ack.key", passphrase: pass)
                _ = try loadTrust(trust)
                let trustPath = trust
                receiver = try HandbookReceiver(dir: data, identities: ids, ackKey: ack, trust: { try loadTrust(trustPath) }, maxBytes: maxBytes)
            } catch let e as SealError {
                FileHandle.standardError.write(Data("error: \(e.code): \(e.message)\n  what to do: \(e.remedy)\n".utf8))
                throw ExitCode(exitStatus(for: e.code))
            } catch {
                FileHandle.standardError.write(Data("error: store_failure: cannot open \(data)/handbook.sqlite: \(error)\n  what to do: check the folder, its permissions and free space\n".utf8))
                throw ExitCode(74)
            }
            if let w = settings.plainTextWarning { say("warning: \(w)") }
            try await serveHandbook(receiver: receiver, listen: settings, tls: tls?.0, maxBodyBytes: Int(maxBytes)) { port in
                FileHandle.standardOutput.write(Data("handbook receiver listening on \(settings.url(port: port))\n".utf8))
            }
            withExtendedLifetime(tls) {}
        }
    }
}

extension JSON {
    /// As Foundation values, for `--json` output.
    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return i
        case .string(let s): return s
        case .array(let a): return a.map(\.foundation)
        case .object(let o): return o.mapValues(\.foundation)
        }
    }
}
