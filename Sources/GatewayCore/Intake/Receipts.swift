public import GatewayStore
import SealCrypto
import SealPackage
import TransparencyLog

/// The intake's receipts: the body every receipt starts from, the signed receipt of a decision
/// (with its leaf, log entry, inclusion proof and checkpoint), and what a replay is answered with.
/// Receipts carry no personal data: package facts, codes, counts, positions.
public struct IntakeReceipts: Sendable {
    let department: String
    let keys: IntakeKeys

    /// The fields every receipt has; the package's own facts only once its comment is known.
    func base(_ entry: SpoolEntry, _ c: TrustedComment?, status: OutcomeStatus) -> [String: JSON] {
        var body: [String: JSON] = [
            "format": .string("sealgate-receipt/1"), "gateway": .string(department), "status": .string(status.rawValue),
            "sha256": .string(entry.sha256), "size": .int(entry.size), "received_at": .string(entry.receivedAt.text),
            "package": .null, "unit": .null, "seq": .null, "kind": .null,
        ]
        if let c {
            body["package"] = .string(c.package)
            body["unit"] = .string(c.unit)
            body["seq"] = .int(Int64(bitPattern: c.seq))
            body["kind"] = .string(c.kind.rawValue)
        }
        return body
    }

    /// A decision's receipt: `body` with its place in the log, signed with the receipt key.
    func sign(
        _ body: [String: JSON], leaf: Int64, decidedAt: Timestamp, logEntry: String,
        proven: (proof: [Merkle.Hash], checkpoint: Checkpoint, note: String)
    ) throws -> ReceiptBundle {
        var b = body
        b["leaf"] = .int(leaf)
        b["decided_at"] = .string(decidedAt.text)
        b["log_entry"] = .string(logEntry)
        b["inclusion"] = .array(proven.proof.map { .string(Base64.encode($0)) })
        b["checkpoint"] = .string(proven.note)
        let (text, sig) = try Receipt.sign(.object(b), key: keys.current.receipt)
        return ReceiptBundle(receipt: text, signature: sig, checkpoint: (Int64(proven.checkpoint.size), proven.note))
    }

    /// What a replay is answered with. The unit itself (its token) and the department get the
    /// first receipt unchanged; anyone else a receipt that says only what the public log says of
    /// that decision — the package's facts, its status and code, the log entry and its proof.
    public func duplicate(_ first: Outcome, viewer: Viewer) throws -> (String, String) {
        if viewer.mayRead(unit: first.unitId) { return (first.receipt, first.receiptSignature) }
        let full = try JSON(parsing: first.receipt)
        var body: [String: JSON] = [
            "status": .string("duplicate"), "first_status": .string(first.status.rawValue),
            "code": first.code.map(JSON.string) ?? .null,
        ]
        for k in [
            "format", "gateway", "sha256", "size", "package", "unit", "seq", "kind", "leaf", "decided_at", "log_entry", "inclusion", "checkpoint",
        ] {
            body[k] = full[k] ?? .null
        }
        return try Receipt.sign(.object(body), key: keys.current.receipt)
    }
}
