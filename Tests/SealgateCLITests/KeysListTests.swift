import Foundation
import GatewayCore
import SealBase
import SealCrypto
import SealPackage
import TestSupport
import Testing

/// `keys list` and `datasets list` (text and `--json`), and the warnings ahead of expiry that
/// `serve`, `keys list` and `submit` give.
struct KeysListTests {
    func keyId(_ f: GatewayFixture, _ file: String) throws -> String { try MinisignPublicKey(path: f.w.file(file)).keyIdHex }

    func listed(_ r: CLI.Result) throws -> JSON {
        let j = try JSON(parsing: r.out)
        #expect(r.status == 0 && j["ok"] == .bool(true), "\(r.stderr)")
        return j["result"] ?? .null
    }

    /// After a recipient rotation, a pending receipt key and a log key switch, every key is listed
    /// once in its state — and listing reads no secret (an encrypted department needs no passphrase).
    @Test func keysListShowsEveryKeyInItsState() throws {
        let f = try GatewayFixture()
        let recipient1 = f.recipient.fingerprint
        let receipt1 = try keyId(f, "dept/keys/receipt.pub")
        let log1 = try keyId(f, "dept/keys/log.pub")
        let dataset = try keyId(f, "dept/keys/dataset.pub")
        let root = try keyId(f, "dept/keys/root.pub")
        try requireOK(try CLI.sg(["keys", "rotate", "recipient", "--data", "dept", "--grace", "14d"], cwd: f.w.path))
        let recipient2 = f.recipient.fingerprint
        try requireOK(try CLI.sg(["keys", "rotate", "receipt", "--data", "dept", "--pending"], cwd: f.w.path))
        let receipt2 = try keyId(f, "dept/keys/receipt-next.pub")
        try requireOK(try CLI.sg(["keys", "rotate", "log", "--data", "dept", "--grace", "3d"], cwd: f.w.path))
        let log2 = try keyId(f, "dept/keys/log.pub")
        #expect(recipient1 != recipient2 && receipt1 != receipt2 && log1 != log2)

        let result = try listed(try CLI.sg(["keys", "list", "--data", "dept", "--json"], cwd: f.w.path))
        let keys = result["keys"]?.array ?? []
        func entry(_ role: String, _ id: String) -> JSON? { keys.first { $0["role"]?.string == role && $0["id"]?.string == id } }
        func state(_ role: String, _ id: String) -> String? { entry(role, id)?["state"]?.string }
        #expect(state("recipient", recipient2) == "active")
        #expect(state("recipient", recipient1) == "decrypt-only")
        #expect(state("receipt", receipt1) == "active")
        #expect(state("receipt", receipt2) == "pending")
        #expect(state("log", log2) == "active")
        #expect(state("log", log1) == "verify-only")
        #expect(state("dataset", dataset) == "active")
        #expect(state("root", root) == "active")
        #expect(keys.count == 8, "\(keys)")
        // The graces end where the rotations said; every key has its creation time.
        let now = Timestamp.now.unixSeconds
        let recipientUntil = (entry("recipient", recipient1)?["until"]?.string).flatMap { $0.moment }?.unixSeconds ?? 0
        #expect(recipientUntil > now + 13 * 86_400 && recipientUntil <= now + 14 * 86_400)
        let logUntil = (entry("log", log1)?["until"]?.string).flatMap { $0.moment }?.unixSeconds ?? 0
        #expect(logUntil > now + 2 * 86_400 && logUntil <= now + 3 * 86_400)
        #expect(keys.allSatisfy { $0["created"]?.string?.moment != nil }, "\(keys)")
        #expect(entry("recipient", recipient2)?["public_key"]?.string?.hasPrefix("age1") == true)
        // The trust document: init, the recipient rotation, the pending receipt key, the log switch.
        #expect(result["trust"]?["version"]?.int == 4)
        #expect(result["trust"]?["expires"]?.string?.moment != nil)
        let warned = (result["warnings"]?.array ?? []).compactMap { $0["id"]?.string }
        #expect(warned.contains(log1) && warned.contains(recipient1) && !warned.contains(receipt1), "\(result["warnings"] ?? .null)")

        // The text table: one line a key, its role, state and id.
        let text = try CLI.sg(["keys", "list", "--data", "dept"], cwd: f.w.path)
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.out.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("trust document version 4: issued ") == true, "\(text.out)")
        func line(_ role: String, _ state: String, _ id: String) -> Bool {
            lines.contains {
                $0.split(separator: " ", omittingEmptySubsequences: true).prefix(3) == [Substring(role), Substring(state), Substring(id)]
            }
        }
        #expect(line("recipient", "decrypt-only", recipient1) && line("recipient", "active", recipient2), "\(text.out)")
        #expect(line("receipt", "pending", receipt2) && line("log", "verify-only", log1), "\(text.out)")
        #expect(text.stderr.contains("warning: log key \(log1) is verify-only until"), "\(text.stderr)")

