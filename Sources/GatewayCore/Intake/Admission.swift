import Foundation
public import GatewayStore
import SealBase
public import SealCrypto
public import SealPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What becomes of a body once it has been received whole, before any decision.
public enum Admission: Sendable {
    /// Not the signed package of a registered unit (or not for this gateway): answered with the
    /// code, kept nowhere, not logged, no seq claimed.
    case refused(SealError)
    /// The same bytes were decided before: answered from that decision; nothing is stored again.
    case duplicate(receipt: String, signature: String)
    /// Verified: to be decided now (`IntakeDecision.process`).
    case admitted(AdmittedBody)
}

/// A body the admission let in.
public enum AdmittedBody: Sendable {
    /// Recorded as pending in the spool (the entry recorded, and the proof that its trusted
    /// comment's signature verified): decided now, or after a crash (`IntakeRecovery`).
    case recorded(SpoolEntry, comment: VerifiedComment)
    /// A small body verified in memory, not recorded yet: its record is made by its decision's
    /// commit, in the same transaction (a crash before it leaves nothing, and no answer was given).
    case verified(VerifiedBody)
}

/// A small body that passed the admission (`IntakeAdmission.admit(small:)`), waiting for its
/// decision: the spool record its decision's commit makes (the bytes kept in it, which the
/// decision reads where they are), the proof that its trusted comment verified, the admission's
/// reads, and its head as parsed.
public struct VerifiedBody: Sendable {
    public let record: NewSpoolRecord
    public let comment: VerifiedComment
    /// The proof that the package's signatures verified over its payload (the decision's open,
    /// reading the same bytes, does not verify them again).
    let signature: VerifiedSignature
    /// The signer's key, the trust document's version, the unit's last seq and the outcome holding
    /// the package's seq, read by the admission (the decision's first try uses them).
    let lookup: IntakeLookup
    /// The package's head as the admission's verification parsed it from these bytes: the
    /// decision does not parse it again.
    let header: PackageHeader
}

/// The intake's door (steps 1 and 2 of `Intake`): the head of a body as it streams in, then the
/// whole body once it is received and fsynced. Nothing it refuses is kept, logged or claims a seq.
public struct IntakeAdmission: Sendable {
    let data: DataDirectory
    let store: any GatewayStore
    let receipts: IntakeReceipts
    /// Whose head must cover a stored receipt before it is answered again.
    let log: GatewayLog
    public let maxPackageBytes: UInt64
    /// Where a large body is read and verified (the intake's own threads).
    let work: BlockingPool
    /// Whose time decides whether a replaced or revoked key is still good, and stamps received-at.
    let clock: any GatewayClock

    /// A new name for a body being received (`spool/.incoming-…`): not a spool entry until admitted.
    public func incomingPath() -> String { "\(data.spoolPath)/.incoming-\(PackageIdentifiers.newUUIDv7())" }

    /// Copies a package file (media, `sealgate import`) into the spool's incoming area, hashing
    /// and fsyncing it (`BodySpooler`); returns its path, SHA-256 and size.
    public func receiveFile(_ path: String) throws -> (path: String, sha256: String, size: Int64) {
        let body = try BodySpooler.copy(try FileSource(path: path), to: incomingPath(), limit: maxPackageBytes)
        return (body.path, body.sha256, Int64(body.size))
    }

    /// The checks the first member allows (step 1): the signer's registered key, or the refusal
    /// thrown (`key_unknown`, `key_state`, `unit_mismatch`, `comment_signature_invalid`,
    /// `kind_not_accepted`, `token_unit_mismatch`; store faults as they are), with the proof that
    /// the comment's signature verified, for the full verification of the same package to pass
    /// on (`Verifier`, `Opener`: not verified twice). `verified`: that proof from an earlier
    /// check of the same package — when it covers this signature with the key read now, the
    /// comment's signature is not verified again (the key's state is still checked).
    public func prechecked(_ peek: PackagePeek, tokenUnit: String?, verified: VerifiedComment? = nil) async throws -> (
        key: UnitKeyRecord, comment: VerifiedComment
    ) {
        try checked(peek, key: try await store.unitKey(keyId: Minisign.keyIdHex(peek.signature.keyId)), tokenUnit: tokenUnit, verified: verified)
    }

