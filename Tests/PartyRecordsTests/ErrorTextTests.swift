import Foundation
import PartyRecords
import Testing

/// Every error code speaks both languages, each in its own (#23 item 4): the catalogues of
/// SealBase (ErrorTextEN.swift, ErrorTextVI.swift) against `SealErrorCode.catalogue`, and the
/// record rules' texts held to the same checks.
struct ErrorTextTests {
    /// The letters only Vietnamese writes (a base letter with its diacritics, and đ).
    static let vietnameseLetters = Set(
        "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ")
    /// Common English words that have no place in a Vietnamese sentence (none is a Vietnamese word
    /// without its diacritics, as "an", "do", "in" or "to" would be).
    static let englishWords: Set<String> = [
        "the", "and", "is", "are", "not", "was", "were", "please", "check", "file", "files", "with", "from", "this", "that",
        "your", "you", "must", "cannot", "again", "should", "which", "error", "failed", "package", "key", "try", "send", "what",
        "when", "has", "have", "been", "there", "data", "seal", "records",
    ]

    static func hasVietnamese(_ s: String) -> Bool { s.lowercased().contains { vietnameseLetters.contains($0) } }
    static func englishWordsIn(_ s: String) -> [String] {
        s.lowercased().split { !$0.isLetter }.map(String.init).filter { englishWords.contains($0) }
    }

