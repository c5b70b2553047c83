import Foundation
import SealBase

/// The gateway's store, written once over a `SQLDriver`: SQLite (`SQLiteDriver`, one machine)
/// or PostgreSQL (`PostgresDriver`, any number of gateway processes on one database). Every
/// method is one read or one transaction; every transaction that appends to the transparency log
/// takes the driver's log-order lock first and numbers the entry `MAX(idx) + 1` under it, so the
/// log has one order whoever writes. The schema history is `Schema`, applied at open.
///
/// Times are `Timestamp`s (SealBase), stored in their one canonical text form
/// (`YYYY-MM-DDTHH:MM:SSZ`, `Timestamp.text`): fixed width and UTC, so the few comparisons made in
/// SQL (flagging a revoked key's packages, spool retention) order them as time; a stored text
/// that is not a moment is read back as a `store_failure`.
public final class SQLGatewayStore: GatewayStore {
    public let driver: any SQLDriver
    public var location: String { driver.location }

    /// Opens the store over `driver` and brings its schema up to date.
    public init(driver: any SQLDriver) async throws {
        self.driver = driver
        try await Schema.migrate(driver)
    }

    /// SQLite in one file (created if needed).
    public static func sqlite(path: String) async throws -> SQLGatewayStore { try await SQLGatewayStore(driver: try SQLiteDriver(path: path)) }

    /// PostgreSQL at `url` (`postgres://USER@HOST:PORT/DB`; the password from PGPASSWORD).
    public static func postgres(url: String, connections: Int = 8) async throws -> SQLGatewayStore {
        try await SQLGatewayStore(driver: try PostgresDriver(url: url, connections: connections))
    }

    /// The names of the schema's migrations, in order (recorded in `store_migrations`).
    public static var migrationNames: [String] { Schema.migrations.map(\.name) }

    public func tryLease(_ name: String) async throws -> (any StoreLease)? { try await driver.tryLease(name) }

    /// Ends the driver's connections (the store is not used after).
    public func close() async { await driver.close() }

    // MARK: Row mapping

    static func unit(_ r: SQLRow) throws -> UnitRecord {
        UnitRecord(id: try r.string("id"), name: try r.string("name"), createdAt: try r.timestamp("created_at"))
    }
    static func key(_ r: SQLRow) throws -> UnitKeyRecord {
        UnitKeyRecord(
            keyId: try r.string("key_id"), unitId: try r.string("unit_id"), publicKey: try r.string("public_key"), state: try r.state("state"),
            addedAt: try r.timestamp("added_at"), switchedAt: try r.optionalTimestamp("switched_at"),
            validUntil: try r.optionalTimestamp("valid_until"),
            // Read leniently: before moments were typed, `units revoke-key --compromised-at` stored
            // any text of the right shape (a 31 November). A revoked key without a moment is refused
            // whatever a package's time (`checkKey`), so reading such a text as none makes no key
            // good, and the unit's listing stays readable.
            compromisedAt: try r.optionalString("compromised_at").flatMap(Timestamp.init))
    }
    static func flag(_ r: SQLRow) throws -> FlaggedPackage {
        FlaggedPackage(
            packageId: try r.string("package_id"), unitId: try r.string("unit_id"), seq: UInt64(bitPattern: try r.int("seq")),
            keyId: try r.optionalString("key_id"), created: try r.optionalTimestamp("created"), reason: try r.string("reason"),
            flaggedAt: try r.timestamp("flagged_at"), resolution: try r.optionalState("resolution"),
            resolvedAt: try r.optionalTimestamp("resolved_at"),
            resolutionReason: try r.optionalString("resolution_reason"))
    }
    static func token(_ r: SQLRow) throws -> TokenRecord {
        TokenRecord(
            hash: try r.string("hash"), role: try r.state("role"), unitId: try r.optionalString("unit_id"), createdAt: try r.timestamp("created_at"),
            revokedAt: try r.optionalTimestamp("revoked_at"))
    }
    static func spool(_ r: SQLRow) throws -> SpoolEntry {
        SpoolEntry(
            id: try r.int("id"), sha256: try r.string("sha256"), size: try r.int("size"), path: try r.string("path"),
            receivedAt: try r.timestamp("received_at"), state: try r.state("state"), inStore: try r.int("in_store") != 0)
    }
    static func outcome(_ r: SQLRow) throws -> Outcome {
        Outcome(
            spoolId: try r.int("spool_id"), status: try r.state("status"), code: try r.optionalString("code"),
            packageId: try r.optionalString("package_id"),
            unitId: try r.optionalString("unit_id"), seq: try r.optionalInt("seq").map { UInt64(bitPattern: $0) }, sha256: try r.string("sha256"),
            kind: try r.optionalState("kind"), receipt: try r.string("receipt"), receiptSignature: try r.string("receipt_signature"),
            leaf: try r.int("leaf"), decidedAt: try r.timestamp("decided_at"))
    }
    static func logEntry(_ r: SQLRow) throws -> LogEntry {
        LogEntry(index: try r.int("idx"), kind: try r.state("kind"), body: try r.string("body"), createdAt: try r.timestamp("created_at"))
    }
    static func trust(_ r: SQLRow) throws -> TrustRecord {
        TrustRecord(
            version: UInt64(bitPattern: try r.int("version")), body: try r.string("body"), signature: try r.string("signature"),
            rootCrossSignature: try r.optionalString("root_cross_signature"))
    }
    static func dataset(_ r: SQLRow) throws -> DatasetRecord {
        DatasetRecord(
            version: UInt64(bitPattern: try r.int("version")), packageId: try r.string("package_id"), path: try r.string("path"),
            sha256: try r.string("sha256"), size: try r.int("size"), members: Int(try r.int("members")),
            organizations: Int(try r.int("organizations")), conflicts: Int(try r.int("conflicts")), createdAt: try r.timestamp("created_at"),
            state: try r.state("state"), attempts: Int(try r.int("attempts")), lastError: try r.optionalString("last_error"),
            nextAttemptAt: try r.optionalTimestamp("next_attempt_at"), ack: try r.optionalString("ack"),
            ackSignature: try r.optionalString("ack_signature"), deliveredAt: try r.optionalTimestamp("delivered_at"))
    }

    // MARK: The log

    /// Appends one entry under the log-order lock (taken here if the transaction has not yet);
    /// returns its index.
    func appendLog(_ c: any SQLConnection, kind: LogKind, body: String, at: Timestamp) async throws -> Int64 {
        try await driver.lockLogOrder(c)
        let idx = try await nextLogIndex(c)
        try await c.execute("INSERT INTO log_entries (idx, kind, body, created_at) VALUES (?, ?, ?, ?)", [idx, kind, body, at])
        return idx
    }

    func nextLogIndex(_ c: any SQLConnection) async throws -> Int64 {
        try await c.int("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries") ?? 0
    }

    public func logSize() async throws -> Int64 { try await driver.read { c in try await nextLogIndex(c) } }

    public func appendLog(kind: LogKind, body: String, at: Timestamp) async throws -> Int64 {
        try await driver.write { c in try await appendLog(c, kind: kind, body: body, at: at) }
    }

    public func logEntries(start: Int64, end: Int64) async throws -> [LogEntry] {
        try await driver.read { c in
            try await c.query("SELECT * FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx", [start, end]).map(Self.logEntry)
        }
    }

    public func addCheckpoint(size: Int64, note: String, at: Timestamp) async throws {
        try await driver.write { c in
            try await c.execute("INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, ?) ON CONFLICT (size) DO NOTHING", [size, note, at])
        }
    }

