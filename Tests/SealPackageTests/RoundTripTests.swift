import Foundation
import SealBase
import SealCrypto
import Testing

@testable import SealPackage

struct RoundTripTests {
    let f = Fixture()

    func sealAndOpen(_ dir: TempDir, inputs: [SealRequest.Input], kind: PackageKind) throws -> OpenedPackage {
        let out = dir.file("p.sgp")
        let sealed = try Sealer.seal(
            SealRequest(unit: "HCM-U001", seq: 7, kind: kind, inputs: inputs, recipients: [f.dept.recipient], signer: f.unitA, output: out))
        #expect(sealed.packageBytes == UInt64(dir.read("p.sgp").count))
        #expect(sealed.packageBytes % 512 == 0)
        let v = try Verifier.verify(path: out, signers: [f.unitA.publicKey], expectedUnit: "HCM-U001")
        #expect(v.comment == sealed.comment)
        let opened = try Opener.open(
            OpenRequest(path: out, output: dir.file("out"), identities: [f.dept], signers: [f.unitA.publicKey], expectedUnit: "HCM-U001"))
        #expect(opened.comment == sealed.comment)
        #expect(opened.manifest == sealed.manifest)
        for i in inputs {
            #expect(dir.read("out/\(i.name)") == [UInt8](FileManager.default.contents(atPath: i.path)!), "\(i.name) differs")
        }
        // Opened in memory (the gateway's small packages): the same bytes, and no file made.
        var inMemory = OpenRequest(path: out, output: nil, identities: [f.dept], signers: [f.unitA.publicKey], expectedUnit: "HCM-U001")
        inMemory.captureFiles = true
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        let captured = try Opener.open(inMemory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == before)
        #expect(captured.manifest == sealed.manifest)
        #expect(captured.files.keys.sorted() == inputs.map(\.name).sorted())
        for i in inputs { #expect(captured.files[i.name] == [UInt8](FileManager.default.contents(atPath: i.path)!), "\(i.name) differs in memory") }
        inMemory.captureFiles = false
        #expect(try Opener.open(inMemory).files.isEmpty, "a check-only open keeps nothing")
        return opened
    }

    @Test func snapshotRoundTripCountsRecords() throws {
        let dir = TempDir()
        let opened = try sealAndOpen(dir, inputs: snapshotInputs(dir, members: 5), kind: .snapshot)
        #expect(opened.manifest.files.map(\.records) == [1, 5])
        #expect(opened.comment.kind == .snapshot)
        #expect(opened.comment.to == [f.dept.recipient.fingerprint])
        #expect(FileManager.default.fileExists(atPath: dir.file("out/manifest.json")))
    }

    /// Sizes around every boundary: empty, one chunk, exact chunk multiples, a 16-chunk batch, more.
    @Test(arguments: [0, 1, 65_536 - 2_048, 65_536, 65_536 * 16 - 1_536, 65_536 * 16, 3 * 1_048_576 + 17])
    func filesOfEverySizeRoundTrip(size: Int) throws {
        let dir = TempDir()
        let p = dir.write("blob.bin", pseudoRandomBytes(size, seed: UInt64(size)))
        let opened = try sealAndOpen(dir, inputs: [.init(name: "blob.bin", path: p)], kind: .files)
        #expect(opened.manifest.files == [Manifest.Entry(name: "blob.bin", sha256: hexString(SHA256Hasher.hash(dir.read("blob.bin"))), records: 0)])
    }

    /// Payload archives of exactly two STREAM chunks (the manifest pads to 512 or 1024 bytes,
    /// so one of these sizes hits 131,072 bytes exactly): the last buffer ends with the archive.
    @Test(arguments: [131_072 - 2_048 - 512, 131_072 - 2_048 - 1_024, 65_536 * 8 - 2_048 - 512, 65_536 * 8 - 2_048 - 1_024])
    func payloadsOfExactChunkMultiples(size: Int) throws {
        let dir = TempDir()
        let p = dir.write("blob.bin", pseudoRandomBytes(size, seed: UInt64(size)))
        _ = try sealAndOpen(dir, inputs: [.init(name: "blob.bin", path: p)], kind: .files)
    }

    @Test func severalRecipientsCanEachOpen() throws {
        let dir = TempDir()
        let other = try AgeX25519Identity.generate()
        let out = dir.file("p.sgp")
        _ = try Sealer.seal(
            SealRequest(
                unit: "HCM-U001", seq: 1, kind: .snapshot, inputs: snapshotInputs(dir), recipients: [f.dept.recipient, other.recipient],
                signer: f.unitA, output: out))
        for (i, id) in [f.dept, other].enumerated() {
            _ = try Opener.open(OpenRequest(path: out, output: dir.file("o\(i)"), identities: [id], signers: [f.unitA.publicKey]))
        }
    }

    @Test func sealRefusesBadRequests() throws {
        let dir = TempDir()
        let inputs = snapshotInputs(dir)
        func attempt(_ r: SealRequest) -> SealErrorCode? { sealError { _ = try Sealer.seal(r) }?.code }
        #expect(
            attempt(
                SealRequest(
                    unit: "hcm-u001", seq: 1, kind: .snapshot, inputs: inputs, recipients: [f.dept.recipient], signer: f.unitA, output: dir.file("a"))
            ) == .usage)
        #expect(
            attempt(
                SealRequest(
                    unit: "HCM-U001", seq: 1, kind: .correction, inputs: inputs, recipients: [f.dept.recipient], signer: f.unitA,
                    output: dir.file("b"))) == .usage)
        #expect(
            attempt(SealRequest(unit: "HCM-U001", seq: 1, kind: .snapshot, inputs: inputs, recipients: [], signer: f.unitA, output: dir.file("c")))
                == .usage)
        let bad = [SealRequest.Input(name: "manifest.json", path: inputs[0].path)]
        #expect(
            attempt(
                SealRequest(
                    unit: "HCM-U001", seq: 1, kind: .files, inputs: bad, recipients: [f.dept.recipient], signer: f.unitA, output: dir.file("d")))
                == .usage)
        // An existing output is never replaced.
        _ = dir.write("exists.sgp", [1, 2, 3])
        #expect(
            attempt(
                SealRequest(
                    unit: "HCM-U001", seq: 1, kind: .snapshot, inputs: inputs, recipients: [f.dept.recipient], signer: f.unitA,
                    output: dir.file("exists.sgp"))) == .outputExists)
        #expect(dir.read("exists.sgp") == [1, 2, 3])
        #expect(!dir.entries.contains { $0.contains("partial") })
    }

    /// Seal never writes a package its readers then refuse: a package over the limit is
    /// `package_too_large` before anything is written; exactly the limit is sealed and opened
    /// with that limit, and open refuses it one byte under.
    @Test func sealStaysWithinTheReadersLimit() throws {
        let dir = TempDir()
        let p = dir.write("blob.bin", pseudoRandomBytes(200_000, seed: 3))
        let inputs = [SealRequest.Input(name: "blob.bin", path: p)]
        func request(_ out: String, _ limit: UInt64? = nil) -> SealRequest {
            SealRequest(
                unit: "HCM-U001", seq: 1, kind: .files, inputs: inputs, recipients: [f.dept.recipient], signer: f.unitA,
                output: dir.file(out), maxBytes: limit)
        }
        #expect(request("d").maxBytes == defaultMaxPackageBytes)
        #expect(SealRequest(unit: "D", seq: 1, kind: .dataset, inputs: [], recipients: [], signer: f.unitA, output: "x").maxBytes == 4 << 30)
        let size = try Sealer.seal(request("sized.sgp")).packageBytes
        #expect(size > 200_000)
        // Over the limit by one byte, and with the inputs alone over it: refused, nothing written.
        #expect(sealError { _ = try Sealer.seal(request("over.sgp", size - 1)) }?.code == .packageTooLarge)
        #expect(sealError { _ = try Sealer.seal(request("over2.sgp", 199_999)) }?.code == .packageTooLarge)
        #expect(!dir.entries.contains { $0.hasPrefix("over") || $0.contains("partial") })
        // Exactly the limit: sealed, and open with the same limit takes it; one byte less refuses it.
        let sealed = try Sealer.seal(request("exact.sgp", size))
        #expect(sealed.packageBytes == size)
        let open = OpenRequest(path: dir.file("exact.sgp"), output: dir.file("o"), identities: [f.dept], signers: [f.unitA.publicKey], maxBytes: size)
        _ = try Opener.open(open)
        var under = open
        under.output = dir.file("o2")
        under.maxBytes = size - 1
        #expect(sealError { _ = try Opener.open(under) }?.code == .packageTooLarge)
    }
}
