/// Bech32 (BIP 173) as age uses it for `age1…` recipients and `AGE-SECRET-KEY-1…` identities
/// (no length limit of 90, one case only). Decoding writes the data into secure memory so an
/// identity never passes through a `String` or an array.
public enum Bech32 {
    private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let reverse: [Int8] = {
        var t = [Int8](repeating: -1, count: 128)
        for (i, c) in charset.enumerated() { t[Int(c)] = Int8(i) }
        return t
    }()

    private static func polymod(_ values: some Sequence<UInt8>, start: UInt32 = 1) -> UInt32 {
        let gen: [UInt32] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3]
        var chk: UInt32 = start
        for v in values {
            let b = chk >> 25
            chk = (chk & 0x1ffffff) << 5 ^ UInt32(v)
            for i in 0..<5 where (b >> i) & 1 == 1 { chk ^= gen[i] }
        }
        return chk
    }

    private static func hrpExpand(_ hrp: [UInt8]) -> [UInt8] {
        hrp.map { $0 >> 5 } + [0] + hrp.map { $0 & 31 }
    }

    private static func convertBits(_ data: UnsafeRawBufferPointer, from: Int, to: Int, pad: Bool) -> [UInt8]? {
        var acc: UInt32 = 0
        var bits = 0
        var out = [UInt8]()
        let maxv: UInt32 = (1 << to) - 1
        for value in data {
            guard UInt32(value) >> from == 0 else { return nil }
            acc = acc << from | UInt32(value)
            bits += from
            while bits >= to {
                bits -= to
                out.append(UInt8(acc >> UInt32(bits) & maxv))
            }
        }
        if pad {
            if bits > 0 { out.append(UInt8(acc << UInt32(to - bits) & maxv)) }
        } else if bits >= from || (acc << UInt32(to - bits)) & maxv != 0 {
            return nil
        }
        return out
    }

    /// Encodes `data` with human-readable part `hrp` (lower case), returns lower case.
    public static func encode(hrp: String, data: UnsafeRawBufferPointer) -> String {
        let hrpBytes = Array(hrp.lowercased().utf8)
        var five = convertBits(data, from: 8, to: 5, pad: true)!
        defer { five.withUnsafeMutableBytes { secureZero($0) } }
        let mod = polymod(hrpExpand(hrpBytes) + five + [0, 0, 0, 0, 0, 0]) ^ 1
        var out = hrpBytes + [UInt8(ascii: "1")]
        for v in five { out.append(charset[Int(v)]) }
        for i in 0..<6 { out.append(charset[Int(mod >> UInt32(5 * (5 - i)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes a Bech32 string held in `text` (any one case). Returns the lower-cased hrp and the
    /// data in secure memory, or nil when the string is not valid Bech32.
    public static func decode(_ text: UnsafeRawBufferPointer) -> (hrp: String, data: SecureBytes)? {
        guard text.count >= 8 else { return nil }
        var hasLower = false
        var hasUpper = false
        for c in text {
            guard c >= 33 && c <= 126 else { return nil }
            if c >= 97 && c <= 122 { hasLower = true }
            if c >= 65 && c <= 90 { hasUpper = true }
        }
        if hasLower && hasUpper { return nil }
        guard let sep = text.lastIndex(of: UInt8(ascii: "1")), sep >= 1, sep + 7 <= text.count else { return nil }
        let lower = { (c: UInt8) -> UInt8 in (c >= 65 && c <= 90) ? c + 32 : c }
        let hrp = text[0..<sep].map(lower)
        let values = SecureBytes(count: text.count - sep - 1)
        let ok = values.withUnsafeMutableBytes { v -> Bool in
            for (k, i) in ((sep + 1)..<text.count).enumerated() {
                let c = lower(text[i])
                guard c < 128, reverse[Int(c)] >= 0 else { return false }
                v[k] = UInt8(reverse[Int(c)])
            }
            return true
        }
        guard ok else { return nil }
        let checksumOK = values.withUnsafeBytes { v in polymod(v, start: polymod(hrpExpand(hrp))) == 1 }
        guard checksumOK else { return nil }
        let dataPart = values.slice(0..<(values.count - 6))
        guard var eight = dataPart.withUnsafeBytes({ convertBits($0, from: 5, to: 8, pad: false) }) else { return nil }
        defer { eight.withUnsafeMutableBytes { secureZero($0) } }
        let data = eight.withUnsafeBytes { SecureBytes(copying: $0) }
        return (String(decoding: hrp, as: UTF8.self), data)
    }
}
