import Foundation
import GatewayCore
import SealCrypto
import TestSupport
import Testing

/// A key rotation killed between any two of its steps leaves a gateway that starts and whose
/// receipts verify; running the command again finishes the rotation.
struct KeyRotationCrashTests {
    /// Starts the gateway, fetches the trust document (pinning `root`), submits `seq` of
    /// HCM-U001 with `submit` (which verifies the receipt), stops.
    static func startAndSubmit(
        _ f: GatewayFixture, seq: UInt64, root: String = "dept/keys/root.pub", sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", root, "-o", "trust.json"], cwd: f.w.path), "trust fetch")
        let s = try CLI.sg(["submit", "--gateway", gw.url, "--trust", "trust.json", try f.seal("HCM-U001", seq: seq)], cwd: f.w.path)
        #expect(s.status == 0 && s.stderr.contains("201 accepted · receipt verified"), "\(s.stderr)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["keys.activate.after-publish", "keys.activate.after-archive", "keys.activate.after-pub", "keys.activate.after-key"])
    func signingKeyRotationKilledBetweenSteps(_ point: String) throws {
        let f = try GatewayFixture()
        let crashed = try CLI.sg(
            ["keys", "rotate", "receipt", "--data", "dept", "--grace", "1d"], cwd: f.w.path, env: ["SEALGATE_FAILPOINTS": "\(point)=exit"])
        #expect(crashed.status == 86, "the failpoint did not stop the rotation: \(crashed.stderr)")
        try Self.startAndSubmit(f, seq: 1)
        if f.w.exists("dept/keys/receipt-next.key") {
            try requireOK(try CLI.sg(["keys", "activate", "receipt", "--data", "dept", "--grace", "1d"], cwd: f.w.path), "finishing the rotation")
        }
        #expect(!f.w.exists("dept/keys/receipt-next.key") && !f.w.exists("dept/keys/receipt-next.pub"))
        try Self.startAndSubmit(f, seq: 2)
        // The key in use is the one the trust document names as the receipt key.
        let active = try MinisignPublicKey(path: f.w.file("dept/keys/receipt.pub"))
        let trust = try JSON(parsing: String(decoding: f.w.read("trust.json"), as: UTF8.self))
        #expect(trust["receipt_key"]?.string == active.base64)
    }

    @Test(arguments: ["keys.root.after-next", "keys.root.after-publish", "keys.root.after-pub"])
    func rootRotationKilledBetweenSteps(_ point: String) throws {
        let f = try GatewayFixture()
        try FileManager.default.copyItem(atPath: f.w.file("dept/keys/root.pub"), toPath: f.w.file("pinned-root.pub"))
        try Self.startAndSubmit(f, seq: 1, root: "pinned-root.pub")
        let crashed = try CLI.sg(["keys", "rotate", "root", "--data", "dept"], cwd: f.w.path, env: ["SEALGATE_FAILPOINTS": "\(point)=exit"])
        #expect(crashed.status == 86, "the failpoint did not stop the rotation: \(crashed.stderr)")
        try Self.startAndSubmit(f, seq: 2, root: "pinned-root.pub")
        let again = try CLI.sg(["keys", "rotate", "root", "--data", "dept"], cwd: f.w.path)
        #expect(again.status == 0 && again.stderr.contains("finishing the interrupted rotation"), "\(again.stderr)")
        #expect(!f.w.exists("dept/keys/root-next.key"))
        // The unit's pin moves to the new root through the doubly signed version.
        try Self.startAndSubmit(f, seq: 3, root: "pinned-root.pub")
        #expect(
            try MinisignPublicKey(path: f.w.file("pinned-root.pub")).base64 == (try MinisignPublicKey(path: f.w.file("dept/keys/root.pub")).base64))
    }
}
