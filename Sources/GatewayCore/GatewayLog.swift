import Foundation
public import GatewayStore
public import SealBase
public import SealCrypto
import SealPackage
import Synchronization
public import TransparencyLog

/// The gateway's transparency log over the store's append-only entries: tree heads, proofs, and
/// signed checkpoints. A new checkpoint is signed only if the entries still agree with the last
/// one signed: an edited row makes the gateway refuse to extend its log rather than sign over it.
///
/// The tree and the keys are held in a `Mutex` (taken briefly, never across a store call); the
/// store's reads run outside it. The tree's first `committed` leaves are known committed; a leaf
/// beyond is a decision's own, in flight. A transaction rebuilds the tree from `committed` on
/// with the entries it read under the log-order lock, so a leaf a failed transaction left (or
/// one not yet forgotten) can never stand in a receipt or a checkpoint. `serial` puts loads and
/// checkpoints one after the other.
public final class GatewayLog: Sendable {
    private struct State {
        /// The log key in use (replaced by `rekey` after a rotation).
        var key: MinisignSecretKey
        /// Public keys whose signatures on stored checkpoints are still taken as the log's own:
        /// the log keys rotated out (a checkpoint signed just before a rotation stays the latest).
        var formerKeys: [[UInt8]]
        /// The log as this process knows it (the tree receipts are proven in), with its interior
        /// hashes: roots and proofs never read the whole log.
        var tree = MerkleCache()
        /// How many of the tree's leaves are known committed (≤ tree.count).
        var committed = 0
        /// Where the latest checkpoint this gateway signed is kept outside the store.
        var head: LogHead?
    }
    let store: any GatewayStore
    public let origin: String
    private let state: Mutex<State>
    private let serial = AsyncMutex()

    /// Where the latest checkpoint this gateway signed is kept outside the store (the data
    /// folder's log-head.json): a store restored from an older copy is found behind it.
    public var head: LogHead? {
        get { state.withLock { $0.head } }
        set { state.withLock { $0.head = newValue } }
    }

    public init(store: any GatewayStore, key: MinisignSecretKey, department: String) async {
        self.store = store
        self.origin = "\(department)/log"
        self.state = Mutex(State(key: key, formerKeys: await Self.formerLogKeys(store)))
    }

    static func formerLogKeys(_ store: any GatewayStore) async -> [[UInt8]] {
        ((try? await store.signingKeys()) ?? []).filter { $0.role == .log }.compactMap { try? MinisignPublicKey(base64: $0.publicKey).key }
    }

    /// After a log key rotation: signs with `key` from now on; checkpoints signed by the keys
    /// rotated out stay acceptable as the log's latest.
    public func rekey(_ key: MinisignSecretKey) async {
        let former = await Self.formerLogKeys(store)
        state.withLock {
            $0.key = key
            $0.formerKeys = former
        }
    }

    /// A stored checkpoint signed by the current log key or one rotated out.
    private func verifyStored(_ note: String) throws -> Checkpoint {
        let (key, former) = state.withLock { ($0.key.publicKey.key, $0.formerKeys) }
        for k in [key] + former {
            if let cp = try? Checkpoint.verify(note: note, name: origin, publicKey: k) { return cp }
        }
        return try Checkpoint.verify(note: note, name: origin, publicKey: key)
    }

    static func altered(_ size: Int64) -> SealError {
        GatewayError(
            .logInconsistent, "the log's entries no longer match checkpoint \(size): an entry was altered",
            remedy: "do not run on this store: restore it from backup; a log verification against a kept state names the entry")
    }

    /// Loads the log (the one full read, at start) and checks it against the last checkpoint
    /// signed. Throws `log_inconsistent` when an entry was altered: the gateway refuses to work
    /// on a rewritten history.
    public func load() async throws {
        try await serial.withLock { try await loadTree(checkingHead: true) }
    }

    /// Reads the whole log into a tree without the head check (declaring a fork).
    public func loadIgnoringHead() async throws {
        try await serial.withLock { try await loadTree(checkingHead: false) }
    }

