import SealCrypto
import SystemIO

#if canImport(Glibc)
    import Glibc
#endif

/// A file written aside (a hidden temporary name in the same folder) and renamed into place
/// only by `commit()`; removed on `abandon()` or release without commit.
final class AsideFile {
    let finalPath: String
    let tempPath: String
    let fd: Int32
    private var committed = false

    init(finalPath: String, mode: mode_t = 0o644) throws {
        self.finalPath = finalPath
        let (dir, base) = splitPath(finalPath)
        tempPath = "\(dir)/.\(base).partial-\(hexString(SecureRandom.bytes(6)))"
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SealError.io("cannot create a file beside \(finalPath)", errno: errno) }
        self.fd = fd
    }

    deinit { if !committed { abandon() } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try writeAll(fd, bytes, what: finalPath)
    }

    func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    func pwrite(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { b in
            do throws(SystemCallError) { try SystemIO.pwriteAll(fd, b, at: offset) } catch {
                throw SealError.io("cannot write \(finalPath)", errno: error.errno)
            }
        }
    }

    /// fsync, close, refuse to replace an existing file unless `replace`, rename into place, fsync the folder.
    func commit(replace: Bool = false) throws {
        guard fsync(fd) == 0 else { throw SealError.io("cannot sync \(finalPath)", errno: errno) }
        close(fd)
        if !replace && access(finalPath, F_OK) == 0 {
            unlink(tempPath)
            committed = true
            throw SealError(.outputExists, "\(finalPath) already exists", remedy: "choose another output path or remove the old file")
        }
        guard rename(tempPath, finalPath) == 0 else { throw SealError.io("cannot rename into \(finalPath)", errno: errno) }
        committed = true
        syncDirectory(of: finalPath)
    }

    func abandon() {
        if !committed {
            close(fd)
            unlink(tempPath)
            committed = true
        }
    }
}

/// A folder built aside and renamed into place only when complete.
final class AsideDirectory {
    let finalPath: String
    let tempPath: String
    private var committed = false

    init(finalPath: String) throws {
        self.finalPath = finalPath
        if access(finalPath, F_OK) == 0 {
            throw SealError(
                .outputExists, "\(finalPath) already exists", remedy: "choose a new output folder; open never writes into an existing one")
        }
        let (dir, base) = splitPath(finalPath)
        tempPath = "\(dir)/.\(base).partial-\(hexString(SecureRandom.bytes(6)))"
        guard mkdir(tempPath, 0o700) == 0 else { throw SealError.io("cannot create a folder beside \(finalPath)", errno: errno) }
        // Opened plaintext: the folder is 0700 whatever the umask (mkdir's mode is masked by it).
        chmod(tempPath, 0o700)
    }

    deinit { if !committed { abandon() } }

    func commit() throws {
        guard let d = opendir(tempPath) else { throw SealError.io("cannot read \(tempPath)", errno: errno) }
        closedir(d)
        guard rename(tempPath, finalPath) == 0 else {
            if errno == EEXIST || errno == ENOTEMPTY {
                throw SealError(.outputExists, "\(finalPath) appeared while opening", remedy: "choose a new output folder")
            }
            throw SealError.io("cannot rename into \(finalPath)", errno: errno)
        }
        committed = true
        syncDirectory(of: finalPath)
    }

    func abandon() {
        guard !committed else { return }
        committed = true
        if let d = opendir(tempPath) {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { raw in String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self)) }
                if name != "." && name != ".." { unlink("\(tempPath)/\(name)") }
            }
            closedir(d)
        }
        rmdir(tempPath)
    }
}

/// A path's folder ("." for a bare name) and last component.
public func splitPath(_ path: String) -> (dir: String, base: String) {
    var p = path
    while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
    guard let slash = p.lastIndex(of: "/") else { return (".", p) }
    let dir = String(p[..<slash])
    return (dir.isEmpty ? "/" : dir, String(p[p.index(after: slash)...]))
}

func syncDirectory(of path: String) {
    let fd = open(splitPath(path).dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 {
        fsync(fd)
        close(fd)
    }
}

/// fsyncs a folder, so that the names created, renamed or removed in it survive a crash.
public func syncFolder(_ dir: String) throws {
    let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw SealError.io("cannot open the folder \(dir)", errno: errno) }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw SealError.io("cannot sync the folder \(dir)", errno: errno) }
}

