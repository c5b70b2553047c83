public import Foundation
public import GatewayStore
public import SealBase
public import SealCrypto
import SealPackage

/// What a unit needs to seal correctly (spec §8), signed by the trust root.
public struct TrustDocument: Sendable {
    public let json: JSON

    public var version: UInt64 { UInt64(json["version"]?.int ?? 0) }
    /// The document's `expires` as written (the JSON keeps its text); `expiresAt` is the moment.
    public var expires: String { json["expires"]?.string ?? "" }
    /// When the document expires (nil if its `expires` is not a moment).
    public var expiresAt: Timestamp? { expires.moment }
    /// When the document was issued (nil if its `issued` is not a moment).
    public var issuedAt: Timestamp? { json["issued"]?.string?.moment }
    public var department: String { json["department"]?.string ?? "" }
    public var intakeURL: String { json["intake_url"]?.string ?? "" }

    /// The `active` recipients (what units seal to).
    public func activeRecipients() throws -> [any AgeKeyRecipient] {
        try (json["recipients"]?.array ?? []).filter { $0["state"]?.string == "active" }.compactMap { $0["recipient"]?.string }.map {
            try AgeKeys.recipient($0)
        }
    }

    /// Every recipient the gateway accepts, with its state.
    public var recipientStates: [(fingerprint: String, state: String)] {
        (json["recipients"]?.array ?? []).compactMap { r in r["fingerprint"]?.string.map { ($0, r["state"]?.string ?? "") } }
    }

    public func publicKey(_ role: String) throws -> MinisignPublicKey {
        guard let b64 = json["\(role)_key"]?.string else {
            throw GatewayError(.trustInvalid, "trust document lacks the \(role) key", remedy: "fetch it again")
        }
        return try MinisignPublicKey(base64: b64)
    }

    /// The keys a verifier accepts for `role` (receipt, dataset, log) on a signature made at
    /// `signedAt`: the active key first, then pending ones (published before they sign), then
    /// verify-only ones whose `until` is not before `signedAt` (spec §8 `signing_keys`; none when
    /// the time of the signature is not known: nil).
    public func verifyingKeys(_ role: String, signedAt at: Timestamp?) -> [MinisignPublicKey] {
        var keys = (try? publicKey(role)).map { [$0] } ?? []
        for k in json["signing_keys"]?.array ?? [] where k["role"]?.string == role {
            guard let b64 = k["key"]?.string, let pk = try? MinisignPublicKey(base64: b64), !keys.contains(pk) else { continue }
            switch k["state"]?.string {
            case "pending": keys.append(pk)
            case "verify-only": if let until = k["until"]?.string?.moment, let at, at <= until { keys.append(pk) }
            default: break
            }
        }
        return keys
    }

    /// The key among `verifyingKeys` that made a minisign signature; throws `receipt_invalid`
    /// (or `what`'s code) naming the key when the document does not accept it.
    public func signer(_ role: String, keyId: [UInt8], signedAt: Timestamp?, code: SealErrorCode = .receiptInvalid) throws -> MinisignPublicKey {
        if let k = verifyingKeys(role, signedAt: signedAt).first(where: { $0.keyId == keyId }) { return k }
        let known = (json["signing_keys"]?.array ?? []).contains { $0["role"]?.string == role && $0["key_id"]?.string == Minisign.keyIdHex(keyId) }
        throw GatewayError(
            code,
            "signed by \(role) key \(Minisign.keyIdHex(keyId)), which trust document version \(version) \(known ? "no longer accepts for a signature made at \(signedAt?.text ?? "")" : "does not list")",
            remedy: known
                ? "do not rely on it: the key was rotated before this was signed"
                : "fetch the trust document again (`sealgate trust fetch`); if it still does not list the key, do not rely on it")
    }

    public init(json: JSON) { self.json = json }

    /// The root key this document names (unverified until `verify`).
    public static func namedRoot(_ body: String) -> MinisignPublicKey? {
        (try? JSON(parsing: body))?["root_key"]?.string.flatMap { try? MinisignPublicKey(base64: $0) }
    }

