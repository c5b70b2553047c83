public import CoreMetrics
import Foundation
public import GatewayCore
public import GatewayStore
public import Prometheus
import SealBase
import Synchronization

/// The gateway's metrics: recorded through swift-metrics' API (`Counter`, `Timer`, `Meter`) into
/// a swift-prometheus `PrometheusCollectorRegistry` of this server's own (no global bootstrap:
/// two servers in one process keep their figures apart), served as Prometheus text
/// (`GET /metrics` with an admin token, or `serve --metrics-listen`). Every family has its
/// `# HELP` (the table `families`) and `# TYPE`. Labels are codes, outcomes, route patterns,
/// methods, statuses, key roles and key ids only — never a unit's data, a name, a path as sent.
public final class GatewayMetrics: Sendable {
    /// Every family this server writes: name → help. A name missing here still gets a help line
    /// (its words), so no family ever goes out without one.
    static let families: [String: String] = [
        "sealgate_packages_received_total": "Package bodies whose upload began (POST /v1/packages).",
        "sealgate_packages_decided_total":
            "Package bodies by how they ended: accepted, rejected, seq_conflict, duplicate (a replay), refused (before being kept), fault (503).",
        "sealgate_decision_duration_seconds": "Time from a body admitted to its decision committed (verification, decryption, validation, import).",
        "sealgate_http_requests_total": "HTTP requests answered, by route pattern, method and status.",
        "sealgate_http_request_duration_seconds": "Time to answer an HTTP request (the upload included), by route pattern and method.",
        "sealgate_problems_total": "Problem documents answered, by code.",
        "sealgate_slow_connections_closed_total": "Connections closed for a slow request head or body.",
        "sealgate_spool_bodies": "Bodies received whole and not yet decided (every process on the store).",
        "sealgate_members_imported": "Members in the units' current snapshots.",
        "sealgate_units_registered": "Units registered.",
        "sealgate_units_without_snapshot": "Registered units with no accepted snapshot yet.",
        "sealgate_campaign_submit_deadline_seconds": "Seconds until the campaign's submission deadline (negative once past); absent when unset.",
        "sealgate_forwarder_backlog_versions": "Dataset versions not yet acknowledged by the handbook system.",
        "sealgate_forwarder_backlog_attempts": "Failed delivery attempts of the dataset versions still pending.",
        "sealgate_forwarder_oldest_pending_seconds": "Age of the oldest dataset version still pending (0 when none is).",
        "sealgate_log_entries": "Entries in the transparency log.",
        "sealgate_log_unsigned_entries": "Log entries not yet covered by a signed checkpoint.",
        "sealgate_log_checkpoint_age_seconds": "Seconds since the newest checkpoint was signed.",
        "sealgate_key_expiry_seconds": "Seconds until a department key's grace ends (decrypt-only recipients, verify-only signing keys).",
        "sealgate_trust_expiry_seconds": "Seconds until the latest trust document expires.",
        "sealgate_store_up": "1 when the last scrape could read the store, 0 when it could not.",
        "sealgate_metrics_scrape_duration_seconds": "Time the last refresh of the store's figures took.",
    ]

