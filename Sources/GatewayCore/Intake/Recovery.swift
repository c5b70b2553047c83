import Foundation
public import GatewayStore

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
            } else if name.hasSuffix(".sgp") && !known.contains(path) {
                try FileManager.default.createDirectory(
                    atPath: "\(spool)/orphans", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                if rename(path, "\(spool)/orphans/\(name)") == 0 { r.setAside += 1 }
            }
        }
        for entry in mine {
            // Its body is not here (a store restored from a copy taken while it waited): never
            // acknowledged, so forgotten — its unit sends it again.
            guard FileManager.default.fileExists(atPath: data.resolve(spoolPath: entry.path)) else {
                if (try? await store.removePendingSpool(id: entry.id)) == true { r.removed += 1 }
                continue
            }
            do { await r.decided.append(try decision.process(spoolId: entry.id)) } catch { r.pending += 1 }
        }
        return r
    }
}
