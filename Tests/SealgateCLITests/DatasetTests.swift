import Foundation
import GatewayCore
import SealCrypto
import SealPackage
import TestSupport
import Testing

/// A department with units, a handbook receiver's keys, and the gateway connected to `url`.
struct CityCycle {
    let f: GatewayFixture
    var w: Workdir { f.w }

    init(units: Int = 3, database: String? = nil) throws {
        f = try GatewayFixture(units: units, members: 60, database: database)
        try requireOK(try CLI.sg(["handbook", "init", "--data", "hb", "--unencrypted"], cwd: f.w.path))
        try requireOK(try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: f.w.path))
    }

    func connect(_ url: String) throws {
        try requireOK(
            try CLI.sg(
                ["handbook", "connect", "--data", "dept", "--url", url, "--recipient", "hb/identity.pub", "--ack-key", "hb/ack.pub"], cwd: w.path))
    }

    func gateway(_ extra: [String] = []) throws -> GatewayProcess {
        let gw = try GatewayProcess(
            data: "dept", cwd: w.path, extra: ["--forward-retry-base", "0.2s", "--forward-retry-max", "1s", "--forward-timeout", "2"] + extra)
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: w.path))
        return gw
    }

    func handbook(port: Int = 0) throws -> GatewayProcess {
        try GatewayProcess(arguments: ["handbook", "serve", "--data", "hb", "--trust", "trust.json", "--port", String(port)], cwd: w.path)
    }

    /// Connects the gateway to a receiver that is down (a free port nothing listens on), then
    /// synthesizes version 1: it stays pending. Returns the port, to start the receiver on later.
    func synthesizeWhileReceiverDown() throws -> Int {
        let hb = try handbook()
        let port = hb.port
        hb.stop()
        try connect("http://127.0.0.1:\(port)")
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: w.path))
        return port
    }

    /// Seals corrections.csv as the unit's package seq 2 and posts it to the gateway.
    func postCorrections(_ gw: GatewayProcess, unit: String) throws -> RawHTTP.Response {
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", unit, "--seq", "2", "--kind", "correction", "--signing-key", "\(unit).key", "--trust", "trust.json", "-o",
                    "corr.sgp", "corrections.csv",
                ], cwd: w.path))
        return try f.post(gw, w.file("corr.sgp"))
    }

    /// A gateway started with the first two units' snapshots accepted.
    func gatewayWithTwoUnitsSubmitted() throws -> GatewayProcess {
        let gw = try gateway()
        try submitAll(gw, units: ["HCM-U001", "HCM-U002"])
        return gw
    }

    func submitAll(_ gw: GatewayProcess, units: [String], seq: UInt64 = 1) throws {
        for u in units { #expect(try f.post(gw, try f.seal(u, seq: seq)).status == 201, "\(u)") }
    }

    func dataset(_ version: Int) throws -> JSON {
        let all = try JSON(
            parsing: String(
                decoding: try CLI.run(
                    "sqlite3",
                    ["-json", "dept/gateway.sqlite", "SELECT version, state, attempts, last_error FROM datasets WHERE version = \(version)"],
                    cwd: w.path
                ).stdout, as: UTF8.self))
        return all.array?.first ?? .null
    }

    /// Dataset version `v` as the department reads its own sealed copy (the plaintext files are
    /// gone once sealed): opened with its recipient key into `opened-vN/`.
    @discardableResult
    func openDataset(_ v: Int) throws -> String {
        let dir = "opened-v\(v)"
        if !w.exists(dir) {
            try requireOK(
                try CLI.sg(
                    [
                        "open", "--identity", "dept/keys", "--signer", "dept/keys/dataset.pub", "--unit", "HCM-DTCD", "-o", dir,
                        "dept/datasets/dataset-v\(v).sgp",
                    ], cwd: w.path), "open dataset v\(v)")
        }
        return dir
    }

    func datasetFile(_ v: Int, _ name: String) throws -> [UInt8] { w.read("\(try openDataset(v))/\(name)") }

    func waitFor(_ what: String, seconds: Double = 20, _ cond: () throws -> Bool) throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try cond() { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return try cond()
    }
}

