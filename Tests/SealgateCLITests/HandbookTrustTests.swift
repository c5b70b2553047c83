import Foundation
import GatewayCore
import SealCrypto
import SealPackage
import TestSupport
import Testing

/// The handbook receiver follows the department's trust document by itself (issue #21, item 6):
/// a dataset signed by a key the department has just rotated to is fetched for and accepted, a
/// document the pinned root does not sign is refused, strangers cannot make it hammer the gateway,
/// and an expiring document is warned of and replaced at start.
struct HandbookTrustTests {
    static let fetching = "trust: fetching the department's trust document"

    func receiver(_ c: CityCycle, gateway: String?, data: String = "hb", extra: [String] = []) throws -> GatewayProcess {
        try GatewayProcess(
            arguments: ["handbook", "serve", "--data", data, "--trust", "trust.json", "--port", "0"] + (gateway.map { ["--gateway", $0] } ?? [])
                + extra, cwd: c.w.path)
    }

    func trustVersion(_ c: CityCycle, _ file: String = "trust.json") throws -> Int64 {
        try JSON(parsing: String(decoding: c.w.read(file), as: UTF8.self))["version"]?.int ?? -1
    }

    func count(_ text: String, _ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }

    /// The dataset key rotated on a running gateway (no pending phase): the next dataset is
    /// delivered at its first attempt, the receiver having fetched and checked the new document in
    /// that request. Then the trust root and the dataset key again: the receiver walks the versions
    /// and its pin follows the new root.
    @Test func datasetKeyRotationIsFollowedWithoutAManualStep() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        let hb = try receiver(c, gateway: gw.url, extra: ["--trust-fetch-interval", "1s"])
        defer { hb.stop() }
        #expect(hb.logText.contains("pinned the department's trust root"), "\(hb.logText)")
        let pinned = c.w.read("hb/root.pub")
        #expect(pinned == c.w.read("dept/keys/root.pub"))
        try c.connect(hb.url)
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        #expect(try c.waitFor("v1 delivered") { try c.dataset(1)["state"]?.string == "delivered" }, "\((try? c.dataset(1)) ?? .null)")
        let before = try trustVersion(c)
        #expect(count(hb.logText, Self.fetching) == 0, "nothing to fetch for yet: \(hb.logText)")

        try requireOK(try CLI.sg(["keys", "rotate", "dataset", "--data", "dept"], cwd: c.w.path))
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        #expect(try c.waitFor("v2 delivered") { try c.dataset(2)["state"]?.string == "delivered" }, "\((try? c.dataset(2)) ?? .null)\n\(hb.logText)")
        let v2 = try c.dataset(2)
        #expect(v2["attempts"]?.int == 1, "not delivered at its first attempt: \(v2)\n\(hb.logText)")
        #expect(try trustVersion(c) > before, "the receiver's trust.json was not replaced")
        #expect(hb.logText.contains("trust: took trust document version \(try trustVersion(c))"), "\(hb.logText)")
        let health = try JSON(parsing: try RawHTTP.request("GET", hb.url + "/v1/health").text)
        #expect(health["version"]?.int == 2)

