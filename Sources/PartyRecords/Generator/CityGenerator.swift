import SystemIO

#if canImport(Glibc)
    import Glibc
#endif

/// One defect the generator injected, as the validator must report it.
public struct PlantedDefect: Sendable, Hashable {
    public var unit: String
    public var file: String
    public var line: Int
    public var column: String
    public var rule: String
}

/// The synthetic city: units, their organizations and members, realistic and valid, with a
/// chosen rate of realistic dirt whose every instance is listed in `planted.csv`.
/// Same options, same bytes.
public struct CityGenerator {
    public struct Options: Sendable {
        public var units: Int
        public var members: Int
        public var seed: UInt64
        /// Share of member rows given one defect (0…1).
        public var dirt: Double
        /// Unit id prefix (`HCM` → HCM-U001).
        public var prefix: String
        public init(units: Int = 173, members: Int = 365_911, seed: UInt64 = 1, dirt: Double = 0, prefix: String = "HCM") {
            self.units = units
            self.members = members
            self.seed = seed
            self.dirt = dirt
            self.prefix = prefix
        }
    }

    public struct Summary: Sendable {
        public var units = 0
        public var organizations = 0
        public var members = 0
        public var planted: [PlantedDefect] = []
    }

    /// The dirt kinds, each producing exactly one rule (two rows × two rules for duplicates).
    enum Dirt: CaseIterable {
        case nfdName, upperName, spacedName, dayFirstBirth, plus84Phone, legacyID, centuryDigit, under18, orphanOrg, crossUnitDuplicate
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    /// Unit ids in order.
    public func unitIDs() -> [String] {
        let width = max(3, String(options.units).count)
        return (1...max(options.units, 1)).map { i in
            let s = String(i)
            return "\(options.prefix)-U" + String(repeating: "0", count: width - s.count) + s
        }
    }

    /// Members per unit: around the mean, a few large units, summing exactly to `members`.
    func unitSizes(_ rng: inout SplitMix64) -> [Int] {
        let n = options.units
        var weights = (0..<n).map { _ -> Double in
            let w = 0.5 + Double(rng.below(1000)) / 1000
            return rng.chance(0.04) ? w * 3 : w
        }
        let total = weights.reduce(0, +)
        weights = weights.map { $0 / total }
        let minimum = options.members >= 5 * n ? 5 : 0
        var sizes = weights.map { max(minimum, Int(Double(options.members) * $0)) }
        var diff = options.members - sizes.reduce(0, +)
        var i = 0
        while diff != 0 {
            if diff > 0 {
                sizes[i % n] += 1
                diff -= 1
            } else if sizes[i % n] > minimum {
                sizes[i % n] -= 1
                diff += 1
            }
            i += 1
        }
        return sizes
    }