    public func latestCheckpoint() async throws -> (size: Int64, note: String)? {
        try await driver.read { c in
            try await c.row("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1").map { (try $0.int("size"), try $0.string("note")) }
        }
    }

    public func appendLog(_ entries: [(kind: LogKind, body: String)], at: Timestamp) async throws -> Int64 {
        try await driver.write { c in
            try await driver.lockLogOrder(c)
            let first = try await nextLogIndex(c)
            // 100 rows a statement: one parse for many rows.
            var i = 0
            while i < entries.count {
                let chunk = entries[i..<min(entries.count, i + 100)]
                var binds: [SQLValue] = []
                binds.reserveCapacity(chunk.count * 4)
                for (j, e) in chunk.enumerated() {
                    binds += [.int(first + Int64(i + j)), e.kind.sqlValue, .text(e.body), at.sqlValue]
                }
                let rows = Array(repeating: "(?, ?, ?, ?)", count: chunk.count).joined(separator: ", ")
                try await c.execute("INSERT INTO log_entries (idx, kind, body, created_at) VALUES \(rows)", binds)
                i += chunk.count
            }
            return first
        }
    }

    public func logTiles(_ ids: [(level: Int, index: Int64)]) async throws -> [LogTileKey: [UInt8]] {
        guard !ids.isEmpty else { return [:] }
        return try await driver.read { c in
            var found: [LogTileKey: [UInt8]] = [:]
            for id in ids {
                if let row = try await c.row("SELECT hashes FROM log_tiles WHERE level = ? AND idx = ?", [Int64(id.level), id.index]) {
                    found[LogTileKey(level: id.level, index: id.index)] = try row.blob("hashes")
                }
            }
            return found
        }
    }

    public func addLogTiles(_ tiles: [(level: Int, index: Int64, hashes: [UInt8])]) async throws {
        guard !tiles.isEmpty else { return }
        try await driver.write { c in
            // In one order whoever writes: two processes writing the same tiles never deadlock.
            for t in tiles.sorted(by: { ($0.level, $0.index) < ($1.level, $1.index) }) {
                try await c.execute(
                    "INSERT INTO log_tiles (level, idx, hashes) VALUES (?, ?, ?) ON CONFLICT (level, idx) DO NOTHING",
                    [Int64(t.level), t.index, SQLValue.blob(t.hashes)])
            }
        }
    }

    public func pruneLogTiles(counts: [Int64]) async throws {
        try await driver.write { c in
            for (level, count) in counts.enumerated() {
                try await c.execute("DELETE FROM log_tiles WHERE level = ? AND idx >= ?", [Int64(level), count])
            }
            try await c.execute("DELETE FROM log_tiles WHERE level >= ?", [Int64(counts.count)])
        }
    }

    // MARK: Units, keys, tokens

    public func addUnit(_ unit: UnitRecord, key: UnitKeyRecord, logBody: String) async throws {
        try await driver.write { c in
            try await driver.lockLogOrder(c)
            if try await c.exists("SELECT 1 FROM units WHERE id = ?", [unit.id]) {
                throw StoreError(.unitExists, "unit \(unit.id) is already registered")
            }
            if try await c.exists("SELECT 1 FROM unit_keys WHERE key_id = ?", [key.keyId]) {
                throw StoreError(.keyExists, "key \(key.keyId) is already registered")
            }
            try await c.execute("INSERT INTO units (id, name, created_at) VALUES (?, ?, ?)", [unit.id, unit.name, unit.createdAt])
            try await c.execute(
                "INSERT INTO unit_keys (key_id, unit_id, public_key, state, added_at) VALUES (?, ?, ?, ?, ?)",
                [key.keyId, key.unitId, key.publicKey, key.state, key.addedAt])
            _ = try await appendLog(c, kind: .unitRegistered, body: logBody, at: unit.createdAt)
        }
    }

    public func unit(_ id: String) async throws -> UnitRecord? {
        try await driver.read { c in try await c.row("SELECT * FROM units WHERE id = ?", [id]).map(Self.unit) }
    }

    public func units() async throws -> [UnitRecord] {
        try await driver.read { c in try await c.query("SELECT * FROM units ORDER BY id").map(Self.unit) }
    }

    public func unitKey(keyId: String) async throws -> UnitKeyRecord? {
        try await driver.read { c in try await c.row(Self.keyByIdSQL, [keyId]).map(Self.key) }
    }

    public func unitKeys(unitId: String) async throws -> [UnitKeyRecord] {
        try await driver.read { c in try await c.query("SELECT * FROM unit_keys WHERE unit_id = ? ORDER BY added_at, key_id", [unitId]).map(Self.key)
        }
    }

    public func rotateUnitKey(
        unitId: String, oldKeyId: String, newKeyId: String, newPublicKey: String, switchAt: Timestamp,
        oldValidUntil: Timestamp, logBody: String
    ) async throws {
        try await driver.write { c in
            try await driver.lockLogOrder(c)
            guard try await c.exists("SELECT 1 FROM units WHERE id = ?", [unitId]) else {
                throw StoreError(.unitUnknown, "no unit \(unitId) is registered")
            }
            guard let old = try await c.row("SELECT * FROM unit_keys WHERE key_id = ?\(driver.forUpdate)", [oldKeyId]).map(Self.key),
                old.unitId == unitId
            else {
                throw StoreError(.keyUnknown, "key \(oldKeyId) is not a key of \(unitId)")
            }
            guard old.state == .active else { throw StoreError(.keyState, "key \(oldKeyId) of \(unitId) is \(old.state.rawValue), not active") }
            if try await c.exists("SELECT 1 FROM unit_keys WHERE key_id = ?", [newKeyId]) {
                throw StoreError(.keyExists, "key \(newKeyId) is already registered")
            }
            try await c.execute(
                "UPDATE unit_keys SET state = 'retiring', switched_at = ?, valid_until = ? WHERE key_id = ?", [switchAt, oldValidUntil, oldKeyId])
            try await c.execute(
                "INSERT INTO unit_keys (key_id, unit_id, public_key, state, added_at) VALUES (?, ?, ?, 'active', ?)",
                [newKeyId, unitId, newPublicKey, switchAt])
            _ = try await appendLog(c, kind: .unitKeyRotated, body: logBody, at: switchAt)
        }
    }

    public func addUnitKey(_ key: UnitKeyRecord, logBody: String) async throws {
        try await driver.write { c in
            try await driver.lockLogOrder(c)
            guard try await c.exists("SELECT 1 FROM units WHERE id = ?", [key.unitId]) else {
                throw StoreError(.unitUnknown, "no unit \(key.unitId) is registered")
            }
            if try await c.exists("SELECT 1 FROM unit_keys WHERE key_id = ?", [key.keyId]) {
                throw StoreError(.keyExists, "key \(key.keyId) is already registered")
            }
            try await c.execute(
                "INSERT INTO unit_keys (key_id, unit_id, public_key, state, added_at) VALUES (?, ?, ?, ?, ?)",
                [key.keyId, key.unitId, key.publicKey, key.state, key.addedAt])
            _ = try await appendLog(c, kind: .unitKeyAdded, body: logBody, at: key.addedAt)
        }
    }