    private func loadTree(checkingHead: Bool) async throws {
        var t = MerkleCache()
        let size = try await store.logSize()
        var start: Int64 = 0
        while start < size {
            let page = try await store.logEntries(start: start, end: min(size, start + 10_000))
            guard !page.isEmpty else { break }
            for e in page { t.append(Self.leaf(e)) }
            start += Int64(page.count)
        }
        if let latest = try await store.latestCheckpoint() {
            let signed = try verifyStored(latest.note)
            guard latest.size <= Int64(t.count), t.root(size: Int(latest.size)) == signed.root else { throw Self.altered(latest.size) }
        }
        if checkingHead, let head, let known = try head.read() {
            // The gateway must never sign two different trees of one size (a split view).
            guard known.size <= t.count else {
                throw GatewayError(
                    .logBehind,
                    "the store's log holds \(t.count) entries, but this gateway already signed a checkpoint of \(known.size) (\(head.path)): the store was restored from an older copy, and going on would fork the log",
                    remedy:
                        "restore a newer copy of the store that holds those entries; or, if they are lost for good, declare the fork (a signed statement in the log)"
                )
            }
            guard t.root(size: known.size) == known.root else {
                throw GatewayError(
                    .logFork,
                    "the store's first \(known.size) log entries differ from the checkpoint this gateway signed at that size (\(head.path))",
                    remedy:
                        "do not run on this store: restore the copy that matches; or declare the fork (a signed statement in the log)"
                )
            }
        }
        state.withLock {
            $0.tree = t
            $0.committed = t.count
        }
    }

    /// Keeps `note` (a checkpoint just signed, of `size` entries) as the log head, when it is
    /// newer than the one kept. Called after the store committed it, before anyone is told.
    func recordHead(size: Int, note: String) throws {
        let (head, root) = state.withLock { s in (s.head, s.tree.count >= size ? s.tree.root(size: size) : nil) }
        guard let head else { return }
        try head.advance(size: size, note: note, root: { root })
    }

    /// How many leaves are known committed: where a transaction reads the log from.
    public var committedCount: Int64 { state.withLock { Int64($0.committed) } }

    /// Replaces the tree from `from` on with `entries` (committed, or read under the log-order
    /// lock), which must start at `from`. Call with the state locked.
    private static func rebuild(_ s: inout State, from: Int, with entries: [LogEntry]) throws {
        guard from <= s.tree.count, entries.first.map({ $0.index == Int64(from) }) ?? true else {
            throw GatewayError(.logInconsistent, "log entries out of order", remedy: "report this as a bug")
        }
        s.tree.truncate(to: from)
        for e in entries {
            guard e.index == Int64(s.tree.count) else {
                throw GatewayError(.logInconsistent, "log entries out of order", remedy: "report this as a bug")
            }
            s.tree.append(Self.leaf(e))
        }
    }

    /// Takes in entries others appended (another process, a CLI command) up to `size`: reads
    /// only those past the committed leaves, outside the tree's lock.
    private func catchUp(to size: Int64) async throws {
        let from = committedCount
        guard size > from else { return }
        let entries = try await store.logEntries(start: from, end: size)
        guard entries.count == Int(size - from) else {
            throw GatewayError(.logInconsistent, "the store served \(entries.count) of \(size - from) log entries", remedy: "check the store; retry")
        }
        try state.withLock { s in
            guard s.committed < Int(size) else { return }  // someone else took them in meanwhile
            try Self.rebuild(&s, from: Int(from), with: entries)
            s.committed = Int(size)
        }
    }

    /// Inside a commit: takes in the entries appended since (the new decision last), and returns
    /// the decision's inclusion proof and a signed checkpoint of the tree that ends with it.
    /// `entries` were read inside the transaction, under the log-order lock, from
    /// `committedCount` as it was when the commit began: they replace whatever the tree held from
    /// there (a leaf of a transaction that failed included).
    func extend(with entries: [LogEntry], leaf: Int64) throws -> (proof: [Merkle.Hash], checkpoint: Checkpoint, note: String) {
        try state.withLock { s in
            guard let from = entries.first?.index, from <= Int64(s.committed) else {
                throw GatewayError(.logInconsistent, "the transaction read no log entries from \(s.committed)", remedy: "report this as a bug")
            }
            try Self.rebuild(&s, from: Int(from), with: entries)
            s.committed = max(s.committed, Int(leaf))  // everything before the new leaf is committed
            guard Int64(s.tree.count) == leaf + 1 else {
                throw GatewayError(.logInconsistent, "log of \(s.tree.count) entries, expected \(leaf + 1)", remedy: "report this as a bug")
            }
            let cp = Checkpoint(origin: origin, size: s.tree.count, root: s.tree.root(size: s.tree.count))
            return (s.tree.inclusionProof(leaf: Int(leaf), size: s.tree.count), cp, try cp.signed(name: origin, key: s.key))
        }
    }

