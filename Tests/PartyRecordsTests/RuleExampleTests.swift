import Foundation
import Testing

@testable import PartyRecords

/// Each rule with its own examples: valid, invalid, and normalizable where it applies.
struct RuleExampleTests {
    @Test func cleanRowHasNoFindings() throws {
        #expect(try findings().isEmpty)
    }

    @Test func namesNFDMixedCaseAndSpaces() throws {
        let nfd = Decompose.nfd("Nguyễn Thị Ánh")
        var f = try findings(member: ["full_name": nfd])
        #expect(rules(f) == ["full_name.nfc"])
        #expect(sameBytes(f[0].normalized, "Nguyễn Thị Ánh"))
        f = try findings(member: ["full_name": "NGUYỄN  văn an"])
        #expect(Set(rules(f)) == ["full_name.spaces", "full_name.case"])
        #expect(f.allSatisfy { $0.normalized == "Nguyễn Văn An" })
        #expect(rules(try findings(member: ["full_name": " Nguyễn Văn An "])) == ["full_name.spaces"])
        #expect(rules(try findings(member: ["full_name": "nguyễn văn đức"])) == ["full_name.case"])
        #expect(rules(try findings(member: ["full_name": "Nguyễn Văn An 2"])) == ["full_name.letters"])
        #expect(rules(try findings(member: ["full_name": "An"])) == ["full_name.words"])
        #expect(rules(try findings(member: ["full_name": ""])) == ["full_name.required"])
        // NFD and upper case together: both reported, one normalized value.
        f = try findings(member: ["full_name": Decompose.nfd("TRẦN THỊ HỒNG")])
        #expect(Set(rules(f)) == ["full_name.nfc", "full_name.case"])
        #expect(sameBytes(f[0].normalized, "Trần Thị Hồng"))
    }

    /// CCCD digit 4 for every gender and century, and the birth-year digits.
    @Test(arguments: [
        ("male", "1975-03-07", "079075001234", [String]()),
        ("female", "1975-03-07", "079175001234", []),
        ("male", "2000-01-01", "079200001234", []),
        ("female", "2004-02-29", "079304001234", []),
        ("male", "1975-03-07", "079275001234", ["citizen_id.century_digit"]),
        ("female", "1975-03-07", "079075001234", ["citizen_id.century_digit"]),
        ("male", "1975-03-07", "079675001234", ["citizen_id.century_digit"]),
        ("male", "1975-03-07", "079076001234", ["citizen_id.birth_year"]),
        ("male", "1975-03-07", "003075001234", ["citizen_id.province"]),
        ("male", "1975-03-07", "023456789", ["citizen_id.legacy_cmnd"]),
        ("male", "1975-03-07", "07907500123", ["citizen_id.format"]),
        ("male", "1975-03-07", "07907500123X", ["citizen_id.format"]),
        ("male", "1975-03-07", "079 075 001234", ["citizen_id.spaces"]),
        ("male", "1975-03-07", "", ["citizen_id.required"]),
    ])
    func citizenIDs(gender: String, dob: String, cid: String, expected: [String]) throws {
        var changes = ["gender": gender, "date_of_birth": dob, "citizen_id": cid]
        // Keep the other dates consistent with a birth in 2000s.
        if dob.hasPrefix("200") {
            changes["date_joined"] = "2024-06-01"
            changes["date_official"] = "2025-06-01"
        }
        #expect(rules(try findings(member: changes)) == expected, "\(gender) \(dob) \(cid)")
    }

