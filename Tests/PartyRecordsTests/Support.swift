import Foundation

@testable import PartyRecords

final class Scratch {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "sealgate-records-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func write(_ name: String, _ text: String) -> String {
        let p = "\(path)/\(name)"
        try! FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
        return p
    }
    func writeBytes(_ name: String, _ bytes: [UInt8]) -> String {
        let p = "\(path)/\(name)"
        _ = FileManager.default.createFile(atPath: p, contents: Data(bytes))
        return p
    }
    func read(_ name: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: "\(path)/\(name)") ?? Data()) }
}

let today = CivilDate(year: 2026, month: 11, day: 27)!

/// Key of a finding or a planted defect.
struct Place: Hashable, CustomStringConvertible {
    let unit: String, file: String, line: Int, column: String, rule: String
    var description: String { "\(unit)/\(file):\(line) \(column) \(rule)" }
}

func planted(_ dir: String) throws -> [Place] {
    let r = try CSVReader(path: "\(dir)/planted.csv")
    _ = try r.next()
    var out: [Place] = []
    while try r.next() {
        let f = r.fields.map(\.string)
        out.append(Place(unit: f[0], file: f[1], line: Int(f[2])!, column: f[3], rule: f[4]))
    }
    return out
}

func validateCity(_ dir: String, sink: (any NormalizedSink)? = nil) throws -> RecordValidator {
    let v = RecordValidator(today: today, crossUnit: true)
    for u in try RecordInputs.resolve([dir]) { try v.validateUnit(u.unit, files: u.files, sink: sink) }
    v.sortFindings()
    return v
}

let orgHeader = "org_id,name,type,parent_id\n"
let orgs =
    orgHeader
    + "HCM-U001,Đảng bộ phường Bến Nghé,unit_committee,\nHCM-U001-C001,Chi bộ khu phố 1,cell,HCM-U001\nHCM-U001-G01,Đảng bộ cơ sở Trường A,grassroots_committee,HCM-U001\n"
let memberHeader =
    "member_id,full_name,gender,date_of_birth,citizen_id,date_joined,date_official,status,org_id,phone,email,ethnicity,hometown,education\n"
/// A clean member: a man born 1975-03-07 in Hồ Chí Minh.
let cleanMember =
    "7900000001,Nguyễn Văn An,male,1975-03-07,079075001234,2000-05-19,2001-05-19,official,HCM-U001-C001,0912345678,an@hcm.dcs.vn,Kinh,Hồ Chí Minh,Đại học"

/// Validates one members row (fields replaced by `changes`) in a unit with `orgs`.
func findings(member changes: [String: String] = [:], extraRows: [String] = []) throws -> [Finding] {
    let s = Scratch()
    var fields = cleanMember.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    let cols = RecordFile.members.columns
    for (k, v) in changes { fields[cols.firstIndex(of: k)!] = v }
    let row = fields.map {
        $0.contains(",") || $0.contains("\"") || $0.contains("\n") ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0
    }.joined(separator: ",")
    _ = s.write("HCM-U001/organizations.csv", orgs)
    _ = s.write("HCM-U001/members.csv", memberHeader + row + "\n" + extraRows.map { $0 + "\n" }.joined())
    return try validateCity("\(s.path)/HCM-U001").findings
}

func rules(_ f: [Finding]) -> [String] { f.map(\.rule) }
