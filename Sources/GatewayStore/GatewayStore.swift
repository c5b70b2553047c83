import Foundation
@_exported public import SealBase

/// The states and roles the store keeps, typed: each is stored as its raw value, and the schema
/// refuses any other (CHECK constraints on PostgreSQL, triggers on SQLite; migration
/// `v14-typed-states`).
public protocol StoredState: RawRepresentable, CaseIterable, Sendable, Hashable, SQLBindable where RawValue == String {}
extension StoredState {
    public var sqlValue: SQLValue { .text(rawValue) }
}

/// A unit's signing key: `active`; `retiring` after a rotation (packages created before the
/// switch accepted until `validUntil`); `retired`; `revoked` as compromised.
public enum UnitKeyState: String, StoredState { case active, retiring, retired, revoked }
/// A decision on a received body.
public enum OutcomeStatus: String, StoredState { case accepted, rejected, duplicate }
/// A dataset version's delivery to the handbook system.
public enum DatasetState: String, StoredState { case pending, delivered }
/// Who an API token speaks for.
public enum TokenRole: String, StoredState { case admin, unit }
/// A department recipient's lifecycle.
public enum RecipientState: String, StoredState {
    case pending, active, retired
    case decryptOnly = "decrypt-only"
}
/// A department signing key's lifecycle.
public enum SigningKeyState: String, StoredState {
    case pending, active, retired
    case verifyOnly = "verify-only"
}
/// A received body in the spool: `pending` until decided, `done`, `pruned` once retention removed its file.
public enum SpoolState: String, StoredState { case pending, done, pruned }
/// The review's decision on a flagged package: `confirmed` (the unit's own after all: its
/// records go back into datasets) or `rejected` (not the unit's: its records stay out). Stored
/// as `review_flags.resolution`, NULL while unresolved (migration `v15-flag-review`).
public enum ReviewResolution: String, StoredState { case confirmed, rejected }
/// What a department signing key signs (`signing_keys.role`; migration `v16-typed-kinds`).
public enum SigningKeyRole: String, StoredState { case receipt, dataset, log }
/// The kind of package a decision was on (`outcomes.kind`, NULL when the package could not be
/// read that far): the package kinds of the format (spec §4).
public enum OutcomeKind: String, StoredState { case snapshot, correction, dataset, files }
/// What a log entry records (`log_entries.kind`).
public enum LogKind: String, StoredState {
    /// A decision on a received package, and a body already decided that came again.
    case outcome, duplicate
    case unitRegistered = "unit_registered"
    case unitKeyAdded = "unit_key_added"
    case unitKeyRotated = "unit_key_rotated"
    case unitKeyRevoked = "unit_key_revoked"
    case tokenCreated = "token_created"
    case tokenRevoked = "token_revoked"
    case flagResolved = "flag_resolved"
    case dataset
    case datasetForwarded = "dataset_forwarded"
    case handbookConnected = "handbook_connected"
    case campaign, trust
    case keyRotated = "key_rotated"
    case keyActivated = "key_activated"
    case keyRetired = "key_retired"
    case forkDeclared = "fork_declared"
}

/// A registered unit and its signing keys.
public struct UnitRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var createdAt: Timestamp
    public init(id: String, name: String, createdAt: Timestamp) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }
}

/// A unit's minisign public key.
public struct UnitKeyRecord: Sendable, Equatable {
    public var keyId: String  // 16 upper-case hex digits, as minisign prints it
    public var unitId: String
    public var publicKey: String  // the base64 line (RWQ…)
    public var state: UnitKeyState
    public var addedAt: Timestamp
    /// For a `retiring` key (replaced by a rotation): the switch time; only packages created
    /// before it are accepted, and only until `validUntil`.
    public var switchedAt: Timestamp?
    public var validUntil: Timestamp?
    /// For a `revoked` key: from when it may have been in someone else's hands.
    public var compromisedAt: Timestamp?
    public init(
        keyId: String, unitId: String, publicKey: String, state: UnitKeyState, addedAt: Timestamp, switchedAt: Timestamp? = nil,
        validUntil: Timestamp? = nil, compromisedAt: Timestamp? = nil
    ) {
        self.keyId = keyId
        self.unitId = unitId
        self.publicKey = publicKey
        self.state = state
        self.addedAt = addedAt
        self.switchedAt = switchedAt
        self.validUntil = validUntil
        self.compromisedAt = compromisedAt
    }
}

