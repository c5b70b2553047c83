import Foundation
import GatewayCore
import GatewayHTTP
import GatewayStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SealBase
import SealCrypto
import Testing

/// One code list, one status table (#22 item 2): every code is declared once, in SealBase's
/// catalogue; the sources name no code outside it; `Problem.status(for:)` is the only place a code
/// meets its HTTP status, and docs/errors.md lists every code with that same status.
struct StatusTableTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// docs/errors.md's "The status of every code" table: code → "404", "—", ….
    static func documentedStatuses() throws -> [String: String] {
        let doc = try String(contentsOf: root.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        guard let start = doc.range(of: "\n## The status of every code\n") else { return [:] }
        var statuses: [String: String] = [:]
        for line in doc[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, cells[1] != "HTTP", !cells[1].hasPrefix("-") else { continue }
            for code in Self.backticked(cells[2]) { statuses[code] = cells[1] }
        }
        return statuses
    }

    static func backticked(_ text: some StringProtocol) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    @Test func theCatalogueHoldsEachCodeOnce() {
        let raw = SealErrorCode.catalogue.map(\.rawValue)
        #expect(Set(raw).count == raw.count, "a code twice: \(Dictionary(grouping: raw, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted())")
        #expect(raw.count > 100)
    }

    /// Each code of the catalogue has the status the table gives it in docs/errors.md (— for a
    /// code no server answers), and the doc names no code the catalogue lacks.
    @Test func everyCodeHasItsDocumentedStatus() throws {
        let documented = try Self.documentedStatuses()
        #expect(!documented.isEmpty, "docs/errors.md has no 'The status of every code' table")
        for code in SealErrorCode.catalogue {
            let expected = Problem.statuses[code].map { String($0.code) } ?? "—"
            let listed = documented[code.rawValue]
            #expect(listed == expected, "\(code): the table says \(expected), docs/errors.md \(listed ?? "nothing")")
        }
        let catalogued = Set(SealErrorCode.catalogue.map(\.rawValue))
        for code in documented.keys { #expect(catalogued.contains(code), "docs/errors.md lists \(code), the catalogue does not") }
        // Every table of docs/errors.md names its codes in its first column: each is catalogued
        // (the receipts' correction codes and the `http_<status>` pattern are not SealErrorCodes).
        let doc = try String(contentsOf: Self.root.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        let notCodes: Set = ["correction_no_member", "correction_old_value_mismatch", "correction_duplicate_id", "http_<status>"]
        for line in doc.split(separator: "\n") where line.hasPrefix("| `") {
            let first = line.split(separator: "|")[0]
            for code in Self.backticked(first) where !notCodes.contains(code) {
                #expect(catalogued.contains(code), "docs/errors.md: \(code) is not in SealErrorCode.catalogue")
            }
        }
    }

    /// Codes are declared in SealBase's catalogue only; every code literal the sources hand to a
    /// problem document is catalogued.
    @Test func theSourcesNameNoCodeOutsideTheCatalogue() throws {
        let catalogued = Set(SealErrorCode.catalogue.map(\.rawValue))
        let sources = Self.root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        #expect(files.count > 50)
        let declaration = try Regex(#"SealErrorCode\((rawValue: )?"([a-z0-9_]+)"\)|Code\(rawValue: "([a-z0-9_]+)"\)"#)
        let problemLiteral = try Regex(#"Problem\(\s*[^,()]+(\([^()]*\))?,\s*"([a-z0-9_]+)""#)
        var seen = 0
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for m in text.matches(of: declaration) {
                seen += 1
                #expect(file == "SealBase/ErrorCatalogue.swift", "\(file) declares a code of its own: \(text[m.range])")
                let code = (m.output[2].substring ?? m.output[3].substring).map(String.init) ?? ""
                #expect(catalogued.contains(code), "\(file): \(code) is not in SealErrorCode.catalogue")
            }
            for m in text.matches(of: problemLiteral) {
                let code = m.output[2].substring.map(String.init) ?? ""
                #expect(catalogued.contains(code), "\(file): a problem answers \(code), not in SealErrorCode.catalogue")
            }
        }
        #expect(seen == SealErrorCode.catalogue.count, "the catalogue file declares \(seen) codes, the list holds \(SealErrorCode.catalogue.count)")
    }

    /// The one table's own promises: a key in the wrong state is one status wherever it is met,
    /// and a decided body's status comes from the same layer.
    @Test func oneCodeOneStatus() {
        #expect(Problem.status(for: .keyState) == .conflict)
        #expect(Problem.status(for: .unitExists) == .conflict)
        #expect(Problem.status(for: .storeUnavailable) == .serviceUnavailable)
        #expect(Problem.status(for: IntakeResult.Kind.accepted) == .created)
        #expect(Problem.status(for: IntakeResult.Kind.duplicate) == .ok)
        #expect(Problem.status(for: IntakeResult.Kind.seqConflict) == .conflict)
        #expect(Problem.status(for: IntakeResult.Kind.rejected) == .unprocessableContent)
    }

    /// A store error that reaches a route is answered by its own code and status: a unit that
    /// exists is 409 `unit_exists` (once every store error was 503 `store_unavailable`); the
    /// store's faults stay 503 with Retry-After and say nothing of their cause.
    @Test func aStoreErrorIsAnsweredByItsOwnCode() async throws {
        let router = Router()
        router.middlewares.add(ProblemMiddleware(metrics: GatewayMetrics()))
        router.get("exists") { _, _ -> Response in throw StoreError(.unitExists, "unit HCM-U001 is already registered") }
        router.get("key") { _, _ -> Response in throw StoreError(.keyState, "key 0123 of HCM-U001 is revoked") }
        router.get("down") { _, _ -> Response in
            throw StoreError(.storeUnavailable, "cannot reach PostgreSQL at db.internal:5432", cause: ErrorDetail("refused"))
        }
        router.get("failed") { _, _ -> Response in throw StoreError(.storeFailure, "relation units: constraint refused") }
        // A code of the store's inside that no route answers is a fault too, not a 4xx carrying its message.
        router.get("unreadable") { _, _ -> Response in
            throw StoreError(.datasetUnreadable, "cannot read /srv/sealgate/datasets/dataset-v3.sgp")
        }
        router.get("unique") { _, _ -> Response in throw StoreError(.uniqueViolation, "PostgreSQL 23505 on constraint units_pkey") }
        let app = Application(router: router)
        try await app.test(.router) { client in
            for (uri, status, code) in [
                ("/exists", HTTPResponse.Status.conflict, "unit_exists"), ("/key", .conflict, "key_state"),
                ("/down", .serviceUnavailable, "store_unavailable"), ("/failed", .serviceUnavailable, "store_failure"),
                ("/unreadable", .serviceUnavailable, "store_failure"), ("/unique", .serviceUnavailable, "store_failure"),
            ] {
                try await client.execute(uri: uri, method: .get) { r in
                    let body = String(buffer: r.body)
                    let problem = try JSON(parsing: body)
                    #expect(r.status == status && problem["code"]?.string == code, "\(uri): \(r.status) \(body)")
                    #expect(problem["status"]?.int == Int64(status.code), "\(uri): \(body)")
                    if status == .serviceUnavailable {
                        #expect(r.headers[.retryAfter] == "30", "\(uri)")
                        #expect(
                            !body.contains("PostgreSQL") && !body.contains("constraint") && !body.contains("/srv"),
                            "\(uri): the cause reached the answer: \(body)")
                    }
                }
            }
        }
    }
}
