import Foundation
import GatewayCore
import GatewayStore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SealBase
import SealCrypto

/// The dashboard's pages: each reads its view, turns it into template values (numbers, ids,
/// codes, times, the catalogue's words — never a member's personal data) and renders.
struct DashboardPages<Context: RequestContext>: Sendable {
    let dashboard: Dashboard<Context>
    typealias D = Dashboard<Context>

    var store: any GatewayStore { dashboard.store }

    /// The language and CSRF token of a signed-in request (the guard checked the session).
    func chrome(_ request: Request) -> (Language, String) {
        (D.language(request), D.cookie(request, D.sessionCookie).map(D.csrf) ?? "")
    }

    func words(_ lang: Language) -> [String: String] { DashboardText.table(lang) }

    // MARK: Sign-in, sign-out, language

    @Sendable func signInPage(_ request: Request, _ context: Context) async throws -> Response {
        let lang = request.uri.queryParameters.get("lang").flatMap { Language(rawValue: $0) } ?? D.language(request)
        var r = dashboard.page(
            "signin", ["signedOut": request.uri.queryParameters.get("out") == "1"], title: words(lang)["signin_title"] ?? "", lang: lang, csrf: nil,
            path: "/ui/signin")
        if request.uri.queryParameters.get("lang") != nil { r.headers.append(langCookie(lang, request)) }
        return r
    }

    func langCookie(_ lang: Language, _ request: Request) -> HTTPField {
        HTTPField(
            name: .setCookie,
            value: "\(D.langCookie)=\(lang.rawValue); Path=/ui; Max-Age=31536000; SameSite=Strict\(dashboard.secure(request) ? "; Secure" : "")")
    }

    @Sendable func signIn(_ request: Request, _ context: Context) async throws -> Response {
        let now = dashboard.clock.now.unixSeconds
        var request = request
        let form = try await DashboardGuard<Context>.form(&request)
        let lang = form["lang"].flatMap { Language(rawValue: $0) } ?? D.language(request)
        let token = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let found = token.isEmpty || token.utf8.count > 512 ? nil : try await store.token(hash: hexString(SHA256Hasher.hash(Array(token.utf8))))
        // A valid admin token always signs in: a stranger's failures must not lock the operators
        // out. Only a failed attempt meets the throttle.
        guard let admin = found, admin.role == .admin else {
            if let wait = dashboard.limiter.wait(now: now) {
                throw DashboardRefusal(
                    .tooManyRequests, .signinThrottled, "too many failed sign-ins on this gateway process: try again in \(wait) s",
                    retryAfter: Int(wait))
            }
            dashboard.limiter.fail(now: now)
            let t = SealErrorCode.unauthorized.text(lang)
            var r = dashboard.page(
                "signin", ["problem": ["message": words(lang)["signin_failed"] ?? t.message, "code": SealErrorCode.unauthorized.rawValue]],
                title: words(lang)["signin_title"] ?? "", lang: lang, csrf: nil, path: "/ui/signin", status: .unauthorized)
            r.headers[HTTPField.Name("Sealgate-Error-Code")!] = SealErrorCode.unauthorized.rawValue
            return r
        }
        let settings = dashboard.settings
        try await store.pruneSessions(now: dashboard.clock.now, idle: settings.idle)
        let cookie = D.newCookieValue()
        let at = dashboard.clock.now
        try await store.addSession(
            DashboardSession(idHash: D.idHash(cookie), tokenHash: admin.hash, createdAt: at, lastSeenAt: at, expiresAt: at.adding(settings.lifetime)))
        context.logger.info("dashboard: signed in with admin token \(admin.id)")
        var headers = HTTPFields()
        headers[.location] = "/ui/"
        let secure = dashboard.secure(request) ? "; Secure" : ""
        headers.append(
            HTTPField(
                name: .setCookie,
                value: "\(D.sessionCookie)=\(cookie); Path=/ui; Max-Age=\(settings.lifetime.components.seconds); HttpOnly; SameSite=Strict\(secure)"))
        headers.append(langCookie(lang, request))
        return Response(status: .seeOther, headers: headers)
    }

