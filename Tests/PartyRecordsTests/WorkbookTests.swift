import Foundation
import SealBase
import Testing
import Workbook
import ZIPFoundation

@testable import PartyRecords

typealias W = TestWorkbook

/// The headings of members.csv, some in Vietnamese (the CSV rules' headings).
let memberHeadings = [
    "member_id", "Họ và tên", "gender", "date_of_birth", "Số CCCD", "date_joined", "date_official", "status", "org_id", "phone", "email",
    "ethnicity", "hometown", "education",
]
let letters = (0..<14).map { ExcelGrid.letters($0 + 1) }

/// A member row of inline strings (an empty text leaves the cell out); `override` puts a cell
/// of its own at a column.
func memberRow(_ r: Int, _ values: [String], override: [Int: String] = [:]) -> String {
    W.row(r, values.enumerated().compactMap { i, v in override[i] ?? (v.isEmpty ? nil : W.inline("\(letters[i])\(r)", v)) })
}

let annValues = [
    "7900000001", "Nguyễn Văn An", "male", "", "079075001234", "", "", "official", "HCM-U001-C001", "0912345678", "", "Kinh", "", "",
]
let binhValues = [
    "7900000002", "", "male", "1980-01-15", "", "2005-06-01", "2006-06-01", "official", "HCM-U001-C001", "", "", "", "", "",
]

func orgSheet() -> String {
    W.sheet([
        W.row(1, ["org_id", "name", "type", "parent_id"].enumerated().map { W.inline("\(letters[$0])1", $1) }),
        W.row(2, [W.inline("A2", "HCM-U001"), W.inline("B2", "Đảng bộ phường Bến Nghé"), W.inline("C2", "unit_committee")]),
        W.row(
            3, [W.inline("A3", "HCM-U001-C001"), W.inline("B3", "Chi bộ khu phố 1"), W.inline("C3", "cell"), W.inline("D3", "HCM-U001")]),
    ])
}

func validateWorkbook(_ path: String, sink: (any NormalizedSink)? = nil) throws -> (RecordValidator, [RecordInputs.Unit]) {
    let units = try RecordInputs.resolve([path])
    let v = RecordValidator(today: today, crossUnit: true)
    for u in units { try v.validateUnit(u.unit, files: u.files, sheets: u.sheets, sink: sink) }
    v.sortFindings()
    return (v, units)
}

/// The code a workbook is refused with (nil: read without a refusal).
func refusal(_ path: String, limits: WorkbookLimits = WorkbookLimits()) -> SealErrorCode? {
    do {
        let units = try RecordInputs.resolve([path], limits: limits)
        let v = RecordValidator(today: today, crossUnit: true)
        for u in units { try v.validateUnit(u.unit, files: u.files, sheets: u.sheets) }
        return nil
    } catch let e as WorkbookError {
        return e.code
    } catch {
        return SealErrorCode("other: \(error)")
    }
}

