import Foundation
import TestSupport
import Testing

/// `sealgate` runs `seal --to`, `open`, `verify` and `inspect` in `sealgate-unit` beside it (the
/// same commands without the department's server libraries), and keeps the rest itself.
struct UnitSideTests {
    /// The program a `sealgate` process is, seen while it waits to open a FIFO nobody writes yet
    /// (the package it was given): its /proc/PID/exe.
    static func program(running args: [String], cwd: String, env: [String: String] = [:], binary: String = CLI.sealgate) throws -> String {
        try CLI.requireBinary()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = CLI.environment(env)
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer {
            p.terminate()
            p.waitUntilExit()
        }
        // Blocked in open(2) on the FIFO: the exec, if any, is done by then.
        var exe = ""
        for _ in 0..<200 {
            let proc = "/proc/\(p.processIdentifier)"
            let state = (try? String(contentsOfFile: "\(proc)/wchan", encoding: .utf8)) ?? ""  // lint: allow try? — not there yet
            exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(proc)/exe")) ?? ""  // lint: allow try? — not there yet
            if state.contains("fifo") || state.contains("pipe") || state.contains("partner") { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return exe
    }

    @Test func theUnitSideCommandsRunInSealgateUnitAndTheRestInSealgate() throws {
        let w = Workdir()
        #expect(mkfifo(w.file("pkg.sgp"), 0o600) == 0)
        let inspect = try Self.program(running: ["inspect", "pkg.sgp"], cwd: w.path)
        #expect(inspect.hasSuffix("/sealgate-unit"), "\(inspect)")
        // SEALGATE_FULL=1 keeps them in sealgate (a comparison, a missing helper).
        let full = try Self.program(running: ["inspect", "pkg.sgp"], cwd: w.path, env: ["SEALGATE_FULL": "1"])
        #expect(full.hasSuffix("/sealgate"), "\(full)")
        // `seal --trust` needs the trust document's code: sealgate-unit refuses it with a code.
        let helper = URL(fileURLWithPath: CLI.sealgate).deletingLastPathComponent().appendingPathComponent("sealgate-unit").path
        let r = try CLI.run(
            helper,
            ["seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "k.key", "--trust", "trust.json", "-o", "p.sgp", "a.csv", "--json"],
            cwd: w.path)
        #expect(r.status == 64 && r.out.contains("\"code\":\"usage\"") && r.out.contains("full sealgate"), "\(r.out) \(r.stderr)")
    }

    /// A helper others could have put there is never run: in a folder the group can write, the
    /// command stays in sealgate.
    @Test func aHelperInAFolderOthersCanWriteIsNotRun() throws {
        let w = Workdir()
        #expect(mkfifo(w.file("pkg.sgp"), 0o600) == 0)
        try FileManager.default.createDirectory(atPath: w.file("bin"), withIntermediateDirectories: false)
        chmod(w.file("bin"), 0o755)
        let helper = URL(fileURLWithPath: CLI.sealgate).deletingLastPathComponent().appendingPathComponent("sealgate-unit").path
        #expect(link(CLI.sealgate, w.file("bin/sealgate")) == 0 && link(helper, w.file("bin/sealgate-unit")) == 0)
        let beside = try Self.program(running: ["inspect", "pkg.sgp"], cwd: w.path, binary: w.file("bin/sealgate"))
        #expect(beside.hasSuffix("/bin/sealgate-unit"), "\(beside)")
        chmod(w.file("bin"), 0o775)
        let refused = try Self.program(running: ["inspect", "pkg.sgp"], cwd: w.path, binary: w.file("bin/sealgate"))
        #expect(refused.hasSuffix("/bin/sealgate"), "\(refused)")
    }

    /// Without the helper (SEALGATE_FULL=1), sealgate still seals with --to and opens itself;
    /// a recipient file given through a pipe is read whole.
    @Test func sealgateAloneSealsAndOpens() throws {
        let w = Workdir()
        sampleData(w)
        #expect(try CLI.sg(["keys", "generate", "signing", "--out", "u", "--unencrypted"], cwd: w.path).status == 0)
        #expect(try CLI.sg(["keys", "generate", "recipient", "--out", "d", "--unencrypted"], cwd: w.path).status == 0)
        let full = ["SEALGATE_FULL": "1"]
        let seal = try CLI.run(
            "/bin/sh",
            [
                "-c", "cat d.pub | \"$0\" seal --unit HCM-U001 --seq 1 --signing-key u.key --to /dev/stdin -o p.sgp organizations.csv members.csv",
                CLI.sealgate,
            ],
            cwd: w.path, env: full)
        #expect(seal.status == 0, "\(seal.stderr)")
        let opened = try CLI.sg(["open", "--identity", "d.key", "--signer", "u.pub", "-o", "out", "p.sgp"], cwd: w.path, env: full)
        #expect(opened.status == 0 && sameFile(w, "out/members.csv", "members.csv"), "\(opened.stderr)")
    }
}
