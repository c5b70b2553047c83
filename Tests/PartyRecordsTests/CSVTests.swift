import Testing

@testable import PartyRecords

struct CSVTests {
    func records(_ text: String) throws -> [[String]] {
        let r = CSVReader(bytes: Array(text.utf8))
        var out: [[String]] = []
        while try r.next() { out.append(r.fields.map(\.string)) }
        return out
    }

    @Test func rfc4180() throws {
        #expect(try records("a,b\n1,2\n") == [["a", "b"], ["1", "2"]])
        #expect(try records("a,b\r\n1,2") == [["a", "b"], ["1", "2"]])
        #expect(try records("\u{FEFF}a,b\n") == [["a", "b"]])
        #expect(try records("a,\"x, \"\"y\"\"\nz\",c\n") == [["a", "x, \"y\"\nz", "c"]])
        #expect(try records("a,,\n") == [["a", "", ""]])
        #expect(try records("\"\"\n") == [[""]])
    }

    @Test func lineNumbersCountQuotedNewlines() throws {
        let r = CSVReader(bytes: Array("h\n\"a\nb\"\nc\n".utf8))
        var lines: [Int] = []
        while try r.next() { lines.append(r.line) }
        #expect(lines == [1, 2, 4])
    }

    @Test func syntaxErrorsAreReported() {
        for bad in ["a,\"b\n", "a,b\"c\n", "\"a\"b\n", "a\rb\n", "\u{FF}\n"] {
            var bytes = Array(bad.utf8)
            if bad == "\u{FF}\n" { bytes = [0xFF, 0x0A] }
            let r = CSVReader(bytes: bytes)
            #expect(throws: CSVSyntaxError.self, "\(bad)") { while try r.next() {} }
        }
    }

    /// A control character in a value — unquoted or quoted, at a line — is a syntax error; a
    /// tab and line breaks inside quotes are not.
    @Test func controlCharactersAreSyntaxErrors() throws {
        for c: UInt8 in [0x00, 0x01, 0x08, 0x0B, 0x0C, 0x1B, 0x1F, 0x7F] {
            // The line is the character's own: the second, or the third inside a quoted value.
            for (bytes, line) in [
                (Array("h\nNguy".utf8) + [c] + Array("ễn,x\n".utf8), 2), (Array("h\n\"a\nb".utf8) + [c] + Array("\",x\n".utf8), 3),
            ] {
                let r = CSVReader(bytes: bytes)
                #expect(throws: CSVSyntaxError.self, "byte \(c)") { while try r.next() {} }
                let again = CSVReader(bytes: bytes)
                do { while try again.next() {} } catch let e as CSVSyntaxError {
                    #expect(e.line == line && e.reason.contains("control character"), "\(e)")
                }
            }
        }
        #expect(try records("a\tb,\"c\td\r\ne\"\n") == [["a\tb", "c\td\r\ne"]])
    }

    @Test func writerQuotesOnlyWhenNeeded() throws {
        let w = CSVWriter()
        try w.record(["a", "b,c", "say \"hi\"", "x\ny", ""])
        #expect(String(decoding: w.bytes, as: UTF8.self) == "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\",\n")
        #expect(try records(String(decoding: w.bytes, as: UTF8.self)) == [["a", "b,c", "say \"hi\"", "x\ny", ""]])
    }

    @Test func aRecordOverTheLimitIsASyntaxErrorNotUnboundedMemory() throws {
        let s = Scratch()
        let p = s.writeBytes("huge.csv", Array("h\n\"".utf8) + [UInt8](repeating: 0x61, count: CSVReader.maxRecordBytes + (1 << 20)))
        let r = try CSVReader(path: p)
        _ = try r.next()
        #expect(throws: CSVSyntaxError.self) { while try r.next() {} }
    }

    @Test func longRecordsCrossTheReadBuffer() throws {
        let s = Scratch()
        let big = String(repeating: "Nguyễn Văn An ", count: 120_000)  // ~2 MiB field, over the 1 MiB buffer
        let p = s.write("big.csv", "h1,h2\n\"\(big)\",2\nx,y\n")
        let r = try CSVReader(path: p)
        var rows: [[String]] = []
        while try r.next() { rows.append(r.fields.map(\.string)) }
        #expect(rows.count == 3 && rows[1][0] == big && rows[2] == ["x", "y"])
    }
}

