import Foundation
import GatewayCore
import PartyRecords
import SealBase
import SealCrypto
import SealPackage
import UnitWork

/// The page builders: markup and values only. Every human word comes from `DeskText` (a test
/// reads this file: no string literal here holds a letter outside a tag), every value is escaped.
enum Pages {
    typealias Chrome = HTML.Chrome
    static func esc(_ s: String) -> String { HTML.esc(s) }
    static func esc(_ n: Int) -> String { String(n) }
    static func esc(_ n: UInt64) -> String { String(n) }

    // MARK: Setup

    static func setup(_ c: Chrome, folder: String, problem: SealError?) -> String {
        let t = c.text
        func field(_ name: String, _ label: DeskKey, _ hint: DeskKey, required: Bool = true) -> String {
            """
            <label for="\(name)">\(esc(t[label]))</label><p class="hint">\(esc(t[hint]))</p>\
            <input type="text" id="\(name)" name="\(name)" autocomplete="off"\(required ? " required" : "")>
            """
        }
        let body = """
            <p>\(esc(t[.setupIntro]))</p><p class="hint">\(esc(t[.setupFolder])) <code>\(esc(folder))</code></p>
            \(problem.map { HTML.problem($0, c.lang) } ?? "")
            <form method="post" action="\(esc(c.base))/setup">\(HTML.csrfField(c.csrf))
            \(field("unit", .setupUnit, .setupUnitHint))
            \(field("gateway", .setupGateway, .setupGatewayHint))
            \(field("root", .setupRoot, .setupRootHint))
            \(field("signing_key", .setupKey, .setupKeyHint))
            \(field("token_file", .setupToken, .setupTokenHint, required: false))
            \(field("ca_file", .setupCA, .setupCAHint, required: false))
            <div class="actions"><button type="submit" id="setup-save">\(esc(t[.setupSave]))</button></div></form>
            <p class="hint">\(esc(t[.setupOrCommand])) <code>\(esc(t[.setupCommand]))</code></p>
            """
        return HTML.page(t[.setupTitle], body: body, chrome: c)
    }

    // MARK: Home

    static func home(_ c: Chrome, profile: UnitProfile, batch: Batch?, problem: SealError?) -> String {
        let t = c.text
        let last = profile.history.last
        var body = "<p>\(esc(t[.homeIntro]))</p>"
        body += "<ul class=\"counts\"><li>\(esc(t[.nextSeq])) <strong>\(esc(profile.nextSeq))</strong></li>"
        body += "<li>\(esc(t[.gatewayLabel])) <code>\(esc(profile.gateway))</code></li>"
        if let last {
            body += "<li>\(esc(t[.lastPackage])) <a href=\"\(esc(c.base))/package/\(esc(last.packageId))\">"
            body += "\(esc(last.seq)) · \(esc(status(last, t)))</a></li>"
        }
        body += "</ul>"
        if let problem { body += HTML.problem(problem, c.lang) }
        if let batch, batch.report != nil || batch.failure != nil {
            body += "<p class=\"note\">\(esc(t[.batchWaiting])) <a href=\"\(esc(c.base))/findings\">\(esc(t[.openFindings]))</a></p>"
        }
        body += "<h2>\(esc(t[.stepChoose]))</h2>" + uploadForm(c)
        body += "<h2>\(esc(t[.stepCorrections]))</h2><p><a href=\"\(esc(c.base))/correction\">\(esc(t[.openCorrectionForm]))</a></p>"
        return HTML.page(t[.homeTitle], body: body, chrome: c)
    }

    static func uploadForm(_ c: Chrome, again: Bool = false) -> String {
        let t = c.text
        return """
            <form method="post" action="\(esc(c.base))/upload?csrf=\(esc(c.csrf))" enctype="multipart/form-data">\(HTML.csrfField(c.csrf))
            <label for="files">\(esc(t[.chooseFiles]))</label><p class="hint">\(esc(t[.chooseFilesHint]))</p>
            <input type="file" id="files" name="files" multiple accept=".xlsx,.csv" required>
            <div class="actions"><button type="submit" id="upload">\(esc(t[again ? .checkAgain : .checkFiles]))</button></div></form>
            """
    }

    // MARK: Findings

    static let shownFindings = 500

