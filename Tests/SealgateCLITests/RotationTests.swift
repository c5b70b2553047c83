import Foundation
import GatewayCore
import SealCrypto
import SealPackage
import TestSupport
import Testing

struct RecipientRotationTests {
    func fingerprints(_ f: GatewayFixture, _ file: String) throws -> [String] {
        try PackageHeader(path: file, source: try FileSource(path: file)).comment.to
    }

    /// The department moves to a post-quantum recipient (`keys rotate recipient --pq`): the trust
    /// document lists it as the one active recipient, a unit's `seal --trust` seals to it alone
    /// (one mlkem768x25519 stanza), the gateway decides the package; a package sealed to it and
    /// to the classical one at once is refused by `seal` (age's rule, age_recipients_mixed).
    @Test func aPostQuantumRecipientIsSealedToAndDecided() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let r1 = f.recipient
        let rot = try CLI.sg(["keys", "rotate", "recipient", "--pq", "--data", "dept", "--grace", "1h"], cwd: f.w.path)
        #expect(rot.status == 0, "\(rot.stderr)")
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let trust = TrustDocument(json: try JSON(parsing: String(decoding: f.w.read("trust.json"), as: UTF8.self)))
        let active = try trust.activeRecipients()
        #expect(active.count == 1 && active[0].string.hasPrefix("age1pq1"), "\(active.map(\.string))")
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "HCM-U001.key", "--trust", "trust.json", "-o", "pq.sgp",
                    "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv",
                ], cwd: f.w.path))
        let header = try PackageHeader(path: f.w.file("pq.sgp"), source: try FileSource(path: f.w.file("pq.sgp")))
        #expect(header.comment.to == [active[0].fingerprint])
        let inspect = try CLI.sg(["inspect", "pq.sgp"], cwd: f.w.path)
        #expect(inspect.out.contains("mlkem768x25519") && !inspect.out.contains("X25519,"), "\(inspect.out)")
        let accepted = try f.post(gw, f.w.file("pq.sgp"))
        #expect(accepted.status == 201, "\(accepted.text.prefix(300))")
        // The classical recipient is still in its grace, but never beside the post-quantum one.
        let pub = f.w.file("dept-pq.pub")
        f.w.write("dept-pq.pub", active[0].string + "\n")
        let mixed = try CLI.sg(
            [
                "seal", "--unit", "HCM-U001", "--seq", "2", "--signing-key", "HCM-U001.key", "--to", pub, "--to", r1.string, "-o", "mixed.sgp",
                "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv", "--json",
            ], cwd: f.w.path)
        #expect(mixed.status != 0 && mixed.out.contains("age_recipients_mixed") && !f.w.exists("mixed.sgp"), "\(mixed.out) \(mixed.stderr)")
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
        let trust = TrustDocument(json: try JSON(parsing: String(decoding: f.w.read("trust.json"), as: UTF8.self)))
        let r2 = try trust.activeRecipients()
        #expect(r2.count == 1 && r2[0].string != r1.string)
        #expect(trust.recipientStates.contains { $0.fingerprint == r1.fingerprint && $0.state == "decrypt-only" })
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "2", "--signing-key", "HCM-U001.key", "--trust", "trust.json", "-o", "late.sgp",
                    "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv",
                ], cwd: f.w.path))
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
        let entries = try RawHTTP.request("GET", gw.url + "/v1/log/entries").text
        #expect(entries.contains("\"kind\":\"key_rotated\"") && entries.contains("\"kind\":\"key_retired\""))
    }
}

