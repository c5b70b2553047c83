internal import CSodium

/// Streaming BLAKE2b (libsodium's `crypto_generichash`), 1…64-byte output, optional key.
/// minisign uses BLAKE2b-512 for prehashed signatures and BLAKE2b-256 for key checksums.
/// `@unchecked Sendable` so a hasher can be handed to another thread; it is used by one thread
/// at a time (the pipeline's consumer), never concurrently.
public final class BLAKE2bHasher: @unchecked Sendable {
    private let state: UnsafeMutableRawPointer
    private let outputLength: Int

    /// A hasher producing `outputLength` bytes (64 for minisign prehash).
    public init(outputLength: Int = 64) {
        Sodium.ensureInitialized()
        precondition(outputLength >= 1 && outputLength <= 64)
        self.outputLength = outputLength
        state = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        precondition(crypto_generichash_init(OpaquePointer(state), nil, 0, outputLength) == 0)
    }

    deinit {
        sodium_memzero(state, crypto_generichash_statebytes())
        state.deallocate()
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        precondition(
            crypto_generichash_update(OpaquePointer(state), bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count)) == 0)
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outputLength)
        precondition(crypto_generichash_final(OpaquePointer(state), &out, outputLength) == 0)
        return out
    }

    /// One-shot BLAKE2b.
    public static func hash(_ bytes: UnsafeRawBufferPointer, outputLength: Int = 64) -> [UInt8] {
        let h = BLAKE2bHasher(outputLength: outputLength)
        h.update(bytes)
        return h.finalize()
    }
}

extension BLAKE2bHasher {
    /// One-shot BLAKE2b of an array (the pointer never leaves the closure).
    public static func hash(_ bytes: [UInt8], outputLength: Int = 64) -> [UInt8] {
        bytes.withUnsafeBytes { hash($0, outputLength: outputLength) }
    }
}