/// An imported package flagged for review (signed by a key revoked as compromised before it was created).
/// While unresolved, and once rejected, the records it brought are kept out of datasets
/// (`datasetRecords`); confirmed, they are taken again.
public struct FlaggedPackage: Sendable, Equatable {
    public var packageId: String
    public var unitId: String
    public var seq: UInt64
    public var keyId: String?
    public var created: Timestamp?
    public var reason: String
    public var flaggedAt: Timestamp
    /// nil while unresolved.
    public var resolution: ReviewResolution?
    public var resolvedAt: Timestamp?
    /// The operator's reason for the decision (also in the `flag_resolved` log entry).
    public var resolutionReason: String?
    public init(
        packageId: String, unitId: String, seq: UInt64, keyId: String?, created: Timestamp?, reason: String, flaggedAt: Timestamp,
        resolution: ReviewResolution? = nil, resolvedAt: Timestamp? = nil, resolutionReason: String? = nil
    ) {
        self.packageId = packageId
        self.unitId = unitId
        self.seq = seq
        self.keyId = keyId
        self.created = created
        self.reason = reason
        self.flaggedAt = flaggedAt
        self.resolution = resolution
        self.resolvedAt = resolvedAt
        self.resolutionReason = resolutionReason
    }
}

/// A flagged package that keeps records of its unit out of datasets: unresolved, or rejected.
public struct HeldPackage: Sendable, Equatable {
    public var flag: FlaggedPackage
    /// `snapshot` or `correction` (nil if its decision is not found).
    public var kind: OutcomeKind?
    /// The unit's member records a dataset leaves out because of it: every record of a snapshot
    /// that is the unit's current one, the rows a correction changed in the snapshot a dataset
    /// takes; 0 once a later snapshot replaced what it brought.
    public var withheld: Int
    public init(flag: FlaggedPackage, kind: OutcomeKind?, withheld: Int) {
        self.flag = flag
        self.kind = kind
        self.withheld = withheld
    }
}

/// What the review of flagged packages holds back of one unit's records (docs/operations.md,
/// "Flagged packages"): a dataset takes the unit's latest snapshot that no unresolved or
/// rejected package wrote — the current one, or an earlier one kept in the store, or none —
/// without the rows an unresolved or rejected correction changed in it.
public struct ReviewHold: Sendable, Equatable {
    public var unitId: String
    /// The unit's current snapshot (its latest accepted).
    public var currentPackage: String?
    /// The snapshot a dataset takes the unit's records from (nil: none, every record withheld).
    public var datasetPackage: String?
    /// The members a dataset takes of the unit.
    public var datasetMembers: Int
    /// Every unresolved or rejected flag of the unit, in seq order, with what it holds back.
    public var held: [HeldPackage]
    public init(unitId: String, currentPackage: String?, datasetPackage: String?, datasetMembers: Int, held: [HeldPackage]) {
        self.unitId = unitId
        self.currentPackage = currentPackage
        self.datasetPackage = datasetPackage
        self.datasetMembers = datasetMembers
        self.held = held
    }
    public var unresolved: [HeldPackage] { held.filter { $0.flag.resolution == nil } }
    /// Records held back, every package together.
    public var withheld: Int { held.reduce(0) { $0 + $1.withheld } }
    /// True when a dataset takes an earlier snapshot than the current one (or none).
    public var fallsBack: Bool { datasetPackage != currentPackage }
}

/// One unit's records as a dataset takes them.
public struct DatasetUnitRecords: Sendable {
    /// nil: the unit has no records a dataset may take.
    public var records: UnitRecords?
    /// nil: no package of the unit is unresolved or rejected (the records are the current ones).
    public var hold: ReviewHold?
    public init(records: UnitRecords?, hold: ReviewHold?) {
        self.records = records
        self.hold = hold
    }
}

/// An API token (only its SHA-256 is stored).
public struct TokenRecord: Sendable, Equatable {
    public var hash: String
    public var role: TokenRole
    public var unitId: String?
    public var createdAt: Timestamp
    /// Set once the token is revoked: it authenticates nothing from then on.
    public var revokedAt: Timestamp?
    public init(hash: String, role: TokenRole, unitId: String?, createdAt: Timestamp, revokedAt: Timestamp? = nil) {
        self.hash = hash
        self.role = role
        self.unitId = unitId
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
    /// What operators name a token by: the first 16 hex digits of its SHA-256 (not a secret).
    public var id: String { String(hash.prefix(16)) }
}

extension GatewayStore {
    /// Records a body fsynced in the spool at `path` (`addSpool(…, body: nil)`).
    public func addSpool(sha256: String, size: Int64, path: String, receivedAt: Timestamp) async throws -> Int64 {
        try await addSpool(sha256: sha256, size: size, path: path, receivedAt: receivedAt, body: nil)
    }
}

/// A package body as received: a file in the spool at `path`, durable before it is processed, or
/// — a small body (`inStore`) — kept in its spool record in the store (`spoolBody(id:)`), made by
/// its decision's commit (`Decision.newSpool`), `path` then naming it in the spool folder of the
/// process that received it, with no file.
public struct SpoolEntry: Sendable, Equatable {
    public var id: Int64
    public var sha256: String
    public var size: Int64
    public var path: String
    public var receivedAt: Timestamp
    public var state: SpoolState
    /// The body is in the store (until `markSpoolPruned`), not in a file.
    public var inStore: Bool