    public func revokeUnitKey(
        unitId: String, keyId: String, compromisedAt: Timestamp, at: Timestamp, logBody: String
    ) async throws -> [FlaggedPackage] {
        try await driver.write { c in
            try await driver.lockLogOrder(c)
            guard let key = try await c.row("SELECT * FROM unit_keys WHERE key_id = ?\(driver.forUpdate)", [keyId]).map(Self.key),
                key.unitId == unitId
            else {
                throw StoreError(.keyUnknown, "key \(keyId) is not a key of \(unitId)")
            }
            guard key.state != .revoked else {
                throw StoreError(.keyState, "key \(keyId) of \(unitId) is already revoked (compromised at \(key.compromisedAt?.text ?? "?"))")
            }
            try await c.execute("UPDATE unit_keys SET state = 'revoked', compromised_at = ? WHERE key_id = ?", [compromisedAt, keyId])
            // Accepted packages it signed, created from the compromise on. Rows from before the
            // key was recorded per outcome (key_id NULL) are flagged when decided from then on.
            let reason = "signed by \(keyId), revoked as compromised from \(compromisedAt)"
            try await c.execute(
                """
                INSERT INTO review_flags (package_id, unit_id, seq, key_id, created, reason, flagged_at)
                SELECT package_id, unit_id, seq, key_id, created, ?, ? FROM outcomes
                WHERE status = 'accepted' AND unit_id = ? AND package_id IS NOT NULL
                  AND ((key_id = ? AND created >= ?) OR (key_id IS NULL AND decided_at >= ?))
                ON CONFLICT (package_id) DO NOTHING
                """, [reason, at, unitId, keyId, compromisedAt, compromisedAt])
            _ = try await appendLog(c, kind: .unitKeyRevoked, body: logBody, at: at)
            return try await c.query(
                "SELECT * FROM review_flags WHERE unit_id = ? AND flagged_at = ? AND reason = ? ORDER BY seq", [unitId, at, reason]
            )
            .map(Self.flag)
        }
    }

    public func flaggedPackages(unitId: String?) async throws -> [FlaggedPackage] {
        try await driver.read { c in
            if let unitId { return try await c.query("SELECT * FROM review_flags WHERE unit_id = ? ORDER BY seq", [unitId]).map(Self.flag) }
            return try await c.query("SELECT * FROM review_flags ORDER BY unit_id, seq").map(Self.flag)
        }
    }

    public func resolveFlag(
        packageId: String, resolution: ReviewResolution, reason: String, at: Timestamp, logBody: (FlaggedPackage) -> String
    ) async throws -> FlaggedPackage {
        try await driver.write { c in
            try await driver.lockLogOrder(c)
            guard var f = try await c.row("SELECT * FROM review_flags WHERE package_id = ?\(driver.forUpdate)", [packageId]).map(Self.flag) else {
                throw StoreError(.flagUnknown, "no package \(packageId.prefix(80)) is flagged for review")
            }
            if let done = f.resolution {
                throw StoreError(
                    .flagResolved, "package \(f.packageId) (\(f.unitId) seq \(f.seq)) was \(done.rawValue) at \(f.resolvedAt?.text ?? "?")")
            }
            try await c.execute(
                "UPDATE review_flags SET resolution = ?, resolved_at = ?, resolution_reason = ? WHERE package_id = ?",
                [resolution, at, reason, packageId])
            f.resolution = resolution
            f.resolvedAt = at
            f.resolutionReason = reason
            _ = try await appendLog(c, kind: .flagResolved, body: logBody(f), at: at)
            return f
        }
    }

    public func addToken(_ t: TokenRecord) async throws {
        try await driver.write { c in
            try await c.execute("INSERT INTO tokens (hash, role, unit_id, created_at) VALUES (?, ?, ?, ?)", [t.hash, t.role, t.unitId, t.createdAt])
        }
    }

    public func token(hash: String) async throws -> TokenRecord? {
        try await driver.read { c in try await c.row("SELECT * FROM tokens WHERE hash = ? AND revoked_at IS NULL", [hash]).map(Self.token) }
    }

    public func tokens() async throws -> [TokenRecord] {
        try await driver.read { c in try await c.query("SELECT * FROM tokens ORDER BY created_at, hash").map(Self.token) }
    }

    public func revokeToken(id: String, at: Timestamp, logBody: (TokenRecord) -> String) async throws -> TokenRecord {
        try await driver.write { c in
            try await driver.lockLogOrder(c)
            let id = id.lowercased()
            // Few tokens exist: the prefix is matched here rather than in a dialect's string functions.
            let rows = try await c.query("SELECT * FROM tokens ORDER BY hash\(driver.forUpdate)").map(Self.token).filter { $0.hash.hasPrefix(id) }
            guard id.count >= 6, rows.count == 1, var t = rows.first else {
                throw StoreError(.tokenUnknown, rows.count > 1 && id.count >= 6 ? "several tokens start with \(id)" : "no token \(id)")
            }
            guard t.revokedAt == nil else { throw StoreError(.tokenRevoked, "token \(t.id) was revoked at \(t.revokedAt?.text ?? "")") }
            try await c.execute("UPDATE tokens SET revoked_at = ? WHERE hash = ?", [at, t.hash])
            _ = try await appendLog(c, kind: .tokenRevoked, body: logBody(t), at: at)
            t.revokedAt = at
            return t
        }
    }

    // MARK: Dashboard sessions

    static func session(_ r: SQLRow) throws -> DashboardSession {
        DashboardSession(
            idHash: try r.string("id_hash"), tokenHash: try r.string("token_hash"), createdAt: try r.timestamp("created_at"),
            lastSeenAt: try r.timestamp("last_seen_at"), expiresAt: try r.timestamp("expires_at"))
    }