        // Encrypted department keys: listed without a passphrase (stdin is no terminal: a prompt would fail).
        try requireOK(try CLI.sg(["init", "--data", "locked"], cwd: f.w.path, env: ["SEALGATE_PASSPHRASE": "a passphrase for the test"]))
        let locked = try listed(try CLI.sg(["keys", "list", "--data", "locked", "--json"], cwd: f.w.path))
        #expect(locked["keys"]?.array?.count == 5)
    }

    /// A dataset while the handbook system is down: pending, its attempts, last error and next
    /// attempt; once it is up: delivered, with when the acknowledgement was recorded.
    @Test func datasetsListShowsDelivery() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        let none = try CLI.sg(["datasets", "list", "--data", "dept", "--json"], cwd: c.w.path)
        #expect(try listed(none)["datasets"]?.array?.isEmpty == true)
        let port = try c.synthesizeWhileReceiverDown()
        #expect(try c.waitFor("attempts") { (try c.dataset(1)["attempts"]?.int ?? 0) >= 1 })
        let pending = try listed(try CLI.sg(["datasets", "list", "--data", "dept", "--json"], cwd: c.w.path))["datasets"]?.array ?? []
        #expect(pending.count == 1)
        let p = pending.first ?? .null
        #expect(p["version"]?.int == 1 && p["state"]?.string == "pending" && (p["attempts"]?.int ?? 0) >= 1, "\(p)")
        #expect(p["last_error"]?.string?.isEmpty == false && p["next_attempt"]?.string?.moment != nil, "\(p)")
        #expect(p["acknowledged_at"] == .null)
        #expect(p["created"]?.string?.moment != nil && (p["members"]?.int ?? 0) > 0 && p["conflicts"]?.int == 0 && p["withheld"]?.int == 0, "\(p)")

        let hb = try c.handbook(port: port)
        defer { hb.stop() }
        #expect(try c.waitFor("delivered") { try c.dataset(1)["state"]?.string == "delivered" }, "\((try? c.dataset(1)) ?? .null)")
        let delivered = try listed(try CLI.sg(["datasets", "list", "--data", "dept", "--json"], cwd: c.w.path))["datasets"]?.array ?? []
        let d = delivered.first ?? .null
        #expect(d["state"]?.string == "delivered" && d["acknowledged_at"]?.string?.moment != nil, "\(d)")
        #expect(d["handbook_imported_at"]?.string?.moment != nil && d["last_error"] == .null && d["next_attempt"] == .null, "\(d)")
        #expect(d["members"] == p["members"])
        let text = try CLI.sg(["datasets", "list", "--data", "dept"], cwd: c.w.path)
        let lines = text.out.split(separator: "\n")
        #expect(text.status == 0 && lines.count == 2 && lines[0].hasPrefix("VERSION") && lines[1].hasPrefix("1 "), "\(text.out)")
        #expect(lines[1].contains(" delivered ") && lines[1].contains(d["acknowledged_at"]?.string ?? "?"), "\(text.out)")
    }

    /// A trust document published for 3 days and a recipient decrypt-only for 2: `serve` warns of
    /// both at start, `submit` warns the unit of its document; with the 90-day default neither does.
    @Test func serveAndSubmitWarnAheadOfExpiry() throws {
        let f = try GatewayFixture()
        var gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        #expect(!gw.logText.contains("expire") && !gw.logText.contains("decrypt-only"), "\(gw.logText)")
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let first = try CLI.sg(["submit", "--gateway", gw.url, "--trust", "trust.json", try f.seal("HCM-U001", seq: 1)], cwd: f.w.path)
        #expect(first.status == 0 && !first.stderr.contains("warning"), "\(first.stderr)")

        let recipient1 = f.recipient.fingerprint
        try requireOK(try CLI.sg(["trust", "publish", "--data", "dept", "--valid-days", "3"], cwd: f.w.path))
        try requireOK(try CLI.sg(["keys", "rotate", "recipient", "--data", "dept", "--grace", "2d"], cwd: f.w.path))
        gw.stop()
        gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        let log = gw.logText
        // 3 days, less the seconds since it was published.
        let trustWarning = #"warning: trust document version 3 expires at \S+ \(in [23] days\): .* — sealgate trust publish --data dept"#
        #expect(log.range(of: trustWarning, options: .regularExpression) != nil, "\(log)")
        #expect(log.contains("warning: recipient \(recipient1) is decrypt-only until "), "\(log)")

        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let second = try CLI.sg(["submit", "--gateway", gw.url, "--trust", "trust.json", try f.seal("HCM-U001", seq: 2)], cwd: f.w.path)
        #expect(second.status == 0, "a warning, not a refusal: \(second.stderr)")
        let unitWarning = #"warning: trust document version 3 expires at \S+ \(in [23] days\): .*; fetch it again \(sealgate trust fetch "#
        #expect(second.stderr.range(of: unitWarning, options: .regularExpression) != nil, "\(second.stderr)")
    }

    /// The notices at their edges: 14 days ahead warns, a second more does not; what has passed
    /// says so; an ended verify-only grace asks for nothing; a damaged date counts as passed.
    @Test func expiryNoticesAtTheirEdges() {
        let now = Timestamp(unixSeconds: 1_800_000_000)
        func at(_ s: Int64) -> StatedTime { StatedTime(now.adding(seconds: s)) }
        let horizon = ExpiryWatch.horizon.components.seconds
        #expect(ExpiryWatch.trustNotice(version: 7, expires: at(horizon), now: now)?.secondsLeft == horizon)
        #expect(ExpiryWatch.trustNotice(version: 7, expires: at(horizon + 1), now: now) == nil)
        let passed = ExpiryWatch.trustNotice(version: 7, expires: at(-3 * 86_400), now: now)
        #expect(passed?.hasPassed == true && passed?.message.contains("expired at") == true && passed?.message.contains("3 days ago") == true)
        #expect(ExpiryWatch.trustNotice(version: 7, expires: StatedTime("2026-13-01T00:00:00Z"), now: now)?.hasPassed == true)
        #expect(StatedTime("2026-13-01T00:00:00Z") == .unreadable("2026-13-01T00:00:00Z") && at(0) == .moment(now))
        let keys = [
            DepartmentKeyEntry(role: "recipient", state: "decrypt-only", id: "a", publicKey: "age1a", created: nil, until: at(-60)),
            DepartmentKeyEntry(role: "recipient", state: "decrypt-only", id: "b", publicKey: "age1b", created: nil, until: at(horizon + 1)),
            DepartmentKeyEntry(role: "log", state: "verify-only", id: "c", publicKey: "RW", created: nil, until: at(-60)),
            DepartmentKeyEntry(role: "log", state: "verify-only", id: "d", publicKey: "RW", created: nil, until: at(5 * 3_600)),
            DepartmentKeyEntry(role: "receipt", state: "active", id: "e", publicKey: "RW", created: nil),
            // A grace end the store or a trust document states unreadably counts as ended, never as "no end".
            DepartmentKeyEntry(role: "recipient", state: "decrypt-only", id: "f", publicKey: "age1f", created: nil, until: StatedTime("soon")),
        ]
        let notices = ExpiryWatch.keyNotices(keys, now: now)
        #expect(
            notices.map(\.subject) == [
                .key(role: "recipient", id: "a", state: "decrypt-only"), .key(role: "log", id: "d", state: "verify-only"),
                .key(role: "recipient", id: "f", state: "decrypt-only"),
            ])
        #expect(notices.first?.remedy.contains("retire") == true && notices[1].message.contains("in 5 hours"))
        #expect(notices.last?.hasPassed == true && notices.last?.message.contains("grace ended at soon") == true)
    }
}
