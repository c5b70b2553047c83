import Foundation
import GatewayCore
import SealBase
import SealCrypto
import SealPackage
import TestSupport
import Testing

/// The unit profile (#23 item 2): set up once with `unit init`, then `seal` and `submit` need no
/// flags, the trust document is fetched again when stale, and the seq is counted by the tool —
/// a seq the gateway had already used is resolved by sealing again with the next one.
@Suite(.serialized) struct UnitProfileTests {
    func json(_ r: CLI.Result) throws -> JSON { try JSON(parsing: r.out)["result"] ?? .null }
    /// `unit init` for HCM-U001 in the folder `clerk`.
    func initClerk(_ f: GatewayFixture, _ gw: GatewayProcess) throws -> CLI.Result {
        try CLI.sg(
            [
                "unit", "init", "--unit", "HCM-U001", "--gateway", gw.url, "--root", "dept/keys/root.pub", "--signing-key", "HCM-U001.key",
                "--folder", "clerk",
            ],
            cwd: f.w.path)
    }
    func entry(_ shown: JSON, _ i: Int) -> JSON? { shown["history"]?.array.flatMap { i < $0.count ? $0[i] : nil } }

    @Test func sealAndSubmitWithoutFlags() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: f.w.file("dept"), cwd: f.w.path)
        defer { gw.stop() }
        try requireOK(try initClerk(f, gw))
        #expect(f.w.exists("clerk/sealgate-unit.json") && f.w.exists("clerk/trust.json") && f.w.exists("clerk/trust.json.minisig"))
        let again = try initClerk(f, gw)
        #expect(again.status != 0 && again.stderr.contains("profile_exists"), "\(again.stderr)")

        let files = ["../city/HCM-U001/organizations.csv", "../city/HCM-U001/members.csv"]
        let sealed = try CLI.sg(["seal"] + files, cwd: f.w.file("clerk"))
        try requireOK(sealed, "seal with the profile")
        #expect(f.w.exists("clerk/packages/HCM-U001-1-snapshot.sgp"), "\(sealed.stderr)")
        let submitted = try CLI.sg(["submit"], cwd: f.w.file("clerk"))
        try requireOK(submitted, "submit with the profile")
        #expect(submitted.stderr.contains("accepted") && submitted.stderr.contains("receipt verified"), "\(submitted.stderr)")
        #expect(f.w.exists("clerk/packages/HCM-U001-1-snapshot.sgp.receipt.json"))

        let shown = try json(try CLI.sg(["unit", "show", "--json"], cwd: f.w.file("clerk")))
        #expect(shown["next_seq"]?.int == 2)
        #expect(entry(shown, 0)?["status"]?.string == "accepted")
        #expect(entry(shown, 0)?["receipt"]?.string == "packages/HCM-U001-1-snapshot.sgp.receipt.json")
        // Nothing left to submit: said, not an error.
        let nothing = try CLI.sg(["submit"], cwd: f.w.file("clerk"))
        #expect(nothing.status == 0 && nothing.stderr.contains("nothing to submit"), "\(nothing.stderr)")
        let vi = try CLI.sg(["submit", "--lang", "vi"], cwd: f.w.file("clerk"))
        #expect(vi.status == 0 && vi.stderr.contains("không có gì để gửi"), "\(vi.stderr)")
    }

    /// Packages were sent from elsewhere (another machine, an older folder) up to seq 5: the
    /// profile's first seal takes seq 1, the gateway answers seq_not_increasing naming 5, and
    /// `unit send` seals again with seq 6 — accepted; the clerk counted nothing.
    @Test func aSeqAlreadyUsedIsResolvedByTheTool() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: f.w.file("dept"), cwd: f.w.path)
        defer { gw.stop() }
        let elsewhere = try f.post(gw, try f.seal("HCM-U001", seq: 5))
        #expect(elsewhere.status == 201)
        try requireOK(try initClerk(f, gw))
        let sent = try CLI.sg(
            ["unit", "send", "--json", "../city/HCM-U001/organizations.csv", "../city/HCM-U001/members.csv"], cwd: f.w.file("clerk"))
        try requireOK(sent, "unit send")
        let result = try json(sent)
        #expect(result["seq"]?.int == 6 && result["status"]?.string == "accepted", "\(sent.out) \(sent.stderr)")
        let shown = try json(try CLI.sg(["unit", "show", "--json"], cwd: f.w.file("clerk")))
        #expect(shown["gateway_last_seq"]?.int == 5)
        #expect(entry(shown, 0)?["seq"]?.int == 1 && entry(shown, 0)?["code"]?.string == "seq_not_increasing")
        #expect(entry(shown, 1)?["seq"]?.int == 6 && entry(shown, 1)?["status"]?.string == "accepted")
        #expect(shown["next_seq"]?.int == 7)
    }

    /// A clerk's workbook (.xlsx, sheets "Tổ chức" and "Đảng viên") sealed and sent with the
    /// profile: the package carries the normalized CSV files of the spec, and no private folder
    /// of plaintext is left behind.
    @Test func aWorkbookIsSentWithTheProfile() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: f.w.file("dept"), cwd: f.w.path)
        defer { gw.stop() }
        try requireOK(try initClerk(f, gw))
        let script = CLI.repoRoot.appendingPathComponent("scripts/xlsx-from-csv").path
        try requireOK(try CLI.run("/usr/bin/python3", [script, f.w.file("city/HCM-U001"), f.w.file("clerk/don-vi.xlsx")], cwd: f.w.path))
        let tmp = f.w.file("tmp")
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let sent = try CLI.sg(["unit", "send", "--json", "don-vi.xlsx"], cwd: f.w.file("clerk"), env: ["TMPDIR": tmp])
        try requireOK(sent, "unit send of a workbook")
        #expect(try json(sent)["status"]?.string == "accepted", "\(sent.out)")
        let opened = try CLI.sg(
            ["open", "--signer", "HCM-U001.pub", "--identity", "dept/keys", "-o", "opened", "clerk/packages/HCM-U001-1-snapshot.sgp"],
            cwd: f.w.path)
        try requireOK(opened, "open the package sealed from the workbook")
        try requireOK(try CLI.sg(["normalize", "city/HCM-U001", "-o", "norm"], cwd: f.w.path))
        #expect(sameFile(f.w, "opened/members.csv", "norm/members.csv") && sameFile(f.w, "opened/organizations.csv", "norm/organizations.csv"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).isEmpty, "no plaintext left in TMPDIR")
    }

    /// A stale trust document (kept over a day) is fetched again before sealing; with the gateway
    /// down, a kept one that has not expired still seals (a warning); a damaged or missing profile
    /// is a coded refusal.
    @Test func trustRefreshAndDamagedProfiles() throws {
        let f = try GatewayFixture()
        var gw: GatewayProcess? = try GatewayProcess(data: f.w.file("dept"), cwd: f.w.path)
        try requireOK(try initClerk(f, gw!))
        let old = Date(timeIntervalSinceNow: -2 * 86_400)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: f.w.file("clerk/trust.json"))
        let files = ["../city/HCM-U001/organizations.csv", "../city/HCM-U001/members.csv"]
        try requireOK(try CLI.sg(["seal"] + files, cwd: f.w.file("clerk")))
        let fetched = try FileManager.default.attributesOfItem(atPath: f.w.file("clerk/trust.json"))[.modificationDate] as? Date
        #expect((fetched ?? old).timeIntervalSince(old) > 86_400, "the stale document was fetched again")

        gw?.stop()
        gw = nil
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: f.w.file("clerk/trust.json"))
        let offline = try CLI.sg(["seal"] + files, cwd: f.w.file("clerk"))
        try requireOK(offline, "sealing with the gateway down and a valid kept trust document")
        #expect(offline.stderr.contains("could not be fetched again"), "\(offline.stderr)")
        #expect(f.w.exists("clerk/packages/HCM-U001-2-snapshot.sgp"))

        // A token file others can read, or a link to another file, is refused before anything is sent.
        f.w.write("clerk/token", "sgt_abcdefghijklmnopqrstuvwxyzABCDEF\n")
        chmod(f.w.file("clerk/token"), 0o644)
        guard case .object(var profile) = try JSON(parsing: String(decoding: f.w.read("clerk/sealgate-unit.json"), as: UTF8.self)) else {
            Issue.record("the profile is not a JSON object")
            return
        }
        profile["token_file"] = .string("token")
        f.w.write("clerk/sealgate-unit.json", JSON.object(profile).canonical)
        let shared = try CLI.sg(["submit"], cwd: f.w.file("clerk"))
        #expect(shared.status != 0 && shared.stderr.contains("key_file_permissions"), "\(shared.stderr)")
        unlink(f.w.file("clerk/token"))
        symlink("/etc/hostname", f.w.file("clerk/token"))
        let linked = try CLI.sg(["submit"], cwd: f.w.file("clerk"))
        #expect(linked.status != 0 && linked.stderr.contains("key_file_permissions"), "\(linked.stderr)")
        profile["gateway"] = .string("file:///etc/passwd")
        f.w.write("clerk/sealgate-unit.json", JSON.object(profile).canonical)
        let scheme = try CLI.sg(["unit", "show"], cwd: f.w.file("clerk"))
        #expect(scheme.status != 0 && scheme.stderr.contains("profile_invalid"), "\(scheme.stderr)")

        f.w.write("clerk/sealgate-unit.json", "{\"format\":\"sealgate-unit/1\",\"unit\":")
        let damaged = try CLI.sg(["unit", "show"], cwd: f.w.file("clerk"))
        #expect(damaged.status != 0 && damaged.stderr.contains("profile_invalid"), "\(damaged.stderr)")
        let missing = try CLI.sg(["unit", "show", "--folder", "city"], cwd: f.w.path)
        #expect(missing.status != 0 && missing.stderr.contains("profile_missing"), "\(missing.stderr)")
    }
}
