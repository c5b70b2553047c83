import Foundation
public import GatewayStore
public import SealBase
public import SealCrypto
import SealPackage
import Synchronization
import SystemIO
public import TransparencyLog

/// The gateway's transparency log over the store's append-only entries: tree heads, proofs,
/// signed checkpoints, and the tree as C2SP tiles. A new checkpoint is signed only if the entries
/// still agree with the last one signed: an edited row makes the gateway refuse to extend its log
/// rather than sign over it.
///
/// Memory does not grow with the log: the tree (`TiledTree`) holds only the partial tile of each
/// level; a full tile is written to the store's `log_tiles` once complete (a bounded number are
/// cached) and read back when a proof reaches into it. Tiles are derived data: `load` re-derives
/// them from the entries page by page, checks those stored and writes those missing.
///
/// The tree and the keys are held in a `Mutex` (taken briefly, never across a store call); the
/// store's reads run outside it. The tree holds the leaves known committed; a decision's own leaf
/// is kept aside (`tentative`) until its transaction commits — several, when decisions share a
/// transaction (SQLite's group commit) — so a leaf a failed transaction left can never stand in
/// a receipt or a checkpoint. `serial` puts loads and checkpoints one
/// after the other.
public final class GatewayLog: Sendable {
    private struct State {
        /// The log key in use (replaced by `rekey` after a rotation).
        var key: any MinisignSigner
        /// Public keys whose signatures on stored checkpoints are still taken as the log's own:
        /// the log keys rotated out (a checkpoint signed just before a rotation stays the latest).
        var formerKeys: [[UInt8]]
        /// The committed log as this process knows it.
        var tree = TiledTree()
        /// Leaves of decisions whose transaction has not yet committed, by index.
        var tentative: [Int64: Merkle.Hash] = [:]
        /// Full tiles completed and not yet written to the store.
        var unsaved: [TlogTile.ID: TiledTree.FullTile] = [:]
        /// Full tiles read back (or completed), as small trees, at most `cacheLimit`.
        var cache: [TlogTile.ID: MerkleCache] = [:]
        /// Where the latest checkpoint this gateway signed is kept outside the store.
        var head: LogHead?

        mutating func take(_ tiles: [TiledTree.FullTile]) {
            for t in tiles { unsaved[t.id] = t }
        }

        mutating func remember(_ id: TlogTile.ID, _ tile: MerkleCache) {
            if cache.count >= GatewayLog.cacheLimit, let any = cache.keys.first { cache.removeValue(forKey: any) }
            cache[id] = tile
        }
    }
    /// Full tiles kept in memory for proofs (about 40 KiB each; every tile above level 0 of a
    /// log of 16 M entries).
    static let cacheLimit = 256
    let store: any GatewayStore
    public let origin: String
    private let state: Mutex<State>
    private let serial = AsyncMutex()
    /// Held while entries are read from the store to catch up.
    private let catching = AsyncMutex()

    /// Where the latest checkpoint this gateway signed is kept outside the store (the data
    /// folder's log-head.json): a store restored from an older copy is found behind it.
    public var head: LogHead? {
        get { state.withLock { $0.head } }
        set { state.withLock { $0.head = newValue } }
    }

    public init(store: any GatewayStore, key: any MinisignSigner, department: String) async {
        self.store = store
        self.origin = "\(department)/log"
        self.state = Mutex(State(key: key, formerKeys: await Self.formerLogKeys(store)))
    }

    static func formerLogKeys(_ store: any GatewayStore) async -> [[UInt8]] {
        ((try? await store.signingKeys()) ?? []).filter { $0.role == .log }.compactMap { try? MinisignPublicKey(base64: $0.publicKey).key }
    }

