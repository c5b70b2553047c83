import SealCrypto
import SealPackage
import Testing

/// The identifiers a package and the gateway make, written byte by byte: their text is what
/// the spec says, for every byte value.
@Suite struct IdentifierTests {
    @Test func aNewUUIDIsVersion7WithItsMillisecondsFirst() throws {
        let now: UInt64 = 0x0193_8A7B_C4D5
        for _ in 0..<200 {
            let id = PackageIdentifiers.newUUIDv7(now: now)
            #expect(PackageIdentifiers.isValidUUID(id), "\(id)")
            let b = Array(id.utf8)
            #expect(String(decoding: b[0..<8] + b[9..<13], as: UTF8.self) == "01938a7bc4d5", "\(id)")
            #expect(b[14] == UInt8(ascii: "7"), "version nibble of \(id)")
            #expect([UInt8]("89ab".utf8).contains(b[19]), "variant of \(id)")
        }
        // The random part is random: 200 ids in one millisecond, all different.
        #expect(Set((0..<200).map { _ in PackageIdentifiers.newUUIDv7(now: now) }).count == 200)
        #expect(PackageIdentifiers.newUUIDv7(now: 0).hasPrefix("00000000-0000-7"))
        #expect(PackageIdentifiers.newUUIDv7(now: 0xFFFF_FFFF_FFFF).hasPrefix("ffffffff-ffff-7"))
    }

    @Test func hexIsTheSameFromEveryKindOfCollection() {
        let all = (0...255).map(UInt8.init)
        let expected = all.map { b in
            let d = Array("0123456789abcdef".utf8)
            return String(decoding: [d[Int(b >> 4)], d[Int(b & 15)]], as: UTF8.self)
        }.joined()
        #expect(hexString(all) == expected)
        #expect(all.withUnsafeBytes { hexString($0) } == expected)
        // Not contiguous: the generic way.
        #expect(hexString(all.lazy.map { $0 }) == expected)
        #expect(hexString(all[16..<32]) == String(Array(expected.utf8)[32..<64].map { Character(UnicodeScalar($0)) }))
        #expect(hexString([UInt8]()).isEmpty)
    }
}
