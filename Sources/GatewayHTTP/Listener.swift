public import Foundation
import GatewayCore
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
public import NIOSSL
public import SealCrypto
import Synchronization

/// TLS for a server: its certificate chain and key (PEM), and optionally the CA whose client
/// certificates it requires.
public struct TLSFiles: Sendable {
    public var certificate: String
    public var key: String
    public var clientCA: String?
    public init(certificate: String, key: String, clientCA: String? = nil) {
        self.certificate = certificate
        self.key = key
        self.clientCA = clientCA
    }
}

/// Where and how a server listens, and what it tolerates from clients. Shared by `serve` and
/// `handbook serve`; every value has a flag.
public struct ListenSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var tls: TLSFiles?
    /// A connection with no request in progress is closed after this long.
    public var idleTimeoutSeconds: Int64 = 30
    /// A request's head (request line and headers) must be complete this long after the
    /// connection opened or the previous answer was sent.
    public var headerTimeoutSeconds: Int64 = 10
    /// A request body may start slowly for this long; from then on it must keep up
    /// `minBodyBytesPerSecond` on average, or the connection is closed.
    public var bodyGraceSeconds: Int64 = 10
    public var minBodyBytesPerSecond: Int64 = 16 << 10
    /// Connections open at once; more wait in the listen backlog.
    public var maxConnections = 512
    public init() {}

    /// What the server prints when it listens.
    public func url(port: Int) -> String { "\(tls == nil ? "http" : "https")://\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// True when the address is reachable only from this machine.
    public var isLoopback: Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }
}

/// The certificate and key a TLS server presents, re-read from their files on `reload()`
/// (SIGHUP): each new handshake uses what was loaded last; connections already open keep theirs.
public final class TLSIdentity: Sendable {
    public let files: TLSFiles
    private let current: Mutex<(chain: [NIOSSLCertificateSource], key: NIOSSLPrivateKeySource)>

    public init(_ files: TLSFiles) throws {
        self.files = files
        current = Mutex(try Self.load(files))
    }

    static func load(_ files: TLSFiles) throws -> (chain: [NIOSSLCertificateSource], key: NIOSSLPrivateKeySource) {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificate)
            guard !chain.isEmpty else {
                throw SealError(
                    .tlsSetup, "\(files.certificate) holds no certificate", remedy: "give a PEM certificate chain, the server's certificate first")
            }
            let key = try NIOSSLPrivateKey(file: files.key, format: .pem)
            // The key must belong to the certificate: a TLS context refuses a mismatched pair.
            var check = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            check.minimumTLSVersion = .tlsv12
            _ = try NIOSSLContext(configuration: check)
            return (chain.map { .certificate($0) }, .privateKey(key))
        } catch let e as SealError {
            throw e
        } catch {
            throw SealError(
                .tlsSetup, "cannot use the TLS certificate \(files.certificate) with the key \(files.key)",
                remedy: "give a PEM certificate chain (the server's certificate first) and its PEM private key", cause: error)
        }
    }

    /// Re-reads the files; on any problem keeps the pair in use and throws.
    public func reload() throws {
        let fresh = try Self.load(files)
        current.withLock { $0 = fresh }
    }

    /// The server configuration: TLS 1.2 or later (1.3 preferred by the handshake), forward
    /// secret AEAD suites only, the certificate taken from `current` at each handshake.
    public func configuration() throws -> TLSConfiguration {
        let (chain, key) = current.withLock { $0 }
        var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: key)
        c.minimumTLSVersion = .tlsv12
        c.cipherSuites = ListenSettings.cipherSuites
        if let ca = files.clientCA {
            do { c.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) } catch {
                throw SealError(
                    .tlsSetup, "cannot read the client CA \(ca)", remedy: "give the PEM certificate of the CA that signs client certificates",
                    cause: error)
            }
            c.certificateVerification = .noHostnameVerification
        }
        c.sslContextCallback = { [self] _, promise in
            var o = NIOSSLContextConfigurationOverride()
            let (chain, key) = self.current.withLock { $0 }
            o.certificateChain = chain
            o.privateKey = key
            promise.succeed(o)
        }
        return c
    }
}

