import Foundation
public import GatewayStore
import PartyRecords
public import SealBase
public import SealCrypto
public import SealPackage
import Synchronization
import TransparencyLog

#if canImport(Glibc)
    import Glibc
#endif

/// What the HTTP layer answers for one decided body.
public struct IntakeResult: Sendable {
    public enum Kind: Sendable { case accepted, duplicate, seqConflict, rejected }
    public let kind: Kind
    public let outcome: Outcome
    /// The HTTP status spec'd for it: 201, 200, 409, 422.
    public var httpStatus: Int {
        switch kind {
        case .accepted: return 201
        case .duplicate: return 200
        case .seqConflict: return 409
        case .rejected: return 422
        }
    }
}

/// Who asks: a stranger (anyone on the network), a unit (its token), or the department (an admin token).
public enum Viewer: Sendable, Equatable {
    case anyone
    case unit(String)
    case admin

    /// A receipt beyond what the log already shows is for its unit and the department only.
    public func mayRead(unit: String?) -> Bool {
        switch self {
        case .admin: return true
        case .unit(let u): return unit == u
        case .anyone: return false
        }
    }
}

/// What becomes of a body once it has been received whole, before any decision.
public enum Admission: Sendable {
    /// Not the signed package of a registered unit (or not for this gateway): answered with the
    /// code, kept nowhere, not logged, no seq claimed.
    case refused(SealError)
    /// The same bytes were decided before: answered from that decision; nothing is stored again.
    case duplicate(receipt: String, signature: String)
    /// Verified and recorded as pending in the spool: it will be decided, now or after a crash.
    case admitted(spoolId: Int64)
}

/// The department's intake pipeline (spec §5), cheapest refusal first:
///
/// 1. while the body streams in, its first member (`package.minisig`) names the signer key and
///    the trusted comment: a key that no unit holds, a key not valid for that unit, a comment
///    whose signature fails, a unit token of another unit — refused before the rest is read
///    (`precheck`);
/// 2. once received and fsynced: the container and the signature over `payload.age` (one pass
///    over the file) — a body that does not verify is refused and forgotten (`admit`); a replay
///    of bytes already decided is answered from that decision;
/// 3. only a verified body is recorded as pending and decided (`process`): the seq, decryption
///    (at most 16 recipient stanzas), the records, the all-or-nothing import and the signed
///    receipt, committed with the log entry in one transaction.
///
/// A fault of the gateway's own (I/O, a full disk, the store down) is thrown, never recorded as
/// a decision: the body is forgotten and the unit sends it again (`forget`).
///
/// The keys and recipient sets (`current`) are read and replaced under a `Mutex`; reloads are
/// one at a time under `reloading`; everything else is a constant.
public final class Intake: Sendable {
    public let data: DataDirectory
    public let store: any GatewayStore
    /// The department's keys; reloaded when a rotation publishes a new trust document.
    public var keys: DepartmentKeys { current.withLock { $0.keys } }
    private struct Current {
        var keys: DepartmentKeys
        var accepted: Set<String>
        var retired: Set<String>
        var trustVersion: UInt64
    }
    private let current: Mutex<Current>
    /// Held while keys are reloaded: one reload at a time (each may run scrypt at 256 MiB);
    /// the others wait for it and find the keys fresh.
    private let reloading = AsyncMutex()
    private let passphrase: @Sendable () throws -> SecureBytes
    public let department: String
    public let maxPackageBytes: UInt64
    /// The transparency log receipts are proven in.
    public let log: GatewayLog
    /// Where verification, decryption and validation run (threads of their own, bounded).
    public let work: BlockingPool

