import Foundation
import GatewayCore
import SealCrypto
import TestSupport
import Testing

/// A throwaway private CA and certificates (scripts/test-ca) in `dir` of the work folder.
func makeTestCA(_ w: Workdir, _ dir: String, name: String = "server") throws {
    try requireOK(try CLI.run(CLI.repoRoot.appendingPathComponent("scripts/test-ca").path, [w.file(dir), name], cwd: w.path), "test-ca")
}

/// The error code of a `--json` failure.
func jsonCode(_ r: CLI.Result) -> String? { (try? JSON(parsing: r.out))?["error"]?["code"]?.string }

/// What `openssl s_client` says of a handshake with `port` (its protocol line, or the failure).
func sClient(_ w: Workdir, port: Int, _ args: String) throws -> String {
    try CLI.sh("echo | timeout 10 openssl s_client -connect 127.0.0.1:\(port) -CAfile pki/ca.pem \(args) 2>&1", cwd: w.path).out
}

/// The protocol a handshake reported by `sClient` settled on ("TLSv1.2"), or nil when none was
/// negotiated (s_client prints a Protocol line for a failed handshake too: the cipher tells). The
/// session's Protocol line names it; without one (TLS 1.3 closed before a ticket), the line
/// "New, TLSv1.3, Cipher is …" does (for a CBC suite that line names the suite's version, not the session's).
func negotiated(_ sClientOutput: String) -> String? {
    let lines = sClientOutput.components(separatedBy: "\n")
    guard let cipher = lines.first(where: { $0.contains(", Cipher is ") }), !cipher.hasSuffix("Cipher is (NONE)") else { return nil }
    if let session = lines.first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("Protocol  :") }) {
        return session.components(separatedBy: ":").last?.trimmingCharacters(in: .whitespaces)
    }
    return cipher.components(separatedBy: ", ").dropFirst().first
}

/// `openssl s_server` on a free loopback port with OpenSSL's lowest security level: a control
/// server that does accept TLS 1.1 and CBC suites, to show a probe can see what ours refuses.
final class ControlTLSServer {
    let process = Process()
    private(set) var port = 0

    init(_ w: Workdir, cert: String, key: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_server", "-accept", "127.0.0.1:0", "-cert", cert, "-key", key, "-cipher", "DEFAULT:@SECLEVEL=0", "-www"]
        process.currentDirectoryURL = URL(fileURLWithPath: w.path)
        process.environment = CLI.environment([:])
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // "ACCEPT 127.0.0.1:PORT" is its first line once it listens.
        var text = ""
        while port == 0 {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
            if let r = text.range(of: #"ACCEPT 127\.0\.0\.1:[0-9]+"#, options: .regularExpression) {
                port = Int(text[r].split(separator: ":").last ?? "") ?? 0
            }
        }
        guard port > 0 else {
            stop()
            throw RawHTTP.Failure("openssl s_server did not start: \(text)")
        }
    }

    /// SIGKILL: s_server waiting in accept() does not end on SIGTERM.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

/// HTTPS end to end with a private CA: units, the auditor and the forwarder (docs/operations.md, TLS).
struct TLSTests {
    let tls = ["--tls-cert", "pki/server.pem", "--tls-key", "pki/server.key"]