extension ListenSettings {
    /// TLS 1.2 suites offered (TLS 1.3's are all AEAD and fixed by BoringSSL): ECDHE with
    /// AES-GCM or ChaCha20-Poly1305, nothing else.
    static let cipherSuites =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    /// The Hummingbird server: HTTP/1.1, TLS when configured, the slow-client guard on every
    /// connection.
    public func serverBuilder(identity: TLSIdentity?) throws -> HTTPServerBuilder {
        let limits = SlowClientGuard.Limits(
            headerTimeout: .seconds(headerTimeoutSeconds), idleTimeout: .seconds(idleTimeoutSeconds),
            bodyGrace: .seconds(bodyGraceSeconds), minBytesPerSecond: minBodyBytesPerSecond)
        let http = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [SlowClientGuard(limits)],
                idleTimeout: .seconds(idleTimeoutSeconds)))
        guard let identity else { return http }
        return try .tls(http, tlsConfiguration: try identity.configuration())
    }

    public func applicationConfiguration(serverName: String) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(host, port: port), serverName: serverName, reuseAddress: true,
            availableConnectionsDelegate: MaximumAvailableConnections(maxConnections))
    }

    /// Checks the values; throws `usage`.
    public func validate() throws {
        guard (0...65535).contains(port) else { throw SealError(.usage, "the port must be 0 to 65535", remedy: "e.g. 8443") }
        guard (1...1_000_000).contains(maxConnections) else {
            throw SealError(.usage, "the connection cap must be 1 to 1000000", remedy: "e.g. 512")
        }
        for (name, v) in [("idle timeout", idleTimeoutSeconds), ("header timeout", headerTimeoutSeconds), ("body grace", bodyGraceSeconds)] {
            guard (1...86_400).contains(v) else { throw SealError(.usage, "the \(name) must be 1 to 86400 seconds", remedy: "e.g. 10") }
        }
        guard (0...(1 << 30)).contains(minBodyBytesPerSecond) else {
            throw SealError(.usage, "the minimum body rate must be 0 to 1GiB a second", remedy: "e.g. 16KiB")
        }
    }

    /// A warning when the server listens beyond this machine without TLS.
    public var plainTextWarning: String? {
        guard tls == nil, !isLoopback else { return nil }
        return
            "listening on \(host) without TLS: bearer tokens and package metadata cross the network in clear text; give --tls-cert/--tls-key or put a TLS proxy in front (docs/operations.md)"
    }
}

/// Re-reads the TLS certificate and key on SIGHUP (the process keeps running; open connections
/// keep theirs). Returns the signal source to keep alive.
public func reloadOnSIGHUP(_ identity: TLSIdentity, log: @escaping @Sendable (String) -> Void) -> any DispatchSourceSignal {
    ignoreSIGHUP()
    let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
    source.setEventHandler {
        do {
            try identity.reload()
            log("reloaded the TLS certificate \(identity.files.certificate)")
        } catch let e as SealError {
            log("error: \(e.code): \(e.message) — kept the certificate in use\n  what to do: \(e.remedy)")
        } catch {
            log("error: tls_setup: \(error) — kept the certificate in use")
        }
    }
    source.resume()
    return source
}

/// A server without TLS has nothing to reload: SIGHUP (sent by an operator's certificate
/// rotation script, or a closing terminal) must not end it.
public func ignoreSIGHUP() { signal(SIGHUP, SIG_IGN) }

