import SystemIO

#if canImport(Glibc)
    import Glibc
#endif

/// Buffered RFC 4180 writer: LF line ends, a field is quoted only when it holds a comma, a
/// quote, CR or LF (quotes doubled). Writes to a file descriptor or collects bytes in memory.
public final class CSVWriter {
    private var buf: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var used = 0
    private let fd: Int32
    private var firstField = true
    public private(set) var bytesWritten: UInt64 = 0
    /// Records ended so far (a header included).
    public private(set) var records = 0

    /// Collects into memory (`bytes`): 4 KiB to start (a small package's normalized file), doubled as it fills.
    public convenience init() { self.init(fd: -1, capacity: 1 << 12) }

    /// Writes to an open descriptor (not closed here).
    public convenience init(fd: Int32) { self.init(fd: fd, capacity: 1 << 20) }

    private init(fd: Int32, capacity: Int) {
        self.fd = fd
        self.capacity = capacity
        buf = .allocate(capacity: capacity)
    }

    deinit { buf.deallocate() }

    /// Everything collected (memory writers).
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: buf, count: used)) }

    @inline(__always) private func reserve(_ n: Int) {
        if used + n <= capacity { return }
        var c = capacity * 2
        while c < used + n { c *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        bigger.update(from: buf, count: used)
        buf.deallocate()
        buf = bigger
        capacity = c
    }

    public func field(_ b: UnsafeRawBufferPointer) {
        reserve(2 * b.count + 3)
        if !firstField {
            buf[used] = 0x2C
            used += 1
        }
        firstField = false
        used += Self.write(b, to: buf + used)
    }

    /// Writes one field at `out` as RFC 4180 wants it — quoted (inner quotes doubled) when it
    /// holds a comma, a quote, CR or LF — and returns the bytes written (at most 2 × count + 2).
    /// The one quoting rule of the writer and of the workbook's sheet feed.
    @inline(__always)
    static func write(_ b: UnsafeRawBufferPointer, to out: UnsafeMutablePointer<UInt8>) -> Int {
        // One test for the bytes from 64 up: none of the four is there.
        var quote = false
        for c in b where c < 64 && (1 << 0x2C | 1 << 0x22 | 1 << 0x0A | 1 << 0x0D) >> UInt64(c) & 1 != 0 {
            quote = true
            break
        }
        guard quote else {
            if let base = b.baseAddress { out.update(from: base.assumingMemoryBound(to: UInt8.self), count: b.count) }
            return b.count
        }
        var o = 0
        out[o] = 0x22
        o += 1
        for c in b {
            if c == 0x22 {
                out[o] = 0x22
                o += 1
            }
            out[o] = c
            o += 1
        }
        out[o] = 0x22
        return o + 1
    }

    /// Where the next byte goes: the bytes written and those waiting in the buffer.
    public var offset: Int { Int(bytesWritten) + used }

    /// Appends bytes that are already whole CSV records, line ends included (not counted in `records`).
    public func rawBytes(_ b: UnsafeRawBufferPointer) throws {
        guard let base = b.baseAddress, b.count > 0 else { return }
        reserve(b.count)
        (buf + used).update(from: base.assumingMemoryBound(to: UInt8.self), count: b.count)
        used += b.count
        if fd >= 0 && used >= 1 << 20 { try flush() }
    }

    /// Appends bytes that are already one well-formed CSV record's fields (no line end).
    public func rawRecord(_ b: UnsafeRawBufferPointer) throws {
        reserve(b.count + 1)
        if b.count > 0 {
            (buf + used).update(from: b.baseAddress!.assumingMemoryBound(to: UInt8.self), count: b.count)
            used += b.count
        }
        try endRecord()
    }

    public func field(_ s: String) {
        var s = s
        s.withUTF8 { field(UnsafeRawBufferPointer($0)) }
    }

    public func endRecord() throws {
        reserve(1)
        buf[used] = 0x0A
        used += 1
        records += 1
        firstField = true
        if fd >= 0 && used >= 1 << 20 { try flush() }
    }

    public func record(_ fields: [String]) throws {
        for f in fields { field(f) }
        try endRecord()
    }

    public func flush() throws {
        guard fd >= 0, used > 0 else { return }
        do throws(SystemCallError) { try SystemIO.writeAll(fd, UnsafeRawBufferPointer(start: buf, count: used)) } catch {
            throw CSVIOError(path: "output", reason: error.reason)
        }
        bytesWritten += UInt64(used)
        used = 0
    }
}
