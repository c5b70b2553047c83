import Foundation
import SealBase
import Testing

@testable import SealCrypto

/// The post-quantum hybrid recipient type (`mlkem768x25519`): keys as text and back, a file
/// sealed to a hybrid recipient opened by its identity and by no other, and age's rule that a
/// hybrid recipient is not mixed with a classical one.
struct AgeHybridTests {
    @Test func keysRoundTripAsText() throws {
        let identity = try AgeHybridIdentity.generate()
        let text = identity.encoded()
        let again = try text.withUnsafeBytes { try AgeHybridIdentity(encoded: $0) }
        #expect(again.recipient == identity.recipient)
        #expect(text.withUnsafeBytes { $0.starts(with: Array("AGE-SECRET-KEY-PQ-1".utf8)) })
        let recipient = identity.recipient.string
        #expect(recipient.hasPrefix("age1pq1") && recipient.count == 1959, "\(recipient.count) characters")
        #expect(try AgeHybridRecipient(string: recipient) == identity.recipient)
        #expect(identity.recipient.fingerprint.count == 16)
        // Neither an X25519 recipient nor a damaged one is taken for a hybrid recipient.
        let x25519 = try AgeX25519Identity.generate().recipient.string
        for bad in [x25519, String(recipient.dropLast()), recipient.replacingOccurrences(of: "age1pq1", with: "age1pq2")] {
            #expect(throws: SealError.self) { _ = try AgeHybridRecipient(string: bad) }
        }
        #expect(!identity.description.contains(String(decoding: text.withUnsafeBytes { Array($0) }, as: UTF8.self)))
    }

    @Test func aFileSealedToAHybridRecipientOpensWithItsIdentityOnly() throws {
        let identity = try AgeHybridIdentity.generate()
        let other = try AgeHybridIdentity.generate()
        let plaintext = Array("party members, for decades".utf8) + SecureRandom.bytes(100_000)
        var sealed = [UInt8]()
        try Age.encrypt(to: [identity.recipient, other.recipient], from: MemorySource(plaintext), to: { sealed += $0 })
        #expect(String(decoding: sealed.prefix(200), as: UTF8.self).contains("-> mlkem768x25519 "))
        for id in [identity, other] {
            var opened = [UInt8]()
            try Age.decrypt(with: [id], from: MemorySource(sealed), to: { opened += $0 })
            #expect(opened == plaintext)
        }
        let stranger = try AgeHybridIdentity.generate()
        let code = try #require(
            sealError { try Age.decrypt(with: [stranger, AgeX25519Identity.generate()], from: MemorySource(sealed), to: { _ in }) })
        #expect(code.code == .ageNoMatchingIdentity)
    }

    @Test func hybridAndClassicalRecipientsAreNotMixed() throws {
        let hybrid = try AgeHybridIdentity.generate().recipient
        let classical = try AgeX25519Identity.generate().recipient
        let error = sealError { try Age.encrypt(to: [hybrid, classical], from: MemorySource([1, 2, 3]), to: { _ in }) }
        #expect(error?.code == .ageRecipientsMixed)
        #expect(throws: Never.self) { try AgeRecipients.checkMixing([hybrid, hybrid]) }
        #expect(throws: Never.self) { try AgeRecipients.checkMixing([classical]) }
    }
}

/// The error `body` throws, if a `SealError`.
private func sealError(_ body: () throws -> Void) -> SealError? {
    do { try body() } catch let e as SealError { return e } catch { return nil }
    return nil
}
