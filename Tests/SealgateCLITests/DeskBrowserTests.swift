import Foundation
import Testing

/// `sealgate desk` in a real browser: headless Chromium driven by Selenium
/// (scripts/desk-browser-check.py) against a real gateway — a clerk's messy file, the findings,
/// the fixed file, a wrong passphrase, sealed and submitted, the receipt's sentences, the gateway
/// down and back ("send again"), a correction, and the guard's refusals. Chromium, chromedriver
/// and Selenium are installed by scripts/install-deps: their absence fails the test.
@Suite(.serialized) struct DeskBrowserTests {
    static let passphrase = "mật khẩu đúng 2026"

    /// The screenshots' folder: .build/test-output/desk/.
    static let output = CLI.repoRoot.appendingPathComponent(".build/test-output/desk").path

    @Test func clerkJourneyInChromium() throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            #expect(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/install-deps")
        }
        let selenium = try CLI.run("/usr/bin/python3", ["-c", "import selenium"], cwd: "/")
        #expect(selenium.status == 0, "Python's selenium is missing: run scripts/install-deps")
        guard selenium.status == 0 else { return }

        let w = Workdir()
        let env = ["SEALGATE_PASSPHRASE": Self.passphrase]
        try requireOK(try CLI.sg(["init", "--data", "dept", "--unencrypted"], cwd: w.path))
        try requireOK(try CLI.sg(["generate", "--units", "1", "--members", "80", "--seed", "5", "-o", "city"], cwd: w.path))
        try FileManager.default.createDirectory(atPath: w.file("unit"), withIntermediateDirectories: true)
        try requireOK(try CLI.sg(["keys", "generate", "signing", "--out", "unit/HCM-U001"], cwd: w.path, env: env))
        try requireOK(
            try CLI.sg(
                ["units", "add", "--data", "dept", "--id", "HCM-U001", "--name", "Phường 1", "--signing-key", "unit/HCM-U001.pub"], cwd: w.path))
        var gateway = try GatewayProcess(data: "dept", cwd: w.path)
        let gatewayPort = gateway.port
        try requireOK(
            try CLI.sg(
                [
                    "unit", "init", "--folder", "unit", "--unit", "HCM-U001", "--gateway", gateway.url, "--root", "dept/keys/root.pub",
                    "--signing-key", "unit/HCM-U001.key",
                ], cwd: w.path))

        // The clerk's files: the fixed ones as generated; the messy ones named as a clerk names
        // them, one member's CCCD typed as the 9-digit legacy id.
        let fixedOrgs = w.file("city/HCM-U001/organizations.csv")
        let fixedMembers = w.file("city/HCM-U001/members.csv")
        var lines = String(decoding: w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n").map(String.init)
        let citizen = lines[2].split(separator: ",", omittingEmptySubsequences: false)[4]
        var fields = lines[3].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[4] = "023456789"
        lines[3] = fields.joined(separator: ",")
        // As the clerk keeps them: Excel workbooks (sheets "Tổ chức" and "Đảng viên"), laid out as
        // Excel lays one out (scripts/xlsx-from-csv: shared strings, date serials).
        try FileManager.default.createDirectory(atPath: w.file("messy"), withIntermediateDirectories: true)
        w.write("messy/organizations.csv", String(decoding: w.read("city/HCM-U001/organizations.csv"), as: UTF8.self))
        w.write("messy/members.csv", lines.joined(separator: "\n") + "\n")
        let toXLSX = CLI.repoRoot.appendingPathComponent("scripts/xlsx-from-csv").path
        try requireOK(try CLI.run("/usr/bin/python3", [toXLSX, w.file("messy"), w.file("danh-sach-dang-vien.xlsx")], cwd: w.path))
        try requireOK(try CLI.run("/usr/bin/python3", [toXLSX, w.file("city/HCM-U001"), w.file("danh-sach-da-sua.xlsx")], cwd: w.path))

        let desk = try GatewayProcess(
            arguments: ["desk", "--folder", "unit", "--no-browser", "--port", "0"], cwd: w.path, env: ["SEALGATE_LANG": "vi"])
        defer { desk.stop() }
        // Every path under the launch's secret prefix, /s/<secret>/.
        let printed = /open: (http:\/\/127\.0\.0\.1:\d+\/s\/[A-Za-z0-9_-]{43}\/open\?key=[A-Za-z0-9_-]{43})/
        let open = try #require(desk.logText.firstMatch(of: printed)?.1)
        #expect(Self.listensOnLoopbackOnly(port: desk.port), "the desk listens beyond 127.0.0.1")

        try? FileManager.default.removeItem(atPath: Self.output)  // lint: allow try? — cleanup: the last run's screenshots, if any
        try FileManager.default.createDirectory(atPath: Self.output, withIntermediateDirectories: true)
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        browser.arguments = [
            CLI.repoRoot.appendingPathComponent("scripts/desk-browser-check.py").path, "--url", String(open), "--out", Self.output,
            "--messy", w.file("danh-sach-dang-vien.xlsx"), "--fixed", w.file("danh-sach-da-sua.xlsx"),
            "--fixed-csv", "\(fixedOrgs),\(fixedMembers)",
            "--passphrase", Self.passphrase, "--citizen-id", String(citizen),
        ]
        browser.environment = CLI.environment([:])
        let toBrowser = Pipe()
        let fromBrowser = Pipe()
        let errors = Pipe()
        browser.standardInput = toBrowser
        browser.standardOutput = fromBrowser
        browser.standardError = errors
        try browser.run()
        nonisolated(unsafe) var errText = Data()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            errText = errors.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        var said: [String] = []
        var pending = ""
        let out = fromBrowser.fileHandleForReading
        while true {
            let d = out.availableData
            if d.isEmpty { break }
            pending += String(decoding: d, as: UTF8.self)
            while let nl = pending.firstIndex(of: "\n") {
                let line = String(pending[..<nl])
                pending = String(pending[pending.index(after: nl)...])
                said.append(line)
                if line == "STEP gateway-down" {
                    gateway.stop()
                    toBrowser.fileHandleForWriting.write(Data("\n".utf8))
                } else if line == "STEP gateway-up" {
                    gateway = try GatewayProcess(arguments: ["serve", "--data", "dept", "--port", String(gatewayPort)], cwd: w.path)
                    toBrowser.fileHandleForWriting.write(Data("\n".utf8))
                }
            }
        }
        browser.waitUntilExit()
        drained.wait()
        gateway.stop()
        let stderr = String(decoding: errText, as: UTF8.self)
        #expect(browser.terminationStatus == 0, "the browser check failed:\n\(stderr.suffix(3000))")
        #expect(said.last == "PASS", "\(said)")

        // Three packages, each with its receipt; the passphrase nowhere: not in the desk's
        // output, not in any file of the unit's folder.
        let profile = String(decoding: w.read("unit/sealgate-unit.json"), as: UTF8.self)
        #expect(profile.components(separatedBy: "\"status\" : \"accepted\"").count - 1 == 3, "\(profile)")
        #expect(!desk.logText.contains(Self.passphrase))
        let grep = try CLI.run("grep", ["-rl", "--", Self.passphrase, w.file("unit")], cwd: w.path)
        #expect(grep.status == 1, "the passphrase is in \(grep.out)")
        // At exit the private work folder (the uploaded records) is gone.
        desk.stop()
        let left = try FileManager.default.contentsOfDirectory(atPath: w.file("unit")).filter { $0.hasPrefix(".desk-work-") }
        #expect(left.isEmpty, "\(left)")
        let shots = try FileManager.default.contentsOfDirectory(atPath: Self.output).filter { $0.hasSuffix(".png") }
        #expect(shots.count >= 12, "\(shots)")
    }

    /// True when every socket listening on `port` is bound to 127.0.0.1 (/proc/net/tcp, tcp6).
    static func listensOnLoopbackOnly(port: Int) -> Bool {
        let hexPort = String(format: ":%04X", port)
        var found = false
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let cols = line.split(separator: " ")
                guard cols.count > 3, cols[1].hasSuffix(hexPort), cols[3] == "0A" else { continue }
                found = true
                if cols[1] != "0100007F\(hexPort)" { return false }
            }
        }
        return found
    }
}
