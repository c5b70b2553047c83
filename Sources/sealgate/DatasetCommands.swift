import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
import SealCrypto
import SealPackage

struct Synthesize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge every unit's current records into the next city-wide dataset version, sealed to the handbook system.",
        discussion: """
            Writes DATA/datasets/vN/ (organizations.csv, members.csv, conflicts.csv, stats.json) and DATA/datasets/dataset-vN.sgp (kind=dataset, seq = N, signed with the dataset key, encrypted to the handbook system's recipients). Records that share a citizen_id or member_id with another unit's are withheld and listed in conflicts.csv with both units. The records of flagged packages not yet reviewed, or rejected (`sealgate units flagged`), are withheld too, counted and named in the output and stats.json. The same store contents give the same data bytes. A running gateway's forwarder delivers the version (also: POST /v1/datasets with an admin token).
            """)
    @OptionGroup var data: DataOption
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var token: TokenOptions
    @OptionGroup var out: OutputOptions
    func run() async throws {
        try await runAsync(json: out.json) {
            let dir = data.dir
            let (department, _) = try dir.config()
            let store = try await dir.openStore()
            let keys = try DepartmentKeys.load(dir, passphrase: cachedPassphrase(passphrase), pin: token.departmentPIN())
            let start = Date()
            if !out.json { say("synthesizing from \(try await store.campaignRows().count) registered units…") }
            let s = try await Synthesis.synthesize(
                data: dir, store: store, keys: keys, department: department, progress: { if !out.json { say("  " + $0) } })
            if !out.json {
                say(
                    String(
                        format:
                            "dataset version %llu: %d members, %d organizations from %d units; %d conflict row(s), %d record(s) withheld — %.1f s",
                        s.version, s.members, s.organizations, s.units, s.conflicts, s.withheld, Date().timeIntervalSince(start)))
                if !s.flagged.isEmpty {
                    say("\(s.flaggedWithheld) record(s) withheld by the review of \(s.flagged.count) flagged package(s):")
                    for p in s.flagged {
                        say(
                            "  \(p.flag.unitId) seq \(p.flag.seq) (\(p.kind?.rawValue ?? "?"), package \(p.flag.packageId)): \(p.flag.resolution?.rawValue ?? "unresolved"), \(p.withheld) record(s) withheld"
                        )
                    }
                    say("  review them: sealgate units flagged --data \(data.data); confirm or reject each (sealgate units flagged confirm|reject)")
                }
                say("sealed to the handbook system: \(s.path) (package \(s.packageId)); the gateway's forwarder delivers it")
            }
            return [
                "version": s.version, "package": s.packageId, "path": s.path, "members": s.members, "organizations": s.organizations,
                "conflicts": s.conflicts, "withheld": s.withheld, "units": s.units, "flagged_withheld": s.flaggedWithheld,
                "flagged": s.flagged.map { p in
                    [
                        "unit": p.flag.unitId, "seq": Int(p.flag.seq), "package": p.flag.packageId, "kind": p.kind?.rawValue as Any,
                        "resolution": p.flag.resolution?.rawValue ?? "unresolved", "withheld": p.withheld,
                    ] as [String: Any]
                },
            ]
        }
    }
}

struct DatasetsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "datasets", abstract: "The dataset versions and their delivery to the handbook system.", subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "List every dataset version: when made, members, conflicts withheld, delivery state, attempts, last error, next attempt, acknowledged at.",
            discussion: """
                One line a version, oldest first. CONFLICTS counts the rows of conflicts.csv (records shared with another unit); WITHHELD the records kept out of the dataset (from DATA/datasets/vN/stats.json; - where this machine has no copy). A pending version shows its attempts, last error and next attempt; a delivered one when the gateway recorded the handbook system's signed acknowledgement. The same as the campaign view's last_dataset, for every version.
                """)
        @OptionGroup var data: DataOption
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let dir = data.dir
                let inventory = try await DatasetInventory.load(dir, store: try await dir.openStore())
                if !out.json {
                    guard !inventory.datasets.isEmpty else {
                        say("no dataset synthesized yet (sealgate synthesize --data \(data.data))")
                        return (inventory.json.foundation as? [String: Any]) ?? [:]
                    }
                    let header = [
                        "VERSION", "CREATED", "MEMBERS", "CONFLICTS", "WITHHELD", "STATE", "ATTEMPTS", "ACKNOWLEDGED", "NEXT ATTEMPT", "LAST ERROR",
                    ]
                    let rows = inventory.datasets.map { d in
                        [
                            String(d.version), d.created.text, String(d.members), String(d.conflicts), d.withheld.map(String.init) ?? "-", d.state,
                            String(d.attempts), d.acknowledgedAt?.text ?? "-", d.nextAttempt?.text ?? "-",
                            // The handbook endpoint's own words among it: no escape sequence reaches the terminal.
                            d.lastError.map { TerminalText.shown($0, limit: 400) } ?? "",
                        ]
                    }
                    print(textTable([header] + rows), terminator: "")
                }
                return (inventory.json.foundation as? [String: Any]) ?? [:]
            }
        }
    }
}

/// Rows as aligned columns (two spaces apart; the last column not padded), one line each.
func textTable(_ rows: [[String]]) -> String {
    let widths = rows.reduce(into: [Int]()) { w, row in
        for (i, cell) in row.enumerated() {
            if i == w.count { w.append(0) }
            w[i] = max(w[i], cell.count)
        }
    }
    return rows.map { row in
        row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingTrailingSpaces + "\n"
    }.joined()
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

extension JSON {
    /// As Foundation values, for `--json` output.
    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return i
        case .string(let s): return s
        case .array(let a): return a.map(\.foundation)
        case .object(let o): return o.mapValues(\.foundation)
        }
    }
}
