/// Standard-alphabet base64 (RFC 4648 §4) with strict, canonical decoding, written over raw
/// buffers so secrets can be decoded straight into `SecureBytes` without a `String`/`Data` copy.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let table: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = Int8(i) }
        return t
    }()

    /// Encodes bytes; `padded` adds `=` to a multiple of four.
    public static func encode(_ bytes: UnsafeRawBufferPointer, padded: Bool = true) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            if padded {
                out.append(UInt8(ascii: "="))
                out.append(UInt8(ascii: "="))
            }
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            if padded { out.append(UInt8(ascii: "=")) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func encode(_ bytes: [UInt8], padded: Bool = true) -> String {
        bytes.withUnsafeBytes { encode($0, padded: padded) }
    }

    /// Number of decoded bytes for `length` characters of unpadded input, or nil if impossible.
    static func decodedLength(unpaddedLength length: Int) -> Int? {
        switch length % 4 {
        case 0: return length / 4 * 3
        case 2: return length / 4 * 3 + 1
        case 3: return length / 4 * 3 + 2
        default: return nil
        }
    }

    /// Strict decoding into `output`. `padded`: input must carry `=` padding to a multiple of 4
    /// (true) or must carry none (false). Non-canonical encodings (non-zero unused bits), stray
    /// characters and wrong lengths are refused. Returns the number of bytes written, or nil.
    public static func decode(_ input: UnsafeRawBufferPointer, padded: Bool, into output: UnsafeMutableRawBufferPointer) -> Int? {
        var length = input.count
        if padded {
            guard length % 4 == 0 else { return nil }
            if length >= 1 && input[length - 1] == UInt8(ascii: "=") { length -= 1 }
            if length >= 1 && input[length - 1] == UInt8(ascii: "=") { length -= 1 }
            if input.count - length > 0 && length % 4 == 1 { return nil }
        }
        guard let outLength = decodedLength(unpaddedLength: length), outLength <= output.count else { return nil }
        var o = 0
        var i = 0
        func v(_ idx: Int) -> UInt32? {
            let x = table[Int(input[idx])]
            return x < 0 ? nil : UInt32(x)
        }
        while i + 4 <= length {
            guard let a = v(i), let b = v(i + 1), let c = v(i + 2), let d = v(i + 3) else { return nil }
            let n = a << 18 | b << 12 | c << 6 | d
            output[o] = UInt8(n >> 16 & 0xff)
            output[o + 1] = UInt8(n >> 8 & 0xff)
            output[o + 2] = UInt8(n & 0xff)
            o += 3
            i += 4
        }
        switch length - i {
        case 0: break
        case 2:
            guard let a = v(i), let b = v(i + 1) else { return nil }
            guard b & 0x0f == 0 else { return nil }  // canonical: unused bits zero
            output[o] = UInt8((a << 2 | b >> 4) & 0xff)
            o += 1
        case 3:
            guard let a = v(i), let b = v(i + 1), let c = v(i + 2) else { return nil }
            guard c & 0x03 == 0 else { return nil }
            let n = a << 18 | b << 12 | c << 6
            output[o] = UInt8(n >> 16 & 0xff)
            output[o + 1] = UInt8(n >> 8 & 0xff)
            o += 2
        default: return nil
        }
        return o
    }

    /// Strict decoding of public data into a new array.
    public static func decode(_ text: some StringProtocol, padded: Bool) -> [UInt8]? {
        var utf8 = Array(text.utf8)
        return utf8.withUnsafeMutableBytes { input -> [UInt8]? in
            var out = [UInt8](repeating: 0, count: input.count / 4 * 3 + 3)
            guard let n = out.withUnsafeMutableBytes({ decode(UnsafeRawBufferPointer(input), padded: padded, into: $0) }) else { return nil }
            return Array(out.prefix(n))
        }
    }

    /// Strict decoding of secret text (already in secure memory) into new secure memory.
    public static func decodeSecret(_ input: UnsafeRawBufferPointer, padded: Bool) -> SecureBytes? {
        let scratch = SecureBytes(count: input.count / 4 * 3 + 3)
        guard let n = scratch.withUnsafeMutableBytes({ decode(input, padded: padded, into: $0) }) else { return nil }
        return scratch.slice(0..<n)
    }
}
