import Foundation
import GatewayCore
import SealCrypto
import SealPackage
import TestSupport
import Testing

/// Moving, copying, crashing, backing up, restoring and republishing never contradict what the
/// gateway already said, nor fork its log.
struct OperationsTests {
    static func logSize(_ gw: GatewayProcess) throws -> Int {
        (try JSON(parsing: try RawHTTP.request("GET", gw.url + "/v1/log/entries?start=0").text).array ?? []).count
    }

    /// A data folder moved elsewhere decides nothing again: zero new log entries.
    @Test func aMovedDataFolderDecidesNothingTwice() throws {
        let f = try GatewayFixture()
        let recipient = f.recipient  // read before the folder moves
        var gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        for seq in 1...3 { #expect(try f.post(gw, try f.seal("HCM-U001", seq: UInt64(seq))).status == 201) }
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 2, name: "conflict.sgp")).status == 409)
        let before = try Self.logSize(gw)
        gw.stop()
        // The bodies (small: kept in the store, no files) and where the store says they are.
        let bodies = { (dept: String) in
            try CLI.run("sqlite3", ["\(dept)/gateway.sqlite", "SELECT path, body IS NOT NULL FROM spool ORDER BY id"], cwd: f.w.path).out
        }
        let kept = try bodies("dept")
        #expect(kept.split(separator: "\n").filter { $0.hasSuffix("|1") }.count >= 3, "\(kept)")
        try FileManager.default.createDirectory(atPath: f.w.file("newhome"), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: f.w.file("dept"), toPath: f.w.file("newhome/dept"))
        gw = try GatewayProcess(data: "newhome/dept", cwd: f.w.path)
        defer { gw.stop() }
        #expect(try Self.logSize(gw) == before, "moving the folder appended log entries")
        #expect(!gw.logText.contains("decided"), "\(gw.logText)")
        // Every body is still known where it now is: none set aside as an orphan, the spool as it was.
        #expect(!gw.logText.contains("set aside") && !f.w.exists("newhome/dept/spool/orphans"), "\(gw.logText)")
        #expect(try bodies("newhome/dept") == kept)
        // And it goes on from where it was.
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 4, to: recipient)).status == 201)
    }

    /// kill -9 while bodies are arriving: on restart the part of a streamed one received is
    /// removed, never decided; a small one (received into memory) left nothing to remove.
    @Test func aBodyCutOffByACrashIsNeverDecided() throws {
        let f = try GatewayFixture()
        var gw: GatewayProcess? = try GatewayProcess(data: "dept", cwd: f.w.path)
        let before = try Self.logSize(gw!)
        _ = try f.seal("HCM-U001", seq: 1)
        let body = f.w.read("HCM-U001-1.sgp")
        #expect(body.count > 10_000 && body.count <= Intake.smallBodyBytes)
        // Declared longer than a small body: streamed into the spool (`.incoming-…`) as it comes.
        let fd = try RawHTTP.connect(host: "127.0.0.1", port: gw!.port, timeout: 10)
        defer { close(fd) }
        try RawHTTP.sendAll(
            fd,
            Array("POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: \(Intake.smallBodyBytes + 1)\r\n\r\n".utf8) + body.prefix(body.count / 2))
        // The same, declared as it is: a small body, held in memory.
        let small = try RawHTTP.connect(host: "127.0.0.1", port: gw!.port, timeout: 10)
        defer { close(small) }
        try RawHTTP.sendAll(
            small, Array("POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body.prefix(body.count / 2))
        let incoming = { try FileManager.default.contentsOfDirectory(atPath: f.w.file("dept/spool")).filter { $0.hasPrefix(".incoming-") } }
        #expect(
            try waitUntil { try !incoming().isEmpty },
            "the body never reached the spool: \((try? FileManager.default.contentsOfDirectory(atPath: f.w.file("dept/spool"))) ?? [])")
        gw!.kill9()
        gw = nil
        let restarted = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { restarted.stop() }
        let left = try incoming()
        #expect(restarted.logText.contains("removed 1 body(ies)") && left.isEmpty, "\(restarted.logText) \(left)")
        #expect(try Self.logSize(restarted) == before, "a partial body became a decision")
        #expect(try f.post(restarted, f.w.file("HCM-U001-1.sgp")).status == 201, "the unit's resend was not accepted")
    }

    /// The intake URL is configuration that sticks: set once, every later publication — key
    /// rotations included — keeps it; `submit` reaches the gateway through it, and an error
    /// says where the address came from.
    @Test func theIntakeURLSticksAcrossPublications() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        #expect(
            try waitUntil { gw.logText.contains("units seal and submit to the published intake URL http://127.0.0.1:8080") },
            "no warning about the wrong URL: \(gw.logText)")
        try requireOK(try CLI.sg(["trust", "publish", "--data", "dept", "--intake-url", gw.url], cwd: f.w.path))
        for args in [
            ["keys", "rotate", "recipient", "--data", "dept", "--grace", "1d"], ["keys", "rotate", "receipt", "--data", "dept", "--grace", "1d"],
            ["keys", "rotate", "root", "--data", "dept"], ["trust", "publish", "--data", "dept"],
        ] {
            try requireOK(try CLI.sg(args, cwd: f.w.path), args.joined(separator: " "))
        }
        try FileManager.default.copyItem(atPath: f.w.file("dept/keys/root.pub"), toPath: f.w.file("root.pub"))
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "root.pub", "-o", "trust.json"], cwd: f.w.path))
        let doc = try JSON(parsing: String(decoding: f.w.read("trust.json"), as: UTF8.self))
        #expect(doc["intake_url"]?.string == gw.url && (doc["version"]?.int ?? 0) >= 6, "\(doc)")
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "HCM-U001.key", "--trust", "trust.json", "-o", "p.sgp",
                    "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv",
                ], cwd: f.w.path))
        let s = try CLI.sg(["submit", "--trust", "trust.json", "p.sgp"], cwd: f.w.path)
        #expect(s.status == 0 && s.stderr.contains("201 accepted"), "submit without --gateway: \(s.stderr)")
        // A URL nothing listens on: the error names where it came from.
        try requireOK(try CLI.sg(["trust", "publish", "--data", "dept", "--intake-url", "http://127.0.0.1:9"], cwd: f.w.path))
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "root.pub", "-o", "trust.json"], cwd: f.w.path))
        let refused = try CLI.sg(["submit", "--trust", "trust.json", try f.seal("HCM-U001", seq: 2)], cwd: f.w.path)
        #expect(refused.status != 0 && refused.stderr.contains("the intake URL of trust document trust.json"), "\(refused.stderr)")
        // seal --trust without the signature beside it: the error names the file.
        try FileManager.default.removeItem(atPath: f.w.file("trust.json.minisig"))
        let noSig = try CLI.sg(
            [
                "seal", "--unit", "HCM-U001", "--seq", "3", "--signing-key", "HCM-U001.key", "--trust", "trust.json", "-o", "q.sgp",
                "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv",
            ], cwd: f.w.path)
        #expect(noSig.status != 0 && noSig.stderr.contains("trust.json.minisig"), "\(noSig.stderr)")
    }

    /// A routine `trust publish` after a rotation keeps every key in its state: a decrypt-only
    /// recipient is not resurrected (units seal to the new one only), a verify-only receipt key
    /// stays listed (an older receipt still verifies).
    @Test func republishingKeepsRotationState() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let first = try CLI.sg(["submit", "--gateway", gw.url, "--trust", "trust.json", try f.seal("HCM-U001", seq: 1)], cwd: f.w.path)
        #expect(first.status == 0, "\(first.stderr)")
        try requireOK(try CLI.sg(["keys", "rotate", "recipient", "--data", "dept", "--grace", "14d"], cwd: f.w.path))
        try requireOK(try CLI.sg(["keys", "rotate", "receipt", "--data", "dept", "--grace", "14d"], cwd: f.w.path))
        try requireOK(try CLI.sg(["trust", "publish", "--data", "dept"], cwd: f.w.path))
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let doc = TrustDocument(json: try JSON(parsing: String(decoding: f.w.read("trust.json"), as: UTF8.self)))
        let states = Dictionary(doc.recipientStates.map { ($0.fingerprint, $0.state) }, uniquingKeysWith: { a, _ in a })
        #expect(states.values.filter { $0 == "active" }.count == 1 && states.values.filter { $0 == "decrypt-only" }.count == 1, "\(states)")
        #expect(doc.json["signing_keys"]?.array?.contains { $0["role"]?.string == "receipt" && $0["state"]?.string == "verify-only" } == true)
        // Sealing with it: to the active recipient only.
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "2", "--signing-key", "HCM-U001.key", "--trust", "trust.json", "-o", "p2.sgp",
                    "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv",
                ], cwd: f.w.path))
        let to = try PackageHeader(path: f.w.file("p2.sgp"), source: try FileSource(path: f.w.file("p2.sgp"))).comment.to
        #expect(to.count == 1 && states[to[0]] == "active", "sealed to \(to)")
        // The receipt signed with the key rotated out still verifies with the republished document.
        let v = try CLI.sg(["receipt", "verify", "--trust", "trust.json", "HCM-U001-1.sgp.receipt.json"], cwd: f.w.path)
        #expect(v.status == 0, "\(v.stderr)")
    }

    /// A fresh install: nobody is late, and status says why and how to set the deadlines.
    @Test func deadlinesUnsetOnAFreshInstall() throws {
        let f = try GatewayFixture()
        let s = try CLI.sg(["status", "--data", "dept"], cwd: f.w.path)
        #expect(s.status == 0 && s.out.contains("deadlines not set") && s.out.contains("campaign set") && s.out.contains("0 late"), "\(s.out)")
        // A deadline that is no day of the calendar is refused, not kept as a deadline nobody is late against.
        let notADay = try CLI.sg(["campaign", "set", "--data", "dept", "--submit-by", "2020-02-30T00:00:00Z"], cwd: f.w.path)
        #expect(notADay.status == 64 && notADay.stderr.contains("bad time '2020-02-30T00:00:00Z'"), "\(notADay.stderr)")
        let set = try CLI.sg(["campaign", "set", "--data", "dept", "--submit-by", "2020-01-01T00:00:00Z"], cwd: f.w.path)
        #expect(set.status == 0 && set.stderr.contains("deadlines: submit by 2020-01-01T00:00:00Z, synthesize by -, sync by -"), "\(set.stderr)")
        let late = try CLI.sg(["status", "--data", "dept"], cwd: f.w.path)
        #expect(late.out.contains("the submit deadline has passed") && late.out.contains("2 late"), "\(late.out)")
    }

    /// A backup taken while units submit; packages accepted after it; the backup restored in
    /// place: the gateway refuses to start (it would sign a different tree of a size it already
    /// signed). Declaring the fork is logged and signed, the gateway starts, and an auditor who
    /// had verified the lost entries sees the fork.
    @Test func restoringAnOlderBackupCannotForkTheLogSilently() throws {
        let f = try GatewayFixture(units: 4)
        var gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let url = gw.url
        let files = try (1...4).map { try f.seal("HCM-U001", seq: UInt64($0), name: "a\($0).sgp") }
        // (A thread cannot throw: that every package arrived is checked below, by the log's size.)
        let sender = Thread { for file in files { _ = try? RawHTTP.request("POST", url + "/v1/packages", bodyFile: file) } }  // lint: allow try?
        sender.start()
        let backup = try CLI.sg(["backup", "--data", "dept", "-o", "dept.backup", "--json"], cwd: f.w.path)
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(try waitUntil { try Self.logSize(gw) >= 9 })  // the trust document, 4 units, 4 packages
        for u in ["HCM-U002", "HCM-U003"] { #expect(try f.post(gw, try f.seal(u, seq: 1)).status == 201) }
        let audit = try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "trust.json", "--state", "auditor.json"], cwd: f.w.path)
        #expect(audit.status == 0, "\(audit.stderr)")
        gw.stop()
        let listing = try CLI.run("tar", ["-tf", "dept.backup"], cwd: f.w.path).out
        #expect(listing.contains("backup.json") && listing.contains("gateway.sqlite") && listing.contains("keys/root.key"), "\(listing)")

        let restore = try CLI.sg(["restore", "dept.backup", "--data", "dept"], cwd: f.w.path)
        #expect(restore.status == 0 && restore.stderr.contains("will refuse to start"), "\(restore.stderr)")
        let refused = try CLI.sgBounded(["serve", "--data", "dept", "--port", "0"], cwd: f.w.path)
        #expect(refused.status != 0 && refused.stderr.contains("log_behind"), "\(refused.stderr)")
        // The library's remedy speaks of what to do; the command line adds its commands and flags.
        #expect(refused.stderr.contains("on the command line: restore a newer copy: sealgate restore --data DIR FILE; or sealgate log declare-fork"))
        // A new folder from the same backup needs to be told about the newest checkpoint.
        let blind = try CLI.sg(["restore", "dept.backup", "--data", "elsewhere"], cwd: f.w.path)
        #expect(blind.status != 0 && blind.stderr.contains("--checkpoint"), "\(blind.stderr)")
        try requireOK(try CLI.sg(["restore", "dept.backup", "--data", "elsewhere", "--checkpoint", "dept/log-head.json"], cwd: f.w.path))
        let refusedToo = try CLI.sgBounded(["serve", "--data", "elsewhere", "--port", "0"], cwd: f.w.path)
        #expect(refusedToo.status != 0 && refusedToo.stderr.contains("log_behind"), "\(refusedToo.stderr)")

        try requireOK(try CLI.sg(["log", "declare-fork", "--data", "dept", "--reason", "disk lost; restored from the backup"], cwd: f.w.path))
        gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let entries = try RawHTTP.request("GET", gw.url + "/v1/log/entries?start=0").text
        #expect(entries.contains("fork_declared") && entries.contains("disk lost"))
        let declaration = try #require(try JSON(parsing: entries).array?.first { $0["kind"]?.string == "fork_declared" }?["index"]?.int)
        // The auditor holds the checkpoint the declaration abandons: it is told, and refused (its
        // state untouched) until it accepts the fork; then it goes on, the old state kept as evidence.
        let verify = ["log", "verify", "--gateway", gw.url, "--trust", "trust.json", "--state", "auditor.json"]
        let held = f.w.read("auditor.json")
        let told = try CLI.sg(verify, cwd: f.w.path)
        #expect(told.status == 1 && told.stderr.contains("error: log_fork_declared: "), "\(told.stderr)")
        #expect(told.stderr.contains("declared fork: ") && told.stderr.contains("reason: disk lost; restored from the backup"), "\(told.stderr)")
        #expect(told.stderr.contains("run again with --accept-fork \(declaration) ") && f.w.read("auditor.json") == held, "\(told.stderr)")
        let after = try CLI.sg(verify + ["--accept-fork", String(declaration)], cwd: f.w.path)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(after.stderr.contains("declared fork: ") && after.stderr.contains("reason: disk lost; restored from the backup"), "\(after.stderr)")
        #expect(f.w.read("auditor.before-fork-\(declaration).json") == held)
        let again = try CLI.sg(verify, cwd: f.w.path)
        #expect(again.status == 0 && again.stderr.contains("consistent with the") && !again.stderr.contains("declared fork"), "\(again.stderr)")
    }

    /// A small body is recorded only by its decision's transaction: a process that ends between its
    /// admission and its decision (the `intake.open` failpoint's `exit`) leaves nothing — no
    /// record, no file — nothing is decided at the next start, and the unit's resend is decided
    /// then. A pending record that holds a body (as the version before this one left it at a
    /// crash) is never pruned, whatever the age, with `--files` too; the next start decides it
    /// from the store, and only then may it go.
    @Test func spoolPruneKeepsAPendingBody() throws {
        let f = try GatewayFixture()
        let p = try f.seal("HCM-U001", seq: 1)
        let crashing = try GatewayProcess(data: "dept", cwd: f.w.path, env: ["SEALGATE_FAILPOINTS": "intake.open=exit"])
        #expect(throws: RawHTTP.Failure.self) { try f.post(crashing, p) }
        crashing.process.waitUntilExit()
        #expect(crashing.process.terminationStatus == 86)
        let rows = { try CLI.run("sqlite3", ["dept/gateway.sqlite", "SELECT state FROM spool"], cwd: f.w.path).out }
        let cut = try Self.keptBodies(f)
        #expect(try rows() == "" && cut.files == 0 && cut.inStore == 0, "a small body cut off before its decision left \(cut)")
        let fresh = try GatewayProcess(data: "dept", cwd: f.w.path)
        #expect(!fresh.logText.contains("received whole but not decided"), "\(fresh.logText)")
        #expect(try f.post(fresh, p).status == 201, "the unit's resend is decided")
        fresh.stop()
        // A pending record holding a body, as the version before kept a small one until its decision.
        let q = try f.seal("HCM-U001", seq: 2)
        try Self.plantPending(f, q)
        let state = try rows()
        let spooled = try Self.keptBodies(f)
        #expect(state == "done\npending\n" && spooled.files == 0 && spooled.inStore == 2, "\(state) \(spooled)")
        let prune = try CLI.sg(["spool", "prune", "--data", "dept", "--older-than", "0s", "--files"], cwd: f.w.path)
        #expect(prune.status == 0 && prune.stderr.contains("removed 1 body(ies)"), "\(prune.stderr)")
        #expect(try Self.keptBodies(f).inStore == 1, "a pending body was pruned")
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        #expect(gw.logText.contains("decided 1 package(s) received whole but not decided"), "\(gw.logText)")
        #expect(try f.post(gw, q).status == 200, "the decision made at start answers the unit's resend")
        let after = try CLI.sg(["spool", "prune", "--data", "dept", "--older-than", "0s"], cwd: f.w.path)
        let left = try Self.keptBodies(f)
        #expect(after.stderr.contains("removed 1 body(ies)") && left.files + left.inStore == 0, "\(after.stderr) \(left)")
    }

    /// Records `package` as a pending spool entry holding its body (what the version before this
    /// one recorded at a small body's admission, and a crash left undecided), as sqlite3 would.
    static func plantPending(_ f: GatewayFixture, _ package: String) throws {
        let sha = try CLI.run("sha256sum", [package], cwd: f.w.path).out.prefix(64)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: package)[.size] as? Int)
        let name = "spool/\(PackageIdentifiers.newUUIDv7()).sgp"
        let sql = """
            INSERT INTO spool (sha256, size, path, received_at, body) VALUES ('\(sha)', \(size), '\(name)', '2026-01-02T03:04:05Z', readfile('\(package)'))
            """
        let r = try CLI.run("sqlite3", ["dept/gateway.sqlite", sql], cwd: f.w.path)
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// The bodies the spool keeps: files in the spool folder, small bodies kept in the store.
    static func keptBodies(_ f: GatewayFixture, _ dept: String = "dept") throws -> (files: Int, inStore: Int) {
        let files = try FileManager.default.contentsOfDirectory(atPath: f.w.file("\(dept)/spool")).filter { $0.hasSuffix(".sgp") }.count
        let rows = try CLI.run("sqlite3", ["\(dept)/gateway.sqlite", "SELECT count(*) FROM spool WHERE body IS NOT NULL"], cwd: f.w.path).out
        return (files, try #require(Int(rows.trimmingCharacters(in: .whitespacesAndNewlines))))
    }

    /// A package whose decision stops the process (a defect of ours a package reaches: here the
    /// `intake.open` failpoint's `exit`) cannot stop every start after it: the next starts try it
    /// twice (each one noted before it begins), the third sets it aside in `spool/held/`, forgets
    /// it (never acknowledged) and serves; sent again, it is decided anew.
    @Test func aPackageThatStopsTheDecisionIsSetAside() throws {
        let f = try GatewayFixture()
        let p = try f.seal("HCM-U001", seq: 1)
        let crash = ["SEALGATE_FAILPOINTS": "intake.open=exit"]
        // Pending, its body in the store, as a crash left it in the version before this one (a
        // small body is now recorded only with its decision; a large one's file is renamed aside).
        try GatewayProcess(data: "dept", cwd: f.w.path).stop()
        try Self.plantPending(f, p)
        for start in 1...2 {
            let again = try CLI.sg(["serve", "--data", "dept", "--port", "0"], cwd: f.w.path, env: crash)
            #expect(again.status == 86, "start \(start) decided the body again and stopped: \(again.stderr)")
            let attempts = try FileManager.default.contentsOfDirectory(atPath: f.w.file("dept/spool")).filter { $0.hasSuffix(".attempts") }
            #expect(attempts.count == 1 && String(decoding: f.w.read("dept/spool/\(attempts[0])"), as: UTF8.self) == "\(start)\n")
        }
        // A start that wrote the held copy and stopped before forgetting the record (a crash there)
        // does not stop the next one: the copy is written again over the same name.
        let stopped = try CLI.sg(["serve", "--data", "dept", "--port", "0"], cwd: f.w.path, env: ["SEALGATE_FAILPOINTS": "intake.held=exit"])
        #expect(stopped.status == 86 && f.w.exists("dept/spool/held"), "\(stopped.stderr)")
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, env: crash)
        #expect(gw.logText.contains("set aside 1 package(s) whose decision stopped the gateway on 2 starts"), "\(gw.logText)")
        let held = try FileManager.default.contentsOfDirectory(atPath: f.w.file("dept/spool/held"))
        #expect(held.count == 1 && held[0].hasSuffix(".sgp"), "\(held)")
        let state = try CLI.run("sqlite3", ["dept/gateway.sqlite", "SELECT count(*) FROM spool WHERE state = 'pending'"], cwd: f.w.path).out
        #expect(state == "0\n")
        gw.stop()
        let fixed = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { fixed.stop() }
        #expect(try f.post(fixed, p).status == 201, "sent again, the package is decided anew")
    }

    /// A recipient retired after its grace stays retired through a routine `trust publish`: not
    /// listed, nothing sealed to it, its packages refused `recipient_retired`.
    @Test func republishingKeepsARetiredRecipientRetired() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let old = f.recipient
        try requireOK(try CLI.sg(["keys", "rotate", "recipient", "--data", "dept", "--grace", "0s"], cwd: f.w.path))
        let retire = try CLI.sg(["keys", "retire", "--data", "dept"], cwd: f.w.path)
        #expect(retire.status == 0 && retire.stderr.contains(old.fingerprint), "\(retire.stderr)")
        try requireOK(try CLI.sg(["trust", "publish", "--data", "dept"], cwd: f.w.path))
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let text = String(decoding: f.w.read("trust.json"), as: UTF8.self)
        let doc = TrustDocument(json: try JSON(parsing: text))
        #expect(doc.recipientStates.map(\.state) == ["active"] && !text.contains(old.fingerprint), "\(doc.recipientStates)")
        #expect(try doc.activeRecipients().count == 1 && doc.activeRecipients()[0].string != old.string)
        let refused = try f.post(gw, try f.seal("HCM-U001", seq: 1, to: old))
        #expect(refused.status == 422 && refused.text.contains("\"code\":\"recipient_retired\""), "\(refused.text)")
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 2, to: try doc.activeRecipients()[0])).status == 201)
    }

    /// The retention policy: decided bodies older than the age go, pending ones never, a files
    /// package's only with --files.
    @Test func spoolPruneKeepsWhatIsStillNeeded() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let accepted = try f.post(gw, try f.seal("HCM-U001", seq: 1))
        #expect(accepted.status == 201)
        let id = try #require(try JSON(parsing: accepted.text)["package"]?.string)
        f.w.write("note.txt", "a note\n")
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--kind", "files", "--unit", "HCM-U002", "--seq", "1", "--signing-key", "HCM-U002.key", "--to", "dept/keys/recipient.pub",
                    "-o", "files.sgp", "note.txt",
                ], cwd: f.w.path))
        let filesAccepted = try f.post(gw, f.w.file("files.sgp"))
        #expect(filesAccepted.status == 201)
        let filesId = try #require(try JSON(parsing: filesAccepted.text)["package"]?.string)
        let bodies = {
            let b = try Self.keptBodies(f)
            return b.files + b.inStore
        }
        #expect(try bodies() == 2)
        let keep = try CLI.sg(["spool", "prune", "--data", "dept", "--older-than", "30d"], cwd: f.w.path)
        #expect(try keep.status == 0 && bodies() == 2, "\(keep.stderr)")
        // A decided body, kept in the store, comes out as the unit sent it (never over a file).
        let export = try CLI.sg(["spool", "export", "--data", "dept", id, "-o", "back.sgp"], cwd: f.w.path)
        #expect(export.status == 0 && f.w.read("back.sgp") == f.w.read("HCM-U001-1.sgp"), "\(export.stderr)")
        let over = try CLI.sg(["spool", "export", "--data", "dept", id, "-o", "note.txt"], cwd: f.w.path)
        #expect(over.stderr.contains("output_exists") && f.w.read("note.txt") == Array("a note\n".utf8), "\(over.stderr)")
        // A files package's body is a file in the spool: out the same way.
        let filesOut = try CLI.sg(["spool", "export", "--data", "dept", filesId, "-o", "files-back.sgp"], cwd: f.w.path)
        #expect(filesOut.status == 0 && f.w.read("files-back.sgp") == f.w.read("files.sgp"), "\(filesOut.stderr)")
        // A body changed in the store (zeros of its length: still a blob) is not written out as the unit's.
        try requireOK(
            try CLI.run("sqlite3", ["dept/gateway.sqlite", "UPDATE spool SET body = zeroblob(length(body)) WHERE body IS NOT NULL"], cwd: f.w.path))
        let changed = try CLI.sg(["spool", "export", "--data", "dept", id, "-o", "changed.sgp"], cwd: f.w.path)
        #expect(changed.stderr.contains("store_failure") && !f.w.exists("changed.sgp"), "\(changed.stderr)")
        let prune = try CLI.sg(["spool", "prune", "--data", "dept", "--older-than", "0s"], cwd: f.w.path)
        #expect(try prune.stderr.contains("removed 1 body") && bodies() == 1, "\(prune.stderr)")
        let gone = try CLI.sg(["spool", "export", "--data", "dept", id, "-o", "gone.sgp"], cwd: f.w.path)
        #expect(gone.status != 0 && gone.stderr.contains("package_unknown") && !f.w.exists("gone.sgp"), "\(gone.stderr)")
        try requireOK(try CLI.sg(["spool", "prune", "--data", "dept", "--older-than", "0s", "--files"], cwd: f.w.path))
        #expect(try bodies() == 0)
        // The decisions stand: a replay is still answered from them.
        #expect(try f.post(gw, f.w.file("HCM-U001-1.sgp")).status == 200)
    }
}
