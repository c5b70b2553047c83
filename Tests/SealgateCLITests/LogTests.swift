import Foundation
import GatewayCore
import SealCrypto
import TestSupport
import Testing
import TransparencyLog

struct TransparencyLogTests {
    @Test func verifyNamesAnEditedRowAndTheGatewayRefusesToSignOverIt() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        for seq in 1...3 { #expect(try f.post(gw, try f.seal("HCM-U001", seq: UInt64(seq))).status == 201) }
        let first = try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "trust.json", "--state", "state.json"], cwd: f.w.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("log verified: 6 entries"), "\(first.stderr)")  // trust, 2 units, 3 outcomes
        // The log grows: still consistent with the state.
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 1)).status == 201)
        let second = try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "trust.json", "--state", "state.json"], cwd: f.w.path)
        #expect(second.status == 0 && second.stderr.contains("consistent with the 6 verified before"), "\(second.stderr)")
        // Someone edits a row in the database.
        let edit = try CLI.run(
            "sqlite3", ["dept/gateway.sqlite", "UPDATE log_entries SET body = replace(body, 'accepted', 'rejected') WHERE idx = 4"], cwd: f.w.path)
        #expect(edit.status == 0)
        let third = try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "trust.json", "--state", "state.json"], cwd: f.w.path)
        #expect(third.status != 0 && third.stderr.contains("log_mismatch") && third.stderr.contains("log entry 4"), "\(third.stderr)")
        // The running gateway keeps proving receipts in the history it holds in memory (the
        // original one), and its new checkpoint still extends what was verified…
        let after = try f.post(gw, try f.seal("HCM-U002", seq: 2))
        #expect(after.status == 201)
        f.w.write("p-after.json", after.text)
        f.w.write("p-after.json.minisig", bytes: Base64Decode(after.headers["sealgate-receipt-signature"] ?? ""))
        let check = try CLI.sg(["receipt", "verify", "--trust", "trust.json", "p-after.json"], cwd: f.w.path)
        #expect(check.status == 0 && check.stderr.contains("inclusion in the signed log checkpoint"), "\(check.stderr)")
        // …but it will not start again on the altered store (and if it wrongly did, the bound
        // ends the test instead of letting it hang).
        gw.stop()
        let restart = try CLI.sgBounded(["serve", "--data", "dept", "--port", "0"], cwd: f.w.path)
        #expect(restart.status == 1 && restart.stderr.contains("log_inconsistent"), "\(restart.status) \(restart.stderr)")
    }

    /// A receipt carries its log entry, the inclusion proof and a signed checkpoint; `receipt verify`
    /// checks all three; a receipt whose proof is altered is refused.
    @Test func receiptsCarryInclusionProofs() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        for seq in 1...3 { _ = try f.post(gw, try f.seal("HCM-U001", seq: UInt64(seq))) }
        let p = try f.seal("HCM-U002", seq: 1)
        let s = try CLI.sg(["submit", "--gateway", gw.url, "--trust", "trust.json", p], cwd: f.w.path)
        #expect(s.status == 0, "\(s.stderr)")
        let r = try JSON(parsing: String(decoding: f.w.read("HCM-U002-1.sgp.receipt.json"), as: UTF8.self))
        // 7 = 4 + 2 + 1: the last leaf needs the 2-leaf and the 4-leaf subtrees
        #expect(r["leaf"]?.int == 6 && r["checkpoint"]?.string?.contains("\n7\n") == true && (r["inclusion"]?.array?.count ?? 0) == 2)
        let v = try CLI.sg(["receipt", "verify", "--trust", "trust.json", "HCM-U002-1.sgp.receipt.json"], cwd: f.w.path)
        #expect(v.status == 0 && v.stderr.contains("inclusion in the signed log checkpoint"), "\(v.stderr)")
        // The same receipt with one proof hash changed and signed again with the department's own
        // receipt key (a signature that holds over a proof that does not): `receipt verify` refuses it.
        guard case .object(var fields) = r, var proof = r["inclusion"]?.array?.map({ Base64Decode($0.string ?? "") }) else {
            Issue.record("no proof")
            return
        }
        proof[0][0] ^= 1
        fields["inclusion"] = .array(proof.map { .string(Base64.encode($0)) })
        let receiptKey = try MinisignSecretKey.load(path: f.w.file("dept/keys/receipt.key"), passphrase: { SecureBytes(count: 0) })
        let (text, sig) = try Receipt.sign(.object(fields), key: receiptKey)
        f.w.write("tampered.json", text)
        f.w.write("tampered.json.minisig", sig)
        let tampered = try CLI.sg(["receipt", "verify", "--trust", "trust.json", "tampered.json", "--json"], cwd: f.w.path)
        #expect(
            tampered.status == 1 && jsonCode(tampered) == "receipt_invalid" && tampered.out.contains("log proof does not hold"), "\(tampered.out)")
    }

    @Test func aForkedLogFailsConsistency() throws {
        let f = try GatewayFixture()
        // The same department state copied: both copies hold the same log key.
        try FileManager.default.copyItem(atPath: f.w.file("dept"), toPath: f.w.file("fork"))
        let a = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { a.stop() }
        let b = try GatewayProcess(data: "fork", cwd: f.w.path)
        defer { b.stop() }
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", a.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        #expect(try f.post(a, try f.seal("HCM-U001", seq: 1)).status == 201)
        #expect(try f.post(b, try f.seal("HCM-U001", seq: 1, name: "fork-1.sgp")).status == 201)
        #expect(try f.post(b, try f.seal("HCM-U001", seq: 2)).status == 201)
        let onA = try CLI.sg(["log", "verify", "--gateway", a.url, "--trust", "trust.json", "--state", "state.json"], cwd: f.w.path)
        #expect(onA.status == 0, "\(onA.stderr)")
        // B's checkpoint is validly signed, but its history differs from what was seen on A.
        let onB = try CLI.sg(["log", "verify", "--gateway", b.url, "--trust", "trust.json", "--state", "state.json"], cwd: f.w.path)
        #expect(onB.status != 0 && (onB.stderr.contains("log_fork") || onB.stderr.contains("log_mismatch")), "\(onB.stderr)")
        // Proof endpoints answer and their proofs verify.
        let cp = try Checkpoint.verify(
            note: try RawHTTP.request("GET", a.url + "/v1/log/checkpoint").text,
            name: "HCM-DTCD/log", publicKey: try MinisignKeyFile.logKey(f))
        let incl = try JSON(parsing: try RawHTTP.request("GET", a.url + "/v1/log/proof/inclusion?leaf=3&size=\(cp.size)").text)
        let entries = try JSON(parsing: try RawHTTP.request("GET", a.url + "/v1/log/entries?start=3&end=4").text).array!
        let leaf = Merkle.leafHash(Array(entries[0]["body"]!.string!.utf8))
        let proof = incl["proof"]!.array!.map { Base64Decode($0.string!) }
        #expect(Merkle.verifyInclusion(index: 3, size: cp.size, leaf: leaf, proof: proof, root: cp.root))
    }
}