struct SynthesisTests {
    /// Same store contents → same data bytes; a person in two units is withheld from both and
    /// listed with both units.
    @Test func deterministicAndConflictsWithheld() throws {
        let c = try CityCycle()
        // HCM-U003 also lists a member of HCM-U001 (same citizen_id and member_id).
        let u1 = String(decoding: c.w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n")
        let u3 = String(decoding: c.w.read("city/HCM-U003/members.csv"), as: UTF8.self).split(separator: "\n")
        let dupFields = u1[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let cellOf3 = u3[1].split(separator: ",", omittingEmptySubsequences: false)[8]
        var moved = dupFields
        moved[8] = String(cellOf3)
        c.w.write("city/HCM-U003/members.csv", (u3 + [Substring(moved.joined(separator: ","))]).joined(separator: "\n") + "\n")
        let gw = try c.gateway()
        defer { gw.stop() }
        try c.connect("http://127.0.0.1:9")  // nothing listens: the datasets stay pending, which is fine here
        let empty = try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path)
        #expect(empty.status != 0 && empty.stderr.contains("dataset_empty"), "nothing accepted yet: \(empty.stderr)")
        try c.submitAll(gw, units: ["HCM-U001", "HCM-U002", "HCM-U003"])
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        // No member's data stays in clear beside the sealed packages.
        for v in [1, 2] {
            for file in ["organizations.csv", "members.csv", "conflicts.csv"] {
                #expect(!c.w.exists("dept/datasets/v\(v)/\(file)"), "v\(v)/\(file) left in clear")
            }
        }
        for file in ["organizations.csv", "members.csv", "conflicts.csv", "stats.json"] {
            let one = try c.datasetFile(1, file)
            let two = try c.datasetFile(2, file)
            #expect(!one.isEmpty && one == two, "\(file) differs between two syntheses of the same records")
        }
        let members = String(decoding: try c.datasetFile(1, "members.csv"), as: UTF8.self)
        let conflicts = String(decoding: try c.datasetFile(1, "conflicts.csv"), as: UTF8.self).split(separator: "\n")
        let cid = dupFields[4]
        #expect(!members.contains(cid), "a conflicting record was not withheld")
        let involved = conflicts.filter { $0.contains(cid) }
        #expect(
            involved.contains { $0.hasPrefix("citizen_id,\(cid),HCM-U001,") } && involved.contains { $0.hasPrefix("citizen_id,\(cid),HCM-U003,") },
            "\(conflicts)")
        let total =
            (u1.count - 1) + (String(decoding: c.w.read("city/HCM-U002/members.csv"), as: UTF8.self).split(separator: "\n").count - 1)
            + (u3.count - 1 + 1)
        let dataRows = members.split(separator: "\n").count - 1
        #expect(dataRows == total - 2, "members.csv should hold every record but the two withheld")
        // A unit no conflict touches is in the dataset field for field, in its file's order (its
        // generated file is already normalized), empty optional fields included.
        let u2 = String(decoding: c.w.read("city/HCM-U002/members.csv"), as: UTF8.self).split(separator: "\n").dropFirst()
        #expect(u2.contains { $0.contains(",,") }, "the unit's file should have empty optional fields")
        let inDataset = members.split(separator: "\n").filter { $0.hasPrefix("HCM-U002,") }.map(String.init)
        #expect(inDataset == u2.map { "HCM-U002," + $0 }, "HCM-U002's records differ in the dataset (\(inDataset.count) rows)")
        // Spool paths are recorded relative to the data folder: they hold wherever it is moved.
        let stored = try CLI.run("sqlite3", ["dept/gateway.sqlite", "SELECT path FROM spool"], cwd: c.w.path).out
        #expect(!stored.isEmpty && stored.split(separator: "\n").allSatisfy { $0.hasPrefix("spool/") && $0.hasSuffix(".sgp") }, "\(stored)")
        let stats = try JSON(parsing: String(decoding: c.w.read("dept/datasets/v1/stats.json"), as: UTF8.self))
        #expect(stats["totals"]?["withheld"]?.int == 2 && stats["units"]?["HCM-U003"]?["withheld"]?.int == 1)
        // The sealed dataset opens with the handbook's identity and checks with the dataset key.
        let open = try CLI.sg(
            [
                "open", "--identity", "hb/identity.key", "--signer", "dept/keys/dataset.pub", "--unit", "HCM-DTCD", "-o", "opened",
                "dept/datasets/dataset-v1.sgp",
            ], cwd: c.w.path)
        #expect(open.status == 0, "\(open.stderr)")
        #expect(c.w.read("opened/members.csv") == (try c.datasetFile(1, "members.csv")))
    }

