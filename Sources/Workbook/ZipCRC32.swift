/// The CRC-32 of zip members (ISO-HDLC: reflected polynomial 0xEDB88320, initial and final
/// value 0xFFFFFFFF), computed eight bytes at a time with eight 256-entry tables ("slicing by
/// 8"): a checksum, not cryptography. ZIPFoundation's own runs a byte at a time on Linux, where
/// it does not find zlib's; `Workbook.stream` asks it to skip its check and checks this one.
struct ZipCRC32 {
    /// The CRC of the bytes so far (0 before any).
    private(set) var value: UInt32 = 0

    /// Table k (k = 0…7) at k·256: the CRC of a byte followed by k zero bytes.
    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress else { return }
        var n = bytes.count
        var c = ~value
        Self.tables.withUnsafeBufferPointer { table in
            let t = table.baseAddress!
            while n >= 8 {
                let lo = p.loadUnaligned(as: UInt32.self).littleEndian ^ c
                let hi = (p + 4).loadUnaligned(as: UInt32.self).littleEndian
                let a = t[1792 + Int(lo & 0xFF)] ^ t[1536 + Int(lo >> 8 & 0xFF)] ^ t[1280 + Int(lo >> 16 & 0xFF)] ^ t[1024 + Int(lo >> 24)]
                c = a ^ t[768 + Int(hi & 0xFF)] ^ t[512 + Int(hi >> 8 & 0xFF)] ^ t[256 + Int(hi >> 16 & 0xFF)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                p += 1
                n -= 1
            }
        }
        value = ~c
    }
}
