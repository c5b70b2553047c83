import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import SealCrypto
import SealPackage

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit packages to the gateway; saves PKG.receipt.json and PKG.receipt.json.minisig and checks the receipt's signature.",
        discussion:
            "The gateway's address is the trust document's intake URL unless --gateway names another. An https:// gateway with a certificate from a private CA needs --ca-file (or SEALGATE_CA_FILE). A package that was not answered (a timeout, a 503) can be sent again as it is: the gateway gives each package one outcome and answers a repeat with its first receipt."
    )
    @Option(name: .long, help: "Gateway URL (default: the trust document's intake URL).") var gateway: String?
    @Option(name: .long, help: "The trust document from `trust fetch`.") var trust: String
    @Option(name: .long, help: "A unit token, when the gateway requires one (prefer SEALGATE_TOKEN: arguments are visible in `ps`).") var token:
        String?
    @OptionGroup var client: ClientOptions
    @Argument(help: "Package files.") var packages: [String]
    @OptionGroup var out: OutputOptions
    func run() async throws {
        try await runAsync(json: out.json) {
            let doc = try loadTrust(trust)
            if let n = ExpiryWatch.trustNotice(doc) {  // a warning, not a refusal: the document is still valid
                say(
                    "warning: \(n.message); fetch it again (sealgate trust fetch --gateway URL --root ROOT.pub -o \(trust))"
                        + ", and if it is still version \(doc.version), tell the department")
            }
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
                        throw SealError(
                            e.code, "\(e.message) — the address is \(origin)", remedy: "\(e.remedy); or give --gateway URL", cause: e.cause)
                    }
                    var receiptText = r.text
                    if r.headers["content-type"]?.hasPrefix("application/problem+json") == true {
                        let prob = (try? JSON(parsing: r.text)) ?? .null
                        guard let embedded = prob["receipt"]?.string else {
                            failed = true
                            say(
                                "\(p): \(r.status) \(prob["code"]?.string ?? "error") — \(prob["detail"]?.string ?? "") (\(prob["remedy"]?.string ?? ""))"
                            )
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
                        let what =
                            r.status == 200
                            ? "already received, decided \(status)\(reduced ? " (the full receipt: submit with the unit's token, SEALGATE_TOKEN)" : " (its first receipt)")"
                            : status
                        say(
                            "\(p): \(r.status) \(what)\(code.map { " — \($0): \(body["error"]?["message"]?.string ?? "")" } ?? "") · receipt verified, leaf \(body["leaf"]?.int ?? -1)"
                        )
                        if let remedy = body["error"]?["remedy"]?.string { say("  what to do: \(remedy)") }
                        for line in correctionLines(body["corrections"]) { say("  \(line)") }
                    }
                    var result: [String: Any] = [
                        "package": p, "http": r.status, "status": status, "code": code as Any, "receipt": "\(p).receipt.json",
                    ]
                    if let c = body["corrections"], c != .null {
                        result["corrections_applied"] = c["applied"]?.array?.count ?? 0
                        result["corrections_not_applied"] = (c["not_applied"]?.array ?? []).map { row -> [String: Any] in
                            ["line": row["line"]?.int ?? 0, "field": row["field"]?.string ?? "", "code": row["code"]?.string ?? ""]
                        }
                    }
                    results.append(result)
                }
                if failed && !out.json { throw ExitCode(1) }
                return ["results": results]
            }
        }
    }
}

/// What a receipt says of a correction package's rows: how many were applied and, one line
/// each, which were not, with their codes (the receipt names rows by line and field only).
func correctionLines(_ c: JSON?) -> [String] {
    guard let c, c != .null else { return [] }
    let applied = c["applied"]?.array?.count ?? 0
    let notApplied = c["not_applied"]?.array ?? []
    var lines = [
        notApplied.isEmpty
            ? "corrections: all \(applied) applied"
            : "corrections: \(applied) applied, \(notApplied.count) NOT applied — check these lines of corrections.csv:"
    ]
    for row in notApplied {
        lines.append(
            "  line \(row["line"]?.int ?? 0) (\(row["field"]?.string ?? "?")): \(row["code"]?.string ?? "?") — \(row["detail"]?.string ?? "")")
    }
    return lines
}

struct ReceiptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "receipt", abstract: "Check receipts.", subcommands: [VerifyReceipt.self])
    struct VerifyReceipt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify a receipt (RECEIPT and RECEIPT.minisig) with the receipt key of the trust document.",
            discussion:
                "The key that signed it must be the trust document's receipt_key, or a rotated receipt key it lists in signing_keys (pending, or verify-only until a date not before the receipt's decided_at). The receipt's log entry must be included in the checkpoint it carries, signed by a log key accepted the same way. The same signature check by hand: minisign -V -p receipt.pub -m receipt.json (receipt.pub: the key of the trust document)."
        )
        @Option(name: .long, help: "The trust document.") var trust: String
        @Argument(help: "The receipt (…receipt.json).") var receipt: String
        @OptionGroup var out: OutputOptions
        @OptionGroup var language: LangOption
        func run() async throws {
            try await runAsync(json: out.json) {
                let doc = try loadTrust(trust)
                let text = try String(contentsOfFile: receipt, encoding: .utf8)
                let sig = try String(contentsOfFile: receipt + ".minisig", encoding: .utf8)
                let body = try Receipt.verify(text: text, signature: sig, trust: doc)
                if !out.json {
                    let words = Words.now
                    say(
                        words.receiptVerified(
                            body["package"]?.string ?? "-", body["unit"]?.string ?? "-", body["seq"]?.int.map(String.init) ?? "-",
                            words.status(body["status"]?.string ?? "?"), body["leaf"]?.int ?? -1))
                }
                return ["package": body["package"]?.string as Any, "status": body["status"]?.string as Any, "leaf": body["leaf"]?.int as Any]
            }
        }
    }
}
