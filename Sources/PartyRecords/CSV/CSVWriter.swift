#if canImport(Glibc)
import Glibc
#endif

/// Buffered RFC 4180 writer: LF line ends, a field is quoted only when it holds a comma, a
/// quote, CR or LF (quotes doubled). Writes to a file descriptor or collects bytes.
public final class CSVWriter {
    private var out: [UInt8] = []
    private let fd: Int32
    private var firstField = true
    public private(set) var bytesWritten: UInt64 = 0

    /// Collects into memory (`bytes`).
    public init() { fd = -1; out.reserveCapacity(1 << 16) }

    /// Writes to an open descriptor (not closed here).
    public init(fd: Int32) { self.fd = fd; out.reserveCapacity(1 << 20) }

    /// Everything written so far (memory writers).
    public var bytes: [UInt8] { out }

    public func field(_ b: UnsafeRawBufferPointer) {
        if !firstField { out.append(0x2C) }
        firstField = false
        var needsQuotes = false
        for c in b where c == 0x2C || c == 0x22 || c == 0x0A || c == 0x0D { needsQuotes = true; break }
        if needsQuotes {
            out.append(0x22)
            for c in b { if c == 0x22 { out.append(0x22) }; out.append(c) }
            out.append(0x22)
        } else {
            out.append(contentsOf: b)
        }
    }

    public func field(_ s: String) {
        var s = s
        s.withUTF8 { field(UnsafeRawBufferPointer($0)) }
    }

    public func endRecord() throws {
        out.append(0x0A)
        firstField = true
        if fd >= 0 && out.count >= 1 << 20 { try flush() }
    }

    public func record(_ fields: [String]) throws {
        for f in fields { field(f) }
        try endRecord()
    }

    public func flush() throws {
        guard fd >= 0, !out.isEmpty else { return }
        try out.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                let n = write(fd, b.baseAddress! + done, b.count - done)
                if n < 0 { if errno == EINTR { continue }; throw CSVIOError(path: "output", reason: String(cString: strerror(errno))) }
                done += n
            }
        }
        bytesWritten += UInt64(out.count)
        out.removeAll(keepingCapacity: true)
    }
}
