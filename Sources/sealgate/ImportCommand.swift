import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
import SealBase
import SealCrypto
import SealPackage

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Process packages handed in on media, as the HTTP intake would; writes PKG.receipt.json and PKG.receipt.json.minisig beside each.")
    @OptionGroup var data: DataOption
    @Argument(help: "Package files.") var packages: [String]
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var token: TokenOptions
    @OptionGroup var out: OutputOptions
    func run() async throws {
        try await runAsync(json: out.json) {
            let (intake, _) = try await loadIntake(data, passphrase: passphrase, token: token)
            var results: [[String: Any]] = []
            var anyRejected = false
            for p in packages {
                let (incoming, sha, size) = try intake.admission.receiveFile(p)
                switch try await intake.admission.admit(incoming: incoming, sha256: sha, size: size, tokenUnit: nil, viewer: .admin) {
                case .refused(let e):
                    anyRejected = true
                    if !out.json { say("\(p): refused — \(e.code): \(e.message)\n  what to do: \(e.remedy)") }
                    results.append(["package": p, "status": "refused", "code": e.code.rawValue])
                case .duplicate(let receipt, let signature):
                    try receipt.write(toFile: "\(p).receipt.json", atomically: true, encoding: .utf8)
                    try signature.write(toFile: "\(p).receipt.json.minisig", atomically: true, encoding: .utf8)
                    if !out.json { say("\(p): already decided (its first receipt)") }
                    results.append(["package": p, "status": "duplicate", "receipt": "\(p).receipt.json"])
                case .admitted(let body):
                    let r = try await intake.decision.process(body)
                    try r.outcome.receipt.write(toFile: "\(p).receipt.json", atomically: true, encoding: .utf8)
                    try r.outcome.receiptSignature.write(toFile: "\(p).receipt.json.minisig", atomically: true, encoding: .utf8)
                    let status = r.outcome.status.rawValue
                    if r.kind != .accepted && r.kind != .duplicate { anyRejected = true }
                    if !out.json {
                        say(
                            "\(p): \(r.kind == .duplicate ? "duplicate of an earlier package (first receipt)" : status)\(r.outcome.code.map { " — \($0)" } ?? "")"
                        )
                    }
                    results.append(["package": p, "status": status, "code": r.outcome.code as Any, "receipt": "\(p).receipt.json"])
                }
            }
            if anyRejected && !out.json { throw ExitCode(1) }
            return ["results": results]
        }
    }
}