    /// Loads the log first: throws `log_inconsistent` when the store's history was altered.
    /// `passphrase` unlocks rotated recipient keys when they are reloaded (cached by the caller).
    public init(
        data: DataDirectory, store: any GatewayStore, keys: DepartmentKeys, department: String, maxPackageBytes: UInt64 = defaultMaxPackageBytes,
        passphrase: @escaping @Sendable () throws -> SecureBytes = { SecureBytes(count: 0) }, work: BlockingPool = .shared
    ) async throws {
        self.work = work
        self.data = data
        self.store = store
        self.department = department
        self.maxPackageBytes = maxPackageBytes
        self.passphrase = passphrase
        current = Mutex(Current(keys: keys, accepted: [], retired: [], trustVersion: 0))
        log = await GatewayLog(store: store, key: keys.log, department: department)
        log.head = LogHead(path: data.logHeadPath)
        try await log.load()
        try await refreshKeys(force: true)
    }

    /// Which recipients are accepted now: active ones, and decrypt-only ones within their grace.
    /// Reloads the keys when a new trust document was published (a rotation, without a restart).
    public func refreshKeys(force: Bool = false) async throws {
        func stale() async throws -> (Bool, UInt64) {
            let version = try await store.latestTrust()?.version ?? 0
            return (current.withLock { force || version != $0.trustVersion }, version)
        }
        guard try await stale().0 else { return }
        try await reloading.withLock { try await reload(force: force, stale: stale) }
    }

    private func reload(force: Bool, stale: () async throws -> (Bool, UInt64)) async throws {
        let (isStale, version) = try await stale()  // another caller may have reloaded meanwhile
        guard isStale else { return }
        // A reload runs scrypt (256 MiB): on the intake's pool, never on the shared threads.
        let (data, passphrase) = (self.data, self.passphrase)
        let keys = force ? self.keys : try await work.run { try DepartmentKeys.load(data, passphrase: passphrase) }
        let rows = try await store.recipients()
        let now = Timestamp.now
        var accepted = Set<String>()
        var retired = Set<String>()
        if rows.isEmpty {
            accepted = Set(keys.recipients.map(\.recipient.fingerprint))  // a data folder from before recipient states
        }
        for r in rows {
            switch r.state {
            case .active, .pending: accepted.insert(r.fingerprint)  // pending: announced, the secret is here
            case .decryptOnly:
                if let until = r.decryptUntil.moment, until > now { accepted.insert(r.fingerprint) } else { retired.insert(r.fingerprint) }
            default: retired.insert(r.fingerprint)
            }
        }
        let logKeyChanged = current.withLock { c in
            let changed = c.keys.log.publicKey != keys.log.publicKey
            c = Current(keys: keys, accepted: accepted, retired: retired, trustVersion: version)
            return changed
        }
        if logKeyChanged { await log.rekey(keys.log) }  // receipts pick up a new receipt key through `keys`
    }

