import Foundation
import GatewayCore
import SealCrypto
import SealPackage
import TestSupport
import Testing

/// The gateway over a real loopback socket: the server is the built `sealgate serve`.
struct GatewayEndToEndTests {
    func receipt(_ r: RawHTTP.Response) -> JSON { (try? JSON(parsing: r.text)) ?? .null }
    func code(_ r: RawHTTP.Response) -> String? { receipt(r)["error"]?["code"]?.string ?? receipt(r)["code"]?.string }

    @Test func everyIntakeOutcome() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: ["--max-body", "200KiB"])
        defer { gw.stop() }

        let admin = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: f.w.path).out.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let logSize = { (try JSON(parsing: try RawHTTP.request("GET", gw.url + "/v1/log/entries").text).array ?? []).count }
        let spoolFiles = { try FileManager.default.contentsOfDirectory(atPath: f.w.file("dept/spool")) }

        // Accept, then the same bytes again: 200, not decided again, nothing stored or logged again.
        let p1 = try f.seal("HCM-U001", seq: 1)
        let a = try f.post(gw, p1)
        #expect(a.status == 201, "\(a.text)")
        #expect(receipt(a)["status"]?.string == "accepted")
        #expect(receipt(a)["records"]?["members"]?.int == Int64(f.members("HCM-U001")))
        let (entriesBefore, spooledBefore) = (try logSize(), try spoolFiles())
        // To anyone (the bytes are not secret): what the public log says of that decision, signed.
        let again = try f.post(gw, p1)
        #expect(
            again.status == 200 && receipt(again)["status"]?.string == "duplicate" && receipt(again)["first_status"]?.string == "accepted",
            "\(again.text)")
        #expect(
            receipt(again)["validation"] == nil && receipt(again)["records"] == nil && receipt(again)["leaf"] == receipt(a)["leaf"], "\(again.text)")
        let trustDoc = TrustDocument(json: try JSON(parsing: try RawHTTP.request("GET", gw.url + "/v1/trust").text))
        let againSig = String(decoding: Base64Decode(again.headers["sealgate-receipt-signature"] ?? ""), as: UTF8.self)
        #expect(throws: Never.self) { _ = try Receipt.verify(text: again.text, signature: againSig, trust: trustDoc) }
        // To the unit itself (its token) or the department: the first receipt, unchanged.
        let own = try RawHTTP.request("POST", gw.url + "/v1/packages", headers: ["Authorization": "Bearer \(admin)"], bodyFile: p1)
        #expect(own.status == 200 && own.text == a.text)
        #expect(own.headers["sealgate-receipt-signature"] == a.headers["sealgate-receipt-signature"])
        #expect(try logSize() == entriesBefore && spoolFiles() == spooledBefore, "a replay was logged or stored again")

        // The seq taken by other bytes: 409.
        let other = try f.seal("HCM-U001", seq: 1, name: "other-1.sgp")
        let conflict = try f.post(gw, other)
        #expect(conflict.status == 409 && (code(conflict)) == "seq_conflict", "\(conflict.text)")

        // A copy someone padded (tar record padding the format allows, so other bytes) and sent
        // first takes the seq; the unit's own copy is then the same package: a duplicate, not a
        // conflict, and nothing logged again. A tampered padded copy is not the same package (refused).
        let p2 = try f.seal("HCM-U001", seq: 2)
        f.w.write("padded-2.sgp", bytes: f.w.read("HCM-U001-2.sgp") + [UInt8](repeating: 0, count: 512))
        let padded = try f.post(gw, f.w.file("padded-2.sgp"))
        #expect(padded.status == 201 && receipt(padded)["status"]?.string == "accepted", "\(padded.text)")
        let logAfterPadded = try logSize()
        let ownCopy = try f.post(gw, p2)
        #expect(
            ownCopy.status == 200 && receipt(ownCopy)["status"]?.string == "duplicate" && receipt(ownCopy)["first_status"]?.string == "accepted"
                && receipt(ownCopy)["leaf"] == receipt(padded)["leaf"], "\(ownCopy.text)")
        #expect(try logSize() == logAfterPadded, "the same package was logged again")
        var tamperedCopy = f.w.read("HCM-U001-2.sgp")
        let inner = try PackageContainer(path: p2, source: try FileSource(path: p2))
        tamperedCopy[Int(inner.payloadOffset + inner.payloadLength / 2)] ^= 0x01
        f.w.write("tampered-2.sgp", bytes: tamperedCopy + [UInt8](repeating: 0, count: 1024))
        let notSame = try f.post(gw, f.w.file("tampered-2.sgp"))
        #expect(notSame.status == 422 && code(notSame) == "signature_invalid", "\(notSame.text)")

        // Replay of an older seq: refused.
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 5)).status == 201)
        let old = try f.post(gw, try f.seal("HCM-U001", seq: 3))
        #expect(old.status == 422 && (code(old)) == "seq_not_increasing")
        // A seq above Int64.max (the format's u64 allows it) is refused before anything is kept:
        // stored as a signed number it would sort below every other and blind the check above.
        let entriesBeforeHuge = try logSize()
        let huge = try f.post(gw, try f.seal("HCM-U001", seq: UInt64(Int64.max) + 1))
        #expect(huge.status == 422 && code(huge) == "seq_out_of_range", "\(huge.text)")
        #expect(try logSize() == entriesBeforeHuge, "a refusal is not logged")
        let stillOld = try f.post(gw, try f.seal("HCM-U001", seq: 4))
        #expect(stillOld.status == 422 && code(stillOld) == "seq_not_increasing", "the last seq is still 5: \(stillOld.text)")

        // Sealed to the wrong recipient: signed by the unit, so a decision of its own (logged).
        let stranger = try AgeX25519Identity.generate()
        let wrong = try f.post(gw, try f.seal("HCM-U001", seq: 7, to: stranger.recipient))
        #expect(wrong.status == 422 && (code(wrong)) == "recipient_not_accepted")

        // Tampered: one byte flipped in the ciphertext.
        var bytes = f.w.read("HCM-U001-5.sgp")
        let p6 = try f.seal("HCM-U001", seq: 6)
        bytes = f.w.read("HCM-U001-6.sgp")
        bytes[bytes.count / 2] ^= 0x40
        f.w.write("tampered.sgp", bytes: bytes)
        let beforeRefusals = (try logSize(), try spoolFiles())
        let t = try f.post(gw, f.w.file("tampered.sgp"))
        #expect(t.status == 422 && (code(t)) == "signature_invalid" && t.headers["content-type"] == "application/problem+json", "\(t.text)")
        _ = p6

        // Signed by a key no unit holds.
        let unknown = try f.post(gw, try f.seal("HCM-U002", seq: 1, signer: MinisignSecretKey.generate(), name: "unknown.sgp"))
        #expect(unknown.status == 422 && (code(unknown)) == "key_unknown" && unknown.headers["connection"] == "close", "\(unknown.headers)")
        // Neither the tampered package nor the stranger's claimed a seq, reached the log or stayed on disk.
        #expect(try logSize() == beforeRefusals.0 && spoolFiles() == beforeRefusals.1, "a refused body was logged or kept")
        // A small body is received into memory, but its head is still checked as soon as it is
        // whole: the stranger's is refused before the rest is sent, and the connection closed.
        let unknownBytes = f.w.read("unknown.sgp")
        #expect(unknownBytes.count <= Intake.smallBodyBytes, "not a small body: \(unknownBytes.count) bytes")
        let early = try RawHTTP.connect(host: "127.0.0.1", port: gw.port, timeout: 10)
        defer { close(early) }
        try RawHTTP.sendAll(
            early, Array("POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: \(unknownBytes.count)\r\n\r\n".utf8) + unknownBytes.prefix(2048))
        let refusedEarly = try RawHTTP.response(from: early)
        #expect(
            refusedEarly.status == 422 && refusedEarly.text.contains("\"code\":\"key_unknown\"") && refusedEarly.headers["connection"] == "close",
            "\(refusedEarly.status) \(refusedEarly.headers) \(refusedEarly.text)")
        #expect(try logSize() == beforeRefusals.0 && spoolFiles() == beforeRefusals.1, "a refused body was logged or kept")
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 1)).status == 201, "a forger burnt HCM-U002's seq 1")

        // Forwarding: HCM-U002 re-signs HCM-U001's payload under its own id.
        let c = try PackageContainer(path: p1, source: try FileSource(path: p1))
        let pbytes = f.w.read("HCM-U001-1.sgp")
        let payload = Array(pbytes[Int(c.payloadOffset)..<Int(c.payloadOffset + c.payloadLength)])
        var comment = try TrustedComment(parsing: try MinisignSignature(fileContents: c.signatureBytes).trustedComment)
        comment.unit = "HCM-U002"
        comment.seq = 2
        let sig = Array(
            try f.signerB.sign(prehash: payload.withUnsafeBytes { BLAKE2bHasher.hash($0) }, trustedComment: comment.text).fileContents.utf8)
        let forged =
            Tar.header(name: "package.minisig", size: UInt64(sig.count), mtime: 0) + sig
            + [UInt8](repeating: 0, count: Tar.padding(UInt64(sig.count)))
            + Tar.header(name: "payload.age", size: UInt64(payload.count), mtime: 0) + payload
            + [UInt8](repeating: 0, count: Tar.padding(UInt64(payload.count)) + 1024)
        f.w.write("forged.sgp", bytes: forged)
        let fw = try f.post(gw, f.w.file("forged.sgp"))
        #expect(fw.status == 422 && (code(fw)) == "manifest_mismatch", "\(fw.text)")

        // Records with errors: refused with the validation report; nothing imported.
        let rec = try f.post(gw, try f.seal("HCM-U002", seq: 3, dir: try f.legacyIDCopy("HCM-U002", line: 5)))
        #expect(rec.status == 422 && (code(rec)) == "records_invalid")
        let findings = receipt(rec)["validation"]?["findings"]?.array ?? []
        #expect(findings.contains { $0["rule"]?.string == "citizen_id.legacy_cmnd" && $0["line"]?.int == 6 })
        // A finding names the place and the rule, never the value.
        #expect(
            !rec.text.contains("023456789")
                && findings.allSatisfy { Set($0.object?.keys.map { $0 } ?? []) == ["file", "line", "column", "rule", "severity"] }, "\(rec.text)")

        // Oversize (this server: 200 KiB): 413 problem+json with the code.
        f.w.write(bytes: pseudoRandom(300_000), "big.bin")
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--kind", "files", "--unit", "HCM-U002", "--seq", "9", "--signing-key", "HCM-U002.key", "--to", "dept/keys/recipient.pub",
                    "-o", "big.sgp", "big.bin",
                ], cwd: f.w.path))
        let big = try f.post(gw, f.w.file("big.sgp"))
        #expect(big.status == 413 && big.headers["content-type"] == "application/problem+json" && (code(big)) == "package_too_large")

        // A body that is not a package: 400 problem+json.
        f.w.write("junk.sgp", "hello")
        let junk = try f.post(gw, f.w.file("junk.sgp"))
        #expect(junk.status == 400 && (code(junk)) == "container_malformed")

        // Stock curl, and the receipt checked with stock minisign.
        let p4 = try f.seal("HCM-U002", seq: 4)
        let curl = try CLI.run(
            "curl", ["-s", "-D", "headers.txt", "-o", "curl-receipt.json", "-X", "POST", "--data-binary", "@\(p4)", "\(gw.url)/v1/packages"],
            cwd: f.w.path)
        #expect(curl.status == 0)
        let headers = String(decoding: f.w.read("headers.txt"), as: UTF8.self)
        #expect(headers.hasPrefix("HTTP/1.1 201"))
        let sigLine = headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sealgate-receipt-signature:") }!
        let sigText = Base64.decode(sigLine.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces), padded: true)!
        f.w.write(bytes: sigText, "curl-receipt.json.minisig")
        let trust = try JSON(parsing: try RawHTTP.request("GET", gw.url + "/v1/trust").text)
        let ms = try CLI.run("minisign", ["-V", "-P", trust["receipt_key"]!.string!, "-m", "curl-receipt.json"], cwd: f.w.path)
        #expect(ms.status == 0 && ms.out.contains("sealgate-receipt/1 package="), "\(ms.stderr)")

        // Reading back: for the unit or the department only.
        let id = receipt(a)["package"]!.string!
        let anon = try RawHTTP.request("GET", gw.url + "/v1/packages/\(id)")
        #expect(anon.status == 401 && code(anon) == "unauthorized" && !anon.text.contains("members"), "\(anon.text)")
        let tokU2 = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "unit", "--unit", "HCM-U002"], cwd: f.w.path).out.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let otherUnit = try RawHTTP.request("GET", gw.url + "/v1/packages/\(id)", headers: ["Authorization": "Bearer \(tokU2)"])
        #expect(otherUnit.status == 404 && code(otherUnit) == "package_unknown", "\(otherUnit.text)")
        let back = try RawHTTP.request("GET", gw.url + "/v1/packages/\(id)", headers: ["Authorization": "Bearer \(admin)"])
        #expect(back.status == 200 && back.text == a.text)
        #expect(try RawHTTP.request("GET", gw.url + "/v1/units").status == 401)
        #expect(try RawHTTP.request("GET", gw.url + "/healthz").status == 200)

        // The same for a body over 64 KiB (streamed into a spool file, not kept in its record):
        // a padded copy first, then the unit's own — a duplicate read from the first's file.
        f.w.write(bytes: pseudoRandom(100_000), "mid.bin")
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--kind", "files", "--unit", "HCM-U002", "--seq", "50", "--signing-key", "HCM-U002.key", "--to",
                    "dept/keys/recipient.pub", "-o", "mid.sgp", "mid.bin",
                ], cwd: f.w.path))
        f.w.write("mid-padded.sgp", bytes: f.w.read("mid.sgp") + [UInt8](repeating: 0, count: 10_240))
        let midPadded = try f.post(gw, f.w.file("mid-padded.sgp"))
        #expect(midPadded.status == 201, "\(midPadded.text)")
        let logBeforeMid = try logSize()
        let midOwn = try f.post(gw, f.w.file("mid.sgp"))
        #expect(
            midOwn.status == 200 && receipt(midOwn)["status"]?.string == "duplicate" && receipt(midOwn)["leaf"] == receipt(midPadded)["leaf"],
            "\(midOwn.text)")
        #expect(try logSize() == logBeforeMid)
        // The first copy damaged in the spool: another wrapping is a fault of ours (503, nothing
        // decided or logged), not a decision; the first copy gone: a seq_conflict, as before.
        let kept = try #require(try spoolFiles().filter { $0.hasSuffix(".sgp") }.max())
        let keptPath = f.w.file("dept/spool/\(kept)")
        let keptBytes = f.w.read("dept/spool/\(kept)")
        f.w.write("dept/spool/\(kept)", bytes: Array(keptBytes.prefix(100)))
        f.w.write("mid-padded-2.sgp", bytes: f.w.read("mid.sgp") + [UInt8](repeating: 0, count: 20_480))
        let damaged = try f.post(gw, f.w.file("mid-padded-2.sgp"))
        #expect(damaged.status == 503 && code(damaged) == "io_error" && damaged.headers["retry-after"] == "30", "\(damaged.text)")
        #expect(try logSize() == logBeforeMid)
        try FileManager.default.removeItem(atPath: keptPath)
        let gone = try f.post(gw, f.w.file("mid-padded-2.sgp"))
        #expect(gone.status == 409 && code(gone) == "seq_conflict", "\(gone.text)")
    }

    /// The unit's side through the CLI: trust fetch, seal --trust, submit, receipt verify; and
    /// an admin token for GET /v1/units.
    @Test func unitCommandsAndAdminToken() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "HCM-U001.key", "--trust", "trust.json", "-o", "p.sgp",
                    "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv",
                ], cwd: f.w.path))
        let s = try CLI.sg(["submit", "--gateway", gw.url, "--trust", "trust.json", "p.sgp"], cwd: f.w.path)
        #expect(s.status == 0 && s.stderr.contains("201 accepted"), "\(s.stderr)")
        try requireOK(try CLI.sg(["receipt", "verify", "--trust", "trust.json", "p.sgp.receipt.json"], cwd: f.w.path))
        // A receipt altered by one character no longer verifies.
        var r = f.w.read("p.sgp.receipt.json")
        r[r.count - 3] ^= 1
        f.w.write(bytes: r, "altered.json")
        try FileManager.default.copyItem(atPath: f.w.file("p.sgp.receipt.json.minisig"), toPath: f.w.file("altered.json.minisig"))
        let bad = try CLI.sg(["receipt", "verify", "--trust", "trust.json", "altered.json"], cwd: f.w.path)
        #expect(bad.status != 0 && bad.stderr.contains("receipt_invalid"))
        // Trust pinned to another root is refused.
        try requireOK(try CLI.sg(["keys", "generate", "signing", "--out", "fake-root", "--unencrypted"], cwd: f.w.path))
        let wrongRoot = try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "fake-root.pub", "-o", "t2.json"], cwd: f.w.path)
        #expect(wrongRoot.status != 0 && wrongRoot.stderr.contains("trust_invalid"))
        // Admin token.
        let tok = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: f.w.path)
        let token = tok.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let units = try RawHTTP.request("GET", gw.url + "/v1/units", headers: ["Authorization": "Bearer \(token)"])
        #expect(units.status == 200 && units.text.contains("\"members\":\(f.members("HCM-U001"))"), "\(units.text)")
        // Searched in every file of the database: the server holds it in WAL mode, so a new row is
        // in gateway.sqlite-wal until a checkpoint.
        let files = try FileManager.default.contentsOfDirectory(atPath: f.w.file("dept")).filter { $0.hasPrefix("gateway.sqlite") }
        #expect(files.contains("gateway.sqlite") && files.contains("gateway.sqlite-wal"), "\(files)")
        for name in files {
            #expect(!String(decoding: f.w.read("dept/\(name)"), as: UTF8.self).contains(token), "a token is stored in clear in \(name)")
        }
    }

    /// kill -9 while a batch is being submitted: after a restart every package that got a
    /// receipt is imported exactly once, and resubmitting the whole batch converges.
    @Test func killDashNineMidBatch() throws {
        try Self.killDashNine(database: nil)
    }

    /// `database`: a PostgreSQL URL (the process keeps its node name across the restart, so it
    /// recovers its own spool folder), or nil for SQLite.
    static func killDashNine(database: String?) throws {
        let f = try GatewayFixture(units: 12, members: 150, database: database)
        let admin = [
            "Authorization": "Bearer "
                + (try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: f.w.path).out.trimmingCharacters(
                    in: .whitespacesAndNewlines))
        ]
        let units = (1...12).map { "HCM-U" + String(format: "%03d", $0) }
        let files = try units.map { try f.seal($0, seq: 1) }
        let node = database == nil ? [] : ["--node", "gw"]
        var gw: GatewayProcess? = try GatewayProcess(data: "dept", cwd: f.w.path, extra: node)
        final class Box: @unchecked Sendable {
            let lock = NSLock()
            var received: [String: String] = [:]
        }  // file → receipt text (201 only)
        let box = Box()
        let url = gw!.url
        // The kill must land mid-batch: the last unit's upload is held with half its body in the
        // spool (`.incoming-…`) until after the kill, so the batch cannot have finished. It
        // declares a length over a small body's (a small one is received into memory, and a
        // kill leaves nothing of it), so it streams into a file.
        let spool = f.w.file(database == nil ? "dept/spool" : "dept/spool/gw")
        let incoming = { ((try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []).filter { $0.hasPrefix(".incoming-") } }
        let held = [UInt8](try Data(contentsOf: URL(fileURLWithPath: files[11])))
        let heldFD = try RawHTTP.connect(host: "127.0.0.1", port: gw!.port, timeout: 10)
        defer { close(heldFD) }
        try RawHTTP.sendAll(
            heldFD,
            Array("POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: \(max(held.count, Intake.smallBodyBytes + 1))\r\n\r\n".utf8)
                + held.prefix(held.count / 2))
        #expect(try waitUntil { !incoming().isEmpty }, "the held body never reached the spool")
        let group = DispatchGroup()
        let killer = DispatchSemaphore(value: 0)
        for chunk in 0..<4 {
            group.enter()
            DispatchQueue.global().async {
                defer { group.leave() }
                for file in files.dropLast().enumerated().filter({ $0.offset % 4 == chunk }).map(\.element) {
                    guard let r = try? RawHTTP.request("POST", url + "/v1/packages", bodyFile: file, timeout: 10), r.status == 201 else { continue }
                    box.lock.lock()
                    box.received[file] = r.text
                    let n = box.received.count
                    box.lock.unlock()
                    if n == 4 { killer.signal() }
                }
            }
        }
        _ = killer.wait(timeout: .now() + 60)
        gw!.kill9()
        group.wait()
        gw = nil
        let acknowledged = box.received
        #expect(acknowledged.count >= 4 && acknowledged.count < 12 && acknowledged[files[11]] == nil, "not mid-batch: \(acknowledged.count)")

        let restarted = try GatewayProcess(data: "dept", cwd: f.w.path, extra: node)
        defer { restarted.stop() }
        // The half-received body was never acknowledged: removed at start, never decided.
        #expect(restarted.logText.contains("body(ies) an earlier run received only in part") && incoming().isEmpty, "\(restarted.logText)")
        for (_, text) in acknowledged {
            let id = try JSON(parsing: text)["package"]!.string!
            let r = try RawHTTP.request("GET", restarted.url + "/v1/packages/\(id)", headers: admin)
            #expect(r.status == 200 && r.text == text, "a package that got a receipt was lost or changed")
        }
        // Resubmit everything: duplicates get their first receipt, the rest are accepted now.
        for file in files {
            let r = try RawHTTP.request("POST", restarted.url + "/v1/packages", headers: admin, bodyFile: file)
            #expect(r.status == 200 || r.status == 201, "\(r.status) \(r.text)")
            if let first = acknowledged[file] { #expect(r.status == 200 && r.text == first) }
        }
        // A body in the spool that the store never recorded was never acknowledged: set aside on
        // start (spool/orphans/), never decided (its unit sends it again).
        restarted.stop()
        let orphan = f.w.file(database == nil ? "dept/spool/orphan.sgp" : "dept/spool/gw/orphan.sgp")
        try FileManager.default.copyItem(atPath: files[0], toPath: orphan)
        let third = try GatewayProcess(data: "dept", cwd: f.w.path, extra: node)
        defer { third.stop() }
        #expect(third.logText.contains("set aside 1 body(ies)") && !FileManager.default.fileExists(atPath: orphan), "\(third.logText)")
        // Exactly one accepted outcome and one snapshot per unit.
        let sql =
            "SELECT (SELECT COUNT(*) FROM outcomes WHERE status='accepted'), (SELECT COUNT(*) FROM snapshots), (SELECT COUNT(DISTINCT unit_id) FROM snapshots WHERE current=1), (SELECT COUNT(*) FROM spool WHERE state='pending')"
        let counts =
            try database.map { try TestPostgres.psql($0, sql) }
            ?? CLI.run("sqlite3", [f.w.file("dept/gateway.sqlite"), sql], cwd: f.w.path).out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(counts == "12|12|12|0", "accepted, snapshots, units current, pending: \(counts)")
    }
}