    /// After a log key rotation: signs with `key` from now on; checkpoints signed by the keys
    /// rotated out stay acceptable as the log's latest.
    public func rekey(_ key: any MinisignSigner) async {
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

    /// Entries read at a time while loading (a multiple of a tile).
    static let loadPage: Int64 = 4_096

    /// Derives the tree from every entry, page by page (memory bounded by a page): each full tile
    /// it completes must equal the one stored (else an entry or a tile was altered:
    /// `log_inconsistent`), and is written when missing.
    private func loadTree(checkingHead: Bool) async throws {
        var t = TiledTree()
        let size = try await store.logSize()
        var start: Int64 = 0
        while start < size {
            let end = min(size, start + Self.loadPage)
            let page = try await store.logEntries(start: start, end: end)
            guard page.count == Int(end - start) else {
                throw GatewayError(
                    .logInconsistent, "the store served \(page.count) of the log's entries \(start) to \(end - 1): entries are missing",
                    remedy: "do not run on this store: restore it from backup")
            }
            var expected = t.size
            for e in page {
                guard e.index == expected else {
                    throw GatewayError(.logInconsistent, "log entries out of order at \(expected)", remedy: "report this as a bug")
                }
                expected += 1
            }
            let hasher = Merkle.Hasher()
            let completed = t.append(contentsOf: page.map { hasher.leaf(Array($0.body.utf8)) })
            try await checkAndStore(completed)
            start += Int64(page.count)
        }
        // Tiles past the log (a store restored under a process that kept writing) are not the log's.
        var counts: [Int64] = []
        while counts.count * TlogTile.height < 63, t.size >> Int64(counts.count * TlogTile.height) >= Int64(TlogTile.width) {
            counts.append((t.size >> Int64(counts.count * TlogTile.height)) >> Int64(TlogTile.height))
        }
        try await store.pruneLogTiles(counts: counts)
        state.withLock {
            $0.tree = t
            $0.tentative = [:]
            $0.unsaved = [:]
            $0.cache = [:]
        }
        if let latest = try await store.latestCheckpoint() {
            let signed = try verifyStored(latest.note)
            guard latest.size <= t.size, try await root(size: latest.size) == signed.root else { throw Self.altered(latest.size) }
        }
        if checkingHead, let head, let known = try head.read() {
            // The gateway must never sign two different trees of one size (a split view).
            guard known.size <= t.size else {
                throw GatewayError(
                    .logBehind,
                    "the store's log holds \(t.size) entries, but this gateway already signed a checkpoint of \(known.size) (\(head.path)): the store was restored from an older copy, and going on would fork the log",
                    remedy:
                        "restore a newer copy of the store that holds those entries; or, if they are lost for good, declare the fork (a signed statement in the log)"
                )
            }
            guard try await root(size: Int64(known.size)) == known.root else {
                throw GatewayError(
                    .logFork,
                    "the store's first \(known.size) log entries differ from the checkpoint this gateway signed at that size (\(head.path))",
                    remedy:
                        "do not run on this store: restore the copy that matches; or declare the fork (a signed statement in the log)"
                )
            }
        }
    }

    /// Tiles derived from the entries: each must equal the one stored; the missing are written.
    private func checkAndStore(_ tiles: [TiledTree.FullTile]) async throws {
        guard !tiles.isEmpty else { return }
        let stored = try await store.logTiles(tiles.map { ($0.id.level, $0.id.index) })
        var missing: [(level: Int, index: Int64, hashes: [UInt8])] = []
        for t in tiles {
            let bytes = t.bytes
            if let s = stored[LogTileKey(level: t.id.level, index: t.id.index)] {
                guard s == bytes else {
                    let leaves = Int64(TlogTile.width) << Int64(TlogTile.height * t.id.level)
                    throw GatewayError(
                        .logInconsistent,
                        "log entries \(t.id.index * leaves) to \((t.id.index + 1) * leaves - 1) no longer match the log's stored \(t.id): an entry or a tile was altered",
                        remedy: Self.tileRemedy)
                }
            } else {
                missing.append((t.id.level, t.id.index, bytes))
            }
        }
        try await store.addLogTiles(missing)
    }

    /// Writes the full tiles completed since the last write (kept for the next try on failure).
    public func saveTiles() async throws {
        let pending = state.withLock { Array($0.unsaved.values) }
        guard !pending.isEmpty else { return }
        // A row already there (another process wrote it) must be this very tile.
        let stored = try await store.logTiles(pending.map { ($0.id.level, $0.id.index) })
        for t in pending {
            if let bytes = stored[LogTileKey(level: t.id.level, index: t.id.index)], bytes != t.bytes {
                throw GatewayError(.logInconsistent, "the store holds another \(t.id) than the log's entries make", remedy: Self.tileRemedy)
            }
        }
        try await store.addLogTiles(pending.map { ($0.id.level, $0.id.index, $0.bytes) })
        state.withLock { s in
            for t in pending {
                s.unsaved.removeValue(forKey: t.id)
                s.remember(t.id, MerkleCache(leaves: t.hashes))
            }
        }
    }

    /// Appends `entries` to the log in one transaction (a batch: the bench, an import of many
    /// statements) and takes them in without reading them back; returns the first one's index.
    @discardableResult
    public func append(_ entries: [(kind: LogKind, body: String)], at: Timestamp) async throws -> Int64 {
        try await serial.withLock {
            let hasher = Merkle.Hasher()
            let leaves = entries.map { hasher.leaf(Array($0.body.utf8)) }
            let first = try await store.appendLog(entries, at: at)
            try await catchUp(to: first)
            try state.withLock { s in
                // A catch-up meanwhile (a proof asked for) may have read some of them from the store.
                guard s.tree.size >= first, s.tree.size <= first + Int64(leaves.count) else {
                    throw GatewayError(.logInconsistent, "log of \(s.tree.size) entries, expected \(first)", remedy: "report this as a bug")
                }
                s.take(s.tree.append(contentsOf: Array(leaves.dropFirst(Int(s.tree.size - first)))))
            }
            try await saveTiles()
            return first
        }
    }

    static let tileRemedy =
        "if the entries still match the last signed checkpoint and only the log_tiles table was altered, stop the gateway, delete that table's rows (tiles are derived from the entries) and start it again: it writes them anew; otherwise restore the store from backup"

    /// Full tiles by id: each made by this process (cache, unsaved) or read from the store and
    /// checked — its 256 hashes must hash to the node of the level above, which the tree holds or
    /// a stored tile checked the same way holds (so its ancestors are read too). A stored tile
    /// that fails is `log_inconsistent`. A tile the store lacks is left out.
    private func checkedTiles(_ ids: Set<TlogTile.ID>) async throws -> [TlogTile.ID: MerkleCache] {
        guard !ids.isEmpty else { return [:] }
        let (tree, want, known) = state.withLock { s -> (TiledTree, Set<TlogTile.ID>, [TlogTile.ID: MerkleCache]) in
            var want = Set<TlogTile.ID>()
            for id in ids {
                var p = id
                while !s.tree.holds(p), want.insert(p).inserted, (p.level + 1) * TlogTile.height < 63 {
                    p = TlogTile.ID(level: p.level + 1, index: p.index >> Int64(TlogTile.height))
                }
            }
            var known: [TlogTile.ID: MerkleCache] = [:]
            for id in want {
                if let c = s.cache[id] {
                    known[id] = c
                } else if let u = s.unsaved[id] {
                    known[id] = MerkleCache(leaves: u.hashes)
                }
            }
            return (s.tree, want, known)
        }
        var tiles = known
        let absent = want.filter { known[$0] == nil }
        guard !absent.isEmpty else { return tiles }
        let read = try await store.logTiles(absent.map { ($0.level, $0.index) })
        // From the top down: a tile is checked against its parent, itself checked first.
        for id in absent.sorted(by: { $0.level > $1.level }) {
            guard let bytes = read[LogTileKey(level: id.level, index: id.index)], let full = TiledTree.FullTile(id: id, bytes: bytes),
                let expected = tree.expectedRoot(of: id, parents: tiles)
            else { continue }
            let made = MerkleCache(leaves: full.hashes)
            guard made.root(size: TlogTile.width) == expected else {
                throw GatewayError(
                    .logInconsistent, "the store's \(id) is not the log's (its hashes do not make the tree's node above)", remedy: Self.tileRemedy)
            }
            tiles[id] = made
        }
        state.withLock { s in
            for id in absent { if let t = tiles[id] { s.remember(id, t) } }
        }
        return tiles
    }

    /// Answers `q` over the committed tree, reading the full tiles it needs (from memory, else
    /// the store, checked). Throws `log_inconsistent` if the store lacks one.
    func answer(_ q: TiledTree.Question) async throws -> [Merkle.Hash] {
        for _ in 0..<3 {
            let needed = state.withLock { $0.tree.tilesNeeded(q) }
            let tiles = try await checkedTiles(needed)
            let result: [Merkle.Hash]? = try state.withLock { s in
                // A tile missing here: the tree grew meanwhile (a partial tile became full), ask again.
                do {
                    return try s.tree.answer(q) { id in tiles[id] ?? s.cache[id] ?? s.unsaved[id].map { MerkleCache(leaves: $0.hashes) } }
                } catch is TiledTree.MissingTile { return nil }
            }
            if let result { return result }
        }
        throw GatewayError(
            .logInconsistent, "the store lacks a tile of the log's tree", remedy: "restart the gateway: loading the log writes the tiles again")
    }

    /// The root of the tree of the first `size` committed leaves.
    public func root(size: Int64) async throws -> Merkle.Hash {
        try await answer(.root(size: size))[0]
    }

    /// Keeps `note` (a checkpoint just signed, of `size` entries) as the log head, when it is
    /// newer than the one kept. Called after the store committed it, before anyone is told:
    /// returns once a head of at least `size` is durable, one write (on `pool`) serving the
    /// decisions committed meanwhile (`LogHead.advanceGrouped`).
    func recordHead(size: Int, note: String, root: Merkle.Hash, on pool: BlockingPool) async throws {
        guard let head = state.withLock({ $0.head }) else { return }
        try await head.advanceGrouped(size: size, note: note, root: root, on: pool)
    }

    /// Before a decision already stored is answered again (a replay, a receipt read back): a log
    /// head that covers the checkpoint its receipt carries is durable. The first answer may not
    /// have left yet (its head write still under way) or its head write may have failed after
    /// the commit; the gateway's word is kept before it is given, every time. Cheap when the head
    /// is past it already (no I/O).
    public func headCovers(_ o: Outcome, on pool: BlockingPool) async throws {
        guard let head = state.withLock({ $0.head }) else { return }
        let size = Int(o.leaf) + 1
        if head.knownSize >= size { return }
        guard let receipt = try? JSON(parsing: o.receipt), let note = receipt["checkpoint"]?.string else {
            throw GatewayError(.logInconsistent, "the stored receipt of leaf \(o.leaf) carries no checkpoint", remedy: "report this as a bug")
        }
        let signed = try verifyStored(note)
        if committedCount < Int64(size) { try await catchUp(to: Int64(size)) }
        guard signed.size == size, committedCount >= Int64(size), try await root(size: Int64(size)) == signed.root else {
            throw Self.altered(Int64(size))
        }
        try await head.advanceGrouped(size: size, note: note, root: signed.root, on: pool)
    }

    /// How many leaves are known committed: where a transaction reads the log from.
    public var committedCount: Int64 { state.withLock { $0.tree.size } }

    /// Appends committed `entries` (in order, from anywhere up to the tree's end) past the
    /// tree's end; an entry the tree already holds in its partial tile must hash alike. Call
    /// with the state locked.
    private static func takeIn(_ s: inout State, _ entries: [LogEntry]) throws {
        for e in entries {
            if e.index < s.tree.size {
                if let known = s.tree.recentLeaf(e.index), known != leaf(e) {
                    throw GatewayError(.logInconsistent, "log entry \(e.index) changed while the gateway ran", remedy: "report this as a bug")
                }
                continue
            }
            guard e.index == s.tree.size else {
                throw GatewayError(.logInconsistent, "log entries out of order", remedy: "report this as a bug")
            }
            s.take(s.tree.append(leaf(e)))
            s.tentative.removeValue(forKey: e.index)
        }
    }

    /// Takes in entries others appended (another process, a CLI command) up to `size`: reads
    /// only those past the committed leaves, a page at a time, outside the tree's lock.
    private func catchUp(to size: Int64) async throws {
        // One at a time: requests that find the process behind wait for one reading of the gap.
        try await catching.withLock { try await catchUpAlone(to: size) }
    }

    private func catchUpAlone(to size: Int64) async throws {
        var from = committedCount
        while size > from {
            let end = min(size, from + Self.loadPage)
            let entries = try await store.logEntries(start: from, end: end)
            guard entries.count == Int(end - from) else {
                throw GatewayError(
                    .logInconsistent, "the store served \(entries.count) of \(end - from) log entries", remedy: "check the store; retry")
            }
            try state.withLock { s in try Self.takeIn(&s, entries) }
            from = max(end, committedCount)
        }
        try await saveTiles()
    }

    /// Inside a commit: takes in the entries appended since (the new decision last), and returns
    /// the decision's inclusion proof and a signed checkpoint of the tree that ends with it.
    /// `entries` were read inside the transaction, under the log-order lock, from
    /// `committedCount` as it was when the commit began. Those just before its own that this
    /// process extended with (tentative leaves, by their hashes) may be of decisions sharing this
    /// transaction (a group commit, not yet committed): they are left tentative. Every entry
    /// before them is committed — by this process (a decision whose task has not yet marked it),
    /// another writer, or another process — and is taken in.
    func extend(with entries: [LogEntry], leaf: Int64) throws -> (proof: [Merkle.Hash], checkpoint: Checkpoint, note: String) {
        try state.withLock { s in
            guard let from = entries.first?.index, from <= s.tree.size, let own = entries.last, own.index == leaf else {
                throw GatewayError(.logInconsistent, "the transaction read no log entries from \(s.tree.size)", remedy: "report this as a bug")
            }
            let before = Array(entries.dropLast())
            let hashes = before.map(Self.leaf)
            // The longest run of tentative leaves that ends just before its own: maybe its group.
            var group = before.count
            while group > 0, before[group - 1].index >= s.tree.size, s.tentative[before[group - 1].index] == hashes[group - 1] { group -= 1 }
            try Self.takeIn(&s, Array(before[..<group]))
            var t = s.tree
            for i in group..<before.count {
                guard before[i].index == t.size else {
                    throw GatewayError(.logInconsistent, "log entries out of order", remedy: "report this as a bug")
                }
                _ = t.append(hashes[i])
            }
            guard t.size == leaf else {
                throw GatewayError(.logInconsistent, "log of \(t.size) entries, expected \(leaf)", remedy: "report this as a bug")
            }
            let hash = Self.leaf(own)
            s.tentative[leaf] = hash
            _ = t.append(hash)
            let cp = Checkpoint(origin: origin, size: Int(t.size), root: try t.root())
            return (try t.newestLeafProof(), cp, try cp.signed(name: origin, key: s.key))
        }
    }

    /// After a failed commit: forget the leaf the transaction had extended the tree with (and
    /// the group's leaves after it), unless a later transaction reused its place meanwhile.
    func forget(from leaf: Int64, hash: Merkle.Hash) {
        state.withLock { s in
            guard s.tentative[leaf] == hash else { return }
            s.tentative = s.tentative.filter { $0.key < leaf }
        }
    }

    /// After a commit: the decision's leaf is committed, and with it the leaves before it of
    /// its group (taken in unless the tree did already).
    func markCommitted(through leaf: Int64) {
        state.withLock { s in
            while s.tree.size <= leaf, let h = s.tentative[s.tree.size] { s.take(s.tree.append(h)) }
            s.tentative = s.tentative.filter { $0.key > leaf }
        }
    }

    public static func leaf(_ e: LogEntry) -> Merkle.Hash { Merkle.leafHash(Array(e.body.utf8)) }

    /// The latest checkpoint, signing a new one when the log grew since. The new tree must
    /// extend the last one signed (its root at that size is the signed root), else it throws
    /// `log_inconsistent`. `cosigners` also sign a new one (a log key rotation: the old and the
    /// new key both sign the checkpoint that covers the rotation, so a verifier holding either
    /// can follow). Reads only the entries appended since this process last looked.
    public func checkpoint(cosigners: [any MinisignSigner] = []) async throws -> String {
        try await serial.withLock {
            let size = try await store.logSize()
            let latest = try await store.latestCheckpoint()
            if let latest, latest.size == size, cosigners.isEmpty { return latest.note }
            try await catchUp(to: size)
            if let latest {
                let signed = try verifyStored(latest.note)
                guard latest.size <= committedCount, try await root(size: latest.size) == signed.root else { throw Self.altered(latest.size) }
            }
            let root = try await self.root(size: size)
            let (key, head) = state.withLock { ($0.key, $0.head) }
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
            let count = committedCount
            guard latest.size <= count, try await root(size: latest.size) == signed.root else { throw Self.altered(latest.size) }
            if let head = self.head, let known = try head.read() {
                guard known.size <= count else {
                    throw GatewayError(
                        .logBehind, "the store's log is behind the checkpoint of \(known.size) this gateway signed",
                        remedy: "restore a newer copy of the store")
                }
                guard try await root(size: Int64(known.size)) == known.root else {
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
        let logSize = size <= committedCount ? committedCount : try await store.logSize()
        guard leaf >= 0, leaf < size, size <= logSize else {
            throw GatewayError(.badParameter, "no leaf \(leaf) in a tree of \(size)", remedy: "ask for 0 ≤ leaf < size ≤ the log size (\(logSize))")
        }
        try await catchUp(to: size)
        return try await answer(.inclusion(leaf: leaf, size: size))
    }

    /// The proof that the tree of `to` entries extends the tree of `from`. Throws
    /// `bad_parameter` unless 1 ≤ from ≤ to ≤ the log's size.
    public func consistencyProof(from: Int64, to: Int64) async throws -> [Merkle.Hash] {
        let logSize = to <= committedCount ? committedCount : try await store.logSize()
        guard from >= 1, from <= to, to <= logSize else {
            throw GatewayError(
                .badParameter, "no consistency proof from \(from) to \(to)", remedy: "ask for 1 ≤ from ≤ to ≤ the log size (\(logSize))")
        }
        try await catchUp(to: to)
        return try await answer(.consistency(from: from, size: to))
    }

    /// A tile of the tree as C2SP tlog-tiles serves it (`width` < 256: a partial tile), or nil
    /// when no signed checkpoint covers it yet. A tile read from the store is checked first.
    public func tile(level: Int, index: Int64, width: Int) async throws -> [UInt8]? {
        guard level >= 0, level <= TlogTile.maxLevel, TlogTile.height * level < 63, index >= 0, width >= 1, width <= TlogTile.width
        else { return nil }
        let perLeaf = Int64(TlogTile.height * level)
        let (start, o) = index.multipliedReportingOverflow(by: Int64(TlogTile.width))
        guard !o, start <= (Int64.max >> perLeaf) - Int64(width) else { return nil }
        guard try await signed(covers: (start + Int64(width)) << perLeaf) else { return nil }
        let id = TlogTile.ID(level: level, index: index)
        let held: [Merkle.Hash]? = state.withLock { s in
            if let h = s.tree.heldTile(id) { return h }
            if let u = s.unsaved[id] { return u.hashes }
            return s.cache[id].map { c in (0..<c.count).map { c.leaf($0) } }
        }
        if let held, held.count >= width { return Array(held.prefix(width).joined()) }
        guard let checked = try await checkedTiles([id])[id] else {
            throw GatewayError(
                .logInconsistent, "the store lacks \(id) of the log's tree", remedy: "restart the gateway: loading the log writes the tiles again")
        }
        return Array((0..<width).map { checked.leaf($0) }.joined())
    }

    /// Whether the latest signed checkpoint covers the first `leaves` entries; the tree caught up
    /// to it then. Tiles and bundles are served only that far: the bytes at a path never change
    /// once a checkpoint covers them (tlog-tiles: partial tiles exist for checkpointed sizes).
    private func signed(covers leaves: Int64) async throws -> Bool {
        guard leaves > 0, let size = try await store.latestCheckpoint()?.size, size >= leaves else { return false }
        if committedCount < size { try await catchUp(to: size) }
        return committedCount >= size
    }

    /// The entry bundle `index` (its first `width` entries), or nil when the log does not hold them.
    public func entryBundle(index: Int64, width: Int) async throws -> [UInt8]? {
        guard index >= 0, width >= 1, width <= TlogTile.width else { return nil }
        let (start, o) = index.multipliedReportingOverflow(by: Int64(TlogTile.width))
        guard !o, start <= Int64.max - Int64(width) else { return nil }
        let end = start + Int64(width)
        guard try await signed(covers: end) else { return nil }
        let entries = try await store.logEntries(start: start, end: end)
        guard entries.count == width else { return nil }
        return try TlogTile.bundle(entries.map { Array($0.body.utf8) })
    }
}

/// The latest checkpoint the gateway signed, kept in a file of the data folder (outside the
/// store, flushed, put in place in one step; after a power cut, the newer of it and its spare) —
/// what a restored or rolled-back store is compared with.
public final class LogHead: Sendable {
    public let path: String
    /// The size last written or read by this process; the mutex serializes advances within the
    /// process, the lock file across processes (readers take it shared), and the file takes
    /// its place in one step (an exchange of names, or a rename).
    private let size = Mutex(-1)
    /// The text this process last put in place as the head, with its size: while the file holds
    /// exactly these bytes, the next advance knows its size without parsing it.
    private let written = Mutex<(size: Int, text: [UInt8])?>(nil)
    /// Decisions waiting for a head that covers them, and whose turn it is to write one.
    let group = HeadGroup()

    public init(path: String) { self.path = path }

    /// The size this process last wrote or read (-1: not yet): a head at least this new is durable.
    var knownSize: Int { size.withLock { $0 } }

    public struct Known: Sendable {
        public let size: Int
        public let root: Merkle.Hash
        public let note: String
    }

    /// The head kept now: the newer of `log-head.json` and its spare (`readLocked`). Read under
    /// a shared lock of the lock file when there is one: a writer reuses the file that was the
    /// head before the last as its spare (`swapIn`), so a read without it could meet that file
    /// being rewritten.
    public func read() throws -> Known? { try sharingLock { try readLocked()?.known } }

    /// The head's bytes (`sealgate backup`'s copy), read as `read` does: the newer file's (when
    /// neither holds a head, the head's bytes as they are).
    public func bytes() throws -> [UInt8]? {
        try sharingLock {
            // Neither file a head (damaged): the head's bytes as they are, kept by the backup.
            (try? readLocked())?.bytes ?? FileManager.default.contents(atPath: path).map { [UInt8]($0) }
        }
    }

    /// `body` under a shared lock of the lock file (a folder without one never had a spare written).
    private func sharingLock<T>(_ body: () throws -> T) throws -> T {
        let fd = open(path + ".lock", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return try body() }
        defer { close(fd) }
        guard flock(fd, LOCK_SH) == 0 else { throw SealError.io("cannot lock \(path).lock", errno: errno) }
        return try body()
    }

    /// What `readLocked` found: the head, its file's bytes, and whether the spare held it.
    private struct Found {
        let known: Known
        let bytes: [UInt8]
        let inSpare: Bool
    }

    /// `read` by a caller that holds the lock (`advance`). A head is written into the spare and
    /// the two names exchanged without a flush of the folder (`swapIn`): after a power cut the
    /// newest head may be under either name, and the file that was being rewritten may be torn.
    /// So both are read and the larger valid one is the head. No file at `path`: no head (a
    /// spare alone is a first head that was never put in place, and no receipt carried it).
    /// Neither valid: damaged.
    private func readLocked() throws -> Found? {
        guard let head = FileManager.default.contents(atPath: path).map({ [UInt8]($0) }) else { return nil }
        let spare = FileManager.default.contents(atPath: path + ".spare").map { [UInt8]($0) }
        let inHead = Self.parse(head)
        if let spare, let inSpare = Self.parse(spare), inSpare.size > (inHead?.size ?? -1) {
            return Found(known: inSpare, bytes: spare, inSpare: true)
        }
        guard let inHead else {
            throw GatewayError(
                .logInconsistent, "\(path) is damaged",
                remedy: "restore it from backup, or remove it if no checkpoint was ever signed after the store's own")
        }
        return Found(known: inHead, bytes: head, inSpare: false)
    }

    /// A head's text (`sealgate-log-head/1`), or nil when it is not one. Its note must state
    /// the same size and root (a checkpoint's second and third lines): a file torn by a power
    /// cut while it was rewritten — two heads' bytes mixed, the size of one and the root or note
    /// of the other — is no head.
    private static func parse(_ bytes: [UInt8]) -> Known? {
        guard let text = String(validating: bytes, as: UTF8.self), let j = try? JSON(parsing: text), let size = j["size"]?.int,
            let rootText = j["root"]?.string, let root = Base64.decode(rootText, padded: true), root.count == 32, let note = j["note"]?.string
        else { return nil }
        let lines = note.split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false)
        guard lines.count == 4, lines[1] == String(size), lines[2] == rootText else { return nil }
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
            // The head as this process left it (the same bytes): its size is known. Otherwise
            // (another process's, a restore's, none) it is read and checked in full.
            if let w = written.withLock({ $0 }), Self.bytes(of: path, upTo: w.text.count + 1) == w.text {
                size = w.size
            } else {
                let found = try readLocked()
                if let f = found, f.inSpare { try settle(f) }
                size = found?.known.size ?? 0
            }
            guard newSize > size, let r = root() else { return }
            try Failpoints.check("log.head")
            let text = Array(Self.text(size: newSize, root: r, note: note).utf8)
            written.withLock { $0 = nil }
            try swapIn(text)
            written.withLock { $0 = (newSize, text) }
            size = newSize
        }
    }

    /// The first `limit` bytes of the file at `path` (nil when it cannot be read).
    private static func bytes(of path: String, upTo limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: limit)
        guard let n = try? out.withUnsafeMutableBytes({ try SystemIO.readFull(fd, into: $0) }) else { return nil }
        return Array(out.prefix(n))
    }

    /// Replaces the head (a declared fork, a restore). The spare is removed first (a newer head
    /// in it would outrank the one written here).
    public func write(size newSize: Int, root: Merkle.Hash, note: String) throws {
        try size.withLock { (size: inout Int) throws -> Void in
            let fd = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw SealError.io("cannot open \(path).lock", errno: errno) }
            defer { close(fd) }
            guard flock(fd, LOCK_EX) == 0 else { throw SealError.io("cannot lock \(path).lock", errno: errno) }
            written.withLock { $0 = nil }
            // A newest head in the spare is put in place first: were the spare removed before the
            // new head is, a power cut in between would leave only the older file.
            if let f = try? readLocked(), f.inSpare { try settle(f) }
            if unlink(path + ".spare") == 0 {
                try syncFolder(splitPath(path).dir)
            } else if errno != ENOENT {
                throw SealError.io("cannot remove \(path).spare", errno: errno)
            }
            try writeFile(size: newSize, root: root, note: note)
            size = newSize
        }
    }

