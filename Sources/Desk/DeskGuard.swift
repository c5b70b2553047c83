import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import SealBase
import SealCrypto

/// The request context of the desk: the form the guard read (and checked the CSRF token of).
public struct DeskContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    var form: FormFields?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// Everything a request passes before a page sees it, in this order: the `Host` header is this
/// launch's loopback address exactly (DNS rebinding); the path is under `/s/<secret>/`, the
/// launch's path secret (a browser sends the cookie to every port of 127.0.0.1: the cookie alone
/// is not the credential); `/s/<secret>/open?key=` exchanges the per-launch key, once, for the
/// session cookie; every other request carries that cookie; a POST comes from the
/// desk's own pages (`Origin`, `Sec-Fetch-Site` when present) and carries the session's CSRF
/// token (a form field, or the action URL's query for a file upload, checked before the body is
/// read). Every answer, refusals too, carries the CSP and the other headers.
struct DeskGuard: RouterMiddleware {
    typealias Context = DeskContext
    let state: DeskState
    static let cookieName = "sealgate_desk"
    /// A form's body (never a file upload) is at most this.
    static let maxFormBytes = 64 << 10

    static let securityHeaders: [(String, String)] = [
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]

    func handle(_ request: Request, context: DeskContext, next: (Request, DeskContext) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await check(request, context, next)
        } catch let r as DeskRefusal {
            response = r.response
        } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            response =
                DeskRefusal(.contentTooLarge, .bodyTooLarge, "the form is larger than the desk accepts", remedy: "send a smaller form").response
        } catch let e as SealError {
            response = DeskRefusal(.internalServerError, e.code, e.message, remedy: e.remedy).response
        } catch let e as any HTTPResponseError {
            response = DeskRefusal(e.status, .badRequest, "the desk cannot answer this request", remedy: "use the desk's own pages").response
        } catch {
            let remedy = "try again; restart the desk if it goes on"
            response = DeskRefusal(.internalServerError, .internalError, "the desk failed to answer", remedy: remedy).response
        }
        for (name, value) in Self.securityHeaders { response.headers[HTTPField.Name(name)!] = value }
        return response
    }

    func check(_ request: Request, _ context: DeskContext, _ next: (Request, DeskContext) async throws -> Response) async throws -> Response {
        let (port, launchKey, session, csrf) = state.with { ($0.port, $0.launchKey, $0.session, $0.csrf) }
        let host = request.head.authority ?? ""
        guard port > 0, host == "127.0.0.1:\(port)" || host == "localhost:\(port)" else {
            throw DeskRefusal(
                .forbidden, .forbidden, "the desk answers only at its own loopback address (Host 127.0.0.1:\(port) or localhost:\(port))",
                remedy: "open the address the desk printed when it started")
        }
        let base = state.base
        guard Self.underSecret(request.uri.path, state.pathSecret) else {
            throw DeskRefusal(
                .forbidden, .forbidden, "this address is not one of this desk's launch",
                remedy: "open the address the desk printed when it started")
        }
        if request.uri.path == base + "/open" {
            guard request.method == .get, let key = launchKey, let given = request.uri.queryParameters.get("key"), Self.same(given, key) else {
                throw DeskRefusal(
                    .forbidden, .forbidden, "this opening link is not valid (it works once, for the launch that printed it)",
                    remedy: "start the desk again and open the new address it prints")
            }
            let token = DeskState.randomToken()
            let launcher = state.with {
                $0.launchKey = nil
                $0.session = token
                return $0.launcherFile.take()
            }
            // The page that led the browser here holds the key: no longer needed.
            if let launcher { try? FileManager.default.removeItem(atPath: launcher) }
            var headers = HTTPFields()
            headers[.location] = base + "/"
            headers[.setCookie] = "\(Self.cookieName)=\(token); Path=\(base)/; HttpOnly; SameSite=Strict"
            return Response(status: .seeOther, headers: headers)
        }
        guard let session, let cookie = Self.cookie(request), Self.same(cookie, session) else {
            throw DeskRefusal(
                .forbidden, .forbidden, "this browser has no session of this desk",
                remedy: "open the address the desk printed when it started (it opens once, in one browser)")
        }
        guard request.method == .post else { return try await next(request, context) }
        // With `Referrer-Policy: no-referrer` a browser sends `Origin: null` for the desk's own
        // forms: then the fetch metadata must say same-origin.
        let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!]
        if let origin = request.headers[.origin] {
            let ours = origin == "http://127.0.0.1:\(port)" || origin == "http://localhost:\(port)"
            guard ours || (origin == "null" && site == "same-origin") else {
                throw DeskRefusal(.forbidden, .forbidden, "a form sent from another site", remedy: "use the desk's own pages")
            }
        }
        if let site, site != "same-origin" {
            throw DeskRefusal(.forbidden, .forbidden, "a form sent from another site", remedy: "use the desk's own pages")
        }
        var context = context
        let type = (request.headers[.contentType] ?? "").lowercased()
        if type.hasPrefix("application/x-www-form-urlencoded") {
            // Collected into a buffer of its own (the request keeps no reference to it), decoded
            // where it lies, then zeroed in place.
            var body = try await request.body.collect(upTo: Self.maxFormBytes)
            let form = body.withUnsafeReadableBytes { FormFields(raw: $0) }
            body.withUnsafeMutableReadableBytes { secureZero($0) }
            guard let token = form["csrf"], Self.same(token, csrf) else {
                form.wipe()
                throw DeskRefusal(
                    .forbidden, .forbidden, "the form's check token is missing or not this session's",
                    remedy: "open the page again and send it from there")
            }
            context.form = form
            defer { form.wipe() }
            return try await next(request, context)
        }
        if type.hasPrefix("multipart/form-data") {
            guard let token = request.uri.queryParameters.get("csrf"), Self.same(token, csrf) else {
                throw DeskRefusal(
                    .forbidden, .forbidden, "the form's check token is missing or not this session's",
                    remedy: "open the page again and send it from there")
            }
            return try await next(request, context)
        }
        throw DeskRefusal(.unsupportedMediaType, .badRequest, "the desk takes forms only", remedy: "use the desk's own pages")
    }

    /// True when `path` is under `/s/<secret>/` (compared in constant time), `/s/<secret>` itself
    /// included (its answer redirects or refuses: the cookie's path is `/s/<secret>/`).
    static func underSecret(_ path: String, _ secret: String) -> Bool {
        let parts = path.utf8.split(separator: UInt8(ascii: "/"), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0].isEmpty, parts[1].elementsEqual("s".utf8) else { return false }
        let given = Array(parts[2].prefix { $0 != UInt8(ascii: "/") })
        let ours = Array(secret.utf8)
        return given.count == ours.count && constantTimeEqual(given, ours)
    }

    /// The desk's cookie from the request's `Cookie` headers.
    static func cookie(_ request: Request) -> String? {
        for line in request.headers[values: .cookie] {
            for pair in line.split(separator: ";") {
                let kv = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == cookieName { return String(kv[1]) }
            }
        }
        return nil
    }

    /// Constant-time comparison of two tokens.
    static func same(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        return x.count == y.count && constantTimeEqual(x, y)
    }
}

/// A refusal before any page: a coded problem document (RFC 9457), nothing of the unit's.
struct DeskRefusal: Error {
    let status: HTTPResponse.Status
    let code: SealErrorCode
    let detail: String
    let remedy: String

    init(_ status: HTTPResponse.Status, _ code: SealErrorCode, _ detail: String, remedy: String) {
        self.status = status
        self.code = code
        self.detail = detail
        self.remedy = remedy
    }

    var response: Response {
        let body = JSONSerialization.problem(status: Int(status.code), code: code.rawValue, detail: detail, remedy: remedy)
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension JSONSerialization {
    static func problem(status: Int, code: String, detail: String, remedy: String) -> [UInt8] {
        let o: [String: Any] = ["type": "about:blank", "status": status, "code": code, "detail": detail, "remedy": remedy]
        return [UInt8]((try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8))
    }
}