    /// What `prechecked` refuses a head with (a streamed body's is answered at once, the
    /// connection closed).
    public static let headCodes: Set<SealErrorCode> = [
        .keyUnknown, .seqOutOfRange, .tokenUnitMismatch, .keyState, .unitMismatch, .signatureKeyMismatch, .commentSignatureInvalid,
        .kindNotAccepted,
    ]

    /// `prechecked` with the signer's key as the store gave it just now (nil: none holds it).
    func checked(_ peek: PackagePeek, key found: UnitKeyRecord?, tokenUnit: String?, verified: VerifiedComment?) throws -> (
        key: UnitKeyRecord, comment: VerifiedComment
    ) {
        let keyHex = Minisign.keyIdHex(peek.signature.keyId)
        guard let key = found else {
            throw GatewayError(
                .keyUnknown, "package is signed by key \(keyHex), which no registered unit holds",
                remedy: "register the unit's public key (`sealgate units add`), or sign with the registered key")
        }
        let c = peek.comment
        // The format allows any u64; the store orders seqs as signed 64-bit integers, so a seq
        // above Int64.max would sort below every other and make `seq_not_increasing` blind.
        guard c.seq <= UInt64(Int64.max) else {
            throw GatewayError(
                .seqOutOfRange, "seq \(c.seq) is above the largest this gateway takes (\(Int64.max))",
                remedy: "seal again with the unit's next seq (the last one plus one)")
        }
        if let tokenUnit, tokenUnit != c.unit {
            throw GatewayError(
                .tokenUnitMismatch, "this token belongs to \(tokenUnit), the package to \(c.unit)",
                remedy: "submit with the token of the package's own unit")
        }
        try Self.checkKey(key, created: c.created.moment, at: clock.now)
        guard c.unit == key.unitId else {
            throw GatewayError(
                .unitMismatch, "package says unit \(c.unit) but key \(keyHex) belongs to \(key.unitId)",
                remedy: "a unit may only submit packages under its own id")
        }
        let publicKey = try MinisignPublicKey(base64: key.publicKey)
        let comment = try verified.flatMap { $0.covers(peek.signature, publicKey) ? $0 : nil } ?? peek.signature.verifyComment(publicKey: publicKey)
        guard c.kind != .dataset else {
            throw GatewayError(
                .kindNotAccepted, "units do not send datasets (kind=dataset): the department makes them",
                remedy: "seal a snapshot (organizations.csv, members.csv) or a correction (corrections.csv)")
        }
        return (key, comment)
    }

    /// Is `key` good for a package created at `created`, at the moment `now`? Throws `key_state`.
    /// Times are compared as moments: a time that is not one (nil: a damaged record) never makes a key good.
    static func checkKey(_ key: UnitKeyRecord, created made: Timestamp?, at now: Timestamp) throws {
        let keyHex = key.keyId
        let created = made?.text ?? "?"
        switch key.state {
        case .active: return
        case .retiring:
            // Replaced by a rotation: still good for packages created before the switch, until the grace ends.
            guard let made, let switched = key.switchedAt, let until = key.validUntil, made < switched, now <= until else {
                throw GatewayError(
                    .keyState,
                    "key \(keyHex) of \(key.unitId) was replaced at \(key.switchedAt?.text ?? "?") (valid until \(key.validUntil?.text ?? "?") for packages created before that); this package was created \(created)",
                    remedy: "seal again with the unit's new key")
            }
        case .revoked:
            // Revoked as compromised from T: only packages created before T (and, for a key
            // already replaced, before the switch and within the grace) are still accepted.
            let beforeSwitch =
                key.switchedAt.map { s in
                    guard let made, let until = key.validUntil else { return false }
                    return made < s && now <= until
                } ?? true
            guard let made, let t = key.compromisedAt, made < t, beforeSwitch else {
                throw GatewayError(
                    .keyState,
                    "key \(keyHex) of \(key.unitId) was revoked as compromised from \(key.compromisedAt?.text ?? "?"); this package was created \(created)",
                    remedy: "seal again with the unit's new key (ask the department to register it: sealgate units add-key)")
            }
        default:
            throw GatewayError(.keyState, "key \(keyHex) of \(key.unitId) is \(key.state.rawValue)", remedy: "sign with the unit's current key")
        }
    }

