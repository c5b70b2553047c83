public import Foundation
public import GatewayClient
public import GatewayCore
public import SealBase
public import SealCrypto

/// What the gateway answered one package, its receipt checked.
public struct SubmissionOutcome: Sendable {
    /// The package file sent.
    public var package: String
    /// The HTTP status.
    public var http: Int
    /// accepted | rejected | … — the receipt's (for a replay, the first decision's); nil when the
    /// gateway refused the request without deciding (a problem document without a receipt).
    public var status: String?
    /// The refusal's code (the receipt's error, or the problem document's).
    public var code: String?
    public var message: String?
    public var remedy: String?
    /// True when this was a replay of a package already decided.
    public var replay: Bool
    /// A replay answered without the unit's token carries only the public facts.
    public var reduced: Bool
    /// The receipt's body (signature and log inclusion verified), when there was a receipt.
    public var receipt: JSON?
    /// Where the receipt was kept (PKG.receipt.json and .minisig).
    public var receiptPath: String?
    /// The last seq the gateway has used for the unit, when a seq refusal says it.
    public var lastSeq: UInt64?

    public var accepted: Bool { status == "accepted" }
    /// A refusal the unit's tools resolve themselves: seal the same data with a higher seq.
    public var seqTaken: Bool { code == "seq_not_increasing" || code == "seq_conflict" }
}

/// Sends packages to the gateway (`POST /v1/packages`), checks each receipt's signature and its
/// inclusion in the log checkpoint it carries (`Receipt.verify`), and keeps it beside the package.
/// What `sealgate submit` and the desk both do.
public enum Submission {
    /// The intake URL: `gateway` when given, else the trust document's.
    public static func intakeBase(gateway: String?, trust: TrustDocument) -> String {
        let base = gateway ?? trust.intakeURL
        return base.hasSuffix("/") ? String(base.dropLast()) : base
    }

    /// An error of the way to the gateway (the network, TLS, an answer too large), not of the package.
    public static func isNetwork(_ e: SealError) -> Bool {
        [SealErrorCode.httpError, .httpTimeout, .tlsFailed, .tlsUntrusted, .tlsClientRefused, .responseTooLarge].contains(e.code)
    }

    /// Sends one package. Throws for what is no answer (the network, TLS, a receipt that does
    /// not verify); a refusal is an outcome.
    public static func send(
        _ http: GatewayClient, base: String, package p: String, token: String?, trust: TrustDocument, language: Language = .en
    ) async throws -> SubmissionOutcome {
        guard FileManager.default.isReadableFile(atPath: p) else {
            throw SealError(.usage, "cannot read the package \(p)", remedy: "check the path; seal it first")
        }
        var headers = [("Content-Type", "application/vnd.sealgate.package")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        // A refusal's problem document in the clerk's language (the code never changes).
        headers.append(("Accept-Language", language == .vi ? "vi, en;q=0.5" : "en"))
        let r = try await http.send("POST", base + "/v1/packages", headers: headers, body: .file(p))
        var out = SubmissionOutcome(package: p, http: r.status, replay: r.status == 200, reduced: false)
        var receiptText = r.text
        if r.headers["content-type"]?.hasPrefix("application/problem+json") == true {
            let prob = (try? JSON(parsing: r.text)) ?? .null
            guard let embedded = prob["receipt"]?.string else {
                out.code = prob["code"]?.string ?? "error"
                out.message = prob["detail"]?.string
                out.remedy = prob["remedy"]?.string
                return out
            }
            receiptText = embedded
        }
        guard let sigB64 = r.headers["sealgate-receipt-signature"], let sigBytes = Base64.decode(sigB64, padded: true) else {
            throw SealError(.receiptInvalid, "the gateway answered \(r.status) without a receipt signature", remedy: "check the gateway's address")
        }
        let sigText = String(decoding: sigBytes, as: UTF8.self)
        let body = try Receipt.verify(text: receiptText, signature: sigText, trust: trust)
        // A replay answered without the unit's token carries only the public facts: it never
        // replaces the full receipt kept from the first submission.
        out.reduced = body["status"]?.string == "duplicate"
        if !out.reduced || !FileManager.default.fileExists(atPath: "\(p).receipt.json") {
            try receiptText.write(toFile: "\(p).receipt.json", atomically: true, encoding: .utf8)
            try sigText.write(toFile: "\(p).receipt.json.minisig", atomically: true, encoding: .utf8)
        }
        out.receiptPath = "\(p).receipt.json"
        out.receipt = body
        out.status = out.reduced ? (body["first_status"]?.string ?? "?") : (body["status"]?.string ?? "?")
        out.code = body["error"]?["code"]?.string ?? body["code"]?.string
        out.message = body["error"]?["message"]?.string
        out.remedy = body["error"]?["remedy"]?.string
        out.lastSeq = body["error"]?["last_seq"]?.int.flatMap { $0 >= 0 ? UInt64($0) : nil }
        return out
    }
}
