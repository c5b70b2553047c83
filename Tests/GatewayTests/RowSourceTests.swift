import Foundation
import GatewayStore
import PartyRecords
import SealCrypto
import Testing

@testable import GatewayCore

/// A record file's data rows read from its bytes in memory (a small package's) are the rows,
/// with the same line numbers, that the file gives (a large package's): header, byte-order mark
/// and blank lines skipped, quoted line breaks counted.
struct RowSourceTests {
    @Test func bytesAndFileGiveTheSameRowsAndLines() async throws {
        let text =
            "\u{FEFF}citizen_id,field,old_value,new_value,reason,reported_at\n079201000001,phone,0901234567,0912345678,\"đổi số\nmới\",2026-11-28T09:00:00Z\n\n\n"
            + "079201000002,email,a@b.vn,c@d.vn,x,2026-11-28T09:00:00Z\n"
        let path = NSTemporaryDirectory() + "sealgate-rows-" + UUID().uuidString + ".csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let fromFile = try IntakeDecision.dataRows(.file(path, count: 2))
        let fromBytes = try IntakeDecision.dataRows(.bytes(Array(text.utf8), count: 2))
        #expect(fromFile.map(\.line) == [2, 6] && fromFile.map(\.fields.count) == [6, 6])
        #expect(fromBytes.map(\.line) == fromFile.map(\.line))
        #expect(fromBytes.map(\.fields) == fromFile.map(\.fields))
        // The import's batches (one row a batch here): every row once, in order, from either.
        for source in [IntakeDecision.RowSource.file(path, count: 2), .bytes(Array(text.utf8), count: 2)] {
            var read: [[String]] = []
            try await IntakeDecision.rows(source, file: .corrections).read(6) { batch in read += Self.strings(batch) }
            #expect(read == fromFile.map(\.fields))
            // A table of more columns gets "" for those a row lacks; of fewer, the first ones.
            var wider: [[String]] = []
            try await IntakeDecision.rows(source, file: .corrections).read(7) { batch in wider += Self.strings(batch) }
            #expect(wider == fromFile.map { $0.fields + [""] })
            var narrower: [[String]] = []
            try await IntakeDecision.rows(source, file: .corrections).read(2) { batch in narrower += Self.strings(batch) }
            #expect(narrower == fromFile.map { Array($0.fields.prefix(2)) })
        }
    }

    /// Bytes in memory are split without the general reader (a line with no quote or CR taken
    /// whole): every shape of record gives the rows the file's reader gives — quoted fields with
    /// commas, doubled quotes and line breaks, CRLF line ends, a quoted empty line, rows of
    /// fewer or more fields than the table, empty fields at either end, no line end at the end.
    @Test func unquotedLinesTakenWholeGiveTheReadersRows() async throws {
        let texts = [
            "a,b,c\n1,2,3\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n4,5,6\r\n\"\"\n,,\n7,8\n9,10,11,12\n13,14,",
            "a,b,c\r\n1,2,3\r\n4,5,6",
            "\u{FEFF}a,b,c\n\n1,,3\n,2,\n\"\",\"\",\"\"\n",
            "\na,b,c\n1,2,3\n", "\"\"\na,b,c\n",
        ]
        for (t, text) in texts.enumerated() {
            let path = NSTemporaryDirectory() + "sealgate-lines-" + UUID().uuidString + ".csv"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            defer { unlink(path) }
            for width in [2, 3, 4] {
                var fromFile: [[String]] = []
                try await IntakeDecision.rows(.file(path, count: 9), file: .organizations).read(width) { fromFile += Self.strings($0) }
                var fromBytes: [[String]] = []
                try await IntakeDecision.rows(.bytes(Array(text.utf8), count: 9), file: .organizations).read(width) {
                    fromBytes += Self.strings($0)
                }
                #expect(fromBytes == fromFile, "text \(t), \(width) columns")
                #expect(!fromFile.isEmpty)
            }
        }
        // The first text's rows, as the file's reader gives them (3 columns).
        var rows: [[String]] = []
        try await IntakeDecision.rows(.bytes(Array(texts[0].utf8), count: 9), file: .organizations).read(3) { rows += Self.strings($0) }
        #expect(
            rows == [
                ["1", "2", "3"], ["x, y", "say \"hi\"", "two\nlines"], ["4", "5", "6"], ["", "", ""], ["7", "8", ""], ["9", "10", "11"],
                ["13", "14", ""],
            ])
        // A quote where an unquoted field runs is refused, not read past.
        var none: [[String]] = []
        await #expect(throws: SealError.self) {
            try await IntakeDecision.rows(.bytes(Array("a,b\n1,x\"y\n".utf8), count: 1), file: .organizations).read(2) { none += Self.strings($0) }
        }
    }

    /// Rows of several batches, the next parsed on the pool while the one before is taken:
    /// every row once, in order, each batch no larger than a batch; read again (a transaction
    /// tried again), the same rows from the first.
    @Test func batchesParsedAheadKeepEveryRowInOrder() async throws {
        let n = RecordRows.batchRows * 2 + 1
        var text = "org_id,name,type,parent_id\n"
        for i in 0..<n { text += "O\(i),\"Chi bộ \(i), khu phố\",cell,\n" }
        let expected = (0..<n).map { ["O\($0)", "Chi bộ \($0), khu phố", "cell", ""] }
        let path = NSTemporaryDirectory() + "sealgate-batches-" + UUID().uuidString + ".csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        for source in [IntakeDecision.RowSource.file(path, count: n), .bytes(Array(text.utf8), count: n)] {
            let rows = try IntakeDecision.rows(source, file: .organizations)
            for _ in 0..<2 {
                var read: [[String]] = []
                var sizes: [Int] = []
                try await rows.read(4) { batch in
                    sizes.append(batch.count)
                    read += Self.strings(batch)
                }
                #expect(sizes == [RecordRows.batchRows, RecordRows.batchRows, 1])
                #expect(read == expected)
            }
        }
    }

    /// The bytes decided in memory at once stay within the budget; given back, they are free again.
    @Test func theInMemoryBudgetBoundsWhatIsTaken() {
        let budget = ByteBudget(limit: 10)
        #expect(budget.take(6) && !budget.take(5) && budget.take(4) && !budget.take(1))
        budget.give(6)
        #expect(budget.take(5) && !budget.take(2))
    }

    static func strings(_ b: RowBatch) -> [[String]] {
        (0..<b.count).map { r in (0..<b.columns).map { b.string(row: r, column: $0) } }
    }
}
