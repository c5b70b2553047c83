import Benchmark
import Foundation
import MicroFixtures
import SealCrypto
import SealPackage
import TransparencyLog

/// A sealed package and what opens it.
struct SealedPackage {
    let fixture: UnitFixture
    let path: String
    let identity: AgeX25519Identity
    let bytes: Int

    init(members: Int) throws {
        fixture = try UnitFixture(members: members)
        identity = try AgeX25519Identity.generate()
        path = try fixture.seal(seq: 1, to: [identity.recipient])
        bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
    }
}

/// A tiled tree of `size` leaves and its full tiles, held in memory both as the store keeps them
/// (256 hashes) and as `GatewayLog` caches them (`MerkleCache`).
struct TreeWithTiles {
    let tree: TiledTree
    let cached: [TlogTile.ID: MerkleCache]
    let stored: [TlogTile.ID: [Merkle.Hash]]

    init(size: Int) {
        var tree = TiledTree()
        var cached: [TlogTile.ID: MerkleCache] = [:]
        var stored: [TlogTile.ID: [Merkle.Hash]] = [:]
        let hasher = Merkle.Hasher()
        for i in 0..<size {
            for tile in tree.append(hasher.leaf(Samples.logEntry(i))) {
                cached[tile.id] = MerkleCache(leaves: tile.hashes)
                stored[tile.id] = tile.hashes
            }
        }
        self.tree = tree
        self.cached = cached
        self.stored = stored
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident, .throughput],
        timeUnits: .microseconds, maxDuration: .seconds(2), maxIterations: 20_000)
    Benchmark.teardown = { UnitFixture.removeAll() }

    // Packages: the gateway bench's small package (one cell, 5 members) and the city's smallest unit
    // (HCM-U133 of `make demo`'s city: 1,005 members).
    for members in [5, 1005] {
        let label = "\(members) members"
        Benchmark("package verify (\(label))") { benchmark, p in
            for _ in benchmark.scaledIterations {
                do {
                    blackHole(try Verifier.verify(path: p.path, signers: [p.fixture.signer.publicKey], expectedUnit: p.fixture.unit))
                } catch { benchmark.error("\(error)") }
            }
        } setup: {
            try SealedPackage(members: members)
        }

        Benchmark("package open, checks only (\(label))") { benchmark, p in
            let request = OpenRequest(path: p.path, output: nil, identities: [p.identity], signers: [p.fixture.signer.publicKey])
            for _ in benchmark.scaledIterations {
                do { blackHole(try Opener.open(request)) } catch { benchmark.error("\(error)") }
            }
        } setup: {
            try SealedPackage(members: members)
        }

        // As the intake opens: into a folder of its own, without fsync (durable: false). The folder's
        // removal is outside the measurement.
        Benchmark("package open into a folder (\(label))") { benchmark, p in
            let output = "\(p.fixture.folder)/opened"
            var request = OpenRequest(path: p.path, output: output, identities: [p.identity], signers: [p.fixture.signer.publicKey])
            request.durable = false
            benchmark.startMeasurement()
            do { blackHole(try Opener.open(request)) } catch { benchmark.error("\(error)") }
            benchmark.stopMeasurement()
            try? FileManager.default.removeItem(atPath: output)
        } setup: {
            try SealedPackage(members: members)
        }
    }

    // The log. A leaf hash of a decision's entry (about 300 bytes), on one reused SHA-256 context.
    Benchmark("merkle leaf hash", configuration: .init(timeUnits: .nanoseconds, scalingFactor: .kilo)) { benchmark in
        let hasher = Merkle.Hasher()
        let entry = Samples.logEntry(123_456)
        for _ in benchmark.scaledIterations { blackHole(hasher.leaf(entry)) }
    }

    // Appends of leaf hashes already made, 1,000 to a sample, to a tree that keeps growing
    // (amortized: a node hash for every other leaf, and a tile every 256).
    Benchmark("merkle append MerkleCache", configuration: .init(timeUnits: .nanoseconds, scalingFactor: .kilo)) { benchmark, leaves in
        var cache = MerkleCache()
        let hasher = Merkle.Hasher()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { cache.append(leaves[i % leaves.count], hasher: hasher) }
        benchmark.stopMeasurement()
        blackHole(cache.count)
    } setup: {
        (0..<4096).map { Merkle.leafHash(Samples.logEntry($0)) }
    }

    Benchmark("merkle append TiledTree", configuration: .init(timeUnits: .nanoseconds, scalingFactor: .kilo)) { benchmark, leaves in
        var tree = TiledTree()
        benchmark.startMeasurement()
        for i in benchmark.scaledIterations { blackHole(tree.append(leaves[i % leaves.count])) }
        benchmark.stopMeasurement()
        blackHole(tree.size)
    } setup: {
        (0..<4096).map { Merkle.leafHash(Samples.logEntry($0)) }
    }

    // An inclusion proof at a random leaf of a tree of 1,000,003 leaves (three levels of tiles),
    // with the full tiles in memory: as `GatewayLog` answers from its tile cache, and from the tiles'
    // hashes as the store gives them back (each tile needed made a `MerkleCache` first: a cache miss).
    let treeSize = 1_000_003
    Benchmark("merkle inclusion proof, 1M leaves, tiles cached", configuration: .init(timeUnits: .nanoseconds)) { benchmark, t in
        var sequence = Samples.Sequence(seed: 1)
        for _ in benchmark.scaledIterations {
            let q = TiledTree.Question.inclusion(leaf: Int64(sequence.next(below: treeSize)), size: Int64(treeSize))
            let needed = t.tree.tilesNeeded(q)
            var tiles: [TlogTile.ID: MerkleCache] = [:]
            for id in needed { tiles[id] = t.cached[id] }
            do { blackHole(try t.tree.answer(q, tiles: tiles)) } catch { benchmark.error("\(error)") }
        }
    } setup: {
        TreeWithTiles(size: treeSize)
    }

    Benchmark("merkle inclusion proof, 1M leaves, tiles from bytes") { benchmark, t in
        var sequence = Samples.Sequence(seed: 1)
        for _ in benchmark.scaledIterations {
            let q = TiledTree.Question.inclusion(leaf: Int64(sequence.next(below: treeSize)), size: Int64(treeSize))
            var tiles: [TlogTile.ID: MerkleCache] = [:]
            for id in t.tree.tilesNeeded(q) { tiles[id] = t.stored[id].map { MerkleCache(leaves: $0) } }
            do { blackHole(try t.tree.answer(q, tiles: tiles)) } catch { benchmark.error("\(error)") }
        }
    } setup: {
        TreeWithTiles(size: treeSize)
    }

    // A minisign signature of a receipt-sized body (about 1.9 KB): BLAKE2b of the body, Ed25519
    // over it and over the trusted comment — what `Receipt.sign` does besides the canonical JSON
    // (that one is in the Intake target).
    Benchmark("minisign sign, receipt-sized body") { benchmark, key in
        let body = Array(Samples.receiptText.utf8)
        for _ in benchmark.scaledIterations {
            do {
                blackHole(
                    try key.sign(
                        prehash: BLAKE2bHasher.hash(body),
                        trustedComment: "sealgate-receipt/1 package=0193a1b2-c3d4-7e5f-8a9b-000000999999 status=accepted leaf=999999",
                        untrustedComment: "sealgate receipt signature"))
            } catch { benchmark.error("\(error)") }
        }
    } setup: {
        MinisignSecretKey.generate()
    }
}
