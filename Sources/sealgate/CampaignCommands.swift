import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
import SealCrypto
import SealPackage

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "The campaign view: units registered / submitted / accepted clean / with warnings / flagged for review / rejected / missing, what is late, the last dataset's delivery.",
        discussion:
            "The same view as GET /v1/campaign (admin token) and the dashboard's Campaign page (/ui/): one build (CampaignView). Deadlines: `sealgate campaign set`."
    )
    @OptionGroup var data: DataOption
    @Flag(name: .long, help: "List every unit, not only those that need attention.") var all = false
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Language of the text: vi or en (default: $SEALGATE_LANG, else the locale, else en). --json is the same in both.",
            valueName: "vi|en"))
    var lang: Language?
    @OptionGroup var out: OutputOptions

    mutating func validate() throws { CommandLanguage.choose(lang ?? defaultLanguage(unitSide: false)) }

    func run() async throws {
        try await runAsync(json: out.json) {
            let view = try await CampaignView.build(store: try data.dir.openStore())
            if !out.json {
                for line in StatusText.lines(view, all: all, data: data.data, lang: lang ?? defaultLanguage(unitSide: false)) { print(line) }
            }
            return ["campaign": view.json.foundation]
        }
    }
}

/// `sealgate status`'s text, in English or Vietnamese, from the one `CampaignView`.
enum StatusText {
    static func lines(_ v: CampaignView, all: Bool, data: String, lang: Language) -> [String] {
        let vi = lang == .vi
        var out: [String] = []
        let c = v.campaign
        switch v.deadlines {
        case .unset:
            out.append(
                vi
                    ? "chiến dịch: chưa đặt hạn — chưa đơn vị nào bị tính là trễ (bây giờ \(v.now.text))"
                    : "campaign: deadlines not set — nobody counts as late (now \(v.now.text))")
            out.append(
                (vi ? "  đặt hạn: " : "  set them: ")
                    + "sealgate campaign set --data \(data) --submit-by 2026-12-20T16:59:59Z --synthesize-by … --sync-by …")
        case .open, .submissionClosed:
            let (a, b, d) = (c.submitBy?.text ?? "-", c.synthesizeBy?.text ?? "-", c.syncBy?.text ?? "-")
            out.append(
                vi
                    ? "chiến dịch: nộp trước \(a), tổng hợp trước \(b), đồng bộ trước \(d)  (bây giờ \(v.now.text))"
                    : "campaign: submit by \(a), synthesize by \(b), sync by \(d)  (now \(v.now.text))")
            if v.deadlines == .submissionClosed {
                out.append(
                    vi
                        ? "  đã quá hạn nộp: đơn vị chưa có bản chụp được chấp nhận là trễ (dời hạn bằng `sealgate campaign set --submit-by`)"
                        : "  the submit deadline has passed: units without an accepted snapshot are late (move it with `sealgate campaign set --submit-by`)"
                )
            }
        }
        let n = v.counts
        let reviewed = n.flagged + n.reviewRejected
        if vi {
            let review = reviewed > 0 ? ", \(n.flagged) đang chờ xem xét, \(n.reviewRejected) bị giữ lại sau khi bác" : ""
            out.append(
                "đơn vị: \(n.registered) đã đăng ký, \(n.submitted) đã nộp (\(n.clean) sạch, \(n.warned) có cảnh báo\(review)), "
                    + "\(n.rejectedOnly) chỉ bị từ chối, \(n.missing) chưa nộp; \(n.late.count) trễ")
        } else {
            let review = reviewed > 0 ? ", \(n.flagged) flagged for review, \(n.reviewRejected) held back after a rejection" : ""
            out.append(
                "units: \(n.registered) registered, \(n.submitted) submitted (\(n.clean) clean, \(n.warned) with warnings\(review)), "
                    + "\(n.rejectedOnly) rejected only, \(n.missing) missing; \(n.late.count) late")
        }
        let attention: Swift.Set<CampaignView.UnitState> = [.rejected, .missing, .flagged, .reviewRejected]
        for row in v.units where all || attention.contains(row.state) || row.late {
            var review = ""
            if let r = row.review {
                let packages = r.held.map { p in
                    let resolution = p.flag.resolution?.rawValue ?? "unresolved"
                    let withheld = p.withheld > 0 ? (vi ? " (\(p.withheld) bị giữ)" : " (\(p.withheld) withheld)") : ""
                    return "seq \(Int64(bitPattern: p.flag.seq)) \(resolution)\(withheld)"
                }
                review =
                    (vi ? "\t\(r.withheld) bản ghi bị giữ do xem xét: " : "\t\(r.withheld) record(s) withheld by review: ")
                    + packages.joined(separator: ", ")
                    + (r.datasetPackage == nil ? (vi ? "; không có bản ghi trong bộ dữ liệu" : "; no records in datasets") : "")
            }
            let completeness = row.completeness.string ?? "-"
            let late = row.late ? (vi ? "\tTRỄ" : "\tLATE") : ""
            out.append(
                vi
                    ? "  \(row.unit)\t\(row.state.rawValue)\tđảng viên \(row.members)\tđầy đủ \(completeness)\(late)\(review)"
                    : "  \(row.unit)\t\(row.state.rawValue)\tmembers \(row.members)\tcompleteness \(completeness)\(late)\(review)")
        }
        if n.flagged > 0 {
            out.append(
                (vi
                    ? "  gói bị gắn cờ không vào bộ dữ liệu cho tới khi được xem xét: "
                    : "  flagged packages are withheld from datasets until reviewed: ")
                    + "sealgate units flagged --data \(data); \(vi ? "rồi" : "then") sealgate units flagged confirm|reject --data \(data) --package ID --reason TEXT"
            )
        }
        if let l = v.lastDataset {
            let d = l.record
            let at = d.deliveredAt.map { " at \($0.text)" } ?? ""
            let error = d.lastError.map { (vi ? "; lỗi gần nhất: " : "; last error: ") + TerminalText.shown($0, limit: 400) } ?? ""
            out.append(
                vi
                    ? "bộ dữ liệu gần nhất: phiên bản \(d.version), \(d.members) đảng viên, \(d.conflicts) dòng xung đột — \(d.state.rawValue) sau \(d.attempts) lần gửi\(at)\(error)"
                    : "last dataset: version \(d.version), \(d.members) members, \(d.conflicts) conflict rows — \(d.state.rawValue) after \(d.attempts) attempt(s)\(at)\(error)"
            )
        } else {
            out.append(vi ? "chưa tổng hợp bộ dữ liệu nào" : "no dataset synthesized yet")
        }
        return out
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
