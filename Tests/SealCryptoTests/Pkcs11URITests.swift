import SealBase
import Testing

@testable import SealCrypto

/// The PKCS#11 URI (RFC 7512) of a signing key on a token: what is taken, and what is refused
/// without echoing what was typed (a mistyped pin-value would carry a PIN).
struct Pkcs11URITests {
    @Test func theAttributesOfASigningKeyAreRead() throws {
        let u = try Pkcs11URI("pkcs11:token=HCM%20U001;object=signing;id=%01%aB;serial=42;slot-id=3;type=private?module-path=/usr/lib/x.so")
        #expect(u.token == "HCM U001" && u.object == "signing" && u.id == [0x01, 0xAB] && u.serial == "42" && u.slotId == 3)
        #expect(u.modulePath == "/usr/lib/x.so")
    }

    @Test(arguments: [
        "pkcs11:token=t", "pkcs11:token=t;object=k;object=k2", "pkcs11:object=k;id=%+1", "pkcs11:object=k;id=%1", "pkcs11:object=k;slot-id=+5",
        "pkcs11:object=k;type=public", "pkcs11:object=k;nonsense=1", "pkcs11:object=k?pin-value=123456", "pkcs11:object=k?pin-value:123456",
        "pkcs11:object=k;pin-value123456", "pkcs11:object=%FF%FE", "tpm2:object=k",
    ])
    func whatIsNotAURIForASigningKeyIsRefused(_ text: String) {
        #expect(throws: SealError.self) { _ = try Pkcs11URI(text) }
        do { _ = try Pkcs11URI(text) } catch let e as SealError {
            #expect(e.code == .usage)
            #expect(!e.message.contains("123456") && !e.remedy.contains("123456"), "a PIN was echoed: \(e.message)")
        } catch {
            Issue.record("not a SealError: \(error)")
        }
    }
}