        // The root, then the dataset key again: the versions are walked, the pin moves.
        try requireOK(try CLI.sg(["keys", "rotate", "root", "--data", "dept"], cwd: c.w.path))
        try requireOK(try CLI.sg(["keys", "rotate", "dataset", "--data", "dept"], cwd: c.w.path))
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        #expect(try c.waitFor("v3 delivered") { try c.dataset(3)["state"]?.string == "delivered" }, "\((try? c.dataset(3)) ?? .null)\n\(hb.logText)")
        #expect(c.w.read("hb/root.pub") != pinned, "the pin did not move")
        let newRoot = try MinisignPublicKey(path: c.w.file("hb/root.pub"))
        #expect(newRoot == (try MinisignPublicKey(path: c.w.file("dept/keys/root.pub"))))
        #expect(hb.logText.contains("now pins the new root"), "\(hb.logText)")
    }

    /// The receiver asks a gateway that serves a newer-numbered document signed by another root:
    /// refused (`trust_invalid`, in its log), the dataset refused `key_unknown`, the document and
    /// the pin kept as they were. Asking the department's gateway then delivers it.
    @Test func aDocumentNotSignedByThePinnedRootIsRefused() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        // An impostor: the same department id, its own root, a higher version.
        try requireOK(try CLI.sg(["init", "--data", "evil", "--unencrypted"], cwd: c.w.path))
        for _ in 0..<4 { try requireOK(try CLI.sg(["trust", "publish", "--data", "evil"], cwd: c.w.path)) }
        let evil = try GatewayProcess(data: "evil", cwd: c.w.path)
        defer { evil.stop() }
        var hb = try receiver(c, gateway: evil.url)
        defer { hb.stop() }
        try c.connect(hb.url)
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        #expect(try c.waitFor("v1 delivered") { try c.dataset(1)["state"]?.string == "delivered" })
        let (trust, signature, pin) = (c.w.read("trust.json"), c.w.read("trust.json.minisig"), c.w.read("hb/root.pub"))

        try requireOK(try CLI.sg(["keys", "rotate", "dataset", "--data", "dept"], cwd: c.w.path))
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        #expect(
            try c.waitFor("v2 refused") { (try c.dataset(2)["last_error"]?.string ?? "").contains("key_unknown") },
            "\((try? c.dataset(2)) ?? .null)\n\(hb.logText)")
        #expect(try c.dataset(2)["state"]?.string == "pending")
        #expect(try c.waitFor("refusal logged") { hb.logText.contains("(trust_invalid:") }, "\(hb.logText)")
        #expect(!hb.logText.contains("trust: took"), "\(hb.logText)")
        #expect(c.w.read("trust.json") == trust && c.w.read("trust.json.minisig") == signature, "the old document was not kept")
        #expect(c.w.read("hb/root.pub") == pin, "the pin was changed")

        // The same receiver, asking the department's gateway: delivered.
        let port = hb.port
        hb.stop()
        hb = try receiver(c, gateway: gw.url, extra: ["--port", String(port)])
        #expect(try c.waitFor("v2 delivered") { try c.dataset(2)["state"]?.string == "delivered" }, "\((try? c.dataset(2)) ?? .null)\n\(hb.logText)")
    }

    /// Datasets a stranger signs with keys of its own: one that is not newer than the version
    /// held makes the receiver fetch nothing; a flood of new ones, one fetch a minute (the
    /// default); a key a fresh document refused, no other fetch even after the interval.
    @Test func strangersCannotMakeTheReceiverHammerTheGateway() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        let hb = try receiver(c, gateway: gw.url)
        defer { hb.stop() }
        try c.connect(hb.url)
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        #expect(try c.waitFor("v1 delivered") { try c.dataset(1)["state"]?.string == "delivered" })
        let opened = try c.openDataset(1)
        let files = PackageKind.dataset.requiredFiles!.map { SealRequest.Input(name: $0, path: c.w.file("\(opened)/\($0)")) }
        let hbRecipient = try AgeX25519Recipient(
            string: String(decoding: c.w.read("hb/identity.pub"), as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "")
        func forge(_ name: String, seq: UInt64, key: MinisignSecretKey = MinisignSecretKey.generate()) throws -> String {
            _ = try Sealer.seal(
                SealRequest(
                    unit: "HCM-DTCD", seq: seq, kind: .dataset, inputs: files, recipients: [hbRecipient], signer: key, output: c.w.file(name)))
            return c.w.file(name)
        }
        func post(_ path: String) throws -> RawHTTP.Response { try RawHTTP.request("POST", hb.url + "/v1/datasets", bodyFile: path) }

        let stale = try post(try forge("stale.sgp", seq: 1))
        #expect(stale.status == 422 && stale.text.contains("\"code\":\"key_unknown\""), "\(stale.status) \(stale.text)")
        #expect(count(hb.logText, Self.fetching) == 0, "a dataset not newer than the one held made it fetch: \(hb.logText)")
        for i in 0..<6 {
            let r = try post(try forge("forged-\(i).sgp", seq: 5))
            #expect(r.status == 422 && r.text.contains("\"code\":\"key_unknown\""), "\(r.status) \(r.text)")
        }
        #expect(count(hb.logText, Self.fetching) == 1, "\(hb.logText)")
        #expect(try post(c.w.file("forged-5.sgp")).text.contains("fetched less than 60 s ago"))

        // With a short interval: a key a fetched document refused asks no more; a new key does.
        try requireOK(try CLI.sg(["handbook", "init", "--data", "hb2", "--unencrypted"], cwd: c.w.path))
        let hb2 = try receiver(c, gateway: gw.url, data: "hb2", extra: ["--trust-fetch-interval", "1s"])
        defer { hb2.stop() }
        let key = MinisignSecretKey.generate()
        let once = try forge("once.sgp", seq: 5, key: key)
        let first = try RawHTTP.request("POST", hb2.url + "/v1/datasets", bodyFile: once)
        #expect(first.text.contains("is the department's latest, fetched just now"), "\(first.text)")
        Thread.sleep(forTimeInterval: 1.5)  // past the interval: only the remembered refusal holds it back
        _ = try RawHTTP.request("POST", hb2.url + "/v1/datasets", bodyFile: once)
        #expect(count(hb2.logText, Self.fetching) == 1, "\(hb2.logText)")
        _ = try RawHTTP.request("POST", hb2.url + "/v1/datasets", bodyFile: try forge("other.sgp", seq: 5))
        #expect(count(hb2.logText, Self.fetching) == 2, "\(hb2.logText)")
    }

    /// A trust document that expires within 14 days is warned of at start and a newer one asked
    /// for; once the department has published one, the next start takes it and warns no more.
    @Test func anExpiringDocumentIsWarnedOfAndReplaced() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gateway()
        defer { gw.stop() }
        try requireOK(try CLI.sg(["trust", "publish", "--data", "dept", "--valid-days", "3"], cwd: c.w.path))
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: c.w.path))
        let short = try trustVersion(c)
        var hb = try receiver(c, gateway: gw.url)
        #expect(
            try c.waitFor("warned") { hb.logText.contains("warning: the trust document (version \(short)) expires at") },
            "\(hb.logText)")
        #expect(try c.waitFor("asked") { hb.logText.contains("version \(short) is still the department's latest") }, "\(hb.logText)")
        hb.stop()

        try requireOK(try CLI.sg(["trust", "publish", "--data", "dept", "--valid-days", "90"], cwd: c.w.path))
        hb = try receiver(c, gateway: gw.url)
        defer { hb.stop() }
        #expect(try c.waitFor("taken") { hb.logText.contains("trust: took trust document version \(short + 1)") }, "\(hb.logText)")
        #expect(try c.waitFor("first check done") { hb.logText.contains("trust: holding trust document version \(short + 1)") }, "\(hb.logText)")
        #expect(try trustVersion(c) == short + 1)
        #expect(!hb.logText.contains("warning: the trust document"), "\(hb.logText)")
    }
}
