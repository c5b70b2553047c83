import Foundation
import GatewayCore
import SealPackage
import TestSupport
import Testing

/// What `submit` tells a clerk of a correction package: how many rows were applied, and which
/// were not, with their codes — not just "accepted".
struct SubmitReportTests {
    @Test func aPartlyAppliedCorrectionSaysWhichLinesWereNotApplied() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "HCM-U001.key", "--trust", "trust.json", "-o", "p1.sgp",
                    "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv",
                ], cwd: f.w.path))
        try requireOK(try CLI.sg(["submit", "--gateway", gw.url, "--trust", "trust.json", "p1.sgp"], cwd: f.w.path))
        let row = String(decoding: f.w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n")[1].split(
            separator: ",", omittingEmptySubsequences: false
        ).map(String.init)
        // Line 2 holds the member's phone as it is (applied); after a blank line and a reason
        // quoted over two lines, line 5 names a home town the record does not hold.
        f.w.write(
            "corrections.csv",
            "citizen_id,field,old_value,new_value,reason,reported_at\n\(row[4]),phone,\(row[9]),0912345678,\"đổi số\nmới\",2026-11-28T09:00:00Z\n\n"
                + "\(row[4]),hometown,Nơi Khác,Đà Nẵng,quê,2026-11-28T09:00:00Z\n")
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "2", "--kind", "correction", "--signing-key", "HCM-U001.key", "--trust", "trust.json",
                    "-o", "corr.sgp", "corrections.csv",
                ], cwd: f.w.path))
        let s = try CLI.sg(["submit", "--gateway", gw.url, "--trust", "trust.json", "corr.sgp"], cwd: f.w.path)
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stderr.contains("corrections: 1 applied, 1 NOT applied"), "\(s.stderr)")
        #expect(s.stderr.contains("line 5 (hometown): correction_old_value_mismatch"), "\(s.stderr)")
        #expect(!s.stderr.contains("Nơi Khác") && !s.stderr.contains("Đà Nẵng"), "values are the clerk's file's, not the receipt's")
        // The same in --json (a new package: a replay without the unit's token gets the public facts only).
        f.w.write(
            "corrections.csv",
            "citizen_id,field,old_value,new_value,reason,reported_at\n\(row[4]),phone,0912345678,0987654321,đổi số,2026-11-29T09:00:00Z\n"
                + "\(row[4]),hometown,Nơi Khác,Đà Nẵng,quê,2026-11-29T09:00:00Z\n")
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "3", "--kind", "correction", "--signing-key", "HCM-U001.key", "--trust", "trust.json",
                    "-o", "corr3.sgp", "corrections.csv",
                ], cwd: f.w.path))
        let again = try CLI.sg(["submit", "--gateway", gw.url, "--trust", "trust.json", "--json", "corr3.sgp"], cwd: f.w.path)
        let j = String(decoding: again.stdout, as: UTF8.self)
        #expect(j.contains("\"corrections_not_applied\"") && j.contains("correction_old_value_mismatch"), "\(j)")
    }

    /// A correction package of more rows than one package may carry is refused with its code.
    @Test func tooManyCorrectionsAreRefused() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 1)).status == 201)
        let row = String(decoding: f.w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n")[1].split(
            separator: ",", omittingEmptySubsequences: false
        ).map(String.init)
        let line = "\(row[4]),phone,\(row[9]),0912345678,đổi số,2026-11-28T09:00:00Z\n"
        f.w.write("corrections.csv", "citizen_id,field,old_value,new_value,reason,reported_at\n" + String(repeating: line, count: 10_001))
        _ = try Sealer.seal(
            SealRequest(
                unit: "HCM-U001", seq: 2, kind: .correction, inputs: [.init(name: "corrections.csv", path: f.w.file("corrections.csv"))],
                recipients: [f.recipient], signer: f.signerA, output: f.w.file("many.sgp")))
        let r = try f.post(gw, f.w.file("many.sgp"))
        let body = try JSON(parsing: r.text)
        #expect(r.status == 422 && body["error"]?["code"]?.string == "corrections_too_many", "\(r.status) \(r.text.prefix(300))")
    }
}
