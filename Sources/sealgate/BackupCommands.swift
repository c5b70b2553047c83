import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
import SealCrypto
import SealPackage

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract:
            "Write a consistent backup of a gateway while it runs: the SQLite store (online copy), gateway.json, the keys as they are (secret ones still encrypted), the sealed datasets and the log head.",
        discussion:
            "The file is a tar (`tar -tvf FILE` lists it) with backup.json naming each file and its SHA-256. On PostgreSQL the database itself is backed up with PostgreSQL's tools (pg_basebackup and WAL archiving, docs/operations.md); the file then holds everything else, and the command warns when WAL archiving is off. Bring it back with `sealgate restore`."
    )
    @OptionGroup var data: DataOption
    @Option(name: .shortAndLong, help: "The backup file to write.") var output: String
    @OptionGroup var out: OutputOptions
    func run() async throws {
        try await runAsync(json: out.json) {
            let dir = data.dir
            let store = try await dir.openStore()
            guard !FileManager.default.fileExists(atPath: output) else {
                throw SealError(.outputExists, "\(output) already exists", remedy: "give another -o, or remove the old file first")
            }
            let s = try await Backup.create(dir, store: store, output: output)
            var warnings: [String] = []
            if !s.includesDatabase, let pg = (store as? SQLGatewayStore)?.driver as? PostgresDriver {
                for (setting, wanted) in [("wal_level", ["replica", "logical"]), ("archive_mode", ["on", "always"])] {
                    let v = await (try? pg.show(setting)) ?? "?"
                    if !wanted.contains(v) {
                        warnings.append("PostgreSQL \(setting) is \(v): point-in-time recovery needs WAL archiving (docs/operations.md, Backup)")
                    }
                }
            }
            if !out.json {
                say(
                    "wrote \(output): \(s.files) file(s), \(s.bytes) bytes\(s.includesDatabase ? " including the SQLite store" : " (the PostgreSQL database is not in it: back it up with pg_basebackup)"); log of \(s.logSize) entries"
                )
                for w in warnings { say("warning: \(w)") }
            }
            return [
                "output": output, "files": s.files, "bytes": s.bytes, "log_size": s.logSize, "database": s.includesDatabase, "warnings": warnings,
            ]
        }
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Bring a backup back into a data folder — never silently behind what the gateway already signed.",
        discussion: """
            Into the gateway's own folder (in place): the store, gateway.json and the keys are replaced by the backup's (what was there moves to before-restore-TIME/), and the log head — the newest checkpoint this gateway signed — stays. If packages were decided after the backup, `serve` then refuses to start (log_behind): restore a newer copy, or declare the fork (`sealgate log declare-fork`).

            Into a new folder: give --checkpoint with the newest checkpoint this gateway signed (the old folder's log-head.json, a unit's receipt, an auditor's checkpoint), or --no-later-checkpoint when none was signed after the backup.
            """)
    @Argument(help: "The backup file.") var file: String
    @OptionGroup var data: DataOption
    @Option(name: .long, help: "The newest checkpoint signed before the loss: a checkpoint note, a receipt, or a log-head.json.") var checkpoint:
        String?
    @Flag(name: .long, help: "A new folder: no checkpoint was signed after the backup was taken.") var noLaterCheckpoint = false
    @OptionGroup var out: OutputOptions
    func run() async throws {
        try await runAsync(json: out.json) {
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw SealError(.usage, "cannot read \(file)", remedy: "give the file `sealgate backup` wrote")
            }
            if checkpoint == nil && !noLaterCheckpoint && !FileManager.default.fileExists(atPath: data.dir.configPath) {
                throw SealError(
                    .usage, "a new data folder knows nothing of checkpoints signed after the backup",
                    remedy:
                        "give --checkpoint FILE with the newest one this gateway signed (the old folder's log-head.json, a unit's receipt, an auditor's checkpoint), or --no-later-checkpoint if there is none"
                )
            }
            let r = try await Backup.restore(file, into: data.dir, checkpoint: checkpoint, assumeNoLater: noLaterCheckpoint)
            if !out.json {
                say("restored \(file) into \(data.data)\(r.inPlace ? " (in place; what was there is in before-restore-*/)" : "")")
                if r.headSize > r.logSize {
                    say(
                        "the gateway signed a checkpoint of \(r.headSize) entries, the restored store holds \(r.logSize): `serve` will refuse to start (log_behind) until a newer copy is restored or the fork is declared (`sealgate log declare-fork`)"
                    )
                }
            }
            return ["data": data.data, "log_size": r.logSize, "log_head": r.headSize, "in_place": r.inPlace]
        }
    }
}