    static func findings(_ c: Chrome, batch: Batch?, problem: SealError?) -> String {
        let t = c.text
        guard let batch else {
            return HTML.page(t[.findingsTitle], body: "<p>\(esc(t[.noBatch]))</p>" + uploadForm(c), chrome: c)
        }
        var body = ""
        if let f = batch.failure {
            body += HTML.problem(f, c.lang, lead: t[.filesUnreadable])
            body += uploadForm(c, again: true)
            return HTML.page(t[.findingsTitle], body: body, chrome: c)
        }
        guard let r = batch.report else { return HTML.page(t[.findingsTitle], body: "<p>\(esc(t[.noBatch]))</p>", chrome: c) }
        body += "<ul class=\"counts\" id=\"counts\">"
        if batch.kind == .correction {
            body += "<li>\(esc(t[.countCorrections])) <strong>\(esc(r.corrections))</strong></li>"
        } else {
            body += "<li>\(esc(t[.countOrganizations])) <strong>\(esc(r.organizations))</strong></li>"
            body += "<li>\(esc(t[.countMembers])) <strong>\(esc(r.members))</strong></li>"
        }
        body += "<li>\(esc(t[.countErrors])) <strong id=\"error-count\">\(esc(r.errors))</strong></li>"
        body += "<li>\(esc(t[.countWarnings])) <strong>\(esc(r.warnings))</strong></li></ul>"
        if let problem { body += HTML.problem(problem, c.lang) }
        if r.errors > 0 {
            body += "<p class=\"problem\" id=\"verdict\">\(esc(t[.hasErrors]))</p>"
        } else {
            body += "<p class=\"ok\" id=\"verdict\">\(esc(t[.noErrors]))</p>"
        }
        if !r.rows.isEmpty {
            body += "<div class=\"actions\"><a class=\"button secondary\" id=\"download\" href=\"\(esc(c.base))/findings.csv\">"
            body += "\(esc(t[.downloadCSV]))</a></div>"
            if r.rows.count > shownFindings || r.dropped > 0 {
                body +=
                    "<p class=\"hint\">\(esc(t[.findingsTruncated])) \(esc(min(shownFindings, r.rows.count))) / \(esc(r.rows.count + r.dropped))</p>"
            }
            body += "<div class=\"table-wrap\"><table id=\"findings\"><thead><tr>"
            for k: DeskKey in [.colFile, .colRow, .colColumn, .colRule, .colSeverity, .colValue, .colMessage, .colFix] {
                body += "<th>\(esc(t[k]))</th>"
            }
            body += "</tr></thead><tbody>"
            for f in r.rows.prefix(shownFindings) {
                let row = FindingText(f, c.lang)
                body += "<tr class=\"\(f.severity.rawValue)\"><td>\(esc(row.file))</td><td>\(esc(f.line))</td><td>\(esc(f.column))</td>"
                body += "<td><code>\(esc(f.rule))</code></td><td class=\"sev\">\(esc(row.severity))</td><td>\(esc(f.original))</td>"
                body += "<td>\(esc(row.message))</td><td>\(esc(row.fix))</td></tr>"
            }
            body += "</tbody></table></div>"
        }
        if r.errors == 0 {
            body += "<h2>\(esc(t[.stepSeal]))</h2><p>\(esc(t[.sealIntro]))</p>"
            body += """
                <form method="post" action="\(esc(c.base))/seal">\(HTML.csrfField(c.csrf))
                <label for="passphrase">\(esc(t[.passphrase]))</label><p class="hint">\(esc(t[.passphraseHint]))</p>
                <input type="password" id="passphrase" name="passphrase" autocomplete="off" required>
                <div class="actions"><button type="submit" id="seal">\(esc(t[.sealAndSend]))</button></div></form>
                """
        }
        body += "<h2>\(esc(t[.stepFixAgain]))</h2><p>\(esc(t[.fixAgainIntro]))</p>" + uploadForm(c, again: true)
        return HTML.page(t[.findingsTitle], body: body, chrome: c)
    }

    /// A finding's words for the table and the CSV: the file (a workbook's sheet), the severity,
    /// the rule's message and how to fix it (the rule's example, and what it becomes).
    struct FindingText {
        let file: String
        let severity: String
        let message: String
        let fix: String
        init(_ f: Finding, _ lang: Language) {
            let t = DeskText.table(lang)
            let rule = Rules.rule(f.rule)
            // A workbook's finding names the sheet the clerk sees in Excel (and the row is Excel's).
            file = f.sheet ?? f.file
            severity = f.severity == .error ? t[.severityError] : t[.severityWarning]
            message = rule.message(lang)
            if f.severity == .warning, !f.normalized.isEmpty {
                fix = "\(t[.fixNormalized]) \(f.normalized)"
            } else if let good = rule.normalizedExample, !rule.example.isEmpty {
                fix = "\(t[.fixExample]) \(rule.example) → \(good)"
            } else if !rule.example.isEmpty {
                fix = "\(t[.fixWrongExample]) \(rule.example)"
            } else {
                fix = t[.fixSeeMessage]
            }
        }
    }

    // MARK: Progress

