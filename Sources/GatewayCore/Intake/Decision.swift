import Foundation
public import GatewayStore
import PartyRecords
public import SealBase
public import SealCrypto
public import SealPackage
import Synchronization
import SystemIO
import TransparencyLog

#if canImport(Glibc)
    import Glibc
#endif

/// The decision on an admitted body (step 3 of `Intake`): the key checked again, the seq, the
/// signature and decryption (at most 16 recipient stanzas), the records, the all-or-nothing
/// import and the signed receipt, committed with the log entry in one transaction. Each step is
/// a function of its own, in the order `decide` runs them.
///
/// A fault of the gateway's own (I/O, a full disk, the store down) is thrown, never recorded as
/// a decision: the body is forgotten and the unit sends it again (`forget`).
public struct IntakeDecision: Sendable {
    let data: DataDirectory
    let store: any GatewayStore
    let keys: IntakeKeys
    let receipts: IntakeReceipts
    let admission: IntakeAdmission
    /// The transparency log receipts are proven in.
    let log: GatewayLog
    let department: String
    let maxPackageBytes: UInt64
    /// Where verification, decryption and validation run (threads of their own, bounded).
    let work: BlockingPool
    /// Whose time a decision is stamped with (decided-at in the outcome, the receipt and the log)
    /// and whose day the record rules count ages from.
    let clock: any GatewayClock
    /// The package bytes decided in memory now (`Intake.inMemoryBudget`).
    let inMemory = ByteBudget(limit: Intake.inMemoryBudget)

    /// Runs the checks on one admitted body and commits the decision. Idempotent: a body
    /// already decided returns its outcome.
    /// Bodies are decided concurrently; the store's transaction is what makes (unit, seq) unique.
    /// When two bodies race for the same seq, the loser decides again and finds the winner:
    /// a duplicate if the bytes are the same, a conflict otherwise.
    public func process(spoolId: Int64) async throws -> IntakeResult {
        // A decision found made (by another process, its recovery) is answered with keys as
        // fresh as its checkpoint's: a log key that process rotated in is known first.
        try await keys.refresh()
        if let done = try await store.outcome(spoolId: spoolId) { return try await answered(IntakeResult(kind: Self.kind(of: done), outcome: done)) }
        guard let entry = try await store.spool(id: spoolId) else {
            throw GatewayError(.storeFailure, "no spool entry \(spoolId)", remedy: "report this as a bug")
        }
        return try await decideRetrying(entry)
    }

    /// `process` for the entry an admission just recorded (`AdmittedBody.recorded`): not read
    /// back, and no outcome looked for by its spool id — nothing else decides a pending entry
    /// while its admission's request goes on but a second process sharing the data folder (its
    /// recovery), whose decision this one then finds by the package's seq, or, for a rejection
    /// that claimed none, by the spool id once its own commit meets that outcome.
    /// `comment`: the admission's proof that the package's trusted comment verified (with the
    /// key it read then): the decision checks the key's state again, not that signature.
    public func process(admitted entry: SpoolEntry, comment: VerifiedComment) async throws -> IntakeResult {
        do { return try await decideRetrying(entry, comment: comment) } catch let e as StoreError where e.code == .uniqueViolation {
            // Decided meanwhile by another process (its recovery of the pending entry): that answer.
            return try await process(spoolId: entry.id)
        }
    }

    /// The decision on a body the admission let in (`Admission.admitted`). A fault of ours is
    /// thrown once the body is forgotten: nothing is kept or decided, and the unit sends it again.
    public func process(_ body: AdmittedBody) async throws -> IntakeResult {
        switch body {
        case .verified(let v): return try await process(verified: v)
        case .recorded(let entry, let comment):
            do { return try await process(admitted: entry, comment: comment) } catch {
                await forget(spoolId: entry.id)
                throw error
            }
        }
    }

    /// The decision on a small body verified in memory and not recorded yet (`Admission.verified`):
    /// its spool record is made by the decision's own commit — one transaction a package. The
    /// admission's reads are used by the first try; a try that meets a seq taken meanwhile reads again.
    /// A fault leaves nothing behind (no pending record to forget): the unit sends the package again.
    public func process(verified v: VerifiedBody) async throws -> IntakeResult {
        let r = v.record
        let entry = SpoolEntry(id: 0, sha256: r.sha256, size: r.size, path: r.path, receivedAt: r.receivedAt, state: .pending, inStore: true)
        var lookup: IntakeLookup? = v.lookup
        for _ in 0..<3 {
            do {
                return try await answered(
                    decide(
                        entry, path: r.path, body: r.body, header: v.header, verified: v.comment, signature: v.signature, newSpool: r, lookup: lookup)
                )
            } catch let e as StoreError where e.code == .seqTaken {
                lookup = nil
            }
        }
        return try await answered(
            decide(entry, path: r.path, body: r.body, header: v.header, verified: v.comment, signature: v.signature, newSpool: r))
    }

    private func decideRetrying(_ entry: SpoolEntry, comment: VerifiedComment? = nil) async throws -> IntakeResult {
        // A body kept in the store (a pending record the version before this one made at a small
        // body's admission, left by a crash) is read from memory, where it is.
        var body: [UInt8]?
        if entry.inStore {
            guard let bytes = try await store.spoolBody(id: entry.id) else {
                throw GatewayError(.storeFailure, "spool entry \(entry.id) holds no body", remedy: "report this as a bug")
            }
            body = bytes
        }
        let path = body == nil ? data.resolve(spoolPath: entry.path) : entry.path
        for _ in 0..<3 {
            do { return try await answered(decide(entry, path: path, body: body, verified: comment)) } catch let e as StoreError
                where e.code == .seqTaken
            {
                continue
            }
        }
        return try await answered(decide(entry, path: path, body: body, verified: comment))
    }

