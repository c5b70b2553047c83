import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
import SealCrypto
import SealPackage

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a gateway data folder: department keys (recipient, receipt, dataset, log, trust root) and the first trust document.")
    @OptionGroup var data: DataOption
    @Option(name: .long, help: "The department's id (goes into receipts and the trust document).") var department: String = "HCM-DTCD"
    @Option(
        name: .long,
        help:
            "The intake URL units submit to (written into every trust document; change it later with `trust publish --intake-url`). Give the address units reach, e.g. https://gateway.example."
    ) var intakeURL: String = "http://127.0.0.1:8080"
    @Flag(name: .long, help: "Store the department's secret keys without a passphrase (tests, demos).") var unencrypted = false
    @Option(
        name: .long, help: "The campaign's deadline for units' snapshots (UTC, e.g. 2026-12-20T16:59:59Z); unset by default (`campaign set` later).")
    var submitBy: String?
    @Option(name: .long, help: "The deadline for the city-wide dataset.") var synthesizeBy: String?
    @Option(name: .long, help: "The deadline for the handbook system's synchronization.") var syncBy: String?
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var out: OutputOptions

    func run() async throws {
        try await runAsync(json: out.json, hints: newKeyHints) {
            try GatewayClient.checkURL(intakeURL, what: "--intake-url")
            let campaign = Campaign(
                submitBy: try submitBy.map(parseMoment), synthesizeBy: try synthesizeBy.map(parseMoment), syncBy: try syncBy.map(parseMoment))
            let pass: SecureBytes? =
                unencrypted
                ? nil : try Passphrase.obtain(file: passphrase.passphraseFile, prompt: "Passphrase for the department keys: ", confirm: true)
            try await data.dir.initialize(department: department, intakeURL: intakeURL.trimmingSlash, passphrase: pass)
            if campaign.isSet { try await campaign.save(try data.dir.openStore()) }
            let root = try MinisignPublicKey(path: data.dir.pub(.root))
            if !out.json {
                say("initialized \(data.data) for \(department)\(pass == nil ? " (keys UNENCRYPTED)" : "")")
                say("  trust root: \(data.dir.pub(.root)) (key id \(root.keyIdHex)) — give units this file to pin")
                say("  recipient:  \(data.dir.pub(.recipient))")
                say(
                    "  intake URL: \(intakeURL.trimmingSlash) (in every trust document; change it with `sealgate trust publish --intake-url URL --data \(data.data)`)"
                )
                if !campaign.isSet {
                    say(
                        "  campaign deadlines: not set (nobody counts as late); set them with `sealgate campaign set --data \(data.data) --submit-by …`"
                    )
                }
            }
            return ["data": data.data, "department": department, "root_key": root.base64, "root_key_file": data.dir.pub(.root)]
        }
    }
}
