import ArgumentParser
import Foundation
import PackageCommands
import SealBase

/// `sealgate errors`: every error code with what it means and what to do, in Vietnamese or
/// English (SealBase's catalogues), and the command line's own hint where it has one.
struct ErrorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errors",
        abstract: "List the error codes: what each means and what to do (Vietnamese or English).",
        discussion:
            "--unit-side lists only the refusals a unit can meet (sealing, submitting, the trust document, receipts); --markdown prints them as the table of the clerk's guide (docs/vi/huong-dan-don-vi.md)."
    )
    @Flag(name: .long, help: "Only the codes a unit can meet.") var unitSide = false
    @Flag(name: .long, help: "Print a Markdown table.") var markdown = false
    @OptionGroup var language: LangOption
    @OptionGroup var out: OutputOptions

    func run() async throws {
        try await runAsync(json: out.json) {
            let lang = language.resolved
            let codes = unitSide ? ErrorText.unitCodes : SealErrorCode.catalogue
            if markdown, !out.json {
                print(ErrorText.markdownTable(lang, codes: codes), terminator: "")
            } else if !out.json {
                let words = Words.of(lang)
                for c in codes {
                    let t = c.text(lang)
                    print("\(c.rawValue)\n  \(t.message)\n  \(words.whatToDo): \(t.remedy)")
                    if let h = commandLineHints[lang]?[c] { print("  \(words.onCommandLine): \(h)") }
                }
            }
            let list: [[String: Any]] = codes.map { c in
                let t = c.text(lang)
                var o: [String: Any] = ["code": c.rawValue, "message": t.message, "remedy": t.remedy]
                if let h = commandLineHints[lang]?[c] { o["hint"] = h }
                return o
            }
            return ["lang": lang.rawValue, "codes": list]
        }
    }
}
