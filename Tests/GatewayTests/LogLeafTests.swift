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
}
