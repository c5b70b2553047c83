import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A small blocking HTTP/1.1 client over a real loopback socket, for tests: one request per
/// connection, answers read by Content-Length, chunked encoding or the close, everything bounded.
/// It also sends raw bytes as they are (hostile requests the real client would never form).
public enum RawHTTP {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ d: String) { description = d }
    }

    public struct Response: Sendable {
        public let status: Int
        public let headers: [String: String]  // lower-cased names
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Largest answer a test reads (the gateway's answers are far smaller).
    public static let maxResponseBytes = 64 << 20

    static func parse(_ url: String) throws -> (host: String, port: Int, path: String) {
        guard url.hasPrefix("http://") else { throw Failure("RawHTTP speaks plain http only (\(url))") }
        let rest = url.dropFirst(7)
        let hostPort = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(hostPort.count)
        var host = String(hostPort)
        var port = 80
        if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else { throw Failure("bad port in \(url)") }
            port = p
        }
        return (host, port, path.isEmpty ? "/" : String(path))
    }

    /// Sends one request. `bodyFile` streams a file as the body.
    public static func request(
        _ method: String, _ url: String, headers: [String: String] = [:], body: [UInt8]? = nil, bodyFile: String? = nil,
        timeout: Int = 120
    ) throws -> Response {
        let (host, port, path) = try parse(url)
        let fd = try connect(host: host, port: port, timeout: timeout)
        defer { close(fd) }
        var bodyLength = body?.count ?? 0
        var file: FileHandle?
        if let bodyFile {
            guard let f = FileHandle(forReadingAtPath: bodyFile) else { throw Failure("cannot read \(bodyFile)") }
            file = f
            bodyLength = Int((try? FileManager.default.attributesOfItem(atPath: bodyFile)[.size] as? Int) ?? 0)
        }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nUser-Agent: sealgate-tests\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if body != nil || bodyFile != nil { head += "Content-Length: \(bodyLength)\r\n" }
        head += "\r\n"
        // A server may answer before the body is all sent (a refusal) and stop reading: the
        // answer is read even when sending breaks off.
        do {
            try sendAll(fd, Array(head.utf8))
            if let body { try sendAll(fd, body) }
            if let file {
                defer { try? file.close() }
                while true {
                    let d = file.readData(ofLength: 1 << 16)
                    if d.isEmpty { break }
                    try sendAll(fd, [UInt8](d))
                }
            }
        } catch {
            if let early = try? readResponse(fd) { return early }
            throw error
        }
        return try readResponse(fd)
    }

    /// Sends `raw` as it is on a new connection and returns the answer's status (nil when the
    /// server closed without one) and everything read until the close or `timeout`.
    public static func exchange(port: Int, _ raw: [UInt8], timeout: Int = 10, halfClose: Bool = true) throws -> (status: Int?, bytes: [UInt8]) {
        let fd = try connect(host: "127.0.0.1", port: port, timeout: timeout)
        defer { close(fd) }
        try? sendAll(fd, raw)
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var data = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while data.count < maxResponseBytes {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            data += buf[0..<n]
        }
        return (statusCode(data), data)
    }

    /// The status code of the first status line in `data`, if any.
    public static func statusCode(_ data: [UInt8]) -> Int? {
        guard data.count >= 12, data.starts(with: Array("HTTP/1.".utf8)) else { return nil }
        return Int(String(decoding: data[9..<12], as: UTF8.self))
    }

    /// A connected TCP socket (blocking, with send and receive timeouts).
    public static func connect(host: String, port: Int, timeout: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let first = res else { throw Failure("cannot resolve \(host)") }
        defer { freeaddrinfo(res) }
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype, a.pointee.ai_protocol)
            if fd >= 0 {
                var tv = timeval(tv_sec: timeout, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
                close(fd)
            }
            ai = a.pointee.ai_next
        }
        throw Failure("cannot connect to \(host):\(port)")
    }

    public static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = send(fd, b.baseAddress! + done, b.count - done, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Failure("connection broke while sending: \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }

    /// Reads one answer from a connection the caller holds (a kept-alive one): by its
    /// Content-Length, so the connection can carry the next request.
    public static func response(from fd: Int32) throws -> Response { try readResponse(fd) }

    static func readResponse(_ fd: Int32) throws -> Response {
        var data = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        func more() throws -> Bool {
            guard data.count < maxResponseBytes else { throw Failure("answer over \(maxResponseBytes) bytes") }
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { return true }
                throw Failure(errno == EAGAIN || errno == EWOULDBLOCK ? "no answer: timed out" : "no answer: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return false }
            data += buf[0..<n]
            return true
        }
        var headerEnd = 0
        while true {
            if let r = data.firstRange(of: [13, 10, 13, 10]) {
                headerEnd = r.upperBound
                break
            }
            guard try more() else { throw Failure("the server closed the connection without an answer") }
        }
        var lines = String(decoding: data[..<headerEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure("malformed status line") }
        var headers: [String: String] = [:]
        for l in lines where !l.isEmpty {
            if let c = l.firstIndex(of: ":") { headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces) }
        }
        if let len = headers["content-length"].flatMap(Int.init), len >= 0 {
            while data.count - headerEnd < len { guard try more() else { break } }
            return Response(status: status, headers: headers, body: Array(data[headerEnd...].prefix(len)))
        }
        while try more() {}
        let rest = Array(data[headerEnd...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            guard let body = dechunk(rest) else { throw Failure("malformed chunked answer") }
            return Response(status: status, headers: headers, body: body)
        }
        return Response(status: status, headers: headers, body: rest)
    }

    /// Decodes a chunked body; nil when it is malformed.
    static func dechunk(_ b: [UInt8]) -> [UInt8]? {
        var out = [UInt8]()
        var i = 0
        while i < b.count {
            guard let nl = b[i...].firstRange(of: [13, 10]) else { return nil }
            let line = String(decoding: b[i..<nl.lowerBound], as: UTF8.self)
            guard let field = line.split(separator: ";", omittingEmptySubsequences: false).first, !field.isEmpty, field.count <= 16,
                let size = Int(field.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0
            else { return nil }
            if size == 0 { return out }
            let start = nl.upperBound
            guard size <= b.count - start else { return nil }
            out += b[start..<(start + size)]
            i = start + size + 2
        }
        return nil
    }
}
