import Foundation
import GatewayCore
import SealCrypto
import TestSupport
import Testing

/// The log served as C2SP tlog-tiles (docs/api.md "The log as tiles"), checked by an independent
/// reader written from the specification's text (scripts/tlog-tiles-check.py: its own RFC 6962
/// hashing, tile paths and signed-note check) over a log of 66,000-odd entries — full and partial
/// tiles at levels 0 and 1, a partial tile at level 2; `sealgate log verify` reads the same tiles;
/// a tile or an entry altered in the store stops the gateway from starting.
struct LogTilesTests {
    /// Appends `count` synthetic entries (kind `campaign`) to the stopped gateway's store.
    static func appendSynthetic(_ f: GatewayFixture, count: Int) throws -> Int {
        let size = try CLI.run("sqlite3", ["dept/gateway.sqlite", "SELECT COUNT(*) FROM log_entries"], cwd: f.w.path)
        let base = Int(size.out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        #expect(base > 0)
        let insert = """
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < \(count - 1))
            INSERT INTO log_entries (idx, kind, body, created_at)
            SELECT \(base) + i, 'campaign', '{"format":"sealgate-log/1","kind":"synthetic","n":' || i || '}', '2026-12-06T00:00:00Z' FROM n
            """
        try requireOK(try CLI.run("sqlite3", ["dept/gateway.sqlite", insert], cwd: f.w.path))
        return base + count
    }

    @Test func anIndependentReaderFollowsTheTiles() throws {
        let f = try GatewayFixture()
        let size = try Self.appendSynthetic(f, count: 66_000)
        var gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        // Decisions on top: leaves appended by the intake's own path.
        for seq in 1...2 { #expect(try f.post(gw, try f.seal("HCM-U001", seq: UInt64(seq))).status == 201) }
        let cp = try RawHTTP.request("GET", gw.url + "/v1/log/checkpoint")
        #expect(cp.status == 200)
        let lines = cp.text.split(separator: "\n")
        #expect(lines.count >= 3 && Int(lines[1]) == size + 2, "\(cp.text)")
        let origin = String(lines.first ?? "")
        let key = try logKeyBase64(f)
        let script = CLI.repoRoot.appendingPathComponent("scripts/tlog-tiles-check.py").path
        let check = try CLI.run("/usr/bin/python3", [script, gw.url + "/v1/log", origin, key], cwd: f.w.path)
        #expect(check.status == 0, "\(check.stderr)")
        let counts = try JSON(parsing: check.out)
        // 66,00x entries: 257 full level-0 tiles and a partial one, a full level-1 tile and a partial one, a partial level-2 tile.
        let n = size + 2
        #expect(counts["size"]?.int == Int64(n) && counts["levels"]?.int == 3, "\(check.out)")
        #expect(n / 256 == 257 && n % 256 > 0 && (n >> 8) % 256 == 1, "\(n)")
        #expect(counts["tiles"]?.int == 258 && counts["partial_tiles"]?.int == 3 && counts["bundles"]?.int == 258, "\(check.out)")

        // The auditor's command reads the same tiles.
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let verify = try CLI.sg(["log", "verify", "--gateway", gw.url, "--trust", "trust.json", "--state", "state.json"], cwd: f.w.path)
        #expect(verify.status == 0 && verify.stderr.contains("log verified: \(size + 2) entries"), "\(verify.stderr)")

        // Restarted, the gateway derives the tiles again and finds those stored equal.
        gw.stop()
        gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 3)).status == 201)
        gw.stop()

        // An entry edited inside a full tile: the gateway will not start on it, and names the tile.
        try requireOK(
            try CLI.run(
                "sqlite3", ["dept/gateway.sqlite", #"UPDATE log_entries SET body = replace(body, '"n":7}', '"n":8}') WHERE body LIKE '%"n":7}'"#],
                cwd: f.w.path))
        let edited = try CLI.sgBounded(["serve", "--data", "dept", "--port", "0"], cwd: f.w.path)
        #expect(edited.status == 1 && edited.stderr.contains("log_inconsistent") && edited.stderr.contains("tile 0/0"), "\(edited.stderr)")
    }

