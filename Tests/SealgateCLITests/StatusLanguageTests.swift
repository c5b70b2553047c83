import Foundation
import GatewayCore
import TestSupport
import Testing

/// `sealgate status` (#24 item 6): English unless `--lang vi`, SEALGATE_LANG=vi or a vi locale;
/// the same counts in both languages, and `--json` the same document whatever the language.
@Suite struct StatusLanguageTests {
    @Test func statusSpeaksBothLanguagesFromOneView() throws {
        let c = try GatewayFixture(units: 3, members: 40)
        try requireOK(try CLI.sg(["import", "--data", "dept", try c.seal("HCM-U001", seq: 1)], cwd: c.w.path), "import")
        let en = try CLI.sg(["status", "--data", "dept", "--all"], cwd: c.w.path)
        try requireOK(en)
        #expect(en.out.contains("units: 3 registered, 1 submitted (1 clean, 0 with warnings), 0 rejected only, 2 missing; 0 late"), "\(en.out)")
        let vi = try CLI.sg(["status", "--data", "dept", "--all", "--lang", "vi"], cwd: c.w.path)
        try requireOK(vi)
        #expect(vi.out.contains("đơn vị: 3 đã đăng ký, 1 đã nộp (1 sạch, 0 có cảnh báo), 0 chỉ bị từ chối, 2 chưa nộp; 0 trễ"), "\(vi.out)")
        #expect(vi.out.contains("chiến dịch: chưa đặt hạn") && !vi.out.contains("registered"), "\(vi.out)")
        #expect(vi.out.split(separator: "\n").count == en.out.split(separator: "\n").count)
        let byEnvironment = try CLI.sg(["status", "--data", "dept", "--all"], cwd: c.w.path, env: ["SEALGATE_LANG": "vi"])
        // The first line holds the time it was asked at.
        #expect(byEnvironment.out.split(separator: "\n").dropFirst() == vi.out.split(separator: "\n").dropFirst())
        let bad = try CLI.sg(["status", "--data", "dept", "--lang", "fr"], cwd: c.w.path)
        #expect(bad.status != 0)
        // --json: one document, its keys those GET /v1/campaign answers.
        let a = try #require(try JSON(parsing: try CLI.sg(["status", "--data", "dept", "--json"], cwd: c.w.path).out)["result"]?["campaign"])
        let b = try #require(
            try JSON(parsing: try CLI.sg(["status", "--data", "dept", "--json", "--lang", "vi"], cwd: c.w.path).out)["result"]?["campaign"])
        let units = try #require(a["units"])
        #expect(units == b["units"])
        #expect(units["submitted"] == .int(1))
        #expect(a["per_unit"].flatMap(\.array).map(\.count) == 3)
    }
}
