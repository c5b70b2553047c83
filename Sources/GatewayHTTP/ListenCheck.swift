import Foundation
import NIOCore
public import SealBase
public import SealCrypto
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension ListenSettings {
    /// The address as the operator gave it, `host:port` (`[v6]:port`).
    var hostAndPort: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// Binds and listens at the address as the server will (the same resolution, `SO_REUSEADDR`),
    /// then closes the socket again: a server that cannot listen is refused (`listen_failed`)
    /// before any start-up work that has effects — opening the store, deciding what a crash
    /// left, taking a lease. (Hummingbird binds a socket of its own; another process may take
    /// the port in between, so the server's own bind failure is the same error, `listenFailure`.)
    public func checkListen() throws {
        let address: SocketAddress
        do { address = try SocketAddress.makeAddressResolvingHost(host, port: port) } catch { throw listenFailure(error) }
        let fd = socket(address.protocolFamily, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw listenFailure(errno: errno) }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard address.withSockAddr({ bind(fd, $0, socklen_t($1)) }) == 0, listen(fd, 1) == 0 else { throw listenFailure(errno: errno) }
    }

    /// The coded error for a failure to listen here: the pre-check's, or the server's own bind
    /// error (NIO's `IOError`, or a host that does not resolve). Nil for any other error.
    public func listenFailure(ifBindError error: any Error) -> SealError? {
        if let e = error as? SealError { return e.code == .listenFailed ? e : nil }
        guard error is IOError || error is SocketAddressError || error is SocketAddressError.UnknownHost else { return nil }
        return listenFailure(error)
    }

    func listenFailure(_ error: any Error) -> SealError {
        if let e = error as? IOError { return listenFailure(errno: e.errnoCode, cause: e) }
        return SealError(
            .listenFailed, "cannot listen on \(hostAndPort): the host '\(host)' does not resolve to an address",
            remedy: "give an IP address of this machine (127.0.0.1: loopback only; 0.0.0.0: every interface) or a name it resolves",
            cause: error)
    }

    func listenFailure(errno code: Int32, cause: (any Error)? = nil) -> SealError {
        let cause = cause ?? ErrorDetail("errno \(code): \(String(cString: strerror(code)))")
        switch code {
        case EADDRINUSE:
            return SealError(
                .listenFailed, "cannot listen on \(hostAndPort): the address is in use (another process listens there)",
                remedy: "stop the other process, or choose another port", cause: cause)
        case EACCES, EPERM:
            return SealError(
                .listenFailed, "cannot listen on \(hostAndPort): permission denied (a port below 1024 needs a privilege)",
                remedy: "choose a port of 1024 or above, or give the process the privilege to bind it (CAP_NET_BIND_SERVICE)", cause: cause)
        case EADDRNOTAVAIL:
            return SealError(
                .listenFailed, "cannot listen on \(hostAndPort): \(host) is not an address of this machine",
                remedy: "give an address of this machine (127.0.0.1: loopback only; 0.0.0.0: every interface)", cause: cause)
        default:
            return SealError(
                .listenFailed, "cannot listen on \(hostAndPort): \(String(cString: strerror(code)))",
                remedy: "check the address and the port (another process there? a privilege needed?)", cause: cause)
        }
    }
}

/// Set once a server listens: its background work may start, and a failure after it is not
/// `listen_failed`.
public final class ListeningFlag: Sendable {
    private let value = Atomic<Bool>(false)
    public init() {}
    public func set() { value.store(true, ordering: .releasing) }
    public var isSet: Bool { value.load(ordering: .acquiring) }
}
