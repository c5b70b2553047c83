import Foundation
import GatewayCore
import GatewayStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SealBase
import SealCrypto
import Testing

@testable import Dashboard

/// The dashboard's guard in process: a router with only the dashboard on a real SQLite store, a
/// test clock. Nothing but the sign-in page and the style sheet answers without a session;
/// forms need the session's check token and this site's origin; sessions expire, end at sign-out
/// and with their token; failed sign-ins are throttled.
@Suite struct DashboardRouteTests {
    static let start = Timestamp(unixSeconds: 1_796_000_000)
    static let admin = "sgt_dashboard-admin-token-for-tests-0123456789"
    static let unitToken = "sgt_dashboard-unit-token-for-tests-0123456789"

    final class Fixture: Sendable {
        let dir: String
        let store: SQLGatewayStore
        let clock = TestClock(DashboardRouteTests.start)
        let app: Application<RouterResponder<BasicRequestContext>>

        init() async throws {
            dir = NSTemporaryDirectory() + "sealgate-dashboard-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            store = try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite")
            for (token, role) in [(DashboardRouteTests.admin, TokenRole.admin), (DashboardRouteTests.unitToken, .unit)] {
                try await store.addToken(
                    TokenRecord(
                        hash: hexString(SHA256Hasher.hash(Array(token.utf8))), role: role, unitId: role == .unit ? "HCM-U001" : nil,
                        createdAt: DashboardRouteTests.start))
            }
            let log = await GatewayLog(store: store, key: MinisignSecretKey.generate(), department: "TEST")
            let router = Router()
            Dashboard<BasicRequestContext>(store: store, data: DataDirectory(dir), log: log, clock: clock).register(on: router)
            app = Application(router: router)
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
    }

    static let pages = ["/ui", "/ui/", "/ui/units/HCM-U001", "/ui/datasets", "/ui/keys", "/ui/log", "/ui/no-such-page", "/ui/units/x"]
    static let forms = ["/ui/signout", "/ui/lang", "/ui/no-such-form"]