    /// A decision found already made (this body decided before, or the same bytes by another
    /// request) is answered only once a log head covers its receipt (`GatewayLog.headCovers`); for
    /// a decision made here (its commit waited for that) it is a comparison in memory.
    private func answered(_ r: IntakeResult) async throws -> IntakeResult {
        try await log.headCovers(r.outcome, on: work)
        return r
    }

    /// A stored decision read back (`GET /v1/packages/{id}`): answered only once a log head
    /// covers its receipt, as a replay is.
    public func readBack(_ o: Outcome) async throws -> Outcome {
        try await log.headCovers(o, on: work)
        return o
    }

    /// Forgets a body that was admitted but could not be decided because of a fault of ours:
    /// its spool entry and file go, and the unit sends the package again.
    public func forget(spoolId: Int64) async {
        guard let entry = try? await store.spool(id: spoolId), (try? await store.removePendingSpool(id: spoolId)) == true else { return }
        if !entry.inStore { unlink(data.resolve(spoolPath: entry.path)) }
    }

    static func kind(of o: Outcome) -> IntakeResult.Kind {
        switch o.status {
        case .accepted: return .accepted
        case .duplicate: return .duplicate
        default: return o.code == SealErrorCode.seqConflict.rawValue ? .seqConflict : .rejected
        }
    }

    /// Codes reported before the signature is known good: the package is not attributed to a unit.
    static let preSignature: Set<String> = [
        SealErrorCode.packageTooLarge, .containerMalformed, .signatureMalformed, .keyUnknown, .keyState,
        .commentMalformed, .unitMismatch, .kindNotAccepted, .signatureInvalid, .commentSignatureInvalid, .seqConflict, .seqNotIncreasing,
        .seqOutOfRange,
    ].map(\.rawValue).reduce(into: []) { $0.insert($1) }

    /// A refusal found after the signature (the records, too many corrections): rejected with
    /// the validation report, not attributed (`reject`'s default).
    private struct Rejection: Error {
        let error: SealError
        let validation: JSON
    }

    /// The body's decision, step by step: head and key, seq, open, records, corrections, commit.
    /// A refusal of the package (not a fault of ours) is committed as a rejection.
    /// `path`: where the body is read — its file in the spool — or, with `body` (its bytes held in
    /// memory), only its name; `header`: its head as parsed from the same bytes before.
    /// `newSpool`: the record of a body not recorded yet, made by the commit (`process(verified:)`);
    /// `lookup`: the reads `intakeLookup` would make now, made by the admission just before;
    /// `signature`: the admission's proof that the package's signatures verified (same bytes).
    private func decide(
        _ entry: SpoolEntry, path: String, body: [UInt8]? = nil, header parsed: PackageHeader? = nil, verified earlier: VerifiedComment?,
        signature: VerifiedSignature? = nil,
        newSpool: NewSpoolRecord? = nil, lookup: IntakeLookup? = nil
    ) async throws -> IntakeResult {
        var comment: TrustedComment?
        var unitKey: UnitKeyRecord?
        // Whether the keys were refreshed with the lookup: a refusal met before it refreshes
        // them itself (its receipt is signed with the receipt key of the latest trust document).
        var refreshed = false
        do {
            do {
                let header =
                    try parsed
                    ?? PackageHeader(
                        path: path, source: try body.map { FileSource(bytes: $0, path: path) } ?? FileSource(path: path), maxBytes: maxPackageBytes,
                        keys: nil)
                comment = header.comment
                let c = header.comment
                // The key, the unit's last seq, the outcome holding this seq and the trust
                // document's version, read at once (one snapshot on SQLite; in that order on
                // PostgreSQL, each its own).
                let found: IntakeLookup
                if let lookup {
                    found = lookup
                } else {
                    found = try await store.intakeLookup(keyId: Minisign.keyIdHex(header.signature.keyId), unitId: c.unit, seq: c.seq, sha256: nil)
                }
                // The department's keys reloaded first if a rotation published a new trust document.
                try await keys.refresh(seen: found.trustVersion)
                refreshed = true
                // Checked at admission; checked again, as the key may have changed state since (a
                // small body's first try checks the record the admission read: a revocation since
                // is met under the commit's log-order lock, and the package flagged for review).
                let peek = PackagePeek(signature: header.signature, comment: header.comment)
                let (key, verified) = try admission.checked(peek, key: found.key, tokenUnit: nil, verified: earlier)
                unitKey = key
                if let first = try await checkSeq(
                    entry, c, path: path, body: body, header: header, lastSeq: found.lastSeq, holder: found.seqOutcome, recorded: newSpool == nil)
                {
                    return IntakeResult(kind: .duplicate, outcome: first)
                }
                // A package up to `Intake.inMemoryBytes` is opened, validated and imported in
                // memory: no file is made (the plaintext is no larger than the package). A larger
                // one is opened into a folder of this decision's own (the same package may be
                // decided twice at once: sent twice, or to two processes sharing the data folder),
                // removed after the decision — the plaintext lives only while it is read into the
                // store; the files of a `files` package stay sealed in the spool.
                let inMemory = entry.size <= Intake.inMemoryBytes && self.inMemory.take(entry.size)
                defer { if inMemory { self.inMemory.give(entry.size) } }
                let openDir = inMemory ? nil : "\(data.packagesPath)/.opening-\(getpid())-\(PackageIdentifiers.newUUIDv7())"
                defer { if let openDir { try? FileManager.default.removeItem(atPath: openDir) } }
                let opened = try await open(
                    entry, path: path, body: body, header: header, key: key, c, verified: verified, signature: signature, into: openDir)
                if openDir != nil { try Failpoints.check("intake.opened-folder") }
                let input: RecordInput = openDir.map { .folder($0) } ?? .memory(opened.files)
                let records = try await readRecords(input, c, inline: entry.size <= Intake.inlineBytes)
                let corrections = try await correctionsToApply(records, c)
                let body = acceptedBody(entry, c, opened, records, correctionReport: corrections?.report)
                let outcome = try await commit(
                    entry, c, status: .accepted, code: nil, claimsSeq: true, snapshot: records.snapshot, corrections: corrections?.apply, body: body,
                    keyId: key.keyId, newSpool: newSpool)
                return IntakeResult(kind: .accepted, outcome: outcome)
            } catch let r as Rejection {
                return try await reject(entry, r.error, comment: comment, validation: r.validation, newSpool: newSpool)
            }
        } catch let e as SealError where !Intake.isGatewayFault(e) {
            if !refreshed { try await keys.refresh() }
            return try await reject(entry, e, comment: comment, attributed: unitKey != nil, newSpool: newSpool)
        }
    }

