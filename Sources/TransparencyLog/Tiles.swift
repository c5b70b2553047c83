import SealCrypto

/// The C2SP tlog-tiles layout (c2sp.org/tlog-tiles): the tree served as tiles of 256
/// consecutive hashes, level `L` holding the hashes of the subtrees of 256^L leaves, and the
/// entries as bundles of 256 (each a big-endian uint16 length, then the entry). A tile's path is
/// `tile/<L>/<N>` with N in zero-padded 3-digit elements, all but the last prefixed `x`
/// (1234067 → `x001/x234/067`), and `.p/<W>` for a partial tile of W < 256 hashes.
public enum TlogTile {
    /// Hashes in a full tile; a tile spans 8 levels of the tree.
    public static let width = 256
    public static let height = 8
    /// The highest level a path may name (the layout's own bound).
    public static let maxLevel = 63

    /// A tile: `level` −1 stands for the entry bundles.
    public struct ID: Hashable, Sendable, CustomStringConvertible {
        public let level: Int
        public let index: Int64
        public init(level: Int, index: Int64) {
            self.level = level
            self.index = index
        }
        public var description: String { "tile \(level)/\(index)" }
    }

    /// What a tile path names.
    public enum Resource: Equatable, Sendable {
        /// Hashes of `level`, tile `index`, the first `width` of them (256: the full tile).
        case hashes(level: Int, index: Int64, width: Int)
        /// The entry bundle `index`, its first `width` entries.
        case entries(index: Int64, width: Int)
    }

    /// N as path elements: `x001/x234/067`.
    public static func encode(index: Int64) -> String {
        precondition(index >= 0)
        var groups: [Int64] = []
        var n = index
        repeat {
            groups.append(n % 1000)
            n /= 1000
        } while n > 0
        return groups.reversed().enumerated().map { i, g in
            let digits = String(g)
            return (i == groups.count - 1 ? "" : "x") + String(repeating: "0", count: 3 - digits.count) + digits
        }.joined(separator: "/")
    }

    /// The path of a resource below the log's prefix (`tile/0/x001/234.p/7`).
    public static func path(_ r: Resource) -> String {
        switch r {
        case .hashes(let level, let index, let width):
            return "tile/\(level)/\(encode(index: index))" + (width < Self.width ? ".p/\(width)" : "")
        case .entries(let index, let width):
            return "tile/entries/\(encode(index: index))" + (width < Self.width ? ".p/\(width)" : "")
        }
    }

    /// Reads a path below `tile/` (its elements, e.g. `["0", "x001", "234.p", "7"]`). Only the
    /// layout's one spelling of each resource is accepted (no leading zeroes beyond the three
    /// digits, no `x000` element, W from 1 to 255 without leading zeroes); nil otherwise.
    public static func parse(_ elements: [Substring]) -> Resource? {
        guard let first = elements.first, elements.count >= 2, elements.count <= 10 else { return nil }
        var rest = Array(elements.dropFirst())
        var width = Self.width
        if rest.count >= 2, rest[rest.count - 2].hasSuffix(".p") {
            guard let w = decimal(rest[rest.count - 1], max: Int64(Self.width - 1)), w >= 1 else { return nil }
            width = Int(w)
            rest[rest.count - 2] = rest[rest.count - 2].dropLast(2)
            rest.removeLast()
        }
        guard rest.count <= 7 else { return nil }
        var index: Int64 = 0
        for (i, e) in rest.enumerated() {
            let last = i == rest.count - 1
            let digits = last ? e : (e.hasPrefix("x") ? e.dropFirst() : "")
            guard digits.count == 3, digits.allSatisfy({ $0 >= "0" && $0 <= "9" }), let g = Int64(digits) else { return nil }
            let (m, o1) = index.multipliedReportingOverflow(by: 1000)
            let (s, o2) = m.addingReportingOverflow(g)
            guard !o1, !o2 else { return nil }
            index = s
        }
        guard encode(index: index) == rest.joined(separator: "/") else { return nil }
        if first == "entries" { return .entries(index: index, width: width) }
        guard let level = decimal(first, max: Int64(maxLevel)) else { return nil }
        // The tile must start within the tree's 63-bit index space.
        guard index <= (Int64.max >> min(63, height * (Int(level) + 1))) else { return nil }
        return .hashes(level: Int(level), index: index, width: width)
    }

