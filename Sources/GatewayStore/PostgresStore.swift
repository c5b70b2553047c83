import Foundation
import PostgresNIO

/// The PostgreSQL backend (postgres-nio): the same contract as `SQLiteStore`, for any number
/// of gateway processes on one database.
///
/// How several processes stay one gateway:
/// - every transaction that appends to the transparency log first takes one transaction-scoped
///   advisory lock (`logLock`), so entries get consecutive indexes in one order;
/// - a decision's bulk import runs before that lock (processes import in parallel) and the
///   (unit, seq) check, the switch of the unit's current snapshot, the log entry and the
///   receipt after it: a seq is claimed once, whichever process decides first;
/// - the forwarder, the checkpoint signer and scheduled synthesis run under session advisory
///   locks (`tryLease`), released by the server when the holder's session ends.
/// Migrations are versioned in `schema_migrations` and applied under an advisory lock.
public final class PostgresStore: GatewayStore, @unchecked Sendable {
    let pool: PGPool
    public let postgres: PostgresLocation
    public var location: String { postgres.redacted }

    /// Advisory lock ids (arbitrary, fixed): the log append order, migrations, and leases.
    static let logLock: Int64 = 0x5EA1_6A7E_0001
    static let migrationLock: Int64 = 0x5EA1_6A7E_0002
    static func leaseKey(_ name: String) -> Int64 {
        // FNV-1a of the name into the lease range: stable across processes and builds.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int64(bitPattern: 0x5EA1_0000_0000_0000 | (h & 0x0000_FFFF_FFFF_FFFF))
    }

    /// Connects (at most `connections` at a time) and migrates.
    public init(url: String, connections: Int = 8) throws {
        postgres = try PostgresLocation(url: url)
        pool = try PGPool(location: postgres, limit: connections)
        try migrate()
    }

    deinit {
        pool.close()
        for c in leaseWaiters.values { _ = try? syncWait(c.close()) }
    }

    static func describe(_ e: PSQLError) -> String {
        if let m = e.serverInfo?[.message] { return "\(m) (SQLSTATE \(e.serverInfo?[.sqlState] ?? "?"))" }
        return "\(e.code)"
    }

    static func storeError(_ e: PSQLError) -> StoreError {
        if e.serverInfo?[.sqlState] == "23505" { return StoreError("unique_violation", describe(e)) }
        if e.code == .serverClosedConnection || e.code == .connectionError {
            return StoreError("store_unavailable", "the PostgreSQL connection failed: \(describe(e))")
        }
        return StoreError("store_failure", describe(e))
    }

    // MARK: Migrations

    public static let migrations: [(String, String)] = [
        ("pg-v1", """
        CREATE TABLE units (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE unit_keys (key_id TEXT PRIMARY KEY, unit_id TEXT NOT NULL REFERENCES units(id), public_key TEXT NOT NULL,
                                state TEXT NOT NULL, added_at TEXT NOT NULL, switched_at TEXT, valid_until TEXT, compromised_at TEXT);
        CREATE INDEX unit_keys_unit ON unit_keys(unit_id);
        CREATE TABLE tokens (hash TEXT PRIMARY KEY, role TEXT NOT NULL, unit_id TEXT, created_at TEXT NOT NULL, revoked_at TEXT);
        CREATE TABLE spool (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, sha256 TEXT NOT NULL, size BIGINT NOT NULL, path TEXT NOT NULL,
                            received_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending');
        CREATE INDEX spool_pending ON spool(state) WHERE state = 'pending';
        CREATE TABLE outcomes (spool_id BIGINT PRIMARY KEY REFERENCES spool(id), status TEXT NOT NULL, code TEXT, package_id TEXT,
                               unit_id TEXT, seq BIGINT, sha256 TEXT NOT NULL, kind TEXT, receipt TEXT NOT NULL,
                               receipt_signature TEXT NOT NULL, leaf BIGINT NOT NULL, decided_at TEXT NOT NULL,
                               claims_seq BIGINT NOT NULL, key_id TEXT, created TEXT);
        CREATE UNIQUE INDEX outcomes_unit_seq ON outcomes(unit_id, seq) WHERE claims_seq = 1;
        CREATE INDEX outcomes_package ON outcomes(package_id);
        CREATE INDEX outcomes_unit ON outcomes(unit_id, kind, status, decided_at);
        CREATE TABLE log_entries (idx BIGINT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE snapshots (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, unit_id TEXT NOT NULL, package_id TEXT NOT NULL,
                                members BIGINT NOT NULL, organizations BIGINT NOT NULL, imported_at TEXT NOT NULL, current BIGINT NOT NULL);
        CREATE INDEX snapshots_unit ON snapshots(unit_id, current);
        CREATE INDEX snapshots_package ON snapshots(package_id);
        CREATE TABLE organizations (snapshot_id BIGINT NOT NULL REFERENCES snapshots(id), row_no BIGINT NOT NULL, org_id TEXT NOT NULL,
                                    name TEXT NOT NULL, type TEXT NOT NULL, parent_id TEXT NOT NULL, PRIMARY KEY (snapshot_id, row_no));
        CREATE TABLE members (snapshot_id BIGINT NOT NULL REFERENCES snapshots(id), row_no BIGINT NOT NULL, member_id TEXT NOT NULL,
                              full_name TEXT NOT NULL, gender TEXT NOT NULL, date_of_birth TEXT NOT NULL, citizen_id TEXT NOT NULL,
                              date_joined TEXT NOT NULL, date_official TEXT NOT NULL, status TEXT NOT NULL, org_id TEXT NOT NULL,
                              phone TEXT NOT NULL, email TEXT NOT NULL, ethnicity TEXT NOT NULL, hometown TEXT NOT NULL,
                              education TEXT NOT NULL, PRIMARY KEY (snapshot_id, row_no));
        CREATE INDEX members_citizen ON members(snapshot_id, citizen_id);
        CREATE TABLE trust_documents (version BIGINT PRIMARY KEY, body TEXT NOT NULL, signature TEXT NOT NULL, root_cross_signature TEXT);
        CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE recipients (fingerprint TEXT PRIMARY KEY, recipient TEXT NOT NULL, state TEXT NOT NULL, decrypt_until TEXT, created_at TEXT NOT NULL);
        CREATE TABLE review_flags (package_id TEXT PRIMARY KEY, unit_id TEXT NOT NULL, seq BIGINT NOT NULL, key_id TEXT, created TEXT,
                                   reason TEXT NOT NULL, flagged_at TEXT NOT NULL);
        CREATE TABLE signing_keys (key_id TEXT PRIMARY KEY, role TEXT NOT NULL, public_key TEXT NOT NULL, state TEXT NOT NULL,
                                   until TEXT, created_at TEXT NOT NULL);
        CREATE TABLE datasets (version BIGINT PRIMARY KEY, package_id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, sha256 TEXT NOT NULL,
                               size BIGINT NOT NULL, members BIGINT NOT NULL, organizations BIGINT NOT NULL, conflicts BIGINT NOT NULL,
                               created_at TEXT NOT NULL, state TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0, last_error TEXT,
                               next_attempt_at TEXT, ack TEXT, ack_signature TEXT, delivered_at TEXT);
        CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        """),
        // The sealed dataset packages, in chunks: gateways on several machines share no disk.
        ("pg-v2-dataset-packages", """
        CREATE TABLE dataset_packages (version BIGINT NOT NULL REFERENCES datasets(version), chunk BIGINT NOT NULL, data BYTEA NOT NULL,
                                       PRIMARY KEY (version, chunk))
        """),
        // A replayed body is answered from the first decision on the same bytes.
        ("pg-v3-outcomes-by-sha256", "CREATE INDEX outcomes_sha256 ON outcomes(sha256)"),
    ]

