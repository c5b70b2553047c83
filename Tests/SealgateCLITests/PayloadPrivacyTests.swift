import Foundation
import GatewayCore
import SealCrypto
import TestSupport
import Testing

/// What a registered unit controls — the headings and cells of its CSV files, the names of its
/// payload's members, its manifest, its trusted comment — never comes back in an answer, a
/// receipt or a line of the gateway's log: places are named by position. And a package with
/// millions of findings is decided (counted exactly, 200 listed) without the gateway falling over.
struct PayloadPrivacyTests {
    func receipt(_ text: String) -> JSON {
        // lint: allow try? — a problem document or an empty answer reads as no receipt
        (try? JSON(parsing: text)) ?? .null
    }
    func receipt(_ r: RawHTTP.Response) -> JSON { receipt(r.text) }
    func code(_ r: RawHTTP.Response) -> String? { receipt(r)["error"]?["code"]?.string ?? receipt(r)["code"]?.string }

    /// Values planted by a unit (holding its real key) in every place it controls.
    static let planted = [
        "Nguyễn Văn Cài", "079201000001", "cai.nguyen@example.vn", "PlantedTranThiBe", "079201000002", "PlantedLeVanCu079201000003",
        "Planted079201000004", "PlantedPham079201000005", "PlantedNgo079201000006",
    ]

