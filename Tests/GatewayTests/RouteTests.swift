import Foundation
import GatewayCore
import GatewayHTTP
import GatewayStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SealCrypto
import Testing

/// Route behaviour in process (`app.test(.router)`): the gateway's router with its middleware,
/// over a real data folder and SQLite store, without a socket. The process-level tests (kill -9,
/// slow clients, TLS, the stock tools) stay in SealgateCLITests.
struct RouteTests {
    /// A fresh gateway (unencrypted keys) and an admin token.
    static func gateway() async throws -> (app: some ApplicationProtocol, admin: String, dir: String) {
        let path = NSTemporaryDirectory() + "sealgate-routes-" + UUID().uuidString
        let dir = DataDirectory(path)
        try await dir.initialize(department: "HCM-DTCD", intakeURL: "http://127.0.0.1:8080", passphrase: nil)
        let store = try await dir.openStore()
        let keys = try DepartmentKeys.load(dir, passphrase: { SecureBytes(count: 0) })
        let intake = try await Intake(data: dir, store: store, keys: keys, department: "HCM-DTCD")
        let admin = "sgt_route-test-admin-\(UUID().uuidString)"
        try await store.addToken(
            TokenRecord(hash: hexString(SHA256Hasher.hash(Array(admin.utf8))), role: .admin, unitId: nil, createdAt: moment("2026-12-01T00:00:00Z")))
        var config = GatewayServerConfig()
        config.checkpointInterval = .zero
        return (try buildGatewayApplication(intake: intake, store: store, config: config), admin, path)
    }

    static func problemCode(_ r: TestResponse) -> String? {
        guard r.headers[.contentType] == "application/problem+json" else { return nil }
        return (try? JSON(parsing: String(buffer: r.body)))?["code"]?.string
    }

