public import Foundation
public import GatewayStore
public import SealBase
import SealCrypto
import SealPackage
import TransparencyLog

/// A backup of a gateway: a tar file (readable with the stock `tar`) holding `backup.json` (what
/// it holds, with each file's SHA-256), a consistent copy of the SQLite store taken online
/// (`gateway.sqlite`), `gateway.json`, the keys as they are on disk (secret ones still
/// encrypted), the sealed dataset packages, and the log head — the latest checkpoint signed.
/// On PostgreSQL the database is backed up by PostgreSQL's own tools (docs/operations.md); the
/// backup then holds everything else.
public enum Backup {
    public static let format = "sealgate-backup/1"

    public struct Summary: Sendable {
        public let files: Int
        public let bytes: Int64
        public let logSize: Int64
        public let includesDatabase: Bool
    }

    /// Writes the backup to `output` (aside, renamed into place when complete).
    public static func create(
        _ dir: DataDirectory, store: any GatewayStore, output: String, clock: any GatewayClock = .system
    ) async throws -> Summary {
        let now = clock.now
        let fm = FileManager.default
        let work = "\(output).work-\(getpid())"
        try? fm.removeItem(atPath: work)
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? fm.removeItem(atPath: work) }
        var members: [(name: String, path: String)] = []
        var includesDatabase = false
        // The log head is copied before the store: the copy then holds at least what the head
        // names (the head never runs ahead of the store it is restored with).
        if let head = try LogHead(path: dir.logHeadPath).bytes() {
            guard fm.createFile(atPath: "\(work)/log-head.json", contents: Data(head), attributes: [.posixPermissions: 0o600]) else {
                throw SealError.io("cannot write \(work)/log-head.json", errno: errno)
            }
            members.append(("log-head.json", "\(work)/log-head.json"))
        }
        var latest: (size: Int64, note: String)?
        if let sqlite = (store as? SQLGatewayStore)?.driver as? SQLiteDriver {
            try sqlite.backup(to: "\(work)/gateway.sqlite")
            members.append(("gateway.sqlite", "\(work)/gateway.sqlite"))
            includesDatabase = true
            // The manifest's figures are the copy's own.
            latest = try SQLiteDriver.latestCheckpoint(ofCopyAt: "\(work)/gateway.sqlite")
        } else {
            latest = try await store.latestCheckpoint()
        }
        members.append(("gateway.json", dir.configPath))
        for v in ((try? fm.contentsOfDirectory(atPath: "\(dir.path)/datasets")) ?? []).sorted() where v.hasPrefix("v") && Int(v.dropFirst()) != nil {
            if fm.fileExists(atPath: "\(dir.path)/datasets/\(v)/stats.json") {
                members.append(("datasets/\(v)/stats.json", "\(dir.path)/datasets/\(v)/stats.json"))
            }
        }
        for sub in ["keys", "keys/archive", "datasets"] {
            for name in ((try? fm.contentsOfDirectory(atPath: "\(dir.path)/\(sub)")) ?? []).sorted() where !name.hasPrefix(".") {
                let p = "\(dir.path)/\(sub)/\(name)"
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue else { continue }
                if sub == "datasets" && !name.hasSuffix(".sgp") { continue }
                members.append(("\(sub)/\(name)", p))
            }
        }
        var files: [JSON] = []
        var total: Int64 = 0
        for m in members {
            let size = (try fm.attributesOfItem(atPath: m.path)[.size] as? NSNumber)?.int64Value ?? 0
            total += size
            files.append(.object(["name": .string(m.name), "sha256": .string(try sha256File(m.path)), "size": .int(size)]))
        }
        let (department, _) = try dir.config()
        let manifest =
            JSON.object([
                "format": .string(format), "created": .string(now.text),
                "department": .string(department), "store": .string(includesDatabase ? "sqlite" : "postgresql"),
                "log_size": .int(latest?.size ?? 0), "checkpoint": latest.map { .string($0.note) } ?? .null,
                "files": .array(files),
            ]).canonical + "\n"
        try Array(manifest.utf8).withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: "\(work)/backup.json")) }
        let partial = "\(output).partial-\(getpid())"
        let out = try DurableFile(creating: partial)
        defer { out.discard() }
        for m in [("backup.json", "\(work)/backup.json")] + members {
            let source = try FileSource(path: m.1)
            let size = try source.size()
            try Tar.header(name: m.0, size: size, mtime: UInt64(now.unixSeconds), mode: 0o600).withUnsafeBytes { try out.append($0) }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            var copied: UInt64 = 0
            while true {
                let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
                if n == 0 { break }
                try buffer.withUnsafeBytes { try out.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                copied += UInt64(n)
            }
            guard copied == size else { throw SealError.io("\(m.1) changed while it was backed up", errno: 0) }
            try [UInt8](repeating: 0, count: Tar.padding(size)).withUnsafeBytes { try out.append($0) }
        }
        try [UInt8](repeating: 0, count: 2 * Tar.blockSize).withUnsafeBytes { try out.append($0) }
        try out.sync()
        out.keep()
        try renameDurably(partial, output)
        return Summary(files: members.count, bytes: total, logSize: latest?.size ?? 0, includesDatabase: includesDatabase)
    }

    /// The members of a backup file, checked against its manifest (sizes and SHA-256), written
    /// into `into` (which must exist). Returns the manifest.
    static func extract(_ file: String, into: String) throws -> JSON {
        func bad(_ why: String) -> SealError {
            GatewayError(
                .backupInvalid, "\(file) is not a usable sealgate backup: \(why)", remedy: "use a file written by `sealgate backup`, unaltered")
        }
        let source = try FileSource(path: file)
        let total = try source.size()
        var offset: UInt64 = 0
        var manifest: JSON?
        var seen: [String: String] = [:]
        while offset + UInt64(Tar.blockSize) <= total {
            var block = [UInt8](repeating: 0, count: Tar.blockSize)
            _ = try block.withUnsafeMutableBytes { try preadFull(source.fd, $0, offset: offset, path: file) }
            guard let member = try block.withUnsafeBytes({ try Tar.parseHeader($0, error: { bad($0) }) }) else { break }
            let name = member.name
            guard !name.hasPrefix("/"), !name.split(separator: "/").contains(".."), name.split(separator: "/").count <= 3 else {
                throw bad("member \(name.prefix(100)) leaves the folder")
            }
            offset += UInt64(Tar.blockSize)
            guard member.size <= total - offset else { throw bad("truncated") }
            let target = "\(into)/\(name)"
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            let out = try DurableFile(creating: target + ".restoring")
            let hasher = SHA256Hasher()
            var left = member.size
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while left > 0 {
                let n = Int(min(UInt64(buffer.count), left))
                let got = try buffer.withUnsafeMutableBytes {
                    try preadFull(source.fd, UnsafeMutableRawBufferPointer(rebasing: $0[0..<n]), offset: offset + member.size - left, path: file)
                }
                guard got == n else { throw bad("truncated") }
                try buffer.withUnsafeBytes { b in
                    let chunk = UnsafeRawBufferPointer(rebasing: b[0..<n])
                    hasher.update(chunk)
                    try out.append(chunk)
                }
                left -= UInt64(n)
            }
            try out.sync()
            out.keep()
            try renameDurably(target + ".restoring", target)
            seen[name] = hexString(hasher.finalize())
            if name == "backup.json" {
                manifest = try JSON(parsing: String(contentsOfFile: target, encoding: .utf8))
                guard manifest?["format"]?.string == format else { throw bad("unknown format") }
            }
            offset += member.size + UInt64(Tar.padding(member.size))
        }
        guard let manifest else { throw bad("no backup.json") }
        for f in manifest["files"]?.array ?? [] {
            guard let name = f["name"]?.string, let sha = f["sha256"]?.string else { throw bad("manifest damaged") }
            guard seen[name] == sha else { throw bad("\(name) is missing or altered") }
        }
        return manifest
    }

    public struct Restored: Sendable {
        public let logSize: Int64
        public let headSize: Int
        public let inPlace: Bool
    }

    /// Brings a backup back into `dir`. Into an existing gateway folder (in place): the store,
    /// gateway.json and the keys are replaced (what was there is moved to
    /// `before-restore-<time>/`), the log head — the newest checkpoint this gateway signed — is
    /// kept, so a store older than it is refused at start. Into a new folder: the head is the
    /// backup's, or `checkpoint` when it is newer (a note, a receipt or a log-head.json); unless
    /// one is given, `assumeNoLater` must say no checkpoint was signed after the backup.
    public static func restore(
        _ file: String, into dir: DataDirectory, checkpoint: String?, assumeNoLater: Bool, clock: any GatewayClock = .system
    ) async throws -> Restored {
        let fm = FileManager.default
        let inPlace = fm.fileExists(atPath: dir.configPath)
        if !inPlace && checkpoint == nil && !assumeNoLater {
            throw GatewayError(
                .usage, "a new data folder knows nothing of checkpoints signed after the backup",
                remedy:
                    "name the newest checkpoint this gateway signed (the old folder's log-head.json, a unit's receipt, an auditor's checkpoint), or say that there is none"
            )
        }
        if inPlace {
            // A running `serve` would go on with what it holds in memory: stop it first.
            let lock = open("\(dir.spoolPath)/.serve.lock", O_RDWR | O_CLOEXEC)
            if lock >= 0 {
                defer { close(lock) }
                guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
                    throw GatewayError(.dataDirectory, "a `sealgate serve` is running on \(dir.path)", remedy: "stop it first, then restore")
                }
            }
        }
        // The checkpoint given is read before anything is moved in: it may be this very folder's
        // log head, which the backup's would replace.
        let givenNote = try checkpoint.map(notePath)
        let stage = "\(dir.path).restore-\(getpid())"
        try? fm.removeItem(atPath: stage)
        try fm.createDirectory(atPath: stage, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? fm.removeItem(atPath: stage) }
        let manifest = try extract(file, into: stage)
        let logSize = manifest["log_size"]?.int ?? 0
        try fm.createDirectory(atPath: dir.path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if inPlace {
            let aside =
                "\(dir.path)/before-restore-\(clock.now.text.replacingOccurrences(of: ":", with: ""))"
            try fm.createDirectory(atPath: aside, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for name in ["gateway.sqlite", "gateway.sqlite-wal", "gateway.sqlite-shm", "gateway.json", "keys"]
            where fm.fileExists(atPath: "\(dir.path)/\(name)") {
                try fm.moveItem(atPath: "\(dir.path)/\(name)", toPath: "\(aside)/\(name)")
            }
        }
        for name in (try fm.contentsOfDirectory(atPath: stage)).sorted() where name != "backup.json" && !(inPlace && name == "log-head.json") {
            let target = "\(dir.path)/\(name)"
            if name == "datasets" {
                try fm.createDirectory(atPath: target, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                for f in try fm.contentsOfDirectory(atPath: "\(stage)/datasets") where !fm.fileExists(atPath: "\(target)/\(f)") {
                    try fm.moveItem(atPath: "\(stage)/datasets/\(f)", toPath: "\(target)/\(f)")
                }
                continue
            }
            try? fm.removeItem(atPath: target)
            // A spare left in the folder would outrank the head brought back (`LogHead.read`).
            if name == "log-head.json", unlink(target + ".spare") != 0, errno != ENOENT {
                throw SealError.io("cannot remove \(target).spare", errno: errno)
            }
            try fm.moveItem(atPath: "\(stage)/\(name)", toPath: target)
        }
        for sub in ["spool", "packages"] {
            try fm.createDirectory(atPath: "\(dir.path)/\(sub)", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        try syncFolder(dir.path)
        // The head: the newest checkpoint known, never the backup's when a newer one is.
        let head = LogHead(path: dir.logHeadPath)
        if let note = givenNote {
            let cp = try await verifyNote(note, dir: dir)
            if cp.size > (try head.read()?.size ?? -1) { try head.write(size: cp.size, root: cp.root, note: note) }
        }
        if try head.read() == nil, let note = manifest["checkpoint"]?.string {
            let cp = try await verifyNote(note, dir: dir)
            try head.write(size: cp.size, root: cp.root, note: note)
        }
        let restoredSize = (try? await dir.openStore().logSize()) ?? logSize
        return Restored(logSize: restoredSize, headSize: try head.read()?.size ?? 0, inPlace: inPlace)
    }

    /// A checkpoint note from a file: the note itself, a receipt (its `checkpoint`), or a
    /// log-head.json (its `note`; with a `.spare` beside it, the newer head of the two — after a
    /// power cut the newest may be in the spare).
    static func notePath(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw GatewayError(.usage, "cannot read the checkpoint file \(path)", remedy: "give a checkpoint note, a receipt or a log-head.json")
        }
        if let j = try? JSON(parsing: text) {
            if j["format"]?.string == "sealgate-log-head/1", let head = try? LogHead(path: path).read() { return head.note }
            if let n = j["checkpoint"]?.string ?? j["note"]?.string { return n }
        }
        return text
    }

    /// Checks a checkpoint note against the log keys the restored folder names (the current log
    /// key, and every log key its trust documents listed).
    static func verifyNote(_ note: String, dir: DataDirectory) async throws -> Checkpoint {
        let (department, _) = try dir.config()
        var keys: [[UInt8]] = []
        if let pk = try? MinisignPublicKey(path: dir.pub(.log)) { keys.append(pk.key) }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.keysPath)) ?? [] where name.hasPrefix("log") && name.hasSuffix(".pub") {
            if let pk = try? MinisignPublicKey(path: "\(dir.keysPath)/\(name)") { keys.append(pk.key) }
        }
        if let store = try? await dir.openStore() {
            for k in (try? await store.signingKeys()) ?? [] where k.role == .log {
                if let pk = try? MinisignPublicKey(base64: k.publicKey) { keys.append(pk.key) }
            }
        }
        for k in keys { if let cp = try? Checkpoint.verify(note: note, name: "\(department)/log", publicKey: k) { return cp } }
        throw GatewayError(
            .checkpointInvalid, "the checkpoint given is not signed by this gateway's log key",
            remedy: "give a checkpoint of this gateway (from its receipts or log-head.json)")
    }
}
