internal import COpenSSL
import SealBase

/// ChaCha20-Poly1305 (RFC 8439, 12-byte nonce, 16-byte tag) over OpenSSL's EVP interface,
/// which measures ≈1.8 GB/s here against libsodium 1.0.18's ≈1.0 GB/s (see docs/benchmarks.md).
///
/// One instance holds one key and reuses its cipher contexts across messages; it is not
/// thread-safe: give each thread its own (`copy()`).
public final class ChaChaPoly: @unchecked Sendable {
    public static let keyByteCount = 32
    public static let nonceByteCount = 12
    public static let tagByteCount = 16

    private let encryptCtx: OpaquePointer
    private let decryptCtx: OpaquePointer
    private let key: SecureBytes

    /// Prepares contexts for `key` (32 bytes).
    public init(key: SecureBytes) throws {
        guard key.count == Self.keyByteCount else {
            throw SealError(.cryptoFailure, "ChaCha20-Poly1305 key must be 32 bytes", remedy: "report this as a bug")
        }
        guard let e = EVP_CIPHER_CTX_new(), let d = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new failed") }
        encryptCtx = e
        decryptCtx = d
        self.key = key
        try key.withUnsafeBytes { k in
            let kp = k.baseAddress!.assumingMemoryBound(to: UInt8.self)
            try OpenSSL.check(EVP_EncryptInit_ex2(e, OpenSSL.chacha20Poly1305, kp, nil, nil), "ChaCha20-Poly1305 init")
            try OpenSSL.check(EVP_DecryptInit_ex2(d, OpenSSL.chacha20Poly1305, kp, nil, nil), "ChaCha20-Poly1305 init")
        }
    }

    deinit {
        EVP_CIPHER_CTX_free(encryptCtx)  // OpenSSL cleanses the key schedule
        EVP_CIPHER_CTX_free(decryptCtx)
    }

    /// An independent instance with the same key, for another thread.
    public func copy() throws -> ChaChaPoly { try ChaChaPoly(key: key) }

    /// Encrypts `plaintext` into `output` (which must hold plaintext.count + 16 bytes: ciphertext ‖ tag).
    public func seal(
        nonce: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer? = nil,
        into output: UnsafeMutableRawBufferPointer
    ) throws {
        precondition(nonce.count == Self.nonceByteCount && output.count >= plaintext.count + Self.tagByteCount)
        let ctx = encryptCtx
        try OpenSSL.check(EVP_EncryptInit_ex2(ctx, nil, nil, nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), nil), "ChaCha20-Poly1305 nonce")
        var outLen: Int32 = 0
        if let aad, aad.count > 0 {
            try OpenSSL.check(
                EVP_EncryptUpdate(ctx, nil, &outLen, aad.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(aad.count)), "ChaCha20-Poly1305 aad")
        }
        let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var written = 0
        if plaintext.count > 0 {
            try OpenSSL.check(
                EVP_EncryptUpdate(ctx, out, &outLen, plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(plaintext.count)),
                "ChaCha20-Poly1305 encrypt")
            written = Int(outLen)
        }
        try OpenSSL.check(EVP_EncryptFinal_ex(ctx, out + written, &outLen), "ChaCha20-Poly1305 final")
        written += Int(outLen)
        precondition(written == plaintext.count)
        try OpenSSL.check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + written), "ChaCha20-Poly1305 tag")
    }

    /// Decrypts `ciphertext` (ciphertext ‖ tag) into `output` (ciphertext.count − 16 bytes).
    /// Returns false — and leaves `output` wiped — when the tag does not verify.
    public func open(
        nonce: UnsafeRawBufferPointer, ciphertext: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer? = nil,
        into output: UnsafeMutableRawBufferPointer
    ) throws -> Bool {
        precondition(nonce.count == Self.nonceByteCount)
        guard ciphertext.count >= Self.tagByteCount else { return false }
        let bodyCount = ciphertext.count - Self.tagByteCount
        precondition(output.count >= bodyCount)
        let ctx = decryptCtx
        try OpenSSL.check(EVP_DecryptInit_ex2(ctx, nil, nil, nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), nil), "ChaCha20-Poly1305 nonce")
        var outLen: Int32 = 0
        if let aad, aad.count > 0 {
            try OpenSSL.check(
                EVP_DecryptUpdate(ctx, nil, &outLen, aad.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(aad.count)), "ChaCha20-Poly1305 aad")
        }
        let input = ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var scratch: UInt8 = 0
        let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? withUnsafeMutablePointer(to: &scratch) { $0 }
        var written = 0
        if bodyCount > 0 {
            try OpenSSL.check(EVP_DecryptUpdate(ctx, out, &outLen, input, Int32(bodyCount)), "ChaCha20-Poly1305 decrypt")
            written = Int(outLen)
        }
        try OpenSSL.check(
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, UnsafeMutableRawPointer(mutating: input + bodyCount)), "ChaCha20-Poly1305 set tag")
        let ok = EVP_DecryptFinal_ex(ctx, out + written, &outLen) == 1
        ERR_clear_error()
        if !ok {
            secureZero(UnsafeMutableRawBufferPointer(start: out, count: bodyCount))
        }
        return ok
    }
}