    @Test func unitAuditorAndForwarderOverTLSWithAPrivateCA() throws {
        let c = try CityCycle(units: 2)
        try makeTestCA(c.w, "pki")
        try makeTestCA(c.w, "other")
        let gw = try GatewayProcess(data: "dept", cwd: c.w.path, extra: tls + ["--forward-retry-base", "0.2s", "--forward-retry-max", "1s"])
        defer { gw.stop() }
        #expect(gw.url.hasPrefix("https://127.0.0.1:"))
        let fetch = ["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json", "--json"]
        // A CA that did not sign the gateway's certificate, or none (the system's roots): refused, coded.
        let wrong = try CLI.sg(fetch + ["--ca-file", "other/ca.pem"], cwd: c.w.path)
        #expect(wrong.status == 1 && jsonCode(wrong) == "tls_untrusted", "\(wrong.out) \(wrong.stderr)")
        #expect(wrong.out.contains("\"hint\":\"--ca-file FILE (or SEALGATE_CA_FILE)"), "the command's own words: \(wrong.out)")
        let system = try CLI.sg(fetch, cwd: c.w.path)
        #expect(system.status == 1 && jsonCode(system) == "tls_untrusted", "\(system.out)")
        #expect(!c.w.exists("trust.json"))
        try requireOK(try CLI.sg(fetch + ["--ca-file", "pki/ca.pem"], cwd: c.w.path), "trust fetch over https")

        // The unit: seal, submit over https (CA from SEALGATE_CA_FILE), the receipt verifies.
        let p = try c.f.seal("HCM-U001", seq: 1)
        let submit = try CLI.sg(
            ["submit", "--gateway", gw.url, "--trust", "trust.json", "--json", p], cwd: c.w.path, env: ["SEALGATE_CA_FILE": c.w.file("pki/ca.pem")])
        #expect(submit.status == 0, "\(submit.out) \(submit.stderr)")
        #expect((try JSON(parsing: submit.out))["result"]?["results"]?.array?.first?["status"]?.string == "accepted")
        try requireOK(try CLI.sg(["receipt", "verify", "--trust", "trust.json", p + ".receipt.json"], cwd: c.w.path))
        let refused = try CLI.sg(
            ["submit", "--gateway", gw.url, "--trust", "trust.json", "--json", "--ca-file", "other/ca.pem", try c.f.seal("HCM-U002", seq: 1)],
            cwd: c.w.path)
        #expect(refused.status == 1 && jsonCode(refused) == "tls_untrusted", "\(refused.out)")

        // The auditor.
        let audit = try CLI.sg(
            ["log", "verify", "--gateway", gw.url, "--trust", "trust.json", "--ca-file", "pki/ca.pem", "--state", "log.json", "--json"], cwd: c.w.path
        )
        #expect(audit.status == 0, "\(audit.out) \(audit.stderr)")
        #expect(c.w.exists("log.json"))

        // The forwarder: the handbook receiver over TLS, its certificate checked with the CA kept in the store.
        let hb = try GatewayProcess(arguments: ["handbook", "serve", "--data", "hb", "--trust", "trust.json", "--port", "0"] + tls, cwd: c.w.path)
        defer { hb.stop() }
        #expect(hb.url.hasPrefix("https://"))
        let connect = [
            "handbook", "connect", "--data", "dept", "--url", hb.url, "--recipient", "hb/identity.pub", "--ack-key", "hb/ack.pub", "--json",
        ]
        let untrusted = try CLI.sg(connect + ["--ca-file", "other/ca.pem"], cwd: c.w.path)
        #expect(untrusted.status == 1 && jsonCode(untrusted) == "tls_untrusted", "\(untrusted.out)")
        let withPassword = try CLI.sg(
            connect.map { $0 == hb.url ? hb.url.replacingOccurrences(of: "https://", with: "https://ops:secret@") : $0 }
                + ["--ca-file", "pki/ca.pem"], cwd: c.w.path)
        #expect(withPassword.status != 0 && jsonCode(withPassword) == "usage" && !withPassword.out.contains("secret"), "\(withPassword.out)")
        try requireOK(
            try CLI.sg(connect + ["--ca-file", "pki/ca.pem", "--client-cert", "pki/client.pem", "--client-key", "pki/client.key"], cwd: c.w.path),
            "handbook connect over https")
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        #expect(try c.waitFor("delivered over TLS") { try c.dataset(1)["state"]?.string == "delivered" }, "\((try? c.dataset(1)) ?? .null)")
        // The public log records the connection without the gateway's CA text or file paths.
        let logged = try CLI.run(
            "sqlite3", ["dept/gateway.sqlite", "SELECT body FROM log_entries WHERE kind = 'handbook_connected'"], cwd: c.w.path
        ).out
        #expect(logged.contains(hb.url) && logged.contains("\"ca_sha256\"") && logged.contains("\"client_certificate\":true"), "\(logged)")
        for secretish in ["BEGIN CERTIFICATE", "client.pem", "client.key", c.w.path] {
            #expect(!logged.contains(secretish), "the log entry names \(secretish): \(logged)")
        }
    }

