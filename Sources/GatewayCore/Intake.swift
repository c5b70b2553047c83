public import Foundation
public import GatewayStore
import PartyRecords
public import SealCrypto
public import SealPackage
#if canImport(Glibc)
import Glibc
#endif

/// What the HTTP layer answers for one body.
public struct IntakeResult: Sendable {
    public enum Kind: Sendable { case accepted, duplicate, seqConflict, rejected, malformed }
    public let kind: Kind
    public let outcome: Outcome
    /// The HTTP status spec'd for it: 201, 200, 409, 422, 400.
    public var httpStatus: Int {
        switch kind {
        case .accepted: return 201
        case .duplicate: return 200
        case .seqConflict: return 409
        case .rejected: return 422
        case .malformed: return 400
        }
    }
}

/// The department's intake pipeline (spec §5): one spooled body → checks → decryption →
/// record validation → all-or-nothing import → signed receipt, committed with the decision in
/// one transaction. Used by the HTTP server, by `sealgate import`, and after a crash for bodies
/// that were spooled but not decided.
public final class Intake: @unchecked Sendable {
    public let data: DataDirectory
    public let store: any GatewayStore
    /// The department's keys; reloaded when a rotation publishes a new trust document.
    public var keys: DepartmentKeys { lock.lock(); defer { lock.unlock() }; return current.keys }
    private var current: (keys: DepartmentKeys, accepted: Set<String>, retired: Set<String>, trustVersion: UInt64)
    private let lock = NSLock()
    private let passphrase: () throws -> SecureBytes
    public let department: String
    public let maxPackageBytes: UInt64
    /// The transparency log receipts are proven in.
    public let log: TransparencyLog

    /// Loads the log first: throws `log_inconsistent` when the store's history was altered.
    /// `passphrase` unlocks rotated recipient keys when they are reloaded (cached by the caller).
    public init(data: DataDirectory, store: any GatewayStore, keys: DepartmentKeys, department: String, maxPackageBytes: UInt64 = defaultMaxPackageBytes,
                passphrase: @escaping () throws -> SecureBytes = { SecureBytes(count: 0) }) throws {
        self.data = data
        self.store = store
        self.department = department
        self.maxPackageBytes = maxPackageBytes
        self.passphrase = passphrase
        current = (keys, [], [], 0)
        log = TransparencyLog(store: store, key: keys.log, department: department)
        try log.load()
        try refreshKeys(force: true)
    }

    /// Which recipients are accepted now: active ones, and decrypt-only ones within their grace.
    /// Reloads the keys when a new trust document was published (a rotation, without a restart).
    public func refreshKeys(force: Bool = false) throws {
        let version = try store.latestTrust()?.version ?? 0
        lock.lock()
        let stale = force || version != current.trustVersion
        lock.unlock()
        guard stale else { return }
        let keys = force ? current.keys : try DepartmentKeys.load(data, passphrase: passphrase)
        let rows = try store.recipients()
        let now = Self.now()
        var accepted = Set<String>(), retired = Set<String>()
        if rows.isEmpty {
            accepted = Set(keys.recipients.map(\.recipient.fingerprint)) // a data folder from before recipient states
        }
        for r in rows {
            switch r.state {
            case "active", "pending": accepted.insert(r.fingerprint) // pending: announced, the secret is here
            case "decrypt-only": if let until = r.decryptUntil, until > now { accepted.insert(r.fingerprint) } else { retired.insert(r.fingerprint) }
            default: retired.insert(r.fingerprint)
            }
        }
        lock.lock()
        let logKeyChanged = current.keys.log.publicKey != keys.log.publicKey
        current = (keys, accepted, retired, version)
        lock.unlock()
        if logKeyChanged { log.rekey(keys.log) } // receipts pick up a new receipt key through `keys`
    }