struct TrustPublishTests {
    /// A new version is served at once; a unit holding it refuses an older one replayed to it,
    /// and a document not signed by its pinned root.
    @Test func newerVersionsOnly() throws {
        let f = try GatewayFixture()
        try FileManager.default.copyItem(atPath: f.w.file("dept"), toPath: f.w.file("old"))  // still at version 1
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let stale = try GatewayProcess(data: "old", cwd: f.w.path)
        defer { stale.stop() }
        let pub = try CLI.sg(["trust", "publish", "--data", "dept", "--valid-days", "30"], cwd: f.w.path)
        #expect(pub.status == 0 && pub.stderr.contains("version 2"), "\(pub.stderr)")
        let fetch = try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path)
        #expect(fetch.status == 0 && fetch.stderr.contains("version 2"), "\(fetch.stderr)")
        let replay = try CLI.sg(["trust", "fetch", "--gateway", stale.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path)
        #expect(replay.status != 0 && replay.stderr.contains("trust_rollback"), "\(replay.stderr)")
        #expect(String(decoding: f.w.read("trust.json"), as: UTF8.self).contains("\"version\":2"), "the held document was replaced")
        // The publication is in the log.
        let entries = try RawHTTP.request("GET", gw.url + "/v1/log/entries").text
        #expect(entries.components(separatedBy: "\"kind\":\"trust\"").count - 1 == 2)
    }
}

struct CheckpointSignerTests {
    /// Entries appended outside an intake (here a unit registered by the CLI while the gateway
    /// runs) are covered by a checkpoint the gateway signs on its own, within the interval.
    @Test func theGatewaySignsCheckpointsForEntriesItDidNotAppend() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: ["--checkpoint-interval", "1s"])
        defer { gw.stop() }
        func latest() throws -> (checkpoint: Int, log: Int) {
            let r = try CLI.run(
                "sqlite3",
                ["dept/gateway.sqlite", "SELECT (SELECT COALESCE(MAX(size), 0) FROM checkpoints) || ' ' || (SELECT COUNT(*) FROM log_entries)"],
                cwd: f.w.path)
            let parts = r.out.split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
            return (parts.first ?? -1, parts.last ?? -1)
        }
        try requireOK(try CLI.sg(["keys", "generate", "signing", "--out", "HCM-U003", "--unencrypted"], cwd: f.w.path))
        try requireOK(
            try CLI.sg(["units", "add", "--data", "dept", "--id", "HCM-U003", "--name", "Đơn vị 3", "--signing-key", "HCM-U003.pub"], cwd: f.w.path))
        var state = try latest()
        let deadline = Date().addingTimeInterval(15)
        while state.checkpoint < state.log, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.3)
            state = try latest()
        }
        #expect(state.log == 4 && state.checkpoint == 4, "checkpoint \(state.checkpoint), log \(state.log)")  // trust, 3 units
    }
}
