import Workbook

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
    /// For a workbook: the sheet and the cell ("E12") the finding is about (`file` stays the
    /// record file the sheet stands for, `line` is the Excel row).
    public var sheet: String? = nil
    public var cell: String? = nil

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

    /// The longest value a finding keeps (a cell may be up to a record's size).
    public static let maxValueBytes = 256

    /// `s` cut to at most `maxValueBytes` bytes of UTF-8 (on a character boundary), with "…".
    static func clipped(_ s: String) -> String {
        guard s.utf8.count > maxValueBytes else { return s }
        var out = ""
        var n = 0
        for ch in s {
            n += ch.utf8.count
            if n > maxValueBytes - 3 { break }
            out.append(ch)
        }
        return out + "…"
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

/// Where a record file's rows come from.
enum RecordSource {
    case csv(String)
    case sheet(WorkbookSheet)
    /// A CSV file's bytes, already in memory (a small package opened by the gateway).
    case bytes([UInt8])
}

/// Where normalized files go (nil: validate only).
public protocol NormalizedSink: AnyObject {
    func writer(unit: String, file: RecordFile) throws -> CSVWriter
    func finished(unit: String, file: RecordFile, writer: CSVWriter) throws
}

/// Validates and normalizes the record files of one or more units, streaming each file and
/// keeping only what the cross-row checks need: the unit's organizations, and the ids seen
/// (per unit, and across units when `crossUnit` is on).
///
/// Memory does not grow with the number of findings: every finding is counted (by rule, by
/// severity, by unit), but only the first `keep` errors and the first `keep` warnings are kept
/// as `Finding`s, each with its values clipped to `Finding.maxValueBytes`.
public final class RecordValidator {
    public let today: CivilDate
    public let crossUnit: Bool
    /// How many errors, and how many warnings, are kept as findings (the rest are counted).
    public let keep: Int
    /// The findings kept: the first `keep` errors and the first `keep` warnings, in the order
    /// found (`sortFindings` puts them in file order).
    public private(set) var findings: [Finding] = []
    public private(set) var units: [UnitSummary] = []
    /// Every finding counted, by rule (exact, whatever was kept).
    public private(set) var countsByRule: [String: Int] = [:]
    /// Every error and every warning counted (exact).
    public private(set) var errorCount = 0
    public private(set) var warningCount = 0
    /// Findings counted but not kept.
    public var findingsDropped: Int { errorCount + warningCount - findings.count }
    private var keptErrors = 0
    private var keptWarnings = 0
    /// Errors and warnings by unit name (cross-unit findings land on the earlier unit).
    private var countsByUnit: [String: (errors: Int, warnings: Int)] = [:]
    /// Rows read, over all files (for throughput figures).
    public private(set) var rowsRead = 0

    struct Seen {
        var unit: Int32
        var line: Int32
        var original: String
        var reported: Bool
    }
    /// Citizen ids and party card numbers seen: key → (unit, line, reported) packed; one table
    /// answers both the in-unit duplicate and the cross-unit conflict question.
    // Both grow as ids come; a large start was zeroed for every small package (4 MiB at 2^16,
    // 64 KiB at 2^10 — a small package's members are a few dozen).
    private let citizens = IDTable(capacity: 1 << 6)
    private let memberIDs = IDTable(capacity: 1 << 6)
    private let longMemberIDs = IDTable(capacity: 16)  // card numbers over 12 characters
    private var longMemberKeys: [String: UInt64] = [:]
    private var longMemberNames: [String] = []
    private var orgIDs: [String: Seen] = [:]
    private var unitNames: [String] = []

    /// `keep`: how many errors and how many warnings are kept as findings (at least 1).
    public init(today: CivilDate, crossUnit: Bool = true, keep: Int = 10_000) {
        self.today = today
        self.crossUnit = crossUnit
        self.keep = max(1, keep)
    }

    /// Validates one unit's files (organizations first, then members, then corrections), each a
    /// CSV file (`files`), a CSV file's bytes in memory (`contents`) or a workbook's sheet
    /// (`sheets`; a refused workbook throws its `WorkbookError`).
    public func validateUnit(
        _ unit: String, files: [RecordFile: String], contents: [RecordFile: [UInt8]] = [:], sheets: [RecordFile: WorkbookSheet] = [:],
        sink: (any NormalizedSink)? = nil
    ) throws {
        let unitIndex = Int32(unitNames.count)
        unitNames.append(unit)
        var summary = UnitSummary(unit: unit)
        var orgs: OrgTable? = nil
        func source(_ f: RecordFile) -> RecordSource? {
            files[f].map { .csv($0) } ?? contents[f].map { .bytes($0) } ?? sheets[f].map { .sheet($0) }
        }
        if let p = source(.organizations) {
            orgs = try validateOrganizations(unit, unitIndex, path: p, summary: &summary, sink: sink)
        }
        if let p = source(.members) {
            try validateMembers(unit, unitIndex, path: p, orgs: orgs, summary: &summary, sink: sink)
        }
        if let p = source(.corrections) {
            try validateCorrections(unit, path: p, summary: &summary, sink: sink)
        }
        let counted = countsByUnit[unit] ?? (0, 0)
        summary.errors = counted.errors
        summary.warnings = counted.warnings
        units.append(summary)
    }

    /// Sorts findings by unit order, file, line and column (cross-unit findings arrive late).
    public func sortFindings() {
        let unitOrder = Dictionary(uniqueKeysWithValues: unitNames.enumerated().map { ($1, $0) })
        let fileOrder: [String: Int] = ["organizations.csv": 0, "members.csv": 1, "corrections.csv": 2]
        findings.sort {
            (unitOrder[$0.unit] ?? 0, fileOrder[$0.file] ?? 3, $0.line, $0.column, $0.rule) < (
                unitOrder[$1.unit] ?? 0, fileOrder[$1.file] ?? 3, $1.line, $1.column, $1.rule
            )
        }
        // Per-unit counts include cross-unit findings reported on earlier units since.
        for i in units.indices {
            let c = countsByUnit[units[i].unit] ?? (0, 0)
            units[i].errors = c.errors
            units[i].warnings = c.warnings
        }
    }

    // MARK: Header

    /// Maps header positions to schema columns; reports unknown, duplicate and missing columns.
    /// Returns nil when a required column is missing (the rows cannot be checked).
    private func readHeader(_ fields: UnsafeBufferPointer<CSVField>, _ file: RecordFile, unit: String, line: Int = 1) -> [Int?]? {
        var map: [Int?] = []
        var seen = Set<String>()
        for (position, f) in fields.enumerated() {
            let heading = f.string
            guard let col = file.canonicalColumn(heading) else {
                // Named by position: a heading is the unit's text (a missing header row makes
                // the first member's cells the headings).
                add(unit, file, line, "#\(position + 1)", "file.unknown_column", heading, "")
                map.append(nil)
                continue
            }
            if !seen.insert(col).inserted {
                add(unit, file, line, col, "file.duplicate_column", heading, "")
                map.append(nil)
                continue
            }
            map.append(file.columns.firstIndex(of: col))
        }
        var ok = true
        for c in file.columns where !seen.contains(c) && !file.optionalColumns.contains(c) {
            add(unit, file, line, c, "file.missing_column", "", c)
            ok = false
        }
        return ok ? map : nil
    }

    /// Error findings so far (a cheap "did this row add an error" test).
    private var errorFindings = 0

    /// The sheet being read (its name, and the letter of each schema column), for the findings'
    /// `sheet` and `cell`.
    private var sheetNow: (unit: String, file: RecordFile, name: String, letters: [String: String])?
    /// Cells of the current row a workbook note reported (column → rule): no other finding is
    /// added on them (a CCCD typed as a number is one finding, not also a format error).
    private var notedCells: [String: String] = [:]
    private var notedLine = 0

    @inline(__always)
    private func add(_ unit: String, _ file: RecordFile, _ line: Int, _ column: String, _ rule: String, _ original: String, _ normalized: String) {
        if !notedCells.isEmpty, line == notedLine, let r = notedCells[column], r != rule, sheetNow?.unit == unit, sheetNow?.file == file { return }
        let severity = Rules.rule(rule).severity
        countsByRule[rule, default: 0] += 1
        if severity == .error {
            errorFindings += 1
            errorCount += 1
            countsByUnit[unit, default: (0, 0)].errors += 1
            guard keptErrors < keep else { return }
            keptErrors += 1
        } else {
            warningCount += 1
            countsByUnit[unit, default: (0, 0)].warnings += 1
            guard keptWarnings < keep else { return }
            keptWarnings += 1
        }
        var f = Finding(
            unit: unit, file: file.rawValue, line: line, column: column, rule: rule, original: Finding.clipped(original),
            normalized: Finding.clipped(normalized))
        if let s = sheetNow, s.unit == unit, s.file == file {
            f.sheet = s.name
            f.cell = s.letters[column].map { "\($0)\(line)" }
        }
        findings.append(f)
    }

    @inline(__always)
    private func record(_ o: FieldOutcome, _ unit: String, _ file: RecordFile, _ line: Int, _ column: String, _ b: UnsafeRawBufferPointer) {
        guard !o.rules.isEmpty else { return }
        recordSlow(o, unit, file, line, column, b)
    }

    private func recordSlow(_ o: FieldOutcome, _ unit: String, _ file: RecordFile, _ line: Int, _ column: String, _ b: UnsafeRawBufferPointer) {
        let original = String(decoding: b, as: UTF8.self)
        for r in o.rules { add(unit, file, line, column, r, original, o.value ?? (Rules.rule(r).severity == .error ? "" : original)) }
    }

    /// Rows of one file mapped to schema positions. `next()` skips blank lines and reports
    /// field-count errors; a syntax error ends the file (reported as `file.csv_syntax`).
    final class RowStream {
        let reader: CSVReader
        let map: [Int?]
        let values: UnsafeMutablePointer<UnsafeRawBufferPointer>
        let width: Int
        /// The line of the record (a sheet's: the Excel row).
        var line: Int
        /// A sheet's feed (nil for a CSV file): its records lead with the row number and notes.
        let feed: SheetFeed?
        var offset: Int { feed == nil ? 0 : 2 }
        /// Schema positions a workbook note reported on the current row.
        var noted: [Int] = []
        /// Error findings the notes of the current row added.
        var notedErrors = 0
        /// The file's columns are exactly the schema's, in order: unchanged plain rows can be copied.
        let identity: Bool
        init(reader: CSVReader, map: [Int?], width: Int, line: Int, feed: SheetFeed?) {
            self.reader = reader
            self.map = map
            self.width = width
            self.line = line
            self.feed = feed
            identity = feed == nil && map.count == width && map.enumerated().allSatisfy { $0.element == $0.offset }
            values = .allocate(capacity: width)
            values.initialize(repeating: UnsafeRawBufferPointer(start: nil, count: 0), count: width)
        }
        deinit { values.deallocate() }
        subscript(i: Int) -> UnsafeRawBufferPointer { values[i] }
    }

    /// Opens a file (or a sheet's feed) and reads its header; nil when the rows cannot be
    /// checked (a sheet's feed is then finished: a refused workbook throws).
    private func openRows(_ source: RecordSource, _ file: RecordFile, unit: String) throws -> RowStream? {
        let reader: CSVReader
        var feed: SheetFeed? = nil
        sheetNow = nil
        switch source {
        case .csv(let path): reader = try CSVReader(path: path)
        case .bytes(let b): reader = CSVReader(bytes: b)
        case .sheet(let s):
            let f = try SheetFeed(s, file: file)
            feed = f
            reader = f.reader
            sheetNow = (unit, file, s.sheet.name, [:])
        }
        var line = 1
        do {
            guard try reader.next() else {
                try feed?.finish()
                add(unit, file, 1, "", "file.missing_column", "", file.columns.joined(separator: ","))
                return nil
            }
        } catch let e as CSVSyntaxError {
            try feed?.finish()
            add(unit, file, e.line, "", "file.csv_syntax", e.reason, "")
            return nil
        }
        var fields = reader.fields
        if feed != nil {
            line = Int(fields[0].string) ?? 1
            fields = UnsafeBufferPointer(rebasing: fields[2...])
        }
        guard let map = readHeader(fields, file, unit: unit, line: line) else {
            try feed?.finish()
            return nil
        }
        if feed != nil, let s = sheetNow {
            var letters: [String: String] = [:]
            for (position, c) in map.enumerated() { if let c { letters[file.columns[c]] = ExcelGrid.letters(position + 1) } }
            sheetNow = (s.unit, s.file, s.name, letters)
        }
        return RowStream(reader: reader, map: map, width: file.columns.count, line: line, feed: feed)
    }

    /// The end of a file's rows: a sheet's feed is finished (a workbook refused mid-sheet throws).
    private func closeRows(_ rows: RowStream) throws {
        try rows.feed?.finish()
        sheetNow = nil
        notedCells.removeAll()
    }

    /// The next row, or false at the end (or at a syntax error, which is reported).
    private func nextRow(_ rows: RowStream, _ file: RecordFile, unit: String) -> Bool {
        let reader = rows.reader
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        while true {
            do {
                guard try reader.next() else { return false }
            } catch let e as CSVSyntaxError {
                add(unit, file, e.line, "", "file.csv_syntax", e.reason, "")
                return false
            } catch {
                add(unit, file, reader.line, "", "file.csv_syntax", "\(error)", "")
                return false
            }
            if reader.isBlankLine { continue }
            rowsRead += 1
            var fields = reader.fields
            rows.line = reader.line
            if rows.feed != nil {
                guard fields.count >= 2 else { continue }
                rows.line = Int(fields[0].string) ?? reader.line
                noteCells(rows, fields[1], file, unit: unit, cells: UnsafeBufferPointer(rebasing: fields[2...]))
                fields = UnsafeBufferPointer(rebasing: fields[2...])
            }
            guard fields.count == rows.map.count else {
                add(unit, file, rows.line, "", "row.field_count", "\(fields.count) fields", "\(rows.map.count) fields")
                continue
            }
            for i in 0..<rows.width { rows.values[i] = empty }
            for i in 0..<fields.count { if let c = rows.map[i] { rows.values[c] = fields[i].bytes } }
            return true
        }
    }

    /// A sheet row's notes ("4n;7e": a number in an id column, an Excel error value): each is
    /// reported on its cell, and no other finding is added there.
    private func noteCells(_ rows: RowStream, _ notes: CSVField, _ file: RecordFile, unit: String, cells: UnsafeBufferPointer<CSVField>) {
        rows.noted.removeAll(keepingCapacity: true)
        rows.notedErrors = 0
        notedCells.removeAll(keepingCapacity: true)
        guard !notes.isEmpty else { return }
        notedLine = rows.line
        let before = errorFindings
        for note in notes.string.split(separator: ";") {
            guard let kind = note.last, let position = Int(note.dropLast()), position >= 0 else { continue }
            let original = position < cells.count ? cells[position].string : ""
            let column = position < rows.map.count ? rows.map[position].map { file.columns[$0] } : nil
            let rule = kind == "n" ? "cell.number_as_text" : "cell.error"
            add(unit, file, rows.line, column ?? "#\(position + 1)", rule, original, "")
            if let column {
                notedCells[column] = rule
                if let c = rows.map[position] { rows.noted.append(c) }
            }
        }
        rows.notedErrors = errorFindings - before
    }

    // MARK: organizations.csv

    private func validateOrganizations(
        _ unit: String, _ unitIndex: Int32, path: RecordSource, summary: inout UnitSummary,
        sink: (any NormalizedSink)?
    ) throws -> OrgTable {
        struct Org {
            var id: String
            var name: String
            var type: String?
            var parent: String?
            var line: Int
            var idOK: Bool
        }
        var list: [Org] = []
        var byID: [String: Int] = [:]
        let F = RecordFile.organizations
        if let v = try openRows(path, F, unit: unit) {
            while nextRow(v, F, unit: unit) {
                let line = v.line
                let id = FieldChecks.id(v[0], .org, rules: .orgID)
                record(id, unit, F, line, "org_id", v[0])
                let name = v[1].isEmpty ? FieldOutcome.error("name.required") : FieldChecks.freeText(v[1], rule: "name.normalized")
                record(name, unit, F, line, "name", v[1])
                let (type, t) = FieldChecks.orgType(v[2])
                record(type, unit, F, line, "type", v[2])
                var parent: String? = nil
                if !v[3].isEmpty {
                    let p = FieldChecks.id(v[3], .org, rules: .parentID)
                    record(p, unit, F, line, "parent_id", v[3])
                    parent = p.isError ? String(decoding: v[3], as: UTF8.self) : (p.value ?? String(decoding: v[3], as: UTF8.self))
                }
                let idValue = id.value ?? String(decoding: v[0], as: UTF8.self)
                var org = Org(
                    id: idValue, name: name.value ?? String(decoding: v[1], as: UTF8.self), type: t, parent: parent, line: line, idOK: !id.isError)
                if org.idOK {
                    if let first = byID[idValue] {
                        add(unit, F, line, "org_id", "org_id.duplicate", idValue, "")
                        _ = first
                        org.idOK = false
                    } else {
                        byID[idValue] = list.count
                        noteCross(&orgIDs, key: idValue, unit, unitIndex, F, line, "org_id", "org_id.cross_unit")
                    }
                }
                list.append(org)
            }
            try closeRows(v)
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
            guard let p = o.parent else {
                add(unit, F, o.line, "parent_id", "parent_id.required", "", "")
                continue
            }
            guard let pi = byID[p] else {
                if FieldChecks.idValid(Array(p.utf8), .org) { add(unit, F, o.line, "parent_id", "parent_id.unknown", p, "") }
                continue
            }
            if list[pi].type == "cell" { add(unit, F, o.line, "parent_id", "parent_id.cell_parent", p, "") }
            // Walk up; a chain longer than the list, or back to o, is a cycle.
            var cur: String? = p
            var steps = 0
            while let c = cur, let ci = byID[c], steps <= list.count {
                if c == o.id {
                    add(unit, F, o.line, "parent_id", "parent_id.cycle", p, "")
                    break
                }
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
        var table = OrgTable()
        for o in list where o.idOK { table.insert(Array(o.id.utf8), type: o.type ?? "") }
        return table
    }

    /// Records an id for the cross-unit check: a second unit holding it reports both rows.
    private func noteCross(
        _ index: inout [String: Seen], key: String, _ unit: String, _ unitIndex: Int32, _ file: RecordFile, _ line: Int,
        _ column: String, _ rule: String
    ) {
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

    private func validateMembers(
        _ unit: String, _ unitIndex: Int32, path: RecordSource, orgs: OrgTable?, summary: inout UnitSummary,
        sink: (any NormalizedSink)?
    ) throws {
        let F = RecordFile.members
        let writer = try sink?.writer(unit: unit, file: F)
        try writer?.record(F.columns)
        // The row's outcomes in raw memory: assignments release inline instead of through the
        // generic array witnesses (they dominated the profile).
        let columns = F.columns  // (a computed list: read once, not per row)
        let width = columns.count
        let outcomes = UnsafeMutablePointer<FieldOutcome>.allocate(capacity: width)
        outcomes.initialize(repeating: .same, count: width)
        defer {
            outcomes.deinitialize(count: width)
            outcomes.deallocate()
        }
        guard let v = try openRows(path, F, unit: unit) else {
            if let writer, let sink { try sink.finished(unit: unit, file: F, writer: writer) }
            return
        }
        while nextRow(v, F, unit: unit) {
            let line = v.line
            let errorsBefore = errorFindings - v.notedErrors
            outcomes[0] = FieldChecks.id(v[0], .member, rules: .memberID)
            outcomes[1] = FieldChecks.fullName(v[1])
            let (g, female) = FieldChecks.gender(v[2])
            outcomes[2] = g
            let (dobO, dob) = FieldChecks.date(v[3], rules: .birth, required: true)
            outcomes[3] = dobO
            var (cid, cidNumber) = FieldChecks.citizenID(v[4])
            let (joinO, joined) = FieldChecks.date(v[5], rules: .joined, required: true)
            outcomes[5] = joinO
            let (offO, official) = FieldChecks.date(v[6], rules: .official, required: false)
            outcomes[6] = offO
            let (st, probationary) = FieldChecks.status(v[7])
            outcomes[7] = st
            var org = FieldChecks.id(v[8], .org, rules: .memberOrg)
            outcomes[9] = FieldChecks.phone(v[9])
            outcomes[10] = FieldChecks.email(v[10])
            outcomes[11] = FieldChecks.freeText(v[11], rule: "ethnicity.normalized")
            outcomes[12] = FieldChecks.freeText(v[12], rule: "hometown.normalized")
            outcomes[13] = FieldChecks.freeText(v[13], rule: "education.normalized")

            // Cross-field rules.
            if let dob {
                let age = dob.years(until: today)
                if age < 18 || age > 120 {
                    outcomes[3].rules.append("date_of_birth.age")
                    outcomes[3].isError = true
                }
            }
            if let n = cidNumber {
                let digit4 = Int(n / 100_000_000 % 10)
                let yy = Int(n / 1_000_000 % 100)
                if digit4 > 5 {
                    cid.rules.append("citizen_id.century_digit")
                    cid.isError = true
                } else if let female, let dob, let expected = CCCD.genderCenturyDigit(female: female, birthYear: dob.year), expected != digit4 {
                    cid.rules.append("citizen_id.century_digit")
                    cid.isError = true
                } else if let dob, dob.year % 100 != yy {
                    cid.rules.append("citizen_id.birth_year")
                    cid.isError = true
                }
                if cid.isError { cidNumber = nil }
            }
            outcomes[4] = cid
            if let joined {
                if joined > today {
                    outcomes[5].rules.append("date_joined.future")
                    outcomes[5].isError = true
                } else if let dob, joined.isBefore(18, yearsAfter: dob) {
                    outcomes[5].rules.append("date_joined.under_18")
                    outcomes[5].isError = true
                }
            }
            if let probationary {
                if probationary && !v[6].isEmpty {
                    outcomes[6].rules.append("date_official.status")
                    outcomes[6].isError = true
                }
                if !probationary && v[6].isEmpty {
                    outcomes[6].rules.append("date_official.status")
                    outcomes[6].isError = true
                }
            }
            if let official {
                if official > today {
                    outcomes[6].rules.append("date_official.future")
                    outcomes[6].isError = true
                } else if let joined, official.isBefore(1, yearsAfter: joined) {
                    outcomes[6].rules.append("date_official.too_early")
                    outcomes[6].isError = true
                }
            }
            if let orgs, !org.isError {
                let type: UInt8? = org.value.map { v in orgs.type(Array(v.utf8)) } ?? orgs.type(v[8])
                switch type {
                case nil:
                    org.rules.append("member_org.unknown")
                    org.isError = true
                case OrgTable.unitCommittee:
                    org.rules.append("member_org.wrong_type")
                    org.isError = true
                default: break
                }
            }
            outcomes[8] = org
            // A cell a workbook note reported keeps its text as written (never padded).
            for c in v.noted {
                outcomes[c].value = nil
                if c == 4 { cidNumber = nil }
            }
            for i in 0..<width where !outcomes[i].rules.isEmpty { record(outcomes[i], unit, F, line, columns[i], v[i]) }

            // Uniqueness inside the unit, then across units.
            if !outcomes[0].isError {
                if let value = outcomes[0].value {
                    noteMember(Array(value.utf8), unit, unitIndex, line)
                } else {
                    noteMember(v[0], unit, unitIndex, line)
                }
            }
            if let n = cidNumber {
                noteSeen(citizens, n, unit, unitIndex, line, column: "citizen_id", text: { self.cidText($0) })
            }
            summary.members += 1
            var filled = 0
            for i in 9...13 where !v[i].isEmpty { filled += 1 }
            summary.completenessSum += Double(filled) / 5
            if errorFindings > errorsBefore { summary.membersWithErrors += 1 }
            if let writer {
                var changed = false
                for i in 0..<width where outcomes[i].value != nil {
                    changed = true
                    break
                }
                if !changed && v.identity && v.reader.recordIsPlain {
                    try writer.rawRecord(v.reader.recordBytes)
                } else {
                    for i in 0..<width {
                        if let value = outcomes[i].value { writer.field(value) } else { writer.field(v[i]) }
                    }
                    try writer.endRecord()
                }
            }
        }
        try closeRows(v)
        if let writer, let sink { try sink.finished(unit: unit, file: F, writer: writer) }
    }

    private func cidText(_ n: UInt64) -> String {
        let s = String(n)
        return String(repeating: "0", count: 12 - s.count) + s
    }

    @inline(__always) static func pack(_ unit: Int32, _ line: Int, reported: Bool) -> UInt64 {
        (reported ? 1 << 63 : 0) | UInt64(UInt32(bitPattern: unit)) << 32 | UInt64(UInt32(truncatingIfNeeded: line))
    }

    /// One occurrence of an id: a second one in the same unit is a duplicate; one in another
    /// unit is a conflict reported on both rows (the first only once).
    private func noteSeen(
        _ table: IDTable, _ key: UInt64, _ unit: String, _ unitIndex: Int32, _ line: Int, column: String,
        text: (UInt64) -> String
    ) {
        guard let existing = table.findOrInsert(key, Self.pack(unitIndex, line, reported: false)) else { return }
        let firstUnit = Int32(truncatingIfNeeded: existing >> 32 & 0x7FFF_FFFF)
        let firstLine = Int(existing & 0xFFFF_FFFF)
        if firstUnit == unitIndex {
            add(unit, .members, line, column, "\(column).duplicate", text(key), "")
            return
        }
        guard crossUnit else { return }
        if existing >> 63 == 0 {
            add(unitNames[Int(firstUnit)], .members, firstLine, column, "\(column).cross_unit", text(key), "")
            table.update(key, Self.pack(firstUnit, firstLine, reported: true))
        }
        add(unit, .members, line, column, "\(column).cross_unit", text(key), "")
    }

    private func noteMember(_ b: some Collection<UInt8>, _ unit: String, _ unitIndex: Int32, _ line: Int) {
        if let key = packID(b) {
            noteSeen(memberIDs, key, unit, unitIndex, line, column: "member_id", text: unpackID)
            return
        }
        // Card numbers over 12 characters: a sequential key per distinct number, own table.
        let s = String(decoding: Array(b), as: UTF8.self)
        let key: UInt64
        if let k = longMemberKeys[s] {
            key = k
        } else {
            longMemberNames.append(s)
            key = UInt64(longMemberNames.count)
            longMemberKeys[s] = key
        }
        noteSeen(longMemberIDs, key, unit, unitIndex, line, column: "member_id", text: { self.longMemberNames[Int($0) - 1] })
    }

    // MARK: corrections.csv

    private func validateCorrections(_ unit: String, path: RecordSource, summary: inout UnitSummary, sink: (any NormalizedSink)?) throws {
        let F = RecordFile.corrections
        let writer = try sink?.writer(unit: unit, file: F)
        try writer?.record(F.columns)
        guard let v = try openRows(path, F, unit: unit) else {
            if let writer, let sink { try sink.finished(unit: unit, file: F, writer: writer) }
            return
        }
        while nextRow(v, F, unit: unit) {
            let line = v.line
            summary.corrections += 1
            var out = (0..<6).map { String(decoding: v[$0], as: UTF8.self) }
            let (cid, _) = FieldChecks.citizenID(v[0])
            if cid.isError { add(unit, F, line, "citizen_id", "correction.citizen_id", out[0], "") } else if let n = cid.value { out[0] = n }
            let field = RecordFile.members.canonicalColumn(out[1])
            if let field, field != "citizen_id" {
                out[1] = field
                let o = FieldChecks.single(column: field, v[3])
                if o.isError {
                    add(unit, F, line, "new_value", "correction.new_value", out[3], "")
                } else {
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
        try closeRows(v)
        if let writer, let sink { try sink.finished(unit: unit, file: F, writer: writer) }
    }

    func isRFC3339(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count >= 20, b[10] == 0x54 || b[10] == 0x74 else { return false }
        guard case .canonical = b[0..<10].withUnsafeBytes({ Dates.parse($0) }) else { return false }
        func d(_ i: Int) -> Bool { i < b.count && b[i] >= 0x30 && b[i] <= 0x39 }
        guard d(11), d(12), b[13] == 0x3A, d(14), d(15), b[16] == 0x3A, d(17), d(18) else { return false }
        var i = 19
        if i < b.count && b[i] == 0x2E {
            i += 1
            let s0 = i
            while d(i) { i += 1 }
            guard i > s0 else { return false }
        }
        if i == b.count - 1 && (b[i] == 0x5A || b[i] == 0x7A) { return true }
        guard i + 6 == b.count, b[i] == 0x2B || b[i] == 0x2D, d(i + 1), d(i + 2), b[i + 3] == 0x3A, d(i + 4), d(i + 5) else { return false }
        return true
    }
}

extension FieldChecks {
    /// The single-field rules of a members.csv column (for corrections' new values).
    public static func single(column: String, _ b: UnsafeRawBufferPointer) -> FieldOutcome {
        switch column {
        case "member_id": return id(b, .member, rules: .memberID)
        case "full_name": return fullName(b)
        case "gender": return gender(b).0
        case "date_of_birth": return date(b, rules: .birth, required: true).0
        case "date_joined": return date(b, rules: .joined, required: true).0
        case "date_official": return date(b, rules: .official, required: false).0
        case "citizen_id": return citizenID(b).0
        case "status": return status(b).0
        case "org_id": return id(b, .org, rules: .memberOrg)
        case "phone": return phone(b)
        case "email": return email(b)
        case "ethnicity": return freeText(b, rule: "ethnicity.normalized")
        case "hometown": return freeText(b, rule: "hometown.normalized")
        case "education": return freeText(b, rule: "education.normalized")
        default: return .error("correction.field")
        }
    }
}

extension FieldChecks {
    static func single(column: String, _ s: String) -> FieldOutcome {
        var s = s
        return s.withUTF8 { single(column: column, UnsafeRawBufferPointer($0)) }
    }
}
