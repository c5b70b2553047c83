#if canImport(Glibc)
import Glibc
#endif

/// One finding: where, which rule, the value as written and as normalized.
public struct Finding: Sendable, Equatable {
    public var unit: String
    public var file: String
    public var line: Int
    public var column: String
    public var rule: String
    public var severity: Severity
    public var original: String
    public var normalized: String

    public init(unit: String, file: String, line: Int, column: String, rule: String, original: String, normalized: String) {
        self.unit = unit
        self.file = file
        self.line = line
        self.column = column
        self.rule = rule
        self.severity = Rules.rule(rule).severity
        self.original = original
        self.normalized = normalized
    }
}

/// Per-unit figures.
public struct UnitSummary: Sendable {
    public var unit: String
    public var organizations = 0
    public var members = 0
    public var corrections = 0
    public var errors = 0
    public var warnings = 0
    public var membersWithErrors = 0
    var completenessSum = 0.0
    /// Mean share of optional fields filled over the unit's members (0…1).
    public var completeness: Double { members == 0 ? 0 : completenessSum / Double(members) }
}

/// Where normalized files go (nil: validate only).
public protocol NormalizedSink: AnyObject {
    func writer(unit: String, file: RecordFile) throws -> CSVWriter
    func finished(unit: String, file: RecordFile, writer: CSVWriter) throws
}

/// Validates and normalizes the record files of one or more units, streaming each file and
/// keeping only what the cross-row checks need: the unit's organizations, and the ids seen
/// (per unit, and across units when `crossUnit` is on).
public final class RecordValidator {
    public let today: CivilDate
    public let crossUnit: Bool
    public private(set) var findings: [Finding] = []
    public private(set) var units: [UnitSummary] = []
    /// Rows read, over all files (for throughput figures).
    public private(set) var rowsRead = 0

    struct Seen { var unit: Int32; var line: Int32; var original: String; var reported: Bool }
    private var citizens: [UInt64: Seen] = [:]
    private var memberIDs: [String: Seen] = [:]
    private var orgIDs: [String: Seen] = [:]
    private var unitNames: [String] = []

    public init(today: CivilDate, crossUnit: Bool = true) {
        self.today = today
        self.crossUnit = crossUnit
    }

    /// Counts of findings by rule.
    public var countsByRule: [String: Int] { findings.reduce(into: [:]) { $0[$1.rule, default: 0] += 1 } }
    public var errorCount: Int { findings.filter { $0.severity == .error }.count }

    /// Validates one unit's files (organizations first, then members, then corrections).
    public func validateUnit(_ unit: String, files: [RecordFile: String], sink: (any NormalizedSink)? = nil) throws {
        let unitIndex = Int32(unitNames.count)
        unitNames.append(unit)
        var summary = UnitSummary(unit: unit)
        let before = findings.count
        var orgs: [String: String]? = nil
        if let p = files[.organizations] {
            orgs = try validateOrganizations(unit, unitIndex, path: p, summary: &summary, sink: sink)
        }
        if let p = files[.members] {
            try validateMembers(unit, unitIndex, path: p, orgs: orgs, summary: &summary, sink: sink)
        }
        if let p = files[.corrections] {
            try validateCorrections(unit, path: p, summary: &summary, sink: sink)
        }
        for f in findings[before...] { if f.severity == .error { summary.errors += 1 } else { summary.warnings += 1 } }
        units.append(summary)
    }

    /// Sorts findings by unit order, file, line and column (cross-unit findings arrive late).
    public func sortFindings() {
        let unitOrder = Dictionary(uniqueKeysWithValues: unitNames.enumerated().map { ($1, $0) })
        let fileOrder: [String: Int] = ["organizations.csv": 0, "members.csv": 1, "corrections.csv": 2]
        findings.sort {
            (unitOrder[$0.unit] ?? 0, fileOrder[$0.file] ?? 3, $0.line, $0.column, $0.rule) < (unitOrder[$1.unit] ?? 0, fileOrder[$1.file] ?? 3, $1.line, $1.column, $1.rule)
        }
        // Per-unit error/warning counts include cross-unit findings reported on earlier units.
        var counts: [String: (Int, Int)] = [:]
        for f in findings { var c = counts[f.unit] ?? (0, 0); if f.severity == .error { c.0 += 1 } else { c.1 += 1 }; counts[f.unit] = c }
        for i in units.indices { let c = counts[units[i].unit] ?? (0, 0); units[i].errors = c.0; units[i].warnings = c.1 }
    }