    /// TLS 1.2 at least, forward-secret AEAD suites only; a new certificate is taken on SIGHUP
    /// without a restart, and a broken one is refused while the one in use stays.
    @Test func modernSettingsAndCertificateReloadOnSIGHUP() throws {
        let f = try GatewayFixture()
        try makeTestCA(f.w, "pki")
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: tls)
        defer { gw.stop() }
        // Each probe of what we refuse is first shown to see it: against a control server that
        // accepts TLS 1.1 and CBC suites it negotiates; against ours it gets nothing. (OpenSSL 3's
        // client refuses TLS 1.1 itself unless its security level is 0; a CBC suite must be one an
        // ECDSA certificate can do — AES128-SHA, RSA key exchange, never negotiates with it.)
        let control = try ControlTLSServer(f.w, cert: "pki/server.pem", key: "pki/server.key")
        defer { control.stop() }
        for (probe, proto) in [
            ("-tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'", "TLSv1.1"), ("-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA", "TLSv1.2"),
            ("-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256", "TLSv1.2"),
        ] {
            let seen = try sClient(f.w, port: control.port, probe)
            #expect(negotiated(seen) == proto, "the probe \(probe) cannot see a server that allows it: \(seen.suffix(400))")
            let ours = try sClient(f.w, port: gw.port, probe)
            #expect(negotiated(ours) == nil, "\(probe) was served: \(ours.suffix(400))")
        }
        let tls12 = try sClient(f.w, port: gw.port, "-tls1_2")
        #expect(negotiated(tls12) == "TLSv1.2", "\(tls12.suffix(400))")
        let tls13 = try sClient(f.w, port: gw.port, "")
        #expect(negotiated(tls13) == "TLSv1.3", "\(tls13.suffix(400))")

        func served() throws -> String {
            try CLI.sh("echo | timeout 10 openssl s_client -connect 127.0.0.1:\(gw.port) 2>/dev/null | openssl x509 -noout -serial", cwd: f.w.path)
                .out
        }
        func onDisk() throws -> String { try CLI.sh("openssl x509 -in pki/server.pem -noout -serial", cwd: f.w.path).out }
        let first = try served()
        let firstOnDisk = try onDisk()
        #expect(first.hasPrefix("serial=") && first == firstOnDisk)
        try makeTestCA(f.w, "pki")  // a new certificate and key for the same name
        let renewed = try onDisk()
        #expect(renewed != first)
        #expect(try served() == first, "the certificate in use stays until SIGHUP")
        kill(gw.pid, SIGHUP)
        #expect(try waitUntil { gw.logText.contains("reloaded the TLS certificate") }, "\(gw.logText)")
        #expect(try served() == renewed)
        // A broken certificate file: refused, the renewed one stays in use.
        f.w.write("pki/server.pem", "not a certificate\n")
        kill(gw.pid, SIGHUP)
        #expect(try waitUntil { gw.logText.contains("kept the certificate in use") }, "\(gw.logText)")
        #expect(try served() == renewed)
        // Plain HTTP on the TLS port gets no HTTP answer.
        #expect(try RawHTTP.exchange(port: gw.port, Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8), timeout: 10).status == nil)
    }

    /// With --client-ca, a client must present a certificate from that CA.
    @Test func clientCertificatesAreRequiredWithClientCA() throws {
        let f = try GatewayFixture()
        try makeTestCA(f.w, "pki")
        try makeTestCA(f.w, "other")
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: tls + ["--client-ca", "pki/ca.pem"])
        defer { gw.stop() }
        let fetch = ["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json", "--ca-file", "pki/ca.pem", "--json"]
        let none = try CLI.sg(fetch, cwd: f.w.path)
        #expect(none.status == 1 && jsonCode(none) == "tls_client_refused", "\(none.out)")
        let stranger = try CLI.sg(fetch + ["--client-cert", "other/client.pem", "--client-key", "other/client.key"], cwd: f.w.path)
        #expect(stranger.status == 1 && jsonCode(stranger) == "tls_client_refused", "\(stranger.out)")
        try requireOK(
            try CLI.sg(fetch + ["--client-cert", "pki/client.pem", "--client-key", "pki/client.key"], cwd: f.w.path), "with the client certificate")
    }
}

/// Polls `cond` every 0.1 s for up to 30 s (a bound for a loaded machine, not a timing assertion).
func waitUntil(seconds: Double = 30, _ cond: () throws -> Bool) throws -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if try cond() { return true }
        Thread.sleep(forTimeInterval: 0.1)
    }
    return try cond()
}
