import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
import SealCrypto
import SealPackage

struct Trust: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The gateway's trust document (what units seal to).", subcommands: [Fetch.self, Publish.self])

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Publish a new version of the trust document (signed by the trust root), e.g. before the current one expires or when the intake URL changes.",
            discussion:
                "The document is computed from the store: every recipient and signing key in its current state (a decrypt-only or verify-only key keeps its date, a retired one is left out), the intake URL and the validity kept in the store. --intake-url and --valid-days change those for this and every later publication (key commands publish too). The version goes up by one; units' `trust fetch` takes it and refuses older versions from then on. The change is a log entry. A running gateway serves it at once."
        )
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Days the document is valid (kept for later publications).") var validDays: Int?
        @Option(name: .long, help: "The intake URL units submit to, e.g. https://gateway.example (kept for later publications).") var intakeURL:
            String?
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                if let validDays, !(1...3650).contains(validDays) {
                    throw SealError(.usage, "--valid-days must be 1 to 3650", remedy: "e.g. --valid-days 90")
                }
                if let intakeURL { try GatewayClient.checkURL(intakeURL, what: "--intake-url") }
                let store = try await data.dir.openStore()
                var publication = try await Publication.load(data.dir, store: store)
                if let intakeURL { publication.intakeURL = intakeURL.trimmingSlash }
                if let validDays { publication.validityDays = validDays }
                if intakeURL != nil || validDays != nil { try await publication.save(data.dir, store: store) }
                let keys = try DepartmentKeys.load(data.dir, passphrase: passphrase.provider(prompt: "Passphrase for the department keys: "))
                let doc = try await TrustPublication.publish(data.dir, store: store, keys: keys)
                if !out.json { say("published trust document version \(doc.version) (intake \(doc.intakeURL), expires \(doc.expires))") }
                if let w = GatewayClient.plainTextWarning(doc.intakeURL) { say("warning: \(w)") }
                return ["version": doc.version, "expires": doc.expires, "intake_url": doc.intakeURL]
            }
        }
    }
    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch the trust document and verify it against the pinned root key; writes FILE and FILE.minisig.",
            discussion:
                "Refuses a document that is expired, not signed by --root, or older than the one already in FILE. When the department rotated its trust root, the versions since the one held are fetched in turn; a new root is taken only from the version signed by both the old and the new root, and --root is then rewritten with the new root (the pin moves)."
        )
        @Option(name: .long, help: "Gateway URL, e.g. http://127.0.0.1:8080.") var gateway: String
        @Option(name: .long, help: "The department's trust-root public key (pinned).") var root: String
        @Option(name: .shortAndLong, help: "Where to keep the document.") var output: String = "trust.json"
        @OptionGroup var client: ClientOptions
        @OptionGroup var out: OutputOptions
        @OptionGroup var language: LangOption
        func run() async throws {
            try await runAsync(json: out.json) {
                try checkServerURL(gateway, what: "--gateway URL")
                return try await GatewayClient.withClient(try client.settings(maxResponseBytes: 1 << 20)) { http in
                    let held = (try? String(contentsOfFile: output, encoding: .utf8)).flatMap { try? JSON(parsing: $0) }?["version"]?.int.map {
                        UInt64($0)
                    }
                    let pinned = try MinisignPublicKey(path: root)
                    let latest = try await TrustDocument.fetch(http, gateway: gateway, pin: pinned, heldVersion: held)
                    let doc = latest.document
                    let newRoot = try doc.publicKey("root")
                    try latest.body.write(toFile: output, atomically: true, encoding: .utf8)
                    try latest.signature.write(toFile: output + ".minisig", atomically: true, encoding: .utf8)
                    var result: [String: Any] = ["version": doc.version, "department": doc.department, "expires": doc.expires, "file": output]
                    if newRoot.base64 != pinned.base64 {
                        let pk = MinisignPublicKey(
                            keyId: newRoot.keyId, key: newRoot.key, comment: "sealgate root key \(newRoot.keyIdHex) of \(doc.department)")
                        try pk.fileContents.write(toFile: root, atomically: true, encoding: .utf8)
                        if !out.json {
                            say(Words.now.rootRotated(pinned.keyIdHex, newRoot.keyIdHex, root))
                        }
                        result["root_rotated_to"] = newRoot.keyIdHex
                    }
                    if !out.json {
                        say(Words.now.trustVerified(doc.version, doc.department, doc.expires, output))
                    }
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
        throw SealError(
            .usage, "cannot read the trust document \(path)", remedy: "fetch it first: sealgate trust fetch --gateway URL --root ROOT.pub -o \(path)")
    }
    guard let sig = try? String(contentsOfFile: path + ".minisig", encoding: .utf8) else {
        throw SealError(
            .usage, "cannot read \(path).minisig, the trust document's signature, which `trust fetch` writes beside \(path)",
            remedy: "keep \(path) and \(path).minisig together, or fetch both again: sealgate trust fetch --gateway URL --root ROOT.pub -o \(path)")
    }
    let doc = TrustDocument(json: try JSON(parsing: body))
    return try TrustDocument.verify(body: body, signature: sig, root: try doc.publicKey("root"), heldVersion: nil)
}

extension String {
    var trimmingSlash: String { hasSuffix("/") ? String(dropLast()) : self }
}
