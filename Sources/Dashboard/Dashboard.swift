import Foundation
public import GatewayCore
public import GatewayStore
import HTTPTypes
public import Hummingbird
import Mustache
import NIOCore
public import SealBase
import SealCrypto
import Synchronization

/// How long a dashboard session lives, whether its cookie is `Secure`, and how many failed
/// sign-ins a minute a process takes before it refuses every sign-in for a while.
public struct DashboardSettings: Sendable {
    /// A session unused this long ends.
    public var idle: Duration = .seconds(8 * 3_600)
    /// A session ends this long after sign-in, however busy.
    public var lifetime: Duration = .seconds(24 * 3_600)
    /// The cookies carry `Secure` (the gateway serves TLS itself; behind a TLS proxy,
    /// `X-Forwarded-Proto: https` says so per request).
    public var secureCookies = false
    /// Failed sign-ins a process takes within `window` before refusing all (`signin_throttled`).
    public var failedSignIns = 10
    public var window: Duration = .seconds(60)
    public init() {}
}

/// The department's web dashboard under `/ui/` (docs/operations.md, "The dashboard"): the
/// campaign, a unit, the datasets, the keys and trust documents, the log — server-rendered from
/// `Templates` with every word from `DashboardText`, read from the same views the command line
/// prints (`CampaignView`, `KeyInventory`, `DatasetInventory`). Behind `DashboardGuard`: nothing
/// but the sign-in page and the style sheet without a session.
public struct Dashboard<Context: RequestContext>: Sendable {
    let store: any GatewayStore
    let data: DataDirectory
    let log: GatewayLog
    let clock: any GatewayClock
    let settings: DashboardSettings
    let limiter: SignInLimiter
    let library: MustacheLibrary

    public init(store: any GatewayStore, data: DataDirectory, log: GatewayLog, clock: any GatewayClock, settings: DashboardSettings = .init()) {
        self.store = store
        self.data = data
        self.log = log
        self.clock = clock
        self.settings = settings
        self.limiter = SignInLimiter(limit: settings.failedSignIns, window: settings.window)
        var library = MustacheLibrary()
        for (name, text) in Templates.all {
            // The templates are this file's own constants: DashboardTextTests parses each.
            if let t = try? MustacheTemplate(string: text) { library.register(t, named: name) }
        }
        self.library = library
    }

    /// Mounts the dashboard at /ui on `router`, behind its guard.
    public func register(on router: Router<Context>) {
        let pages = DashboardPages(dashboard: self)
        let g = router.group("ui").add(middleware: DashboardGuard<Context>(dashboard: self))
        g.get("", use: pages.campaign)
        g.get("signin", use: pages.signInPage)
        g.post("signin", use: pages.signIn)
        g.post("signout", use: pages.signOut)
        g.post("lang", use: pages.switchLanguage)
        g.get("static/dashboard.css", use: pages.css)
        g.get("units/:id", use: pages.unit)
        g.get("datasets", use: pages.datasets)
        g.get("keys", use: pages.keys)
        g.get("log", use: pages.log)
        g.get("**", use: pages.notFound)
        g.post("**", use: pages.notFound)
    }

    // MARK: Cookies, sessions, CSRF

    static var sessionCookie: String { "sealgate_ui" }
    static var langCookie: String { "sealgate_ui_lang" }

    static func cookie(_ request: Request, _ name: String) -> String? {
        for line in request.headers[values: .cookie] {
            for pair in line.split(separator: ";") {
                let kv = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if kv.count == 2, kv[0] == name { return String(kv[1]) }
            }
        }
        return nil
    }

    /// The stored name of a session: the SHA-256 of its cookie (the cookie itself is never kept).
    static func idHash(_ cookie: String) -> String { hexString(SHA256Hasher.hash(Array(cookie.utf8))) }

    /// The session's CSRF token: derived from its cookie (HttpOnly: no other page can read it).
    static func csrf(_ cookie: String) -> String { hexString(SHA256Hasher.hash(Array("sealgate-ui-csrf\n\(cookie)".utf8))) }

