import Foundation
import GatewayCore
import TestSupport
import Testing

/// Connections a stranger holds open for the price of a byte now and then.
struct SlowClientTests {
    /// A socket that sends `head`, then one byte every `tick` seconds until the server closes it.
    final class Trickler: @unchecked Sendable {
        let fd: Int32
        private(set) var closedByServer = false
        init(port: Int, head: String) throws {
            fd = try RawHTTP.connect(host: "127.0.0.1", port: port, timeout: 5)
            try RawHTTP.sendAll(fd, Array(head.utf8))
        }
        /// One byte more; true while the server still holds the connection.
        func tick() -> Bool {
            guard !closedByServer else { return false }
            var b = [UInt8](repeating: 0, count: 4096)
            let n = b.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || n > 0 {
                closedByServer = true
                return false
            }
            let sent = [UInt8(ascii: "a")].withUnsafeBytes { send(fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }
            if sent < 0 { closedByServer = true }
            return !closedByServer
        }
        deinit { close(fd) }
    }

    /// Trickles on every connection until all are closed by the server or `seconds` pass;
    /// returns how many the server closed.
    static func trickle(_ all: [Trickler], seconds: Double) -> Int {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            var open = 0
            for t in all where t.tick() { open += 1 }
            if open == 0 { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        return all.filter(\.closedByServer).count
    }

    /// A body sent a byte at a time (every half second: an idle timer alone never fires) is cut
    /// off once the grace is over and it is below the minimum rate; so is a head sent a byte at
    /// a time. The server keeps serving meanwhile.
    @Test func tricklingBodiesAndHeadsAreCutOff() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: ["--header-timeout", "3", "--body-grace", "2", "--min-body-rate", "1KiB"])
        defer { gw.stop() }
        let body = try Trickler(port: gw.port, head: "POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
        let head = try Trickler(port: gw.port, head: "POST /v1/packages HTTP/1.1\r\nHo")
        #expect(Self.trickle([body, head], seconds: 60) == 2, "a trickling connection was never cut off")
        #expect(body.closedByServer && head.closedByServer)
        #expect(try RawHTTP.request("GET", gw.url + "/healthz").status == 200)
    }

