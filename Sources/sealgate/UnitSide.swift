import Foundation
import Glibc
import SystemIO

/// `seal` with its recipients given (`--to`), `open`, `verify` and `inspect` run in
/// `sealgate-unit` — the same commands (PackageCommands) without the department's server
/// libraries, about a quarter less memory at start (docs/architecture.md, "Memory at start") —
/// when it sits beside this program (`.build/…/sealgate-unit`) or in `../lib/sealgate/` (the
/// packages). `seal` with a unit profile or `--trust` stays here: it needs the gateway client and
/// the trust document's code.
enum UnitSide {
    static let commands: Set<String> = ["seal", "open", "verify", "inspect"]
    /// Set in the environment of the program run: one hand-over, never a loop (a helper that is
    /// in fact this program).
    static let marker = "SEALGATE_UNIT_HANDOVER"

    /// Whether `arguments` (argv) go to the unit-side program.
    static func isLean(_ arguments: [String]) -> Bool {
        guard arguments.count > 1, commands.contains(arguments[1]) else { return false }
        guard arguments[1] == "seal" else { return true }
        // Options only, up to `--` (after it, file names).
        let rest = arguments.dropFirst(2).prefix { $0 != "--" }
        // Recipients given, and neither a trust document nor a profile to read.
        let given = rest.contains { $0 == "--to" || $0.hasPrefix("--to=") }
        let needsFull = rest.contains { $0.hasPrefix("--trust") || $0.hasPrefix("--profile") }
        return given && !needsFull
    }

    /// The unit-side program beside this one, opened, if there is one this program may run
    /// (`SystemIO.openTrustedProgram`: not a copy dropped into /tmp by someone else).
    static func helper() -> Int32? {
        guard let exe = realpath("/proc/self/exe", nil) else { return nil }
        let ownPath = String(cString: exe)
        free(exe)
        let folder = (ownPath as NSString).deletingLastPathComponent
        for candidate in ["\(folder)/sealgate-unit", "\(folder)/../lib/sealgate/sealgate-unit"] {
            if let fd = SystemIO.openTrustedProgram(candidate, besides: ownPath) { return fd }
        }
        return nil
    }

    /// Runs the unit-side program in this process's place for its commands (nothing returns
    /// then); else, or if it cannot be run, returns and this program goes on.
    static func execIfLean(_ arguments: [String] = CommandLine.arguments) {
        let env = ProcessInfo.processInfo.environment
        guard isLean(arguments), env[marker] == nil, (env["SEALGATE_FULL"] ?? "").isEmpty || env["SEALGATE_FULL"] == "0",
            let fd = helper()
        else { return }
        setenv(marker, "1", 1)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        fexecve(fd, &argv, environ)
        // Not run: this program does the work itself.
        unsetenv(marker)
        close(fd)
    }
}
