import Foundation
import SealBase
import SealCrypto

/// HTML text: every value that reaches a page goes through `esc` (text and attribute values
/// alike), so that a cell of the clerk's file, a file name or a server's message is shown, never
/// run. The page builders hold markup only; every human word comes from `DeskText`.
enum HTML {
    /// Escapes `&`, `<`, `>`, `"`, `'` (and drops C0 controls other than tab and newlines).
    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(ch)
            default:
                if ch.value < 0x20 || ch.value == 0x7F { continue }
                out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    static func esc(_ n: Int) -> String { String(n) }
    static func esc(_ n: UInt64) -> String { String(n) }

    /// A whole page: the head (the desk's own style sheet and script only), the bar with the
    /// unit, the pages and the language switch, then `body`.
    static func page(_ title: String, body: String, chrome: Chrome) -> String {
        let t = chrome.text
        let other: Language = chrome.lang == .vi ? .en : .vi
        let b = esc(chrome.base)
        let nav: String
        if chrome.unit != nil {
            nav = """
                <nav class="noprint"><a href="\(b)/">\(esc(t[.navHome]))</a> <a href="\(b)/correction">\(esc(t[.navCorrection]))</a> \
                <a href="\(b)/history">\(esc(t[.navHistory]))</a></nav>
                """
        } else {
            nav = ""
        }
        let unit = chrome.unit.map { "<span class=\"unit\">\(esc(t[.unitLabel])) \(esc($0))</span>" } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="\(chrome.lang.rawValue)">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="no-referrer">\(chrome.refresh.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? "")
            <title>\(esc(title)) · \(esc(t[.appName]))</title>
            <link rel="stylesheet" href="\(b)/static/desk.css"><script src="\(b)/static/desk.js" defer></script></head>
            <body>
            <header><strong class="app">\(esc(t[.appName]))</strong> \(unit) \(nav)
            <form class="lang noprint" method="post" action="\(b)/lang"><input type="hidden" name="csrf" value="\(esc(chrome.csrf))">\
            <input type="hidden" name="lang" value="\(other.rawValue)"><input type="hidden" name="back" value="\(esc(chrome.path))">\
            <button type="submit" id="lang-switch">\(esc(t[.switchLanguage]))</button></form></header>
            <main>
            <h1>\(esc(title))</h1>
            \(body)
            </main>
            </body>
            </html>
            """
    }

    /// What every page shares: the language, the session's CSRF token, the launch's prefix of
    /// every path (`/s/<secret>`: every link, form and asset carries it), the unit (nil before the
    /// setup), the page's own path under the prefix (for the language switch to come back to), a refresh.
    struct Chrome {
        var lang: Language
        var csrf: String
        var base: String
        var unit: String?
        var path: String
        var refresh: Int?
        var text: DeskText.Table { DeskText.table(lang) }
    }

    /// The hidden CSRF field every form carries.
    static func csrfField(_ token: String) -> String { "<input type=\"hidden\" name=\"csrf\" value=\"\(esc(token))\">" }

    /// A refusal or failure as the clerk reads it: the code's meaning and what to do in the page's
    /// language, the code itself, and the technical detail (English) folded away.
    static func problem(_ e: SealError, _ lang: Language, lead: String? = nil) -> String {
        let t = e.code.text(lang)
        let d = DeskText.table(lang)
        return """
            <div class="problem" role="alert">\(lead.map { "<p><strong>\(esc($0))</strong></p>" } ?? "")\
            <p>\(esc(t.message))</p><p>\(esc(d[.whatToDo])) \(esc(t.remedy))</p>\
            <details><summary>\(esc(d[.technicalDetail])) (\(esc(e.code.rawValue)))</summary><p>\(esc(e.message)) — \(esc(e.remedy))</p></details></div>
            """
    }
}