    /// The seq: a duplicate of the same bytes decided meanwhile (returned: this copy is
    /// forgotten), or `seq_conflict` / `seq_not_increasing` thrown; nil when the seq is free.
    /// `lastSeq` was read before `holder` (the outcome holding this seq), or in the same snapshot:
    /// a rival deciding the same seq in between is found as that outcome, never as a last seq
    /// without it, which would make this seq look old. A rival that commits after the read is
    /// found by the commit's own check (`seq_taken`: the decision is made again).
    /// `recorded`: the body has a pending record (not one its commit would make).
    /// The same package is the same bytes, or another wrapping of the same signed package
    /// (`sameSignedPackage`): a copy someone padded or re-tarred and sent first is answered as the
    /// package it carries, so the unit's own copy sent after it is a duplicate, not a `seq_conflict`.
    private func checkSeq(
        _ entry: SpoolEntry, _ c: TrustedComment, path: String, body: [UInt8]?, header: PackageHeader, lastSeq: UInt64?, holder: Outcome?,
        recorded: Bool
    ) async throws -> Outcome? {
        if let first = holder {
            var same = first.sha256 == entry.sha256
            if !same { same = try await sameSignedPackage(first, c, path: path, body: body, header: header) }
            if same {
                // The same package decided meanwhile (two copies admitted at once, or one sent
                // again): this copy is forgotten, the answer is the first decision.
                if recorded, try await store.removePendingSpool(id: entry.id), !entry.inStore { unlink(path) }
                return first
            }
            throw GatewayError(
                .seqConflict, "seq \(c.seq) of \(c.unit) is already taken by another package (\(first.packageId ?? "?"))",
                remedy: "seal the new data with the next seq (above \(try await store.lastSeq(unitId: c.unit) ?? c.seq))")
        }
        if let last = lastSeq, c.seq <= last {
            throw GatewayError(
                .seqNotIncreasing, "seq \(c.seq) of \(c.unit) is not above the last one used (\(last))",
                remedy: "seal again with seq \(last + 1) or higher; an old package replayed is refused")
        }
        return nil
    }

    /// Whether the package holding the seq (`first`, of the same unit and package id) is the
    /// signed package this body carries in other tar bytes: the same signature lines
    /// (`PackageContainer.sameSignature`). Both signatures verified under the unit's key — this
    /// body's at its admission, the first's before it was decided — so the same signature is
    /// the same `payload.age`; only the first's head is read (its spool copy: a record's bytes
    /// or a file). False when that copy is gone (pruned, or kept by another node): the body is
    /// then a `seq_conflict` as before. A copy that cannot be read for another reason is a
    /// fault of ours (thrown), never a decision.
    private func sameSignedPackage(_ first: Outcome, _ c: TrustedComment, path: String, body: [UInt8]?, header: PackageHeader) async throws -> Bool {
        guard first.unitId == c.unit, first.packageId == c.package, let kept = try await store.spool(id: first.spoolId), kept.state != .pruned
        else { return false }
        let keptBody = kept.inStore ? try await store.spoolBody(id: kept.id) : nil
        if kept.inStore && keptBody == nil { return false }
        let keptPath = keptBody == nil ? data.resolve(spoolPath: kept.path) : kept.path
        let theirs: PackageContainer? = try await work.run {
            let source: FileSource
            if let keptBody {
                source = FileSource(bytes: keptBody, path: keptPath)
            } else {
                do { source = try FileSource(path: keptPath) } catch let e as SealError where (e.cause as? SystemCallError)?.errno == ENOENT {
                    return nil
                }
            }
            do { return try PackageContainer(path: keptPath, source: source, maxBytes: .max) } catch let e as SealError
                where !Intake.isGatewayFault(e)
            {
                throw SealError(
                    .ioError, "the spool's copy of package \(first.packageId ?? "?") does not read as a package (\(e.code.rawValue))",
                    remedy: "restore the spool from backup; the unit sends its package again once it is")
            }
        }
        guard let theirs else { return false }
        return PackageContainer.sameSignature(header.container, theirs)
    }

