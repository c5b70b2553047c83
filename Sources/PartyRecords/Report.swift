/// Formats of a validation report.
public enum ReportFormat: String, Sendable, CaseIterable { case table, csv, json }

/// Renders a validator's findings, per-rule summary and per-unit figures.
public struct ValidationReport {
    /// The findings the validator kept (see `RecordValidator.keep`); `total` counts them all.
    public let findings: [Finding]
    public let units: [UnitSummary]
    public let lang: Language
    /// Every error and warning found (exact, whatever was kept).
    public let errors: Int
    public let warnings: Int
    let countsByRule: [String: Int]
    public var total: Int { errors + warnings }

    public init(_ v: RecordValidator, lang: Language) {
        v.sortFindings()
        findings = v.findings
        units = v.units
        errors = v.errorCount
        warnings = v.warningCount
        countsByRule = v.countsByRule
        self.lang = lang
    }

    /// (rule, severity, count), most frequent first.
    public var ruleSummary: [(rule: String, severity: Severity, count: Int)] {
        countsByRule.map { ($0.key, Rules.rule($0.key).severity, $0.value) }
            .sorted { ($0.severity, -$0.count, $0.rule) < ($1.severity, -$1.count, $1.rule) }
    }

    public func render(_ format: ReportFormat, maxRows: Int = Int.max) -> String {
        switch format {
        case .csv: return csv()
        case .json: return json()
        case .table: return table(maxRows: maxRows)
        }
    }

    func csv() -> String {
        let w = CSVWriter()
        try? w.record(["unit", "file", "line", "column", "rule", "severity", "original", "normalized", "message"])
        for f in findings {
            try? w.record([
                f.unit, f.file, String(f.line), f.column, f.rule, f.severity.rawValue, f.original, f.normalized, Rules.rule(f.rule).message(lang),
            ])
        }
        return String(decoding: w.bytes, as: UTF8.self)
    }

    func json() -> String {
        func q(_ s: String) -> String { jsonString(s) }
        var out =
            "{\"summary\":{\"units\":\(units.count),\"members\":\(units.reduce(0) { $0 + $1.members }),\"errors\":\(errors),\"warnings\":\(warnings),\"findings_listed\":\(findings.count)},"
        out +=
            "\"units\":["
            + units.map { u in
                "{\"unit\":\(q(u.unit)),\"organizations\":\(u.organizations),\"members\":\(u.members),\"corrections\":\(u.corrections),\"errors\":\(u.errors),\"warnings\":\(u.warnings),\"members_with_errors\":\(u.membersWithErrors),\"completeness\":\(fixed(u.completeness, 4))}"
            }.joined(separator: ",") + "],"
        out +=
            "\"rules\":["
            + ruleSummary.map { "{\"rule\":\(q($0.rule)),\"severity\":\(q($0.severity.rawValue)),\"count\":\($0.count)}" }.joined(separator: ",")
            + "],"
        out +=
            "\"findings\":["
            + findings.map { f in
                "{\"unit\":\(q(f.unit)),\"file\":\(q(f.file)),\"line\":\(f.line),\"column\":\(q(f.column)),\"rule\":\(q(f.rule)),\"severity\":\(q(f.severity.rawValue)),\"original\":\(q(f.original)),\"normalized\":\(q(f.normalized)),\"message\":\(q(Rules.rule(f.rule).message(lang)))"
                    + (f.sheet.map { ",\"sheet\":\(q($0))" } ?? "") + (f.cell.map { ",\"cell\":\(q($0))" } ?? "") + "}"
            }.joined(separator: ",") + "]}"
        return out + "\n"
    }