    /// Step 2 for a body received whole at `path` (an incoming file, fsynced): refused, a
    /// duplicate, or admitted into the spool as pending. The incoming file is gone afterwards
    /// (moved into the spool, or removed). Faults of the gateway's own are thrown.
    ///
    /// `streamed`: the proof `prechecked` made on the body's head as it streamed in (the same
    /// request, the same token): when it covers the file's signature with the key read now, the
    /// comment's signature is not verified again. The key and its state are read again (a key
    /// revoked while a large body streamed in is refused here, nothing kept).
    public func admit(
        incoming path: String, sha256: String, size: Int64, tokenUnit: String?, viewer: Viewer,
        streamed: VerifiedComment? = nil
    ) async throws -> Admission {
        var moved = false
        defer { if !moved { unlink(path) } }
        let key: UnitKeyRecord
        let comment: VerifiedComment
        // Reading and hashing the body is file work of any size: on the intake's pool unless small.
        let inline = size <= Intake.inlineBytes
        let maxBytes = maxPackageBytes
        do {
            try Failpoints.check("intake.admit")
            let header = try await work.run(inline: inline) { try PackageHeader(path: path, source: try FileSource(path: path), maxBytes: maxBytes) }
            let peek = PackagePeek(signature: header.signature, comment: header.comment)
            switch try await headChecked(peek, sha256: sha256, tokenUnit: tokenUnit, viewer: viewer, streamed: streamed) {
            case .replay(let answer): return answer
            case .good(let k, let c, _): (key, comment) = (k, c)
            }
            let signer = try MinisignPublicKey(base64: key.publicKey)
            let unit = key.unitId
            // The comment's signature was verified just above: only the package's is left.
            _ = try await work.run(inline: inline) {
                try Verifier.verify(path: path, signers: [signer], expectedUnit: unit, maxBytes: maxBytes, verifiedComment: comment)
            }
        } catch let e as SealError where !Intake.isGatewayFault(e) {
            return .refused(e)
        }
        let name = "\(PackageIdentifiers.newUUIDv7()).sgp"
        try await work.run { try renameDurably(path, "\(data.spoolPath)/\(name)") }
        moved = true
        return try await record(spoolName: name, sha256: sha256, size: size, comment: comment)
    }

    /// What a whole body's head comes to: a replay of bytes already decided (answered from that
    /// decision, nothing stored again), or the key and the proof of the comment's signature.
    private enum HeadCheck {
        case replay(Admission)
        case good(UnitKeyRecord, VerifiedComment, IntakeLookup)
    }

    /// The signer's key and an outcome of the same bytes read at once, then the head checked
    /// (`checked`; its refusal thrown) and a replay answered once a log head covers it.
    /// `bySeq`: the unit's last seq and the outcome holding the package's seq are read too (for the
    /// decision that follows at once).
    private func headChecked(
        _ peek: PackagePeek, sha256: String, tokenUnit: String?, viewer: Viewer, streamed: VerifiedComment?, bySeq: Bool = false
    ) async throws -> HeadCheck {
        let c = peek.comment
        let found = try await store.intakeLookup(
            keyId: Minisign.keyIdHex(peek.signature.keyId), unitId: bySeq ? c.unit : nil, seq: bySeq ? c.seq : nil, sha256: sha256)
        let (key, comment) = try checked(peek, key: found.key, tokenUnit: tokenUnit, verified: streamed)
        if let first = found.sameBytes, first.unitId == peek.comment.unit {
            try await log.headCovers(first, on: work)
            let (r, sig) = try receipts.duplicate(first, viewer: viewer)
            return .replay(.duplicate(receipt: r, signature: sig))
        }
        return .good(key, comment, found)
    }

    /// A small body written to `path` (an incoming name) and fsynced, for `admit(incoming:)`.
    private static func writeDurably(_ body: [UInt8], to path: String) throws {
        try Failpoints.check("intake.receive")
        try DurableFile.write(body, to: path)
    }