@Suite struct WorkbookTests {
    /// Shared strings (a Vietnamese heading among them), rich text runs, inline strings, a
    /// formula's string, a date serial, a CCCD typed as a number, an Excel error, a hidden
    /// organizations sheet named in Vietnamese, a sheet ignored, trailing formatted empty rows.
    @Test func aClerksWorkbookReadsAsItsCSVWould() throws {
        let s = Scratch()
        var wb = W()
        wb.sharedStrings =
            memberHeadings.map { "<t>\(W.escape($0))</t>" } + ["<r><t>Trần </t></r><r><rPr><b/></rPr><t>Thị Bình</t></r><rPh><t>x</t></rPh>"]
        let header = W.row(1, memberHeadings.indices.map { W.shared("\(letters[$0])1", $0) })
        let an = memberRow(2, annValues, override: [3: W.number("D2", "27460"), 5: W.number("F2", "36665"), 6: W.formulaString("G2", "2001-05-19")])
        let binh = memberRow(
            4, binhValues,
            override: [
                1: W.shared("B4", 14), 2: W.inline("C4", "female"), 3: W.inline("D4", "1980-01-15"), 4: W.number("E4", "79180001235"),
                11: W.error("L4", "#N/A"),
            ])
        let trailing = (5...9).map { W.row($0, ["<c r=\"A\($0)\" s=\"3\"/>"], attributes: " s=\"3\" customFormat=\"1\"") }
        wb.sheets = [
            .init(name: "Đảng viên", xml: W.sheet([header, an, binh] + trailing, dimension: "A1:N9")),
            .init(name: "TỔ CHỨC", xml: orgSheet(), hidden: true),
            .init(name: "Ghi chú", xml: W.sheet([W.row(1, [W.inline("A1", "not records")])])),
        ]
        let path = try wb.write(to: "\(s.path)/HCM-U001.xlsx")
        let out = "\(s.path)/out"
        let sink = try DirectorySink(root: out, perUnit: false)
        let (v, units) = try validateWorkbook(path, sink: sink)
        #expect(units.map(\.unit) == ["HCM-U001"])
        #expect(units[0].ignoredSheets == ["Ghi chú"])
        #expect(v.units[0].members == 2, "the formatted empty rows 5–9 are not records")
        #expect(v.units[0].organizations == 2, "the hidden sheet is read")
        let found = v.findings.map { "\($0.line) \($0.column) \($0.rule) \($0.original) \($0.sheet ?? "-")!\($0.cell ?? "-")" }
        #expect(
            found == [
                "4 citizen_id cell.number_as_text 79180001235 Đảng viên!E4",
                "4 ethnicity cell.error #N/A Đảng viên!L4",
            ], "\(found)")
        let report = ValidationReport(v, lang: .en)
        #expect(
            report.render(.json).contains("\"rule\":\"cell.number_as_text\"")
                && report.render(.json).contains("\"sheet\":\"Đảng viên\",\"cell\":\"E4\""))
        #expect(report.render(.table).contains("Đảng viên!E4"))
        // The normalized CSV: the serials as dates, the rich text joined, the numbers as typed.
        let members = String(decoding: s.read("out/members.csv"), as: UTF8.self)
        #expect(
            members == RecordFile.members.columns.joined(separator: ",") + "\n"
                + "7900000001,Nguyễn Văn An,male,1975-03-07,079075001234,2000-05-19,2001-05-19,official,HCM-U001-C001,0912345678,,Kinh,,\n"
                + "7900000002,Trần Thị Bình,female,1980-01-15,79180001235,2005-06-01,2006-06-01,official,HCM-U001-C001,,,#N/A,,\n")
    }

    /// The 1904 date system, and the 1900 system's serial 60 (1900-02-29, a day that never was)
    /// and 61 (1900-03-01).
    @Test func dateSerialsOfBothSystems() throws {
        #expect(ExcelDate.date(serial: 1, date1904: false) == "1900-01-01")
        #expect(ExcelDate.date(serial: 59, date1904: false) == "1900-02-28")
        #expect(ExcelDate.date(serial: 60, date1904: false) == "1900-02-29")
        #expect(ExcelDate.date(serial: 61, date1904: false) == "1900-03-01")
        #expect(ExcelDate.date(serial: 27460.75, date1904: false) == "1975-03-07")
        #expect(ExcelDate.date(serial: 2_958_465, date1904: false) == "9999-12-31")
        #expect(ExcelDate.date(serial: 2_958_466, date1904: false) == nil)
        #expect(ExcelDate.date(serial: 0, date1904: false) == nil)
        #expect(ExcelDate.date(serial: 0, date1904: true) == "1904-01-01")
        #expect(ExcelDate.date(serial: 27460 - 1462, date1904: true) == "1975-03-07")
        #expect(ExcelDate.dateTime(serial: 46351.5, date1904: false) == "2026-11-25T12:00:00")

        let s = Scratch()
        for date1904 in [false, true] {
            var wb = W()
            wb.date1904 = date1904
            let shift = date1904 ? 1462 : 0
            let header = W.row(1, memberHeadings.indices.map { W.inline("\(letters[$0])1", memberHeadings[$0]) })
            let rows = [
                memberRow(
                    2, annValues,
                    override: [3: W.number("D2", "\(27460 - shift)"), 5: W.number("F2", "\(36665 - shift)"), 6: W.number("G2", "\(37030 - shift)")]),
                memberRow(
                    3, annValues,
                    override: [
                        0: W.inline("A3", "7900000003"), 3: W.number("D3", "60"), 4: W.inline("E3", "079075001299"), 5: W.number("F3", "36665"),
                        6: W.number("G3", "37030"),
                    ]),
                memberRow(
                    4, annValues,
                    override: [
                        0: W.inline("A4", "7900000004"), 3: W.number("D4", "61"), 4: W.inline("E4", "079075001298"), 5: W.number("F4", "36665"),
                        6: W.number("G4", "37030"),
                    ]),
            ]
            wb.sheets = [.init(name: "members", xml: W.sheet([header] + rows)), .init(name: "organizations", xml: orgSheet())]
            let (v, _) = try validateWorkbook(try wb.write(to: "\(s.path)/u\(date1904).xlsx"))
            let onDates = v.findings.filter { $0.line == 2 && $0.column.hasPrefix("date") }
            #expect(onDates.isEmpty, "row 2's serials are its dates: \(onDates)")
            let dob = v.findings.filter { $0.column == "date_of_birth" }.map { "\($0.line) \($0.original)" }
            if date1904 {
                // Serial 60 and 61 of the 1904 system: 1904-03-01 and 1904-03-02.
                #expect(dob == ["3 1904-03-01", "4 1904-03-02"], "\(dob)")
            } else {
                #expect(dob.first == "3 1900-02-29", "\(dob)")
                #expect(dob.contains("4 1900-03-01"), "\(dob)")
            }
        }
    }

    /// A workbook openpyxl wrote (it writes the parts Excel writes): shared strings, a date
    /// cell, a CCCD typed as a number; skipped without Debian's python3-openpyxl.
    @Test func aWorkbookOpenpyxlWrote() throws {
        let python = "/usr/bin/python3"
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = ["-c", "import openpyxl"]
        check.standardError = FileHandle.nullDevice
        guard FileManager.default.isExecutableFile(atPath: python) else {
            print("skipped: no \(python)")
            return
        }
        try check.run()
        check.waitUntilExit()
        guard check.terminationStatus == 0 else {
            print("skipped: \(python) has no openpyxl (apt install python3-openpyxl)")
            return
        }
        let s = Scratch()
        let script = """
            import sys, datetime, openpyxl
            wb = openpyxl.Workbook()
            ws = wb.active
            ws.title = "Đảng viên"
            ws.append(\(memberHeadings.debugDescription))
            ws.append(["7900000001", "Nguyễn Văn An", "male", datetime.date(1975, 3, 7), "079075001234", datetime.date(2000, 5, 19),
                       datetime.date(2001, 5, 19), "official", "HCM-U001-C001", "0912345678", None, "Kinh", None, None])
            ws.append(["7900000002", "Trần Văn Bình", "male", datetime.date(1980, 1, 15), 79080001235, datetime.date(2005, 6, 1),
                       datetime.date(2006, 6, 1), "official", "HCM-U001-C001", None, None, None, None, None])
            o = wb.create_sheet("To chuc")
            o.sheet_state = "hidden"
            for r in [["org_id", "name", "type", "parent_id"], ["HCM-U001", "Đảng bộ phường Bến Nghé", "unit_committee", None],
                      ["HCM-U001-C001", "Chi bộ khu phố 1", "cell", "HCM-U001"]]:
                o.append(r)
            wb.save(sys.argv[1])
            """
        let path = "\(s.path)/HCM-U001.xlsx"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script, path]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let (v, _) = try validateWorkbook(path)
        #expect(v.units[0].members == 2)
        #expect(v.units[0].organizations == 2)
        let found = v.findings.map { "\($0.line) \($0.column) \($0.rule) \($0.original)" }
        #expect(found == ["3 citizen_id cell.number_as_text 79080001235"], "\(found)")
    }

    // MARK: Hostile workbooks, one refusal each

    func members(_ rows: [String] = [], dimension: String? = nil, prolog: String = "") -> W {
        var wb = W()
        let header = W.row(1, memberHeadings.indices.map { W.inline("\(letters[$0])1", memberHeadings[$0]) })
        wb.sheets = [.init(name: "members", xml: W.sheet([header] + rows, dimension: dimension, prolog: prolog))]
        return wb
    }

    @Test func aMemberDeclaringMoreThanThePartBoundIsTooLarge() throws {
        let s = Scratch()
        let big = (2...3000).map { memberRow($0, annValues) }
        let path = try members(big).write(to: "\(s.path)/a.xlsx")
        #expect(refusal(path) == nil)
        var limits = WorkbookLimits()
        limits.maxPartBytes = 256 << 10
        #expect(refusal(path, limits: limits) == .workbookTooLarge)
    }

    @Test func aMemberInflatingPastItsDeclaredSizeIsAZipBomb() throws {
        let s = Scratch()
        let path = try members((2...200).map { memberRow($0, annValues) }).write(to: "\(s.path)/a.xlsx")
        #expect(refusal(path) == nil)
        try patchDeclaredSize(path, member: "xl/worksheets/sheet1.xml", to: 4096)
        #expect(refusal(path) == .workbookUnsafe)
        // A member of more than one chunk is inflated on a thread of its own: held to its size there.
        let big = try members((2...3000).map { memberRow($0, annValues) }).write(to: "\(s.path)/b.xlsx")
        #expect(refusal(big) == nil)
        try patchDeclaredSize(big, member: "xl/worksheets/sheet1.xml", to: 3 << 16)
        #expect(refusal(big) == .workbookUnsafe)
    }

    /// Every member's CRC-32 is checked as it inflates: a sheet of several chunks (their
    /// lengths no multiple of 8) passes with its own checksum and is refused with any other.
    @Test func aMemberWhoseChecksumDoesNotMatchIsRefused() throws {
        let s = Scratch()
        let rows = (2...3000).map { memberRow($0, annValues) }
        func sheetBytes(_ wb: W) throws -> [UInt8] { try #require(wb.parts().first { $0.0 == "xl/worksheets/sheet1.xml" }?.1) }
        // Spaces before the root element make the part's length 3 past a multiple of 8.
        let wb = members(rows, prolog: String(repeating: " ", count: 11 - (try sheetBytes(members(rows))).count % 8))
        let sheet = try sheetBytes(wb)
        #expect(sheet.count > 4 * (1 << 16) && sheet.count % 8 == 3)
        let path = try wb.write(to: "\(s.path)/a.xlsx")
        try patchChecksum(path, member: "xl/worksheets/sheet1.xml", to: referenceCRC32(sheet))
        #expect(refusal(path) == nil)
        try patchChecksum(path, member: "xl/worksheets/sheet1.xml", to: referenceCRC32(sheet) ^ 0x0000_0100)
        #expect(refusal(path) == .workbookMalformed)
        try patchChecksum(path, member: "xl/worksheets/sheet1.xml", to: referenceCRC32(Array(sheet.dropLast())))
        #expect(refusal(path) == .workbookMalformed)
    }

    /// A sheet whose deflate data ends too soon (a stored block announcing 65,535 bytes, 100
    /// given; stored, then marked deflated): ZIPFoundation's Linux reader spun on it without end
    /// and handed zlib more length than it read; the reader's own (the member's bytes only, zlib
    /// given their true length) refuses it (found by the attacker review). Also a member marked
    /// with a method that is not deflate.
    @Test func aMemberWhoseDataEndsTooSoonIsRefused() throws {
        let s = Scratch()
        let good = try members([memberRow(2, annValues)]).write(to: "\(s.path)/good.xlsx")
        func rewrite(_ name: String, _ change: (Data) -> Data) throws -> String {
            let path = "\(s.path)/\(name)"
            let source = try Archive(url: URL(fileURLWithPath: good), accessMode: .read)
            let out = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
            for entry in source {
                var bytes = Data()
                _ = try source.extract(entry) { bytes.append($0) }
                if entry.path == "xl/worksheets/sheet1.xml" { bytes = change(bytes) }
                let data = bytes
                try out.addEntry(
                    with: entry.path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .none,
                    provider: { position, size in data.subdata(in: Int(position)..<Int(position) + size) })
            }
            return path
        }
        // A non-final stored block of 65,535 bytes, and only 100 of them, marked deflated (method 8).
        let short = try rewrite("short.xlsx") { Data([0x00, 0xFF, 0xFF, 0x00, 0x00]) + $0.prefix(100) }
        try patchHeaders(short, member: "xl/worksheets/sheet1.xml", local: 8, central: 10, to: 8)
        try patchDeclaredSize(short, member: "xl/worksheets/sheet1.xml", to: 100_000)
        #expect(refusal(short) == .workbookMalformed)
        // Stored as it is, but marked with method 12 (bzip2).
        let bzip = try rewrite("bzip.xlsx") { $0 }
        try patchHeaders(bzip, member: "xl/worksheets/sheet1.xml", local: 8, central: 10, to: 12)
        #expect(refusal(bzip) == .workbookMalformed)
        // The same member stored and marked stored reads.
        #expect(refusal(try rewrite("stored.xlsx") { $0 }) == nil)
        #expect(refusal(good) == nil)
    }

    @Test func aMemberDeclaringAHugeRatioIsAZipBomb() throws {
        let s = Scratch()
        // 8 MiB of one repeated formatted empty cell: deflate packs it about 1000 to 1.
        let filler = String(repeating: "<c s=\"1\"/>", count: 8 << 17)
        let path = try members([W.row(2, [filler])]).write(to: "\(s.path)/a.xlsx")
        #expect(refusal(path) == .workbookUnsafe)
        var limits = WorkbookLimits()
        limits.maxRatio = 10_000
        #expect(refusal(path, limits: limits) == .workbookMalformed, "past the ratio bound, 8 MiB of cells run past column XFD")
    }

    @Test func billionLaughsIsRefusedUnexpanded() throws {
        let s = Scratch()
        var dtd = "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        for i in 1...9 { dtd += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i == 1 ? "" : String(i - 1));", count: 10) + "\">" }
        dtd += "]>"
        let path = try members([memberRow(2, annValues, override: [11: "<c r=\"L2\" t=\"inlineStr\"><is><t>&lol9;</t></is></c>"])], prolog: dtd)
            .write(to: "\(s.path)/a.xlsx")
        #expect(refusal(path) == .workbookUnsafe)
    }

    @Test func anExternalEntityIsRefusedUnfetched() throws {
        let s = Scratch()
        var wb = members([memberRow(2, annValues)])
        wb.sharedStrings = ["<t>&xxe;</t>"]
        wb.raw = [
            (
                "xl/sharedStrings.xml",
                Array(
                    "<?xml version=\"1.0\"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><sst xmlns=\"\(W.ns)\"><si><t>&xxe;</t></si></sst>"
                        .utf8)
            )
        ]
        #expect(refusal(try wb.write(to: "\(s.path)/a.xlsx")) == .workbookUnsafe)
        // Without its DOCTYPE, the entity is unknown: never expanded, refused as malformed.
        wb.raw = [("xl/sharedStrings.xml", Array("<sst xmlns=\"\(W.ns)\"><si><t>&xxe;</t></si></sst>".utf8))]
        #expect(refusal(try wb.write(to: "\(s.path)/b.xlsx")) == .workbookMalformed)
    }

    @Test func cellReferencesOutsideTheGridAreRefused() throws {
        let s = Scratch()
        let xfe = members([W.row(2, [W.inline("XFE2", "x")])])
        #expect(refusal(try xfe.write(to: "\(s.path)/a.xlsx")) == .workbookMalformed)
        let deep = members([W.row(99_999_999, [W.inline("A99999999", "x")])])
        #expect(refusal(try deep.write(to: "\(s.path)/b.xlsx")) == .workbookMalformed)
        let dimension = members([memberRow(2, annValues)], dimension: "A1:N1000000000")
        #expect(refusal(try dimension.write(to: "\(s.path)/c.xlsx")) == .workbookMalformed)
        // Inside the grid but past the 1024 columns a record may have.
        let far = members([W.row(2, [W.inline("XFD2", "x")])])
        #expect(refusal(try far.write(to: "\(s.path)/d.xlsx")) == .workbookTooLarge)
    }

    @Test func aSheetOfAMillionColumnsIsRefused() throws {
        let s = Scratch()
        // Values that differ, so that deflate does not make a zip bomb of them.
        let wide = W.row(2, (1...1_000_000).map { "<c><v>\($0 &* 2_654_435_761 % 1_000_003)</v></c>" })
        #expect(refusal(try members([wide]).write(to: "\(s.path)/a.xlsx")) == .workbookTooLarge)
    }

    @Test func memberNamesLeavingTheArchiveAreRefused() throws {
        let s = Scratch()
        var up = members([memberRow(2, annValues)])
        up.raw = [("../../etc/cron.d/x", Array("x".utf8))]
        #expect(refusal(try up.write(to: "\(s.path)/a.xlsx")) == .workbookUnsafe)
        var absolute = members([memberRow(2, annValues)])
        absolute.raw = [("/etc/passwd", Array("x".utf8))]
        #expect(refusal(try absolute.write(to: "\(s.path)/b.xlsx")) == .workbookUnsafe)
        var target = members([memberRow(2, annValues)])
        target.raw = [
            (
                "xl/_rels/workbook.xml.rels",
                Array(
                    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"\(W.rns)/worksheet\" Target=\"../../../sheet1.xml\"/></Relationships>"
                        .utf8)
            )
        ]
        #expect(refusal(try target.write(to: "\(s.path)/c.xlsx")) == .workbookUnsafe)
    }

    @Test func notAZipIsRefused() throws {
        let s = Scratch()
        #expect(refusal(s.write("a.xlsx", "member_id,full_name\n")) == .workbookMalformed)
        #expect(
            refusal(s.writeBytes("b.xlsx", [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + [UInt8](repeating: 0, count: 504)))
                == .workbookMalformed)
        #expect(refusal(s.writeBytes("c.xlsx", [0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 7, count: 200))) == .workbookMalformed)
    }

    @Test func aSheetListedButMissingIsRefused() throws {
        let s = Scratch()
        var wb = members([memberRow(2, annValues)])
        wb.omit = ["xl/worksheets/sheet1.xml"]
        #expect(refusal(try wb.write(to: "\(s.path)/a.xlsx")) == .workbookMalformed)
    }

    /// A sheet broken after its first rows: the workbook is refused as a whole, not validated
    /// as far as it went.
    @Test func aSheetBrokenMidwayRefusesTheWorkbook() throws {
        let s = Scratch()
        let rows = (2...3000).map { memberRow($0, annValues) } + ["<row r=\"3001\"><c r=\"A3001\"><v>1</v></row>"]
        #expect(refusal(try members(rows).write(to: "\(s.path)/a.xlsx")) == .workbookMalformed)
    }

    // MARK: An attacker review's crafted workbooks (#23 item 1)

    /// A row inside a row (an empty one cleared the outer row's cells: a member silently
    /// dropped), a cell inside a cell, a value or formula outside a cell, two values in a cell:
    /// each refused, not read as something else.
    @Test func rowsAndCellsNestedWrongAreRefused() throws {
        let s = Scratch()
        let nested = [
            W.row(2, annValues.indices.compactMap { annValues[$0].isEmpty ? nil : W.inline("\(letters[$0])2", annValues[$0]) } + ["<row r=\"3\"/>"]),
            "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>7900000001</t></is><c r=\"B2\"><v>1</v></c></c></row>",
            "<row r=\"2\"><v>1</v><c r=\"A2\" t=\"inlineStr\"><is><t>7900000001</t></is></c></row>",
            "<row r=\"2\"><c r=\"A2\"><v>1</v></c><f>A2</f></row>",
            "<row r=\"2\"><c r=\"A2\"><v>1</v><v>2</v></c></row>",
        ]
        for (i, rows) in nested.enumerated() {
            let path = try members([rows, memberRow(4, annValues)]).write(to: "\(s.path)/n\(i).xlsx")
            #expect(refusal(path) == .workbookMalformed, "\(rows)")
        }
        #expect(refusal(try members([memberRow(2, annValues)]).write(to: "\(s.path)/ok.xlsx")) == nil)
    }

    /// An element with two attributes of one name (`<c r="A2" r="Z2">`: which one is the
    /// cell?) is refused.
    @Test func twoAttributesOfOneNameAreRefused() throws {
        let s = Scratch()
        let twice = members([memberRow(2, annValues, override: [0: "<c r=\"A2\" r=\"Z2\" t=\"inlineStr\"><is><t>7900000001</t></is></c>"])])
        #expect(refusal(try twice.write(to: "\(s.path)/a.xlsx")) == .workbookMalformed)
    }

    /// Only SpreadsheetML's elements count, by the namespace their prefix is declared for: a
    /// workbook written with `x:` for SpreadsheetML reads as Excel's, an `<evil:row>` is no row
    /// (its cells are then outside a row: refused), another namespace's `<v>` in a cell is not
    /// its value, and a part whose root is not SpreadsheetML's is refused.
    @Test func onlySpreadsheetMLElementsAreRead() throws {
        let s = Scratch()
        var prefixed = members([memberRow(2, annValues)])
        let sheet = prefixed.sheets[0].xml
        prefixed.sheets[0].xml = sheet.replacingOccurrences(of: "<worksheet xmlns=", with: "<x:worksheet xmlns:x=")
            .replacingOccurrences(of: "</worksheet>", with: "</x:worksheet>")
            .replacingOccurrences(of: "<(/?)(sheetData|row|c|is|t)([ >])", with: "<$1x:$2$3", options: .regularExpression)
        #expect(prefixed.sheets[0].xml.contains("<x:c r=\"A2\" t=\"inlineStr\"><x:is><x:t>7900000001</x:t></x:is></x:c>"))
        let (v, _) = try validateWorkbook(try prefixed.write(to: "\(s.path)/HCM-U001.xlsx"))
        #expect(v.units[0].members == 1)

        let evil = members(["<evil:row xmlns:evil=\"urn:x\" r=\"2\">\(W.inline("A2", "7900000001"))</evil:row>"])
        #expect(refusal(try evil.write(to: "\(s.path)/b.xlsx")) == .workbookMalformed)

        let out = "\(s.path)/out"
        let foreign = members([
            memberRow(2, annValues, override: [11: "<c r=\"L2\" t=\"inlineStr\"><is><t>Kinh</t></is><o:v xmlns:o=\"urn:x\">Evil</o:v></c>"])
        ])
        _ = try validateWorkbook(try foreign.write(to: "\(s.path)/HCM-U002.xlsx"), sink: try DirectorySink(root: out, perUnit: false))
        let normalized = String(decoding: s.read("out/members.csv"), as: UTF8.self)
        #expect(normalized.contains(",Kinh,") && !normalized.contains("Evil"), "\(normalized)")

        var noNamespace = members([memberRow(2, annValues)])
        noNamespace.sheets[0].xml = noNamespace.sheets[0].xml.replacingOccurrences(of: "xmlns=\"\(W.ns)\"", with: "")
        #expect(refusal(try noNamespace.write(to: "\(s.path)/d.xlsx")) == .workbookMalformed)
    }

    /// A central directory claiming a member's compressed size is its inflated size (ratio 1)
    /// does not pass the ratio bound: the members' compressed sizes must fit in the file.
    @Test func aCompressedSizeTheFileCannotHoldIsAZipBomb() throws {
        let s = Scratch()
        // 2 MiB of one repeated cell: deflate packs it far past 200 to 1.
        let filler = String(repeating: "<c s=\"1\"/>", count: 2 << 17)
        let path = try members([W.row(2, [filler])]).write(to: "\(s.path)/a.xlsx")
        #expect(refusal(path) == .workbookUnsafe)
        let size = try #require(try Archive(url: URL(fileURLWithPath: path), accessMode: .read)["xl/worksheets/sheet1.xml"]).uncompressedSize
        try patchHeaders(path, member: "xl/worksheets/sheet1.xml", local: 18, central: 20, to: UInt32(size))
        #expect(refusal(path) == .workbookUnsafe)
    }

    /// Every part read counts against one bound for the whole workbook.
    @Test func thePartsReadAreBoundedTogether() throws {
        let s = Scratch()
        var wb = members((2...400).map { memberRow($0, annValues) })
        wb.sheets.append(.init(name: "organizations", xml: orgSheet()))
        let path = try wb.write(to: "\(s.path)/a.xlsx")
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        let sheet = try #require(archive["xl/worksheets/sheet1.xml"]).uncompressedSize
        var limits = WorkbookLimits()
        limits.maxPartBytes = sheet + 1
        limits.maxTotalBytes = sheet + 1
        #expect(refusal(path, limits: limits) == .workbookTooLarge, "each part within its bound, not all of them")
        limits.maxTotalBytes = archive.reduce(0) { $0 + $1.uncompressedSize }
        #expect(refusal(path, limits: limits) == nil)
    }

    /// Two sheets whose relationships name one part (read twice, for two record files) are
    /// refused.
    @Test func twoSheetsOfOnePartAreRefused() throws {
        let s = Scratch()
        var wb = members([memberRow(2, annValues)])
        wb.sheets.append(.init(name: "organizations", xml: orgSheet()))
        let path = try wb.write(to: "\(s.path)/a.xlsx")
        #expect(refusal(path) == nil)
        wb.raw = [
            (
                "xl/_rels/workbook.xml.rels",
                Array(
                    ("<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                        + "<Relationship Id=\"rId1\" Type=\"\(W.rns)/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
                        + "<Relationship Id=\"rId2\" Type=\"\(W.rns)/worksheet\" Target=\"/xl/worksheets/sheet1.xml\"/></Relationships>").utf8)
            )
        ]
        #expect(refusal(try wb.write(to: "\(s.path)/b.xlsx")) == .workbookMalformed)
    }

    /// When the validator stops early (a syntax error in row 2), the sheet's reader stops too:
    /// it does not read on to the damage at the sheet's end (which, read, refuses the workbook
    /// instead of the finding). Rows that hold no value send nothing, so the records read are
    /// sent after 4 chunks without sending: the validator sees row 2 while the reader is far from the end.
    @Test func theSheetStopsWhenTheValidatorDoes() throws {
        let s = Scratch()
        var bytes = Array(members([memberRow(2, annValues)]).sheets[0].xml.utf8)
        // Kinh with a byte that is no UTF-8: the CSV reader's syntax error.
        let kinh = Array("Kinh".utf8)
        let at = try #require((0...(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == kinh })
        bytes.insert(0xFF, at: at + 2)
        // Then 16 MiB of empty cells whose styles differ (deflate keeps them over 1/200th), and a row never closed.
        var filler: [UInt8] = []
        var x: UInt32 = 12_345
        for r in 3...100 {
            filler += Array("<row r=\"\(r)\">".utf8)
            for _ in 0..<16_000 {
                x = x &* 1_103_515_245 &+ 12_345
                filler += Array("<c s=\"\((x >> 16) % 100_000)\"/>".utf8)
            }
            filler += Array("</row>".utf8)
        }
        filler += Array("<row r=\"101\"><c r=\"A101\"><v>1</v></row>".utf8)
        let end = Array("</sheetData>".utf8)
        let cut = try #require((0...(bytes.count - end.count)).first { Array(bytes[$0..<($0 + end.count)]) == end })
        bytes.insert(contentsOf: filler, at: cut)
        var wb = members()
        wb.raw = [("xl/worksheets/sheet1.xml", bytes)]
        let path = try wb.write(to: "\(s.path)/HCM-U001.xlsx")
        let (v, _) = try validateWorkbook(path)
        #expect(v.findings.contains { $0.rule == "file.csv_syntax" }, "\(v.findings.map(\.rule))")
    }

    /// A raw control character (not TAB, LF, CR) in a cell's text or an attribute value is not
    /// XML: refused, as its `&#…;` form already was. Sheet names are printed cleaned (a C1
    /// control such as CSI, a bidirectional override: "?").
    @Test func rawControlCharactersAreRefusedAndSheetNamesPrintedClean() throws {
        let s = Scratch()
        let text = members([memberRow(2, annValues, override: [11: W.inline("L2", "Ki\u{0}nh")])])
        #expect(refusal(try text.write(to: "\(s.path)/a.xlsx")) == .workbookMalformed)
        let escape = members([memberRow(2, annValues, override: [11: W.inline("L2", "Ki\u{1B}[31mnh")])])
        #expect(refusal(try escape.write(to: "\(s.path)/b.xlsx")) == .workbookMalformed)
        var name = members([memberRow(2, annValues)])
        name.sheets[0].name = "X\u{1B}]0;pwned\u{7}"
        #expect(refusal(try name.write(to: "\(s.path)/c.xlsx")) == .workbookMalformed)
        #expect(refusal(try members([memberRow(2, annValues, override: [11: W.inline("L2", "Ki\tnh")])]).write(to: "\(s.path)/d.xlsx")) == nil)

        var c1 = members([memberRow(2, annValues)])
        c1.sheets[0].name = "Y\u{9B}31mRED\u{202E}x"
        let path = try c1.write(to: "\(s.path)/e.xlsx")
        #expect(throws: RecordInputError.self) { try RecordInputs.resolve([path]) }
        do { _ = try RecordInputs.resolve([path]) } catch let e as RecordInputError {
            #expect(e.reason.hasSuffix("its sheets: \"Y?31mRED?x\""), "\(e.reason)")
        }
        var ignored = members([memberRow(2, annValues)])
        ignored.sheets.append(.init(name: "Z\u{9B}2J", xml: orgSheet()))
        let units = try RecordInputs.resolve([try ignored.write(to: "\(s.path)/f.xlsx")])
        #expect(units[0].ignoredSheets == ["Z?2J"])
    }

    /// A value in column 1,022 (AMH) is read; past it, `workbook_too_large` (the feed adds two
    /// fields to the CSV reader's 1,024), not the CSV reader's syntax error.
    @Test func theLastColumnIsBoundBeforeTheCSVReaderIs() throws {
        let s = Scratch()
        for (column, code) in [(1022, SealErrorCode?.none), (1023, .workbookTooLarge), (1024, .workbookTooLarge)] {
            let ref = ExcelGrid.letters(column)
            let wb = members([memberRow(2, annValues), W.row(3, [W.inline("A3", "7900000003"), W.inline("\(ref)3", "x")])])
            #expect(refusal(try wb.write(to: "\(s.path)/c\(column).xlsx")) == code, "column \(column)")
        }
    }

    /// A date serial is decimal: a hex float (`0x1p14`, which `Double` takes as 16384) or `inf`
    /// is not a date, it is the invalid date of the date rules.
    @Test func aDateSerialIsDecimal() throws {
        let s = Scratch()
        for (i, v) in ["0x1p14", "inf", "16384", "1.6384E4"].enumerated() {
            let wb = members([memberRow(2, annValues, override: [3: W.number("D2", v)])])
            let (found, _) = try validateWorkbook(try wb.write(to: "\(s.path)/HCM-U00\(i).xlsx"))
            let dob = found.findings.filter { $0.column == "date_of_birth" }.map { "\($0.rule) \($0.original)" }
            if i < 2 {
                #expect(dob.count == 1 && dob[0].hasSuffix(" \(v)"), "\(v): \(dob)")
            } else {
                #expect(dob.isEmpty, "\(v) is 1944-11-08: \(dob)")
            }
        }
        #expect(RowConverter.decimal("0x1p14") == nil && RowConverter.decimal("nan") == nil && RowConverter.decimal("1e") == nil)
        #expect(RowConverter.decimal("-1.5E+3") == -1500 && RowConverter.decimal(".5") == 0.5)
    }

    /// Sheet names: English, Vietnamese, without diacritics, any case and spacing.
    @Test func sheetNamesMatchTheirRecordFiles() {
        #expect(RecordFile.forSheet("Đảng viên") == .members)
        #expect(RecordFile.forSheet("DANG VIEN") == .members)
        #expect(RecordFile.forSheet(" dangvien ") == .members)
        #expect(RecordFile.forSheet("Đảng vie\u{0302}n") == .members, "compared in NFC")
        #expect(RecordFile.forSheet("To chuc") == .organizations)
        #expect(RecordFile.forSheet("Tổ  chức") == .organizations)
        #expect(RecordFile.forSheet("Đính chính") == .corrections)
        #expect(RecordFile.forSheet("Members") == .members)
        #expect(RecordFile.forSheet("Sheet1") == nil)
    }
}
