import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
import SealCrypto
import SealPackage
import UnitWork

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit packages to the gateway; saves PKG.receipt.json and PKG.receipt.json.minisig and checks the receipt's signature.",
        discussion:
            "The gateway's address is the trust document's intake URL unless --gateway names another. An https:// gateway with a certificate from a private CA needs --ca-file (or SEALGATE_CA_FILE). A package that was not answered (a timeout, a 503) can be sent again as it is: the gateway gives each package one outcome and answers a repeat with its first receipt."
    )
    @Option(name: .long, help: "Gateway URL (default: the trust document's intake URL).") var gateway: String?
    @Option(name: .long, help: "The trust document from `trust fetch` (default: the unit profile's, fetched again when stale).") var trust: String?
    @Option(name: .long, help: "The folder holding the unit profile (default: this folder or the nearest above).") var profile: String?
    @Option(name: .long, help: "A unit token, when the gateway requires one (prefer SEALGATE_TOKEN: arguments are visible in `ps`).") var token:
        String?
    @OptionGroup var client: ClientOptions
    @Argument(help: "Package files (default with a unit profile: those sealed from its folder and not yet submitted).") var packages: [String] = []
    @OptionGroup var language: LangOption
    @OptionGroup var out: OutputOptions
    func run() async throws {
        guard let trust else { return try await submitWithProfile() }
        guard !packages.isEmpty else { throw ValidationError("name the package files to submit") }
        try await runAsync(json: out.json) {
            let doc = try loadTrust(trust)
            let words = Words.now
            if let n = ExpiryWatch.trustNotice(doc) {  // a warning, not a refusal: the document is still valid
                say("\(words.warning): \(words.trustNotice(n.message, n.secondsLeft, trust, doc.version))")
            }
            let origin = gateway == nil ? "the intake URL of trust document \(trust), version \(doc.version)" : nil
            let base = (gateway ?? doc.intakeURL).trimmingSlash
            try GatewayClient.checkURL(base, what: origin.map { "gateway URL (\($0))" } ?? "--gateway URL")
            let token = token ?? ProcessInfo.processInfo.environment["SEALGATE_TOKEN"]
            warnIfPlainText(base, origin: origin)
            return try await GatewayClient.withClient(try client.settings(maxResponseBytes: 4 << 20)) { http in
                var results: [[String: Any]] = []
                var failed = false
                for p in packages {
                    let o: SubmissionOutcome
                    do {
                        o = try await Submission.send(http, base: base, package: p, token: token, trust: doc, language: language.resolved)
                    } catch let e as SealError {
                        guard let origin, Submission.isNetwork(e) else { throw e }
                        throw SealError(
                            e.code, "\(e.message) — the address is \(origin)", remedy: "\(e.remedy); or give --gateway URL", cause: e.cause)
                    }
                    guard let body = o.receipt else {
                        failed = true
                        say("\(p): \(o.http) \(o.code ?? "error") — \(o.message ?? "") (\(words.whatToDo): \(o.remedy ?? ""))")
                        results.append(["package": p, "http": o.http, "code": o.code as Any])
                        continue
                    }
                    let reduced = o.reduced
                    let status = o.status ?? "?"
                    let code = o.code
                    if status != "accepted" { failed = true }
                    if !out.json {
                        let what = o.http == 200 ? words.alreadyReceived(words.status(status), reduced) : words.status(status)
                        let detail = code.map { " — \($0): \(o.message ?? "")" } ?? ""
                        say("\(p): \(o.http) \(what)\(detail) · \(words.receiptChecked(body["leaf"]?.int ?? -1))")
                        if let remedy = o.remedy { say("  \(words.whatToDo): \(remedy)") }
                        for line in correctionLines(body["corrections"]) { say("  \(line)") }
                    }
                    var result: [String: Any] = [
                        "package": p, "http": o.http, "status": status, "code": code as Any, "receipt": "\(p).receipt.json",
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

extension Submit {
    /// Submits with the unit profile: its trust document (fetched again when stale), its token
    /// (SEALGATE_TOKEN or its token file), the packages named or else those of its history not yet
    /// submitted; each answer is recorded in the history. A seq the gateway had already used is
    /// noted: the next `seal` takes the seq after it.
    func submitWithProfile() async throws {
        try await runAsync(json: out.json) {
            var work = UnitWork(folder: try requireProfile(profile), language: language.resolved)
            let words = Words.now
            return try await GatewayClient.withClient(work.clientSettings()) { http in
                let t = try await work.currentTrust(http)
                if let e = t.fetchFailed { say("\(words.warning): \(words.trustKeptUsed("\(e.code)"))") }
                let ids: [String]
                if packages.isEmpty {
                    ids = work.profile.history.filter { $0.status == nil }.map(\.packageId)
                    if ids.isEmpty && !out.json { say(words.nothingToSubmit(work.folder.path)) }
                } else {
                    ids = try packages.map { p in
                        let abs = URL(fileURLWithPath: p).standardizedFileURL.path
                        guard let h = work.profile.history.first(where: { work.folder.resolve($0.package) == abs }) else {
                            throw SealError(
                                .packageUnknown, "\(p) was not sealed from this unit's folder",
                                remedy: "submit it with --trust trust.json, or seal the records again here")
                        }
                        return h.packageId
                    }
                }
                var results: [[String: Any]] = []
                var failed = false
                for id in ids {
                    let o = try await work.submit(packageId: id, http, trust: t.document)
                    if !o.accepted { failed = true }
                    if !out.json {
                        let status = o.status.map(words.status) ?? words.refusedByGateway
                        say(words.submitted(o.package, o.http, status, o.code.map { "\($0): \(o.message ?? "")" }, o.receipt != nil))
                        if let r = o.remedy { say("  \(words.whatToDo): \(r)") }
                        if o.seqTaken { say("  \(words.seqTakenResolved(work.profile.nextSeq))") }
                        for line in correctionLines(o.receipt?["corrections"]) { say("  \(line)") }
                    }
                    results.append([
                        "package": o.package, "http": o.http, "status": o.status as Any, "code": o.code as Any, "receipt": o.receiptPath as Any,
                    ])
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
    let words = Words.now
    let applied = c["applied"]?.array?.count ?? 0
    let notApplied = c["not_applied"]?.array ?? []
    var lines = [notApplied.isEmpty ? words.correctionsAllApplied(applied) : words.correctionsSomeNotApplied(applied, notApplied.count)]
    for row in notApplied {
        lines.append(
            words.correctionRow(
                Int(row["line"]?.int ?? 0), row["field"]?.string ?? "?", row["code"]?.string ?? "?", row["detail"]?.string ?? ""))
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
