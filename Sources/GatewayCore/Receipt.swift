import Foundation
public import SealCrypto
import TransparencyLog

/// A gateway receipt (spec §6): canonical JSON plus a detached minisign signature by the
/// department's receipt key, trusted comment `sealgate-receipt/1 package=… status=… leaf=…`.
public enum Receipt {
    /// Signs a receipt body; returns the signature file text.
    public static func sign(_ body: JSON, key: any MinisignSigner) throws -> (text: String, signature: String) {
        let text = body.canonical
        let package = body["package"]?.string ?? "none"
        let status = body["status"]?.string ?? "rejected"
        let leaf = body["leaf"]?.int ?? -1
        let sig = try key.sign(
            prehash: BLAKE2bHasher.hash(Array(text.utf8)),
            trustedComment: "sealgate-receipt/1 package=\(package) status=\(status) leaf=\(leaf)",
            untrustedComment: "sealgate receipt signature")
        return (text, sig.fileContents)
    }

    /// Verifies a receipt with the keys of a trust document: the receipt key that signed it (the
    /// active one, or a rotated one the document still accepts for the receipt's `decided_at`),
    /// and its log proof against a checkpoint signed by a log key accepted the same way.
    public static func verify(text: String, signature: String, trust: TrustDocument) throws -> JSON {
        guard let sig = try? MinisignSignature(fileContents: signature) else {
            throw GatewayError(
                .receiptInvalid, "receipt signature is malformed", remedy: "ask the gateway for the receipt again (GET /v1/packages/{id})")
        }
        let decidedAt = (try? JSON(parsing: text))?["decided_at"]?.string?.moment
        let key = try trust.signer("receipt", keyId: sig.keyId, signedAt: decidedAt)
        return try verify(
            text: text, signature: signature, key: key, logKeys: trust.verifyingKeys("log", signedAt: decidedAt), logName: "\(trust.department)/log")
    }

    /// Verifies a receipt against the receipt key, and — given the log keys — that its log entry is
    /// included in the checkpoint it carries, signed by one of the log keys (spec §6, §7).
    public static func verify(text: String, signature: String, key: MinisignPublicKey, logKeys: [MinisignPublicKey], logName: String) throws -> JSON {
        let body = try verify(text: text, signature: signature, key: key)
        func bad(_ why: String) -> SealError {
            GatewayError(
                .receiptInvalid, "receipt's log proof does not hold: \(why)",
                remedy: "do not rely on it; check the gateway's log with `sealgate log verify`")
        }
        guard let entry = body["log_entry"]?.string, let note = body["checkpoint"]?.string, let leaf = body["leaf"]?.int,
            let proof = body["inclusion"]?.array?.map({ $0.string.flatMap { Base64.decode($0, padded: true) } }),
            !proof.contains(where: { $0 == nil })
        else {
            throw bad("no log entry, proof or checkpoint")
        }
        guard let cp = logKeys.lazy.compactMap({ try? Checkpoint.verify(note: note, name: logName, publicKey: $0.key) }).first else {
            throw bad("the checkpoint is not signed by a log key the trust document accepts")
        }
        guard
            Merkle.verifyInclusion(index: Int(leaf), size: cp.size, leaf: Merkle.leafHash(Array(entry.utf8)), proof: proof.map { $0! }, root: cp.root)
        else {
            throw bad("the entry is not in the checkpoint's tree")
        }
        let e = try JSON(parsing: entry)
        for k in ["package", "unit", "seq", "sha256"] where e[k] != body[k] { throw bad("the log entry's \(k) differs from the receipt's") }
        // A duplicate's receipt points at the first decision's entry (its `first_status`).
        let status = body["status"]?.string == "duplicate" ? body["first_status"] : body["status"]
        guard e["status"] == status || e["status"]?.string == "duplicate" else { throw bad("the log entry's status differs from the receipt's") }
        return body
    }

    /// Verifies a receipt's signature against the receipt key (from the trust document). Throws `receipt_invalid`.
    public static func verify(text: String, signature: String, key: MinisignPublicKey) throws -> JSON {
        let sig: MinisignSignature
        do { sig = try MinisignSignature(fileContents: signature) } catch {
            throw GatewayError(
                .receiptInvalid, "receipt signature is malformed", remedy: "ask the gateway for the receipt again (GET /v1/packages/{id})")
        }
        do { try sig.verify(publicKey: key, prehash: BLAKE2bHasher.hash(Array(text.utf8))) } catch let e as SealError {
            throw GatewayError(
                .receiptInvalid, "receipt does not verify with the department's receipt key (\(e.code))",
                remedy: "do not rely on it; fetch the current trust document and the receipt again")
        }
        let body = try JSON(parsing: text)
        let expected =
            "sealgate-receipt/1 package=\(body["package"]?.string ?? "none") status=\(body["status"]?.string ?? "") leaf=\(body["leaf"]?.int ?? -1)"
        guard body.canonical == text, sig.trustedComment == expected else {
            throw GatewayError(.receiptInvalid, "receipt body and signed comment disagree", remedy: "do not rely on it")
        }
        return body
    }
}
