public import Foundation
public import GatewayStore
public import SealBase
public import SealCrypto
import SealPackage

/// A unit's key rotation statement: "unit U replaces signing key OLD by NEW", signed by both
/// keys, so the gateway takes the new key only from someone who holds the old one and the new one.
///
/// The statement is a short text; each signature is an ordinary minisign (`ED`, prehashed)
/// signature of that text, so stock `minisign -Vm statement.txt -P <key>` checks either one.
/// On the wire it is JSON: `{"statement": TEXT, "old_signature": MINISIG, "new_signature": MINISIG}`.
public struct UnitKeyRotation: Sendable {
    public static let header = "sealgate unit key rotation v1"
    public let unit: String
    public let oldKey: MinisignPublicKey
    public let newKey: MinisignPublicKey
    /// When the unit wrote the statement (its `created:` line, which the text keeps as written).
    public let created: Timestamp
    public let statement: String
    public let oldSignature: String
    public let newSignature: String

    static func text(unit: String, old: MinisignPublicKey, new: MinisignPublicKey, created: String) -> String {
        "\(header)\nunit: \(unit)\nold-key: \(old.base64)\nnew-key: \(new.base64)\ncreated: \(created)\n"
    }

    /// Writes a statement signed by both keys (key files or keys on tokens).
    public static func make(unit: String, old: any MinisignSigner, new: any MinisignSigner, created: Timestamp) throws -> UnitKeyRotation {
        guard old.publicKey.keyId != new.publicKey.keyId else {
            throw GatewayError(
                .rotationInvalid, "the old and the new key are the same key (\(old.publicKey.keyIdHex))",
                remedy: "generate a new signing key and rotate to it")
        }
        let body = text(unit: unit, old: old.publicKey, new: new.publicKey, created: created.text)
        let prehash = BLAKE2bHasher.hash(Array(body.utf8))
        let tc = "sealgate/key-rotation unit=\(unit) old=\(old.publicKey.keyIdHex) new=\(new.publicKey.keyIdHex) created=\(created.text)"
        let a = try old.sign(prehash: prehash, trustedComment: tc, untrustedComment: "rotation statement signed by the old key")
        let b = try new.sign(prehash: prehash, trustedComment: tc, untrustedComment: "rotation statement signed by the new key")
        return UnitKeyRotation(
            unit: unit, oldKey: old.publicKey, newKey: new.publicKey, created: created, statement: body,
            oldSignature: a.fileContents, newSignature: b.fileContents)
    }

    private init(
        unit: String, oldKey: MinisignPublicKey, newKey: MinisignPublicKey, created: Timestamp, statement: String, oldSignature: String,
        newSignature: String
    ) {
        self.unit = unit
        self.oldKey = oldKey
        self.newKey = newKey
        self.created = created
        self.statement = statement
        self.oldSignature = oldSignature
        self.newSignature = newSignature
    }

    public var json: JSON {
        .object(["statement": .string(statement), "old_signature": .string(oldSignature), "new_signature": .string(newSignature)])
    }

