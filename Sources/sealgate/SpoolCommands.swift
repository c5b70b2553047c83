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
        commandName: "spool", abstract: "The spool of received package bodies.", subcommands: [Prune.self, Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a decided package's body, as its unit sent it, to a file.",
            discussion:
                "The package is named by its id (`package` in its receipt). Its body is a file in the spool, or — a small one — kept in the store; either way it is written to --output (0600): the signed, encrypted package, for `sealgate inspect`, `sealgate open` or an audit. Not once `spool prune` removed it."
        )
        @OptionGroup var data: DataOption
        @Argument(help: "The package id (`package` in its receipt).") var packageId: String
        @Option(name: .shortAndLong, help: "The file to write (never replaced).") var output: String
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let dir = data.dir
                let store = try await dir.openStore()
                guard let decided = try await store.outcome(packageId: packageId), let entry = try await store.spool(id: decided.spoolId) else {
                    throw GatewayError(
                        .packageUnknown, "no package \(packageId) was decided here",
                        remedy: "give the package id (`package`) of a receipt this gateway signed")
                }
                guard access(output, F_OK) != 0 else {
                    throw SealError(.outputExists, "\(output) already exists", remedy: "choose another output path or remove the old file")
                }
                let gone = GatewayError(
                    .packageUnknown, "the body of package \(packageId) is no longer kept (pruned, or on another machine's spool)",
                    remedy: "its decision and receipt stand (`GET /v1/packages/\(packageId)`); the unit keeps its own copy")
                let source: any ByteSource
                if entry.inStore {
                    guard let body = try await store.spoolBody(id: entry.id) else { throw gone }
                    source = MemorySource(body)
                } else {
                    let path = dir.resolve(spoolPath: entry.path)
                    guard entry.state != .pruned, FileManager.default.fileExists(atPath: path) else { throw gone }
                    source = try FileSource(path: path)
                }
                // Written as a new file (0600, never over one) the way a body is spooled, and kept
                // only if it is the body that was received (its recorded size and SHA-256).
                let written = try BodySpooler.copy(source, to: output, limit: UInt64(max(entry.size, 0)))
                guard written.sha256 == entry.sha256 else {
                    unlink(output)
                    throw GatewayError(
                        .storeFailure, "the body kept for package \(packageId) does not match the SHA-256 it was received with",
                        remedy: "the spool or the store was changed outside sealgate: restore them from a backup")
                }
                let who = "\(decided.unitId ?? "no unit") seq \(decided.seq.map(String.init) ?? "-")"
                if !out.json { say("package \(packageId) (\(who), \(entry.size) bytes, \(decided.status.rawValue)) written to \(output)") }
                return [
                    "package_id": packageId, "unit": decided.unitId ?? "", "output": output, "size": entry.size, "sha256": entry.sha256,
                    "status": decided.status.rawValue,
                ]
            }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the bodies of packages decided more than --older-than ago (the retention policy).",
            discussion:
                "A decided body is needed by nothing the gateway serves: the decision, the receipt, the imported records and the log entry are in the store. Bodies not yet decided are never removed; nor are those of `files` packages (their content is kept nowhere else) unless --files. The bodies go (a file in the spool, or a small body kept in the store); their records stay, marked pruned."
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
                    // A body kept in the store goes with its mark; of files, only those on this
                    // machine (several on PostgreSQL: each prunes its own).
                    if !entry.inStore {
                        let path = dir.resolve(spoolPath: entry.path)
                        guard FileManager.default.fileExists(atPath: path) else { continue }
                        if !dryRun { guard unlink(path) == 0 else { continue } }
                    }
                    removed.append(entry.id)
                    bytes += entry.size
                }
                // In batches: each one transaction, short, so that a running gateway's writes are not kept waiting.
                if !dryRun {
                    for start in stride(from: 0, to: removed.count, by: 500) {
                        try await store.markSpoolPruned(ids: Array(removed[start..<min(start + 500, removed.count)]))
                    }
                }
                if !out.json { say("\(dryRun ? "would remove" : "removed") \(removed.count) body(ies) decided before \(before), \(bytes) bytes") }
                return ["removed": removed.count, "bytes": bytes, "before": before, "dry_run": dryRun]
            }
        }
    }
}
