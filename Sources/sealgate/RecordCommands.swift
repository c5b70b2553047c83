public import ArgumentParser
import Foundation
import PackageCommands
public import PartyRecords
import SealBase
import SealCrypto
import UnitWork
import Workbook

/// Options shared by validate and normalize.
struct RecordOptions: ParsableArguments {
    @OptionGroup var language: LangOption
    var lang: Language { language.resolved }
    @Option(name: .long, help: "Date that ages and 'not in the future' are checked against (YYYY-MM-DD; default today, UTC).") var today: String?
    @Option(
        name: .long,
        help: "Errors, and warnings, listed at most in the report (every finding is still counted by rule; memory stays bounded).")
    var maxFindings: Int = 10_000

    func todayDate() throws -> CivilDate {
        if let today {
            guard let d = CivilDate(parsing: today) else { throw SealError(.usage, "--today must be YYYY-MM-DD", remedy: "e.g. --today 2026-11-27") }
            return d
        }
        let days = Int(Date().timeIntervalSince1970 / 86_400)
        return CivilDate(daysSinceEpoch: days)
    }
}

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check party records (organizations.csv, members.csv, corrections.csv) against party-records/1.",
        discussion: """
            PATH is a record file, a unit's folder, or the city folder (one folder per unit). Every finding names its line, column, rule code, severity, the value as written and as normalized, in Vietnamese (--lang vi) or English. Across several units the same citizen id, party card number or organization id in two units is reported as a conflict.

            Exit status 1 when any error is found; warnings (values that normalize cleanly) do not fail. `--list-rules` prints every rule as Markdown.
            """)

    @Option(name: .long, help: "table, csv or json.") var format: ReportFormat = .table
    @Option(name: .long, help: "Rows of findings shown in the table (all in csv and json).") var maxRows: Int = 200
    @Flag(name: .long, help: "Print every rule code with an example and its messages (Markdown) and exit.") var listRules = false
    @OptionGroup var options: RecordOptions
    @Argument(help: "Record files or folders.") var paths: [String] = []

    func run() async throws {
        if listRules {
            print(RuleCatalog.markdown(), terminator: "")
            return
        }
        try await runAsync(json: false) {
            guard !paths.isEmpty else { throw SealError(.usage, "no input", remedy: "name record files or folders to validate") }
            let showProgress = isatty(STDERR_FILENO) == 1
            let v = try runValidation(
                paths, today: try options.todayDate(), crossUnit: true, keep: options.maxFindings,
                perUnit: { unit, i, n in
                    if showProgress && n > 1 {
                        FileHandle.standardError.write(Data("\rvalidating \(i)/\(n) \(unit)\u{1B}[K".utf8))
                        if i == n { FileHandle.standardError.write(Data("\n".utf8)) }
                    }
                })
            let report = ValidationReport(v, lang: options.lang)
            print(report.render(format, maxRows: maxRows), terminator: "")
            if report.errors > 0 { throw ExitCode(1) }
            return [:]
        }
    }
}

struct Normalize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write normalized record files and a report into a folder.",
        discussion:
            "What is unambiguous is normalized (NFC, spaces, title case, dates, gender and status words, phone numbers, ids); what is not is reported and left as written. Normalizing twice changes nothing. One unit goes to DIR/<file>, several to DIR/<unit>/<file>; DIR/report.csv and DIR/report.json hold every finding."
    )

    @Option(name: .shortAndLong, help: "Output folder.") var output: String
    @OptionGroup var options: RecordOptions
    @Argument(help: "Record files or folders.") var paths: [String]

    func run() async throws {
        try await runAsync(json: false) {
            let units = (try? RecordInputs.resolve(paths)) ?? []
            let sink: DirectorySink
            do { sink = try DirectorySink(root: output, perUnit: units.count > 1) } catch let e as CSVIOError {
                throw SealError(.ioError, "cannot create \(e.path)", remedy: "check the path", cause: e)
            }
            let v = try runValidation(paths, today: try options.todayDate(), crossUnit: true, sink: sink, keep: options.maxFindings)
            let report = ValidationReport(v, lang: options.lang)
            try report.render(.csv).write(toFile: "\(output)/report.csv", atomically: true, encoding: .utf8)
            try report.render(.json).write(toFile: "\(output)/report.json", atomically: true, encoding: .utf8)
            say(
                "wrote \(sink.written.count) normalized file(s), report.csv and report.json into \(output): \(report.errors) error(s), \(report.warnings) normalized value(s)"
                    + (report.findings.count < report.total
                        ? "; the reports list \(report.findings.count) of \(report.total) findings (every one is counted by rule)" : "")
            )
            if report.errors > 0 { throw ExitCode(1) }
            return [:]
        }
    }
}

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a synthetic city of party records (deterministic: same seed, same bytes).",
        discussion:
            "Writes one folder per unit (organizations.csv, members.csv), units.csv, and planted.csv listing every defect injected with --dirt (unit, file, line, column, rule). The data is realistic and valid by construction: Vietnamese names, CCCDs consistent with gender and birth year, dates that respect every rule."
    )

    @Option(name: .long, help: "Number of units.") var units: Int = 173
    @Option(name: .long, help: "Number of members over all units.") var members: Int = 365_911
    @Option(name: .long, help: "Seed.") var seed: UInt64 = 1
    @Option(name: .long, help: "Share of member rows given one realistic defect (0 to 1, e.g. 0.001).") var dirt: Double = 0
    @Option(name: .long, help: "Unit id prefix.") var prefix: String = "HCM"
    @Option(name: .shortAndLong, help: "Output folder.") var output: String

    func run() async throws {
        try await runAsync(json: false) {
            guard units >= 1, members >= 0, (0...1).contains(dirt) else {
                throw SealError(.usage, "bad --units, --members or --dirt", remedy: "units ≥ 1, members ≥ 0, dirt between 0 and 1")
            }
            let showProgress = isatty(STDERR_FILENO) == 1
            let g = CityGenerator(.init(units: units, members: members, seed: seed, dirt: dirt, prefix: prefix))
            let s: CityGenerator.Summary
            do {
                s = try g.generate(into: output) { i, n in
                    if showProgress && (i % 10 == 0 || i == n) {
                        FileHandle.standardError.write(Data("\rgenerating unit \(i)/\(n)\u{1B}[K".utf8))
                        if i == n { FileHandle.standardError.write(Data("\n".utf8)) }
                    }
                }
            } catch let e as CSVIOError {
                throw SealError(.ioError, "cannot write \(e.path)", remedy: "check the output folder", cause: e)
            }
            say(
                "generated \(s.units) units, \(s.organizations) organizations, \(s.members) members into \(output); \(s.planted.count) planted defect(s) listed in planted.csv"
            )
            return [:]
        }
    }
}
