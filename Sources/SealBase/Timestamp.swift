#if canImport(Glibc)
    import Glibc
#endif

/// A moment, to the second, as every sealgate document and record writes it:
/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC). Moments are compared as time, never as text; a text
/// that is not a valid moment does not become one (`init?` fails), so a damaged or foreign value
/// can never pass a deadline check by sorting before or after it.
public struct Timestamp: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let unixSeconds: Int64

    public init(unixSeconds: Int64) { self.unixSeconds = unixSeconds }

    /// The moment a valid `YYYY-MM-DDTHH:MM:SSZ` names; nil for anything else.
    public init?(_ text: String) {
        // Read from the string's own UTF-8 (a moment is read for every stored time a row holds).
        var text = text
        guard
            let seconds = text.withUTF8({ b -> Int64? in
                guard Self.isValid(b) else { return nil }
                func n(_ r: Range<Int>) -> Int32 { b[r].reduce(0) { $0 * 10 + Int32($1 - 48) } }
                var tmv = tm()
                tmv.tm_year = n(0..<4) - 1900
                tmv.tm_mon = n(5..<7) - 1
                tmv.tm_mday = n(8..<10)
                tmv.tm_hour = n(11..<13)
                tmv.tm_min = n(14..<16)
                tmv.tm_sec = n(17..<19)
                return Int64(timegm(&tmv))
            })
        else { return nil }
        unixSeconds = seconds
    }

    public static var now: Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(unixSeconds: Int64(ts.tv_sec))
    }

    public func adding(seconds: Int64) -> Timestamp { Timestamp(unixSeconds: unixSeconds &+ seconds) }

    /// The canonical text (what records store).
    public var text: String { Self.text(unixSeconds: unixSeconds) }

    /// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds: the digits written into the string's own bytes
    /// (a decision writes a dozen moments; the pieces joined made a dozen strings each).
    public static func text(unixSeconds: Int64) -> String {
        var t = time_t(unixSeconds)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let year = Int(tmv.tm_year) + 1900
        // Years of four digits only; any other is written as `paddedText` writes it.
        guard (0...9999).contains(year) else { return paddedText(unixSeconds: unixSeconds) }
        return String(unsafeUninitializedCapacity: 20) { out in
            func put(_ v: Int, _ width: Int, at i: Int) {
                var v = v
                for k in stride(from: i + width - 1, through: i, by: -1) {
                    out[k] = UInt8(48 + v % 10)
                    v /= 10
                }
            }
            put(year, 4, at: 0)
            out[4] = 45
            put(Int(tmv.tm_mon) + 1, 2, at: 5)
            out[7] = 45
            put(Int(tmv.tm_mday), 2, at: 8)
            out[10] = 84
            put(Int(tmv.tm_hour), 2, at: 11)
            out[13] = 58
            put(Int(tmv.tm_min), 2, at: 14)
            out[16] = 58
            put(Int(tmv.tm_sec), 2, at: 17)
            out[19] = 90
            return 20
        }
    }

    /// `text` made of its pieces, each padded with zeros (for a year of other than four digits,
    /// and what a test holds the fast path to).
    static func paddedText(unixSeconds: Int64) -> String {
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

    /// RFC 3339 UTC with seconds precision and `Z`, a real calendar date.
    public static func isValid(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { isValid($0) }
    }

    /// The digits' places in `YYYY-MM-DDTHH:MM:SSZ`, and the days of each month in a common year.
    private static let digitPlaces = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
    private static let monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

    /// `isValid` over the text's UTF-8.
    static func isValid(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count == 20, b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58, b[19] == 90 else { return false }
        for i in digitPlaces { guard b[i] >= 48 && b[i] <= 57 else { return false } }
        func n(_ r: Range<Int>) -> Int { b[r].reduce(0) { $0 * 10 + Int($1 - 48) } }
        let y = n(0..<4)
        let m = n(5..<7)
        let d = n(8..<10)
        guard (1...12).contains(m), n(11..<13) < 24, n(14..<16) < 60, n(17..<19) < 61 else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = m == 2 && leap ? 29 : monthDays[m - 1]
        guard (1...days).contains(d) else { return false }
        // A leap second is the next minute's first; on the last minute of 9999 that is a year the
        // text cannot hold (the moment would be written `10000-…` and never read back).
        return !(y == 9999 && m == 12 && d == 31 && n(11..<13) == 23 && n(14..<16) == 59 && n(17..<19) == 60)
    }
    public var description: String { text }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.unixSeconds < b.unixSeconds }
}

extension Optional where Wrapped == String {
    /// The moment this optional text names, if it is one.
    public var moment: Timestamp? { flatMap(Timestamp.init) }
}

extension String {
    /// The moment this text names, if it is one.
    public var moment: Timestamp? { Timestamp(self) }
}
