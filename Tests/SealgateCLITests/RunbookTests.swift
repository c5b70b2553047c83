import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What an operator meets when following the runbooks as written (issue #21, item 11): the
/// program says what the docs say, and a refusal points at what the operator can type.
@Suite struct RunbookTests {
    /// The command with no terminal to ask on: `setsid` leaves it without a controlling terminal,
    /// as under cron or a service manager.
    static func unattended(_ args: [String], cwd: String) throws -> CLI.Result {
        try CLI.run("setsid", ["--wait", CLI.sealgate] + args, cwd: cwd)
    }

    static func json(_ r: CLI.Result) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(r.stdout))) as? [String: Any] ?? [:]
    }

    @Test func passphraseRequiredSaysHowToGiveOne() throws {
        let w = Workdir()
        w.write("passphrase", "department passphrase\n")
        _ = chmod(w.file("passphrase"), 0o600)
        let made = try CLI.sg(["init", "--data", "dept", "--passphrase-file", "passphrase"], cwd: w.path)
        #expect(made.status == 0, "\(made.stderr)")
        // Keys that exist need their passphrase: the hint names where it comes from, never --unencrypted.
        for args in [
            ["keys", "rotate", "recipient", "--data", "dept", "--grace", "14d"], ["trust", "publish", "--data", "dept"],
            ["synthesize", "--data", "dept"],
        ] {
            let r = try Self.unattended(args, cwd: w.path)
            #expect(r.status == 77 && r.stderr.contains("error: passphrase_required"), "\(args): \(r.stderr)")
            #expect(r.stderr.contains("on the command line: --passphrase-file FILE (mode 0600) or SEALGATE_PASSPHRASE"), "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("--unencrypted"), "\(args): \(r.stderr)")
        }
        let j = try Self.unattended(["keys", "rotate", "recipient", "--data", "dept", "--grace", "14d", "--json"], cwd: w.path)
        let error = Self.json(j)["error"] as? [String: Any] ?? [:]
        let hint = error["hint"] as? String ?? ""
        #expect(error["code"] as? String == "passphrase_required" && hint.contains("SEALGATE_PASSPHRASE"), "\(j.out)")
        #expect(!hint.contains("--unencrypted"), "\(j.out)")
        // Only where keys are made can they be made without one.
        for args in [["keys", "generate", "signing", "--out", "unit"], ["init", "--data", "other"], ["handbook", "init", "--data", "hb"]] {
            let r = try Self.unattended(args, cwd: w.path)
            #expect(r.status == 77 && r.stderr.contains("error: passphrase_required"), "\(args): \(r.stderr)")
            #expect(r.stderr.contains("SEALGATE_PASSPHRASE") && r.stderr.contains("--unencrypted makes keys without one"), "\(args): \(r.stderr)")
        }
        // Given as the runbooks give it, the same command runs.
        let given = try Self.unattended(
            ["keys", "rotate", "recipient", "--data", "dept", "--grace", "14d", "--passphrase-file", "passphrase"], cwd: w.path)
        #expect(given.status == 0, "\(given.stderr)")
    }

    @Test func retireSaysWhenTheGraceEnds() throws {
        let w = Workdir()
        #expect(try CLI.sg(["init", "--data", "dept", "--unencrypted"], cwd: w.path).status == 0)
        let none = try CLI.sg(["keys", "retire", "--data", "dept"], cwd: w.path)
        #expect(none.status == 0 && none.stderr.contains("nothing to retire: no recipient is decrypt-only"), "\(none.stderr)")
        #expect(try CLI.sg(["keys", "rotate", "recipient", "--data", "dept", "--grace", "14d"], cwd: w.path).status == 0)
        let early = try CLI.sg(["keys", "retire", "--data", "dept"], cwd: w.path)
        let said = early.stderr.range(
            of: #"nothing to retire yet: recipient [0-9a-z]+ is decrypt-only until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(retire it once"#,
            options: .regularExpression)
        #expect(early.status == 0 && said != nil, "\(early.stderr)")
        let j = try CLI.sg(["keys", "retire", "--data", "dept", "--json"], cwd: w.path)
        let waiting = (Self.json(j)["result"] as? [String: Any])?["waiting"] as? [[String: Any]] ?? []
        #expect(waiting.count == 1 && (waiting.first?["decrypt_until"] as? String ?? "").hasSuffix("Z"), "\(j.out)")
    }

    @Test func tokensAndUnitRemediesReadAsTyped() throws {
        let w = Workdir()
        #expect(try CLI.sg(["init", "--data", "dept", "--unencrypted"], cwd: w.path).status == 0)
        #expect(try CLI.sg(["keys", "generate", "signing", "--out", "u", "--unencrypted"], cwd: w.path).status == 0)
        #expect(try CLI.sg(["units", "add", "--data", "dept", "--id", "HCM-U001", "--name", "P", "--signing-key", "u.pub"], cwd: w.path).status == 0)
        let admin = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: w.path)
        #expect(admin.status == 0 && admin.stderr.hasPrefix("created an admin token (id "), "\(admin.stderr)")
        let unit = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "unit", "--unit", "HCM-U001"], cwd: w.path)
        #expect(unit.status == 0 && unit.stderr.hasPrefix("created a unit token for HCM-U001 (id "), "\(unit.stderr)")
        // The token alone on stdout: ADMIN=$(sealgate tokens create …) holds it.
        #expect(admin.out.trimmingCharacters(in: .newlines).count >= 32 && !admin.out.contains(" "), "\(admin.out)")
        // The remedy of a key the unit does not hold is a command that runs as printed.
        let revoke = try CLI.sg(
            ["units", "revoke-key", "--data", "dept", "--unit", "HCM-U001", "--key-id", "0000000000000000", "--compromised-at", "now"], cwd: w.path)
        #expect(revoke.status != 0 && revoke.stderr.contains("error: key_unknown"), "\(revoke.stderr)")
        #expect(revoke.stderr.contains("`sealgate units show --data dept HCM-U001`"), "\(revoke.stderr)")
        let show = try CLI.sg(["units", "show", "--data", "dept", "HCM-U001"], cwd: w.path)
        #expect(show.status == 0, "\(show.stderr)")
    }

    @Test func versionAndUserAgentAreOne() throws {
        let w = Workdir()
        let version = try CLI.sg(["--version"], cwd: w.path).out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(version.range(of: #"^\d+\.\d+\.\d+$"#, options: .regularExpression) != nil, "\(version)")
        // A loopback listener that keeps the head of the first request it gets and answers 404.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(16)) } }
        #expect(bound == 0 && listen(fd, 4) == 0)
        var len = socklen_t(16)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let head = Mutex<String>("")
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            defer { done.signal() }
            let c = accept(fd, nil, nil)
            guard c >= 0 else { return }
            defer { close(c) }
            var got = [UInt8]()
            var buf = [UInt8](repeating: 0, count: 4096)
            while got.count < 64 << 10, got.firstRange(of: [13, 10, 13, 10]) == nil {
                let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                got += buf[0..<n]
            }
            head.withLock { $0 = String(decoding: got, as: UTF8.self) }
            let answer = Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = answer.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        #expect(try CLI.sg(["keys", "generate", "signing", "--out", "root", "--unencrypted"], cwd: w.path).status == 0)
        let fetch = try CLI.sg(
            ["trust", "fetch", "--gateway", "http://127.0.0.1:\(port)", "--root", "root.pub", "-o", "trust.json", "--timeout", "10"], cwd: w.path)
        #expect(fetch.status != 0, "\(fetch.stderr)")
        #expect(done.wait(timeout: .now() + 30) == .success)
        let request = head.withLock { $0 }
        #expect(request.lowercased().contains("\r\nuser-agent: sealgate/\(version)\r\n"), "\(request)")
    }
}
