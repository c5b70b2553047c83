import SealBase

/// A streaming decoder of age's ASCII armor (PEM-like, strict): `-----BEGIN AGE ENCRYPTED FILE-----`,
/// standard padded base64 in 64-column lines, a shorter (or full) last line, the END line.
/// White space is allowed only before BEGIN and after END; LF or CRLF line ends.
public final class AgeArmorSource: ByteSource {
    static let begin = Array("-----BEGIN AGE ENCRYPTED FILE-----".utf8)
    static let end = Array("-----END AGE ENCRYPTED FILE-----".utf8)

    private let reader: BufferedReader
    private var pending = [UInt8]()
    private var pendingOffset = 0
    private var finished = false
    private var started = false
    private var sawShortLine = false

    /// Wraps a reader positioned at the start of the input.
    public init(_ reader: BufferedReader) { self.reader = reader }

    static func failure(_ why: String) -> SealError {
        SealError(
            .ageArmorMalformed, "age armor is malformed: \(why)",
            remedy: "the armored file was altered; ask the sender for the binary (non-armored) file or to encrypt it again")
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

    /// True when the input, after leading white space, starts like armor (`-----`), or is not a
    /// binary age file but holds the armor's BEGIN line further on (text before it: refused as
    /// malformed armor, not as a malformed binary header).
    public static func looksArmored(_ reader: BufferedReader) throws -> Bool {
        let head = try reader.peek(1024)
        guard let first = head.firstIndex(where: { !isSpace($0) }) else { return false }
        if head[first...].starts(with: Array("-----".utf8)) { return true }
        guard !head[first...].starts(with: Array("age-encryption.org/".utf8)) else { return false }
        return head.count >= begin.count && (0...(head.count - begin.count)).contains { head[$0..<($0 + begin.count)].elementsEqual(begin) }
    }

    private func nextLine() throws -> [UInt8]? {
        guard var l = try reader.readLine(maxLength: 200, tooLong: Self.failure("line too long")) else { return nil }
        if l.last == 0x0A {
            l.removeLast()
            if l.last == 0x0D { l.removeLast() }
        } else {
            return l + [0xFF]
        }  // mark "no EOL"
        return l
    }

    private func refill() throws {
        pending.removeAll(keepingCapacity: true)
        pendingOffset = 0
        if !started {
            _ = try reader.skip(while: Self.isSpace)
            guard let l = try nextLine(), l == Self.begin else { throw Self.failure("missing BEGIN line") }
            started = true
        }
        guard var line = try nextLine() else { throw Self.failure("missing END line") }
        var noEOL = false
        if line.last == 0xFF {
            line.removeLast()
            noEOL = true
        }
        if line == Self.end {
            // Only white space may follow.
            let rest = try reader.skip(while: Self.isSpace)
            _ = rest
            if try reader.hasMore() { throw Self.failure("data after the END line") }
            finished = true
            return
        }
        if noEOL { throw Self.failure("missing END line") }
        if sawShortLine { throw Self.failure("a short line before the end") }
        guard !line.isEmpty, line.count <= 64, line.count % 4 == 0 else { throw Self.failure("bad line length") }
        if line.count < 64 { sawShortLine = true }
        if line.contains(UInt8(ascii: "=")) { sawShortLine = true }  // padding ends the data
        var out = [UInt8](repeating: 0, count: 48)
        let n = line.withUnsafeBytes { src in out.withUnsafeMutableBytes { Base64.decode(src, padded: true, into: $0) } }
        guard let n else { throw Self.failure("bad base64") }
        pending = Array(out.prefix(n))
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var written = 0
        while written < buffer.count {
            if pendingOffset == pending.count {
                if finished { break }
                try refill()
                continue
            }
            let n = min(buffer.count - written, pending.count - pendingOffset)
            pending.withUnsafeBytes { p in (buffer.baseAddress! + written).copyMemory(from: p.baseAddress! + pendingOffset, byteCount: n) }
            pendingOffset += n
            written += n
        }
        return written
    }
}
