import Synchronization

/// The gateway's counters, served as Prometheus text at `GET /metrics` (admin token). Labels are
/// stable codes and statuses only — never a unit's data, a name, an id or a path.
public final class GatewayMetrics: Sendable {
    private let counters = Mutex<[String: Int]>([:])

    public init() {}

    func add(_ name: String, _ label: String? = nil, _ n: Int = 1) {
        let key = label.map { "\(name){\($0)}" } ?? name
        counters.withLock { $0[key, default: 0] += n }
    }

    /// A body refused before it was kept (it did not verify, or its signer is not registered).
    func count(refusal code: String) { add("sealgate_bodies_refused_total", "code=\"\(Self.clean(code))\"") }
    /// A decision committed (accepted, rejected, seq conflict).
    func count(decision status: String) { add("sealgate_decisions_total", "status=\"\(Self.clean(status))\"") }
    /// A replay answered from the first decision.
    func countDuplicate() { add("sealgate_duplicates_total") }
    /// A fault of the gateway's own answered 503.
    func countFault() { add("sealgate_faults_total") }
    /// Any problem answered, by code.
    func count(problem code: String) { add("sealgate_problems_total", "code=\"\(Self.clean(code))\"") }

    /// Codes are [a-z0-9_]; anything else is dropped from a label.
    static func clean(_ s: String) -> String {
        String(s.unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }.prefix(64))
    }

    /// The Prometheus text exposition.
    func render(extra: [(String, Int)]) -> String {
        var lines = counters.withLock { $0.map { "\($0.key) \($0.value)" } }
        lines += extra.map { "\($0.0) \($0.1)" }
        return lines.sorted().joined(separator: "\n") + "\n"
    }
}