struct PendingRecipientTests {
    @Test func pendingRecipientIsAnnouncedThenActivated() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let r1 = f.recipient
        let rot = try CLI.sg(["keys", "rotate", "recipient", "--data", "dept", "--pending"], cwd: f.w.path)
        #expect(rot.status == 0 && rot.stderr.contains("pending"), "\(rot.stderr)")
        func fetch() throws -> TrustDocument {
            try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
            return TrustDocument(json: try JSON(parsing: String(decoding: f.w.read("trust.json"), as: UTF8.self)))
        }
        // Announced, not yet sealed to; the gateway already opens packages sealed to it.
        let t1 = try fetch()
        #expect(try t1.activeRecipients().map(\.string) == [r1.string])
        guard let pendingFp = t1.recipientStates.first(where: { $0.state == "pending" })?.fingerprint,
            let pendingR = (t1.json["recipients"]?.array ?? []).first(where: { $0["fingerprint"]?.string == pendingFp })?["recipient"]?.string
        else {
            Issue.record("no pending recipient in the trust document")
            return
        }
        let r2 = try AgeX25519Recipient(string: pendingR)
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 1, to: r2)).status == 201)
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 2, to: r1)).status == 201)
        // Activated: the new one is active, the old one decrypt-only and still opened.
        let act = try CLI.sg(["keys", "activate", "--data", "dept", "--grace", "1h"], cwd: f.w.path)
        #expect(act.status == 0 && act.stderr.contains("\(pendingFp) is active"), "\(act.stderr)")
        let t2 = try fetch()
        #expect(try t2.activeRecipients().map(\.string) == [r2.string])
        #expect(t2.recipientStates.contains { $0.fingerprint == r1.fingerprint && $0.state == "decrypt-only" })
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 1, to: r1)).status == 201)
        let nothing = try CLI.sg(["keys", "activate", "--data", "dept", "--json"], cwd: f.w.path)
        #expect(
            nothing.status == 64 && jsonCode(nothing) == "usage" && nothing.out.contains("no pending recipient"),
            "nothing pending any more: \(nothing.out)")
        let entries = try RawHTTP.request("GET", gw.url + "/v1/log/entries").text
        #expect(entries.contains("key_activated"))
    }
}

struct UnitKeyRotationTests {
    func postStatement(_ gw: GatewayProcess, _ json: JSON, unit: String = "HCM-U001") throws -> RawHTTP.Response {
        try RawHTTP.request(
            "POST", gw.url + "/v1/units/\(unit)/keys", headers: ["Content-Type": "application/json"], body: Array(json.canonical.utf8))
    }

    @Test func rotationNeedsBothSignaturesAndKeepsEarlierPackagesValid() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        // Sealed with the old key before the switch, submitted after it.
        let early = try f.seal("HCM-U001", seq: 1)
        Thread.sleep(forTimeInterval: 1.2)  // timestamps have one-second resolution
        try requireOK(try CLI.sg(["keys", "generate", "signing", "--out", "HCM-U001-new", "--unencrypted"], cwd: f.w.path))
        let newKey = try MinisignSecretKey.load(path: f.w.file("HCM-U001-new.key"), passphrase: { SecureBytes(count: 0) })
        let good = try UnitKeyRotation.make(unit: "HCM-U001", old: f.signerA, new: newKey, created: Timestamp.now).json
        guard case .object(var fields) = good else {
            Issue.record("not an object")
            return
        }