    /// After a failed commit: forget what the transaction had appended (leaves from `leaf` on
    /// that are not known committed).
    func forget(from leaf: Int64) {
        state.withLock { s in
            if s.tree.count > Int(leaf), s.committed <= Int(leaf) { s.tree.truncate(to: max(Int(leaf), s.committed)) }
        }
    }

    /// After a commit: the decision's leaf is committed (if the tree still holds it).
    func markCommitted(through leaf: Int64) {
        state.withLock { s in
            if s.tree.count > Int(leaf) { s.committed = max(s.committed, Int(leaf) + 1) }
        }
    }

    public static func leaf(_ e: LogEntry) -> Merkle.Hash { Merkle.leafHash(Array(e.body.utf8)) }

    /// The latest checkpoint, signing a new one when the log grew since. The new tree must
    /// extend the last one signed (its root at that size is the signed root), else it throws
    /// `log_inconsistent`. `cosigners` also sign a new one (a log key rotation: the old and the
    /// new key both sign the checkpoint that covers the rotation, so a verifier holding either
    /// can follow). Reads only the entries appended since this process last looked.
    public func checkpoint(cosigners: [MinisignSecretKey] = []) async throws -> String {
        try await serial.withLock {
            let size = try await store.logSize()
            let latest = try await store.latestCheckpoint()
            if let latest, latest.size == size, cosigners.isEmpty { return latest.note }
            try await catchUp(to: size)
            if let latest {
                let signed = try verifyStored(latest.note)
                let root = state.withLock { $0.tree.count >= Int(latest.size) ? $0.tree.root(size: Int(latest.size)) : nil }
                guard root == signed.root else { throw Self.altered(latest.size) }
            }
            let (root, key, head) = state.withLock { ($0.tree.root(size: Int(size)), $0.key, $0.head) }
            let note = try Checkpoint(origin: origin, size: Int(size), root: root).signed(name: origin, keys: [key] + cosigners)
            try await store.addCheckpoint(size: size, note: note, at: Timestamp.now)
            // The head's lock and fsync on the pool, not on the (public) request's thread.
            if let head { try await BlockingPool.shared.run { try head.advance(size: Int(size), note: note, root: { root }) } }
            return note
        }
    }

    /// The log checked from the server's own state (the dashboard's Log page): the latest stored
    /// checkpoint's signature (the log key or one rotated out) and its root against the entries
    /// (only those appended since this process last looked are read), and the tree against the
    /// head kept in the data folder. Throws `log_inconsistent`, `log_behind` or `log_fork`;
    /// returns the checkpoint checked (nil: none signed yet).
    public func selfCheck() async throws -> Checkpoint? {
        try await serial.withLock {
            guard let latest = try await store.latestCheckpoint() else { return nil }
            let signed = try verifyStored(latest.note)
            try await catchUp(to: try await store.logSize())
            let (root, head, count) = state.withLock { s in
                (s.tree.count >= Int(latest.size) ? s.tree.root(size: Int(latest.size)) : nil, s.head, s.tree.count)
            }
            guard root == signed.root else { throw Self.altered(latest.size) }
            if let head, let known = try head.read() {
                guard known.size <= count else {
                    throw GatewayError(
                        .logBehind, "the store's log is behind the checkpoint of \(known.size) this gateway signed",
                        remedy: "restore a newer copy of the store")
                }
                let kept = state.withLock { $0.tree.count >= known.size ? $0.tree.root(size: known.size) : nil }
                guard kept == known.root else {
                    throw GatewayError(
                        .logFork, "the log's first \(known.size) entries differ from the checkpoint this gateway signed at that size",
                        remedy: "do not run on this store: restore the copy that matches")
                }
            }
            return signed
        }
    }

    /// The proof that leaf `leaf` is in the tree of `size` entries. Throws `bad_parameter`
    /// unless 0 ≤ leaf < size ≤ the log's size.
    public func inclusionProof(leaf: Int64, size: Int64) async throws -> [Merkle.Hash] {
        let logSize = try await store.logSize()
        guard leaf >= 0, leaf < size, size <= logSize else {
            throw GatewayError(.badParameter, "no leaf \(leaf) in a tree of \(size)", remedy: "ask for 0 ≤ leaf < size ≤ the log size (\(logSize))")
        }
        try await catchUp(to: size)
        return state.withLock { $0.tree.inclusionProof(leaf: Int(leaf), size: Int(size)) }
    }

