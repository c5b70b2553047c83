import Foundation
import PartyRecords
import Testing

@testable import GatewayCore

/// The synthesis finds the ids in more than one unit as it writes the rows (`CrossUnitIds`), then
/// takes those rows out of members.csv (`Synthesis.withhold`).
struct CrossUnitIdsTests {
    /// Units as (citizen id, member id) rows, fed unit after unit (a row's place: its number); the
    /// rows held with what marked them, and how many ids of each kind are in more than one unit.
    func find(_ units: [[(String, String)]]) -> (held: [Int], marks: [String], citizens: Int, members: Int) {
        var ids = CrossUnitIds(expected: 4)
        var row = 0
        for unit in units {
            ids.startUnit(at: row)
            for (cid, mid) in unit {
                let c = Array(cid.utf8)
                let m = Array(mid.utf8)
                c.withUnsafeBytes { cb in m.withUnsafeBytes { mb in ids.add(citizen: cb, member: mb, at: row) } }
                row += 1
            }
        }
        let found = ids.finish()
        let held = found.heldRows
        return (held.map(\.offset), held.map { ($0.citizen ? "c" : "") + ($0.member ? "m" : "") }, found.citizenCount, found.memberCount)
    }

    /// The keys' sort: ascending, each key's values in the order they came (the rows of an id in
    /// file order), whatever the keys' size — small ones, 64-bit ones, many equal.
    @Test func theRadixSortIsAStableSortByKey() {
        var rng = SplitMix64(seed: 25)  // seeded: a failure is seen again
        for range in [UInt64(0)...UInt64(7), 0...UInt64(1) << 44, 0...UInt64.max] {
            let keys = (0..<5_000).map { _ in UInt64.random(in: range, using: &rng) }
            var sortedKeys = keys
            var values = Array(keys.indices)
            radixSort(&sortedKeys, carrying: &values)
            let expected = keys.indices.sorted { (keys[$0], $0) < (keys[$1], $1) }
            #expect(values == expected, "keys in \(range)")
            #expect(sortedKeys == expected.map { keys[$0] })
        }
        var one: [UInt64] = [5]
        var oneValue = [9]
        radixSort(&one, carrying: &oneValue)
        #expect(one == [5] && oneValue == [9])
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
        #expect(r.marks == ["c", "m", "c", "m", "c", "c", "c"] && r.citizens == 2 && r.members == 1, "\(r)")
    }

    /// An id twice in one unit (a correction can give a member another's card number): every row
    /// of it is held once the id is also another unit's, and none while it is not.
    @Test func anIdTwiceInAUnitIsHeldWhole() {
        let before = find([[("001", "X"), ("002", "X"), ("003", "A3")], [("004", "X")]])
        #expect(before.held == [0, 1, 3] && before.marks == ["m", "m", "m"], "\(before)")
        let after = find([[("001", "X")], [("002", "B1"), ("003", "X"), ("004", "X")], [("005", "X")]])
        #expect(after.held == [0, 2, 3, 4] && after.members == 1, "\(after)")
        let alone = find([[("001", "X"), ("002", "X")], [("003", "B1")]])
        #expect(alone.held.isEmpty && alone.members == 0, "\(alone)")
    }

    /// The packed keys keep every id apart (leading zeros, lengths, positions), and an id of
    /// another shape is still found in a second unit.
    @Test func packedKeysAreExact() {
        let apart = find([
            [("001", "A"), ("0010", "A0")], [("01", "0A"), ("1", "AA")], [("100", "A.0"), ("000000000000000001", "A-0")],
            [("0000000000000000001", "A00000000000000000000")],  // 19 digits, 21 characters: kept as they are
            [("002", "A000000000B1"), ("003", "Z9-Z9-Z9-Z9-Z9-Z9-Z9")], [("004", "A0000000001B"), ("005", "Z9-Z9-Z9-Z9-Z9-Z9-Z.")],
        ])
        #expect(apart.held.isEmpty && apart.citizens == 0 && apart.members == 0, "\(apart)")
        let found = find([
            [("079099000001", "ab/1"), ("x12", "Z9")], [("079099000002", "ab/1")], [("x12", "Z9.")],
            [("0000000000000000001", "A00000000000000000000")], [("079099000001", "A00000000000000000000")],
        ])
        #expect(found.held == [0, 1, 2, 3, 4, 5] && found.marks == ["cm", "c", "m", "c", "m", "cm"], "\(found)")
        // Ids of another shape in the merge's order with others between them: found all the same.
        let between = find([[("y1", "ab/1")], [("y2", "cd/2")], [("y1", "ab/1")]])
        #expect(between.held == [0, 2] && between.marks == ["cm", "cm"] && between.citizens == 1 && between.members == 1, "\(between)")
        #expect(found.citizens == 2 && found.members == 2)
    }

    @Test func nothingIsHeldWhenEveryIdIsOneUnits() {
        let r = find([[("001", "A1"), ("002", "A2")], [("003", "B1")], [], [("004", "D1")]])
        #expect(r.held.isEmpty && r.citizens == 0 && r.members == 0)
    }

    /// The records kept stay byte for byte (quoted fields, a line break inside one); each held one
    /// — of any length — is listed once per id marked, and counted for its unit.
    @Test func withholdRewritesTheFileWithoutTheHeldRows() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("withhold-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let header = Synthesis.memberHeader.joined(separator: ",")
        func row(_ unit: String, _ mid: String, _ name: String, _ cid: String, org: String = "O1") -> String {
            [unit, mid, name, "nam", "1980-01-01", cid, "2000-01-01", "", "chinh_thuc", org, "", "", "Kinh", "HCM", "dai_hoc"]
                .joined(separator: ",")
        }
        let long = String(repeating: "Nguyễn \"Văn\"\nA, ", count: 8_000)  // ~150 KB, over the reader's 64 KiB
        let rows = [
            row("U1", "M1", "\"Nguyễn, Văn A\"", "001"),  // 0: held (citizen 001)
            row("U1", "M2", "\"Trần \"\"Bé\"\"\nở đâu\"", "002"),  // 1: kept, quoted, a line break inside
            row("U2", "M3", "\"" + long.replacingOccurrences(of: "\"", with: "\"\"") + "\"", "001", org: "O9"),  // 2: held (citizen)
            row("U2", "M2", "Phạm D", "003"),  // 3: held (member M2 is also U1's)
            row("U3", "M5", "Võ E", "005"),  // 4: kept
        ]
        let path = "\(dir)/members.csv"
        let lines = ([header] + rows).map { $0 + "\n" }
        try lines.joined().write(toFile: path, atomically: true, encoding: .utf8)
        let starts = lines.indices.map { i in lines[..<i].reduce(0) { $0 + $1.utf8.count } }  // of the header, then rows 0–4
        let held = [
            CrossUnitIds.Held(offset: starts[1], citizen: true, member: false), CrossUnitIds.Held(offset: starts[3], citizen: true, member: false),
            CrossUnitIds.Held(offset: starts[4], citizen: false, member: true),
        ]
        let (conflicts, byUnit) = try Synthesis.withhold(held, from: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == [header, rows[1], rows[4]].map { $0 + "\n" }.joined())
        #expect(
            conflicts == [
                ["citizen_id", "001", "U1", "M1", "001", "Nguyễn, Văn A", "O1"], ["citizen_id", "001", "U2", "M3", "001", long, "O9"],
                ["member_id", "M2", "U2", "M2", "003", "Phạm D", "O1"],
            ])
        #expect(byUnit == ["U1": 1, "U2": 2])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["members.csv"], "the rewrite's file in clear was left behind")
    }
}
