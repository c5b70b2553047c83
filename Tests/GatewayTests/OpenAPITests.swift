import Foundation
import GatewayCore
import GatewayHTTP
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SealBase
import Testing

/// The OpenAPI documents (#24 item 3): docs/openapi.json and docs/openapi-handbook.json are valid
/// OpenAPI 3.1, the binary embeds them unchanged and serves the gateway's at GET /v1/openapi.json,
/// every route they document is routed, and their problem `code` enum is the status table's codes.
/// ContractTests runs schemathesis against live servers with them.
struct OpenAPITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let files = [("docs/openapi.json", OpenAPIDocuments.gateway), ("docs/openapi-handbook.json", OpenAPIDocuments.handbook)]

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// A document as Foundation's objects (its bounds hold 2^63−1, past the canonical JSON's numbers).
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func dig(_ o: Any?, _ keys: String...) -> Any? {
        keys.reduce(o) { ($0 as? [String: Any])?[$1] }
    }

    /// The embedded text is the file's, byte for byte (scripts/openapi-embed writes it).
    @Test func theBinaryEmbedsTheDocumentsUnchanged() throws {
        for (path, embedded) in Self.files {
            let text = try Self.read(path)
            #expect(embedded + "\n" == text, "\(path) differs from Sources/GatewayHTTP/OpenAPIDocuments.swift: run scripts/openapi-embed")
        }
    }

    /// Every code the status table answers is in each document's enum, and nothing else.
    @Test func theCodeEnumIsTheStatusTable() throws {
        let table = Set(Problem.statuses.keys.map(\.rawValue))
        #expect(table.count > 50)
        for (path, _) in Self.files {
            let doc = try Self.object(try Self.read(path))
            let listed = Self.dig(doc, "components", "schemas", "ErrorCode", "enum") as? [String] ?? []
            #expect(Set(listed).count == listed.count, "\(path): a code twice in the enum")
            #expect(table.subtracting(listed).isEmpty, "\(path): the enum lacks \(table.subtracting(listed).sorted())")
            let extra = Set(listed).subtracting(table)
            #expect(extra.isEmpty, "\(path): the enum has codes no server answers: \(extra.sorted())")
            let problem = Self.dig(doc, "components", "schemas", "Problem", "properties", "code", "$ref") as? String
            #expect(problem == "#/components/schemas/ErrorCode", "\(path): the problem document's code is not the enum")
        }
    }

    /// openapi-spec-validator (PyPI, installed by scripts/install-deps) accepts both documents.
    @Test func theDocumentsAreValidOpenAPI31() throws {
        for (path, _) in Self.files {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            p.arguments = ["-m", "openapi_spec_validator", Self.root.appendingPathComponent(path).path]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "\(path): \(text) (scripts/install-deps installs openapi-spec-validator)")
            #expect(text.contains("OK"), "\(path): \(text)")
            let version = try Self.object(try Self.read(path))["openapi"] as? String
            #expect(version == "3.1.0", "\(path): openapi \(version ?? "missing")")
        }
    }

    /// The gateway serves its document, publicly; every (path, method) the document lists is a
    /// route of the gateway (answered by it, not `not_found` or `method_not_allowed`).
    @Test func theGatewayServesItsDocumentAndRoutesEveryPath() async throws {
        let (app, admin, dir) = try await RouteTests.gateway()
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let paths = try #require(try Self.object(OpenAPIDocuments.gateway)["paths"] as? [String: [String: Any]]).mapValues { Array($0.keys) }
        #expect(paths.count >= 15)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/openapi.json", method: .get) { r in
                #expect(r.status == .ok)
                #expect(r.headers[.contentType] == "application/json")
                #expect(String(buffer: r.body) == OpenAPIDocuments.gateway)
            }
            for (path, methods) in paths {
                let uri =
                    path.replacingOccurrences(of: "{id}", with: path.hasPrefix("/v1/packages") ? UUID().uuidString : "HCM-U001")
                    .replacingOccurrences(of: "{version}", with: "1")
                    .replacingOccurrences(of: "{level}", with: "0").replacingOccurrences(of: "{index}", with: "000")
                    .replacingOccurrences(of: "{width}", with: "1")
                for method in methods {
                    let m = HTTPRequest.Method(method.uppercased())!
                    try await client.execute(uri: uri, method: m, headers: [.authorization: "Bearer \(admin)"]) { r in
                        let code = RouteTests.problemCode(r)
                        // A tile no checkpoint covers yet: the tile route's own 404, not the router's.
                        let tileNotYet = path.contains("/tile/") && String(buffer: r.body).contains("the log holds no")
                        #expect(tileNotYet || (code != "not_found" && code != "method_not_allowed"), "\(method) \(path): \(r.status) \(code ?? "")")
                    }
                }
            }
            // A method no route takes, QUERY among them, is 405 on a route's path (it was 404 before
            // schemathesis asked).
            try await client.execute(uri: "/v1/units", method: HTTPRequest.Method("QUERY")!) { r in
                #expect(r.status == .methodNotAllowed && r.headers[.allow] == "GET", "\(r.status) \(r.headers[.allow] ?? "")")
            }
        }
    }
}
