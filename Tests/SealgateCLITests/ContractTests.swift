import Foundation
import GatewayCore
import TestSupport
import Testing

/// The OpenAPI contract held to live servers (#24 item 3): schemathesis (PyPI, installed by
/// scripts/install-deps) reads the document each server publishes at GET /v1/openapi.json and
/// sends it bounded examples with a fixed seed — with an admin token and a unit token, real
/// packages and mangled ones among random bodies (scripts/contract_hooks.py) — and fails on any
/// answer the document does not allow (status, media type, headers, body schema, a method not
/// refused with 405) and on any 5xx. One check is left out, with its reason: a schema-valid
/// request may rightly be refused (a leaf beyond the log's current size, a rotation statement
/// whose signatures do not verify), which a schema cannot say (`positive_data_acceptance`).
@Suite(.serialized) struct ContractTests {
    /// Examples per operation and the seed: small, and the same on every run.
    static let examples = "25"
    static let seed = "24"

    static func schemathesis() throws -> String {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin"]
        guard let exe = dirs.map({ $0 + "/schemathesis" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw RawHTTP.Failure("schemathesis is not installed: run scripts/install-deps (pip: schemathesis)")
        }
        return exe
    }

    /// Runs schemathesis against the server at `url` with the tokens and the packages given;
    /// returns its exit status and output.
    static func run(_ url: String, cwd: Workdir, admin: String, unit: String, packages: [String], name: String) throws -> CLI.Result {
        cwd.write(
            "schemathesis.toml",
            """
            [auth.openapi.adminToken]
            bearer = "${SG_ADMIN}"
            [auth.openapi.unitToken]
            bearer = "${SG_UNIT}"
            """)
        return try CLI.run(
            try schemathesis(),
            [
                "--config-file", cwd.file("schemathesis.toml"), "run", url + "/v1/openapi.json", "--url", url,
                "--max-examples", examples, "--seed", seed, "--workers", "1", "--exclude-checks", "positive_data_acceptance",
                "--no-color", "--report", "junit", "--report-junit-path", cwd.file("\(name)-junit.xml"),
            ], cwd: cwd.path,
            env: [
                "SG_ADMIN": admin, "SG_UNIT": unit, "PYTHONPATH": CLI.repoRoot.appendingPathComponent("scripts").path,
                "SCHEMATHESIS_HOOKS": "contract_hooks", "SEALGATE_CONTRACT_PACKAGES": packages.joined(separator: "\n"),
            ])
    }

    static func token(_ c: CityCycle, _ args: [String]) throws -> String {
        let r = try CLI.sg(["tokens", "create", "--data", "dept"] + args, cwd: c.w.path)
        try requireOK(r, "tokens create")
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The gateway with a unit accepted, the handbook receiver connected (so synthesis answers
    /// 201), then the receiver with the dataset it was sent: no answer breaks either document.
    @Test func theServersKeepTheirContracts() async throws {
        _ = try Self.schemathesis()
        let c = try CityCycle(units: 2)
        let admin = try Self.token(c, ["--role", "admin"])
        let unit = try Self.token(c, ["--role", "unit", "--unit", "HCM-U001"])
        let gw = try c.gateway()
        defer { gw.stop() }
        let hb = try c.handbook()
        defer { hb.stop() }
        try c.connect(hb.url)
        let first = try c.f.seal("HCM-U001", seq: 1)
        #expect(try c.f.post(gw, first).status == 201)
        // HCM-U001's second package reaches the gateway through schemathesis only (accepted once,
        // then replays; the unit token schemathesis sends is HCM-U001's); the first is a replay from the start.
        let second = try c.f.seal("HCM-U001", seq: 2)

        let g = try Self.run(gw.url, cwd: c.w, admin: admin, unit: unit, packages: [first, second], name: "gateway")
        #expect(g.status == 0, "schemathesis found answers that break docs/openapi.json:\n\(g.out.suffix(6000))\n\(g.stderr.suffix(2000))")
        #expect(g.out.contains("API Operations:"), "schemathesis did not run: \(g.out.suffix(2000)) \(g.stderr.suffix(2000))")
        // The hooks' real package was sent and accepted, and synthesis ran: the run reached past the refusals.
        let units = try RawHTTP.request("GET", gw.url + "/v1/units/HCM-U001", headers: ["Authorization": "Bearer \(admin)"])
        let lastSeq = try JSON(parsing: units.text)["last_seq"]?.int ?? 0
        #expect(lastSeq == 2, "HCM-U001's second package was never accepted: \(units.text)")
        let datasets = try FileManager.default.contentsOfDirectory(atPath: c.w.file("dept/datasets")).filter { $0.hasSuffix(".sgp") }
        #expect(!datasets.isEmpty, "POST /v1/datasets never synthesized a dataset")

        let h = try Self.run(
            hb.url, cwd: c.w, admin: admin, unit: unit, packages: [first] + datasets.sorted().prefix(2).map { c.w.file("dept/datasets/\($0)") },
            name: "handbook")
        #expect(h.status == 0, "schemathesis found answers that break docs/openapi-handbook.json:\n\(h.out.suffix(6000))\n\(h.stderr.suffix(2000))")
        #expect(h.out.contains("API Operations:"), "schemathesis did not run: \(h.out.suffix(2000)) \(h.stderr.suffix(2000))")
    }
}