    /// A decimal without sign or leading zeroes, at most `max`.
    static func decimal(_ s: Substring, max: Int64) -> Int64? {
        guard !s.isEmpty, s.count <= 19, s.allSatisfy({ $0 >= "0" && $0 <= "9" }), s == "0" || !s.hasPrefix("0"), let v = Int64(s), v <= max
        else { return nil }
        return v
    }

    /// The width of the partial tile at `level` of a tree of `size` leaves (0: none).
    public static func partialWidth(level: Int, size: Int64) -> Int {
        level * height >= 63 ? 0 : Int((size >> Int64(level * height)) % Int64(width))
    }

    /// Entries as a bundle. Throws `log_inconsistent` for an entry longer than 65,535 bytes
    /// (the layout's bound; the gateway's entries are far shorter).
    public static func bundle(_ entries: [[UInt8]]) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(0) { $0 + 2 + $1.count })
        for e in entries {
            guard e.count <= 0xFFFF else {
                throw SealError(.logInconsistent, "a log entry of \(e.count) bytes does not fit an entry bundle", remedy: "report this as a bug")
            }
            out.append(UInt8(e.count >> 8))
            out.append(UInt8(e.count & 0xFF))
            out += e
        }
        return out
    }

    /// The entries of a bundle; nil when it is not one (a length running past its end).
    public static func unbundle(_ bytes: [UInt8]) -> [[UInt8]]? {
        var entries: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            guard i + 2 <= bytes.count else { return nil }
            let n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            guard i + 2 + n <= bytes.count else { return nil }
            entries.append(Array(bytes[(i + 2)..<(i + 2 + n)]))
            i += 2 + n
        }
        return entries
    }
}

/// An RFC 6962 tree whose interior is kept as C2SP tiles: in memory only the rightmost, partial
/// tile of each level (with the subtrees inside it) — a few kilobytes whatever the size. A full
/// tile is handed out once, when it completes, for the caller to store; roots and proofs that
/// reach into full tiles are computed over tiles the caller reads back. The root and the newest
/// leaf's inclusion proof need only what it holds (the partial tiles and the last full tile of
/// each level).
public struct TiledTree: Sendable {
    public private(set) var size: Int64 = 0
    /// `edge[L]`: the hashes of the partial tile at level L, as a small tree.
    private var edge: [MerkleCache] = [MerkleCache()]
    /// `last[L]`: the full tile of level L completed last, kept because the newest leaf's
    /// inclusion proof reads it when the tree's size is a multiple of its span.
    private var last: [(index: Int64, tile: MerkleCache)?] = [nil]

    public init() {}

    /// A full tile, as the layout serves it: 256 hashes of 32 bytes.
    public struct FullTile: Sendable, Equatable {
        public let id: TlogTile.ID
        public let hashes: [Merkle.Hash]
        public init(id: TlogTile.ID, hashes: [Merkle.Hash]) {
            self.id = id
            self.hashes = hashes
        }
        /// The tile's 8,192 bytes.
        public var bytes: [UInt8] { Array(hashes.joined()) }
        /// A tile's bytes read back; nil unless they are 256 hashes.
        public init?(id: TlogTile.ID, bytes: [UInt8]) {
            guard bytes.count == TlogTile.width * 32 else { return nil }
            self.init(id: id, hashes: (0..<TlogTile.width).map { Array(bytes[($0 * 32)..<($0 * 32 + 32)]) })
        }
    }

    /// Appends leaf hashes; returns the tiles they completed (in order).
    public mutating func append(contentsOf leaves: [Merkle.Hash]) -> [FullTile] {
        let hasher = Merkle.Hasher()
        var completed: [FullTile] = []
        for l in leaves { completed += append(l, hasher: hasher) }
        return completed
    }

    /// Appends a leaf hash; returns the tiles it completed (level 0 first).
    public mutating func append(_ leaf: Merkle.Hash) -> [FullTile] { append(leaf, hasher: Merkle.Hasher()) }

