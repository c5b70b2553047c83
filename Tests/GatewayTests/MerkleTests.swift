import Foundation
import GatewayCore
import SealCrypto
import Testing
import TransparencyLog

/// RFC 6962 / 9162 known answers (the Certificate Transparency reference tree) and every tree
/// of 1…64 leaves against an independent level-by-level recomputation.
struct MerkleTests {
    static let entries: [[UInt8]] = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(unhex)
    static let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    static var leaves: [Merkle.Hash] { entries.map(Merkle.leafHash) }

    @Test func referenceRoots() {
        for n in 0...8 { #expect(hexString(Merkle.root(Array(Self.leaves.prefix(n)))) == Self.roots[n], "size \(n)") }
    }

    @Test func referenceInclusionProofs() {
        let cases: [(Int, Int, [String])] = [
            (
                0, 8,
                [
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ]
            ),
            (
                5, 8,
                [
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]
            ),
            (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            (
                1, 5,
                [
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ]
            ),
        ]
        for (m, n, expected) in cases {
            let leaves = Array(Self.leaves.prefix(n))
            let proof = Merkle.inclusionProof(m, leaves)
            #expect(proof.map(hexString) == expected, "leaf \(m) of \(n)")
            #expect(Merkle.verifyInclusion(index: m, size: n, leaf: leaves[m], proof: proof, root: unhex(Self.roots[n])))
        }
    }

    @Test func referenceConsistencyProofs() {
        let cases: [(Int, Int, [String])] = [
            (1, 1, []),
            (
                1, 8,
                [
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ]
            ),
            (
                6, 8,
                [
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ]
            ),
            (
                2, 5,
                [
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ]
            ),
        ]
        for (m, n, expected) in cases {
            let proof = Merkle.consistencyProof(m, Array(Self.leaves.prefix(n)))
            #expect(proof.map(hexString) == expected, "\(m) → \(n)")
            #expect(Merkle.verifyConsistency(size1: m, size2: n, proof: proof, root1: unhex(Self.roots[m]), root2: unhex(Self.roots[n])))
        }
    }

    /// Level by level, an unpaired last node moving up: the same tree shape, computed another way.
    static func naiveRoot(_ leaves: [Merkle.Hash]) -> Merkle.Hash {
        if leaves.isEmpty { return Merkle.emptyRoot }
        var level = leaves
        while level.count > 1 {
            var next: [Merkle.Hash] = []
            var i = 0
            while i + 1 < level.count {
                next.append(Merkle.nodeHash(level[i], level[i + 1]))
                i += 2
            }
            if i < level.count { next.append(level[i]) }
            level = next
        }
        return level[0]
    }

    @Test func everyTreeUpTo64() {
        let all = (0..<64).map { Merkle.leafHash([UInt8($0), UInt8(truncatingIfNeeded: $0 &* 7)]) }
        var roots: [Merkle.Hash] = [Merkle.emptyRoot]
        for n in 1...64 {
            let leaves = Array(all.prefix(n))
            let r = Merkle.root(leaves)
            #expect(r == Self.naiveRoot(leaves), "root of \(n)")
            roots.append(r)
            for m in 0..<n {
                let proof = Merkle.inclusionProof(m, leaves)
                #expect(Merkle.verifyInclusion(index: m, size: n, leaf: leaves[m], proof: proof, root: r))
                #expect(!Merkle.verifyInclusion(index: m, size: n, leaf: all[(m + 1) % 64], proof: proof, root: r), "a wrong leaf verified")
                if !proof.isEmpty {
                    var bad = proof
                    bad[0][0] ^= 1
                    #expect(!Merkle.verifyInclusion(index: m, size: n, leaf: leaves[m], proof: bad, root: r))
                }
            }
        }
        for n in 1...64 {
            let leaves = Array(all.prefix(n))
            for m in 1...n {
                let proof = Merkle.consistencyProof(m, leaves)
                #expect(Merkle.verifyConsistency(size1: m, size2: n, proof: proof, root1: roots[m], root2: roots[n]), "\(m) → \(n)")
                if m < n {
                    // A forked history: the first m leaves differ.
                    var forkRoot = roots[m]
                    forkRoot[0] ^= 1
                    #expect(!Merkle.verifyConsistency(size1: m, size2: n, proof: proof, root1: forkRoot, root2: roots[n]))
                }
            }
        }
    }

    /// The cache of interior hashes the running log uses answers exactly as the reference
    /// (recursive) definitions: every root, inclusion and consistency proof of every tree up to
    /// 64 leaves, at random larger sizes, and after a truncation (a failed commit).
    @Test func cacheAnswersAsTheReference() {
        let all = (0..<300).map { Merkle.leafHash([UInt8($0 & 0xFF), UInt8($0 >> 8)]) }
        var cache = MerkleCache()
        for n in 1...64 {
            cache.append(all[n - 1])
            let leaves = Array(all.prefix(n))
            #expect(cache.root(size: n) == Merkle.root(leaves), "root \(n)")
            for m in 0..<n { #expect(cache.inclusionProof(leaf: m, size: n) == Merkle.inclusionProof(m, leaves), "inclusion \(m) in \(n)") }
            for m in 1...n { #expect(cache.consistencyProof(from: m, size: n) == Merkle.consistencyProof(m, leaves), "consistency \(m) → \(n)") }
        }
        for l in all[64...] { cache.append(l) }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let n = Int.random(in: 1...300, using: &rng)
            let m = Int.random(in: 0..<n, using: &rng)
            let leaves = Array(all.prefix(n))
            #expect(cache.root(size: n) == Merkle.root(leaves))
            #expect(cache.inclusionProof(leaf: m, size: n) == Merkle.inclusionProof(m, leaves), "inclusion \(m) in \(n)")
            #expect(cache.consistencyProof(from: m + 1, size: n) == Merkle.consistencyProof(m + 1, leaves), "consistency \(m + 1) → \(n)")
        }
        // A commit that failed: its leaves forgotten, the tree as before, and it grows again the same way.
        cache.truncate(to: 100)
        #expect(cache.count == 100 && cache.root(size: 100) == Merkle.root(Array(all.prefix(100))))
        for l in all[100..<173] { cache.append(l) }
        #expect(cache.root(size: 173) == Merkle.root(Array(all.prefix(173))))
        #expect(cache.inclusionProof(leaf: 150, size: 173) == Merkle.inclusionProof(150, Array(all.prefix(173))))
    }

    @Test func checkpointsAreSignedNotes() throws {
        let key = MinisignSecretKey.generate()
        let cp = Checkpoint(origin: "sealgate.example/log", size: 8, root: unhex(Self.roots[8]))
        let note = try cp.signed(name: "sealgate.example/log", key: key)
        #expect(note.hasPrefix("sealgate.example/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n— sealgate.example/log "))
        #expect(try Checkpoint.verify(note: note, name: "sealgate.example/log", publicKey: key.publicKey.key) == cp)
        let forged = note.replacingOccurrences(of: "\n8\n", with: "\n9\n")
        #expect(
            performing: { try Checkpoint.verify(note: forged, name: "sealgate.example/log", publicKey: key.publicKey.key) },
            throws: { ($0 as? SealError)?.code == .checkpointInvalid })
        #expect(
            performing: { try Checkpoint.verify(note: note, name: "sealgate.example/log", publicKey: MinisignSecretKey.generate().publicKey.key) },
            throws: { ($0 as? SealError)?.code == .checkpointInvalid })
    }
}

func unhex(_ s: String) -> [UInt8] {
    var out = [UInt8]()
    var it = s.utf8.makeIterator()
    func v(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
    while let a = it.next(), let b = it.next() { out.append(v(a) << 4 | v(b)) }
    return out
}
