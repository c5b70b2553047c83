import Foundation
import Testing
import GatewayStore

/// The store contract, written against the protocol: every backend must pass it.
/// (Run on SQLite here; the PostgreSQL backend will run the same suite.)
enum StoreConformance {
    static func decision(_ spool: Int64, unit: String?, seq: UInt64?, status: String = "accepted", claims: Bool = true, package: String? = nil, sha: String = "aa") -> Decision {
        Decision(spoolId: spool, status: status, code: status == "rejected" ? "signature_invalid" : nil, packageId: package ?? "p-\(spool)", unitId: unit, seq: seq,
                 sha256: sha, kind: "snapshot", decidedAt: "2026-11-27T08:00:00Z", claimsSeq: claims)
    }

    static func run(_ store: any GatewayStore) throws {
        // Units and keys
        try store.addUnit(UnitRecord(id: "U1", name: "Một", createdAt: "t"), key: UnitKeyRecord(keyId: "K1", unitId: "U1", publicKey: "RW1", state: "active", addedAt: "t"))
        #expect(throws: StoreError.self) { try store.addUnit(UnitRecord(id: "U1", name: "x", createdAt: "t"), key: UnitKeyRecord(keyId: "K9", unitId: "U1", publicKey: "x", state: "active", addedAt: "t")) }
        #expect(throws: StoreError.self) { try store.addUnit(UnitRecord(id: "U2", name: "x", createdAt: "t"), key: UnitKeyRecord(keyId: "K1", unitId: "U2", publicKey: "x", state: "active", addedAt: "t")) }
        #expect(try store.unit("U1")?.name == "Một")
        #expect(try store.unitKey(keyId: "K1")?.unitId == "U1")
        #expect(try store.unitKey(keyId: "nope") == nil)
        #expect(try store.units().map(\.id) == ["U1"])

        // Tokens are looked up by hash only.
        try store.addToken(TokenRecord(hash: "h1", role: "admin", unitId: nil, createdAt: "t"))
        #expect(try store.token(hash: "h1")?.role == "admin")
        #expect(try store.token(hash: "h2") == nil)

        // Spool: pending until decided.
        let s1 = try store.addSpool(sha256: "aa", size: 10, path: "/x/1", receivedAt: "t")
        let s2 = try store.addSpool(sha256: "bb", size: 10, path: "/x/2", receivedAt: "t")
        #expect(try store.pendingSpool().map(\.id) == [s1, s2])

        // A decision with its import, receipt built from the leaf, in one transaction.
        let snap = SnapshotImport(unitId: "U1", packageId: "p-\(s1)", organizations: [["U1", "Đảng bộ", "unit_committee", ""]],
                                  members: [Array(repeating: "x", count: 14), Array(repeating: "y", count: 14)])
        let o1 = try store.commit(decision(s1, unit: "U1", seq: 1), snapshot: snap, logEntry: "{\"e\":1}", logSince: 0) { leaf, entries in
            #expect(entries.last?.body == "{\"e\":1}" && entries.last?.index == leaf)
            return ReceiptBundle(receipt: "{\"leaf\":\(leaf)}", signature: "sig", checkpoint: (leaf + 1, "note"))
        }
        #expect(o1.receipt == "{\"leaf\":\(o1.leaf)}")
        #expect(try store.pendingSpool().map(\.id) == [s2])
        #expect(try store.outcome(unitId: "U1", seq: 1)?.spoolId == s1)
        #expect(try store.outcome(packageId: "p-\(s1)")?.status == "accepted")
        #expect(try store.lastSeq(unitId: "U1") == 1)
        #expect(try store.currentMembers(unitId: "U1") == 2)

        // The same (unit, seq) cannot be claimed twice; a failed receipt rolls everything back.
        #expect(throws: StoreError.self) { _ = try store.commit(decision(s2, unit: "U1", seq: 1), snapshot: nil, logEntry: "{}", logSince: 0) { _, _ in ReceiptBundle(receipt: "x", signature: "y", checkpoint: nil) } }
        struct Boom: Error {}
        let snap2 = SnapshotImport(unitId: "U1", packageId: "p-\(s2)", organizations: [], members: [Array(repeating: "z", count: 14)])
        #expect(throws: Boom.self) { _ = try store.commit(decision(s2, unit: "U1", seq: 2), snapshot: snap2, logEntry: "{}", logSince: 0) { _, _ in throw Boom() } }
        #expect(try store.currentMembers(unitId: "U1") == 2, "a failed commit must not import")
        #expect(try store.pendingSpool().map(\.id) == [s2])
        #expect(try store.outcome(unitId: "U1", seq: 2) == nil)

        // A rejection that does not claim the seq leaves it free.
        _ = try store.commit(decision(s2, unit: "U1", seq: 2, status: "rejected", claims: false), snapshot: nil, logEntry: "{}", logSince: 0) { _, _ in ReceiptBundle(receipt: "r", signature: "s", checkpoint: nil) }
        #expect(try store.outcome(unitId: "U1", seq: 2) == nil)
        #expect(try store.lastSeq(unitId: "U1") == 1)

        // A newer snapshot replaces the current one; the old one stays as history.
        let s3 = try store.addSpool(sha256: "cc", size: 1, path: "/x/3", receivedAt: "t")
        _ = try store.commit(decision(s3, unit: "U1", seq: 3), snapshot: SnapshotImport(unitId: "U1", packageId: "p-\(s3)", organizations: [], members: [Array(repeating: "n", count: 14)]), logEntry: "{}", logSince: 0) { _, _ in ReceiptBundle(receipt: "a", signature: "b", checkpoint: nil) }
        #expect(try store.currentMembers(unitId: "U1") == 1)
        let status = try store.unitStatus("U1")
        #expect(status?.lastSeq == 3 && status?.members == 1 && status?.keys.count == 1)

        // Leaves are consecutive log indexes; the checkpoint returned with a receipt is stored.
        let size = try store.logSize()
        #expect(size == 3)
        #expect(try store.latestCheckpoint()?.size == 1)
        #expect(try store.logEntries(start: 0, end: 3).map(\.index) == [0, 1, 2])
        #expect(try store.appendLog(kind: "test", body: "{}", at: "t") == size)

        // Trust documents only move forward.
        try store.addTrust(TrustRecord(version: 1, body: "{}", signature: "s"))
        #expect(throws: StoreError.self) { try store.addTrust(TrustRecord(version: 1, body: "{}", signature: "s")) }
        try store.addTrust(TrustRecord(version: 2, body: "{\"v\":2}", signature: "s2"))
        #expect(try store.latestTrust()?.version == 2)

        // Signing keys: inserted, then their state moves on in place (one row per key).
        try store.putSigningKey(SigningKeyRecord(role: "receipt", keyId: "K1", publicKey: "p1", state: "pending", until: nil, createdAt: "t1"))
        try store.putSigningKey(SigningKeyRecord(role: "log", keyId: "K2", publicKey: "p2", state: "active", until: nil, createdAt: "t1"))
        try store.putSigningKey(SigningKeyRecord(role: "receipt", keyId: "K1", publicKey: "ignored", state: "verify-only", until: "t9", createdAt: "t5"))
        let keys = try store.signingKeys()
        #expect(keys.count == 2)
        #expect(keys.first { $0.keyId == "K1" } == SigningKeyRecord(role: "receipt", keyId: "K1", publicKey: "p1", state: "verify-only", until: "t9", createdAt: "t1"))
    }
}

struct SQLiteStoreConformanceTests {
    @Test func sqliteBackendConforms() throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try StoreConformance.run(try SQLiteStore(path: "\(dir)/g.sqlite"))
        // Reopening runs the migrations again without harm and keeps the data.
        let again = try SQLiteStore(path: "\(dir)/g.sqlite")
        #expect(try again.lastSeq(unitId: "U1") == 3)
    }
}