    static func form(_ fields: [String: String]) -> ByteBuffer {
        var c = URLComponents()
        c.queryItems = fields.map { URLQueryItem(name: $0.key, value: $0.value) }
        return ByteBuffer(string: (c.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B"))
    }

    static var formHeaders: HTTPFields {
        var h = HTTPFields()
        h[.contentType] = "application/x-www-form-urlencoded"
        return h
    }

    static func withCookie(_ cookie: String, _ base: HTTPFields = [:]) -> HTTPFields {
        var h = base
        h[.cookie] = "\(Dashboard<BasicRequestContext>.sessionCookie)=\(cookie)"
        return h
    }

    static func expectHeaders(_ r: TestResponse, _ what: String) {
        #expect(r.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'none'") == true, "\(what): no CSP")
        #expect(r.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(what)")
        #expect(r.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", "\(what)")
        #expect(r.headers[.cacheControl] == "no-store", "\(what)")
    }

    /// Signs in with the admin token: the session cookie's value.
    static func signIn(_ client: some TestClientProtocol) async throws -> String {
        let r = try await client.execute(uri: "/ui/signin", method: .post, headers: formHeaders, body: form(["token": admin, "lang": "en"]))
        #expect(r.status == .seeOther)
        let set = r.headers[values: .setCookie].first { $0.hasPrefix("sealgate_ui=") } ?? ""
        #expect(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/ui"), "\(set)")
        let value = set.dropFirst("sealgate_ui=".count).prefix { $0 != ";" }
        #expect(value.count == 43)
        return String(value)
    }

    @Test func nothingAnswersWithoutASession() async throws {
        let f = try await Fixture()
        try await f.app.test(.router) { client in
            for page in Self.pages {
                let r = try await client.execute(uri: page, method: .get)
                #expect(r.status == .seeOther && r.headers[.location] == "/ui/signin", "GET \(page): \(r.status)")
                Self.expectHeaders(r, page)
                // A made-up or stale cookie is no session either.
                let stale = try await client.execute(uri: page, method: .get, headers: Self.withCookie(String(repeating: "A", count: 43)))
                #expect(stale.status == .seeOther, "GET \(page) with a made-up cookie: \(stale.status)")
            }
            for form in Self.forms {
                let r = try await client.execute(uri: form, method: .post, headers: Self.formHeaders, body: Self.form(["csrf": "x", "lang": "en"]))
                #expect(r.status == .forbidden && r.headers[HTTPField.Name("Sealgate-Error-Code")!] == "forbidden", "POST \(form): \(r.status)")
                Self.expectHeaders(r, form)
            }
            let signin = try await client.execute(uri: "/ui/signin", method: .get)
            #expect(signin.status == .ok && String(buffer: signin.body).contains("name=\"token\""))
            #expect(String(buffer: signin.body).contains("lang=\"vi\""), "Vietnamese by default")
            Self.expectHeaders(signin, "signin")
            let css = try await client.execute(uri: "/ui/static/dashboard.css", method: .get)
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
        }
    }

    @Test func signInOpensAStoredSessionAndFormsNeedItsCheckToken() async throws {
        let f = try await Fixture()
        try await f.app.test(.router) { client in
            // A unit's token or a wrong one opens nothing.
            for token in [Self.unitToken, "sgt_wrong", ""] {
                let r = try await client.execute(uri: "/ui/signin", method: .post, headers: Self.formHeaders, body: Self.form(["token": token]))
                #expect(r.status == .unauthorized && r.headers[values: .setCookie].isEmpty, "\(token)")
                #expect(r.headers[HTTPField.Name("Sealgate-Error-Code")!] == "unauthorized")
            }
            let cookie = try await Self.signIn(client)
            // Only the cookie's hash is stored.
            let now = f.clock.now
            #expect(try await f.store.useSession(idHash: cookie, now: now, idle: .seconds(3600)) == nil)
            #expect(try await f.store.useSession(idHash: Dashboard<BasicRequestContext>.idHash(cookie), now: now, idle: .seconds(3600)) != nil)
            for page in ["/ui/", "/ui/datasets", "/ui/keys", "/ui/log"] {
                let r = try await client.execute(uri: page, method: .get, headers: Self.withCookie(cookie))
                #expect(r.status == .ok, "\(page): \(r.status) \(String(buffer: r.body).prefix(300))")
                Self.expectHeaders(r, page)
            }
            let unknown = try await client.execute(uri: "/ui/units/HCM-U404", method: .get, headers: Self.withCookie(cookie))
            #expect(unknown.status == .notFound && unknown.headers[HTTPField.Name("Sealgate-Error-Code")!] == "unit_unknown")
            // A form without the check token, with another session's, or from another site: 403.
            let csrf = Dashboard<BasicRequestContext>.csrf(cookie)
            let lang = ["lang": "en", "back": "/ui/keys"]
            let none = try await client.execute(
                uri: "/ui/lang", method: .post, headers: Self.withCookie(cookie, Self.formHeaders), body: Self.form(lang))
            #expect(none.status == .forbidden)
            let other = try await client.execute(
                uri: "/ui/lang", method: .post, headers: Self.withCookie(cookie, Self.formHeaders),
                body: Self.form(lang.merging(["csrf": Dashboard<BasicRequestContext>.csrf("another")]) { a, _ in a }))
            #expect(other.status == .forbidden)
            var evil = Self.withCookie(cookie, Self.formHeaders)
            evil[.origin] = "https://evil.example"
            let cross = try await client.execute(
                uri: "/ui/lang", method: .post, headers: evil, body: Self.form(lang.merging(["csrf": csrf]) { a, _ in a }))
            #expect(cross.status == .forbidden)
            let ok = try await client.execute(
                uri: "/ui/lang", method: .post, headers: Self.withCookie(cookie, Self.formHeaders),
                body: Self.form(lang.merging(["csrf": csrf]) { a, _ in a }))
            #expect(ok.status == .seeOther && ok.headers[.location] == "/ui/keys")
            // Back to another site is not followed.
            let away = try await client.execute(
                uri: "/ui/lang", method: .post, headers: Self.withCookie(cookie, Self.formHeaders),
                body: Self.form(["lang": "vi", "back": "//evil.example/ui/", "csrf": csrf]))
            #expect(away.headers[.location] == "/ui/")
            // Sign-out deletes the session: the cookie opens nothing afterwards.
            let out = try await client.execute(
                uri: "/ui/signout", method: .post, headers: Self.withCookie(cookie, Self.formHeaders), body: Self.form(["csrf": csrf]))
            #expect(out.status == .seeOther && out.headers[.location] == "/ui/signin?out=1")
            let after = try await client.execute(uri: "/ui/", method: .get, headers: Self.withCookie(cookie))
            #expect(after.status == .seeOther)
        }
    }

    @Test func sessionsExpireAndEndWithTheirToken() async throws {
        let f = try await Fixture()
        try await f.app.test(.router) { client in
            // Idle: 8 hours.
            let idle = try await Self.signIn(client)
            f.clock.advance(by: .seconds(7 * 3600))
            #expect(try await client.execute(uri: "/ui/", method: .get, headers: Self.withCookie(idle)).status == .ok)
            f.clock.advance(by: .seconds(7 * 3600))
            #expect(try await client.execute(uri: "/ui/", method: .get, headers: Self.withCookie(idle)).status == .ok, "used 7 h ago")
            // Hard end: 24 hours after sign-in, however busy.
            f.clock.advance(by: .seconds(5 * 3600))
            #expect(try await client.execute(uri: "/ui/", method: .get, headers: Self.withCookie(idle)).status == .ok, "19 h after sign-in")
            f.clock.advance(by: .seconds(5 * 3600))
            #expect(try await client.execute(uri: "/ui/", method: .get, headers: Self.withCookie(idle)).status == .seeOther, "past 24 h")
            let quiet = try await Self.signIn(client)
            f.clock.advance(by: .seconds(8 * 3600 + 1))
            #expect(try await client.execute(uri: "/ui/", method: .get, headers: Self.withCookie(quiet)).status == .seeOther, "idle 8 h")
            // The campaign page's own refresh (auto=1) is not the operator's use: an unattended
            // page idles out all the same; it refreshes with its filter and order.
            let unattended = try await Self.signIn(client)
            let page = try await client.execute(uri: "/ui/?state=missing&sort=state", method: .get, headers: Self.withCookie(unattended))
            let html = String(buffer: page.body)
            let refresh = "<meta http-equiv=\"refresh\" content=\"60; url=/ui/?state=missing&amp;sort=state&amp;auto=1\">"
            #expect(html.contains(refresh), "\(html.prefix(600))")
            for _ in 0..<9 {
                f.clock.advance(by: .seconds(3600))
                _ = try await client.execute(uri: "/ui/?auto=1", method: .get, headers: Self.withCookie(unattended))
            }
            let after = try await client.execute(uri: "/ui/", method: .get, headers: Self.withCookie(unattended))
            #expect(after.status == .seeOther, "refreshed for 9 h, used never: idle")
            // Revoking the admin token ends its sessions.
            let revoked = try await Self.signIn(client)
            #expect(try await client.execute(uri: "/ui/", method: .get, headers: Self.withCookie(revoked)).status == .ok)
            let id = String(hexString(SHA256Hasher.hash(Array(Self.admin.utf8))).prefix(16))
            _ = try await f.store.revokeToken(id: id, at: f.clock.now, logBody: { _ in "{}" })
            #expect(try await client.execute(uri: "/ui/", method: .get, headers: Self.withCookie(revoked)).status == .seeOther)
        }
    }

    @Test func failedSignInsAreThrottled() async throws {
        let f = try await Fixture()
        try await f.app.test(.router) { client in
            for _ in 0..<10 {
                let r = try await client.execute(uri: "/ui/signin", method: .post, headers: Self.formHeaders, body: Self.form(["token": "sgt_guess"]))
                #expect(r.status == .unauthorized)
            }
            // Now every failing sign-in is refused until the minute has passed…
            let r = try await client.execute(uri: "/ui/signin", method: .post, headers: Self.formHeaders, body: Self.form(["token": "sgt_guess"]))
            #expect(r.status == .tooManyRequests && r.headers[HTTPField.Name("Sealgate-Error-Code")!] == "signin_throttled")
            #expect(r.headers[.retryAfter] != nil && r.headers[values: .setCookie].isEmpty)
            // …but a stranger's failures never lock the operators out: the right token signs in.
            _ = try await Self.signIn(client)
            f.clock.advance(by: .seconds(61))
            let later = try await client.execute(uri: "/ui/signin", method: .post, headers: Self.formHeaders, body: Self.form(["token": "sgt_guess"]))
            #expect(later.status == .unauthorized)
        }
    }
}