    static func job(_ c: Chrome, _ j: Job) -> String {
        let t = c.text
        let title: DeskKey =
            switch j.kind {
            case .check: .jobCheck
            case .send: .jobSend
            case .resend: .jobResend
            }
        var body = "<p id=\"job-status\">\(esc(t[.jobRunning]))</p>"
        if let stage = j.stage { body += "<p id=\"job-stage\">\(esc(t[stage]))</p>" }
        if j.total > 0 {
            let pct = Int(min(100, j.done * 100 / max(j.total, 1)))
            body += "<progress max=\"100\" value=\"\(pct)\">\(pct)</progress> <span>\(pct) %</span>"
        } else {
            body += "<progress></progress>"
        }
        body += "<p class=\"hint\">\(esc(t[.jobRefreshes]))</p>"
        return HTML.page(t[title], body: body, chrome: c)
    }

    // MARK: A package: the receipt, or what is left to do

    struct ReceiptView {
        var entry: UnitProfile.HistoryEntry
        var unit: String
        var receipt: JSON?
        /// The receipt's signature checked now against the trust document (nil: no receipt).
        var signatureChecked: Bool?
        /// Its inclusion in the log checkpoint it carries checked now.
        var logChecked: Bool?
    }

    static func package(_ c: Chrome, _ v: ReceiptView, problem: SealError?) -> String {
        let t = c.text
        let e = v.entry
        var body = ""
        if let problem {
            body += HTML.problem(problem, c.lang, lead: e.status == nil ? t[.sendFailed] : nil)
        }
        guard let r = v.receipt else {
            body += "<p class=\"note\" id=\"kept\">\(esc(t[.packageKept]))</p>"
            body += "<dl class=\"receipt\"><dt>\(esc(t[.recUnit]))</dt><dd>\(esc(v.unit))</dd><dt>\(esc(t[.recSeq]))</dt><dd>\(esc(e.seq))</dd>"
            body += "<dt>\(esc(t[.recPackage]))</dt><dd>\(esc(e.packageId))</dd><dt>\(esc(t[.recSealedAt]))</dt><dd>\(esc(e.sealedAt.text))</dd></dl>"
            body += """
                <div class="actions"><form method="post" action="\(esc(c.base))/package/\(esc(e.packageId))/send">\(HTML.csrfField(c.csrf))\
                <button type="submit" id="send-again">\(esc(t[.sendAgain]))</button></form></div>
                """
            return HTML.page(t[.packageTitle], body: body, chrome: c)
        }
        let status = r["status"]?.string == "duplicate" ? (r["first_status"]?.string ?? "") : (r["status"]?.string ?? "")
        let accepted = status == "accepted"
        body += "<p class=\"\(accepted ? "ok" : "problem")\" id=\"outcome\">\(esc(accepted ? t[.outcomeAccepted] : t[.outcomeRefused]))</p>"
        body += "<dl class=\"receipt\" id=\"receipt\">"
        let rows: [(DeskKey, String)] = [
            (.recUnit, r["unit"]?.string ?? v.unit), (.recSeq, r["seq"]?.int.map(String.init) ?? String(e.seq)),
            (.recPackage, r["package"]?.string ?? e.packageId), (.recKind, e.kind),
            (.recDecidedAt, r["decided_at"]?.string ?? ""), (.recSealedAt, e.sealedAt.text),
        ]
        for (k, value) in rows { body += "<dt>\(esc(t[k]))</dt><dd>\(esc(value))</dd>" }
        if let o = e.organizations { body += "<dt>\(esc(t[.countOrganizations]))</dt><dd>\(esc(o))</dd>" }
        if let m = e.members { body += "<dt>\(esc(t[.countMembers]))</dt><dd>\(esc(m))</dd>" }
        if let n = e.corrections { body += "<dt>\(esc(t[.countCorrections]))</dt><dd>\(esc(n))</dd>" }
        body += "<dt>\(esc(t[.recOutcome]))</dt><dd>\(esc(accepted ? t[.statusAccepted] : "\(t[.statusRefused]) (\(status))"))</dd>"
        if let code = r["error"]?["code"]?.string {
            body += "<dt>\(esc(t[.recCode]))</dt><dd><code>\(esc(code))</code> — \(esc(SealErrorCode(code).text(c.lang).message))</dd>"
        }
        if let sha = r["sha256"]?.string { body += "<dt>\(esc(t[.recSha256]))</dt><dd><code>\(esc(sha))</code></dd>" }
        body += "</dl><h2>\(esc(t[.recChecks]))</h2><ul class=\"sentences\" id=\"checks\">"
        body += "<li>\(esc(v.signatureChecked == true ? t[.sigChecked] : t[.sigNotChecked]))</li>"
        body += "<li>\(esc(v.logChecked == true ? t[.logChecked] : t[.logNotChecked]))</li></ul>"
        if let at = e.receiptVerifiedAt { body += "<p class=\"hint\">\(esc(t[.firstCheckedAt])) \(esc(at.text))</p>" }
        body += "<div class=\"actions\"><button type=\"button\" id=\"print\">\(esc(t[.printReceipt]))</button>"
        body += "<span class=\"hint\">\(esc(t[.printHint]))</span></div>"
        return HTML.page(t[.receiptTitle], body: body, chrome: c)
    }