    /// Corrections apply where old_value matches; the receipt says what was not applied and why;
    /// the next dataset carries them.
    @Test func correctionsAppliedAndRefused() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        let row = String(decoding: c.w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n")[1].split(
            separator: ",", omittingEmptySubsequences: false
        ).map(String.init)
        let cid = row[4]
        let name = row[1]
        c.w.write(
            "corrections.csv",
            """
            citizen_id,field,old_value,new_value,reason,reported_at
            \(cid),full_name,\(name),Nguyễn Văn Sửa,sai chính tả,2026-11-28T09:00:00Z
            \(cid),hometown,Nơi Khác,Hà Nội,quê quán,2026-11-28T09:00:00Z
            079099000001,full_name,Ai Đó,Người Khác,không có,2026-11-28T09:00:00Z

            """)
        let r = try c.postCorrections(gw, unit: "HCM-U001")
        #expect(r.status == 201, "\(r.text)")
        let receipt = try JSON(parsing: r.text)
        #expect(receipt["corrections"]?["applied"]?.array?.count == 1, "\(r.text)")
        let refused = receipt["corrections"]?["not_applied"]?.array ?? []
        #expect(refused.map { $0["code"]?.string ?? "" }.sorted() == ["correction_no_member", "correction_old_value_mismatch"], "\(r.text)")
        try c.connect("http://127.0.0.1:9")
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        let members = String(decoding: try c.datasetFile(1, "members.csv"), as: UTF8.self)
        #expect(members.contains("Nguyễn Văn Sửa") && !members.contains(",\(name),"), "the correction did not reach the dataset")
    }

    func f(_ c: CityCycle) -> GatewayFixture { c.f }

    /// A party card number is one member's: a correction that gives a member another member's of
    /// the same unit is not applied (coded in the receipt, no value named), one that gives a number
    /// a member of the unit has just left is; one that gives another unit's card number is applied,
    /// and both records are withheld and listed.
    @Test func aCorrectionMayNotRepeatAnIdOfTheUnit() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        func rows(_ unit: String) -> [[String]] {
            String(decoding: c.w.read("city/\(unit)/members.csv"), as: UTF8.self).split(separator: "\n").dropFirst().map {
                $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            }
        }
        let card = rows("HCM-U001")[0][0]
        let (a, b, d) = (rows("HCM-U002")[0], rows("HCM-U002")[1], rows("HCM-U002")[2])
        let (e, f) = (rows("HCM-U002")[3], rows("HCM-U002")[4])
        c.w.write(
            "corrections.csv",
            """
            citizen_id,field,old_value,new_value,reason,reported_at
            \(a[4]),member_id,\(a[0]),\(card),sai số thẻ,2026-11-28T09:00:00Z
            \(b[4]),member_id,\(b[0]),\(card),sai số thẻ,2026-11-28T09:00:00Z
            \(d[4]),member_id,\(d[0]),\(a[0]),số thẻ cũ của người kia,2026-11-28T09:00:00Z
            \(e[4]),member_id,\(e[0]),\(f[0]),số thẻ của người khác,2026-11-28T09:00:00Z

            """)
        let r = try c.postCorrections(gw, unit: "HCM-U002")
        let receipt = try JSON(parsing: r.text)
        let refused = receipt["corrections"]?["not_applied"]?.array ?? []
        #expect(r.status == 201 && receipt["corrections"]?["applied"]?.array?.count == 2, "\(r.text)")
        let codes = refused.map { "\($0["line"]?.int ?? 0) \($0["code"]?.string ?? "")" }
        // Line 3 takes the number line 2 gave; line 5 the number another member had before the package.
        #expect(codes == ["3 correction_duplicate_id", "5 correction_duplicate_id"], "\(r.text)")
        for value in [card, a[0], b[0], f[0]] { #expect(!r.text.contains(value), "the receipt names a member's id") }
        try c.connect("http://127.0.0.1:9")
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        let members = String(decoding: try c.datasetFile(1, "members.csv"), as: UTF8.self)
        #expect(!members.contains(",\(card),"), "a record with another unit's card number is in the dataset")
        #expect(members.contains("HCM-U002,\(a[0]),"), "the card number one member left was not given to another")
        let conflicts = String(decoding: try c.datasetFile(1, "conflicts.csv"), as: UTF8.self).split(separator: "\n").filter {
            $0.hasPrefix("member_id,\(card),")
        }
        #expect(conflicts.count == 2 && conflicts.filter { $0.contains(",HCM-U002,") }.count == 1, "\(conflicts)")
    }

    /// `serve --synthesize-every`: a new version when records changed, none when they did not.
    @Test func scheduledSynthesisOnlyWhenRecordsChanged() throws {
        let c = try CityCycle(units: 2)
        try c.connect("http://127.0.0.1:9")
        let gw = try c.gateway(["--synthesize-every", "1s"])
        defer { gw.stop() }
        func versions() throws -> Int {
            Int(
                try CLI.run("sqlite3", ["dept/gateway.sqlite", "SELECT COUNT(*) FROM datasets"], cwd: c.w.path).out.trimmingCharacters(
                    in: .whitespacesAndNewlines)) ?? -1
        }
        try c.submitAll(gw, units: ["HCM-U001"])
        #expect(try c.waitFor("v1") { try versions() == 1 })
        Thread.sleep(forTimeInterval: 1.1)  // decided_at has one-second resolution: the next decision is later than v1
        // A rejected package changes no records: three scheduled rounds later, still no new version.
        #expect(try c.f.post(gw, try c.f.seal("HCM-U002", seq: 1, dir: try c.f.legacyIDCopy("HCM-U002", line: 3))).status == 422)
        let seen = ScaleOutTests.rounds(gw, "synthesis")
        #expect(try c.waitFor("three rounds") { ScaleOutTests.rounds(gw, "synthesis") >= seen + 3 })
        #expect(try versions() == 1, "a version was made though no records changed")
        Thread.sleep(forTimeInterval: 1.1)  // decided_at has one-second resolution
        try c.submitAll(gw, units: ["HCM-U002"], seq: 2)
        #expect(try c.waitFor("v2") { try versions() == 2 })
    }
}

