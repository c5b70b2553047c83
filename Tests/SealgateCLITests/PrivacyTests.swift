import Foundation
import GatewayCore
import SealCrypto
import TestSupport
import Testing

/// No member's personal data in anything a stranger can read.
struct PrivacyTests {
    /// The rows of `unit`'s members.csv the validator finds an error in are dropped: what stays has
    /// warnings only (values it normalized), and is accepted with those findings.
    static func keepWarningsOnly(_ w: Workdir, _ unit: String) throws {
        // (Foundation's parser: the report's completeness is a fraction, which the canonical JSON refuses.)
        func report() throws -> [String: Any] {
            let r = try CLI.sg(["validate", "--format", "json", "--lang", "en", "city/\(unit)"], cwd: w.path)
            return try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [String: Any] ?? [:]
        }
        let findings = try report()["findings"] as? [[String: Any]] ?? []
        let errors = findings.filter { $0["severity"] as? String == "error" && $0["file"] as? String == "members.csv" }
        let bad = Set(errors.compactMap { $0["line"] as? Int })
        let lines = String(decoding: w.read("city/\(unit)/members.csv"), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        w.write("city/\(unit)/members.csv", lines.enumerated().filter { !bad.contains($0.offset + 1) }.map(\.element).joined(separator: "\n"))
        let summary = try report()["summary"] as? [String: Any] ?? [:]
        guard !bad.isEmpty, summary["errors"] as? Int == 0, (summary["warnings"] as? Int ?? 0) > 0 else {
            throw RawHTTP.Failure("\(unit) should have had errors, and now warnings and no errors: \(bad) \(summary)")
        }
    }

    /// A whole cycle — snapshots (one with errors, two with warnings: a city with dirt), a
    /// correction, a replay, a forgery, synthesis, forwarding — then every answer a stranger can
    /// get, and every full receipt an admin reads back, is searched for every citizen id, phone,
    /// e-mail, name and home town in the city: none is there.
    @Test func noPersonalDataInAnyUnauthenticatedAnswer() throws {
        let c = try CityCycle(units: 3)
        // The city with dirt: rows the validator normalizes (warnings) and rows it refuses (errors).
        try FileManager.default.removeItem(atPath: c.w.file("city"))
        try requireOK(try CLI.sg(["generate", "--units", "3", "--members", "180", "--seed", "17", "--dirt", "0.1", "-o", "city"], cwd: c.w.path))
        for unit in ["HCM-U001", "HCM-U002"] { try Self.keepWarningsOnly(c.w, unit) }
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        let hb = try c.handbook()
        defer { hb.stop() }
        try c.connect(hb.url)
        var answers: [String] = []
        func get(_ base: String, _ path: String) throws {
            let r = try RawHTTP.request("GET", base + path)
            answers.append(r.text + r.headers.values.joined(separator: "\n"))
        }
        func post(_ file: String) throws {
            let r = try RawHTTP.request("POST", gw.url + "/v1/packages", bodyFile: file)
            answers.append(r.text + r.headers.values.joined(separator: "\n"))
        }
        // A unit whose records have errors (a legacy id), a correction with values, a replay, a forgery.
        try post(try c.f.seal("HCM-U003", seq: 1, dir: try c.f.legacyIDCopy("HCM-U003", line: 3)))
        let row = String(decoding: c.w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n")[1].split(
            separator: ",", omittingEmptySubsequences: false
        ).map(String.init)
        c.w.write(
            "corrections.csv",
            "citizen_id,field,old_value,new_value,reason,reported_at\n\(row[4]),phone,\(row[9]),0912345678,đổi số,2026-11-28T09:00:00Z\n"
                + "\(row[4]),hometown,Nơi Khác,Đà Nẵng,quê,2026-11-28T09:00:00Z\n")
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "2", "--kind", "correction", "--signing-key", "HCM-U001.key", "--trust", "trust.json",
                    "-o", "corr.sgp", "corrections.csv",
                ], cwd: c.w.path))
        try post(c.w.file("corr.sgp"))
        try post(c.w.file("corr.sgp"))  // the replay
        try post(c.w.file("HCM-U001-1.sgp"))
        var forged = c.w.read("HCM-U001-1.sgp")
        forged[forged.count / 2] ^= 1
        c.w.write("forged.sgp", bytes: forged)
        try post(c.w.file("forged.sgp"))
        try requireOK(try CLI.sg(["synthesize", "--data", "dept"], cwd: c.w.path))
        #expect(try c.waitFor("delivered") { try c.dataset(1)["state"]?.string == "delivered" })

        // Everything public.
        let size =
            (try JSON(
                parsing: try RawHTTP.request("GET", gw.url + "/v1/log/checkpoint").text.split(separator: "\n").dropFirst().first.map { "\($0)" }
                    ?? "0")).int ?? 0
        for start in stride(from: 0, to: max(Int(size), 1), by: 1000) { try get(gw.url, "/v1/log/entries?start=\(start)") }
        try get(gw.url, "/v1/log/checkpoint")
        for leaf in 0..<Int(size) { try get(gw.url, "/v1/log/proof/inclusion?leaf=\(leaf)&size=\(size)") }
        try get(gw.url, "/v1/log/proof/consistency?from=1&to=\(size)")
        try get(gw.url, "/v1/trust")
        try get(gw.url, "/v1/trust?version=1")
        try get(gw.url, "/healthz")
        // Every decided package (from the log), as anyone reads it: the public facts only.
        let entries = try JSON(parsing: try RawHTTP.request("GET", gw.url + "/v1/log/entries?start=0").text).array ?? []
        let ids = Set(
            try entries.filter { $0["kind"]?.string == "outcome" }.compactMap { try JSON(parsing: $0["body"]?.string ?? "")["package"]?.string })
        for id in ids { try get(gw.url, "/v1/packages/\(id)") }
        for path in ["/v1/units", "/v1/units/HCM-U001", "/v1/datasets", "/v1/datasets/1", "/v1/campaign", "/metrics"] { try get(gw.url, path) }
        try get(hb.url, "/v1/health")
        try get(hb.url, "/v1/datasets")
        // The full receipts, as an admin reads them back: the findings' places and rules, no values.
        let admin = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: c.w.path).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var receipts: [String] = []
        for id in ids {
            let r = try RawHTTP.request("GET", gw.url + "/v1/packages/\(id)", headers: ["Authorization": "Bearer \(admin)"])
            #expect(r.status == 200, "\(id): \(r.status) \(r.text)")
            receipts.append(r.text + r.headers.values.joined(separator: "\n"))
        }
        let full = receipts.joined(separator: "\n")
        // Four decisions (two snapshots and a correction accepted, HCM-U003's refused), findings of
        // both kinds among them: warnings on the accepted units, errors on HCM-U003.
        let validations = receipts.map { $0.components(separatedBy: "\"validation\":").last?.prefix(400) ?? "" }
        #expect(receipts.count == 4 && full.contains("\"full_name.case\"") && full.contains("\"severity\":\"error\""), "\(validations)")
        answers += receipts
        let all = answers.joined(separator: "\n")
        #expect(all.count > 10_000, "too little was read to mean anything (\(all.count) bytes)")

        // Every personal value in the city (and in the correction).
        var values = Set<String>(["0912345678", "Đà Nẵng", row[9]])
        for unit in ["HCM-U001", "HCM-U002", "HCM-U003"] {
            for line in String(decoding: c.w.read("city/\(unit)/members.csv"), as: UTF8.self).split(separator: "\n").dropFirst() {
                let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                for i in [1, 4, 9, 10, 12] where f.count > i && f[i].count >= 5 { values.insert(f[i]) }  // name, citizen id, phone, e-mail, home town
            }
        }
        values.insert("023456789")  // the legacy id planted in HCM-U003's records
        // A dirty value's normalized form too (as the validator reports it, "Nguyễn Văn An" for
        // " NGUYỄN văn an"): a receipt that carried it would carry a member's data.
        for unit in ["HCM-U001", "HCM-U002", "HCM-U003"] {
            let r = try CLI.sg(["validate", "--format", "json", "--lang", "en", "city/\(unit)"], cwd: c.w.path)
            let report = try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [String: Any] ?? [:]
            for finding in report["findings"] as? [[String: Any]] ?? [] {
                for key in ["original", "normalized"] {
                    if let v = finding[key] as? String, v.trimmingCharacters(in: .whitespaces).count >= 5 { values.insert(v) }
                }
            }
        }
        let leaked = values.filter { all.contains($0) }
        #expect(
            leaked.isEmpty,
            "\(leaked.count) personal value(s) in unauthenticated answers, e.g. \(leaked.prefix(3).map { String($0.prefix(3)) + "…" })")
        #expect(values.count > 500)
    }
}
