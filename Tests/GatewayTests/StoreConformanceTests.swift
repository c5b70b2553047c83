import Foundation
import GatewayCore
import SealBase
import TestSupport
import Testing

@testable import GatewayStore

/// The store contract, written against the protocol: every backend must pass it.
/// Run on SQLite and on PostgreSQL (the throwaway cluster `make test` starts).
enum StoreConformance {
    /// Moments for records that keep a `Timestamp` (a store reads back only valid moments).
    static let t1 = Timestamp(unixSeconds: 1_795_000_000)
    static let t5 = Timestamp(unixSeconds: 1_795_000_500)
    static let t9 = Timestamp(unixSeconds: 1_795_000_900)

    static func decision(
        _ spool: Int64, unit: String?, seq: UInt64?, status: OutcomeStatus = .accepted, claims: Bool = true, package: String? = nil,
        sha: String = "aa"
    ) -> Decision {
        Decision(
            spoolId: spool, status: status, code: status == .rejected ? "signature_invalid" : nil, packageId: package ?? "p-\(spool)", unitId: unit,
            seq: seq,
            sha256: sha, kind: .snapshot, decidedAt: moment("2026-11-27T08:00:00Z"), claimsSeq: claims)
    }

    /// The code of the StoreError `body` throws: nil when it throws nothing, "other" for any
    /// other error (a test names the code it expects, not just the type).
    static func storeCode(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let e as StoreError { return e.code.rawValue } catch { return "other: \(error)" }
    }

    /// Group commit: writes that queue behind one another share a transaction; each returns only
    /// once it is committed (a reader sees its row then), and one that throws leaves nothing of
    /// its own while the rest of its group commits.
    /// `commits`: the driver's tally of group commits (`groupCommits`).
    static func groupedWritesShareACommit(_ driver: any SQLDriver, commits: () -> (groups: Int, bodies: Int)) async throws {
        try await driver.write { c in try await c.execute("CREATE TABLE t (x INTEGER NOT NULL UNIQUE, note TEXT)") }
        struct Refused: Error {}
        let results = await withTaskGroup(of: (Int, Bool, Int64?).self) { group in
            for i in 0..<20 {
                group.addTask {
                    do {
                        try await driver.groupedWrite { c in
                            try await c.execute("INSERT INTO t (x) VALUES (?)", [i])
                            // The first body holds the writer a while: the others queue behind it.
                            if i == 0 { try await Task.sleep(for: .milliseconds(100)) }
                            // Two bodies change a row and then fail: neither change stays.
                            if i == 7 || i == 13 {
                                try await c.execute("UPDATE t SET note = 'changed' WHERE x = 0")
                                throw Refused()
                            }
                        }
                        let seen = try await driver.read { c in try await c.int("SELECT COUNT(*) FROM t WHERE x = ?", [i]) }
                        return (i, true, seen)
                    } catch {
                        return (i, false, nil)
                    }
                }
            }
            var all: [(Int, Bool, Int64?)] = []
            for await r in group { all.append(r) }
            return all
        }
        let failed = Set(results.filter { !$0.1 }.map(\.0))
        #expect(failed == [7, 13])
        #expect(results.filter(\.1).allSatisfy { $0.2 == 1 }, "a grouped write returns once a reader sees it")
        let rows = try await driver.read { c in try await c.query("SELECT x, note FROM t ORDER BY x") }
        #expect(try rows.map { try $0.int("x") } == (0..<20).filter { !failed.contains(Int($0)) }.map(Int64.init))
        #expect(try rows.allSatisfy { try $0.optionalString("note") == nil }, "a failed body's change is undone")
        let tally = commits()
        #expect(tally.bodies == 18 && tally.groups < 18, "18 bodies committed in fewer commits (\(tally.groups))")
        // A plain write after the groups: its own transaction, committed.
        try await driver.write { c in try await c.execute("INSERT INTO t (x) VALUES (100)") }
        #expect(try await driver.read { c in try await c.int("SELECT COUNT(*) FROM t") } == 19)
    }

    /// A body that fails in a group (it lost a race to a row another body of the group wrote)
    /// throws only once its group committed: a retry then sees the winner. A plain write that
    /// queued for the writer meanwhile runs between two groups.
    static func failedGroupedWriteThrowsOnceCommitted(_ driver: any SQLDriver) async throws {
        try await driver.write { c in try await c.execute("CREATE TABLE t (x INTEGER NOT NULL UNIQUE)") }
        let seenAtFailure = await withTaskGroup(of: Int64?.self) { group in
            // A slow body holds the writer; two bodies writing the same row queue behind it (a
            // group of their own); a plain write comes last and runs between two groups.
            group.addTask {
                try? await driver.groupedWrite { c in  // lint: allow try? — its row is checked below
                    try await c.execute("INSERT INTO t (x) VALUES (2)")
                    try await Task.sleep(for: .milliseconds(150))
                }
                return nil
            }
            // Two bodies race for the same row: whichever loses (the order two tasks start in is
            // not the test's to fix) must see the winner's row when it learns it lost.
            for _ in 0..<2 {
                try? await Task.sleep(for: .milliseconds(30))  // lint: allow try? — ordering only
                group.addTask {
                    do {
                        try await driver.groupedWrite { c in try await c.execute("INSERT INTO t (x) VALUES (1)") }
                        return nil
                    } catch {
                        // What a reader sees when the loser learns it lost.
                        let count = "SELECT COUNT(*) FROM t WHERE x = 1"
                        return (try? await driver.read { c in try await c.int(count) }) ?? -2  // lint: allow try? — -2 fails below
                    }
                }
            }
            try? await Task.sleep(for: .milliseconds(30))  // lint: allow try? — ordering only
            group.addTask {
                try? await driver.write { c in try await c.execute("INSERT INTO t (x) VALUES (3)") }  // lint: allow try? — its row is checked below
                return nil
            }
            var seen: [Int64] = []
            for await r in group { if let r { seen.append(r) } }
            return seen
        }
        #expect(seenAtFailure == [1], "one body must lose, once its winner is committed (a reader saw \(seenAtFailure))")
        let rows = try await driver.read { c in try await c.query("SELECT x FROM t ORDER BY x") }
        #expect(try rows.map { try $0.int("x") } == [1, 2, 3])
    }