    /// Signature, recipients, decryption, payload, manifest, hashes (spec §5), into `openDir`, or
    /// kept in memory (`OpenedPackage.files`) when it is nil.
    private func open(
        _ entry: SpoolEntry, path: String, body: [UInt8]?, header: PackageHeader, key: UnitKeyRecord, _ c: TrustedComment,
        verified: VerifiedComment,
        signature: VerifiedSignature?,
        into openDir: String?
    ) async throws -> OpenedPackage {
        let pk = try MinisignPublicKey(base64: key.publicKey)
        let state = keys.snapshot()
        var request = OpenRequest(
            path: path, output: openDir, identities: state.keys.recipients.filter { state.accepted.contains($0.keyRecipient.fingerprint) },
            signers: [pk], expectedUnit: key.unitId, maxBytes: maxPackageBytes, acceptedFingerprints: state.accepted)
        request.body = body
        // The head parsed from the same bytes (held in memory) is not parsed again.
        request.header = body == nil ? nil : header
        // The opened files are derived from the fsynced spool copy: no fsync of their own.
        request.durable = false
        // A `files` package's files are not read at intake: in memory they would only be copies.
        request.captureFiles = openDir == nil && c.kind != .files
        // The comment's signature, verified by the precheck above, is not verified again (the
        // Opener still checks that its header's signature is the one verified, with this key).
        request.verifiedComment = verified
        // The package's signature verified by the admission over the same bytes: checked against
        // the prehash the open computes, not verified again.
        request.verifiedSignature = signature
        try Failpoints.check("intake.open")
        // Verification and decryption are CPU and file work: on the blocking pool, off the
        // cooperative threads.
        let openRequest = request
        do { return try await work.run(inline: entry.size <= Intake.inlineBytes) { try Opener.open(openRequest) } } catch let e as SealError
            where e.code == .recipientNotAccepted && c.to.contains(where: state.retired.contains)
        {
            throw GatewayError(
                .recipientRetired, "package is sealed to a department recipient that has been retired (\(c.to.joined(separator: ",")))",
                remedy: "fetch the trust document again (`sealgate trust fetch`) and seal the data anew with the next seq")
        }
    }

    /// What the opened records give: the validation report, the snapshot to import, the
    /// correction rows with their lines in the unit's file.
    private struct Records {
        var validation: JSON = .null
        var snapshot: SnapshotImport?
        var correctionRows: [[String]] = []
        var correctionLines: [Int] = []
    }

    /// Where an opened package's files are: a folder of the decision's own, or memory.
    enum RecordInput {
        case folder(String)
        case memory([String: [UInt8]])
    }

    /// Validates a snapshot's or a correction's records; records with errors are a `Rejection`
    /// (`records_invalid_at_intake`) carrying the report.
    private func readRecords(_ input: RecordInput, _ c: TrustedComment, inline: Bool) async throws -> Records {
        var r = Records()
        guard c.kind == .snapshot || c.kind == .correction else { return r }
        let (report, rows) = try await work.run(inline: inline) { try self.validateRecords(input, unit: c.unit, kind: c.kind) }
        r.correctionRows = rows.corrections
        r.correctionLines = rows.correctionLines
        r.validation = report
        if (report["errors"]?.int ?? 0) > 0 {
            throw Rejection(
                error: GatewayError(
                    .recordsInvalid, "the records have \(report["errors"]?.int ?? 0) error(s)",
                    remedy:
                        "fix the rows listed in the receipt's validation report (`sealgate validate` shows them with their values), then seal and submit again with the next seq"
                ),
                validation: report)
        }
        if c.kind == .snapshot {
            r.snapshot = SnapshotImport(unitId: c.unit, packageId: c.package, organizations: rows.organizations, members: rows.members)
        }
        return r
    }

    /// A correction's rows decided against the unit's current records (at most
    /// `maxCorrectionRows`, or a `Rejection`); nil for other kinds.
    private func correctionsToApply(_ records: Records, _ c: TrustedComment) async throws -> (apply: CorrectionImport, report: JSON)? {
        guard c.kind == .correction else { return nil }
        guard records.correctionRows.count <= Self.maxCorrectionRows else {
            throw Rejection(
                error: GatewayError(
                    .correctionsTooMany, "the package holds \(records.correctionRows.count) corrections, more than \(Self.maxCorrectionRows)",
                    remedy:
                        "send corrections as they are reported, in packages of at most \(Self.maxCorrectionRows) rows; for a whole new list send a snapshot"
                ),
                validation: records.validation)
        }
        let (apply, report, located) = try await decideCorrections(records.correctionRows, lines: records.correctionLines, unit: c.unit)
        return (CorrectionImport(unitId: c.unit, corrections: apply, located: located), report)
    }

    /// An accepted package's receipt body (before its place in the log): counts, files, the
    /// validation report and the corrections' report — never a value.
    private func acceptedBody(_ entry: SpoolEntry, _ c: TrustedComment, _ opened: OpenedPackage, _ records: Records, correctionReport: JSON?)
        -> [String: JSON]
    {
        let snapshot = records.snapshot
        var body = receipts.base(entry, c, status: .accepted)
        if let correctionReport { body["corrections"] = correctionReport }
        body["records"] = .object([
            "organizations": .int(Int64(snapshot?.organizations.count ?? 0)), "members": .int(Int64(snapshot?.members.count ?? 0)),
            // A file is named only when the name is the schema's own; a `files` package's
            // names are the unit's text, so its files are named by position.
            "files": .array(
                opened.manifest.files.enumerated().map { i, f in
                    .object([
                        "name": .string(RecordFile(rawValue: f.name) != nil ? f.name : "file \(i + 1)"), "sha256": .string(f.sha256),
                        "records": .int(Int64(f.records)),
                    ])
                }),
        ])
        body["validation"] = records.validation
        return body
    }