    /// Leap days, day-first forms, impossible dates, ages.
    @Test(arguments: [
        ("2000-02-29", [String]()), ("1996-02-29", []), ("1900-02-29", ["date_of_birth.invalid"]), ("1975-02-30", ["date_of_birth.invalid"]),
        ("07/03/1975", ["date_of_birth.format"]), ("7/3/1975", ["date_of_birth.format"]), ("07-03-1975", ["date_of_birth.format"]),
        ("29/02/1996", ["date_of_birth.format"]), ("29/02/1997", ["date_of_birth.invalid"]), ("1975/03/07", ["date_of_birth.invalid"]),
        ("2010-01-01", ["date_of_birth.age"]), ("1900-01-01", ["date_of_birth.age"]), ("", ["date_of_birth.required"]),
    ])
    func birthDates(dob: String, expected: [String]) throws {
        var changes = ["date_of_birth": dob, "citizen_id": "079075001234"]
        // Keep the citizen id and admission consistent with the year when it is readable.
        var digits = Array(dob.utf8).filter { $0 >= 48 && $0 <= 57 }
        if digits.count == 8 {
            let year =
                dob.contains("-") && dob.count == 10 && dob.dropFirst(4).first == "-"
                ? Int(dob.prefix(4))! : Int(String(decoding: digits.suffix(4), as: UTF8.self))!
            let c = CCCD.genderCenturyDigit(female: false, birthYear: year) ?? 0
            changes["citizen_id"] = "079\(c)\(String(format2: year % 100))001234"
            if year >= 1996 {
                changes["date_joined"] = "2020-06-01"
                changes["date_official"] = "2021-06-01"
            }
            if year < 1920 {
                changes["date_joined"] = "1950-01-01"
                changes["date_official"] = "1951-01-01"
            }
            if year >= 2010 {
                changes["date_joined"] = "2026-01-01"
                changes["date_official"] = ""
                changes["status"] = "probationary"
            }
        }
        digits.removeAll()
        let f = rules(try findings(member: changes)).filter { !$0.hasPrefix("date_joined") }
        #expect(f == expected, "\(dob)")
    }

