import Foundation
import TestSupport
import Testing

/// Vietnamese for every message (#23 item 4): the command line's `--lang`, SEALGATE_LANG and the
/// locale; the error printer in each language; the gateway's problem documents by
/// `Accept-Language`, over a real connection.
@Suite struct LanguageTests {
    /// The test environment says English (`CLI.environment`); these clear it to reach the locale.
    static func locale(_ lang: String) -> [String: String] { ["SEALGATE_LANG": "", "LANG": lang] }

    @Test func unitSideCommandsSpeakVietnameseByDefault() throws {
        let w = Workdir()
        let args = ["receipt", "verify", "--trust", "nope.json", "r.json"]
        // No language asked for, a locale that names none: Vietnamese, the English detail labelled.
        let vi = try CLI.sg(args, cwd: w.path, env: Self.locale("C.UTF-8"))
        #expect(vi.status == 64)
        #expect(vi.stderr.hasPrefix("lỗi: usage: Lệnh thiếu hoặc sai tham số.\n  cách xử lý: "), "\(vi.stderr)")
        #expect(vi.stderr.contains("  chi tiết kỹ thuật: cannot read the trust document nope.json"), "\(vi.stderr)")
        // --lang en, SEALGATE_LANG=en, an English locale: English as before.
        for (extra, env) in [(["--lang", "en"], Self.locale("C.UTF-8")), ([], ["SEALGATE_LANG": "en"]), ([], Self.locale("en_US.UTF-8"))] {
            let en = try CLI.sg(args + extra, cwd: w.path, env: env)
            #expect(en.stderr.hasPrefix("error: usage: cannot read the trust document nope.json\n  what to do: "), "\(extra) \(env): \(en.stderr)")
        }
        // --lang wins over the environment; the locale's vi_VN is Vietnamese.
        let flag = try CLI.sg(args + ["--lang", "vi"], cwd: w.path, env: ["SEALGATE_LANG": "en"])
        #expect(flag.stderr.hasPrefix("lỗi: usage: "), "\(flag.stderr)")
        let viVN = try CLI.sg(args, cwd: w.path, env: Self.locale("vi_VN.UTF-8"))
        #expect(viVN.stderr.hasPrefix("lỗi: usage: "), "\(viVN.stderr)")
    }

    @Test func departmentCommandsSpeakEnglishUnlessAsked() throws {
        let w = Workdir()
        let args = ["units", "list", "--data", "nowhere"]
        let c = try CLI.sg(args, cwd: w.path, env: Self.locale("C.UTF-8"))
        #expect(c.status != 0 && c.stderr.hasPrefix("error: "), "\(c.stderr)")
        let vi = try CLI.sg(args, cwd: w.path, env: Self.locale("vi_VN.UTF-8"))
        #expect(vi.stderr.hasPrefix("lỗi: "), "\(vi.stderr)")
        let env = try CLI.sg(args, cwd: w.path, env: ["SEALGATE_LANG": "vi"])
        #expect(env.stderr.hasPrefix("lỗi: ") && env.stderr.contains("chi tiết kỹ thuật: "), "\(env.stderr)")
    }

    /// --json keeps its keys (code, message, remedy, hint in English) and adds the language and
    /// the localized texts; the command line's hint has its Vietnamese words.
    @Test func jsonAndHintsInVietnamese() throws {
        let w = Workdir()
        let r = try CLI.sg(["keys", "generate", "signing", "--out", "u", "--json"], cwd: w.path, env: ["SEALGATE_LANG": "vi"])
        #expect(r.status == 77)
        let o = try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [String: Any]
        let e = o?["error"] as? [String: Any] ?? [:]
        #expect(e["code"] as? String == "passphrase_required")
        #expect((e["message"] as? String ?? "").contains("passphrase"), "the English message stays: \(e)")
        #expect((e["hint"] as? String ?? "").hasPrefix("--passphrase-file FILE"), "\(e)")
        #expect(e["lang"] as? String == "vi")
        #expect(e["localized_message"] as? String == "Cần mật khẩu nhưng không có cửa sổ dòng lệnh để hỏi.", "\(e)")
        #expect((e["localized_remedy"] as? String ?? "").contains("SEALGATE_PASSPHRASE"), "\(e)")
        #expect((e["localized_hint"] as? String ?? "").contains("mật khẩu của khóa mới"), "\(e)")
        let text = try CLI.sg(["keys", "generate", "signing", "--out", "u"], cwd: w.path, env: ["SEALGATE_LANG": "vi"])
        #expect(text.stderr.contains("\n  trên dòng lệnh: --passphrase-file TỆP (chế độ 0600)"), "\(text.stderr)")
    }

