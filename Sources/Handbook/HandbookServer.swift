import Foundation
import GatewayCore
public import GatewayHTTP
import Hummingbird
import Logging
import NIOCore
import SealBase
import SealCrypto
import SealPackage

/// Streams a request body into a new file through the one `BodySpooler` (written on `pool` in
/// 1 MiB batches, fsynced); refuses it with `tooLarge` past `maxBytes` (the file is then removed).
/// As soon as the first member is in, `check` decides whether the rest is read at all: it throws
/// the refusal.
func receiveBody(
    _ request: Request, to path: String, maxBytes: Int, pool: BlockingPool, tooLarge: @escaping @Sendable () -> Problem,
    check: (PackagePeek) async throws -> Void
) async throws -> Int {
    let spooler = try await pool.run { try BodySpooler(creating: path, limit: UInt64(max(0, maxBytes))) }
    let kept = try await spooler.receive(
        request.body, offload: { work in try await pool.run(work) },
        refuse: { e in
            if e.code == .packageTooLarge { return tooLarge().closing() }
            return Problem(.badRequest, e.code.rawValue, "not a sealgate package: \(e.message)", remedy: "send the sealed dataset file unchanged")
                .closing()
        },
        head: check)
    return Int(kept.size)
}

extension HandbookReceiver.Answer {
    /// A refusal as answered: a line in the receiver's log (code and detail, never a cause)
    /// and its problem document.
    func refusal(_ logger: Logger) -> Problem {
        logger.info("dataset refused (\(status) \(code ?? "")): \(detail)")
        return Problem(HTTPResponse.Status(code: status), code ?? "refused", detail, remedy: remedy)
    }
}

/// The handbook receiver's routes: POST /v1/datasets (a sealed dataset; answers the signed
/// acknowledgement, `Sealgate-Ack-Signature`), GET /v1/datasets (history), GET /v1/health.
struct HandbookRoutes {
    let receiver: HandbookReceiver
    let maxBodyBytes: Int
    /// File work: the body written as it streams in, the package checked and opened.
    let pool: BlockingPool
    /// The receiver's lines (imports, refusals).
    let logger: Logger

    var routes: RouteCollection<ListenerContext> {
        RouteCollection(context: ListenerContext.self)
            .get("/v1/health", use: health)
            .get("/v1/datasets", use: history)
            .post("/v1/datasets", use: receive)
    }

    @Sendable func health(_ request: Request, _ context: ListenerContext) async throws -> Response {
        try Param.only(request, [])
        let (c, latest) = (try await receiver.store.counts(), try await receiver.store.latest())
        return jsonResponse(
            .ok,
            JSON.object([
                "status": .string("ok"), "version": latest.map { .int(Int64($0.version)) } ?? .null,
                "members": .int(Int64(c.members)), "organizations": .int(Int64(c.organizations)),
                "conflicts": .int(Int64(c.conflicts)),
            ]).canonical)
    }

    @Sendable func history(_ request: Request, _ context: ListenerContext) async throws -> Response {
        try Param.only(request, [])
        let list = try await receiver.store.history()
        return jsonResponse(
            .ok,
            JSON.array(
                list.map { d in
                    JSON.object([
                        "version": .int(Int64(d.version)), "package": .string(d.packageId), "sha256": .string(d.sha256),
                        "received_at": .string(d.receivedAt.text),
                        "members": .int(Int64(d.members)), "organizations": .int(Int64(d.organizations)), "conflicts": .int(Int64(d.conflicts)),
                    ])
                }
            ).canonical)
    }

    @Sendable func receive(_ request: Request, _ context: ListenerContext) async throws -> Response {
        try Param.only(request, [])
        let (receiver, maxBodyBytes, pool, logger) = (receiver, maxBodyBytes, pool, logger)
        // Any declared length over the limit, up to 2^64−1 (beyond `Int`), before a byte is read.
        if let len = request.declaredLength(over: maxBodyBytes) {
            throw Problem(
                HTTPResponse.Status(code: HandbookStatus.status(.packageTooLarge, otherwise: .fault)), "package_too_large",
                "body of \(len) bytes is over \(maxBodyBytes)",
                remedy: "split the dataset, or ask the handbook system's operator to accept larger bodies"
            ).closing()
        }
        expectContinue(on: context.channel)
        let path = "\(receiver.incomingPath)/\(PackageIdentifiers.newUUIDv7()).sgp"
        _ = try await receiveBody(
            request, to: path, maxBytes: maxBodyBytes, pool: pool,
            tooLarge: {
                Problem(
                    HTTPResponse.Status(code: HandbookStatus.status(.packageTooLarge, otherwise: .fault)), "package_too_large",
                    "body over \(maxBodyBytes) bytes",
                    remedy: "split the dataset, or ask the handbook system's operator to accept larger bodies")
            },
            check: { peek in
                // A stranger's body (not the department's dataset key, an old version) is refused
                // here, before the rest is read or stored. A key the trust document does not list
                // (yet) may send the receiver to the gateway for a newer one first (rate-limited).
                if let a = try await receiver.precheckFollowingTrust(peek) { throw a.refusal(logger).closing() }
            })
        let started = Date()
        let a = await receiver.receive(path: path, pool: pool)
        let seconds = Date().timeIntervalSince(started)
        if a.status == HandbookStatus.imported, let ack = a.ack.flatMap({ try? JSON(parsing: $0) }) {
            let line = String(
                format: "dataset v%lld (%@) imported: %lld members in %.2f s (check+decrypt %.2f s, read+store %.2f s)",
                ack["version"]?.int ?? 0, ack["package"]?.string ?? "", ack["members"]?.int ?? 0, seconds, a.timings.open, a.timings.store)
            logger.info("\(line)")
        }
        guard let ack = a.ack, let sig = a.signature else { throw a.refusal(logger) }
        var r = jsonResponse(HTTPResponse.Status(code: a.status), ack)
        r.headers[.init("Sealgate-Ack-Signature")!] = Base64.encode(Array(sig.utf8))
        return r
    }
}

/// The handbook receiver's HTTP API (`HandbookRoutes`), with the same listener limits, TLS and
/// coded problems as the gateway. Runs until SIGTERM or SIGINT.
public func serveHandbook(
    receiver: HandbookReceiver, listen: ListenSettings, tls: TLSIdentity? = nil, maxBodyBytes: Int,
    onRunning: @escaping @Sendable (Int) async -> Void
) async throws {
    let router = Router(context: ListenerContext.self)
    router.add(middleware: RequestLogMiddleware<ListenerContext>(metrics: nil, logger: .lines("sealgate.handbook.http")))
    router.add(middleware: ProblemMiddleware<ListenerContext>(metrics: GatewayMetrics()))
    router.addRoutes(HandbookRoutes(receiver: receiver, maxBodyBytes: maxBodyBytes, pool: BlockingPool.shared, logger: receiver.logger).routes)
    OpenAPIRoute.add(to: router, document: OpenAPIDocuments.handbook)
    router.answerMethodsNotAllowed()
    let listening = ListeningFlag()
    let app = Application(
        router: router, server: try listen.serverBuilder(identity: tls),
        configuration: listen.applicationConfiguration(serverName: "sealgate-handbook"),
        onServerRunning: { channel in
            listening.set()
            await onRunning(channel.localAddress?.port ?? listen.port)
        },
        logger: .lines("sealgate.handbook.http", to: .standardError))
    do { try await app.runService() } catch {
        // A failure to bind the address (taken since `checkListen`) is `listen_failed`.
        guard !listening.isSet, let e = listen.listenFailure(ifBindError: error) else { throw error }
        throw e
    }
}
