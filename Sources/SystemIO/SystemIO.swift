#if canImport(Glibc)
    import Glibc
#endif

/// A system call that failed, with its `errno`. Each layer turns it into its own coded error
/// (`SealError.io`, `CSVIOError`), naming the file it was working on.
public struct SystemCallError: Error, Sendable, Equatable, CustomStringConvertible {
    public let errno: Int32
    public init(errno: Int32) { self.errno = errno }
    /// `strerror(errno)`.
    public var reason: String { String(cString: strerror(errno)) }
    public var description: String { reason }
}

/// The one place where reads and writes on a file descriptor are retried: after `EINTR`, and
/// after a short write, until every byte is written (or, for reads, until the buffer is full or
/// the file ends). Every module that does its own I/O goes through these.
public enum SystemIO {
    /// renameat2(2) with `RENAME_EXCHANGE`: swaps the names `a` and `b` at once (both must
    /// exist). Throws `ENOSYS` when the C library has no renameat2, and whatever the kernel
    /// returns — `EINVAL` where the file system cannot exchange, `ENOENT` when one is missing.
    public static func exchange(_ a: String, _ b: String) throws(SystemCallError) {
        guard let call = renameat2 else { throw SystemCallError(errno: ENOSYS) }
        let renameExchange: UInt32 = 2  // RENAME_EXCHANGE, linux/fs.h
        if call(AT_FDCWD, a, AT_FDCWD, b, renameExchange) != 0 { throw SystemCallError(errno: errno) }
    }

    /// Glibc's renameat2 (2.28+), looked up by name: Swift's Glibc module does not declare it.
    private static let renameat2: (@convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32)? = {
        guard let symbol = dlsym(nil, "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32).self)
    }()

    /// write(2) until all of `bytes` is written.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        guard var p = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = Glibc.write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(errno: errno)
            }
            p += n
            left -= n
        }
    }

    /// pwrite(2) until all of `bytes` is written at `offset`.
    public static func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(SystemCallError) {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let n = Glibc.pwrite(fd, base + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(errno: errno)
            }
            done += n
        }
    }

    /// read(2) once (retried after `EINTR`): the number of bytes read, 0 at the end of the file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fd, base, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw SystemCallError(errno: errno)
        }
    }

    /// read(2) until `buffer` is full or the file ends: the number of bytes read.
    public static func readFull(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let n = try read(fd, into: UnsafeMutableRawBufferPointer(start: base + done, count: buffer.count - done))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// pread(2) until `buffer` is full or the file ends: the number of bytes read.
    public static func preadFull(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(SystemCallError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let n = Glibc.pread(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }
}

extension SystemIO {
    /// `path` opened (read-only, close-on-exec) when this process may run code from it: a regular
    /// file owned by root or by `owner`, that neither group nor others can write, in a folder they
    /// cannot write either — never a file someone else could have put or changed there. Nil otherwise.
    public static func openTrusted(_ path: String, owner: UInt32) -> Int32? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        var dir = stat()
        let folder = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_mode & 0o022 == 0, st.st_uid == 0 || st.st_uid == owner,
            stat(folder.isEmpty ? "/" : folder, &dir) == 0, dir.st_mode & 0o022 == 0
        {
            return fd
        }
        close(fd)
        return nil
    }

    /// `path` opened when it is a program this process may run in its place (`openTrusted`, the
    /// owner of `ownPath` — this program — or root), executable, and not `ownPath`'s file itself.
    public static func openTrustedProgram(_ path: String, besides ownPath: String) -> Int32? {
        var own = stat()
        guard stat(ownPath, &own) == 0, let fd = openTrusted(path, owner: own.st_uid) else { return nil }
        var st = stat()
        if fstat(fd, &st) == 0, st.st_mode & 0o111 != 0, !(st.st_dev == own.st_dev && st.st_ino == own.st_ino) { return fd }
        close(fd)
        return nil
    }
}