    public init(id: Int64, sha256: String, size: Int64, path: String, receivedAt: Timestamp, state: SpoolState, inStore: Bool = false) {
        (self.id, self.sha256, self.size, self.path, self.receivedAt, self.state) = (id, sha256, size, path, receivedAt, state)
        self.inStore = inStore
    }
}

/// The decision on one received body, with its signed receipt.
public struct Outcome: Sendable, Equatable {
    public var spoolId: Int64
    public var status: OutcomeStatus
    public var code: String?  // the error code when rejected
    public var packageId: String?
    public var unitId: String?
    public var seq: UInt64?
    public var sha256: String
    public var kind: OutcomeKind?
    public var receipt: String  // canonical JSON
    public var receiptSignature: String  // minisign signature file text
    public var leaf: Int64
    public var decidedAt: Timestamp
    public init(
        spoolId: Int64, status: OutcomeStatus, code: String?, packageId: String?, unitId: String?, seq: UInt64?, sha256: String, kind: OutcomeKind?,
        receipt: String, receiptSignature: String, leaf: Int64, decidedAt: Timestamp
    ) {
        self.spoolId = spoolId
        self.status = status
        self.code = code
        self.packageId = packageId
        self.unitId = unitId
        self.seq = seq
        self.sha256 = sha256
        self.kind = kind
        self.receipt = receipt
        self.receiptSignature = receiptSignature
        self.leaf = leaf
        self.decidedAt = decidedAt
    }
}

/// Normalized records of one snapshot, ready to import.
public struct SnapshotImport: Sendable {
    public var unitId: String
    public var packageId: String
    /// organizations.csv rows: org_id, name, type, parent_id.
    public var organizations: RecordRows
    /// members.csv rows in schema order (14 columns).
    public var members: RecordRows
    public init(unitId: String, packageId: String, organizations: RecordRows, members: RecordRows) {
        self.unitId = unitId
        self.packageId = packageId
        self.organizations = organizations
        self.members = members
    }
    public init(unitId: String, packageId: String, organizations: [[String]], members: [[String]]) {
        self.init(unitId: unitId, packageId: packageId, organizations: RecordRows(organizations), members: RecordRows(members))
    }
}

/// What the intake looks up before it admits or decides a package, read at once
/// (`GatewayStore.intakeLookup`).
public struct IntakeLookup: Sendable {
    /// The key that signed the package (nil: no registered unit holds it).
    public var key: UnitKeyRecord?
    /// The latest trust document's version (0: none yet).
    public var trustVersion: UInt64
    /// The unit's highest seq used (asked with a unit and a seq).
    public var lastSeq: UInt64?
    /// The outcome that holds the unit's seq (asked with a unit and a seq).
    public var seqOutcome: Outcome?
    /// The first outcome of the same bytes (asked with a SHA-256).
    public var sameBytes: Outcome?

    public init(key: UnitKeyRecord?, trustVersion: UInt64, lastSeq: UInt64? = nil, seqOutcome: Outcome? = nil, sameBytes: Outcome? = nil) {
        self.key = key
        self.trustVersion = trustVersion
        self.lastSeq = lastSeq
        self.seqOutcome = seqOutcome
        self.sameBytes = sameBytes
    }
}

/// A snapshot's rows, handed to the store a batch at a time (read from a file during the
/// import's transaction, so the import's memory does not grow with the package), or held in
/// memory. `count` is the number the batches must add up to.
public struct RecordRows: Sendable {
    /// The rows a batch holds at most (the import inserts a batch at a time).
    public static let batchRows = 5_000
    public let count: Int
    /// Calls `body` with the rows in order, a batch of at most `batchRows` at a time, `columns`
    /// fields a row. May be called again (a transaction tried again): the rows from the first.
    public let read: @Sendable (_ columns: Int, _ body: (RowBatch) async throws -> Void) async throws -> Void

    public init(count: Int, read: @escaping @Sendable (_ columns: Int, _ body: (RowBatch) async throws -> Void) async throws -> Void) {
        self.count = count
        self.read = read
    }

    public init(_ rows: [[String]]) {
        self.count = rows.count
        self.read = { columns, body in
            var start = 0
            while start < rows.count {
                var b = RowBatch(columns: columns)
                for row in rows[start..<min(rows.count, start + Self.batchRows)] { b.append(row) }
                try await body(b)
                start += Self.batchRows
            }
        }
    }
}

/// Rows for the bulk insert as bytes: every field's UTF-8 (unescaped), each followed by one
/// separator byte, `columns` fields a row — no String, no array per row (the city's import is
/// millions of fields, bound to the insert straight from here). The separator lets a CSV line
/// whose fields need no unquoting be taken whole, its commas and line end as the separators
/// (`appendUnquotedLine`).
public struct RowBatch: Sendable {
    public let columns: Int
    public private(set) var bytes: [UInt8] = []
    /// Where each field ends in `bytes` (its separator is the next byte, the next field starts
    /// after it): row r's field c is the (r × columns + c)-th.
    public private(set) var ends: [Int] = []