    @Test func nothingAUnitWritesComesBackInAnAnswerOrALogLine() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let admin = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: f.w.path).out.trimmingCharacters(
            in: .whitespacesAndNewlines)
        var answers: [String] = []
        func post(_ file: String) throws -> RawHTTP.Response {
            let r = try f.post(gw, file)
            answers.append(r.text + "\n" + r.headers.map { "\($0.key): \($0.value)" }.joined(separator: "\n"))
            return r
        }
        // 1. A members.csv without its header row: the first member's cells are the "headings".
        let headless = f.w.file("headless")
        try FileManager.default.createDirectory(atPath: headless, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.w.file("city/HCM-U001/organizations.csv"), toPath: "\(headless)/organizations.csv")
        let rows = String(decoding: f.w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n").map(String.init)
        var first = rows[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        (first[1], first[4], first[10]) = (Self.planted[0], Self.planted[1], Self.planted[2])
        f.w.write("headless/members.csv", ([first.joined(separator: ",")] + rows[2...]).joined(separator: "\n") + "\n")
        let r1 = try post(try f.seal("HCM-U001", seq: 1, dir: headless))
        #expect(r1.status == 422 && code(r1) == "records_invalid", "\(r1.text)")
        let findings = receipt(r1)["validation"]?["findings"]?.array ?? []
        #expect(findings.contains { $0["rule"]?.string == "file.unknown_column" && $0["column"]?.string == "#2" }, "\(r1.text)")

        // 2–5. Packages assembled by hand (tar, age, minisign) and signed with the unit's real key.
        let recipient = String(decoding: f.w.read("dept/keys/recipient.pub"), as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        let hand = """
            set -e
            R='\(recipient)'
            FP=$(printf %s "$R" | sha256sum | cut -c1-16)
            C=$(date -u +%Y-%m-%dT%H:%M:%SZ)
            cp city/HCM-U001/organizations.csv city/HCM-U001/members.csv .
            H1=$(sha256sum organizations.csv | cut -c1-64); H2=$(sha256sum members.csv | cut -c1-64)
            pack() { # seq id manifest-unit extra-member names-twice comment-tail out
              rm -rf p && mkdir p && cp organizations.csv members.csv p/
              if [ "$5" = twice ]; then
                F="{\\"name\\":\\"$4\\",\\"sha256\\":\\"$H1\\",\\"records\\":1},{\\"name\\":\\"$4\\",\\"sha256\\":\\"$H1\\",\\"records\\":1}"
              else
                F="{\\"name\\":\\"organizations.csv\\",\\"sha256\\":\\"$H1\\",\\"records\\":1},{\\"name\\":\\"members.csv\\",\\"sha256\\":\\"$H2\\",\\"records\\":1}"
              fi
              printf '{"format":"sealgate-payload/1","unit":"%s","package":"%s","seq":%s,"kind":"snapshot","created":"%s","schema":"party-records/1","files":[%s]}' "$3" "$2" "$1" "$C" "$F" > p/manifest.json
              M="manifest.json organizations.csv members.csv"
              if [ "$5" = extra ]; then printf 'x\\n' > "p/$4"; M="$M $4"; fi
              (cd p && tar --format=ustar -cf ../payload.tar $M)
              age -e -r "$R" -o payload.age payload.tar
              rm -f package.minisig
              minisign -S -W -s HCM-U001.key -m payload.age -x package.minisig -t "sealgate/1 unit=HCM-U001 package=$2 seq=$1 kind=snapshot created=$C to=$FP$6"
              tar --format=ustar -cf "$7" package.minisig payload.age
            }
            pack 2 0193a1c2-0000-7000-8000-000000000002 HCM-U001 '\(Self.planted[5]).csv' extra '' extra.sgp
            pack 3 0193a1c2-0000-7000-8000-000000000003 '\(Self.planted[3]) \(Self.planted[4])' - - '' mismatch.sgp
            pack 4 0193a1c2-0000-7000-8000-000000000004 HCM-U001 '\(Self.planted[6]).csv' twice '' twice.sgp
            pack 5 0193a1c2-0000-7000-8000-000000000005 HCM-U001 - - ' \(Self.planted[7])' comment.sgp
            """
        let made = try CLI.sh(hand, cwd: f.w.path)
        try requireOK(made, "assembling the hostile packages")
        for (file, expected) in [
            ("extra.sgp", "payload_malformed"), ("mismatch.sgp", "manifest_mismatch"), ("twice.sgp", "payload_malformed"),
            ("comment.sgp", "comment_malformed"),
        ] {
            let r = try post(f.w.file(file))
            #expect(r.status >= 400 && code(r) == expected, "\(file): \(r.status) \(r.text)")
        }
        // 6. A `files` package (accepted) whose file is named after a member.
        f.w.write("\(Self.planted[8]).txt", "scan\n")
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--kind", "files", "--unit", "HCM-U001", "--seq", "6", "--signing-key", "HCM-U001.key", "--to",
                    "dept/keys/recipient.pub", "-o", "files.sgp", "\(Self.planted[8]).txt",
                ], cwd: f.w.path))
        let accepted = try post(f.w.file("files.sgp"))
        #expect(accepted.status == 201 && receipt(accepted)["records"]?["files"]?.array?.first?["name"]?.string == "file 1", "\(accepted.text)")
        // The full receipts, as an admin reads them.
        for answer in answers {
            guard let id = receipt(String(answer.prefix { $0 != "\n" }))["package"]?.string else { continue }
            let r = try RawHTTP.request("GET", gw.url + "/v1/packages/\(id)", headers: ["Authorization": "Bearer \(admin)"])
            answers.append(r.text)
        }
        #expect(answers.count >= 6)
        let all = answers.joined(separator: "\n") + "\n" + gw.logText
        for value in Self.planted {
            #expect(!all.contains(value), "\(value) came back: \(all.components(separatedBy: "\n").filter { $0.contains(value) }.prefix(3))")
        }
        #expect(try RawHTTP.request("GET", gw.url + "/healthz").status == 200)
    }

    /// A million findings (one bad row each) and a line of 2 MiB of commas: counted exactly,
    /// 200 listed, the gateway alive and deciding the next package.
    @Test func millionsOfFindingsAreCountedAndTheGatewayLives() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let flood = f.w.file("flood")
        try FileManager.default.createDirectory(atPath: flood, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.w.file("city/HCM-U001/organizations.csv"), toPath: "\(flood)/organizations.csv")
        let header = String(decoding: f.w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n")[0]
        let bad = 1_000_000
        var members = [UInt8](header.utf8) + [0x0A]
        members.reserveCapacity(members.count + 2 * bad)
        for _ in 0..<bad { members += [0x78, 0x0A] }  // "x": one field where the header has many
        f.w.write("flood/members.csv", bytes: members)
        let r = try f.post(gw, try f.seal("HCM-U001", seq: 1, dir: flood))
        #expect(r.status == 422 && code(r) == "records_invalid", "\(r.status) \(r.text.prefix(300))")
        let v = receipt(r)["validation"]
        #expect(v?["errors"]?.int == Int64(bad) && v?["rules"]?["row.field_count"]?.int == Int64(bad), "\(r.text.prefix(400))")
        #expect((v?["findings"]?.array ?? []).count == 200 && v?["findings_total"]?.int == Int64(bad))

        // One line of 2 MiB of commas as the header: one syntax finding, not two million.
        f.w.write("flood/members.csv", bytes: [UInt8](repeating: 0x2C, count: 2 << 20) + [0x0A])
        let commas = try f.post(gw, try f.seal("HCM-U001", seq: 2, dir: flood))
        #expect(commas.status == 422 && code(commas) == "records_invalid", "\(commas.text.prefix(300))")
        let cv = receipt(commas)["validation"]
        #expect(cv?["errors"]?.int == 1 && cv?["rules"]?["file.csv_syntax"]?.int == 1, "\(commas.text.prefix(400))")

        // Alive, and the unit's genuine package is decided.
        let good = try f.post(gw, try f.seal("HCM-U001", seq: 3))
        #expect(good.status == 201, "\(good.text.prefix(300))")
    }
}