    static func run(_ store: any GatewayStore) async throws {
        // Units and keys
        try await store.addUnit(
            UnitRecord(id: "U1", name: "Một", createdAt: moment("2026-11-29T00:00:00Z")),
            key: UnitKeyRecord(keyId: "K1", unitId: "U1", publicKey: "RW1", state: .active, addedAt: moment("2026-11-29T00:00:00Z")),
            logBody: "{\"unit\":\"U1\"}")
        #expect(
            await Self.storeCode {
                try await store.addUnit(
                    UnitRecord(id: "U1", name: "x", createdAt: moment("2026-11-29T00:00:00Z")),
                    key: UnitKeyRecord(keyId: "K9", unitId: "U1", publicKey: "x", state: .active, addedAt: moment("2026-11-29T00:00:00Z")),
                    logBody: "{\"unit\":\"U1\"}")
            } == "unit_exists")
        #expect(
            await Self.storeCode {
                try await store.addUnit(
                    UnitRecord(id: "U2", name: "x", createdAt: moment("2026-11-29T00:00:00Z")),
                    key: UnitKeyRecord(keyId: "K1", unitId: "U2", publicKey: "x", state: .active, addedAt: moment("2026-11-29T00:00:00Z")),
                    logBody: "{\"unit\":\"U2\"}")
            } == "key_exists")
        #expect(try await store.logSize() == 1, "a refused registration logs nothing")
        #expect(try await store.unit("U2") == nil, "nor registers the unit")
        #expect(try await store.unit("U1")?.name == "Một")
        #expect(try await store.unitKey(keyId: "K1")?.unitId == "U1")
        #expect(try await store.unitKey(keyId: "nope") == nil)
        #expect(try await store.units().map(\.id) == ["U1"])

        // Tokens are looked up by hash only.
        try await store.addToken(TokenRecord(hash: "h1", role: .admin, unitId: nil, createdAt: moment("2026-11-29T00:00:00Z")))
        #expect(try await store.token(hash: "h1")?.role == .admin)
        #expect(try await store.token(hash: "h2") == nil)

        // Spool: pending until decided.
        let s1 = try await store.addSpool(sha256: "aa", size: 10, path: "/x/1", receivedAt: moment("2026-11-29T00:00:00Z"))
        // A small body kept in its record (every byte value, a zero among them): read back whole.
        let kept = [UInt8](0...255) + [0, 0, 255]
        let s2 = try await store.addSpool(sha256: "bb", size: 10, path: "/x/2", receivedAt: moment("2026-11-29T00:00:00Z"), body: kept)
        #expect(try await store.pendingSpool().map(\.id) == [s1, s2])
        #expect(try await store.pendingSpool().map(\.inStore) == [false, true])
        #expect(try await store.spoolBody(id: s2) == kept)
        #expect(try await store.spoolBody(id: s1) == nil)
        #expect(try await store.spoolBody(id: 987_654) == nil)

        // A decision with its import, receipt built from the leaf, in one transaction.
        let snap = SnapshotImport(
            unitId: "U1", packageId: "p-\(s1)", organizations: [["U1", "Đảng bộ", "unit_committee", ""]],
            members: [Array(repeating: "x", count: 14), Array(repeating: "y", count: 14)])
        let o1 = try await store.commit(decision(s1, unit: "U1", seq: 1), snapshot: snap, logEntry: "{\"e\":1}", logSince: 0) { leaf, entries in
            #expect(entries.last?.body == "{\"e\":1}" && entries.last?.index == leaf)
            return ReceiptBundle(receipt: "{\"leaf\":\(leaf)}", signature: "sig", checkpoint: (leaf + 1, "note"))
        }
        #expect(o1.receipt == "{\"leaf\":\(o1.leaf)}")
        #expect(try await store.pendingSpool().map(\.id) == [s2])
        #expect(try await store.outcome(unitId: "U1", seq: 1)?.spoolId == s1)
        #expect(try await store.outcome(packageId: "p-\(s1)")?.status == .accepted)
        #expect(try await store.lastSeq(unitId: "U1") == 1)
        #expect(try await store.currentMembers(unitId: "U1") == 2)

        // The same (unit, seq) cannot be claimed twice; a failed receipt rolls everything back.
        #expect(
            await Self.storeCode {
                _ = try await store.commit(decision(s2, unit: "U1", seq: 1), snapshot: nil, logEntry: "{}", logSince: 0) { _, _ in
                    ReceiptBundle(receipt: "x", signature: "y", checkpoint: nil)
                }
            } == "seq_taken")
        struct Boom: Error {}
        let snap2 = SnapshotImport(unitId: "U1", packageId: "p-\(s2)", organizations: [], members: [Array(repeating: "z", count: 14)])
        await #expect(throws: Boom.self) {
            _ = try await store.commit(decision(s2, unit: "U1", seq: 2), snapshot: snap2, logEntry: "{}", logSince: 0) { _, _ in throw Boom() }
        }
        #expect(try await store.currentMembers(unitId: "U1") == 2, "a failed commit must not import")
        #expect(try await store.pendingSpool().map(\.id) == [s2])
        #expect(try await store.outcome(unitId: "U1", seq: 2) == nil)

        // A rejection that does not claim the seq leaves it free.
        _ = try await store.commit(decision(s2, unit: "U1", seq: 2, status: .rejected, claims: false), snapshot: nil, logEntry: "{}", logSince: 0) {
            _, _ in
            ReceiptBundle(receipt: "r", signature: "s", checkpoint: nil)
        }
        #expect(try await store.outcome(unitId: "U1", seq: 2) == nil)
        #expect(try await store.lastSeq(unitId: "U1") == 1)
        // Decided, its body stays until the retention policy prunes it, which clears it.
        let due = try await store.decidedSpool(before: moment("2100-01-01T00:00:00Z"))
        #expect(due.map(\.entry.id) == [s1, s2] && due.map(\.entry.inStore) == [false, true])
        #expect(try await store.spoolBody(id: s2) == kept)
        try await store.markSpoolPruned(ids: [s2])
        let pruned = try await store.spool(id: s2)
        #expect(pruned?.state == .pruned && pruned?.inStore == false)
        #expect(try await store.spoolBody(id: s2) == nil)

        // The intake's lookups in one read: what the lookups one by one find.
        let found = try await store.intakeLookup(keyId: "K1", unitId: "U1", seq: 1, sha256: "aa")
        #expect(found.key?.unitId == "U1" && found.trustVersion == 0 && found.lastSeq == 1)
        #expect(found.seqOutcome?.spoolId == s1 && found.sameBytes?.spoolId == s1)
        let free = try await store.intakeLookup(keyId: "K9", unitId: "U1", seq: 2, sha256: "zz")
        #expect(free.key == nil && free.lastSeq == 1 && free.seqOutcome == nil && free.sameBytes == nil, "seq 2's rejection claimed nothing")
        let keyOnly = try await store.intakeLookup(keyId: "K1", unitId: nil, seq: nil, sha256: nil)
        #expect(keyOnly.key?.keyId == "K1" && keyOnly.lastSeq == nil && keyOnly.seqOutcome == nil && keyOnly.sameBytes == nil)
        let beyond = try await store.intakeLookup(keyId: "K1", unitId: "U1", seq: UInt64(Int64.max) + 1, sha256: nil)
        #expect(beyond.key != nil && beyond.lastSeq == nil && beyond.seqOutcome == nil, "a seq the store cannot order is not looked up")

        // A newer snapshot replaces the current one; the old one stays as history.
        let s3 = try await store.addSpool(sha256: "cc", size: 1, path: "/x/3", receivedAt: moment("2026-11-29T00:00:00Z"))
        _ = try await store.commit(
            decision(s3, unit: "U1", seq: 3),
            snapshot: SnapshotImport(unitId: "U1", packageId: "p-\(s3)", organizations: [], members: [Array(repeating: "n", count: 14)]),
            logEntry: "{}", logSince: 0
        ) { _, _ in ReceiptBundle(receipt: "a", signature: "b", checkpoint: nil) }
        #expect(try await store.currentMembers(unitId: "U1") == 1)
        let status = try await store.unitStatus("U1")
        #expect(status?.lastSeq == 3 && status?.members == 1 && status?.keys.count == 1)
        // A seq below one committed meanwhile (two of a unit's packages decided at once, the later
        // committed first) is not committed: its decision is made again and finds it not increasing.
        let s4 = try await store.addSpool(sha256: "dd", size: 1, path: "/x/4", receivedAt: moment("2026-11-29T00:00:00Z"))
        #expect(
            await Self.storeCode {
                _ = try await store.commit(
                    decision(s4, unit: "U1", seq: 2, sha: "dd"),
                    snapshot: SnapshotImport(unitId: "U1", packageId: "p-\(s4)", organizations: [], members: [Array(repeating: "o", count: 14)]),
                    logEntry: "{}", logSince: 0
                ) { _, _ in ReceiptBundle(receipt: "c", signature: "d", checkpoint: nil) }
            } == "seq_taken")
        let afterOlder = (try await store.unitStatus("U1")?.lastSeq, try await store.currentMembers(unitId: "U1"))
        #expect(afterOlder.0 == 3 && afterOlder.1 == 1, "an older seq's snapshot replaced the newer")

        // Leaves are consecutive log indexes; the checkpoint returned with a receipt is stored.
        // The unit's registration is the first entry, in the transaction that registered it.
        let size = try await store.logSize()
        #expect(size == 4)
        #expect(try await store.latestCheckpoint()?.size == 2)
        #expect(try await store.logEntries(start: 0, end: 4).map(\.index) == [0, 1, 2, 3])
        #expect(try await store.logEntries(start: 0, end: 1).map(\.kind.rawValue) == ["unit_registered"])
        #expect(try await store.appendLog(kind: .trust, body: "{}", at: moment("2026-11-29T00:00:00Z")) == size)

        // Trust documents only move forward.
        try await store.addTrust(TrustRecord(version: 1, body: "{}", signature: "s"))
        #expect(await Self.storeCode { try await store.addTrust(TrustRecord(version: 1, body: "{}", signature: "s")) } == "trust_version")
        try await store.addTrust(TrustRecord(version: 2, body: "{\"v\":2}", signature: "s2"))
        #expect(try await store.latestTrust()?.version == 2)
        #expect(try await store.latestTrustVersion() == 2)
        #expect(try await store.intakeLookup(keyId: "K1", unitId: nil, seq: nil, sha256: nil).trustVersion == 2)

        // Signing keys: inserted, then their state moves on in place (one row per key).
        try await store.putSigningKey(SigningKeyRecord(role: .receipt, keyId: "K1", publicKey: "p1", state: .pending, until: nil, createdAt: Self.t1))
        try await store.putSigningKey(SigningKeyRecord(role: .log, keyId: "K2", publicKey: "p2", state: .active, until: nil, createdAt: Self.t1))
        try await store.putSigningKey(
            SigningKeyRecord(role: .receipt, keyId: "K1", publicKey: "ignored", state: .verifyOnly, until: Self.t9, createdAt: Self.t5))
        let keys = try await store.signingKeys()
        #expect(keys.count == 2)
        #expect(
            keys.first { $0.keyId == "K1" }
                == SigningKeyRecord(role: .receipt, keyId: "K1", publicKey: "p1", state: .verifyOnly, until: Self.t9, createdAt: Self.t1))

        // A small body recorded by its decision's own commit (`Decision.newSpool`): the record made
        // in the transaction — decided, its bytes kept — and the decision and its log entry given
        // its id; a commit that fails (here its seq taken) leaves no record.
        let recordsBefore = try await store.spoolPaths().count
        var taken = decision(0, unit: "U1", seq: 3, sha: "ee")
        taken.newSpool = NewSpoolRecord(sha256: "ee", size: 259, path: "/x/new", receivedAt: moment("2026-11-29T00:00:00Z"), body: kept)
        #expect(
            await Self.storeCode {
                _ = try await store.commit(taken, snapshot: nil, corrections: nil, logEntry: { "{\"spool\":\($0)}" }, logSince: 0) { _, _ in
                    ReceiptBundle(receipt: "x", signature: "y", checkpoint: nil)
                }
            } == "seq_taken")
        #expect(try await store.spoolPaths().count == recordsBefore, "a commit that failed recorded its body")
        var fresh = decision(0, unit: "U1", seq: 9, status: .rejected, claims: false, sha: "ee")
        fresh.newSpool = taken.newSpool
        var given: Int64?
        let made = try await store.commit(
            fresh, snapshot: nil, corrections: nil,
            logEntry: {
                given = $0
                return "{\"spool\":\($0)}"
            }, logSince: 0,
            makeReceipt: { _, entries in ReceiptBundle(receipt: entries.last?.body ?? "", signature: "s", checkpoint: nil) })
        let record = try await store.spool(id: made.spoolId)
        #expect(made.spoolId > 0 && given == made.spoolId && made.receipt == "{\"spool\":\(made.spoolId)}", "\(made)")
        #expect(
            record?.state == .done && record?.inStore == true && record?.path == "/x/new" && record?.sha256 == "ee", "\(String(describing: record))")
        #expect(try await store.spoolBody(id: made.spoolId) == kept)
        #expect(try await store.outcome(spoolId: made.spoolId)?.status == .rejected)
        #expect(try await store.pendingSpool().allSatisfy { $0.id != made.spoolId })
    }
}

