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