    /// Buckets of the decision histogram: a small package decides in tens of milliseconds, the
    /// largest unit's in seconds.
    static let decisionBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
    ]
    /// Buckets of the HTTP histogram.
    static let httpBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// The outcomes `sealgate_packages_decided_total` knows.
    public static let outcomes: Set<String> = ["accepted", "rejected", "seq_conflict", "duplicate", "refused", "fault"]

    public let registry: PrometheusCollectorRegistry
    let factory: SealgateMetricsFactory
    private let received: CoreMetrics.Counter
    private let decision: CoreMetrics.Timer
    private let slowClosed: CoreMetrics.Counter
    /// The store's figures, refreshed at most every `scrapeInterval` (a scrape storm costs one
    /// round of cheap queries every few seconds).
    private let scrape: Mutex<ScrapeState> = Mutex(ScrapeState())
    let scrapeInterval: Duration

    struct ScrapeState {
        var last: ContinuousClock.Instant?
        /// The listener's count of slow connections closed (process-wide) as last read.
        var slowSeen = 0
        /// The key gauges set by the last refresh, so that a key gone is dropped.
        var keyGauges: [String: CoreMetrics.Meter] = [:]
    }

    public init(scrapeInterval: Duration = .seconds(5)) {
        registry = PrometheusCollectorRegistry()
        factory = SealgateMetricsFactory(registry: registry)
        received = CoreMetrics.Counter(label: "sealgate_packages_received_total", factory: factory)
        decision = CoreMetrics.Timer(label: "sealgate_decision_duration_seconds", factory: factory)
        slowClosed = CoreMetrics.Counter(label: "sealgate_slow_connections_closed_total", factory: factory)
        self.scrapeInterval = scrapeInterval
    }

    // MARK: Recorded as it happens

    /// A package body's upload began.
    func countReceived() { received.increment() }

    /// How a package body ended: `outcome` one of `outcomes`, `code` its error code (`none` when
    /// accepted or a replay).
    func countDecided(_ outcome: String, code: String = "none") {
        CoreMetrics.Counter(
            label: "sealgate_packages_decided_total", dimensions: [("outcome", outcome), ("code", Self.clean(code))], factory: factory
        ).increment()
    }

    /// A decision's time, from admission to commit.
    func recordDecision(_ d: Duration) { decision.recordNanoseconds(Self.nanoseconds(d)) }

    /// A request answered: `route` is the route pattern (`/v1/packages/{id}`, or `unmatched`).
    func countRequest(route: String, method: String, status: Int, duration: Duration) {
        let key = "\(route) \(method) \(status)"
        let series =
            requestSeries.withLock { $0[key] }
            ?? {
                let made = RequestSeries(
                    count: CoreMetrics.Counter(
                        label: "sealgate_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))],
                        factory: factory),
                    time: CoreMetrics.Timer(
                        label: "sealgate_http_request_duration_seconds", dimensions: [("route", route), ("method", method)], factory: factory))
                requestSeries.withLock { $0[key] = made }
                return made
            }()
        series.count.increment()
        series.time.recordNanoseconds(Self.nanoseconds(duration))
    }

    /// A request's two series, kept by `countRequest` under "route method status" once made (the
    /// registry's lookup by name and labels cost more than the count). Routes are patterns,
    /// methods those the HTTP parser knows (a fixed list), statuses the server's own: the table
    /// stays small, as the registry's series do.
    struct RequestSeries: Sendable {
        let count: CoreMetrics.Counter
        let time: CoreMetrics.Timer
    }
    private let requestSeries = Mutex<[String: RequestSeries]>([:])

    /// Any problem answered, by code.
    func count(problem code: String) {
        CoreMetrics.Counter(label: "sealgate_problems_total", dimensions: [("code", Self.clean(code))], factory: factory).increment()
    }

    /// Codes are [a-z0-9_]; anything else is dropped from a label.
    static func clean(_ s: String) -> String {
        let c = String(s.unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }.prefix(64))
        return c.isEmpty ? "none" : c
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let (s, atto) = d.components
        return s.multipliedReportingOverflow(by: 1_000_000_000).overflow ? Int64.max : s * 1_000_000_000 + atto / 1_000_000_000
    }

    // MARK: Computed at scrape time

    /// The Prometheus text exposition; the store's figures refreshed first when older than
    /// `scrapeInterval` (`source` nil: the recorded series only).
    public func render(_ source: MetricsSource?) async -> String {
        let slow = SlowClientGuard.closed.load(ordering: .relaxed)
        let more = scrape.withLock { s in
            defer { s.slowSeen = max(s.slowSeen, slow) }
            return max(0, slow - s.slowSeen)
        }
        slowClosed.increment(by: more)
        if let source {
            let now = ContinuousClock.now
            let due = scrape.withLock { s -> Bool in
                if let last = s.last, now - last < scrapeInterval { return false }
                s.last = now
                return true
            }
            if due { await refresh(source) }
        }
        return registry.emitToString()
    }

    /// Reads the store's figures (a handful of cheap queries) into the gauges.
    func refresh(_ source: MetricsSource) async {
        let started = ContinuousClock.now
        let store = source.store
        let now = source.clock.now
        func gauge(_ name: String, _ value: Int64, _ labels: [(String, String)] = []) {
            CoreMetrics.Meter(label: name, dimensions: labels, factory: factory).set(value)
        }
        var up = true
        do {
            gauge("sealgate_spool_bodies", Int64(try await store.pendingSpool().count))
            let rows = try await store.campaignRows()
            gauge("sealgate_members_imported", Int64(rows.reduce(0) { $0 + $1.members }))
            gauge("sealgate_units_registered", Int64(rows.count))
            gauge("sealgate_units_without_snapshot", Int64(rows.filter { $0.accepted == 0 }.count))
            if let by = try await Campaign.load(store).submitBy {
                gauge("sealgate_campaign_submit_deadline_seconds", by.unixSeconds - now.unixSeconds)
            }
            let pending = try await store.datasets().filter { $0.state == .pending }
            gauge("sealgate_forwarder_backlog_versions", Int64(pending.count))
            gauge("sealgate_forwarder_backlog_attempts", Int64(pending.reduce(0) { $0 + $1.attempts }))
            gauge("sealgate_forwarder_oldest_pending_seconds", pending.map { max(0, now.unixSeconds - $0.createdAt.unixSeconds) }.max() ?? 0)
            let size = try await store.logSize()
            gauge("sealgate_log_entries", size)
            if let sql = store as? SQLGatewayStore, let cp = try await sql.latestCheckpointSigned() {
                gauge("sealgate_log_unsigned_entries", max(0, size - cp.size))
                gauge("sealgate_log_checkpoint_age_seconds", max(0, now.unixSeconds - cp.at.unixSeconds))
            }
            let inventory = try await KeyInventory.load(source.data, store: store, clock: source.clock)
            if let expires = inventory.trustExpires {
                gauge("sealgate_trust_expiry_seconds", expires.secondsLeft(from: now))
            }
            var keys: [String: CoreMetrics.Meter] = [:]
            for k in inventory.keys {
                guard let until = k.until else { continue }
                let labels = [("role", Self.clean(k.role)), ("key_id", Self.keyId(k.id))]
                let m = CoreMetrics.Meter(label: "sealgate_key_expiry_seconds", dimensions: labels, factory: factory)
                m.set(until.secondsLeft(from: now))
                keys["\(labels[0].1)/\(labels[1].1)"] = m
            }
            let gone = scrape.withLock { s in
                defer { s.keyGauges = keys }
                return s.keyGauges.filter { keys[$0.key] == nil }.map(\.value)
            }
            for m in gone { m.destroy() }
        } catch {
            up = false
        }
        gauge("sealgate_store_up", up ? 1 : 0)
        CoreMetrics.Meter(label: "sealgate_metrics_scrape_duration_seconds", factory: factory)
            .set(Double(Self.nanoseconds(ContinuousClock.now - started)) / 1e9)
    }

    /// A key id as a label: hex digits and the characters of an age fingerprint, 80 at most.
    static func keyId(_ s: String) -> String {
        String(s.unicodeScalars.filter { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }.prefix(80))
    }
}