extension StoreConformance {
    /// The schema refuses a state or role the code does not know (CHECK constraints on
    /// PostgreSQL, triggers on SQLite), on insert and on update; and the store's enums are the
    /// lists migration v14 froze.
    static func refusesUnknownStates(_ store: SQLGatewayStore) async throws {
        let enums: [String: Set<String>] = [
            "unit_keys.state": Set(UnitKeyState.allCases.map(\.rawValue)), "outcomes.status": Set(OutcomeStatus.allCases.map(\.rawValue)),
            "datasets.state": Set(DatasetState.allCases.map(\.rawValue)), "tokens.role": Set(TokenRole.allCases.map(\.rawValue)),
            "recipients.state": Set(RecipientState.allCases.map(\.rawValue)), "signing_keys.state": Set(SigningKeyState.allCases.map(\.rawValue)),
            "spool.state": Set(SpoolState.allCases.map(\.rawValue)),
        ]
        #expect(Dictionary(uniqueKeysWithValues: Schema.typedStates.map { ("\($0.table).\($0.column)", Set($0.values)) }) == enums)
        let kinds: [String: Set<String>] = [
            "signing_keys.role": Set(SigningKeyRole.allCases.map(\.rawValue)), "outcomes.kind": Set(OutcomeKind.allCases.map(\.rawValue)),
            "log_entries.kind": Set(LogKind.allCases.map(\.rawValue)),
        ]
        #expect(Dictionary(uniqueKeysWithValues: Schema.typedKinds.map { ("\($0.table).\($0.column)", Set($0.values)) }) == kinds)
        try await store.addToken(TokenRecord(hash: "typed", role: .admin, unitId: nil, createdAt: moment("2026-11-29T00:00:00Z")))
        let id = try await store.addSpool(sha256: "typed", size: 1, path: "/x/typed", receivedAt: moment("2026-11-29T00:00:00Z"))
        try await store.putSigningKey(SigningKeyRecord(role: .log, keyId: "typed", publicKey: "p", state: .active, until: nil, createdAt: Self.t1))
        let idx = try await store.appendLog(kind: .trust, body: "{}", at: moment("2026-11-29T00:00:00Z"))
        // A moment is stored as its one text, byte for byte what every database made so far holds.
        let stored = try await store.driver.read { c in
            try await c.query("SELECT created_at FROM log_entries WHERE idx = ?", [idx]).map { try $0.string("created_at") }
        }
        #expect(stored == ["2026-11-29T00:00:00Z"])
        let decided = try await store.addSpool(sha256: "typed2", size: 1, path: "/x/typed2", receivedAt: moment("2026-11-29T00:00:00Z"))
        let outcome = try await store.commit(
            decision(decided, unit: nil, seq: nil, status: .rejected, claims: false), snapshot: nil, logEntry: "{}", logSince: 0
        ) { _, _ in ReceiptBundle(receipt: "{}", signature: "s", checkpoint: nil) }
        #expect(outcome.kind == .snapshot)
        for (sql, binds) in [
            ("UPDATE tokens SET role = 'root' WHERE hash = 'typed'", [any SQLBindable]()),
            ("UPDATE spool SET state = 'lost' WHERE id = ?", [id]),
            ("INSERT INTO recipients (fingerprint, recipient, state, created_at) VALUES ('F', 'age1', 'Active', 't')", []),
            ("INSERT INTO signing_keys (key_id, role, public_key, state, created_at) VALUES ('K', 'log', 'p', 'verify_only', 't')", []),
            // migration v16: a signing key's role, a log entry's kind, a decision's package kind
            ("INSERT INTO signing_keys (key_id, role, public_key, state, created_at) VALUES ('K', 'root', 'p', 'active', 't')", []),
            ("UPDATE signing_keys SET role = 'Log' WHERE key_id = 'typed'", []),
            ("INSERT INTO log_entries (idx, kind, body, created_at) VALUES (1000000, 'test', '{}', 't')", []),
            ("UPDATE log_entries SET kind = 'outcomes' WHERE idx = ?", [idx]),
            ("UPDATE outcomes SET kind = 'Snapshot' WHERE spool_id = ?", [outcome.spoolId]),
        ] {
            #expect(await storeCode { _ = try await store.driver.write { c in try await c.execute(sql, binds) } } != nil, "refused: \(sql)")
        }
        #expect(try await store.token(hash: "typed")?.role == .admin)
        #expect(try await store.spool(id: id)?.state == .pending)
        #expect(try await store.signingKeys().first { $0.keyId == "typed" }?.role == .log)
        #expect(try await store.logEntries(start: idx, end: idx + 1).map(\.kind) == [.trust])
        #expect(try await store.outcome(spoolId: decided)?.kind == .snapshot)
        // A stored time that is not a moment (a damaged row) is never read as one: a damaged
        // grace cannot make a replaced key good, nor a damaged time pass for any other.
        try await store.addUnit(
            UnitRecord(id: "DMG", name: "x", createdAt: Self.t1),
            key: UnitKeyRecord(keyId: "KDMG", unitId: "DMG", publicKey: "RW", state: .active, addedAt: Self.t1), logBody: "{}")
        for sql in [
            "UPDATE unit_keys SET state = 'retiring', switched_at = '\(Self.t9.text)', valid_until = 'garbage' WHERE key_id = 'KDMG'",
            "UPDATE unit_keys SET valid_until = '2026-99-99T99:99:99Z' WHERE key_id = 'KDMG'",
            "UPDATE unit_keys SET valid_until = '' WHERE key_id = 'KDMG'",
        ] {
            try await store.driver.write { c in try await c.execute(sql) }
            #expect(await storeCode { _ = try await store.unitKey(keyId: "KDMG") } == "store_failure", "\(sql)")
        }
        try await store.driver.write { c in try await c.execute("UPDATE tokens SET created_at = 'garbage' WHERE hash = 'typed'") }
        #expect(await storeCode { _ = try await store.token(hash: "typed") } == "store_failure")
        // A revoked key's compromise time as older versions stored it (any text of the right shape,
        // a 31 November) is read as none: the key stays revoked, and the unit stays listable.
        try await store.driver.write { c in
            try await c.execute(
                "UPDATE unit_keys SET state = 'revoked', switched_at = NULL, valid_until = NULL, compromised_at = '2026-11-31T00:00:00Z' WHERE key_id = 'KDMG'"
            )
        }
        let revoked = try await store.unitKey(keyId: "KDMG")
        #expect(revoked?.state == .revoked && revoked?.compromisedAt == nil)
        #expect(try await store.unitStatus("DMG")?.keys.contains { $0.keyId == "KDMG" } == true)
    }
}

