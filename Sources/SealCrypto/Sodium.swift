internal import CSodium

/// libsodium's one-time initialisation; every entry point that calls libsodium goes through
/// `Sodium.ensureInitialized()` (cheap after the first call).
enum Sodium {
    private static let initialized: Bool = {
        sodium_init() >= 0
    }()

    static func ensureInitialized() {
        precondition(initialized, "libsodium failed to initialise")
    }
}

/// Cryptographically secure random bytes from libsodium.
public enum SecureRandom {
    /// Fills `buffer` with random bytes.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        Sodium.ensureInitialized()
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        randombytes_buf(base, buffer.count)
    }

    /// Returns `count` random public bytes (nonces, salts, ids). For secrets use `SecureBytes(random:)`.
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { fill($0) }
        return out
    }
}