    /// Records a body moved into the spool as `name` as pending (the file goes if it cannot be).
    private func record(spoolName name: String, sha256: String, size: Int64, comment: VerifiedComment) async throws -> Admission {
        do {
            let (recorded, receivedAt) = (data.recorded(spoolName: name), clock.now)
            let id = try await store.addSpool(sha256: sha256, size: size, path: recorded, receivedAt: receivedAt, body: nil)
            return .admitted(
                .recorded(SpoolEntry(id: id, sha256: sha256, size: size, path: recorded, receivedAt: receivedAt, state: .pending), comment: comment))
        } catch {
            // Not recorded: never acknowledged; the unit sends it again.
            unlink("\(data.spoolPath)/\(name)")
            throw error
        }
    }

    /// Steps 1 and 2 for a small body received whole in memory (at most
    /// `Intake.smallBodyBytes`), with its head as parsed from it (`peek`; nil when the body holds
    /// none): refused, a duplicate, or verified — the same checks and answers as
    /// `admit(incoming:)`, in fewer steps. The signer's key, an outcome of the same bytes and the
    /// unit's seqs are read at once and the head is checked; then the package's signature is
    /// verified on the bytes in memory (where the caller runs, no file made: a small package's
    /// check costs less than a hop to the pool). Nothing is recorded: the body's spool record
    /// (its bytes kept in it) is made by its decision's commit (`Admission.verified`), so no file
    /// is made and a package costs one transaction. A body without a head is written and admitted
    /// as a streamed one (which names its fault).
    /// `streamed`: the proof of the comment's signature when the head was checked while the rest
    /// came in (as `admit(incoming:)` takes it).
    public func admit(
        small body: [UInt8], peek: PackagePeek?, tokenUnit: String?, viewer: Viewer, streamed: VerifiedComment? = nil
    ) async throws -> Admission {
        let sha256 = body.withUnsafeBytes { hexString(SHA256Hasher.hash($0)) }
        let size = Int64(body.count)
        guard let peek else {
            let incoming = incomingPath()
            try await work.run { try Self.writeDurably(body, to: incoming) }
            return try await admit(incoming: incoming, sha256: sha256, size: size, tokenUnit: tokenUnit, viewer: viewer)
        }
        let key: UnitKeyRecord
        let comment: VerifiedComment
        let found: IntakeLookup
        do {
            try Failpoints.check("intake.admit")
            switch try await headChecked(peek, sha256: sha256, tokenUnit: tokenUnit, viewer: viewer, streamed: streamed, bySeq: true) {
            case .replay(let answer): return answer
            case .good(let k, let c, let f): (key, comment, found) = (k, c, f)
            }
        } catch let e as SealError where !Intake.isGatewayFault(e) {
            return .refused(e)
        }
        // A `files` package's body is the only copy of its content: a file in the spool, where the
        // operator opens it (`sealgate open`), as a streamed body is (its comment's proof passed on).
        if peek.comment.kind == .files {
            let incoming = incomingPath()
            try await work.run { try Self.writeDurably(body, to: incoming) }
            return try await admit(incoming: incoming, sha256: sha256, size: size, tokenUnit: tokenUnit, viewer: viewer, streamed: comment)
        }
        let signer = try MinisignPublicKey(base64: key.publicKey)
        try Failpoints.check("intake.receive")
        let recorded = data.recorded(spoolName: "\(PackageIdentifiers.newUUIDv7()).sgp")
        let verified: VerifiedPackage
        do {
            // The comment's signature was verified just above: only the package's is left.
            verified = try Verifier.verify(
                path: recorded, body: body, signers: [signer], expectedUnit: key.unitId, maxBytes: maxPackageBytes, verifiedComment: comment)
        } catch let e as SealError where !Intake.isGatewayFault(e) {
            return .refused(e)
        }
        let record = NewSpoolRecord(sha256: sha256, size: size, path: recorded, receivedAt: clock.now, body: body)
        return .admitted(.verified(VerifiedBody(record: record, comment: comment, signature: verified.proof, lookup: found, header: verified.header)))
    }
}
