/// The interior hashes of a growing RFC 6962 tree: level k holds the hash of every complete,
/// aligned subtree of 2^k leaves. Appending is amortized O(1); the root of any size, an
/// inclusion proof and a consistency proof each read O(log n) stored hashes and compute at
/// most one ragged right edge (O(log n) hashes) — never the whole log. About 2n hashes of
/// memory (64 bytes an entry). Its answers equal `Merkle`'s reference functions over the leaves
/// (tested for every tree up to 64 leaves and at random sizes).
public struct MerkleCache: Sendable {
    private(set) var levels: [[Merkle.Hash]] = [[]]

    public init() {}
    public init(leaves: [Merkle.Hash]) {
        let hasher = Merkle.Hasher()
        for l in leaves { append(l, hasher: hasher) }
    }

    public var count: Int { levels[0].count }

    public mutating func append(_ leaf: Merkle.Hash) { append(leaf, hasher: Merkle.Hasher()) }

    /// Appends with `hasher` (one for many appends).
    public mutating func append(_ leaf: Merkle.Hash, hasher: Merkle.Hasher) {
        levels[0].append(leaf)
        var k = 0
        // A new leaf completes a subtree at each level where its index is the right child.
        while levels[k].count % 2 == 0 {
            let n = levels[k].count
            let parent = hasher.node(levels[k][n - 2], levels[k][n - 1])
            if levels.count == k + 1 { levels.append([]) }
            levels[k + 1].append(parent)
            k += 1
        }
    }

    /// Forgets every leaf from `count` on (a transaction that failed).
    public mutating func truncate(to count: Int) {
        guard count < self.count else { return }
        var n = count
        for k in 0..<levels.count {
            levels[k].removeLast(levels[k].count - n)
            n /= 2
        }
        while levels.count > 1 && levels.last!.isEmpty { levels.removeLast() }
    }

    public func leaf(_ i: Int) -> Merkle.Hash { levels[0][i] }

    /// MTH of leaves [start, start + n) where every left part met in RFC 6962's recursion is an
    /// aligned complete subtree (true for the ranges the tree's definitions produce).
    func hash(_ start: Int, _ n: Int) -> Merkle.Hash {
        if n == 0 { return Merkle.emptyRoot }
        if n & (n - 1) == 0 && start % n == 0 {
            let k = n.trailingZeroBitCount
            if k < levels.count && start >> k < levels[k].count { return levels[k][start >> k] }
        }
        let k = Merkle.split(n)
        return Merkle.nodeHash(hash(start, k), hash(start + k, n - k))
    }

    /// The tree of the first `size` leaves as `TiledTree.Reader` reads it: every node it asks is a
    /// complete aligned subtree, which `levels` holds.
    private func reader(_ size: Int) -> TiledTree.Reader {
        TiledTree.Reader(size: Int64(size)) { k, i in levels[k][Int(i)] }
    }

    /// The root of the tree of the first `size` leaves (size ≤ count).
    public func root(size: Int) -> Merkle.Hash {
        precondition(size >= 0 && size <= count)
        return hash(0, size)
    }

    /// PATH(m, D[size]) of RFC 6962 §2.1.1.
    public func inclusionProof(leaf m: Int, size: Int) -> [Merkle.Hash] {
        precondition(m >= 0 && m < size && size <= count)
        // The reader's lookups cannot fail here (`levels` holds every node it asks).
        do { return try reader(size).inclusionProof(leaf: Int64(m)) } catch { preconditionFailure("a node of a complete tree is missing") }
    }

    /// PROOF(m, D[size]) of RFC 6962 §2.1.2.
    public func consistencyProof(from m: Int, size: Int) -> [Merkle.Hash] {
        precondition(m >= 1 && m <= size && size <= count)
        do { return try reader(size).consistencyProof(from: Int64(m)) } catch { preconditionFailure("a node of a complete tree is missing") }
    }
}
