import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
public import SealBase
import SealCrypto
import SystemIO

/// How the outbound client connects: whom it trusts, how long it waits, how much it reads.
public struct ClientSettings: Sendable {
    /// PEM file of the CA certificate(s) to trust for `https://` instead of the system's roots
    /// (a department's private CA).
    public var caFile: String?
    /// The same as PEM text (the handbook endpoint keeps its CA in the store, for every process).
    public var caPEM: String?
    /// A client certificate and key (PEM) for a server that requires one (`--client-ca`).
    public var clientCertificateFile: String?
    public var clientKeyFile: String?
    /// The whole exchange — connect, TLS, send, answer — must end within this (whole seconds).
    public var timeout: Duration = .seconds(120)
    public var connectTimeout: Duration = .seconds(10)
    /// Largest response body read; a longer one is refused (`response_too_large`).
    public var maxResponseBytes: Int = 16 << 20

    public init(
        caFile: String? = nil, caPEM: String? = nil, clientCertificateFile: String? = nil, clientKeyFile: String? = nil,
        timeout: Duration = .seconds(120), maxResponseBytes: Int = 16 << 20
    ) {
        self.caFile = caFile
        self.caPEM = caPEM
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
    }
}

/// A response, read whole (bounded by `ClientSettings.maxResponseBytes`).
public struct ClientResponse: Sendable {
    public let status: Int
    /// Header values by lower-cased name (the last one wins).
    public let headers: [String: String]
    public let body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// What a request carries.
public enum ClientBody: Sendable {
    case bytes([UInt8])
    /// Streamed from the file (a package of up to hundreds of MiB is never read into memory).
    case file(String)
}

/// The outbound HTTP(S) client of units, auditors and the forwarder, over AsyncHTTPClient:
/// `http://` and `https://` (TLS 1.2 or later; the system's roots, or a private CA), an overall
/// deadline on every exchange, bounded responses, no redirects, and every failure a coded
/// `SealError` (`http_error`, `http_timeout`, `tls_untrusted`, `tls_failed`,
/// `response_too_large`, `usage`). Shut it down after use (`withClient` does).
public final class GatewayClient: Sendable {
    let client: HTTPClient
    public let settings: ClientSettings

    public init(_ settings: ClientSettings) throws {
        self.settings = settings
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        do {
            if let caFile = settings.caFile {
                guard FileManager.default.isReadableFile(atPath: caFile) else {
                    throw SealError(
                        .usage, "cannot read the CA file \(caFile)",
                        remedy: "give the PEM file of the CA that signed the server's certificate")
                }
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } else if let pem = settings.caPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
            }
            if let cert = settings.clientCertificateFile {
                guard let key = settings.clientKeyFile else {
                    throw SealError(.usage, "a client certificate needs its key", remedy: "give the certificate's private key with it")
                }
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            }
        } catch let e as SealError {
            throw e
        } catch {
            throw SealError(
                .usage, "cannot load the TLS certificate or key: \(error)", remedy: "give PEM files (openssl x509 -in FILE -text shows a certificate)"
            )
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(settings.connectTimeout.components.seconds), read: .seconds(settings.timeout.components.seconds)),
            decompression: .disabled)
        configuration.httpVersion = .http1Only
        // A refused connection or a failed handshake is reported at once, not retried until the
        // connect timeout: the caller (a person, or the forwarder's backoff) decides when to retry.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }

    /// Runs `body` with a client and shuts the client down afterwards, whatever happens.
    public static func withClient<T>(_ settings: ClientSettings, _ body: (GatewayClient) async throws -> T) async throws -> T {
        let c = try GatewayClient(settings)
        do {
            let result = try await body(c)
            await c.shutdown()
            return result
        } catch {
            await c.shutdown()
            throw error
        }
    }

    public func shutdown() async { try? await client.shutdown() }

    /// A warning to show when `url` sends tokens and metadata in clear text beyond this machine,
    /// nil for `https://` and for loopback addresses.
    public static func plainTextWarning(_ url: String) -> String? {
        guard let u = URL(string: url), u.scheme?.lowercased() == "http", let host = u.host?.lowercased() else { return nil }
        let h = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if h == "localhost" || h == "::1" || h.hasPrefix("127.") { return nil }
        return
            "\(url) is plain http to another machine: bearer tokens, trust documents and package metadata cross the network in clear text; use https:// (docs/operations.md, TLS)"
    }

    /// Checks that `url` is an absolute http(s) URL; throws `usage` otherwise.
    public static func checkURL(_ url: String, what: String = "URL") throws {
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = u.host, !host.isEmpty
        else {
            throw SealError(
                .usage,
                "the \(what) '\(url.contains("@") ? "(not shown: it may carry a password)" : String(url.prefix(200)))' is not an http:// or https:// URL",
                remedy: "e.g. https://gateway.example.gov.vn")
        }
        // A user or password in the URL would be sent, stored and (for the handbook) logged.
        guard u.user == nil, u.password == nil else {
            throw SealError(
                .usage, "the \(what) carries a user name or password (user:pass@host); it is not accepted",
                remedy: "give the URL without credentials: a unit authenticates with its token, the gateway with its client certificate")
        }
    }

