import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A hostile HTTP server on a loopback port, for testing clients: it reads a request's head and
/// answers the way a broken or malicious peer would. Each connection takes the next mode of the
/// list, round and round.
public final class HostileServer: @unchecked Sendable {
    public enum Mode: String, CaseIterable, Sendable {
        case badStatusLine, garbage, badChunkSize, overflowingChunkSize, endlessBody, hugeContentLength, slowDrip, closeAtOnce, truncatedBody
    }

    public let port: Int
    private let fd: Int32
    private let modes: [Mode]
    private let lock = NSLock()
    private var next = 0
    private var stopped = false
    /// Connections served, by mode.
    public private(set) var served: [Mode: Int] = [:]

    public init(modes: [Mode]) throws {
        self.modes = modes
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let e = errno
            close(fd)
            throw RawHTTP.Failure("cannot listen: \(String(cString: strerror(e)))")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        self.fd = fd
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// Stops listening (once: a second close could close another socket that took the number).
    public func stop() {
        lock.lock()
        let was = stopped
        stopped = true
        lock.unlock()
        guard !was else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                lock.lock()
                let s = stopped
                lock.unlock()
                if s { return }
                if errno == EINTR { continue }
                return
            }
            lock.lock()
            let mode = modes[next % modes.count]
            next += 1
            served[mode, default: 0] += 1
            lock.unlock()
            Thread.detachNewThread { [self] in serve(c, mode) }
        }
    }

    private func send(_ c: Int32, _ s: String) -> Bool { send(c, Array(s.utf8)) }
    private func send(_ c: Int32, _ b: [UInt8]) -> Bool {
        b.withUnsafeBytes { Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) == $0.count }
    }

    private func serve(_ c: Int32, _ mode: Mode) {
        defer { close(c) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // Read the head (and whatever of a body comes with it).
        var head = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while head.count < 64 << 10, head.firstRange(of: [13, 10, 13, 10]) == nil {
            let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            head += buf[0..<n]
        }
        let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        switch mode {
        case .badStatusLine: _ = send(c, "HTTP/1.1 two hundred\r\nContent-Length: 2\r\n\r\n{}")
        case .garbage: _ = send(c, (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) })
        case .badChunkSize: _ = send(c, ok + "Transfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n")
        case .overflowingChunkSize: _ = send(c, ok + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\nabc\r\n")
        case .endlessBody:
            guard send(c, ok + "\r\n") else { return }
            let block = [UInt8](repeating: 0x20, count: 64 << 10)
            var sent = 0
            while sent < 4 << 30, send(c, block) { sent += block.count }
        case .hugeContentLength: _ = send(c, ok + "Content-Length: 99999999999999999999999\r\n\r\n{}")
        case .slowDrip:
            guard send(c, ok + "Content-Length: 1000000\r\n\r\n") else { return }
            for _ in 0..<600 {  // at most ten minutes; the client gives up long before
                guard send(c, "{") else { return }
                Thread.sleep(forTimeInterval: 1)
            }
        case .closeAtOnce: return
        case .truncatedBody: _ = send(c, ok + "Content-Length: 1000\r\n\r\n{\"a\":")
        }
    }
}
