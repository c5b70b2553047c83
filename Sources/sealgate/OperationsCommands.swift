import ArgumentParser
import Foundation
import GatewayCore
import GatewayStore
import SealCrypto
import SealPackage

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write a consistent backup of a gateway while it runs: the SQLite store (online copy), gateway.json, the keys as they are (secret ones still encrypted), the sealed datasets and the log head.",
        discussion: "The file is a tar (`tar -tvf FILE` lists it) with backup.json naming each file and its SHA-256. On PostgreSQL the database itself is backed up with PostgreSQL's tools (pg_basebackup and WAL archiving, docs/operations.md); the file then holds everything else, and the command warns when WAL archiving is off. Bring it back with `sealgate restore`.")
    @OptionGroup var data: DataOption
    @Option(name: .shortAndLong, help: "The backup file to write.") var output: String
    @OptionGroup var out: OutputOptions
    func run() throws {
        try sealgate.run(json: out.json) {
            let dir = data.dir
            let store = try dir.openStore()
            guard !FileManager.default.fileExists(atPath: output) else {
                throw SealError(.outputExists, "\(output) already exists", remedy: "give another -o, or remove the old file first")
            }
            let s = try Backup.create(dir, store: store, output: output)
            var warnings: [String] = []
            if !s.includesDatabase, let pg = store as? PostgresStore {
                for (setting, wanted) in [("wal_level", ["replica", "logical"]), ("archive_mode", ["on", "always"])] {
                    let v = (try? pg.show(setting)) ?? "?"
                    if !wanted.contains(v) { warnings.append("PostgreSQL \(setting) is \(v): point-in-time recovery needs WAL archiving (docs/operations.md, Backup)") }
                }
            }
            if !out.json {
                say("wrote \(output): \(s.files) file(s), \(s.bytes) bytes\(s.includesDatabase ? " including the SQLite store" : " (the PostgreSQL database is not in it: back it up with pg_basebackup)"); log of \(s.logSize) entries")
                for w in warnings { say("warning: \(w)") }
            }
            return ["output": output, "files": s.files, "bytes": s.bytes, "log_size": s.logSize, "database": s.includesDatabase, "warnings": warnings]
        }
    }
}

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Bring a backup back into a data folder — never silently behind what the gateway already signed.",
        discussion: """
        Into the gateway's own folder (in place): the store, gateway.json and the keys are replaced by the backup's (what was there moves to before-restore-TIME/), and the log head — the newest checkpoint this gateway signed — stays. If packages were decided after the backup, `serve` then refuses to start (log_behind): restore a newer copy, or declare the fork (`sealgate log declare-fork`).

        Into a new folder: give --checkpoint with the newest checkpoint this gateway signed (the old folder's log-head.json, a unit's receipt, an auditor's checkpoint), or --no-later-checkpoint when none was signed after the backup.
        """)
    @Argument(help: "The backup file.") var file: String
    @OptionGroup var data: DataOption
    @Option(name: .long, help: "The newest checkpoint signed before the loss: a checkpoint note, a receipt, or a log-head.json.") var checkpoint: String?
    @Flag(name: .long, help: "A new folder: no checkpoint was signed after the backup was taken.") var noLaterCheckpoint = false
    @OptionGroup var out: OutputOptions
    func run() throws {
        try sealgate.run(json: out.json) {
            guard FileManager.default.isReadableFile(atPath: file) else { throw SealError(.usage, "cannot read \(file)", remedy: "give the file `sealgate backup` wrote") }
            let r = try Backup.restore(file, into: data.dir, checkpoint: checkpoint, assumeNoLater: noLaterCheckpoint)
            if !out.json {
                say("restored \(file) into \(data.data)\(r.inPlace ? " (in place; what was there is in before-restore-*/)" : "")")
                if r.headSize > r.logSize {
                    say("the gateway signed a checkpoint of \(r.headSize) entries, the restored store holds \(r.logSize): `serve` will refuse to start (log_behind) until a newer copy is restored or the fork is declared (`sealgate log declare-fork`)")
                }
            }
            return ["data": data.data, "log_size": r.logSize, "log_head": r.headSize, "in_place": r.inPlace]
        }
    }
}