    @Test func admissionAndOfficialDates() throws {
        #expect(rules(try findings(member: ["date_joined": "1992-01-01"])) == ["date_joined.under_18"])
        #expect(rules(try findings(member: ["date_joined": "1993-03-07", "date_official": "1994-03-07"])) == [])
        #expect(rules(try findings(member: ["date_joined": "2031-01-01", "date_official": ""])).contains("date_joined.future"))
        #expect(rules(try findings(member: ["date_official": "2000-12-01"])) == ["date_official.too_early"])
        #expect(rules(try findings(member: ["date_official": ""])) == ["date_official.status"])
        #expect(rules(try findings(member: ["status": "probationary"])) == ["date_official.status"])
        #expect(rules(try findings(member: ["status": "probationary", "date_official": ""])) == [])
        #expect(
            rules(try findings(member: ["date_joined": "19/05/2000", "date_official": "19/05/2001"])) == [
                "date_joined.format", "date_official.format",
            ])
    }

    /// Dates at the end of the calendar: a date of birth in 9982–9999 has no 18th birthday that
    /// can be written, a date joined in 9999 no first anniversary — the checks say "too young" /
    /// "too early" (and "future"), they do not stop the process (a unit's key could once crash the
    /// gateway with such a row, on every restart).
    @Test func datesAtTheEndOfTheCalendar() throws {
        #expect(rules(try findings(member: ["date_of_birth": "9990-01-01"])).contains("date_joined.under_18"))
        #expect(rules(try findings(member: ["date_of_birth": "9999-12-31"])).contains("date_joined.under_18"))
        let late = rules(try findings(member: ["date_joined": "9999-06-01"]))
        #expect(late.contains("date_joined.future") && late.contains("date_official.too_early"), "\(late)")
        #expect(CivilDate(year: 9999, month: 2, day: 28)!.addingYears(1) == nil)
        #expect(CivilDate(year: 2004, month: 2, day: 29)!.addingYears(18) == CivilDate(year: 2022, month: 2, day: 28))
        #expect(CivilDate(year: 1, month: 1, day: 1)!.addingYears(Int.max) == nil)
    }

    @Test func genderStatusAndOrganization() throws {
        for (g, r) in [
            ("Nam", ["gender.normalized"]), ("NỮ", ["gender.normalized"]), ("f", ["gender.normalized"]), ("x", ["gender.invalid"]),
            ("", ["gender.required"]),
        ] {
            let extra = g == "NỮ" || g == "f" ? ["citizen_id": "079175001234"] : [:]
            #expect(rules(try findings(member: ["gender": g].merging(extra) { a, _ in a })) == r, "\(g)")
        }
        #expect(rules(try findings(member: ["status": "Chính thức"])) == ["status.normalized"])
        #expect(rules(try findings(member: ["status": "đã chuyển"])) == ["status.invalid"])
        #expect(rules(try findings(member: ["org_id": "HCM-U001-C999"])) == ["member_org.unknown"])
        #expect(rules(try findings(member: ["org_id": "HCM-U001"])) == ["member_org.wrong_type"])
        #expect(rules(try findings(member: ["org_id": "HCM-U001-G01"])) == [])
        #expect(rules(try findings(member: ["org_id": "hcm-u001-c001"])) == ["member_org.normalized"])
        #expect(rules(try findings(member: ["member_id": " 7900000001"])) == ["member_id.normalized"])
        #expect(rules(try findings(member: ["member_id": "79/1"])) == ["member_id.format"])
    }

    @Test func phonesEmailsAndFreeText() throws {
        for (p, r) in [
            ("+84 912 345 678", ["phone.format"]), ("84912345678", ["phone.format"]), ("0912.345.678", ["phone.format"]),
            ("091234", ["phone.invalid"]), ("0212345678", ["phone.prefix"]), ("", []),
        ] {
            #expect(rules(try findings(member: ["phone": p])) == r, "\(p)")
        }
        #expect(rules(try findings(member: ["email": " an@Gmail.COM"])) == ["email.normalized"])
        #expect(rules(try findings(member: ["email": "an@"])) == ["email.invalid"])
        #expect(rules(try findings(member: ["email": "an gmail.com"])) == ["email.invalid"])
        #expect(rules(try findings(member: ["hometown": "Nam  Định"])) == ["hometown.normalized"])
        #expect(rules(try findings(member: ["ethnicity": Decompose.nfd("Chăm")])) == ["ethnicity.normalized"])
    }

    @Test func duplicatesInsideAUnit() throws {
        let second = "7900000001,Trần Văn Bình,male,1975-04-07,079075009999,2000-05-19,2001-05-19,official,HCM-U001-C001,,,,,"
        let third = "7900000003,Trần Văn Cường,male,1975-04-07,079075001234,2000-05-19,2001-05-19,official,HCM-U001-C001,,,,,"
        let f = try findings(extraRows: [second, third])
        #expect(f.map { "\($0.line) \($0.rule)" } == ["3 member_id.duplicate", "4 citizen_id.duplicate"])
    }

    @Test func organizationTree() throws {
        let s = Scratch()
        _ = s.write(
            "U/organizations.csv",
            orgHeader + """
                HCM-U009,Đảng bộ phường A,unit_committee,HCM-U009-C1
                HCM-U009-C1,Chi bộ 1,cell,HCM-U009
                HCM-U009-C2,Chi bộ 2,cell,
                HCM-U009-C3,Chi bộ 3,cell,HCM-U009-C1
                HCM-U009-G1,Đảng bộ cơ sở 1,grassroots_committee,HCM-U009-G2
                HCM-U009-G2,Đảng bộ cơ sở 2,grassroots_committee,HCM-U009-G1
                HCM-U009-C4,Chi bộ 4,cell,HCM-U009-X
                HCM-U009-C1,Chi bộ trùng,cell,HCM-U009
                hcm-u009-c5,Chi  bộ 5,Chi bộ,hcm-u009
                HCM-U009-C6,Chi bộ 6,tổ đảng,HCM-U009

                """)
        let f = try validateCity("\(s.path)/U").findings.map { "\($0.line) \($0.rule)" }
        #expect(
            f == [
                "2 parent_id.unexpected", "4 parent_id.required", "5 parent_id.cell_parent", "6 parent_id.cycle", "7 parent_id.cycle",
                "8 parent_id.unknown", "9 org_id.duplicate", "10 name.normalized", "10 org_id.normalized", "10 parent_id.normalized",
                "10 type.normalized", "11 type.invalid",
            ], "\(f)")
        _ = s.write("V/organizations.csv", orgHeader + "HCM-U010-C1,Chi bộ 1,cell,HCM-U010-C2\nHCM-U010-C2,Chi bộ 2,cell,HCM-U010-C1\n")
        #expect(try validateCity("\(s.path)/V").findings.map(\.rule).contains("org.unit_committee_count"))
    }

    @Test func headersVietnameseUnknownMissing() throws {
        let s = Scratch()
        _ = s.write("U/organizations.csv", orgs)
        let vi =
            "Số thẻ đảng viên,Họ và tên,Giới tính,Ngày sinh,Số CCCD,Ngày vào Đảng,Ngày chính thức,Trạng thái,Chi bộ,Số điện thoại,Email,Dân tộc,Quê quán,Trình độ\n"
        _ = s.write("U/members.csv", "\u{FEFF}" + vi.replacingOccurrences(of: "\n", with: "\r\n") + cleanMember + "\r\n")
        #expect(try validateCity("\(s.path)/U").findings.isEmpty)
        _ = s.write("W/members.csv", "member_id,full_name,Ghi chú\n1,Nguyễn Văn An,x\n")
        let f = try validateCity("\(s.path)/W").findings.map { "\($0.column) \($0.rule)" }
        #expect(f.contains("#3 file.unknown_column"), "an unknown heading is named by its position, not its text")
        #expect(f.contains("citizen_id file.missing_column"))
        #expect(!f.contains { $0.hasSuffix(".required") }, "rows are not checked when a required column is missing")
    }

    @Test func corrections() throws {
        let s = Scratch()
        _ = s.write(
            "U/corrections.csv",
            """
            citizen_id,field,old_value,new_value,reason,reported_at
            079075001234,full_name,Nguyễn Văn An,NGUYỄN VĂN ÂN,Sai dấu,2026-11-25T09:00:00+07:00
            079075001234,salary,1,2,x,2026-11-25T09:00:00Z
            12345,phone,0912345678,0912345679,đổi số,2026-11-25T09:00:00Z
            079075001234,date_of_birth,1975-03-07,1975-02-30,sai,2026-11-25T09:00:00Z
            079075001234,ethnicity,Kinh,Kinh,,25/11/2026

            """)
        let f = try validateCity("\(s.path)/U").findings.map { "\($0.line) \($0.rule)" }
        #expect(
            f == [
                "2 full_name.case", "3 correction.field", "4 correction.citizen_id", "5 correction.new_value",
                "6 correction.unchanged", "6 correction.reason", "6 correction.reported_at",
            ], "\(f)")
    }

    @Test func everyRuleIsDocumentedAndUsedCodesExist() {
        #expect(Set(Rules.all.map(\.code)).count == Rules.all.count)
        for r in Rules.all { #expect(!r.en.isEmpty && !r.vi.isEmpty, "\(r.code)") }
        let md = RuleCatalog.markdown()
        for r in Rules.all { #expect(md.contains("`\(r.code)`")) }
    }

    /// Read from the validator's own sources, not from the catalogue: every code it can emit —
    /// a literal "field.rule", or a template "\(column).rule" — is in the catalogue, and every
    /// catalogue code is emitted somewhere (a rule documented but never checked is a lie).
    @Test func theCatalogueIsExactlyWhatTheValidatorEmits() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/PartyRecords")
        var literal = Set<String>()
        var templated = Set<String>()
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        #expect(files.count > 5, "the validator's sources were not found at \(sources.path)")
        for file in files where file != "Rules.swift" && !file.hasPrefix("Generator/") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for m in text.matches(of: #/"([a-z0-9_]+\.[a-z0-9_]+)"/#) where !m.1.hasSuffix(".csv") && !m.1.hasSuffix(".json") {
                literal.insert(String(m.1))
            }
            for m in text.matches(of: #/"\\\([a-z]+\)\.([a-z0-9_]+)"/#) { templated.insert(String(m.1)) }
        }
        let catalogue = Set(Rules.all.map(\.code))
        #expect(literal.count > 40 && !templated.isEmpty, "found \(literal.count) literal codes and templates \(templated)")
        #expect(literal.subtracting(catalogue).isEmpty, "emitted but not in the catalogue: \(literal.subtracting(catalogue).sorted())")
        let neverEmitted = catalogue.filter { code in
            !literal.contains(code) && !templated.contains(String(code.split(separator: ".").last ?? ""))
        }
        #expect(neverEmitted.isEmpty, "in the catalogue but never emitted: \(neverEmitted.sorted())")
    }
}

extension String {
    init(format2 v: Int) { self = v < 10 ? "0\(v)" : "\(v)" }
}

struct LongIDTests {
    /// Party card numbers over 12 characters take the slower path; duplicates are still found.
    @Test func longCardNumbersAreCheckedToo() throws {
        let long = "HCM.2026.000000001"
        let twin = "7900000009,Trần Văn Bình,male,1975-04-07,079075009999,2000-05-19,2001-05-19,official,HCM-U001-C001,,,,,".replacingOccurrences(
            of: "7900000009", with: long)
        let f = try findings(member: ["member_id": long], extraRows: [twin])
        #expect(f.map { "\($0.line) \($0.rule) \($0.original)" } == ["3 member_id.duplicate \(long)"])
    }
}
