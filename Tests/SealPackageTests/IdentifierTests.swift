import SealBase
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

/// A tar header read in place (`Tar.parseHeader`): both magics tar writes, a name of the whole
/// 100 bytes, and what is refused.
@Suite struct TarHeaderTests {
    /// `header` with bytes 257..<265 replaced by `magic` and the checksum made again.
    static func header(name: String, magic: [UInt8]? = nil, nameBytes: [UInt8]? = nil) -> [UInt8] {
        var h = Tar.header(name: name, size: 5, mtime: 0)
        if let magic { for (i, b) in magic.enumerated() { h[257 + i] = b } }
        if let nameBytes { for i in 0..<100 { h[i] = i < nameBytes.count ? nameBytes[i] : 0 } }
        for i in 148..<156 { h[i] = 0x20 }
        let sum = String(h.reduce(0) { $0 + UInt32($1) }, radix: 8)
        for (i, c) in (String(repeating: "0", count: 6 - sum.count) + sum).utf8.enumerated() { h[148 + i] = c }
        h[154] = 0
        return h
    }

    static func parse(_ h: [UInt8]) throws -> String? {
        let member = try h.withUnsafeBytes { try Tar.parseHeader($0) { SealError(.containerMalformed, $0, remedy: "seal it again") } }
        return member.map { "\($0.name) \($0.size)" }
    }

    @Test func bothMagicsAndAFullLengthNameAreRead() throws {
        #expect(try Self.parse(Self.header(name: "payload.age")) == "payload.age 5")
        let gnu = Array("ustar  ".utf8) + [0]
        #expect(try Self.parse(Self.header(name: "payload.age", magic: gnu)) == "payload.age 5")
        let long = String(repeating: "n", count: 96) + ".csv"
        #expect(try Self.parse(Self.header(name: long)) == "\(long) 5")
        #expect(try Self.parse([UInt8](repeating: 0, count: Tar.blockSize)) == nil)
    }

    @Test func anotherMagicOrANameThatIsNotUTF8IsRefused() {
        for magic in [Array("ustar\u{0}01".utf8), Array("ustar   ".utf8), Array("USTAR\u{0}00".utf8), [UInt8](repeating: 0, count: 8)] {
            #expect(throws: SealError.self, "\(magic)") { try Self.parse(Self.header(name: "a", magic: magic)) }
        }
        #expect(throws: SealError.self) { try Self.parse(Self.header(name: "a", nameBytes: [0x61, 0xFF, 0x62])) }
        #expect(throws: SealError.self) { try Self.parse(Self.header(name: "a", nameBytes: [0])) }
    }
}