    /// `sealgate errors` lists every code in each language; the Vietnamese one is Vietnamese,
    /// its hints too (flags, commands, file names and placeholders aside), and a code has a hint
    /// in one language exactly when it has one in the other.
    @Test func theErrorListInBothLanguages() throws {
        let w = Workdir()
        func list(_ lang: String) throws -> [[String: Any]] {
            let r = try CLI.sg(["errors", "--lang", lang, "--json"], cwd: w.path)
            let o = try JSONSerialization.jsonObject(with: Data(r.stdout)) as? [String: Any]
            return (o?["result"] as? [String: Any])?["codes"] as? [[String: Any]] ?? []
        }
        let vi = try list("vi")
        let en = try list("en")
        #expect(vi.count >= 100 && vi.count == en.count)
        let hinted = { (l: [[String: Any]]) in Set(l.filter { $0["hint"] != nil }.compactMap { $0["code"] as? String }) }
        #expect(hinted(vi) == hinted(en) && hinted(vi).count >= 10)
        let vietnamese = Set("àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ")
        let english: Set<String> = ["the", "and", "is", "are", "not", "with", "give", "choose", "check", "file", "signs", "both", "names", "where"]
        for entry in vi {
            for key in ["message", "remedy", "hint"] {
                guard let s = entry[key] as? String else { continue }
                #expect(s.lowercased().contains { vietnamese.contains($0) }, "\(entry["code"] ?? "") \(key): \(s)")
                let prose = s.replacingOccurrences(
                    of: #"(sealgate( [a-z-]+)+|--[a-z0-9-]+|`[^`]*`|\S+\.\S+|[A-Z][A-Z0-9_]{2,})"#, with: " ", options: .regularExpression)
                let words = prose.lowercased().split { !$0.isLetter }.map(String.init).filter(english.contains)
                #expect(words.isEmpty, "\(entry["code"] ?? "") \(key): English \(words) in \(s)")
            }
        }
        for entry in en {
            let s = [entry["message"], entry["remedy"], entry["hint"]].compactMap { $0 as? String }.joined(separator: " ")
            #expect(!s.lowercased().contains { vietnamese.contains($0) }, "\(entry["code"] ?? ""): \(s)")
        }
        let md = try CLI.sg(["errors", "--unit-side", "--markdown"], cwd: w.path, env: Self.locale("C.UTF-8"))
        #expect(md.out.hasPrefix("| mã | nghĩa là | cách xử lý |\n") && md.out.contains("| `seq_conflict` | "), "\(md.out.prefix(300))")
    }

    /// seal's own lines in Vietnamese.
    @Test func sealSaysWhatItDidInVietnamese() throws {
        let w = Workdir()
        try requireOK(try CLI.sg(["keys", "generate", "signing", "--out", "u", "--unencrypted"], cwd: w.path))
        try requireOK(try CLI.sg(["keys", "generate", "recipient", "--out", "d", "--unencrypted"], cwd: w.path))
        w.write("notes.txt", "hello\n")
        let args = ["seal", "--kind", "files", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "u.key", "--to", "d.pub", "notes.txt"]
        let vi = try CLI.sg(args + ["-o", "p1.sgp", "--lang", "vi"], cwd: w.path)
        #expect(vi.status == 0 && vi.stderr.hasPrefix("đã niêm phong 1 tệp vào p1.sgp ("), "\(vi.stderr)")
        let en = try CLI.sg(args + ["-o", "p2.sgp"], cwd: w.path)
        #expect(en.status == 0 && en.stderr.hasPrefix("sealed 1 file(s) into p2.sgp ("), "\(en.stderr)")
    }

    /// A real request each way: `Accept-Language: vi` gets the Vietnamese title, detail and
    /// remedy (the English words kept beside them), anything else English; the code is the same,
    /// and the answer says its language and that it varies with the field.
    @Test func problemDocumentsFollowAcceptLanguage() throws {
        let w = Workdir()
        try requireOK(try CLI.sg(["init", "--data", "dept", "--unencrypted"], cwd: w.path))
        let gw = try GatewayProcess(data: "dept", cwd: w.path)
        defer { gw.stop() }
        func ask(_ acceptLanguage: String?, _ method: String = "GET", _ path: String = "/v1/nothing-here", body: [UInt8]? = nil) throws
            -> (RawHTTP.Response, [String: Any])
        {
            var headers: [String: String] = [:]
            if let acceptLanguage { headers["Accept-Language"] = acceptLanguage }
            if body != nil { headers["Content-Type"] = "application/vnd.sealgate.package" }
            let r = try RawHTTP.request(method, gw.url + path, headers: headers, body: body)
            return (r, try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any] ?? [:])
        }
        for (field, lang) in [
            ("vi", "vi"), ("vi-VN, en;q=0.5", "vi"), ("fr, vi;q=0.2", "vi"), ("en", "en"), ("en, vi;q=0.9", "en"), ("vi;q=0", "en"),
        ] {
            let (r, doc) = try ask(field)
            #expect(r.status == 404 && doc["code"] as? String == "not_found", "\(field): \(r.text)")
            #expect(r.headers["content-language"] == lang && r.headers["vary"] == "Accept-Language", "\(field): \(r.headers)")
            if lang == "vi" {
                #expect(doc["title"] as? String == "Không có địa chỉ này trên máy chủ.", "\(field): \(r.text)")
                #expect(doc["detail"] as? String == "Không có địa chỉ này trên máy chủ.", "\(field): \(r.text)")
                #expect(doc["remedy"] as? String == "Kiểm tra lại địa chỉ (xem docs/api.md).", "\(field): \(r.text)")
                #expect(doc["detail_en"] as? String == "no such resource", "\(field): \(r.text)")
            } else {
                #expect(doc["title"] as? String == "not_found" && doc["detail"] as? String == "no such resource", "\(field): \(r.text)")
                #expect(doc["detail_en"] == nil)
            }
        }
        let (plain, plainDoc) = try ask(nil)
        #expect(plain.headers["content-language"] == "en" && plainDoc["detail"] as? String == "no such resource")
        // A package refused at intake: the same code either way, the words in Vietnamese when asked.
        let (en, enDoc) = try ask("en", "POST", "/v1/packages", body: Array("not a package".utf8))
        let (vi, viDoc) = try ask("vi", "POST", "/v1/packages", body: Array("not a package".utf8))
        #expect(en.status == vi.status && enDoc["code"] as? String == viDoc["code"] as? String, "\(en.text) / \(vi.text)")
        let code = viDoc["code"] as? String ?? ""
        #expect(viDoc["title"] as? String == viDoc["detail"] as? String && (viDoc["detail"] as? String ?? "").contains("gói"), "\(vi.text)")
        #expect(viDoc["detail_en"] as? String == enDoc["detail"] as? String, "\(code): \(vi.text) / \(en.text)")
    }
}
