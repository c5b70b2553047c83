import Foundation
import GatewayStore
import SealBase
import TestSupport
import Testing

/// The dashboard's sessions (migration v17), the same contract on SQLite and PostgreSQL: only the
/// cookie's hash is a key; a session is valid within its idle and hard ends and while its admin
/// token is; expired sessions are pruned; on PostgreSQL a session opened through one process's
/// store is used and ended through another's (any `serve` on the database serves the operator).
enum SessionStoreConformance {
    static let t0 = Timestamp(unixSeconds: 1_796_000_000)
    static let idle = Duration.seconds(8 * 3600)

    static func run(_ store: any GatewayStore, other: (any GatewayStore)? = nil) async throws {
        let second = other ?? store
        try await store.addToken(TokenRecord(hash: "aa" + String(repeating: "0", count: 62), role: .admin, unitId: nil, createdAt: t0))
        try await store.addToken(TokenRecord(hash: "bb" + String(repeating: "0", count: 62), role: .unit, unitId: "U1", createdAt: t0))
        let admin = "aa" + String(repeating: "0", count: 62)
        func session(_ id: String, token: String = admin, at: Timestamp = t0) -> DashboardSession {
            DashboardSession(idHash: id, tokenHash: token, createdAt: at, lastSeenAt: at, expiresAt: at.adding(.seconds(24 * 3600)))
        }
        try await store.addSession(session("s1"))
        // Read through the other process's store; its last use recorded (at most once a minute).
        let used = try await second.useSession(idHash: "s1", now: t0.adding(.seconds(3600)), idle: idle)
        #expect(used?.tokenHash == admin && used?.lastSeenAt == t0.adding(.seconds(3600)))
        #expect(try await store.useSession(idHash: "s1", now: t0.adding(.seconds(3630)), idle: idle)?.lastSeenAt == t0.adding(.seconds(3600)))
        #expect(try await store.useSession(idHash: "nope", now: t0, idle: idle) == nil)
        // Idle: 8 h after the last use it is gone (and deleted).
        #expect(try await store.useSession(idHash: "s1", now: t0.adding(.seconds(3600 + 8 * 3600)), idle: idle) == nil)
        #expect(try await store.useSession(idHash: "s1", now: t0.adding(.seconds(3700)), idle: idle) == nil, "an expired session is deleted")
        // The hard end, however busy.
        try await store.addSession(session("s2"))
        var now = t0
        for _ in 0..<4 {
            now = now.adding(.seconds(6 * 3600 - 1))
            #expect(try await second.useSession(idHash: "s2", now: now, idle: idle) != nil)
        }
        #expect(try await store.useSession(idHash: "s2", now: t0.adding(.seconds(24 * 3600)), idle: idle) == nil)
        // A unit token's session, or one whose admin token is revoked, is no session.
        try await store.addSession(session("s3", token: "bb" + String(repeating: "0", count: 62)))
        #expect(try await store.useSession(idHash: "s3", now: t0, idle: idle) == nil)
        try await store.addSession(session("s4"))
        try await store.addSession(session("s5"))
        try await second.deleteSession(idHash: "s4")
        #expect(try await store.useSession(idHash: "s4", now: t0, idle: idle) == nil, "signed out through the other process")
        // Pruning removes what has expired only.
        try await store.addSession(session("s6", at: t0.adding(.seconds(20 * 3600))))
        #expect(try await store.pruneSessions(now: t0.adding(.seconds(10 * 3600)), idle: idle) == 1)
        #expect(try await store.useSession(idHash: "s6", now: t0.adding(.seconds(21 * 3600)), idle: idle) != nil)
        _ = try await store.revokeToken(id: String(admin.prefix(16)), at: t0, logBody: { _ in "{}" })
        #expect(try await store.useSession(idHash: "s6", now: t0.adding(.seconds(21 * 3600)), idle: idle) == nil, "the token was revoked")
    }
}

struct SQLiteSessionStoreTests {
    @Test func sqliteSessionsConform() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        try await SessionStoreConformance.run(try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite"))
    }
}

@Suite(.enabled(if: TestPostgres.available, "needs the throwaway PostgreSQL cluster (make test)"), .storeClients)
struct PostgresSessionStoreTests {
    @Test func postgresSessionsConformAcrossTwoProcesses() async throws {
        let url = try TestPostgres.freshDatabase()
        try await SessionStoreConformance.run(try await SQLGatewayStore.postgres(url: url), other: try await SQLGatewayStore.postgres(url: url))
    }
}