func pseudoRandom(_ n: Int) -> [UInt8] { SecureRandom.bytes(n) }

extension Workdir {
    func write(bytes: [UInt8], _ name: String) { write(name, bytes: bytes) }
}

struct GatewayTokenTests {
    /// With --require-unit-token: no token → 401; another unit's token → 403, nothing recorded;
    /// the unit's own token → 201. GET /v1/units/{id} shows the validation summary.
    @Test func unitTokensBindSubmissionsToTheirUnit() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: ["--require-unit-token"])
        defer { gw.stop() }
        let tokA = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "unit", "--unit", "HCM-U001"], cwd: f.w.path).out.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let tokB = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "unit", "--unit", "HCM-U002"], cwd: f.w.path).out.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let p = try f.seal("HCM-U001", seq: 1)
        #expect(try f.post(gw, p).status == 401)
        let wrong = try RawHTTP.request("POST", gw.url + "/v1/packages", headers: ["Authorization": "Bearer \(tokB)"], bodyFile: p)
        #expect(wrong.status == 403 && wrong.text.contains("token_unit_mismatch"))
        let ok = try RawHTTP.request("POST", gw.url + "/v1/packages", headers: ["Authorization": "Bearer \(tokA)"], bodyFile: p)
        #expect(ok.status == 201, "\(ok.text)")
        // The CLI takes the token from SEALGATE_TOKEN (not visible in `ps`).
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let viaEnv = try CLI.sg(
            ["submit", "--gateway", gw.url, "--trust", "trust.json", try f.seal("HCM-U001", seq: 2)], cwd: f.w.path, env: ["SEALGATE_TOKEN": tokA])
        #expect(viaEnv.status == 0, "\(viaEnv.stderr)")
        let unit = try RawHTTP.request("GET", gw.url + "/v1/units/HCM-U001", headers: ["Authorization": "Bearer \(tokA)"])
        #expect(unit.status == 200 && unit.text.contains("\"validation\":{\"completeness\""), "\(unit.text)")
        #expect(try RawHTTP.request("GET", gw.url + "/v1/units/HCM-U001", headers: ["Authorization": "Bearer \(tokB)"]).status == 403)
    }

    /// A revoked token authenticates nothing from the next request on; the revocation is logged.
    @Test func revokedTokenIsRefused() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: ["--require-unit-token"])
        defer { gw.stop() }
        let created = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "unit", "--unit", "HCM-U001"], cwd: f.w.path)
        let tok = created.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let id = String(hexString(SHA256Hasher.hash(Array(tok.utf8))).prefix(16))
        #expect(created.stderr.contains("id \(id)"), "\(created.stderr)")
        let auth = ["Authorization": "Bearer \(tok)"]
        #expect(try RawHTTP.request("POST", gw.url + "/v1/packages", headers: auth, bodyFile: try f.seal("HCM-U001", seq: 1)).status == 201)
        let revoke = try CLI.sg(["tokens", "revoke", "--data", "dept", "--id", String(id.prefix(8))], cwd: f.w.path)
        #expect(revoke.status == 0 && revoke.stderr.contains("revoked token \(id)"), "\(revoke.stderr)")
        let refused = try RawHTTP.request("POST", gw.url + "/v1/packages", headers: auth, bodyFile: try f.seal("HCM-U001", seq: 2))
        #expect(refused.status == 401, "\(refused.text)")
        #expect(try RawHTTP.request("GET", gw.url + "/v1/units/HCM-U001", headers: auth).status == 401)
        let list = try CLI.sg(["tokens", "list", "--data", "dept"], cwd: f.w.path)
        #expect(list.out.contains(id) && list.out.contains("REVOKED"), "\(list.out)")
        let again = try CLI.sg(["tokens", "revoke", "--data", "dept", "--id", id], cwd: f.w.path)
        #expect(again.status != 0 && again.stderr.contains("token_revoked"), "\(again.stderr)")
        #expect(try CLI.sg(["tokens", "revoke", "--data", "dept", "--id", "ffffffffffff"], cwd: f.w.path).stderr.contains("token_unknown"))
        #expect(try RawHTTP.request("GET", gw.url + "/v1/log/entries").text.contains("token_revoked"))
    }
}