    public func addSession(_ s: DashboardSession) async throws {
        try await driver.write { c in
            try await c.execute(
                "INSERT INTO dashboard_sessions (id_hash, token_hash, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                [s.idHash, s.tokenHash, s.createdAt, s.lastSeenAt, s.expiresAt])
        }
    }

    public func useSession(idHash: String, now: Timestamp, idle: Duration, touch: Bool) async throws -> DashboardSession? {
        try await driver.write { c in
            let found = try await c.row(
                """
                SELECT s.* FROM dashboard_sessions s JOIN tokens t ON t.hash = s.token_hash
                WHERE s.id_hash = ? AND t.role = 'admin' AND t.revoked_at IS NULL
                """, [idHash]
            ).map(Self.session)
            guard var s = found else {
                try await c.execute("DELETE FROM dashboard_sessions WHERE id_hash = ?", [idHash])
                return nil
            }
            guard now < s.expiresAt, now < s.lastSeenAt.adding(idle) else {
                try await c.execute("DELETE FROM dashboard_sessions WHERE id_hash = ?", [idHash])
                return nil
            }
            // Written at most once a minute: a page's burst of requests is one write.
            if touch && now.unixSeconds - s.lastSeenAt.unixSeconds >= 60 {
                try await c.execute("UPDATE dashboard_sessions SET last_seen_at = ? WHERE id_hash = ?", [now, idHash])
                s.lastSeenAt = now
            }
            return s
        }
    }

    public func deleteSession(idHash: String) async throws {
        try await driver.write { c in try await c.execute("DELETE FROM dashboard_sessions WHERE id_hash = ?", [idHash]) }
    }

    @discardableResult public func pruneSessions(now: Timestamp, idle: Duration) async throws -> Int {
        try await driver.write { c in
            let stale = now.adding(seconds: -idle.components.seconds)
            return try await c.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ? OR last_seen_at <= ?", [now, stale])
        }
    }

    public func outcomes(unitId: String, limit: Int) async throws -> [Outcome] {
        try await driver.read { c in
            try await c.query("SELECT * FROM outcomes WHERE unit_id = ? ORDER BY spool_id DESC LIMIT ?", [unitId, Int64(limit)]).map(Self.outcome)
        }
    }

    public func checkpointTime(size: Int64) async throws -> Timestamp? {
        try await driver.read { c in
            try await c.row("SELECT created_at FROM checkpoints WHERE size = ?", [size]).map { try $0.timestamp("created_at") }
        }
    }

    // MARK: Spool and outcomes

    public func addSpool(sha256: String, size: Int64, path: String, receivedAt: Timestamp, body: [UInt8]?) async throws -> Int64 {
        // Committed with the other bodies admitted meanwhile (group commit: one fsync).
        try await driver.groupedWrite { c in
            guard
                let id = try await c.insertedID(
                    "INSERT INTO spool (sha256, size, path, received_at, body) VALUES (?, ?, ?, ?, ?)",
                    [sha256, size, path, receivedAt, body.map { SQLValue.blob($0) } ?? .null])
            else {
                throw StoreError(.storeFailure, "the spool entry got no id")
            }
            return id
        }
    }

    /// A spool record's columns but its body: whether it holds one (`in_store`).
    static let spoolColumns = "id, sha256, size, path, received_at, state, CASE WHEN body IS NULL THEN 0 ELSE 1 END AS in_store"

    public func pendingSpool() async throws -> [SpoolEntry] {
        try await driver.read { c in try await c.query("SELECT \(Self.spoolColumns) FROM spool WHERE state = 'pending' ORDER BY id").map(Self.spool) }
    }

    public func spool(id: Int64) async throws -> SpoolEntry? {
        try await driver.read { c in try await c.row("SELECT \(Self.spoolColumns) FROM spool WHERE id = ?", [id]).map(Self.spool) }
    }

    public func spoolBody(id: Int64) async throws -> [UInt8]? {
        try await driver.read { c in
            guard let row = try await c.row("SELECT body FROM spool WHERE id = ? AND body IS NOT NULL", [id]) else { return nil }
            return try row.blob("body")
        }
    }

    public func spoolPaths() async throws -> [String] {
        try await driver.read { c in try await c.query("SELECT path FROM spool").map { try $0.string("path") } }
    }

    public func decidedSpool(before: Timestamp) async throws -> [(entry: SpoolEntry, kind: OutcomeKind?)] {
        try await driver.read { c in
            try await c.query(
                """
                SELECT s.*, o.kind AS outcome_kind FROM (SELECT \(Self.spoolColumns) FROM spool WHERE state = 'done') s
                JOIN outcomes o ON o.spool_id = s.id WHERE o.decided_at <= ? ORDER BY s.id
                """, [before]
            ).map { (try Self.spool($0), try $0.optionalState("outcome_kind", OutcomeKind.self)) }
        }
    }

    public func markSpoolPruned(ids: [Int64]) async throws {
        try await driver.write { c in
            for id in ids { try await c.execute("UPDATE spool SET state = 'pruned', body = NULL WHERE id = ? AND state = 'done'", [id]) }
        }
    }

    public func outcome(unitId: String, seq: UInt64) async throws -> Outcome? {
        try await driver.read { c in
            try await c.row(Self.outcomeBySeqSQL, [unitId, seq]).map(Self.outcome)
        }
    }

    public func outcome(packageId: String) async throws -> Outcome? {
        try await driver.read { c in
            try await c.row("SELECT * FROM outcomes WHERE package_id = ? ORDER BY spool_id LIMIT 1", [packageId]).map(Self.outcome)
        }
    }

    public func outcome(sha256: String) async throws -> Outcome? {
        try await driver.read { c in try await c.row(Self.outcomeBySHA256SQL, [sha256]).map(Self.outcome)
        }
    }

    public func outcome(spoolId: Int64) async throws -> Outcome? {
        try await driver.read { c in try await c.row("SELECT * FROM outcomes WHERE spool_id = ?", [spoolId]).map(Self.outcome) }
    }

    public func removePendingSpool(id: Int64) async throws -> Bool {
        try await driver.write { c in
            try await c.execute(
                "DELETE FROM spool WHERE id = ? AND state = 'pending' AND NOT EXISTS (SELECT 1 FROM outcomes WHERE spool_id = ?)", [id, id]) == 1
        }
    }

    public func lastSeq(unitId: String) async throws -> UInt64? {
        try await driver.read { c in
            try await c.int(Self.lastSeqSQL, [unitId]).map { UInt64(bitPattern: $0) }
        }
    }

    public func intakeLookup(keyId: String, unitId: String?, seq: UInt64?, sha256: String?) async throws -> IntakeLookup {
        var list = [SQLQuery(Self.keyByIdSQL, [keyId]), SQLQuery(Self.trustVersionSQL)]
        // A seq above Int64.max is refused before it is used (`seq_out_of_range`): not looked up.
        let bySeq: (unit: String, seq: UInt64)? = unitId.flatMap { u in seq.flatMap { $0 <= UInt64(Int64.max) ? (u, $0) : nil } }
        if let bySeq {
            list.append(SQLQuery(Self.lastSeqSQL, [bySeq.unit]))
            list.append(SQLQuery(Self.outcomeBySeqSQL, [bySeq.unit, bySeq.seq]))
        }
        if let sha256 { list.append(SQLQuery(Self.outcomeBySHA256SQL, [sha256])) }
        let rows = try await driver.quickRead { c in try await c.queries(list) }
        var found = IntakeLookup(key: try rows[0].first.map(Self.key), trustVersion: UInt64(bitPattern: try rows[1].firstInt() ?? 0))
        var next = 2
        if bySeq != nil {
            found.lastSeq = try rows[2].firstInt().map { UInt64(bitPattern: $0) }
            found.seqOutcome = try rows[3].first.map(Self.outcome)
            next = 4
        }
        if sha256 != nil { found.sameBytes = try rows[next].first.map(Self.outcome) }
        return found
    }

    static let organizationColumns = ["org_id", "name", "type", "parent_id"]
    static let memberColumns = [
        "member_id", "full_name", "gender", "date_of_birth", "citizen_id", "date_joined", "date_official", "status", "org_id",
        "phone", "email", "ethnicity", "hometown", "education",
    ]

    /// Inserts every row of `rows`, batch by batch; the batches must add up to its count.
    func insertAll(_ c: any SQLConnection, _ rows: RecordRows, table: String, columns: [String], snapshot: Int64) async throws {
        guard RowKey.fits(snapshot: snapshot, count: rows.count) else {
            throw StoreError(.storeFailure, "snapshot \(snapshot) with \(rows.count) rows is beyond the rows' keys")
        }
        var n = 0
        try await rows.read(columns.count) { batch in
            try await driver.insertRows(c, table: table, columns: columns, snapshot: snapshot, firstRow: n, rows: batch)
            n += batch.count
        }
        guard n == rows.count else { throw StoreError(.storeFailure, "the snapshot's \(table) held \(n) rows, \(rows.count) counted") }
    }

    public func commit(
        _ d: Decision, snapshot: SnapshotImport?, corrections: CorrectionImport?, logEntry: (_ spoolId: Int64) -> String, logSince: Int64,
        makeReceipt: (Int64, [LogEntry]) throws -> ReceiptBundle
    ) async throws -> Outcome {
        // A small decision is committed with the others made meanwhile (group commit: one
        // fsync); the caller's tree keeps its leaf aside until then (`GatewayLog.extend`). A large
        // import commits alone: the small decisions are not kept waiting for it.
        let rows = (snapshot.map { $0.members.count + $0.organizations.count } ?? 0) + (corrections?.corrections.count ?? 0)
        if rows <= RecordRows.batchRows {
            return try await driver.groupedWrite { c in
                try await commit(c, d, snapshot: snapshot, corrections: corrections, logEntry: logEntry, logSince: logSince, makeReceipt: makeReceipt)
            }
        }
        return try await driver.write { c in
            try await commit(c, d, snapshot: snapshot, corrections: corrections, logEntry: logEntry, logSince: logSince, makeReceipt: makeReceipt)
        }
    }

    /// The decision's transaction (`commit`).
    private func commit(
        _ c: any SQLConnection, _ decision: Decision, snapshot: SnapshotImport?, corrections: CorrectionImport?,
        logEntry: (_ spoolId: Int64) -> String, logSince: Int64, makeReceipt: (Int64, [LogEntry]) throws -> ReceiptBundle
    ) async throws -> Outcome {
        var d = decision
        // A body admitted in this transaction: its record first, decided (one commit for both).
        if let n = d.newSpool {
            guard
                let id = try await c.insertedID(
                    "INSERT INTO spool (sha256, size, path, received_at, state, body) VALUES (?, ?, ?, ?, 'done', ?)",
                    [n.sha256, n.size, n.path, n.receivedAt, SQLValue.blob(n.body)])
            else {
                throw StoreError(.storeFailure, "the spool entry got no id")
            }
            d.spoolId = id
        }
        // The bulk import first, before the log-order lock: other processes import meanwhile.
        var newSnapshot: Int64?
        if let s = snapshot {
            guard
                let sid = try await c.insertedID(
                    """
                    INSERT INTO snapshots (unit_id, package_id, members, organizations, imported_at, current) VALUES (?, ?, ?, ?, ?, 0)
                    """, [s.unitId, s.packageId, s.members.count, s.organizations.count, d.decidedAt])
            else {
                throw StoreError(.storeFailure, "the snapshot got no id")
            }
            try await insertAll(c, s.organizations, table: "organizations", columns: Self.organizationColumns, snapshot: sid)
            try await insertAll(c, s.members, table: "members", columns: Self.memberColumns, snapshot: sid)
            newSnapshot = sid
        }
        // From here on, one decision at a time across every process.
        try await driver.lockLogOrder(c)
        // The seq must still be above every seq the unit claimed: one taken meanwhile, or passed
        // by a later one decided at once and committed first (6 while 5 was decided — 5's
        // snapshot would replace 6's), and the decision is made again (`seq_taken`): it finds a
        // duplicate, a conflict or a seq not increasing.
        if d.claimsSeq, let unit = d.unitId, let seq = d.seq,
            let last = try await c.int(Self.lastSeqSQL, [unit]),
            UInt64(bitPattern: last) >= seq
        {
            throw StoreError(.seqTaken, "seq \(seq) of \(unit) was decided meanwhile, or a later one (\(last))")
        }
        if let s = snapshot, let sid = newSnapshot {
            try await c.execute("UPDATE snapshots SET current = 0 WHERE unit_id = ? AND current = 1", [s.unitId])
            try await c.execute("UPDATE snapshots SET current = 1 WHERE id = ?", [sid])
        }
        // What an accepted correction changed is recorded (the snapshot and its rows), so that
        // a dataset can leave it out if the package is flagged (0: no snapshot to change).
        var correctedSnapshot: Int64?
        if d.status == .accepted, d.kind == .correction, let unit = d.unitId {
            correctedSnapshot = try await c.int("SELECT id FROM snapshots WHERE unit_id = ? AND current = 1", [unit]) ?? 0
        }
        if let cs = corrections, !cs.corrections.isEmpty {
            guard let sid = try await c.int("SELECT id FROM snapshots WHERE unit_id = ? AND current = 1", [cs.unitId]) else {
                throw StoreError(.noSnapshot, "\(cs.unitId) has no current records to correct")
            }
            correctedSnapshot = sid
            // Where the members are: as the decision found them if the snapshot is still that one
            // (no read of the unit's ids while the decisions' lock is held), else read again.
            var rowOf: [String: Int64]
            if let located = cs.located, located.snapshot == sid {
                rowOf = located.rows
            } else {
                rowOf = try await Self.locate(c, snapshot: sid, citizenIds: Set(cs.corrections.map(\.citizenId))).rows
            }
            for (i, m) in cs.corrections.enumerated() {
                // The column name is interpolated: only the table's own names pass.
                guard MemberCorrection.fields.contains(m.field) else { throw StoreError(.correctionField, "no member field \(m.field)") }
                let conflict = StoreError(.correctionConflict, "correction \(i + 1) (\(m.field)): the member's value changed meanwhile")
                guard let rowNo = rowOf[m.citizenId] else { throw conflict }
                let changed = try await c.query(
                    """
                    UPDATE members SET \(m.field) = ? WHERE id = ? AND citizen_id = ? AND \(m.field) = ?
                    RETURNING row_no
                    """,
                    [m.newValue, RowKey.of(snapshot: sid, row: rowNo), m.citizenId, m.oldValue])
                guard changed.count == 1, let row = try changed.first?.int("row_no") else { throw conflict }
                if m.field == "citizen_id" {
                    // The member is found by its new id from here on (an id two rows hold: by neither).
                    rowOf[m.citizenId] = nil
                    rowOf[m.newValue] = rowOf[m.newValue] == nil ? rowNo : nil
                }
                if let package = d.packageId {
                    try await c.execute("INSERT INTO corrected_rows (package_id, snapshot_id, row_no) VALUES (?, ?, ?)", [package, sid, row])
                }
            }
        }
        let leaf = try await appendLog(c, kind: d.status == .duplicate ? .duplicate : .outcome, body: logEntry(d.spoolId), at: d.decidedAt)
        let entries = try await c.query("SELECT * FROM log_entries WHERE idx >= ? ORDER BY idx", [logSince]).map(Self.logEntry)
        let bundle = try makeReceipt(leaf, entries)
        if let cp = bundle.checkpoint {
            try await c.execute(
                "INSERT INTO checkpoints (size, note, created_at) VALUES (?, ?, ?) ON CONFLICT (size) DO NOTHING",
                [cp.size, cp.note, d.decidedAt])
        }
        try await c.execute(
            """
            INSERT INTO outcomes (spool_id, status, code, package_id, unit_id, seq, sha256, kind, receipt, receipt_signature, leaf, decided_at, claims_seq,
                                  key_id, created, corrected_snapshot)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                d.spoolId, d.status, d.code, d.packageId, d.unitId, d.seq, d.sha256, d.kind, bundle.receipt, bundle.signature, leaf, d.decidedAt,
                d.claimsSeq, d.keyId, d.created, correctedSnapshot,
            ])
        if d.newSpool == nil { try await c.execute("UPDATE spool SET state = 'done' WHERE id = ?", [d.spoolId]) }
        // A package whose key was revoked while it was on its way (checked at admission,
        // revoked before this commit), or that names a creation time before the compromise
        // (a thief can write any), is flagged for review: read under the log-order lock,
        // which the revocation takes too, so no package slips between the two.
        if d.status == .accepted, let keyId = d.keyId, let package = d.packageId, let unit = d.unitId, let seq = d.seq,
            let key = try await c.row(Self.keyByIdSQL, [keyId]).map(Self.key), key.state == .revoked
        {
            try await c.execute(
                """
                INSERT INTO review_flags (package_id, unit_id, seq, key_id, created, reason, flagged_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (package_id) DO NOTHING
                """,
                [
                    package, unit, seq, keyId, d.created,
                    "signed by \(keyId), decided after it was revoked as compromised from \(key.compromisedAt?.text ?? "?")", d.decidedAt,
                ])
        }
        return Outcome(
            spoolId: d.spoolId, status: d.status, code: d.code, packageId: d.packageId, unitId: d.unitId, seq: d.seq, sha256: d.sha256,
            kind: d.kind, receipt: bundle.receipt, receiptSignature: bundle.signature, leaf: leaf, decidedAt: d.decidedAt)
    }

    // MARK: Records and status

    public func currentMembers(unitId: String) async throws -> Int {
        try await driver.read { c in Int(try await c.int("SELECT members FROM snapshots WHERE unit_id = ? AND current = 1", [unitId]) ?? 0) }
    }

    public func unitStatus(_ id: String) async throws -> UnitStatus? {
        try await driver.read { c in
            guard let u = try await c.row("SELECT * FROM units WHERE id = ?", [id]).map(Self.unit) else { return nil }
            let keys = try await c.query("SELECT * FROM unit_keys WHERE unit_id = ? ORDER BY added_at, key_id", [id]).map(Self.key)
            let last = try await c.row("SELECT * FROM outcomes WHERE unit_id = ? AND claims_seq = 1 ORDER BY seq DESC LIMIT 1", [id])
            let snap = try await c.row("SELECT members, organizations FROM snapshots WHERE unit_id = ? AND current = 1", [id])
            let count = try await c.int("SELECT COUNT(*) FROM outcomes WHERE unit_id = ?", [id]) ?? 0
            return UnitStatus(
                unit: u, keys: keys, lastSeq: try last?.optionalInt("seq").map { UInt64(bitPattern: $0) },
                lastPackage: try last?.optionalString("package_id"), lastStatus: try last?.state("status"),
                members: Int(try snap?.int("members") ?? 0), organizations: Int(try snap?.int("organizations") ?? 0),
                packages: Int(count), lastReceipt: try last?.string("receipt"))
        }
    }

    public func currentRecords(unitId: String) async throws -> UnitRecords? {
        try await driver.read { c in
            guard let snap = try await c.row("SELECT id, package_id, imported_at FROM snapshots WHERE unit_id = ? AND current = 1", [unitId]) else {
                return nil
            }
            return try await records(c, unitId: unitId, snapshot: snap, leavingOut: false)
        }
    }

    /// The rows of one snapshot (`snap`: its id, package_id and imported_at), in file order;
    /// `leavingOut`: without the member rows an unresolved or rejected correction changed.
    func records(_ c: any SQLConnection, unitId: String, snapshot snap: SQLRow, leavingOut: Bool) async throws -> UnitRecords {
        let keys = RowKey.range(snapshot: try snap.int("id"))
        let orgs = try await c.textBatch(Self.snapshotOrganizationsSQL, [keys.first, keys.last], columns: Self.organizationColumns.count)
        let members = try await c.textBatch(
            leavingOut ? Self.snapshotMembersLeavingOutSQL : Self.snapshotMembersSQL, [keys.first, keys.last], columns: Self.memberColumns.count)
        return UnitRecords(
            unitId: unitId, packageId: try snap.string("package_id"), importedAt: try snap.timestamp("imported_at"), organizationRows: orgs,
            memberRows: members)
    }

    /// A snapshot's rows in file order, by their keys' range (`RowKey.range`): one range of the
    /// table's key, no sort (SQLiteStoreConformanceTests reads the plans).
    static let snapshotOrganizationsSQL =
        "SELECT \(organizationColumns.joined(separator: ", ")) FROM organizations WHERE id BETWEEN ? AND ? ORDER BY id"
    static let snapshotMembersSQL = "SELECT \(memberColumnsOfM) FROM members m WHERE m.id BETWEEN ? AND ? ORDER BY m.id"
    /// `snapshotMembersSQL` without the rows an unresolved or rejected correction changed.
    static let snapshotMembersLeavingOutSQL = "SELECT \(memberColumnsOfM) FROM members m WHERE m.id BETWEEN ? AND ? AND NOT \(heldRow) ORDER BY m.id"
    private static let memberColumnsOfM = memberColumns.map { "m.\($0)" }.joined(separator: ", ")
    /// A snapshot's citizen ids and row numbers in row order (`locate`), with its card numbers.
    static func snapshotIdsSQL(cardNumbers: Bool) -> String {
        "SELECT citizen_id, CAST(row_no AS TEXT)\(cardNumbers ? ", member_id" : "") FROM members WHERE id BETWEEN ? AND ? ORDER BY id"
    }

    // MARK: Flagged packages under review

    /// Flags whose package a dataset does not trust: unresolved, or rejected.
    static let distrusted = "(f.resolution IS NULL OR f.resolution = 'rejected')"
    /// True for a member row `m` that an unresolved or rejected correction changed.
    static let heldRow = """
        EXISTS (SELECT 1 FROM corrected_rows cr JOIN review_flags f ON f.package_id = cr.package_id
        WHERE cr.snapshot_id = m.snapshot_id AND cr.row_no = m.row_no AND \(distrusted))
        """

    /// One of a unit's snapshots, as the review sees it.
    struct ReviewSnapshot {
        var id: Int64
        var packageId: String
        var members: Int
        var current: Bool
        /// The log index of its decision (-1 if none is found): snapshots in the order they were accepted.
        var leaf: Int64
    }

    /// What the review holds back of a unit: the snapshot a dataset takes (nil: none) and each
    /// unresolved or rejected flag with the records it holds back; nil when the unit has none.
    ///
    /// A dataset takes the unit's latest snapshot (in the log's order) that no distrusted package
    /// wrote: not one that is itself a distrusted package, nor one a distrusted correction was
    /// applied to before the rows a correction changes were recorded (v15); in it, the rows a
    /// distrusted correction changed are left out. The store keeps every snapshot, so an earlier
    /// one is there to fall back to, with the corrections that were applied to it.
    func reviewPlan(_ c: any SQLConnection, unitId: String) async throws -> (base: ReviewSnapshot?, hold: ReviewHold)? {
        let flags = try await c.query("SELECT * FROM review_flags f WHERE f.unit_id = ? AND \(Self.distrusted) ORDER BY f.seq", [unitId])
            .map(Self.flag)
        guard !flags.isEmpty else { return nil }
        let distrusted = Set(flags.map(\.packageId))
        let snapshots = try await c.query(
            """
            SELECT s.id, s.package_id, s.members, s.current,
            (SELECT MIN(o.leaf) FROM outcomes o WHERE o.package_id = s.package_id AND o.status = 'accepted') AS leaf
            FROM snapshots s WHERE s.unit_id = ?
            """, [unitId]
        ).map {
            ReviewSnapshot(
                id: try $0.int("id"), packageId: try $0.string("package_id"), members: Int(try $0.int("members")),
                current: try $0.int("current") == 1,
                leaf: try $0.optionalInt("leaf") ?? -1)
        }
        // The current one first, then the others newest first.
        .sorted { ($0.current ? 1 : 0, $0.leaf, $0.id) > ($1.current ? 1 : 0, $1.leaf, $1.id) }
        let current = snapshots.first { $0.current }
        var kinds: [String: OutcomeKind] = [:]
        var recorded: Set<String> = []
        // Distrusted corrections applied before v15 recorded what they changed: the snapshot
        // that was current then (the newest accepted before them) is tainted as a whole.
        var tainting: [String: Int64] = [:]
        for f in flags {
            guard
                let o = try await c.row(
                    "SELECT kind, corrected_snapshot, leaf FROM outcomes WHERE package_id = ? AND status = 'accepted' ORDER BY leaf LIMIT 1",
                    [f.packageId])
            else { continue }
            let kind: OutcomeKind? = try o.optionalState("kind")
            kinds[f.packageId] = kind
            guard kind == .correction else { continue }
            if try o.optionalInt("corrected_snapshot") != nil {
                recorded.insert(f.packageId)
            } else {
                let leaf = try o.int("leaf")
                if let s = snapshots.filter({ $0.leaf < leaf }).max(by: { $0.leaf < $1.leaf }) { tainting[f.packageId] = s.id }
            }
        }
        let tainted = Set(tainting.values)
        let base = snapshots.first { !distrusted.contains($0.packageId) && !tainted.contains($0.id) }
        var held: [HeldPackage] = []
        for f in flags {
            var withheld = 0
            if let current, f.packageId == current.packageId {
                withheld = current.members
            } else if recorded.contains(f.packageId), let base {
                withheld = Int(
                    try await c.int(
                        "SELECT COUNT(DISTINCT row_no) FROM corrected_rows WHERE package_id = ? AND snapshot_id = ?", [f.packageId, base.id]) ?? 0)
            } else if let current, tainting[f.packageId] == current.id, !distrusted.contains(current.packageId) {
                withheld = current.members
            }
            held.append(HeldPackage(flag: f, kind: kinds[f.packageId], withheld: withheld))
        }
        var members = 0
        if let base {
            let keys = RowKey.range(snapshot: base.id)
            let left = try await c.int("SELECT COUNT(*) FROM members m WHERE m.id BETWEEN ? AND ? AND \(Self.heldRow)", [keys.first, keys.last]) ?? 0
            members = base.members - Int(left)
        }
        return (
            base,
            ReviewHold(
                unitId: unitId, currentPackage: current?.packageId, datasetPackage: base?.packageId, datasetMembers: members, held: held)
        )
    }

    public func reviewHold(unitId: String) async throws -> ReviewHold? {
        try await driver.read { c in try await reviewPlan(c, unitId: unitId)?.hold }
    }

    public func datasetRecords(unitId: String) async throws -> DatasetUnitRecords {
        try await driver.read { c in
            guard let plan = try await reviewPlan(c, unitId: unitId) else {
                guard let snap = try await c.row("SELECT id, package_id, imported_at FROM snapshots WHERE unit_id = ? AND current = 1", [unitId])
                else {
                    return DatasetUnitRecords(records: nil, hold: nil)
                }
                return DatasetUnitRecords(records: try await records(c, unitId: unitId, snapshot: snap, leavingOut: false), hold: nil)
            }
            guard let base = plan.base, let snap = try await c.row("SELECT id, package_id, imported_at FROM snapshots WHERE id = ?", [base.id]) else {
                return DatasetUnitRecords(records: nil, hold: plan.hold)
            }
            return DatasetUnitRecords(records: try await records(c, unitId: unitId, snapshot: snap, leavingOut: true), hold: plan.hold)
        }
    }

    public func currentMembers(unitId: String, citizenIds: Set<String>, cardNumbers: Bool) async throws -> CurrentMembers {
        try await driver.read { c in
            guard let sid = try await c.int("SELECT id FROM snapshots WHERE unit_id = ? AND current = 1", [unitId]) else {
                return CurrentMembers(located: nil, fields: [:], cards: [:])
            }
            let columns = MemberCorrection.columns
            var members: [String: [String: String]] = [:]
            var rows: [String: Int64] = [:]
            let (found, cards) = try await Self.locate(c, snapshot: sid, citizenIds: citizenIds, cardNumbers: cardNumbers)
            for (citizenId, rowNo) in found {
                let v = try await c.textBatch(
                    "SELECT \(columns.joined(separator: ", ")) FROM members WHERE id = ? AND citizen_id = ?",
                    [RowKey.of(snapshot: sid, row: rowNo), citizenId], columns: columns.count)
                guard v.count == 1 else { continue }
                members[citizenId] = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, v.string(row: 0, column: $0)) })
                rows[citizenId] = rowNo
            }
            return CurrentMembers(located: MemberRows(snapshot: sid, rows: rows), fields: members, cards: cards)
        }
    }

    /// Where each member of snapshot `sid` asked for (by citizen id) is: its row number; with
    /// `cardNumbers`, also every party card number of the snapshot with its member's citizen id
    /// (the first member holding it). One read of the snapshot's ids in row order — the members
    /// table has no index by citizen id (every row imported paid for one; only corrections look a
    /// member up). An id on two rows is left out (a correction finds no member). A row is then
    /// changed or read by its number *and* its citizen id (row numbers are unique in a snapshot
    /// since v12, by the id anyway).
    static func locate(_ c: any SQLConnection, snapshot sid: Int64, citizenIds wanted: Set<String>, cardNumbers: Bool = false) async throws -> (
        rows: [String: Int64], cards: [String: String]
    ) {
        guard !wanted.isEmpty || cardNumbers else { return ([:], [:]) }
        // The card numbers are read only when they are asked for.
        let keys = RowKey.range(snapshot: sid)
        let ids = try await c.textBatch(Self.snapshotIdsSQL(cardNumbers: cardNumbers), [keys.first, keys.last], columns: cardNumbers ? 3 : 2)
        var rows: [String: Int64] = [:]
        var twice: Set<String> = []
        var cards: [String: String] = [:]
        if cardNumbers { cards.reserveCapacity(ids.count) }
        for r in 0..<ids.count {
            let id = ids.string(row: r, column: 0)
            if cardNumbers, case let card = ids.string(row: r, column: 2), cards[card] == nil { cards[card] = id }
            guard wanted.contains(id), let n = Int64(ids.string(row: r, column: 1)) else { continue }
            if rows.updateValue(n, forKey: id) != nil { twice.insert(id) }
        }
        for id in twice { rows[id] = nil }
        return (rows, cards)
    }

    public func campaignRows() async throws -> [UnitCampaignRow] {
        try await driver.read { c in
            try await c.query(StoreSQL.campaignRows).map {
                UnitCampaignRow(
                    unitId: try $0.string("id"), name: try $0.string("name"), accepted: Int(try $0.int("accepted")),
                    rejected: Int(try $0.int("rejected")), firstAcceptedAt: try $0.optionalTimestamp("first_accepted"),
                    lastAcceptedAt: try $0.optionalTimestamp("last_accepted"), lastPackageAt: try $0.optionalTimestamp("last_at"),
                    currentReceipt: try $0.optionalString("receipt"), members: Int(try $0.optionalInt("members") ?? 0))
            }
        }
    }

    // MARK: Datasets and settings

    /// Chunks of a sealed dataset package kept in the database.
    static let chunkBytes = 8 << 20

    public func addDataset(_ d: DatasetRecord, logBody: String) async throws {
        try await driver.write { c in
            try await driver.lockLogOrder(c)
            if try await c.exists("SELECT 1 FROM datasets WHERE version = ?", [d.version]) {
                throw StoreError(.datasetExists, "dataset version \(d.version) exists already")
            }
            try await c.execute(
                """
                INSERT INTO datasets (version, package_id, path, sha256, size, members, organizations, conflicts, created_at, state, attempts)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
                """, [d.version, d.packageId, d.path, d.sha256, d.size, d.members, d.organizations, d.conflicts, d.createdAt, d.state])
            if driver.keepsDatasetPackages {
                guard let file = FileHandle(forReadingAtPath: d.path) else { throw StoreError(.datasetUnreadable, "cannot read \(d.path)") }
                defer { try? file.close() }
                var chunk: Int64 = 0
                while let data = try file.read(upToCount: Self.chunkBytes), !data.isEmpty {
                    try await c.execute(
                        "INSERT INTO dataset_packages (version, chunk, data) VALUES (?, ?, ?)", [d.version, chunk, SQLValue.blob([UInt8](data))])
                    chunk += 1
                }
            }
            _ = try await appendLog(c, kind: .dataset, body: logBody, at: d.createdAt)
        }
    }

    public func fetchDatasetPackage(version: UInt64, to path: String) async throws -> Bool {
        guard driver.keepsDatasetPackages else { return false }
        return try await driver.read { c in
            let count = try await c.int("SELECT COUNT(*) FROM dataset_packages WHERE version = ?", [version]) ?? 0
            guard count > 0 else { return false }
            let tmp = "\(path).part-\(UUID().uuidString)"
            guard FileManager.default.createFile(atPath: tmp, contents: nil, attributes: [.posixPermissions: 0o600]),
                let out = FileHandle(forWritingAtPath: tmp)
            else { throw StoreError(.datasetUnwritable, "cannot write \(tmp)") }
            do {
                for n in 0..<count {  // one chunk at a time: memory stays at a chunk
                    guard let row = try await c.row("SELECT data FROM dataset_packages WHERE version = ? AND chunk = ?", [version, n]) else {
                        throw StoreError(.datasetIncomplete, "chunk \(n) of dataset \(version) is missing")
                    }
                    try out.write(contentsOf: Data(try row.blob("data")))
                }
                try out.synchronize()
                try out.close()
                guard rename(tmp, path) == 0 else { throw StoreError(.datasetUnwritable, "cannot move \(tmp) to \(path)") }
            } catch {
                try? out.close()
                try? FileManager.default.removeItem(atPath: tmp)
                throw error
            }
            return true
        }
    }

    public func datasets() async throws -> [DatasetRecord] {
        try await driver.read { c in try await c.query("SELECT * FROM datasets ORDER BY version").map(Self.dataset) }
    }

    public func dataset(version: UInt64) async throws -> DatasetRecord? {
        try await driver.read { c in try await c.row("SELECT * FROM datasets WHERE version = ?", [version]).map(Self.dataset) }
    }

    public func recordAttempt(version: UInt64, error: String, nextAttemptAt: Timestamp) async throws {
        try await driver.write { c in
            try await c.execute(
                "UPDATE datasets SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE version = ? AND state = 'pending'",
                [error, nextAttemptAt, version])
        }
    }

    public func recordDelivery(version: UInt64, ack: String, ackSignature: String, at: Timestamp, logBody: String) async throws {
        try await driver.write { c in
            try await driver.lockLogOrder(c)
            let n = try await c.execute(
                """
                UPDATE datasets SET state = 'delivered', attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL, ack = ?, ack_signature = ?,
                                    delivered_at = ? WHERE version = ? AND state = 'pending'
                """, [ack, ackSignature, at, version])
            guard n == 1 else { return }  // delivered already: recorded once
            _ = try await appendLog(c, kind: .datasetForwarded, body: logBody, at: at)
        }
    }

    public func setting(_ name: String) async throws -> String? {
        try await driver.read { c in try await c.row("SELECT value FROM settings WHERE name = ?", [name]).map { try $0.string("value") } }
    }

    public func setSetting(_ name: String, _ value: String) async throws {
        try await driver.write { c in
            try await c.execute(
                "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", [name, value])
        }
    }

    // MARK: Trust, recipients, signing keys

    public func addTrust(_ t: TrustRecord) async throws {
        try await driver.write { c in
            // Versions are taken in one order, like log entries.
            try await driver.lockLogOrder(c)
            let latest = try await c.int("SELECT MAX(version) FROM trust_documents") ?? 0
            guard Int64(bitPattern: t.version) > latest else {
                throw StoreError(.trustVersion, "trust document version \(t.version) is not above \(latest)")
            }
            try await c.execute(
                "INSERT INTO trust_documents (version, body, signature, root_cross_signature) VALUES (?, ?, ?, ?)",
                [t.version, t.body, t.signature, t.rootCrossSignature])
        }
    }

    public func latestTrust() async throws -> TrustRecord? {
        try await driver.read { c in try await c.row("SELECT * FROM trust_documents ORDER BY version DESC LIMIT 1").map(Self.trust) }
    }

    static let trustVersionSQL = "SELECT MAX(version) FROM trust_documents"
    // The lookups the intake makes one by one and at once (`intakeLookup`), written once.
    static let keyByIdSQL = "SELECT * FROM unit_keys WHERE key_id = ?"
    static let lastSeqSQL = "SELECT MAX(seq) FROM outcomes WHERE unit_id = ? AND claims_seq = 1"
    static let outcomeBySeqSQL = "SELECT * FROM outcomes WHERE unit_id = ? AND seq = ? AND claims_seq = 1"
    static let outcomeBySHA256SQL = "SELECT * FROM outcomes WHERE sha256 = ? ORDER BY spool_id LIMIT 1"

    public func latestTrustVersion() async throws -> UInt64 {
        try await driver.read { c in UInt64(bitPattern: try await c.int(Self.trustVersionSQL) ?? 0) }
    }

    public func trust(version: UInt64) async throws -> TrustRecord? {
        try await driver.read { c in try await c.row("SELECT * FROM trust_documents WHERE version = ?", [version]).map(Self.trust) }
    }

    public func addRecipient(_ r: RecipientRecord) async throws {
        try await driver.write { c in
            try await c.execute(
                "INSERT INTO recipients (fingerprint, recipient, state, decrypt_until, created_at) VALUES (?, ?, ?, ?, ?)",
                [r.fingerprint, r.recipient, r.state, r.decryptUntil, r.createdAt])
        }
    }

    public func recipients() async throws -> [RecipientRecord] {
        try await driver.read { c in
            try await c.query("SELECT * FROM recipients ORDER BY created_at, fingerprint").map {
                RecipientRecord(
                    fingerprint: try $0.string("fingerprint"), recipient: try $0.string("recipient"), state: try $0.state("state"),
                    decryptUntil: try $0.optionalTimestamp("decrypt_until"), createdAt: try $0.timestamp("created_at"))
            }
        }
    }

    public func setRecipientState(fingerprint: String, state: RecipientState, decryptUntil: Timestamp?) async throws {
        try await driver.write { c in
            try await c.execute("UPDATE recipients SET state = ?, decrypt_until = ? WHERE fingerprint = ?", [state, decryptUntil, fingerprint])
        }
    }

    public func putSigningKey(_ k: SigningKeyRecord) async throws {
        try await driver.write { c in
            try await c.execute(
                """
                INSERT INTO signing_keys (key_id, role, public_key, state, until, created_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (key_id) DO UPDATE SET state = excluded.state, until = excluded.until
                """, [k.keyId, k.role, k.publicKey, k.state, k.until, k.createdAt])
        }
    }

    public func signingKeys() async throws -> [SigningKeyRecord] {
        try await driver.read { c in
            try await c.query("SELECT * FROM signing_keys ORDER BY role, created_at, key_id").map {
                SigningKeyRecord(
                    role: try $0.state("role"), keyId: try $0.string("key_id"), publicKey: try $0.string("public_key"),
                    state: try $0.state("state"), until: try $0.optionalTimestamp("until"), createdAt: try $0.timestamp("created_at"))
            }
        }
    }
}