extension LogCommand {
    struct DeclareFork: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "declare-fork",
            abstract: "Declare, in the log itself, that the entries after the restored store's last one are lost, and go on from there.",
            discussion: "For a store restored from a copy older than a checkpoint the gateway had signed, when no newer copy exists. A `fork_declared` entry names the lost checkpoint (its size, root and signed note), where the log goes on, and the reason; the next checkpoint, signed with the log key, covers it, and becomes the log head. Auditors who verified the lost entries see the fork (`log verify --state` reports log_fork) and can read the statement. Never run it to get past a log_inconsistent error (an altered entry): restore the store instead.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Why the entries are lost (goes into the signed log entry).") var reason: String
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                guard !reason.trimmingCharacters(in: .whitespaces).isEmpty, reason.utf8.count <= 2000 else {
                    throw SealError(.usage, "--reason must say why (at most 2000 bytes)", remedy: "e.g. --reason \"disk lost; restored from the 02:00 backup\"")
                }
                let dir = data.dir
                let store = try dir.openStore()
                let (department, _) = try dir.config()
                let keys = try DepartmentKeys.load(dir, passphrase: cachedPassphrase(passphrase))
                let head = LogHead(path: dir.logHeadPath)
                guard let lost = try head.read() else {
                    throw SealError(.usage, "this data folder has no log head: there is nothing to declare", remedy: "start the gateway normally")
                }
                let log = TransparencyLog(store: store, key: keys.log, department: department)
                log.head = head
                do {
                    try log.load()
                    throw SealError(.usage, "the store's log is not behind the checkpoints this gateway signed: there is no fork to declare",
                                    remedy: "start the gateway normally")
                } catch let e as SealError where e.code == .logBehind || e.code == .logFork {
                    // As expected: the store was restored behind the head.
                }
                try log.loadIgnoringHead()
                let size = try store.logSize()
                let at = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970))
                let statement = JSON.object([
                    "format": .string("sealgate-log/1"), "kind": .string("fork_declared"), "gateway": .string(department),
                    "lost_size": .int(Int64(lost.size)), "lost_root": .string(Base64.encode(lost.root)), "lost_checkpoint": .string(lost.note),
                    "continues_at": .int(size), "reason": .string(reason), "declared_at": .string(at)]).canonical
                _ = try store.appendLog(kind: "fork_declared", body: statement, at: at)
                let note = try log.checkpoint()
                let cp = try Checkpoint.verify(note: note, name: "\(department)/log", publicKey: keys.log.publicKey.key)
                try head.write(size: cp.size, root: cp.root, note: note)
                if !out.json {
                    say("declared: the log's entries after \(size) (of the \(lost.size) once signed) are lost; the log goes on from a checkpoint of \(cp.size) entries that covers the statement")
                    say("tell the auditors and units: their `log verify --state` will report the fork, and the statement explains it")
                }
                return ["lost_size": lost.size, "continues_at": size, "checkpoint_size": cp.size]
            }
        }
    }
}

struct SpoolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spool", abstract: "The spool of received package bodies.", subcommands: [Prune.self])

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove the bodies of packages decided more than --older-than ago (the retention policy).",
            discussion: "A decided body is needed by nothing the gateway serves: the decision, the receipt, the imported records and the log entry are in the store. Bodies not yet decided are never removed; nor are those of `files` packages (their content is kept nowhere else) unless --files. The bodies go; their records stay, marked pruned.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Age of the decisions whose bodies go, e.g. 90d.") var olderThan: String
        @Flag(name: .long, help: "Also remove the bodies of `files` packages.") var files = false
        @Flag(name: .long, help: "Only say what would be removed.") var dryRun = false
        @OptionGroup var out: OutputOptions
        func run() throws {
            try sealgate.run(json: out.json) {
                let age = try parseDuration(olderThan)
                let before = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970 - age))
                let dir = data.dir
                let store = try dir.openStore()
                let due = try store.decidedSpool(before: before).filter { files || $0.kind != "files" }
                var removed: [Int64] = [], bytes: Int64 = 0
                for (entry, _) in due {
                    // Only bodies on this machine (several on PostgreSQL: each prunes its own).
                    let path = dir.resolve(spoolPath: entry.path)
                    guard FileManager.default.fileExists(atPath: path) else { continue }
                    if !dryRun { guard unlink(path) == 0 else { continue } }
                    removed.append(entry.id)
                    bytes += entry.size
                }
                if !dryRun { try store.markSpoolPruned(ids: removed) }
                if !out.json { say("\(dryRun ? "would remove" : "removed") \(removed.count) body(ies) decided before \(before), \(bytes) bytes") }
                return ["removed": removed.count, "bytes": bytes, "before": before, "dry_run": dryRun]
            }
        }
    }
}