    /// A newest head found in the spare (a power cut before the folder kept an exchange, or a
    /// writer that stopped between its write and its flush — then its bytes may never have
    /// reached the disk): written again and flushed, then put back under the head's name with
    /// the folder flushed, so that the spare is never the only place of the newest head when it
    /// is rewritten or removed. Under the lock file.
    private func settle(_ found: Found) throws {
        try Self.rewrite(path + ".spare", found.bytes)
        try swapDurably(path + ".spare", path)
    }

    /// `bytes` written over the file at `path` from its start, cut to their length and flushed.
    private static func rewrite(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw SealError.io("cannot open \(path)", errno: errno) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { try writeAll(fd, $0, what: path) }
        guard ftruncate(fd, off_t(bytes.count)) == 0, fdatasync(fd) == 0 else { throw SealError.io("cannot write \(path)", errno: errno) }
    }

    private static func text(size: Int, root: Merkle.Hash, note: String) -> String {
        JSON.object([
            "format": .string("sealgate-log-head/1"), "size": .int(Int64(size)), "root": .string(Base64.encode(root)),
            "note": .string(note),
        ]).canonical + "\n"
    }

    /// The head's next version, written (under the lock file) into `log-head.json.spare` in place
    /// and flushed (`fdatasync`), then swapped with the head in one step (`SystemIO.exchange`):
    /// the old head becomes the next spare. No file is made or removed per write — on ext4,
    /// making a file costs in proportion to the files removed lately, and the intake writes a
    /// head for nearly every group of decisions. The folder is not flushed after the exchange:
    /// both files' bytes are, and a reader takes the newer of the two (`readLocked`), so a power
    /// cut that loses the exchange loses no head. A spare just made is flushed with its folder
    /// (its name would not survive otherwise). Where the file system cannot exchange (or there
    /// is no head yet) the spare is renamed over the head, and the folder flushed.
    private func swapIn(_ text: [UInt8]) throws {
        let spare = path + ".spare"
        // Rewritten in place, not truncated: the file keeps its blocks, and when its length is
        // the same (nearly always: a head's text grows by a digit now and then) the flush writes
        // the data alone (`fdatasync`; a length that changed is flushed with it).
        var made = false
        var fd = open(spare, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 && (errno == ENOENT || errno == ELOOP) {
            // None yet; or the head was a symbolic link (an operator's), swapped out last time:
            // a file again.
            if errno == ELOOP { unlink(spare) }
            fd = open(spare, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
            made = true
        }
        guard fd >= 0 else { throw SealError.io("cannot open \(spare)", errno: errno) }
        do {
            defer { close(fd) }
            try text.withUnsafeBytes { try writeAll(fd, $0, what: spare) }
            guard ftruncate(fd, off_t(text.count)) == 0 else { throw SealError.io("cannot write \(spare)", errno: errno) }
            guard fdatasync(fd) == 0 else { throw SealError.io("cannot sync \(spare)", errno: errno) }
        }
        if made { try swapDurably(spare, path) } else { try swap(spare, path) }
    }

    private func writeFile(size newSize: Int, root: Merkle.Hash, note: String) throws {
        let text = Self.text(size: newSize, root: root, note: note)
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
