import Foundation
public import GatewayCore
import GatewayStore
public import Hummingbird
import Logging
import NIOHTTP1
public import SealBase
public import SealCrypto
import SealPackage

/// A refusal or failure as the API answers it: an RFC 9457 problem document carrying the stable
/// `code`, what happened (`detail`) and what to do (`remedy`). Handlers throw it; the one
/// `ProblemMiddleware` turns every error into one of these.
public struct Problem: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let detail: String
    public let remedy: String
    /// Extra headers (Retry-After, Connection: close).
    public var headers: HTTPFields = [:]
    /// Extra members of the document (an embedded receipt).
    public var extra: [String: JSON] = [:]

    /// A refusal or failure with its code: the status is the one `status(for:)` gives the code.
    public init(_ code: SealErrorCode, _ detail: String, remedy: String) {
        self.init(status: Self.status(for: code), code: code.rawValue, detail: detail, remedy: remedy)
    }

    /// A problem with a status of the caller's choosing: for the handbook receiver, which
    /// answers with its own statuses. The gateway answers every code from `status(for:)`.
    public init(_ status: HTTPResponse.Status, _ code: String, _ detail: String, remedy: String) {
        self.init(status: status, code: code, detail: detail, remedy: remedy)
    }

    private init(status: HTTPResponse.Status, code: String, detail: String, remedy: String) {
        self.status = status
        self.code = code
        self.detail = detail
        self.remedy = remedy
    }

    /// A SealError as the API answers it, with the status its code calls for.
    /// A fault of ours (`io_error`, `crypto_failure`, `store_failure`) keeps its code but not its
    /// message, which may name a path or a cause: the log line has those.
    public init(_ e: SealError) {
        if Intake.isGatewayFault(e) {
            self.init(
                e.code, "the server met a fault of its own and recorded nothing",
                remedy: "send the same request again in a minute; if it persists, tell the operator the time")
            headers[.retryAfter] = "30"
        } else {
            self.init(e.code, e.message, remedy: e.remedy)
        }
    }

    /// A store error as the API answers it, by its own code when the table answers that code
    /// as a refusal (`unit_exists`, `key_state`, … : a 4xx, with the store's message). Anything
    /// else — `store_unavailable`, `store_failure`, or a code of the store's inside that no route
    /// answers (`dataset_unreadable`, `unique_violation`, …, whose message may name a path or a
    /// constraint) — is a fault: `store_unavailable` or `store_failure`, 503, nothing of its
    /// cause, the same request asked for again later (the log line keeps the cause).
    init(_ e: StoreError) {
        if let status = Self.statuses[e.code], status.code < 500 {
            self.init(e.code, e.message, remedy: "see docs/errors.md for \(e.code.rawValue)")
        } else {
            self.init(
                e.code == .storeUnavailable ? .storeUnavailable : .storeFailure, "the gateway cannot use its store now",
                remedy: "nothing was recorded; try again in a minute")
            headers[.retryAfter] = "30"
        }
    }

    /// A body over the route's own limit: 413 whatever the route's code (docs/errors.md, the
    /// HTTP layer) — the one status not read from the code; the connection is closed.
    public static func overLimit(_ code: SealErrorCode, _ detail: String, remedy: String) -> Problem {
        Problem(status: .contentTooLarge, code: code.rawValue, detail: detail, remedy: remedy).closing()
    }

    /// The one status table: every code any route of the gateway (or the handbook receiver)
    /// answers, with its HTTP status. docs/errors.md lists the same (StatusTableTests holds the
    /// two together); a code not here is not a server's answer (a command-line or record code)
    /// and would be answered 422.
    public static let statuses: [SealErrorCode: HTTPResponse.Status] = {
        var t: [SealErrorCode: HTTPResponse.Status] = [:]
        func put(_ status: HTTPResponse.Status, _ codes: SealErrorCode...) { for c in codes { t[c] = status } }
        put(
            .badRequest, .containerMalformed, .signatureMalformed, .commentMalformed, .badParameter, .badRequest, .usage,
            .malformedDocument)
        put(.unauthorized, .unauthorized)
        put(.forbidden, .tokenUnitMismatch, .forbidden)
        put(.notFound, .unitUnknown, .packageUnknown, .datasetUnknown, .trustMissing, .notFound)
        put(.methodNotAllowed, .methodNotAllowed)
        put(.tooManyRequests, .signinThrottled)
        put(.conflict, .keyState, .keyExists, .unitExists, .seqConflict, .handbookUnset, .datasetEmpty, .datasetStale, .packageReused)
        put(.contentTooLarge, .packageTooLarge, .bodyTooLarge)
        put(
            .unprocessableContent, .keyUnknown, .unitMismatch, .signatureInvalid, .commentSignatureInvalid, .recipientNotAccepted,
            .recipientRetired, .ageHeaderMalformed, .ageUnsupportedVersion, .ageUnsupportedRecipient, .ageNoMatchingIdentity,
            .ageHeaderMACMismatch, .agePayloadCorrupt, .payloadMalformed, .manifestMismatch, .fileHashMismatch, .recordCountMismatch,
            .recordsInvalid, .seqNotIncreasing, .seqOutOfRange, .correctionsTooMany, .kindNotAccepted, .rotationInvalid,
            .rotationSignatureInvalid, .datasetExists, .kindNotDataset, .datasetNotFromDepartment, .datasetMalformed, .datasetCount)
        put(.internalServerError, .logInconsistent, .logBehind, .logFork, .internalError, .handbookFailure)
        put(
            .serviceUnavailable, .ioError, .cryptoFailure, .storeFailure, .storeUnavailable, .intakeFault, .trustExpired, .tokenUnavailable,
            .tokenPinRefused, .tokenKeyMissing)
        return t
    }()

    /// The status each code is answered with (the table above; 422 for a code no route answers).
    public static func status(for code: SealErrorCode) -> HTTPResponse.Status {
        statuses[code] ?? .unprocessableContent
    }

    /// The status a decided body is answered with, its receipt in the body: 201 accepted, 200 a
    /// replay, 409 `seq_conflict`, 422 rejected.
    public static func status(for kind: IntakeResult.Kind) -> HTTPResponse.Status {
        switch kind {
        case .accepted: return .created
        case .duplicate: return .ok
        case .seqConflict: return status(for: SealErrorCode.seqConflict)
        case .rejected: return .unprocessableContent
        }
    }

    /// Stops reading the request: the connection is closed once the answer is out (the rest of
    /// a refused body is never read).
    public func closing() -> Problem {
        var p = self
        p.headers[.connection] = "close"
        return p
    }

    /// The problem with the id of the request being answered (`request_id`, `RequestNote`), when there is one.
    public func withRequestId() -> Problem {
        guard let id = RequestNote.current?.id else { return self }
        var p = self
        p.extra["request_id"] = .string(id)
        return p
    }

    public func retryAfter(_ seconds: Int) -> Problem {
        var p = self
        p.headers[.retryAfter] = String(seconds)
        return p
    }

    var document: JSON { document(.en) }

    /// The document in `lang`. English: the title is the code, the detail and remedy the
    /// problem's own. Vietnamese: the title, detail and remedy are the code's Vietnamese text
    /// (SealBase's catalogue), the problem's own English words kept as `detail_en` and
    /// `remedy_en`. The `code` is the same in both.
    func document(_ lang: Language) -> JSON {
        var o: [String: JSON] = [
            "type": .string("https://sealgate.invalid/errors/\(code)"), "title": .string(code), "status": .int(Int64(status.code)),
            "code": .string(code), "detail": .string(detail), "remedy": .string(remedy),
        ]
        if lang == .vi {
            let text = SealErrorCode(code).text(.vi)
            o["title"] = .string(text.message)
            o["detail"] = .string(text.message)
            o["remedy"] = .string(text.remedy)
            o["detail_en"] = .string(detail)
            o["remedy_en"] = .string(remedy)
        }
        for (k, v) in extra { o[k] = v }
        return .object(o)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response(Language.negotiate(acceptLanguage: request.headers[.acceptLanguage]))
    }

    /// The answer in `lang` (the request's `Accept-Language`, `Language.negotiate`): it says its
    /// language (`Content-Language`) and that it depends on that field (`Vary`).
    public func response(_ lang: Language = .en) -> Response {
        var r = jsonResponse(status, document(lang).canonical, contentType: "application/problem+json")
        r.headers[.contentLanguage] = lang.rawValue
        r.headers[.vary] = "Accept-Language"
        for h in headers { r.headers[h.name] = h.value }
        return r
    }
}

