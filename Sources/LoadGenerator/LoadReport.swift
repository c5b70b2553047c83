import Foundation
import Histogram

/// What one client saw: latencies (µs, HDR histogram), answers by HTTP status and by problem code,
/// requests that got no answer by reason.
struct ClientTally: Sendable {
    var latency = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    /// The largest latency exactly, in µs (the histogram's max is its bucket's upper edge).
    var maxMicros: UInt64 = 0
    var statuses: [Int: Int] = [:]
    var problems: [String: Int] = [:]
    var failures: [String: Int] = [:]

    mutating func record(micros: UInt64, status: Int, problem: String?) {
        _ = latency.record(max(1, micros))
        maxMicros = max(maxMicros, micros)
        statuses[status, default: 0] += 1
        if let problem { problems[problem, default: 0] += 1 }
    }

    mutating func fail(_ reason: String) { failures[reason, default: 0] += 1 }

    mutating func add(_ o: ClientTally) {
        latency.add(o.latency)
        maxMicros = max(maxMicros, o.maxMicros)
        statuses.merge(o.statuses, uniquingKeysWith: +)
        problems.merge(o.problems, uniquingKeysWith: +)
        failures.merge(o.failures, uniquingKeysWith: +)
    }

    /// The problem `code` of a non-2xx answer: the document's own `code`, or its embedded receipt's;
    /// `unreadable` when the body is not such a document.
    static func problemCode(status: Int, body: Data) -> String? {
        guard !(200..<300).contains(status) else { return nil }
        guard let o = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return "unreadable" }
        if let c = o["code"] as? String { return c }
        if let r = o["receipt"] as? [String: Any], let c = r["code"] as? String { return c }
        return "unreadable"
    }
}

/// The run's figures, as printed (`table`) and as `--json`.
struct LoadReport: Codable, Sendable, Equatable {
    var servers: [String]
    var clients: Int
    var units: Int
    /// Packages the plan held; `answered` of them got an HTTP answer.
    var packages: Int
    var answered: Int
    /// The posting phase: from the first request to the last answer.
    var wall_s: Double
    /// Answers per second over `wall_s`.
    var per_s: Double
    var p50_ms: Double
    var p99_ms: Double
    var p999_ms: Double
    var max_ms: Double
    var mean_ms: Double
    /// Answers by HTTP status ("201": 800).
    var codes: [String: Int]
    /// Non-2xx answers by problem `code`.
    var problems: [String: Int]
    /// Requests without an answer, by reason.
    var failures: [String: Int]
    var server_pids: [Int32]
    /// Server CPU seconds (user + system, all the pids) over the posting phase; nil without `--server-pid`.
    var server_cpu_s: Double?
    var server_cpu_ms_per_package: Double?
    /// The generator's own CPU seconds over the posting phase.
    var own_cpu_s: Double
    var own_cpu_ms_per_package: Double

    init(plan: LoadPlan, tally: ClientTally, wallSeconds: Double, serverPIDs: [Int32], serverCPU: Double?, ownCPU: Double) {
        func r(_ x: Double, _ places: Double = 1000) -> Double { (x * places).rounded() / places }
        let answered = Int(tally.latency.totalCount)
        let perPackage = Double(max(answered, 1))
        servers = Array(Set(plan.clients.map(\.server.absoluteString))).sorted()
        clients = plan.clients.count
        units = plan.clients.reduce(0) { $0 + $1.units.count }
        packages = plan.packageCount
        self.answered = answered
        wall_s = r(wallSeconds)
        per_s = r(wallSeconds > 0 ? Double(answered) / wallSeconds : 0, 10)
        let ms = { (us: UInt64) in r(Double(us) / 1000) }
        p50_ms = answered == 0 ? 0 : ms(tally.latency.valueAtPercentile(50))
        p99_ms = answered == 0 ? 0 : ms(tally.latency.valueAtPercentile(99))
        p999_ms = answered == 0 ? 0 : ms(tally.latency.valueAtPercentile(99.9))
        max_ms = ms(tally.maxMicros)
        mean_ms = answered == 0 ? 0 : r(tally.latency.mean / 1000)
        codes = Dictionary(uniqueKeysWithValues: tally.statuses.map { (String($0.key), $0.value) })
        problems = tally.problems
        failures = tally.failures
        server_pids = serverPIDs
        server_cpu_s = serverCPU.map { r($0) }
        server_cpu_ms_per_package = serverCPU.map { r($0 * 1000 / perPackage) }
        own_cpu_s = r(ownCPU)
        own_cpu_ms_per_package = r(ownCPU * 1000 / perPackage)
    }

    func json() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: (try? e.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The targets line ("targets: >= 1000 packages/s (MISSED), …"), nil without a goal.
    func goals(rate: Double?, p99: Double?, wall: Double?) -> String? {
        func v(_ ok: Bool) -> String { ok ? "met" : "MISSED" }
        var parts: [String] = []
        if let rate { parts.append(">= \(Int(rate)) packages/s (\(v(per_s >= rate)))") }
        if let p99 { parts.append("p99 <= \(Int(p99)) ms (\(v(p99_ms <= p99)))") }
        if let wall { parts.append("posting <= \(Int(wall)) s (\(v(wall_s <= wall)))") }
        return parts.isEmpty ? nil : "targets: " + parts.joined(separator: ", ")
    }

    /// The human table.
    func table() -> String {
        func list(_ d: [String: Int]) -> String {
            d.isEmpty ? "none" : d.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        }
        func f(_ x: Double, _ p: Int = 3) -> String { String(format: "%.\(p)f", x) }
        var lines = [
            "sealgate-load: \(packages) packages of \(units) units from \(clients) clients to \(servers.joined(separator: ", "))",
            "  answered        \(answered) in \(f(wall_s)) s = \(f(per_s, 1)) packages/s",
            "  latency         p50 \(f(p50_ms)) ms   p99 \(f(p99_ms)) ms   p99.9 \(f(p999_ms)) ms   max \(f(max_ms)) ms   mean \(f(mean_ms)) ms",
            "  HTTP status     \(list(codes))",
            "  problem codes   \(list(problems))",
        ]
        if !failures.isEmpty { lines.append("  no answer       \(list(failures))") }
        if let s = server_cpu_s, let p = server_cpu_ms_per_package {
            let pids = server_pids.map(String.init).joined(separator: ", ")
            lines.append("  server CPU      \(f(s)) s = \(f(p)) ms/package  (pid \(pids))")
        } else {
            lines.append("  server CPU      not measured (give --server-pid)")
        }
        lines.append("  generator CPU   \(f(own_cpu_s)) s = \(f(own_cpu_ms_per_package)) ms/package")
        return lines.joined(separator: "\n")
    }
}
