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
public import SealBase
import SealCrypto
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
    public var idleTimeout: Duration = .seconds(30)
    /// A request's head (request line and headers) must be complete this long after the
    /// connection opened or the previous answer was sent.
    public var headerTimeout: Duration = .seconds(10)
    /// A request body may start slowly for this long; from then on it must keep up
    /// `minBodyBytesPerSecond` on average, or the connection is closed.
    public var bodyGrace: Duration = .seconds(10)
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

    /// A duration as NIO's time amount (to the nanosecond).
    static func amount(_ d: Duration) -> TimeAmount {
        .nanoseconds(d.components.seconds &* 1_000_000_000 &+ d.components.attoseconds / 1_000_000_000)
    }

    /// The Hummingbird server: HTTP/1.1 (HTTP/1.0 answered as such), TLS when configured, the
    /// head gate and the slow-client guard on every connection.
    public func serverBuilder(identity: TLSIdentity?) throws -> HTTPServerBuilder {
        let limits = SlowClientGuard.Limits(
            headerTimeout: Self.amount(headerTimeout), idleTimeout: Self.amount(idleTimeout),
            bodyGrace: Self.amount(bodyGrace), minBytesPerSecond: minBodyBytesPerSecond)
        let idle = Self.amount(idleTimeout)
        let http = HTTPServerBuilder { responder in
            GuardedHTTP1Channel(base: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: idle)), limits: limits)
        }
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
        for (name, v) in [("idle timeout", idleTimeout), ("header timeout", headerTimeout), ("body grace", bodyGrace)] {
            guard (Duration.seconds(1)...Duration.seconds(86_400)).contains(v) else {
                throw SealError(.usage, "the \(name) must be 1 to 86400 seconds", remedy: "e.g. 10")
            }
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
    /// What the connection's head gate learnt (a length the HTTP parser could not hold).
    let head: HeadState?
    var state = State.awaitingHead(since: .now())
    var timer: RepeatedTask?

    init(_ limits: Limits, head: HeadState? = nil) {
        self.limits = limits
        self.head = head
    }

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
            .badRequest, "the request is not well-formed HTTP/1.1 (request line, version, header block or framing)",
            remedy: "send an HTTP/1.1 request with well-formed headers (at most 80 KiB of them); https:// ports expect TLS")
        return Self.closing(p)
    }

    /// The problem document answered for an HTTP/1.0 request with a `Transfer-Encoding` (faulty
    /// framing, RFC 9112 section 6.1): refused from its head, its body never read.
    static func transferCodingOn10Refusal() -> (HTTPResponse, ByteBuffer) {
        let p = Problem(
            .badRequest, "an HTTP/1.0 request cannot carry a Transfer-Encoding (its framing is faulty); the body is not read",
            remedy: "send the body with a Content-Length, or send the request as HTTP/1.1")
        return Self.closing(p)
    }

    /// The problem document answered for a request whose declared length the HTTP parser cannot
    /// hold (beyond 2^64−1 bytes): over every limit, so 413 like any other length over its route's.
    static func lengthRefusal() -> (HTTPResponse, ByteBuffer) {
        let p = Problem(
            .bodyTooLarge, "the declared body length (Content-Length) is beyond 2^64-1 bytes, over every limit",
            remedy: "send a body within the route's limit (docs/api.md, Limits); split the data into several packages")
        return Self.closing(p)
    }

    /// A problem as a whole answer written by the handler itself: its head (with its length and
    /// `Connection: close`) and its body.
    static func closing(_ p: Problem) -> (HTTPResponse, ByteBuffer) {
        let body = ByteBuffer(string: p.document.canonical)
        var fields = HTTPFields()
        fields[.contentType] = "application/problem+json"
        fields[.contentLength] = String(body.readableBytes)
        fields[.connection] = "close"
        // A request refused from its head is answered in English (its Accept-Language is not read).
        fields[.contentLanguage] = "en"
        fields[.vary] = "Accept-Language"
        return (HTTPResponse(status: p.status, headerFields: fields), body)
    }

    /// Set when the answer says `Connection: close` (a refused body): the connection is closed
    /// once the answer is out, so the rest of the body is never read.
    var closeAfterAnswer = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var response):
            if parseFailed, response.status == .badRequest, response.headerFields[.contentLength] == "0" {
                let overflow = self.head?.lengthOverflow == true
                let transferCodingOn10 = self.head?.transferCodingOn10 == true
                let (head, body) = overflow ? Self.lengthRefusal() : transferCodingOn10 ? Self.transferCodingOn10Refusal() : Self.parseRefusal()
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

/// HTTP/1 as Hummingbird sets it up, with the listener's handlers around the HTTP parser: the
/// head tap before it (the bytes of a head still coming in), the head gate after it (HTTP/1.0,
/// `Expect: 100-continue`, a length the parser cannot hold), and the slow-client guard after
/// the conversion to HTTP types. The three share one `HeadState`.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let base: HTTP1Channel
    let limits: SlowClientGuard.Limits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let limits = self.limits
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let connection = try pipeline.handler(type: HTTPConnectionStateHandler.self)
            let state = HeadState()
            try pipeline.addHandler(HeadTap(state), position: .before(decoder))
            try pipeline.addHandler(HeadGate(state), position: .after(decoder))
            try pipeline.addHandler(SlowClientGuard(limits, head: state), position: .before(connection))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async { await base.handle(value: value, logger: logger) }
}

