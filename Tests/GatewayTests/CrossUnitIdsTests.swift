import Foundation
import Testing

@testable import GatewayCore

/// The synthesis finds the ids in more than one unit as it writes the rows (`CrossUnitIds`), then
/// takes those rows out of members.csv (`Synthesis.withhold`).
struct CrossUnitIdsTests {
    /// Units as (citizen id, member id) rows, fed unit after unit; the rows held, the values found.
    func find(_ units: [[(String, String)]]) -> (held: [Int], citizens: Set<String>, members: Set<String>) {
        var ids = CrossUnitIds(expected: 4)
        var row = 0
        for unit in units {
            ids.startUnit(at: row)
            for (cid, mid) in unit {
                let c = Array(cid.utf8)
                let m = Array(mid.utf8)
                c.withUnsafeBytes { cb in m.withUnsafeBytes { mb in ids.add(citizen: cb, member: mb, row: row) } }
                row += 1
            }
        }
        return (ids.heldRows, ids.citizenIds, ids.memberIds)
    }

    @Test func everyRowOfAValueInMoreThanOneUnitIsHeldOnce() {
        let r = find([
            [("001", "A1"), ("002", "A2"), ("003", "A3")],  // rows 0–2
            [("004", "B1"), ("001", "B2")],  // rows 3–4: 001 again
            [("005", "A2"), ("001", "C2"), ("006", "C3")],  // rows 5–7: 001 a third time, member A2 again
            [("104-long-citizen-identifier-over-15-bytes", "D1")],  // row 8
            [("104-long-citizen-identifier-over-15-bytes", "E1"), ("007", "E2")],  // rows 9–10
        ])
        #expect(r.held == [0, 1, 4, 5, 6, 8, 9], "\(r.held)")
        #expect(r.citizens == ["001", "104-long-citizen-identifier-over-15-bytes"] && r.members == ["A2"])
    }

    /// The packed keys keep every id apart (leading zeros, lengths, positions), and an id of
    /// another shape is still found in a second unit.
    @Test func packedKeysAreExact() {
        let apart = find([
            [("001", "A"), ("0010", "A0")], [("01", "0A"), ("1", "AA")], [("100", "A.0"), ("000000000000000001", "A-0")],
            [("0000000000000000001", "A00000000000000000000")],  // 19 digits, 21 characters: kept as they are
            [("002", "A000000000B1"), ("003", "Z9-Z9-Z9-Z9-Z9-Z9-Z9")], [("004", "A0000000001B"), ("005", "Z9-Z9-Z9-Z9-Z9-Z9-Z.")],
        ])
        #expect(apart.held.isEmpty && apart.citizens.isEmpty && apart.members.isEmpty, "\(apart)")
        let found = find([
            [("079099000001", "ab/1"), ("x12", "Z9")], [("079099000002", "ab/1")], [("x12", "Z9.")],
            [("0000000000000000001", "A00000000000000000000")], [("079099000001", "A00000000000000000000")],
        ])
        #expect(found.held == [0, 1, 2, 3, 4, 5], "\(found.held)")
        #expect(found.citizens == ["x12", "079099000001"] && found.members == ["ab/1", "A00000000000000000000"])
    }

    @Test func nothingIsHeldWhenEveryIdIsOneUnits() {
        let r = find([[("001", "A1"), ("002", "A2")], [("003", "B1")], [], [("004", "D1")]])
        #expect(r.held.isEmpty && r.citizens.isEmpty && r.members.isEmpty)
    }

    /// The rows kept stay byte for byte (quoted fields included); each held row is listed once a
    /// value of it is another unit's, and counted for its unit.
    @Test func withholdRewritesTheFileWithoutTheHeldRows() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("withhold-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let header = Synthesis.memberHeader.joined(separator: ",")
        func row(_ unit: String, _ mid: String, _ name: String, _ cid: String, org: String = "O1") -> String {
            [unit, mid, name, "nam", "1980-01-01", cid, "2000-01-01", "", "chinh_thuc", org, "", "", "Kinh", "HCM", "dai_hoc"]
                .joined(separator: ",")
        }
        let rows = [
            row("U1", "M1", "\"Nguyễn, Văn A\"", "001"),  // 0: held (citizen 001)
            row("U1", "M2", "\"Trần \"\"Bé\"\"\"", "002"),  // 1: kept, quoted
            row("U2", "M3", "Lê C", "001", org: "O9"),  // 2: held (citizen 001)
            row("U2", "M2", "Phạm D", "003"),  // 3: held (member M2 is also U1's)
            row("U3", "M5", "Võ E", "005"),  // 4: kept
        ]
        let path = "\(dir)/members.csv"
        try ([header] + rows).map { $0 + "\n" }.joined().write(toFile: path, atomically: true, encoding: .utf8)
        let (conflicts, byUnit) = try Synthesis.withhold(rows: [0, 2, 3], from: path, citizenIds: ["001"], memberIds: ["M2"])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == [header, rows[1], rows[4]].map { $0 + "\n" }.joined())
        #expect(
            conflicts == [
                ["citizen_id", "001", "U1", "M1", "001", "Nguyễn, Văn A", "O1"], ["citizen_id", "001", "U2", "M3", "001", "Lê C", "O9"],
                ["member_id", "M2", "U2", "M2", "003", "Phạm D", "O1"],
            ], "\(conflicts)")
        #expect(byUnit == ["U1": 1, "U2": 2])
        #expect(!FileManager.default.fileExists(atPath: "\(path).kept"), "the rewrite's file in clear was left behind")
    }
}