    private func commit(
        _ entry: SpoolEntry, _ c: TrustedComment?, status: OutcomeStatus, code: String?, claimsSeq: Bool, snapshot: SnapshotImport?,
        corrections: CorrectionImport? = nil,
        body: [String: JSON], keyId: String? = nil, newSpool: NewSpoolRecord? = nil
    ) async throws -> Outcome {
        let decidedAt = clock.now
        var decision = Decision(
            spoolId: entry.id, status: status, code: code, packageId: c?.package, unitId: c?.unit, seq: c?.seq, sha256: entry.sha256,
            kind: c.flatMap { OutcomeKind(rawValue: $0.kind.rawValue) }, decidedAt: decidedAt, claimsSeq: claimsSeq, keyId: keyId,
            created: c?.created.moment)
        decision.newSpool = newSpool
        let receipts = self.receipts
        return try await commitLogged(decision, entry, snapshot: snapshot, corrections: corrections) { leaf, logEntry, proven in
            try receipts.sign(body, leaf: leaf, decidedAt: decidedAt, logEntry: logEntry, proven: proven)
        }
    }

    /// Commits with the decision's log entry, extending the in-memory tree inside the
    /// transaction; forgets the extension if the transaction fails.
    private func commitLogged(
        _ d: Decision, _ entry: SpoolEntry, snapshot: SnapshotImport?, corrections: CorrectionImport? = nil,
        receipt: (Int64, String, (proof: [Merkle.Hash], checkpoint: Checkpoint, note: String)) throws -> ReceiptBundle
    ) async throws -> Outcome {
        let record: [String: JSON] = [
            "format": .string("sealgate-log/1"), "kind": .string(d.status == .duplicate ? "duplicate" : "outcome"),
            "gateway": .string(department), "status": .string(d.status.rawValue), "sha256": .string(d.sha256),
            "received_at": .string(entry.receivedAt.text), "decided_at": .string(d.decidedAt.text),
            "package": d.packageId.map(JSON.string) ?? .null, "unit": d.unitId.map(JSON.string) ?? .null,
            "seq": d.seq.map { .int(Int64(bitPattern: $0)) } ?? .null, "code": d.code.map(JSON.string) ?? .null,
        ]
        // The spool id is the commit's to give when the body's record is made with the decision.
        let logEntry = { (spool: Int64) -> String in
            var r = record
            r["spool"] = .int(spool)
            return JSON.object(r).canonical
        }
        // Entries others committed meanwhile are caught up inside the transaction; if it fails,
        // only this transaction's own leaf is forgotten.
        var ownLeaf: (index: Int64, hash: Merkle.Hash)?
        var signed: (size: Int, note: String, root: Merkle.Hash)?
        let outcome: Outcome
        do {
            outcome = try await store.commit(d, snapshot: snapshot, corrections: corrections, logEntry: logEntry, logSince: log.committedCount) {
                leaf, entries in
                let proven = try log.extend(with: entries, leaf: leaf)
                ownLeaf = (leaf, GatewayLog.leaf(entries[entries.count - 1]))
                signed = (proven.checkpoint.size, proven.note, proven.checkpoint.root)
                return try receipt(leaf, entries[entries.count - 1].body, proven)
            }
        } catch {
            if let ownLeaf { log.forget(from: ownLeaf.index, hash: ownLeaf.hash) }
            throw error
        }
        // The checkpoint the receipt carries is the gateway's word: kept as the log head before
        // the receipt leaves (a fault here is ours: the decision stands, the unit asks again).
        if let ownLeaf { log.markCommitted(through: ownLeaf.index) }
        // A tile the leaf completed is written now; one not written (a store fault) stays in
        // memory for the next try, and the next start derives it again from the entries.
        do { try await log.saveTiles() } catch {}
        // The log head's write and fsync (and its cross-process lock) on the pool, one write for
        // the decisions committed meanwhile.
        if let signed { try await log.recordHead(size: signed.size, note: signed.note, root: signed.root, on: work) }
        return outcome
    }

    private func reject(
        _ entry: SpoolEntry, _ e: SealError, comment: TrustedComment?, attributed: Bool = false, validation: JSON = .null,
        newSpool: NewSpoolRecord? = nil
    ) async throws -> IntakeResult {
        // A package whose signature verified consumes its seq even when rejected later.
        let claims = attributed && !Self.preSignature.contains(e.code.rawValue) && comment != nil
        var body = receipts.base(entry, comment, status: .rejected)
        var error: [String: JSON] = ["code": .string(e.code.rawValue), "message": .string(e.message), "remedy": .string(e.remedy)]
        if e.code == .seqNotIncreasing || e.code == .seqConflict, let c = comment, let last = try await store.lastSeq(unitId: c.unit) {
            // What the unit's tools need to seal again with the next seq (the log says it to anyone already).
            error["last_seq"] = .int(Int64(bitPattern: last))
        }
        body["error"] = .object(error)
        body["validation"] = validation
        let outcome = try await commit(
            entry, comment, status: .rejected, code: e.code.rawValue, claimsSeq: claims, snapshot: nil, body: body, newSpool: newSpool)
        return IntakeResult(kind: e.code == .seqConflict ? .seqConflict : .rejected, outcome: outcome)
    }