    /// `recipients`: the department's recipients and their states (retired ones are left out);
    /// nil lists every loaded identity as active (a new gateway).
    /// `signingKeys`: rotated receipt/dataset/log keys (pending and verify-only ones are listed).
    public static func make(
        version: UInt64, department: String, intakeURL: String, keys: DepartmentKeys, recipients states: [RecipientRecord]? = nil,
        signingKeys: [SigningKeyRecord] = [], now: Timestamp = .now, validity: Duration = .seconds(90 * 86_400)
    ) throws -> TrustDocument {
        let issued = now.text
        let expires = now.adding(validity).text
        let recipients: [JSON]
        if let states {
            recipients = states.filter { $0.state != .retired }.map { r in
                var o: [String: JSON] = [
                    "recipient": .string(r.recipient), "fingerprint": .string(r.fingerprint), "state": .string(r.state.rawValue),
                ]
                if let until = r.decryptUntil { o["until"] = .string(until.text) }
                return .object(o)
            }
        } else {
            recipients = keys.recipients.map {
                JSON.object([
                    "recipient": .string($0.keyRecipient.string), "fingerprint": .string($0.keyRecipient.fingerprint), "state": .string("active"),
                ])
            }
        }
        let active = Set([keys.receipt, keys.dataset, keys.log].map(\.publicKey.keyIdHex))
        let others: [JSON] = signingKeys.filter { $0.state != .active && $0.state != .retired && !active.contains($0.keyId) }.map { k in
            var o: [String: JSON] = [
                "role": .string(k.role.rawValue), "key_id": .string(k.keyId), "key": .string(k.publicKey), "state": .string(k.state.rawValue),
            ]
            if let until = k.until { o["until"] = .string(until.text) }
            return .object(o)
        }
        var extra: [String: JSON] = [:]
        if !others.isEmpty { extra["signing_keys"] = .array(others) }
        return TrustDocument(
            json: .object(
                extra.merging([
                    "format": .string("sealgate-trust/1"), "version": .int(Int64(version)), "issued": .string(issued), "expires": .string(expires),
                    "department": .string(department), "intake_url": .string(intakeURL), "recipients": .array(recipients),
                    "receipt_key": .string(keys.receipt.publicKey.base64), "dataset_key": .string(keys.dataset.publicKey.base64),
                    "log_key": .string(keys.log.publicKey.base64), "root_key": .string(keys.root.publicKey.base64),
                ]) { a, _ in a }))
    }

    /// Signs the canonical text with the root key (detached minisign, prehashed); when the root
    /// changes with this version, `previousRoot` cross-signs the same text.
    public func signed(with root: MinisignSecretKey, previousRoot: MinisignSecretKey? = nil) throws -> TrustRecord {
        let body = json.canonical
        let prehash = BLAKE2bHasher.hash(Array(body.utf8))
        let sig = try root.sign(
            prehash: prehash, trustedComment: "sealgate-trust/1 version=\(version) expires=\(expires)",
            untrustedComment: "sealgate trust document signature")
        let cross = try previousRoot.map {
            try $0.sign(
                prehash: prehash, trustedComment: "sealgate-trust/1 version=\(version) expires=\(expires) new-root=\(root.publicKey.keyIdHex)",
                untrustedComment: "sealgate trust root rotation: the previous root's signature"
            ).fileContents
        }
        return TrustRecord(version: version, body: body, signature: sig.fileContents, rootCrossSignature: cross)
    }

    /// Verifies a fetched document against the pinned root and the version held before.
    /// Throws `trust_invalid`, `trust_expired` or `trust_rollback`.
    /// A document naming a root other than the pinned one is taken only when it is signed by its
    /// own (new) root and cross-signed by the pinned (old) one (`rootCrossSignature`).
    public static func verify(
        body: String, signature: String, root: MinisignPublicKey, heldVersion: UInt64?, rootCrossSignature: String? = nil,
        allowExpired: Bool = false, now: Timestamp = .now
    ) throws -> TrustDocument {
        let prehash = BLAKE2bHasher.hash(Array(body.utf8))
        func check(_ text: String, _ key: MinisignPublicKey, _ what: String) throws {
            let sig: MinisignSignature
            do { sig = try MinisignSignature(fileContents: text) } catch {
                throw GatewayError(
                    .trustInvalid, "\(what) is malformed", remedy: "fetch it again; if it persists, the gateway or the network is not to be trusted")
            }
            do { try sig.verify(publicKey: key, prehash: prehash) } catch let e as SealError {
                throw GatewayError(
                    .trustInvalid, "\(what) does not verify with root \(key.keyIdHex) (\(e.code))",
                    remedy: "do not use it; check the pinned root key, or ask the department whether its root key changed")
            }
        }
        // The root the (not yet trusted) document names.
        let named = namedRoot(body)
        if let named, named.keyId != root.keyId || named.key != root.key {
            guard let rootCrossSignature else {
                throw GatewayError(
                    .trustInvalid, "trust document names a new root \(named.keyIdHex) without the pinned root's (\(root.keyIdHex)) signature",
                    remedy: "do not use it: a new root is taken only from a document signed by the old and the new root")
            }
            try check(rootCrossSignature, root, "the pinned root's signature of the root change")
            try check(signature, named, "trust document signature")
        } else {
            try check(signature, root, "trust document signature")
        }
        let doc = TrustDocument(json: try JSON(parsing: body))
        guard doc.json.canonical == body, doc.json["format"]?.string == "sealgate-trust/1" else {
            throw GatewayError(.trustInvalid, "trust document is not canonical sealgate-trust/1 JSON", remedy: "fetch it again")
        }
        guard let exp = doc.expiresAt, allowExpired || exp > now else {
            throw GatewayError(
                .trustExpired, "trust document expired at \(doc.expires)", remedy: "the department must publish a new one; fetch again later")
        }
        if let held = heldVersion, doc.version < held {
            throw GatewayError(
                .trustRollback, "trust document version \(doc.version) is older than the one held (\(held))",
                remedy: "keep the newer document; someone may be replaying an old one")
        }
        return doc
    }
}
