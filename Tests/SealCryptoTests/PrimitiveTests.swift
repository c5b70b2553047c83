import Testing

@testable import SealCrypto

struct PrimitiveTests {
    @Test func hkdfAndHmacWork() throws {
        let k = identitySecret("0123456789abcdef")
        do {
            let d = try HKDFSHA256.derive(ikm: k, salt: [], info: Array("header".utf8), length: 32)
            #expect(d.count == 32)
            let m = try HMACSHA256.authenticate(key: d, message: [1, 2, 3])
            #expect(m.count == 32)
        } catch let e as SealError { Issue.record("\(e.debugDescription)") }
    }
}

/// Secrets' guarded blocks are kept for reuse (`SecureBlocks`): a block must be wiped before it
/// serves the next secret.
struct SecureBlockTests {
    @Test func aNewSecretIsZeroEvenWhenItsBlockHeldAnotherSecret() {
        // 48 bytes: a size kept (no other test makes secrets of it), released and taken again in turn.
        for round in 0..<(SecureBlocks.perSize + 2) {
            let s = SecureBytes(count: 48)
            #expect(s.isAllZero, "round \(round): a new secret holds bytes of an old one")
            s.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0xA5) }
        }
        // Released blocks of that size were kept (the rounds above did reuse them).
        let kept = SecureBlocks.count(size: 48)
        #expect(kept >= 1)
    }
}
