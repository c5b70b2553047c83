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

    /// `sig` with its trusted comment replaced by `text` (its global signature left as it was).
    static func comment(_ text: String, under sig: MinisignSignature) -> MinisignSignature {
        MinisignSignature(
            algorithm: sig.algorithm, keyId: sig.keyId, signature: sig.signature, untrustedComment: sig.untrustedComment, trustedComment: text,
            globalSignature: sig.globalSignature)
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
        let altered = Self.comment("unit:HCM-U001 seq:2", under: sig)
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
        let altered = Self.comment("unit:HCM-U\u{212A}01 seq:1", under: sig)
        #expect(altered.trustedComment == sig.trustedComment)
        do {
            try altered.verify(publicKey: key.publicKey, prehash: prehash, verifiedComment: verified)
            Issue.record("a comment of other bytes was taken on the proof of another one")
        } catch let e as SealError {
            #expect(e.code == .commentSignatureInvalid)
        }
    }

    /// `VerifiedSignature`: both signatures verified over a prehash (the gateway's admission) are
    /// not verified again for the same signature, key and prehash (its decision reads the same
    /// bytes) — and stand for nothing else: another prehash (the payload read differs), another
    /// key, another comment under the same data signature are verified, and refused.
    @Test func aVerifiedSignatureStandsOnlyForItsPrehashKeyAndComment() throws {
        let sig = try signature("unit:HCM-U001 seq:1")
        let proof = try sig.verify(publicKey: key.publicKey, prehash: prehash)
        try sig.verify(publicKey: key.publicKey, prehash: prehash, verified: proof)
        Self.refused(.signatureInvalid, "another payload was taken on the proof of this one") {
            try sig.verify(publicKey: key.publicKey, prehash: [UInt8](repeating: 8, count: 64), verified: proof)
        }
        let other = try MinisignSecretKey.generate().sign(prehash: prehash, trustedComment: "unit:HCM-U001 seq:1")
        let forged = MinisignSignature(
            algorithm: other.algorithm, keyId: key.publicKey.keyId, signature: other.signature, untrustedComment: other.untrustedComment,
            trustedComment: other.trustedComment, globalSignature: other.globalSignature)
        Self.refused(.signatureInvalid, "another signature was taken on the proof of this one") {
            try forged.verify(publicKey: key.publicKey, prehash: prehash, verified: proof)
        }
        Self.refused(.commentSignatureInvalid, "an altered comment was taken on the proof of another one") {
            try Self.comment("unit:HCM-U001 seq:2", under: sig).verify(publicKey: key.publicKey, prehash: prehash, verified: proof)
        }
    }

    /// `body` must throw a SealError coded `code`; `what` names what it would mean if it did not.
    static func refused(_ code: SealErrorCode, _ what: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record(Comment(rawValue: what))
        } catch let e as SealError {
            #expect(e.code == code, "\(what): \(e.code)")
        } catch {
            Issue.record("not a SealError: \(error)")
        }
    }
}