    /// Parses a statement and checks both signatures: `rotation_invalid` when malformed,
    /// `rotation_signature_invalid` when either signature is missing, by another key, or does not verify.
    public init(json: JSON) throws {
        guard let body = json["statement"]?.string else {
            throw GatewayError(
                .rotationInvalid, "no statement in the rotation document", remedy: "send the file `sealgate keys rotate-unit` wrote, unchanged")
        }
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func field(_ name: String) throws -> String {
            guard let l = lines.first(where: { $0.hasPrefix(name + ": ") }) else {
                throw GatewayError(
                    .rotationInvalid, "the statement has no '\(name)' line", remedy: "send the file `sealgate keys rotate-unit` wrote, unchanged")
            }
            return String(l.dropFirst(name.count + 2))
        }
        guard lines.first == Self.header else {
            throw GatewayError(
                .rotationInvalid, "not a rotation statement (first line '\(lines.first ?? "")')",
                remedy: "send the file `sealgate keys rotate-unit` wrote, unchanged")
        }
        let unit = try field("unit")
        let created = try field("created")
        let old: MinisignPublicKey
        let new: MinisignPublicKey
        do {
            old = try MinisignPublicKey(base64: try field("old-key"))
            new = try MinisignPublicKey(base64: try field("new-key"))
        } catch let e as SealError where e.code != .rotationInvalid {
            throw GatewayError(
                .rotationInvalid, "a key in the statement is malformed: \(e.message)",
                remedy: "send the file `sealgate keys rotate-unit` wrote, unchanged")
        }
        guard body == Self.text(unit: unit, old: old, new: new, created: created) else {
            throw GatewayError(
                .rotationInvalid, "the statement is not in canonical form", remedy: "send the file `sealgate keys rotate-unit` wrote, unchanged")
        }
        guard old.keyId != new.keyId else {
            throw GatewayError(.rotationInvalid, "the old and the new key are the same key", remedy: "rotate to a newly generated key")
        }
        let prehash = BLAKE2bHasher.hash(Array(body.utf8))
        for (which, key, name) in [(json["old_signature"]?.string, old, "old"), (json["new_signature"]?.string, new, "new")] {
            guard let which, !which.isEmpty else {
                throw GatewayError(
                    .rotationSignatureInvalid, "the statement is not signed by the \(name) key \(key.keyIdHex)",
                    remedy: "a rotation needs the signatures of both keys, the old and the new, over the same statement")
            }
            do {
                let sig = try MinisignSignature(fileContents: which)
                try sig.verify(publicKey: key, prehash: prehash)
            } catch let e as SealError {
                throw GatewayError(
                    .rotationSignatureInvalid, "the \(name) key's signature (\(key.keyIdHex)) does not hold: \(e.message)",
                    remedy: "a rotation needs the signatures of both keys over the same statement: run sealgate keys rotate-unit again")
            }
        }
        // A statement whose time is not a moment is never fresh (refused once it holds, as before
        // for one outside the window).
        guard let moment = created.moment else {
            throw GatewayError(
                .rotationInvalid, "the statement was created \(created), which is not a UTC time",
                remedy: "check the unit's clock and write a fresh statement")
        }
        self.init(
            unit: unit, oldKey: old, newKey: new, created: moment, statement: body,
            oldSignature: json["old_signature"]!.string!, newSignature: json["new_signature"]!.string!)
    }
}

/// Applies a verified rotation statement to the store: the new key becomes active at once, the old
/// one becomes `retiring` — it still verifies packages created before the switch, until the grace
/// ends. Logged (kind `unit_key_rotated`) in the same transaction. The switch is at the clock's
/// time, and a statement is fresh by it.
public enum UnitKeyRotations {
    public static func apply(
        _ r: UnitKeyRotation, pathUnit: String? = nil, store: any GatewayStore, grace: Duration, clock: any GatewayClock = .system
    ) async throws -> (switchAt: Timestamp, validUntil: Timestamp) {
        if let pathUnit, pathUnit != r.unit {
            throw GatewayError(
                .rotationInvalid, "the statement is for unit \(r.unit), not \(pathUnit)", remedy: "post it to /v1/units/\(r.unit)/keys")
        }
        let now = clock.now
        let switchAt = now
        // A statement from the future or long ago is refused (clock error, or an old statement replayed).
        let horizon = now.adding(.seconds(300))
        let stale = now.adding(.seconds(-7 * 86_400))
        guard r.created <= horizon, r.created >= stale else {
            throw GatewayError(
                .rotationInvalid, "the statement was created \(r.created), outside [\(stale), \(horizon)]",
                remedy: "check the unit's clock and write a fresh statement")
        }
        let validUntil = now.adding(grace)
        let log = JSON.object([
            "kind": .string("unit_key_rotated"), "unit": .string(r.unit), "old_key": .string(r.oldKey.keyIdHex),
            "new_key": .string(r.newKey.keyIdHex), "new_public_key": .string(r.newKey.base64), "switch_at": .string(switchAt.text),
            "old_valid_until": .string(validUntil.text), "statement_sha256": .string(hexString(SHA256Hasher.hash(Array(r.statement.utf8)))),
        ]).canonical
        do {
            try await store.rotateUnitKey(
                unitId: r.unit, oldKeyId: r.oldKey.keyIdHex, newKeyId: r.newKey.keyIdHex, newPublicKey: r.newKey.base64,
                switchAt: switchAt, oldValidUntil: validUntil, logBody: log)
        } catch let e as StoreError where [.keyState, .keyExists, .keyUnknown, .unitUnknown].contains(e.code) {
            let remedy =
                switch e.code {
                case .keyState: "the old key was already rotated or revoked; rotate from the unit's current key"
                case .keyExists: "rotate to a newly generated key"
                default: "the department registers the unit and its key first"
                }
            throw GatewayError(SealErrorCode(e.code.rawValue), e.message, remedy: remedy)
        }
        return (switchAt, validUntil)
    }
}