    /// Writes the city into `directory` (created if needed). `progress(unitsDone, units)`.
    public func generate(into directory: String, progress: ((Int, Int) -> Void)? = nil) throws -> Summary {
        try makeDirectory(directory)
        var rng = SplitMix64(seed: options.seed)
        let ids = unitIDs()
        let sizes = unitSizes(&rng)
        var summary = Summary()
        var usedCitizens = Set<UInt64>()
        usedCitizens.reserveCapacity(options.members)
        var reservoir: [(unit: String, line: Int, row: [String])] = []  // clean rows of earlier units
        let unitsCSV = CSVWriter()
        try unitsCSV.record(["unit_id", "name", "type", "members", "organizations"])
        var wardNames = Set<String>()
        var memberCounter = 0

        for (u, unit) in ids.enumerated() {
            // The unit and its organizations.
            let kind: String
            let place: String
            if u == ids.count - 1 && ids.count > 2 {
                kind = "special_zone"
                place = "Côn Đảo"
            } else if rng.chance(0.8) {
                kind = "ward"
                place = rng.pick(Names.wards)
            } else {
                kind = "commune"
                place = rng.pick(Names.communes)
            }
            var unitName = (kind == "ward" ? "Phường " : kind == "commune" ? "Xã " : "Đặc khu ") + place
            if !wardNames.insert(unitName).inserted {
                unitName += " \(u + 1)"
                wardNames.insert(unitName)
            }
            let committeeName =
                "Đảng bộ " + (kind == "ward" ? "phường " : kind == "commune" ? "xã " : "đặc khu ") + unitName.split(separator: " ", maxSplits: 1)[1]
            let size = sizes[u]
            let cellCount = max(1, size / (18 + rng.below(20)))
            let grassroots = cellCount >= 6 ? max(1, cellCount / 8) : 0
            let orgW = CSVWriter()
            try orgW.record(["org_id", "name", "type", "parent_id"])
            try orgW.record([unit, committeeName, "unit_committee", ""])
            var memberOrgs: [String] = []
            var grassrootsIDs: [String] = []
            for g in 0..<grassroots {
                let id = "\(unit)-G\(pad(g + 1, 2))"
                grassrootsIDs.append(id)
                memberOrgs.append(id)
                try orgW.record([id, "Đảng bộ cơ sở \(rng.pick(Names.entities)) \(unitName)", "grassroots_committee", unit])
            }
            for c in 0..<cellCount {
                let id = "\(unit)-C\(pad(c + 1, 3))"
                memberOrgs.append(id)
                let parent = !grassrootsIDs.isEmpty && rng.chance(0.4) ? rng.pick(grassrootsIDs) : unit
                let name = rng.chance(0.7) ? "Chi bộ khu phố \(c + 1)" : "Chi bộ \(rng.pick(Names.entities)), tổ \(c + 1)"
                try orgW.record([id, name, "cell", parent])
            }
            let orgCount = 1 + grassroots + cellCount
            summary.organizations += orgCount
            let unitDir = "\(directory)/\(unit)"
            try makeDirectory(unitDir)
            try writeFile("\(unitDir)/organizations.csv", orgW.bytes)

            // Members.
            let memW = CSVWriter()
            try memW.record(RecordFile.members.columns)
            var line = 1
            for _ in 0..<size {
                line += 1
                memberCounter += 1
                var row = person(&rng, unit: unit, orgs: memberOrgs, counter: memberCounter, used: &usedCitizens)
                var dirtApplied = false
                if options.dirt > 0 && rng.chance(options.dirt) {
                    var kinds = Dirt.allCases
                    if reservoir.allSatisfy({ $0.unit == unit }) { kinds.removeAll { $0 == .crossUnitDuplicate } }
                    if row[9].isEmpty { kinds.removeAll { $0 == .plus84Phone } }
                    if sameBytes(Decompose.nfd(row[1]), row[1]) { kinds.removeAll { $0 == .nfdName } }
                    let k = rng.pick(kinds)
                    let column: String
                    let rule: String
                    switch k {
                    case .nfdName:
                        row[1] = Decompose.nfd(row[1])
                        column = "full_name"
                        rule = "full_name.nfc"
                    case .upperName:
                        row[1] = row[1].uppercased()
                        column = "full_name"
                        rule = "full_name.case"
                    case .spacedName:
                        row[1] = rng.chance(0.5) ? row[1].replacingFirstSpace(with: "  ") : " " + row[1]
                        column = "full_name"
                        rule = "full_name.spaces"
                    case .dayFirstBirth:
                        let d = CivilDate(parsing: row[3])!
                        row[3] = "\(pad(d.day, 2))/\(pad(d.month, 2))/\(d.year)"
                        column = "date_of_birth"
                        rule = "date_of_birth.format"
                    case .plus84Phone:
                        let p = Array(row[9])
                        row[9] = "+84 " + String(p[1..<4]) + " " + String(p[4..<7]) + " " + String(p[7...])
                        column = "phone"
                        rule = "phone.format"
                    case .legacyID:
                        row[4] = pad(rng.below(1_000_000_000), 9)
                        column = "citizen_id"
                        rule = "citizen_id.legacy_cmnd"
                    case .centuryDigit:
                        var c = Array(row[4])
                        let d4 = Int(String(c[3]))!
                        c[3] = Character(String((d4 + 2) % 6))
                        row[4] = String(c)
                        column = "citizen_id"
                        rule = "citizen_id.century_digit"
                    case .under18:
                        let dob = CivilDate(parsing: row[3])!
                        let joined = CivilDate(daysSinceEpoch: (dob.addingYears(17) ?? dob).daysSinceEpoch + rng.below(300))
                        row[5] = joined.description
                        column = "date_joined"
                        rule = "date_joined.under_18"
                    case .orphanOrg:
                        row[8] = "\(unit)-X\(pad(rng.below(100), 3))"
                        column = "org_id"
                        rule = "member_org.unknown"
                    case .crossUnitDuplicate:
                        let candidates = reservoir.indices.filter { reservoir[$0].unit != unit }
                        let src = reservoir.remove(at: rng.pick(candidates))
                        var copy = src.row
                        copy[8] = rng.pick(memberOrgs)
                        row = copy
                        for (col, r) in [("member_id", "member_id.cross_unit"), ("citizen_id", "citizen_id.cross_unit")] {
                            summary.planted.append(PlantedDefect(unit: src.unit, file: "members.csv", line: src.line, column: col, rule: r))
                            summary.planted.append(PlantedDefect(unit: unit, file: "members.csv", line: line, column: col, rule: r))
                        }
                        column = ""
                        rule = ""
                    }
                    if !rule.isEmpty {
                        summary.planted.append(PlantedDefect(unit: unit, file: "members.csv", line: line, column: column, rule: rule))
                    }
                    dirtApplied = true
                }
                if !dirtApplied && options.dirt > 0 && rng.chance(0.02) {
                    if reservoir.count >= 64 { reservoir.remove(at: rng.below(reservoir.count)) }
                    reservoir.append((unit, line, row))
                }
                try memW.record(row)
            }
            try writeFile("\(unitDir)/members.csv", memW.bytes)
            try unitsCSV.record([unit, unitName, kind, String(size), String(orgCount)])
            summary.members += size
            summary.units += 1
            progress?(u + 1, ids.count)
        }
        try writeFile("\(directory)/units.csv", unitsCSV.bytes)
        let planted = CSVWriter()
        try planted.record(["unit", "file", "line", "column", "rule"])
        for p in summary.planted.sorted(by: { ($0.unit, $0.line, $0.column, $0.rule) < ($1.unit, $1.line, $1.column, $1.rule) }) {
            try planted.record([p.unit, p.file, String(p.line), p.column, p.rule])
        }
        try writeFile("\(directory)/planted.csv", planted.bytes)
        return summary
    }