extension StoreConformance {
    /// The citizen ids and member ids a dataset of the store's records withholds as being in more
    /// than one unit (the synthesis, over `datasetRecords`: what the review holds back does not count).
    static func crossUnitConflicts(_ store: any GatewayStore) async throws -> (citizenIds: Set<String>, memberIds: Set<String>) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("conflicts-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try await Synthesis.build(store: store, campaign: try await Campaign.load(store), into: dir)
        let lines = try String(contentsOfFile: "\(dir)/conflicts.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        let fields = lines.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return (Set(fields.filter { $0[0] == "citizen_id" }.map { $0[1] }), Set(fields.filter { $0[0] == "member_id" }.map { $0[1] }))
    }

    static func member(_ cid: String, _ mid: String, name: String = "Nguyễn Văn A") -> [String] {
        [mid, name, "nam", "1980-01-01", cid, "2000-01-01", "2001-01-01", "chinh_thuc", "O1", "", "", "Kinh", "HCM", "dai_hoc"]
    }

    /// The rest of the contract: key lifecycle, tokens, records, corrections, datasets and
    /// their delivery, settings, recipients, leases. Runs on a fresh store.
    static func runLifecycle(_ store: any GatewayStore, keepsPackages: Bool) async throws {
        let k = { (id: String, unit: String) in
            UnitKeyRecord(keyId: id, unitId: unit, publicKey: "RW\(id)", state: .active, addedAt: moment("2026-11-01T00:00:00Z"))
        }
        try await store.addUnit(
            UnitRecord(id: "A", name: "A", createdAt: moment("2026-11-29T00:00:00Z")), key: k("KA", "A"), logBody: "{\"unit\":\"A\"}")
        try await store.addUnit(
            UnitRecord(id: "B", name: "B", createdAt: moment("2026-11-29T00:00:00Z")), key: k("KB", "B"), logBody: "{\"unit\":\"B\"}")

        // Two units' records, with one citizen id in both; order of rows is kept.
        var n: Int64 = 0
        func accept(_ unit: String, seq: UInt64, members: [[String]]) async throws -> Outcome {
            let sp = try await store.addSpool(sha256: "s\(unit)\(seq)", size: 1, path: "/x/\(unit)\(seq)", receivedAt: moment("2026-11-29T00:00:00Z"))
            n += 1
            return try await store.commit(
                Decision(
                    spoolId: sp, status: .accepted, code: nil, packageId: "p-\(unit)-\(seq)", unitId: unit, seq: seq, sha256: "s",
                    kind: .snapshot, decidedAt: moment("2026-11-2\(n)T00:00:00Z"), claimsSeq: true, keyId: "K\(unit)",
                    created: moment("2026-11-2\(n)T00:00:00Z")),
                snapshot: SnapshotImport(
                    unitId: unit, packageId: "p-\(unit)-\(seq)", organizations: [["O1", "Chi bộ 1", "cell", ""], ["O2", "Chi bộ 2", "cell", "O1"]],
                    members: members),
                logEntry: "{\"\(unit)\":\(seq)}", logSince: 0
            ) { _, _ in ReceiptBundle(receipt: "{\"r\":\"\(unit)\(seq)\"}", signature: "s", checkpoint: nil) }
        }
        _ = try await accept("A", seq: 1, members: [member("001", "M1"), member("002", "M2"), member("003", "M3")])
        _ = try await accept("B", seq: 1, members: [member("003", "M9"), member("004", "M4")])
        let recs = try await store.currentRecords(unitId: "A")
        #expect(recs?.members.map { $0[4] } == ["001", "002", "003"])
        #expect(recs?.organizations.map { $0[0] } == ["O1", "O2"] && recs?.organizations[1][3] == "O1")
        #expect(try await store.currentRecords(unitId: "nobody") == nil)
        let cards = try await store.currentMembers(unitId: "A", citizenIds: [], cardNumbers: true).cards
        let nobody = try await store.currentMembers(unitId: "nobody", citizenIds: [], cardNumbers: true).cards
        #expect(cards == ["M1": "001", "M2": "002", "M3": "003"] && nobody.isEmpty, "\(cards)")
        let dups = try await crossUnitConflicts(store)
        #expect(dups.citizenIds == ["003"] && dups.memberIds.isEmpty)
        let found = try await store.currentMembers(unitId: "A", citizenIds: ["002", "003", "004", "999"], cardNumbers: false)
        #expect(found.fields.keys.sorted() == ["002", "003"], "only the unit's own current members: \(found.fields.keys.sorted())")
        #expect(
            found.fields["002"]?["full_name"] == "Nguyễn Văn A" && found.fields["003"]?["member_id"] == "M3" && found.fields["002"]?.count == 14)
        #expect(found.located?.rows.keys.sorted() == ["002", "003"])
        let nobodys = try await store.currentMembers(unitId: "nobody", citizenIds: ["002"], cardNumbers: false)
        #expect(nobodys.fields.isEmpty && nobodys.located == nil)
        #expect(try await store.currentMembers(unitId: "A", citizenIds: [], cardNumbers: false).fields.isEmpty)

        // A correction applies only where the field still holds the old value, in the commit.
        /// A correction package of `unit` committed (its own spool entry); `signed`: with its key and creation time.
        func correct(
            _ unit: String, seq: UInt64, package: String, at time: String, _ corrections: [MemberCorrection], located: MemberRows? = nil,
            signed: Bool = true
        ) async throws {
            let sp = try await store.addSpool(sha256: "c-\(package)", size: 1, path: "/x/\(package)", receivedAt: moment("2026-11-29T00:00:00Z"))
            _ = try await store.commit(
                Decision(
                    spoolId: sp, status: .accepted, code: nil, packageId: package, unitId: unit, seq: seq, sha256: "c-\(package)",
                    kind: .correction, decidedAt: moment(time), claimsSeq: true, keyId: signed ? "K\(unit)" : nil,
                    created: signed ? moment(time) : nil),
                snapshot: nil, corrections: CorrectionImport(unitId: unit, corrections: corrections, located: located), logEntry: "{}", logSince: 0
            ) { _, _ in ReceiptBundle(receipt: "{}", signature: "s", checkpoint: nil) }
        }
        try await correct(
            "A", seq: 2, package: "p-A-2", at: "2026-11-28T00:00:00Z",
            [MemberCorrection(citizenId: "002", field: "full_name", oldValue: "Nguyễn Văn A", newValue: "Trần Thị B")])
        #expect(try await store.currentMembers(unitId: "A", citizenIds: ["002"], cardNumbers: false).fields["002"]?["full_name"] == "Trần Thị B")
        #expect(
            try await store.currentMembers(unitId: "A", citizenIds: ["001"], cardNumbers: false).fields["001"]?["full_name"] == "Nguyễn Văn A",
            "one member changed")
        #expect(try await store.currentRecords(unitId: "A")?.members.map { $0[4] } == ["001", "002", "003"], "a correction keeps the row order")
        #expect(
            await Self.storeCode {
                try await correct(
                    "A", seq: 3, package: "p-A-3", at: "2026-11-28T00:00:01Z",
                    [MemberCorrection(citizenId: "002", field: "full_name", oldValue: "stale", newValue: "X")], signed: false)
            } == "correction_conflict")
        #expect(try await store.lastSeq(unitId: "A") == 2, "a conflicting correction rolls its whole commit back")
        // Where the decision found the members is used while the snapshot is the same one: a row
        // number is only a place to look (one that is another member's makes a conflict, never a
        // change of that member); for another snapshot the commit finds them itself.
        let whereA = try #require(try await store.currentMembers(unitId: "A", citizenIds: ["001", "002"], cardNumbers: false).located)
        let misplaced = ["002": try #require(whereA.rows["001"])]
        #expect(
            await Self.storeCode {
                try await correct(
                    "A", seq: 3, package: "p-A-3b", at: "2026-11-28T00:00:01Z",
                    [MemberCorrection(citizenId: "002", field: "full_name", oldValue: "Trần Thị B", newValue: "X")],
                    located: MemberRows(snapshot: whereA.snapshot, rows: misplaced), signed: false)
            } == "correction_conflict")
        #expect(try await store.currentMembers(unitId: "A", citizenIds: ["001"], cardNumbers: false).fields["001"]?["full_name"] == "Nguyễn Văn A")
        let whereB = try #require(try await store.currentMembers(unitId: "B", citizenIds: ["004"], cardNumbers: false).located)
        try await correct(
            "B", seq: 2, package: "p-B-2", at: "2026-11-28T00:00:00Z",
            [MemberCorrection(citizenId: "004", field: "member_id", oldValue: "M4", newValue: "M5")],
            located: MemberRows(snapshot: whereB.snapshot + 1000, rows: ["004": (whereB.rows["004"] ?? 0) + 1]))
        #expect(try await store.currentMembers(unitId: "B", citizenIds: ["004"], cardNumbers: false).fields["004"]?["member_id"] == "M5")

        // The campaign view.
        let rows = try await store.campaignRows()
        #expect(rows.map(\.unitId) == ["A", "B"])
        #expect(
            rows[0].accepted == 1 && rows[0].members == 3 && rows[0].lastAcceptedAt == moment("2026-11-28T00:00:00Z")
                && rows[0].currentReceipt == "{\"r\":\"A1\"}")

        // Unit key rotation and revocation, each logged in its transaction.
        let size0 = try await store.logSize()
        try await store.rotateUnitKey(
            unitId: "A", oldKeyId: "KA", newKeyId: "KA2", newPublicKey: "RWKA2", switchAt: moment("2026-11-29T00:00:00Z"),
            oldValidUntil: moment("2026-12-13T00:00:00Z"), logBody: "{\"rot\":1}")
        #expect(try await store.unitKey(keyId: "KA")?.state == .retiring)
        #expect(try await store.unitKey(keyId: "KA2")?.state == .active)
        #expect(
            await Self.storeCode {
                try await store.rotateUnitKey(
                    unitId: "A", oldKeyId: "KA", newKeyId: "KA3", newPublicKey: "x", switchAt: moment("2026-11-29T00:00:00Z"),
                    oldValidUntil: moment("2026-11-29T00:00:00Z"), logBody: "{}")
            } == "key_state")
        let flagged = try await store.revokeUnitKey(
            unitId: "A", keyId: "KA", compromisedAt: moment("2026-11-20T00:00:00Z"), at: moment("2026-11-29T01:00:00Z"), logBody: "{\"rev\":1}")
        #expect(flagged.map(\.packageId) == ["p-A-1", "p-A-2"], "the accepted packages it signed after the compromise are flagged; not B's")
        #expect(try await store.flaggedPackages(unitId: nil).count == 2)
        #expect(
            await Self.storeCode {
                _ = try await store.revokeUnitKey(
                    unitId: "A", keyId: "KA", compromisedAt: moment("2026-11-29T00:00:00Z"), at: moment("2026-11-29T00:00:00Z"), logBody: "{}")
            }
                == "key_state")
        try await store.addUnitKey(
            UnitKeyRecord(keyId: "KA9", unitId: "A", publicKey: "RW9", state: .active, addedAt: moment("2026-11-29T00:00:00Z")),
            logBody: "{\"add\":1}")
        #expect(try await store.unitKeys(unitId: "A").map(\.keyId) == ["KA", "KA2", "KA9"], "keys in the order they were added, on every backend")
        #expect(try await store.unitStatus("A")?.keys.map(\.keyId) == ["KA", "KA2", "KA9"])
        #expect(
            try await store.logEntries(start: size0, end: size0 + 3).map(\.kind.rawValue) == [
                "unit_key_rotated", "unit_key_revoked", "unit_key_added",
            ])

        // Tokens: revoked by id prefix, logged, then never returned by hash.
        try await store.addToken(TokenRecord(hash: "abcdef0123456789aa", role: .unit, unitId: "A", createdAt: moment("2026-11-29T00:00:00Z")))
        let t = try await store.revokeToken(id: "ABCDEF01", at: moment("2026-11-29T02:00:00Z")) { "{\"tok\":\"\($0.id)\"}" }
        #expect(t.revokedAt == moment("2026-11-29T02:00:00Z"))
        #expect(try await store.token(hash: "abcdef0123456789aa") == nil)
        #expect(try await store.tokens().first?.revokedAt != nil)
        #expect(
            await Self.storeCode { _ = try await store.revokeToken(id: "abcdef01", at: moment("2026-11-29T00:00:00Z")) { _ in "{}" } }
                == "token_revoked")
        #expect(
            await Self.storeCode { _ = try await store.revokeToken(id: "ffffff", at: moment("2026-11-29T00:00:00Z")) { _ in "{}" } }
                == "token_unknown")

        // Datasets and their delivery: one version once, delivered once.
        let file = NSTemporaryDirectory() + "sealgate-ds-" + UUID().uuidString
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        defer {
            try? FileManager.default.removeItem(atPath: file)
            try? FileManager.default.removeItem(atPath: file + ".copy")
        }
        let d = DatasetRecord(
            version: 1, packageId: "ds-1", path: file, sha256: "h", size: 10, members: 4, organizations: 4, conflicts: 2,
            createdAt: moment("2026-11-29T03:00:00Z"))
        try await store.addDataset(d, logBody: "{\"ds\":1}")
        // PostgreSQL keeps the package's bytes for processes on other machines; SQLite keeps none.
        let kept = try await store.fetchDatasetPackage(version: 1, to: file + ".copy")
        #expect(kept == keepsPackages)
        if kept { #expect(FileManager.default.contents(atPath: file + ".copy") == Data(bytes)) }
        #expect(try await store.fetchDatasetPackage(version: 9, to: file + ".none") == false)
        #expect(await Self.storeCode { try await store.addDataset(d, logBody: "{}") } == "dataset_exists")
        try await store.recordAttempt(version: 1, error: "503", nextAttemptAt: moment("2026-11-29T03:00:05Z"))
        let attempted = try await store.dataset(version: 1)
        #expect(attempted?.attempts == 1 && attempted?.lastError == "503")
        let before = try await store.logSize()
        try await store.recordDelivery(version: 1, ack: "{}", ackSignature: "sig", at: moment("2026-11-29T03:01:00Z"), logBody: "{\"fw\":1}")
        try await store.recordDelivery(version: 1, ack: "{}", ackSignature: "sig", at: moment("2026-11-29T03:02:00Z"), logBody: "{\"fw\":2}")
        #expect(try await store.logSize() == before + 1, "a delivery is logged once")
        let delivered = try await store.dataset(version: 1)
        #expect(try await store.datasets().map(\.state) == [DatasetState.delivered])
        #expect(delivered?.attempts == 2 && delivered?.lastError == nil)

        // Settings, recipients.
        #expect(try await store.setting("campaign") == nil)
        try await store.setSetting("campaign", "{\"a\":1}")
        try await store.setSetting("campaign", "{\"a\":2}")
        #expect(try await store.setting("campaign") == "{\"a\":2}")
        try await store.addRecipient(RecipientRecord(fingerprint: "F1", recipient: "age1x", state: .active, decryptUntil: nil, createdAt: Self.t1))
        try await store.setRecipientState(fingerprint: "F1", state: .decryptOnly, decryptUntil: Self.t9)
        #expect(
            try await store.recipients() == [
                RecipientRecord(fingerprint: "F1", recipient: "age1x", state: .decryptOnly, decryptUntil: Self.t9, createdAt: Self.t1)
            ])

        // Leases: one holder at a time; free again once released.
        let lease = try await store.tryLease("forwarder")
        #expect(await lease?.isHeld() == true)
        #expect(try await store.tryLease("forwarder") == nil, "a second holder while the first holds it")
        let other = try await store.tryLease("checkpoint-signer")
        #expect(other != nil, "leases are independent of each other")
        await lease?.release()
        #expect(await lease?.isHeld() == false)
        let again = try await store.tryLease("forwarder")
        #expect(again != nil)
        await again?.release()
        await other?.release()
    }
}