    public init(columns: Int) { self.columns = columns }

    public var count: Int { columns == 0 ? 0 : ends.count / columns }

    /// Appends a row of `fieldCount` fields given by `field(i)`: its first `columns`, and ""
    /// for any it lacks.
    public mutating func appendRow(fieldCount: Int, _ field: (Int) -> UnsafeRawBufferPointer) {
        for i in 0..<columns {
            if i < fieldCount { bytes.append(contentsOf: field(i)) }
            ends.append(bytes.count)
            bytes.append(0x2C)
        }
    }

    /// Appends a row of strings (as `appendRow`).
    public mutating func append(_ row: [String]) {
        for i in 0..<columns {
            if i < row.count { bytes.append(contentsOf: row[i].utf8) }
            ends.append(bytes.count)
            bytes.append(0x2C)
        }
    }

    /// Appends a row of fields' bytes (as `appendRow`).
    public mutating func append(fields: [[UInt8]]) {
        for i in 0..<columns {
            if i < fields.count { bytes.append(contentsOf: fields[i]) }
            ends.append(bytes.count)
            bytes.append(0x2C)
        }
    }

    /// Appends a CSV line (without its line end) as one row when it has exactly `columns`
    /// fields and the caller knows none is quoted (no quote, CR or LF in it): its bytes taken
    /// whole. False, and nothing appended, for another number of fields.
    public mutating func appendUnquotedLine(_ line: UnsafeRawBufferPointer) -> Bool {
        let base = bytes.count
        let before = ends.count
        var commas = 0
        if let p = line.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            for i in 0..<line.count where p[i] == 0x2C {
                commas += 1
                guard commas < columns else { break }
                ends.append(base + i)
            }
        }
        guard commas == columns - 1 else {
            ends.removeSubrange(before...)
            return false
        }
        ends.append(base + line.count)
        bytes.append(contentsOf: line)
        bytes.append(0x0A)
        return true
    }

    /// Where row `row`'s field `column` is in `bytes`.
    public func range(row: Int, column: Int) -> Range<Int> {
        let k = row * columns + column
        return (k == 0 ? 0 : ends[k - 1] + 1)..<ends[k]
    }

    public func string(row: Int, column: Int) -> String { String(decoding: bytes[range(row: row, column: column)], as: UTF8.self) }

    /// Every row as strings.
    public var rows: [[String]] { (0..<count).map { r in (0..<columns).map { string(row: r, column: $0) } } }

    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }
}

/// What the gateway knows of a unit for `GET /v1/units/{id}`.
public struct UnitStatus: Sendable {
    public var unit: UnitRecord
    public var keys: [UnitKeyRecord]
    public var lastSeq: UInt64?
    public var lastPackage: String?
    public var lastStatus: OutcomeStatus?
    public var members: Int
    public var organizations: Int
    public var packages: Int
    /// The receipt of the unit's last decided package (its validation summary is shown).
    public var lastReceipt: String?
}

/// A department recipient: `active` (units seal to it), `decrypt-only` until a date (packages
/// sealed to it are still opened), `retired` (refused; its secret destroyed or archived).
public struct RecipientRecord: Sendable, Equatable {
    public var fingerprint: String
    public var recipient: String
    public var state: RecipientState
    public var decryptUntil: Timestamp?
    public var createdAt: Timestamp
    public init(fingerprint: String, recipient: String, state: RecipientState, decryptUntil: Timestamp?, createdAt: Timestamp) {
        self.fingerprint = fingerprint
        self.recipient = recipient
        self.state = state
        self.decryptUntil = decryptUntil
        self.createdAt = createdAt
    }
}

/// A department signing key (receipt, dataset or log) other than the one in use, or the one in
/// use once it has been rotated: `pending` (published, accepted by verifiers, not yet signing),
/// `active`, `verify-only` (no longer signing; signatures it made up to `until` stay valid).
public struct SigningKeyRecord: Sendable, Equatable {
    public var role: SigningKeyRole
    public var keyId: String
    public var publicKey: String
    public var state: SigningKeyState
    public var until: Timestamp?
    public var createdAt: Timestamp
    public init(role: SigningKeyRole, keyId: String, publicKey: String, state: SigningKeyState, until: Timestamp?, createdAt: Timestamp) {
        self.role = role
        self.keyId = keyId
        self.publicKey = publicKey
        self.state = state
        self.until = until
        self.createdAt = createdAt
    }
}