        // Only one of the two signatures: refused, nothing changes.
        var onlyOld = fields
        onlyOld["new_signature"] = nil
        var onlyNew = fields
        onlyNew["old_signature"] = nil
        var oldTwice = fields
        oldTwice["new_signature"] = fields["old_signature"]
        for (name, doc) in [("only the old key", onlyOld), ("only the new key", onlyNew), ("the old key twice", oldTwice)] {
            let r = try postStatement(gw, .object(doc))
            #expect(r.status == 422 && r.text.contains("rotation_signature_invalid"), "\(name): \(r.status) \(r.text)")
        }
        // A statement whose text was changed after signing (another new key swapped in).
        let other = MinisignSecretKey.generate()
        let swapped = (fields["statement"]?.string ?? "").replacingOccurrences(of: newKey.publicKey.base64, with: other.publicKey.base64)
        fields["statement"] = .string(swapped)
        let tampered = try postStatement(gw, .object(fields))
        #expect(tampered.status == 422 && tampered.text.contains("rotation_signature_invalid"), "\(tampered.text)")
        let garbage = try RawHTTP.request("POST", gw.url + "/v1/units/HCM-U001/keys", body: Array("not json{".utf8))
        #expect(garbage.status == 422 && garbage.text.contains("rotation_invalid"), "\(garbage.text)")
        // For another unit's path.
        let wrongUnit = try postStatement(gw, good, unit: "HCM-U002")
        #expect(wrongUnit.status == 422 && wrongUnit.text.contains("rotation_invalid"), "\(wrongUnit.text)")
        let stillUnknown = try f.post(gw, try f.seal("HCM-U001", seq: 5, signer: newKey, name: "refused-new.sgp"))
        #expect(stillUnknown.status != 201 && stillUnknown.text.contains("key_unknown"), "\(stillUnknown.text)")

        // The real rotation, through the CLI.
        let rot = try CLI.sg(
            [
                "keys", "rotate-unit", "--unit", "HCM-U001", "--old", "HCM-U001.key", "--new", "HCM-U001-new.key",
                "-o", "rotation.json", "--gateway", gw.url,
            ], cwd: f.w.path)
        #expect(rot.status == 0 && rot.stderr.contains("the gateway took key \(newKey.publicKey.keyIdHex)"), "\(rot.stderr)")
        // The statement's signatures check with stock minisign semantics (the text, prehashed).
        let stmt = try UnitKeyRotation(json: try JSON(parsing: String(decoding: f.w.read("rotation.json"), as: UTF8.self)))
        #expect(stmt.newKey.keyIdHex == newKey.publicKey.keyIdHex)
        // Each signature is an ordinary minisign signature of the statement text: stock minisign checks both.
        f.w.write("statement.txt", stmt.statement)
        f.w.write("statement.old.minisig", stmt.oldSignature)
        f.w.write("statement.new.minisig", stmt.newSignature)
        #expect(
            try CLI.run("minisign", ["-V", "-p", "HCM-U001.pub", "-m", "statement.txt", "-x", "statement.old.minisig"], cwd: f.w.path).status == 0)
        #expect(
            try CLI.run("minisign", ["-V", "-p", "HCM-U001-new.pub", "-m", "statement.txt", "-x", "statement.new.minisig"], cwd: f.w.path).status == 0
        )
        #expect(
            try CLI.run("minisign", ["-V", "-p", "HCM-U001.pub", "-m", "statement.txt", "-x", "statement.new.minisig"], cwd: f.w.path).status != 0)

        // Created before the switch, signed by the old key: accepted within the grace.
        let a = try f.post(gw, early)
        #expect(a.status == 201, "\(a.text)")
        // Created after the switch with the old key: refused; with the new key: accepted.
        let late = try f.post(gw, try f.seal("HCM-U001", seq: 2, name: "late-old.sgp"))
        #expect(late.status != 201 && late.text.contains("key_state"), "\(late.text)")
        let fresh = try f.post(gw, try f.seal("HCM-U001", seq: 3, signer: newKey, name: "fresh-new.sgp"))
        #expect(fresh.status == 201, "\(fresh.text)")
        // The same statement again: the old key is no longer active.
        let replay = try postStatement(gw, try JSON(parsing: String(decoding: f.w.read("rotation.json"), as: UTF8.self)))
        #expect(replay.status == 409 && replay.text.contains("key_state"), "\(replay.text)")
        // Logged.
        let entries = try RawHTTP.request("GET", gw.url + "/v1/log/entries").text
        #expect(entries.contains("unit_key_rotated") && entries.contains(newKey.publicKey.keyIdHex))
    }
}

