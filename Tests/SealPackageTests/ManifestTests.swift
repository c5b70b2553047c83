import Foundation
import SealCrypto
import Testing

@testable import SealPackage

/// The manifest's two readers: its own encoding scanned (`Manifest.canonical`), anything else
/// parsed by Foundation (`parsedInFull`). Whatever the bytes, `init(json:)` answers as the full
/// parse does — the same manifest, or the same refusal.
struct ManifestTests {
    static let sample = Manifest(
        unit: "HCM-U001", package: "0194d1b2-7c3e-7a10-8f00-123456789abc", seq: 7, kind: .snapshot, created: "2026-12-07T09:00:00Z",
        schema: PackageKind.snapshot.schema,
        files: [
            .init(name: "organizations.csv", sha256: String(repeating: "ab", count: 32), records: 3),
            .init(name: "members.csv", sha256: String(repeating: "0f", count: 32), records: 41),
        ])

    /// What a reader made of `bytes`: the manifest, or the refusal's message.
    static func outcome(_ read: () throws -> Manifest) -> String {
        do { return String(describing: try read()) } catch let e as SealError { return "refused: \(e.code.rawValue) \(e.message)" } catch {
            return "other error: \(error)"
        }
    }

    @Test func itsOwnEncodingIsScannedAndReadsAsTheFullParse() throws {
        let bytes = Self.sample.json
        #expect(Manifest.canonical(bytes) == Self.sample)
        #expect(try Manifest(json: bytes) == Self.sample)
        #expect(try Manifest.parsedInFull(bytes) == Self.sample)
        // Another layout (spaces, keys reordered) is not scanned, and reads the same in full.
        let pretty = try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: Data(bytes)), options: [.prettyPrinted])
        #expect(Manifest.canonical([UInt8](pretty)) == nil)
        #expect(try Manifest(json: [UInt8](pretty)) == Self.sample)
        // A name with an escape in it: parsed in full.
        var escaped = Self.sample
        escaped.created = "2026-12-07T09:00:00Z\"x"
        #expect(Manifest.canonical(escaped.json) == nil)
        #expect(Self.outcome { try Manifest(json: escaped.json) } == Self.outcome { try Manifest.parsedInFull(escaped.json) })
    }

    @Test func everyFlippedByteAndEveryCutReadsAsTheFullParse() {
        let good = Self.sample.json
        var variants: [[UInt8]] = []
        for pos in good.indices {
            for bit in 0..<8 {
                var bad = good
                bad[pos] ^= 1 << UInt8(bit)
                variants.append(bad)
            }
            variants.append(Array(good.prefix(pos)))
        }
        // Shapes the scanner must not take differently: a repeated file, an upper-case or short
        // hash, a bad name, a leading zero, a number at and past 2^53, too many files.
        var repeated = Self.sample
        repeated.files.append(repeated.files[0])
        var upper = Self.sample
        upper.files[0].sha256 = upper.files[0].sha256.uppercased()
        var short = Self.sample
        short.files[1].sha256 = "abc"
        var badName = Self.sample
        badName.files[0].name = "../x.csv"
        var big = Self.sample
        big.seq = 1 << 53
        var bigger = Self.sample
        bigger.seq = (1 << 53) + 1
        var many = Self.sample
        many.files = (0...Manifest.maxFiles).map { .init(name: "f\($0).csv", sha256: String(repeating: "a", count: 64), records: 1) }
        for m in [repeated, upper, short, badName, big, bigger, many] { variants.append(m.json) }
        variants.append(Array(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"seq\":7", with: "\"seq\":007").utf8))
        var scanned = 0
        for v in variants {
            let fast = Self.outcome { try Manifest(json: v) }
            let full = Self.outcome { try Manifest.parsedInFull(v) }
            #expect(fast == full, "\(String(decoding: v, as: UTF8.self)): \(fast) against \(full)")
            if Manifest.canonical(v) != nil { scanned += 1 }
        }
        // Some variants are still a manifest's own encoding (a letter changed in a value): the
        // scanner took those, and answered as the full parse.
        #expect(scanned > 20, "only \(scanned) variants scanned")
    }
}

/// `jsonQuote`, which every signed document's text goes through.
struct JSONQuoteTests {
    @Test func everyControlCharacterQuoteAndBackslashIsEscapedAndNothingElse() throws {
        #expect(jsonQuote("a\"b\\c\nd\re\tf\u{01}g\u{1F}h") == #""a\"b\\c\nd\re\tf\u0001g\u001fh""#)
        #expect(jsonQuote("đảng ủy\n") == "\"đảng ủy\\n\"")
        #expect(jsonQuote("plain") == "\"plain\"")
        // Every character below 0x80 and a few beyond, alone and together: JSON that reads back
        // as the same text, with nothing but the escapes RFC 8259 requires.
        let scalars = (0..<0x80).map { Character(Unicode.Scalar($0)!) } + ["ä", "đ", "ủ", "€", "😀"]
        for text in scalars.map({ String($0) }) + [String(scalars)] {
            let quoted = jsonQuote(text)
            let back = try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: [.fragmentsAllowed]) as? String
            #expect(back == text, "\(quoted)")
            var appended = "x"
            jsonQuote(text, into: &appended)
            #expect(appended == "x" + quoted)
            var bytes: [UInt8] = [0x78]
            jsonQuote(text, into: &bytes)
            #expect(bytes == Array(("x" + quoted).utf8))
            let escapes = quoted.utf8.filter { $0 == 0x5C }.count
            // One backslash an escape, two for a backslash (`\\`).
            let needed = text.utf8.filter { $0 < 0x20 || $0 == 0x22 }.count + 2 * text.utf8.filter { $0 == 0x5C }.count
            #expect(escapes == needed, "\(quoted)")
        }
    }
}
