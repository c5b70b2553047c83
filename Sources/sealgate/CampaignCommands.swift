import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import SealCrypto
import SealPackage

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "The campaign view: units registered / submitted / accepted clean / with warnings / flagged for review / rejected / missing, what is late, the last dataset's delivery.",
        discussion: "The same as GET /v1/campaign (admin token). Deadlines: `sealgate campaign set`.")
    @OptionGroup var data: DataOption
    @Flag(name: .long, help: "List every unit, not only those that need attention.") var all = false
    @OptionGroup var out: OutputOptions
    func run() async throws {
        try await runAsync(json: out.json) {
            let j = try await CampaignStatus.build(store: try data.dir.openStore())
            if !out.json {
                let u = j["units"]!
                let c = j["campaign"]!
                switch j["deadlines"]?.string {
                case "unset":
                    print("campaign: deadlines not set — nobody counts as late (now \(j["now"]?.string ?? ""))")
                    print("  set them: sealgate campaign set --data \(data.data) --submit-by 2026-12-20T16:59:59Z --synthesize-by … --sync-by …")
                default:
                    print(
                        "campaign: submit by \(c["submit_by"]?.string ?? "-"), synthesize by \(c["synthesize_by"]?.string ?? "-"), sync by \(c["sync_by"]?.string ?? "-")  (now \(j["now"]?.string ?? ""))"
                    )
                    if j["deadlines"]?.string == "submission_closed" {
                        print(
                            "  the submit deadline has passed: units without an accepted snapshot are late (move it with `sealgate campaign set --submit-by`)"
                        )
                    }
                }
                let reviewed = (u["flagged"]?.int ?? 0) + (u["review_rejected"]?.int ?? 0)
                print(
                    "units: \(u["registered"]?.int ?? 0) registered, \(u["submitted"]?.int ?? 0) submitted (\(u["accepted_clean"]?.int ?? 0) clean, \(u["accepted_with_warnings"]?.int ?? 0) with warnings\(reviewed > 0 ? ", \(u["flagged"]?.int ?? 0) flagged for review, \(u["review_rejected"]?.int ?? 0) held back after a rejection" : "")), \(u["rejected"]?.int ?? 0) rejected only, \(u["missing"]?.int ?? 0) missing; \(u["late"]?.array?.count ?? 0) late"
                )
                let attention: Swift.Set<String> = ["rejected", "missing", "flagged", "review_rejected"]
                for row in j["per_unit"]?.array ?? [] where all || attention.contains(row["state"]?.string ?? "") || row["late"] == .bool(true) {
                    var review = ""
                    if let r = row["review"], r != .null {
                        let packages = (r["packages"]?.array ?? []).map {
                            "seq \($0["seq"]?.int ?? 0) \($0["resolution"]?.string ?? "")\(($0["withheld"]?.int ?? 0) > 0 ? " (\($0["withheld"]?.int ?? 0) withheld)" : "")"
                        }
                        review =
                            "\t\(r["withheld"]?.int ?? 0) record(s) withheld by review: \(packages.joined(separator: ", "))"
                            + (r["dataset_package"] == .null ? "; no records in datasets" : "")
                    }
                    print(
                        "  \(row["unit"]?.string ?? "")\t\(row["state"]?.string ?? "")\tmembers \(row["members"]?.int ?? 0)\tcompleteness \(row["completeness"]?.string ?? "-")\(row["late"] == .bool(true) ? "\tLATE" : "")\(review)"
                    )
                }
                if (u["flagged"]?.int ?? 0) > 0 {
                    print(
                        "  flagged packages are withheld from datasets until reviewed: sealgate units flagged --data \(data.data); then sealgate units flagged confirm|reject --data \(data.data) --package ID --reason TEXT"
                    )
                }
                if let d = j["last_dataset"], d != .null {
                    print(
                        "last dataset: version \(d["version"]?.int ?? 0), \(d["members"]?.int ?? 0) members, \(d["conflicts"]?.int ?? 0) conflict rows — \(d["state"]?.string ?? "") after \(d["attempts"]?.int ?? 0) attempt(s)\(d["delivered_at"]?.string.map { " at \($0)" } ?? "")\(d["last_error"]?.string.map { "; last error: \(TerminalText.shown($0, limit: 400))" } ?? "")"
                    )
                } else {
                    print("no dataset synthesized yet")
                }
            }
            return ["campaign": j.foundation]
        }
    }
}

struct CampaignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "campaign", abstract: "The campaign's deadlines.", subcommands: [Set.self])
    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Set the deadlines (UTC, e.g. 2026-12-20T16:59:59Z, or \"now\"); each is unset until set, and nobody is late against an unset one. Logged."
        )
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Units submit by.") var submitBy: String?
        @Option(name: .long, help: "The department synthesizes by.") var synthesizeBy: String?
        @Option(name: .long, help: "The handbook system is synchronized by.") var syncBy: String?
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let store = try await data.dir.openStore()
                guard submitBy != nil || synthesizeBy != nil || syncBy != nil else {
                    throw SealError(
                        .usage, "no deadline given", remedy: "give --submit-by, --synthesize-by and/or --sync-by (UTC, e.g. 2026-12-20T16:59:59Z)")
                }
                var c = try await Campaign.load(store)
                if let v = submitBy { c.submitBy = try parseMoment(v) }
                if let v = synthesizeBy { c.synthesizeBy = try parseMoment(v) }
                if let v = syncBy { c.syncBy = try parseMoment(v) }
                try await c.save(store)
                if !out.json {
                    let (submit, synthesize, sync) = (c.submitBy?.text ?? "-", c.synthesizeBy?.text ?? "-", c.syncBy?.text ?? "-")
                    say("deadlines: submit by \(submit), synthesize by \(synthesize), sync by \(sync)")
                }
                return ["submit_by": c.submitBy?.text as Any, "synthesize_by": c.synthesizeBy?.text as Any, "sync_by": c.syncBy?.text as Any]
            }
        }
    }
}
