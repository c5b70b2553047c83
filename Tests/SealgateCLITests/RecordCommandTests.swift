import Foundation
import Testing

/// validate / normalize / generate through the built binary, and seal refusing bad records.
struct RecordCommandTests {
    @Test func generateValidateNormalizeOnAMessyCity() throws {
        let w = Workdir()
        let gen = try CLI.sg(["generate", "--units", "3", "--members", "900", "--seed", "9", "--dirt", "0.05", "-o", "city"], cwd: w.path)
        #expect(gen.status == 0, "\(gen.stderr)")
        #expect(gen.stderr.contains("planted defect(s)"))
        // Same seed, same bytes.
        #expect(
            try CLI.sg(["generate", "--units", "3", "--members", "900", "--seed", "9", "--dirt", "0.05", "-o", "city2"], cwd: w.path).status == 0)
        for f in ["units.csv", "planted.csv", "HCM-U002/members.csv"] { #expect(sameFile(w, "city/\(f)", "city2/\(f)"), "\(f)") }

        let en = try CLI.sg(["validate", "--lang", "en", "--today", "2026-11-27", "city"], cwd: w.path)
        #expect(en.status == 1, "errors → exit 1")
        #expect(en.out.contains("By rule:") && en.out.contains("citizen_id.legacy_cmnd"))
        let vi = try CLI.sg(["validate", "--lang", "vi", "--today", "2026-11-27", "city"], cwd: w.path)
        #expect(vi.out.contains("Theo quy tắc") && vi.out.contains("Đây là số CMND 9 số cũ"))
        let json = try CLI.sg(["validate", "--format", "json", "--today", "2026-11-27", "city"], cwd: w.path)
        let obj = try JSONSerialization.jsonObject(with: Data(json.stdout)) as! [String: Any]
        let findings = obj["findings"] as! [[String: Any]]
        let planted = String(decoding: w.read("city/planted.csv"), as: UTF8.self).split(separator: "\n").count - 1
        #expect(findings.count == planted)
        let csv = try CLI.sg(["validate", "--format", "csv", "--today", "2026-11-27", "city"], cwd: w.path)
        #expect(csv.out.hasPrefix("unit,file,line,column,rule,severity,original,normalized,message\n"))

        let norm = try CLI.sg(["normalize", "--today", "2026-11-27", "-o", "norm", "city"], cwd: w.path)
        #expect(norm.status == 1)  // errors remain (they cannot be normalized)
        #expect(w.exists("norm/HCM-U001/members.csv") && w.exists("norm/report.json") && w.exists("norm/report.csv"))
        let again = try CLI.sg(["validate", "--format", "json", "--today", "2026-11-27", "norm"], cwd: w.path)
        let left = (try JSONSerialization.jsonObject(with: Data(again.stdout)) as! [String: Any])["findings"] as! [[String: Any]]
        #expect(!left.contains { ($0["severity"] as! String) == "warning" }, "normalizable findings left after normalize")
        #expect(left.count == findings.filter { ($0["severity"] as! String) == "error" }.count)

        // A clean city validates with exit 0 and no findings.
        #expect(try CLI.sg(["generate", "--units", "2", "--members", "400", "--seed", "4", "-o", "clean"], cwd: w.path).status == 0)
        let ok = try CLI.sg(["validate", "--today", "2026-11-27", "--lang", "en", "clean"], cwd: w.path)
        #expect(ok.status == 0, "\(ok.out)")
        #expect(ok.out.contains("errors: 0 · warnings/normalized: 0"))
    }

    @Test func sealRefusesRecordsWithErrorsAndWritesNothing() throws {
        let w = Workdir()
        sampleData(w, members: 50)
        #expect(try CLI.sg(["keys", "generate", "signing", "--out", "u", "--unencrypted"], cwd: w.path).status == 0)
        #expect(try CLI.sg(["keys", "generate", "recipient", "--out", "d", "--unencrypted"], cwd: w.path).status == 0)
        var lines = String(decoding: w.read("members.csv"), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var fields = lines[3].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[4] = "023456789"  // a legacy CMND
        lines[3] = fields.joined(separator: ",")
        w.write("members.csv", lines.joined(separator: "\n"))
        let r = try CLI.sg(
            [
                "seal", "--lang", "en", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "u.key", "--to", "d.pub", "-o", "p.sgp",
                "organizations.csv", "members.csv",
            ], cwd: w.path)
        #expect(r.status == 1)
        #expect(r.stderr.contains("citizen_id.legacy_cmnd") && r.stderr.contains("error: records_invalid:"), "\(r.stderr)")
        #expect(!w.exists("p.sgp"))
        // The same files go through as --kind files (not validated).
        #expect(
            try CLI.sg(
                [
                    "seal", "--kind", "files", "--unit", "HCM-U001", "--seq", "2", "--signing-key", "u.key", "--to", "d.pub", "-o", "f.sgp",
                    "organizations.csv", "members.csv",
                ], cwd: w.path
            ).status == 0)
    }

    @Test func listRulesPrintsTheCatalog() throws {
        let w = Workdir()
        let r = try CLI.sg(["validate", "--list-rules"], cwd: w.path)
        #expect(r.status == 0 && r.out.contains("`citizen_id.century_digit`") && r.out.contains("| code | severity |"))
    }
}

struct CodedErrorTests {
    /// Whatever goes wrong — here a file that does not exist — the command prints a code and a remedy.
    @Test func missingFilesGiveCodedErrors() throws {
        let w = Workdir()
        for args in [
            ["receipt", "verify", "--trust", "nope.json", "r.json"], ["verify", "--signer", "nope.pub", "p.sgp"], ["validate", "nope.csv"],
        ] {
            let r = try CLI.sg(args, cwd: w.path)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains("what to do: "), "\(args): \(r.stderr)")
        }
    }
}
