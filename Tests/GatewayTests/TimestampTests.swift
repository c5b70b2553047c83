import GatewayStore
import SealCrypto
import SealPackage
import Testing

@testable import GatewayCore
@testable import SealBase

/// Times are compared as moments, not as text.
struct TimestampTests {
    @Test func onlyValidMomentsAreMoments() {
        #expect(Timestamp("2026-12-01T00:00:00Z")?.unixSeconds == 1_796_083_200)
        #expect(Timestamp("2028-02-29T12:00:00Z") != nil)
        for bad in ["2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-01 00:00:00Z", "2026-12-01T00:00:00+07:00", "garbage", "", "9999999999"]
        {
            #expect(Timestamp(bad) == nil, "\(bad)")
        }
        let t = Timestamp(unixSeconds: 1_796_083_200)
        #expect(t.text == "2026-12-01T00:00:00Z" && Timestamp(t.text) == t)
        // Every moment's text reads back: a leap second is the next minute's first, except on the
        // last minute of 9999, whose next is a year the text cannot hold (a unit's package time
        // stored as `10000-…` would make every listing of it unreadable).
        for leap in ["2026-06-30T23:59:60Z", "2026-12-31T23:59:60Z", "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z"] {
            let m = Timestamp(leap)
            #expect(m.flatMap { Timestamp($0.text) } == m && m != nil, "\(leap)")
        }
        #expect(Timestamp("9999-12-31T23:59:60Z") == nil)
        #expect(t < t.adding(seconds: 1) && t.adding(seconds: -1) < t)
    }

    /// The text written digit by digit is the text of its padded pieces, for every second of a
    /// spread of moments from year 0 to 9999 (and years of other lengths, written as before).
    @Test func aMomentsTextIsItsPaddedPieces() {
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        var seconds: [Int64] = [0, -1, 1, 59, 60, 3_599, 86_399, 951_782_400, 1_796_083_200, 253_402_300_799, 253_402_300_800, -62_167_219_200]
        seconds.append(-62_167_219_201)
        for _ in 0..<20_000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            seconds.append(Int64(x % 315_537_897_600) - 62_167_219_200)  // 0000-01-01 … 9999-12-31
        }
        for s in seconds {
            let fast = Timestamp.text(unixSeconds: s)
            #expect(fast == Timestamp.paddedText(unixSeconds: s), "\(s)")
            if (-62_167_219_200...253_402_300_799).contains(s) { #expect(Timestamp(fast)?.unixSeconds == s, "\(s): \(fast)") }
        }
    }

    /// A replaced key's grace is a moment: compared as text, "garbage" sorted after every date and
    /// made the key good. A stored time that is not a moment is never read as one (a damaged row is
    /// a `store_failure`: StoreConformance.refusesUnknownStates); a package's own time that is not
    /// one never makes a key good.
    @Test func aKeysGraceIsAMoment() throws {
        let created = Timestamp.now.adding(seconds: -3600)
        func key(_ state: UnitKeyState, switched: Timestamp?, until: Timestamp?, compromised: Timestamp? = nil) -> UnitKeyRecord {
            UnitKeyRecord(
                keyId: "K", unitId: "U", publicKey: "RW", state: state, addedAt: moment("2026-01-01T00:00:00Z"), switchedAt: switched,
                validUntil: until,
                compromisedAt: compromised)
        }
        let later = Timestamp.now.adding(seconds: 86_400)
        let earlier = Timestamp.now.adding(seconds: -60)
        func check(_ k: UnitKeyRecord, _ made: Timestamp?) throws { try IntakeAdmission.checkKey(k, created: made, at: .now) }
        try check(key(.retiring, switched: later, until: later), created)
        #expect(throws: SealError.self) { try check(key(.retiring, switched: later, until: earlier), created) }
        #expect(throws: SealError.self) { try check(key(.retiring, switched: later, until: nil), created) }
        #expect(throws: SealError.self) { try check(key(.retiring, switched: nil, until: later), created) }
        #expect(throws: SealError.self) { try check(key(.revoked, switched: nil, until: nil, compromised: nil), created) }
        #expect(throws: SealError.self) { try check(key(.retiring, switched: later, until: later), "not a time".moment) }
    }

    /// A unit key rotation statement keeps its `created` line as written (the signed text) and holds
    /// it as a moment; one whose time is not a moment is refused, signed by both keys or not.
    @Test func aRotationStatementsTimeIsAMoment() throws {
        let old = MinisignSecretKey.generate()
        let new = MinisignSecretKey.generate()
        let made = try UnitKeyRotation.make(unit: "U", old: old, new: new, created: moment("2026-11-29T04:10:00Z"))
        let read = try UnitKeyRotation(json: made.json)
        #expect(read.created == moment("2026-11-29T04:10:00Z") && read.statement.contains("created: 2026-11-29T04:10:00Z\n"))
        let body = UnitKeyRotation.text(unit: "U", old: old.publicKey, new: new.publicKey, created: "2026-11-29 04:10")
        func signed(_ key: MinisignSecretKey) throws -> JSON {
            .string(try key.sign(prehash: BLAKE2bHasher.hash(Array(body.utf8)), trustedComment: "t", untrustedComment: "u").fileContents)
        }
        let damaged = JSON.object(["statement": .string(body), "old_signature": try signed(old), "new_signature": try signed(new)])
        #expect(throws: SealError.self) { try UnitKeyRotation(json: damaged) }
        do { _ = try UnitKeyRotation(json: damaged) } catch let e as SealError { #expect(e.code == .rotationInvalid) }
    }
}
