import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
import SealBase
import SealCrypto
import SealPackage
import Synchronization

@main
struct Sealgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealgate",
        abstract: "Seal, verify and open party-record packages (minisign + age inside tar).",
        discussion: """
            A package is a tar of package.minisig and payload.age that the stock tar, minisign and age tools can check and open. Every failure prints a stable error code and what to do (exit status 1 when a check refused the input, 64 for usage, 74 for I/O, 77 for key problems).

            Secret keys are passphrase-protected unless --unencrypted; the passphrase comes from --passphrase-file, the SEALGATE_PASSPHRASE environment variable, or a prompt.
            """,
        version: SealgateVersion.current,
        subcommands: [
            Keys.self, Seal.self, Verify.self, Open.self, Inspect.self, Validate.self, Normalize.self, Generate.self,
            Init.self, Units.self, Tokens.self, Serve.self, Import.self, Trust.self, Submit.self, ReceiptCommand.self, LogCommand.self,
            Synthesize.self, DatasetsCommand.self, Status.self, CampaignCommand.self, Handbook.self, BackupCommand.self, RestoreCommand.self,
            SpoolCommand.self, UnitCommand.self, ErrorsCommand.self, DeskCommand.self,
        ])

    /// Every command runs in one scope for the PostgreSQL clients of the stores it opens
    /// (`withStoreClients`: they run while the command does, as child tasks); `serve` runs its
    /// own in its service group.
    static func main() async {
        UnitSide.execIfLean()
        SealExtensions.install(sealExtensions)
        _ = try? await withStoreClients { @Sendable in await Self.main(nil) }
    }
}
