public import Foundation
public import SealCrypto

/// A gateway receipt (spec §6): canonical JSON plus a detached minisign signature by the
/// department's receipt key, trusted comment `sealgate-receipt/1 package=… status=… leaf=…`.
public enum Receipt {
    /// Signs a receipt body; returns the signature file text.
    public static func sign(_ body: JSON, key: MinisignSecretKey) throws -> (text: String, signature: String) {
        let text = body.canonical
        let package = body["package"]?.string ?? "none"
        let status = body["status"]?.string ?? "rejected"
        let leaf = body["leaf"]?.int ?? -1
        let sig = try key.sign(prehash: BLAKE2bHasher.hash(Array(text.utf8).withUnsafeBytes { $0 }),
                               trustedComment: "sealgate-receipt/1 package=\(package) status=\(status) leaf=\(leaf)",
                               untrustedComment: "sealgate receipt signature")
        return (text, sig.fileContents)
    }

    /// Verifies a receipt against the receipt key (from the trust document). Throws `receipt_invalid`.
    public static func verify(text: String, signature: String, key: MinisignPublicKey) throws -> JSON {
        let sig: MinisignSignature
        do { sig = try MinisignSignature(fileContents: signature) } catch {
            throw GatewayError(.receiptInvalid, "receipt signature is malformed", remedy: "ask the gateway for the receipt again (GET /v1/packages/{id})")
        }
        do { try sig.verify(publicKey: key, prehash: BLAKE2bHasher.hash(Array(text.utf8).withUnsafeBytes { $0 })) } catch let e as SealError {
            throw GatewayError(.receiptInvalid, "receipt does not verify with the department's receipt key (\(e.code))",
                               remedy: "do not rely on it; fetch the current trust document and the receipt again")
        }
        let body = try JSON(parsing: text)
        let expected = "sealgate-receipt/1 package=\(body["package"]?.string ?? "none") status=\(body["status"]?.string ?? "") leaf=\(body["leaf"]?.int ?? -1)"
        guard body.canonical == text, sig.trustedComment == expected else {
            throw GatewayError(.receiptInvalid, "receipt body and signed comment disagree", remedy: "do not rely on it")
        }
        return body
    }
}
