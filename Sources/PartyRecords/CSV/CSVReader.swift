import SystemIO

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
    /// The fields of the current record (valid until the next `next()`).
    public var fields: UnsafeBufferPointer<CSVField> { UnsafeBufferPointer(start: fieldStorage, count: fieldCount) }
    private var fieldStorage: UnsafeMutablePointer<CSVField> = .allocate(capacity: 64)
    private var fieldCapacity = 64
    private var fieldCount = 0

    /// Set when a record has more than `maxFields` fields (the rest are not kept).
    private var fieldOverflow = false

    @inline(__always) private func appendField(_ f: CSVField) {
        if fieldCount == fieldCapacity {
            guard fieldCapacity < Self.maxFields else {
                fieldOverflow = true
                return
            }
            let bigger = UnsafeMutablePointer<CSVField>.allocate(capacity: fieldCapacity * 2)
            bigger.moveInitialize(from: fieldStorage, count: fieldCount)
            fieldStorage.deallocate()
            fieldStorage = bigger
            fieldCapacity *= 2
        }
        (fieldStorage + fieldCount).initialize(to: f)
        fieldCount += 1
    }
    /// The current record's bytes without its line end, and whether it used quotes or CRLF: a
    /// record with neither can be copied to output as it is.
    public private(set) var recordBytes = UnsafeRawBufferPointer(start: nil, count: 0)
    public private(set) var recordIsPlain = false
    /// True when the input began with a UTF-8 BOM (skipped).
    public private(set) var hadBOM = false
    /// Bytes consumed so far.
    public private(set) var bytesRead: UInt64 = 0
    /// The longest record accepted (a row of party records is a few hundred bytes): the read
    /// buffer never grows past it.
    public static let maxRecordBytes = 4 << 20
    /// The most fields a record may have (party records have about twenty): a line of a million
    /// commas is a syntax error, not a million fields.
    public static let maxFields = 1024

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CSVIOError(path: path, reason: String(cString: strerror(errno))) }
        self.fd = fd
        self.path = path
        buffer = .allocate(byteCount: 1 << 20, alignment: 16)
        scratch = .allocate(byteCount: 4096, alignment: 16)
        try skipBOM()
    }

    /// Reads an open descriptor (a pipe or socket: a workbook sheet converted as it is read), which
    /// the reader then owns and closes; `name` stands for the path in errors.
    public init(fd: Int32, name: String) throws {
        self.fd = fd
        self.path = name
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
        fieldStorage.deallocate()
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
            // One record may not take more than this much memory.
            guard buffer.count < Self.maxRecordBytes else {
                throw CSVSyntaxError(line: line, reason: "a record longer than \(Self.maxRecordBytes >> 20) MiB")
            }
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = bigger
        }
        let n: Int
        do throws(SystemCallError) { n = try SystemIO.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...])) } catch {
            throw CSVIOError(path: path, reason: error.reason)
        }
        if n == 0 {
            eof = true
            return false
        }
        end += n
        return true
    }

    private func fill(_ want: Int) throws {
        while end - start < want { if !(try more()) { return } }
    }

    /// Advances to the next record; false at the end of input.
    public func next() throws -> Bool {
        if try start >= end && !more() { return false }
        line = nextLine
        // One pass splits the fields; if the buffer ends inside the record (rare: once per
        // buffer), read more and parse the record again from its start.
        while true {
            if let newlines = try parseRecord() {
                guard !fieldOverflow else { throw CSVSyntaxError(line: line, reason: "a record of more than \(Self.maxFields) fields") }
                nextLine = line + newlines + 1
                return true
            }
            if !(try more()) { continue }  // end of input: parseRecord now treats `end` as the record's end
        }
    }

    /// Parses the record at `start`. Returns the number of newlines inside quoted fields, or nil
    /// when more input is needed.
    private func parseRecord() throws -> Int? {
        fieldCount = 0
        fieldOverflow = false
        if scratch.count < end - start {
            scratch.deallocate()
            scratch = .allocate(byteCount: max(4096, (end - start) * 2), alignment: 16)
        }
        let b = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let sc = scratch.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let e = end
        var p = start
        var s = 0
        var newlines = 0
        var ascii = true
        var plain = true
        var contentEnd = -1
        while true {
            if p < e && b[p] == 0x22 {
                plain = false
                p += 1
                let fieldStart = s
                while true {
                    guard p < e else {
                        if eof { throw CSVSyntaxError(line: line, reason: "unterminated quoted field") }
                        return nil
                    }
                    let c = b[p]
                    if c == 0x22 {
                        if p + 1 >= e && !eof { return nil }
                        if p + 1 < e && b[p + 1] == 0x22 {
                            sc[s] = 0x22
                            s += 1
                            p += 2
                            continue
                        }
                        p += 1
                        break
                    }
                    if c == 0x0A { newlines += 1 }
                    if byteClasses[Int(c)] == 3 { throw Self.controlCharacter(c, line: line + newlines) }
                    ascii = ascii && c < 0x80
                    sc[s] = c
                    s += 1
                    p += 1
                }
                appendField(CSVField(bytes: UnsafeRawBufferPointer(start: sc + fieldStart, count: s - fieldStart)))
                if p >= e {
                    if eof { break }
                    return nil
                }
                let c = b[p]
                if c == 0x2C {
                    p += 1
                    continue
                }
                if c == 0x0A {
                    p += 1
                    break
                }
                if c == 0x0D {
                    if p + 1 >= e {
                        if eof {
                            p += 1
                            break
                        }
                        return nil
                    }
                    if b[p + 1] == 0x0A {
                        p += 2
                        break
                    }
                }
                throw CSVSyntaxError(line: line + newlines, reason: "text after a closing quote")
            } else {
                let fieldStart = p
                var c: UInt8 = 0
                let classes = byteClasses
                while p < e {
                    c = b[p]
                    let k = classes[Int(c)]
                    if k != 0 {
                        if k == 1 { break }
                        if k == 3 { throw Self.controlCharacter(c, line: line + newlines) }
                        ascii = false
                    }
                    p += 1
                }
                if p >= e {
                    if !eof { return nil }
                    appendField(CSVField(bytes: UnsafeRawBufferPointer(start: b + fieldStart, count: p - fieldStart)))
                    break
                }
                if c == 0x22 { throw CSVSyntaxError(line: line + newlines, reason: "quote inside an unquoted field") }
                appendField(CSVField(bytes: UnsafeRawBufferPointer(start: b + fieldStart, count: p - fieldStart)))
                if c == 0x2C {
                    p += 1
                    if p >= e && eof {
                        appendField(CSVField(bytes: UnsafeRawBufferPointer(start: b + p, count: 0)))
                        break
                    }
                    continue
                }
                if c == 0x0A {
                    contentEnd = p
                    p += 1
                    break
                }
                plain = false
                // CR
                if p + 1 >= e {
                    if eof {
                        p += 1
                        break
                    }
                    return nil
                }
                if b[p + 1] == 0x0A {
                    p += 2
                    break
                }
                throw CSVSyntaxError(line: line + newlines, reason: "bare carriage return")
            }
        }
        if !ascii {
            for f in fields where !isValidUTF8(f.bytes) { throw CSVSyntaxError(line: line, reason: "not valid UTF-8") }
        }
        recordIsPlain = plain && contentEnd >= 0
        recordBytes = UnsafeRawBufferPointer(start: b + start, count: max(0, (contentEnd >= 0 ? contentEnd : p) - start))
        bytesRead += UInt64(p - start)
        start = p
        return newlines
    }

    /// True when the current record is a blank line (one empty field).
    public var isBlankLine: Bool { fieldCount == 1 && fieldStorage[0].isEmpty }

    /// A control character other than a tab or a line break: no spreadsheet writes one in a
    /// cell, and a NUL would end the value early for whoever reads it as a C string.
    static func controlCharacter(_ c: UInt8, line: Int) -> CSVSyntaxError {
        CSVSyntaxError(line: line, reason: "a control character (byte 0x\(String(c, radix: 16, uppercase: true))) in a value")
    }
}

