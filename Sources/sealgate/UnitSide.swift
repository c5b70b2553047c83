import Foundation
import PackageCommands

/// `seal` with its recipients given (`--to`), `open`, `verify` and `inspect` run in
/// `sealgate-unit` — the same commands (PackageCommands) without the department's server
/// libraries, about half the memory at start (docs/architecture.md, "Memory at start") — when it
/// sits beside this program (`.build/…/sealgate-unit`) or in `../lib/sealgate/` (the packages).
/// `seal` with a unit profile or `--trust` stays here: it needs the gateway client and the trust
/// document's code.
enum UnitSide {
    static let commands: Set<String> = ["seal", "open", "verify", "inspect"]

    /// Whether `arguments` (argv) go to the unit-side program.
    static func isLean(_ arguments: [String]) -> Bool {
        guard arguments.count > 1, commands.contains(arguments[1]) else { return false }
        guard arguments[1] == "seal" else { return true }
        let rest = arguments.dropFirst(2)
        // Recipients given, and neither a trust document nor a profile to read.
        let given = rest.contains { $0 == "--to" || $0.hasPrefix("--to=") }
        let needsFull = rest.contains { $0.hasPrefix("--trust") || $0.hasPrefix("--profile") }
        return given && !needsFull
    }

    /// The unit-side program beside this one, if there is one.
    static func helper() -> String? {
        guard let exe = realpath("/proc/self/exe", nil) else { return nil }
        defer { free(exe) }
        let folder = (String(cString: exe) as NSString).deletingLastPathComponent
        return ["\(folder)/sealgate-unit", "\(folder)/../lib/sealgate/sealgate-unit"].first { access($0, X_OK) == 0 }
    }

    /// Runs the unit-side program in this process's place for its commands (nothing returns
    /// then); else, or if it cannot be run, returns and this program goes on.
    static func execIfLean(_ arguments: [String] = CommandLine.arguments) {
        guard isLean(arguments), ProcessInfo.processInfo.environment["SEALGATE_FULL"] == nil, let path = helper() else { return }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        argv[0] = strdup(path)
        execv(path, &argv)
    }
}
