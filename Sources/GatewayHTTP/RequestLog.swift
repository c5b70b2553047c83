import Foundation
public import Hummingbird
public import Logging
import SealCrypto
import Synchronization

/// What is known of the request being answered, for its one log line and its problem document:
/// its id, the unit it concerns once a route knows it (a unit id is public), the problem's code.
/// Reached through `RequestNote.current` (a task local the request middleware sets), so that a
/// route or the problem middleware of any context type can add to it.
public final class RequestNote: Sendable {
    public let id: String
    private let state = Mutex<(unit: String?, code: String?)>((nil, nil))

    init(id: String) { self.id = id }

    @TaskLocal public static var current: RequestNote?

    public var unit: String? {
        get { state.withLock { $0.unit } }
        set { state.withLock { $0.unit = newValue } }
    }

    public var code: String? {
        get { state.withLock { $0.code } }
        set { state.withLock { $0.code = newValue } }
    }

    /// An incoming `X-Request-Id` kept when it is sane (1 to 64 characters of [A-Za-z0-9-_]);
    /// otherwise (absent, too long, anything else in it) a new one.
    static func id(incoming: String?) -> String {
        if let s = incoming, (1...64).contains(s.utf8.count),
            s.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F })
        {
            return s
        }
        // 12 random bytes from libsodium in one call (a byte at a time was a system call each).
        return hexString(SecureRandom.bytes(12))
    }
}

/// The outermost middleware of the gateway and the handbook receiver: gives each request an id
/// (`X-Request-Id` in the answer, `request_id` in every problem document and in the request's
/// log metadata), counts it in `sealgate_http_requests_total` and its histogram by route
/// pattern (`unmatched` for a path no route takes: a stranger's path never makes a series), and
/// writes one log line: method, route pattern, status, duration, request id, the unit when a
/// route named it, the problem's code — never the path as sent, a query, a header or a body.
public struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: GatewayMetrics?
    let logger: Logger

    public init(metrics: GatewayMetrics?, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let note = RequestNote(id: RequestNote.id(incoming: request.headers[.init("X-Request-Id")!]))
        var context = context
        context.logger[metadataKey: "request_id"] = .string(note.id)
        var response: Response
        do {
            response = try await RequestNote.$current.withValue(note) { try await next(request, context) }
        } catch {
            // The problem middleware answers every error; one escaping it is written here.
            let p = RequestNote.$current.withValue(note) { ProblemMiddleware<Context>.document(for: error) }
            response = p.response()
        }
        response.headers[.init("X-Request-Id")!] = note.id
        let route = Self.route(context.endpointPath)
        let duration = ContinuousClock.now - started
        metrics?.countRequest(route: route, method: request.method.rawValue, status: Int(response.status.code), duration: duration)
        var meta: Logger.Metadata = [
            "method": .string(request.method.rawValue), "route": .string(route), "status": .stringConvertible(Int(response.status.code)),
            "duration_seconds": .stringConvertible((Double(GatewayMetrics.nanoseconds(duration) / 1000) / 1e6)),
            "request_id": .string(note.id),
        ]
        if let unit = note.unit { meta["unit"] = .string(unit) }
        if let code = note.code { meta["code"] = .string(code) }
        logger.info("\(request.method.rawValue) \(route) \(response.status.code)", metadata: meta)
        return response
    }

    /// The route pattern as a label: the router sets the pattern of the route it matched (a
    /// bounded set), or `NotFound`; that and no route at all are `unmatched`.
    static func route(_ endpoint: String?) -> String {
        guard let e = endpoint, e != "NotFound", e.hasPrefix("/") else { return "unmatched" }
        return e
    }
}