    /// 200 half-open trickling connections (half of them in their head, half in their body) do
    /// not keep a genuine unit out: its package gets its 201 while they trickle — before the
    /// guard's deadline for them, every one still held when the answer is in (a gateway wedged
    /// until the tricklers are cut off would answer only after); then the server cuts every one
    /// of them off. The handbook receiver has the same limits.
    @Test func twoHundredTricklersDoNotWedgeTheGateway() throws {
        let f = try GatewayFixture()
        let cutOff = 30  // seconds: the tricklers' head timeout and body grace
        let gw = try GatewayProcess(
            data: "dept", cwd: f.w.path, extra: ["--header-timeout", "\(cutOff)", "--body-grace", "\(cutOff)", "--min-body-rate", "1KiB"])
        defer { gw.stop() }
        let p = try f.seal("HCM-U001", seq: 1)
        let tricklers = try (0..<200).map { i in
            try Trickler(
                port: gw.port,
                head: i % 2 == 0 ? "POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nab" : "POST /v1/packages HTTP/1.1\r\nHo")
        }
        for t in tricklers { _ = t.tick() }
        // The genuine upload waits no longer than the cut-off for an answer (not the client's 120 s) …
        let genuine = try RawHTTP.request(
            "POST", gw.url + "/v1/packages", headers: ["Content-Type": "application/vnd.sealgate.package"], bodyFile: p, timeout: cutOff - 5)
        #expect(genuine.status == 201, "\(genuine.status) \(genuine.text.prefix(200))")
        // … and its answer came while the server still held every trickler.
        let held = tricklers.filter { $0.tick() }.count
        #expect(held == 200, "the genuine answer came only after \(200 - held) trickler(s) were cut off")
        #expect(Self.trickle(tricklers, seconds: 90) == 200, "some trickling connections were never cut off")
        #expect(try RawHTTP.request("GET", gw.url + "/healthz").status == 200)

        // The handbook receiver.
        try requireOK(try CLI.sg(["handbook", "init", "--data", "hb", "--unencrypted"], cwd: f.w.path))
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let hb = try GatewayProcess(
            arguments: [
                "handbook", "serve", "--data", "hb", "--trust", "trust.json", "--port", "0", "--header-timeout", "3", "--body-grace", "2",
                "--min-body-rate", "1KiB",
            ], cwd: f.w.path)
        defer { hb.stop() }
        let hbTricklers = try [
            Trickler(port: hb.port, head: "POST /v1/datasets HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nab"),
            Trickler(port: hb.port, head: "GET /v1/hea"),
        ]
        #expect(Self.trickle(hbTricklers, seconds: 60) == 2)
        #expect(try RawHTTP.request("GET", hb.url + "/v1/health").status == 200)
    }
}

/// A fault of the gateway's own is never a decision: 503 with Retry-After, nothing recorded,
/// and the same package sent again gets its 201. A forgery naming a unit burns nothing.
struct GatewayFaultTests {
    @Test(arguments: ["intake.open=enospc:1", "intake.open=emfile:1", "intake.admit=eio:1", "intake.receive=emfile:1"])
    func aFaultOfOursIsA503AndTheRetrySucceeds(_ failpoint: String) throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, env: ["SEALGATE_FAILPOINTS": failpoint])
        defer { gw.stop() }
        let entries = { (try JSON(parsing: try RawHTTP.request("GET", gw.url + "/v1/log/entries").text).array ?? []).count }
        let spool = { try FileManager.default.contentsOfDirectory(atPath: f.w.file("dept/spool")).filter { $0 != ".serve.lock" } }
        let p = try f.seal("HCM-U001", seq: 1)
        let before = try entries()
        // The genuine package meets the fault: 503, Retry-After, nothing logged, nothing kept.
        let faulted = try f.post(gw, p)
        #expect(
            faulted.status == 503 && faulted.headers["retry-after"] != nil && faulted.headers["content-type"] == "application/problem+json",
            "\(faulted.status) \(faulted.text)")
        // Its code, not its cause: no path, no errno text, no failpoint name.
        for cause in ["failpoint", f.w.path, "/spool", "Too many open files", "No space left"] {
            #expect(!faulted.text.contains(cause), "the answer names \(cause): \(faulted.text)")
        }
        let spooled = try spool()
        #expect(try entries() == before && spooled.isEmpty, "a fault was recorded: \(spooled)")
        // A forgery of the same seq: HCM-U001's seq 1 with its payload altered (the unit's signature no longer holds).
        var bytes = f.w.read("HCM-U001-1.sgp")
        bytes[bytes.count - 2048] ^= 0x01
        f.w.write("forged.sgp", bytes: bytes)
        let forged = try f.post(gw, f.w.file("forged.sgp"))
        #expect(forged.status == 422 && forged.text.contains("\"code\":\"signature_invalid\""), "\(forged.text)")
        #expect(try entries() == before && spool().isEmpty)
        // Sent again: accepted — the fault claimed no seq, nor did the forgery.
        let retry = try f.post(gw, p)
        #expect(retry.status == 201, "\(retry.status) \(retry.text.prefix(300))")
        #expect(try entries() == before + 1)
    }

    /// A decision committed whose log head could not be written: the unit is told to send it
    /// again (503), and the replay — or the receipt read back — is answered only once a log head
    /// covering the receipt's checkpoint is durable (the gateway's word is kept before it is given).
    @Test(arguments: ["replay", "read back"])
    func aStoredReceiptIsAnsweredOnlyOnceTheLogHeadCoversIt(_ how: String) throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, env: ["SEALGATE_FAILPOINTS": "log.head=eio:1"])
        defer { gw.stop() }
        let head = { () throws -> Int64 in
            let path = f.w.file("dept/log-head.json")
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return -1 }  // lint: allow try? — no head yet
            return try JSON(parsing: text)["size"]?.int ?? -1
        }
        let p = try f.seal("HCM-U001", seq: 1)
        let faulted = try f.post(gw, p)
        #expect(faulted.status == 503, "\(faulted.status) \(faulted.text.prefix(300))")
        let package = try #require(try JSON(parsing: try CLI.sg(["inspect", p, "--json"], cwd: f.w.path).out)["result"]?["package"]?.string)
        let admin = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: f.w.path).out.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let answer =
            how == "replay"
            ? try f.post(gw, p)
            : try RawHTTP.request("GET", gw.url + "/v1/packages/\(package)", headers: ["Authorization": "Bearer \(admin)"])
        #expect(answer.status == 200, "\(answer.status) \(answer.text.prefix(300))")
        let leaf = try #require(try JSON(parsing: answer.text)["leaf"]?.int)
        let kept = try head()
        #expect(kept >= leaf + 1, "the receipt of leaf \(leaf) left before a head covered it (head \(kept))")
    }
}
