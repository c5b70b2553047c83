import Foundation
import TestSupport
import Testing

/// `sealgate` runs `seal --to`, `open`, `verify` and `inspect` in `sealgate-unit` beside it (the
/// same commands without the department's server libraries), and keeps the rest itself.
struct UnitSideTests {
    /// The program a `sealgate` process is, seen while it waits to open a FIFO nobody writes yet
    /// (the package it was given): its /proc/PID/exe.
    static func program(running args: [String], cwd: String, env: [String: String] = [:]) throws -> String {
        try CLI.requireBinary()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.sealgate)
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
}