    /// A clean member row, in schema order.
    func person(_ rng: inout SplitMix64, unit: String, orgs: [String], counter: Int, used: inout Set<UInt64>) -> [String] {
        let female = rng.chance(0.48)
        let family = rng.pick(Names.families)
        let middle = rng.pick(female ? Names.middleFemale : Names.middleMale)
        let given = rng.pick(female ? Names.givenFemale : Names.givenMale)
        let name =
            rng.chance(0.15)
            ? "\(family) \(middle) \(rng.pick(female ? Names.middleFemale : Names.middleMale)) \(given)" : "\(family) \(middle) \(given)"
        let dob = CivilDate(daysSinceEpoch: CivilDate(year: 1940, month: 1, day: 1)!.daysSinceEpoch + rng.below(21_184))  // to 1997-12-31
        let province = rng.chance(0.85) ? 79 : rng.pick(Array(CCCD.provinces.keys).sorted())
        let digit4 = CCCD.genderCenturyDigit(female: female, birthYear: dob.year)!
        var cid: UInt64
        repeat {
            cid = UInt64(province) * 1_000_000_000 + UInt64(digit4) * 100_000_000 + UInt64(dob.year % 100) * 1_000_000 + UInt64(rng.below(1_000_000))
        } while !used.insert(cid).inserted
        let probationary = rng.chance(0.03)
        let joined: CivilDate
        let official: String
        let earliest = (dob.addingYears(18) ?? dob).daysSinceEpoch
        if probationary {
            let from = max(earliest, CivilDate(year: 2025, month: 12, day: 1)!.daysSinceEpoch)
            joined = CivilDate(daysSinceEpoch: from + rng.below(200))
            official = ""
        } else {
            let latest = CivilDate(year: 2025, month: 6, day: 30)!.daysSinceEpoch
            let from = earliest + rng.below(max(1, min(27 * 365, latest - earliest)))
            joined = CivilDate(daysSinceEpoch: min(from, latest))
            official = CivilDate(daysSinceEpoch: (joined.addingYears(1) ?? joined).daysSinceEpoch + rng.below(120)).description
        }
        let phone = rng.chance(0.85) ? rng.pick(Names.phonePrefixes) + pad(rng.below(10_000_000), 7) : ""
        let memberID = "79" + pad(counter, 8)
        let email = rng.chance(0.35) ? "dv\(memberID)@hcm.dcs.vn" : ""
        let ethnicity = rng.chance(0.9) ? rng.pick(Names.ethnicities) : ""
        let hometown = rng.chance(0.8) ? CCCD.provinces[rng.chance(0.5) ? 79 : province]! : ""
        let education = rng.chance(0.85) ? rng.pick(Names.education) : ""
        return [
            memberID, name, female ? "female" : "male", dob.description, pad12(cid), joined.description, official,
            probationary ? "probationary" : "official", rng.pick(orgs), phone, email, ethnicity, hometown, education,
        ]
    }
}

func pad(_ v: Int, _ w: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, w - s.count)) + s
}
func pad12(_ v: UInt64) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, 12 - s.count)) + s
}

extension String {
    func replacingFirstSpace(with r: String) -> String {
        guard let i = firstIndex(of: " ") else { return self + " " }
        return String(self[..<i]) + r + String(self[index(after: i)...])
    }
}

extension CivilDate {
    /// Parses `YYYY-MM-DD` only.
    public init?(parsing s: String) {
        var s = s
        let r = s.withUTF8 { Dates.parse(UnsafeRawBufferPointer($0)) }
        guard case .canonical(let d) = r else { return nil }
        self = d
    }
}

func makeDirectory(_ path: String) throws {
    if mkdir(path, 0o755) != 0 && errno != EEXIST {
        throw CSVIOError(path: path, reason: String(cString: strerror(errno)))
    }
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw CSVIOError(path: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    try bytes.withUnsafeBytes { b in
        do throws(SystemCallError) { try SystemIO.writeAll(fd, b) } catch { throw CSVIOError(path: path, reason: error.reason) }
    }
}