    static func now() -> String { PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970)) }

    /// Spools a package file (streamed copy, hashed, fsynced) and records it; returns the spool id.
    public func spoolFile(_ path: String) throws -> Int64 {
        let source = try FileSource(path: path)
        let target = "\(data.spoolPath)/\(PackageIdentifiers.newUUIDv7()).sgp"
        let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SealError.io("cannot create \(target)", errno: errno) }
        defer { close(fd) }
        let hasher = SHA256Hasher()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { b in
                let chunk = UnsafeRawBufferPointer(rebasing: b[0..<n])
                hasher.update(chunk)
                var done = 0
                while done < n {
                    let w = write(fd, chunk.baseAddress! + done, n - done)
                    if w < 0 { if errno == EINTR { continue }; throw SealError.io("cannot write \(target)", errno: errno) }
                    done += w
                }
            }
            size += Int64(n)
        }
        guard fsync(fd) == 0 else { throw SealError.io("cannot sync \(target)", errno: errno) }
        return try store.addSpool(sha256: hexString(hasher.finalize()), size: size, path: target, receivedAt: Self.now())
    }

    /// Spools bytes already in memory.
    public func spool(bytes: [UInt8]) throws -> Int64 {
        let name = "\(PackageIdentifiers.newUUIDv7()).sgp"
        let target = "\(data.spoolPath)/\(name)"
        let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SealError.io("cannot create \(target)", errno: errno) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = write(fd, b.baseAddress! + done, b.count - done)
                if n < 0 { if errno == EINTR { continue }; throw SealError.io("cannot write \(target)", errno: errno) }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw SealError.io("cannot sync \(target)", errno: errno) }
        return try store.addSpool(sha256: hexString(SHA256Hasher.hash(bytes)), size: Int64(bytes.count), path: target, receivedAt: Self.now())
    }

    /// Records a body already written and fsynced into the spool folder by the HTTP layer.
    public func registerSpooled(path: String, sha256: String, size: Int64) throws -> Int64 {
        try store.addSpool(sha256: sha256, size: size, path: path, receivedAt: Self.now())
    }

    /// Decides every spooled body without an outcome (after a crash or restart), including a
    /// body fsynced into the spool whose record the crash prevented.
    @discardableResult
    public func recover() throws -> [IntakeResult] {
        let known = Set(try store.spoolPaths())
        for name in (try? FileManager.default.contentsOfDirectory(atPath: data.spoolPath)) ?? [] where name.hasSuffix(".sgp") {
            let path = "\(data.spoolPath)/\(name)"
            guard !known.contains(path), let bytes = FileManager.default.contents(atPath: path) else { continue }
            _ = try registerSpooled(path: path, sha256: hexString(SHA256Hasher.hash([UInt8](bytes))), size: Int64(bytes.count))
        }
        // Only this process's own spool: on a shared PostgreSQL store, other processes' bodies
        // are theirs to recover (each has its spool folder, `spool/<node>/`).
        return try store.pendingSpool().filter { ($0.path as NSString).deletingLastPathComponent == data.spoolPath }.map { try process(spoolId: $0.id) }
    }

    /// Runs the checks on one spooled body and commits the decision. Idempotent: a body
    /// already decided returns its outcome.
    /// Bodies are decided concurrently; the store's transaction is what makes (unit, seq) unique.
    /// When two bodies race for the same seq, the loser decides again and finds the winner:
    /// a duplicate if the bytes are the same, a conflict otherwise.
    public func process(spoolId: Int64) throws -> IntakeResult {
        try refreshKeys()
        if let done = try store.outcome(spoolId: spoolId) { return IntakeResult(kind: Self.kind(of: done), outcome: done) }
        guard let entry = try store.spool(id: spoolId) else { throw GatewayError(.storeFailure, "no spool entry \(spoolId)", remedy: "report this as a bug") }
        for _ in 0..<3 {
            do { return try decide(entry) } catch let e as StoreError where e.code == "seq_taken" { continue }
        }
        return try decide(entry)
    }

    static func kind(of o: Outcome) -> IntakeResult.Kind {
        switch o.status {
        case "accepted": return .accepted
        case "duplicate": return .duplicate
        default:
            if o.code == SealErrorCode.seqConflict.rawValue { return .seqConflict }
            if o.packageId == nil { return .malformed }
            return .rejected
        }
    }

    /// Codes reported before the signature is known good: the package is not attributed to a unit.
    static let preSignature: Set<String> = [SealErrorCode.packageTooLarge, .containerMalformed, .signatureMalformed, .keyUnknown, .keyState,
                                            .commentMalformed, .unitMismatch, .kindNotAccepted, .signatureInvalid, .commentSignatureInvalid, .seqConflict, .seqNotIncreasing].map(\.rawValue).reduce(into: []) { $0.insert($1) }

    private func decide(_ entry: SpoolEntry) throws -> IntakeResult {
        var comment: TrustedComment?
        var unitKey: UnitKeyRecord?
        do {
            let source = try FileSource(path: entry.path)
            let header: PackageHeader
            do {
                header = try PackageHeader(path: entry.path, source: source, maxBytes: maxPackageBytes, keys: nil)
            } catch let e as SealError {
                // A comment that parses still names the package in the receipt.
                return try reject(entry, e, comment: nil)
            }
            comment = header.comment
            let keyHex = Minisign.keyIdHex(header.signature.keyId)
            guard let key = try store.unitKey(keyId: keyHex) else {
                throw GatewayError(.keyUnknown, "package is signed by key \(keyHex), which no registered unit holds",
                                   remedy: "register the unit's public key (`sealgate units add`), or sign with the registered key")
            }
            switch key.state {
            case "active": break
            case "retiring":
                // Replaced by a rotation: still good for packages created before the switch, until the grace ends.
                let now = Self.now()
                guard let switched = key.switchedAt, let until = key.validUntil, header.comment.created < switched, now <= until else {
                    throw GatewayError(.keyState, "key \(keyHex) of \(key.unitId) was replaced at \(key.switchedAt ?? "?") (valid until \(key.validUntil ?? "?") for packages created before that); this package was created \(header.comment.created)",
                                       remedy: "seal again with the unit's new key")
                }
            case "revoked":
                // Revoked as compromised from T: only packages created before T (and, for a key
                // already replaced, before the switch and within the grace) are still accepted.
                let created = header.comment.created
                let beforeSwitch = key.switchedAt.map { created < $0 && Self.now() <= (key.validUntil ?? "") } ?? true
                guard let t = key.compromisedAt, created < t, beforeSwitch else {
                    throw GatewayError(.keyState, "key \(keyHex) of \(key.unitId) was revoked as compromised from \(key.compromisedAt ?? "?"); this package was created \(created)",
                                       remedy: "seal again with the unit's new key (ask the department to register it: sealgate units add-key)")
                }
            default:
                throw GatewayError(.keyState, "key \(keyHex) of \(key.unitId) is \(key.state)", remedy: "sign with the unit's current key")
            }
            unitKey = key
            let c = header.comment
            guard c.unit == key.unitId else {
                throw GatewayError(.unitMismatch, "package says unit \(c.unit) but key \(keyHex) belongs to \(key.unitId)",
                                   remedy: "a unit may only submit packages under its own id")
            }
            guard c.kind != .dataset else {
                throw GatewayError(.kindNotAccepted, "units do not send datasets (kind=dataset): the department makes them",
                                   remedy: "seal a snapshot (organizations.csv, members.csv) or a correction (corrections.csv)")
            }
            // The last seq is read before this seq's outcome: a rival deciding the same seq in
            // between is then found as that outcome (a duplicate or a conflict), never taken
            // for an older seq.
            let lastSeq = try store.lastSeq(unitId: c.unit)
            if let first = try store.outcome(unitId: c.unit, seq: c.seq) {
                if first.sha256 == entry.sha256 {
                    // The same package again: the first receipt, unchanged.
                    let d = Decision(spoolId: entry.id, status: "duplicate", code: nil, packageId: first.packageId, unitId: c.unit,
                                     seq: c.seq, sha256: entry.sha256, kind: first.kind, decidedAt: Self.now(), claimsSeq: false)
                    let dup = try commitLogged(d, entry, snapshot: nil) { _, _, _ in ReceiptBundle(receipt: first.receipt, signature: first.receiptSignature, checkpoint: nil) }
                    return IntakeResult(kind: .duplicate, outcome: dup)
                }
                throw GatewayError(.seqConflict, "seq \(c.seq) of \(c.unit) is already taken by another package (\(first.packageId ?? "?"))",
                                   remedy: "seal the new data with the next seq (above \(try store.lastSeq(unitId: c.unit) ?? c.seq))")
            }
            if let last = lastSeq, c.seq <= last {
                throw GatewayError(.seqNotIncreasing, "seq \(c.seq) of \(c.unit) is not above the last one used (\(last))",
                                   remedy: "seal again with seq \(last + 1) or higher; an old package replayed is refused")
            }
            // Signature, recipients, decryption, payload, manifest, hashes (spec §5).
            // Opened into a folder of this decision's own: the same package may be decided twice
            // at once (sent twice, or to two processes sharing the data folder).
            let keptDir = "\(data.packagesPath)/\(c.package)"
            let openDir = "\(data.packagesPath)/.opening-\(PackageIdentifiers.newUUIDv7())"
            let pk = try MinisignPublicKey(base64: key.publicKey)
            // The unpacked files are derived from the fsynced spool copy: no fsync of their own.
            lock.lock(); let state = current; lock.unlock()
            var request = OpenRequest(path: entry.path, output: openDir, identities: state.keys.recipients.filter { state.accepted.contains($0.recipient.fingerprint) },
                                      signers: [pk], expectedUnit: key.unitId, maxBytes: maxPackageBytes, acceptedFingerprints: state.accepted)
            request.durable = false
            let opened: OpenedPackage
            do { opened = try Opener.open(request) } catch let e as SealError where e.code == .recipientNotAccepted && c.to.contains(where: state.retired.contains) {
                throw GatewayError(.recipientRetired, "package is sealed to a department recipient that has been retired (\(c.to.joined(separator: ",")))",
                                   remedy: "fetch the trust document again (`sealgate trust fetch`) and seal the data anew with the next seq")
            }
            defer {
                // A snapshot's records are in the store; other kinds' files are kept for audit
                // (the first decision's copy, if two raced).
                if c.kind == .snapshot || rename(openDir, keptDir) != 0 { try? FileManager.default.removeItem(atPath: openDir) }
            }
            // Records, then import.
            var snapshot: SnapshotImport?
            var validation: JSON = .null
            var correctionRows: [[String]] = []
            if c.kind == .snapshot || c.kind == .correction {
                let (report, rows) = try validateRecords(openDir, unit: c.unit, kind: c.kind)
                correctionRows = rows.corrections
                validation = report
                if (report["errors"]?.int ?? 0) > 0 {
                    return try reject(entry, GatewayError(.recordsInvalidAtIntake, "the records have \(report["errors"]?.int ?? 0) error(s)",
                                                          remedy: "fix the rows listed in the receipt's validation report, then seal and submit again with the next seq"),
                                      comment: c, validation: validation)
                }
                if c.kind == .snapshot { snapshot = SnapshotImport(unitId: c.unit, packageId: c.package, organizations: rows.organizations, members: rows.members) }
            }
            var corrections: CorrectionImport?
            var correctionReport: JSON?
            if c.kind == .correction {
                let (apply, report) = try decideCorrections(correctionRows, unit: c.unit)
                corrections = CorrectionImport(unitId: c.unit, corrections: apply)
                correctionReport = report
            }
            var body = receiptBase(entry, c, status: "accepted")
            if let correctionReport { body["corrections"] = correctionReport }
            body["records"] = .object(["organizations": .int(Int64(snapshot?.organizations.count ?? 0)), "members": .int(Int64(snapshot?.members.count ?? 0)),
                                       "files": .array(opened.manifest.files.map { .object(["name": .string($0.name), "sha256": .string($0.sha256), "records": .int(Int64($0.records))]) })])
            body["validation"] = validation
            let outcome = try commitDecision(entry, c, status: "accepted", code: nil, claimsSeq: true, snapshot: snapshot, corrections: corrections, body: body,
                                             keyId: unitKey?.keyId)
            return IntakeResult(kind: .accepted, outcome: outcome)
        } catch let e as SealError {
            return try reject(entry, e, comment: comment, attributed: unitKey != nil)
        }
    }

    func receiptBase(_ entry: SpoolEntry, _ c: TrustedComment?, status: String) -> [String: JSON] {
        var body: [String: JSON] = [
            "format": .string("sealgate-receipt/1"), "gateway": .string(department), "status": .string(status),
            "sha256": .string(entry.sha256), "size": .int(entry.size), "received_at": .string(entry.receivedAt),
            "package": .null, "unit": .null, "seq": .null, "kind": .null,
        ]
        if let c {
            body["package"] = .string(c.package); body["unit"] = .string(c.unit); body["seq"] = .int(Int64(bitPattern: c.seq)); body["kind"] = .string(c.kind.rawValue)
        }
        return body
    }

    private func commitDecision(_ entry: SpoolEntry, _ c: TrustedComment?, status: String, code: String?, claimsSeq: Bool, snapshot: SnapshotImport?,
                                corrections: CorrectionImport? = nil,
                                body: [String: JSON], keyId: String? = nil) throws -> Outcome {
        let decidedAt = Self.now()
        let decision = Decision(spoolId: entry.id, status: status, code: code, packageId: c?.package, unitId: c?.unit, seq: c?.seq, sha256: entry.sha256,
                                kind: c?.kind.rawValue, decidedAt: decidedAt, claimsSeq: claimsSeq, keyId: keyId, created: c?.created)
        return try commitLogged(decision, entry, snapshot: snapshot, corrections: corrections) { leaf, logEntry, proven in
            var b = body
            b["leaf"] = .int(leaf)
            b["decided_at"] = .string(decidedAt)
            b["log_entry"] = .string(logEntry)
            b["inclusion"] = .array(proven.proof.map { .string(Base64.encode($0)) })
            b["checkpoint"] = .string(proven.note)
            let (text, sig) = try Receipt.sign(.object(b), key: keys.receipt)
            return ReceiptBundle(receipt: text, signature: sig, checkpoint: (Int64(proven.checkpoint.size), proven.note))
        }
    }

    /// Commits with the decision's log entry, extending the in-memory tree inside the
    /// transaction; forgets the extension if the transaction fails.
    private func commitLogged(_ d: Decision, _ entry: SpoolEntry, snapshot: SnapshotImport?, corrections: CorrectionImport? = nil,
                              receipt: (Int64, String, (proof: [Merkle.Hash], checkpoint: Checkpoint, note: String)) throws -> ReceiptBundle) throws -> Outcome {
        var record: [String: JSON] = ["format": .string("sealgate-log/1"), "kind": .string(d.status == "duplicate" ? "duplicate" : "outcome"),
                                      "gateway": .string(department), "status": .string(d.status), "sha256": .string(d.sha256),
                                      "received_at": .string(entry.receivedAt), "decided_at": .string(d.decidedAt),
                                      "package": d.packageId.map(JSON.string) ?? .null, "unit": d.unitId.map(JSON.string) ?? .null,
                                      "seq": d.seq.map { .int(Int64(bitPattern: $0)) } ?? .null, "code": d.code.map(JSON.string) ?? .null]
        record["spool"] = .int(d.spoolId)
        let logEntry = JSON.object(record).canonical
        // Entries others committed meanwhile are caught up inside the transaction; if it fails,
        // only this transaction's own leaf is forgotten.
        var ownLeaf: Int64?
        do {
            return try store.commit(d, snapshot: snapshot, corrections: corrections, logEntry: logEntry, logSince: log.knownCount) { leaf, entries in
                let proven = try log.extend(with: entries, leaf: leaf)
                ownLeaf = leaf
                return try receipt(leaf, logEntry, proven)
            }
        } catch {
            if let ownLeaf { log.truncate(to: ownLeaf) }
            throw error
        }
    }

    private func reject(_ entry: SpoolEntry, _ e: SealError, comment: TrustedComment?, attributed: Bool = false, validation: JSON = .null) throws -> IntakeResult {
        // A package whose signature verified consumes its seq even when rejected later.
        let claims = attributed && !Self.preSignature.contains(e.code.rawValue) && comment != nil
        var body = receiptBase(entry, comment, status: "rejected")
        body["error"] = .object(["code": .string(e.code.rawValue), "message": .string(e.message), "remedy": .string(e.remedy)])
        body["validation"] = validation
        let outcome = try commitDecision(entry, comment, status: "rejected", code: e.code.rawValue, claimsSeq: claims, snapshot: nil, body: body)
        let kind: IntakeResult.Kind = e.code == .seqConflict ? .seqConflict : (comment == nil ? .malformed : .rejected)
        return IntakeResult(kind: kind, outcome: outcome)
    }

    /// Validates the opened records (one unit) and returns the report and the normalized rows.
    /// Which corrections apply to the unit's current records: those whose old_value (normalized)
    /// is what the record holds — later rows of the same file see earlier rows' changes. The
    /// report lists each row as applied or not, with a code and the reason.
    func decideCorrections(_ rows: [[String]], unit: String) throws -> ([MemberCorrection], JSON) {
        var apply: [MemberCorrection] = [], applied: [JSON] = [], notApplied: [JSON] = []
        var pending: [String: String] = [:] // citizen_id + field -> value after earlier rows
        for (i, r) in rows.enumerated() where r.count >= 6 {
            let (cid, field, new) = (r[0], r[1], r[3])
            var raw = r[2]
            let old = raw.withUTF8 { b in FieldChecks.single(column: field, UnsafeRawBufferPointer(b)).value } ?? r[2]
            let row: [String: JSON] = ["line": .int(Int64(i + 2)), "citizen_id": .string(cid), "field": .string(field), "old_value": .string(old),
                                       "new_value": .string(new), "reason": .string(r[4])]
            let key = cid + "\u{0}" + field
            let holds = try pending[key] ?? store.currentMemberField(unitId: unit, citizenId: cid, field: field)
            if let holds, holds == old {
                apply.append(MemberCorrection(citizenId: cid, field: field, oldValue: old, newValue: new))
                pending[key] = new
                applied.append(.object(row))
            } else {
                var o = row
                o["code"] = .string(holds == nil ? "correction_no_member" : "correction_old_value_mismatch")
                o["detail"] = .string(holds == nil ? "no member with this citizen_id in the unit's current records"
                                                   : "the record holds '\(holds!)', not the old_value given; check the member's current data and send the correction again")
                notApplied.append(.object(o))
            }
        }
        return (apply, .object(["applied": .array(applied), "not_applied": .array(notApplied),
                                "summary": .string("\(applied.count) applied, \(notApplied.count) not applied")]))
    }

    func validateRecords(_ dir: String, unit: String, kind: PackageKind) throws -> (JSON, (organizations: [[String]], members: [[String]], corrections: [[String]])) {
        let sink = MemorySink()
        let v = RecordValidator(today: CivilDate(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400)), crossUnit: false)
        var files: [RecordFile: String] = [:]
        for f in RecordFile.allCases where FileManager.default.fileExists(atPath: "\(dir)/\(f.rawValue)") { files[f] = "\(dir)/\(f.rawValue)" }
        try v.validateUnit(unit, files: files, sink: sink)
        v.sortFindings()
        let errors = v.findings.filter { $0.severity == .error }
        let rules = Dictionary(grouping: v.findings, by: \.rule).mapValues { JSON.int(Int64($0.count)) }
        let shown = (errors + v.findings.filter { $0.severity == .warning }).prefix(200).map { f in
            JSON.object(["file": .string(f.file), "line": .int(Int64(f.line)), "column": .string(f.column), "rule": .string(f.rule),
                         "severity": .string(f.severity.rawValue), "original": .string(f.original), "normalized": .string(f.normalized),
                         "message": .string(Rules.rule(f.rule).message(.vi)), "message_en": .string(Rules.rule(f.rule).message(.en))])
        }
        let summary = v.units.first
        let report = JSON.object(["errors": .int(Int64(errors.count)), "warnings": .int(Int64(v.findings.count - errors.count)), "rules": .object(rules),
                                  "completeness": .string(String(format: "%.4f", summary?.completeness ?? 0)), "findings": .array(Array(shown)),
                                  "findings_total": .int(Int64(v.findings.count))])
        return (report, (sink.rows(.organizations), sink.rows(.members), sink.rows(.corrections)))
    }
}

/// Collects normalized files in memory and parses them back into rows.
final class MemorySink: NormalizedSink {
    private var writers: [RecordFile: CSVWriter] = [:]
    func writer(unit: String, file: RecordFile) throws -> CSVWriter {
        let w = CSVWriter()
        writers[file] = w
        return w
    }
    func finished(unit: String, file: RecordFile, writer: CSVWriter) throws {}
    func rows(_ file: RecordFile) -> [[String]] {
        guard let w = writers[file] else { return [] }
        let r = CSVReader(bytes: w.bytes)
        var out: [[String]] = []
        var first = true
        while (try? r.next()) == true {
            if first { first = false; continue }
            out.append(r.fields.map(\.string))
        }
        return out
    }
}

extension SealErrorCode {
    public static let kindNotAccepted = SealErrorCode("kind_not_accepted")
}
