import Foundation
import GatewayCore
import TestSupport
import Testing

/// A handbook endpoint that refuses every dataset with 503 and a problem whose `code` and
/// `detail` carry terminal escape sequences: a colour, a window title (OSC … BEL), a screen
/// clear, a C1 CSI, a carriage return and a line break, a right-to-left override.
final class EscapingEndpoint {
    static let detail = "\u{1B}]0;owned\u{07}\u{1B}[2J\u{9B}1mcleared\r\nforged line\u{202E}txt.exe"
    let server: PythonServer

    init(cwd: String) throws {
        let script = """
            import http.server, json, socketserver, sys
            body = json.dumps({"code": "\\u001b[31mred", "detail": sys.argv[1]}).encode()
            class H(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    n = int(self.headers.get('Content-Length', '0'))
                    while n > 0:
                        n -= len(self.rfile.read(min(n, 65536)))
                    self.send_response(503); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
                def log_message(self, *a): pass
            class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
                daemon_threads = True
            s = S(('127.0.0.1', 0), H)
            print(s.server_address[1], flush=True)
            s.serve_forever()
            """
        server = try PythonServer(script: script, name: "escaping.py", arguments: [Self.detail], cwd: cwd)
    }

    var url: String { server.url }
    func stop() { server.stop() }
}

/// What a handbook endpoint answers reaches the operator's screen only cleaned: `datasets list`
/// and `status` show the dataset's last error (the endpoint's code and detail among it) with its
/// control characters as `�`.
@Suite struct EndpointTextTests {
    /// The characters a terminal acts on: C0 and C1 controls, DEL, line and paragraph separators,
    /// and format characters (bidirectional overrides).
    static func controls(_ text: String) -> [String] {
        text.unicodeScalars.filter {
            $0 != "\n" && [.control, .format, .lineSeparator, .paragraphSeparator].contains($0.properties.generalCategory)
        }.map { String(format: "U+%04X", $0.value) }
    }

    @Test func escapeSequencesFromTheEndpointNeverReachTheTerminal() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        let endpoint = try EscapingEndpoint(cwd: c.w.path)
        defer { endpoint.stop() }
        #expect(endpoint.server.port > 0)
        try c.connect(endpoint.url)
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        let refused = try c.waitFor("an attempt refused") { (try c.dataset(1)["last_error"]?.string ?? "").contains("owned") }
        // The store keeps the endpoint's words as they came (the JSON API escapes them).
        let stored = try c.dataset(1)["last_error"]?.string ?? ""
        #expect(refused, "\(stored.debugDescription)")
        #expect(stored.contains("\u{1B}]0;owned\u{07}") && stored.contains("503"), "\(stored.debugDescription)")

        let list = try CLI.sg(["datasets", "list", "--data", "dept"], cwd: c.w.path)
        try requireOK(list)
        let status = try CLI.sg(["status", "--data", "dept"], cwd: c.w.path)
        try requireOK(status)
        for (what, out) in [("datasets list", list.out), ("status", status.out)] {
            #expect(Self.controls(out).isEmpty, "\(what): \(Self.controls(out)) in \(out.debugDescription)")
            // Still told: the status, the endpoint's code and detail, each control shown as �.
            #expect(
                out.contains("503 \u{FFFD}[31mred: \u{FFFD}]0;owned\u{FFFD}\u{FFFD}[2J\u{FFFD}1mcleared\u{FFFD}\u{FFFD}forged line\u{FFFD}txt.exe"),
                "\(what): \(out.debugDescription)")
        }
        let json = try CLI.sg(["datasets", "list", "--data", "dept", "--json"], cwd: c.w.path)
        try requireOK(json)
        // --json gives the text as stored, every control written as a \u escape.
        #expect(Self.controls(json.out).isEmpty, "\(Self.controls(json.out)) in \(json.out.debugDescription)")
        let jsonError = try JSON(parsing: json.out)["result"]?["datasets"]?.array?.first?["last_error"]?.string ?? ""
        #expect(jsonError == stored, "\(jsonError.debugDescription)")
    }
}
