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
