import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import PackageCommands
import PartyRecords
import SealBase
import SealCrypto
import SealPackage
import UnitWork

/// The unit's side, from its folder: `unit init` writes the profile (sealgate-unit.json); `unit
/// show` prints it with the next seq and the history; `unit send` checks, seals and submits the
/// records in one go, counting seq itself.
struct UnitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unit",
        abstract: "The unit's profile: set up once, then seal and submit without repeating flags.",
        discussion: """
            `unit init` writes sealgate-unit.json in the folder (the unit id, the gateway, the trust root, the signing key; no secret). From then on, in that folder (or below it), `sealgate seal FILES` and `sealgate submit` need no --unit, --seq, --signing-key or --trust: the trust document is fetched again when it is stale, and the next seq is known from the profile's history and the gateway's answers. `sealgate unit send FILES` does check → seal → submit → keep the receipt in one step and, when the gateway answers that the seq was already used, seals again with the next one.
            """,
        subcommands: [InitProfile.self, ShowProfile.self, Send.self])

    struct InitProfile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Write the unit profile (sealgate-unit.json) in a folder, then fetch the trust document to check the setup.",
            discussion:
                "Example: sealgate unit init --unit HCM-U001 --gateway https://gateway.example.vn --root root.pub --signing-key unit.key")
        @Option(name: .long, help: "The unit id, as registered at the department, e.g. HCM-U001.") var unit: String
        @Option(name: .long, help: "The gateway's URL.") var gateway: String
        @Option(name: .long, help: "The department's trust-root public key (root.pub), as handed to the unit.") var root: String
        @Option(
            name: .long, help: "The unit's minisign secret key (from `sealgate keys generate`), or its key on a token (pkcs11:token=…;object=…).")
        var signingKey: String
        @Option(name: .long, help: "A file holding the unit's token, when the gateway asks for one (mode 0600).") var tokenFile: String?
        @Option(name: .long, help: "The folder for the profile (default: the current folder).") var folder: String = "."
        @Flag(name: .long, help: "Replace a profile already in the folder (its history of packages is lost; the files stay).") var force = false
        @Flag(name: .long, help: "Do not contact the gateway now (the trust document is fetched at the first seal).") var offline = false
        @OptionGroup var client: ClientOptions
        @OptionGroup var language: LangOption
        @OptionGroup var out: OutputOptions

        func run() async throws {
            try await runAsync(json: out.json) {
                let words = Words.now
                try checkServerURL(gateway, what: "--gateway URL")
                let f = try UnitFolder.create(
                    folder, unit: unit, gateway: gateway, root: root, signingKey: signingKey, caFile: client.caFile, tokenFile: tokenFile,
                    replace: force)
                var result: [String: Any] = ["profile": f.profilePath, "unit": unit]
                if !out.json { say(words.profileWritten(f.profilePath, unit)) }
                if !offline {
                    var work = UnitWork(folder: f, language: language.resolved)
                    try await GatewayClient.withClient(work.clientSettings()) { http in
                        let t = try await work.currentTrust(http, force: true)
                        try await work.learnGatewaySeq(http)
                        result["trust_version"] = t.document.version
                        result["next_seq"] = work.profile.nextSeq
                        if !out.json {
                            say(words.trustVerified(t.document.version, t.document.department, t.document.expires, work.folder.trustPath))
                            say(words.nextSeq(work.profile.nextSeq))
                        }
                    }
                }
                return result
            }
        }
    }

    struct ShowProfile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Print the unit profile, the next seq and the packages sent from this folder.")
        @Option(name: .long, help: "The folder holding sealgate-unit.json (default: this folder or the nearest above).") var folder: String?
        @OptionGroup var language: LangOption
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let f = try requireProfile(folder)
                let p = f.profile
                if !out.json {
                    let words = Words.now
                    say(words.profileSummary(p.unit, p.gateway, f.profilePath))
                    say(words.nextSeqKnown(p.nextSeq, p.gatewayLastSeq))
                    for h in p.history { say(words.historyLine(h.seq, h.kind, h.package, h.sealedAt.text, h.status, h.code)) }
                }
                return [
                    "unit": p.unit, "gateway": p.gateway, "next_seq": p.nextSeq, "gateway_last_seq": p.gatewayLastSeq as Any,
                    "history": p.history.map { h -> [String: Any] in
                        [
                            "seq": h.seq, "kind": h.kind, "package": h.package, "package_id": h.packageId, "sealed_at": h.sealedAt.text,
                            "status": h.status as Any, "code": h.code as Any, "receipt": h.receipt as Any,
                        ]
                    },
                ]
            }
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check, seal (with the next seq) and submit the unit's records; keeps the package and its verified receipt.",
            discussion:
                "FILES: organizations.csv and members.csv (a snapshot), or corrections.csv (a correction). When the gateway answers that the seq was already used, the same records are sealed again with the next seq and sent again."
        )
        @Option(name: .long, help: "The folder holding sealgate-unit.json (default: this folder or the nearest above).") var folder: String?
        @Argument(help: "The record files.") var files: [String]
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var token: TokenOptions
        @OptionGroup var language: LangOption
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let words = Words.now
                var work = UnitWork(folder: try requireProfile(folder), language: language.resolved)
                let key = try token.signer(work.folder.signingKeyPath, passphrase: passphrase)
                return try await GatewayClient.withClient(work.clientSettings()) { http in
                    let (sealed, o) = try await work.sealAndSubmit(files, signer: key, http, progress: progressReporter())
                    if !out.json {
                        let r = sealed.result
                        say(words.sealedWithSeq(r.manifest.files.count, sealed.path, r.packageBytes, sealed.entry.seq))
                        let status = o.status.map(words.status) ?? words.refusedByGateway
                        say(words.submitted(sealed.path, o.http, status, o.code.map { "\($0): \(o.message ?? "")" }, o.receipt != nil))
                        if let r = o.remedy { say("  \(words.whatToDo): \(r)") }
                    }
                    if !o.accepted && !out.json { throw ExitCode(1) }
                    return [
                        "package": sealed.path, "seq": sealed.entry.seq, "http": o.http, "status": o.status as Any, "code": o.code as Any,
                        "receipt": o.receiptPath as Any,
                    ]
                }
            }
        }
    }
}

/// The unit profile of `folder`, or of this folder or the nearest above; `profile_missing` when none.
func requireProfile(_ folder: String?) throws -> UnitFolder {
    guard let f = try UnitFolder.find(folder) else {
        throw SealError(
            .profileMissing, "no unit profile (\(UnitProfile.fileName)) in \(folder ?? "this folder or above it")",
            remedy: "set the unit up once: sealgate unit init --unit UNIT --gateway URL --root root.pub --signing-key unit.key")
    }
    return f
}