    mutating func append(_ leaf: Merkle.Hash, hasher: Merkle.Hasher) -> [FullTile] {
        var completed: [FullTile] = []
        var h = leaf
        var level = 0
        size += 1
        while true {
            if edge.count == level {
                edge.append(MerkleCache())
                last.append(nil)
            }
            edge[level].append(h, hasher: hasher)
            guard edge[level].count == TlogTile.width else { break }
            let index = (size >> Int64(TlogTile.height * (level + 1))) - 1
            let tile = edge[level]
            completed.append(FullTile(id: TlogTile.ID(level: level, index: index), hashes: (0..<TlogTile.width).map { tile.leaf($0) }))
            h = tile.root(size: TlogTile.width)
            last[level] = (index, tile)
            edge[level] = MerkleCache()
            level += 1
        }
        return completed
    }

    /// The hashes of the partial tile at `level` (empty: none).
    public func partialTile(level: Int) -> [Merkle.Hash] {
        guard level < edge.count else { return [] }
        return (0..<edge[level].count).map { edge[level].leaf($0) }
    }

    /// The leaf hash `i` when it is still in the partial level-0 tile.
    public func recentLeaf(_ i: Int64) -> Merkle.Hash? {
        let base = size - Int64(edge[0].count)
        return i >= base && i < size ? edge[0].leaf(Int(i - base)) : nil
    }

    /// The hash of the perfect subtree at tree level `k` (2^k leaves), number `i`, if the tree
    /// holds it complete: from a partial tile, or from `full` (nil when `full` lacks the tile).
    func node(_ k: Int, _ i: Int64, full: (TlogTile.ID) -> MerkleCache?) -> Merkle.Hash? {
        let level = k / TlogTile.height
        let r = k % TlogTile.height
        guard level < edge.count, level * TlogTile.height < 63 else { return nil }
        let count = size >> Int64(level * TlogTile.height)
        let first = i << Int64(r)
        guard i >= 0, first + (Int64(1) << Int64(r)) <= count else { return nil }
        let tile = first >> Int64(TlogTile.height)
        let offset = Int(first - tile * Int64(TlogTile.width))
        if tile == count >> Int64(TlogTile.height) { return edge[level].hash(offset, 1 << r) }
        if let l = last[level], l.index == tile { return l.tile.hash(offset, 1 << r) }
        return full(TlogTile.ID(level: level, index: tile))?.hash(offset, 1 << r)
    }

    /// Reads a tree of `size` leaves through `node`; the algorithms of `MerkleCache` over it.
    struct Reader {
        let size: Int64
        let node: (Int, Int64) throws -> Merkle.Hash

        /// MTH of leaves [start, start + n), every left part an aligned perfect subtree.
        func hash(_ start: Int64, _ n: Int64) throws -> Merkle.Hash {
            if n == 0 { return Merkle.emptyRoot }
            if n & (n - 1) == 0 && start % n == 0 { return try node(n.trailingZeroBitCount, start / n) }
            let k = Int64(Merkle.split(Int(n)))
            return Merkle.nodeHash(try hash(start, k), try hash(start + k, n - k))
        }

        func inclusionProof(leaf m: Int64) throws -> [Merkle.Hash] {
            var proof: [Merkle.Hash] = []
            var (start, n, m) = (Int64(0), size, m)
            while n > 1 {
                let k = Int64(Merkle.split(Int(n)))
                if m < k {
                    proof.append(try hash(start + k, n - k))
                    n = k
                } else {
                    proof.append(try hash(start, k))
                    start += k
                    m -= k
                    n -= k
                }
            }
            return proof.reversed()
        }

        func consistencyProof(from m: Int64) throws -> [Merkle.Hash] {
            var proof: [Merkle.Hash] = []
            var (start, n, m, complete) = (Int64(0), size, m, true)
            while m != n {
                let k = Int64(Merkle.split(Int(n)))
                if m <= k {
                    proof.append(try hash(start + k, n - k))
                    n = k
                } else {
                    proof.append(try hash(start, k))
                    start += k
                    m -= k
                    n -= k
                    complete = false
                }
            }
            if !complete { proof.append(try hash(start, n)) }
            return proof.reversed()
        }
    }

    /// What a computation over the tree of `size` leaves asks: its root, an inclusion proof,
    /// or a consistency proof.
    public enum Question: Sendable, Hashable {
        case root(size: Int64)
        case inclusion(leaf: Int64, size: Int64)
        case consistency(from: Int64, size: Int64)

