import Foundation
import GatewayCore
import GatewayStore
import SealBase
import SealCrypto
import Testing

/// The gateway run at chosen instants with a `TestClock` (no sleeping): a recipient's
/// decrypt-only grace and a signing key's verify-only grace are set from the clock handed in, and
/// retiring takes a recipient whose grace has ended by that clock — not by the machine's; a unit
/// is late once the deadline has passed by it; a trust document expires by it (ExpiryWatch, the
/// key inventory); the forwarder's next attempt is counted from it and waited for by it.
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
        let old = keys.recipients[0].keyRecipient.fingerprint
        let rotation = try await DepartmentKeyLifecycle.rotateRecipient(
            dir: dir, store: store, keys: keys, passphrase: Self.noPassphrase, pending: false, grace: .seconds(3_600), clock: clock)
        guard case .active(let activation) = rotation else {
            Issue.record("the rotation left the new recipient pending")
            return
        }
        #expect(activation.decryptOnlyUntil.text == "2031-03-01T09:00:00Z")
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
        #expect(retiredEntry?.createdAt == moment("2031-03-01T09:00:00Z"))
    }

    @Test func aUnitIsLateOnceTheSubmissionDeadlineHasPassedByTheGatewaysClock() async throws {
        let (dir, store) = try await Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir.path) }  // lint: allow try? — cleanup
        try await store.addUnit(
            UnitRecord(id: "U1", name: "Một", createdAt: moment("2031-02-01T00:00:00Z")),
            key: UnitKeyRecord(keyId: "0123456789ABCDEF", unitId: "U1", publicKey: "RW", state: .active, addedAt: moment("2031-02-01T00:00:00Z")),
            logBody: "{\"unit\":\"U1\"}")
        let clock = TestClock(try #require(Timestamp("2031-03-01T07:59:59Z")))
        try await Campaign(submitBy: moment("2031-03-01T08:00:00Z")).save(store, clock: clock)

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
        #expect(saved?.createdAt == moment("2031-03-01T07:59:59Z"))
    }

    @Test func aSigningKeysGraceIsCountedFromTheGatewaysClock() async throws {
        let (dir, store) = try await Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir.path) }  // lint: allow try? — cleanup
        let clock = TestClock(try #require(Timestamp("2031-03-01T08:00:00Z")))
        _ = try await SigningKeyRotation.generate(dir, store: store, role: .receipt, passphrase: Self.noPassphrase, announce: true, clock: clock)
        clock.advance(by: .seconds(600))
        let r = try await SigningKeyRotation.activate(
            dir, store: store, role: .receipt, passphrase: Self.noPassphrase, grace: .seconds(86_400), archive: false, logKind: .keyRotated,
            clock: clock)
        #expect(r.until.text == "2031-03-02T08:10:00Z")
        let old = try await store.signingKeys().first { $0.keyId == r.old }
        #expect(old?.state == .verifyOnly)
        #expect(old?.role == .receipt)
        #expect(old?.until?.text == "2031-03-02T08:10:00Z")
        #expect(old?.createdAt.text == "2031-03-01T08:10:00Z")
    }

    @Test func aTrustDocumentExpiresByTheGatewaysClock() async throws {
        let (dir, store) = try await Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir.path) }  // lint: allow try? — cleanup
        // Issued at the clock's time (years from the machine's), valid for the publication's 90 days.
        let clock = TestClock(try #require(Timestamp("2031-03-01T08:00:00Z")))
        let keys = try DepartmentKeys.load(dir, passphrase: Self.noPassphrase)
        let doc = try await TrustPublication.publish(dir, store: store, keys: keys, clock: clock)
        #expect(doc.json["issued"]?.string == "2031-03-01T08:00:00Z")
        #expect(doc.expires == "2031-05-30T08:00:00Z")
        let size = try await store.logSize()
        #expect(try await store.logEntries(start: size - 1, end: size).first?.createdAt == moment("2031-03-01T08:00:00Z"))

        // Well within its validity: nothing to say about the trust document.
        let early = try await ExpiryWatch.check(store: store, clock: clock)
        #expect(!early.contains { $0.subject == .trustDocument(version: doc.version) })

        // One second before it expires: a warning ahead; at its expiry: expired, publish now.
        clock.now = try #require(Timestamp("2031-05-30T07:59:59Z"))
        let ahead = try #require(try await ExpiryWatch.check(store: store, clock: clock).first { $0.subject == .trustDocument(version: doc.version) })
        #expect(ahead.secondsLeft == 1)
        #expect(!ahead.hasPassed)
        clock.advance(by: .seconds(1))
        let expired = try #require(
            try await ExpiryWatch.check(store: store, clock: clock).first { $0.subject == .trustDocument(version: doc.version) })
        #expect(expired.hasPassed)
        #expect(expired.message.contains("expired at 2031-05-30T08:00:00Z"))
        #expect(expired.remedy == "publish a new trust document version now")
        // The key inventory (`keys list`) says the same at that instant.
        let inventory = try await KeyInventory.load(dir, store: store, clock: clock)
        #expect(inventory.now.text == "2031-05-30T08:00:00Z")
        #expect(inventory.notices().contains { $0.subject == .trustDocument(version: doc.version) && $0.hasPassed })
    }

    @Test func theForwardersNextAttemptIsComputedFromTheGatewaysClock() async throws {
        let (dir, store) = try await Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir.path) }  // lint: allow try? — cleanup
        // A handbook endpoint nobody listens on (port 1 of loopback: refused at once) and one pending dataset.
        let endpoint = HandbookEndpoint(
            url: "http://127.0.0.1:1", recipients: [try AgeX25519Identity.generate().recipient], ackKey: MinisignSecretKey.generate().publicKey)
        try await store.setSetting("handbook", endpoint.json.canonical)
        let package = dir.path + "/dataset-v1.sgp"
        #expect(FileManager.default.createFile(atPath: package, contents: Data("not sent anywhere".utf8)))
        try await store.addDataset(
            DatasetRecord(
                version: 1, packageId: "0190a1b2-0000-7000-8000-000000000001", path: package, sha256: String(repeating: "0", count: 64),
                size: 17, members: 0, organizations: 0, conflicts: 0, createdAt: moment("2031-03-01T07:00:00Z")),
            logBody: "{\"kind\":\"dataset\"}")

        let clock = TestClock(try #require(Timestamp("2031-03-01T08:00:00Z")))
        let forwarder = Forwarder(store: store, baseDelay: .seconds(10), maxDelay: .seconds(300), timeout: .seconds(5), clock: clock)
        guard case .failed(1, _) = await forwarder.step() else {
            Issue.record("the first attempt did not fail")
            return
        }
        // 10 s × 2^0 × a jitter in [0.5, 1], from the clock's time: between 08:00:05 and 08:00:10.
        let first = try #require(try await store.datasets().first)
        #expect(first.attempts == 1)
        let next = try #require(first.nextAttemptAt)
        let earliest = try #require(Timestamp("2031-03-01T08:00:05Z"))
        let latest = try #require(Timestamp("2031-03-01T08:00:10Z"))
        #expect(earliest <= next && next <= latest)

        // Not due a second before it by the clock (no attempt, nothing recorded); due at it.
        clock.now = next.adding(.seconds(-1))
        #expect(await forwarder.step() == .waiting)
        #expect(try await store.datasets().first?.attempts == 1)
        clock.now = next
        guard case .failed(1, _) = await forwarder.step() else {
            Issue.record("the attempt due by the clock was not made")
            return
        }
        // The second delay doubles: 20 s × [0.5, 1] from the clock's time.
        let second = try #require(try await store.datasets().first)
        #expect(second.attempts == 2)
        let again = try #require(second.nextAttemptAt)
        #expect(next.adding(.seconds(10)) <= again && again <= next.adding(.seconds(20)))
    }
}
