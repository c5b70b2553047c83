internal import COpenSSL
import SealBase

/// Streaming SHA-256 over OpenSSL's EVP interface (SHA-NI where the CPU has it).
public final class SHA256Hasher {
    private let ctx: OpaquePointer
    public static let byteCount = 32

    public init() {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
        self.ctx = ctx
        precondition(EVP_DigestInit_ex2(ctx, OpenSSL.sha256, nil) == 1, "SHA-256 init failed")
    }

    deinit { EVP_MD_CTX_free(ctx) }

    /// Adds bytes to the hash.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        precondition(EVP_DigestUpdate(ctx, bytes.baseAddress, bytes.count) == 1)
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest; the hasher takes no more bytes until `reset`.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        precondition(EVP_DigestFinal_ex(ctx, &out, &len) == 1 && len == 32)
        return out
    }

    /// Starts a new hash on the same context (after `finalize`, or to drop what was added):
    /// many short hashes without a context allocated for each.
    public func reset() {
        precondition(EVP_DigestInit_ex2(ctx, OpenSSL.sha256, nil) == 1, "SHA-256 init failed")
    }

    /// One-shot SHA-256.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let h = SHA256Hasher()
        h.update(bytes)
        return h.finalize()
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { hash($0) } }
}

/// HMAC-SHA256 over OpenSSL's EVP_MAC.
public enum HMACSHA256 {
    public static let byteCount = 32

    /// HMAC-SHA256 of `message` under `key`.
    public static func authenticate(key: SecureBytes, message: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard let ctx = EVP_MAC_CTX_new(OpenSSL.hmac) else {
            throw SealError(.cryptoFailure, "EVP_MAC_CTX_new failed", remedy: "report this as a bug")
        }
        defer { EVP_MAC_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: 32)
        var outLen = 0
        try "SHA256".withCString { digest in
            var params: [OSSL_PARAM] = [
                OSSL_PARAM_construct_utf8_string(OpenSSL.name("digest"), UnsafeMutablePointer(mutating: digest), 0),
                OSSL_PARAM_construct_end(),
            ]
            try key.withUnsafeBytes { k in
                // An empty key is legal for HMAC; OpenSSL wants a non-null pointer.
                var zero: UInt8 = 0
                let kp = k.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? withUnsafeMutablePointer(to: &zero) { UnsafePointer($0) }
                try OpenSSL.check(EVP_MAC_init(ctx, kp, k.count, &params), "HMAC init")
            }
            if message.count > 0 {
                try OpenSSL.check(EVP_MAC_update(ctx, message.baseAddress!.assumingMemoryBound(to: UInt8.self), message.count), "HMAC update")
            }
            try OpenSSL.check(EVP_MAC_final(ctx, &out, &outLen, 32), "HMAC final")
        }
        return Array(out.prefix(outLen))
    }

    public static func authenticate(key: SecureBytes, message: [UInt8]) throws -> [UInt8] {
        try message.withUnsafeBytes { try authenticate(key: key, message: $0) }
    }
}

/// HKDF-SHA256 (RFC 5869) over OpenSSL's EVP_KDF.
public enum HKDFSHA256 {
    /// Derives `length` bytes from `ikm` with `salt` and `info`. Throws if OpenSSL refuses
    /// (for example `length` over 255 × 32).
    public static func derive(ikm: SecureBytes, salt: [UInt8], info: [UInt8], length: Int) throws -> SecureBytes {
        guard let ctx = EVP_KDF_CTX_new(OpenSSL.hkdf) else {
            throw SealError(.cryptoFailure, "EVP_KDF_CTX_new failed", remedy: "report this as a bug")
        }
        defer { EVP_KDF_CTX_free(ctx) }
        let out = SecureBytes(count: length)
        var saltCopy = salt.isEmpty ? [UInt8(0)] : salt
        var infoCopy = info.isEmpty ? [UInt8(0)] : info
        try "SHA256".withCString { digest in
            try ikm.withUnsafeBytes { k in
                var zero: UInt8 = 0
                try withUnsafeMutablePointer(to: &zero) { zp in
                    let keyPtr = UnsafeMutableRawPointer(mutating: k.baseAddress) ?? UnsafeMutableRawPointer(zp)
                    try saltCopy.withUnsafeMutableBytes { s in
                        try infoCopy.withUnsafeMutableBytes { i in
                            // An empty salt or info is left out: RFC 5869 treats a missing salt as
                            // HashLen zero bytes, and OpenSSL refuses zero-length octet params.
                            var params: [OSSL_PARAM] = [
                                OSSL_PARAM_construct_utf8_string(OpenSSL.name("digest"), UnsafeMutablePointer(mutating: digest), 0),
                                OSSL_PARAM_construct_octet_string(OpenSSL.name("key"), keyPtr, k.count),
                            ]
                            if !salt.isEmpty { params.append(OSSL_PARAM_construct_octet_string(OpenSSL.name("salt"), s.baseAddress, salt.count)) }
                            if !info.isEmpty { params.append(OSSL_PARAM_construct_octet_string(OpenSSL.name("info"), i.baseAddress, info.count)) }
                            params.append(OSSL_PARAM_construct_end())
                            try out.withUnsafeMutableBytes { o in
                                var one: UInt8 = 0
                                let op = o.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? withUnsafeMutablePointer(to: &one) { $0 }
                                try OpenSSL.check(EVP_KDF_derive(ctx, op, o.count, &params), "HKDF derive")
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