    // MARK: History

    static func history(_ c: Chrome, profile: UnitProfile) -> String {
        let t = c.text
        guard !profile.history.isEmpty else { return HTML.page(t[.historyTitle], body: "<p>\(esc(t[.historyEmpty]))</p>", chrome: c) }
        var body = "<div class=\"table-wrap\"><table id=\"history\"><thead><tr>"
        for k: DeskKey in [.recSeq, .recKind, .recSealedAt, .recOutcome, .recPackage] { body += "<th>\(esc(t[k]))</th>" }
        body += "</tr></thead><tbody>"
        for h in profile.history.reversed() {
            body += "<tr><td>\(esc(h.seq))</td><td>\(esc(h.kind))</td><td>\(esc(h.sealedAt.text))</td><td>\(esc(status(h, t)))</td>"
            body += "<td><a href=\"\(esc(c.base))/package/\(esc(h.packageId))\">\(esc(h.packageId))</a></td></tr>"
        }
        body += "</tbody></table></div>"
        return HTML.page(t[.historyTitle], body: body, chrome: c)
    }

    static func status(_ h: UnitProfile.HistoryEntry, _ t: DeskText.Table) -> String {
        switch h.status {
        case nil: return t[.statusNotSent]
        case "accepted"?: return t[.statusAccepted]
        case let s?: return "\(t[.statusRefused]) (\(h.code ?? s))"
        }
    }

    // MARK: Corrections

    static func correction(_ c: Chrome, draft: [[String]], problem: SealError?) -> String {
        let t = c.text
        var body = "<p>\(esc(t[.correctionIntro]))</p>"
        if let problem { body += HTML.problem(problem, c.lang) }
        if !draft.isEmpty {
            body += "<div class=\"table-wrap\"><table id=\"draft\"><thead><tr>"
            for k: DeskKey in [.corCitizen, .corField, .corOld, .corNew, .corReason, .corReported] { body += "<th>\(esc(t[k]))</th>" }
            body += "</tr></thead><tbody>"
            for row in draft { body += "<tr>" + row.map { "<td>\(esc($0))</td>" }.joined() + "</tr>" }
            body += "</tbody></table></div><div class=\"actions\">"
            body += "<form method=\"post\" action=\"\(esc(c.base))/correction/check\">\(HTML.csrfField(c.csrf))"
            body += "<button type=\"submit\" id=\"correction-check\">\(esc(t[.correctionCheck]))</button></form>"
            body += "<form method=\"post\" action=\"\(esc(c.base))/correction/clear\">\(HTML.csrfField(c.csrf))"
            body += "<button type=\"submit\" class=\"secondary\">\(esc(t[.correctionClear]))</button></form></div>"
        }
        var options = ""
        for col in correctableFields { options += "<option value=\"\(esc(col))\">\(esc(col))</option>" }
        body += """
            <h2>\(esc(t[.correctionAdd]))</h2><form method="post" action="\(esc(c.base))/correction/add">\(HTML.csrfField(c.csrf))
            <label for="citizen_id">\(esc(t[.corCitizen]))</label><input type="text" id="citizen_id" name="citizen_id" autocomplete="off" required>
            <label for="field">\(esc(t[.corField]))</label><select id="field" name="field">\(options)</select>
            <label for="old_value">\(esc(t[.corOld]))</label><input type="text" id="old_value" name="old_value" autocomplete="off">
            <label for="new_value">\(esc(t[.corNew]))</label><input type="text" id="new_value" name="new_value" autocomplete="off">
            <label for="reason">\(esc(t[.corReason]))</label><input type="text" id="reason" name="reason" autocomplete="off" required>
            <label for="reported_at">\(esc(t[.corReported]))</label><p class="hint">\(esc(t[.corReportedHint]))</p>
            <input type="text" id="reported_at" name="reported_at" autocomplete="off" required>
            <div class="actions"><button type="submit" id="correction-add">\(esc(t[.correctionAddButton]))</button></div></form>
            """
        return HTML.page(t[.correctionTitle], body: body, chrome: c)
    }

    /// The members' columns a correction may change (corrections.csv's `field`).
    static let correctableFields = RecordFile.members.columns.filter { $0 != "citizen_id" && $0 != "member_id" }

    // MARK: Not found

    static func notFound(_ c: Chrome) -> String {
        let t = c.text
        return HTML.page(t[.notFoundTitle], body: "<p>\(esc(t[.notFound]))</p><p><a href=\"\(esc(c.base))/\">\(esc(t[.navHome]))</a></p>", chrome: c)
    }
}
