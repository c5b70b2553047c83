import Synchronization

/// Where every layer reads "now": the gateway's one clock. Code that decides by time (intake,
/// the key lifecycles, synthesis, forwarding, the campaign) is handed a clock instead of asking
/// the system, so a test can run it at a chosen instant (`TestClock`) without sleeping.
public protocol GatewayClock: Sendable {
    /// The current moment, to the second.
    var now: Timestamp { get }
}

extension GatewayClock {
    /// The moment `duration` from now (negative: before now).
    public func now(plus duration: Duration) -> Timestamp { now.adding(duration) }
}

/// The system's real-time clock (UTC seconds).
public struct SystemClock: GatewayClock {
    public init() {}
    public var now: Timestamp { Timestamp.now }
}

extension GatewayClock where Self == SystemClock {
    /// The system's real-time clock.
    public static var system: SystemClock { SystemClock() }
}

/// A clock that stands where it is set: tests move it to a chosen instant (a deadline passed, a
/// grace ended) instead of waiting.
public final class TestClock: GatewayClock {
    private let current: Mutex<Timestamp>
    public init(_ start: Timestamp) { current = Mutex(start) }
    public var now: Timestamp {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
    /// Moves the clock on by `duration`.
    public func advance(by duration: Duration) { current.withLock { $0 = $0.adding(duration) } }
}

extension Timestamp {
    /// The moment `duration` later (whole seconds; a fraction of a second is dropped).
    public func adding(_ duration: Duration) -> Timestamp { adding(seconds: duration.components.seconds) }

    /// The time from `other` to this moment.
    public func duration(since other: Timestamp) -> Duration { .seconds(unixSeconds &- other.unixSeconds) }
}