    // MARK: Header

    /// Maps header positions to schema columns; reports unknown, duplicate and missing columns.
    /// Returns nil when a required column is missing (the rows cannot be checked).
    private func readHeader(_ reader: CSVReader, _ file: RecordFile, unit: String) -> [Int?]? {
        var map: [Int?] = []
        var seen = Set<String>()
        for f in reader.fields {
            let heading = f.string
            guard let col = file.canonicalColumn(heading) else {
                add(unit, file, 1, heading, "file.unknown_column", heading, "")
                map.append(nil); continue
            }
            if !seen.insert(col).inserted { add(unit, file, 1, col, "file.duplicate_column", heading, ""); map.append(nil); continue }
            map.append(file.columns.firstIndex(of: col))
        }
        var ok = true
        for c in file.columns where !seen.contains(c) && !file.optionalColumns.contains(c) {
            add(unit, file, 1, c, "file.missing_column", "", c)
            ok = false
        }
        return ok ? map : nil
    }

    @inline(__always)
    private func add(_ unit: String, _ file: RecordFile, _ line: Int, _ column: String, _ rule: String, _ original: String, _ normalized: String) {
        findings.append(Finding(unit: unit, file: file.rawValue, line: line, column: column, rule: rule, original: original, normalized: normalized))
    }

    private func record(_ o: FieldOutcome, _ unit: String, _ file: RecordFile, _ line: Int, _ column: String, _ b: UnsafeRawBufferPointer) {
        guard !o.rules.isEmpty else { return }
        let original = String(decoding: b, as: UTF8.self)
        for r in o.rules { add(unit, file, line, column, r, original, o.value ?? (Rules.rule(r).severity == .error ? "" : original)) }
    }

    /// Iterates rows: maps fields to schema positions, reports field-count errors, stops at a
    /// syntax error (reported as `file.csv_syntax`).
    private func rows(_ path: String, _ file: RecordFile, unit: String, _ body: (CSVReader, [UnsafeRawBufferPointer]) throws -> Void) throws {
        let reader = try CSVReader(path: path)
        do {
            guard try reader.next() else { add(unit, file, 1, "", "file.missing_column", "", file.columns.joined(separator: ",")); return }
            guard let map = readHeader(reader, file, unit: unit) else { return }
            let empty = UnsafeRawBufferPointer(start: nil, count: 0)
            var values = [UnsafeRawBufferPointer](repeating: empty, count: file.columns.count)
            while try reader.next() {
                if reader.isBlankLine { continue }
                rowsRead += 1
                guard reader.fields.count == map.count else {
                    add(unit, file, reader.line, "", "row.field_count", "\(reader.fields.count) fields", "\(map.count) fields")
                    continue
                }
                for i in values.indices { values[i] = empty }
                for (i, f) in reader.fields.enumerated() { if let c = map[i] { values[c] = f.bytes } }
                try body(reader, values)
            }
        } catch let e as CSVSyntaxError {
            add(unit, file, e.line, "", "file.csv_syntax", e.reason, "")
        }
    }

    // MARK: organizations.csv