/// What the handlers of one connection share about the request head coming in.
final class HeadState {
    /// From the start and after each request's end until the next head is complete.
    var inHead = true
    /// Requests whose end has come in.
    var ends = 0
    /// The bytes received while a head was coming in (at most about `keptBytes`), none from before
    /// the end of the last request's body: what a body carried is never taken for a header.
    var chunks: [ByteBuffer] = []
    var bytes = 0
    /// The kept bytes may begin inside a line (cut by the window, or after an end whose place in
    /// its chunk is not known): their first line is not read.
    var partialStart = false
    /// The HTTP parser refused a head whose `Content-Length` is beyond 2^64−1 (llhttp's
    /// "Content-Length overflow"): answered 413, not 400.
    var lengthOverflow = false
    /// An HTTP/1.0 request carried a `Transfer-Encoding` (faulty framing, RFC 9112 section 6.1):
    /// refused from its head with its own message.
    var transferCodingOn10 = false

    /// The chunk the HTTP parser is decoding (set by the tap around the parser, nil otherwise),
    /// whether it is the last of `chunks`, and from where its bytes may be part of the next head.
    var reading: ByteBuffer?
    var readingKept = false
    var readingFrom = From.start
    enum From {
        /// No request with a body ended in the chunk.
        case start
        /// A body (and its chunked framing) ended at this offset of the chunk.
        case offset(Int)
        /// A body ended in the chunk, but where is not known: nothing of the chunk is kept.
        case unknown
    }

    /// The request coming in: whether a body part of it has come, and the address where the last
    /// body part seen in the chunk being decoded ends (compared, never read through).
    var hadBody = false
    var bodyEnd: Int?

    /// More than the HTTP parser's 80 KiB of headers.
    static let keptBytes = 96 << 10
    /// What is kept of a chunk in which a request ended (copied: a kept-alive connection that
    /// idles holds no more than this).
    static let tailBytes = 16 << 10

    func keep(_ chunk: ByteBuffer) {
        chunks.append(chunk)
        bytes += chunk.readableBytes
        while chunks.count > 1, bytes - chunks[0].readableBytes >= Self.keptBytes {
            bytes -= chunks.removeFirst().readableBytes
            partialStart = true
        }
    }

    func forget() {
        partialStart = false
        guard !chunks.isEmpty else { return }
        chunks.removeAll(keepingCapacity: true)
        bytes = 0
    }

    /// The tap hands the parser a chunk.
    func beginReading(_ chunk: ByteBuffer) {
        reading = chunk
        readingKept = inHead
        readingFrom = .start
        bodyEnd = nil
        if inHead { keep(chunk) }
    }

    /// The parser is done with the chunk: the offset from which its bytes may belong to the next
    /// head (and whether a line begins there), nil when none of them can be told apart from a body.
    func doneReading() -> (from: Int, lineStart: Bool)? {
        reading = nil
        bodyEnd = nil
        switch readingFrom {
        case .start: return readingKept ? (0, false) : nil
        case .offset(let at): return (at, true)
        case .unknown: return nil
        }
    }

    func headArrived() {
        inHead = false
        hadBody = false
    }

    func bodyArrived(_ part: ByteBuffer) {
        hadBody = true
        bodyEnd = part.withUnsafeReadableBytes { Int(bitPattern: $0.baseAddress) + $0.count }
    }

    /// A request ended (in the chunk being decoded): when it had a body, only what follows the
    /// body is kept from now on. For a body with a `Content-Length` the request ends where its last
    /// part does; a chunked one after the last chunk and trailers, at the first empty line after
    /// its last part. Where the last part is not in the chunk (the parser decoded a copy: the
    /// chunk completed a split header), nothing of the chunk is kept.
    func requestEnded(chunked: Bool) {
        inHead = true
        ends += 1
        defer { hadBody = false }
        // A head alone: every header line of it was one the parser took.
        guard hadBody || chunked else { return }
        var end: Int?
        if let reading, let bodyEnd {
            end = reading.withUnsafeReadableBytes { raw -> Int? in
                let base = Int(bitPattern: raw.baseAddress)
                guard base != 0, bodyEnd >= base, bodyEnd <= base + raw.count else { return nil }
                let at = bodyEnd - base
                guard chunked else { return at }
                return raw[at...].firstRange(of: [13, 10, 13, 10]).map { $0.upperBound }
            }
        }
        guard let end, let reading else {
            readingFrom = .unknown
            readingKept = false
            forget()
            partialStart = true
            return
        }
        readingFrom = .offset(end)
        readingKept = true
        forget()
        keep(reading.getSlice(at: reading.readerIndex + end, length: reading.readableBytes - end)!)
    }