    /// Which corrections apply to the unit's current records: those whose old_value (normalized)
    /// is what the record holds — later rows of the same file see earlier rows' changes. The
    /// report lists each row by line and field, applied or not with a code: never a value, a
    /// citizen id or a reason (receipts carry no personal data; the unit has its own file).
    func decideCorrections(_ rows: [[String]], lines: [Int], unit: String) async throws -> ([MemberCorrection], JSON, MemberRows?) {
        var apply: [MemberCorrection] = []
        var applied: [JSON] = []
        var notApplied: [JSON] = []
        var pending: [String: String] = [:]  // citizen_id + field -> value after earlier rows
        // A party card number is one member's (the snapshot rule `member_id.duplicate`): a
        // correction may not give a member another's of the unit (a citizen id is not corrected:
        // `correction.field`). The unit's card numbers are read once, with the members the rows
        // name (not a lookup a row), then kept as the rows change them.
        let changesCards = rows.contains(where: { $0.count >= 6 && $0[1] == "member_id" })
        let current = try await store.currentMembers(
            unitId: unit, citizenIds: Set(rows.filter { $0.count >= 6 }.map { $0[0] }), cardNumbers: changesCards)
        var cards: [String: String]? = changesCards ? current.cards : nil  // member_id -> the citizen id of its member
        for (i, r) in rows.enumerated() where r.count >= 6 {
            let (cid, field, new) = (r[0], r[1], r[3])
            var raw = r[2]
            let old = raw.withUTF8 { b in FieldChecks.single(column: field, UnsafeRawBufferPointer(b)).value } ?? r[2]
            let row: [String: JSON] = ["line": .int(Int64(i < lines.count ? lines[i] : i + 2)), "field": .string(field)]
            let key = cid + "\u{0}" + field
            let holds: String?
            if let p = pending[key] { holds = p } else { holds = current.fields[cid]?[field] }
            let refusal: (code: String, detail: String)?
            if holds == nil {
                refusal = ("correction_no_member", "no member with this citizen_id in the unit's current records")
            } else if holds != old {
                refusal = (
                    "correction_old_value_mismatch",
                    "the record holds another value than the old_value given; check the member's current data and send the correction again"
                )
            } else if field == "member_id", let holder = cards?[new], holder != cid {
                refusal = (
                    "correction_duplicate_id",
                    "another member of the unit already has this party card number; check the members' data and send the correction again"
                )
            } else {
                refusal = nil
            }
            if let refusal {
                var o = row
                o["code"] = .string(refusal.code)
                o["detail"] = .string(refusal.detail)
                notApplied.append(.object(o))
            } else {
                apply.append(MemberCorrection(citizenId: cid, field: field, oldValue: old, newValue: new))
                pending[key] = new
                applied.append(.object(row))
                if field == "member_id" {
                    if cards?[old] == cid { cards?[old] = nil }
                    cards?[new] = cid
                }
            }
        }
        return (
            apply,
            .object([
                "applied": .array(applied), "not_applied": .array(notApplied),
                "summary": .string("\(applied.count) applied, \(notApplied.count) not applied"),
            ]),
            current.located
        )
    }

    /// The most corrections one package may carry: each is a lookup and a change of its own
    /// (a member's reported changes come a few at a time; a whole new list is a snapshot).
    static let maxCorrectionRows = 10_000

    /// The findings a receipt lists (errors first); the rest are counted by rule.
    static let receiptFindings = 200

    /// Validates the opened records (one unit) and returns the report and the normalized rows
    /// (none when the records have errors).
    /// The report names findings by file, line, column, rule and severity only — never a value.
    func validateRecords(_ input: RecordInput, unit: String, kind: PackageKind) throws -> (
        JSON, (organizations: RecordRows, members: RecordRows, corrections: [[String]], correctionLines: [Int])
    ) {
        // The normalized files of a package opened into a folder go to disk beside the opened
        // ones (removed with them after the decision), not to memory: a package with errors
        // costs no memory for its rows. A small package's stay in memory.
        var files: [RecordFile: String] = [:]
        var contents: [RecordFile: [UInt8]] = [:]
        let sink: any NormalizedSink
        // Where the rows of a normalized file are read back from (nil: no such file).
        let normalizedRows: (RecordFile) -> RowSource?
        switch input {
        case .folder(let dir):
            for f in RecordFile.allCases where FileManager.default.fileExists(atPath: "\(dir)/\(f.rawValue)") { files[f] = "\(dir)/\(f.rawValue)" }
            let folder = try DirectorySink(root: "\(dir)/.normalized", perUnit: false)
            sink = folder
            normalizedRows = { f in
                let path = "\(dir)/.normalized/\(f.rawValue)"
                return folder.dataRecords[path].map { .file(path, count: $0) }
            }
        case .memory(let opened):
            for f in RecordFile.allCases { contents[f] = opened[f.rawValue] }
            let memory = MemorySink()
            sink = memory
            normalizedRows = { f in memory.contents[f].map { .bytes($0, count: memory.dataRecords[f] ?? 0) } }
        }
        // Counts are exact; only the findings a receipt shows are kept (memory does not grow
        // with the number of findings).
        let v = RecordValidator(
            today: CivilDate(daysSinceEpoch: Int(clock.now.unixSeconds / 86_400)), crossUnit: false, keep: Self.receiptFindings)
        try v.validateUnit(unit, files: files, contents: contents, sink: sink)
        v.sortFindings()
        let kept = v.findings.filter { $0.severity == .error } + v.findings.filter { $0.severity == .warning }
        let rules = v.countsByRule.mapValues { JSON.int(Int64($0)) }
        let shown = kept.prefix(Self.receiptFindings).map { f in
            JSON.object([
                "file": .string(f.file), "line": .int(Int64(f.line)), "column": .string(f.column), "rule": .string(f.rule),
                "severity": .string(f.severity.rawValue),
            ])
        }
        let summary = v.units.first
        let report = JSON.object([
            "errors": .int(Int64(v.errorCount)), "warnings": .int(Int64(v.warningCount)), "rules": .object(rules),
            "completeness": .string(String(format: "%.4f", summary?.completeness ?? 0)), "findings": .array(Array(shown)),
            "findings_total": .int(Int64(v.errorCount + v.warningCount)),
        ])
        // Rows are read back only for records that will be imported; a snapshot's are read by the
        // store's import a batch at a time, from the normalized file (memory does not grow with
        // the package); corrections (at most `maxCorrectionRows`) are decided in memory.
        guard v.errorCount == 0 else { return (report, (RecordRows([]), RecordRows([]), [], [])) }
        // A correction row is named by its line in the unit's own file (blank lines and quoted
        // line breaks counted), which the normalized file does not keep.
        let own: RowSource? = files[.corrections].map { .file($0, count: 0) } ?? contents[.corrections].map { .bytes($0, count: 0) }
        let lines = try own.map { try Self.dataRows($0).map(\.line) } ?? []
        let corrections = try normalizedRows(.corrections).map { try Self.dataRows($0).map(\.fields) } ?? []
        return (
            report,
            (
                try Self.rows(normalizedRows(.organizations), file: .organizations),
                try Self.rows(normalizedRows(.members), file: .members), corrections, lines
            )
        )
    }

