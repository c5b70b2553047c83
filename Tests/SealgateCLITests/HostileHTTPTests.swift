import Foundation
import GatewayCore
import SealCrypto
import SealPackage
import TestSupport
import Testing

/// Strangers' requests against a real `sealgate serve` and `sealgate handbook serve`: integer
/// edges on every numeric parameter, malformed encodings, huge paths and headers, conflicting
/// framing, bad chunking, truncated bodies, bad JSON. After each, the process is alive and
/// answers /healthz; a parameter out of range is a coded 400. And the other way round: hostile
/// servers against `submit`, `trust fetch`, `log verify` and the forwarder.
struct HostileHTTPTests {
    static let edges = [
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-1", "99999999999999999999999999", "1e3", "0x10",
        "+1", " 1", "1.5", "", "%31", "%zz", "%", "%EF%BC%91", "1%00", String(repeating: "9", count: 5000),
        // not canonical: one number, one spelling (issue #21)
        "-0", "00", "-00", "01", "%2B0", "0001",
    ]

    struct Prober {
        let port: Int
        let alive: () -> Bool
        var probes = 0
        var routes = Set<String>()

        /// Sends `raw`; `accept` judges the status (nil: no HTTP answer) and body.
        mutating func probe(_ route: String, _ raw: String, _ accept: (Int?, String) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) {
            probe(route, Array(raw.utf8), accept, sourceLocation: sourceLocation)
        }

        mutating func probe(_ route: String, _ raw: [UInt8], _ accept: (Int?, String) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) {
            probes += 1
            routes.insert(route)
            let answer: (status: Int?, bytes: [UInt8]) = (try? RawHTTP.exchange(port: port, raw, timeout: 20)) ?? (nil, [])
            let text = String(decoding: answer.bytes.prefix(2000), as: UTF8.self)
            #expect(
                accept(answer.status, text),
                "\(route): \(String(decoding: raw.prefix(120), as: UTF8.self)) → \(answer.status.map(String.init) ?? "no answer") \(text.prefix(300))",
                sourceLocation: sourceLocation)
            #expect(alive(), "the server died after \(route): \(String(decoding: raw.prefix(120), as: UTF8.self))", sourceLocation: sourceLocation)
        }