struct RevocationTests {
    @Test func revokedKeyRefusesLaterPackagesAndFlagsImportedOnes() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        // Before the compromise: one package imported, one sealed and held back.
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 1)).status == 201)
        let heldBack = try f.seal("HCM-U001", seq: 5, name: "held-back.sgp")
        Thread.sleep(forTimeInterval: 1.2)
        let t = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970))
        Thread.sleep(forTimeInterval: 1.2)
        // After it: the thief's package, imported before anyone noticed, and one still to come.
        let stolen = try f.post(gw, try f.seal("HCM-U001", seq: 2, name: "stolen.sgp"))
        #expect(stolen.status == 201)
        let stolenId = try JSON(parsing: stolen.text)["package"]?.string ?? "?"
        let later = try f.seal("HCM-U001", seq: 6, name: "later.sgp")
        // Another unit's packages are not touched.
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 1)).status == 201)

        let keyId = f.signerA.publicKey.keyIdHex
        let bad = try CLI.sg(
            ["units", "revoke-key", "--data", "dept", "--unit", "HCM-U001", "--key-id", keyId, "--compromised-at", "yesterday"], cwd: f.w.path)
        #expect(bad.status != 0 && bad.stderr.contains("bad time"))
        let rev = try CLI.sg(
            ["units", "revoke-key", "--data", "dept", "--unit", "HCM-U001", "--key-id", keyId, "--compromised-at", t, "--json"], cwd: f.w.path)
        #expect(rev.status == 0, "\(rev.stderr)")
        let flagged = try JSON(parsing: rev.out)["result"]?["flagged"]?.array ?? []
        #expect(flagged.count == 1 && flagged.first?["package"]?.string == stolenId && flagged.first?["seq"]?.int == 2, "\(rev.out)")

        // The running gateway refuses a package created after T, accepts one created before it.
        let refused = try f.post(gw, later)
        #expect(refused.status != 201 && refused.text.contains("key_state") && refused.text.contains("revoked"), "\(refused.text)")
        let accepted = try f.post(gw, heldBack)
        #expect(accepted.status == 201, "\(accepted.text)")
        let heldBackId = try JSON(parsing: accepted.text)["package"]?.string ?? "?"
        // Listed for review — the stolen one, and the one decided after the revocation (a thief
        // can write any creation time); revoking twice is refused; the revocation is in the log.
        let list = try CLI.sg(["units", "flagged", "--data", "dept"], cwd: f.w.path)
        #expect(
            list.status == 0 && list.out.contains(stolenId) && list.out.contains(heldBackId) && list.out.split(separator: "\n").count == 2,
            "\(list.out)")
        let twice = try CLI.sg(
            ["units", "revoke-key", "--data", "dept", "--unit", "HCM-U001", "--key-id", keyId, "--compromised-at", t, "--json"], cwd: f.w.path)
        #expect(twice.status == 1 && jsonCode(twice) == "key_state", "\(twice.out)")
        let entries = try RawHTTP.request("GET", gw.url + "/v1/log/entries").text
        #expect(entries.contains("unit_key_revoked"))

        // A new key, registered out of band, works.
        try requireOK(try CLI.sg(["keys", "generate", "signing", "--out", "HCM-U001-new", "--unencrypted"], cwd: f.w.path))
        try requireOK(try CLI.sg(["units", "add-key", "--data", "dept", "--unit", "HCM-U001", "--signing-key", "HCM-U001-new.pub"], cwd: f.w.path))
        let newKey = try MinisignSecretKey.load(path: f.w.file("HCM-U001-new.key"), passphrase: { SecureBytes(count: 0) })
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 7, signer: newKey, name: "new-key.sgp")).status == 201)
    }
}

