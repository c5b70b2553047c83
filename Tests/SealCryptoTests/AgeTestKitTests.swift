import Foundation
import SealBase
import Testing

@testable import SealCrypto

/// The age test kit (C2SP CCTV, age/testdata, all of it): every vector gives exactly its expected
/// outcome with the identities it names — X25519, the post-quantum hybrid and passphrases. The
/// folder is a list to iterate, never a fixed count.
struct AgeTestKitTests {
    struct Vector {
        let name: String
        var fields: [String: String] = [:]
        var body: [UInt8] = []
    }

    static func load() throws -> [Vector] {
        let dir = TestPaths.ageVectors
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        return try names.map { name in
            let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(name)))
            var v = Vector(name: name)
            var i = 0
            while i < bytes.count {
                guard let nl = bytes[i...].firstIndex(of: 0x0A) else { break }
                let line = String(decoding: bytes[i..<nl], as: UTF8.self)
                i = nl + 1
                if line.isEmpty { break }
                if let colon = line.firstIndex(of: ":") {
                    let key = String(line[..<colon])
                    let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                    // Identities may repeat; keep all, newline-separated.
                    v.fields[key] = v.fields[key].map { $0 + "\n" + value } ?? value
                }
            }
            v.body = Array(bytes[i...])
            if v.fields["compressed"] == "zlib" { v.body = try zlibInflate(v.body) }
            return v
        }
    }

    /// The outcome class a SealError maps to, in the test kit's words.
    static func outcome(of code: SealErrorCode) -> String {
        switch code {
        case .ageArmorMalformed: return "armor failure"
        case .ageHeaderMalformed, .ageUnsupportedVersion: return "header failure"
        case .ageHeaderMACMismatch: return "HMAC failure"
        case .agePayloadCorrupt: return "payload failure"
        case .ageNoMatchingIdentity: return "no match"
        // A passphrase that opens no scrypt stanza: this code, for the clearer message.
        case .keyWrongPassphrase: return "no match"
        case .ageUnsupportedRecipient: return "unsupported recipient"
        default: return "other: \(code)"
        }
    }

    @Test func vectorFolderIsPresent() throws {
        let vectors = try Self.load()
        #expect(vectors.count > 0, "no vectors found in \(TestPaths.ageVectors.path)")
    }

    /// Every vector of the kit, with the identities it names — X25519, post-quantum hybrid
    /// (`mlkem768x25519`) and passphrase (scrypt) — gives exactly its expected outcome; none is
    /// skipped.
    @Test func everyVectorGivesItsExpectedOutcome() throws {
        var checked: [String: Int] = [:]
        let vectors = try Self.load()
        for v in vectors {
            let expect = v.fields["expect"] ?? ""
            let identityLines = (v.fields["identity"] ?? "").split(separator: "\n").map(String.init)
            var ids: [any AgeIdentity] = []
            for line in identityLines {
                if line.hasPrefix("AGE-SECRET-KEY-PQ-1") {
                    ids.append(try identitySecret(line).withUnsafeBytes { try AgeHybridIdentity(encoded: $0) })
                    checked["hybrid", default: 0] += 1
                } else {
                    ids.append(try identitySecret(line).withUnsafeBytes { try AgeX25519Identity(encoded: $0) })
                    checked["X25519", default: 0] += 1
                }
            }
            if let passphrase = v.fields["passphrase"] {
                ids.append(AgeScryptIdentity(passphrase: Array(passphrase.utf8).withUnsafeBytes { SecureBytes(copying: $0) }))
                checked["scrypt", default: 0] += 1
            }
            var plaintext = [UInt8]()
            var got = "success"
            do {
                try Age.decrypt(with: ids, from: MemorySource(v.body), to: { plaintext += $0 })
            } catch let e as SealError {
                got = Self.outcome(of: e.code)
            }
            #expect(got == expect, "\(v.name): expected \(expect), got \(got)")
            if expect == "success", got == "success", let payload = v.fields["payload"] {
                #expect(hexString(SHA256Hasher.hash(plaintext)) == payload, "\(v.name): payload hash")
            }
        }
        #expect(checked["hybrid", default: 0] > 0 && checked["X25519", default: 0] > 0 && checked["scrypt", default: 0] > 0)
        print("age test kit: \(vectors.count) vectors checked (identities: \(checked.sorted { $0.key < $1.key }))")
    }
}
