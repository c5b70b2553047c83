import ArgumentParser
import PackageCommands
import SealBase

/// `sealgate-unit`: the unit's side of `sealgate` — `seal` with recipients given, `open`, `verify`,
/// `inspect` — without the department's server libraries. `sealgate` runs it for those commands
/// when it sits beside it (docs/architecture.md, "Memory at start"); it answers as `sealgate`.
@main
struct SealgateUnit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealgate",
        abstract: "Seal, verify and open party-record packages (minisign + age inside tar): the unit's side.",
        discussion: "Sealing with a unit profile or a trust document (--trust), and everything else, is the full sealgate's.",
        version: SealgateVersion.current,
        subcommands: [Seal.self, Verify.self, Open.self, Inspect.self])
}