    @Test func aTileAlteredInTheStoreStopsTheStart() throws {
        let f = try GatewayFixture()
        _ = try Self.appendSynthetic(f, count: 600)
        var gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        // Served once a signed checkpoint covers it.
        #expect(try RawHTTP.request("GET", gw.url + "/v1/log/checkpoint").status == 200)
        #expect(try RawHTTP.request("GET", gw.url + "/v1/log/tile/0/001").status == 200)
        gw.stop()
        let tiles = try CLI.run("sqlite3", ["dept/gateway.sqlite", "SELECT level || '/' || idx FROM log_tiles ORDER BY level, idx"], cwd: f.w.path)
        #expect(tiles.out.split(separator: "\n") == ["0/0", "0/1"], "\(tiles.out)")
        try requireOK(
            try CLI.run(
                "sqlite3", ["dept/gateway.sqlite", "UPDATE log_tiles SET hashes = zeroblob(8192) WHERE level = 0 AND idx = 1"], cwd: f.w.path))
        let altered = try CLI.sgBounded(["serve", "--data", "dept", "--port", "0"], cwd: f.w.path)
        #expect(altered.status == 1 && altered.stderr.contains("log_inconsistent") && altered.stderr.contains("tile 0/1"), "\(altered.stderr)")
        // Tiles lost (a store restored without them) are derived again at the next start, and a
        // tile past the log (left by a process that wrote on during a restore) is dropped.
        try requireOK(
            try CLI.run(
                "sqlite3",
                ["dept/gateway.sqlite", "DELETE FROM log_tiles; INSERT INTO log_tiles VALUES (0, 5, zeroblob(8192)), (3, 0, zeroblob(8192))"],
                cwd: f.w.path))
        gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let kept = try CLI.run("sqlite3", ["dept/gateway.sqlite", "SELECT level || '/' || idx FROM log_tiles ORDER BY level, idx"], cwd: f.w.path)
        #expect(kept.out.split(separator: "\n") == ["0/0", "0/1"], "\(kept.out)")
        // A checkpoint covers them, so they are served.
        #expect(try RawHTTP.request("GET", gw.url + "/v1/log/checkpoint").status == 200)
        let tile = try RawHTTP.request("GET", gw.url + "/v1/log/tile/0/001")
        #expect(tile.status == 200 && tile.body.count == 8192 && tile.headers["cache-control"]?.contains("immutable") == true)
        #expect(try RawHTTP.request("GET", gw.url + "/v1/log/tile/0/003").status == 404)
        #expect(try RawHTTP.request("GET", gw.url + "/v1/log/tile/0/1").status == 404)
        #expect(try RawHTTP.request("GET", gw.url + "/v1/log/tile/0/001/").status == 404)
        #expect(try RawHTTP.request("GET", gw.url + "/v1/log/tile/entries/002.p/1?x=1").status == 400)
    }

    /// The department's log key, as the .pub file's base64 line.
    func logKeyBase64(_ f: GatewayFixture) throws -> String {
        let text = String(decoding: f.w.read("dept/keys/log.pub"), as: UTF8.self)
        return String(text.split(separator: "\n").last ?? "")
    }

    /// A tile altered in the store while the gateway runs is never served nor used in a proof:
    /// each tile read back is checked against the node the level above holds.
    @Test func aTileAlteredWhileRunningIsRefusedNotServed() throws {
        let f = try GatewayFixture()
        _ = try Self.appendSynthetic(f, count: 800)
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        #expect(try RawHTTP.request("GET", gw.url + "/v1/log/checkpoint").status == 200)
        // Tile 0/0 is neither the tree's partial tile nor its last full one: it is read from the store.
        try requireOK(
            try CLI.run(
                "sqlite3", ["dept/gateway.sqlite", "UPDATE log_tiles SET hashes = zeroblob(8192) WHERE level = 0 AND idx = 0"], cwd: f.w.path))
        let tile = try RawHTTP.request("GET", gw.url + "/v1/log/tile/0/000")
        #expect(tile.status != 200 && tile.text.contains("log_inconsistent"), "\(tile.status) \(tile.text)")
        let proof = try RawHTTP.request("GET", gw.url + "/v1/log/proof/inclusion?leaf=3&size=800")
        #expect(proof.status != 200 && proof.text.contains("log_inconsistent"), "\(proof.status) \(proof.text)")
        // The tiles the tree holds itself are still served.
        #expect(try RawHTTP.request("GET", gw.url + "/v1/log/tile/0/002").status == 200)
    }
}