struct SQLiteStoreConformanceTests {
    @Test func sqliteBackendConforms() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        try await StoreConformance.run(try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite"))
        // Reopening runs the migrations again without harm and keeps the data.
        let again = try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite")
        #expect(try await again.lastSeq(unitId: "U1") == 3)
    }

    /// A commit is on disk before it returns (`synchronous = FULL` on the writer; GRDB's WAL set-up
    /// had left it NORMAL, where a power cut loses the last commits: a receipt sent for a lost decision).
    @Test func sqliteCommitsAreDurable() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let store = try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite")
        let driver = try #require(store.driver as? SQLiteDriver)
        #expect(try driver.writerSynchronous() == 2)
    }

    /// Group commit on SQLite (`StoreConformance.groupedWritesShareACommit`).
    @Test func groupedWritesShareACommitAndAFailureUndoesOnlyItsOwn() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let driver = try SQLiteDriver(path: "\(dir)/g.sqlite")
        try await StoreConformance.groupedWritesShareACommit(driver) { driver.groupCommits }
    }

    /// A quick read (`SQLiteDriver.quickRead`: a connection of its own used from the caller's
    /// thread, its read transaction begun and ended with statements compiled once; none free: an
    /// ordinary read) sees every commit made before it, its statements in one access read one
    /// snapshot, and one that fails leaves no transaction open on its connection (the next would
    /// fail to begin, or read an old snapshot) — with 2 connections of its own, 1, and none;
    /// and 40 at once are each answered (more than the connections: the rest read as others do).
    @Test(arguments: [2, 1, 0]) func quickReadsSeeEachCommitAndAFailedOneLeavesNoTransaction(connections: Int) async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let driver = try SQLiteDriver(path: "\(dir)/g.sqlite", quickReaders: connections)
        try await driver.write { c in try await c.execute("CREATE TABLE t (x INTEGER NOT NULL)") }
        for i in 1...6 {
            await #expect(throws: StoreError.self) { try await driver.quickRead { c in try await c.query("SELECT nope FROM t", []) } }
            try await driver.write { c in try await c.execute("INSERT INTO t (x) VALUES (?)", [i]) }
            let rows = try await driver.quickRead { c in
                try await c.queries([SQLQuery("SELECT COUNT(*) FROM t"), SQLQuery("SELECT MAX(x) FROM t")]).map { try $0.firstInt() }
            }
            #expect(rows == [Int64(i), Int64(i)], "read \(i): \(rows)")
        }
        let answers = try await withThrowingTaskGroup(of: Int64?.self) { group in
            for _ in 0..<40 { group.addTask { try await driver.quickRead { c in try await c.query("SELECT MAX(x) FROM t", []) }.firstInt() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.count == 40 && answers.allSatisfy { $0 == 6 }, "\(answers)")
        #expect(driver.takeQuickReader() == (connections > 0 ? 0 : nil), "every connection given back")
    }

    /// SQLite's triggers for the known values (v14–v16, made again by v23): each one is there,
    /// compares the value with each listed one (no `NOT IN`, for which SQLite builds a temporary
    /// index at every insert), lets every listed value and NULL pass and refuses any other —
    /// on insert and on update alike.
    @Test func sqliteTriggersCompareEachKnownValue() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let store = try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite")
        let lists = Schema.typedStates + [("review_flags", "resolution", Schema.reviewResolutions)] + Schema.typedKinds
        let triggers = try await store.driver.read { c in
            try await c.query("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'").map { (try $0.string("name"), try $0.string("sql")) }
        }
        #expect(Set(triggers.map(\.0)) == Set(lists.flatMap { t in ["insert", "update"].map { "\(t.table)_\(t.column)_\($0)" } }))
        for (name, sql) in triggers { #expect(!sql.uppercased().contains("NOT IN"), "\(name): \(sql)") }
        // Each trigger's condition, tried on a scratch table of the same column: the values pass,
        // NULL passes, a near miss does not.
        for t in lists {
            for event in ["insert", "update"] {
                let sql = try #require(triggers.first { $0.0 == "\(t.table)_\(t.column)_\(event)" }?.1)
                // On the table and the event it was made for, with its message.
                let on = event == "insert" ? "BEFORE INSERT ON \(t.table)\n" : "BEFORE UPDATE OF \(t.column) ON \(t.table)\n"
                #expect(sql.contains(on), "\(t.table).\(t.column) \(event): \(sql)")
                #expect(sql.contains("RAISE(ABORT, 'not a known \(t.table).\(t.column)')"), "\(t.table).\(t.column) \(event): \(sql)")
                let whenAt = try #require(sql.range(of: "WHEN "))
                let beginAt = try #require(sql.range(of: "BEGIN"))
                let condition = String(sql[whenAt.upperBound..<beginAt.lowerBound]).replacingOccurrences(of: "NEW.\(t.column)", with: "v")
                for value in t.values {
                    let fires = try await store.driver.read { c in try await c.query("SELECT (\(condition)) AS f FROM (SELECT ? AS v)", [value]) }
                    #expect(try fires.first?.int("f") ?? 0 == 0, "\(t.table).\(t.column) \(event): \(value) passes")
                }
                let null = try await store.driver.read { c in try await c.query("SELECT (\(condition)) AS f FROM (SELECT NULL AS v)", []) }
                #expect(try null.first?.int("f") ?? 0 == 0, "\(t.table).\(t.column) \(event): NULL passes")
                for other in ["", "x", t.values[0].uppercased(), t.values[0] + " "] {
                    let fires = try await store.driver.read { c in try await c.query("SELECT (\(condition)) AS f FROM (SELECT ? AS v)", [other]) }
                    #expect(try fires.first?.int("f") == 1, "\(t.table).\(t.column) \(event): '\(other)' refused")
                }
            }
        }
        // And the triggers themselves: an insert of a listed value passes, another is refused.
        try await store.driver.write { c in
            try await c.execute("INSERT INTO log_entries (idx, kind, body, created_at) VALUES (7, 'fork_declared', '{}', '2026-12-07T00:00:00Z')")
        }
        let refused = await StoreConformance.storeCode {
            try await store.driver.write { c in
                _ = try await c.execute("INSERT INTO log_entries (idx, kind, body, created_at) VALUES (8, 'fork', '{}', 't')")
            }
        }
        #expect(refused == "store_failure")
        #expect(try await store.logEntries(start: 7, end: 9).map(\.kind) == [.forkDeclared])
    }

    /// Texts bound by the store's own statements (`SQLiteConnection.stepped`: from the string's
    /// UTF-8, no C-string copy) read back as they were: empty (text, not NULL), small and large
    /// strings, non-ASCII ones, one made by Foundation; a NUL ends the value, as a C string did.
    @Test func boundTextsReadBackAsTheyWere() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let driver = try SQLiteDriver(path: "\(dir)/g.sqlite")
        try await driver.write { c in try await c.execute("CREATE TABLE t (i INTEGER PRIMARY KEY, x TEXT)") }
        let texts = [
            "", "a", "Nguyễn Thị Ánh", String(repeating: "đ", count: 5000), NSString(string: "bridged from Foundation, long enough") as String,
            String(repeating: "x", count: 15), String(repeating: "y", count: 16),
        ]
        for (i, t) in texts.enumerated() {
            try await driver.write { c in try await c.execute("INSERT INTO t (i, x) VALUES (?, ?)", [i, t]) }
        }
        try await driver.write { c in try await c.execute("INSERT INTO t (i, x) VALUES (?, ?)", [100, "before\u{0}after"]) }
        for (i, t) in texts.enumerated() {
            let row = try await driver.read { c in try await c.query("SELECT x, typeof(x) AS type FROM t WHERE i = ?", [i]) }.first
            #expect(try row?.string("x") == t, "text \(i)")
            #expect(try row?.string("type") == "text", "text \(i) stored as text")
        }
        let cut = try await driver.read { c in try await c.query("SELECT x FROM t WHERE i = ?", [100]) }.first
        #expect(try cut?.string("x") == "before")
    }

    @Test func aFailedGroupedWriteThrowsOnceItsGroupCommitted() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        try await StoreConformance.failedGroupedWriteThrowsOnceCommitted(try SQLiteDriver(path: "\(dir)/g.sqlite"))
    }
}

