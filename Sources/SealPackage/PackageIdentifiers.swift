import SealCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// Identifier rules and generators shared by sealing and opening.
public enum PackageIdentifiers {
    /// `[A-Z0-9][A-Z0-9-]{1,31}`
    public static func isValidUnit(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count >= 2, b.count <= 32 else { return false }
        func ok(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 48 && c <= 57) }
        return ok(b[0]) && b.dropFirst().allSatisfy { ok($0) || $0 == 45 }
    }

    /// Canonical lower-case UUID text (8-4-4-4-12).
    public static func isValidUUID(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 36 else { return false }
        for (i, c) in b.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                guard c == 45 else { return false }
            } else {
                guard (c >= 48 && c <= 57) || (c >= 97 && c <= 102) else { return false }
            }
        }
        return true
    }

    /// A new UUID version 7 (Unix milliseconds, then random bits).
    public static func newUUIDv7(now: UInt64 = currentUnixMillis()) -> String {
        var b = SecureRandom.bytes(16)
        for i in 0..<6 { b[i] = UInt8(now >> (8 * UInt64(5 - i)) & 0xff) }
        b[6] = 0x70 | (b[6] & 0x0f)
        b[8] = 0x80 | (b[8] & 0x3f)
        let h = hexString(b)
        let c = Array(h)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }

    public static func currentUnixMillis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds.
    public static func timestamp(unixSeconds: Int) -> String {
        var t = time_t(unixSeconds)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func p(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return
            "\(p(tmv.tm_year + 1900, 4))-\(p(tmv.tm_mon + 1, 2))-\(p(tmv.tm_mday, 2))T\(p(tmv.tm_hour, 2)):\(p(tmv.tm_min, 2)):\(p(tmv.tm_sec, 2))Z"
    }

    /// Unix seconds of a valid `YYYY-MM-DDTHH:MM:SSZ`, or nil.
    public static func unixSeconds(of s: String) -> Int? {
        guard isValidTimestamp(s) else { return nil }
        let b = Array(s.utf8)
        func n(_ r: Range<Int>) -> Int32 { b[r].reduce(0) { $0 * 10 + Int32($1 - 48) } }
        var tmv = tm()
        tmv.tm_year = n(0..<4) - 1900
        tmv.tm_mon = n(5..<7) - 1
        tmv.tm_mday = n(8..<10)
        tmv.tm_hour = n(11..<13)
        tmv.tm_min = n(14..<16)
        tmv.tm_sec = n(17..<19)
        return Int(timegm(&tmv))
    }

    /// RFC 3339 UTC with seconds precision and `Z`, a real calendar date.
    public static func isValidTimestamp(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 20, b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58, b[19] == 90 else { return false }
        for i in [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] { guard b[i] >= 48 && b[i] <= 57 else { return false } }
        func n(_ r: Range<Int>) -> Int { b[r].reduce(0) { $0 * 10 + Int($1 - 48) } }
        let y = n(0..<4)
        let m = n(5..<7)
        let d = n(8..<10)
        guard (1...12).contains(m), n(11..<13) < 24, n(14..<16) < 60, n(17..<19) < 61 else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        return (1...days).contains(d)
    }

    /// Data file names inside a payload: `[A-Za-z0-9._-]{1,100}`, not starting with a dot,
    /// and not the reserved `manifest.json`.
    public static func isValidDataFileName(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard !b.isEmpty, b.count <= 100, b[0] != 46, s != "manifest.json" else { return false }
        return b.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 95 || $0 == 45 }
    }
}
