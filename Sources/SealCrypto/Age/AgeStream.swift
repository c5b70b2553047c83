import SealBase

/// age's payload encryption: STREAM over ChaCha20-Poly1305 with 64 KiB plaintext chunks.
/// (Sendable so it can be handed to a worker thread; use one instance on one thread at a time.)
/// Each chunk's nonce is an 11-byte big-endian counter and a last-chunk flag, so chunks are
/// independent of one another: any chunk can be sealed or opened on any thread.
public final class AgeStreamCipher: @unchecked Sendable {
    public static let chunkSize = 64 * 1024
    public static let tagSize = 16
    public static let sealedChunkSize = chunkSize + tagSize
    public static let nonceSize = 16

    private let aead: ChaChaPoly
    private let payloadKey: SecureBytes

    /// Derives the payload key from the file key and the 16-byte payload nonce.
    public init(fileKey: SecureBytes, nonce: [UInt8]) throws {
        precondition(nonce.count == Self.nonceSize)
        payloadKey = try HKDFSHA256.derive(ikm: fileKey, salt: nonce, info: Array("payload".utf8), length: 32)
        aead = try ChaChaPoly(key: payloadKey)
    }

    private init(payloadKey: SecureBytes) throws {
        self.payloadKey = payloadKey
        aead = try ChaChaPoly(key: payloadKey)
    }

    /// An independent cipher with the same key, for another thread.
    public func copy() throws -> AgeStreamCipher { try AgeStreamCipher(payloadKey: payloadKey) }

    @inline(__always)
    private static func withNonce<R>(_ index: UInt64, _ last: Bool, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var n: (UInt64, UInt32) = (0, 0)
        return try withUnsafeMutableBytes(of: &n) { raw in
            // bytes 0…2 zero, 3…10 the big-endian counter, 11 the flag
            for i in 0..<8 { raw[3 + i] = UInt8(index >> (8 * UInt64(7 - i)) & 0xff) }
            raw[11] = last ? 1 : 0
            return try body(UnsafeRawBufferPointer(rebasing: raw[0..<12]))
        }
    }

    /// Seals one chunk (≤ 64 KiB; only the last may be shorter, and only an empty payload's
    /// single chunk may be empty) into `output` (plaintext.count + 16 bytes).
    public func seal(index: UInt64, last: Bool, plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        try Self.withNonce(index, last) { try aead.seal(nonce: $0, plaintext: plaintext, into: output) }
    }

    /// Opens one chunk; false when its tag does not verify under this index and flag.
    public func open(index: UInt64, last: Bool, ciphertext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> Bool {
        try Self.withNonce(index, last) { try aead.open(nonce: $0, ciphertext: ciphertext, into: output) }
    }

    /// Ciphertext length of a payload of `plaintextLength` bytes (without header and nonce).
    public static func sealedLength(plaintextLength: UInt64) -> UInt64 {
        let chunks = plaintextLength == 0 ? 1 : (plaintextLength + UInt64(chunkSize) - 1) / UInt64(chunkSize)
        return plaintextLength + chunks * UInt64(tagSize)
    }

    /// The `age_payload_corrupt` error with a reason.
    public static func payloadError(_ why: String) -> SealError {
        SealError(
            .agePayloadCorrupt, "age payload is corrupt: \(why)",
            remedy: "the encrypted data was altered or truncated; ask the sender to seal it again")
    }
}