extension SQLiteStoreConformanceTests {
    /// A database made before the one schema history (GRDB's migrator, v1…v11) is adopted: its
    /// history is taken over under the same names, the later migrations run, and its snapshot
    /// rows keep their order.
    @Test func sqliteDatabaseFromBeforeTheOneHistoryIsAdopted() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let legacy = Array(Schema.migrations.prefix { $0.name != "v12-row-numbers" })
        #expect(legacy.count == 11)
        let driver = try SQLiteDriver(path: "\(dir)/g.sqlite")
        try await driver.write { c in
            for m in legacy { for st in Schema.statements(m.sqlite) { try await c.execute(st) } }
            try await c.execute("CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            for m in legacy { try await c.execute("INSERT INTO grdb_migrations (identifier) VALUES (?)", [m.name]) }
            try await c.execute(
                "INSERT INTO snapshots (unit_id, package_id, members, organizations, imported_at, current) VALUES ('U', 'p', 3, 0, '2026-11-29T00:00:00Z', 1)"
            )
            for cid in ["c3", "c1", "c2"] {
                try await c.execute("INSERT INTO members VALUES (1, 'm', 'n', 'nam', 'd', ?, 'd', 'd', 's', 'o', '', '', 'Kinh', 'h', 'e')", [cid])
            }
        }
        let store = try await SQLGatewayStore(driver: driver)
        #expect(
            try await store.currentRecords(unitId: "U")?.members.map { $0[4] } == ["c3", "c1", "c2"], "rows read back in the order they were stored")
        // Keyed by the snapshot and the row number (v21), the row numbers v12 gave them kept.
        let keys = try await driver.read { c in
            try await c.query("SELECT id, row_no FROM members ORDER BY id").map { [try $0.int("id"), try $0.int("row_no")] }
        }
        #expect(keys == [1, 2, 3].map { [1 << 32 | $0, $0] }, "\(keys)")
        let names = try await driver.read { c in
            try await c.query("SELECT version FROM store_migrations ORDER BY version").map { try $0.string("version") }
        }
        #expect(names == SQLGatewayStore.migrationNames.sorted())
    }

    /// A snapshot's rows are keyed by one integer (v21), the table's rowid: an import appends to
    /// the table's B-tree, and a snapshot is read as one range of it — no second index to keep, no
    /// sort, no scan of other snapshots' rows.
    @Test func sqliteReadsASnapshotAsOneRangeOfTheTablesKey() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let driver = try SQLiteDriver(path: "\(dir)/g.sqlite")
        _ = try await SQLGatewayStore(driver: driver)
        let statements = [
            SQLGatewayStore.snapshotOrganizationsSQL, SQLGatewayStore.snapshotMembersSQL, SQLGatewayStore.snapshotMembersLeavingOutSQL,
            SQLGatewayStore.snapshotIdsSQL(cardNumbers: true),
        ]
        for sql in statements {
            let plan = try await driver.read { c in
                try await c.query("EXPLAIN QUERY PLAN " + sql, [0, 1]).map { try $0.string("detail") }
            }
            let table = plan.first { $0.hasPrefix("SEARCH m") || $0.hasPrefix("SEARCH members") || $0.hasPrefix("SEARCH organizations") }
            #expect(table?.contains("USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)") == true, "\(sql): \(plan)")
            #expect(!plan.contains { $0.hasPrefix("SCAN m") || $0.hasPrefix("SCAN organizations") || $0.contains("TEMP B-TREE") }, "\(sql): \(plan)")
        }
        let indexes = try await driver.read { c in
            try await c.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('members', 'organizations')").map {
                try $0.string("name")
            }
        }
        #expect(indexes.isEmpty, "\(indexes)")
        // A row is held to its key: an insert without it (an older sealgate's: SQLite would give
        // it the next rowid, inside another snapshot's range) is refused, not misplaced.
        let refused = await StoreConformance.storeCode {
            try await driver.write { c in
                try await c.execute(
                    "INSERT INTO snapshots (unit_id, package_id, members, organizations, imported_at, current) VALUES ('U', 'p', 1, 1, '2026-11-29T00:00:00Z', 1)"
                )
                try await c.execute("INSERT INTO organizations (snapshot_id, row_no, org_id, name, type, parent_id) VALUES (1, 0, 'o', 'n', 't', '')")
            }
        }
        #expect(refused == "store_failure", "an organization row stored off its key: \(refused ?? "accepted")")
        // A store a newer sealgate migrated is refused, not written in a shape it does not know.
        try await driver.write { c in try await c.execute("INSERT INTO store_migrations (version, applied_at) VALUES ('v99-future', 'x')") }
        #expect(await StoreConformance.storeCode { _ = try await SQLGatewayStore(driver: driver) } == "store_failure")
    }

    /// The rows' keys at their edges: the last snapshot id that fits ends its range at Int64.max;
    /// a snapshot of 2^32 rows fits and one more does not; no key for snapshot 0 or 2^31.
    @Test func rowKeysStopAtTheirEdges() {
        #expect(RowKey.range(snapshot: (1 << 31) - 1).last == Int64.max)
        #expect(RowKey.range(snapshot: 1) == (first: 1 << 32, last: (1 << 33) - 1))
        #expect(RowKey.of(snapshot: 1, row: 0) == 1 << 32 && RowKey.of(snapshot: 2, row: 7) == 2 << 32 | 7)
        #expect(RowKey.fits(snapshot: 1, count: 1 << 32) && !RowKey.fits(snapshot: 1, count: (1 << 32) + 1))
        #expect(RowKey.fits(snapshot: (1 << 31) - 1, count: 0) && !RowKey.fits(snapshot: 1 << 31, count: 1))
        #expect(!RowKey.fits(snapshot: 0, count: 1) && !RowKey.fits(snapshot: -1, count: 1) && !RowKey.fits(snapshot: Int64.max, count: 1))
    }

    @Test func sqliteLifecycleConforms() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        try await StoreConformance.runLifecycle(try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite"), keepsPackages: false)
    }

    @Test func sqliteRefusesUnknownStates() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        try await StoreConformance.refusesUnknownStates(try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite"))
    }
}