    func table(maxRows: Int) -> String {
        let vi = lang == .vi
        var out = ""
        let members = units.reduce(0) { $0 + $1.members }
        out +=
            vi
            ? "Đơn vị: \(units.count) · đảng viên: \(members) · lỗi: \(errors) · cảnh báo/chuẩn hóa: \(warnings)\n"
            : "Units: \(units.count) · members: \(members) · errors: \(errors) · warnings/normalized: \(warnings)\n"
        if !findings.isEmpty {
            let listed = min(maxRows, findings.count)
            out +=
                "\n" + (vi ? "Phát hiện" : "Findings")
                + (listed < total ? (vi ? " (\(listed) đầu tiên / \(total))" : " (first \(listed) of \(total))") : "")
                + ":\n"
            let head =
                vi
                ? ["đơn vị", "tệp", "dòng", "cột", "quy tắc", "mức", "giá trị", "chuẩn hóa", "thông báo"]
                : ["unit", "file", "line", "column", "rule", "severity", "value", "normalized", "message"]
            var rows = [head]
            for f in findings.prefix(maxRows) {
                rows.append([
                    f.unit, f.sheet.map { sheet in f.cell.map { "\(sheet)!\($0)" } ?? sheet } ?? f.file, String(f.line), f.column, f.rule,
                    f.severity.rawValue, clip(f.original), clip(f.normalized), Rules.rule(f.rule).message(lang),
                ])
            }
            out += layout(rows)
        }
        if total > 0 {
            out += "\n" + (vi ? "Theo quy tắc" : "By rule") + ":\n"
            out += layout(
                [[vi ? "quy tắc" : "rule", vi ? "mức" : "severity", vi ? "số lượng" : "count"]]
                    + ruleSummary.map { [$0.rule, $0.severity.rawValue, String($0.count)] })
        }
        out += "\n" + (vi ? "Theo đơn vị" : "By unit") + ":\n"
        out += layout(
            [
                [
                    vi ? "đơn vị" : "unit", vi ? "tổ chức" : "orgs", vi ? "đảng viên" : "members", vi ? "lỗi" : "errors",
                    vi ? "cảnh báo" : "warnings", vi ? "đầy đủ" : "completeness",
                ]
            ]
                + units.map {
                    [
                        $0.unit, String($0.organizations), String($0.members), String($0.errors), String($0.warnings),
                        fixed($0.completeness * 100, 1) + "%",
                    ]
                })
        return out
    }

    func clip(_ s: String) -> String {
        let flat = s.replacingNewlines()
        return flat.count > 32 ? String(flat.prefix(31)) + "…" : flat
    }

    func layout(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count - 1 { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i < widths.count - 1 ? c + String(repeating: " ", count: widths[i] - c.count) : c }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

func fixed(_ v: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (v * scale).rounded() / scale
    var s = String(r)
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    } else if digits > 0 {
        s += "." + String(repeating: "0", count: digits)
    }
    return s
}

/// RFC 8259 string quoting. The same as `SealPackage.jsonQuote`, kept here because PartyRecords
/// depends on nothing (docs/architecture.md).
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}

extension String {
    func replacingNewlines() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "\n" || $0 == "\r" ? " " : $0 }))
    }
}

/// The rule catalog as Markdown (docs/records.md is this output).
public enum RuleCatalog {
    public static func markdown() -> String {
        var out = "| code | severity | file | column | example | normalized to | message (en) | thông báo (vi) |\n|---|---|---|---|---|---|---|---|\n"
        for r in Rules.all {
            func cell(_ s: String) -> String { s.isEmpty ? "(empty)" : "`" + s.replacingOccurrences(of: "|", with: "\\|") + "`" }
            out +=
                "| `\(r.code)` | \(r.severity.rawValue) | \(r.file) | \(r.column.isEmpty ? "—" : r.column) | \(cell(r.example)) | \(r.normalizedExample.map(cell) ?? "—") | \(r.en) | \(r.vi) |\n"
        }
        return out
    }
}

extension String {
    func replacingOccurrences(of a: String, with b: String) -> String {
        guard !a.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: a) {
            out += rest[..<r.lowerBound]
            out += b
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of needle: String) -> Range<Substring.Index>? {
        let n = Array(needle.utf8)
        var i = startIndex
        while i < endIndex {
            if self[i...].utf8.starts(with: n) { return i..<self.utf8.index(i, offsetBy: n.count) }
            i = index(after: i)
        }
        return nil
    }
}
