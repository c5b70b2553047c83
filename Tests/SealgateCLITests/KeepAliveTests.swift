import Foundation
import TestSupport
import Testing

/// A kept-alive connection: several requests on one connection, closed once idle for
/// `--idle-timeout` (every other test sends `Connection: close`).
struct KeepAliveTests {
    /// Waits for the server to close `fd`: true when it did (the read ends), false when the read
    /// timed out first or bytes came.
    static func closedByServer(_ fd: Int32) -> Bool {
        var b = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = b.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            return n == 0 || (n < 0 && errno == ECONNRESET)
        }
    }

    /// Requests one after another on one connection — a GET, a package whose body comes in more
    /// slowly than the idle timeout (a request in progress is not idle), another GET — each
    /// answered on it; then, with nothing more asked, the server closes it (`--idle-timeout 2`;
    /// the client would wait 60 s). Two requests sent at once are both answered, in order.
    @Test func requestsShareAConnectionUntilItIsIdle() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: ["--idle-timeout", "2", "--body-grace", "30"])
        defer { gw.stop() }
        let fd = try RawHTTP.connect(host: "127.0.0.1", port: gw.port, timeout: 60)
        defer { close(fd) }
        let host = "Host: 127.0.0.1:\(gw.port)\r\n"

        try RawHTTP.sendAll(fd, Array("GET /healthz HTTP/1.1\r\n\(host)\r\n".utf8))
        let health = try RawHTTP.response(from: fd)
        #expect(health.status == 200 && health.headers["connection"]?.lowercased() != "close", "\(health.status) \(health.headers)")

        let body = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try f.seal("HCM-U001", seq: 1))))
        let head = "POST /v1/packages HTTP/1.1\r\n\(host)Content-Type: application/vnd.sealgate.package\r\nContent-Length: \(body.count)\r\n\r\n"
        try RawHTTP.sendAll(fd, Array(head.utf8))
        // Four parts, 1.5 s apart: 4.5 s in all, longer than the idle timeout, far above the minimum rate.
        let part = (body.count + 3) / 4
        for i in 0..<4 {
            if i > 0 { Thread.sleep(forTimeInterval: 1.5) }
            try RawHTTP.sendAll(fd, Array(body[(i * part)..<min(body.count, (i + 1) * part)]))
        }
        let accepted = try RawHTTP.response(from: fd)
        #expect(accepted.status == 201, "\(accepted.status) \(accepted.text.prefix(300))")

        try RawHTTP.sendAll(fd, Array("GET /v1/trust HTTP/1.1\r\n\(host)\r\n".utf8))
        let trust = try RawHTTP.response(from: fd)
        #expect(trust.status == 200 && trust.text.contains("\"department\""), "\(trust.status) \(trust.text.prefix(200))")
        // Nothing more: the server closes the connection after the idle timeout.
        #expect(Self.closedByServer(fd), "the idle connection was not closed by the server")

        // Pipelined: two requests in one write, each answered, in order, before the close asked for.
        let pipelined = try RawHTTP.exchange(
            port: gw.port, Array("GET /healthz HTTP/1.1\r\n\(host)\r\nGET /v1/log/checkpoint HTTP/1.1\r\n\(host)Connection: close\r\n\r\n".utf8),
            timeout: 60, halfClose: false)
        let text = String(decoding: pipelined.bytes, as: UTF8.self)
        // (An answer's body ends where the next status line begins: no line break between them.)
        let statuses = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(6) }
        #expect(statuses == ["200 OK", "200 OK"], "\(text)")
        #expect(text.contains("\"status\":\"ok\"") && text.contains("/log\n"), "\(text)")
    }
}