/// A signed trust document.
public struct TrustRecord: Sendable, Equatable {
    public var version: UInt64
    public var body: String
    public var signature: String
    /// For the version that changes the trust root: the previous root's signature of the same body.
    public var rootCrossSignature: String?
    public init(version: UInt64, body: String, signature: String, rootCrossSignature: String? = nil) {
        self.version = version
        self.body = body
        self.signature = signature
        self.rootCrossSignature = rootCrossSignature
    }
}

/// A store error: a stable code from the one code list every refusal shares (`SealErrorCode`,
/// SealBase; docs/errors.md lists them), what happened, and the cause
/// when a driver reported one (kept for the operator's log, never shown to a client).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// The store's codes are `SealErrorCode`s from the one catalogue (SealBase), the same list
    /// every other refusal names its code from (`.unitExists`, `.keyState`, `.storeUnavailable`, …).
    public typealias Code = SealErrorCode

    public let code: Code
    public let message: String
    /// The driver's error, if any (its description may name tables and columns, never values).
    public let cause: (any Error)?
    public var description: String { "\(code): \(message)" }
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }
}

/// A named role that one process at a time holds among every process on the same store (the
/// forwarder, the checkpoint signer, scheduled synthesis). It ends when the holder releases it
/// or dies; `isHeld` turns false if it was lost (check before each piece of work).
public protocol StoreLease: AnyObject, Sendable {
    var name: String { get }
    /// Whether it is still held (a round trip on PostgreSQL).
    func isHeld() async -> Bool
    func release() async
}

/// Everything the gateway keeps, behind one protocol, implemented once (`SQLGatewayStore`) over
/// SQLite (one machine) and PostgreSQL (any number of gateway processes); the same conformance
/// tests run on both. Every method is one transaction.
public protocol GatewayStore: Sendable {
    /// Takes the lease `name` if no other process holds it; nil if one does.
    func tryLease(_ name: String) async throws -> (any StoreLease)?
    /// Where the store is, for logs (never a password).
    var location: String { get }

    // Units, keys, tokens
    /// Registers a unit with its first key, and logs `logBody` as `unit_registered`, in one
    /// transaction. Throws `unit_exists` or `key_exists`.
    func addUnit(_ unit: UnitRecord, key: UnitKeyRecord, logBody: String) async throws
    func unit(_ id: String) async throws -> UnitRecord?
    func units() async throws -> [UnitRecord]
    func unitKey(keyId: String) async throws -> UnitKeyRecord?
    func unitKeys(unitId: String) async throws -> [UnitKeyRecord]
    /// A unit key rotation, in one transaction with its log entry: `newKeyId` becomes active,
    /// `oldKeyId` (active, of `unitId`) becomes retiring until `oldValidUntil`.
    /// Throws `unit_unknown`, `key_state` or `key_exists`.
    func rotateUnitKey(
        unitId: String, oldKeyId: String, newKeyId: String, newPublicKey: String, switchAt: Timestamp,
        oldValidUntil: Timestamp, logBody: String) async throws
    /// Registers another key for a unit (after an out-of-band identity check); logged in the same transaction.
    func addUnitKey(_ key: UnitKeyRecord, logBody: String) async throws
    /// Revokes a unit key as compromised from `compromisedAt`: packages created from then on are
    /// refused; accepted packages it signed that were created from then on are flagged (and
    /// returned). Logged in the same transaction.
    func revokeUnitKey(unitId: String, keyId: String, compromisedAt: Timestamp, at: Timestamp, logBody: String) async throws -> [FlaggedPackage]
    /// Packages flagged for review, of one unit or all, resolved ones included.
    func flaggedPackages(unitId: String?) async throws -> [FlaggedPackage]
    /// Decides a flagged package — `confirmed` (its records go back into datasets) or `rejected`
    /// (they stay out) — with the operator's reason, logging `logBody(flag)` as `flag_resolved`
    /// in the same transaction; returns the flag as decided. Throws `flag_unknown` or
    /// `flag_resolved` (a decision is made once).
    func resolveFlag(
        packageId: String, resolution: ReviewResolution, reason: String, at: Timestamp, logBody: (FlaggedPackage) -> String
    ) async throws -> FlaggedPackage
    /// What unresolved and rejected flags hold back of the unit's records; nil when the unit has none.
    func reviewHold(unitId: String) async throws -> ReviewHold?
    func addToken(_ token: TokenRecord) async throws
    /// The token with this hash, unless it was revoked.
    func token(hash: String) async throws -> TokenRecord?
    /// Every token, revoked ones included (hashes only).
    func tokens() async throws -> [TokenRecord]
    /// Revokes the token whose id (hash prefix) is `id`, logging `logBody` as `token_revoked` in
    /// the same transaction; throws `token_unknown` (none, or several match) or `token_revoked`.
    func revokeToken(id: String, at: Timestamp, logBody: (TokenRecord) -> String) async throws -> TokenRecord