    /// The proof that the tree of `to` entries extends the tree of `from`. Throws
    /// `bad_parameter` unless 1 ≤ from ≤ to ≤ the log's size.
    public func consistencyProof(from: Int64, to: Int64) async throws -> [Merkle.Hash] {
        let logSize = try await store.logSize()
        guard from >= 1, from <= to, to <= logSize else {
            throw GatewayError(
                .badParameter, "no consistency proof from \(from) to \(to)", remedy: "ask for 1 ≤ from ≤ to ≤ the log size (\(logSize))")
        }
        try await catchUp(to: to)
        return state.withLock { $0.tree.consistencyProof(from: Int(from), size: Int(to)) }
    }
}

/// The latest checkpoint the gateway signed, kept in a file of the data folder (outside the
/// store, fsynced, replaced atomically) — what a restored or rolled-back store is compared with.
public final class LogHead: Sendable {
    public let path: String
    /// The size last written or read by this process; the mutex serializes advances within the
    /// process, the lock file across processes, and the file's rename is atomic.
    private let size = Mutex(-1)

    public init(path: String) { self.path = path }

    public struct Known: Sendable {
        public let size: Int
        public let root: Merkle.Hash
        public let note: String
    }

    public func read() throws -> Known? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        guard let j = try? JSON(parsing: text), let size = j["size"]?.int, let root = j["root"]?.string.flatMap({ Base64.decode($0, padded: true) }),
            root.count == 32, let note = j["note"]?.string
        else {
            throw GatewayError(
                .logInconsistent, "\(path) is damaged",
                remedy: "restore it from backup, or remove it if no checkpoint was ever signed after the store's own")
        }
        return Known(size: Int(size), root: root, note: note)
    }

    /// Keeps a newer checkpoint (never an older one over a newer: processes sharing the folder
    /// take turns under a lock file). `root` gives the tree's root at `size`.
    func advance(size newSize: Int, note: String, root: () -> Merkle.Hash?) throws {
        try size.withLock { (size: inout Int) throws -> Void in
            guard newSize > size else { return }
            let fd = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw SealError.io("cannot open \(path).lock", errno: errno) }
            defer { close(fd) }
            guard flock(fd, LOCK_EX) == 0 else { throw SealError.io("cannot lock \(path).lock", errno: errno) }
            size = (try read())?.size ?? 0
            guard newSize > size, let r = root() else { return }
            try writeFile(size: newSize, root: r, note: note)
            size = newSize
        }
    }

    /// Replaces the head (a declared fork, a restore).
    public func write(size newSize: Int, root: Merkle.Hash, note: String) throws {
        try size.withLock { (size: inout Int) throws -> Void in
            try writeFile(size: newSize, root: root, note: note)
            size = newSize
        }
    }

    private func writeFile(size newSize: Int, root: Merkle.Hash, note: String) throws {
        let text =
            JSON.object([
                "format": .string("sealgate-log-head/1"), "size": .int(Int64(newSize)), "root": .string(Base64.encode(root)),
                "note": .string(note),
            ]).canonical + "\n"
        let temp = path + ".tmp-\(getpid())"
        let file = try DurableFile(creating: temp)
        try Array(text.utf8).withUnsafeBytes { try file.append($0) }
        try file.sync()
        file.keep()
        try renameDurably(temp, path)
    }
}

/// What `sealgate log verify` keeps between runs: the last checkpoint it accepted and the leaf
/// hashes it computed, so an entry changed later can be named.
public struct LogVerifierState: Sendable {
    public var size: Int
    public var root: Merkle.Hash
    public var leaves: [Merkle.Hash]

    public init(size: Int, root: Merkle.Hash, leaves: [Merkle.Hash]) {
        self.size = size
        self.root = root
        self.leaves = leaves
    }

    public var text: String {
        JSON.object([
            "format": .string("sealgate-log-state/1"), "size": .int(Int64(size)), "root": .string(Base64.encode(root)),
            "leaves": .array(leaves.map { .string(Base64.encode($0)) }),
        ]).canonical
    }

    public init(text: String) throws {
        let j = try JSON(parsing: text)
        guard let size = j["size"]?.int, let r = j["root"]?.string.flatMap({ Base64.decode($0, padded: true) }),
            let ls = j["leaves"]?.array?.compactMap({ $0.string.flatMap { Base64.decode($0, padded: true) } }), ls.count == Int(size)
        else {
            throw GatewayError(
                .malformedDocument, "the log state file is damaged", remedy: "remove it to start over (the next run trusts the current log)")
        }
        self.init(size: Int(size), root: r, leaves: ls)
    }
}