    /// True when the first header line of the kept bytes that the HTTP parser cannot have taken
    /// as a `Content-Length` (anything but digits, or beyond 2^64−1) is digits only: the parser's
    /// refusal (the same error for `-1`, `1x` and a length beyond 2^64−1) is for a length it
    /// cannot hold. Every `Content-Length` before that one is in a head the parser took.
    func declaresLengthBeyondUInt64() -> Bool {
        var all = [UInt8]()
        all.reserveCapacity(bytes)
        for c in chunks { all += c.readableBytesView }
        let name = Array("content-length:".utf8)
        let space: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        for (i, line) in all.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where line.count > name.count {
            if i == 0, partialStart { continue }
            guard zip(line.prefix(name.count), name).allSatisfy({ ($0 | 0x20) == $1 }) else { continue }
            var value = line.dropFirst(name.count).drop(while: space)
            if value.last == 0x0D { value = value.dropLast() }
            while let last = value.last, space(last) { value = value.dropLast() }
            let digits = !value.isEmpty && value.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            if digits, UInt64(String(decoding: value, as: UTF8.self)) != nil { continue }
            return digits
        }
        return false
    }
}

/// Before the HTTP parser: keeps the bytes of a head while it comes in (nothing while a body
/// streams through, nothing of a body), for `HeadState.declaresLengthBeyondUInt64`.
final class HeadTap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let state: HeadState
    init(_ state: HeadState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let chunk = unwrapInboundIn(data)
        let ends = state.ends
        state.beginReading(chunk)
        // The parser decodes the chunk now: the gate sees its heads, body parts and ends.
        context.fireChannelRead(data)
        let from = state.doneReading()
        if !state.inHead {
            state.forget()
        } else if state.ends != ends {
            // A request ended in this chunk: the next head may start in it, after the last body.
            state.forget()
            guard let from else {
                state.partialStart = true
                return
            }
            let rest = chunk.readableBytes - from.from
            if rest > 0 { state.keep(ByteBuffer(bytes: chunk.readableBytesView.suffix(min(rest, HeadState.tailBytes)))) }
            // Cut by the tail, or (no body ended here) beginning inside a head the parser took.
            state.partialStart = rest > HeadState.tailBytes || !from.lineStart
        }
    }
}