/// 1 for the bytes that end an unquoted field (, LF CR "), 2 for non-ASCII, 3 for the control
/// characters a value may not hold (C0 but tab, LF and CR; DEL), 0 otherwise.
nonisolated(unsafe) private let byteClasses: UnsafeMutablePointer<UInt8> = {
    let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    for i in 0..<256 { t[i] = i >= 0x80 ? 2 : (i < 0x20 || i == 0x7F ? 3 : 0) }
    t[0x09] = 0
    for c in [0x2C, 0x0A, 0x0D, 0x22] { t[c] = 1 }
    return t
}()

/// Strict UTF-8 validation (no overlongs, no surrogates, ≤ U+10FFFF).
func isValidUTF8(_ b: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    let n = b.count
    while i < n {
        let c = b[i]
        if c < 0x80 {
            i += 1
            continue
        }
        let need: Int
        let minCP: UInt32
        var cp: UInt32
        if c & 0xE0 == 0xC0 {
            need = 1
            cp = UInt32(c & 0x1F)
            minCP = 0x80
        } else if c & 0xF0 == 0xE0 {
            need = 2
            cp = UInt32(c & 0x0F)
            minCP = 0x800
        } else if c & 0xF8 == 0xF0 {
            need = 3
            cp = UInt32(c & 0x07)
            minCP = 0x10000
        } else {
            return false
        }
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
