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
        guard let s = PackageIdentifiers.unixSeconds(of: text) else { return nil }
        unixSeconds = Int64(s)
    }

    public static var now: Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(unixSeconds: Int64(ts.tv_sec))
    }

    public func adding(seconds: Int64) -> Timestamp { Timestamp(unixSeconds: unixSeconds &+ seconds) }

    /// The canonical text (what records store).
    public var text: String { PackageIdentifiers.timestamp(unixSeconds: Int(unixSeconds)) }
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