    @Test func publicRoutesAnswer() async throws {
        let (app, _, dir) = try await Self.gateway()
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { r in
                #expect(r.status == .ok)
                #expect((try? JSON(parsing: String(buffer: r.body)))?["status"]?.string == "ok")  // lint: allow try? — no JSON fails the comparison
            }
            try await client.execute(uri: "/v1/trust", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[HTTPField.Name("Sealgate-Signature")!] != nil, "the trust document comes with its signature")
            }
            try await client.execute(uri: "/v1/log/checkpoint", method: .get) { r in
                #expect(r.status == .ok && String(buffer: r.body).hasPrefix("HCM-DTCD/log\n"))
            }
            try await client.execute(uri: "/v1/log/entries?start=0", method: .get) { r in
                #expect(r.status == .ok && (try? JSON(parsing: String(buffer: r.body)))?.array != nil)  // lint: allow try? — no JSON fails it
            }
        }
    }

    /// Every bad parameter is a coded 400 (the request that once crashed the process among them).
    @Test func badParametersAreCoded() async throws {
        let (app, admin, dir) = try await Self.gateway()
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        try await app.test(.router) { client in
            for uri in [
                "/v1/log/entries?start=9223372036854775807", "/v1/log/entries?start=-1", "/v1/log/entries?start=0&end=99999999999",
                "/v1/log/entries?start=0&bogus=1", "/v1/log/entries?start=1&start=2", "/v1/log/proof/inclusion?leaf=0&size=0",
                "/v1/log/proof/consistency?from=2&to=1", "/v1/packages/not-a-uuid", "/v1/units/lower-case", "/v1/datasets/abc",
                // one number, one spelling: no sign, no leading zero, no -0 (issue #21)
                "/v1/log/entries?start=-0", "/v1/log/entries?start=%2B0", "/v1/log/entries?start=-00", "/v1/log/entries?start=00",
                "/v1/log/entries?end=01", "/v1/trust?version=01", "/v1/datasets/01",
            ] {
                var headers = HTTPFields()
                headers[.authorization] = "Bearer \(admin)"
                try await client.execute(uri: uri, method: .get, headers: headers) { r in
                    #expect(r.status == .badRequest && Self.problemCode(r) == "bad_parameter", "\(uri): \(r.status) \(String(buffer: r.body))")
                }
            }
        }
    }

    /// What needs a token says so, coded; a route that does not exist is a coded 404.
    @Test func authorizationAndUnknownRoutes() async throws {
        let (app, admin, dir) = try await Self.gateway()
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        try await app.test(.router) { client in
            for uri in ["/v1/packages/01936b2e-8c4f-7d3a-9b1e-2f4a6c8d0e1f", "/v1/campaign", "/v1/datasets", "/metrics", "/v1/units/HCM-U001"] {
                try await client.execute(uri: uri, method: .get) { r in
                    #expect(r.status == .unauthorized && Self.problemCode(r) == "unauthorized", "\(uri): \(r.status)")
                }
                var wrong = HTTPFields()
                wrong[.authorization] = "Bearer sgt_not-a-token"
                try await client.execute(uri: uri, method: .get, headers: wrong) { r in
                    #expect(r.status == .unauthorized && Self.problemCode(r) == "unauthorized", "\(uri) with an unknown token: \(r.status)")
                }
            }
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(admin)"
            try await client.execute(uri: "/v1/packages/01936b2e-8c4f-7d3a-9b1e-2f4a6c8d0e1f", method: .get, headers: headers) { r in
                #expect(r.status == .notFound && Self.problemCode(r) == "package_unknown", "\(r.status) \(String(buffer: r.body))")
            }
            try await client.execute(uri: "/v1/campaign", method: .get, headers: headers) { r in #expect(r.status == .ok) }
            // Spaces and tabs around the token are HTTP's optional whitespace; anything else
            // around it (a Unicode space, a letter) makes another token.
            for (spelled, status) in [
                ("Bearer  \(admin)\t ", HTTPResponse.Status.ok), ("Bearer \t\(admin)", .ok), ("Bearer \u{A0}\(admin)", .unauthorized),
                ("Bearer \(admin)\u{2003}", .unauthorized), ("Bearer \(admin)x", .unauthorized), ("Bearer  ", .unauthorized),
            ] {
                var h = HTTPFields()
                h[.authorization] = spelled
                try await client.execute(uri: "/v1/campaign", method: .get, headers: h) { r in
                    #expect(r.status == status, "\(spelled.debugDescription): \(r.status)")
                }
            }
            try await client.execute(uri: "/no/such/route", method: .get) { r in
                #expect(r.status == .notFound && Self.problemCode(r) == "not_found")
            }
        }
    }

    /// A route that exists answers a method it does not take with 405 and the methods it does.
    @Test func aMethodARouteDoesNotTakeIs405() async throws {
        let (app, _, dir) = try await Self.gateway()
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        try await app.test(.router) { client in
            for (uri, method, allow) in [
                ("/v1/packages", HTTPRequest.Method.delete, "POST"), ("/v1/packages/01936b2e-8c4f-7d3a-9b1e-2f4a6c8d0e1f", .put, "GET"),
                ("/v1/log/checkpoint", .post, "GET"), ("/v1/datasets", .patch, "GET, POST"), ("/healthz", .head, "GET"),
            ] {
                try await client.execute(uri: uri, method: method) { r in
                    #expect(
                        r.status == .methodNotAllowed && Self.problemCode(r) == "method_not_allowed",
                        "\(method) \(uri): \(r.status) \(String(buffer: r.body))")
                    #expect(r.headers[.allow] == allow, "\(method) \(uri): Allow \(r.headers[.allow] ?? "none")")
                }
            }
        }
    }

    /// A body that is not a package is refused, coded, before anything is kept: no body and no
    /// part of one (`.incoming-…`) left in the spool.
    @Test func aBodyThatIsNotAPackageIsRefused() async throws {
        let (app, _, dir) = try await Self.gateway()
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/packages", method: .post, body: ByteBuffer(string: String(repeating: "not a tar ", count: 200))) { r in
                #expect(r.status == .badRequest && Self.problemCode(r) == "container_malformed", "\(r.status) \(String(buffer: r.body))")
            }
            try await client.execute(uri: "/v1/units/HCM-U001/keys", method: .post, body: ByteBuffer(string: "{not json")) { r in
                #expect(r.status == .unprocessableContent && Self.problemCode(r) == "rotation_invalid", "\(r.status) \(String(buffer: r.body))")
            }
        }
        let spool = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/spool").filter { $0.hasSuffix(".sgp") || $0.hasPrefix(".incoming-") }
        #expect(spool.isEmpty, "nothing kept: \(spool)")
    }
}