struct RootRotationTests {
    @Test func newRootIsTakenOnlyFromADocumentSignedByBothRoots() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        try FileManager.default.copyItem(atPath: f.w.file("dept/keys/root.pub"), toPath: f.w.file("pin-a.pub"))
        try FileManager.default.copyItem(atPath: f.w.file("dept/keys/root.pub"), toPath: f.w.file("pin-b.pub"))
        let root1 = try MinisignPublicKey(path: f.w.file("pin-a.pub"))
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "pin-a.pub", "-o", "a.json"], cwd: f.w.path))

        // v2: root 2 (cross-signed by root 1); v3: an ordinary publication; v4: root 3 (cross-signed by root 2).
        let r1 = try CLI.sg(["keys", "rotate", "root", "--data", "dept"], cwd: f.w.path)
        #expect(r1.status == 0 && r1.stderr.contains("version 2"), "\(r1.stderr)")
        #expect(!f.w.exists("dept/keys/archive/root-\(root1.keyIdHex).key"), "the old root secret was not destroyed")
        try requireOK(try CLI.sg(["trust", "publish", "--data", "dept"], cwd: f.w.path))
        try requireOK(try CLI.sg(["keys", "rotate", "root", "--data", "dept", "--archive"], cwd: f.w.path))
        let root3 = try MinisignPublicKey(path: f.w.file("dept/keys/root.pub"))

        // A unit holding v1 and one that never fetched both walk to v4 and move their pins.
        for (pin, out) in [("pin-a.pub", "a.json"), ("pin-b.pub", "b.json")] {
            let r = try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", pin, "-o", out], cwd: f.w.path)
            #expect(r.status == 0 && r.stderr.contains("changed from \(root1.keyIdHex) to \(root3.keyIdHex)"), "\(r.stderr)")
            #expect(try MinisignPublicKey(path: f.w.file(pin)).base64 == root3.base64)
            #expect(TrustDocument(json: try JSON(parsing: String(decoding: f.w.read(out), as: UTF8.self))).version == 4)
        }
        // The moved pin keeps working: sealing with the new document and submitting.
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "HCM-U001.key", "--trust", "a.json", "-o", "p.sgp",
                    "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv",
                ], cwd: f.w.path))
        #expect(try CLI.sg(["submit", "--gateway", gw.url, "--trust", "a.json", "p.sgp"], cwd: f.w.path).status == 0)

        // The root change of v2 without root 1's signature, or with someone else's, is refused.
        let v2 = try RawHTTP.request("GET", gw.url + "/v1/trust?version=2")
        let sig = String(decoding: Base64.decode(v2.headers["sealgate-signature"] ?? "", padded: true) ?? [], as: UTF8.self)
        let cross = String(decoding: Base64.decode(v2.headers["sealgate-root-signature"] ?? "", padded: true) ?? [], as: UTF8.self)
        #expect(!cross.isEmpty)
        _ = try TrustDocument.verify(body: v2.text, signature: sig, root: root1, heldVersion: 1, rootCrossSignature: cross, allowExpired: true)
        #expect(
            performing: { try TrustDocument.verify(body: v2.text, signature: sig, root: root1, heldVersion: 1, rootCrossSignature: nil) },
            throws: { ($0 as? SealError)?.code == .trustInvalid })
        let stranger = MinisignSecretKey.generate()
        let forgedCross = try stranger.sign(prehash: BLAKE2bHasher.hash(Array(v2.text.utf8)), trustedComment: "x").fileContents
        #expect(
            performing: { try TrustDocument.verify(body: v2.text, signature: sig, root: root1, heldVersion: 1, rootCrossSignature: forgedCross) },
            throws: { ($0 as? SealError)?.code == .trustInvalid })
        // Only the new root's signature in both places: refused too.
        #expect(
            performing: { try TrustDocument.verify(body: v2.text, signature: sig, root: root1, heldVersion: 1, rootCrossSignature: sig) },
            throws: { ($0 as? SealError)?.code == .trustInvalid })
        let entries = try RawHTTP.request("GET", gw.url + "/v1/log/entries").text
        #expect(entries.contains(#"\"role\":\"root\""#), "the root rotation is not in the log")
    }
}
