import Foundation
import Testing

@testable import SealCrypto

/// Project Wycheproof runners. Each asserts that valid vectors give the expected output AND
/// that invalid vectors fail; "acceptable" vectors may go either way but must never give a
/// wrong answer.
struct WycheproofTests {
    struct File: Decodable {
        let algorithm: String
        let testGroups: [Group]
    }
    struct Group: Decodable {
        let ivSize: Int?
        let keySize: Int?
        let tagSize: Int?
        let publicKey: PublicKey?
        let tests: [Case]
    }
    struct PublicKey: Decodable { let pk: String }
    struct Case: Decodable {
        let tcId: Int
        let result: String
        let flags: [String]?
        // AEAD
        let key: String?
        let iv: String?
        let aad: String?
        let msg: String?
        let ct: String?
        let tag: String?
        // EdDSA
        let sig: String?
        // XDH
        let `public`: String?
        let `private`: String?
        let shared: String?
        // HKDF
        let ikm: String?
        let salt: String?
        let info: String?
        let size: Int?
        let okm: String?
    }

    static func load(_ name: String) throws -> File {
        let url = TestPaths.vectors.appendingPathComponent("wycheproof/\(name)")
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
    }

    @Test func chacha20Poly1305() throws {
        let file = try Self.load("chacha20_poly1305_test.json")
        var valid = 0
        var invalid = 0
        for g in file.testGroups {
            for t in g.tests {
                let key = hex(t.key!)
                let iv = hex(t.iv!)
                let aad = hex(t.aad!)
                let msg = hex(t.msg!)
                let ct = hex(t.ct!)
                let tag = hex(t.tag!)
                // Our API takes only 96-bit nonces and 256-bit keys: anything else is refused up front.
                guard iv.count == 12, key.count == 32, tag.count == 16 else {
                    #expect(t.result != "valid", "tc \(t.tcId): a valid vector with unsupported sizes")
                    invalid += 1
                    continue
                }
                let aead = try ChaChaPoly(key: key.withUnsafeBytes { SecureBytes(copying: $0) })
                var out = [UInt8](repeating: 0, count: msg.count)
                let ok = try iv.withUnsafeBytes { n in
                    try (ct + tag).withUnsafeBytes { c in
                        try aad.withUnsafeBytes { a in try out.withUnsafeMutableBytes { try aead.open(nonce: n, ciphertext: c, aad: a, into: $0) } }
                    }
                }
                if t.result == "valid" {
                    #expect(ok && out == msg, "tc \(t.tcId) should open")
                    var sealed = [UInt8](repeating: 0, count: msg.count + 16)
                    try iv.withUnsafeBytes { n in
                        try msg.withUnsafeBytes { m in
                            try aad.withUnsafeBytes { a in
                                try sealed.withUnsafeMutableBytes { try aead.seal(nonce: n, plaintext: m, aad: a, into: $0) }
                            }
                        }
                    }
                    #expect(sealed == ct + tag, "tc \(t.tcId) seal output")
                    valid += 1
                } else if t.result == "invalid" {
                    #expect(!ok, "tc \(t.tcId) (\(t.flags ?? [])) must be rejected")
                    invalid += 1
                }
            }
        }
        #expect(valid > 0 && invalid > 0)
    }

    @Test func ed25519() throws {
        let file = try Self.load("ed25519_test.json")
        var valid = 0
        var invalid = 0
        for g in file.testGroups {
            let pk = hex(g.publicKey!.pk)
            for t in g.tests {
                let ok = Ed25519.verify(signature: hex(t.sig!), message: hex(t.msg!), publicKey: pk)
                if t.result == "valid" {
                    #expect(ok, "tc \(t.tcId) should verify")
                    valid += 1
                }
                if t.result == "invalid" {
                    #expect(!ok, "tc \(t.tcId) (\(t.flags ?? [])) must be rejected")
                    invalid += 1
                }
            }
        }
        #expect(valid > 0 && invalid > 0)
    }

    @Test func x25519() throws {
        let file = try Self.load("x25519_test.json")
        var valid = 0
        var refused = 0
        for g in file.testGroups {
            for t in g.tests {
                let priv = hex(t.private!)
                let pub = hex(t.public!)
                let shared = hex(t.shared!)
                let result: [UInt8]?
                do {
                    let s = try X25519.sharedSecret(secret: priv.withUnsafeBytes { SecureBytes(copying: $0) }, peer: pub)
                    result = s.withUnsafeBytes { Array($0) }
                } catch { result = nil }
                switch t.result {
                case "valid":
                    #expect(result == shared, "tc \(t.tcId) shared secret")
                    valid += 1
                case "invalid":
                    #expect(result == nil || result != shared, "tc \(t.tcId) must be refused")
                    refused += 1
                default:  // acceptable: either refused (only when the result would be all-zero) or right
                    if let result {
                        #expect(result == shared, "tc \(t.tcId) acceptable but wrong")
                    } else {
                        #expect(shared.allSatisfy { $0 == 0 }, "tc \(t.tcId) refused although the shared secret is not zero")
                        refused += 1
                    }
                }
            }
        }
        #expect(valid > 0 && refused > 0)
    }

    @Test func hkdfSHA256() throws {
        let file = try Self.load("hkdf_sha256_test.json")
        var valid = 0
        var invalid = 0
        for g in file.testGroups {
            for t in g.tests {
                let ikm = hex(t.ikm!).withUnsafeBytes { SecureBytes(copying: $0) }
                if t.result == "valid" {
                    let out = try HKDFSHA256.derive(ikm: ikm, salt: hex(t.salt!), info: hex(t.info!), length: t.size!)
                    #expect(out.withUnsafeBytes { Array($0) } == hex(t.okm!), "tc \(t.tcId)")
                    valid += 1
                } else if t.result == "invalid" {
                    // The invalid vectors ask for more than 255 hash lengths: refused, coded.
                    #expect(
                        "tc \(t.tcId) must be refused",
                        performing: { _ = try HKDFSHA256.derive(ikm: ikm, salt: hex(t.salt!), info: hex(t.info!), length: t.size!) },
                        throws: { ($0 as? SealError)?.code == .cryptoFailure || ($0 as? SealError)?.code == .usage })
                    invalid += 1
                }
            }
        }
        #expect(valid > 0 && invalid > 0)
    }

    @Test func hmacSHA256() throws {
        let file = try Self.load("hmac_sha256_test.json")
        var valid = 0
        var invalid = 0
        for g in file.testGroups {
            let tagBytes = (g.tagSize ?? 256) / 8
            for t in g.tests {
                let key = hex(t.key!).withUnsafeBytes { SecureBytes(copying: $0) }
                let mac = try HMACSHA256.authenticate(key: key, message: hex(t.msg!))
                let ok = constantTimeEqual(Array(mac.prefix(tagBytes)), hex(t.tag!))
                if t.result == "valid" {
                    #expect(ok, "tc \(t.tcId)")
                    valid += 1
                }
                if t.result == "invalid" {
                    #expect(!ok, "tc \(t.tcId) must not verify")
                    invalid += 1
                }
            }
        }
        #expect(valid > 0 && invalid > 0)
    }
}
