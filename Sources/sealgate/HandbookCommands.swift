import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import Handbook
import PackageCommands
import SealCrypto
import SealPackage

struct Handbook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The handbook system's side: a receiver for datasets, and connecting the gateway to it.",
        subcommands: [HandbookInit.self, Connect.self, HandbookServe.self])

    struct HandbookInit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract:
                "Create the handbook receiver's keys: identity.key (age; datasets are encrypted to identity.pub) and ack.key (minisign; signs acknowledgements, ack.pub)."
        )
        @Option(name: .long, help: "The receiver's data folder.") var data: String
        @Flag(name: .long, help: "Store the secret keys without a passphrase (a service with protected storage, demos).") var unencrypted = false
        @Flag(
            name: .long,
            help: "A post-quantum recipient (age1pq1…, ML-KEM-768 with X25519) for the datasets, for a department whose recipient is one."
        ) var pq = false
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json, hints: newKeyHints) {
                try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let pass: SecureBytes? =
                    unencrypted
                    ? nil : try Passphrase.obtain(file: passphrase.passphraseFile, prompt: "Passphrase for the handbook keys: ", confirm: true)
                let identity: any AgeKeyIdentity = pq ? try AgeHybridIdentity.generate() : try AgeX25519Identity.generate()
                let file = AgeIdentityFile.fileContents(
                    identity, created: Timestamp.now.text)
                if let pass {
                    let armored = try Age.encryptSmallSecret(file, to: [AgeScryptRecipient(passphrase: pass)])
                    try SecretFile.write(path: "\(data)/identity.key", contents: armored.withUnsafeBytes { SecureBytes(copying: $0) })
                } else {
                    try SecretFile.write(path: "\(data)/identity.key", contents: file)
                }
                try SecretFile.writePublic(
                    path: "\(data)/identity.pub",
                    contents: "# handbook system recipient, fingerprint \(identity.keyRecipient.fingerprint)\n\(identity.keyRecipient.string)\n")
                let ack = MinisignSecretKey.generate()
                try SecretFile.write(path: "\(data)/ack.key", contents: try ack.fileContents(passphrase: pass, opsLimit: 1 << 20, memLimit: 1 << 26))
                try SecretFile.writePublic(
                    path: "\(data)/ack.pub",
                    contents: MinisignPublicKey(
                        keyId: ack.publicKey.keyId, key: ack.publicKey.key, comment: "sealgate handbook ack key \(ack.publicKey.keyIdHex)"
                    ).fileContents)
                if !out.json {
                    say(
                        "wrote \(data)/identity.key and identity.pub (recipient \(identity.keyRecipient.string)), \(data)/ack.key and ack.pub (key id \(ack.publicKey.keyIdHex))"
                    )
                    say(
                        "give identity.pub and ack.pub to the department: sealgate handbook connect --data DEPT --url http://… --recipient identity.pub --ack-key ack.pub"
                    )
                }
                return ["recipient": identity.keyRecipient.string, "ack_key_id": ack.publicKey.keyIdHex]
            }
        }
    }

    struct Connect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Tell the gateway where the handbook system is: its sync URL, the recipient(s) datasets are sealed to, the key its acknowledgements are signed with. Logged.",
            discussion:
                "The endpoint is tried once (GET URL/v1/health): a certificate the gateway does not trust is refused here (tls_untrusted), while a receiver that is not up yet only gives a warning — the forwarder keeps trying. For https:// with a private CA give --ca-file: its certificates are kept in the store, so every gateway process checks the receiver with them; --client-cert/--client-key (paths on the gateway's machines) when the receiver requires a client certificate."
        )
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "The handbook system's base URL (POST URL/v1/datasets).") var url: String
        @Option(name: .long, help: "The handbook system's age recipient file (or age1… text); repeat for several.") var recipient: [String]
        @Option(name: .long, help: "The handbook system's acknowledgement public key (minisign .pub).") var ackKey: String
        @OptionGroup var client: ClientOptions
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                try checkServerURL(url, what: "--url")
                let recipients = try recipient.map { r -> any AgeKeyRecipient in
                    let text = FileManager.default.fileExists(atPath: r) ? (try String(contentsOfFile: r, encoding: .utf8)) : r
                    guard
                        let line = text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: { $0.hasPrefix("age1") })
                    else {
                        throw SealError(.usage, "\(r) holds no age1… recipient", remedy: "give the handbook system's identity.pub")
                    }
                    return try AgeKeys.recipient(line)
                }
                let settings = try client.settings(maxResponseBytes: 1 << 20)
                var caPEM: String?
                if let ca = settings.caFile {
                    guard let text = try? String(contentsOfFile: ca, encoding: .utf8), text.contains("-----BEGIN CERTIFICATE-----") else {
                        throw SealError(
                            .usage, "\(ca) is not a PEM certificate file",
                            remedy: "give --ca-file the CA certificate that signed the handbook receiver's certificate")
                    }
                    caPEM = text
                }
                let endpoint = HandbookEndpoint(
                    url: url.trimmingSlash, recipients: recipients, ackKey: try MinisignPublicKey(path: ackKey), caPEM: caPEM,
                    clientCertificateFile: client.clientCert.map { DataDirectory.absolute($0) },
                    clientKeyFile: client.clientKey.map { DataDirectory.absolute($0) })
                // One try now: a wrong CA is a configuration error; a receiver that is down is not.
                var checkSettings = endpoint.clientSettings(timeout: .seconds(min(client.timeout, 15)))
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
                let store = try await data.dir.openStore()
                // Datasets are sealed to these and to a department recipient of the same type.
                try await DepartmentKeyLifecycle.checkHandbookRecipients(recipients, store: store)
                try await store.setSetting("handbook", endpoint.json.canonical)
                _ = try await store.appendLog(
                    kind: .handbookConnected, body: endpoint.logJSON.canonical,
                    at: Timestamp.now)
                if !out.json {
                    say(
                        "datasets go to \(endpoint.url), sealed to \(recipients.map(\.fingerprint).joined(separator: ", ")); acknowledgements checked with \(endpoint.ackKey.keyIdHex)"
                    )
                }
                return ["url": endpoint.url, "recipients": recipients.map(\.string), "ack_key_id": endpoint.ackKey.keyIdHex, "reachable": reachable]
            }
        }
    }

    struct HandbookServe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Run the handbook receiver: POST /v1/datasets takes a sealed dataset and answers a signed acknowledgement.",
            discussion:
                "Verifies the department's dataset signature through the trust document, checked against the pinned trust root (--root; default DATA/root.pub, pinned from the trust document at the first start). The receiver follows the department's trust document by itself: a dataset signed by a dataset key the document does not list (a rotated key), an expired document, a document expiring within 14 days and a daily check each fetch the latest version from the gateway (--gateway; default the document's intake URL), verified against the pin and the version held (across root rotations, as `trust fetch` does), and keep it in --trust; the dataset that asked is then checked again in the same request. At most one fetch every --trust-fetch-interval, one at a time; a key a fresh document still does not list asks no more. Expiry within 14 days is warned of at start and daily. A newer version written to --trust by hand is taken too. Decrypts with the identity, checks the manifest, imports into DATA/handbook.sqlite all or nothing, refuses an older or repeated version (a repeat of the same package gets its first acknowledgement). GET /v1/health shows the current counts. TLS and client limits as for `sealgate serve` (--tls-cert/--tls-key, re-read on SIGHUP; --client-ca; --max-connections, --header-timeout, --body-grace, --min-body-rate)."
        )
        @Option(name: .long, help: "The receiver's data folder (from `handbook init`).") var data: String
        @Option(name: .long, help: "The age identity datasets are encrypted to (default DATA/identity.key).") var identity: String?
        @Option(name: .long, help: "The minisign key acknowledgements are signed with (default DATA/ack.key).") var ackKey: String?
        @Option(name: .long, help: "The department's trust document (from `sealgate trust fetch`); newer versions are written to it.")
        var trust: String
        @Option(name: .long, help: "The department's gateway, asked for newer trust documents (default: the trust document's intake URL).")
        var gateway: String?
        @Option(
            name: .long, help: "The department's trust-root public key, pinned (default DATA/root.pub, written from the trust document if missing).")
        var root: String?
        @Option(
            name: .long,
            help: ArgumentHelp(
                "PEM file of the CA that signed the gateway's certificate (a private CA); default: $SEALGATE_CA_FILE, else the system's trust store.",
                valueName: "file"))
        var caFile: String?
        @Option(name: .long, help: "Seconds one exchange with the gateway may take when fetching the trust document.") var trustFetchTimeout = 10
        @Option(name: .long, help: "The least time between two fetches of the trust document (e.g. 60s, 10m).") var trustFetchInterval = "60s"
        @Flag(name: .long, help: "Never fetch the trust document from the gateway (only --trust is read; fetch it by hand).") var noTrustFetch =
            false
        @Option(name: .long, help: "Address to bind.") var host: String = "127.0.0.1"
        @Option(name: .long, help: "Port (0: any free port; printed).") var port: Int = 8090
        @Option(name: .long, help: "Largest dataset accepted.") var maxBody: String = "4GiB"
        @OptionGroup var listen: ListenOptions
        @OptionGroup var logging: LogOptions
        @OptionGroup var passphrase: PassphraseOptions
        /// The trust document followed from the gateway (options checked; the pin read or written).
        func trustFollower() throws -> TrustFollower {
            guard (1...300).contains(trustFetchTimeout) else {
                throw SealError(.usage, "--trust-fetch-timeout must be 1 to 300 seconds", remedy: "e.g. --trust-fetch-timeout 10")
            }
            let interval = try parseDuration(trustFetchInterval)
            guard interval >= 1 else {
                throw SealError(.usage, "--trust-fetch-interval must be at least 1s", remedy: "e.g. --trust-fetch-interval 60s")
            }
            if let gateway { try checkServerURL(gateway, what: "--gateway URL") }
            var s = TrustFollower.Settings(
                trustPath: trust, rootPath: root ?? "\(data)/root.pub", gateway: gateway?.trimmingSlash,
                client: ClientSettings(
                    caFile: caFile ?? ProcessInfo.processInfo.environment["SEALGATE_CA_FILE"], timeout: .seconds(trustFetchTimeout),
                    maxResponseBytes: 1 << 20))
            s.fetching = !noTrustFetch
            s.minInterval = .seconds(interval)
            return try TrustFollower(s)
        }

        func run() async throws {
            try logging.bootstrap()
            let receiver: HandbookReceiver
            let follower: TrustFollower
            let maxBytes: UInt64
            let settings: ListenSettings
            let tls: (TLSIdentity, any DispatchSourceSignal)?
            do {
                settings = try listen.settings(host: host, port: port)
                tls = try listen.identity(settings)
                maxBytes = try parseSize(maxBody)
                try settings.checkListen()  // a port in use is refused before keys are read or the store opened
                let pass = cachedPassphrase(passphrase)
                let ids = try AgeIdentityFile.load(path: identity ?? "\(data)/identity.key", passphrase: pass)
                let ack = try MinisignSecretKey.load(path: ackKey ?? "\(data)/ack.key", passphrase: pass)
                follower = try trustFollower()
                receiver = try HandbookReceiver(
                    dir: data, identities: ids, ackKey: ack, trust: { try follower.current() }, follower: follower, maxBytes: maxBytes)
            } catch let e as SealError {
                try report(e, json: false)
            } catch {
                FileHandle.standardError.write(
                    Data(
                        "error: store_failure: cannot open \(data)/handbook.sqlite: \(error)\n  what to do: check the folder, its permissions and free space\n"
                            .utf8))
                throw ExitCode(74)
            }
            if let w = settings.plainTextWarning { say("warning: \(w)") }
            // Expiry warned of at start and daily; a newer document fetched before expiry.
            // The watch is a child task beside the server: cancelled and awaited when the server ends.
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await follower.watch() }
                    defer { group.cancelAll() }
                    try await serveHandbook(receiver: receiver, listen: settings, tls: tls?.0, maxBodyBytes: Int(maxBytes)) { port in
                        FileHandle.standardOutput.write(Data("handbook receiver listening on \(settings.url(port: port))\n".utf8))
                    }
                }
            } catch let e as SealError {
                try report(e, json: false)
            }
            withExtendedLifetime(tls) {}
        }
    }
}
