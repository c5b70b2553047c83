/// The language sealgate speaks to a person in: Vietnamese (the units' clerks) or English.
public enum Language: String, Sendable, CaseIterable {
    case vi
    case en
}

/// What a code means in one language, for a person: the general meaning (`message`) and what to
/// do (`remedy`). The specific English detail of one occurrence stays in `SealError.message`.
public struct CodeText: Sendable, Equatable {
    public let message: String
    public let remedy: String

    public init(_ message: String, remedy: String) {
        self.message = message
        self.remedy = remedy
    }
}

/// One catalogue per language, keyed by code (ErrorTextEN.swift, ErrorTextVI.swift): every code
/// of `SealErrorCode.catalogue` has a text in each, and neither has a code that is not in it
/// (ErrorTextTests holds the three together, and each text to its language).
public enum ErrorText {
    public static func catalogue(_ lang: Language) -> [SealErrorCode: CodeText] {
        switch lang {
        case .vi: return vi
        case .en: return en
        }
    }

    /// The codes a unit's clerk can meet (sealing, submitting, fetching the trust document,
    /// checking a receipt): the clerk's guide (docs/vi/huong-dan-don-vi.md) lists them with their
    /// Vietnamese texts, `markdownTable` prints that table.
    public static let unitCodes: [SealErrorCode] = [
        .usage, .ioError, .outputExists, .inputChanged, .recordsUnreadable, .recordsInvalid,
        .workbookMalformed, .workbookTooLarge, .workbookUnsafe, .profileMissing, .profileInvalid, .profileExists,
        .keyMalformed, .keyUnsupported, .keyWrongPassphrase, .keyFilePermissions, .keyFileExists, .passphraseRequired,
        .ageRecipientMalformed, .ageRecipientsMixed, .tokenUnavailable, .tokenPinRefused, .tokenKeyMissing, .malformedDocument,
        .trustMissing, .trustInvalid, .trustExpired, .trustRollback,
        .httpError, .httpTimeout, .tlsUntrusted, .tlsFailed, .tlsClientRefused, .responseTooLarge,
        .unauthorized, .forbidden, .tokenUnitMismatch,
        .packageTooLarge, .containerMalformed, .signatureMalformed, .keyUnknown, .keyState, .commentMalformed, .unitMismatch,
        .signatureInvalid, .commentSignatureInvalid, .kindNotAccepted, .seqOutOfRange,
        .seqConflict, .seqNotIncreasing, .recipientNotAccepted, .recipientRetired, .payloadMalformed, .manifestMismatch,
        .fileHashMismatch, .recordCountMismatch, .correctionsTooMany, .ageHeaderMalformed, .ageNoMatchingIdentity,
        .agePayloadCorrupt, .receiptInvalid,
        .cryptoFailure, .storeUnavailable, .storeFailure, .intakeFault, .internalError,
    ]

    /// A Markdown table of `codes` in `lang`: code, what it means, what to do (the clerk's
    /// guide's table; `sealgate errors --markdown` prints it).
    public static func markdownTable(_ lang: Language, codes: [SealErrorCode]) -> String {
        let head = lang == .vi ? "| mã | nghĩa là | cách xử lý |\n|---|---|---|\n" : "| code | meaning | what to do |\n|---|---|---|\n"
        return head
            + codes.map { c in
                let t = c.text(lang)
                return "| `\(c.rawValue)` | \(cell(t.message)) | \(cell(t.remedy)) |\n"
            }.joined()
    }

    private static func cell(_ s: String) -> String { s.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }
}

extension SealErrorCode {
    /// The code's text in `lang`; a code no catalogue holds (an `http_<status>` of the HTTP
    /// layer) gets a general sentence naming it.
    public func text(_ lang: Language) -> CodeText {
        if let t = ErrorText.catalogue(lang)[self] { return t }
        switch lang {
        case .vi:
            return CodeText("Yêu cầu bị từ chối (mã \(rawValue)).", remedy: "Ghi lại mã này và hỏi Ban Tổ chức.")
        case .en:
            return CodeText("The request was refused (code \(rawValue)).", remedy: "Note the code and see docs/errors.md, or ask the department.")
        }
    }
}

extension Language {
    /// The language a locale names (the first of LC_ALL, LC_MESSAGES and LANG that is set, as
    /// POSIX reads them): `vi…` is Vietnamese, `en…` English; nil for any other (C, POSIX, …).
    public static func fromLocale(_ environment: [String: String]) -> Language? {
        guard let value = ["LC_ALL", "LC_MESSAGES", "LANG"].lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) else {
            return nil
        }
        return primary(value)
    }

    /// `vi`, `vi_VN.UTF-8`, `vi-VN` → vi; `en…` → en; anything else nil.
    public static func primary(_ tag: String) -> Language? {
        let lower = tag.lowercased()
        let separators: [String] = ["_", "-", ".", "@"]
        for l in Language.allCases {
            if lower == l.rawValue { return l }
            for s in separators where lower.hasPrefix(l.rawValue + s) { return l }
        }
        return nil
    }

    /// The language an HTTP `Accept-Language` field asks for (RFC 9110, section 12.5.4): each
    /// language range with its weight (`q`, 1 when absent, 0 meaning "not this one"); a range
    /// matches a language when it is the language or a longer tag of it (`vi-VN`), `*` matches
    /// any. The language with the highest weight wins, the earlier range on a tie; English when
    /// the field is absent, malformed or accepts neither.
    public static func negotiate(acceptLanguage field: String?) -> Language {
        guard let field, field.utf8.count <= 4096 else { return .en }
        var best: (lang: Language, q: Double, at: Int)?
        var weights: [Language: (q: Double, at: Int, specific: Bool)] = [:]
        for (at, item) in field.split(separator: ",", omittingEmptySubsequences: true).prefix(64).enumerated() {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: " \t") }
            guard let range = parts.first, !range.isEmpty else { continue }
            var q = 1.0
            for p in parts.dropFirst() {
                let kv = p.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " \t") }
                guard kv.count == 2, kv[0].lowercased() == "q" else { continue }
                // A weight that is not a qvalue (0 to 1, three decimals at most) counts as 0.
                let v = Double(kv[1]).flatMap { (0...1).contains($0) && kv[1].utf8.count <= 5 ? $0 : nil }
                q = v ?? 0
            }
            for l in Language.allCases {
                let specific: Bool
                if range == "*" {
                    specific = false
                } else if primary(range) == l, !range.contains("_"), !range.contains(".") {
                    specific = true
                } else {
                    continue
                }
                // The most specific range that matches decides a language's weight (a `*` never
                // overrides a range naming it).
                if let w = weights[l], w.specific || !specific { continue }
                weights[l] = (q, at, specific)
            }
        }
        // English first: a tie in weight and place (`*` alone) stays English.
        for l in [Language.en, .vi] {
            guard let w = weights[l], w.q > 0 else { continue }
            if let b = best, b.q > w.q || (b.q == w.q && b.at <= w.at) { continue }
            best = (l, w.q, w.at)
        }
        return best?.lang ?? .en
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
