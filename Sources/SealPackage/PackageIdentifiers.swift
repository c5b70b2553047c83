import SealBase
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
            if i == 8 || i == 13 || i == 18 || i == 23 {
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
        // Written into its 36 bytes (a package makes a few: its spool name, a request's id).
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { out in
            digits.withUTF8Buffer { d in
                var j = 0
                for i in 0..<16 {
                    if i == 4 || i == 6 || i == 8 || i == 10 {
                        out[j] = 45  // "-"
                        j += 1
                    }
                    out[j] = d[Int(b[i] >> 4)]
                    out[j + 1] = d[Int(b[i] & 15)]
                    j += 2
                }
                return j
            }
        }
    }

    public static func currentUnixMillis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (`Timestamp.text`).
    public static func timestamp(unixSeconds: Int) -> String { Timestamp.text(unixSeconds: Int64(unixSeconds)) }

    /// Unix seconds of a valid `YYYY-MM-DDTHH:MM:SSZ`, or nil.
    public static func unixSeconds(of s: String) -> Int? { Timestamp(s).map { Int($0.unixSeconds) } }

    /// RFC 3339 UTC with seconds precision and `Z`, a real calendar date.
    public static func isValidTimestamp(_ s: String) -> Bool { Timestamp.isValid(s) }

    /// Data file names inside a payload: `[A-Za-z0-9._-]{1,100}`, not starting with a dot,
    /// and not the reserved `manifest.json`.
    public static func isValidDataFileName(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard !b.isEmpty, b.count <= 100, b[0] != 46, s != "manifest.json" else { return false }
        return b.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 95 || $0 == 45 }
    }
}