    /// A new session's cookie value: 32 random bytes, base64url.
    static func newCookieValue() -> String {
        String(Base64.encode(SecureRandom.bytes(32), padded: false).map { $0 == "+" ? "-" : ($0 == "/" ? "_" : $0) })
    }

    static func same(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        return x.count == y.count && constantTimeEqual(x, y)
    }

    func secure(_ request: Request) -> Bool {
        settings.secureCookies || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    /// The page's language: the cookie, else Vietnamese.
    static func language(_ request: Request) -> Language {
        cookie(request, langCookie).flatMap { Language(rawValue: $0) } ?? .vi
    }

    /// The session the request's cookie names, when it is still valid (its last use recorded).
    func session(_ request: Request) async throws -> (DashboardSession, cookie: String)? {
        guard let cookie = Self.cookie(request, Self.sessionCookie), cookie.utf8.count == 43 else { return nil }
        // The campaign page's own refresh (`auto=1`) does not count as use: an unattended page
        // still idles out.
        let touch = request.uri.queryParameters.get("auto") != "1"
        guard let s = try await store.useSession(idHash: Self.idHash(cookie), now: clock.now, idle: settings.idle, touch: touch) else {
            return nil
        }
        return (s, cookie)
    }

    // MARK: Rendering

    func render(_ template: String, _ values: [String: Any], lang: Language) -> String {
        var v = values
        v["t"] = DashboardText.table(lang)
        return library.render(v, withTemplate: template) ?? ""
    }

    /// A whole page: `body` (its template and values) inside the layout.
    func page(
        _ template: String, _ values: [String: Any], title: String, lang: Language, csrf: String?, path: String, refresh: String? = nil,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        let body = render(template, values.merging(["lang": lang.rawValue]) { a, _ in a }, lang: lang)
        let html = render(
            "layout",
            [
                "lang": lang.rawValue, "otherLang": (lang == .vi ? Language.en : .vi).rawValue, "title": title, "body": body,
                "signedIn": csrf != nil, "csrf": csrf ?? "", "path": path, "refresh": refresh ?? "",
            ], lang: lang)
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[HTTPField.Name("Content-Language")!] = lang.rawValue
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A refusal or failure as a page: the code's text in the page's language, the code, the
    /// technical detail folded away.
    func errorPage(_ code: SealErrorCode, detail: String, status: HTTPResponse.Status, lang: Language, csrf: String?) -> Response {
        let t = code.text(lang)
        let words = DashboardText.table(lang)
        var r = page(
            "error", ["message": t.message, "remedy": t.remedy, "code": code.rawValue, "detail": detail],
            title: words["error_title"] ?? "", lang: lang, csrf: csrf, path: "/ui/", status: status)
        r.headers[HTTPField.Name("Sealgate-Error-Code")!] = code.rawValue
        return r
    }
}

/// A refusal before any page: a status and a code.
struct DashboardRefusal: Error {
    let status: HTTPResponse.Status
    let code: SealErrorCode
    let detail: String
    var retryAfter: Int?
    init(_ status: HTTPResponse.Status, _ code: SealErrorCode, _ detail: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.detail = detail
        self.retryAfter = retryAfter
    }
}

/// Failed sign-ins, per process: after `limit` within `window`, every *failing* sign-in is
/// answered `signin_throttled` (429) until the oldest failure leaves the window — a valid admin
/// token still signs in, so a stranger cannot lock the operators out. Tokens carry 192 random
/// bits, so guessing is hopeless anyway; this keeps a stranger's attempts cheap to answer.
final class SignInLimiter: Sendable {
    let limit: Int
    let window: Int64
    private let failures = Mutex<[Int64]>([])

    init(limit: Int, window: Duration) {
        self.limit = limit
        self.window = max(1, window.components.seconds)
    }

    /// Seconds to wait before trying again, or nil when a sign-in may be tried now.
    func wait(now: Int64) -> Int64? {
        failures.withLock { f in
            f.removeAll { $0 <= now - window }
            guard f.count >= limit, let oldest = f.first else { return nil }
            return max(1, oldest + window - now)
        }
    }

    func fail(now: Int64) {
        failures.withLock { f in
            f.append(now)
            if f.count > limit * 2 { f.removeFirst(f.count - limit * 2) }
        }
    }
}