/// Where the scrape-time figures come from: the store, the data folder (the key inventory) and
/// the server's clock.
public struct MetricsSource: Sendable {
    public let data: DataDirectory
    public let store: any GatewayStore
    public let clock: any GatewayClock
    public init(data: DataDirectory, store: any GatewayStore, clock: any GatewayClock) {
        self.data = data
        self.store = store
        self.clock = clock
    }
}

/// swift-metrics' factory over one server's registry: each family gets its `# HELP` line from
/// `GatewayMetrics.families` (swift-prometheus's own factory writes none), timers become
/// duration histograms with the family's buckets, meters and non-aggregating recorders gauges.
struct SealgateMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry

    static func help(_ name: String) -> String {
        GatewayMetrics.families[name] ?? name.replacingOccurrences(of: "_", with: " ")
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: Self.help(label))
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(name: label, labels: dimensions, help: Self.help(label))
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(name: label, labels: dimensions, help: Self.help(label)) }
        return registry.makeValueHistogram(
            name: label, labels: dimensions, buckets: [1, 10, 100, 1000, 10_000, 100_000, 1_000_000], help: Self.help(label))
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(name: label, labels: dimensions, help: Self.help(label))
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = label == "sealgate_decision_duration_seconds" ? GatewayMetrics.decisionBuckets : GatewayMetrics.httpBuckets
        return registry.makeDurationHistogram(name: label, labels: dimensions, buckets: buckets, help: Self.help(label))
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let c = handler as? Prometheus.Counter { registry.unregisterCounter(c) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let c = handler as? Prometheus.Counter { registry.unregisterCounter(c) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let g = handler as? Prometheus.Gauge { registry.unregisterGauge(g) }
        if let h = handler as? ValueHistogram { registry.unregisterValueHistogram(h) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let g = handler as? Prometheus.Gauge { registry.unregisterGauge(g) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let h = handler as? DurationHistogram { registry.unregisterDurationHistogram(h) }
    }
}
