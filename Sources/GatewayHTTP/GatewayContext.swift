import Foundation
public import GatewayCore
public import GatewayStore
public import Hummingbird
public import NIOCore
import SealBase
import SealCrypto

/// The request context of the gateway's routes: who is asking (from the bearer token, if any).
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The token the request carried, when it is valid (not revoked).
    public var token: TokenRecord?
    /// True when the request carried a token that is not valid (unknown or revoked).
    public var tokenRefused = false
    /// The connection, for `expectContinue(on:)`.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// A body the API reads whole (a rotation statement) is small.
    public var maxUploadSize: Int { 64 << 10 }

    public var viewer: Viewer {
        switch token?.role {
        case .admin?: return .admin
        case .unit?: return token?.unitId.map(Viewer.unit) ?? .anyone
        default: return .anyone
        }
    }

    func unauthorized(_ what: String) -> Problem {
        Problem(
            .unauthorized, tokenRefused ? "the token is not valid (unknown or revoked)" : "\(what) is required",
            remedy: "send Authorization: Bearer <token> (sealgate tokens create)")
    }

    /// Requires an admin token.
    func requireAdmin() throws {
        guard case .admin = viewer else { throw unauthorized("an admin token") }
    }

    /// Requires the token of `unit` or an admin token.
    func requireUnitOrAdmin(_ unit: String) throws {
        guard viewer.mayRead(unit: unit) else {
            if case .unit = viewer {
                throw Problem(.forbidden, "this token belongs to another unit", remedy: "use the token of the unit named in the request")
            }
            throw unauthorized("this unit's token or an admin token")
        }
    }
}

/// Reads `Authorization: Bearer …` into the context (the token's SHA-256 is looked up; the
/// token itself is never stored or logged). Routes decide what they require.
struct TokenMiddleware: RouterMiddleware {
    typealias Context = GatewayContext
    let store: any GatewayStore

    func handle(_ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response) async throws -> Response {
        guard let auth = request.headers[.authorization] else { return try await next(request, context) }
        var context = context
        let parts = auth.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].utf8.count <= 512 else {
            context.tokenRefused = true
            return try await next(request, context)
        }
        let hash = hexString(SHA256Hasher.hash(Array(trimmedOWS(parts[1]).utf8)))
        let store = self.store
        context.token = try await store.token(hash: hash)
        context.tokenRefused = context.token == nil
        return try await next(request, context)
    }
}

/// Bounded parsing of path and query parameters: every value is checked against its type and
/// range, and anything else is a coded 400 (`bad_parameter`) — never a trap, never a guess.
public enum Param {
    static func bad(_ name: String, _ why: String, _ example: String) -> Problem {
        Problem(.badParameter, "\(name) \(why)", remedy: "e.g. \(example)")
    }

    /// An integer query parameter in `range`; `fallback` when it is absent (nil: required).
    static func int(_ request: Request, _ name: String, in range: ClosedRange<Int64>, fallback: Int64?, example: String) throws -> Int64 {
        let values = request.uri.queryParameters.getAll(name)
        guard let raw = values.first else {
            if let fallback { return fallback }
            throw bad(name, "is required", example)
        }
        guard values.count == 1 else { throw bad(name, "is given more than once", example) }
        return try int(String(raw), name, in: range, example: example)
    }

    /// An integer path or query value in `range`.
    static func int(_ raw: String, _ name: String, in range: ClosedRange<Int64>, example: String) throws -> Int64 {
        // Canonical only: one way to write each number (no sign but a minus, no leading zero, no
        // `-0`), so that two spellings never name the same entry.
        guard !raw.isEmpty, raw.utf8.count <= 20, raw.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }), let v = Int64(raw),
            String(v) == raw
        else {
            throw bad(
                name, "is not a whole number between \(range.lowerBound) and \(range.upperBound) in plain digits (no sign, no leading zero)", example)
        }
        guard range.contains(v) else { throw bad(name, "must be between \(range.lowerBound) and \(range.upperBound)", example) }
        return v
    }

    /// A unit id path parameter ([A-Z0-9][A-Z0-9-]{1,31}).
    static func unit(_ context: GatewayContext) throws -> String {
        let id = context.parameters.get("id") ?? ""
        guard id.utf8.count <= 32, isUnitId(id) else { throw bad("the unit id", "must be [A-Z0-9][A-Z0-9-]{1,31}", "/v1/units/HCM-U001") }
        RequestNote.current?.unit = id  // for the request's log line (a unit id is public)
        return id
    }

    static func isUnitId(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard (2...32).contains(b.count) else { return false }
        func ok(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) }
        return ok(b[0]) && b.dropFirst().allSatisfy { ok($0) || $0 == 0x2D }
    }

    /// A package id path parameter (a UUID in its text form).
    static func packageId(_ context: GatewayContext) throws -> String {
        let id = context.parameters.get("id") ?? ""
        guard id.utf8.count == 36, UUID(uuidString: id) != nil else {
            throw bad("the package id", "must be a UUID", "/v1/packages/01936b2e-8c4f-7d3a-9b1e-2f4a6c8d0e1f (sealgate inspect PKG)")
        }
        return id.lowercased()
    }

    /// Nothing but the parameters a route takes: an unknown one is refused, so a typo is not
    /// silently ignored.
    public static func only(_ request: Request, _ names: Set<String>) throws {
        for (k, _) in request.uri.queryParameters where !names.contains(String(k)) {
            throw bad(
                "the parameter '\(k.prefix(40))'", "is not known here", names.isEmpty ? "no parameters" : names.sorted().joined(separator: ", "))
        }
    }
}
