import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// The SQLite backend (GRDB): one database file in WAL mode with `synchronous = FULL`, so a
/// committed decision survives a crash or a power cut. Migrations are versioned.
public final class SQLiteStore: GatewayStore {
    let db: DatabasePool
    let path: String
    public var location: String { path }

    /// A lease is an exclusive `flock` on a file beside the database: released when the holder
    /// closes it or dies (processes sharing a SQLite store are on one machine).
    public func tryLease(_ name: String) throws -> (any StoreLease)? {
        let file = "\(path)-\(name).lease"
        let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError("store_failure", "cannot open \(file) (errno \(errno))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { close(fd); return nil }
        return FileLease(name: name, fd: fd)
    }

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String) throws {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        config.busyMode = .timeout(10)
        self.path = path
        db = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(db)
    }


    /// The latest signed checkpoint of a store file (a backup's copy), read without migrating it.
    public static func latestCheckpoint(ofCopyAt path: String) throws -> (size: Int64, note: String)? {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1").map { ($0["size"], $0["note"]) }
        }
    }

    /// A consistent copy of the whole database at `path` (SQLite's online backup: writers go
    /// on meanwhile; the copy is the state of one moment).
    public func backup(to path: String) throws {
        let copy = try DatabaseQueue(path: path)
        try db.backup(to: copy)
        try copy.close()
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
            CREATE TABLE units (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
            CREATE TABLE unit_keys (key_id TEXT PRIMARY KEY, unit_id TEXT NOT NULL REFERENCES units(id), public_key TEXT NOT NULL,
                                    state TEXT NOT NULL, added_at TEXT NOT NULL);
            CREATE INDEX unit_keys_unit ON unit_keys(unit_id);
            CREATE TABLE tokens (hash TEXT PRIMARY KEY, role TEXT NOT NULL, unit_id TEXT, created_at TEXT NOT NULL);
            CREATE TABLE spool (id INTEGER PRIMARY KEY AUTOINCREMENT, sha256 TEXT NOT NULL, size INTEGER NOT NULL, path TEXT NOT NULL,
                                received_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending');
            CREATE INDEX spool_pending ON spool(state) WHERE state = 'pending';
            CREATE TABLE outcomes (spool_id INTEGER PRIMARY KEY REFERENCES spool(id), status TEXT NOT NULL, code TEXT, package_id TEXT,
                                   unit_id TEXT, seq INTEGER, sha256 TEXT NOT NULL, kind TEXT, receipt TEXT NOT NULL,
                                   receipt_signature TEXT NOT NULL, leaf INTEGER NOT NULL, decided_at TEXT NOT NULL,
                                   claims_seq INTEGER NOT NULL);
            CREATE UNIQUE INDEX outcomes_unit_seq ON outcomes(unit_id, seq) WHERE claims_seq = 1;
            CREATE INDEX outcomes_package ON outcomes(package_id);
            CREATE TABLE log_entries (idx INTEGER PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
            CREATE TABLE snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, unit_id TEXT NOT NULL, package_id TEXT NOT NULL,
                                    members INTEGER NOT NULL, organizations INTEGER NOT NULL, imported_at TEXT NOT NULL,
                                    current INTEGER NOT NULL);
            CREATE INDEX snapshots_unit ON snapshots(unit_id, current);
            CREATE TABLE organizations (snapshot_id INTEGER NOT NULL REFERENCES snapshots(id), org_id TEXT NOT NULL, name TEXT NOT NULL,
                                        type TEXT NOT NULL, parent_id TEXT NOT NULL);
            CREATE INDEX organizations_snapshot ON organizations(snapshot_id);
            CREATE TABLE members (snapshot_id INTEGER NOT NULL REFERENCES snapshots(id), member_id TEXT NOT NULL, full_name TEXT NOT NULL,
                                  gender TEXT NOT NULL, date_of_birth TEXT NOT NULL, citizen_id TEXT NOT NULL, date_joined TEXT NOT NULL,
                                  date_official TEXT NOT NULL, status TEXT NOT NULL, org_id TEXT NOT NULL, phone TEXT NOT NULL,
                                  email TEXT NOT NULL, ethnicity TEXT NOT NULL, hometown TEXT NOT NULL, education TEXT NOT NULL);
            CREATE INDEX members_snapshot ON members(snapshot_id);
            CREATE TABLE trust_documents (version INTEGER PRIMARY KEY, body TEXT NOT NULL, signature TEXT NOT NULL);
            """)
        }
        m.registerMigration("v2-checkpoints") { db in
            try db.execute(sql: "CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL, created_at TEXT NOT NULL)")
        }
        m.registerMigration("v3-recipients") { db in
            try db.execute(sql: """
                CREATE TABLE recipients (fingerprint TEXT PRIMARY KEY, recipient TEXT NOT NULL, state TEXT NOT NULL,
                                         decrypt_until TEXT, created_at TEXT NOT NULL)
                """)
        }
        m.registerMigration("v4-unit-key-rotation") { db in
            try db.execute(sql: "ALTER TABLE unit_keys ADD COLUMN switched_at TEXT; ALTER TABLE unit_keys ADD COLUMN valid_until TEXT")
        }
        m.registerMigration("v5-revocation") { db in
            try db.execute(sql: """
                ALTER TABLE unit_keys ADD COLUMN compromised_at TEXT;
                ALTER TABLE outcomes ADD COLUMN key_id TEXT;
                ALTER TABLE outcomes ADD COLUMN created TEXT;
                CREATE TABLE review_flags (package_id TEXT PRIMARY KEY, unit_id TEXT NOT NULL, seq INTEGER NOT NULL, key_id TEXT, created TEXT,
                                           reason TEXT NOT NULL, flagged_at TEXT NOT NULL);
                """)
        }
        m.registerMigration("v6-root-rotation") { db in
            try db.execute(sql: "ALTER TABLE trust_documents ADD COLUMN root_cross_signature TEXT")
        }
        m.registerMigration("v7-signing-keys") { db in
            try db.execute(sql: """
                CREATE TABLE signing_keys (key_id TEXT PRIMARY KEY, role TEXT NOT NULL, public_key TEXT NOT NULL, state TEXT NOT NULL,
                                           until TEXT, created_at TEXT NOT NULL)
                """)
        }
        m.registerMigration("v8-token-revocation") { db in
            try db.execute(sql: "ALTER TABLE tokens ADD COLUMN revoked_at TEXT")
        }
        m.registerMigration("v9-datasets") { db in
            try db.execute(sql: """
                CREATE TABLE datasets (version INTEGER PRIMARY KEY, package_id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, sha256 TEXT NOT NULL,
                                       size INTEGER NOT NULL, members INTEGER NOT NULL, organizations INTEGER NOT NULL, conflicts INTEGER NOT NULL,
                                       created_at TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
                                       next_attempt_at TEXT, ack TEXT, ack_signature TEXT, delivered_at TEXT);
                CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE INDEX members_citizen ON members(snapshot_id, citizen_id);
                """)
        }
        m.registerMigration("v10-outcomes-by-unit") { db in
            // The campaign view's per-unit lookups (without it each scanned every outcome and
            // its receipt: quadratic in the number of units, 6.7 s for 1,100 units).
            try db.execute(sql: "CREATE INDEX outcomes_unit ON outcomes(unit_id, kind, status, decided_at)")
        }
        // A replayed body is answered from the first decision on the same bytes.
        m.registerMigration("v11-outcomes-by-sha256") { db in
            try db.execute(sql: "CREATE INDEX outcomes_sha256 ON outcomes(sha256)")
        }
        return m
    }

    // MARK: Units, keys, tokens

    public func addUnit(_ unit: UnitRecord, key: UnitKeyRecord) throws {
        try db.write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM units WHERE id = ?", arguments: [unit.id]) != nil {
                throw StoreError("unit_exists", "unit \(unit.id) is already registered")
            }
            if try Row.fetchOne(db, sql: "SELECT 1 FROM unit_keys WHERE key_id = ?", arguments: [key.keyId]) != nil {
                throw StoreError("key_exists", "key \(key.keyId) is already registered")
            }
            try db.execute(sql: "INSERT INTO units (id, name, created_at) VALUES (?, ?, ?)", arguments: [unit.id, unit.name, unit.createdAt])
            try db.execute(sql: "INSERT INTO unit_keys (key_id, unit_id, public_key, state, added_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [key.keyId, key.unitId, key.publicKey, key.state, key.addedAt])
        }
    }

    static func unit(_ r: Row) -> UnitRecord { UnitRecord(id: r["id"], name: r["name"], createdAt: r["created_at"]) }
    static func key(_ r: Row) -> UnitKeyRecord {
        UnitKeyRecord(keyId: r["key_id"], unitId: r["unit_id"], publicKey: r["public_key"], state: r["state"], addedAt: r["added_at"],
                      switchedAt: r["switched_at"], validUntil: r["valid_until"], compromisedAt: r["compromised_at"])
    }

    public func unit(_ id: String) throws -> UnitRecord? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM units WHERE id = ?", arguments: [id]).map(Self.unit) }
    }

    public func units() throws -> [UnitRecord] {
        try db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM units ORDER BY id").map(Self.unit) }
    }

    public func unitKey(keyId: String) throws -> UnitKeyRecord? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM unit_keys WHERE key_id = ?", arguments: [keyId]).map(Self.key) }
    }

    public func unitKeys(unitId: String) throws -> [UnitKeyRecord] {
        try db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM unit_keys WHERE unit_id = ? ORDER BY added_at", arguments: [unitId]).map(Self.key) }
    }

    public func rotateUnitKey(unitId: String, oldKeyId: String, newKeyId: String, newPublicKey: String, switchAt: String,
                              oldValidUntil: String, logBody: String) throws {
        try db.write { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM units WHERE id = ?", arguments: [unitId]) != nil else {
                throw StoreError("unit_unknown", "no unit \(unitId) is registered")
            }
            guard let old = try Row.fetchOne(db, sql: "SELECT * FROM unit_keys WHERE key_id = ?", arguments: [oldKeyId]).map(Self.key),
                  old.unitId == unitId else {
                throw StoreError("key_unknown", "key \(oldKeyId) is not a key of \(unitId)")
            }
            guard old.state == "active" else { throw StoreError("key_state", "key \(oldKeyId) of \(unitId) is \(old.state), not active") }
            if try Row.fetchOne(db, sql: "SELECT 1 FROM unit_keys WHERE key_id = ?", arguments: [newKeyId]) != nil {
                throw StoreError("key_exists", "key \(newKeyId) is already registered")
            }
            try db.execute(sql: "UPDATE unit_keys SET state = 'retiring', switched_at = ?, valid_until = ? WHERE key_id = ?",
                           arguments: [switchAt, oldValidUntil, oldKeyId])
            try db.execute(sql: "INSERT INTO unit_keys (key_id, unit_id, public_key, state, added_at) VALUES (?, ?, ?, 'active', ?)",
                           arguments: [newKeyId, unitId, newPublicKey, switchAt])
            let idx = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries") ?? 0
            try db.execute(sql: "INSERT INTO log_entries (idx, kind, body, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [idx, "unit_key_rotated", logBody, switchAt])
        }
    }

    public func addUnitKey(_ key: UnitKeyRecord, logBody: String) throws {
        try db.write { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM units WHERE id = ?", arguments: [key.unitId]) != nil else {
                throw StoreError("unit_unknown", "no unit \(key.unitId) is registered")
            }
            if try Row.fetchOne(db, sql: "SELECT 1 FROM unit_keys WHERE key_id = ?", arguments: [key.keyId]) != nil {
                throw StoreError("key_exists", "key \(key.keyId) is already registered")
            }
            try db.execute(sql: "INSERT INTO unit_keys (key_id, unit_id, public_key, state, added_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [key.keyId, key.unitId, key.publicKey, key.state, key.addedAt])
            try Self.appendLog(db, kind: "unit_key_added", body: logBody, at: key.addedAt)
        }
    }

    public func revokeUnitKey(unitId: String, keyId: String, compromisedAt: String, at: String, logBody: String) throws -> [FlaggedPackage] {
        try db.write { db in
            guard let key = try Row.fetchOne(db, sql: "SELECT * FROM unit_keys WHERE key_id = ?", arguments: [keyId]).map(Self.key), key.unitId == unitId else {
                throw StoreError("key_unknown", "key \(keyId) is not a key of \(unitId)")
            }
            guard key.state != "revoked" else { throw StoreError("key_state", "key \(keyId) of \(unitId) is already revoked (compromised at \(key.compromisedAt ?? "?"))") }
            try db.execute(sql: "UPDATE unit_keys SET state = 'revoked', compromised_at = ? WHERE key_id = ?", arguments: [compromisedAt, keyId])
            // Accepted packages it signed, created from the compromise on. Rows from before the
            // key was recorded per outcome (key_id NULL) are flagged when decided from then on.
            try db.execute(sql: """
                INSERT OR IGNORE INTO review_flags (package_id, unit_id, seq, key_id, created, reason, flagged_at)
                SELECT package_id, unit_id, seq, key_id, created, ?, ? FROM outcomes
                WHERE status = 'accepted' AND unit_id = ? AND package_id IS NOT NULL
                  AND ((key_id = ? AND created >= ?) OR (key_id IS NULL AND decided_at >= ?))
                """, arguments: ["signed by \(keyId), revoked as compromised from \(compromisedAt)", at, unitId, keyId, compromisedAt, compromisedAt])
            try Self.appendLog(db, kind: "unit_key_revoked", body: logBody, at: at)
            return try Row.fetchAll(db, sql: "SELECT * FROM review_flags WHERE unit_id = ? AND flagged_at = ? AND reason LIKE ? ORDER BY seq",
                                    arguments: [unitId, at, "signed by \(keyId),%"]).map(Self.flag)
        }
    }

    static func flag(_ r: Row) -> FlaggedPackage {
        FlaggedPackage(packageId: r["package_id"], unitId: r["unit_id"], seq: UInt64(bitPattern: r["seq"] as Int64), keyId: r["key_id"], created: r["created"],
                       reason: r["reason"], flaggedAt: r["flagged_at"])
    }

    public func flaggedPackages(unitId: String?) throws -> [FlaggedPackage] {
        try db.read { db in
            if let unitId {
                return try Row.fetchAll(db, sql: "SELECT * FROM review_flags WHERE unit_id = ? ORDER BY seq", arguments: [unitId]).map(Self.flag)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM review_flags ORDER BY unit_id, seq").map(Self.flag)
        }
    }

    static func appendLog(_ db: Database, kind: String, body: String, at: String) throws {
        let idx = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries") ?? 0
        try db.execute(sql: "INSERT INTO log_entries (idx, kind, body, created_at) VALUES (?, ?, ?, ?)", arguments: [idx, kind, body, at])
    }

    public func addToken(_ t: TokenRecord) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO tokens (hash, role, unit_id, created_at) VALUES (?, ?, ?, ?)", arguments: [t.hash, t.role, t.unitId, t.createdAt])
        }
    }

    static func token(_ r: Row) -> TokenRecord {
        TokenRecord(hash: r["hash"], role: r["role"], unitId: r["unit_id"], createdAt: r["created_at"], revokedAt: r["revoked_at"])
    }

    public func token(hash: String) throws -> TokenRecord? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL", arguments: [hash]).map(Self.token) }
    }

    public func tokens() throws -> [TokenRecord] {
        try db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM tokens ORDER BY created_at, hash").map(Self.token) }
    }

    public func revokeToken(id: String, at: String, logBody: (TokenRecord) -> String) throws -> TokenRecord {
        try db.write { db in
            let id = id.lowercased()
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM tokens WHERE substr(hash, 1, ?) = ?", arguments: [id.count, id]).map(Self.token)
            guard id.count >= 6, rows.count == 1, var t = rows.first else {
                throw StoreError("token_unknown", rows.count > 1 ? "several tokens start with \(id)" : "no token \(id)")
            }
            guard t.revokedAt == nil else { throw StoreError("token_revoked", "token \(t.id) was revoked at \(t.revokedAt ?? "")") }
            try db.execute(sql: "UPDATE tokens SET revoked_at = ? WHERE hash = ?", arguments: [at, t.hash])
            try Self.appendLog(db, kind: "token_revoked", body: logBody(t), at: at)
            t.revokedAt = at
            return t
        }
    }

    // MARK: Spool and outcomes

    public func addSpool(sha256: String, size: Int64, path: String, receivedAt: String) throws -> Int64 {
        try db.write { db in
            try db.execute(sql: "INSERT INTO spool (sha256, size, path, received_at) VALUES (?, ?, ?, ?)", arguments: [sha256, size, path, receivedAt])
            return db.lastInsertedRowID
        }
    }

    static func spool(_ r: Row) -> SpoolEntry {
        SpoolEntry(id: r["id"], sha256: r["sha256"], size: r["size"], path: r["path"], receivedAt: r["received_at"], state: r["state"])
    }

    public func pendingSpool() throws -> [SpoolEntry] {
        try db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM spool WHERE state = 'pending' ORDER BY id").map(Self.spool) }
    }

    public func spool(id: Int64) throws -> SpoolEntry? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM spool WHERE id = ?", arguments: [id]).map(Self.spool) }
    }

    public func spoolPaths() throws -> [String] {
        try db.read { db in try String.fetchAll(db, sql: "SELECT path FROM spool") }
    }

    static func outcome(_ r: Row) -> Outcome {
        let seq: Int64? = r["seq"]
        return Outcome(spoolId: r["spool_id"], status: r["status"], code: r["code"], packageId: r["package_id"], unitId: r["unit_id"],
                       seq: seq.map { UInt64(bitPattern: $0) }, sha256: r["sha256"], kind: r["kind"], receipt: r["receipt"],
                       receiptSignature: r["receipt_signature"], leaf: r["leaf"], decidedAt: r["decided_at"])
    }

    public func outcome(unitId: String, seq: UInt64) throws -> Outcome? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM outcomes WHERE unit_id = ? AND seq = ? AND claims_seq = 1",
                             arguments: [unitId, Int64(bitPattern: seq)]).map(Self.outcome)
        }
    }

    public func outcome(packageId: String) throws -> Outcome? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM outcomes WHERE package_id = ? ORDER BY spool_id LIMIT 1", arguments: [packageId]).map(Self.outcome)
        }
    }

    public func decidedSpool(before: String) throws -> [(entry: SpoolEntry, kind: String?)] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT s.*, o.kind AS outcome_kind FROM spool s JOIN outcomes o ON o.spool_id = s.id WHERE s.state = 'done' AND o.decided_at <= ? ORDER BY s.id",
                             arguments: [before]).map { (Self.spool($0), $0["outcome_kind"]) }
        }
    }

    public func markSpoolPruned(ids: [Int64]) throws {
        try db.write { db in for id in ids { try db.execute(sql: "UPDATE spool SET state = 'pruned' WHERE id = ? AND state = 'done'", arguments: [id]) } }
    }

    public func outcome(sha256: String) throws -> Outcome? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM outcomes WHERE sha256 = ? ORDER BY spool_id LIMIT 1", arguments: [sha256]).map(Self.outcome)
        }
    }

    public func removePendingSpool(id: Int64) throws -> Bool {
        try db.write { db in
            try db.execute(sql: "DELETE FROM spool WHERE id = ? AND state = 'pending' AND NOT EXISTS (SELECT 1 FROM outcomes WHERE spool_id = ?)", arguments: [id, id])
            return db.changesCount == 1
        }
    }

    public func outcome(spoolId: Int64) throws -> Outcome? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM outcomes WHERE spool_id = ?", arguments: [spoolId]).map(Self.outcome) }
    }

    public func lastSeq(unitId: String) throws -> UInt64? {
        try db.read { db in
            let v = try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM outcomes WHERE unit_id = ? AND claims_seq = 1", arguments: [unitId])
            return v.map { UInt64(bitPattern: $0) }
        }
    }

    public func commit(_ d: Decision, snapshot: SnapshotImport?, corrections: CorrectionImport?, logEntry: String, logSince: Int64,
                       makeReceipt: (Int64, [LogEntry]) throws -> ReceiptBundle) throws -> Outcome {
        try db.write { db in
            if d.claimsSeq, let unit = d.unitId, let seq = d.seq,
               try Row.fetchOne(db, sql: "SELECT 1 FROM outcomes WHERE unit_id = ? AND seq = ? AND claims_seq = 1", arguments: [unit, Int64(bitPattern: seq)]) != nil {
                throw StoreError("seq_taken", "seq \(seq) of \(unit) was decided meanwhile")
            }
            if let s = snapshot {
                try db.execute(sql: "UPDATE snapshots SET current = 0 WHERE unit_id = ? AND current = 1", arguments: [s.unitId])
                try db.execute(sql: "INSERT INTO snapshots (unit_id, package_id, members, organizations, imported_at, current) VALUES (?, ?, ?, ?, ?, 1)",
                               arguments: [s.unitId, s.packageId, s.members.count, s.organizations.count, d.decidedAt])
                let sid = db.lastInsertedRowID
                let org = try db.makeStatement(sql: "INSERT INTO organizations VALUES (?, ?, ?, ?, ?)")
                for o in s.organizations { try org.execute(arguments: StatementArguments([sid] + o.map { $0 as (any DatabaseValueConvertible)? })) }
                let mem = try db.makeStatement(sql: "INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                for m in s.members {
                    mem.setUncheckedArguments(StatementArguments([sid] + m.map { $0 as (any DatabaseValueConvertible)? }))
                    try mem.execute()
                }
            }
            if let c = corrections, !c.corrections.isEmpty {
                guard let sid = try Int64.fetchOne(db, sql: "SELECT id FROM snapshots WHERE unit_id = ? AND current = 1", arguments: [c.unitId]) else {
                    throw StoreError("no_snapshot", "\(c.unitId) has no current records to correct")
                }
                for m in c.corrections {
                    guard MemberCorrection.fields.contains(m.field) else { throw StoreError("correction_field", "no member field \(m.field)") }
                    try db.execute(sql: "UPDATE members SET \(m.field) = ? WHERE snapshot_id = ? AND citizen_id = ? AND \(m.field) = ?",
                                   arguments: [m.newValue, sid, m.citizenId, m.oldValue])
                    guard db.changesCount == 1 else {
                        throw StoreError("correction_conflict", "the \(m.field) of \(m.citizenId) changed meanwhile")
                    }
                }
            }
            let leaf = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries") ?? 0
            try db.execute(sql: "INSERT INTO log_entries (idx, kind, body, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [leaf, d.status == "duplicate" ? "duplicate" : "outcome", logEntry, d.decidedAt])
            let entries = try Row.fetchAll(db, sql: "SELECT * FROM log_entries WHERE idx >= ? ORDER BY idx", arguments: [logSince]).map {
                LogEntry(index: $0["idx"], kind: $0["kind"], body: $0["body"], createdAt: $0["created_at"])
            }
            let bundle = try makeReceipt(leaf, entries)
            let receipt = bundle.receipt, signature = bundle.signature
            if let cp = bundle.checkpoint {
                try db.execute(sql: "INSERT OR IGNORE INTO checkpoints (size, note, created_at) VALUES (?, ?, ?)", arguments: [cp.size, cp.note, d.decidedAt])
            }
            try db.execute(sql: """
                INSERT INTO outcomes (spool_id, status, code, package_id, unit_id, seq, sha256, kind, receipt, receipt_signature, leaf, decided_at, claims_seq,
                                      key_id, created)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [d.spoolId, d.status, d.code, d.packageId, d.unitId, d.seq.map { Int64(bitPattern: $0) }, d.sha256, d.kind,
                                 receipt, signature, leaf, d.decidedAt, d.claimsSeq ? 1 : 0, d.keyId, d.created])
            try db.execute(sql: "UPDATE spool SET state = 'done' WHERE id = ?", arguments: [d.spoolId])
            return Outcome(spoolId: d.spoolId, status: d.status, code: d.code, packageId: d.packageId, unitId: d.unitId, seq: d.seq, sha256: d.sha256,
                           kind: d.kind, receipt: receipt, receiptSignature: signature, leaf: leaf, decidedAt: d.decidedAt)
        }
    }

    // MARK: Records and status

    public func currentMembers(unitId: String) throws -> Int {
        try db.read { db in try Int.fetchOne(db, sql: "SELECT members FROM snapshots WHERE unit_id = ? AND current = 1", arguments: [unitId]) ?? 0 }
    }

    public func unitStatus(_ id: String) throws -> UnitStatus? {
        try db.read { db in
            guard let u = try Row.fetchOne(db, sql: "SELECT * FROM units WHERE id = ?", arguments: [id]).map(Self.unit) else { return nil }
            let keys = try Row.fetchAll(db, sql: "SELECT * FROM unit_keys WHERE unit_id = ?", arguments: [id]).map(Self.key)
            let last = try Row.fetchOne(db, sql: "SELECT * FROM outcomes WHERE unit_id = ? AND claims_seq = 1 ORDER BY seq DESC LIMIT 1", arguments: [id])
            let snap = try Row.fetchOne(db, sql: "SELECT members, organizations FROM snapshots WHERE unit_id = ? AND current = 1", arguments: [id])
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outcomes WHERE unit_id = ?", arguments: [id]) ?? 0
            let seq: Int64? = last?["seq"]
            return UnitStatus(unit: u, keys: keys, lastSeq: seq.map { UInt64(bitPattern: $0) }, lastPackage: last?["package_id"], lastStatus: last?["status"],
                              members: snap?["members"] ?? 0, organizations: snap?["organizations"] ?? 0, packages: count, lastReceipt: last?["receipt"])
        }
    }

    // MARK: Trust and log

    public func addTrust(_ t: TrustRecord) throws {
        try db.write { db in
            let latest = try Int64.fetchOne(db, sql: "SELECT MAX(version) FROM trust_documents") ?? 0
            guard Int64(t.version) > latest else { throw StoreError("trust_version", "trust document version \(t.version) is not above \(latest)") }
            try db.execute(sql: "INSERT INTO trust_documents (version, body, signature, root_cross_signature) VALUES (?, ?, ?, ?)",
                           arguments: [Int64(t.version), t.body, t.signature, t.rootCrossSignature])
        }
    }

    public func latestTrust() throws -> TrustRecord? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM trust_documents ORDER BY version DESC LIMIT 1").map(Self.trust)
        }
    }

    static func trust(_ r: Row) -> TrustRecord {
        TrustRecord(version: UInt64(r["version"] as Int64), body: r["body"], signature: r["signature"], rootCrossSignature: r["root_cross_signature"])
    }

    public func trust(version: UInt64) throws -> TrustRecord? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM trust_documents WHERE version = ?", arguments: [Int64(bitPattern: version)]).map(Self.trust) }
    }

    public func addRecipient(_ r: RecipientRecord) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO recipients (fingerprint, recipient, state, decrypt_until, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [r.fingerprint, r.recipient, r.state, r.decryptUntil, r.createdAt])
        }
    }

    public func recipients() throws -> [RecipientRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM recipients ORDER BY created_at, fingerprint").map {
                RecipientRecord(fingerprint: $0["fingerprint"], recipient: $0["recipient"], state: $0["state"], decryptUntil: $0["decrypt_until"], createdAt: $0["created_at"])
            }
        }
    }

    public func setRecipientState(fingerprint: String, state: String, decryptUntil: String?) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE recipients SET state = ?, decrypt_until = ? WHERE fingerprint = ?", arguments: [state, decryptUntil, fingerprint])
        }
    }

    public func putSigningKey(_ k: SigningKeyRecord) throws {
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO signing_keys (key_id, role, public_key, state, until, created_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (key_id) DO UPDATE SET state = excluded.state, until = excluded.until
                """, arguments: [k.keyId, k.role, k.publicKey, k.state, k.until, k.createdAt])
        }
    }

    public func signingKeys() throws -> [SigningKeyRecord] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM signing_keys ORDER BY role, created_at, key_id").map {
                SigningKeyRecord(role: $0["role"], keyId: $0["key_id"], publicKey: $0["public_key"], state: $0["state"], until: $0["until"], createdAt: $0["created_at"])
            }
        }
    }

    public func logSize() throws -> Int64 {
        try db.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries") ?? 0 }
    }

    public func logEntries(start: Int64, end: Int64) throws -> [LogEntry] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx", arguments: [start, end]).map {
                LogEntry(index: $0["idx"], kind: $0["kind"], body: $0["body"], createdAt: $0["created_at"])
            }
        }
    }

    public func addCheckpoint(size: Int64, note: String, at: String) throws {
        try db.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO checkpoints (size, note, created_at) VALUES (?, ?, ?)", arguments: [size, note, at])
        }
    }

    public func latestCheckpoint() throws -> (size: Int64, note: String)? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1").map { ($0["size"], $0["note"]) }
        }
    }

    public func appendLog(kind: String, body: String, at: String) throws -> Int64 {
        try db.write { db in
            let idx = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries") ?? 0
            try db.execute(sql: "INSERT INTO log_entries (idx, kind, body, created_at) VALUES (?, ?, ?, ?)", arguments: [idx, kind, body, at])
            return idx
        }
    }
}

// MARK: Records, datasets, campaign, settings
extension SQLiteStore {
    public func currentRecords(unitId: String) throws -> UnitRecords? {
        try db.read { db in
            guard let snap = try Row.fetchOne(db, sql: "SELECT id, package_id, imported_at FROM snapshots WHERE unit_id = ? AND current = 1", arguments: [unitId]) else {
                return nil
            }
            let sid: Int64 = snap["id"]
            let orgs = try Row.fetchAll(db, sql: "SELECT org_id, name, type, parent_id FROM organizations WHERE snapshot_id = ? ORDER BY rowid", arguments: [sid])
                .map { r in (0..<4).map { r[$0] as String } }
            let members = try Row.fetchAll(db, sql: """
                SELECT member_id, full_name, gender, date_of_birth, citizen_id, date_joined, date_official, status, org_id, phone, email,
                       ethnicity, hometown, education FROM members WHERE snapshot_id = ? ORDER BY rowid
                """, arguments: [sid]).map { r in (0..<14).map { r[$0] as String } }
            return UnitRecords(unitId: unitId, packageId: snap["package_id"], importedAt: snap["imported_at"], organizations: orgs, members: members)
        }
    }

    public func currentMemberField(unitId: String, citizenId: String, field: String) throws -> String? {
        guard MemberCorrection.fields.contains(field) else { return nil }
        return try db.read { db in
            try String.fetchOne(db, sql: """
                SELECT m.\(field) FROM members m JOIN snapshots s ON s.id = m.snapshot_id
                WHERE s.unit_id = ? AND s.current = 1 AND m.citizen_id = ? LIMIT 1
                """, arguments: [unitId, citizenId])
        }
    }

    public func crossUnitDuplicates() throws -> (citizenIds: Set<String>, memberIds: Set<String>) {
        try db.read { db in
            func dup(_ column: String) throws -> Set<String> {
                Set(try String.fetchAll(db, sql: """
                    SELECT m.\(column) FROM members m JOIN snapshots s ON s.id = m.snapshot_id WHERE s.current = 1
                    GROUP BY m.\(column) HAVING COUNT(DISTINCT s.unit_id) > 1
                    """))
            }
            return (try dup("citizen_id"), try dup("member_id"))
        }
    }

    public func campaignRows() throws -> [UnitCampaignRow] {
        try db.read { db in
            try Row.fetchAll(db, sql: StoreSQL.campaignRows).map {
                UnitCampaignRow(unitId: $0["id"], name: $0["name"], accepted: $0["accepted"], rejected: $0["rejected"], firstAcceptedAt: $0["first_accepted"],
                                lastAcceptedAt: $0["last_accepted"], lastPackageAt: $0["last_at"], currentReceipt: $0["receipt"], members: $0["members"] ?? 0)
            }
        }
    }

    static func dataset(_ r: Row) -> DatasetRecord {
        DatasetRecord(version: UInt64(bitPattern: r["version"]), packageId: r["package_id"], path: r["path"], sha256: r["sha256"], size: r["size"],
                      members: r["members"], organizations: r["organizations"], conflicts: r["conflicts"], createdAt: r["created_at"], state: r["state"],
                      attempts: r["attempts"], lastError: r["last_error"], nextAttemptAt: r["next_attempt_at"], ack: r["ack"],
                      ackSignature: r["ack_signature"], deliveredAt: r["delivered_at"])
    }

    public func addDataset(_ d: DatasetRecord, logBody: String) throws {
        try db.write { db in
            if try Row.fetchOne(db, sql: "SELECT 1 FROM datasets WHERE version = ?", arguments: [Int64(bitPattern: d.version)]) != nil {
                throw StoreError("dataset_exists", "dataset version \(d.version) exists already")
            }
            try db.execute(sql: """
                INSERT INTO datasets (version, package_id, path, sha256, size, members, organizations, conflicts, created_at, state, attempts)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
                """, arguments: [Int64(bitPattern: d.version), d.packageId, d.path, d.sha256, d.size, d.members, d.organizations, d.conflicts, d.createdAt, d.state])
            try Self.appendLog(db, kind: "dataset", body: logBody, at: d.createdAt)
        }
    }

    public func datasets() throws -> [DatasetRecord] {
        try db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM datasets ORDER BY version").map(Self.dataset) }
    }

    public func dataset(version: UInt64) throws -> DatasetRecord? {
        try db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM datasets WHERE version = ?", arguments: [Int64(bitPattern: version)]).map(Self.dataset) }
    }

    public func recordAttempt(version: UInt64, error: String, nextAttemptAt: String) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE datasets SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE version = ? AND state = 'pending'",
                           arguments: [error, nextAttemptAt, Int64(bitPattern: version)])
        }
    }

    public func recordDelivery(version: UInt64, ack: String, ackSignature: String, at: String, logBody: String) throws {
        try db.write { db in
            try db.execute(sql: """
                UPDATE datasets SET state = 'delivered', attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL, ack = ?, ack_signature = ?,
                                    delivered_at = ? WHERE version = ? AND state = 'pending'
                """, arguments: [ack, ackSignature, at, Int64(bitPattern: version)])
            guard db.changesCount == 1 else { return } // delivered already: recorded once
            try Self.appendLog(db, kind: "dataset_forwarded", body: logBody, at: at)
        }
    }

    public func setting(_ name: String) throws -> String? {
        try db.read { db in try String.fetchOne(db, sql: "SELECT value FROM settings WHERE name = ?", arguments: [name]) }
    }

    public func setSetting(_ name: String, _ value: String) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", arguments: [name, value])
        }
    }
}

/// A lease held as an exclusive `flock`.
final class FileLease: StoreLease, @unchecked Sendable {
    let name: String
    private let lock = NSLock()
    private var fd: Int32
    init(name: String, fd: Int32) { self.name = name; self.fd = fd }
    var isHeld: Bool { lock.lock(); defer { lock.unlock() }; return fd >= 0 }
    func release() {
        lock.lock(); defer { lock.unlock() }
        if fd >= 0 { close(fd); fd = -1 }
    }
    deinit { release() }
}
