import Foundation
import GatewayCore
import SealCrypto
import TestSupport
import Testing

/// Several `sealgate serve` processes on one PostgreSQL database behave as one gateway.
@Suite(.enabled(if: TestPostgres.available, "needs the throwaway PostgreSQL cluster (make test)"))
struct ScaleOutTests {
    /// A copy of the unit's records without its last member: valid, and other bytes.
    static func rivalCopy(_ c: CityCycle, _ unit: String) throws -> String {
        let dir = c.w.file("rival-\(unit)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: c.w.file("city/\(unit)/organizations.csv"), toPath: "\(dir)/organizations.csv")
        let lines = String(decoding: c.w.read("city/\(unit)/members.csv"), as: UTF8.self).split(separator: "\n")
        c.w.write("rival-\(unit)/members.csv", lines.dropLast().joined(separator: "\n") + "\n")
        return dir
    }

    static func health(_ gw: GatewayProcess) throws -> JSON { try JSON(parsing: try RawHTTP.request("GET", gw.url + "/healthz").text) }
    /// Rounds a background role has run in the process (/healthz).
    static func rounds(_ gw: GatewayProcess, _ role: String) -> Int64 { ((try? health(gw))?["rounds"]?[role]?.int) ?? -1 }
    static func holds(_ gw: GatewayProcess, _ lease: String) -> Bool {
        ((try? health(gw))?["leases"]?.array ?? []).contains { $0.string == lease }
    }

    /// Both processes receive a stream of submissions, the same packages sent to both at once
    /// and rival packages (same seq, other bytes) to each: one outcome per package, the other
    /// process answers the first receipt (a duplicate) or a seq conflict; no seq is taken twice;
    /// the log is one, in one order, and verifies through either process.
    @Test func twoGatewaysOneOutcomePerPackage() throws {
        try Self.twoGateways(database: try TestPostgres.freshDatabase())
    }

    /// `database`: PostgreSQL, or nil for two processes on one SQLite file (one machine).
    static func twoGateways(database url: String?) throws {
        let c = try CityCycle(units: 6, database: url)
        let query = { (sql: String) throws -> String in
            if let url { return try TestPostgres.psql(url, sql) }
            return try CLI.run("sqlite3", ["dept/gateway.sqlite", sql], cwd: c.w.path).out.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let a = try GatewayProcess(data: "dept", cwd: c.w.path, extra: ["--node", "a"])
        defer { a.stop() }
        let b = try GatewayProcess(data: "dept", cwd: c.w.path, extra: ["--node", "b"])
        defer { b.stop() }
        #expect(try Self.health(a)["store"]?.string == (url == nil ? "sqlite" : "postgresql"))
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", b.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: c.w.path))
        let units = (1...6).map { "HCM-U" + String(format: "%03d", $0) }

        struct Sent {
            let unit: String
            let seq: UInt64
            let status: Int
            let body: String
            let via: String
        }
        let lock = NSLock()
        nonisolated(unsafe) var sent: [Sent] = []
        // Round 1: every unit's seq 1 to both at once. Round 2: seq 2 to one, a rival seq 2
        // (valid records, other bytes: the unit's records less their last member) to the other, at once.
        var jobs: [(GatewayProcess, String, String, UInt64)] = []
        for u in units {
            let p = try c.f.seal(u, seq: 1)
            jobs += [(a, p, u, 1), (b, p, u, 1)]
            let good = try c.f.seal(u, seq: 2, name: "\(u)-2.sgp")
            let rival = try c.f.seal(u, seq: 2, dir: try Self.rivalCopy(c, u), name: "\(u)-2-rival.sgp")
            jobs += [(a, good, u, 2), (b, rival, u, 2)]
        }
        // Round 1 first (seq 2 must find seq 1 decided), then round 2; within a round all at once.
        // With the department's token, a duplicate is answered with the first receipt itself.
        let admin = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: c.w.path).out.trimmingCharacters(
            in: .whitespacesAndNewlines)
        for round in [UInt64(1), 2] {
            let batch = jobs.filter { $0.3 == round }
            DispatchQueue.concurrentPerform(iterations: batch.count) { i in
                let (gw, file, unit, seq) = batch[i]
                do {
                    let r = try RawHTTP.request(
                        "POST", gw.url + "/v1/packages",
                        headers: [
                            "Content-Type": "application/vnd.sealgate.package",
                            "Authorization": "Bearer \(admin)",
                        ], bodyFile: file)
                    lock.lock()
                    sent.append(Sent(unit: unit, seq: seq, status: r.status, body: r.text, via: gw === a ? "a" : "b"))
                    lock.unlock()
                } catch { Issue.record("post failed: \(error)") }
            }
        }
        for u in units {
            let first = sent.filter { $0.unit == u && $0.seq == 1 }
            #expect(
                first.map(\.status).sorted() == [200, 201],
                "\(u) seq 1 sent twice: one accepted, one duplicate — \(first.map { "\($0.status) \($0.body.prefix(600))" })")
            #expect(Set(first.map(\.body)).count == 1, "\(u): the duplicate answer is the first receipt")
            let second = sent.filter { $0.unit == u && $0.seq == 2 }
            #expect(
                second.map(\.status).sorted() == [201, 409],
                "\(u) seq 2 and a rival: one accepted, the other a seq conflict — \(second.map { "\($0.status) \($0.body.prefix(300))" })")
        }
        // In the database: one claim per (unit, seq), the accepted ones' records current, a log without gaps.
        #expect(try query("SELECT count(*) FROM (SELECT unit_id, seq FROM outcomes WHERE claims_seq = 1 GROUP BY 1, 2 HAVING count(*) > 1) x") == "0")
        #expect(try query("SELECT count(*) FROM outcomes WHERE claims_seq = 1") == "12")
        #expect(try query("SELECT count(*) FROM snapshots WHERE current = 1") == "6")
        #expect(try query("SELECT CASE WHEN count(*) = max(idx) + 1 THEN 'yes' ELSE 'no' END FROM log_entries") == "yes")
        // Each process spools into its own folder (--node) — a small body kept in the store
        // under its name there; a duplicate is not kept twice: 6 first seqs and 12 second ones
        // (accepted or in conflict), nothing pending.
        do {
            let files = ["a", "b"].flatMap { n in
                ((try? FileManager.default.contentsOfDirectory(atPath: c.w.file("dept/spool/\(n)"))) ?? []).filter { $0.hasSuffix(".sgp") }
            }
            let kept = try query("SELECT count(*) FROM spool WHERE body IS NOT NULL AND (path LIKE 'spool/a/%' OR path LIKE 'spool/b/%')")
            #expect(files.count + (Int(kept) ?? -100) == 18, "\(files.count) files and \(kept) bodies in the store kept")
            #expect(try query("SELECT count(*) FROM spool WHERE state = 'pending'") == "0")
        }
        for gw in [a, b] {
            let v = try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "trust.json"], cwd: c.w.path)
            #expect(v.status == 0, "log verify through \(gw.url): \(v.stderr)")
        }
        // The campaign view, from either process, counts the six units once.
        try requireOK(try CLI.sg(["status", "--data", "dept"], cwd: c.w.path))
        let st = try JSON(parsing: try CLI.sg(["status", "--data", "dept", "--json"], cwd: c.w.path).out)
        #expect(st["result"]?["campaign"]?["units"]?["registered"]?.int == 6, "\(st)")
    }

    /// The database goes down under a running gateway: a submission is refused at once with a
    /// coded 503 (nothing recorded), /healthz says so; the database back, the same package is
    /// accepted, with no restart of the gateway.
    @Test func databaseOutageIsACodedRefusalAndHeals() throws {
        let cluster = try PrivateCluster()
        defer { cluster.stop() }
        let url = cluster.url
        let f = try GatewayFixture(units: 2, members: 40, database: url)
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: ["--node", "gw"])
        defer { gw.stop() }
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 1)).status == 201)
        let second = try f.seal("HCM-U002", seq: 1)

        try cluster.halt()
        // Answered (a hang would end in the client's timeout and throw), with the code.
        let refused = try RawHTTP.request(
            "POST", gw.url + "/v1/packages", headers: ["Content-Type": "application/vnd.sealgate.package"], bodyFile: second, timeout: 30)
        let code = try JSON(parsing: refused.text)["code"]?.string
        #expect(refused.status == 503 && code == "store_unavailable", "\(refused.status) \(refused.text)")
        #expect(try RawHTTP.request("GET", gw.url + "/healthz").status == 503)

        try cluster.resume()
        let accepted = try f.post(gw, second)
        #expect(accepted.status == 201, "\(accepted.status) \(accepted.text)")
        #expect(try RawHTTP.request("GET", gw.url + "/healthz").status == 200)
        #expect(try TestPostgres.psql(url, "SELECT count(*) FROM outcomes WHERE status = 'accepted'") == "2")
    }

    /// kill -9 mid-batch on PostgreSQL: every package that got a receipt is there after the
    /// restart, the spooled bodies are decided, a resubmitted batch converges.
    @Test func killDashNineMidBatchOnPostgres() throws {
        try GatewayEndToEndTests.killDashNine(database: try TestPostgres.freshDatabase())
    }

    /// The forwarder runs in one process; killed, the other takes its lease over and the
    /// dataset is delivered exactly once. The survivor stands for another machine: a copy of
    /// the data folder (keys, gateway.json) without the dataset files, so it sends the store's
    /// copy of the package.
    @Test func forwarderLeaseTakenOverWhenItsHolderDies() throws {
        let url = try TestPostgres.freshDatabase()
        let c = try CityCycle(units: 2, database: url)
        try FileManager.default.copyItem(atPath: c.w.file("dept"), toPath: c.w.file("other-host"))
        let opts = ["--forward-retry-base", "0.2s", "--forward-retry-max", "1s", "--forward-timeout", "2"]
        let first = try GatewayProcess(data: "dept", cwd: c.w.path, extra: ["--node", "first"] + opts)
        defer { first.stop() }
        #expect(try c.waitFor("lease") { Self.holds(first, "forwarder") }, "the only process takes the forwarder lease")
        let second = try GatewayProcess(data: "other-host", cwd: c.w.path, extra: ["--node", "second"] + opts)
        defer { second.stop() }
        // The second process has tried for the lease (it says so once) and does not hold it.
        #expect(try c.waitFor("tried", seconds: 30) { second.logText.contains("waiting for the forwarder lease") }, "\(second.logText)")
        #expect(!Self.holds(second, "forwarder"), "one holder at a time")
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", second.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: c.w.path))
        try c.submitAll(second, units: ["HCM-U001", "HCM-U002"])
        // The receiver is down: the holder tries and fails.
        let port = try c.synthesizeWhileReceiverDown()
        let attempts = { Int(try TestPostgres.psql(url, "SELECT attempts FROM datasets WHERE version = 1")) ?? 0 }
        #expect(try c.waitFor("attempts") { try attempts() >= 1 }, "the lease holder tries to deliver")
        // The holder dies; the receiver comes up; the other process delivers.
        first.kill9()
        // Its machine is gone, and with it the dataset files it wrote.
        try FileManager.default.moveItem(atPath: c.w.file("dept/datasets"), toPath: c.w.file("gone"))
        let hb = try c.handbook(port: port)
        defer { hb.stop() }
        #expect(try c.waitFor("taken over", seconds: 30) { Self.holds(second, "forwarder") }, "the survivor takes the lease: \(second.logText)")
        #expect(try c.waitFor("delivered", seconds: 30) { try TestPostgres.psql(url, "SELECT state FROM datasets WHERE version = 1") == "delivered" })
        // The forwarder has looked for work three more times since: still delivered once.
        let looked = Self.rounds(second, "forwarder")
        #expect(try c.waitFor("three more rounds", seconds: 30) { Self.rounds(second, "forwarder") >= looked + 3 })
        #expect(try TestPostgres.psql(url, "SELECT count(*) FROM log_entries WHERE kind = 'dataset_forwarded'") == "1", "delivered once")
        let history = try JSON(parsing: try RawHTTP.request("GET", hb.url + "/v1/datasets").text).array ?? []
        #expect(history.count == 1, "the receiver imported it once")
        #expect(second.logText.contains("holding the forwarder lease"))
        #expect(!FileManager.default.fileExists(atPath: c.w.file("other-host/datasets/v1")), "the survivor had none of the synthesis' files")
        #expect(
            try sha256File(c.w.file("other-host/datasets/dataset-v1.sgp")) == (try sha256File(c.w.file("gone/dataset-v1.sgp"))),
            "it sent the store's copy, the same bytes")
    }
}

/// Two processes on one SQLite file (one machine): the same guarantees, from SQLite's own
/// locking (one writer at a time) and flock leases.
struct SQLiteTwoProcessTests {
    @Test func twoGatewaysOnOneSQLiteFile() throws {
        try ScaleOutTests.twoGateways(database: nil)
    }
}