        /// A GET whose answer must be `status` with `code` (a problem document).
        mutating func get(
            _ route: String, _ target: String, _ status: Int, code: String? = nil, headers: String = "",
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            probe(
                route, "GET \(target) HTTP/1.1\r\nHost: x\r\n\(headers)Connection: close\r\n\r\n",
                { s, body in
                    s == status && (code == nil || body.contains("\"code\":\"\(code!)\""))
                }, sourceLocation: sourceLocation)
        }
    }

    /// Sends `head`, then body bytes as fast as the server takes them, up to 64 MiB. Returns the
    /// answer's head (read as soon as it is there) and whether the server closed the connection
    /// before the 64 MiB were sent.
    static func endlessBody(port: Int, _ head: String) throws -> (String, Bool) {
        let fd = try RawHTTP.connect(host: "127.0.0.1", port: port, timeout: 30)
        defer { close(fd) }
        try RawHTTP.sendAll(fd, Array(head.utf8))
        let chunk = [UInt8](repeating: 0x61, count: 64 << 10)
        var answer = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<1024 {
            do { try RawHTTP.sendAll(fd, chunk) } catch {
                break
            }
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { answer += buf[0..<n] }
            if n == 0 { return (String(decoding: answer, as: UTF8.self), true) }
        }
        // Did the server go away? (A closed connection reads its end or a reset.)
        var tries = 0
        while tries < 200 {
            tries += 1
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                answer += buf[0..<n]
                continue
            }
            if n < 0 && errno == EINTR { continue }
            let closed = n == 0 || errno == ECONNRESET || errno == EPIPE
            return (String(decoding: answer, as: UTF8.self), closed)
        }
        return (String(decoding: answer, as: UTF8.self), false)
    }

    static func alive(_ p: GatewayProcess, health: String) -> () -> Bool {
        { p.process.isRunning && ((try? RawHTTP.request("GET", "http://127.0.0.1:\(p.port)\(health)", timeout: 20).status) == 200) }
    }

    @Test func strangersCannotCrashOrWedgeTheGateway() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: ["--max-body", "1MiB"])
        defer { gw.stop() }
        let admin = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: f.w.path).out.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let auth = "Authorization: Bearer \(admin)\r\n"
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 1)).status == 201)
        var p = Prober(port: gw.port, alive: Self.alive(gw, health: "/healthz"))

        // Every numeric parameter at its edges and beyond: 200 for a value in range, else a coded 400.
        let numeric: [(route: String, target: (String) -> String, valid: Set<String>, auth: Bool)] = [
            ("/v1/log/entries?start", { "/v1/log/entries?start=\($0)" }, ["%31"], false),
            ("/v1/log/entries?end", { "/v1/log/entries?end=\($0)" }, ["%31"], false),
            ("/v1/log/proof/inclusion?leaf", { "/v1/log/proof/inclusion?leaf=\($0)&size=3" }, ["%31"], false),
            ("/v1/log/proof/inclusion?size", { "/v1/log/proof/inclusion?leaf=0&size=\($0)" }, ["%31"], false),
            ("/v1/log/proof/consistency?from", { "/v1/log/proof/consistency?from=\($0)&to=3" }, ["%31"], false),
            ("/v1/log/proof/consistency?to", { "/v1/log/proof/consistency?from=1&to=\($0)" }, ["%31"], false),
            ("/v1/trust?version", { "/v1/trust?version=\($0)" }, ["%31"], false),
            ("/v1/datasets/{version}", { "/v1/datasets/\($0)" }, [], true),
        ]
        for n in numeric {
            for v in Self.edges {
                let target = n.target(v.replacingOccurrences(of: " ", with: "%20"))
                let valid = n.valid.contains(v)
                p.probe(
                    n.route, "GET \(target) HTTP/1.1\r\nHost: x\r\n\(n.auth ? auth : "")Connection: close\r\n\r\n",
                    { s, body in
                        if valid { return s == 200 }
                        if s == 400 && body.contains("\"code\":\"bad_parameter\"") { return true }
                        // In range but not there: a trust version or a dataset that does not exist;
                        // `/v1/datasets/` (empty) is the list.
                        return (s == 404 && (body.contains("trust_missing") || body.contains("dataset_unknown")))
                            || (v.isEmpty && s == 200 && n.route.hasSuffix("{version}"))
                    })
            }
        }
        // Ranges the wrong way round, and sizes beyond the log.
        p.get("/v1/log/entries?start", "/v1/log/entries?start=5&end=2", 400, code: "bad_parameter")
        p.get("/v1/log/entries?start", "/v1/log/entries?start=4", 200)
        p.get("/v1/log/proof/inclusion?leaf", "/v1/log/proof/inclusion?leaf=3&size=3", 400, code: "bad_parameter")
        p.get("/v1/log/proof/inclusion?size", "/v1/log/proof/inclusion?leaf=0&size=999", 400, code: "bad_parameter")
        p.get("/v1/log/proof/consistency?from", "/v1/log/proof/consistency?from=3&to=2", 400, code: "bad_parameter")
        p.get("/v1/log/proof/consistency?from", "/v1/log/proof/consistency?from=0&to=2", 400, code: "bad_parameter")
        p.get("/v1/log/proof/consistency?to", "/v1/log/proof/consistency?from=1&to=9223372036854775807", 400, code: "bad_parameter")
        p.get("/v1/log/proof/inclusion?leaf", "/v1/log/proof/inclusion?leaf=1", 400, code: "bad_parameter")
        p.get("/v1/log/entries?start", "/v1/log/entries?start=1&start=2", 400, code: "bad_parameter")
        p.get("/v1/log/entries?start", "/v1/log/entries?begin=1", 400, code: "bad_parameter")
        p.get("/v1/trust?version", "/v1/trust?version=99", 404, code: "trust_missing")

        // Path parameters: malformed, encoded, huge.
        for id in [
            "not-a-uuid", "..%2f..%2fetc%2fpasswd", "%ff%fe", "%00", String(repeating: "a", count: 4000), "01936b2e-8c4f-7d3a-9b1e-2f4a6c8d0e1",
        ] {
            p.get("/v1/packages/{id}", "/v1/packages/\(id)", 400, code: "bad_parameter", headers: auth)
        }
        p.get("/v1/packages/{id}", "/v1/packages/01936b2e-8c4f-7d3a-9b1e-2f4a6c8d0e1f", 401, code: "unauthorized")
        p.get("/v1/packages/{id}", "/v1/packages/01936b2e-8c4f-7d3a-9b1e-2f4a6c8d0e1f", 404, code: "package_unknown", headers: auth)
        for id in ["hcm-u001", "-X", "A", "%41%42", "HCM_U001", "..", String(repeating: "A", count: 33), "HCM-U001%00"] {
            p.get("/v1/units/{id}", "/v1/units/\(id)", 400, code: "bad_parameter", headers: auth)
        }
        p.get("/v1/units/{id}", "/v1/units/HCM-U999", 404, code: "unit_unknown", headers: auth)
        p.get("/v1/units/{id}", "/v1/units/HCM-U001", 401, code: "unauthorized")
        p.get("/v1/units", "/v1/units", 401, code: "unauthorized", headers: "Authorization: Bearer \(String(repeating: "x", count: 4000))\r\n")
        p.get("/v1/units", "/v1/units", 401, code: "unauthorized", headers: "Authorization: Basic Zm9vOmJhcg==\r\n")
        p.get("/v1/campaign", "/v1/campaign", 401, code: "unauthorized")
        p.get("/metrics", "/metrics", 401, code: "unauthorized")
        p.get("/metrics", "/metrics", 200, headers: auth)
        p.get("(unknown)", "/v1/nothing", 404, code: "not_found")
        p.get("(unknown)", "/" + String(repeating: "%2e%2e/", count: 200), 404, code: "not_found")
        p.probe("(unknown)", "DELETE /v1/packages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") { s, body in
            s == 405 && body.contains("\"code\":\"method_not_allowed\"") && body.lowercased().contains("\r\nallow: post\r\n")
        }
        p.probe("(unknown)", "BREW /v1/log/checkpoint HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") { s, _ in s != nil && s! >= 400 && s! < 500 }
        // TRACE is taken nowhere, `OPTIONS *` asks about no route: 405, coded, with Allow (issue #21).
        for line in ["TRACE / ", "TRACE /healthz ", "TRACE /v1/nothing ", "TRACE /v1/packages ", "OPTIONS * "] {
            p.probe("(any)", line + "HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Self.methodRefused)
        }

        // The request line and headers themselves.
        p.probe("(any)", "GET /" + String(repeating: "a", count: 200_000) + " HTTP/1.1\r\nHost: x\r\n\r\n") { s, _ in
            s == nil || (s! >= 400 && s! < 500)
        }
        p.probe("(any)", "GET /healthz HTTP/1.1\r\n" + (0..<3000).map { "X-H\($0): v\r\n" }.joined() + "\r\n") { s, _ in
            s == nil || (s! >= 400 && s! < 500)
        }
        p.probe("(any)", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 200_000) + "\r\n\r\n") { s, _ in
            s == nil || (s! >= 400 && s! < 500)
        }
        p.probe("(any)", "GET http://x:99999999999999999999/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") { s, _ in s != nil }
        p.probe("(any)", "GET healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") { s, _ in s != nil }
        // What the HTTP parser refuses is a coded problem too (not the server's bare 400).
        let unparsable: (Int?, String) -> Bool = { s, body in
            s == 400 && body.contains("\"code\":\"bad_request\"") && body.lowercased().contains("connection: close")
        }
        p.probe("(any)", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", unparsable)
        p.probe("(any)", [0x16, 0x03, 0x01, 0x02, 0x00] + [UInt8](repeating: 0xFF, count: 600), unparsable)
        p.probe("(any)", "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", unparsable)
        p.probe("(any)", "\r\n\r\n\r\n") { s, body in s == nil || unparsable(s, body) }
        // raw UTF-8 in the target
        p.probe("(any)", "GET /v1/log/entries?start=１ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") { s, _ in s == 400 }

        // Framing of a POST body: conflicting, overflowing, truncated.
        let post = "POST /v1/packages HTTP/1.1\r\nHost: x\r\n"
        let refused: (Int?, String) -> Bool = { s, _ in s == nil || (s! >= 400 && s! < 500) }
        p.probe("POST /v1/packages", post + "Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", refused)
        p.probe("POST /v1/packages", post + "Content-Length: 10\r\nContent-Length: 20\r\n\r\n0123456789", refused)
        p.probe("POST /v1/packages", post + "Content-Length: -1\r\n\r\n", refused)
        p.probe("POST /v1/packages", post + "Content-Length: 99999999999999999999999\r\n\r\n", refused)
        p.probe("POST /v1/packages", post + "Content-Length: 9223372036854775807\r\n\r\nabc", refused)
        p.probe("POST /v1/packages", post + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\nabc\r\n", refused)
        p.probe("POST /v1/packages", post + "Transfer-Encoding: chunked\r\n\r\n7FFFFFFFFFFFFFFF\r\nabc\r\n", refused)
        p.probe("POST /v1/packages", post + "Transfer-Encoding: chunked\r\n\r\n200000\r\n" + String(repeating: "z", count: 1000), refused)
        p.probe("POST /v1/packages", post + "Transfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n", refused)
        p.probe("POST /v1/packages", post + "Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", refused)
        p.probe("POST /v1/packages", post + "Content-Length: 100000\r\n\r\n" + String(repeating: "q", count: 100), refused)  // truncated, then EOF
        p.probe(
            "POST /v1/packages", post + "Content-Length: 5\r\n\r\nhello", { s, body in s == 400 && body.contains("\"code\":\"container_malformed\"") }
        )
        _ = try f.seal("HCM-U001", seq: 2)
        let pkg = f.w.read("HCM-U001-2.sgp")
        #expect(pkg.count > 10_000)
        // a real package cut in half
        p.probe("POST /v1/packages", Array((post + "Content-Length: \(pkg.count)\r\n\r\n").utf8) + pkg.prefix(pkg.count / 2), refused)
        p.probe(
            "POST /v1/packages", Array((post + "Content-Length: 2000000\r\n\r\n").utf8) + [UInt8](repeating: 0, count: 600),
            { s, body in
                s == 413 && body.contains("package_too_large")
            })

        // Bad JSON where JSON is read.
        let keys = "POST /v1/units/HCM-U001/keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        for body in [
            "{", "null", "[]", "{\"unit\":1e999}", "{\"unit\":99999999999999999999999999}", String(repeating: "[", count: 60_000),
            "{\"a\":\"\\ud800\"}", "\u{FEFF}{}", "{\"unit\":\"HCM-U001\",\"old_key\":\"x\",\"new_key\":\"y\"}",
        ] {
            p.probe("POST /v1/units/{id}/keys", keys + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body) { s, text in
                s == 422 && text.contains("\"code\":\"rotation_invalid\"")
            }
        }
        p.probe("POST /v1/units/{id}/keys", Array((keys + "Content-Length: 4\r\nConnection: close\r\n\r\n").utf8) + [0xFF, 0xFE, 0x00, 0xC0]) {
            s, text in
            s == 422 && text.contains("rotation_invalid")
        }
        p.probe("POST /v1/units/{id}/keys", keys + "Content-Length: 70000\r\nConnection: close\r\n\r\n" + String(repeating: " ", count: 70000)) {
            s, text in
            s == 413 && text.contains("rotation_invalid")
        }

        // A body on a route that reads none: answered, and the connection closed rather than
        // drained for ever.
        for route in ["/healthz", "/v1/nothing"] {
            let (head, broke) = try Self.endlessBody(port: gw.port, "GET \(route) HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000000\r\n\r\n")
            #expect(head.lowercased().contains("connection: close") && broke, "\(route): \(head)")
        }

        // Still serving: a genuine package gets its receipt.
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 1)).status == 201)
        print("hostile suite (gateway): \(p.probes) probes over \(p.routes.count) routes: \(p.routes.sorted().joined(separator: ", "))")
        #expect(p.probes >= 180)
    }

    @Test func strangersCannotCrashTheHandbookReceiver() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gateway()
        defer { gw.stop() }
        let hb = try c.handbook()
        defer { hb.stop() }
        var p = Prober(port: hb.port, alive: Self.alive(hb, health: "/v1/health"))
        p.get("/v1/health", "/v1/health?x=1", 400, code: "bad_parameter")
        p.get("/v1/datasets", "/v1/datasets?start=-1", 400, code: "bad_parameter")
        p.get("(unknown)", "/v1/nothing", 404, code: "not_found")
        for line in ["TRACE / ", "TRACE /v1/health ", "OPTIONS * "] {
            p.probe("(any)", line + "HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Self.methodRefused)
        }
        let post = "POST /v1/datasets HTTP/1.1\r\nHost: x\r\n"
        let refused: (Int?, String) -> Bool = { s, _ in s == nil || (s! >= 400 && s! < 500) }
        p.probe("POST /v1/datasets", post + "Content-Length: 5\r\nConnection: close\r\n\r\nhello") { s, body in
            s == 422 || s == 400 && body.contains("\"code\":")
        }
        p.probe("POST /v1/datasets", post + "Content-Length: 99999999999999999999\r\n\r\n", refused)
        p.probe("POST /v1/datasets", post + "Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", refused)
        p.probe("POST /v1/datasets", post + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFFF\r\n", refused)
        p.probe("POST /v1/datasets", post + "Content-Length: 100000\r\n\r\nabc", refused)
        p.probe("(any)", "GET /" + String(repeating: "a", count: 200_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", refused)
        p.probe("(any)", "GET /v1/health HTTP/9.9\r\nHost: x\r\n\r\n") { s, body in s == 400 && body.contains("\"code\":\"bad_request\"") }
        p.probe("POST /v1/datasets", post + "Content-Length: 600\r\nConnection: close\r\n\r\n" + String(repeating: "\u{0}", count: 600)) { s, body in
            s == 400 && body.contains("\"code\":\"container_malformed\"")
        }
        let (head, broke) = try Self.endlessBody(port: hb.port, "GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000000\r\n\r\n")
        #expect(head.lowercased().contains("connection: close") && broke, "\(head)")
        print("hostile suite (handbook receiver): \(p.probes) probes over \(p.routes.count) routes")
    }

    /// A 405 `method_not_allowed` problem naming the methods taken.
    static func methodRefused(_ s: Int?, _ body: String) -> Bool {
        s == 405 && body.contains("\"code\":\"method_not_allowed\"") && body.lowercased().contains("\r\nallow: ")
    }

    /// Issue #21 (3): a declared length over the route's limit — beyond `Int`, beyond 2^64−1
    /// (which the HTTP parser cannot hold) — is refused from the head on every route that reads
    /// a body: 413, coded, `Connection: close`, answered before a body byte is sent (so none is
    /// read or spooled) and the connection closed; with `Expect: 100-continue` no 100 comes first.
    @Test func declaredLengthsOverTheLimitAreRefusedFromTheHead() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gateway()
        defer { gw.stop() }
        let hb = try c.handbook()
        defer { hb.stop() }
        let huge = ["9223372036854775808", "18446744073709551615", "18446744073709551616", String(repeating: "9", count: 30)]
        let routes: [(port: Int, target: String, code: String, justOver: String)] = [
            (gw.port, "/v1/packages", "package_too_large", "268435457"), (gw.port, "/v1/units/HCM-U001/keys", "rotation_invalid", "65537"),
            (hb.port, "/v1/datasets", "package_too_large", "4294967297"),
        ]
        for r in routes {
            for length in [r.justOver] + huge {
                for expect in ["", "Expect: 100-continue\r\n"] {
                    let what = "POST \(r.target), Content-Length \(length)\(expect.isEmpty ? "" : ", Expect")"
                    let conn = try HeadFirst(port: r.port, "POST \(r.target) HTTP/1.1\r\nHost: x\r\n\(expect)Content-Length: \(length)\r\n\r\n")
                    let a = try conn.answer()
                    // The parser cannot hold more than 2^64−1: refused before any route, with the HTTP layer's code.
                    let code = UInt64(length) == nil ? "body_too_large" : r.code
                    #expect(a.status == 413 && a.body.contains("\"code\":\"\(code)\""), "\(what): \(a.head) \(a.body)")
                    #expect(a.head.lowercased().contains("\r\nconnection: close\r\n"), "\(what): \(a.head)")
                    #expect(conn.closedByServer(), "\(what): the connection stays open")
                }
            }
        }
        #expect(gw.process.isRunning && hb.process.isRunning)
    }

    /// Issue #21 (3): `Expect: 100-continue` is answered `100 Continue` only once the head has
    /// passed every check decidable from it (route, method, parameters, token, declared length);
    /// otherwise the refusal comes instead, before any body byte is sent. HTTP/1.0 gets no 100.
    @Test func expectContinueIsAnsweredFromTheHead() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gateway()
        defer { gw.stop() }
        let hb = try c.handbook()
        defer { hb.stop() }
        let expect = "Host: x\r\nExpect: 100-continue\r\n"

        // A head that passes: 100 before any body byte, then the body, then the receipt.
        let pkg = [UInt8](FileManager.default.contents(atPath: try c.f.seal("HCM-U001", seq: 1)) ?? Data())
        let ok = try HeadFirst(port: gw.port, "POST /v1/packages HTTP/1.1\r\n\(expect)Content-Length: \(pkg.count)\r\nConnection: close\r\n\r\n")
        let interim = try ok.answer()
        #expect(interim.status == 100 && interim.head.hasPrefix("HTTP/1.1 100 "), "\(interim.head)")
        try ok.send(pkg)
        let receipt = try ok.answer()
        #expect(receipt.status == 201 && receipt.body.contains("\"status\":\"accepted\""), "\(receipt.head) \(receipt.body.prefix(300))")
        // The handbook receiver: 100, then a body that is not a package is refused.
        let dataset = try HeadFirst(port: hb.port, "POST /v1/datasets HTTP/1.1\r\n\(expect)Content-Length: 600\r\nConnection: close\r\n\r\n")
        let datasetInterim = try dataset.answer()
        #expect(datasetInterim.status == 100, "\(datasetInterim.head)")
        try dataset.send([UInt8](repeating: 0, count: 600))
        let notPackage = try dataset.answer()
        #expect(notPackage.status == 400 && notPackage.body.contains("\"code\":\"container_malformed\""), "\(notPackage.body)")

        // Heads that fail: the refusal instead of 100, and the connection closed.
        let refused: [(port: Int, line: String, headers: String, status: Int, code: String)] = [
            (gw.port, "POST /v1/nothing", "", 404, "not_found"), (gw.port, "DELETE /v1/packages", "", 405, "method_not_allowed"),
            (gw.port, "POST /v1/packages?x=1", "", 400, "bad_parameter"), (gw.port, "POST /v1/units/hcm-u001/keys", "", 400, "bad_parameter"),
            (gw.port, "POST /v1/packages", "Authorization: Bearer sgt_not-a-token\r\n", 401, "unauthorized"),
            (gw.port, "POST /v1/units/HCM-U001/keys", "Authorization: Bearer sgt_not-a-token\r\n", 401, "unauthorized"),
            (hb.port, "POST /v1/datasets?x=1", "", 400, "bad_parameter"), (hb.port, "POST /v1/nothing", "", 404, "not_found"),
        ]
        for r in refused {
            let conn = try HeadFirst(port: r.port, "\(r.line) HTTP/1.1\r\n\(expect)\(r.headers)Content-Length: 1000\r\n\r\n")
            let a = try conn.answer()
            #expect(a.status == r.status && a.body.contains("\"code\":\"\(r.code)\""), "\(r.line): \(a.head) \(a.body)")
            #expect(a.head.lowercased().contains("\r\nconnection: close\r\n") && conn.closedByServer(), "\(r.line): \(a.head)")
        }

        // HTTP/1.0 knows no 100: the expectation is ignored, the body read as it comes.
        let old = try HeadFirst(port: hb.port, "POST /v1/datasets HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 600\r\n\r\n")
        try old.send([UInt8](repeating: 0, count: 600))
        let oldAnswer = try old.answer()
        #expect(oldAnswer.head.hasPrefix("HTTP/1.0 400 ") && oldAnswer.body.contains("container_malformed"), "\(oldAnswer.head)")
    }

    /// Issue #21 (13): HTTP/1.0 is answered as HTTP/1.0 and the connection closed after the
    /// answer, unless the request asked `Connection: keep-alive`; HTTP/1.1 stays as it was.
    @Test func http10IsAnsweredAsHTTP10() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let once = try HeadFirst(port: gw.port, "GET /healthz HTTP/1.0\r\n\r\n")
        let a = try once.answer()
        #expect(a.head.hasPrefix("HTTP/1.0 200 ") && a.body.contains("\"status\":\"ok\""), "\(a.head)")
        #expect(once.closedByServer(), "an HTTP/1.0 connection without keep-alive stays open")
        let refusal = try HeadFirst(port: gw.port, "GET /v1/nothing HTTP/1.0\r\n\r\n")
        let r = try refusal.answer()
        #expect(r.head.hasPrefix("HTTP/1.0 404 ") && r.body.contains("not_found") && refusal.closedByServer(), "\(r.head)")

        // keep-alive asked: kept, said so, and the next request answered on the same connection.
        let kept = try HeadFirst(port: gw.port, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        let first = try kept.answer()
        #expect(first.head.hasPrefix("HTTP/1.0 200 ") && first.head.lowercased().contains("\r\nconnection: keep-alive\r\n"), "\(first.head)")
        try kept.send(Array("GET /v1/trust HTTP/1.0\r\n\r\n".utf8))
        let second = try kept.answer()
        #expect(second.head.hasPrefix("HTTP/1.0 200 ") && second.body.contains("sealgate-trust/1"), "\(second.head)")
        #expect(kept.closedByServer())

        // HTTP/1.1: kept alive by default, as before.
        let v11 = try HeadFirst(port: gw.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let v11First = try v11.answer()
        #expect(v11First.head.hasPrefix("HTTP/1.1 200 "), "\(v11First.head)")
        try v11.send(Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        let v11Second = try v11.answer()
        #expect(v11Second.head.hasPrefix("HTTP/1.1 200 "), "\(v11Second.head)")
    }

    /// Security review of the head gate (1): an HTTP/1.0 request with a `Transfer-Encoding` has
    /// faulty framing (RFC 9112 section 6.1): it is refused from its head, a coded 400 answered as
    /// HTTP/1.0 with `Connection: close`, and the connection closed, keep-alive asked or not. Its
    /// body is never read (with the head alone, the refusal comes before a body byte is sent) and a
    /// request pipelined behind it is never answered. HTTP/1.1 chunked goes on as before.
    @Test func http10WithATransferCodingIsRefused() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let behind = "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        for coding in ["chunked", "gzip, chunked"] {
            for connection in ["Connection: keep-alive\r\n", ""] {
                let what = "HTTP/1.0, \(connection.isEmpty ? "no keep-alive" : "keep-alive"), Transfer-Encoding: \(coding)"
                let head = "POST /v1/packages HTTP/1.0\r\n\(connection)Transfer-Encoding: \(coding)\r\n\r\n"
                // All at once: the head, a chunked body, a second request.
                let all = try HeadFirst(port: gw.port, head + "5\r\nhello\r\n0\r\n\r\n" + behind)
                let a = try all.answer()
                #expect(a.head.hasPrefix("HTTP/1.0 400 ") && a.body.contains("\"code\":\"bad_request\""), "\(what): \(a.head) \(a.body)")
                #expect(a.body.contains("Transfer-Encoding"), "\(what): \(a.body)")
                #expect(a.head.lowercased().contains("\r\nconnection: close\r\n"), "\(what): \(a.head)")
                let rest = all.untilClosed()
                #expect(rest == [], "\(what): after the refusal \(rest.map { String(decoding: $0, as: UTF8.self) } ?? "the connection stays open")")
                // The head alone: refused before the body is sent.
                let alone = try HeadFirst(port: gw.port, head)
                let b = try alone.answer()
                #expect(b.head.hasPrefix("HTTP/1.0 400 ") && b.body.contains("\"code\":\"bad_request\""), "\(what), head alone: \(b.head) \(b.body)")
                #expect(alone.closedByServer(), "\(what), head alone: the connection stays open")
            }
        }
        // HTTP/1.1 chunked: the body read (not a package), and the request behind it answered.
        let v11 = try HeadFirst(
            port: gw.port,
            "POST /v1/packages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let first = try v11.answer()
        #expect(first.status == 400 && first.body.contains("\"code\":\"container_malformed\""), "\(first.head) \(first.body)")
        let second = try v11.answer()
        #expect(second.status == 200 && second.body.contains("\"status\":\"ok\""), "\(second.head) \(second.body)")
        #expect(gw.process.isRunning)
    }

    /// Security review of the head gate (2): what an earlier request's body carried is never read
    /// as a header of the next head. A body holding the line `Content-Length: 99999999999999999999999`
    /// (with a Content-Length or chunked), followed on the connection by a head with
    /// `Content-Length: 1x`, gets 400 `bad_request`, not 413 — sent in two writes or at once; nor is
    /// a line after the refused head taken for one of its headers. A head declaring a length beyond
    /// 2^64−1 after such a body is still refused 413 `body_too_large`.
    @Test func bodiesAreNeverReadAsTheNextHead() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let body = "xxxx\r\nContent-Length: 99999999999999999999999\r\nyyyy\r\n"
        let firsts = [
            ("Content-Length", "POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body),
            (
                "chunked",
                "POST /v1/packages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "\(String(body.utf8.count, radix: 16))\r\n\(body)\r\n0\r\n\r\n"
            ),
        ]
        let nexts = [
            ("1x", "POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400, "bad_request"),
            ("beyond 2^64-1", "POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413, "body_too_large"),
        ]
        for (framing, first) in firsts {
            for (length, next, status, code) in nexts {
                for atOnce in [false, true] {
                    let what = "a \(framing) body, then Content-Length \(length)\(atOnce ? ", at once" : "")"
                    let conn = try HeadFirst(port: gw.port, atOnce ? first + next : first)
                    let a = try conn.answer()
                    #expect(a.status == 400 && a.body.contains("\"code\":\"container_malformed\""), "\(what): \(a.head) \(a.body)")
                    if !atOnce { try conn.send(Array(next.utf8)) }
                    let b = try conn.answer()
                    #expect(b.status == status && b.body.contains("\"code\":\"\(code)\""), "\(what): \(b.head) \(b.body)")
                    #expect(conn.closedByServer(), "\(what): the connection stays open")
                }
            }
        }
        let after = try HeadFirst(port: gw.port, nexts[0].1 + "Content-Length: 99999999999999999999999\r\n\r\n")
        let c = try after.answer()
        #expect(c.status == 400 && c.body.contains("\"code\":\"bad_request\""), "a line after the head: \(c.head) \(c.body)")
        #expect(gw.process.isRunning)
    }

    /// A package whose age header names more recipients than the gateway unwraps (16) is
    /// refused with a code, after its signature, before any stanza costs an X25519.
    @Test func tooManyRecipientStanzasAreRefused() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let others = try (0..<16).map { _ in try AgeX25519Identity.generate().recipient }
        let p = f.w.file("many.sgp")
        _ = try Sealer.seal(
            SealRequest(
                unit: "HCM-U001", seq: 1, kind: .snapshot,
                inputs: [
                    .init(name: "organizations.csv", path: f.w.file("city/HCM-U001/organizations.csv")),
                    .init(name: "members.csv", path: f.w.file("city/HCM-U001/members.csv")),
                ],
                recipients: others + [f.recipient], signer: f.signerA, output: p))
        let r = try f.post(gw, p)
        #expect(
            r.status == 422 && r.text.contains("\"code\":\"age_header_malformed\"") && r.text.contains("more than 16 recipient stanzas"), "\(r.text)")
        // Sixteen are fine.
        _ = try Sealer.seal(
            SealRequest(
                unit: "HCM-U001", seq: 2, kind: .snapshot,
                inputs: [
                    .init(name: "organizations.csv", path: f.w.file("city/HCM-U001/organizations.csv")),
                    .init(name: "members.csv", path: f.w.file("city/HCM-U001/members.csv")),
                ],
                recipients: Array(others.prefix(15)) + [f.recipient], signer: f.signerA, output: f.w.file("sixteen.sgp")))
        #expect(try f.post(gw, f.w.file("sixteen.sgp")).status == 201)
    }

    /// Hostile servers never crash the clients: every exchange ends by itself (the command is
    /// killed after 60 s otherwise, and fails with 124) in the one coded error its mode calls for:
    /// an endless answer cut at the response limit, a slow drip at the client's timeout, every
    /// malformed or cut answer an HTTP error.
    @Test func hostileServersNeverCrashTheClients() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        gw.stop()
        let pkg = try f.seal("HCM-U001", seq: 1)
        let codes: [HostileServer.Mode: String] = [
            .badStatusLine: "http_error", .garbage: "http_error", .badChunkSize: "http_error", .overflowingChunkSize: "http_error",
            .endlessBody: "response_too_large", .hugeContentLength: "http_error", .slowDrip: "http_timeout", .closeAtOnce: "http_error",
            .truncatedBody: "http_error",
        ]
        #expect(Set(codes.keys) == Set(HostileServer.Mode.allCases), "a mode without its expected code")
        for mode in HostileServer.Mode.allCases {
            let server = try HostileServer(modes: [mode])
            defer { server.stop() }
            let commands: [[String]] = [
                ["trust", "fetch", "--gateway", server.url, "--root", "dept/keys/root.pub", "-o", "t-\(mode).json"],
                ["submit", "--gateway", server.url, "--trust", "trust.json", pkg],
                ["log", "verify", "--gateway", server.url, "--trust", "trust.json"],
            ]
            for args in commands {
                let r = try CLI.sgBounded(args + ["--timeout", "3", "--json"], cwd: f.w.path, seconds: 60)
                let code = jsonCode(r)
                #expect(r.status == 1 && code == codes[mode], "\(mode) \(args[0]): exit \(r.status) \(r.out) \(r.stderr.prefix(300))")
            }
        }
    }

    /// The forwarder against a handbook endpoint that answers like a hostile server: every
    /// attempt fails with a recorded error, the gateway keeps running and serving.
    @Test func hostileHandbookEndpointNeverCrashesTheForwarder() throws {
        let c = try CityCycle(units: 2)
        let server = try HostileServer(modes: HostileServer.Mode.allCases)
        defer { server.stop() }
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        try c.connect(server.url)
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        #expect(
            try c.waitFor("every hostile mode tried", seconds: 120) {
                (try c.dataset(1)["attempts"]?.int ?? 0) >= Int64(HostileServer.Mode.allCases.count)
            },
            "\((try? c.dataset(1)) ?? .null)")
        #expect(gw.process.isRunning)
        #expect(try RawHTTP.request("GET", gw.url + "/healthz").status == 200)
        let d = try c.dataset(1)
        #expect(d["state"]?.string == "pending" && (d["last_error"]?.string?.isEmpty == false), "\(d)")
    }
}

