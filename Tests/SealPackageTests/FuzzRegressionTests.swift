import Foundation
import SealCrypto
import Testing

@testable import SealPackage

/// Seeds built here (a package sealed to the fuzz identity, its parts) through every parser of
/// `ParserFuzzing`: none may crash. With SEALGATE_WRITE_FUZZ_SEEDS=DIR the seeds are also written
/// there (how Fuzz/corpus/package and its neighbours were made). The corpora and past crashes
/// of every fuzz target are replayed by GatewayTests/FuzzReplayTests.
struct FuzzRegressionTests {
    static func seeds() throws -> [String: [UInt8]] {
        let dir = TempDir()
        let signer = MinisignSecretKey.generate()
        let inputs = snapshotInputs(dir, members: 20)
        let out = dir.file("seed.sgp")
        _ = try Sealer.seal(
            SealRequest(
                unit: "HCM-U001", seq: 1, kind: .snapshot, inputs: inputs, recipients: [ParserFuzzing.recipient],
                signer: signer, output: out, packageID: "0193a1c2-0000-7000-8000-000000000001", created: "2026-11-27T08:00:00Z"))
        let pkg = dir.read("seed.sgp")
        let c = try PackageContainer(path: out, source: try FileSource(path: out))
        let age = Array(pkg[Int(c.payloadOffset)..<Int(c.payloadOffset + c.payloadLength)])
        return [
            "package.sgp": pkg,
            "package.minisig": c.signatureBytes,
            "payload.age": age,
            "payload.age.armored": Array(Age.armor(age).utf8),
            "comment.txt": Array(
                "sealgate/1 unit=HCM-U001 package=0193a1c2-0000-7000-8000-000000000001 seq=1 kind=snapshot created=2026-11-27T08:00:00Z to=3f9a0c1d2b4e5f60"
                    .utf8),
            "manifest.json": Manifest(
                unit: "HCM-U001", package: "0193a1c2-0000-7000-8000-000000000001", seq: 1, kind: .files,
                created: "2026-11-27T08:00:00Z", schema: "none", files: [.init(name: "a", sha256: String(repeating: "0", count: 64), records: 0)]
            ).json,
        ]
    }

    @Test func seedsGoThroughEveryParserWithoutCrashing() throws {
        let inputs = try Self.seeds()
        if let dest = ProcessInfo.processInfo.environment["SEALGATE_WRITE_FUZZ_SEEDS"] {
            for (name, bytes) in inputs { _ = FileManager.default.createFile(atPath: "\(dest)/\(name)", contents: Data(bytes)) }
        }
        for (_, bytes) in inputs.sorted(by: { $0.key < $1.key }) {
            bytes.withUnsafeBytes { ParserFuzzing.exercise($0) }
        }
        // The seed package really is openable by the fuzz identity (so the fuzzer starts deep).
        let dir = TempDir()
        let path = dir.write("p.sgp", inputs["package.sgp"]!)
        let h = try PackageHeader(path: path, source: try FileSource(path: path))
        #expect(h.comment.to == [ParserFuzzing.recipient.fingerprint])
    }
}
