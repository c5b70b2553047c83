import Foundation
import TestSupport
import Testing

/// The gateway's Prometheus metrics (swift-metrics over swift-prometheus) read by a real
/// Prometheus parser, the example alert rules checked by promtool, and the request logs in JSON.
struct MetricsTests {
    /// One family as Python's `prometheus_client` parsed it.
    struct Family {
        let name: String
        let type: String
        let help: String
        let samples: [(name: String, labels: [String: String], value: Double)]
    }

    /// Parses an exposition with `prometheus_client.parser.text_string_to_metric_families`
    /// (Debian's python3-prometheus-client, installed by scripts/install-deps).
    static func parse(_ text: String, in w: Workdir) throws -> [String: Family] {
        w.write("scrape.txt", text)
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = []
            for f in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
                out.append({"name": f.name, "type": f.type, "help": f.documentation,
                            "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
            print(json.dumps(out))
            """
        let r = try CLI.run("/usr/bin/python3", ["-c", script, w.file("scrape.txt")], cwd: w.path)
        guard r.status == 0, let list = try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [[String: Any]] else {
            throw RawHTTP.Failure("prometheus_client refused the exposition (or is missing: run scripts/install-deps): \(r.stderr)")
        }
        var families: [String: Family] = [:]
        for f in list {
            let samples = (f["samples"] as? [[String: Any]] ?? []).map {
                (
                    name: $0["name"] as? String ?? "", labels: $0["labels"] as? [String: String] ?? [:],
                    value: ($0["value"] as? NSNumber)?.doubleValue ?? .nan
                )
            }
            let name = f["name"] as? String ?? ""
            families[name] = Family(name: name, type: f["type"] as? String ?? "", help: f["help"] as? String ?? "", samples: samples)
        }
        return families
    }

    /// The value of the sample `name` whose labels include `labels` (0 when absent: a counter not yet moved).
    static func value(_ fs: [String: Family], _ name: String, _ labels: [String: String] = [:]) -> Double {
        for f in fs.values {
            for s in f.samples where s.name == name && labels.allSatisfy({ s.labels[$0.key] == $0.value }) { return s.value }
        }
        return 0
    }

    /// The metrics listener's address, as the gateway printed it.
    static func metricsURL(_ gw: GatewayProcess) throws -> String {
        for _ in 0..<600 {
            if let r = gw.logText.range(of: #"metrics served at http://127\.0\.0\.1:[0-9]+/metrics"#, options: .regularExpression) {
                return String(gw.logText[r].dropFirst("metrics served at ".count))
            }
            usleep(50_000)
        }
        throw RawHTTP.Failure("no metrics listener: \(gw.logText)")
    }

    /// A small cycle between two scrapes: a snapshot accepted, one rejected (a legacy id), a
    /// replay, a stranger's bytes, a stranger's path; the counters move by exactly that, every
    /// family has HELP and TYPE, no label value is outside its set (no path as sent, no unit id
    /// of a stranger, nothing personal), the gauges read the store. The alert rules pass promtool.
    @Test func countersMoveAndLabelsStayBounded() throws {
        let f = try GatewayFixture(units: 2, members: 60)
        let admin = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: f.w.path).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: ["--metrics-listen", "127.0.0.1:0", "--metrics-refresh", "0s"])
        defer { gw.stop() }
        let scrapeURL = try Self.metricsURL(gw)

        // On the API /metrics needs the admin token; on its own listener none.
        #expect(try RawHTTP.request("GET", gw.url + "/metrics").status == 401)
        let viaAPI = try RawHTTP.request("GET", gw.url + "/metrics", headers: ["Authorization": "Bearer \(admin)"])
        #expect(viaAPI.status == 200 && viaAPI.text.contains("# TYPE sealgate_packages_received_total counter"))
        let before = try Self.parse(try RawHTTP.request("GET", scrapeURL).text, in: f.w)

        let good = try f.seal("HCM-U001", seq: 1)
        #expect(try f.post(gw, good).status == 201)
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 1, dir: try f.legacyIDCopy("HCM-U002", line: 3))).status == 422)
        #expect(try f.post(gw, good).status == 200)  // a replay
        f.w.write("junk.sgp", "not a package at all")
        #expect(try f.post(gw, f.w.file("junk.sgp")).status == 400)
        let citizen = String(
            String(decoding: f.w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n")[1].split(separator: ",")[4])
        #expect(try RawHTTP.request("GET", gw.url + "/nothing/\(citizen)?q=\(citizen)").status == 404)
        #expect(try RawHTTP.request("GET", gw.url + "/v1/units/ZZ-\(citizen)", headers: ["Authorization": "Bearer \(admin)"]).status == 404)

        let text = try RawHTTP.request("GET", scrapeURL).text
        let after = try Self.parse(text, in: f.w)
        func moved(_ name: String, _ labels: [String: String] = [:]) -> Double {
            Self.value(after, name, labels) - Self.value(before, name, labels)
        }
        #expect(moved("sealgate_packages_received_total") == 4)
        #expect(moved("sealgate_packages_decided_total", ["outcome": "accepted", "code": "none"]) == 1)
        #expect(moved("sealgate_packages_decided_total", ["outcome": "rejected", "code": "records_invalid"]) == 1)
        #expect(moved("sealgate_packages_decided_total", ["outcome": "duplicate", "code": "none"]) == 1)
        #expect(moved("sealgate_packages_decided_total", ["outcome": "refused", "code": "container_malformed"]) == 1)
        #expect(moved("sealgate_decision_duration_seconds_count") == 2)
        #expect(moved("sealgate_http_requests_total", ["route": "/v1/packages", "method": "POST", "status": "201"]) == 1)
        #expect(moved("sealgate_http_requests_total", ["route": "unmatched", "method": "GET", "status": "404"]) == 1)
        #expect(moved("sealgate_http_request_duration_seconds_count", ["route": "/v1/packages", "method": "POST"]) == 4)
        #expect(moved("sealgate_problems_total", ["code": "not_found"]) == 1)
        // The store's figures, read at this scrape (--metrics-refresh 0s).
        #expect(Self.value(after, "sealgate_members_imported") == Double(f.members("HCM-U001")))
        #expect(Self.value(after, "sealgate_units_registered") == 2 && Self.value(after, "sealgate_units_without_snapshot") == 1)
        #expect(Self.value(after, "sealgate_store_up") == 1 && Self.value(after, "sealgate_spool_bodies") == 0)
        #expect(Self.value(after, "sealgate_log_entries") >= 4 && Self.value(after, "sealgate_trust_expiry_seconds") > 80 * 86_400)

        // HELP and TYPE on every family (the parser calls a family without TYPE "unknown").
        let expected = [
            "sealgate_packages_received", "sealgate_packages_decided", "sealgate_decision_duration_seconds", "sealgate_http_requests",
            "sealgate_http_request_duration_seconds", "sealgate_spool_bodies", "sealgate_members_imported", "sealgate_forwarder_backlog_versions",
            "sealgate_forwarder_backlog_attempts", "sealgate_log_entries", "sealgate_log_checkpoint_age_seconds", "sealgate_trust_expiry_seconds",
            "sealgate_store_up",
        ]
        for name in expected { #expect(after[name] != nil, "no family \(name)") }
        for fam in after.values {
            #expect(!fam.help.isEmpty, "\(fam.name) has no HELP")
            #expect(["counter", "gauge", "histogram"].contains(fam.type), "\(fam.name) is typed \(fam.type)")
            #expect(fam.name.hasPrefix("sealgate_"), "\(fam.name)")
        }
        // No label value outside its set.
        let allowed: [String: (String) -> Bool] = [
            "route": { $0 == "unmatched" || ($0.hasPrefix("/") && !$0.contains(citizen) && !$0.contains("nothing") && !$0.contains("ZZ-")) },
            "method": { ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "QUERY"].contains($0) },
            "status": { Int($0).map { (100...599).contains($0) } ?? false },
            "code": { !$0.isEmpty && $0.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" } && !$0.contains(citizen) },
            "outcome": { ["accepted", "rejected", "seq_conflict", "duplicate", "refused", "fault"].contains($0) },
            "role": { ["root", "recipient", "receipt", "dataset", "log"].contains($0) },
            "key_id": { $0.allSatisfy { $0.isLetter || $0.isNumber } },
            "le": { _ in true },
        ]
        for fam in after.values {
            for s in fam.samples {
                for (k, v) in s.labels {
                    #expect(allowed[k]?(v) == true, "\(s.name): label \(k)=\(v) is not allowed")
                }
            }
        }
        #expect(!text.contains(citizen) && !text.contains("ZZ-") && !text.contains("nothing"))

        // The example alert rules are valid (install-deps installs Debian's prometheus, which ships promtool).
        let promtool = "/usr/bin/promtool"
        #expect(FileManager.default.isExecutableFile(atPath: promtool), "promtool is missing: run scripts/install-deps")
        if FileManager.default.isExecutableFile(atPath: promtool) {
            let rules = CLI.repoRoot.appendingPathComponent("deploy/prometheus/alerts.yml").path
            let r = try CLI.run(promtool, ["check", "rules", rules], cwd: f.w.path)
            #expect(r.status == 0, "\(r.out) \(r.stderr)")
        }
    }

    /// `serve --log-format json`: every line the gateway writes is a JSON object with ts, level,
    /// label and msg; one line per request with method, route pattern, status, duration and
    /// request id (the unit when known); the id is in the answer's X-Request-Id and in problem
    /// documents; a sane incoming id is kept, an odd one replaced. No token, passphrase, citizen
    /// id, name, phone, e-mail or home town of the test's data, and no path as sent, is in the log.
    @Test func jsonRequestLogsCarryNoSecret() throws {
        let f = try GatewayFixture(units: 2, members: 60)
        let admin = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: f.w.path).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let unitToken = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "unit", "--unit", "HCM-U001"], cwd: f.w.path).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let passphrase = "correct horse battery staple 2026"
        let gw = try GatewayProcess(
            data: "dept", cwd: f.w.path, extra: ["--log-format", "json", "--log-level", "info"], env: ["SEALGATE_PASSPHRASE": passphrase])
        defer { gw.stop() }
        let members = String(decoding: f.w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n").dropFirst()
        let row = members.first!.split(separator: ",", omittingEmptySubsequences: false).map(String.init)

        // A cycle: accepted with the unit's token, rejected, a replay, a receipt read, refusals.
        let good = try f.seal("HCM-U001", seq: 1)
        let accepted = try RawHTTP.request(
            "POST", gw.url + "/v1/packages", headers: ["Authorization": "Bearer \(unitToken)", "X-Request-Id": "client-req_42"], bodyFile: good)
        #expect(accepted.status == 201 && accepted.headers["x-request-id"] == "client-req_42")
        #expect(try f.post(gw, try f.seal("HCM-U002", seq: 1, dir: try f.legacyIDCopy("HCM-U002", line: 3))).status == 422)
        #expect(try f.post(gw, good).status == 200)
        #expect(try RawHTTP.request("GET", gw.url + "/v1/units/HCM-U001", headers: ["Authorization": "Bearer \(admin)"]).status == 200)
        let odd = "not/a sane id"
        let refused = try RawHTTP.request(
            "GET", gw.url + "/v1/units/HCM-U001?who=\(row[4])",
            headers: [
                "Authorization": "Bearer \(passphrase.replacingOccurrences(of: " ", with: "-"))",
                "X-Request-Id": "\(row[4])-\(String(repeating: "y", count: 60))",
            ])
        #expect(refused.status == 400 || refused.status == 401)
        let refusedId = refused.headers["x-request-id"] ?? ""
        #expect(!refusedId.isEmpty && !refusedId.contains(row[4]), "an id over 64 characters is replaced: \(refusedId)")
        let problem = try JSONSerialization.jsonObject(with: Data(refused.body)) as? [String: Any] ?? [:]
        #expect(problem["request_id"] as? String == refusedId, "the problem document carries the request id: \(refused.text)")
        let notFound = try RawHTTP.request("GET", gw.url + "/people/\(row[4])/\(row[10])", headers: ["X-Request-Id": odd])
        #expect(notFound.status == 404 && notFound.headers["x-request-id"] != odd)

        // The request lines are written after the answer: wait for the last one (or give up after 30 s).
        let last = notFound.headers["x-request-id"] ?? "?"
        for _ in 0..<600 where !gw.logText.contains(last) { usleep(50_000) }
        gw.stop()
        let log = gw.logText
        var requests: [[String: Any]] = []
        for line in log.split(separator: "\n") {
            let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]  // lint: allow try? — reported below
            #expect(o != nil, "not a JSON line: \(line)")
            guard let o else { continue }
            for k in ["ts", "level", "label", "msg"] { #expect(o[k] is String, "\(k) missing in \(line)") }
            if o["request_id"] != nil, o["route"] != nil { requests.append(o) }
        }
        #expect(requests.count == 6, "one line per request: \(requests.count)\n\(log)")
        for r in requests {
            #expect(r["method"] is String && r["route"] is String && r["status"] is Int && r["duration_seconds"] is NSNumber, "\(r)")
        }
        #expect(
            requests.contains { $0["request_id"] as? String == "client-req_42" && $0["unit"] as? String == "HCM-U001" && $0["status"] as? Int == 201 }
        )
        #expect(requests.contains { $0["route"] as? String == "unmatched" && $0["status"] as? Int == 404 })
        #expect(requests.contains { $0["code"] as? String == "records_invalid" })

        // Nothing secret or personal.
        var secrets: Set<String> = [admin, unitToken, passphrase, passphrase.replacingOccurrences(of: " ", with: "-"), "/people/"]
        for unit in ["HCM-U001", "HCM-U002"] {
            for line in String(decoding: f.w.read("city/\(unit)/members.csv"), as: UTF8.self).split(separator: "\n").dropFirst() {
                let v = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                // name, citizen id, phone, e-mail, home town
                for i in [1, 4, 9, 10, 12] where v.count > i && v[i].count >= 5 { secrets.insert(v[i]) }
            }
        }
        #expect(secrets.count > 100)
        let leaked = secrets.filter { log.contains($0) }
        #expect(leaked.isEmpty, "in the log: \(leaked.sorted().prefix(5))")
    }
}