    static let chunkBytes = 8 << 20

    func migrate() throws {
        try pool.with { c in
            try c.exec("SELECT pg_advisory_lock($1)", [.int(Self.migrationLock)])
            defer { _ = try? c.exec("SELECT pg_advisory_unlock($1)", [.int(Self.migrationLock)]) }
            try c.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            let done = Set(try c.rows("SELECT version FROM schema_migrations").map { try $0.s("version") })
            for (version, sql) in Self.migrations where !done.contains(version) {
                try c.exec("BEGIN")
                do {
                    for statement in sql.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespacesAndNewlines) }) where !statement.isEmpty {
                        try c.exec(statement)
                    }
                    try c.exec("INSERT INTO schema_migrations (version) VALUES ($1)", [.text(version)])
                    try c.exec("COMMIT")
                } catch {
                    _ = try? c.exec("ROLLBACK")
                    throw error
                }
            }
        }
    }

    // MARK: Leases

    /// A connection kept per lease name while another process holds the lease: polling for it
    /// reuses the session instead of opening one (a server process) every poll.
    private var leaseWaiters: [String: PostgresConnection] = [:]
    private let leaseLock = NSLock()

    public func tryLease(_ name: String) throws -> (any StoreLease)? {
        leaseLock.lock()
        let kept = leaseWaiters.removeValue(forKey: name)
        leaseLock.unlock()
        let conn = try kept.flatMap { $0.isClosed ? nil : $0 } ?? pool.connect()
        let c = PGConnection(connection: conn, logger: pool.logger)
        do {
            guard let got = try c.row("SELECT pg_try_advisory_lock($1) AS got", [.int(Self.leaseKey(name))]), try got["got"].decode(Bool.self) else {
                leaseLock.lock()
                let other = leaseWaiters.updateValue(conn, forKey: name)
                leaseLock.unlock()
                if let other { _ = try? syncWait(other.close()) }
                return nil
            }
        } catch {
            _ = try? syncWait(conn.close())
            throw error
        }
        return PostgresLease(name: name, connection: conn, logger: pool.logger)
    }

    // MARK: Helpers

    /// Takes the log's order lock and appends one entry; returns its index.
    static func appendLog(_ c: PGConnection, kind: String, body: String, at: String) throws -> Int64 {
        try c.exec("SELECT pg_advisory_xact_lock($1)", [.int(logLock)])
        let idx = try c.int("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries") ?? 0
        try c.exec("INSERT INTO log_entries (idx, kind, body, created_at) VALUES ($1, $2, $3, $4)", [.int(idx), .text(kind), .text(body), .text(at)])
        return idx
    }

    static func unit(_ r: PostgresRandomAccessRow) throws -> UnitRecord { UnitRecord(id: try r.s("id"), name: try r.s("name"), createdAt: try r.s("created_at")) }
    static func key(_ r: PostgresRandomAccessRow) throws -> UnitKeyRecord {
        UnitKeyRecord(keyId: try r.s("key_id"), unitId: try r.s("unit_id"), publicKey: try r.s("public_key"), state: try r.s("state"), addedAt: try r.s("added_at"),
                      switchedAt: try r.so("switched_at"), validUntil: try r.so("valid_until"), compromisedAt: try r.so("compromised_at"))
    }
    static func flag(_ r: PostgresRandomAccessRow) throws -> FlaggedPackage {
        FlaggedPackage(packageId: try r.s("package_id"), unitId: try r.s("unit_id"), seq: UInt64(bitPattern: try r.i("seq")), keyId: try r.so("key_id"),
                       created: try r.so("created"), reason: try r.s("reason"), flaggedAt: try r.s("flagged_at"))
    }
    static func token(_ r: PostgresRandomAccessRow) throws -> TokenRecord {
        TokenRecord(hash: try r.s("hash"), role: try r.s("role"), unitId: try r.so("unit_id"), createdAt: try r.s("created_at"), revokedAt: try r.so("revoked_at"))
    }
    static func spool(_ r: PostgresRandomAccessRow) throws -> SpoolEntry {
        SpoolEntry(id: try r.i("id"), sha256: try r.s("sha256"), size: try r.i("size"), path: try r.s("path"), receivedAt: try r.s("received_at"), state: try r.s("state"))
    }
    static func outcome(_ r: PostgresRandomAccessRow) throws -> Outcome {
        Outcome(spoolId: try r.i("spool_id"), status: try r.s("status"), code: try r.so("code"), packageId: try r.so("package_id"), unitId: try r.so("unit_id"),
                seq: try r.io("seq").map { UInt64(bitPattern: $0) }, sha256: try r.s("sha256"), kind: try r.so("kind"), receipt: try r.s("receipt"),
                receiptSignature: try r.s("receipt_signature"), leaf: try r.i("leaf"), decidedAt: try r.s("decided_at"))
    }
    static func logEntry(_ r: PostgresRandomAccessRow) throws -> LogEntry {
        LogEntry(index: try r.i("idx"), kind: try r.s("kind"), body: try r.s("body"), createdAt: try r.s("created_at"))
    }
    static func trust(_ r: PostgresRandomAccessRow) throws -> TrustRecord {
        TrustRecord(version: UInt64(try r.i("version")), body: try r.s("body"), signature: try r.s("signature"), rootCrossSignature: try r.so("root_cross_signature"))
    }
    static func dataset(_ r: PostgresRandomAccessRow) throws -> DatasetRecord {
        DatasetRecord(version: UInt64(bitPattern: try r.i("version")), packageId: try r.s("package_id"), path: try r.s("path"), sha256: try r.s("sha256"),
                      size: try r.i("size"), members: Int(try r.i("members")), organizations: Int(try r.i("organizations")), conflicts: Int(try r.i("conflicts")),
                      createdAt: try r.s("created_at"), state: try r.s("state"), attempts: Int(try r.i("attempts")), lastError: try r.so("last_error"),
                      nextAttemptAt: try r.so("next_attempt_at"), ack: try r.so("ack"), ackSignature: try r.so("ack_signature"), deliveredAt: try r.so("delivered_at"))
    }
    static func seq(_ v: UInt64?) -> PGBind { .int(v.map { Int64(bitPattern: $0) }) }

    // MARK: Units, keys, tokens

    public func addUnit(_ unit: UnitRecord, key: UnitKeyRecord) throws {
        try pool.transaction { c in
            if try c.row("SELECT 1 FROM units WHERE id = $1", [.text(unit.id)]) != nil {
                throw StoreError("unit_exists", "unit \(unit.id) is already registered")
            }
            if try c.row("SELECT 1 FROM unit_keys WHERE key_id = $1", [.text(key.keyId)]) != nil {
                throw StoreError("key_exists", "key \(key.keyId) is already registered")
            }
            try c.exec("INSERT INTO units (id, name, created_at) VALUES ($1, $2, $3)", [.text(unit.id), .text(unit.name), .text(unit.createdAt)])
            try c.exec("INSERT INTO unit_keys (key_id, unit_id, public_key, state, added_at) VALUES ($1, $2, $3, $4, $5)",
                       [.text(key.keyId), .text(key.unitId), .text(key.publicKey), .text(key.state), .text(key.addedAt)])
        }
    }

    public func unit(_ id: String) throws -> UnitRecord? {
        try pool.with { c in try c.row("SELECT * FROM units WHERE id = $1", [.text(id)]).map(Self.unit) }
    }

    public func units() throws -> [UnitRecord] {
        try pool.with { c in try c.rows("SELECT * FROM units ORDER BY id").map(Self.unit) }
    }

    public func unitKey(keyId: String) throws -> UnitKeyRecord? {
        try pool.with { c in try c.row("SELECT * FROM unit_keys WHERE key_id = $1", [.text(keyId)]).map(Self.key) }
    }

    public func unitKeys(unitId: String) throws -> [UnitKeyRecord] {
        try pool.with { c in try c.rows("SELECT * FROM unit_keys WHERE unit_id = $1 ORDER BY added_at", [.text(unitId)]).map(Self.key) }
    }

    public func rotateUnitKey(unitId: String, oldKeyId: String, newKeyId: String, newPublicKey: String, switchAt: String,
                              oldValidUntil: String, logBody: String) throws {
        try pool.transaction { c in
            try c.exec("SELECT pg_advisory_xact_lock($1)", [.int(Self.logLock)])
            guard try c.row("SELECT 1 FROM units WHERE id = $1", [.text(unitId)]) != nil else {
                throw StoreError("unit_unknown", "no unit \(unitId) is registered")
            }
            guard let old = try c.row("SELECT * FROM unit_keys WHERE key_id = $1 FOR UPDATE", [.text(oldKeyId)]).map(Self.key), old.unitId == unitId else {
                throw StoreError("key_unknown", "key \(oldKeyId) is not a key of \(unitId)")
            }
            guard old.state == "active" else { throw StoreError("key_state", "key \(oldKeyId) of \(unitId) is \(old.state), not active") }
            if try c.row("SELECT 1 FROM unit_keys WHERE key_id = $1", [.text(newKeyId)]) != nil {
                throw StoreError("key_exists", "key \(newKeyId) is already registered")
            }
            try c.exec("UPDATE unit_keys SET state = 'retiring', switched_at = $1, valid_until = $2 WHERE key_id = $3",
                       [.text(switchAt), .text(oldValidUntil), .text(oldKeyId)])
            try c.exec("INSERT INTO unit_keys (key_id, unit_id, public_key, state, added_at) VALUES ($1, $2, $3, 'active', $4)",
                       [.text(newKeyId), .text(unitId), .text(newPublicKey), .text(switchAt)])
            _ = try Self.appendLog(c, kind: "unit_key_rotated", body: logBody, at: switchAt)
        }
    }

    public func addUnitKey(_ key: UnitKeyRecord, logBody: String) throws {
        try pool.transaction { c in
            try c.exec("SELECT pg_advisory_xact_lock($1)", [.int(Self.logLock)])
            guard try c.row("SELECT 1 FROM units WHERE id = $1", [.text(key.unitId)]) != nil else {
                throw StoreError("unit_unknown", "no unit \(key.unitId) is registered")
            }
            if try c.row("SELECT 1 FROM unit_keys WHERE key_id = $1", [.text(key.keyId)]) != nil {
                throw StoreError("key_exists", "key \(key.keyId) is already registered")
            }
            try c.exec("INSERT INTO unit_keys (key_id, unit_id, public_key, state, added_at) VALUES ($1, $2, $3, $4, $5)",
                       [.text(key.keyId), .text(key.unitId), .text(key.publicKey), .text(key.state), .text(key.addedAt)])
            _ = try Self.appendLog(c, kind: "unit_key_added", body: logBody, at: key.addedAt)
        }
    }

    public func revokeUnitKey(unitId: String, keyId: String, compromisedAt: String, at: String, logBody: String) throws -> [FlaggedPackage] {
        try pool.transaction { c in
            try c.exec("SELECT pg_advisory_xact_lock($1)", [.int(Self.logLock)])
            guard let key = try c.row("SELECT * FROM unit_keys WHERE key_id = $1 FOR UPDATE", [.text(keyId)]).map(Self.key), key.unitId == unitId else {
                throw StoreError("key_unknown", "key \(keyId) is not a key of \(unitId)")
            }
            guard key.state != "revoked" else { throw StoreError("key_state", "key \(keyId) of \(unitId) is already revoked (compromised at \(key.compromisedAt ?? "?"))") }
            try c.exec("UPDATE unit_keys SET state = 'revoked', compromised_at = $1 WHERE key_id = $2", [.text(compromisedAt), .text(keyId)])
            try c.exec("""
                INSERT INTO review_flags (package_id, unit_id, seq, key_id, created, reason, flagged_at)
                SELECT package_id, unit_id, seq, key_id, created, $1, $2 FROM outcomes
                WHERE status = 'accepted' AND unit_id = $3 AND package_id IS NOT NULL
                  AND ((key_id = $4 AND created >= $5) OR (key_id IS NULL AND decided_at >= $5))
                ON CONFLICT (package_id) DO NOTHING
                """, [.text("signed by \(keyId), revoked as compromised from \(compromisedAt)"), .text(at), .text(unitId), .text(keyId), .text(compromisedAt)])
            _ = try Self.appendLog(c, kind: "unit_key_revoked", body: logBody, at: at)
            return try c.rows("SELECT * FROM review_flags WHERE unit_id = $1 AND flagged_at = $2 AND reason LIKE $3 ORDER BY seq",
                              [.text(unitId), .text(at), .text("signed by \(keyId),%")]).map(Self.flag)
        }
    }

    public func flaggedPackages(unitId: String?) throws -> [FlaggedPackage] {
        try pool.with { c in
            if let unitId { return try c.rows("SELECT * FROM review_flags WHERE unit_id = $1 ORDER BY seq", [.text(unitId)]).map(Self.flag) }
            return try c.rows("SELECT * FROM review_flags ORDER BY unit_id, seq").map(Self.flag)
        }
    }

    public func addToken(_ t: TokenRecord) throws {
        try pool.with { c in
            try c.exec("INSERT INTO tokens (hash, role, unit_id, created_at) VALUES ($1, $2, $3, $4)", [.text(t.hash), .text(t.role), .text(t.unitId), .text(t.createdAt)])
        }
    }

    public func token(hash: String) throws -> TokenRecord? {
        try pool.with { c in try c.row("SELECT * FROM tokens WHERE hash = $1 AND revoked_at IS NULL", [.text(hash)]).map(Self.token) }
    }

    public func tokens() throws -> [TokenRecord] {
        try pool.with { c in try c.rows("SELECT * FROM tokens ORDER BY created_at, hash").map(Self.token) }
    }

    public func revokeToken(id: String, at: String, logBody: (TokenRecord) -> String) throws -> TokenRecord {
        try pool.transaction { c in
            try c.exec("SELECT pg_advisory_xact_lock($1)", [.int(Self.logLock)])
            let id = id.lowercased()
            let rows = try c.rows("SELECT * FROM tokens WHERE starts_with(hash, $1) FOR UPDATE", [.text(id)]).map(Self.token)
            guard id.count >= 6, rows.count == 1, var t = rows.first else {
                throw StoreError("token_unknown", rows.count > 1 ? "several tokens start with \(id)" : "no token \(id)")
            }
            guard t.revokedAt == nil else { throw StoreError("token_revoked", "token \(t.id) was revoked at \(t.revokedAt ?? "")") }
            try c.exec("UPDATE tokens SET revoked_at = $1 WHERE hash = $2", [.text(at), .text(t.hash)])
            _ = try Self.appendLog(c, kind: "token_revoked", body: logBody(t), at: at)
            t.revokedAt = at
            return t
        }
    }

    // MARK: Spool and outcomes

    public func addSpool(sha256: String, size: Int64, path: String, receivedAt: String) throws -> Int64 {
        try pool.with { c in
            try c.int("INSERT INTO spool (sha256, size, path, received_at) VALUES ($1, $2, $3, $4) RETURNING id",
                      [.text(sha256), .int(size), .text(path), .text(receivedAt)]) ?? 0
        }
    }

    public func pendingSpool() throws -> [SpoolEntry] {
        try pool.with { c in try c.rows("SELECT * FROM spool WHERE state = 'pending' ORDER BY id").map(Self.spool) }
    }

    public func spool(id: Int64) throws -> SpoolEntry? {
        try pool.with { c in try c.row("SELECT * FROM spool WHERE id = $1", [.int(id)]).map(Self.spool) }
    }

    public func spoolPaths() throws -> [String] {
        try pool.with { c in try c.rows("SELECT path FROM spool").map { try $0.s("path") } }
    }

    public func outcome(unitId: String, seq: UInt64) throws -> Outcome? {
        try pool.with { c in
            try c.row("SELECT * FROM outcomes WHERE unit_id = $1 AND seq = $2 AND claims_seq = 1", [.text(unitId), Self.seq(seq)]).map(Self.outcome)
        }
    }

    public func outcome(packageId: String) throws -> Outcome? {
        try pool.with { c in try c.row("SELECT * FROM outcomes WHERE package_id = $1 ORDER BY spool_id LIMIT 1", [.text(packageId)]).map(Self.outcome) }
    }

    public func decidedSpool(before: String) throws -> [(entry: SpoolEntry, kind: String?)] {
        try pool.with { c in
            try c.rows("SELECT s.*, o.kind AS outcome_kind FROM spool s JOIN outcomes o ON o.spool_id = s.id WHERE s.state = 'done' AND o.decided_at <= $1 ORDER BY s.id",
                       [.text(before)]).map { (try Self.spool($0), try $0.so("outcome_kind")) }
        }
    }

    public func markSpoolPruned(ids: [Int64]) throws {
        try pool.with { c in for id in ids { try c.exec("UPDATE spool SET state = 'pruned' WHERE id = $1 AND state = 'done'", [.int(id)]) } }
    }

    /// A server setting (`SHOW name`), for the backup's checks.
    public func show(_ name: String) throws -> String? {
        guard name.allSatisfy({ $0.isLetter || $0 == "_" }) else { return nil }
        return try pool.with { c in try c.row("SHOW \(name)").map { try $0[0].decode(String.self) } }
    }

    public func outcome(sha256: String) throws -> Outcome? {
        try pool.with { c in try c.row("SELECT * FROM outcomes WHERE sha256 = $1 ORDER BY spool_id LIMIT 1", [.text(sha256)]).map(Self.outcome) }
    }

    public func removePendingSpool(id: Int64) throws -> Bool {
        try pool.with { c in
            try c.int("WITH d AS (DELETE FROM spool WHERE id = $1 AND state = 'pending' AND NOT EXISTS (SELECT 1 FROM outcomes WHERE spool_id = $1) RETURNING 1) SELECT COUNT(*) FROM d",
                      [.int(id)]) == 1
        }
    }

    public func outcome(spoolId: Int64) throws -> Outcome? {
        try pool.with { c in try c.row("SELECT * FROM outcomes WHERE spool_id = $1", [.int(spoolId)]).map(Self.outcome) }
    }

    public func lastSeq(unitId: String) throws -> UInt64? {
        try pool.with { c in
            try c.int("SELECT MAX(seq) FROM outcomes WHERE unit_id = $1 AND claims_seq = 1", [.text(unitId)]).map { UInt64(bitPattern: $0) }
        }
    }

    /// Rows per multi-row INSERT (each column bound as one array: 14 binds, whatever the count).
    static let batchRows = 5_000

    static func insertRows(_ c: PGConnection, table: String, columns: [String], snapshot: Int64, rows: [[String]]) throws {
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(start + batchRows, rows.count)]
            var binds: [PGBind] = [.int(snapshot), .int(Int64(start))]
            for col in 0..<columns.count { binds.append(.texts(batch.map { col < $0.count ? $0[col] : "" })) }
            let arrays = (0..<columns.count).map { "$\($0 + 3)::text[]" }.joined(separator: ", ")
            let names = (0..<columns.count).map { "c\($0)" }
            try c.exec("""
                INSERT INTO \(table) (snapshot_id, row_no, \(columns.joined(separator: ", ")))
                SELECT $1, $2 + n - 1, \(names.joined(separator: ", ")) FROM unnest(\(arrays)) WITH ORDINALITY AS t(\(names.joined(separator: ", ")), n)
                """, binds)
            start += batch.count
        }
    }

    static let memberColumns = ["member_id", "full_name", "gender", "date_of_birth", "citizen_id", "date_joined", "date_official", "status", "org_id",
                                "phone", "email", "ethnicity", "hometown", "education"]

    public func commit(_ d: Decision, snapshot: SnapshotImport?, corrections: CorrectionImport?, logEntry: String, logSince: Int64,
                       makeReceipt: (Int64, [LogEntry]) throws -> ReceiptBundle) throws -> Outcome {
        try pool.transaction { c in
            // The bulk import first, outside the log lock: other processes import meanwhile.
            var newSnapshot: Int64?
            if let s = snapshot {
                let sid = try c.int("""
                    INSERT INTO snapshots (unit_id, package_id, members, organizations, imported_at, current) VALUES ($1, $2, $3, $4, $5, 0) RETURNING id
                    """, [.text(s.unitId), .text(s.packageId), .int(Int64(s.members.count)), .int(Int64(s.organizations.count)), .text(d.decidedAt)]) ?? 0
                try Self.insertRows(c, table: "organizations", columns: ["org_id", "name", "type", "parent_id"], snapshot: sid, rows: s.organizations)
                try Self.insertRows(c, table: "members", columns: Self.memberColumns, snapshot: sid, rows: s.members)
                newSnapshot = sid
            }
            // From here on, one decision at a time across every process.
            try c.exec("SELECT pg_advisory_xact_lock($1)", [.int(Self.logLock)])
            if d.claimsSeq, let unit = d.unitId, let seq = d.seq,
               try c.row("SELECT 1 FROM outcomes WHERE unit_id = $1 AND seq = $2 AND claims_seq = 1", [.text(unit), Self.seq(seq)]) != nil {
                throw StoreError("seq_taken", "seq \(seq) of \(unit) was decided meanwhile")
            }
            if let s = snapshot, let sid = newSnapshot {
                try c.exec("UPDATE snapshots SET current = 0 WHERE unit_id = $1 AND current = 1", [.text(s.unitId)])
                try c.exec("UPDATE snapshots SET current = 1 WHERE id = $1", [.int(sid)])
            }
            if let cs = corrections, !cs.corrections.isEmpty {
                guard let sid = try c.int("SELECT id FROM snapshots WHERE unit_id = $1 AND current = 1", [.text(cs.unitId)]) else {
                    throw StoreError("no_snapshot", "\(cs.unitId) has no current records to correct")
                }
                for m in cs.corrections {
                    guard MemberCorrection.fields.contains(m.field) else { throw StoreError("correction_field", "no member field \(m.field)") }
                    let n = try c.exec("UPDATE members SET \(m.field) = $1 WHERE snapshot_id = $2 AND citizen_id = $3 AND \(m.field) = $4",
                                       [.text(m.newValue), .int(sid), .text(m.citizenId), .text(m.oldValue)])
                    guard n == 1 else { throw StoreError("correction_conflict", "the \(m.field) of \(m.citizenId) changed meanwhile") }
                }
            }
            let leaf = try c.int("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries") ?? 0
            try c.exec("INSERT INTO log_entries (idx, kind, body, created_at) VALUES ($1, $2, $3, $4)",
                       [.int(leaf), .text(d.status == "duplicate" ? "duplicate" : "outcome"), .text(logEntry), .text(d.decidedAt)])
            let entries = try c.rows("SELECT * FROM log_entries WHERE idx >= $1 ORDER BY idx", [.int(logSince)]).map(Self.logEntry)
            let bundle = try makeReceipt(leaf, entries)
            if let cp = bundle.checkpoint {
                try c.exec("INSERT INTO checkpoints (size, note, created_at) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING",
                           [.int(cp.size), .text(cp.note), .text(d.decidedAt)])
            }
            try c.exec("""
                INSERT INTO outcomes (spool_id, status, code, package_id, unit_id, seq, sha256, kind, receipt, receipt_signature, leaf, decided_at, claims_seq,
                                      key_id, created)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                """, [.int(d.spoolId), .text(d.status), .text(d.code), .text(d.packageId), .text(d.unitId), Self.seq(d.seq), .text(d.sha256), .text(d.kind),
                      .text(bundle.receipt), .text(bundle.signature), .int(leaf), .text(d.decidedAt), .int(d.claimsSeq ? 1 : 0), .text(d.keyId), .text(d.created)])
            try c.exec("UPDATE spool SET state = 'done' WHERE id = $1", [.int(d.spoolId)])
            return Outcome(spoolId: d.spoolId, status: d.status, code: d.code, packageId: d.packageId, unitId: d.unitId, seq: d.seq, sha256: d.sha256,
                           kind: d.kind, receipt: bundle.receipt, receiptSignature: bundle.signature, leaf: leaf, decidedAt: d.decidedAt)
        }
    }

    // MARK: Records and status

    public func currentMembers(unitId: String) throws -> Int {
        try pool.with { c in Int(try c.int("SELECT members FROM snapshots WHERE unit_id = $1 AND current = 1", [.text(unitId)]) ?? 0) }
    }

    public func unitStatus(_ id: String) throws -> UnitStatus? {
        try pool.with { c in
            guard let u = try c.row("SELECT * FROM units WHERE id = $1", [.text(id)]).map(Self.unit) else { return nil }
            let keys = try c.rows("SELECT * FROM unit_keys WHERE unit_id = $1 ORDER BY added_at", [.text(id)]).map(Self.key)
            let last = try c.row("SELECT * FROM outcomes WHERE unit_id = $1 AND claims_seq = 1 ORDER BY seq DESC LIMIT 1", [.text(id)])
            let snap = try c.row("SELECT members, organizations FROM snapshots WHERE unit_id = $1 AND current = 1", [.text(id)])
            let count = try c.int("SELECT COUNT(*) FROM outcomes WHERE unit_id = $1", [.text(id)]) ?? 0
            return UnitStatus(unit: u, keys: keys, lastSeq: try last?.io("seq").map { UInt64(bitPattern: $0) }, lastPackage: try last?.so("package_id"),
                              lastStatus: try last?.s("status"), members: Int(try snap?.i("members") ?? 0), organizations: Int(try snap?.i("organizations") ?? 0),
                              packages: Int(count), lastReceipt: try last?.s("receipt"))
        }
    }

    public func currentRecords(unitId: String) throws -> UnitRecords? {
        try pool.with { c in
            guard let snap = try c.row("SELECT id, package_id, imported_at FROM snapshots WHERE unit_id = $1 AND current = 1", [.text(unitId)]) else { return nil }
            let sid = try snap.i("id")
            let orgs = try c.rows("SELECT org_id, name, type, parent_id FROM organizations WHERE snapshot_id = $1 ORDER BY row_no", [.int(sid)])
                .map { r in try (0..<4).map { try r[$0].decode(String.self) } }
            let members = try c.rows("SELECT \(Self.memberColumns.joined(separator: ", ")) FROM members WHERE snapshot_id = $1 ORDER BY row_no", [.int(sid)])
                .map { r in try (0..<14).map { try r[$0].decode(String.self) } }
            return UnitRecords(unitId: unitId, packageId: try snap.s("package_id"), importedAt: try snap.s("imported_at"), organizations: orgs, members: members)
        }
    }

    public func currentMemberField(unitId: String, citizenId: String, field: String) throws -> String? {
        guard MemberCorrection.fields.contains(field) else { return nil }
        return try pool.with { c in
            try c.row("""
                SELECT m.\(field) AS v FROM members m JOIN snapshots s ON s.id = m.snapshot_id
                WHERE s.unit_id = $1 AND s.current = 1 AND m.citizen_id = $2 LIMIT 1
                """, [.text(unitId), .text(citizenId)]).map { try $0.s("v") }
        }
    }

    public func crossUnitDuplicates() throws -> (citizenIds: Set<String>, memberIds: Set<String>) {
        try pool.with { c in
            func dup(_ column: String) throws -> Set<String> {
                Set(try c.rows("""
                    SELECT m.\(column) AS v FROM members m JOIN snapshots s ON s.id = m.snapshot_id WHERE s.current = 1
                    GROUP BY m.\(column) HAVING COUNT(DISTINCT s.unit_id) > 1
                    """).map { try $0.s("v") })
            }
            return (try dup("citizen_id"), try dup("member_id"))
        }
    }

    public func campaignRows() throws -> [UnitCampaignRow] {
        try pool.with { c in
            try c.rows(StoreSQL.campaignRows).map {
                UnitCampaignRow(unitId: try $0.s("id"), name: try $0.s("name"), accepted: Int(try $0.i("accepted")), rejected: Int(try $0.i("rejected")),
                                firstAcceptedAt: try $0.so("first_accepted"), lastAcceptedAt: try $0.so("last_accepted"), lastPackageAt: try $0.so("last_at"),
                                currentReceipt: try $0.so("receipt"), members: Int(try $0.io("members") ?? 0))
            }
        }
    }

    // MARK: Datasets and settings

    public func addDataset(_ d: DatasetRecord, logBody: String) throws {
        try pool.transaction { c in
            try c.exec("SELECT pg_advisory_xact_lock($1)", [.int(Self.logLock)])
            if try c.row("SELECT 1 FROM datasets WHERE version = $1", [Self.seq(d.version)]) != nil {
                throw StoreError("dataset_exists", "dataset version \(d.version) exists already")
            }
            try c.exec("""
                INSERT INTO datasets (version, package_id, path, sha256, size, members, organizations, conflicts, created_at, state, attempts)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0)
                """, [Self.seq(d.version), .text(d.packageId), .text(d.path), .text(d.sha256), .int(d.size), .int(Int64(d.members)),
                      .int(Int64(d.organizations)), .int(Int64(d.conflicts)), .text(d.createdAt), .text(d.state)])
            guard let file = FileHandle(forReadingAtPath: d.path) else { throw StoreError("dataset_unreadable", "cannot read \(d.path)") }
            defer { try? file.close() }
            var chunk: Int64 = 0
            while let data = try file.read(upToCount: Self.chunkBytes), !data.isEmpty {
                try c.exec("INSERT INTO dataset_packages (version, chunk, data) VALUES ($1, $2, $3)",
                           [Self.seq(d.version), .int(chunk), .bytes(ByteBuffer(bytes: data))])
                chunk += 1
            }
            _ = try Self.appendLog(c, kind: "dataset", body: logBody, at: d.createdAt)
        }
    }

    public func fetchDatasetPackage(version: UInt64, to path: String) throws -> Bool {
        try pool.with { c in
            let count = try c.int("SELECT count(*) FROM dataset_packages WHERE version = $1", [Self.seq(version)]) ?? 0
            guard count > 0 else { return false }
            let tmp = "\(path).part-\(UUID().uuidString)"
            guard FileManager.default.createFile(atPath: tmp, contents: nil, attributes: [.posixPermissions: 0o600]),
                  let out = FileHandle(forWritingAtPath: tmp) else { throw StoreError("dataset_unwritable", "cannot write \(tmp)") }
            do {
                for n in 0..<count { // one chunk at a time: memory stays at a chunk
                    guard let row = try c.row("SELECT data FROM dataset_packages WHERE version = $1 AND chunk = $2", [Self.seq(version), .int(n)]) else {
                        throw StoreError("dataset_incomplete", "chunk \(n) of dataset \(version) is missing")
                    }
                    let buf = try row["data"].decode(ByteBuffer.self)
                    try out.write(contentsOf: Data(buf.readableBytesView))
                }
                try out.synchronize()
                try out.close()
                guard rename(tmp, path) == 0 else { throw StoreError("dataset_unwritable", "cannot move \(tmp) to \(path)") }
            } catch {
                try? out.close()
                try? FileManager.default.removeItem(atPath: tmp)
                throw error
            }
            return true
        }
    }

    public func datasets() throws -> [DatasetRecord] {
        try pool.with { c in try c.rows("SELECT * FROM datasets ORDER BY version").map(Self.dataset) }
    }

    public func dataset(version: UInt64) throws -> DatasetRecord? {
        try pool.with { c in try c.row("SELECT * FROM datasets WHERE version = $1", [Self.seq(version)]).map(Self.dataset) }
    }

    public func recordAttempt(version: UInt64, error: String, nextAttemptAt: String) throws {
        try pool.with { c in
            try c.exec("UPDATE datasets SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE version = $3 AND state = 'pending'",
                       [.text(error), .text(nextAttemptAt), Self.seq(version)])
        }
    }

    public func recordDelivery(version: UInt64, ack: String, ackSignature: String, at: String, logBody: String) throws {
        try pool.transaction { c in
            try c.exec("SELECT pg_advisory_xact_lock($1)", [.int(Self.logLock)])
            let n = try c.exec("""
                UPDATE datasets SET state = 'delivered', attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL, ack = $1, ack_signature = $2,
                                    delivered_at = $3 WHERE version = $4 AND state = 'pending'
                """, [.text(ack), .text(ackSignature), .text(at), Self.seq(version)])
            guard n == 1 else { return } // delivered already: recorded once
            _ = try Self.appendLog(c, kind: "dataset_forwarded", body: logBody, at: at)
        }
    }

    public func setting(_ name: String) throws -> String? {
        try pool.with { c in try c.row("SELECT value FROM settings WHERE name = $1", [.text(name)]).map { try $0.s("value") } }
    }

    public func setSetting(_ name: String, _ value: String) throws {
        try pool.with { c in
            try c.exec("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value", [.text(name), .text(value)])
        }
    }

    // MARK: Trust, recipients, signing keys, log

    public func addTrust(_ t: TrustRecord) throws {
        try pool.transaction { c in
            try c.exec("LOCK TABLE trust_documents IN EXCLUSIVE MODE")
            let latest = try c.int("SELECT MAX(version) FROM trust_documents") ?? 0
            guard Int64(t.version) > latest else { throw StoreError("trust_version", "trust document version \(t.version) is not above \(latest)") }
            try c.exec("INSERT INTO trust_documents (version, body, signature, root_cross_signature) VALUES ($1, $2, $3, $4)",
                       [.int(Int64(t.version)), .text(t.body), .text(t.signature), .text(t.rootCrossSignature)])
        }
    }

    public func latestTrust() throws -> TrustRecord? {
        try pool.with { c in try c.row("SELECT * FROM trust_documents ORDER BY version DESC LIMIT 1").map(Self.trust) }
    }

    public func trust(version: UInt64) throws -> TrustRecord? {
        try pool.with { c in try c.row("SELECT * FROM trust_documents WHERE version = $1", [Self.seq(version)]).map(Self.trust) }
    }

    public func addRecipient(_ r: RecipientRecord) throws {
        try pool.with { c in
            try c.exec("INSERT INTO recipients (fingerprint, recipient, state, decrypt_until, created_at) VALUES ($1, $2, $3, $4, $5)",
                       [.text(r.fingerprint), .text(r.recipient), .text(r.state), .text(r.decryptUntil), .text(r.createdAt)])
        }
    }

    public func recipients() throws -> [RecipientRecord] {
        try pool.with { c in
            try c.rows("SELECT * FROM recipients ORDER BY created_at, fingerprint").map {
                RecipientRecord(fingerprint: try $0.s("fingerprint"), recipient: try $0.s("recipient"), state: try $0.s("state"),
                                decryptUntil: try $0.so("decrypt_until"), createdAt: try $0.s("created_at"))
            }
        }
    }

    public func setRecipientState(fingerprint: String, state: String, decryptUntil: String?) throws {
        try pool.with { c in
            try c.exec("UPDATE recipients SET state = $1, decrypt_until = $2 WHERE fingerprint = $3", [.text(state), .text(decryptUntil), .text(fingerprint)])
        }
    }

    public func putSigningKey(_ k: SigningKeyRecord) throws {
        try pool.with { c in
            try c.exec("""
                INSERT INTO signing_keys (key_id, role, public_key, state, until, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (key_id) DO UPDATE SET state = excluded.state, until = excluded.until
                """, [.text(k.keyId), .text(k.role), .text(k.publicKey), .text(k.state), .text(k.until), .text(k.createdAt)])
        }
    }

    public func signingKeys() throws -> [SigningKeyRecord] {
        try pool.with { c in
            try c.rows("SELECT * FROM signing_keys ORDER BY role, created_at, key_id").map {
                SigningKeyRecord(role: try $0.s("role"), keyId: try $0.s("key_id"), publicKey: try $0.s("public_key"), state: try $0.s("state"),
                                 until: try $0.so("until"), createdAt: try $0.s("created_at"))
            }
        }
    }

    public func logSize() throws -> Int64 {
        try pool.with { c in try c.int("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries") ?? 0 }
    }

    public func appendLog(kind: String, body: String, at: String) throws -> Int64 {
        try pool.transaction { c in try Self.appendLog(c, kind: kind, body: body, at: at) }
    }

    public func logEntries(start: Int64, end: Int64) throws -> [LogEntry] {
        try pool.with { c in
            try c.rows("SELECT * FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx", [.int(start), .int(end)]).map(Self.logEntry)
        }
    }

    public func addCheckpoint(size: Int64, note: String, at: String) throws {
        try pool.with { c in
            try c.exec("INSERT INTO checkpoints (size, note, created_at) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING", [.int(size), .text(note), .text(at)])
        }
    }

    public func latestCheckpoint() throws -> (size: Int64, note: String)? {
        try pool.with { c in
            try c.row("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1").map { (try $0.i("size"), try $0.s("note")) }
        }
    }
}