    private func validateOrganizations(_ unit: String, _ unitIndex: Int32, path: String, summary: inout UnitSummary,
                                       sink: (any NormalizedSink)?) throws -> [String: String] {
        struct Org { var id: String; var name: String; var type: String?; var parent: String?; var line: Int; var idOK: Bool }
        var list: [Org] = []
        var byID: [String: Int] = [:]
        let F = RecordFile.organizations
        try rows(path, F, unit: unit) { reader, v in
            let line = reader.line
            let id = FieldChecks.id(v[0], .org, prefix: "org_id"); record(id, unit, F, line, "org_id", v[0])
            let name = v[1].isEmpty ? FieldOutcome.error("name.required") : FieldChecks.freeText(v[1], rule: "name.normalized")
            record(name, unit, F, line, "name", v[1])
            let (type, t) = FieldChecks.orgType(v[2]); record(type, unit, F, line, "type", v[2])
            var parent: String? = nil
            if !v[3].isEmpty {
                var p = FieldChecks.id(v[3], .org, prefix: "parent_id")
                if p.rules == ["parent_id.format"] { p = .error("parent_id.unknown") }
                record(p, unit, F, line, "parent_id", v[3])
                parent = p.isError ? String(decoding: v[3], as: UTF8.self) : (p.value ?? String(decoding: v[3], as: UTF8.self))
            }
            let idValue = id.value ?? String(decoding: v[0], as: UTF8.self)
            var org = Org(id: idValue, name: name.value ?? String(decoding: v[1], as: UTF8.self), type: t, parent: parent, line: line, idOK: !id.isError)
            if org.idOK {
                if let first = byID[idValue] { add(unit, F, line, "org_id", "org_id.duplicate", idValue, ""); _ = first; org.idOK = false }
                else { byID[idValue] = list.count; noteCross(&orgIDs, key: idValue, unit, unitIndex, F, line, "org_id", "org_id.cross_unit") }
            }
            list.append(org)
        }
        summary.organizations = list.count
        // The tree: one unit committee; parents exist, are not cells, and never loop.
        let committees = list.filter { $0.type == "unit_committee" }
        if committees.isEmpty { add(unit, F, 1, "type", "org.unit_committee_count", "0", "1") }
        for extra in committees.dropFirst() { add(unit, F, extra.line, "type", "org.unit_committee_count", "\(committees.count)", "1") }
        for o in list where o.type != nil && o.idOK {
            if o.type == "unit_committee" {
                if let p = o.parent { add(unit, F, o.line, "parent_id", "parent_id.unexpected", p, "") }
                continue
            }
            guard let p = o.parent else { add(unit, F, o.line, "parent_id", "parent_id.required", "", ""); continue }
            guard let pi = byID[p] else {
                if FieldChecks.idValid(Array(p.utf8), .org) { add(unit, F, o.line, "parent_id", "parent_id.unknown", p, "") }
                continue
            }
            if list[pi].type == "cell" { add(unit, F, o.line, "parent_id", "parent_id.cell_parent", p, "") }
            // Walk up; a chain longer than the list, or back to o, is a cycle.
            var cur: String? = p
            var steps = 0
            while let c = cur, let ci = byID[c], steps <= list.count {
                if c == o.id { add(unit, F, o.line, "parent_id", "parent_id.cycle", p, ""); break }
                // The unit committee is the root: its own (refused) parent is not followed.
                cur = list[ci].type == "unit_committee" ? nil : list[ci].parent
                steps += 1
            }
        }
        if let sink {
            let w = try sink.writer(unit: unit, file: F)
            try w.record(F.columns)
            for o in list { try w.record([o.id, o.name, o.type ?? "", o.parent ?? ""]) }
            try sink.finished(unit: unit, file: F, writer: w)
        }
        var table: [String: String] = [:]
        for o in list where o.idOK { table[o.id] = o.type ?? "" }
        return table
    }

    /// Records an id for the cross-unit check: a second unit holding it reports both rows.
    private func noteCross(_ index: inout [String: Seen], key: String, _ unit: String, _ unitIndex: Int32, _ file: RecordFile, _ line: Int,
                           _ column: String, _ rule: String) {
        guard crossUnit else { return }
        if var first = index[key] {
            guard first.unit != unitIndex else { return }
            if !first.reported {
                add(unitNames[Int(first.unit)], file, Int(first.line), column, rule, first.original, "")
                first.reported = true
                index[key] = first
            }
            add(unit, file, line, column, rule, key, "")
        } else {
            index[key] = Seen(unit: unitIndex, line: Int32(line), original: key, reported: false)
        }
    }

    // MARK: members.csv

