public import SealBase
public import SealCrypto

/// The handbook system's acknowledgement of a dataset: canonical JSON signed (minisign,
/// prehashed) by the handbook's ack key, trusted comment `sealgate-handbook-ack/1 package=… version=…`.
public enum HandbookAck {
    public static func sign(_ body: JSON, key: MinisignSecretKey) throws -> (text: String, signature: String) {
        let text = body.canonical
        let sig = try key.sign(
            prehash: BLAKE2bHasher.hash(Array(text.utf8)),
            trustedComment: "sealgate-handbook-ack/1 package=\(body["package"]?.string ?? "") version=\(body["version"]?.int ?? -1)",
            untrustedComment: "sealgate handbook acknowledgement")
        return (text, sig.fileContents)
    }

    /// Verifies an acknowledgement for `package` (and its version). Throws `ack_invalid`.
    public static func verify(text: String, signature: String, key: MinisignPublicKey, package: String, version: UInt64) throws -> JSON {
        func bad(_ why: String) -> SealError {
            GatewayError(
                .ackInvalid, "the handbook system's acknowledgement is not valid: \(why)",
                remedy: "check the acknowledgement key the handbook endpoint was connected with; the dataset stays pending and is sent again")
        }
        guard let sig = try? MinisignSignature(fileContents: signature) else { throw bad("malformed signature") }
        do { try sig.verify(publicKey: key, prehash: BLAKE2bHasher.hash(Array(text.utf8))) } catch {
            throw bad("signature does not verify with key \(key.keyIdHex)")
        }
        guard let body = try? JSON(parsing: text), body.canonical == text else { throw bad("not canonical JSON") }
        guard sig.trustedComment == "sealgate-handbook-ack/1 package=\(package) version=\(version)", body["package"]?.string == package,
            body["version"]?.int == Int64(version)
        else {
            throw bad("it acknowledges another package or version")
        }
        return body
    }
}
