import Foundation
import GatewayCore
import PartyRecords
import SealBase
import SealCrypto
import SealPackage
import Testing
import UnitWork

@testable import Desk

@Suite struct DeskTextTests {
    @Test func bothCataloguesHaveEveryKey() {
        for k in DeskKey.allCases {
            #expect(DeskText.vi[k] != nil, "vi lacks \(k.rawValue)")
            #expect(DeskText.en[k] != nil, "en lacks \(k.rawValue)")
        }
        #expect(DeskText.vi.count == DeskKey.allCases.count)
        #expect(DeskText.en.count == DeskKey.allCases.count)
        // A word left in the other language: the Vietnamese table differs from the English one
        // except where the text is the same in both (the command, a technical heading).
        let same = DeskKey.allCases.filter { DeskText.vi[$0] == DeskText.en[$0] }
        #expect(Set(same) == [.setupCommand], "\(same)")
    }

    /// Every page, rendered in each language, shows only that language's words, the rules' and
    /// codes' texts, and the values it was given: no bare human string in a page builder.
    @Test(arguments: Language.allCases) func pagesHoldNoBareWords(lang: Language) throws {
        var profile = UnitProfile(unit: "HCM-U001", gateway: "https://gw.example", root: "root.pub", signingKey: "u.key")
        var entry = UnitProfile.HistoryEntry(
            seq: 7, kind: "snapshot", package: "packages/p.sgp", packageId: "01a2-pkg", sealedAt: Timestamp("2026-03-01T08:00:00Z")!)
        entry.organizations = 4
        entry.members = 80
        profile.history = [entry]
        var sent = entry
        sent.status = "accepted"
        sent.packageId = "01a2-sent"
        profile.history.append(sent)
        let finding = Finding(
            unit: "HCM-U001", file: "members.csv", line: 4, column: "citizen_id", rule: "citizen_id.legacy_cmnd", original: "023456789",
            normalized: "")
        let report = Findings(rows: [finding], errors: 1, warnings: 0, organizations: 4, members: 80, corrections: 0, dropped: 0)
        let clean = Findings(rows: [], errors: 0, warnings: 0, organizations: 4, members: 80, corrections: 0, dropped: 0)
        let problem = SealError(.keyWrongPassphrase, "wrong passphrase", remedy: "type it again")
        let c = HTML.Chrome(lang: lang, csrf: "tok", base: "/s/SECRET", unit: "HCM-U001", path: "/", refresh: nil)
        var job = Job(id: "j1", kind: .send)
        job.stage = .stageSeal
        job.total = 10
        let receipt = try JSON(parsing: #"{"status":"accepted","unit":"HCM-U001","seq":7,"package":"01a2-sent","decided_at":"2026-03-01T08:00:01Z"}"#)
        let pages = [
            Pages.setup(c, folder: "/home/clerk/unit", problem: problem),
            Pages.home(c, profile: profile, batch: Batch(id: "b", dir: "/x", files: [], report: report), problem: problem),
            Pages.findings(c, batch: Batch(id: "b", dir: "/x", files: [], kind: .snapshot, report: report), problem: problem),
            Pages.findings(c, batch: Batch(id: "b", dir: "/x", files: [], kind: .snapshot, report: clean), problem: nil),
            Pages.findings(c, batch: Batch(id: "b", dir: "/x", files: [], failure: problem), problem: nil),
            Pages.findings(c, batch: nil, problem: nil),
            Pages.job(c, job),
            Pages.package(c, Pages.ReceiptView(entry: entry, unit: "HCM-U001"), problem: problem),
            Pages.package(
                c, Pages.ReceiptView(entry: sent, unit: "HCM-U001", receipt: receipt, signatureChecked: true, logChecked: false), problem: nil),
            Pages.history(c, profile: profile),
            Pages.history(c, profile: UnitProfile(unit: "HCM-U001", gateway: "g", root: "r", signingKey: "k")),
            Pages.correction(c, draft: [["012345678901", "phone", "", "0912345678", "đổi số", "2026-03-01T08:00:00Z"]], problem: problem),
            Pages.notFound(c),
        ]
        // What a page may show besides markup: its language's words, the rules' and codes' texts,
        // and the values given above.
        var known = DeskKey.allCases.map { DeskText.table(lang)[$0] }
        known += Rules.all.flatMap { [$0.message(lang), $0.example] + ($0.normalizedExample.map { [$0] } ?? []) }
        known += [problem.code.text(lang).message, problem.code.text(lang).remedy, problem.message, problem.remedy, problem.code.rawValue]
        known += ["HCM-U001", "https://gw.example", "/home/clerk/unit", "members.csv", "citizen_id", "citizen_id.legacy_cmnd", "023456789"]
        known += ["01a2-pkg", "01a2-sent", "snapshot", "2026-03-01T08:00:00Z", "2026-03-01T08:00:01Z", "accepted", "đổi số", "phone"]
        known += Pages.correctableFields
        for html in pages {
            // Every link, form and asset is under the launch's prefix (the path secret).
            for m in html.matches(of: /(?:href|action|src)="([^"]*)"/) {
                #expect(m.1.hasPrefix("/s/SECRET/"), "a path without the launch's prefix: \(m.1)")
            }
            var text = html.replacing(/<[^>]*>/, with: " ")
            for k in known.filter({ !$0.isEmpty }).sorted(by: { $0.count > $1.count }) {
                text = text.replacingOccurrences(of: HTML.esc(k), with: " ")
            }
            text = text.replacing(/&[a-z#0-9]+;/, with: " ")
            let left = text.unicodeScalars.filter { $0.properties.isAlphabetic }
            #expect(
                left.isEmpty, "a word no catalogue holds: \(text.split(whereSeparator: { $0.isWhitespace }).filter { $0.contains { $0.isLetter } })")
        }
    }

    @Test func escapingLeavesNoMarkup() {
        #expect(HTML.esc(#"<script>alert("x")</script>&'"#) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;")
        let page = Pages.findings(
            HTML.Chrome(lang: .vi, csrf: "t", base: "/s/SECRET", unit: "U", path: "/", refresh: nil),
            batch: Batch(
                id: "b", dir: "/x", files: [], kind: .snapshot,
                report: Findings(
                    rows: [
                        Finding(
                            unit: "U", file: "members.csv", line: 2, column: "full_name", rule: "full_name.required",
                            original: "<img src=x onerror=alert(1)>", normalized: "")
                    ], errors: 1, warnings: 0, organizations: 1, members: 1, corrections: 0, dropped: 0)), problem: nil)
        #expect(!page.contains("<img"))
        #expect(page.contains("&lt;img src=x onerror=alert(1)&gt;"))
    }

    @Test func csvCellsExcelWouldRunAreText() {
        #expect(DeskRoutes.cellSafe("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")")
        #expect(DeskRoutes.cellSafe("+84912") == "'+84912")
        #expect(DeskRoutes.cellSafe("Nguyễn Văn An") == "Nguyễn Văn An")
    }
}