    private func validateMembers(_ unit: String, _ unitIndex: Int32, path: String, orgs: [String: String]?, summary: inout UnitSummary,
                                 sink: (any NormalizedSink)?) throws {
        let F = RecordFile.members
        let writer = try sink?.writer(unit: unit, file: F)
        try writer?.record(F.columns)
        var localMembers: [String: Int] = [:]
        var localCitizens: [UInt64: Int] = [:]
        var outcomes = [FieldOutcome](repeating: .same, count: F.columns.count)
        try rows(path, F, unit: unit) { reader, v in
            let line = reader.line
            let errorsBefore = findings.count
            outcomes[0] = FieldChecks.id(v[0], .member, prefix: "member_id")
            outcomes[1] = FieldChecks.fullName(v[1])
            let (g, female) = FieldChecks.gender(v[2]); outcomes[2] = g
            let (dobO, dob) = FieldChecks.date(v[3], prefix: "date_of_birth", required: true); outcomes[3] = dobO
            var (cid, cidNumber) = FieldChecks.citizenID(v[4])
            let (joinO, joined) = FieldChecks.date(v[5], prefix: "date_joined", required: true); outcomes[5] = joinO
            let (offO, official) = FieldChecks.date(v[6], prefix: "date_official", required: false); outcomes[6] = offO
            let (st, probationary) = FieldChecks.status(v[7]); outcomes[7] = st
            var org = FieldChecks.id(v[8], .org, prefix: "member_org")
            outcomes[9] = FieldChecks.phone(v[9])
            outcomes[10] = FieldChecks.email(v[10])
            outcomes[11] = FieldChecks.freeText(v[11], rule: "ethnicity.normalized")
            outcomes[12] = FieldChecks.freeText(v[12], rule: "hometown.normalized")
            outcomes[13] = FieldChecks.freeText(v[13], rule: "education.normalized")

            // Cross-field rules.
            if let dob {
                let age = dob.years(until: today)
                if age < 18 || age > 120 { outcomes[3].rules.append("date_of_birth.age"); outcomes[3].isError = true }
            }
            if let n = cidNumber {
                let digit4 = Int(n / 100_000_000 % 10), yy = Int(n / 1_000_000 % 100)
                if digit4 > 5 { cid.rules.append("citizen_id.century_digit"); cid.isError = true }
                else if let female, let dob, let expected = CCCD.genderCenturyDigit(female: female, birthYear: dob.year), expected != digit4 {
                    cid.rules.append("citizen_id.century_digit"); cid.isError = true
                } else if let dob, dob.year % 100 != yy {
                    cid.rules.append("citizen_id.birth_year"); cid.isError = true
                }
                if cid.isError { cidNumber = nil }
            }
            outcomes[4] = cid
            if let joined {
                if joined > today { outcomes[5].rules.append("date_joined.future"); outcomes[5].isError = true }
                else if let dob, joined < dob.addingYears(18) { outcomes[5].rules.append("date_joined.under_18"); outcomes[5].isError = true }
            }
            if let probationary {
                if probationary && !v[6].isEmpty { outcomes[6].rules.append("date_official.status"); outcomes[6].isError = true }
                if !probationary && v[6].isEmpty { outcomes[6].rules.append("date_official.status"); outcomes[6].isError = true }
            }
            if let official {
                if official > today { outcomes[6].rules.append("date_official.future"); outcomes[6].isError = true }
                else if let joined, official < joined.addingYears(1) { outcomes[6].rules.append("date_official.too_early"); outcomes[6].isError = true }
            }
            if let orgs, !org.isError {
                let key = org.value ?? String(decoding: v[8], as: UTF8.self)
                switch orgs[key] {
                case nil: org.rules.append("member_org.unknown"); org.isError = true
                case "unit_committee": org.rules.append("member_org.wrong_type"); org.isError = true
                default: break
                }
            }
            outcomes[8] = org
            for (i, o) in outcomes.enumerated() { record(o, unit, F, line, F.columns[i], v[i]) }

            // Uniqueness inside the unit, then across units.
            if !outcomes[0].isError {
                let key = outcomes[0].value ?? String(decoding: v[0], as: UTF8.self)
                if localMembers[key] != nil { add(unit, F, line, "member_id", "member_id.duplicate", key, "") }
                else { localMembers[key] = line; noteCross(&memberIDs, key: key, unit, unitIndex, F, line, "member_id", "member_id.cross_unit") }
            }
            if let n = cidNumber {
                if localCitizens[n] != nil { add(unit, F, line, "citizen_id", "citizen_id.duplicate", cidText(n), "") }
                else { localCitizens[n] = line; noteCrossCitizen(n, unit, unitIndex, line) }
            }
            summary.members += 1
            var filled = 0
            for i in 9...13 where !v[i].isEmpty { filled += 1 }
            summary.completenessSum += Double(filled) / 5
            if findings[errorsBefore...].contains(where: { $0.severity == .error }) { summary.membersWithErrors += 1 }
            if let writer {
                for (i, o) in outcomes.enumerated() {
                    if let value = o.value { writer.field(value) } else { writer.field(v[i]) }
                }
                try writer.endRecord()
            }
        }
        if let writer, let sink { try sink.finished(unit: unit, file: F, writer: writer) }
    }

    private func cidText(_ n: UInt64) -> String { let s = String(n); return String(repeating: "0", count: 12 - s.count) + s }

