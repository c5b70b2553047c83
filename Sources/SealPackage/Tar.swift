public import SealCrypto

/// Just enough POSIX ustar for the package format: regular files with short names, written
/// deterministically and read strictly.
public enum Tar {
    public static let blockSize = 512

    /// Bytes of padding after `size` bytes of member data.
    public static func padding(_ size: UInt64) -> Int {
        Int((UInt64(blockSize) - size % UInt64(blockSize)) % UInt64(blockSize))
    }

    /// Total archive bytes of a member (header + data + padding).
    public static func memberLength(_ size: UInt64) -> UInt64 {
        UInt64(blockSize) + size + UInt64(padding(size))
    }

    /// A ustar header for a regular file `name` (≤ 100 bytes) of `size` bytes.
    public static func header(name: String, size: UInt64, mtime: UInt64, mode: UInt32 = 0o644) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: blockSize)
        func put(_ s: String, _ offset: Int, _ length: Int) {
            for (i, c) in s.utf8.prefix(length).enumerated() { h[offset + i] = c }
        }
        func octal(_ v: UInt64, _ offset: Int, _ length: Int) {
            let s = String(v, radix: 8)
            put(String(repeating: "0", count: max(0, length - 1 - s.count)) + s, offset, length - 1)
        }
        precondition(name.utf8.count <= 100)
        put(name, 0, 100)
        octal(UInt64(mode), 100, 8)
        octal(0, 108, 8)  // uid
        octal(0, 116, 8)  // gid
        octal(size, 124, 12)
        octal(mtime, 136, 12)
        for i in 148..<156 { h[i] = 0x20 }
        h[156] = UInt8(ascii: "0")
        put("ustar", 257, 6)  // "ustar\0"
        put("00", 263, 2)
        put("sealgate", 265, 32)
        put("sealgate", 297, 32)
        let sum = h.reduce(0) { $0 + UInt32($1) }
        let s = String(sum, radix: 8)
        put(String(repeating: "0", count: max(0, 6 - s.count)) + s, 148, 6)
        h[154] = 0
        h[155] = 0x20
        return h
    }

    /// A parsed member header.
    public struct Member: Sendable, Equatable {
        public let name: String
        public let size: UInt64
    }

    /// The magic of a POSIX ustar header ("ustar\0" "00") and of GNU tar's ("ustar  \0").
    static let posixMagic: [UInt8] = Array("ustar".utf8) + [0] + Array("00".utf8)
    static let gnuMagic: [UInt8] = Array("ustar  ".utf8) + [0]

    /// Parses one header block. Returns nil for an all-zero block (end of archive); throws
    /// `error(why)` for anything but a regular file with a plain name.
    public static func parseHeader(_ block: UnsafeRawBufferPointer, error: (String) -> SealError) throws -> Member? {
        precondition(block.count == blockSize)
        if block.allSatisfy({ $0 == 0 }) { return nil }
        // Checksum: header bytes with the checksum field read as spaces.
        var sum: UInt32 = 0
        for i in 0..<blockSize { sum += (148..<156).contains(i) ? 0x20 : UInt32(block[i]) }
        guard let stored = parseOctal(block, 148, 8), UInt32(stored) == sum else { throw error("bad tar header checksum") }
        let magic = UnsafeRawBufferPointer(rebasing: block[257..<265])
        guard magic.elementsEqual(Self.posixMagic) || magic.elementsEqual(Self.gnuMagic) else { throw error("not a ustar archive") }
        let type = block[156]
        guard type == UInt8(ascii: "0") || type == 0 else { throw error("member is not a regular file (type \(type))") }
        guard block[345] == 0 else { throw error("member names with a prefix are not allowed") }
        let nameBytes = UnsafeRawBufferPointer(rebasing: block[0..<(block[0..<100].firstIndex(of: 0) ?? 100)])
        guard !nameBytes.isEmpty, let name = String(validating: nameBytes, as: UTF8.self) else { throw error("bad member name") }
        guard let size = parseOctal(block, 124, 12) else { throw error("bad member size") }
        return Member(name: name, size: size)
    }

    static func parseOctal(_ b: UnsafeRawBufferPointer, _ offset: Int, _ length: Int) -> UInt64? {
        var v: UInt64 = 0
        var i = offset
        let end = offset + length
        while i < end && b[i] == 0x20 { i += 1 }
        var digits = 0
        while i < end, b[i] >= 0x30, b[i] <= 0x37 {
            let (m, o) = v.multipliedReportingOverflow(by: 8)
            if o { return nil }
            v = m + UInt64(b[i] - 0x30)
            i += 1
            digits += 1
        }
        guard digits > 0 else { return nil }
        while i < end {
            guard b[i] == 0 || b[i] == 0x20 else { return nil }
            i += 1
        }
        return v
    }
}
