import Foundation
import SealBase
import SealCrypto
import Testing
import TransparencyLog

/// The tree kept as C2SP tiles (`TiledTree`) answers as the whole-tree reference (`MerkleCache`,
/// itself checked against RFC 6962's recursive definitions in MerkleTests), over trees that
/// cross tile boundaries at levels 0, 1 and 2; and tile paths are read and written as
/// c2sp.org/tlog-tiles spells them.
struct TiledTreeTests {
    /// A tree of `n` leaves both ways, with the full tiles it handed out.
    static func build(_ n: Int) -> (tiled: TiledTree, reference: MerkleCache, tiles: [TlogTile.ID: MerkleCache], handed: [TiledTree.FullTile]) {
        var tiled = TiledTree()
        var reference = MerkleCache()
        var handed: [TiledTree.FullTile] = []
        for i in 0..<n {
            let leaf = Merkle.leafHash(Array("entry \(i)".utf8))
            handed += tiled.append(leaf)
            reference.append(leaf)
        }
        var tiles: [TlogTile.ID: MerkleCache] = [:]
        for t in handed { tiles[t.id] = MerkleCache(leaves: t.hashes) }
        return (tiled, reference, tiles, handed)
    }

    @Test func rootsAndProofsEqualTheReference() throws {
        var rng = SystemRandomNumberGenerator()
        for n in [1, 2, 3, 255, 256, 257, 511, 512, 513, 1000, 65_535, 65_536, 65_537, 70_000] {
            let (tiled, reference, tiles, _) = Self.build(n)
            #expect(tiled.size == Int64(n))
            #expect(try tiled.root() == reference.root(size: n), "root of \(n)")
            #expect(try tiled.newestLeafProof() == reference.inclusionProof(leaf: n - 1, size: n), "newest leaf of \(n)")
            for _ in 0..<40 {
                let size = Int.random(in: 1...n, using: &rng)
                let leaf = Int.random(in: 0..<size, using: &rng)
                let from = Int.random(in: 1...size, using: &rng)
                #expect(try tiled.answer(.root(size: Int64(size)), tiles: tiles) == [reference.root(size: size)], "root \(size) of \(n)")
                #expect(
                    try tiled.answer(.inclusion(leaf: Int64(leaf), size: Int64(size)), tiles: tiles)
                        == reference.inclusionProof(leaf: leaf, size: size), "inclusion \(leaf) in \(size) of \(n)")
                #expect(
                    try tiled.answer(.consistency(from: Int64(from), size: Int64(size)), tiles: tiles)
                        == reference.consistencyProof(from: from, size: size), "consistency \(from)→\(size) of \(n)")
                // Exactly the tiles named are enough.
                let named = tiled.tilesNeeded(.inclusion(leaf: Int64(leaf), size: Int64(size)))
                #expect(
                    try tiled.answer(.inclusion(leaf: Int64(leaf), size: Int64(size)), tiles: tiles.filter { named.contains($0.key) })
                        == reference.inclusionProof(leaf: leaf, size: size))
            }
        }
    }

    /// The tiles handed out are the layout's: tile n of level l holds MTH(D[(n·256 + i)·256^l ..< (n·256 + i + 1)·256^l]).
    @Test func tilesHoldTheSubtreesTheLayoutNames() {
        let n = 70_000
        let (tiled, reference, _, handed) = Self.build(n)
        // A tree of 70,000: 273 full level-0 tiles, one full level-1 tile (the layout's own example).
        #expect(handed.filter { $0.id.level == 0 }.count == 273)
        #expect(handed.filter { $0.id.level == 1 }.count == 1)
        #expect(handed.filter { $0.id.level > 1 }.isEmpty)
        #expect(TlogTile.partialWidth(level: 0, size: Int64(n)) == 112)
        #expect(TlogTile.partialWidth(level: 1, size: Int64(n)) == 17)
        #expect(TlogTile.partialWidth(level: 2, size: Int64(n)) == 1)
        #expect(TlogTile.partialWidth(level: 3, size: Int64(n)) == 0)
        for t in handed {
            let span = 1 << (8 * t.id.level)
            for i in [0, 1, 77, 255] {
                let start = (Int(t.id.index) * 256 + i) * span
                #expect(t.hashes[i] == Merkle.root((start..<(start + span)).map { reference.leaf($0) }), "\(t.id) hash \(i)")
            }
            #expect(t.bytes.count == 8192)
            // What a tile read back from a store is checked against: the node the level above holds.
            let parents = Dictionary(uniqueKeysWithValues: handed.map { ($0.id, MerkleCache(leaves: $0.hashes)) })
            #expect(tiled.expectedRoot(of: t.id, parents: parents) == MerkleCache(leaves: t.hashes).root(size: 256), "\(t.id)")
            #expect(TiledTree.FullTile(id: t.id, bytes: t.bytes) == t)
        }
        // The tree holds its partial tiles and the last full tile of each level, no other.
        #expect(tiled.holds(TlogTile.ID(level: 0, index: 273)) && tiled.holds(TlogTile.ID(level: 0, index: 272)))
        #expect(!tiled.holds(TlogTile.ID(level: 0, index: 271)) && tiled.heldTile(TlogTile.ID(level: 0, index: 271)) == nil)
        #expect(tiled.heldTile(TlogTile.ID(level: 0, index: 272)) == handed.first { $0.id == TlogTile.ID(level: 0, index: 272) }?.hashes)
        #expect(tiled.partialTile(level: 0).count == 112)
        #expect(tiled.partialTile(level: 1).count == 17)
        #expect(tiled.partialTile(level: 2) == [Merkle.root((0..<65_536).map { reference.leaf($0) })])
    }

    @Test func aMissingTileIsNamedNotGuessed() throws {
        let (tiled, _, _, _) = Self.build(1000)
        #expect(throws: TiledTree.MissingTile.self) { try tiled.answer(.inclusion(leaf: 3, size: 1000), tiles: [:]) }
        #expect(tiled.tilesNeeded(.inclusion(leaf: 3, size: 1000)) == [TlogTile.ID(level: 0, index: 0)])
        // The newest leaf and the root need no tile the tree does not hold, at any size.
        for n in [1000, 256, 512, 65_536] {
            let t = Self.build(n).tiled
            #expect(t.tilesNeeded(.root(size: Int64(n))).isEmpty)
            #expect(t.tilesNeeded(.inclusion(leaf: Int64(n - 1), size: Int64(n))).isEmpty, "\(n)")
        }
    }

    @Test func pathsAreTheLayoutsOneSpelling() {
        #expect(TlogTile.encode(index: 1_234_067) == "x001/x234/067")
        #expect(TlogTile.encode(index: 0) == "000")
        #expect(TlogTile.encode(index: 5) == "005")
        #expect(TlogTile.encode(index: 1000) == "x001/000")
        #expect(TlogTile.path(.hashes(level: 0, index: 1_234_067, width: 256)) == "tile/0/x001/x234/067")
        #expect(TlogTile.path(.hashes(level: 2, index: 3, width: 17)) == "tile/2/003.p/17")
        #expect(TlogTile.path(.entries(index: 1000, width: 1)) == "tile/entries/x001/000.p/1")
        func parse(_ p: String) -> TlogTile.Resource? { TlogTile.parse(p.split(separator: "/", omittingEmptySubsequences: false)) }
        #expect(parse("0/x001/x234/067") == .hashes(level: 0, index: 1_234_067, width: 256))
        #expect(parse("63/000") == .hashes(level: 63, index: 0, width: 256))
        #expect(parse("1/000.p/255") == .hashes(level: 1, index: 0, width: 255))
        #expect(parse("entries/x001/000.p/1") == .entries(index: 1000, width: 1))
        for bad in [
            "0/1", "0/01", "0/0001", "0/x000/001", "0/x01/001", "0/001/x002", "00/001", "64/000", "-1/000", "0/000.p/0", "0/000.p/256",
            "0/000.p/07", "0/000.p", "0/000.p/1/2", "0", "entries", "0/+01", "0/x999/x999/x999/x999/x999/x999/x999/999", "0/00a", "",
            "0//000", "level/000", "0/000.q/5", "0/x922/x337/x203/x685/x477/x580/800",
        ] {
            #expect(parse(bad) == nil, "\(bad)")
        }
        for r in [TlogTile.Resource.hashes(level: 1, index: 987_654_321, width: 3), .entries(index: 42, width: 256)] {
            #expect(parse(String(TlogTile.path(r).dropFirst("tile/".count))) == r)
        }
    }

    @Test func bundlesRoundTripAndRefuseWhatTheyCannotHold() throws {
        let entries: [[UInt8]] = [[], Array("a".utf8), Array(repeating: 7, count: 65_535)]
        let b = try TlogTile.bundle(entries)
        #expect(b.count == 2 + 2 + 1 + 2 + 65_535)
        #expect(Array(b.prefix(5)) == [0, 0, 0, 1, 0x61])
        #expect(TlogTile.unbundle(b) == entries)
        #expect(TlogTile.unbundle([0, 5, 1]) == nil)
        #expect(TlogTile.unbundle([0]) == nil)
        #expect(
            performing: { try TlogTile.bundle([Array(repeating: 0, count: 65_536)]) },
            throws: { ($0 as? SealError)?.code == .logInconsistent })
    }
}