    /// Where a record file's rows are read from: a file, or its bytes in memory; `count` its data rows.
    enum RowSource: Sendable {
        case file(String, count: Int)
        case bytes([UInt8], count: Int)

        var count: Int {
            switch self {
            case .file(_, let n), .bytes(_, let n): return n
            }
        }

        func reader() throws -> DataRowReader {
            switch self {
            case .file(let path, _): return try DataRowReader(path: path)
            case .bytes(let b, _): return DataRowReader(bytes: b)
            }
        }
    }

    /// The data rows of a normalized file as the store's import reads them: a batch at a time,
    /// in the import's transaction (the file is the decision's own, removed after it); none
    /// when there is no such file. The first batch is parsed now, where the decision runs (a
    /// city's package is one batch), and each next one — after a full batch — in a task of its
    /// own while the store inserts the one before: the store's writer, one thread for every
    /// decision, only binds values, and waits for no pool. Memory: two batches at most.
    static func rows(_ source: RowSource?, file: RecordFile) throws -> RecordRows {
        guard let source, source.count > 0 else { return RecordRows([]) }
        let parser = try RowBatchParser(source, columns: file.columns.count)
        let prepared = Mutex<(RowBatchParser, RowBatch?)?>((parser, try parser.next()))
        return RecordRows(count: source.count) { columns, body in
            // The first read takes what was prepared; a read again (a transaction tried
            // again), or of other columns, parses the file anew.
            let taken = prepared.withLock { p in
                defer { p = nil }
                return p
            }
            let parser: RowBatchParser
            var current: RowBatch?
            if let taken, taken.0.columns == columns {
                (parser, current) = taken
            } else {
                parser = try RowBatchParser(source, columns: columns)
                current = try parser.next()
            }
            while let rows = current {
                // The next batch is parsed while this one is inserted (not on the writer's
                // executor: a detached task); a batch not full was the file's last.
                let ahead = rows.count < RecordRows.batchRows ? nil : Task.detached { try parser.next() }
                do { try await body(rows) } catch {
                    // The parser is the task's alone until it ends: waited for, its result dropped.
                    _ = try? await ahead?.value
                    throw error
                }
                if let ahead { current = try await ahead.value } else { current = try parser.next() }
            }
        }
    }

    /// The data rows of a CSV file (after its header, blank lines skipped) with their lines.
    static func dataRows(_ source: RowSource) throws -> [(line: Int, fields: [String])] {
        if case .file(let path, _) = source, !FileManager.default.fileExists(atPath: path) { return [] }
        var reader = try source.reader()
        var out: [(line: Int, fields: [String])] = []
        while let row = try reader.next() { out.append(row) }
        return out
    }
}

/// A bound on bytes in use, taken and given back (`IntakeDecision.inMemory`).
final class ByteBudget: Sendable {
    let limit: Int64
    private let used = Mutex<Int64>(0)
    init(limit: Int64) { self.limit = limit }

    /// Takes `n` bytes if they fit; false (nothing taken) if not.
    func take(_ n: Int64) -> Bool {
        used.withLock { u in
            guard u + n <= limit else { return false }
            u += n
            return true
        }
    }

    func give(_ n: Int64) { used.withLock { $0 -= n } }
}

/// Reads a normalized record file into `RowBatch`es of `RecordRows.batchRows`. Used by one task
/// at a time: each `next` starts only once the one before has returned.
final class RowBatchParser: @unchecked Sendable {
    let columns: Int
    /// A file's rows (a large package's), through the general reader.
    private var reader: DataRowReader?
    /// Bytes in memory (a small package's), split by `NormalizedLines`.
    private var lines: NormalizedLines?

    init(_ source: IntakeDecision.RowSource, columns: Int) throws {
        self.columns = columns
        switch source {
        case .file: reader = try source.reader()
        case .bytes(let b, _): lines = NormalizedLines(b)
        }
    }

    /// The next batch; nil at the end.
    func next() throws -> RowBatch? {
        var rows = RowBatch(columns: columns)
        if lines != nil {
            while rows.count < RecordRows.batchRows, try lines!.append(to: &rows) {}
        } else if reader != nil {
            while rows.count < RecordRows.batchRows, let fields = try reader!.nextFields() {
                rows.appendRow(fieldCount: fields.count) { fields[$0].bytes }
            }
        }
        return rows.count > 0 ? rows : nil
    }
}