/// Renames `from` to `to` and fsyncs the folder(s): after it returns, a crash leaves `to`.
public func renameDurably(_ from: String, _ to: String) throws {
    guard rename(from, to) == 0 else { throw SealError.io("cannot rename \(from) to \(to)", errno: errno) }
    let (a, b) = (splitPath(from).dir, splitPath(to).dir)
    try syncFolder(b)
    if a != b { try syncFolder(a) }
}

/// Puts `spare` (written and fsynced) in the place of `path` in one step and syncs the folder.
/// Where both exist and the file system can, the two names are exchanged (`SystemIO.exchange`):
/// the old `path` is then at `spare` and no file was removed. Otherwise `spare` is renamed over
/// `path` (`renameDurably`).
public func swapDurably(_ spare: String, _ path: String) throws {
    if try swap(spare, path) { try syncFolder(splitPath(path).dir) }
}

/// `swapDurably` without the folder's sync after an exchange (a rename is still synced): true
/// when the names were exchanged. After a crash either name may hold either file — for a
/// reader that reads both and knows the newer (the log head).
@discardableResult
public func swap(_ spare: String, _ path: String) throws -> Bool {
    do throws(SystemCallError) {
        try SystemIO.exchange(spare, path)
        return true
    } catch {
        guard [ENOENT, EINVAL, ENOSYS, ENOTSUP, EXDEV].contains(error.errno) else {
            throw SealError.io("cannot swap \(spare) with \(path)", errno: error.errno)
        }
        try renameDurably(spare, path)
        return false
    }
}

/// A new file written in order and made durable: created exclusively (mode 0600), appended to,
/// fsynced, and removed again unless `keep()` is called. Written by one synchronous caller
/// (a backup, a log export, a checkpoint file): not `Sendable`. A request body streams through
/// `BodySpooler` instead.
public final class DurableFile {
    public let path: String
    private var fd: Int32
    private var kept = false

    public init(creating path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SealError.io("cannot create \(path)", errno: errno) }
    }

    public func append(_ bytes: UnsafeRawBufferPointer) throws { try writeAll(fd, bytes, what: path) }

    /// A new file at `path` holding `bytes`, fsynced and kept (its folder is synced by the caller
    /// where the name must survive a crash).
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let file = try DurableFile(creating: path)
        try bytes.withUnsafeBytes { try file.append($0) }
        try file.sync()
        file.keep()
    }

    /// fsyncs the file (its folder is synced by whoever gives it its final name).
    public func sync() throws { guard fsync(fd) == 0 else { throw SealError.io("cannot sync \(path)", errno: errno) } }

    /// Closes the file and keeps it.
    public func keep() {
        kept = true
        close(fd)
        fd = -1
    }

    /// Closes and removes the file.
    public func discard() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if !kept { unlink(path) }
        kept = true
    }

    deinit { discard() }
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, what: String) throws {
    do throws(SystemCallError) { try SystemIO.writeAll(fd, bytes) } catch { throw SealError.io("cannot write \(what)", errno: error.errno) }
}

/// Reads exactly `count` bytes at `offset` (fewer only at end of file).
public func preadFull(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: UInt64, path: String) throws -> Int {
    do throws(SystemCallError) { return try SystemIO.preadFull(fd, into: buffer, at: offset) } catch {
        throw SealError.io("cannot read \(path)", errno: error.errno)
    }
}

/// A file's identity for detecting changes between two reads.
struct FileStamp: Equatable {
    let size: UInt64
    let mtimeSec: Int
    let mtimeNsec: Int
    let inode: UInt64

    init(fd: Int32, path: String) throws {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SealError.io("cannot stat \(path)", errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw SealError(.usage, "\(path) is not a regular file", remedy: "give regular files to seal")
        }
        size = UInt64(st.st_size)
        mtimeSec = Int(st.st_mtim.tv_sec)
        mtimeNsec = Int(st.st_mtim.tv_nsec)
        inode = UInt64(st.st_ino)
    }
}

/// Starts writeback of a written range without waiting, so a later fsync has little left to do
/// (Linux `sync_file_range`; a no-op elsewhere).
func startWriteback(_ fd: Int32, offset: UInt64, length: Int) {
    #if os(Linux)
        if let f = syncFileRange { _ = f(fd, Int64(offset), Int64(length), 2) }  // SYNC_FILE_RANGE_WRITE
    #endif
}

#if os(Linux)
    /// glibc declares sync_file_range only under _GNU_SOURCE, which the Glibc module does not set;
    /// look the symbol up once instead.
    private typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    private let syncFileRange: SyncFileRange? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
        return unsafeBitCast(sym, to: SyncFileRange.self)
    }()
#endif
