import Foundation
import Testing
import GatewayCore
import SealCrypto
import SealPackage

struct RecipientRotationTests {
    func fingerprints(_ f: GatewayFixture, _ file: String) throws -> [String] {
        try PackageHeader(path: file, source: try FileSource(path: file)).comment.to
    }

    @Test func rotationWhileUnitsKeepSubmitting() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let r1 = f.recipient
        // A unit sealed to the first recipient before the rotation…
        let early = try f.seal("HCM-U001", seq: 1, to: r1)
        let rot = try CLI.sg(["keys", "rotate", "recipient", "--data", "dept", "--grace", "1h"], cwd: f.w.path)
        #expect(rot.status == 0 && rot.stderr.contains("version 2"), "\(rot.stderr)")
        // …submits after it: still in grace, accepted by the running gateway.
        let a = try f.post(gw, early)
        #expect(a.status == 201, "\(a.text)")
        // Units that fetch the new document seal to the new recipient only.
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let trust = try TrustDocument(json: try JSON(parsing: String(decoding: f.w.read("trust.json"), as: UTF8.self)))
        let r2 = try trust.activeRecipients()
        #expect(r2.count == 1 && r2[0] != r1)
        #expect(trust.recipientStates.contains { $0.fingerprint == r1.fingerprint && $0.state == "decrypt-only" })
        try requireOK(try CLI.sg(["seal", "--unit", "HCM-U001", "--seq", "2", "--signing-key", "HCM-U001.key", "--trust", "trust.json", "-o", "late.sgp",
                                  "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv"], cwd: f.w.path))
        #expect(try fingerprints(f, f.w.file("late.sgp")) == [r2[0].fingerprint])
        #expect(try f.post(gw, f.w.file("late.sgp")).status == 201)

        // A second rotation with no grace, then retirement: the second recipient is retired,
        // the first is still in its grace.
        #expect(try CLI.sg(["keys", "rotate", "recipient", "--data", "dept", "--grace", "0s"], cwd: f.w.path).status == 0)
        let retire = try CLI.sg(["keys", "retire", "--data", "dept"], cwd: f.w.path)
        #expect(retire.status == 0 && retire.stderr.contains(r2[0].fingerprint) && !retire.stderr.contains(r1.fingerprint), "\(retire.stderr)")
        #expect(!f.w.exists("dept/keys/recipient-\(r2[0].fingerprint).key"), "the retired secret key was not destroyed")
        let refused = try f.post(gw, try f.seal("HCM-U002", seq: 1, to: r2[0]))
        #expect(refused.status == 422 && refused.text.contains("recipient_retired"), "\(refused.text)")
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 2, to: r1)).status == 201, "still in grace")
        // Every change is in the log.
        let entries = try HTTPClient.request("GET", gw.url + "/v1/log/entries").text
        #expect(entries.contains("\"kind\":\"key_rotated\"") && entries.contains("\"kind\":\"key_retired\""))
    }
}