    /// Sends one request and reads the whole response (at most `maxResponseBytes`).
    public func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: ClientBody? = nil) async throws -> ClientResponse {
        try Self.checkURL(url)
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "User-Agent", value: SealgateVersion.userAgent)
        for (k, v) in headers { request.headers.add(name: k, value: v) }
        let limit = settings.maxResponseBytes
        let seconds = Int(max(1, settings.timeout.components.seconds))
        let deadline = NIODeadline.now() + .seconds(Int64(seconds))
        let client = self.client
        let prepared = request
        do {
            return try await withDeadline(seconds: seconds) {
                var request = prepared
                switch body {
                case .bytes(let b)?:
                    request.body = .bytes(b)
                    return try await Self.exchange(client, request, deadline: deadline, limit: limit)
                case .file(let path)?:
                    let source = try FileChunks(path: path)
                    defer { source.close() }
                    request.body = .stream(source, length: .known(source.size))
                    return try await Self.exchange(client, request, deadline: deadline, limit: limit)
                case nil:
                    return try await Self.exchange(client, request, deadline: deadline, limit: limit)
                }
            }
        } catch let e as SealError {
            throw e
        } catch {
            throw Self.coded(error, url: url, timeout: seconds)
        }
    }

    static func exchange(_ client: HTTPClient, _ request: HTTPClientRequest, deadline: NIODeadline, limit: Int) async throws -> ClientResponse {
        let response = try await client.execute(request, deadline: deadline)
        if let declared = response.headers.first(name: "content-length").flatMap(Int.init), declared > limit {
            throw tooLarge(limit)
        }
        let buffer: ByteBuffer
        do { buffer = try await response.body.collect(upTo: limit) } catch is NIOTooManyBytesError { throw tooLarge(limit) }
        var headers: [String: String] = [:]
        for h in response.headers { headers[h.name.lowercased()] = h.value }
        return ClientResponse(status: Int(response.status.code), headers: headers, body: Array(buffer.readableBytesView))
    }

    static func tooLarge(_ limit: Int) -> SealError {
        SealError(
            .responseTooLarge, "the server's answer is larger than \(limit) bytes",
            remedy: "check the URL: this is not the answer of a sealgate server")
    }

    /// Maps a transport failure to a coded error naming the URL (never a token: URLs carry none).
    static func coded(_ error: any Error, url: String, timeout: Int) -> SealError {
        let text = String(describing: error)
        if let e = error as? HTTPClientError {
            switch e {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .tlsHandshakeTimeout:
                return SealError(
                    .httpTimeout, "no complete answer from \(url) within \(timeout) s",
                    remedy: "retry later; if it was a submission, send the same package again (you get its one receipt)")
            case .remoteConnectionClosed:
                return SealError(
                    .httpError, "\(url) closed the connection before answering",
                    remedy: "retry later; if it persists, check the URL (https:// for a server with TLS) and the server's log")
            default: break
            }
        }
        if error is CancellationError || error is ClientDeadline {
            return SealError(
                .httpTimeout, "no complete answer from \(url) within \(timeout) s",
                remedy: "retry later; if it was a submission, send the same package again (you get its one receipt)")
        }
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("unableToValidateCertificate") || text.contains("failedToValidateHostname")
            || text.contains("certificate verify failed")
        {
            return SealError(
                .tlsUntrusted, "the server at \(url) presented a certificate this client does not trust (or one for another name)",
                remedy: "trust the CA that signed the server's certificate (a private CA), or check the host name in the URL",
                cause: error)
        }
        if text.contains("CERTIFICATE_REQUIRED") || text.contains("ALERT_UNKNOWN_CA") || text.contains("ALERT_BAD_CERTIFICATE")
            || text.contains("ALERT_CERTIFICATE_UNKNOWN")
        {
            return SealError(
                .tlsClientRefused, "the server at \(url) requires a client certificate and refused this one (or none was given)",
                remedy: "present a client certificate from the CA the server trusts for clients", cause: error)
        }
        if error is NIOSSLError || text.contains("SSL") || text.contains("TLS") || text.contains("handshake") {
            return SealError(
                .tlsFailed, "the TLS handshake with \(url) failed",
                remedy: "check that the URL is https:// on a TLS port (and http:// on a plain one), and the server's TLS settings (TLS 1.2 or later)",
                cause: error)
        }
        return SealError(.httpError, "cannot reach \(url)", remedy: "check that the server is running and the URL is right", cause: error)
    }
}

/// Thrown when the overall deadline passes.
struct ClientDeadline: Error {}

/// Runs `work`, cancelling it after `seconds` (the response of a slow-dripping server is
/// abandoned, not waited for).
func withDeadline<T: Sendable>(seconds: Int, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await work() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(max(1, seconds)) * 1_000_000_000)
            throw ClientDeadline()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw ClientDeadline() }
        return first
    }
}

/// A file read in 64 KiB chunks as the request body streams (pread; the file is open until `close`).
final class FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let fd: Int32
    let size: Int64
    let path: String

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SealError.io("cannot open \(path)", errno: errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw SealError.io("cannot read \(path)", errno: e)
        }
        self.fd = fd
        self.size = Int64(st.st_size)
        self.path = path
    }

    func close() { Glibc.close(fd) }

    struct AsyncIterator: AsyncIteratorProtocol {
        let source: FileChunks
        var offset: Int64 = 0
        mutating func next() async throws -> ByteBuffer? {
            guard offset < source.size else { return nil }
            let n = Int(Swift.min(Int64(1 << 16), source.size - offset))
            var buffer = ByteBufferAllocator().buffer(capacity: n)
            let at = offset
            let fd = source.fd
            let got = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: n) { p in
                do throws(SystemCallError) {
                    return try SystemIO.preadFull(fd, into: UnsafeMutableRawBufferPointer(rebasing: p[0..<n]), at: UInt64(at))
                } catch { throw SealError.io("cannot read \(source.path)", errno: error.errno) }
            }
            guard got == n else { throw SealError.io("\(source.path) shrank while it was being sent", errno: 0) }
            offset += Int64(n)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(source: self) }
}
