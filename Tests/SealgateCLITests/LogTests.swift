import Foundation
import Testing
import GatewayCore

struct TransparencyLogTests {
    @Test func verifyNamesAnEditedRowAndTheGatewayRefusesToSignOverIt() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        for seq in 1...3 { #expect(try f.post(gw, try f.seal("HCM-U001", seq: UInt64(seq))).status == 201) }
        let first = try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "trust.json", "--state", "state.json"], cwd: f.w.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("log verified: 6 entries"), "\(first.stderr)") // trust, 2 units, 3 outcomes
        // The log grows: still consistent with the state.
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 1)).status == 201)
        let second = try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "trust.json", "--state", "state.json"], cwd: f.w.path)
        #expect(second.status == 0 && second.stderr.contains("consistent with the 6 verified before"), "\(second.stderr)")
        // Someone edits a row in the database.
        let edit = try CLI.run("sqlite3", ["dept/gateway.sqlite", "UPDATE log_entries SET body = replace(body, 'accepted', 'rejected') WHERE idx = 4"], cwd: f.w.path)
        #expect(edit.status == 0)
        let third = try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "trust.json", "--state", "state.json"], cwd: f.w.path)
        #expect(third.status != 0 && third.stderr.contains("log_mismatch") && third.stderr.contains("log entry 4"), "\(third.stderr)")
        // The gateway will not sign a new checkpoint over the altered history.
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 2)).status == 201)
        let cp = try HTTPClient.request("GET", gw.url + "/v1/log/checkpoint")
        #expect(cp.status == 500 && cp.text.contains("log_inconsistent"), "\(cp.text)")
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
        let cp = try Checkpoint.verify(note: try HTTPClient.request("GET", a.url + "/v1/log/checkpoint").text,
                                       name: "HCM-DTCD/log", publicKey: try MinisignKeyFile.logKey(f))
        let incl = try JSON(parsing: try HTTPClient.request("GET", a.url + "/v1/log/proof/inclusion?leaf=3&size=\(cp.size)").text)
        let entries = try JSON(parsing: try HTTPClient.request("GET", a.url + "/v1/log/entries?start=3&end=4").text).array!
        let leaf = Merkle.leafHash(Array(entries[0]["body"]!.string!.utf8))
        let proof = incl["proof"]!.array!.map { Base64Decode($0.string!) }
        #expect(Merkle.verifyInclusion(index: 3, size: cp.size, leaf: leaf, proof: proof, root: cp.root))
    }
}