    // Spool and outcomes
    /// Records a received body as pending — already fsynced in the spool at `path`, or `body`
    /// itself, kept in the record (durable once this returns: what the version before this one
    /// recorded at a small body's admission; a small body is now recorded by its decision's
    /// commit, `Decision.newSpool`) — and returns its id.
    func addSpool(sha256: String, size: Int64, path: String, receivedAt: Timestamp, body: [UInt8]?) async throws -> Int64
    /// The body kept in a spool record (`addSpool(body:)`); nil when it is in a file, pruned, or
    /// there is no such record.
    func spoolBody(id: Int64) async throws -> [UInt8]?
    /// Bodies received but not decided (to process after a crash), oldest first.
    func pendingSpool() async throws -> [SpoolEntry]
    func spool(id: Int64) async throws -> SpoolEntry?
    /// Paths of every spool entry recorded (to find bodies a crash left unrecorded).
    func spoolPaths() async throws -> [String]
    /// Bodies decided at or before `before` whose file is still kept, with the kind of package.
    func decidedSpool(before: Timestamp) async throws -> [(entry: SpoolEntry, kind: OutcomeKind?)]
    /// Marks bodies whose file the retention policy removed; a body kept in the store goes with it.
    func markSpoolPruned(ids: [Int64]) async throws
    /// The accepted or rejected package holding (unit, seq), if any.
    func outcome(unitId: String, seq: UInt64) async throws -> Outcome?
    /// The outcome recorded for a package id (its first decision).
    func outcome(packageId: String) async throws -> Outcome?
    /// The first outcome recorded for a body with these bytes (a replay is answered from it).
    func outcome(sha256: String) async throws -> Outcome?
    /// Forgets a received body that was not decided (a fault of the gateway's own: the unit is
    /// told nothing was recorded and sends it again); false when it was decided meanwhile.
    func removePendingSpool(id: Int64) async throws -> Bool
    func outcome(spoolId: Int64) async throws -> Outcome?
    /// The highest seq used by a unit.
    func lastSeq(unitId: String) async throws -> UInt64?
    /// The intake's lookups for one package in one read (on SQLite one snapshot, one hop to a
    /// reader; on PostgreSQL one after the other, in this order): the signer's key and the
    /// latest trust document's version; with `unitId` and `seq` the unit's last seq, then the
    /// outcome holding that seq; with `sha256` the first outcome of the same bytes.
    func intakeLookup(keyId: String, unitId: String?, seq: UInt64?, sha256: String?) async throws -> IntakeLookup
    /// Commits a decision — with its snapshot import when accepted — in one transaction: appends
    /// `logEntry` (given the decision's spool id) to the log, calls `makeReceipt` with the new
    /// entry's index and every log entry from index `logSince` on (so the caller's tree catches
    /// up inside the transaction), stores the receipt and the checkpoint it returns, and marks the
    /// spool entry done — or, for a `Decision.newSpool`, records the entry (done) first.
    /// Throws `seq_taken` if another process decided that (unit, seq).
    /// `corrections` are applied to the unit's current members in the same transaction (each
    /// only where the field still holds its old value); returns the outcome.
    func commit(
        _ decision: Decision, snapshot: SnapshotImport?, corrections: CorrectionImport?, logEntry: (_ spoolId: Int64) -> String, logSince: Int64,
        makeReceipt: (Int64, [LogEntry]) throws -> ReceiptBundle
    ) async throws -> Outcome

    // Records and status
    /// The unit's current records (nil before its first accepted snapshot).
    func currentRecords(unitId: String) async throws -> UnitRecords?
    /// The members of the unit's current snapshot with the citizen ids asked: the snapshot, each
    /// one's row and correctable fields (`MemberCorrection.columns`) by name; an id no member (or
    /// two) has is not in the answer; with `cardNumbers`, every party card number of the snapshot
    /// with its member's citizen id. One read of the snapshot's ids, then one row per member found.
    func currentMembers(unitId: String, citizenIds: Set<String>, cardNumbers: Bool) async throws -> CurrentMembers
    /// The unit's records as a dataset takes them: its current records, unless unresolved or
    /// rejected flagged packages hold some back (`ReviewHold`).
    func datasetRecords(unitId: String) async throws -> DatasetUnitRecords
    /// Per registered unit: snapshot packages accepted and rejected, current members.
    func campaignRows() async throws -> [UnitCampaignRow]

