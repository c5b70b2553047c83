import SealBase
public import SealCrypto
import Synchronization
import SystemIO

#if canImport(Glibc)
    import Glibc
#endif

/// A body received into a new file: counted against a byte limit and hashed (SHA-256) as it
/// comes, written in order in batches, fsynced at the end and kept only then — a body refused
/// over the limit, a failed write or a body given up leaves no file. The way a body (a
/// request's, or a file handed in on media) reaches the gateway's spool: the intake and `sealgate
/// import` use it (a request body through `receive(_:offload:…)` in GatewayHTTP).
///
/// The file is created exclusively, mode 0600. Durability is the file's own: `finish()` fsyncs
/// it; its folder is synced by whoever gives it its final name (`renameDurably`).
///
/// `take` is cheap (count, hash, copy into the batch) and runs where the bytes arrive;
/// `writeBatch` and `finish` block on the disk and belong on a pool thread.
///
/// Plainly `Sendable`: the descriptor, the count, the hasher and the batch live in a `Mutex`. The
/// owner's calls come one after another (each awaited before the next), so the lock is never
/// contended in use; it is held across a write or an fsync so that a call made out of turn waits
/// rather than interleave bytes or close the file under a write.
public final class BodySpooler: Sendable {
    public let path: String
    /// The most bytes taken; one more is `package_too_large`.
    public let limit: UInt64
    /// A batch this large is ready to be written (`take` returns true).
    public let batchBytes: Int

    private struct State {
        var fd: Int32
        var size: UInt64 = 0
        var batch: [UInt8] = []
        var hasher: SHA256Hasher? = SHA256Hasher()
        /// Kept (`finish`) or removed (`discard`): nothing more is taken.
        var done = false
        var kept: Spooled?
    }
    private let state: Mutex<State>

    /// What was received: the file (kept), its size and SHA-256.
    public struct Spooled: Sendable {
        public let path: String
        public let size: UInt64
        public let sha256: String
    }

    /// Creates `path` (it must not exist) for a body of at most `limit` bytes.
    public convenience init(creating path: String, limit: UInt64, batchBytes: Int = 1 << 20) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SealError.io("cannot create \(path)", errno: errno) }
        self.init(path: path, fd: fd, limit: limit, batchBytes: batchBytes)
    }

    /// Over a descriptor already open on `path` (the tests hand it one that cannot be written).
    init(path: String, fd: Int32, limit: UInt64, batchBytes: Int) {
        self.path = path
        self.limit = limit
        self.batchBytes = max(1, batchBytes)
        state = Mutex(State(fd: fd))
    }

    deinit { discard() }

    /// The bytes taken so far.
    public var size: UInt64 { state.withLock { $0.size } }

    /// The body once `finish` kept it; nil before.
    public var kept: Spooled? { state.withLock { $0.kept } }

    /// Counts, hashes and keeps the next bytes in the batch. Returns true when the batch is
    /// ready to be written (`writeBatch`). Past the limit the file is removed and the body refused
    /// (`package_too_large`); nothing is taken after `finish` or `discard`.
    public func take(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        let (limit, batchBytes) = (self.limit, self.batchBytes)
        let ready: Bool? = try state.withLock { s in
            guard !s.done else { throw SealError.io("cannot write \(path): the body was already kept or given up", errno: EBADF) }
            let (total, overflow) = s.size.addingReportingOverflow(UInt64(bytes.count))
            s.size = total
            if overflow || total > limit { return nil }
            let start = s.batch.count
            s.batch.append(contentsOf: bytes)
            // Hashed from the batch (the caller's buffer never meets the hasher's region).
            if let hasher = s.hasher { s.batch.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[start...])) } }
            return s.batch.count >= batchBytes
        }
        guard let ready else {
            discard()
            throw SealError(.packageTooLarge, "body over the limit of \(limit) bytes", remedy: "split the data into several packages")
        }
        return ready
    }

    /// Writes the batch taken so far (blocking: on a pool thread). A failed write is thrown as
    /// `io_error`; the caller then gives the body up (`discard`).
    public func writeBatch() throws {
        try state.withLock { s in try Self.write(&s, path: path) }
    }

    /// Writes what is left, fsyncs and closes the file and keeps it (blocking: on a pool thread).
    @discardableResult
    public func finish() throws -> Spooled {
        let path = self.path
        return try state.withLock { s in
            guard !s.done, let hasher = s.hasher else {
                throw SealError.io("cannot write \(path): the body was already kept or given up", errno: EBADF)
            }
            try Self.write(&s, path: path)
            guard fsync(s.fd) == 0 else { throw SealError.io("cannot sync \(path)", errno: errno) }
            close(s.fd)
            s.fd = -1
            s.done = true
            s.hasher = nil
            let kept = Spooled(path: path, size: s.size, sha256: hexString(hasher.finalize()))
            s.kept = kept
            return kept
        }
    }

    /// Reads `source` to its end into a new file `path` (at most `limit` bytes): counted, hashed,
    /// fsynced and kept — a package file handed in on media (`sealgate import`), a body written out
    /// (`sealgate spool export`). Nothing is left behind if it fails.
    public static func copy(_ source: any ByteSource, to path: String, limit: UInt64) throws -> Spooled {
        let spooler = try BodySpooler(creating: path, limit: limit)
        var buffer = [UInt8](repeating: 0, count: spooler.batchBytes)
        do {
            while true {
                let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
                if n == 0 { break }
                if try buffer.withUnsafeBytes({ try spooler.take(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) { try spooler.writeBatch() }
            }
            return try spooler.finish()
        } catch {
            spooler.discard()
            throw error
        }
    }

    /// Closes and removes the file unless it was kept. Safe to call more than once.
    public func discard() {
        let remove: Bool = state.withLock { s in
            if s.fd >= 0 {
                close(s.fd)
                s.fd = -1
            }
            s.batch = []
            s.hasher = nil
            defer { s.done = true }
            return !s.done
        }
        if remove { unlink(path) }
    }

    private static func write(_ s: inout State, path: String) throws {
        guard !s.batch.isEmpty else { return }
        try s.batch.withUnsafeBytes { try writeAll(s.fd, $0, what: path) }
        s.batch.removeAll(keepingCapacity: true)
    }
}
