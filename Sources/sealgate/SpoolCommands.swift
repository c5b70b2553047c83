import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
import SealCrypto
import SealPackage

struct SpoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spool", abstract: "The spool of received package bodies.", subcommands: [Prune.self])

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the bodies of packages decided more than --older-than ago (the retention policy).",
            discussion:
                "A decided body is needed by nothing the gateway serves: the decision, the receipt, the imported records and the log entry are in the store. Bodies not yet decided are never removed; nor are those of `files` packages (their content is kept nowhere else) unless --files. The bodies go; their records stay, marked pruned."
        )
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Age of the decisions whose bodies go, e.g. 90d.") var olderThan: String
        @Flag(name: .long, help: "Also remove the bodies of `files` packages.") var files = false
        @Flag(name: .long, help: "Only say what would be removed.") var dryRun = false
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let age = try parseDuration(olderThan)
                let before = Timestamp.now.adding(seconds: -Int64(age))
                let dir = data.dir
                let store = try await dir.openStore()
                let due = try await store.decidedSpool(before: before).filter { files || $0.kind != .files }
                var removed: [Int64] = []
                var bytes: Int64 = 0
                for (entry, _) in due {
                    // Only bodies on this machine (several on PostgreSQL: each prunes its own).
                    let path = dir.resolve(spoolPath: entry.path)
                    guard FileManager.default.fileExists(atPath: path) else { continue }
                    if !dryRun { guard unlink(path) == 0 else { continue } }
                    removed.append(entry.id)
                    bytes += entry.size
                }
                if !dryRun { try await store.markSpoolPruned(ids: removed) }
                if !out.json { say("\(dryRun ? "would remove" : "removed") \(removed.count) body(ies) decided before \(before), \(bytes) bytes") }
                return ["removed": removed.count, "bytes": bytes, "before": before, "dry_run": dryRun]
            }
        }
    }
}