/// The data rows of a normalized record file's bytes — the validator's own output (`MemorySink`):
/// LF line ends, a field quoted only when it holds a comma, a quote or a line break — as
/// `DataRowReader` gives them (byte-order mark, header and blank lines skipped, CRLF taken as a
/// line end), without the general reader: a line with no quote and no CR is taken whole
/// (`RowBatch.appendUnquotedLine`, its commas the separators); any other record is split field
/// by field as RFC 4180 says. The values were checked by the validator (UTF-8, no control
/// character); a syntax error here (never in the validator's output) is a fault of the gateway's
/// (`OwnCSV.record`).
struct NormalizedLines {
    private let bytes: [UInt8]
    private var p: Int
    private var pastHeader = false

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        p = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    /// Appends the next data row to `rows`; false at the end.
    mutating func append(to rows: inout RowBatch) throws -> Bool {
        try bytes.withUnsafeBytes { buf in
            guard let base = buf.baseAddress else { return false }
            let n = buf.count
            while p < n {
                let start = p
                let lineEnd = memchr(base + p, 0x0A, n - p).map { UnsafeRawPointer($0) - base } ?? n
                let line = UnsafeRawBufferPointer(start: base + start, count: lineEnd - start)
                if memchr(base + start, 0x22, line.count) == nil && memchr(base + start, 0x0D, line.count) == nil {
                    p = min(lineEnd + 1, n)
                    // The first record is the header, blank or not (as `DataRowReader` takes it).
                    guard pastHeader else {
                        pastHeader = true
                        continue
                    }
                    if line.isEmpty { continue }  // a blank line
                    if !rows.appendUnquotedLine(line) {
                        let fields = line.split(separator: 0x2C, omittingEmptySubsequences: false)
                        rows.appendRow(fieldCount: fields.count) { UnsafeRawBufferPointer(rebasing: fields[$0]) }
                    }
                    return true
                }
                guard let (fields, end) = try OwnCSV.record(buf, at: p, final: true) else { return false }
                p = end
                guard pastHeader else {
                    pastHeader = true
                    continue
                }
                if fields.count == 1 && fields[0].isEmpty { continue }  // a blank line
                rows.append(fields: fields)
                return true
            }
            return false
        }
    }

}

/// Records that this gateway's `CSVWriter` wrote, read back without the general reader
/// (`NormalizedLines`, `Synthesis.withhold`).
enum OwnCSV {
    /// The record starting at `start` in `b`: its fields (quotes removed, doubled quotes made one)
    /// and where the next record starts; nil when `b` ends before the record does and more input
    /// follows (`final`: `b` runs to the input's end, which ends the record). RFC 4180 as
    /// `CSVReader` reads it: CRLF is a line end; a quote inside an unquoted field, text after a
    /// closing quote, a bare CR or an unterminated quoted field is an error (a fault of ours: the
    /// writer never makes one).
    static func record(_ b: UnsafeRawBufferPointer, at start: Int, final: Bool) throws -> (fields: [[UInt8]], end: Int)? {
        let n = b.count
        var p = start
        var fields: [[UInt8]] = []
        while true {
            var field: [UInt8] = []
            if p < n && b[p] == 0x22 {
                p += 1
                while true {
                    guard p < n else {
                        if final { throw malformed("an unterminated quoted field") }
                        return nil
                    }
                    if b[p] == 0x22 {
                        if p + 1 >= n && !final { return nil }
                        if p + 1 < n && b[p + 1] == 0x22 {
                            field.append(0x22)
                            p += 2
                            continue
                        }
                        p += 1
                        break
                    }
                    field.append(b[p])
                    p += 1
                }
            } else {
                let from = p
                while p < n && b[p] != 0x2C && b[p] != 0x0A && b[p] != 0x0D && b[p] != 0x22 { p += 1 }
                if p < n && b[p] == 0x22 { throw malformed("a quote inside an unquoted field") }
                field.append(contentsOf: b[from..<p])
            }
            fields.append(field)
            guard p < n else { return final ? (fields, p) : nil }
            switch b[p] {
            case 0x2C:
                p += 1
                if p >= n {
                    guard final else { return nil }
                    fields.append([])
                    return (fields, p)
                }
            case 0x0A:
                return (fields, p + 1)
            case 0x0D where p + 1 >= n:
                return final ? (fields, p + 1) : nil
            case 0x0D where b[p + 1] == 0x0A:
                return (fields, p + 2)
            default:
                throw malformed(b[p] == 0x0D ? "a bare carriage return" : "text after a closing quote")
            }
        }
    }

    static func malformed(_ what: String) -> SealError {
        GatewayError(.ioError, "a record file the gateway wrote holds \(what)", remedy: "report this as a bug")
    }
}

/// A record file's data rows in order: its header skipped, blank lines skipped.
struct DataRowReader {
    private let reader: CSVReader
    private var pastHeader = false

    init(path: String) throws {
        do { reader = try CSVReader(path: path) } catch let e as CSVIOError {
            throw GatewayError(.ioError, "cannot read an opened record file", remedy: "check the data folder's disk", cause: e)
        }
    }

    init(bytes: [UInt8]) { reader = CSVReader(bytes: bytes) }

    /// The next data row and its line in the file; nil at the end.
    mutating func next() throws -> (line: Int, fields: [String])? {
        try nextFields().map { (reader.line, $0.map(\.string)) }
    }

    /// The next data row's fields as the reader holds them (valid until the next call); nil at the end.
    mutating func nextFields() throws -> UnsafeBufferPointer<CSVField>? {
        while try reader.next() {
            guard pastHeader else {
                pastHeader = true
                continue
            }
            if reader.isBlankLine { continue }
            return reader.fields
        }
        return nil
    }
}