    @Sendable func signOut(_ request: Request, _ context: Context) async throws -> Response {
        if let cookie = D.cookie(request, D.sessionCookie) { try await store.deleteSession(idHash: D.idHash(cookie)) }
        var headers = HTTPFields()
        headers[.location] = "/ui/signin?out=1"
        headers[.setCookie] = "\(D.sessionCookie)=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict\(dashboard.secure(request) ? "; Secure" : "")"
        return Response(status: .seeOther, headers: headers)
    }

    @Sendable func switchLanguage(_ request: Request, _ context: Context) async throws -> Response {
        var request = request
        let form = try await DashboardGuard<Context>.form(&request)
        let lang = form["lang"].flatMap { Language(rawValue: $0) } ?? .vi
        // Back to a page of the dashboard only (never another site).
        let back = form["back"].flatMap { b in
            b.hasPrefix("/ui/") && !b.contains("//") && !b.contains("\\") && b.utf8.count < 300 && b.unicodeScalars.allSatisfy { $0.value > 0x20 }
                ? b : nil
        }
        var headers = HTTPFields()
        headers[.location] = back ?? "/ui/"
        headers.append(langCookie(lang, request))
        return Response(status: .seeOther, headers: headers)
    }

    @Sendable func css(_ request: Request, _ context: Context) async throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/css; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Assets.css)))
    }

    @Sendable func notFound(_ request: Request, _ context: Context) async throws -> Response {
        let (lang, csrf) = chrome(request)
        return dashboard.errorPage(.notFound, detail: "no such page of the dashboard", status: .notFound, lang: lang, csrf: csrf)
    }

    // MARK: Campaign

    static var sorts: [String] { ["unit", "state", "completeness"] }

    /// The order of states in counts, the bar and sorting: done first, then what needs attention.
    static var stateOrder: [CampaignView.UnitState] { [.acceptedClean, .acceptedWithWarnings, .flagged, .reviewRejected, .rejected, .missing] }

    @Sendable func campaign(_ request: Request, _ context: Context) async throws -> Response {
        let (lang, csrf) = chrome(request)
        let w = words(lang)
        let view = try await CampaignView.build(store: store, clock: dashboard.clock)
        let q = String((request.uri.queryParameters.get("q") ?? "").prefix(64))
        let stateFilter = request.uri.queryParameters.get("state").flatMap { CampaignView.UnitState(rawValue: $0) }
        let sort = request.uri.queryParameters.get("sort").flatMap { Self.sorts.contains($0) ? $0 : nil } ?? "unit"
        func label(_ s: CampaignView.UnitState) -> String { w["state_\(s.rawValue)"] ?? s.rawValue }

        var rows = view.units.filter { r in
            (stateFilter.map { r.state == $0 } ?? true)
                && (q.isEmpty || r.unit.localizedCaseInsensitiveContains(q) || r.name.localizedCaseInsensitiveContains(q))
        }
        let rank = { (s: CampaignView.UnitState) in Self.stateOrder.firstIndex(of: s) ?? 0 }
        switch sort {
        // What needs attention first: missing, rejected, …, clean last.
        case "state": rows.sort { (-rank($0.state), $0.unit) < (-rank($1.state), $1.unit) }
        case "completeness": rows.sort { ($0.completenessValue ?? -1, $0.unit) < ($1.completenessValue ?? -1, $1.unit) }
        default: break
        }
        let n = view.counts
        let countOf: [CampaignView.UnitState: Int] = [
            .acceptedClean: n.clean, .acceptedWithWarnings: n.warned, .flagged: n.flagged, .reviewRejected: n.reviewRejected,
            .rejected: n.rejectedOnly, .missing: n.missing,
        ]
        // The bar: each state's share in whole percent, the rounding left to the last segment shown.
        var segments: [[String: Any]] = []
        var used = 0
        let shown = Self.stateOrder.filter { (countOf[$0] ?? 0) > 0 }
        for (i, s) in shown.enumerated() {
            let width = i == shown.count - 1 ? 100 - used : Int((Double(countOf[s] ?? 0) / Double(max(1, n.registered)) * 100).rounded())
            used += width
            segments.append(["key": s.rawValue, "width": max(0, min(100, width))])
        }
        func link(_ s: String) -> String {
            var c = URLComponents()
            c.path = "/ui/"
            c.queryItems =
                [URLQueryItem(name: "sort", value: s)] + (q.isEmpty ? [] : [URLQueryItem(name: "q", value: q)])
                + (stateFilter.map { [URLQueryItem(name: "state", value: $0.rawValue)] } ?? [])
            return c.string ?? "/ui/"
        }
        let deadlines: [[String: Any]] = [
            (w["deadline_submit"] ?? "", view.campaign.submitBy), (w["deadline_synthesize"] ?? "", view.campaign.synthesizeBy),
            (w["deadline_sync"] ?? "", view.campaign.syncBy),
        ].map { (label, at) in
            guard let at else { return ["label": label, "at": w["deadline_unset"] ?? "", "left": "", "cls": "unset"] }
            let left = at.unixSeconds - view.now.unixSeconds
            return [
                "label": label, "at": at.text, "left": left <= 0 ? (w["deadline_passed"] ?? "") : Self.timeLeft(left, w),
                "cls": left <= 0 ? "passed" : (left < 3 * 86_400 ? "soon" : "open"),
            ]
        }
        var values: [String: Any] = [
            "now": view.now.text, "deadlinesUnset": view.deadlines == .unset, "deadlines": deadlines,
            "registered": n.registered, "submitted": n.submitted, "lateCount": n.late.count,
            "states": Self.stateOrder.map { ["key": $0.rawValue, "label": label($0), "count": countOf[$0] ?? 0] },
            "segments": segments, "membersImported": view.membersImported, "unitsWithData": view.units.filter { $0.members > 0 }.count,
            "q": q,
            "stateOptions": [["value": "", "label": w["filter_all"] ?? "", "selected": stateFilter == nil]]
                + Self.stateOrder.map { ["value": $0.rawValue, "label": label($0), "selected": stateFilter == $0] },
            "sortOptions": Self.sorts.map { ["value": $0, "label": w["sort_\($0)"] ?? $0, "selected": sort == $0] },
            "sortUnit": link("unit"), "sortState": link("state"), "sortCompleteness": link("completeness"),
            "units": rows.map { r in
                [
                    "unit": r.unit, "name": r.name, "key": r.state.rawValue, "stateLabel": label(r.state), "members": r.members,
                    "completeness": r.completenessValue.map { String(format: "%.1f%%", $0 * 100) } ?? (w["none"] ?? ""),
                    "warnings": r.warnings, "late": r.late,
                ] as [String: Any]
            },
        ]
        if let l = view.lastDataset {
            values["lastDataset"] = [
                "version": l.record.version, "members": l.record.members,
                "stateLabel": w["delivery_\(l.record.state.rawValue)"] ?? l.record.state.rawValue,
            ]
        }
        // The page refreshes itself with its filter and order, marked so the refresh does not
        // count as the operator's use of the session.
        var again = URLComponents()
        again.path = "/ui/"
        again.queryItems =
            [("q", q), ("state", stateFilter?.rawValue ?? ""), ("sort", sort)].filter { !$0.1.isEmpty }.map { URLQueryItem(name: $0.0, value: $0.1) }
            + [URLQueryItem(name: "auto", value: "1")]
        return dashboard.page(
            "campaign", values, title: w["campaign_title"] ?? "", lang: lang, csrf: csrf, path: "/ui/", refresh: again.string ?? "/ui/?auto=1")
    }

    /// "3 days 4 hours", "5 hours 10 minutes", "12 minutes" in the page's words.
    static func timeLeft(_ seconds: Int64, _ w: [String: String]) -> String {
        let (d, h, m) = (seconds / 86_400, seconds % 86_400 / 3_600, seconds % 3_600 / 60)
        let left = w["time_left"] ?? ""
        if d > 0 { return "\(d) \(w["days"] ?? "") \(h) \(w["hours"] ?? "") \(left)" }
        if h > 0 { return "\(h) \(w["hours"] ?? "") \(m) \(w["minutes"] ?? "") \(left)" }
        return "\(max(1, m)) \(w["minutes"] ?? "") \(left)"
    }

    // MARK: Unit

    @Sendable func unit(_ request: Request, _ context: Context) async throws -> Response {
        let (lang, csrf) = chrome(request)
        let w = words(lang)
        let id = context.parameters.get("id") ?? ""
        let b = Array(id.utf8)
        func ok(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) }
        guard (2...32).contains(b.count), ok(b[0]), b.dropFirst().allSatisfy({ ok($0) || $0 == 0x2D }), let s = try await store.unitStatus(id)
        else {
            return dashboard.errorPage(.unitUnknown, detail: "no such unit", status: .notFound, lang: lang, csrf: csrf)
        }
        let view = try await CampaignView.build(store: store, clock: dashboard.clock)
        let row = view.units.first { $0.unit == id }
        let outcomes = try await store.outcomes(unitId: id, limit: 200)
        var packages: [[String: Any]] = []
        var corrections: [[String: Any]] = []
        var findings: [[String: Any]]?
        for o in outcomes {
            let size = try await store.spool(id: o.spoolId)?.size
            packages.append([
                "seq": o.seq.map { String(Int64(bitPattern: $0)) } ?? (w["none"] ?? ""), "kind": o.kind?.rawValue ?? (w["none"] ?? ""),
                "status": o.status.rawValue, "code": o.code ?? "", "time": o.decidedAt.text, "size": size.map { String($0) } ?? (w["none"] ?? ""),
            ])
            let receipt = try? JSON(parsing: o.receipt)
            if findings == nil, case .object(let rules)? = receipt?["validation"]?["rules"] {
                findings = rules.keys.sorted().map { ["rule": $0, "count": rules[$0]?.int ?? 0] }
            }
            if o.kind == .correction, let c = receipt?["corrections"] {
                corrections.append([
                    "seq": o.seq.map { String(Int64(bitPattern: $0)) } ?? "", "applied": c["applied"]?.array?.count ?? 0,
                    "refused": c["not_applied"]?.array?.count ?? 0,
                ])
            }
        }
        let tokens = try await store.tokens().filter { $0.unitId == id }.map {
            ["id": $0.id, "created": $0.createdAt.text, "revoked": $0.revokedAt?.text ?? (w["none"] ?? "")]
        }
        let values: [String: Any] = [
            "unit": s.unit.id, "name": s.unit.name, "registeredAt": s.unit.createdAt.text,
            "stateLabel": row.map { w["state_\($0.state.rawValue)"] ?? $0.state.rawValue } ?? "", "late": row?.late ?? false,
            "members": s.members, "completeness": row?.completenessValue.map { String(format: "%.1f%%", $0 * 100) } ?? (w["none"] ?? ""),
            "keys": s.keys.map { ["id": $0.keyId, "state": $0.state.rawValue] },
            "packages": packages, "hasPackages": !packages.isEmpty,
            "findings": findings ?? [], "hasFindings": !(findings ?? []).isEmpty,
            "corrections": corrections, "hasCorrections": !corrections.isEmpty,
            "tokens": tokens, "hasTokens": !tokens.isEmpty,
        ]
        return dashboard.page("unit", values, title: "\(w["unit_title"] ?? "") \(id)", lang: lang, csrf: csrf, path: "/ui/units/\(id)")
    }

    // MARK: Datasets, keys, log

    @Sendable func datasets(_ request: Request, _ context: Context) async throws -> Response {
        let (lang, csrf) = chrome(request)
        let w = words(lang)
        let inventory = try await DatasetInventory.load(dashboard.data, store: store)
        let none = w["none"] ?? ""
        let rows: [[String: Any]] = inventory.datasets.reversed().map { d in
            [
                "version": d.version, "created": d.created.text, "members": d.members, "conflicts": d.conflicts,
                "withheld": d.withheld.map(String.init) ?? none, "state": d.state, "stateLabel": w["delivery_\(d.state)"] ?? d.state,
                "attempts": d.attempts, "lastError": d.lastError.map { String(TerminalText.shown($0, limit: 200)) } ?? none,
                "nextAttempt": d.nextAttempt?.text ?? none,
                "acknowledged": d.acknowledgedAt.map { a in a.text + (d.importedAt.map { " (\($0.text))" } ?? "") } ?? none,
            ]
        }
        return dashboard.page(
            "datasets", ["datasets": rows, "hasDatasets": !rows.isEmpty], title: w["datasets_title"] ?? "", lang: lang, csrf: csrf,
            path: "/ui/datasets")
    }

    @Sendable func keys(_ request: Request, _ context: Context) async throws -> Response {
        let (lang, csrf) = chrome(request)
        let w = words(lang)
        let none = w["none"] ?? ""
        let inventory = try await KeyInventory.load(dashboard.data, store: store, clock: dashboard.clock)
        let horizon = ExpiryWatch.horizon.components.seconds
        let now = inventory.now
        let keys: [[String: Any]] = inventory.keys.map { k in
            let soon = k.until.map { $0.secondsLeft(from: now) <= horizon } ?? false
            return [
                "role": k.role, "state": k.state, "id": k.id, "created": k.created?.text ?? none, "until": k.until?.text ?? none,
                "note": k.note ?? "", "soon": soon && k.state != "retired",
            ]
        }
        var trust: [[String: Any]] = []
        if let top = try await store.latestTrust()?.version, top > 0 {
            for v in stride(from: top, through: max(1, top > 20 ? top - 19 : 1), by: -1) {
                guard let record = try await store.trust(version: v), let j = try? JSON(parsing: record.body) else { continue }
                let expires = j["expires"]?.string.map(StatedTime.init)
                trust.append([
                    "version": v, "issued": j["issued"]?.string ?? none, "expires": expires?.text ?? none,
                    "soon": v == top && (expires.map { $0.secondsLeft(from: now) <= horizon } ?? false),
                ])
            }
        }
        let notices = inventory.notices().map { ["message": $0.message] }
        return dashboard.page(
            "keys", ["keys": keys, "trust": trust, "hasTrust": !trust.isEmpty, "notices": notices], title: w["keys_title"] ?? "", lang: lang,
            csrf: csrf, path: "/ui/keys")
    }

    @Sendable func log(_ request: Request, _ context: Context) async throws -> Response {
        let (lang, csrf) = chrome(request)
        let w = words(lang)
        let size = try await store.logSize()
        var values: [String: Any] = ["size": size]
        if let latest = try await store.latestCheckpoint() {
            let lines = latest.note.split(separator: "\n", omittingEmptySubsequences: false)
            values["checkpoint"] = [
                "size": latest.size, "time": try await store.checkpointTime(size: latest.size)?.text ?? (w["none"] ?? ""),
                "root": lines.count > 2 ? String(lines[2].prefix(64)) : "",
            ]
        }
        do {
            _ = try await dashboard.log.selfCheck()
            values["verified"] = true
        } catch let e as SealError {
            values["problem"] = ["message": e.code.text(lang).message, "code": e.code.rawValue]
        }
        let entries = try await store.logEntries(start: max(0, size - 25), end: size).reversed().map { e in
            [
                "index": e.index, "kind": e.kind.rawValue, "time": e.createdAt.text,
                "unit": (try? JSON(parsing: e.body))?["unit"]?.string ?? (w["none"] ?? ""),
            ] as [String: Any]
        }
        values["entries"] = entries
        return dashboard.page(
            "log", values, title: w["log_title"] ?? "", lang: lang, csrf: csrf, path: "/ui/log")
    }
}
