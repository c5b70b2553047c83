import Foundation
import SealBase
import SealCrypto
import Testing

@testable import SealPackage

/// Tampering, truncation, appended bytes, wrong keys and surreptitious forwarding: every one is
/// refused with a coded error by both `verify` and `open`, and `open` leaves nothing behind.
struct AttackTests {
    let f = Fixture()

    /// A package with a ~200 KiB payload (four STREAM chunks).
    func makePackage(_ dir: TempDir) throws -> (path: String, bytes: [UInt8], container: PackageContainer) {
        let p = dir.write("blob.bin", pseudoRandomBytes(200_000, seed: 42))
        let out = dir.file("good.sgp")
        _ = try Sealer.seal(
            SealRequest(
                unit: "HCM-U001", seq: 3, kind: .files, inputs: [.init(name: "blob.bin", path: p)], recipients: [f.dept.recipient], signer: f.unitA,
                output: out))
        let container = try PackageContainer(path: out, source: try FileSource(path: out))
        return (out, dir.read("good.sgp"), container)
    }

    /// Both readers refuse `bytes`; open writes nothing. Returns the codes seen.
    func expectRefused(_ dir: TempDir, _ bytes: [UInt8], _ label: String, signers: [MinisignPublicKey]? = nil) -> (SealErrorCode?, SealErrorCode?) {
        let path = dir.write("bad.sgp", bytes)
        let signers = signers ?? [f.unitA.publicKey]
        let v = sealError { _ = try Verifier.verify(path: path, signers: signers) }
        let o = sealError { _ = try Opener.open(OpenRequest(path: path, output: dir.file("out"), identities: [f.dept], signers: signers)) }
        #expect(o != nil, "open accepted \(label)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")), "open wrote output for \(label)")
        #expect(!dir.entries.contains { $0.contains(".partial-") }, "open left a partial folder for \(label)")
        // The same bytes held in memory (the gateway's small bodies) are refused with the same codes.
        let vm = sealError { _ = try Verifier.verify(path: "in memory", body: bytes, signers: signers) }
        var inMemory = OpenRequest(path: "in memory", output: nil, identities: [f.dept], signers: signers)
        inMemory.body = bytes
        let om = sealError { _ = try Opener.open(inMemory) }
        #expect(
            vm?.code == v?.code,
            "verify from memory: \(vm?.code.rawValue ?? "accepted"), from the file \(v?.code.rawValue ?? "accepted") for \(label)")
        #expect(
            om?.code == o?.code, "open from memory: \(om?.code.rawValue ?? "accepted"), from the file \(o?.code.rawValue ?? "accepted") for \(label)")
        return (v?.code, o?.code)
    }

    /// A package read from memory (`OpenRequest.body`, `Verifier.verify(body:)`) opens as its
    /// file does: the same comment, manifest and bytes.
    @Test func bytesInMemoryOpenAsTheFileDoes() throws {
        let dir = TempDir()
        let (path, good, _) = try makePackage(dir)
        let fromFile = try Opener.open(OpenRequest(path: path, output: dir.file("out"), identities: [f.dept], signers: [f.unitA.publicKey]))
        var request = OpenRequest(path: "in memory", output: nil, identities: [f.dept], signers: [f.unitA.publicKey])
        request.body = good
        request.captureFiles = true
        let fromMemory = try Opener.open(request)
        #expect(fromMemory.comment == fromFile.comment && fromMemory.manifest == fromFile.manifest)
        #expect(fromMemory.files["blob.bin"] == dir.read("out/blob.bin"))
        #expect(fromMemory.files["blob.bin"] == pseudoRandomBytes(200_000, seed: 42))
        let verified = try Verifier.verify(path: "in memory", body: good, signers: [f.unitA.publicKey])
        let onDisk = try Verifier.verify(path: path, signers: [f.unitA.publicKey])
        #expect(verified.header.container.payloadOffset == onDisk.header.container.payloadOffset)
        #expect(verified.header.container.payloadLength == onDisk.header.container.payloadLength)
        #expect(verified.header.stanzaTypes == onDisk.header.stanzaTypes && verified.comment == onDisk.comment)
        // Its head as parsed before is taken (not parsed again) and opens the same.
        request.header = verified.header
        let withHeader = try Opener.open(request)
        #expect(withHeader.manifest == fromFile.manifest && withHeader.files == fromMemory.files)
        // A head that is not of these bytes (another size) is not taken: the bytes' own is read,
        // and a flipped byte in them is refused as it is without one.
        var flipped = good + [UInt8](repeating: 0, count: 512)
        flipped[700] ^= 0x01
        request.body = flipped
        let withOther = sealError { _ = try Opener.open(request) }?.code
        request.header = nil
        let withNone = sealError { _ = try Opener.open(request) }?.code
        #expect(withOther != nil && withOther == withNone, "\(String(describing: withOther)) against \(String(describing: withNone))")
        // Nor for other bytes of the same size: a package.minisig changed (its untrusted comment,
        // which no signature covers, and a trailing byte of its padding made non-zero) is read
        // anew — the padding refused as without a head — not opened with the head of the first.
        var other = good
        let comment = Array("untrusted comment: ".utf8)
        let at = good.firstRange(of: comment)!.upperBound
        other[at] = other[at] == 0x41 ? 0x42 : 0x41
        request.body = other
        request.header = verified.header
        #expect(try Opener.open(request).manifest == fromFile.manifest, "the untrusted comment changed is still the package")
        let padAt = 512 + verified.header.container.signatureBytes.count
        other[padAt] = 0x01
        request.body = other
        let padWithHeader = sealError { _ = try Opener.open(request) }?.code
        request.header = nil
        let padWithout = sealError { _ = try Opener.open(request) }?.code
        #expect(padWithHeader == .containerMalformed && padWithout == .containerMalformed)
        // Another package of the same size (the same file sealed again: another id, another
        // signature) with the first one's head: its own head is read, and it opens as itself.
        let (_, second, _) = try makePackage(TempDir())
        try #require(second.count == good.count && second != good)
        request.body = second
        request.header = verified.header
        let opened = try Opener.open(request)
        #expect(opened.comment != verified.comment && opened.comment.package != verified.comment.package)
    }

    @Test func everySingleFlippedByteIsRefused() throws {
        let dir = TempDir()
        let (_, good, c) = try makePackage(dir)
        // The untrusted comment line of package.minisig is, by minisign's design, not signed:
        // changing it changes nothing. Every other byte is covered.
        let sigStart = 512
        let untrustedEnd = sigStart + (good[sigStart...].firstIndex(of: 0x0A)! - sigStart)
        let ageStart = Int(c.payloadOffset)
        let ageEnd = ageStart + Int(c.payloadLength)
        let headerEnd = ageStart + (good[ageStart...].firstRange(of: Array("---".utf8))!.lowerBound - ageStart) + 48
        var positions = Set<Int>()
        positions.formUnion(stride(from: 0, to: 512, by: 7))  // tar header 1
        // signature
        positions.formUnion(stride(from: untrustedEnd, to: sigStart + good[sigStart..<(sigStart + 1024)].lastIndex(of: 0x0A)! - sigStart + 1, by: 3))
        positions.formUnion(stride(from: ageStart - 512, to: ageStart, by: 5))  // tar header 2
        positions.formUnion(stride(from: ageStart, to: headerEnd + 16, by: 2))  // age header, MAC, nonce
        let cipherStart = headerEnd + 16
        for k in 0...4 {  // chunk boundaries and tags
            let b = cipherStart + k * 65_552
            positions.formUnion([b - 17, b - 16, b - 1, b, b + 1, b + 100].filter { $0 > cipherStart && $0 < ageEnd })
        }
        // end, padding, end blocks
        positions.formUnion([ageEnd - 1, ageEnd - 16, ageEnd, ageEnd + 3, good.count - 1024, good.count - 512, good.count - 1])
        positions = positions.filter { $0 < good.count && !($0 > sigStart && $0 < untrustedEnd) }
        #expect(positions.count >= 300, "only \(positions.count) positions")
        // What the spec allows at each place (the checks run in its order: container, signature
        // syntax and key, comment, signature over payload.age, then everything inside it).
        let sigEnd = sigStart + c.signatureBytes.count
        func allowed(_ pos: Int) -> Set<SealErrorCode> {
            switch pos {
            case ..<512, (ageStart - 512)..<ageStart: return [.containerMalformed]  // tar headers (checksummed)
            case untrustedEnd..<sigEnd:
                return [
                    .signatureMalformed, .keyUnknown, .signatureKeyMismatch, .commentMalformed, .commentSignatureInvalid, .signatureInvalid,
                    .containerMalformed,
                ]
            case sigEnd..<(ageStart - 512): return [.containerMalformed]  // package.minisig's padding
            case ageStart..<ageEnd: return [.signatureInvalid]  // anything in payload.age: the signature decides first
            default: return [.containerMalformed]  // padding and end blocks
            }
        }
        var codes = [String: Int]()
        for pos in positions.sorted() {
            var bad = good
            bad[pos] ^= 0x01 << UInt8(pos % 8)
            let (v, o) = expectRefused(dir, bad, "flip at \(pos)")
            let ok = allowed(pos)
            #expect(o.map(ok.contains) == true, "open at \(pos): \(o?.rawValue ?? "accepted"), allowed \(ok.map(\.rawValue).sorted())")
            #expect(v.map(ok.contains) == true, "verify at \(pos): \(v?.rawValue ?? "accepted"), allowed \(ok.map(\.rawValue).sorted())")
            codes[o?.rawValue ?? "none", default: 0] += 1
        }
        print("tamper: \(positions.count) positions refused; open codes: \(codes.sorted { $0.key < $1.key })")
    }

    @Test func truncationsAndAppendedBytesAreRefused() throws {
        let dir = TempDir()
        let (_, good, c) = try makePackage(dir)
        for cut in [
            0, 100, 511, 512, 1000, Int(c.payloadOffset) + 10, Int(c.payloadOffset) + 70_000, good.count - 1100, good.count - 1024, good.count - 512,
            good.count - 1,
        ] {
            let (v, o) = expectRefused(dir, Array(good.prefix(cut)), "truncated to \(cut)")
            #expect(
                v == .containerMalformed && o == .containerMalformed,
                "truncated to \(cut): verify \(v?.rawValue ?? "accepted"), open \(o?.rawValue ?? "accepted")")
        }
        for extra: [UInt8] in [[0x41], Array("garbage".utf8), [UInt8](repeating: 0, count: 10), [UInt8](repeating: 7, count: 512)] {
            let (v, o) = expectRefused(dir, good + extra, "appended \(extra.count) bytes")
            #expect(v == .containerMalformed && o == .containerMalformed)
        }
    }

    @Test func wrongKeysAndUnitsGiveTheirCodes() throws {
        let dir = TempDir()
        let (path, _, _) = try makePackage(dir)
        let stranger = try AgeX25519Identity.generate()
        #expect(sealError { _ = try Verifier.verify(path: path, signers: [f.unitB.publicKey]) }?.code == .keyUnknown)
        #expect(sealError { _ = try Verifier.verify(path: path, signers: [f.unitA.publicKey], expectedUnit: "HCM-U002") }?.code == .unitMismatch)
        #expect(
            sealError { _ = try Opener.open(OpenRequest(path: path, output: dir.file("o"), identities: [stranger], signers: [f.unitA.publicKey])) }?
                .code == .recipientNotAccepted)
        // Accepting the fingerprint but holding the wrong identity: age finds no match.
        #expect(
            sealError {
                _ = try Opener.open(
                    OpenRequest(
                        path: path, output: dir.file("o"), identities: [stranger], signers: [f.unitA.publicKey],
                        acceptedFingerprints: [f.dept.recipient.fingerprint]))
            }?.code == .ageNoMatchingIdentity)
        #expect(sealError { _ = try Verifier.verify(path: path, signers: [f.unitA.publicKey]) } == nil)
        #expect(
            sealError {
                _ = try Opener.open(
                    OpenRequest(path: path, output: dir.file("o"), identities: [f.dept], signers: [f.unitA.publicKey], maxBytes: 100_000))
            }?.code == .packageTooLarge)
        _ = dir.write("o2", [])
        #expect(
            sealError { _ = try Opener.open(OpenRequest(path: path, output: dir.file("o2"), identities: [f.dept], signers: [f.unitA.publicKey])) }?
                .code == .outputExists)
    }

    /// Unit B takes unit A's payload.age, signs it with B's key under B's unit id, and submits.
    @Test func surreptitiousForwardingIsRefused() throws {
        let dir = TempDir()
        let (_, good, c) = try makePackage(dir)
        let payload = Array(good[Int(c.payloadOffset)..<Int(c.payloadOffset + c.payloadLength)])
        let original = try MinisignSignature(fileContents: c.signatureBytes)
        var comment = try TrustedComment(parsing: original.trustedComment)
        comment.unit = "HCM-U002"
        let sig = try f.unitB.sign(prehash: payload.withUnsafeBytes { BLAKE2bHasher.hash($0) }, trustedComment: comment.text)
        let sigBytes = Array(sig.fileContents.utf8)
        var forged =
            Tar.header(name: "package.minisig", size: UInt64(sigBytes.count), mtime: 0) + sigBytes
            + [UInt8](repeating: 0, count: Tar.padding(UInt64(sigBytes.count)))
        forged +=
            Tar.header(name: "payload.age", size: UInt64(payload.count), mtime: 0) + payload
            + [UInt8](repeating: 0, count: Tar.padding(UInt64(payload.count)) + 1024)
        let path = dir.write("forged.sgp", forged)
        // The signature itself is B's and valid…
        #expect(sealError { _ = try Verifier.verify(path: path, signers: [f.unitB.publicKey], expectedUnit: "HCM-U002") } == nil)
        // …but the encrypted manifest names A: refused on open, nothing written.
        let e = sealError {
            _ = try Opener.open(
                OpenRequest(path: path, output: dir.file("o"), identities: [f.dept], signers: [f.unitB.publicKey], expectedUnit: "HCM-U002"))
        }
        #expect(e?.code == .manifestMismatch)
        #expect(!FileManager.default.fileExists(atPath: dir.file("o")))
    }

    /// Another wrapping of the same signed package (record padding, a new untrusted comment, tar
    /// headers of other times) has the same signature and verifies; one signature, trusted
    /// comment or global-signature byte changed is another signature. A payload changed under
    /// the same signature lines is what `sameSignature` cannot tell — verification refuses it,
    /// which is why the gateway compares only bodies it verified.
    @Test func rewrappedCopiesHaveTheSameSignature() throws {
        let dir = TempDir()
        let (_, good, c) = try makePackage(dir)
        let payload = Array(good[Int(c.payloadOffset)..<Int(c.payloadOffset + c.payloadLength)])
        let original = try MinisignSignature(fileContents: c.signatureBytes)
        func wrap(_ sig: MinisignSignature, _ payload: [UInt8], mtime: UInt64 = 7, trailing: Int = 0) -> [UInt8] {
            let sigBytes = Array(sig.fileContents.utf8)
            return Tar.header(name: "package.minisig", size: UInt64(sigBytes.count), mtime: mtime) + sigBytes
                + [UInt8](repeating: 0, count: Tar.padding(UInt64(sigBytes.count)))
                + Tar.header(name: "payload.age", size: UInt64(payload.count), mtime: mtime) + payload
                + [UInt8](repeating: 0, count: Tar.padding(UInt64(payload.count)) + 1024 + trailing)
        }
        func container(_ bytes: [UInt8]) throws -> PackageContainer {
            try PackageContainer(path: "copy", source: FileSource(bytes: bytes, path: "copy"))
        }
        func verifies(_ bytes: [UInt8]) -> Bool {
            sealError { _ = try Verifier.verify(path: "copy", body: bytes, signers: [f.unitA.publicKey]) } == nil
        }
        let renamed = MinisignSignature(
            algorithm: original.algorithm, keyId: original.keyId, signature: original.signature, untrustedComment: "forwarded by someone",
            trustedComment: original.trustedComment, globalSignature: original.globalSignature)
        for copy in [good, good + [UInt8](repeating: 0, count: 512), wrap(original, payload, trailing: 10_240), wrap(renamed, payload)] {
            let other = try container(copy)
            #expect(PackageContainer.sameSignature(c, other) && PackageContainer.sameSignature(other, c))
            #expect(verifies(copy))
        }
        var s = original.signature
        s[5] ^= 1
        var g = original.globalSignature
        g[60] ^= 1
        var k = original.keyId
        k[0] ^= 1
        let others: [(String, MinisignSignature)] = [
            (
                "signature",
                MinisignSignature(
                    algorithm: original.algorithm, keyId: original.keyId, signature: s, untrustedComment: original.untrustedComment,
                    trustedComment: original.trustedComment, globalSignature: original.globalSignature)
            ),
            (
                "comment",
                MinisignSignature(
                    algorithm: original.algorithm, keyId: original.keyId, signature: original.signature, untrustedComment: original.untrustedComment,
                    trustedComment: original.trustedComment + " x=1", globalSignature: original.globalSignature)
            ),
            (
                "global signature",
                MinisignSignature(
                    algorithm: original.algorithm, keyId: original.keyId, signature: original.signature, untrustedComment: original.untrustedComment,
                    trustedComment: original.trustedComment, globalSignature: g)
            ),
            (
                "key id",
                MinisignSignature(
                    algorithm: original.algorithm, keyId: k, signature: original.signature, untrustedComment: original.untrustedComment,
                    trustedComment: original.trustedComment, globalSignature: original.globalSignature)
            ),
        ]
        for (label, sig) in others {
            #expect(!PackageContainer.sameSignature(c, try container(wrap(sig, payload))), "\(label)")
        }
        // The same signature lines over another payload: not told apart here, refused by verification.
        var p = payload
        p[payload.count / 2] ^= 1
        let tampered = wrap(original, p)
        #expect(PackageContainer.sameSignature(c, try container(tampered)))
        #expect(!verifies(tampered))
    }

    @Test func trustedCommentParsingIsStrict() throws {
        let good =
            "sealgate/1 unit=HCM-U001 package=0193a1c2-0000-7000-8000-000000000000 seq=42 kind=snapshot created=2026-11-27T08:00:00Z to=3f9a0c1d2b4e5f60"
        let c = try TrustedComment(parsing: good)
        #expect(c.seq == 42 && c.text == good)
        #expect(try TrustedComment(parsing: good + " future=1").extra.count == 1)
        let bad = [
            good.replacingOccurrences(of: "sealgate/1", with: "sealgate/2"),
            good.replacingOccurrences(of: "unit=HCM-U001 ", with: ""),
            good.replacingOccurrences(of: "unit=HCM-U001", with: "unit=hcm-u001"),
            good.replacingOccurrences(of: "seq=42", with: "seq=042"),
            good.replacingOccurrences(of: "seq=42", with: "seq=18446744073709551616"),
            good.replacingOccurrences(of: "kind=snapshot", with: "kind=other"),
            good.replacingOccurrences(of: "08:00:00Z", with: "08:00:00+07:00"),
            good.replacingOccurrences(of: "2026-11-27", with: "2026-02-30"),
            good.replacingOccurrences(of: "to=3f9a0c1d2b4e5f60", with: "to="),
            good.replacingOccurrences(of: "to=3f9a0c1d2b4e5f60", with: "to=3F9A0C1D2B4E5F60"),
            good.replacingOccurrences(of: "package=0193a1c2", with: "package=X193a1c2"),
            good + " seq=43",
            good.replacingOccurrences(of: "  ", with: " ").replacingOccurrences(of: " seq=42", with: "  seq=42"),
            good.replacingOccurrences(
                of: "unit=HCM-U001 package=0193a1c2-0000-7000-8000-000000000000", with: "package=0193a1c2-0000-7000-8000-000000000000 unit=HCM-U001"),
            good + " x=" + String(repeating: "a", count: 1024),
        ]
        for b in bad {
            #expect(sealError { _ = try TrustedComment(parsing: b) }?.code == .commentMalformed, "accepted: \(b.prefix(160))")
        }
    }

    @Test func csvRecordCounterFollowsRFC4180() {
        func count(_ s: String) -> UInt64 {
            var c = CSVRecordCounter()
            // Feed in odd-sized pieces to cross quote and line boundaries.
            let b = Array(s.utf8)
            var i = 0
            while i < b.count {
                let e = min(i + 3, b.count)
                b[i..<e].withUnsafeBytes { c.update($0) }
                i = e
            }
            return c.records
        }
        #expect(count("") == 0)
        #expect(count("a,b\n") == 0)
        #expect(count("a,b\n1,2\n") == 1)
        #expect(count("a,b\r\n1,2\r\n3,4") == 2)
        #expect(count("a,b\n\"x\ny\",\"he said \"\"hi\"\"\"\n2,3\n") == 2)
    }
}
