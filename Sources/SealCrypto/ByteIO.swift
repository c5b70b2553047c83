import SealBase
import SystemIO

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Something bytes are read from, a buffer at a time. `read` returns 0 only at the end.
public protocol ByteSource: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A file descriptor read with read(2), closed on release when it owns it — or a package's bytes
/// held whole in memory (`init(bytes:path:)`: `fd` is -1, and every read is a copy, no system
/// call). Readers that read at an offset use `positional`, which serves both.
public final class FileSource: ByteSource {
    /// The descriptor; -1 for bytes in memory.
    public let fd: Int32
    private let owns: Bool
    public let path: String
    /// The bytes, when held in memory, and how far `read` has read them.
    private let memory: [UInt8]?
    private var memoryOffset = 0

    /// Opens `path` for reading.
    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SealError.io("cannot open \(path) for reading", errno: errno) }
        self.fd = fd
        self.owns = true
        self.path = path
        self.memory = nil
    }

    /// Wraps an already open descriptor (for example standard input).
    public init(fd: Int32, path: String, owns: Bool = false) {
        self.fd = fd
        self.owns = owns
        self.path = path
        self.memory = nil
    }

    /// Bytes held in memory, read as a file would be; `path` only names them in errors.
    public init(bytes: [UInt8], path: String) {
        self.fd = -1
        self.owns = false
        self.path = path
        self.memory = bytes
    }

    deinit { if owns { close(fd) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if memory != nil {
            let n = try positional.read(into: buffer, at: UInt64(memoryOffset))
            memoryOffset += n
            return n
        }
        do throws(SystemCallError) { return try SystemIO.read(fd, into: buffer) } catch {
            throw SealError.io("cannot read \(path)", errno: error.errno)
        }
    }

    /// The file's size from fstat (the bytes' count in memory).
    public func size() throws -> UInt64 {
        if let memory { return UInt64(memory.count) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SealError.io("cannot stat \(path)", errno: errno) }
        return UInt64(st.st_size)
    }

    /// Reads at an offset, from the file (pread) or the bytes in memory.
    public var positional: PositionalReader { PositionalReader(storage: memory.map { .memory($0) } ?? .file(fd), path: path) }
}

/// Reads at an offset without moving any position: `pread` on a descriptor, or a copy out of
/// bytes held in memory. A value: it can be handed to another thread with the source kept alive.
public struct PositionalReader: Sendable {
    enum Storage: Sendable {
        case file(Int32)
        case memory([UInt8])
    }
    let storage: Storage
    public let path: String

    /// Reads `buffer.count` bytes at `offset` (fewer only at the end), retrying short reads.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        switch storage {
        case .file(let fd):
            do throws(SystemCallError) { return try SystemIO.preadFull(fd, into: buffer, at: offset) } catch {
                throw SealError.io("cannot read \(path)", errno: error.errno)
            }
        case .memory(let bytes):
            guard offset < UInt64(bytes.count), buffer.count > 0 else { return 0 }
            let start = Int(offset)
            let n = min(buffer.count, bytes.count - start)
            bytes.withUnsafeBytes { src in buffer.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n) }
            return n
        }
    }
}

/// An in-memory byte source.
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}

/// A buffered reader with line reading, exact reads and look-ahead, over any `ByteSource`.
public final class BufferedReader {
    private let source: any ByteSource
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var eof = false
    /// Bytes handed out so far.
    public private(set) var consumed: UInt64 = 0

    public init(_ source: any ByteSource, capacity: Int = 64 * 1024) {
        self.source = source
        self.buffer = [UInt8](repeating: 0, count: capacity)
    }

    /// Refills so that at least `want` bytes are buffered, unless the source ends first.
    private func fill(_ want: Int) throws {
        if end - start >= want || eof { return }
        if start > 0 {
            let n = end - start
            if n > 0 { buffer.withUnsafeMutableBytes { b in b.baseAddress!.copyMemory(from: b.baseAddress! + start, byteCount: n) } }
            start = 0
            end = n
        }
        if buffer.count < want { buffer += [UInt8](repeating: 0, count: want - buffer.count) }
        while end - start < want && !eof {
            let n = try buffer.withUnsafeMutableBytes { b in
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: b[end...]))
            }
            if n == 0 { eof = true } else { end += n }
        }
    }

    /// Reads one line including its LF; at most `maxLength` bytes. Returns nil at end of input,
    /// and the partial line when the input ends without LF. Throws when the line is too long.
    public func readLine(maxLength: Int, tooLong: @autoclosure () -> SealError) throws -> [UInt8]? {
        var scanned = 0
        while true {
            if let i = buffer[(start + scanned)..<end].firstIndex(of: 0x0A) {
                let line = Array(buffer[start...i])
                guard line.count <= maxLength else { throw tooLong() }
                start = i + 1
                consumed += UInt64(line.count)
                return line
            }
            scanned = end - start
            if scanned > maxLength { throw tooLong() }
            if eof {
                if start == end { return nil }
                let line = Array(buffer[start..<end])
                start = end
                consumed += UInt64(line.count)
                return line
            }
            try fill(scanned + 1)
        }
    }

    /// Reads until `into` is full or the input ends; returns the count read.
    public func readFull(into out: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < out.count {
            if start == end {
                if eof { break }
                // Large reads bypass the buffer.
                if out.count - done >= buffer.count {
                    let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: out[done...]))
                    if n == 0 {
                        eof = true
                        break
                    }
                    done += n
                    continue
                }
                try fill(1)
                if start == end { break }
            }
            let n = min(out.count - done, end - start)
            buffer.withUnsafeBytes { b in
                (out.baseAddress! + done).copyMemory(from: b.baseAddress! + start, byteCount: n)
            }
            start += n
            done += n
        }
        consumed += UInt64(done)
        return done
    }

    /// True when at least one more byte can be read.
    public func hasMore() throws -> Bool {
        try fill(1)
        return end > start
    }

    /// The next `count` bytes without consuming them (fewer at the end of input).
    public func peek(_ count: Int) throws -> [UInt8] {
        try fill(count)
        return Array(buffer[start..<min(end, start + count)])
    }

    /// Skips bytes while `predicate` holds; returns how many.
    public func skip(while predicate: (UInt8) -> Bool) throws -> Int {
        var n = 0
        while true {
            try fill(1)
            guard start < end, predicate(buffer[start]) else { return n }
            start += 1
            n += 1
            consumed += 1
        }
    }
}

extension SealError {
    /// An I/O error with the system's reason.
    public static func io(_ what: String, errno code: Int32) -> SealError {
        SealError(.ioError, what, remedy: "check the path, its permissions and free space", cause: SystemCallError(errno: code))
    }
}