    // Datasets and their delivery (the outbox)
    /// Records a new dataset version with its log entry, in one transaction; throws
    /// `dataset_exists` when the version was taken meanwhile. PostgreSQL also keeps the sealed
    /// package's bytes (read from `d.path`) in that transaction: any process can forward it.
    func addDataset(_ d: DatasetRecord, logBody: String) async throws
    /// Writes the sealed package of `version` to `path` from the store's own copy, for a process
    /// on another machine than the one that made it; false when the store keeps no copy (SQLite:
    /// the package is in the data folder of the one machine).
    func fetchDatasetPackage(version: UInt64, to path: String) async throws -> Bool
    func datasets() async throws -> [DatasetRecord]
    func dataset(version: UInt64) async throws -> DatasetRecord?
    /// A failed delivery attempt: attempts + 1, the error, when to try again.
    func recordAttempt(version: UInt64, error: String, nextAttemptAt: Timestamp) async throws
    /// The handbook system acknowledged the version: delivered, with its log entry, in one transaction.
    func recordDelivery(version: UInt64, ack: String, ackSignature: String, at: Timestamp, logBody: String) async throws

    // Settings (campaign deadlines, the handbook endpoint): small JSON texts by name
    func setting(_ name: String) async throws -> String?
    func setSetting(_ name: String, _ value: String) async throws
    func unitStatus(_ id: String) async throws -> UnitStatus?
    func currentMembers(unitId: String) async throws -> Int

    // Trust documents
    func addTrust(_ t: TrustRecord) async throws
    func latestTrust() async throws -> TrustRecord?
    /// The latest trust document's version (0: none yet), without reading the document.
    func latestTrustVersion() async throws -> UInt64
    func trust(version: UInt64) async throws -> TrustRecord?

    // Department recipients (age) and their lifecycle
    func addRecipient(_ r: RecipientRecord) async throws
    func recipients() async throws -> [RecipientRecord]
    /// Sets a recipient's state (and the end of its decrypt-only grace).
    func setRecipientState(fingerprint: String, state: RecipientState, decryptUntil: Timestamp?) async throws

    // Department signing keys (receipt, dataset, log) and their lifecycle
    /// Inserts, or updates the state and `until` of a key already recorded.
    func putSigningKey(_ k: SigningKeyRecord) async throws
    func signingKeys() async throws -> [SigningKeyRecord]

    // The dashboard's sessions (migration v17) and a unit's packages
    func addSession(_ s: DashboardSession) async throws
    /// The session whose cookie hashes to `idHash`, when at `now` it is within its hard end, was
    /// used less than `idle` ago and its admin token is not revoked; its last use becomes `now`
    /// when `touch` (a page's own refresh does not count as use). Nil otherwise (an expired
    /// session is deleted).
    func useSession(idHash: String, now: Timestamp, idle: Duration, touch: Bool) async throws -> DashboardSession?
    func deleteSession(idHash: String) async throws
    /// Deletes the sessions past their hard end or idle longer than `idle` at `now`; how many.
    @discardableResult func pruneSessions(now: Timestamp, idle: Duration) async throws -> Int
    /// Every decision attributed to the unit, newest first, at most `limit`.
    func outcomes(unitId: String, limit: Int) async throws -> [Outcome]
    /// When the checkpoint of `size` entries was stored.
    func checkpointTime(size: Int64) async throws -> Timestamp?

    // Log
    func logSize() async throws -> Int64
    func appendLog(kind: LogKind, body: String, at: Timestamp) async throws -> Int64
    /// Entries [start, end) in order.
    func logEntries(start: Int64, end: Int64) async throws -> [LogEntry]
    func addCheckpoint(size: Int64, note: String, at: Timestamp) async throws
    /// The signed checkpoint of the largest size, if any.
    func latestCheckpoint() async throws -> (size: Int64, note: String)?
    /// Appends entries in one transaction; returns the first one's index.
    func appendLog(_ entries: [(kind: LogKind, body: String)], at: Timestamp) async throws -> Int64
    /// The stored full tiles among `ids` (level, index), by id: 8,192 bytes each.
    func logTiles(_ ids: [(level: Int, index: Int64)]) async throws -> [LogTileKey: [UInt8]]
    /// Stores full tiles; one already stored is kept as it is.
    func addLogTiles(_ tiles: [(level: Int, index: Int64, hashes: [UInt8])]) async throws
    /// Deletes the stored tiles a log does not have: at level L those from index `counts[L]` on,
    /// and every tile of a level from `counts.count` on.
    func pruneLogTiles(counts: [Int64]) async throws
}

/// A stored log tile's place: its level and its index within the level.
public struct LogTileKey: Hashable, Sendable {
    public let level: Int
    public let index: Int64
    public init(level: Int, index: Int64) {
        self.level = level
        self.index = index
    }
}