struct OfflineImportTests {
    /// Packages handed in on media: the same pipeline, receipts written beside each package.
    @Test func importWritesReceiptsBesideThePackages() throws {
        let f = try GatewayFixture()
        let good = try f.seal("HCM-U001", seq: 1)
        _ = try f.seal("HCM-U002", seq: 1)
        var bytes = f.w.read("HCM-U002-1.sgp")
        bytes[bytes.count / 2] ^= 1
        f.w.write("tampered.sgp", bytes: bytes)
        let r = try CLI.sg(["import", "--data", "dept", good, f.w.file("tampered.sgp")], cwd: f.w.path)
        #expect(r.status == 1, "a refused package makes import exit 1")
        #expect(r.stderr.contains("accepted") && r.stderr.contains("refused — signature_invalid"), "\(r.stderr)")
        let receipt = try JSON(parsing: String(decoding: f.w.read("HCM-U001-1.sgp.receipt.json"), as: UTF8.self))
        #expect(receipt["status"]?.string == "accepted")
        // A body that does not verify gets no receipt and leaves nothing behind.
        let spooled = try FileManager.default.contentsOfDirectory(atPath: f.w.file("dept/spool"))
        #expect(!f.w.exists("tampered.sgp.receipt.json") && spooled.count == 1, "\(spooled)")
        // Importing the same package again: the first receipt, unchanged.
        let before = f.w.read("HCM-U001-1.sgp.receipt.json")
        let again = try CLI.sg(["import", "--data", "dept", good], cwd: f.w.path)
        #expect(again.status == 0 && again.stderr.contains("already decided"), "\(again.stderr)")
        #expect(f.w.read("HCM-U001-1.sgp.receipt.json") == before)
    }
}

