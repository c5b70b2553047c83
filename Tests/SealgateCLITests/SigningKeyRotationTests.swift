import Foundation
import GatewayCore
import SealCrypto
import SealPackage
import TestSupport
import Testing
import TransparencyLog

extension Array where Element == UInt8 {
    var minisignKeyIdHex: String { Minisign.keyIdHex(self) }
}

/// Rotation of the department's receipt, log and dataset keys while the gateway runs.
struct SigningKeyRotationTests {
    func fetch(_ f: GatewayFixture, _ gw: GatewayProcess, _ out: String) throws -> TrustDocument {
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", out], cwd: f.w.path))
        return TrustDocument(json: try JSON(parsing: String(decoding: f.w.read(out), as: UTF8.self)))
    }

    func submit(_ f: GatewayFixture, _ gw: GatewayProcess, _ file: String, trust: String) throws -> CLI.Result {
        try CLI.sg(["submit", "--gateway", gw.url, "--trust", trust, file], cwd: f.w.path)
    }

    func receiptSigner(_ f: GatewayFixture, _ pkg: String) throws -> String {
        try MinisignSignature(fileContents: String(contentsOfFile: pkg + ".receipt.json.minisig", encoding: .utf8)).keyId.minisignKeyIdHex
    }

    @Test func receiptAndLogKeysRotateWithoutStoppingTheFlow() throws {
        let f = try GatewayFixture()
        var gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let receipt1 = try MinisignPublicKey(path: f.w.file("dept/keys/receipt.pub"))
        let log1 = try MinisignPublicKey(path: f.w.file("dept/keys/log.pub"))
        _ = try fetch(f, gw, "t1.json")
        let p1 = try f.seal("HCM-U001", seq: 1, name: "p1.sgp")
        try requireOK(try submit(f, gw, p1, trust: "t1.json"))
        try requireOK(try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "t1.json", "--state", "state.json"], cwd: f.w.path))

        // Announced: published as pending, receipts still signed by the first key.
        let pend = try CLI.sg(["keys", "rotate", "receipt", "--data", "dept", "--pending"], cwd: f.w.path)
        #expect(pend.status == 0 && pend.stderr.contains("pending"), "\(pend.stderr)")
        let t2 = try fetch(f, gw, "t2.json")
        let receipt2 = try MinisignPublicKey(path: f.w.file("dept/keys/receipt-next.pub"))
        #expect(try t2.publicKey("receipt") == receipt1)
        #expect(t2.verifyingKeys("receipt", signedAt: "2030-01-01T00:00:00Z".moment) == [receipt1, receipt2])
        let p2 = try f.seal("HCM-U001", seq: 2, name: "p2.sgp")
        try requireOK(try submit(f, gw, p2, trust: "t2.json"))
        #expect(try receiptSigner(f, p2) == receipt1.keyIdHex)

        // Activated: the running gateway signs with the new key; a unit still holding the
        // document that announced it verifies the receipt.
        let act = try CLI.sg(["keys", "activate", "receipt", "--data", "dept", "--grace", "1h"], cwd: f.w.path)
        #expect(act.status == 0 && act.stderr.contains("\(receipt2.keyIdHex) is active"), "\(act.stderr)")
        #expect(!f.w.exists("dept/keys/archive/receipt-\(receipt1.keyIdHex).key"), "the old secret was not destroyed")
        let p3 = try f.seal("HCM-U001", seq: 3, name: "p3.sgp")
        let s3 = try submit(f, gw, p3, trust: "t2.json")
        #expect(s3.status == 0, "\(s3.stderr)")
        #expect(try receiptSigner(f, p3) == receipt2.keyIdHex)
        // A unit with only the first document does not know the new key, and is told to fetch.
        let stale = try CLI.sg(["receipt", "verify", "--trust", "t1.json", p3 + ".receipt.json"], cwd: f.w.path)
        #expect(stale.status != 0 && stale.stderr.contains("receipt_invalid") && stale.stderr.contains("trust fetch"), "\(stale.stderr)")

        // The log key, at once: the checkpoint covering the switch carries both signatures.
        let rot = try CLI.sg(["keys", "rotate", "log", "--data", "dept", "--grace", "1h"], cwd: f.w.path)
        #expect(rot.status == 0, "\(rot.stderr)")
        let log2 = try MinisignPublicKey(path: f.w.file("dept/keys/log.pub"))
        #expect(log2 != log1)
        let transition = try RawHTTP.request("GET", gw.url + "/v1/log/checkpoint").text
        #expect(throws: Never.self, "\(transition) \(log1.keyIdHex) \(log2.keyIdHex)") {
            try Checkpoint.verify(note: transition, name: "HCM-DTCD/log", publicKey: log1.key)
        }
        #expect(throws: Never.self, "\(transition)") { try Checkpoint.verify(note: transition, name: "HCM-DTCD/log", publicKey: log2.key) }
        // The running gateway signs later checkpoints with the new key only.
        let p4 = try f.seal("HCM-U002", seq: 1, name: "p4.sgp")
        #expect(try f.post(gw, p4).status == 201)
        let later = try RawHTTP.request("GET", gw.url + "/v1/log/checkpoint").text
        #expect(throws: Never.self, "\(later)") { try Checkpoint.verify(note: later, name: "HCM-DTCD/log", publicKey: log2.key) }
        #expect(
            "a later checkpoint must not carry the old log key's signature",
            performing: { try Checkpoint.verify(note: later, name: "HCM-DTCD/log", publicKey: log1.key) },
            throws: { ($0 as? SealError)?.code == .checkpointInvalid })
        // An auditor with the old document is told to fetch; with the new one the log is
        // consistent with what was verified before the rotations.
        let old = try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "t2.json", "--state", "state.json"], cwd: f.w.path)
        #expect(old.status != 0 && old.stderr.contains("checkpoint_invalid"), "\(old.stderr)")
        let t4 = try fetch(f, gw, "t4.json")
        let audit = try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "t4.json", "--state", "state.json"], cwd: f.w.path)
        #expect(audit.status == 0 && audit.stderr.contains("consistent"), "\(audit.stderr)")

        // Every receipt — signed by the old or new receipt key, proven in checkpoints of the old
        // or new log key — verifies with the newest document.
        for p in [p1, p2, p3] {
            let v = try CLI.sg(["receipt", "verify", "--trust", "t4.json", p + ".receipt.json"], cwd: f.w.path)
            #expect(v.status == 0, "\(p): \(v.stderr)")
        }
        // The dataset key rotates the same way.
        let dataset1 = try t4.publicKey("dataset")
        try requireOK(try CLI.sg(["keys", "rotate", "dataset", "--data", "dept", "--grace", "1h"], cwd: f.w.path))
        let t5 = try fetch(f, gw, "t5.json")
        #expect(try t5.publicKey("dataset") != dataset1 && t5.verifyingKeys("dataset", signedAt: "2000-01-01T00:00:00Z".moment).contains(dataset1))
        // A restart loads the log across the key change; the changes are logged.
        gw.stop()
        gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 2, name: "p5.sgp")).status == 201)
        let entries = try RawHTTP.request("GET", gw.url + "/v1/log/entries").text
        for role in ["receipt", "log", "dataset"] { #expect(entries.contains("\\\"role\\\":\\\"\(role)\\\""), "no log entry for the \(role) key") }
    }

    /// A receipt key rotated out (and stolen, say) cannot make receipts dated after its grace.
    @Test func rotatedReceiptKeyIsRefusedAfterItsGrace() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let p1 = try f.seal("HCM-U001", seq: 1, name: "p1.sgp")
        #expect(try f.post(gw, p1).status == 201)
        let receipt1 = try MinisignPublicKey(path: f.w.file("dept/keys/receipt.pub"))
        try requireOK(try CLI.sg(["keys", "rotate", "receipt", "--data", "dept", "--grace", "0s", "--archive"], cwd: f.w.path))
        let t = try fetch(f, gw, "t.json")
        let stolen = try MinisignSecretKey.load(
            path: f.w.file("dept/keys/archive/receipt-\(receipt1.keyIdHex).key"), passphrase: { SecureBytes(count: 0) })
        // Its earlier receipt is still valid.
        let admin = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: f.w.path).out.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let r1 = try RawHTTP.request(
            "GET", gw.url + "/v1/packages/" + (try PackageHeader(path: p1, source: try FileSource(path: p1)).comment.package),
            headers: ["Authorization": "Bearer \(admin)"])
        #expect(r1.status == 200)
        let body1 = try JSON(parsing: r1.text)
        let sig1 = String(decoding: Base64Decode(r1.headers["sealgate-receipt-signature"] ?? ""), as: UTF8.self)
        #expect(throws: Never.self) { _ = try Receipt.verify(text: r1.text, signature: sig1, trust: t) }
        // The same receipt re-dated after the rotation and signed with the old key: refused.
        guard case .object(var fields) = body1 else {
            Issue.record("receipt is not an object")
            return
        }
        fields["decided_at"] = .string("2099-01-01T00:00:00Z")
        let (text, sig) = try Receipt.sign(.object(fields), key: stolen)
        #expect(
            performing: { _ = try Receipt.verify(text: text, signature: sig, trust: t) },
            throws: { e in
                (e as? SealError)?.code == .receiptInvalid && (e as? SealError)?.message.contains("no longer accepts") == true
            })
    }
}