/// The same contract on PostgreSQL, and what only several processes on one database can break.
@Suite(.enabled(if: TestPostgres.available, "needs the throwaway PostgreSQL cluster (make test)"), .storeClients)
struct PostgresStoreConformanceTests {
    @Test func postgresBackendConforms() async throws {
        let url = try TestPostgres.freshDatabase()
        try await StoreConformance.run(try await SQLGatewayStore.postgres(url: url))
        // Reopening runs the migrations again without harm and keeps the data.
        let again = try await SQLGatewayStore.postgres(url: url)
        #expect(try await again.lastSeq(unitId: "U1") == 3)
        #expect(
            try TestPostgres.psql(url, "SELECT string_agg(version, ',' ORDER BY version) FROM store_migrations")
                == SQLGatewayStore.migrationNames.sorted().joined(separator: ","), "one schema history, the same names as SQLite's")
    }

    /// PostgreSQL's grouped writes are plain writes (each its own transaction): a loser still
    /// throws only once its winner is committed.
    @Test func postgresFailedGroupedWriteThrowsOnceItsGroupCommitted() async throws {
        let store = try await SQLGatewayStore.postgres(url: try TestPostgres.freshDatabase())
        try await StoreConformance.failedGroupedWriteThrowsOnceCommitted(store.driver)
    }

    @Test func postgresRefusesUnknownStates() async throws {
        try await StoreConformance.refusesUnknownStates(try await SQLGatewayStore.postgres(url: try TestPostgres.freshDatabase()))
    }

    @Test func postgresLifecycleConforms() async throws {
        try await StoreConformance.runLifecycle(try await SQLGatewayStore.postgres(url: try TestPostgres.freshDatabase()), keepsPackages: true)
    }

    /// Two stores with pools of their own stand for two gateway processes: the log gets
    /// consecutive indexes in one order, and a (unit, seq) is claimed by one of them only.
    @Test func twoProcessesShareOneLogAndOneSeq() async throws {
        let url = try TestPostgres.freshDatabase()
        let a = try await SQLGatewayStore.postgres(url: url)
        let b = try await SQLGatewayStore.postgres(url: url)
        try await a.addUnit(
            UnitRecord(id: "U", name: "U", createdAt: moment("2026-11-29T00:00:00Z")),
            key: UnitKeyRecord(keyId: "K", unitId: "U", publicKey: "RW", state: .active, addedAt: moment("2026-11-29T00:00:00Z")),
            logBody: "{\"unit\":\"U\"}")
        enum Result: Sendable {
            case won(Int64)
            case lost(Int64)
            case unexpected(String)
        }
        // Forty tasks, four racers a seq (two through each store) started at once (the races
        // happen in the database), and each receipt takes a while to make (as signing does):
        // decisions overlap. The seqs are raced one after the other: a seq below one a unit
        // already claimed is refused too (`seq_taken`), so seq 3 racing after seq 5 would lose.
        var results: [Result] = []
        for wave in 0..<10 {
            results += await withTaskGroup(of: Result.self) { group in
                for i in (wave * 4)..<(wave * 4 + 4) {
                    group.addTask {
                        let store = i % 2 == 0 ? a : b
                        var idx: Int64 = -1
                        do {
                            idx = try await store.appendLog(kind: .trust, body: "{\"i\":\(i)}", at: moment("2026-11-29T00:00:00Z"))
                            // Every fourth pair races for the same seq with a snapshot import.
                            let seq = UInt64(i / 4 + 1)
                            let sp = try await store.addSpool(sha256: "s\(i)", size: 1, path: "/x/\(i)", receivedAt: moment("2026-11-29T00:00:00Z"))
                            _ = try await store.commit(
                                StoreConformance.decision(sp, unit: "U", seq: seq, package: "p\(i)"),
                                snapshot: SnapshotImport(
                                    unitId: "U", packageId: "p\(i)", organizations: [], members: [StoreConformance.member("c\(i)", "m\(i)")]),
                                logEntry: "{\"o\":\(i)}", logSince: 0
                            ) { _, _ in
                                Thread.sleep(forTimeInterval: 0.02)
                                return ReceiptBundle(receipt: "{}", signature: "s", checkpoint: nil)
                            }
                            return .won(idx)
                        } catch let e as StoreError where e.code == .seqTaken {
                            return .lost(idx)
                        } catch {
                            return .unexpected("\(error)")
                        }
                    }
                }
                var all: [Result] = []
                for await r in group { all.append(r) }
                return all
            }
        }
        var won = 0
        var lost = 0
        var appended: [Int64] = []
        var unexpected: [String] = []
        for r in results {
            switch r {
            case .won(let i):
                won += 1
                appended.append(i)
            case .lost(let i):
                lost += 1
                appended.append(i)
            case .unexpected(let e): unexpected.append(e)
            }
        }
        #expect(unexpected.isEmpty, "every loser is told seq_taken: \(unexpected)")
        #expect(won == 10 && lost == 30, "one commit per seq (10 seqs, 4 racers each): won \(won), lost \(lost)")
        #expect(Set(appended).count == 40)
        let size = try await a.logSize()
        #expect(size == 51, "the unit's registration, 40 appends and 10 decisions")
        #expect(try await b.logEntries(start: 0, end: size).map(\.index) == Array(0..<size), "consecutive indexes, no gap, no repeat")
        #expect(try TestPostgres.psql(url, "SELECT count(*) FROM snapshots WHERE current = 1") == "1", "one current snapshot")
        #expect(try TestPostgres.psql(url, "SELECT count(*) FROM members") == "10", "the losers' imports rolled back")
        // A seq below the last one claimed, through the other store: refused, nothing imported.
        let late = try await b.addSpool(sha256: "late", size: 1, path: "/x/late", receivedAt: moment("2026-11-29T00:00:00Z"))
        #expect(
            await StoreConformance.storeCode {
                _ = try await b.commit(
                    StoreConformance.decision(late, unit: "U", seq: 5, package: "late"),
                    snapshot: SnapshotImport(unitId: "U", packageId: "late", organizations: [], members: [StoreConformance.member("cl", "ml")]),
                    logEntry: "{}", logSince: 0
                ) { _, _ in ReceiptBundle(receipt: "{}", signature: "s", checkpoint: nil) }
            } == "seq_taken")
        #expect(try TestPostgres.psql(url, "SELECT count(*) FROM members") == "10", "an older seq's import rolled back")
        // A lease held through one store is refused to the other.
        let lease = try await a.tryLease("forwarder")
        #expect(lease != nil)
        #expect(try await b.tryLease("forwarder") == nil)
        await lease?.release()
        #expect(try await b.tryLease("forwarder") != nil)
    }
}

/// A PostgreSQL database made before the one schema history (`pg-v1`…`pg-v3` in
/// `schema_migrations`) is adopted under the one history's names, and its rows read back.
extension PostgresStoreConformanceTests {
    /// The schema PostgreSQL stores had before the one history (the former `PostgresStore`), kept as a fixture.
    static let formerPostgresSchema: [(String, String)] = [
        (
            "pg-v1",
            """
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
            """
        ),
        // The sealed dataset packages, in chunks: gateways on several machines share no disk.
        (
            "pg-v2-dataset-packages",
            """
            CREATE TABLE dataset_packages (version BIGINT NOT NULL REFERENCES datasets(version), chunk BIGINT NOT NULL, data BYTEA NOT NULL,
                                           PRIMARY KEY (version, chunk))
            """
        ),
        // A replayed body is answered from the first decision on the same bytes.
        ("pg-v3-outcomes-by-sha256", "CREATE INDEX outcomes_sha256 ON outcomes(sha256)"),
    ]

    @Test func postgresDatabaseFromBeforeTheOneHistoryIsAdopted() async throws {
        let url = try TestPostgres.freshDatabase()
        var sql = "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());\n"
        for (name, statements) in Self.formerPostgresSchema { sql += statements + ";\nINSERT INTO schema_migrations (version) VALUES ('\(name)');\n" }
        sql += """
            INSERT INTO snapshots (unit_id, package_id, members, organizations, imported_at, current) VALUES ('U', 'p', 3, 0, '2026-11-29T00:00:00Z', 1);
            INSERT INTO members (snapshot_id, row_no, member_id, full_name, gender, date_of_birth, citizen_id, date_joined, date_official, status, org_id,
                                 phone, email, ethnicity, hometown, education)
            SELECT 1, n, 'm', 'n', 'nam', 'd', c, 'd', 'd', 's', 'o', '', '', 'Kinh', 'h', 'e' FROM (VALUES (0, 'c3'), (1, 'c1'), (2, 'c2')) AS v(n, c);
            """
        _ = try TestPostgres.psql(url, sql)
        let store = try await SQLGatewayStore.postgres(url: url)
        #expect(try await store.currentRecords(unitId: "U")?.members.map { $0[4] } == ["c3", "c1", "c2"])
        #expect(
            try TestPostgres.psql(url, "SELECT string_agg(version, ',' ORDER BY version) FROM store_migrations")
                == SQLGatewayStore.migrationNames.sorted().joined(separator: ","))
        // And it works as a store: the full contract on the adopted database.
        try await StoreConformance.run(store)
    }
}

/// TLS to the database: `sslmode=require` encrypts (the server's certificate here is
/// self-signed, which `require` does not verify); `verify-full` refuses that certificate.
@Suite(.enabled(if: TestPostgres.available, "needs PostgreSQL (make test)"), .storeClients)
struct PostgresTLSTests {
    @Test func sslModeRequireEncryptsAndVerifyFullChecks() async throws {
        let cluster = try PrivateCluster(ssl: true)
        defer { cluster.stop() }
        let store = try await SQLGatewayStore.postgres(url: cluster.url + "?sslmode=require")
        try await store.setSetting("probe", "1")  // a pooled connection stays open
        #expect(store.location.hasSuffix("?sslmode=require"))
        let encrypted = try TestPostgres.psql(
            cluster.url, "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE s.ssl AND a.pid <> pg_backend_pid()")
        #expect((Int(encrypted) ?? 0) >= 1, "the store's session is encrypted")
        #expect(
            await StoreConformance.storeCode { _ = try await SQLGatewayStore.postgres(url: cluster.url + "?sslmode=verify-full") }
                == "store_unavailable")
        #expect(await StoreConformance.storeCode { _ = try await SQLGatewayStore.postgres(url: cluster.url + "?sslmode=prefer") } == "database_url")
    }
}

/// `make test` runs the PostgreSQL tests for real: if it asked for them and the cluster is not
/// there, this fails rather than letting them be skipped.
@Test func postgresClusterIsThereWhenRequired() throws {
    guard TestPostgres.required else { return }
    let url = try #require(TestPostgres.serverURL)
    #expect(try TestPostgres.psql(url, "SELECT 1") == "1")
}

