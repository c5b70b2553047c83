public import Foundation
public import SealCrypto

/// A small blocking HTTP/1.1 client (plain HTTP) for the unit's side: `submit`, `trust fetch`.
/// One request per connection; bodies streamed from a file; responses read by Content-Length
/// or chunked encoding. Timeouts on connect, send and receive.
public enum HTTPClient {
    public struct Response: Sendable {
        public let status: Int
        public let headers: [String: String] // lower-cased names
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    static func parse(_ url: String) throws -> (host: String, port: Int, path: String) {
        guard url.hasPrefix("http://") else {
            throw GatewayError(.httpError, "only http:// URLs are supported by this client (\(url))",
                               remedy: "use the gateway's http:// address; put TLS in front with a reverse proxy")
        }
        let rest = url.dropFirst(7)
        let hostPort = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(hostPort.count)
        var host = String(hostPort), port = 80
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasPrefix("[") || hostPort[..<colon].hasSuffix("]") {
            host = String(hostPort[..<colon]); port = Int(hostPort[hostPort.index(after: colon)...]) ?? 80
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port, path.isEmpty ? "/" : String(path))
    }

    /// Sends one request. `bodyFile` streams a file as the body.
    public static func request(_ method: String, _ url: String, headers: [String: String] = [:], body: [UInt8]? = nil, bodyFile: String? = nil,
                               timeout: Int = 120) throws -> Response {
        let (host, port, path) = try parse(url)
        let fd = try connect(host: host, port: port, timeout: timeout)
        defer { close(fd) }
        var bodyLength = body?.count ?? 0
        var file: FileSource?
        if let bodyFile { let f = try FileSource(path: bodyFile); file = f; bodyLength = Int(try f.size()) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nUser-Agent: sealgate/0.1\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if body != nil || bodyFile != nil { head += "Content-Length: \(bodyLength)\r\n" }
        head += "\r\n"
        try sendAll(fd, Array(head.utf8))
        if let body { try sendAll(fd, body) }
        if let file {
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let n = try buf.withUnsafeMutableBytes { try file.read(into: $0) }
                if n == 0 { break }
                try sendAll(fd, Array(buf[0..<n]))
            }
        }
        return try readResponse(fd)
    }

    /// A connected TCP socket (blocking, with send/receive timeouts).
    public static func connect(host: String, port: Int, timeout: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let first = res else {
            throw GatewayError(.httpError, "cannot resolve \(host)", remedy: "check the gateway URL")
        }
        defer { freeaddrinfo(res) }
        var ai: UnsafeMutablePointer<addrinfo>? = first
        var lastErrno: Int32 = 0
        while let a = ai {
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd >= 0 {
                var tv = timeval(tv_sec: timeout, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
                lastErrno = errno
                close(fd)
            }
            ai = a.pointee.ai_next
        }
        throw GatewayError(.httpError, "cannot connect to \(host):\(port)", remedy: "check that the gateway is running and the URL is right",
                           underlying: String(cString: strerror(lastErrno)))
    }

    public static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = send(fd, b.baseAddress! + done, b.count - done, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw GatewayError(.httpError, "connection broke while sending", remedy: "retry; if it persists the gateway may be refusing large bodies",
                                       underlying: String(cString: strerror(errno)))
                }
                done += n
            }
        }
    }

    static func readResponse(_ fd: Int32) throws -> Response {
        var data = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        func more() throws -> Bool {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { return true }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    throw GatewayError(.httpError, "no answer from the server: timed out", remedy: "retry later; if it was a submission, the package may have been received — check with GET /v1/packages/{id}")
                }
                throw GatewayError(.httpError, "no answer from the server", remedy: "retry later; the package may have been received — check with GET /v1/packages/{id}",
                                   underlying: String(cString: strerror(errno)))
            }
            if n == 0 { return false }
            data += buf[0..<n]
            return true
        }
        var headerEnd: Int?
        while headerEnd == nil {
            if let r = data.firstRange(of: [13, 10, 13, 10]) { headerEnd = r.upperBound; break }
            guard try more() else { throw GatewayError(.httpError, "the gateway closed the connection without an answer", remedy: "retry later") }
        }
        let headText = String(decoding: data[..<headerEnd!], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw GatewayError(.httpError, "malformed HTTP answer", remedy: "check the URL") }
        var headers: [String: String] = [:]
        for l in lines where !l.isEmpty {
            if let c = l.firstIndex(of: ":") { headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces) }
        }
        var body = Array(data[headerEnd!...])
        if let len = headers["content-length"].flatMap(Int.init) {
            while body.count < len {
                let before = data.count
                guard try more() else { break }
                body += data[before...]
            }
            body = Array(body.prefix(len))
        } else if headers["transfer-encoding"]?.lowercased() == "chunked" {
            while try more() {}
            body = dechunk(Array(data[headerEnd!...]))
        } else {
            while try more() {}
            body = Array(data[headerEnd!...])
        }
        return Response(status: status, headers: headers, body: body)
    }

    static func dechunk(_ b: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        var i = 0
        while i < b.count {
            guard let nl = b[i...].firstRange(of: [13, 10]) else { break }
            let size = Int(String(decoding: b[i..<nl.lowerBound], as: UTF8.self).split(separator: ";")[0], radix: 16) ?? 0
            if size == 0 { break }
            let start = nl.upperBound
            out += b[start..<min(start + size, b.count)]
            i = start + size + 2
        }
        return out
    }
}
