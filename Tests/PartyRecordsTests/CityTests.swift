import Foundation
import Testing

@testable import PartyRecords

/// The generator and the validator held to each other: the validator reports exactly the
/// defects the generator planted — each with its rule code, nothing else.
struct CityTests {
    @Test(arguments: [(0.0, 12, 24_000, UInt64(11)), (0.001, 12, 30_000, UInt64(12)), (0.05, 8, 12_000, UInt64(13))])
    func validatorFindsExactlyThePlantedDefects(dirt: Double, units: Int, members: Int, seed: UInt64) throws {
        let s = Scratch()
        let summary = try CityGenerator(.init(units: units, members: members, seed: seed, dirt: dirt)).generate(into: s.path)
        #expect(summary.members == members && summary.units == units)
        let plantedPlaces = try planted(s.path)
        #expect(plantedPlaces.count == summary.planted.count)
        if dirt == 0 { #expect(plantedPlaces.isEmpty) } else { #expect(plantedPlaces.count > Int(Double(members) * dirt * 0.5)) }
        let v = try validateCity(s.path)
        let found = v.findings.map { Place(unit: $0.unit, file: $0.file, line: $0.line, column: $0.column, rule: $0.rule) }
        #expect(found.count == Set(found).count, "a finding reported twice")
        let missed = Set(plantedPlaces).subtracting(found)
        let extra = Set(found).subtracting(plantedPlaces)
        #expect(missed.isEmpty, "missed: \(missed.sorted { $0.description < $1.description }.prefix(10))")
        #expect(extra.isEmpty, "extra: \(extra.sorted { $0.description < $1.description }.prefix(10))")
        #expect(v.units.reduce(0) { $0 + $1.members } == members)
        if dirt >= 0.05 {
            // Every kind of dirt appears at 5%.
            let kinds = Set(plantedPlaces.map(\.rule))
            #expect(
                kinds == [
                    "full_name.nfc", "full_name.case", "full_name.spaces", "date_of_birth.format", "phone.format", "citizen_id.legacy_cmnd",
                    "citizen_id.century_digit", "date_joined.under_18", "member_org.unknown", "citizen_id.cross_unit", "member_id.cross_unit",
                ])
        }
    }

    @Test func sameSeedSameBytesOtherSeedOtherBytes() throws {
        let a = Scratch()
        let b = Scratch()
        let c = Scratch()
        for (dir, seed) in [(a, UInt64(5)), (b, 5), (c, 6)] {
            _ = try CityGenerator(.init(units: 4, members: 3_000, seed: seed, dirt: 0.02)).generate(into: dir.path)
        }
        for f in ["units.csv", "planted.csv", "HCM-U001/members.csv", "HCM-U004/organizations.csv", "HCM-U003/members.csv"] {
            #expect(a.read(f) == b.read(f), "\(f) differs for the same seed")
            #expect(!a.read(f).isEmpty)
        }
        #expect(a.read("HCM-U001/members.csv") != c.read("HCM-U001/members.csv"))
    }

    /// normalize is idempotent, and validate(normalize(x)) has no normalizable findings left:
    /// only the errors remain, the same ones.
    @Test func normalizeIsIdempotentAndLeavesOnlyErrors() throws {
        let s = Scratch()
        let n1 = Scratch()
        let n2 = Scratch()
        _ = try CityGenerator(.init(units: 4, members: 6_000, seed: 21, dirt: 0.08)).generate(into: s.path)
        let v0 = try validateCity(s.path, sink: try DirectorySink(root: n1.path, perUnit: true))
        let v1 = try validateCity(n1.path, sink: try DirectorySink(root: n2.path, perUnit: true))
        #expect(v0.findings.contains { $0.severity == .warning })
        #expect(
            !v1.findings.contains { $0.severity == .warning },
            "normalizable findings left: \(v1.findings.filter { $0.severity == .warning }.prefix(5))")
        let errors0 = v0.findings.filter { $0.severity == .error }.map {
            Place(unit: $0.unit, file: $0.file, line: $0.line, column: $0.column, rule: $0.rule)
        }
        let errors1 = v1.findings.map { Place(unit: $0.unit, file: $0.file, line: $0.line, column: $0.column, rule: $0.rule) }
        #expect(Set(errors0) == Set(errors1))
        for u in ["HCM-U001", "HCM-U002", "HCM-U003", "HCM-U004"] {
            for f in ["members.csv", "organizations.csv"] {
                #expect(n1.read("\(u)/\(f)") == n2.read("\(u)/\(f)"), "\(u)/\(f) changed when normalized twice")
            }
        }
    }

    /// Property: for random messy values, every field check is idempotent — checking the
    /// normalized value again changes nothing and reports nothing normalizable.
    @Test func fieldChecksAreIdempotentOnRandomInput() {
        var rng = SplitMix64(seed: 99)
        let pieces = [
            "Nguyễn", "NGUYỄN", "văn", Decompose.nfd("Thị"), "  ", " ", "\t", "Ánh", "an", "đức", "Lê", "ƯƠNG", "1", "-", ".",
            "+84", "0912", "345", "678", "/", "07", "1975", "Nam", "Nữ", "chính thức", "DỰ BỊ", "@", "gmail.com", "hcm-u001",
        ]
        let columns = ["full_name", "gender", "date_of_birth", "citizen_id", "status", "org_id", "phone", "email", "hometown", "member_id"]
        for _ in 0..<4_000 {
            let value = (0..<(1 + rng.below(5))).map { _ in rng.pick(pieces) }.joined()
            let column = rng.pick(columns)
            let first = FieldChecks.single(column: column, value)
            guard !first.isError else { continue }
            let normalized = first.value ?? value
            let second = FieldChecks.single(column: column, normalized)
            #expect(second.rules.isEmpty && second.value == nil, "\(column): '\(value)' → '\(normalized)' → \(second.rules)")
        }
    }
}
