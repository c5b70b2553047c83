import Foundation
import TestSupport
import Testing

/// The department's dashboard in a real browser: headless Chromium driven by Selenium
/// (scripts/dashboard-browser-check.py) against `sealgate serve` with a small populated city — a
/// unit accepted before the submit deadline, one refused, one missing (both late: the deadline
/// set in the past with `sealgate campaign set`). The script signs in, compares the campaign's
/// counts with GET /v1/campaign, switches language, filters, sorts, opens a unit, sees the late
/// unit marked, opens every page (the log verified), narrows to 390 px, signs out. Screenshots:
/// .build/test-output/dashboard/. Chromium, chromedriver and Selenium come from scripts/install-deps.
@Suite(.serialized) struct DashboardBrowserTests {
    static let output = CLI.repoRoot.appendingPathComponent(".build/test-output/dashboard").path

    @Test func operatorJourneyInChromium() throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            #expect(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/install-deps")
        }
        let selenium = try CLI.run("/usr/bin/python3", ["-c", "import selenium"], cwd: "/")
        #expect(selenium.status == 0, "Python's selenium is missing: run scripts/install-deps")
        guard selenium.status == 0 else { return }

        let c = try GatewayFixture(units: 4, members: 60)
        let gw = try GatewayProcess(data: "dept", cwd: c.w.path)
        defer { gw.stop() }
        let created = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: c.w.path)
        try requireOK(created, "tokens create")
        let token = try #require(created.out.split(separator: "\n").first.map(String.init))
        // HCM-U001 accepted; HCM-U002 refused (a legacy id); then the deadline; HCM-U003, HCM-U004 missing.
        #expect(try c.post(gw, try c.seal("HCM-U001", seq: 1)).status == 201)
        let bad = try c.legacyIDCopy("HCM-U002", line: 3)
        #expect(try c.post(gw, try c.seal("HCM-U002", seq: 1, dir: bad)).status == 422)
        Thread.sleep(forTimeInterval: 1.2)
        try requireOK(try CLI.sg(["campaign", "set", "--data", "dept", "--submit-by", "now"], cwd: c.w.path), "campaign set")
        Thread.sleep(forTimeInterval: 1.2)

        try? FileManager.default.removeItem(atPath: Self.output)  // lint: allow try? — a folder from an earlier run, if any
        try FileManager.default.createDirectory(atPath: Self.output, withIntermediateDirectories: true)
        let browser = try CLI.run(
            "/usr/bin/python3",
            [
                CLI.repoRoot.appendingPathComponent("scripts/dashboard-browser-check.py").path, "--url", gw.url, "--token", token, "--out",
                Self.output, "--late", "HCM-U002", "--accepted", "HCM-U001",
            ], cwd: c.w.path)
        #expect(browser.status == 0, "the browser check failed:\n\(browser.stderr.suffix(3000))\n\(browser.out.suffix(500))")
        #expect(browser.out.split(separator: "\n").last == "PASS", "\(browser.out)")
        // The token never reaches the gateway's output.
        #expect(!gw.logText.contains(token))
        let shots = try FileManager.default.contentsOfDirectory(atPath: Self.output).filter { $0.hasSuffix(".png") }
        #expect(shots.count >= 9, "\(shots)")
    }
}