/// A stub handbook endpoint on loopback that fails: answers 503, or never answers ("hang").
final class FailingEndpoint {
    let server: PythonServer
    init(mode: String, cwd: String) throws {
        let script = """
            import http.server, socketserver, sys, time
            mode = sys.argv[1]
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    n = int(self.headers.get('Content-Length', '0'))
                    while n > 0:
                        n -= len(self.rfile.read(min(n, 65536)))
                    if mode == 'hang':
                        time.sleep(30)
                        return
                    body = b'{"code":"unavailable","detail":"maintenance"}'
                    self.send_response(503); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
                def log_message(self, *a): pass
            class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
                daemon_threads = True
            s = S(('127.0.0.1', 0), H)
            print(s.server_address[1], flush=True)
            s.serve_forever()
            """
        server = try PythonServer(script: script, name: "stub.py", arguments: [mode], cwd: cwd)
    }
    var url: String { server.url }
    func stop() { server.stop() }
}

struct ForwardingTests {
    func deliveries(_ c: CityCycle) throws -> Int {
        let r = try CLI.run("sqlite3", ["dept/gateway.sqlite", "SELECT COUNT(*) FROM log_entries WHERE kind = 'dataset_forwarded'"], cwd: c.w.path)
        return Int(r.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// The handbook system is down when the dataset is made, then comes up: the dataset arrives
    /// exactly once, and survives a gateway restart without being sent again.
    @Test func handbookDownThenUpDeliversExactlyOnce() throws {
        let c = try CityCycle(units: 2)
        var gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        let port = try c.synthesizeWhileReceiverDown()
        #expect(try c.waitFor("attempts") { (try c.dataset(1)["attempts"]?.int ?? 0) >= 2 })
        let down = try c.dataset(1)
        #expect(down["state"]?.string == "pending" && down["last_error"] != nil && down["last_error"] != .null, "\(down)")
        // Up again: delivered once.
        let hb = try c.handbook(port: port)
        defer { hb.stop() }
        #expect(try c.waitFor("delivered") { try c.dataset(1)["state"]?.string == "delivered" }, "\((try? c.dataset(1)) ?? .null)")
        let history = try JSON(parsing: try RawHTTP.request("GET", hb.url + "/v1/datasets").text).array ?? []
        #expect(history.count == 1)
        let health = try JSON(parsing: try RawHTTP.request("GET", hb.url + "/v1/health").text)
        let synthesized = String(decoding: try c.datasetFile(1, "members.csv"), as: UTF8.self).split(separator: "\n").count - 1
        #expect(health["members"]?.int == Int64(synthesized), "the receiver's count differs from the gateway's")
        #expect(try deliveries(c) == 1)
        // A gateway restart does not send it again.
        gw.stop()
        gw = try c.gateway()
        let restarted = gw
        #expect(try c.waitFor("three forwarder rounds") { ScaleOutTests.rounds(restarted, "forwarder") >= 3 })
        #expect(try deliveries(c) == 1)
        #expect((try JSON(parsing: try RawHTTP.request("GET", hb.url + "/v1/datasets").text).array ?? []).count == 1)
        // A repeat of the same package (an acknowledgement lost on the way) gets the first acknowledgement.
        let again = try RawHTTP.request("POST", hb.url + "/v1/datasets", bodyFile: c.w.file("dept/datasets/dataset-v1.sgp"))
        let first = try c.dataset(1)
        #expect(again.status == 200)
        let ackRow = try CLI.run("sqlite3", ["dept/gateway.sqlite", "SELECT ack FROM datasets WHERE version = 1"], cwd: c.w.path).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(again.text == ackRow, "\(first)")
    }

    /// 5xx answers and timeouts are attempts that failed: the forwarder backs off, keeps the
    /// error, and delivers once a working endpoint is connected.
    @Test func errorsAndTimeoutsBackOff() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        let failing = try FailingEndpoint(mode: "503", cwd: c.w.path)
        defer { failing.stop() }
        try c.connect(failing.url)
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        // Counted, not timed: the forwarder looks every round, but tries only when the backoff
        // (0.2 s doubling to 1 s, jitter ≥ 0.5) is over — so after 30 rounds it has tried far
        // fewer times than it looked (without backoff it would try every round).
        let start = ScaleOutTests.rounds(gw, "forwarder")
        #expect(try c.waitFor("30 rounds", seconds: 120) { ScaleOutTests.rounds(gw, "forwarder") >= start + 30 })
        let after503 = try c.dataset(1)
        let attempts = after503["attempts"]?.int ?? 0
        let looked = ScaleOutTests.rounds(gw, "forwarder") - start
        #expect(attempts >= 2 && attempts * 2 < looked, "\(attempts) attempts in \(looked) rounds: \(after503)")
        let lastError = after503["last_error"]?.string ?? ""
        #expect(lastError.contains("503"), "the 503 was not kept: \(after503)")
        let hanging = try FailingEndpoint(mode: "hang", cwd: c.w.path)
        defer { hanging.stop() }
        try c.connect(hanging.url)
        #expect(try c.waitFor("timeout") { (try c.dataset(1)["last_error"]?.string ?? "").contains("time") }, "\((try? c.dataset(1)) ?? .null)")
        let hb = try c.handbook()
        defer { hb.stop() }
        try c.connect(hb.url)
        #expect(try c.waitFor("delivered") { try c.dataset(1)["state"]?.string == "delivered" }, "\((try? c.dataset(1)) ?? .null)")
        #expect(try deliveries(c) == 1)
    }

    /// The receiver refuses a dataset not signed by the department's dataset key, and an older
    /// version than the one it holds.
    @Test func forgedAndOlderDatasetsRefused() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        let hb = try c.handbook()
        defer { hb.stop() }
        try c.connect(hb.url)
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        #expect(try c.waitFor("delivered") { try c.dataset(2)["state"]?.string == "delivered" })
        let hbRecipient = try AgeX25519Recipient(
            string: String(decoding: c.w.read("hb/identity.pub"), as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "")
        let opened = try c.openDataset(2)
        let files = PackageKind.dataset.requiredFiles!.map { SealRequest.Input(name: $0, path: c.w.file("\(opened)/\($0)")) }
        // Signed by a unit's key, claiming to be the department's version 3.
        _ = try Sealer.seal(
            SealRequest(
                unit: "HCM-DTCD", seq: 3, kind: .dataset, inputs: files, recipients: [hbRecipient], signer: c.f.signerA,
                output: c.w.file("forged.sgp")))
        let forged = try RawHTTP.request("POST", hb.url + "/v1/datasets", bodyFile: c.w.file("forged.sgp"))
        #expect(forged.status == 422 && forged.headers["sealgate-ack-signature"] == nil, "\(forged.status) \(forged.text)")
        #expect(forged.text.contains("\"code\":\"key_unknown\""), "\(forged.text)")
        // Refused on its first member: announced as 100 MiB longer than it is, and never
        // finished, it is answered all the same (and the connection closed).
        let bytes = c.w.read("forged.sgp")
        let early = try RawHTTP.exchange(
            port: hb.port,
            Array("POST /v1/datasets HTTP/1.1\r\nHost: x\r\nContent-Length: \(bytes.count + (100 << 20))\r\n\r\n".utf8) + bytes, timeout: 60,
            halfClose: false)
        let earlyText = String(decoding: early.bytes, as: UTF8.self)
        #expect(
            early.status == 422 && earlyText.contains("\"code\":\"key_unknown\"") && earlyText.lowercased().contains("connection: close"),
            "\(earlyText)")
        let left = try FileManager.default.contentsOfDirectory(atPath: c.w.file("hb/incoming"))
        #expect(left.isEmpty, "nothing of it stays: \(left)")
        // Signed by the dataset key, but version 1 again under a new package id: stale.
        let datasetKey = try MinisignSecretKey.load(path: c.w.file("dept/keys/dataset.key"), passphrase: { SecureBytes(count: 0) })
        _ = try Sealer.seal(
            SealRequest(
                unit: "HCM-DTCD", seq: 1, kind: .dataset, inputs: files, recipients: [hbRecipient], signer: datasetKey, output: c.w.file("old.sgp")))
        let old = try RawHTTP.request("POST", hb.url + "/v1/datasets", bodyFile: c.w.file("old.sgp"))
        #expect(old.status == 409 && old.text.contains("dataset_stale"), "\(old.status) \(old.text)")
        // Version 2 sent again, as a forwarder that lost the acknowledgement would: its first
        // acknowledgement. Its first member with the signature altered: refused as a reuse of
        // the package id before the rest is read.
        let v2 = try #require(try FileManager.default.contentsOfDirectory(atPath: c.w.file("hb/received")).first { $0.hasPrefix("v2-") })
        let again = try RawHTTP.request("POST", hb.url + "/v1/datasets", bodyFile: c.w.file("hb/received/\(v2)"))
        #expect(again.status == 200 && again.headers["sealgate-ack-signature"] != nil, "\(again.status) \(again.text)")
        var altered = c.w.read("hb/received/\(v2)")
        let sigLine = try #require(altered.firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 })  // the minisig's second line: RUT…
        altered[sigLine + 20] = altered[sigLine + 20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        c.w.write("altered.sgp", bytes: altered)
        let reused = try RawHTTP.request("POST", hb.url + "/v1/datasets", bodyFile: c.w.file("altered.sgp"))
        #expect(reused.status == 409 && reused.text.contains("\"code\":\"package_reused\""), "\(reused.status) \(reused.text)")
        let health = try JSON(parsing: try RawHTTP.request("GET", hb.url + "/v1/health").text)
        #expect(health["version"]?.int == 2)
        // And a unit cannot hand the gateway a dataset of its own.
        _ = try Sealer.seal(
            SealRequest(
                unit: "HCM-U001", seq: 7, kind: .dataset, inputs: files, recipients: [c.f.recipient], signer: c.f.signerA,
                output: c.w.file("unit-dataset.sgp")))
        let byUnit = try c.f.post(gw, c.w.file("unit-dataset.sgp"))
        #expect(byUnit.status == 422 && byUnit.text.contains("kind_not_accepted"), "\(byUnit.text)")
    }
}

struct CampaignStatusTests {
    /// `status --json` counts units by state and names the late ones, against the deadlines set.
    @Test func campaignViewCountsAndLateness() throws {
        let c = try CityCycle(units: 4)
        let gw = try c.gateway()
        defer { gw.stop() }
        // Deadline still ahead: HCM-U001 accepted clean; HCM-U002 only rejected (a 9-digit legacy id).
        try requireOK(try CLI.sg(["campaign", "set", "--data", "dept", "--submit-by", "2099-01-01T00:00:00Z"], cwd: c.w.path))
        #expect(try c.f.post(gw, try c.f.seal("HCM-U001", seq: 1)).status == 201)
        #expect(try c.f.post(gw, try c.f.seal("HCM-U002", seq: 1, dir: try c.f.legacyIDCopy("HCM-U002", line: 3))).status == 422)
        func status() throws -> JSON {
            let r = try CLI.sg(["status", "--data", "dept", "--json"], cwd: c.w.path)
            return try JSON(parsing: r.out)["result"]?["campaign"] ?? .null
        }
        var s = try status()
        #expect(
            s["units"]?["registered"]?.int == 4 && s["units"]?["accepted_clean"]?.int == 1 && s["units"]?["rejected"]?.int == 1
                && s["units"]?["missing"]?.int == 2, "\(s["units"] ?? .null)")
        #expect(s["units"]?["late"]?.array?.isEmpty == true)
        // The deadline passes: everyone not accepted by then is late; HCM-U001 was on time only
        // if it was accepted before the deadline, which is now in the past.
        try requireOK(try CLI.sg(["campaign", "set", "--data", "dept", "--submit-by", "2020-01-01T00:00:00Z"], cwd: c.w.path))
        s = try status()
        let late = Set((s["units"]?["late"]?.array ?? []).compactMap(\.string))
        #expect(late == ["HCM-U001", "HCM-U002", "HCM-U003", "HCM-U004"], "\(late)")
        let row = (s["per_unit"]?.array ?? []).first { $0["unit"]?.string == "HCM-U001" }
        #expect(row?["state"]?.string == "accepted_clean" && (row?["members"]?.int ?? 0) > 0)
        #expect(s["last_dataset"] == .null)
    }
}