/// Files validated from memory (the gateway's small packages) give what the same files on disk give.
struct InMemoryValidationTests {
    @Test func bytesInMemoryValidateAndNormalizeAsTheirFilesDo() throws {
        let s = Scratch()
        // Dirty records: findings of many rules, and rows the normalizer changes.
        let g = CityGenerator(.init(units: 1, members: 300, seed: 11, dirt: 0.2, prefix: "HCM"))
        _ = try g.generate(into: "\(s.path)/city")
        let unit = "\(s.path)/city/HCM-U001"
        var files: [RecordFile: String] = [:]
        var contents: [RecordFile: [UInt8]] = [:]
        for f in [RecordFile.organizations, .members] {
            files[f] = "\(unit)/\(f.rawValue)"
            contents[f] = s.read("city/HCM-U001/\(f.rawValue)")
        }
        let onDisk = RecordValidator(today: today, crossUnit: false)
        let folder = try DirectorySink(root: "\(s.path)/normalized", perUnit: false)
        try onDisk.validateUnit("HCM-U001", files: files, sink: folder)
        let inMemory = RecordValidator(today: today, crossUnit: false)
        let memory = MemorySink()
        try inMemory.validateUnit("HCM-U001", files: [:], contents: contents, sink: memory)
        #expect(onDisk.errorCount > 0 && onDisk.warningCount > 0, "the generator's dirt should give findings")
        #expect(inMemory.errorCount == onDisk.errorCount && inMemory.warningCount == onDisk.warningCount)
        #expect(inMemory.countsByRule == onDisk.countsByRule)
        func named(_ v: RecordValidator) -> [String] { v.findings.map { "\($0.file):\($0.line):\($0.column):\($0.rule)" } }
        #expect(named(inMemory) == named(onDisk))
        for f in [RecordFile.organizations, .members] {
            #expect(memory.contents[f] == s.read("normalized/\(f.rawValue)"), "normalized \(f.rawValue) differs")
            #expect(memory.dataRecords[f] == folder.dataRecords["\(s.path)/normalized/\(f.rawValue)"])
        }
    }
}

extension InMemoryValidationTests {
    /// Corrections with a byte-order mark, a quoted line break, blank lines and a bad row: the
    /// same findings (by line) and the same normalized rows from memory as from the file.
    @Test func correctionsInMemoryValidateAsTheirFileDoes() throws {
        let s = Scratch()
        let text =
            "\u{FEFF}citizen_id,field,old_value,new_value,reason,reported_at\n079201000001,phone,0901234567,0912345678,\"đổi số\nmới\",2026-11-28T09:00:00Z\n\n"
            + "079201000002,email,a@b.vn,not-an-email,x,2026-11-28T09:00:00Z\n\n079201000003,phone,,0912345678,,yesterday\n"
        let path = s.write("corrections.csv", text)
        let onDisk = RecordValidator(today: today, crossUnit: false)
        let folder = try DirectorySink(root: "\(s.path)/normalized", perUnit: false)
        try onDisk.validateUnit("HCM-U001", files: [.corrections: path], sink: folder)
        let inMemory = RecordValidator(today: today, crossUnit: false)
        let memory = MemorySink()
        try inMemory.validateUnit("HCM-U001", files: [:], contents: [.corrections: s.read("corrections.csv")], sink: memory)
        func named(_ v: RecordValidator) -> [String] { v.findings.map { "\($0.line):\($0.column):\($0.rule)" } }
        #expect(!onDisk.findings.isEmpty, "the bad rows should give findings")
        #expect(named(inMemory) == named(onDisk))
        #expect(memory.contents[.corrections] == s.read("normalized/corrections.csv"))
    }
}

/// Findings are counted, not hoarded: memory does not grow with their number.
struct BoundedFindingsTests {
    @Test func everyFindingIsCountedButOnlyTheFirstAreKept() throws {
        let s = Scratch()
        let g = CityGenerator(.init(units: 1, members: 20, seed: 3, dirt: 0, prefix: "HCM"))
        _ = try g.generate(into: "\(s.path)/city")
        let unit = "\(s.path)/city/HCM-U001"
        let header = String(decoding: s.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n")[0]
        let bad = 50_000
        _ = s.write("city/HCM-U001/members.csv", header + "\n" + String(repeating: "x\n", count: bad))
        let v = RecordValidator(today: today, crossUnit: false, keep: 25)
        try v.validateUnit("HCM-U001", files: [.organizations: "\(unit)/organizations.csv", .members: "\(unit)/members.csv"])
        #expect(v.errorCount == bad && v.countsByRule["row.field_count"] == bad)
        #expect(v.findings.count == 25 && v.findingsDropped == bad - 25)
        let report = ValidationReport(v, lang: .en)
        #expect(report.errors == bad && report.units.first?.errors == bad)
        #expect(report.render(.table, maxRows: 10).contains("first 10 of \(bad)"))
    }

    @Test func aLineOfAMillionCommasIsOneSyntaxFinding() throws {
        let s = Scratch()
        let p = s.writeBytes("commas.csv", [UInt8](repeating: 0x2C, count: 1 << 20) + [0x0A])
        let r = try CSVReader(path: p)
        #expect(throws: CSVSyntaxError.self) { _ = try r.next() }
        let v = RecordValidator(today: today, crossUnit: false)
        try v.validateUnit("HCM-U001", files: [.members: p])
        #expect(v.errorCount == 1 && v.countsByRule["file.csv_syntax"] == 1)
    }

    @Test func anUnknownHeadingIsNamedByItsPosition() throws {
        let s = Scratch()
        let p = s.write("m.csv", "Nguyễn Văn An,079201000001\n")
        let v = RecordValidator(today: today, crossUnit: false)
        try v.validateUnit("HCM-U001", files: [.members: p])
        let unknown = v.findings.filter { $0.rule == "file.unknown_column" }
        #expect(unknown.map(\.column) == ["#1", "#2"])
    }

    @Test func aHugeValueIsClippedInItsFinding() throws {
        let long = String(repeating: "ế", count: 10_000)
        let clipped = Finding.clipped(long)
        #expect(clipped.utf8.count <= Finding.maxValueBytes && clipped.hasSuffix("…"))
    }
}
