internal import COpenSSL
import SealBase

/// Helpers shared by the OpenSSL wrappers.
enum OpenSSL {
    /// The SHA-256 message digest, fetched once.
    nonisolated(unsafe) static let sha256: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("OpenSSL: SHA256 unavailable") }
        return md
    }()

    nonisolated(unsafe) static let chacha20Poly1305: OpaquePointer = {
        guard let c = EVP_CIPHER_fetch(nil, "ChaCha20-Poly1305", nil) else {
            fatalError("OpenSSL: ChaCha20-Poly1305 unavailable")
        }
        return c
    }()

    nonisolated(unsafe) static let hkdf: OpaquePointer = {
        guard let k = EVP_KDF_fetch(nil, "HKDF", nil) else { fatalError("OpenSSL: HKDF unavailable") }
        return k
    }()

    nonisolated(unsafe) static let hmac: OpaquePointer = {
        guard let m = EVP_MAC_fetch(nil, "HMAC", nil) else { fatalError("OpenSSL: HMAC unavailable") }
        return m
    }()

    /// A parameter name with a stable address (OSSL_PARAM keeps the pointer, so a bridged
    /// temporary C string would dangle).
    static func name(_ s: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// The last OpenSSL error as text (never contains key material), clearing the queue.
    static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "unknown OpenSSL error" }
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buf, buf.count)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func check(_ ok: Int32, _ what: String) throws {
        if ok != 1 {
            throw SealError(.cryptoFailure, "\(what) failed in OpenSSL", remedy: "report this as a bug", cause: ErrorDetail(lastError()))
        }
    }
}
