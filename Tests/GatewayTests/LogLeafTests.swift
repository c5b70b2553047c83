import Foundation
import GatewayStore
import SealCrypto
import Testing
import TransparencyLog

@testable import GatewayCore

/// A leaf that a failed transaction left in the log's tree (or that is not yet forgotten when the
/// next decision commits) never stands in the next receipt or checkpoint: the committing
/// transaction rebuilds the tree from what it read under the log-order lock.
struct LogLeafTests {
    @Test func aFailedTransactionsLeafNeverReachesACheckpoint() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-logleaf-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let store = try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite")
        let key = MinisignSecretKey.generate()
        let log = await GatewayLog(store: store, key: key, department: "HCM-DTCD")
        try await log.load()
        for i in 0..<3 { _ = try await store.appendLog(kind: .trust, body: "{\"i\":\(i)}", at: moment("2026-11-29T00:00:00Z")) }
        _ = try await log.checkpoint()
        #expect(log.committedCount == 3)

        // A transaction took leaf 3 for its decision and failed; its leaf is still in the tree
        // (the window before it is forgotten).
        _ = try log.extend(with: [LogEntry(index: 3, kind: .outcome, body: "{\"lost\":true}", createdAt: moment("2026-11-29T00:00:00Z"))], leaf: 3)

        // The next decision commits leaf 3 with other bytes.
        let sp = try await store.addSpool(sha256: "s", size: 1, path: "/x/s", receivedAt: moment("2026-11-29T00:00:00Z"))
        var proven: (proof: [Merkle.Hash], checkpoint: Checkpoint, note: String)?
        _ = try await store.commit(
            StoreConformance.decision(sp, unit: "U", seq: 1), snapshot: nil, logEntry: "{\"kept\":true}", logSince: log.committedCount
        ) { leaf, entries in
            proven = try log.extend(with: entries, leaf: leaf)
            return ReceiptBundle(receipt: "{}", signature: "s", checkpoint: nil)
        }
        log.markCommitted(through: 3)
        let committedRoot = Merkle.root(try await store.logEntries(start: 0, end: 4).map(GatewayLog.leaf))
        #expect(proven?.checkpoint.root == committedRoot, "the receipt's checkpoint is of the committed tree")

