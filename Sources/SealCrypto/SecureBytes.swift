internal import CSodium
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Owned storage for one secret: keys, file keys, passphrases, derived keys.
///
/// The bytes live in libsodium guarded memory (`sodium_malloc`: guard pages, locked when the
/// system allows), are wiped on release, compare in constant time, and are reachable only inside
/// `withUnsafeBytes`/`withUnsafeMutableBytes` closures: there is no accessor that hands out an
/// array, a `Data` or a `String`, and `description` never shows them.
public final class SecureBytes: @unchecked Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    private let pointer: UnsafeMutableRawPointer
    /// Number of bytes held.
    public let count: Int

    /// Zero-filled secret storage of `count` bytes.
    public init(count: Int) {
        Sodium.ensureInitialized()
        precondition(count >= 0)
        if let kept = SecureBlocks.take(size: max(count, 1)) {
            self.pointer = kept  // wiped when it was given back
        } else {
            guard let p = sodium_malloc(max(count, 1)) else {
                fatalError("sodium_malloc failed: out of memory")
            }
            sodium_memzero(p, max(count, 1))
            self.pointer = p
        }
        self.count = count
    }

    /// `count` fresh random bytes.
    public convenience init(random count: Int) {
        self.init(count: count)
        SecureRandom.fill(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// A secret copied from a raw buffer (the caller wipes its own copy if it had one).
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        if let base = bytes.baseAddress, bytes.count > 0 {
            pointer.copyMemory(from: base, byteCount: bytes.count)
        }
    }

    /// A secret assembled from other secrets and public bytes, in order.
    public convenience init(concatenating parts: [SecureBytes]) {
        self.init(count: parts.reduce(0) { $0 + $1.count })
        var offset = 0
        for part in parts {
            part.withUnsafeBytes { src in
                if let base = src.baseAddress, src.count > 0 {
                    (pointer + offset).copyMemory(from: base, byteCount: src.count)
                }
            }
            offset += part.count
        }
    }

    deinit {
        sodium_memzero(pointer, max(count, 1))
        if !SecureBlocks.keep(pointer, size: max(count, 1)) {
            sodium_free(pointer)  // wipes the whole allocation (and checks its canary) before releasing it
        }
    }

    /// Read access to the secret, valid only inside `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Write access to the secret, valid only inside `body`.
    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// A new secret holding bytes `range` of this one.
    public func slice(_ range: Range<Int>) -> SecureBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        return SecureBytes(copying: UnsafeRawBufferPointer(start: pointer + range.lowerBound, count: range.count))
    }

    /// True when every byte is zero (constant time).
    public var isAllZero: Bool {
        sodium_is_zero(pointer.assumingMemoryBound(to: UInt8.self), count) == 1
    }

    /// Constant-time comparison of contents; lengths are compared first (lengths are not secret).
    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.count == 0 { return true }
        return sodium_memcmp(lhs.pointer, rhs.pointer, lhs.count) == 0
    }

    /// Constant-time comparison with public bytes.
    public func constantTimeEquals(_ other: UnsafeRawBufferPointer) -> Bool {
        guard other.count == count else { return false }
        guard count > 0, let base = other.baseAddress else { return true }
        return sodium_memcmp(pointer, base, count) == 0
    }

    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
}

/// Guarded allocations of secrets released lately, wiped, kept for the next secret of the same
/// size. Each `sodium_malloc` maps pages, makes guard pages (`mprotect`), locks them (`mlock`)
/// and `sodium_free` undoes it all (`munmap`, which makes every core flush its TLB): some 30
/// system calls for the five keys a package's unwrap and decryption derive. A block kept here
/// stays mapped, guarded and locked, holds zeros until it is handed out again, and has the size
/// it had (libsodium puts the bytes against the trailing guard page). Only keys' sizes (16, 32,
/// 48, 64 bytes), at most `perSize` blocks of each: 64 locked pages at most (256 KiB with 4 KiB
/// pages), kept for the process's life. A kept block is not handed to `sodium_free`, whose
/// canary check is then made only when the pool is full.
enum SecureBlocks {
    static let perSize = 16

    private struct Kept: @unchecked Sendable {  // the pointers are owned here, touched under the lock only
        var bySize: [[UnsafeMutableRawPointer]] = [[], [], [], []]
    }
    private static let kept = Mutex(Kept())

    /// The class of a size kept, or nil.
    private static func slot(_ size: Int) -> Int? { size % 16 == 0 && size <= 64 ? size / 16 - 1 : nil }

    /// A kept block of exactly `size` bytes (all zero), if there is one.
    static func take(size: Int) -> UnsafeMutableRawPointer? {
        guard let i = slot(size) else { return nil }
        return kept.withLock { k in k.bySize[i].popLast() }
    }

    /// Keeps a wiped block for reuse; false when it is not kept (the caller frees it).
    static func keep(_ block: UnsafeMutableRawPointer, size: Int) -> Bool {
        guard let i = slot(size) else { return false }
        return kept.withLock { k in
            guard k.bySize[i].count < perSize else { return false }
            k.bySize[i].append(block)
            return true
        }
    }

    /// Blocks of `size` kept now (tests).
    static func count(size: Int) -> Int { slot(size).map { i in kept.withLock { $0.bySize[i].count } } ?? 0 }
}

/// Constant-time comparison of two public buffers of equal length (MACs, tags, checksums).
public func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    Sodium.ensureInitialized()
    guard a.count == b.count else { return false }
    guard a.count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
    return sodium_memcmp(pa, pb, a.count) == 0
}

/// Constant-time comparison of two byte arrays of equal length.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in constantTimeEqual(pa, pb) } }
}

/// Overwrites a buffer with zeros in a way the compiler does not elide.
public func secureZero(_ buffer: UnsafeMutableRawBufferPointer) {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    sodium_memzero(base, buffer.count)
}

/// API tokens: made in secure memory, shown once, stored only as SHA-256.
public enum SecretToken {
    /// `prefix` + base64url of 24 random bytes, in secure memory.
    public static func generate(prefix: String = "sgt_") -> SecureBytes {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        let random = SecureBytes(random: 24)
        let p = Array(prefix.utf8)
        let out = SecureBytes(count: p.count + 32)
        out.withUnsafeMutableBytes { o in
            for (i, c) in p.enumerated() { o[i] = c }
            random.withUnsafeBytes { r in
                var j = p.count
                var i = 0
                while i < 24 {
                    let n = UInt32(r[i]) << 16 | UInt32(r[i + 1]) << 8 | UInt32(r[i + 2])
                    o[j] = alphabet[Int(n >> 18 & 63)]
                    o[j + 1] = alphabet[Int(n >> 12 & 63)]
                    o[j + 2] = alphabet[Int(n >> 6 & 63)]
                    o[j + 3] = alphabet[Int(n & 63)]
                    i += 3
                    j += 4
                }
            }
        }
        return out
    }

    /// Lower-case hex SHA-256 of a token (what the store keeps).
    public static func hash(_ token: SecureBytes) -> String {
        hexString(token.withUnsafeBytes { SHA256Hasher.hash($0) })
    }

    /// Writes the token and a newline to a file descriptor (standard output) from secure memory.
    public static func write(_ token: SecureBytes, to fd: Int32) {
        token.withUnsafeBytes { b in _ = Glibc.write(fd, b.baseAddress, b.count) }
        _ = Glibc.write(fd, "\n", 1)
    }
}