        var size: Int64 {
            switch self {
            case .root(let s), .inclusion(_, let s), .consistency(_, let s): return s
            }
        }

        /// Whether the tree's definitions answer the question.
        var valid: Bool {
            switch self {
            case .root(let s): return s >= 0
            case .inclusion(let m, let s): return m >= 0 && m < s
            case .consistency(let m, let s): return m >= 1 && m <= s
            }
        }
    }

    /// An answer could not be computed: a full tile it needs was not given.
    public struct MissingTile: Error, Sendable { public let id: TlogTile.ID }

    /// The answer to `q`, reading full tiles through `full`. Throws `MissingTile` when it has not one.
    public func answer(_ q: Question, full: (TlogTile.ID) -> MerkleCache?) throws -> [Merkle.Hash] {
        precondition(q.valid && q.size <= size)
        return try withoutActuallyEscaping(full) { full in
            let reader = Reader(size: q.size) { k, i in
                if let h = node(k, i, full: full) { return h }
                let level = k / TlogTile.height
                throw MissingTile(id: TlogTile.ID(level: level, index: (i << Int64(k % TlogTile.height)) >> Int64(TlogTile.height)))
            }
            switch q {
            case .root: return [try reader.hash(0, q.size)]
            case .inclusion(let m, _): return try reader.inclusionProof(leaf: m)
            case .consistency(let m, _): return try reader.consistencyProof(from: m)
            }
        }
    }

    /// The full tiles `q` reads (those not in the partial tiles). The algorithms' course does
    /// not depend on the hashes, so one walk with a stand-in for every tile names them all.
    public func tilesNeeded(_ q: Question) -> Set<TlogTile.ID> {
        var needed = Set<TlogTile.ID>()
        _ = try? answer(q) { id in
            needed.insert(id)
            return Self.placeholder
        }
        return needed
    }

    /// A full tile of zero hashes: lets `tilesNeeded` walk the algorithms without the data.
    private static let placeholder = MerkleCache(leaves: Array(repeating: Merkle.Hash(repeating: 0, count: 32), count: TlogTile.width))

    /// The answer to `q`, reading full tiles from `tiles` (by id; those `tilesNeeded(q)` named).
    /// Throws `MissingTile` when one is absent.
    public func answer(_ q: Question, tiles: [TlogTile.ID: MerkleCache]) throws -> [Merkle.Hash] {
        try answer(q) { tiles[$0] }
    }

    /// The root of the whole tree (read from what the tree holds: never a full tile of the
    /// store, so it throws only if that were ever untrue).
    public func root() throws -> Merkle.Hash {
        try answer(.root(size: size)) { _ in nil }[0]
    }

    /// Whether the tree holds the full tile `id` itself (the last one of its level), or it is the
    /// partial tile of its level: such a tile is never read from the store.
    public func holds(_ id: TlogTile.ID) -> Bool {
        guard id.level >= 0, id.level < edge.count, id.level * TlogTile.height < 63 else { return false }
        if id.index == (size >> Int64(id.level * TlogTile.height)) >> Int64(TlogTile.height) { return true }
        return last[id.level]?.index == id.index
    }

    /// The hashes of a tile the tree holds itself (its level's partial tile, or the last full
    /// one); nil for any other.
    public func heldTile(_ id: TlogTile.ID) -> [Merkle.Hash]? {
        guard holds(id) else { return nil }
        if id.index == (size >> Int64(id.level * TlogTile.height)) >> Int64(TlogTile.height) { return partialTile(level: id.level) }
        guard let l = last[id.level] else { return nil }
        return (0..<TlogTile.width).map { l.tile.leaf($0) }
    }

    /// The hash a full tile's 256 hashes must make: the tree's node at the level above, number
    /// `id.index` — from what the tree holds, or from `parents` (tiles already checked). Nil when
    /// neither has it.
    public func expectedRoot(of id: TlogTile.ID, parents: [TlogTile.ID: MerkleCache]) -> Merkle.Hash? {
        node(TlogTile.height * (id.level + 1), id.index) { parents[$0] }
    }

    /// The newest leaf's inclusion proof in the whole tree (read from what the tree holds).
    public func newestLeafProof() throws -> [Merkle.Hash] {
        try answer(.inclusion(leaf: size - 1, size: size)) { _ in nil }
    }
}
