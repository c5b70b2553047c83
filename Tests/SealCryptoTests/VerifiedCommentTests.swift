import Testing

@testable import SealCrypto

/// `VerifiedComment`: the trusted comment's signature verified once (the gateway's precheck) is
/// not verified again by `verify` — only for the very signature and key it was verified with.
@Suite struct VerifiedCommentTests {
    let key = MinisignSecretKey.generate()
    let prehash = [UInt8](repeating: 7, count: 64)

    func signature(_ comment: String) throws -> MinisignSignature {
        try key.sign(prehash: prehash, trustedComment: comment)
    }

    @Test func theVerifiedSignatureGoesOnWithItsData() throws {
        let sig = try signature("unit:HCM-U001 seq:1")
        let verified = try sig.verifyComment(publicKey: key.publicKey)
        try sig.verify(publicKey: key.publicKey, prehash: prehash, verifiedComment: verified)
        // The data's signature is still checked.
        #expect(throws: SealError.self) {
            try sig.verify(publicKey: key.publicKey, prehash: [UInt8](repeating: 8, count: 64), verifiedComment: verified)
        }
    }

    @Test func anotherCommentUnderTheSameSignatureIsVerifiedAgainAndRefused() throws {
        let sig = try signature("unit:HCM-U001 seq:1")
        let verified = try sig.verifyComment(publicKey: key.publicKey)
        // The comment changed after the check (the file read again differs): its global
        // signature no longer verifies, and the proof of the first check does not stand for it.
        let altered = MinisignSignature(
            algorithm: sig.algorithm, keyId: sig.keyId, signature: sig.signature, untrustedComment: sig.untrustedComment,
            trustedComment: "unit:HCM-U001 seq:2", globalSignature: sig.globalSignature)
        do {
            try altered.verify(publicKey: key.publicKey, prehash: prehash, verifiedComment: verified)
            Issue.record("an altered comment was taken on the proof of another one")
        } catch let e as SealError {
            #expect(e.code == .commentSignatureInvalid)
        }
    }

    /// A comment that is the same text to Swift (canonically equivalent: KELVIN SIGN for K) but
    /// other bytes — the bytes are what is signed — is verified again, and refused.
    @Test func anEquivalentTextOfOtherBytesIsVerifiedAgain() throws {
        let sig = try signature("unit:HCM-UK01 seq:1")
        let verified = try sig.verifyComment(publicKey: key.publicKey)
        let altered = MinisignSignature(
            algorithm: sig.algorithm, keyId: sig.keyId, signature: sig.signature, untrustedComment: sig.untrustedComment,
            trustedComment: "unit:HCM-U\u{212A}01 seq:1", globalSignature: sig.globalSignature)
        #expect(altered.trustedComment == sig.trustedComment)
        do {
            try altered.verify(publicKey: key.publicKey, prehash: prehash, verifiedComment: verified)
            Issue.record("a comment of other bytes was taken on the proof of another one")
        } catch let e as SealError {
            #expect(e.code == .commentSignatureInvalid)
        }
    }
}
