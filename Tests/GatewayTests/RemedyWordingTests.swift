import Foundation
import Testing

/// The libraries speak of what happened and what to do; the flags that do it are the command
/// line's (`commandLineHints` in the CLI). A remedy literal in a library module that names a
/// flag (`--something`) is a remedy a client of the HTTP API or a library user cannot follow.
@Suite struct RemedyWordingTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    /// The string literals that follow `remedy:` in `text` (interpolations skipped whole).
    static func remedies(in text: String) -> [String] {
        let chars = Array(text)
        let marker = Array("remedy:")
        var found: [String] = []
        var i = 0
        while i + marker.count < chars.count {
            guard Array(chars[i..<i + marker.count]) == marker else {
                i += 1
                continue
            }
            var j = i + marker.count
            while j < chars.count, chars[j].isWhitespace { j += 1 }
            guard j < chars.count, chars[j] == "\"" else {
                i = j
                continue
            }
            j += 1
            var literal = ""
            while j < chars.count, chars[j] != "\"" {
                if chars[j] == "\\", j + 1 < chars.count, chars[j + 1] == "(" {
                    var depth = 0
                    j += 1
                    repeat {
                        if chars[j] == "(" { depth += 1 }
                        if chars[j] == ")" { depth -= 1 }
                        j += 1
                    } while j < chars.count && depth > 0
                    literal += "…"
                    continue
                }
                if chars[j] == "\\" { j += 1 }
                if j < chars.count { literal.append(chars[j]) }
                j += 1
            }
            found.append(literal)
            i = j
        }
        return found
    }

    @Test func theScannerFindsFlagsWhereTheyAre() {
        let sample = #"throw E(.x, "m", remedy: "give \(f("a")) --ca-file FILE") ; y(remedy:"plain words")"#
        #expect(Self.remedies(in: sample) == ["give … --ca-file FILE", "plain words"])
    }

    @Test func libraryRemediesNameNoCommandLineFlags() throws {
        let files = try #require(FileManager.default.enumerator(atPath: Self.sources.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") && !$0.hasPrefix("sealgate/") }
        var scanned = 0
        var offenders: [String] = []
        for f in files {
            let text = try String(contentsOf: Self.sources.appendingPathComponent(f), encoding: .utf8)
            for r in Self.remedies(in: text) {
                scanned += 1
                if r.range(of: #"(^|[\s(`])--[a-z]"#, options: .regularExpression) != nil { offenders.append("\(f): \(r)") }
            }
        }
        // The scan must have read the libraries' remedies (about two hundred), not an empty folder.
        #expect(scanned > 150, "only \(scanned) remedies found under \(Self.sources.path)")
        #expect(offenders.isEmpty, "\(offenders.joined(separator: "\n"))")
    }
}
