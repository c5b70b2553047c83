import Foundation
import Testing

/// The libraries speak of what happened and what to do; the flags that do it are the command
/// line's (`commandLineHints` in the CLI). A remedy in a library module that names a flag
/// (`--something`) is a remedy a client of the HTTP API or a library user cannot follow.
@Suite struct RemedyWordingTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    static func isIdentifier(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }

    /// The string literal that opens at `start` (`"`, `"""` or `#"`), interpolations shown as `…`,
    /// and the index after its closing quote.
    static func literal(_ chars: [Character], at start: Int) -> (text: String, end: Int) {
        func at(_ i: Int, _ s: String) -> Bool { i + s.count <= chars.count && String(chars[i..<i + s.count]) == s }
        let close = at(start, "#\"") ? "\"#" : at(start, "\"\"\"") ? "\"\"\"" : "\""
        var j = start + (close == "\"" ? 1 : close.count)
        var text = ""
        while j < chars.count, !at(j, close) {
            if chars[j] == "\\", j + 1 < chars.count, chars[j + 1] == "(" {
                var depth = 0
                j += 1
                repeat {
                    if chars[j] == "(" { depth += 1 }
                    if chars[j] == ")" { depth -= 1 }
                    j += 1
                } while j < chars.count && depth > 0
                text += "…"
                continue
            }
            if chars[j] == "\\" { j += 1 }
            if j < chars.count { text.append(chars[j]) }
            j += 1
        }
        return (text, j + close.count)
    }

    /// Where the comment that opens at `i` ends, or nil when none opens there.
    static func commentEnd(_ chars: [Character], at i: Int) -> Int? {
        guard chars[i] == "/", i + 1 < chars.count, chars[i + 1] == "/" || chars[i + 1] == "*" else { return nil }
        var j = i + 2
        if chars[i + 1] == "/" {
            while j < chars.count, chars[j] != "\n" { j += 1 }
            return j
        }
        while j + 1 < chars.count, !(chars[j] == "*" && chars[j + 1] == "/") { j += 1 }
        return j + 2
    }

    static func opensLiteral(_ chars: [Character], _ i: Int) -> Bool {
        chars[i] == "\"" || (chars[i] == "#" && i + 1 < chars.count && chars[i + 1] == "\"")
    }

    /// Every string literal of the expression from `start` to its end — a `,` at its own level or
    /// the bracket that closes the call around it; for an assignment (`statement`) also a `;` or
    /// the end of a line not continued by `?`, `:` or `??` — so a ternary's, a `??`'s or a call's
    /// literals all count; and where it ended.
    static func literals(_ chars: [Character], from start: Int, statement: Bool = false) -> (texts: [String], end: Int) {
        var texts: [String] = []
        var depth = 0
        var j = start
        while j < chars.count {
            let c = chars[j]
            if opensLiteral(chars, j) {
                let l = literal(chars, at: j)
                texts.append(l.text)
                j = l.end
                continue
            }
            if let end = commentEnd(chars, at: j) {
                j = end
                continue
            }
            if c == "(" || c == "[" || c == "{" { depth += 1 }
            if c == ")" || c == "]" || c == "}" {
                if depth == 0 { break }
                depth -= 1
            }
            if c == ",", depth == 0 { break }
            if statement, depth == 0, c == ";" { break }
            if statement, depth == 0, c == "\n" {
                let next = chars[(j + 1)...].drop(while: { $0 == " " }).first
                if next != "?" && next != ":" { break }
            }
            j += 1
        }
        return (texts, j)
    }

    /// The arguments of the call whose `(` is at `open`, each as its start index.
    static func argumentStarts(_ chars: [Character], open: Int) -> [Int] {
        var starts = [open + 1]
        var j = open + 1
        while j < chars.count {
            let (_, end) = literals(chars, from: j)
            guard end < chars.count, chars[end] == "," else { break }
            j = end + 1
            starts.append(j)
        }
        return starts
    }

    /// Functions declared with a positional remedy (`func refuse(_ status: Int, …, _ remedy: String)`):
    /// name → the remedy's argument position.
    static func positionalRemedies(in text: String) -> [String: Int] {
        var found: [String: Int] = [:]
        let pattern = #"func\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)"#
        let ns = text as NSString
        for m in (try! NSRegularExpression(pattern: pattern)).matches(in: text, range: NSRange(location: 0, length: ns.length)) {
            let params = ns.substring(with: m.range(at: 2)).split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            if let i = params.firstIndex(where: { $0.range(of: #"^_\s+remedy\s*:"#, options: .regularExpression) != nil }) {
                found[ns.substring(with: m.range(at: 1))] = i
            }
        }
        return found
    }

    /// The remedies written in `text`: every literal of the expression after a `remedy:` label or
    /// a `remedy =` assignment, and of the argument in the remedy's place of a call to a function
    /// of `positional` (`refuse(422, code, detail, "the remedy")`).
    static func remedies(in text: String, positional: [String: Int] = [:]) -> [String] {
        let chars = Array(text)
        var found: [String] = []
        var i = 0
        while i < chars.count {
            if opensLiteral(chars, i) {
                i = literal(chars, at: i).end
                continue
            }
            if let end = commentEnd(chars, at: i) {
                i = end
                continue
            }
            guard isIdentifier(chars[i]), i == 0 || !isIdentifier(chars[i - 1]) else {
                i += 1
                continue
            }
            var j = i
            while j < chars.count, isIdentifier(chars[j]) { j += 1 }
            let word = String(chars[i..<j])
            var k = j
            while k < chars.count, chars[k] == " " { k += 1 }
            if word == "remedy", k < chars.count, chars[k] == ":" {
                found += literals(chars, from: k + 1).texts
            } else if word == "remedy", k + 1 < chars.count, chars[k] == "=", chars[k + 1] != "=" {
                found += literals(chars, from: k + 1, statement: true).texts
            } else if let position = positional[word], k < chars.count, chars[k] == "(",
                !String(chars[max(0, i - 5)..<i]).hasSuffix("func ")
            {
                let starts = argumentStarts(chars, open: k)
                if position < starts.count { found += literals(chars, from: starts[position]).texts }
            }
            i = j
        }
        return found
    }

    @Test func theScannerFindsFlagsWhereTheyAre() {
        let sample = #"""
            throw E(.x, "m", remedy: "give \(f("a")) --ca-file FILE") ; y(remedy:"plain words")
            z(.y, "m \(a)", remedy: known ? "fetch it (--gateway URL)" : "wait")
            static func refuse(_ status: Int, _ code: String, _ detail: String, _ remedy: String) -> Answer { }
            return Self.refuse(400, "bad", "detail --not-a-remedy", "send it with --force")
            e.remedy = cond ? "a" : "b"; let remedyText = "not one"
            """#
        #expect(Self.positionalRemedies(in: sample) == ["refuse": 3])
        #expect(
            Self.remedies(in: sample, positional: Self.positionalRemedies(in: sample)) == [
                "give … --ca-file FILE", "plain words", "fetch it (--gateway URL)", "wait", "send it with --force", "a", "b",
            ])
    }

    @Test func libraryRemediesNameNoCommandLineFlags() throws {
        let files = try #require(FileManager.default.enumerator(atPath: Self.sources.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") && !$0.hasPrefix("sealgate/") && !$0.hasPrefix("PackageCommands/") && !$0.hasPrefix("SealgateUnit/") }
        let texts = try files.map { ($0, try String(contentsOf: Self.sources.appendingPathComponent($0), encoding: .utf8)) }
        let positional = texts.reduce(into: [String: Int]()) { $0.merge(Self.positionalRemedies(in: $1.1)) { a, _ in a } }
        // HandbookReceiver's `refuse(code, detail, remedy)` among them.
        #expect(positional["refuse"] == 2, "\(positional)")
        var scanned = 0
        var offenders: [String] = []
        for (f, text) in texts {
            for r in Self.remedies(in: text, positional: positional) {
                scanned += 1
                if r.range(of: #"(^|[\s(`])--[a-z]"#, options: .regularExpression) != nil { offenders.append("\(f): \(r)") }
            }
        }
        // The scan must have read the libraries' remedies (about two hundred), not an empty folder.
        #expect(scanned > 150, "only \(scanned) remedies found under \(Self.sources.path)")
        #expect(offenders.isEmpty, "\(offenders.joined(separator: "\n"))")
    }
}
