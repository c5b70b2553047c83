import Foundation
public import GatewayStore
import SealCrypto
import SealPackage

#if canImport(Glibc)
    import Glibc
#endif

/// What a start found in the spool.
public struct Recovery: Sendable {
    /// Bodies admitted (received whole, fsynced, verified, recorded) but not decided: decided now.
    public var decided: [IntakeResult] = []
    /// Bodies cut off mid-upload (`.incoming-*`): never acknowledged, removed.
    public var removed = 0
    /// Whole bodies the store does not know (moved, restored or crashed before their record):
    /// never decided by a start — set aside in `spool/orphans/` for the operator.
    public var setAside = 0
    /// Bodies that met a fault of ours: they stay pending for the next start.
    public var pending = 0
    /// Bodies whose decision stopped the process on `IntakeRecovery.maxAttempts` starts in a row
    /// (a defect of ours that a package reaches): set aside in `spool/held/`, forgotten (never
    /// acknowledged: the unit may send it again), so that the gateway starts again.
    public var held: [String] = []
}

/// Recovery after a crash or stop: the spool's leftovers sorted out and the bodies admitted but
/// not decided decided now, before the server takes new ones.
public struct IntakeRecovery: Sendable {
    let data: DataDirectory
    let store: any GatewayStore
    let decision: IntakeDecision

    /// Decides every body admitted but not decided before a crash or stop — only this process's
    /// spool, only bodies recorded as pending. What is decided is known by the store, not by the
    /// folder: a moved or restored data folder decides nothing twice.
    @discardableResult
    public func recover() async throws -> Recovery {
        let spool = data.spoolPath
        let mine = try await store.pendingSpool().filter {
            let p = data.resolve(spoolPath: $0.path)
            return p.hasPrefix(spool + "/") && !p.dropFirst(spool.count + 1).contains("/")
        }
        let known = Set(try await store.spoolPaths().map { data.resolve(spoolPath: $0) })
        var r = Recovery()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? [] {
            let path = "\(spool)/\(name)"
            if name.hasPrefix(".incoming-") {
                if unlink(path) == 0 { r.removed += 1 }
            } else if name.hasPrefix(".memory-") {
                unlink(path)  // a copy of a small body an earlier version read through a file (no memfd)
            } else if name.hasSuffix(".sgp") && !known.contains(path) {
                try FileManager.default.createDirectory(
                    atPath: "\(spool)/orphans", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                if rename(path, "\(spool)/orphans/\(name)") == 0 { r.setAside += 1 }
            }
        }
        for entry in mine {
            let body = data.resolve(spoolPath: entry.path)
            // Its body is not here (a store restored from a copy taken while it waited): never
            // acknowledged, so forgotten — its unit sends it again. (A body in its record — a small
            // one recorded pending by the version before this one — is in the store.)
            guard entry.inStore || FileManager.default.fileExists(atPath: body) else {
                if (try? await store.removePendingSpool(id: entry.id)) == true { r.removed += 1 }
                continue
            }
            // A decision that stopped the process (a trap, not an error: nothing can catch it)
            // would stop every start after it. Each start notes its attempt beside the body first;
            // a body whose earlier attempts all ended the process is set aside instead.
            let marker = body + ".attempts"
            let attempts = Self.attempts(marker)
            if attempts >= Self.maxAttempts {
                if try await hold(entry, body: body, marker: marker, spool: spool) { r.held.append((body as NSString).lastPathComponent) }
                continue
            }
            try Self.note(attempts + 1, at: marker)
            do { await r.decided.append(try decision.process(spoolId: entry.id)) } catch { r.pending += 1 }
            unlink(marker)
        }
        return r
    }

    /// Starts whose decision of one body may end the process before the body is set aside.
    public static let maxAttempts = 2

    static func attempts(_ marker: String) -> Int {
        guard let text = try? String(contentsOfFile: marker, encoding: .utf8) else { return 0 }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? maxAttempts
    }

    /// The attempt count, written and fsynced before the decision starts (a crash must find it).
    static func note(_ n: Int, at marker: String) throws {
        let fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SealError.io("cannot write \(marker)", errno: errno) }
        defer { close(fd) }
        let text = Array("\(n)\n".utf8)
        guard text.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == text.count, fsync(fd) == 0 else {
            throw SealError.io("cannot write \(marker)", errno: errno)
        }
    }

    /// Moves the body into `spool/held/` (0700) — a body kept in the store is written there,
    /// fsynced — and forgets its pending record.
    func hold(_ entry: SpoolEntry, body: String, marker: String, spool: String) async throws -> Bool {
        let held = "\(spool)/held"
        try FileManager.default.createDirectory(atPath: held, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let target = "\(held)/\((body as NSString).lastPathComponent)"
        if entry.inStore {
            guard let bytes = try await store.spoolBody(id: entry.id) else { return false }
            // Written aside and renamed over: a start that wrote it and stopped before the record
            // went finds the same name again (a body's name is unique to it).
            let aside = "\(held)/.\((body as NSString).lastPathComponent).partial"
            unlink(aside)
            try DurableFile.write(bytes, to: aside)
            try renameDurably(aside, target)
            try Failpoints.check("intake.held")
        } else {
            guard rename(body, target) == 0 else { return false }
        }
        unlink(marker)
        _ = try await store.removePendingSpool(id: entry.id)
        return true
    }
}