extension StoreConformance {
    /// Flagged packages under review: what a dataset takes of a unit while a flag is unresolved,
    /// once it is rejected, once it is confirmed; a decision made once and logged in its
    /// transaction. Runs on a fresh store.
    static func runFlagReview(_ store: SQLGatewayStore) async throws {
        for u in ["A", "B", "C"] {
            try await store.addUnit(
                UnitRecord(id: u, name: u, createdAt: moment("2026-11-29T00:00:00Z")),
                key: UnitKeyRecord(keyId: "K\(u)", unitId: u, publicKey: "RW\(u)", state: .active, addedAt: moment("2026-11-01T00:00:00Z")),
                logBody: "{\"unit\":\"\(u)\"}")
        }
        var day = 10
        func decide(
            _ unit: String, seq: UInt64, snapshot: [[String]]? = nil, corrections: [MemberCorrection]? = nil, key: String? = nil
        ) async throws {
            let sp = try await store.addSpool(sha256: "f\(unit)\(seq)", size: 1, path: "/f/\(unit)\(seq)", receivedAt: moment("2026-11-29T00:00:00Z"))
            day += 1
            let at = moment("2026-11-\(day)T00:00:00Z")
            _ = try await store.commit(
                Decision(
                    spoolId: sp, status: .accepted, code: nil, packageId: "p-\(unit)-\(seq)", unitId: unit, seq: seq, sha256: "f",
                    kind: snapshot == nil ? .correction : .snapshot, decidedAt: at, claimsSeq: true, keyId: key ?? "K\(unit)", created: at),
                snapshot: snapshot.map {
                    SnapshotImport(unitId: unit, packageId: "p-\(unit)-\(seq)", organizations: [["O1", "Chi bộ 1", "cell", ""]], members: $0)
                },
                corrections: corrections.map { CorrectionImport(unitId: unit, corrections: $0) }, logEntry: "{}", logSince: 0
            ) { _, _ in ReceiptBundle(receipt: "{}", signature: "s", checkpoint: nil) }
        }
        func ids(_ unit: String) async throws -> [String]? { try await store.datasetRecords(unitId: unit).records?.members.map { $0[4] } }

        // A: a genuine snapshot (day 11); then, after the compromise (day 12), a correction and a
        // thief's snapshot that takes B's member 004.
        try await decide("A", seq: 1, snapshot: [member("001", "M1"), member("002", "M2"), member("003", "M3")])
        try await decide("B", seq: 1, snapshot: [member("004", "M4"), member("005", "M5")])
        try await decide(
            "A", seq: 2, corrections: [MemberCorrection(citizenId: "002", field: "full_name", oldValue: "Nguyễn Văn A", newValue: "Trần Thị B")])
        try await decide("A", seq: 3, snapshot: [member("001", "M1"), member("004", "M8"), member("009", "M9"), member("010", "M10")])
        #expect(try await store.reviewHold(unitId: "A") == nil)
        #expect(try await ids("A") == ["001", "004", "009", "010"], "nothing flagged: the current records")
        #expect(try await crossUnitConflicts(store).citizenIds == ["004"])

        let flagged = try await store.revokeUnitKey(
            unitId: "A", keyId: "KA", compromisedAt: moment("2026-11-12T12:00:00Z"), at: moment("2026-11-20T00:00:00Z"), logBody: "{\"rev\":\"A\"}")
        #expect(flagged.map(\.packageId) == ["p-A-2", "p-A-3"] && flagged.allSatisfy { $0.resolution == nil })
        // Unresolved: the thief's snapshot is out (the earlier one is taken, kept by the store),
        // and in it the row the flagged correction changed.
        var hold = try #require(try await store.reviewHold(unitId: "A"))
        #expect(hold.currentPackage == "p-A-3" && hold.datasetPackage == "p-A-1" && hold.fallsBack && hold.datasetMembers == 2)
        #expect(hold.held.map(\.flag.packageId) == ["p-A-2", "p-A-3"] && hold.held.map(\.kind) == [.correction, .snapshot])
        #expect(hold.held.map(\.withheld) == [1, 4] && hold.unresolved.count == 2 && hold.withheld == 5)
        #expect(try await ids("A") == ["001", "003"])
        #expect(try await store.datasetRecords(unitId: "A").records?.packageId == "p-A-1")
        #expect(try await crossUnitConflicts(store).citizenIds.isEmpty, "the thief's copy of B's member no longer conflicts with B's")
        #expect(try await store.datasetRecords(unitId: "B").hold == nil)
        #expect(try await ids("B") == ["004", "005"])

        // Decided once each, in a transaction with its log entry.
        let size = try await store.logSize()
        #expect(
            await storeCode {
                _ = try await store.resolveFlag(packageId: "p-B-1", resolution: .rejected, reason: "r", at: moment("2026-11-29T00:00:00Z")) { _ in
                    "{}"
                }
            } == "flag_unknown")
        let rejected = try await store.resolveFlag(
            packageId: "p-A-3", resolution: .rejected, reason: "not the unit's", at: moment("2026-11-21T00:00:00Z")
        ) { f in "{\"package\":\"\(f.packageId)\",\"resolution\":\"\(f.resolution?.rawValue ?? "")\"}" }
        #expect(
            rejected.resolution == .rejected && rejected.resolvedAt == moment("2026-11-21T00:00:00Z") && rejected.resolutionReason == "not the unit's"
        )
        #expect(
            await storeCode {
                _ = try await store.resolveFlag(packageId: "p-A-3", resolution: .confirmed, reason: "r", at: moment("2026-11-29T00:00:00Z")) { _ in
                    "{}"
                }
            } == "flag_resolved")
        #expect(try await store.logSize() == size + 1, "a refused decision logs nothing")
        #expect(
            try await store.logEntries(start: size, end: size + 1).map { "\($0.kind.rawValue) \($0.body)" } == [
                "flag_resolved {\"package\":\"p-A-3\",\"resolution\":\"rejected\"}"
            ])
        #expect(try await store.flaggedPackages(unitId: "A").map { $0.resolution?.rawValue ?? "-" } == ["-", "rejected"])
        hold = try #require(try await store.reviewHold(unitId: "A"))
        #expect(hold.datasetPackage == "p-A-1" && hold.unresolved.map(\.flag.packageId) == ["p-A-2"] && hold.held.map(\.withheld) == [1, 4])

        // Confirmed: the correction's row is back, with its change.
        _ = try await store.resolveFlag(packageId: "p-A-2", resolution: .confirmed, reason: "checked", at: moment("2026-11-21T01:00:00Z")) { _ in "{}"
        }
        hold = try #require(try await store.reviewHold(unitId: "A"))
        #expect(hold.held.map(\.flag.packageId) == ["p-A-3"] && hold.unresolved.isEmpty && hold.datasetMembers == 3)
        #expect(try await ids("A") == ["001", "002", "003"])
        #expect(try await store.datasetRecords(unitId: "A").records?.members[1][1] == "Trần Thị B")

        // The unit submits again with a new key: its new snapshot is taken; the rejected one
        // holds nothing back.
        try await store.addUnitKey(
            UnitKeyRecord(keyId: "KA2", unitId: "A", publicKey: "RWA2", state: .active, addedAt: moment("2026-11-29T00:00:00Z")), logBody: "{}")
        try await decide("A", seq: 4, snapshot: [member("001", "M1"), member("011", "M11")], key: "KA2")
        hold = try #require(try await store.reviewHold(unitId: "A"))
        #expect(!hold.fallsBack && hold.datasetPackage == "p-A-4" && hold.withheld == 0 && hold.datasetMembers == 2)
        #expect(try await ids("A") == ["001", "011"])

        // B: a flagged correction of the current snapshot holds back only the row it changed.
        try await decide("B", seq: 2, corrections: [MemberCorrection(citizenId: "005", field: "status", oldValue: "chinh_thuc", newValue: "du_bi")])
        _ = try await store.revokeUnitKey(
            unitId: "B", keyId: "KB", compromisedAt: moment("2026-11-15T00:00:00Z"), at: moment("2026-11-22T00:00:00Z"), logBody: "{}")
        hold = try #require(try await store.reviewHold(unitId: "B"))
        #expect(!hold.fallsBack && hold.datasetPackage == "p-B-1" && hold.held.map(\.withheld) == [1] && hold.datasetMembers == 1)
        #expect(try await ids("B") == ["004"])
        _ = try await store.resolveFlag(packageId: "p-B-2", resolution: .rejected, reason: "r", at: moment("2026-11-22T01:00:00Z")) { _ in "{}" }
        #expect(try await ids("B") == ["004"], "rejected: the changed row stays out until the unit submits again")

        // C: a flagged correction from before v15 recorded what corrections change: the snapshot
        // it was applied to is withheld as a whole (no earlier one to take).
        try await decide("C", seq: 1, snapshot: [member("021", "M21"), member("022", "M22")])
        try await decide("C", seq: 2, corrections: [MemberCorrection(citizenId: "021", field: "education", oldValue: "dai_hoc", newValue: "thac_si")])
        try await store.driver.write { c in
            try await c.execute("UPDATE outcomes SET corrected_snapshot = NULL WHERE package_id = 'p-C-2'")
            try await c.execute("DELETE FROM corrected_rows WHERE package_id = 'p-C-2'")
        }
        _ = try await store.revokeUnitKey(
            unitId: "C", keyId: "KC", compromisedAt: moment("2026-11-17T12:00:00Z"), at: moment("2026-11-23T00:00:00Z"), logBody: "{}")
        hold = try #require(try await store.reviewHold(unitId: "C"))
        #expect(hold.datasetPackage == nil && hold.currentPackage == "p-C-1" && hold.held.map(\.withheld) == [2] && hold.datasetMembers == 0)
        #expect(try await ids("C") == nil)
        _ = try await store.resolveFlag(packageId: "p-C-2", resolution: .confirmed, reason: "r", at: moment("2026-11-23T01:00:00Z")) { _ in "{}" }
        #expect(try await store.reviewHold(unitId: "C") == nil)
        #expect(try await ids("C") == ["021", "022"])

        // A package signed by a revoked key and decided after the revocation (sent late, or
        // backdated by a thief) is flagged in its own transaction.
        try await decide("C", seq: 3, snapshot: [member("021", "M21")])
        #expect(try await store.flaggedPackages(unitId: "C").map(\.packageId) == ["p-C-2", "p-C-3"])
        #expect(try await store.reviewHold(unitId: "C")?.datasetPackage == "p-C-1")

        // The decision's values are the ones migration v15 allows, and no other.
        #expect(Set(ReviewResolution.allCases.map(\.rawValue)) == Set(Schema.reviewResolutions))
        #expect(
            await storeCode {
                _ = try await store.driver.write { c in try await c.execute("UPDATE review_flags SET resolution = 'maybe' WHERE package_id = 'p-C-2'")
                }
            } != nil)
    }
}

extension SQLiteStoreConformanceTests {
    @Test func sqliteFlagReviewConforms() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        try await StoreConformance.runFlagReview(try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite"))
    }
}

extension PostgresStoreConformanceTests {
    @Test func postgresFlagReviewConforms() async throws {
        try await StoreConformance.runFlagReview(try await SQLGatewayStore.postgres(url: try TestPostgres.freshDatabase()))
    }
}