/// A JSON (or text) answer.
public func jsonResponse(_ status: HTTPResponse.Status, _ text: String, contentType: String = "application/json") -> Response {
    var headers = HTTPFields()
    headers[.contentType] = contentType
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
}

/// The outermost middleware: every error becomes a coded problem document — a route that does
/// not exist, a method not allowed, a refusal, a fault of the store — and is counted. Nothing
/// internal (a path, a cause) reaches the stranger; the log line keeps the cause.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: GatewayMetrics

    public init(metrics: GatewayMetrics) { self.metrics = metrics }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            // `OPTIONS *` asks about the server, not a route: no route takes OPTIONS.
            if request.method == .options, request.uri.path == "*" { throw Self.methodRefused("OPTIONS *") }
            return try await next(request, context)
        } catch {
            var p = Self.problem(for: error)
            // TRACE is taken nowhere: on a path without routes too it is the method that is refused.
            if request.method == .trace, p.code == "not_found" { p = Self.methodRefused("TRACE") }
            metrics.count(problem: p.code)
            RequestNote.current?.code = p.code
            if p.status.code >= 500 {
                // The route's pattern, never the path as sent (a stranger's bytes, perhaps someone's data).
                let route = RequestLogMiddleware<Context>.route(context.endpointPath)
                context.logger.error("\(request.method) \(route): \(p.code): \(String(describing: error).prefix(500))")
            }
            return p.withRequestId().response(Language.negotiate(acceptLanguage: request.headers[.acceptLanguage]))
        }
    }

    /// The problem an error escaping everything is answered with, carrying the request's id.
    static func document(for error: any Error) -> Problem { problem(for: error).withRequestId() }

    /// 405 for a method this server takes on no route; `Allow` names those it takes on some.
    static func methodRefused(_ what: String) -> Problem {
        var p = Problem(
            .methodNotAllowed, "this server does not take \(what)", remedy: "use GET or POST on a route of docs/api.md")
        p.headers[.allow] = "GET, POST"
        return p
    }

    static func problem(for error: any Error) -> Problem {
        switch error {
        case let p as Problem: return p
        case let e as SealError: return Problem(e)
        case let e as StoreError: return Problem(e)
        case let e as HTTPError:
            switch e.status {
            case .notFound: return Problem(.notFound, "no such resource", remedy: "see docs/api.md for the routes")
            case .methodNotAllowed:
                return Problem(.methodNotAllowed, "this route does not take that method", remedy: "see docs/api.md")
            case .contentTooLarge:
                return Problem(.bodyTooLarge, "the request body is too large", remedy: "see docs/api.md for the limits")
                    .closing()
            case .badRequest: return Problem(.badRequest, "the request is malformed", remedy: "see docs/api.md")
            default: return Problem(e.status, "http_\(e.status.code)", e.status.reasonPhrase, remedy: "see docs/api.md")
            }
        case is HTTPParserError:
            // Framing the HTTP parser refused mid-request (conflicting lengths, a bad chunk size):
            // the connection cannot be trusted for another request.
            return Problem(
                .badRequest, "the request's framing is malformed", remedy: "send one Content-Length or chunked encoding, well formed"
            ).closing()
        default:
            return Problem(
                .internalError, "the gateway failed to answer this request",
                remedy: "try again; if it persists, report it with the time")
        }
    }
}

extension Router {
    /// Every path the router serves answers the methods it does not take with 405
    /// `method_not_allowed` and an `Allow` header naming those it does (the router alone answers
    /// them 404). Call once the routes are added; the middleware added before applies.
    public func answerMethodsNotAllowed() {
        // QUERY (the safe method with a body, draft-ietf-httpbis-safe-method-w-body) too: once answered 404 on a route's path.
        let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options, .trace, HTTPRequest.Method("QUERY")!]
        for (_, routes) in Dictionary(grouping: self.routes, by: { $0.path.description }) {
            let taken = Set(routes.map(\.method))
            let allow = methods.filter(taken.contains).map(\.rawValue).joined(separator: ", ")
            for m in methods where !taken.contains(m) {
                on(routes[0].path, method: m) { _, _ -> Response in
                    var p = Problem(
                        .methodNotAllowed, "this route does not take \(m.rawValue)", remedy: "use \(allow) (docs/api.md)")
                    p.headers[.allow] = allow
                    throw p
                }
            }
        }
    }
}
