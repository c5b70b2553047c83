#if canImport(Glibc)
import Glibc
#endif

/// A field of the current record: bytes valid until the next `next()` call.
public struct CSVField {
    public let bytes: UnsafeRawBufferPointer
    @inlinable public var isEmpty: Bool { bytes.isEmpty }
    @inlinable public var count: Int { bytes.count }
    /// The field as a String (the reader has checked it is UTF-8).
    public var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// A CSV syntax error (RFC 4180) or invalid UTF-8, at a line.
public struct CSVSyntaxError: Error, Sendable {
    public let line: Int
    public let reason: String
}

public struct CSVIOError: Error, Sendable {
    public let path: String
    public let reason: String
}

/// Streaming RFC 4180 reader: UTF-8 with or without BOM, CRLF or LF, quoted fields holding
/// commas, doubled quotes and newlines. Memory: one read buffer (grown only for a record longer
/// than it) plus the record's unescaped quoted fields.
public final class CSVReader {
    private let fd: Int32
    private let path: String
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var eof = false
    private var scratch: UnsafeMutableRawBufferPointer
    /// Line (1-based) where the current record starts.
    public private(set) var line = 0
    private var nextLine = 1
    /// The fields of the current record.
    public private(set) var fields: [CSVField] = []
    /// True when the input began with a UTF-8 BOM (skipped).
    public private(set) var hadBOM = false
    /// Bytes consumed so far.
    public private(set) var bytesRead: UInt64 = 0

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CSVIOError(path: path, reason: String(cString: strerror(errno))) }
        self.fd = fd
        self.path = path
        buffer = .allocate(byteCount: 1 << 20, alignment: 16)
        scratch = .allocate(byteCount: 4096, alignment: 16)
        try skipBOM()
    }

    public init(bytes: [UInt8]) {
        fd = -1
        path = "(memory)"
        buffer = .allocate(byteCount: max(bytes.count, 16), alignment: 16)
        scratch = .allocate(byteCount: 4096, alignment: 16)
        bytes.withUnsafeBytes { if $0.count > 0 { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        end = bytes.count
        eof = true
        try! skipBOM()
    }

    deinit {
        if fd >= 0 { close(fd) }
        buffer.deallocate()
        scratch.deallocate()
    }

    private func skipBOM() throws {
        try fill(3)
        if end - start >= 3 && buffer[start] == 0xEF && buffer[start + 1] == 0xBB && buffer[start + 2] == 0xBF {
            start += 3
            hadBOM = true
        }
    }

    /// Reads more input after `end`, moving [start, end) to the front first; grows the buffer
    /// when it is full. Returns false at end of input.
    private func more() throws -> Bool {
        if eof { return false }
        if start > 0 {
            let n = end - start
            if n > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + start, n) }
            end = n
            start = 0
        }
        if end == buffer.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = bigger
        }
        while true {
            let n = read(fd, buffer.baseAddress! + end, buffer.count - end)
            if n < 0 { if errno == EINTR { continue }; throw CSVIOError(path: path, reason: String(cString: strerror(errno))) }
            if n == 0 { eof = true; return false }
            end += n
            return true
        }
    }

    private func fill(_ want: Int) throws {
        while end - start < want { if !(try more()) { return } }
    }

    /// Advances to the next record; false at the end of input.
    public func next() throws -> Bool {
        if try start >= end && !more() { return false }
        line = nextLine
        // 1. Find the record's end with the whole record in the buffer.
        var scanned = 0
        var inQuotes = false
        var recordEnd = -1 // index of the LF (or end of input)
        var newlines = 0
        while recordEnd < 0 {
            var p = start + scanned
            let e = end
            let b = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            while p < e {
                let c = b[p]
                if c == 0x22 { inQuotes.toggle() }
                else if c == 0x0A {
                    if !inQuotes { recordEnd = p; break }
                    newlines += 1
                }
                p += 1
            }
            if recordEnd >= 0 { break }
            scanned = p - start
            if !(try more()) {
                if inQuotes { throw CSVSyntaxError(line: line, reason: "unterminated quoted field") }
                recordEnd = end
            }
        }
        nextLine = line + newlines + 1
        var contentEnd = recordEnd
        if contentEnd > start && buffer[contentEnd - 1] == 0x0D { contentEnd -= 1 }
        // 2. Split into fields.
        fields.removeAll(keepingCapacity: true)
        let needScratch = recordEnd - start
        if scratch.count < needScratch {
            scratch.deallocate()
            scratch = .allocate(byteCount: needScratch * 2, alignment: 16)
        }
        var s = 0
        var p = start
        var ascii = true
        while true {
            if p < contentEnd && buffer[p] == 0x22 {
                p += 1
                let fieldStart = s
                while true {
                    guard p < contentEnd else { throw CSVSyntaxError(line: line, reason: "unterminated quoted field") }
                    let c = buffer[p]
                    if c == 0x22 {
                        if p + 1 < contentEnd && buffer[p + 1] == 0x22 { scratch[s] = 0x22; s += 1; p += 2; continue }
                        p += 1
                        break
                    }
                    if c >= 0x80 { ascii = false }
                    scratch[s] = c
                    s += 1
                    p += 1
                }
                fields.append(CSVField(bytes: UnsafeRawBufferPointer(rebasing: scratch[fieldStart..<s])))
                if p == contentEnd { break }
                guard buffer[p] == 0x2C else { throw CSVSyntaxError(line: line, reason: "text after a closing quote") }
                p += 1
            } else {
                let fieldStart = p
                while p < contentEnd {
                    let c = buffer[p]
                    if c == 0x2C { break }
                    if c == 0x22 { throw CSVSyntaxError(line: line, reason: "quote inside an unquoted field") }
                    if c == 0x0D { throw CSVSyntaxError(line: line, reason: "bare carriage return") }
                    if c >= 0x80 { ascii = false }
                    p += 1
                }
                fields.append(CSVField(bytes: UnsafeRawBufferPointer(rebasing: buffer[fieldStart..<p])))
                if p == contentEnd { break }
                p += 1
            }
        }
        if !ascii {
            for f in fields where !isValidUTF8(f.bytes) { throw CSVSyntaxError(line: line, reason: "not valid UTF-8") }
        }
        let consumed = min(recordEnd + 1, end)
        bytesRead += UInt64(consumed - start)
        start = consumed
        return true
    }

    /// True when the current record is a blank line (one empty field).
    public var isBlankLine: Bool { fields.count == 1 && fields[0].isEmpty }
}

/// Strict UTF-8 validation (no overlongs, no surrogates, ≤ U+10FFFF).
func isValidUTF8(_ b: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    let n = b.count
    while i < n {
        let c = b[i]
        if c < 0x80 { i += 1; continue }
        let need: Int, minCP: UInt32
        var cp: UInt32
        if c & 0xE0 == 0xC0 { need = 1; cp = UInt32(c & 0x1F); minCP = 0x80 }
        else if c & 0xF0 == 0xE0 { need = 2; cp = UInt32(c & 0x0F); minCP = 0x800 }
        else if c & 0xF8 == 0xF0 { need = 3; cp = UInt32(c & 0x07); minCP = 0x10000 }
        else { return false }
        guard i + need < n else { return false }
        for k in 1...need {
            let d = b[i + k]
            guard d & 0xC0 == 0x80 else { return false }
            cp = cp << 6 | UInt32(d & 0x3F)
        }
        guard cp >= minCP, cp <= 0x10FFFF, !(0xD800...0xDFFF).contains(cp) else { return false }
        i += need + 1
    }
    return true
}
