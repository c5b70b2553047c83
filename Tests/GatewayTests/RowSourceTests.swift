import Foundation
import GatewayStore
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
            try await IntakeDecision.rows(source).read(1, 6) { batch in read += Self.strings(batch) }
            #expect(read == fromFile.map(\.fields))
            // A table of more columns gets "" for those a row lacks; of fewer, the first ones.
            var wider: [[String]] = []
            try await IntakeDecision.rows(source).read(2, 7) { batch in wider += Self.strings(batch) }
            #expect(wider == fromFile.map { $0.fields + [""] })
            var narrower: [[String]] = []
            try await IntakeDecision.rows(source).read(5, 2) { batch in narrower += Self.strings(batch) }
            #expect(narrower == fromFile.map { Array($0.fields.prefix(2)) })
        }
    }

    static func strings(_ b: RowBatch) -> [[String]] {
        (0..<b.count).map { r in (0..<b.columns).map { b.string(row: r, column: $0) } }
    }
}