/// Closes connections that send their request head too slowly, or their body below a minimum
/// average rate after a grace period (slowloris and slow-POST), so that a stranger cannot hold
/// a connection for the price of a byte now and then. Counts what it closes.
final class SlowClientGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Limits: Sendable {
        var headerTimeout: TimeAmount
        /// How long a kept-alive connection may wait for its next request.
        var idleTimeout: TimeAmount
        var bodyGrace: TimeAmount
        var minBytesPerSecond: Int64
    }

    enum State {
        /// A new connection: its first request's head must be in within the header timeout.
        case awaitingHead(since: NIODeadline)
        /// A kept-alive connection between requests: closed after the idle timeout (not a slow client).
        case idle(since: NIODeadline)
        /// A refused body's answer is out and our side is shut: what the client still sends is
        /// read and dropped for a moment (so that the answer is not lost to a reset), then closed.
        case draining(since: NIODeadline, bytes: Int64)
        case receivingBody(since: NIODeadline, bytes: Int64)
        case handling
    }

    /// Connections closed for being too slow, since the process started (metrics).
    static let closed = Atomic<Int>(0)

    let limits: Limits
    var state = State.awaitingHead(since: .now())
    var timer: RepeatedTask?

    init(_ limits: Limits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        state = .awaitingHead(since: .now())
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            let (handler, context) = loopBound.value
            handler.check(context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            if case .draining = state { return }
            state = .receivingBody(since: .now(), bytes: 0)
        case .body(let b):
            if case .draining(let since, let bytes) = state {
                state = .draining(since: since, bytes: bytes + Int64(b.readableBytes))
                if bytes + Int64(b.readableBytes) > Self.drainLimit { context.close(promise: nil) }
                return
            }
            if case .receivingBody(let since, let bytes) = state { state = .receivingBody(since: since, bytes: bytes + Int64(b.readableBytes)) }
        case .end:
            if case .draining = state { return }
            state = .handling
            requestsEnded += 1
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError { parseFailed = true }
        context.fireErrorCaught(error)
    }

    /// Requests whose end has come in, and answers written: an answer to a request whose body
    /// has not ended (a route that does not read bodies, a refusal before the body) closes the
    /// connection, so a stranger's endless body on `GET /healthz` holds nothing.
    var requestsEnded = 0
    var answersWritten = 0
    /// The HTTP parser refused the request (a malformed request line, version or header block);
    /// the server's bare 400 is answered as a coded problem document instead.
    var parseFailed = false

    /// The problem document answered for a request the HTTP parser refused.
    static func parseRefusal() -> (HTTPResponse, ByteBuffer) {
        let p = Problem(
            .badRequest, "bad_request", "the request is not well-formed HTTP/1.1 (request line, version, header block or framing)",
            remedy: "send an HTTP/1.1 request with well-formed headers (at most 80 KiB of them); https:// ports expect TLS")
        let body = ByteBuffer(string: p.document.canonical)
        var fields = HTTPFields()
        fields[.contentType] = "application/problem+json"
        fields[.contentLength] = String(body.readableBytes)
        fields[.connection] = "close"
        return (HTTPResponse(status: .badRequest, headerFields: fields), body)
    }

    /// Set when the answer says `Connection: close` (a refused body): the connection is closed
    /// once the answer is out, so the rest of the body is never read.
    var closeAfterAnswer = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var response):
            if parseFailed, response.status == .badRequest, response.headerFields[.contentLength] == "0" {
                let (head, body) = Self.parseRefusal()
                closeAfterAnswer = true
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(body)), promise: promise)
                return
            }
            if response.status.code >= 200, requestsEnded <= answersWritten, response.headerFields[.connection]?.lowercased() != "close" {
                // Answered before the request's body ended: the rest is not read.
                response.headerFields[.connection] = "close"
                closeAfterAnswer = true
                context.write(wrapOutboundOut(.head(response)), promise: promise)
                return
            }
            if response.headerFields[.connection]?.lowercased() == "close" { closeAfterAnswer = true }
            context.write(data, promise: promise)
        case .end:
            answersWritten += 1
            if closeAfterAnswer {
                // The answer, then our side shut; the rest of the body is drained for a moment
                // (a close with unread bytes would reset the connection and lose the answer).
                let written = context.eventLoop.makePromise(of: Void.self)
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                written.futureResult.whenComplete { _ in
                    let (handler, context) = loopBound.value
                    handler.state = .draining(since: .now(), bytes: 0)
                    context.close(mode: .output).whenFailure { _ in loopBound.value.1.close(promise: nil) }
                }
                if let promise { written.futureResult.cascade(to: promise) }
                context.writeAndFlush(data, promise: written)
                return
            }
            // The answer is out: the connection may wait for its next request (keep-alive).
            // (Not while a pipelined request that has all arrived still waits for its answer.)
            if case .handling = state, requestsEnded == answersWritten { state = .idle(since: .now()) }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        }
    }

    private func check(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        switch state {
        case .awaitingHead(let since):
            if now - since > limits.headerTimeout { cut(context) }
        case .idle(let since):
            if now - since > limits.idleTimeout {
                timer?.cancel()
                timer = nil
                context.close(promise: nil)
            }
        case .receivingBody(let since, let bytes):
            let elapsed = now - since
            guard elapsed > limits.bodyGrace else { return }
            let owed = Double(limits.minBytesPerSecond) * Double((elapsed - limits.bodyGrace).nanoseconds) / 1e9
            if Double(bytes) < owed { cut(context) }
        case .draining(let since, _):
            if now - since > Self.drainTime { context.close(promise: nil) }
        case .handling:
            break
        }
    }

    /// How long and how much of a refused body is drained before the connection is closed.
    static let drainTime = TimeAmount.seconds(2)
    static let drainLimit: Int64 = 4 << 20

    private func cut(_ context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        SlowClientGuard.closed.add(1, ordering: .relaxed)
        context.close(promise: nil)
    }
}

extension SealErrorCode {
    public static let tlsSetup = SealErrorCode("tls_setup")
}
