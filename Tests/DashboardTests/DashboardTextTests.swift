import Foundation
import Mustache
import SealBase
import Testing

@testable import Dashboard

@Suite struct DashboardTextTests {
    @Test func bothCataloguesHaveTheSameKeys() {
        #expect(Set(DashboardText.vi.keys) == Set(DashboardText.en.keys))
        #expect(DashboardText.vi.count > 100)
        // A word left in the other language: only the dash (no value) is the same in both.
        let same = DashboardText.vi.keys.filter { DashboardText.vi[$0] == DashboardText.en[$0] }
        #expect(Set(same) == ["none"], "\(same.sorted())")
    }

    /// Every template parses, names only keys both catalogues hold, and holds no bare word:
    /// outside `{{…}}` and the tags there is punctuation only, and an attribute a person reads
    /// (title, alt, placeholder, aria-label) is a `{{…}}` too.
    @Test(arguments: Templates.all.keys.sorted()) func templatesHoldNoBareWords(name: String) throws {
        let text = try #require(Templates.all[name])
        _ = try MustacheTemplate(string: text)
        for m in text.matches(of: /\{\{t\.([a-z0-9_]+)\}\}/) {
            #expect(DashboardText.vi[String(m.1)] != nil, "\(name): {{t.\(m.1)}} is in no catalogue")
        }
        let noTags = text.replacing(/\{\{\{?[^}]*\}?\}\}/, with: "")
        let tags = noTags.matches(of: /<[^>]*>/).map { String($0.0) }
        let between = noTags.replacing(/<[^>]*>/, with: " ")
        let words = between.split(whereSeparator: { !$0.isLetter })
        #expect(words.isEmpty, "\(name) holds bare words: \(words.prefix(10))")
        for tag in tags {
            for m in tag.matches(of: /(title|alt|placeholder|aria-label)="([^"]*)"/) {
                #expect(m.2.isEmpty, "\(name): \(m.1)=\"\(m.2)\" is not from the catalogue")
            }
        }
    }

    /// The templates' {{t.…}} keys and the code's words together use every catalogue key (no
    /// dead entry); the sources name keys as "key" or "state_…"/"delivery_…"/"sort_…".
    @Test func everyKeyIsUsed() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let pages = try ["Pages.swift", "Dashboard.swift"].map {
            try String(contentsOf: root.appendingPathComponent("Sources/Dashboard/\($0)"), encoding: .utf8)
        }.joined()
        let used = Set(Templates.all.values.flatMap { $0.matches(of: /\{\{t\.([a-z0-9_]+)\}\}/).map { String($0.1) } })
        for key in DashboardText.vi.keys where !used.contains(key) {
            let prefixed = ["state_", "delivery_", "sort_"].contains { key.hasPrefix($0) }
            #expect(pages.contains("\"\(key)\"") || prefixed, "\(key) is used nowhere")
        }
    }
}
