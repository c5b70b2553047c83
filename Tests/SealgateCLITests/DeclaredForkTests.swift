import Foundation
import GatewayCore
import SealCrypto
import TestSupport
import Testing

/// An auditor after a store restored behind its log (issue #21, item 9): a fork the department
/// declared over the checkpoint the auditor holds is shown and refused (`log_fork_declared`, the
/// state file untouched) until the auditor accepts it with `--accept-fork N`, which keeps the
/// old state beside it as evidence; a fork nobody declared, a declaration of another
/// checkpoint, or one whose signed note does not verify, stays `log_fork`.
@Suite struct DeclaredForkTests {
    static func verify(_ f: GatewayFixture, _ gw: GatewayProcess, _ state: String, json: Bool = false, accept: Int? = nil) throws -> CLI.Result {
        try CLI.sg(
            ["log", "verify", "--gateway", gw.url, "--trust", "trust.json", "--state", state] + (json ? ["--json"] : [])
                + (accept.map { ["--accept-fork", String($0)] } ?? []), cwd: f.w.path)
    }

    static func sql(_ f: GatewayFixture, _ data: String, _ statement: String) throws -> String {
        let r = try CLI.run("sqlite3", ["\(data)/gateway.sqlite", statement], cwd: f.w.path)
        try requireOK(r, statement)
        return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func anAuditorGoesOnFromAForkDeclaredOverItsCheckpoint() throws {
        let f = try GatewayFixture()
        var gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 1)).status == 201)
        try requireOK(try CLI.sg(["backup", "--data", "dept", "-o", "dept.backup"], cwd: f.w.path))
        let kept = try OperationsTests.logSize(gw)
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 1)).status == 201)
        try requireOK(try Self.verify(f, gw, "older.json"))  // an auditor who then looks no more for a while
        #expect(try f.post(gw, try f.seal("HCM-U001", seq: 2)).status == 201)
        let held = try Self.verify(f, gw, "auditor.json", json: true)
        try requireOK(held)
        let heldSize = try #require(try JSON(parsing: held.out)["result"]?["size"]?.int)
        #expect(heldSize > kept + 1)
        for copy in ["text.json", "undeclared.json", "tampered.json"] {
            try FileManager.default.copyItem(atPath: f.w.file("auditor.json"), toPath: f.w.file(copy))
        }
        gw.stop()

        // A fork nobody declared: the same backup elsewhere, told nothing of the newer checkpoint
        // (whoever can replace the store and the log head does that) — the auditor's state catches it.
        try requireOK(try CLI.sg(["restore", "dept.backup", "--data", "undeclared", "--no-later-checkpoint"], cwd: f.w.path))
        do {
            let other = try GatewayProcess(data: "undeclared", cwd: f.w.path)
            defer { other.stop() }
            let r = try Self.verify(f, other, "undeclared.json")
            #expect(r.status == 1 && r.stderr.contains("error: log_fork: the log shrank from \(heldSize) to \(kept) entries"), "\(r.stderr)")
        }

        // The store restored in place, the loss declared.
        try requireOK(try CLI.sg(["restore", "dept.backup", "--data", "dept"], cwd: f.w.path))
        let reason = "disk lost on 2 Dec; restored from the 02:00 backup"
        try requireOK(try CLI.sg(["log", "declare-fork", "--data", "dept", "--reason", reason], cwd: f.w.path))
        gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        // The declaration needs only the log key, which the gateway holds: the first run shows it
        // and fails (a scheduled audit that checks only the exit status notices), its state untouched.
        let heldState = f.w.read("text.json")
        let told = try Self.verify(f, gw, "text.json")
        #expect(
            told.status == 1 && told.stderr.contains("error: log_fork_declared: the department declared lost the checkpoint you hold"),
            "\(told.stderr)")
        #expect(
            told.stderr.contains("declared lost the log of \(heldSize) entries")
                && told.stderr.contains("reason: disk lost on 2 Dec; restored from the 02:00 backup")
                && told.stderr.contains("the log went on from its first \(kept) entries")
                && told.stderr.contains("the declaration is entry \(kept)); it now holds \(kept + 1)")
                && told.stderr.contains("run again with --accept-fork \(kept) ") && !told.stderr.contains("declare-fork"),
            "\(told.stderr)")
        #expect(f.w.read("text.json") == heldState, "the state moved on without the auditor's word")
        #expect(!f.w.exists("text.before-fork-\(kept).json"))
        // Accepting another entry than the declaration's is refused, the state untouched too.
        let other = try Self.verify(f, gw, "text.json", accept: kept + 1)
        #expect(
            other.status == 1
                && other.stderr.contains("error: log_fork_declared: --accept-fork \(kept + 1) names another entry than the declaration"),
            "\(other.stderr)")
        #expect(f.w.read("text.json") == heldState && !f.w.exists("text.before-fork-\(kept + 1).json"))
        // Accepted: it goes on, the state held kept beside the state file (0600) as evidence.
        let text = try Self.verify(f, gw, "text.json", accept: kept)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(
            text.stderr.contains("declared lost the log of \(heldSize) entries")
                && text.stderr.contains("reason: disk lost on 2 Dec; restored from the 02:00 backup")
                && text.stderr.contains("the state you held is kept in text.before-fork-\(kept).json")
                && text.stderr.contains("going on from the fork declared at entry \(kept)"),
            "\(text.stderr)")
        #expect(f.w.read("text.before-fork-\(kept).json") == heldState)
        let evidence = try FileManager.default.attributesOfItem(atPath: f.w.file("text.before-fork-\(kept).json"))
        #expect((evidence[.posixPermissions] as? NSNumber)?.intValue == 0o600, "\(evidence)")
        #expect(f.w.read("text.json") != heldState)
        let refusedJSON = try Self.verify(f, gw, "auditor.json", json: true)
        #expect(refusedJSON.status == 1 && jsonCode(refusedJSON) == "log_fork_declared", "\(refusedJSON.out)")
        let json = try Self.verify(f, gw, "auditor.json", json: true, accept: kept)
        #expect(json.status == 0, "\(json.stderr)")
        let fork = try #require(try JSON(parsing: json.out)["result"]?["declared_fork"])
        #expect(fork["lost_size"]?.int == Int64(heldSize) && fork["continues_at"]?.int == Int64(kept) && fork["entry"]?.int == Int64(kept))
        #expect(fork["reason"]?.string == "disk lost on 2 Dec; restored from the 02:00 backup" && fork["declared_at"]?.string?.isEmpty == false)
        #expect(fork["previous_state"]?.string == "auditor.before-fork-\(kept).json" && f.w.exists("auditor.before-fork-\(kept).json"))
        // Given again once the state moved on, --accept-fork is refused: it accepts nothing unread.
        let standing = try Self.verify(f, gw, "auditor.json", accept: kept)
        #expect(standing.status == 64 && standing.stderr.contains("there is nothing to accept"), "\(standing.stderr)")
        // The state now holds the new log: the next run is an ordinary one, and so is the one after more decisions.
        let again = try Self.verify(f, gw, "auditor.json")
        #expect(again.status == 0 && again.stderr.contains("consistent with the \(kept + 1) verified before"), "\(again.stderr)")
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 2)).status == 201)
        let grown = try Self.verify(f, gw, "auditor.json")
        #expect(grown.status == 0 && grown.stderr.contains("consistent with the") && !grown.stderr.contains("declared"), "\(grown.stderr)")

        // An auditor holding an older checkpoint: the declaration does not name it (accepting it changes nothing).
        let olderAccepting = try Self.verify(f, gw, "older.json", accept: kept)
        #expect(olderAccepting.status == 1 && olderAccepting.stderr.contains("error: log_fork: "), "\(olderAccepting.stderr)")
        let older = try Self.verify(f, gw, "older.json")
        #expect(older.status == 1 && older.stderr.contains("error: log_fork: the log forked after entry \(kept)"), "\(older.stderr)")
        #expect(
            older.stderr.contains("abandons a checkpoint of \(heldSize) entries") && older.stderr.contains("not the one you hold"), "\(older.stderr)")
        // What the auditor does next, not what the department does.
        #expect(
            older.stderr.contains("on the command line: keep the --state file as evidence") && !older.stderr.contains("declare-fork"),
            "\(older.stderr)")
        gw.stop()

        // A declaration whose note of the abandoned checkpoint was tampered with, covered all the
        // same by a checkpoint the gateway signs anew (its later checkpoints and head removed).
        let body = try Self.sql(f, "dept", "SELECT body FROM log_entries WHERE idx = \(kept)")
        let note = try #require(try JSON(parsing: body)["lost_checkpoint"]?.string)
        let signatureLine = try #require(note.split(separator: "\n").last)
        let signature = try #require(signatureLine.split(separator: " ").last.map(String.init))
        let chars = Array(signature)
        let start = try #require((10..<max(10, chars.count - 8)).first { i in chars[i..<i + 8].allSatisfy { $0.isLetter || $0.isNumber } })
        let piece = String(chars[start..<start + 8])
        #expect(body.components(separatedBy: piece).count == 2, "the piece to alter is not unique")
        let altered = String(piece.map { $0 == "A" ? "B" : "A" })
        _ = try Self.sql(
            f, "dept",
            "UPDATE log_entries SET body = replace(body, '\(piece)', '\(altered)') WHERE idx = \(kept); DELETE FROM checkpoints WHERE size > \(kept)")
        try FileManager.default.removeItem(atPath: f.w.file("dept/log-head.json"))
        gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let tampered = try Self.verify(f, gw, "tampered.json")
        #expect(tampered.status == 1 && tampered.stderr.contains("error: log_fork:"), "\(tampered.stderr)")
        #expect(tampered.stderr.contains("names your checkpoint, but its signed note of it does not verify"), "\(tampered.stderr)")
        #expect(FileManager.default.contents(atPath: f.w.file("tampered.json")) == FileManager.default.contents(atPath: f.w.file("undeclared.json")))
    }
}