    static func now() -> String { PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970)) }

    // MARK: Receiving

    /// A new name for a body being received (`spool/.incoming-…`): not a spool entry until admitted.
    public func incomingPath() -> String { "\(data.spoolPath)/.incoming-\(PackageIdentifiers.newUUIDv7())" }

    /// Copies a package file (media, `sealgate import`) into the spool's incoming area, hashing
    /// and fsyncing it; returns its path, SHA-256 and size.
    public func receiveFile(_ path: String) throws -> (path: String, sha256: String, size: Int64) {
        let source = try FileSource(path: path)
        let file = try DurableFile(creating: incomingPath())
        let hasher = SHA256Hasher()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { b in
                let chunk = UnsafeRawBufferPointer(rebasing: b[0..<n])
                hasher.update(chunk)
                try file.append(chunk)
            }
            size += Int64(n)
            guard UInt64(size) <= maxPackageBytes else {
                throw SealError(
                    .packageTooLarge, "package is over the limit of \(maxPackageBytes) bytes", remedy: "split the data into several packages")
            }
        }
        try file.sync()
        file.keep()
        return (file.path, hexString(hasher.finalize()), size)
    }

    /// The checks the first member allows (step 1): returns the signer's registered key, or
    /// throws the refusal (`key_unknown`, `key_state`, `unit_mismatch`, `comment_signature_invalid`,
    /// `kind_not_accepted`, `token_unit_mismatch`). Store faults are thrown as they are.
    @discardableResult
    public func precheck(_ peek: PackagePeek, tokenUnit: String?) async throws -> UnitKeyRecord {
        let keyHex = Minisign.keyIdHex(peek.signature.keyId)
        guard let key = try await store.unitKey(keyId: keyHex) else {
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
        try Self.checkKey(key, created: c.created)
        guard c.unit == key.unitId else {
            throw GatewayError(
                .unitMismatch, "package says unit \(c.unit) but key \(keyHex) belongs to \(key.unitId)",
                remedy: "a unit may only submit packages under its own id")
        }
        try peek.signature.verifyComment(publicKey: try MinisignPublicKey(base64: key.publicKey))
        guard c.kind != .dataset else {
            throw GatewayError(
                .kindNotAccepted, "units do not send datasets (kind=dataset): the department makes them",
                remedy: "seal a snapshot (organizations.csv, members.csv) or a correction (corrections.csv)")
        }
        return key
    }

    /// Is `key` good for a package created at `created`? Throws `key_state`. Times are compared
    /// as moments: a time that is not one (a damaged record) never makes a key good.
    static func checkKey(_ key: UnitKeyRecord, created: String) throws {
        let keyHex = key.keyId
        let now = Timestamp.now
        let made = created.moment
        switch key.state {
        case .active: return
        case .retiring:
            // Replaced by a rotation: still good for packages created before the switch, until the grace ends.
            guard let made, let switched = key.switchedAt.moment, let until = key.validUntil.moment, made < switched, now <= until else {
                throw GatewayError(
                    .keyState,
                    "key \(keyHex) of \(key.unitId) was replaced at \(key.switchedAt ?? "?") (valid until \(key.validUntil ?? "?") for packages created before that); this package was created \(created)",
                    remedy: "seal again with the unit's new key")
            }
        case .revoked:
            // Revoked as compromised from T: only packages created before T (and, for a key
            // already replaced, before the switch and within the grace) are still accepted.
            let beforeSwitch =
                key.switchedAt.map { s in
                    guard let made, let switched = s.moment, let until = key.validUntil.moment else { return false }
                    return made < switched && now <= until
                } ?? true
            guard let made, let t = key.compromisedAt.moment, made < t, beforeSwitch else {
                throw GatewayError(
                    .keyState,
                    "key \(keyHex) of \(key.unitId) was revoked as compromised from \(key.compromisedAt ?? "?"); this package was created \(created)",
                    remedy: "seal again with the unit's new key (ask the department to register it: sealgate units add-key)")
            }
        default:
            throw GatewayError(.keyState, "key \(keyHex) of \(key.unitId) is \(key.state.rawValue)", remedy: "sign with the unit's current key")
        }
    }

    /// Step 2 for a body received whole at `path` (an incoming file, fsynced): refused, a
    /// duplicate, or admitted into the spool as pending. The incoming file is gone afterwards
    /// (moved into the spool, or removed). Faults of the gateway's own are thrown.
    public func admit(incoming path: String, sha256: String, size: Int64, tokenUnit: String?, viewer: Viewer) async throws -> Admission {
        var moved = false
        defer { if !moved { unlink(path) } }
        let key: UnitKeyRecord
        // Reading and hashing the body is file work of any size: on the intake's pool unless small.
        let inline = size <= Self.inlineBytes
        let maxBytes = maxPackageBytes
        do {
            try Failpoints.check("intake.admit")
            let header = try await offload(inline) { try PackageHeader(path: path, source: try FileSource(path: path), maxBytes: maxBytes) }
            key = try await precheck(PackagePeek(signature: header.signature, comment: header.comment), tokenUnit: tokenUnit)
            // A replay of bytes already decided: that decision, nothing stored again.
            if let first = try await store.outcome(sha256: sha256), first.unitId == header.comment.unit {
                let (r, sig) = try duplicateReceipt(first, viewer: viewer)
                return .duplicate(receipt: r, signature: sig)
            }
            let signer = try MinisignPublicKey(base64: key.publicKey)
            let unit = key.unitId
            _ = try await offload(inline) { try Verifier.verify(path: path, signers: [signer], expectedUnit: unit, maxBytes: maxBytes) }
        } catch let e as SealError where !Self.isGatewayFault(e) {
            return .refused(e)
        }
        let name = "\(PackageIdentifiers.newUUIDv7()).sgp"
        let spoolFile = "\(data.spoolPath)/\(name)"
        try await work.run { try renameDurably(path, spoolFile) }
        moved = true
        do {
            return .admitted(
                spoolId: try await store.addSpool(sha256: sha256, size: size, path: data.recorded(spoolName: name), receivedAt: Self.now()))
        } catch {
            unlink(spoolFile)  // not recorded: never acknowledged; the unit sends it again
            throw error
        }
    }

    /// Faults of the gateway's own (not of the package): the unit is told to send it again.
    public static func isGatewayFault(_ e: SealError) -> Bool {
        e.code == .ioError || e.code == .cryptoFailure || e.code == .storeFailure
    }

    /// Forgets a body that was admitted but could not be decided because of a fault of ours:
    /// its spool entry and file go, and the unit sends the package again.
    public func forget(spoolId: Int64) async {
        guard let entry = try? await store.spool(id: spoolId), (try? await store.removePendingSpool(id: spoolId)) == true else { return }
        unlink(data.resolve(spoolPath: entry.path))
    }

    /// What a replay is answered with. The unit itself (its token) and the department get the
    /// first receipt unchanged; anyone else a receipt that says only what the public log says of
    /// that decision — the package's facts, its status and code, the log entry and its proof.
    public func duplicateReceipt(_ first: Outcome, viewer: Viewer) throws -> (String, String) {
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
        return try Receipt.sign(.object(body), key: keys.receipt)
    }

    /// What a start found in the spool.
    public struct Recovery: Sendable {
        /// Bodies admitted (received whole, fsynced, verified, recorded) but not decided: decided now.
        public var decided: [IntakeResult] = []
        /// Bodies cut off mid-upload (`.incoming-*`): never acknowledged, removed.
        public var removed = 0
        /// Whole bodies the store does not know (moved, restored or crashed before their record):
        /// never decided by a start — set aside in `spool/orphans/` for the operator.
        public var setAside = 0
        /// Bodies that met a fault of ours: they stay pending for the next start.
        public var pending = 0
    }

    /// Decides every body admitted but not decided before a crash or stop — only this process's
    /// spool, only bodies recorded as pending. What is decided is known by the store, not by the
    /// folder: a moved or restored data folder decides nothing twice.
    @discardableResult
    public func recover() async throws -> Recovery {
        let spool = data.spoolPath
        let mine = try await store.pendingSpool().filter {
            let p = data.resolve(spoolPath: $0.path)
            return p.hasPrefix(spool + "/") && !p.dropFirst(spool.count + 1).contains("/")
        }
        let known = Set(try await store.spoolPaths().map { data.resolve(spoolPath: $0) })
        var r = Recovery()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? [] {
            let path = "\(spool)/\(name)"
            if name.hasPrefix(".incoming-") {
                if unlink(path) == 0 { r.removed += 1 }
            } else if name.hasSuffix(".sgp") && !known.contains(path) {
                try FileManager.default.createDirectory(
                    atPath: "\(spool)/orphans", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                if rename(path, "\(spool)/orphans/\(name)") == 0 { r.setAside += 1 }
            }
        }
        for entry in mine {
            // Its body is not here (a store restored from a copy taken while it waited): never
            // acknowledged, so forgotten — its unit sends it again.
            guard FileManager.default.fileExists(atPath: data.resolve(spoolPath: entry.path)) else {
                if (try? await store.removePendingSpool(id: entry.id)) == true { r.removed += 1 }
                continue
            }
            do { await r.decided.append(try process(spoolId: entry.id)) } catch { r.pending += 1 }
        }
        return r
    }

    /// Runs the checks on one admitted body and commits the decision. Idempotent: a body
    /// already decided returns its outcome.
    /// Bodies are decided concurrently; the store's transaction is what makes (unit, seq) unique.
    /// When two bodies race for the same seq, the loser decides again and finds the winner:
    /// a duplicate if the bytes are the same, a conflict otherwise.
    public func process(spoolId: Int64) async throws -> IntakeResult {
        try await refreshKeys()
        if let done = try await store.outcome(spoolId: spoolId) { return IntakeResult(kind: Self.kind(of: done), outcome: done) }
        guard let entry = try await store.spool(id: spoolId) else {
            throw GatewayError(.storeFailure, "no spool entry \(spoolId)", remedy: "report this as a bug")
        }
        for _ in 0..<3 {
            do { return try await decide(entry) } catch let e as StoreError where e.code == .seqTaken { continue }
        }
        return try await decide(entry)
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

    /// Packages up to this size are opened and validated where the decision runs (a millisecond
    /// or two of work: a hop to the pool and back would cost as much); larger ones on `work`.
    static let inlineBytes: Int64 = 256 << 10

    private func offload<T: Sendable>(_ inline: Bool, _ job: @escaping @Sendable () throws -> T) async throws -> T {
        inline ? try job() : try await work.run(job)
    }

    private func decide(_ entry: SpoolEntry) async throws -> IntakeResult {
        var comment: TrustedComment?
        var unitKey: UnitKeyRecord?
        let path = data.resolve(spoolPath: entry.path)
        do {
            let header = try PackageHeader(path: path, source: try FileSource(path: path), maxBytes: maxPackageBytes, keys: nil)
            comment = header.comment
            // Checked at admission; checked again, as the key may have changed state since.
            let key = try await precheck(PackagePeek(signature: header.signature, comment: header.comment), tokenUnit: nil)
            unitKey = key
            let c = header.comment
            // The last seq is read before this seq's outcome: a rival deciding the same seq in
            // between is then found as that outcome (a duplicate or a conflict), never taken
            // for an older seq.
            let lastSeq = try await store.lastSeq(unitId: c.unit)
            if let first = try await store.outcome(unitId: c.unit, seq: c.seq) {
                if first.sha256 == entry.sha256 {
                    // The same package decided meanwhile (two copies admitted at once): this copy
                    // is forgotten, the answer is the first decision.
                    if try await store.removePendingSpool(id: entry.id) { unlink(path) }
                    return IntakeResult(kind: .duplicate, outcome: first)
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
            // Signature, recipients, decryption, payload, manifest, hashes (spec §5).
            // Opened into a folder of this decision's own: the same package may be decided twice
            // at once (sent twice, or to two processes sharing the data folder).
            let openDir = "\(data.packagesPath)/.opening-\(getpid())-\(PackageIdentifiers.newUUIDv7())"
            let pk = try MinisignPublicKey(base64: key.publicKey)
            let state = current.withLock { $0 }
            var request = OpenRequest(
                path: path, output: openDir, identities: state.keys.recipients.filter { state.accepted.contains($0.recipient.fingerprint) },
                signers: [pk], expectedUnit: key.unitId, maxBytes: maxPackageBytes, acceptedFingerprints: state.accepted)
            // The opened files are derived from the fsynced spool copy: no fsync of their own.
            request.durable = false
            let opened: OpenedPackage
            try Failpoints.check("intake.open")
            // Verification and decryption are CPU and file work: on the blocking pool, off the
            // cooperative threads.
            let openRequest = request
            let inline = entry.size <= Self.inlineBytes
            do { opened = try await offload(inline) { try Opener.open(openRequest) } } catch let e as SealError
                where e.code == .recipientNotAccepted && c.to.contains(where: state.retired.contains)
            {
                throw GatewayError(
                    .recipientRetired, "package is sealed to a department recipient that has been retired (\(c.to.joined(separator: ",")))",
                    remedy: "fetch the trust document again (`sealgate trust fetch`) and seal the data anew with the next seq")
            }
            // The plaintext lives only while it is read into the store: snapshot and correction
            // records are imported, the files of a `files` package stay sealed in the spool.
            defer { try? FileManager.default.removeItem(atPath: openDir) }
            // Records, then import.
            var snapshot: SnapshotImport?
            var validation: JSON = .null
            var correctionRows: [[String]] = []
            var correctionLines: [Int] = []
            if c.kind == .snapshot || c.kind == .correction {
                let (report, rows) = try await offload(inline) { try self.validateRecords(openDir, unit: c.unit, kind: c.kind) }
                correctionRows = rows.corrections
                correctionLines = rows.correctionLines
                validation = report
                if (report["errors"]?.int ?? 0) > 0 {
                    return try await reject(
                        entry,
                        GatewayError(
                            .recordsInvalidAtIntake, "the records have \(report["errors"]?.int ?? 0) error(s)",
                            remedy:
                                "fix the rows listed in the receipt's validation report (`sealgate validate` shows them with their values), then seal and submit again with the next seq"
                        ),
                        comment: c, validation: validation)
                }
                if c.kind == .snapshot {
                    snapshot = SnapshotImport(unitId: c.unit, packageId: c.package, organizations: rows.organizations, members: rows.members)
                }
            }
            var corrections: CorrectionImport?
            var correctionReport: JSON?
            if c.kind == .correction {
                guard correctionRows.count <= Self.maxCorrectionRows else {
                    return try await reject(
                        entry,
                        GatewayError(
                            .correctionsTooMany, "the package holds \(correctionRows.count) corrections, more than \(Self.maxCorrectionRows)",
                            remedy:
                                "send corrections as they are reported, in packages of at most \(Self.maxCorrectionRows) rows; for a whole new list send a snapshot"
                        ),
                        comment: c, validation: validation)
                }
                let (apply, report) = try await decideCorrections(correctionRows, lines: correctionLines, unit: c.unit)
                corrections = CorrectionImport(unitId: c.unit, corrections: apply)
                correctionReport = report
            }
            var body = receiptBase(entry, c, status: .accepted)
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
            body["validation"] = validation
            let outcome = try await commitDecision(
                entry, c, status: .accepted, code: nil, claimsSeq: true, snapshot: snapshot, corrections: corrections, body: body,
                keyId: unitKey?.keyId)
            return IntakeResult(kind: .accepted, outcome: outcome)
        } catch let e as SealError where !Self.isGatewayFault(e) {
            return try await reject(entry, e, comment: comment, attributed: unitKey != nil)
        }
    }

    func receiptBase(_ entry: SpoolEntry, _ c: TrustedComment?, status: OutcomeStatus) -> [String: JSON] {
        var body: [String: JSON] = [
            "format": .string("sealgate-receipt/1"), "gateway": .string(department), "status": .string(status.rawValue),
            "sha256": .string(entry.sha256), "size": .int(entry.size), "received_at": .string(entry.receivedAt),
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

    private func commitDecision(
        _ entry: SpoolEntry, _ c: TrustedComment?, status: OutcomeStatus, code: String?, claimsSeq: Bool, snapshot: SnapshotImport?,
        corrections: CorrectionImport? = nil,
        body: [String: JSON], keyId: String? = nil
    ) async throws -> Outcome {
        let decidedAt = Self.now()
        let decision = Decision(
            spoolId: entry.id, status: status, code: code, packageId: c?.package, unitId: c?.unit, seq: c?.seq, sha256: entry.sha256,
            kind: c?.kind.rawValue, decidedAt: decidedAt, claimsSeq: claimsSeq, keyId: keyId, created: c?.created)
        return try await commitLogged(decision, entry, snapshot: snapshot, corrections: corrections) { leaf, logEntry, proven in
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
    private func commitLogged(
        _ d: Decision, _ entry: SpoolEntry, snapshot: SnapshotImport?, corrections: CorrectionImport? = nil,
        receipt: (Int64, String, (proof: [Merkle.Hash], checkpoint: Checkpoint, note: String)) throws -> ReceiptBundle
    ) async throws -> Outcome {
        var record: [String: JSON] = [
            "format": .string("sealgate-log/1"), "kind": .string(d.status == .duplicate ? "duplicate" : "outcome"),
            "gateway": .string(department), "status": .string(d.status.rawValue), "sha256": .string(d.sha256),
            "received_at": .string(entry.receivedAt), "decided_at": .string(d.decidedAt),
            "package": d.packageId.map(JSON.string) ?? .null, "unit": d.unitId.map(JSON.string) ?? .null,
            "seq": d.seq.map { .int(Int64(bitPattern: $0)) } ?? .null, "code": d.code.map(JSON.string) ?? .null,
        ]
        record["spool"] = .int(d.spoolId)
        let logEntry = JSON.object(record).canonical
        // Entries others committed meanwhile are caught up inside the transaction; if it fails,
        // only this transaction's own leaf is forgotten.
        var ownLeaf: Int64?
        var signed: (size: Int, note: String)?
        let outcome: Outcome
        do {
            outcome = try await store.commit(d, snapshot: snapshot, corrections: corrections, logEntry: logEntry, logSince: log.committedCount) {
                leaf, entries in
                let proven = try log.extend(with: entries, leaf: leaf)
                ownLeaf = leaf
                signed = (proven.checkpoint.size, proven.note)
                return try receipt(leaf, logEntry, proven)
            }
        } catch {
            if let ownLeaf { log.forget(from: ownLeaf) }
            throw error
        }
        // The checkpoint the receipt carries is the gateway's word: kept as the log head before
        // the receipt leaves (a fault here is ours: the decision stands, the unit asks again).
        if let ownLeaf { log.markCommitted(through: ownLeaf) }
        // The log head's write and fsync (and its cross-process lock) on the pool.
        let gatewayLog = self.log
        if let signed { try await work.run { try gatewayLog.recordHead(size: signed.size, note: signed.note) } }
        return outcome
    }

    private func reject(_ entry: SpoolEntry, _ e: SealError, comment: TrustedComment?, attributed: Bool = false, validation: JSON = .null)
        async throws
        -> IntakeResult
    {
        // A package whose signature verified consumes its seq even when rejected later.
        let claims = attributed && !Self.preSignature.contains(e.code.rawValue) && comment != nil
        var body = receiptBase(entry, comment, status: .rejected)
        body["error"] = .object(["code": .string(e.code.rawValue), "message": .string(e.message), "remedy": .string(e.remedy)])
        body["validation"] = validation
        let outcome = try await commitDecision(entry, comment, status: .rejected, code: e.code.rawValue, claimsSeq: claims, snapshot: nil, body: body)
        return IntakeResult(kind: e.code == .seqConflict ? .seqConflict : .rejected, outcome: outcome)
    }

    /// Which corrections apply to the unit's current records: those whose old_value (normalized)
    /// is what the record holds — later rows of the same file see earlier rows' changes. The
    /// report lists each row by line and field, applied or not with a code: never a value, a
    /// citizen id or a reason (receipts carry no personal data; the unit has its own file).
    func decideCorrections(_ rows: [[String]], lines: [Int], unit: String) async throws -> ([MemberCorrection], JSON) {
        var apply: [MemberCorrection] = []
        var applied: [JSON] = []
        var notApplied: [JSON] = []
        var pending: [String: String] = [:]  // citizen_id + field -> value after earlier rows
        for (i, r) in rows.enumerated() where r.count >= 6 {
            let (cid, field, new) = (r[0], r[1], r[3])
            var raw = r[2]
            let old = raw.withUTF8 { b in FieldChecks.single(column: field, UnsafeRawBufferPointer(b)).value } ?? r[2]
            let row: [String: JSON] = ["line": .int(Int64(i < lines.count ? lines[i] : i + 2)), "field": .string(field)]
            let key = cid + "\u{0}" + field
            let holds: String?
            if let p = pending[key] { holds = p } else { holds = try await store.currentMemberField(unitId: unit, citizenId: cid, field: field) }
            if let holds, holds == old {
                apply.append(MemberCorrection(citizenId: cid, field: field, oldValue: old, newValue: new))
                pending[key] = new
                applied.append(.object(row))
            } else {
                var o = row
                o["code"] = .string(holds == nil ? "correction_no_member" : "correction_old_value_mismatch")
                o["detail"] = .string(
                    holds == nil
                        ? "no member with this citizen_id in the unit's current records"
                        : "the record holds another value than the old_value given; check the member's current data and send the correction again")
                notApplied.append(.object(o))
            }
        }
        return (
            apply,
            .object([
                "applied": .array(applied), "not_applied": .array(notApplied),
                "summary": .string("\(applied.count) applied, \(notApplied.count) not applied"),
            ])
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
    func validateRecords(_ dir: String, unit: String, kind: PackageKind) throws -> (
        JSON, (organizations: [[String]], members: [[String]], corrections: [[String]], correctionLines: [Int])
    ) {
        // The normalized files go to disk beside the opened ones (removed with them after the
        // decision), not to memory: a package with errors costs no memory for its rows.
        let normalized = "\(dir)/.normalized"
        let sink = try DirectorySink(root: normalized, perUnit: false)
        // Counts are exact; only the findings a receipt shows are kept (memory does not grow
        // with the number of findings).
        let v = RecordValidator(
            today: CivilDate(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400)), crossUnit: false, keep: Self.receiptFindings)
        var files: [RecordFile: String] = [:]
        for f in RecordFile.allCases where FileManager.default.fileExists(atPath: "\(dir)/\(f.rawValue)") { files[f] = "\(dir)/\(f.rawValue)" }
        try v.validateUnit(unit, files: files, sink: sink)
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
        // Rows are parsed back only for records that will be imported.
        guard v.errorCount == 0 else { return (report, ([], [], [], [])) }
        func rows(_ f: RecordFile) throws -> [[String]] {
            try Self.dataRows("\(normalized)/\(f.rawValue)").map(\.fields)
        }
        // A correction row is named by its line in the unit's own file (blank lines and quoted
        // line breaks counted), which the normalized file does not keep.
        let lines = files[.corrections] == nil ? [] : try Self.dataRows(files[.corrections]!).map(\.line)
        return (report, (try rows(.organizations), try rows(.members), try rows(.corrections), lines))
    }

    /// The data rows of a CSV file (after its header, blank lines skipped) with their lines.
    static func dataRows(_ path: String) throws -> [(line: Int, fields: [String])] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let r: CSVReader
        do { r = try CSVReader(path: path) } catch let e as CSVIOError {
            throw GatewayError(.ioError, "cannot read an opened record file", remedy: "check the data folder's disk", cause: e)
        }
        var out: [(line: Int, fields: [String])] = []
        var first = true
        while try r.next() {
            if first {
                first = false
                continue
            }
            if r.isBlankLine { continue }
            out.append((r.line, r.fields.map(\.string)))
        }
        return out
    }
}

extension SealErrorCode {
    public static let correctionsTooMany = SealErrorCode("corrections_too_many")
    public static let kindNotAccepted = SealErrorCode("kind_not_accepted")
    public static let tokenUnitMismatch = SealErrorCode("token_unit_mismatch")
}
