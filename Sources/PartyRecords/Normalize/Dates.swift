/// A calendar date (proleptic Gregorian), compared as (year, month, day).
public struct CivilDate: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// A valid date, or nil.
    public init?(year: Int, month: Int, day: Int) {
        guard year >= 1 && year <= 9999, month >= 1 && month <= 12, day >= 1 && day <= CivilDate.daysIn(year, month) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    static func daysIn(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        func p(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(p(year, 4))-\(p(month, 2))-\(p(day, 2))"
    }

    /// Whole years from `self` to `other` (an age on `other`).
    public func years(until other: CivilDate) -> Int {
        var y = other.year - year
        if (other.month, other.day) < (month, day) { y -= 1 }
        return y
    }

    /// The same day `n` years later (29 February becomes 28 February in a common year); nil
    /// past 9999-12-31, the last date there is (a date of birth in 9990 has no 18th birthday).
    public func addingYears(_ n: Int) -> CivilDate? {
        let (y, overflow) = year.addingReportingOverflow(n)
        guard !overflow, y >= 1, y <= 9999 else { return nil }
        return CivilDate(year: y, month: month, day: min(day, CivilDate.daysIn(y, month)))
    }

    /// True when `self` comes before the same day `n` years after `start` — also when that day
    /// would fall past the last date there is (nothing comes after it).
    public func isBefore(_ n: Int, yearsAfter start: CivilDate) -> Bool {
        start.addingYears(n).map { self < $0 } ?? true
    }

    /// Days since 1970-01-01 (for generation arithmetic).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public init(daysSinceEpoch z0: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.month = m
        self.day = d
    }
}

/// How a date field was written.
public enum DateParse: Equatable, Sendable {
    /// Already `YYYY-MM-DD`.
    case canonical(CivilDate)
    /// An accepted other form (`dd/mm/yyyy`, `d/m/yyyy`, `dd-mm-yyyy`, surrounding spaces): normalizable.
    case normalizable(CivilDate)
    /// Not a date we can read, or not a real date.
    case invalid
}

public enum Dates {
    /// Parses a date field's bytes.
    public static func parse(_ b: UnsafeRawBufferPointer) -> DateParse {
        // Trim ASCII spaces.
        var s = 0
        var e = b.count
        while s < e && b[s] == 0x20 { s += 1 }
        while e > s && b[e - 1] == 0x20 { e -= 1 }
        let trimmed = s != 0 || e != b.count
        let n = e - s
        @inline(__always) func digit(_ i: Int) -> Int? {
            let c = b[s + i]
            return c >= 0x30 && c <= 0x39 ? Int(c - 0x30) : nil
        }
        // YYYY-MM-DD
        if n == 10, b[s + 4] == 0x2D, b[s + 7] == 0x2D,
            let y0 = digit(0), let y1 = digit(1), let y2 = digit(2), let y3 = digit(3), let m0 = digit(5), let m1 = digit(6), let d0 = digit(8),
            let d1 = digit(9)
        {
            guard let date = CivilDate(year: y0 * 1000 + y1 * 100 + y2 * 10 + y3, month: m0 * 10 + m1, day: d0 * 10 + d1) else { return .invalid }
            return trimmed ? .normalizable(date) : .canonical(date)
        }
        // d/m/yyyy, dd/mm/yyyy, d-m-yyyy, dd-mm-yyyy (day first: the Vietnamese convention)
        var parts: [Int] = []
        var cur = 0
        var digits = 0
        var sep: UInt8 = 0
        for i in s..<e {
            let c = b[i]
            if c >= 0x30 && c <= 0x39 {
                cur = cur * 10 + Int(c - 0x30)
                digits += 1
                if digits > 4 { return .invalid }
                continue
            }
            guard c == 0x2F || c == 0x2D, digits > 0 else { return .invalid }
            if sep == 0 { sep = c } else if sep != c { return .invalid }
            parts.append(cur)
            cur = 0
            digits = 0
        }
        guard digits == 4, parts.count == 2 else { return .invalid }
        parts.append(cur)
        guard let date = CivilDate(year: parts[2], month: parts[1], day: parts[0]) else { return .invalid }
        return .normalizable(date)
    }
}
