import Foundation
import GatewayCore
import GatewayStore
import SealBase
import SealCrypto
import Testing

/// The department's key lifecycle run at chosen instants with a `TestClock` (no sleeping): a
/// recipient's decrypt-only grace and a signing key's verify-only grace are set from the clock
/// handed in, and retiring takes a recipient whose grace has ended by that clock — not by the
/// machine's.
struct ClockTests {
    static func folder() async throws -> (DataDirectory, any GatewayStore) {
        let dir = DataDirectory(NSTemporaryDirectory() + "sealgate-clock-" + UUID().uuidString)
        try await dir.initialize(department: "HCM-DTCD", intakeURL: "http://127.0.0.1:8080", passphrase: nil)
        return (dir, try await dir.openStore())
    }

    @Sendable static func noPassphrase() throws -> SecureBytes { SecureBytes(count: 0) }

    @Test func aRecipientIsRetiredWhenItsGraceEndsByTheGatewaysClock() async throws {
        let (dir, store) = try await Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir.path) }  // lint: allow try? — cleanup
        // Years from the machine's time: only the clock handed in can make the grace end.
        let start = try #require(Timestamp("2031-03-01T08:00:00Z"))
        let clock = TestClock(start)
        let keys = try DepartmentKeys.load(dir, passphrase: Self.noPassphrase)
        let old = keys.recipients[0].recipient.fingerprint
        let rotation = try await DepartmentKeyLifecycle.rotateRecipient(
            dir: dir, store: store, keys: keys, passphrase: Self.noPassphrase, pending: false, graceSeconds: 3_600, clock: clock)
        guard case .active(let activation) = rotation else {
            Issue.record("the rotation left the new recipient pending")
            return
        }
        #expect(activation.decryptOnlyUntil == "2031-03-01T09:00:00Z")
        #expect(try await store.recipients().first { $0.fingerprint == old }?.decryptUntil?.text == "2031-03-01T09:00:00Z")

        clock.now = try #require(Timestamp("2031-03-01T08:59:59Z"))
        let early = try await DepartmentKeyLifecycle.retireRecipients(
            dir: dir, store: store, archive: true, passphrase: Self.noPassphrase, clock: clock)
        #expect(early.retired.isEmpty)
        #expect(try await store.recipients().first { $0.fingerprint == old }?.state == .decryptOnly)

        clock.advance(by: .seconds(1))
        let due = try await DepartmentKeyLifecycle.retireRecipients(
            dir: dir, store: store, archive: true, passphrase: Self.noPassphrase, clock: clock)
        #expect(due.retired == [old])
        #expect(try await store.recipients().first { $0.fingerprint == old }?.state == .retired)
        let size = try await store.logSize()
        let last = try await store.logEntries(start: size - 1, end: size)
        #expect(last.map(\.kind) == [.trust])
        let retiredEntry = try await store.logEntries(start: 0, end: size).last { $0.kind == .keyRetired }
        #expect(retiredEntry?.createdAt == "2031-03-01T09:00:00Z")
    }

    @Test func aUnitIsLateOnceTheSubmissionDeadlineHasPassedByTheGatewaysClock() async throws {
        let (dir, store) = try await Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir.path) }  // lint: allow try? — cleanup
        try await store.addUnit(
            UnitRecord(id: "U1", name: "Một", createdAt: moment("2031-02-01T00:00:00Z")),
            key: UnitKeyRecord(keyId: "0123456789ABCDEF", unitId: "U1", publicKey: "RW", state: .active, addedAt: moment("2031-02-01T00:00:00Z")),
            logBody: "{\"unit\":\"U1\"}")
        let clock = TestClock(try #require(Timestamp("2031-03-01T07:59:59Z")))
        try await Campaign(submitBy: "2031-03-01T08:00:00Z").save(store, clock: clock)

        let before = try await CampaignStatus.build(store: store, clock: clock)
        #expect(before["now"]?.string == "2031-03-01T07:59:59Z")
        #expect(before["deadlines"]?.string == "open")
        #expect(before["units"]?["late"]?.array?.count == 0)

        clock.advance(by: .seconds(2))
        let after = try await CampaignStatus.build(store: store, clock: clock)
        #expect(after["deadlines"]?.string == "submission_closed")
        #expect(after["units"]?["late"] == .array([.string("U1")]))
        let size = try await store.logSize()
        let saved = try await store.logEntries(start: 0, end: size).last { $0.kind == .campaign }
        #expect(saved?.createdAt == "2031-03-01T07:59:59Z")
    }

    @Test func aSigningKeysGraceIsCountedFromTheGatewaysClock() async throws {
        let (dir, store) = try await Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir.path) }  // lint: allow try? — cleanup
        let clock = TestClock(try #require(Timestamp("2031-03-01T08:00:00Z")))
        _ = try await SigningKeyRotation.generate(dir, store: store, role: .receipt, passphrase: Self.noPassphrase, announce: true, clock: clock)
        clock.advance(by: .seconds(600))
        let r = try await SigningKeyRotation.activate(
            dir, store: store, role: .receipt, passphrase: Self.noPassphrase, graceSeconds: 86_400, archive: false, logKind: .keyRotated,
            clock: clock)
        #expect(r.until == "2031-03-02T08:10:00Z")
        let old = try await store.signingKeys().first { $0.keyId == r.old }
        #expect(old?.state == .verifyOnly)
        #expect(old?.role == .receipt)
        #expect(old?.until?.text == "2031-03-02T08:10:00Z")
        #expect(old?.createdAt.text == "2031-03-01T08:10:00Z")
    }
}
