import Foundation
import GatewayCore
import SealCrypto
import SealPackage
import TestSupport
import Testing

/// Flagged packages as a state the operator resolves (docs/keys.md, "A compromised key";
/// docs/operations.md, "Flagged packages"): after `units revoke-key`, synthesis withholds what
/// the flagged packages brought (counted and named), `status` shows the units flagged, and
/// `units flagged reject|confirm` decide them — logged, with a reason free of personal data.
struct FlagReviewTests {
    /// Rows of `unit` in a dataset's members.csv, and whether `text` appears among them.
    func rows(_ c: CityCycle, _ v: Int, _ unit: String) throws -> [Substring] {
        String(decoding: try c.datasetFile(v, "members.csv"), as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix(unit + ",") }
    }

    func synthesize(_ c: CityCycle) throws -> JSON {
        let r = try CLI.sg(["synthesize", "--data", "dept", "--json"], cwd: c.w.path)
        #expect(r.status == 0, "\(r.out) \(r.stderr)")
        return try JSON(parsing: r.out)["result"] ?? .null
    }

    func stats(_ c: CityCycle, _ v: Int) throws -> JSON {
        try JSON(parsing: String(decoding: c.w.read("dept/datasets/v\(v)/stats.json"), as: UTF8.self))
    }

    @Test func flaggedPackagesAreWithheldUntilReviewedThenRejectedOrConfirmed() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gateway()
        defer { gw.stop() }
        try c.connect("http://127.0.0.1:9")  // nothing listens: the datasets stay pending, which is fine here
        let n1 = c.f.members("HCM-U001")
        let n2 = c.f.members("HCM-U002")
        // HCM-U001's own snapshot, before its key left its hands.
        #expect(try c.f.post(gw, try c.f.seal("HCM-U001", seq: 1)).status == 201)
        Thread.sleep(forTimeInterval: 1.2)  // timestamps have one-second resolution
        let t = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970))
        Thread.sleep(forTimeInterval: 1.2)
        // After it: a thief's snapshot for HCM-U001 (ten members fewer, one renamed), and
        // HCM-U002's first snapshot, signed by a key that turns out to be compromised too.
        try FileManager.default.createDirectory(atPath: c.w.file("thief"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: c.w.file("city/HCM-U001/organizations.csv"), toPath: c.w.file("thief/organizations.csv"))
        var lines = String(decoding: c.w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n").map(String.init)
        lines.removeLast(10)
        var first = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        first[1] = "Lê Văn Giả"
        lines[1] = first.joined(separator: ",")
        c.w.write("thief/members.csv", lines.joined(separator: "\n") + "\n")
        let stolen = try c.f.post(gw, try c.f.seal("HCM-U001", seq: 2, dir: c.w.file("thief"), name: "stolen.sgp"))
        #expect(stolen.status == 201, "\(stolen.text)")
        let stolenId = try JSON(parsing: stolen.text)["package"]?.string ?? "?"
        let second = try c.f.post(gw, try c.f.seal("HCM-U002", seq: 1))
        #expect(second.status == 201, "\(second.text)")
        let secondId = try JSON(parsing: second.text)["package"]?.string ?? "?"

        // Before the revocation, the thief's records are in the dataset (as in issue #21).
        #expect(try synthesize(c)["flagged"]?.array?.isEmpty == true)
        let before = try rows(c, 1, "HCM-U001")
        #expect(before.count == n1 - 10 && before.contains { $0.contains("Lê Văn Giả") })

        for (unit, key) in [("HCM-U001", c.f.signerA), ("HCM-U002", c.f.signerB)] {
            try requireOK(
                try CLI.sg(
                    ["units", "revoke-key", "--data", "dept", "--unit", unit, "--key-id", key.publicKey.keyIdHex, "--compromised-at", t],
                    cwd: c.w.path))
        }
        let listed = try CLI.sg(["units", "flagged", "--data", "dept"], cwd: c.w.path)
        #expect(listed.status == 0 && listed.out.split(separator: "\n").count == 2 && listed.out.contains("\(stolenId)\tcreated"), "\(listed.out)")
        #expect(listed.out.split(separator: "\n").allSatisfy { $0.contains("\tunresolved\t") }, "\(listed.out)")

        // Unresolved: withheld, counted and named. HCM-U001 falls back to its own snapshot,
        // HCM-U002 has no other one: none of its records.
        let v2 = try synthesize(c)
        let named = v2["flagged"]?.array ?? []
        #expect(named.map { $0["package"]?.string ?? "" } == [stolenId, secondId], "\(v2)")
        #expect(named.map { $0["withheld"]?.int ?? -1 } == [Int64(n1 - 10), Int64(n2)] && v2["flagged_withheld"]?.int == Int64(n1 - 10 + n2))
        #expect(named.allSatisfy { $0["resolution"]?.string == "unresolved" })
        let own = try rows(c, 2, "HCM-U001")
        #expect(own.count == n1 && !own.contains { $0.contains("Lê Văn Giả") })
        #expect(try rows(c, 2, "HCM-U002").isEmpty)
        let s2 = try stats(c, 2)
        #expect(s2["totals"]?["flagged_withheld"]?.int == Int64(n1 - 10 + n2) && s2["totals"]?["flagged_unresolved"]?.int == 2, "\(s2)")
        #expect(s2["units"]?["HCM-U002"]?["review"]?["dataset_package"] == .null)
        #expect(s2["units"]?["HCM-U001"]?["review"]?["packages"]?.array?.first?["package"]?.string == stolenId)
        let text = try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path)
        #expect(text.status == 0 && text.stderr.contains("HCM-U001 seq 2 (snapshot, package \(stolenId)): unresolved"), "\(text.stderr)")

        // The campaign view: neither unit is plainly accepted.
        let status = try JSON(parsing: try CLI.sg(["status", "--data", "dept", "--json"], cwd: c.w.path).out)["result"]?["campaign"] ?? .null
        #expect(status["units"]?["flagged"]?.int == 2 && status["units"]?["accepted_clean"]?.int == 0, "\(status)")
        let perUnit = status["per_unit"]?.array ?? []
        #expect(perUnit.map { $0["state"]?.string ?? "" } == ["flagged", "flagged"])
        #expect(perUnit.first?["review"]?["withheld"]?.int == Int64(n1 - 10))
        let statusText = try CLI.sg(["status", "--data", "dept"], cwd: c.w.path).out
        #expect(statusText.contains("HCM-U001\tflagged") && statusText.contains("withheld by review: seq 2 unresolved"), "\(statusText)")

        // A reason is required, and published: personal data in it is refused, never repeated.
        let someone = String(decoding: c.w.read("city/HCM-U002/members.csv"), as: UTF8.self).split(separator: "\n")[1]
            .split(separator: ",", omittingEmptySubsequences: false)[1]
        let review = ["units", "flagged", "confirm", "--data", "dept", "--package", secondId, "--json", "--reason"]
        #expect(try CLI.sg(Array(review.dropLast()), cwd: c.w.path).status == 64, "no --reason")
        for bad in ["", "called back on 0901 234 567", "mail a.b@example.org", "checked with \(someone) by telephone"] {
            let r = try CLI.sg(review + [bad], cwd: c.w.path)
            #expect(r.status == 1 && jsonCode(r) == "reason_invalid" && (bad.isEmpty || !r.out.contains(bad)), "\(bad): \(r.out)")
        }
        let unknown = try CLI.sg(["units", "flagged", "reject", "--data", "dept", "--package", "nope", "--reason", "x", "--json"], cwd: c.w.path)
        #expect(jsonCode(unknown) == "flag_unknown", "\(unknown.out)")

        // Rejected: the thief's records stay out; confirmed: HCM-U002's are back.
        let rej = try CLI.sg(
            ["units", "flagged", "reject", "--data", "dept", "--package", stolenId, "--reason", "not sent by the unit (telephone check)", "--json"],
            cwd: c.w.path)
        let rejected = try JSON(parsing: rej.out)["result"]?["flag"]?["resolution"]?.string
        #expect(rej.status == 0 && rejected == "rejected", "\(rej.out)")
        let again = try CLI.sg(["units", "flagged", "confirm", "--data", "dept", "--package", stolenId, "--reason", "x", "--json"], cwd: c.w.path)
        #expect(again.status == 1 && jsonCode(again) == "flag_resolved", "a decision is made once: \(again.out)")
        let conf = try CLI.sg(review + ["sent by the unit's office, checked in person"], cwd: c.w.path)
        #expect(conf.status == 0, "\(conf.out)")

        let v4 = try synthesize(c)  // v3 was the text output's
        #expect(
            (v4["flagged"]?.array ?? []).map { "\($0["package"]?.string ?? "") \($0["resolution"]?.string ?? "")" } == ["\(stolenId) rejected"],
            "\(v4)")
        let kept = try rows(c, 4, "HCM-U001")
        #expect(kept.count == n1 && !kept.contains { $0.contains("Lê Văn Giả") })
        #expect(try rows(c, 4, "HCM-U002").count == n2, "confirmed: back in the dataset")
        let after = try JSON(parsing: try CLI.sg(["status", "--data", "dept", "--json"], cwd: c.w.path).out)["result"]?["campaign"] ?? .null
        #expect((after["per_unit"]?.array ?? []).map { $0["state"]?.string ?? "" }.first == "review_rejected", "\(after)")
        #expect(after["units"]?["flagged"]?.int == 0 && after["units"]?["review_rejected"]?.int == 1)

        // Each decision is a log entry with the unit, package, seq, decision and reason only.
        let entries = try JSON(parsing: try RawHTTP.request("GET", gw.url + "/v1/log/entries").text).array ?? []
        let decisions = entries.filter { $0["kind"]?.string == "flag_resolved" }.compactMap { $0["body"]?.string }
        #expect(decisions.count == 2)
        for body in decisions {
            guard case .object(let o) = try JSON(parsing: body) else {
                Issue.record("not an object: \(body)")
                continue
            }
            #expect(Set(o.keys) == ["unit", "package", "seq", "resolution", "reason", "key_id"], "\(body)")
            #expect(!body.contains("Lê Văn Giả") && !body.contains(String(someone)), "\(body)")
        }
    }

    /// A package decided after its key was revoked — sent late, or naming a creation time before
    /// the compromise (a thief writes any) — is flagged for review, not imported unnoticed.
    @Test func aPackageDecidedAfterItsKeyWasRevokedIsFlagged() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gateway()
        defer { gw.stop() }
        try c.connect("http://127.0.0.1:9")  // nothing listens: the dataset stays pending
        #expect(try c.f.post(gw, try c.f.seal("HCM-U001", seq: 1)).status == 201)
        // Sealed now, revoked as compromised from an hour on: the package's creation time is
        // before the compromise, so the key still signs for it; it arrives after the revocation.
        let late = try c.f.seal("HCM-U001", seq: 2)
        let t = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970) + 3600)
        let revoked = try CLI.sg(
            ["units", "revoke-key", "--data", "dept", "--unit", "HCM-U001", "--key-id", c.f.signerA.publicKey.keyIdHex, "--compromised-at", t],
            cwd: c.w.path)
        #expect(revoked.status == 0 && revoked.stderr.contains("no imported package needs review"), "\(revoked.stderr)")
        let r = try c.f.post(gw, late)
        #expect(r.status == 201, "\(r.text)")
        let id = try JSON(parsing: r.text)["package"]?.string ?? "?"
        let listed = try CLI.sg(["units", "flagged", "--data", "dept", "--json"], cwd: c.w.path)
        let flagged = (try JSON(parsing: listed.out))["result"]?["flagged"]?.array ?? []
        #expect(flagged.contains { $0["package"]?.string == id || $0["package_id"]?.string == id }, "\(listed.out)")
        #expect(try synthesize(c)["flagged"]?.array?.isEmpty == false)
    }
}