/// After the HTTP parser, before the conversion to HTTP types (which forgets the version):
/// - an HTTP/1.0 request is answered as HTTP/1.0, and the connection is closed after the answer
///   unless it asked `Connection: keep-alive` (and the answer has a length);
/// - an HTTP/1.0 request with a `Transfer-Encoding` (faulty framing, RFC 9112 section 6.1) is
///   refused from its head like a request the parser refuses (a coded 400, the connection
///   closed): its body is never handed on, nothing after it on the connection is answered;
/// - `Expect: 100-continue` is answered `100 Continue` only when the route is about to read the
///   body (`expectContinue(on:)`): a refusal decided from the head goes out instead, and the
///   body is never sent;
/// - a `Content-Length` the parser cannot hold (beyond 2^64−1) is noted, so that the parser's
///   refusal is a 413.
final class HeadGate: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The outbound user event of `expectContinue(on:)`.
    struct ContinueBody: Sendable {}

    /// A request not yet answered (oldest first; answers go out in order).
    struct Asked {
        var http10: Bool
        var keepAlive: Bool
        var expectsContinue: Bool
        var bodyArrived = false
        var answered = false
    }

    let state: HeadState
    var asked: [Asked] = []
    /// An HTTP/1.0 answer without a length ends with the connection.
    var closeAfterAnswer = false
    /// The request coming in has a chunked body.
    var chunked = false
    /// A head was refused here: nothing more is read from the connection.
    var refused = false

    init(_ state: HeadState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(var head):
            state.headArrived()
            let http10 = head.version.major < 1 || (head.version.major == 1 && head.version.minor == 0)
            chunked = head.headers.contains(name: "transfer-encoding")
            if http10, chunked {
                // Faulty framing: answered as a parser error is (400, closed; `.unknown` is also
                // what the parser's own refusal of a Transfer-Encoding is), with its own message.
                refused = true
                state.transferCodingOn10 = true
                asked.append(Asked(http10: true, keepAlive: false, expectsContinue: false))
                context.fireErrorCaught(HTTPParserError.unknown)
                return
            }
            let expects = !http10 && head.headers[canonicalForm: "expect"].contains { $0.lowercased() == "100-continue" }
            let keepAlive = head.isKeepAlive
            asked.append(Asked(http10: http10, keepAlive: keepAlive, expectsContinue: expects))
            if !keepAlive, head.headers["connection"] != ["close"] {
                // The server stops after this answer (HTTP/1.0 without keep-alive, `Connection: Close`).
                head.headers.replaceOrAdd(name: "Connection", value: "close")
                context.fireChannelRead(wrapInboundOut(.head(head)))
                return
            }
        case .body(let part):
            if !asked.isEmpty { asked[asked.count - 1].bodyArrived = true }
            state.bodyArrived(part)
        case .end:
            if !asked.isEmpty { asked[asked.count - 1].bodyArrived = true }
            state.requestEnded(chunked: chunked)
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The parser goes on through what follows a refused head: its verdicts are not answered.
        if refused, error is HTTPParserError { return }
        if let e = error as? HTTPParserError, e == .invalidContentLength, state.declaresLengthBeyondUInt64() { state.lengthOverflow = true }
        context.fireErrorCaught(error)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is ContinueBody else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if let a = asked.first, a.expectsContinue, !a.answered, !a.bodyArrived {
            asked[0].expectsContinue = false
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))), promise: nil)
        }
        promise?.succeed(())
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            guard let a = asked.first else { break }
            asked[0].answered = true
            guard a.http10 else { break }
            head.version = .http1_0
            let saysClose = head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
            let framed = head.headers.contains(name: "content-length") || head.status == .noContent || head.status == .notModified
            let closing = !a.keepAlive || saysClose || !framed
            head.headers.replaceOrAdd(name: "Connection", value: closing ? "close" : "keep-alive")
            // The server would wait for another request (it was asked to keep the connection).
            if closing, a.keepAlive, !saysClose { closeAfterAnswer = true }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
            return
        case .end:
            if asked.first?.answered == true { asked.removeFirst() }
            if closeAfterAnswer {
                closeAfterAnswer = false
                let written = context.eventLoop.makePromise(of: Void.self)
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                written.futureResult.whenComplete { _ in loopBound.value.close(promise: nil) }
                if let promise { written.futureResult.cascade(to: promise) }
                context.writeAndFlush(data, promise: written)
                return
            }
        default:
            break
        }
        context.write(data, promise: promise)
    }
}

/// Every check the request's head allows has been made and the route is about to read the body:
/// a client that sent `Expect: 100-continue` is told to send it (`100 Continue`, once, to
/// HTTP/1.1 only, by the connection's `HeadGate`). A route that refuses before calling this
/// answers with the refusal alone, so a stranger's body is never sent.
public func expectContinue(on channel: any Channel) {
    channel.triggerUserOutboundEvent(HeadGate.ContinueBody(), promise: nil)
}

/// The request context of a server that needs only the listener's: the channel, for
/// `expectContinue(on:)`.
public struct ListenerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// `s` without the spaces and tabs around it (HTTP's optional whitespace; Foundation's
/// `trimmingCharacters(in: .whitespaces)` took 0.7 µs a call, and Unicode spaces are no part of
/// a header value's syntax).
func trimmedOWS(_ s: Substring) -> Substring {
    let u = s.utf8
    guard let first = u.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }), let last = u.lastIndex(where: { $0 != 0x20 && $0 != 0x09 }) else {
        return s[s.endIndex...]
    }
    return s[first..<u.index(after: last)]
}

extension Request {
    /// The declared body length (`Content-Length`) when it is over `limit`, in digits as declared
    /// (for the refusal's message); nil when it is within or absent. A value beyond `Int` (the HTTP
    /// parser takes up to 2^64−1) is over every limit, as is anything but digits (which the parser
    /// refuses before a route sees it; not repeated).
    public func declaredLength(over limit: Int) -> String? {
        guard let (text, n) = contentLength() else { return nil }
        guard let n else { return text }
        return n > limit ? text : nil
    }

    /// The declared body length when it is a number no larger than `limit`; nil otherwise, or
    /// with no Content-Length (a chunked body).
    public func declaredLength(atMost limit: Int) -> Int? {
        guard let n = contentLength()?.value, n <= limit else { return nil }
        return n
    }

    /// The Content-Length as declared and its value when it is one an `Int` holds (nil: none
    /// declared; anything but digits reads as "(not a number)", with no value).
    private func contentLength() -> (text: String, value: Int?)? {
        guard let raw = headers[.contentLength] else { return nil }
        let text = String(trimmedOWS(raw[...]))
        guard !text.isEmpty, text.utf8.count <= 40, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return ("(not a number)", nil) }
        return (text, Int(text))
    }
}