struct ServeSettingsTests {
    /// Settings whose arithmetic would overflow on the first request that uses them (a grace of
    /// `inf` days, a size of 2^70 bytes, a timeout of Int.max seconds) are refused at start, coded.
    @Test func outOfRangeSettingsAreRefusedAtStart() throws {
        let f = try GatewayFixture()
        for (option, value) in [
            ("--unit-key-grace", "inf"), ("--unit-key-grace", "1e300d"), ("--unit-key-grace", "nan"), ("--checkpoint-interval", "-1s"),
            ("--max-body", "18446744073709551615GiB"), ("--max-body", "9223372036854775807K"), ("--forward-timeout", "9223372036854775807"),
            ("--forward-timeout", "0"),
        ] {
            // (Bounded: a setting taken would start a server that runs on.)
            let r = try CLI.run("timeout", ["30", CLI.sealgate, "serve", "--data", "dept", "--port", "0", "\(option)=\(value)"], cwd: f.w.path)
            #expect(r.status == 64 && (r.out + r.stderr).contains("usage"), "\(option) \(value): \(r.status) \(r.out) \(r.stderr)")
        }
    }

    /// `--max-concurrent` is a number of threads: 1 to 256, checked at start (a huge value would
    /// ask for that many); both edges are taken.
    @Test func maxConcurrentIsOneTo256() throws {
        let f = try GatewayFixture()
        for value in ["0", "-1", "257", "100000"] {
            let r = try CLI.sgBounded(["serve", "--data", "dept", "--port", "0", "--max-concurrent=\(value)"], cwd: f.w.path, seconds: 30)
            #expect(
                r.status == 64 && r.stderr.contains("usage") && r.stderr.contains("--max-concurrent must be 1 to 256"),
                "\(value): \(r.status) \(r.out) \(r.stderr)")
        }
        for value in ["1", "256"] {
            let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: ["--max-concurrent", value])
            #expect(try f.post(gw, try f.seal("HCM-U001", seq: UInt64(value)!)).status == 201, "--max-concurrent \(value)")
            gw.stop()
        }
    }

    /// A handbook URL recorded with a user or password in it (a store from before such URLs were
    /// refused) is warned about at start — without the password.
    @Test func aRecordedHandbookURLWithCredentialsIsWarnedAbout() throws {
        let f = try GatewayFixture()
        try requireOK(try CLI.sg(["handbook", "init", "--data", "hb", "--unencrypted"], cwd: f.w.path))
        let connect = ["handbook", "connect", "--data", "dept", "--recipient", "hb/identity.pub", "--ack-key", "hb/ack.pub", "--url"]
        try requireOK(try CLI.sg(connect + ["http://127.0.0.1:9"], cwd: f.w.path))
        let clean = try GatewayProcess(data: "dept", cwd: f.w.path)
        clean.stop()
        #expect(!clean.logText.contains("handbook endpoint recorded"), "\(clean.logText)")
        let sql = "UPDATE settings SET value = replace(value, 'http://127.0.0.1:9', 'http://ops:s3cret-pw@127.0.0.1:9') WHERE name = 'handbook'"
        try requireOK(try CLI.run("sqlite3", [f.w.file("dept/gateway.sqlite"), sql], cwd: f.w.path))
        #expect(try CLI.run("sqlite3", [f.w.file("dept/gateway.sqlite"), "SELECT value FROM settings"], cwd: f.w.path).out.contains("s3cret-pw"))
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        #expect(
            try waitUntil { gw.logText.contains("warning: the handbook endpoint recorded is not a URL datasets can be sent to") },
            "\(gw.logText)")
        #expect(!gw.logText.contains("s3cret-pw"), "the password is in the log: \(gw.logText)")
    }
}