/// A signed-in operator's dashboard session: only the SHA-256 of its cookie is kept.
public struct DashboardSession: Sendable, Equatable {
    public var idHash: String
    /// The SHA-256 of the admin token typed at sign-in (the `tokens` row).
    public var tokenHash: String
    public var createdAt: Timestamp
    public var lastSeenAt: Timestamp
    /// The hard end, however busy the session is.
    public var expiresAt: Timestamp
    public init(idHash: String, tokenHash: String, createdAt: Timestamp, lastSeenAt: Timestamp, expiresAt: Timestamp) {
        self.idHash = idHash
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
    }
    /// The admin token's id (what `tokens list` shows), never the token.
    public var tokenId: String { String(tokenHash.prefix(16)) }
}

/// One entry of the append-only log; its leaf hash is SHA-256(0x00 ‖ body).
public struct LogEntry: Sendable, Equatable {
    public var index: Int64
    public var kind: LogKind
    public var body: String
    public var createdAt: Timestamp
    public init(index: Int64, kind: LogKind, body: String, createdAt: Timestamp) {
        self.index = index
        self.kind = kind
        self.body = body
        self.createdAt = createdAt
    }
}

/// What `commit` stores for a decision: the receipt, its signature, and the checkpoint the
/// receipt's inclusion proof refers to.
public struct ReceiptBundle: Sendable {
    public var receipt: String
    public var signature: String
    public var checkpoint: (size: Int64, note: String)?
    public init(receipt: String, signature: String, checkpoint: (size: Int64, note: String)?) {
        self.receipt = receipt
        self.signature = signature
        self.checkpoint = checkpoint
    }
}

/// A small body's spool record made by its decision's commit (`Decision.newSpool`): its bytes
/// kept in the record, as `addSpool(body:)` keeps them.
public struct NewSpoolRecord: Sendable {
    public var sha256: String
    public var size: Int64
    public var path: String
    public var receivedAt: Timestamp
    public var body: [UInt8]
    public init(sha256: String, size: Int64, path: String, receivedAt: Timestamp, body: [UInt8]) {
        (self.sha256, self.size, self.path, self.receivedAt, self.body) = (sha256, size, path, receivedAt, body)
    }
}

/// A decision before its receipt exists.
public struct Decision: Sendable {
    public var spoolId: Int64
    public var status: OutcomeStatus
    public var code: String?
    public var packageId: String?
    public var unitId: String?
    public var seq: UInt64?
    public var sha256: String
    public var kind: OutcomeKind?
    public var decidedAt: Timestamp
    /// True when (unit, seq) is consumed by this decision (the package was attributed to the unit).
    public var claimsSeq: Bool
    /// The unit key that signed the package, and the package's `created` time (from its signed comment).
    public var keyId: String?
    public var created: Timestamp?
    /// A body admitted in this decision's own transaction (no pending record before it): `commit`
    /// records it first — decided, its bytes kept — and the decision's `spoolId` becomes its id.
    public var newSpool: NewSpoolRecord?
    public init(
        spoolId: Int64, status: OutcomeStatus, code: String?, packageId: String?, unitId: String?, seq: UInt64?, sha256: String,
        kind: OutcomeKind?, decidedAt: Timestamp, claimsSeq: Bool, keyId: String? = nil, created: Timestamp? = nil
    ) {
        self.keyId = keyId
        self.created = created
        self.spoolId = spoolId
        self.status = status
        self.code = code
        self.packageId = packageId
        self.unitId = unitId
        self.seq = seq
        self.sha256 = sha256
        self.kind = kind
        self.decidedAt = decidedAt
        self.claimsSeq = claimsSeq
    }
}

extension GatewayStore {
    /// A session used by its operator (its last use becomes `now`).
    public func useSession(idHash: String, now: Timestamp, idle: Duration) async throws -> DashboardSession? {
        try await useSession(idHash: idHash, now: now, idle: idle, touch: true)
    }

    public func fetchDatasetPackage(version: UInt64, to path: String) async throws -> Bool { false }

    public func commit(
        _ decision: Decision, snapshot: SnapshotImport?, logEntry: String, logSince: Int64,
        makeReceipt: (Int64, [LogEntry]) throws -> ReceiptBundle
    ) async throws -> Outcome {
        try await commit(decision, snapshot: snapshot, corrections: nil, logEntry: logEntry, logSince: logSince, makeReceipt: makeReceipt)
    }

    /// `commit` with a log entry written before (its spool id known).
    public func commit(
        _ decision: Decision, snapshot: SnapshotImport?, corrections: CorrectionImport?, logEntry: String, logSince: Int64,
        makeReceipt: (Int64, [LogEntry]) throws -> ReceiptBundle
    ) async throws -> Outcome {
        try await commit(
            decision, snapshot: snapshot, corrections: corrections, logEntry: { _ in logEntry }, logSince: logSince, makeReceipt: makeReceipt)
    }
}