/// One connection on which a request's head goes first: what the server answers is read before
/// any body byte is sent (`100 Continue`, or a refusal decided from the head), then the body may
/// follow and the final answer be read.
final class HeadFirst {
    let fd: Int32
    private var pending: [UInt8] = []

    init(port: Int, _ head: String) throws {
        fd = try RawHTTP.connect(host: "127.0.0.1", port: port, timeout: 10)
        try RawHTTP.sendAll(fd, Array(head.utf8))
    }

    deinit { close(fd) }

    /// Reads more: its byte count, 0 at the server's close, -1 on a timeout or an error.
    private func more() -> Int {
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n > 0 { pending += buf[0..<n] }
            return n
        }
    }

    func send(_ bytes: [UInt8]) throws { try RawHTTP.sendAll(fd, bytes) }

    /// The next answer (an interim `100 Continue` too): status, head as sent, body by its length.
    func answer() throws -> (status: Int, head: String, body: String) {
        while pending.firstRange(of: [13, 10, 13, 10]) == nil {
            guard more() > 0 else { throw RawHTTP.Failure("no answer; read so far: \(String(decoding: pending.prefix(300), as: UTF8.self))") }
        }
        let end = pending.firstRange(of: [13, 10, 13, 10])!.upperBound
        let head = String(decoding: pending[..<end], as: UTF8.self)
        pending.removeFirst(end)
        var length = 0
        for line in head.lowercased().components(separatedBy: "\r\n") where line.hasPrefix("content-length:") {
            length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        while pending.count < length, more() > 0 {}
        let body = String(decoding: pending.prefix(length), as: UTF8.self)
        pending.removeFirst(min(length, pending.count))
        return (RawHTTP.statusCode(Array(head.utf8)) ?? 0, head, body)
    }

    /// What comes until the server closes the connection, with what earlier answers left unread;
    /// nil when it is still open at the read timeout.
    func untilClosed() -> [UInt8]? {
        while true {
            let n = more()
            if n == 0 || (n < 0 && errno == ECONNRESET) { return pending }
            if n < 0 { return nil }
        }
    }

    /// True when the server closes the connection (what else comes is read and dropped); false
    /// when it is still open at the read timeout.
    func closedByServer() -> Bool {
        while true {
            let n = more()
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }
}