    private func noteCrossCitizen(_ n: UInt64, _ unit: String, _ unitIndex: Int32, _ line: Int) {
        guard crossUnit else { return }
        if var first = citizens[n] {
            guard first.unit != unitIndex else { return }
            if !first.reported {
                add(unitNames[Int(first.unit)], .members, Int(first.line), "citizen_id", "citizen_id.cross_unit", cidText(n), "")
                first.reported = true
                citizens[n] = first
            }
            add(unit, .members, line, "citizen_id", "citizen_id.cross_unit", cidText(n), "")
        } else {
            citizens[n] = Seen(unit: unitIndex, line: Int32(line), original: "", reported: false)
        }
    }

    // MARK: corrections.csv

    private func validateCorrections(_ unit: String, path: String, summary: inout UnitSummary, sink: (any NormalizedSink)?) throws {
        let F = RecordFile.corrections
        let writer = try sink?.writer(unit: unit, file: F)
        try writer?.record(F.columns)
        try rows(path, F, unit: unit) { reader, v in
            let line = reader.line
            summary.corrections += 1
            var out = (0..<6).map { String(decoding: v[$0], as: UTF8.self) }
            let (cid, _) = FieldChecks.citizenID(v[0])
            if cid.isError { add(unit, F, line, "citizen_id", "correction.citizen_id", out[0], "") } else if let n = cid.value { out[0] = n }
            let field = RecordFile.members.canonicalColumn(out[1])
            if let field, field != "citizen_id" {
                out[1] = field
                let o = FieldChecks.single(column: field, v[3])
                if o.isError { add(unit, F, line, "new_value", "correction.new_value", out[3], "") }
                else {
                    for r in o.rules { add(unit, F, line, "new_value", r, out[3], o.value ?? out[3]) }
                    if let nv = o.value { out[3] = nv }
                    let oldNormalized = FieldChecks.single(column: field, v[2]).value ?? out[2]
                    if oldNormalized == out[3] { add(unit, F, line, "new_value", "correction.unchanged", out[3], "") }
                }
            } else {
                add(unit, F, line, "field", "correction.field", out[1], "")
            }
            if Text.collapseSpaces(out[4]).isEmpty { add(unit, F, line, "reason", "correction.reason", out[4], "") }
            if !isRFC3339(out[5]) { add(unit, F, line, "reported_at", "correction.reported_at", out[5], "") }
            try writer?.record(out)
        }
        if let writer, let sink { try sink.finished(unit: unit, file: F, writer: writer) }
    }

    func isRFC3339(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count >= 20, b[10] == 0x54 || b[10] == 0x74 else { return false }
        guard case .canonical = b[0..<10].withUnsafeBytes({ Dates.parse($0) }) else { return false }
        func d(_ i: Int) -> Bool { i < b.count && b[i] >= 0x30 && b[i] <= 0x39 }
        guard d(11), d(12), b[13] == 0x3A, d(14), d(15), b[16] == 0x3A, d(17), d(18) else { return false }
        var i = 19
        if i < b.count && b[i] == 0x2E { i += 1; let s0 = i; while d(i) { i += 1 }; guard i > s0 else { return false } }
        if i == b.count - 1 && (b[i] == 0x5A || b[i] == 0x7A) { return true }
        guard i + 6 == b.count, b[i] == 0x2B || b[i] == 0x2D, d(i + 1), d(i + 2), b[i + 3] == 0x3A, d(i + 4), d(i + 5) else { return false }
        return true
    }
}

extension FieldChecks {
    /// The single-field rules of a members.csv column (for corrections' new values).
    public static func single(column: String, _ b: UnsafeRawBufferPointer) -> FieldOutcome {
        switch column {
        case "member_id": return id(b, .member, prefix: "member_id")
        case "full_name": return fullName(b)
        case "gender": return gender(b).0
        case "date_of_birth", "date_joined": return date(b, prefix: column, required: true).0
        case "date_official": return date(b, prefix: column, required: false).0
        case "citizen_id": return citizenID(b).0
        case "status": return status(b).0
        case "org_id": return id(b, .org, prefix: "member_org")
        case "phone": return phone(b)
        case "email": return email(b)
        default: return freeText(b, rule: "\(column).normalized")
        }
    }
}

extension FieldChecks {
    static func single(column: String, _ s: String) -> FieldOutcome {
        var s = s
        return s.withUTF8 { single(column: column, UnsafeRawBufferPointer($0)) }
    }
}
