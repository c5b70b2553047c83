import Foundation
import GatewayStore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SealBase
import SealCrypto

/// Everything a request under /ui passes before a page sees it: without a valid session only
/// the sign-in page and the style sheet answer (any other GET is sent to sign in, anything else
/// is 403 `forbidden`); a POST comes from the dashboard's own pages (`Origin` and
/// `Sec-Fetch-Site` when present) and, once signed in, carries the session's CSRF token. Every
/// answer, refusals and failures too, carries the CSP and the other headers, and a failure is a
/// page with its code (never a trace).
struct DashboardGuard<Context: RequestContext>: RouterMiddleware {
    let dashboard: Dashboard<Context>
    /// A form's body is at most this.
    static var maxFormBytes: Int { 16 << 10 }

    static var securityHeaders: [(String, String)] {
        [
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
    }

    /// What answers without a session.
    static func isPublic(_ request: Request) -> Bool {
        let path = request.uri.path
        return path == "/ui/signin" && (request.method == .get || request.method == .post)
            || path == "/ui/static/dashboard.css" && request.method == .get
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        let lang = Dashboard<Context>.language(request)
        do {
            response = try await check(request, context, next)
        } catch let r as DashboardRefusal {
            response = dashboard.errorPage(r.code, detail: r.detail, status: r.status, lang: lang, csrf: nil)
            if let s = r.retryAfter { response.headers[.retryAfter] = String(s) }
        } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            response = dashboard.errorPage(
                .bodyTooLarge, detail: "the form is larger than the dashboard takes", status: .contentTooLarge, lang: lang, csrf: nil)
        } catch let e as StoreError {
            let code: SealErrorCode = e.code == .storeUnavailable ? .storeUnavailable : .storeFailure
            response = dashboard.errorPage(code, detail: "the gateway cannot use its store now", status: .serviceUnavailable, lang: lang, csrf: nil)
            response.headers[.retryAfter] = "30"
        } catch let e as SealError {
            // The code and its own words (the gateway's errors name no personal data).
            response = dashboard.errorPage(e.code, detail: String(e.message.prefix(400)), status: .internalServerError, lang: lang, csrf: nil)
        } catch {
            context.logger.error("dashboard: \(String(describing: type(of: error)))")
            response = dashboard.errorPage(.internalError, detail: "the page failed", status: .internalServerError, lang: lang, csrf: nil)
        }
        for (name, value) in Self.securityHeaders { response.headers[HTTPField.Name(name)!] = value }
        return response
    }

    func check(_ request: Request, _ context: Context, _ next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method != .get && request.method != .head {
            try Self.sameOrigin(request)
        }
        if Self.isPublic(request) { return try await next(request, context) }
        guard let (_, cookie) = try await dashboard.session(request) else {
            guard request.method == .get || request.method == .head else {
                throw DashboardRefusal(.forbidden, .forbidden, "no dashboard session: sign in first")
            }
            var headers = HTTPFields()
            headers[.location] = "/ui/signin"
            if Dashboard<Context>.cookie(request, Dashboard<Context>.sessionCookie) != nil {
                headers[.setCookie] = "\(Dashboard<Context>.sessionCookie)=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict"
            }
            return Response(status: .seeOther, headers: headers)
        }
        guard request.method == .post else { return try await next(request, context) }
        var request = request
        let form = try await Self.form(&request)
        guard let token = form["csrf"], Dashboard<Context>.same(token, Dashboard<Context>.csrf(cookie)) else {
            throw DashboardRefusal(.forbidden, .forbidden, "the form's check token is missing or not this session's: open the page again")
        }
        return try await next(request, context)
    }

    /// A POST from another site is refused: `Origin` (when sent) names this host, or is `null`
    /// with `Sec-Fetch-Site: same-origin` (`Referrer-Policy: no-referrer`); `Sec-Fetch-Site`
    /// (when sent) says same-origin.
    static func sameOrigin(_ request: Request) throws {
        let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!]
        if let origin = request.headers[.origin] {
            let host = request.head.authority ?? ""
            let ours = !host.isEmpty && (origin == "http://\(host)" || origin == "https://\(host)")
            guard ours || (origin == "null" && site == "same-origin") else {
                throw DashboardRefusal(.forbidden, .forbidden, "a form sent from another site")
            }
        }
        if let site, site != "same-origin", site != "none" {
            throw DashboardRefusal(.forbidden, .forbidden, "a form sent from another site")
        }
    }

    /// The form of a POST (application/x-www-form-urlencoded, at most `maxFormBytes`); the
    /// request keeps the collected body for the page.
    static func form(_ request: inout Request) async throws -> [String: String] {
        let type = (request.headers[.contentType] ?? "").lowercased()
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            throw DashboardRefusal(.unsupportedMediaType, .badRequest, "the dashboard takes forms only")
        }
        let body = try await request.collectBody(upTo: maxFormBytes)
        return parseForm(String(decoding: body.readableBytesView, as: UTF8.self))
    }

    /// `a=b&c=d`, percent- and plus-decoded; the first of a repeated name.
    static func parseForm(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { (String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding) ?? "" }
            let k = decode(kv[0])
            if out[k] == nil { out[k] = kv.count > 1 ? decode(kv[1]) : "" }
        }
        return out
    }
}