        // The checkpoint signed next is of the committed entries: a fresh load agrees with it.
        _ = try await log.checkpoint()
        let fresh = await GatewayLog(store: store, key: key, department: "HCM-DTCD")
        try await fresh.load()
        #expect(fresh.committedCount == 4)
    }

    /// Decisions committed together (SQLite's group commit: one transaction, one fsync) each get
    /// a receipt of the committed tree; one whose body fails after it extended the tree leaves
    /// no leaf behind; the group's leaves join the tree in order whichever body returns first.
    @Test func decisionsSharingAGroupCommitProveAgainstTheCommittedTree() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-logleaf-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let store = try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite")
        let driver = try #require(store.driver as? SQLiteDriver)
        let key = MinisignSecretKey.generate()
        let log = await GatewayLog(store: store, key: key, department: "HCM-DTCD")
        try await log.load()
        for i in 0..<3 { _ = try await store.appendLog(kind: .trust, body: "{\"i\":\(i)}", at: moment("2026-11-29T00:00:00Z")) }
        _ = try await log.checkpoint()
        struct Refused: Error {}
        let before = driver.groupCommits
        let proofs = try await withThrowingTaskGroup(of: (leaf: Int64, proof: [Merkle.Hash], checkpoint: Checkpoint)?.self) { group in
            for i in 0..<24 {
                group.addTask {
                    let sp = try await store.addSpool(sha256: "s\(i)", size: 1, path: "/x/\(i)", receivedAt: moment("2026-11-29T00:00:00Z"))
                    var own: (leaf: Int64, hash: Merkle.Hash)?
                    var proven: (proof: [Merkle.Hash], checkpoint: Checkpoint, note: String)?
                    do {
                        let outcome = try await store.commit(
                            StoreConformance.decision(sp, unit: "U\(i)", seq: 1), snapshot: nil, logEntry: "{\"o\":\(i)}",
                            logSince: log.committedCount
                        ) { leaf, entries in
                            proven = try log.extend(with: entries, leaf: leaf)
                            own = (leaf, GatewayLog.leaf(entries[entries.count - 1]))
                            // A receipt takes a while to make: the others queue and join the group.
                            Thread.sleep(forTimeInterval: 0.005)
                            if i % 5 == 2 { throw Refused() }
                            return ReceiptBundle(receipt: "{}", signature: "s", checkpoint: nil)
                        }
                        log.markCommitted(through: outcome.leaf)
                        let p = try #require(proven)
                        return (outcome.leaf, p.proof, p.checkpoint)
                    } catch is Refused {
                        if let own { log.forget(from: own.leaf, hash: own.hash) }
                        return nil
                    }
                }
            }
            var all: [(leaf: Int64, proof: [Merkle.Hash], checkpoint: Checkpoint)] = []
            for try await r in group { if let r { all.append(r) } }
            return all
        }
        #expect(proofs.count == 24 - 5, "every body but the five refused committed")
        let committed = try await store.logSize()
        #expect(committed == 3 + 19 && log.committedCount == committed, "the tree holds every committed leaf, and only those")
        let leaves = try await store.logEntries(start: 0, end: committed).map(GatewayLog.leaf)
        for p in proofs {
            let size = Int(p.leaf) + 1
            #expect(
                p.checkpoint.size == size && p.checkpoint.root == Merkle.root(leaves[..<size]), "leaf \(p.leaf): a checkpoint of the committed tree")
            #expect(
                Merkle.verifyInclusion(index: Int(p.leaf), size: size, leaf: leaves[Int(p.leaf)], proof: p.proof, root: p.checkpoint.root),
                "leaf \(p.leaf): its proof")
        }
        let after = driver.groupCommits
        #expect(after.bodies - before.bodies == 24 + 19, "24 spool entries and 19 decisions committed")
        #expect(after.groups - before.groups < after.bodies - before.bodies, "some bodies shared a commit")
        // The next checkpoint is of the committed entries; a fresh load agrees.
        _ = try await log.checkpoint()
        let fresh = await GatewayLog(store: store, key: key, department: "HCM-DTCD")
        try await fresh.load()
        #expect(fresh.committedCount == committed)
    }

    /// A decision committed whose task has not yet marked its leaf committed, then an entry
    /// appended outside any group (the forwarder, a revocation, another process): the next
    /// decision takes both in as committed, and its receipt is of the committed tree.
    @Test func anEntryAppendedAfterAnUnmarkedCommittedLeafIsTakenIn() async throws {
        let dir = NSTemporaryDirectory() + "sealgate-logleaf-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let store = try await SQLGatewayStore.sqlite(path: "\(dir)/g.sqlite")
        let log = await GatewayLog(store: store, key: MinisignSecretKey.generate(), department: "HCM-DTCD")
        try await log.load()
        let at = moment("2026-11-29T00:00:00Z")
        func decide(_ i: Int) async throws -> (Outcome, Checkpoint?) {
            let sp = try await store.addSpool(sha256: "s\(i)", size: 1, path: "/x/\(i)", receivedAt: at)
            var checkpoint: Checkpoint?
            let o = try await store.commit(
                StoreConformance.decision(sp, unit: "U\(i)", seq: 1), snapshot: nil, logEntry: "{\"o\":\(i)}", logSince: log.committedCount
            ) { leaf, entries in
                checkpoint = try log.extend(with: entries, leaf: leaf).checkpoint
                return ReceiptBundle(receipt: "{}", signature: "s", checkpoint: nil)
            }
            return (o, checkpoint)
        }
        let (a, _) = try await decide(1)  // committed; not yet marked (its leaf is still tentative)
        _ = try await store.appendLog(kind: .trust, body: "{\"forwarded\":1}", at: at)
        let (b, checkpoint) = try await decide(2)
        log.markCommitted(through: a.leaf)
        log.markCommitted(through: b.leaf)
        #expect(log.committedCount == 3)
        let leaves = try await store.logEntries(start: 0, end: 3).map(GatewayLog.leaf)
        #expect(checkpoint?.root == Merkle.root(leaves), "the receipt's checkpoint is of the committed tree")
    }
}
