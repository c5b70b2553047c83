/// A time as another party's document states it — a trust document's `issued`/`expires`, a key's
/// grace end as published, the handbook system's signed `imported_at`: a moment when its text is
/// one, else the text as written (damaged, or another system's format). Shown as written either
/// way; where it is an end, an unreadable one counts as already past (`secondsLeft`), so a damaged
/// expiry is treated as expired, never as "no expiry".
public enum StatedTime: Sendable, Equatable, Hashable, CustomStringConvertible {
    case moment(Timestamp)
    case unreadable(String)

    /// A moment when `text` is one (`Timestamp`'s strict form), else the text kept.
    public init(_ text: String) {
        if let t = Timestamp(text) { self = .moment(t) } else { self = .unreadable(text) }
    }

    public init(_ moment: Timestamp) { self = .moment(moment) }

    /// The moment, or nil when the text is not one.
    public var moment: Timestamp? {
        if case .moment(let t) = self { return t }
        return nil
    }

    /// The text as stated.
    public var text: String {
        switch self {
        case .moment(let t): return t.text
        case .unreadable(let s): return s
        }
    }

    public var description: String { text }

    /// Seconds from `now` until this end; zero (past) when the text is not a moment.
    public func secondsLeft(from now: Timestamp) -> Int64 {
        moment.map { $0.unixSeconds - now.unixSeconds } ?? 0
    }
}
