import Foundation
import Testing

/// deploy/ (#24 item 5): the systemd units pass `systemd-analyze verify` (any word it says about
/// them fails the test: it exits 0 on an unknown key or a value it cannot parse, which it ignores)
/// and score "OK" or better on its offline security check; the nginx example passes `nginx -t`.
/// Debian's systemd and nginx provide the tools (scripts/install-deps installs nginx; systemd is
/// part of every Debian system, whether or not it runs as PID 1).
struct DeployTests {
    static let units = ["sealgate.service", "sealgate-handbook.service"]

    /// The units with /usr/bin/sealgate (where the .deb installs it) replaced by the binary under
    /// test: verify checks that each command exists and is executable. Nothing else changes.
    static func unitsUnderTest(_ w: Workdir) throws -> [String] {
        try CLI.requireBinary()
        return try units.map { name in
            let text = try String(contentsOf: CLI.repoRoot.appendingPathComponent("deploy/systemd/\(name)"), encoding: .utf8)
            #expect(text.contains("ExecStart=/usr/bin/sealgate "), "\(name): ExecStart is not /usr/bin/sealgate")
            w.write(name, text.replacingOccurrences(of: "/usr/bin/sealgate ", with: CLI.sealgate + " "))
            return w.file(name)
        }
    }

    @Test func theUnitsVerify() throws {
        let w = Workdir()
        let paths = try Self.unitsUnderTest(w)
        let r = try CLI.run("systemd-analyze", ["verify", "--man=no"] + paths, cwd: w.path)
        let said = (r.out + r.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(r.status == 0 && said.isEmpty, "systemd-analyze verify: status \(r.status): \(said)")
        // The hardening systemd scores (exposure 0 … 10, "OK" below 5; --threshold counts tenths): 2.0 at most (1.4 when written).
        for path in paths {
            let s = try CLI.run("systemd-analyze", ["security", "--offline=true", "--man=no", "--threshold=20", path], cwd: w.path)
            let last = s.out.split(separator: "\n").last.map(String.init) ?? s.stderr
            #expect(s.status == 0, "\(path): \(last) \(s.stderr)")
        }
    }

    /// What the units promise: a dedicated user, the passphrase as a credential read from
    /// $CREDENTIALS_DIRECTORY (%d), the data folder the one writable path.
    @Test func theUnitsHoldTheirHardening() throws {
        for name in Self.units {
            let text = try String(contentsOf: CLI.repoRoot.appendingPathComponent("deploy/systemd/\(name)"), encoding: .utf8)
            let lines = Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
            for required in [
                "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=",
                "SystemCallFilter=@system-service", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            ] {
                #expect(lines.contains(required), "\(name) lacks \(required)")
            }
            #expect(text.contains("LoadCredential=passphrase:") && text.contains("--passphrase-file %d/passphrase"), "\(name)")
            #expect(text.contains("User=sealgate"), "\(name): no dedicated user")
            #expect(!text.contains("SEALGATE_PASSPHRASE"), "\(name): a passphrase in the environment")
        }
    }

    /// The nginx example, its certificate paths pointed at a throwaway pair, passes `nginx -t`.
    @Test func theNginxExampleParses() throws {
        let w = Workdir()
        try requireOK(try CLI.run(CLI.repoRoot.appendingPathComponent("scripts/test-ca").path, [w.file("pki")], cwd: w.path), "test-ca")
        var site = try String(contentsOf: CLI.repoRoot.appendingPathComponent("deploy/nginx/sealgate.conf"), encoding: .utf8)
        for (from, to) in [
            ("/etc/nginx/tls/gateway.example.pem", w.file("pki/server.pem")), ("/etc/nginx/tls/gateway.example.key", w.file("pki/server.key")),
            ("/var/log/nginx/", w.path + "/"),
        ] {
            #expect(site.contains(from), "deploy/nginx/sealgate.conf no longer names \(from)")
            site = site.replacingOccurrences(of: from, with: to)
        }
        w.write("site.conf", site)
        let main = "pid \(w.file("nginx.pid"));\nerror_log \(w.file("error.log"));\nevents {}\n"
        w.write("nginx.conf", main + "http {\n    include \(w.file("site.conf"));\n}\n")
        let r = try CLI.run("/usr/sbin/nginx", ["-t", "-q", "-c", w.file("nginx.conf"), "-p", w.path], cwd: w.path)
        #expect(r.status == 0, "nginx -t: \(r.out) \(r.stderr)")
    }
}