    /// A Vietnamese text: at least one Vietnamese letter, none of the English words. The words
    /// of commands written in it (`sealgate seal`, `sealgate trust fetch`) are not sentences:
    /// taken out before the check.
    static func vietnameseProblems(_ s: String, what: String) -> [String] {
        var problems: [String] = []
        if !hasVietnamese(s) { problems.append("\(what): no Vietnamese letter: \(s)") }
        let prose = s.replacingOccurrences(of: #"sealgate( [a-z-]+)+"#, with: "", options: .regularExpression)
        let words = englishWordsIn(prose)
        if !words.isEmpty { problems.append("\(what): English words \(words): \(s)") }
        return problems
    }

    @Test func everyCodeHasBothTextsAndNoOther() {
        let codes = Set(SealErrorCode.catalogue)
        for lang in Language.allCases {
            let texts = ErrorText.catalogue(lang)
            let missing = SealErrorCode.catalogue.filter { texts[$0] == nil }.map(\.rawValue)
            let unknown = texts.keys.filter { !codes.contains($0) }.map(\.rawValue).sorted()
            #expect(missing.isEmpty, "\(lang): no text for \(missing)")
            #expect(unknown.isEmpty, "\(lang): a text for codes not in the catalogue: \(unknown)")
            for (code, t) in texts {
                #expect(!t.message.isEmpty && !t.remedy.isEmpty, "\(lang) \(code): an empty text")
                #expect(t.message != t.remedy, "\(lang) \(code): the remedy repeats the message")
            }
        }
    }

    @Test func vietnameseTextsAreVietnamese() {
        var problems: [String] = []
        for (code, t) in ErrorText.catalogue(.vi) {
            problems += Self.vietnameseProblems(t.message, what: "\(code) message")
            problems += Self.vietnameseProblems(t.remedy, what: "\(code) remedy")
        }
        for r in Rules.all { problems += Self.vietnameseProblems(r.vi, what: "rule \(r.code)") }
        #expect(problems.isEmpty, "\(problems.sorted().joined(separator: "\n"))")
    }

    @Test func englishTextsHoldNoVietnamese() {
        var problems: [String] = []
        for (code, t) in ErrorText.catalogue(.en) where Self.hasVietnamese(t.message + t.remedy) {
            problems.append("\(code): \(t.message) / \(t.remedy)")
        }
        // A rule's English text may name, in parentheses, the values it accepts as a file writes
        // them ("Nam, Nữ, M, F accepted"): data, not words of the sentence.
        for r in Rules.all where Self.hasVietnamese(r.en.replacingOccurrences(of: #"\([^)]*\)"#, with: "", options: .regularExpression)) {
            problems.append("rule \(r.code): \(r.en)")
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    /// The checks themselves: an English sentence is caught in the Vietnamese catalogue's place,
    /// a Vietnamese one in the English's.
    @Test func theChecksCatchTheOtherLanguage() {
        #expect(!Self.vietnameseProblems("Check the file and send it again.", what: "x").isEmpty)
        #expect(!Self.vietnameseProblems("Kiểm tra file và gửi lại.", what: "x").isEmpty)
        #expect(Self.vietnameseProblems("Kiểm tra tệp rồi gửi lại (sealgate trust fetch).", what: "x").isEmpty)
        #expect(Self.hasVietnamese("Đảng viên") && !Self.hasVietnamese("The key file is damaged."))
    }

    @Test func aCodeOutsideTheCataloguesGetsAGeneralText() {
        let t = SealErrorCode("http_418").text(.vi)
        #expect(t.message.contains("http_418") && Self.hasVietnamese(t.message))
        #expect(SealErrorCode.seqConflict.text(.en).message.contains("sequence number"))
    }

    @Test func theLocaleNamesTheLanguage() {
        #expect(Language.fromLocale(["LANG": "vi_VN.UTF-8"]) == .vi)
        #expect(Language.fromLocale(["LANG": "en_US.UTF-8"]) == .en)
        #expect(Language.fromLocale(["LANG": "C.UTF-8"]) == nil)
        #expect(Language.fromLocale([:]) == nil)
        // LC_ALL before LC_MESSAGES before LANG; an empty one does not count.
        #expect(Language.fromLocale(["LC_ALL": "en_GB.UTF-8", "LANG": "vi_VN.UTF-8"]) == .en)
        #expect(Language.fromLocale(["LC_ALL": "", "LC_MESSAGES": "vi_VN", "LANG": "en_US.UTF-8"]) == .vi)
        #expect(Language.fromLocale(["LC_ALL": "C", "LANG": "vi_VN.UTF-8"]) == nil)
        #expect(Language.fromLocale(["LANG": "video"]) == nil)
    }

    @Test func acceptLanguageIsNegotiated() {
        let cases: [(String?, Language)] = [
            (nil, .en), ("", .en), ("vi", .vi), ("vi-VN", .vi), ("VI", .vi), ("en", .en), ("fr", .en),
            ("vi, en;q=0.8", .vi), ("en, vi;q=0.8", .en), ("en;q=0.5, vi;q=0.9", .vi), ("vi;q=0", .en),
            ("fr, vi;q=0.3", .vi), ("*", .en), ("*;q=0.5, vi", .vi), ("vi;q=0, *", .en), ("vi;q=abc", .en),
            ("vi;q=1.5", .en), ("vietnam", .en), ("en;q=0.8, vi;q=0.8", .en), ("vi;q=0.8, en;q=0.8", .vi),
            ("da, en-gb;q=0.8, vi-VN;q=0.9", .vi), (String(repeating: "x,", count: 5000) + "vi", .en),
        ]
        for (field, want) in cases {
            #expect(Language.negotiate(acceptLanguage: field) == want, "\(field ?? "nil")")
        }
    }

    /// The clerk's guide lists what each refusal a unit can meet means, from the Vietnamese
    /// catalogue: its table is `ErrorText.markdownTable(.vi, codes: ErrorText.unitCodes)`
    /// (`sealgate errors --lang vi --markdown --unit-side` prints it).
    @Test func theClerksGuideHoldsTheCatalogue() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("docs/vi/huong-dan-don-vi.md"), encoding: .utf8)
        let table = ErrorText.markdownTable(.vi, codes: ErrorText.unitCodes)
        #expect(guide.contains(table), "docs/vi/huong-dan-don-vi.md: the table of refusals is not the catalogue's; it should read:\n\(table)")
        let codes = Set(SealErrorCode.catalogue)
        #expect(ErrorText.unitCodes.allSatisfy(codes.contains))
    }
}
