public import SealBase

/// What the unit-side commands say besides their errors' texts, in both languages: one table
/// (`Words.en`, `Words.vi`), read as `Words.now` (the command's language, `CommandLanguage`).
/// The errors' own texts are SealBase's catalogues (`SealErrorCode.text`).
public struct Words: Sendable {
    // The error printer's labels (docs/errors.md).
    public let error: String
    public let whatToDo: String
    public let onCommandLine: String
    public let technicalDetail: String
    public let cause: String
    public let warning: String

    // seal
    public let sealed: @Sendable (_ files: Int, _ path: String, _ bytes: UInt64) -> String
    // trust fetch
    public let trustVerified: @Sendable (_ version: UInt64, _ department: String, _ expires: String, _ file: String) -> String
    public let rootRotated: @Sendable (_ old: String, _ new: String, _ root: String) -> String
    /// A kept trust document near or past its expiry (the notice's English message, its seconds left).
    public let trustNotice: @Sendable (_ notice: String, _ secondsLeft: Int64, _ file: String, _ version: UInt64) -> String
    // receipt verify
    public let receiptVerified: @Sendable (_ package: String, _ unit: String, _ seq: String, _ status: String, _ leaf: Int64) -> String
    // submit
    public let receiptChecked: @Sendable (_ leaf: Int64) -> String
    public let alreadyReceived: @Sendable (_ status: String, _ reduced: Bool) -> String
    public let refusedByGateway: String
    /// A receipt's status (`accepted`, `rejected`, …) as a person reads it.
    public let status: @Sendable (String) -> String
    // the unit profile (unit init/show/send, seal and submit with a profile)
    public let profileWritten: @Sendable (_ path: String, _ unit: String) -> String
    public let nextSeq: @Sendable (_ seq: UInt64) -> String
    public let sealedWithSeq: @Sendable (_ files: Int, _ path: String, _ bytes: UInt64, _ seq: UInt64) -> String
    public let submitNext: String
    public let nothingToSubmit: @Sendable (_ folder: String) -> String
    public let trustKeptUsed: @Sendable (_ code: String) -> String
    public let seqTakenResolved: @Sendable (_ next: UInt64) -> String
    public let submitted: @Sendable (_ package: String, _ http: Int, _ status: String, _ code: String?, _ verified: Bool) -> String
    public let profileSummary: @Sendable (_ unit: String, _ gateway: String, _ path: String) -> String
    public let nextSeqKnown: @Sendable (_ next: UInt64, _ gatewayLast: UInt64?) -> String
    public let historyLine:
        @Sendable (_ seq: UInt64, _ kind: String, _ package: String, _ sealedAt: String, _ status: String?, _ code: String?) -> String
    // corrections in a receipt
    public let correctionsAllApplied: @Sendable (_ applied: Int) -> String
    public let correctionsSomeNotApplied: @Sendable (_ applied: Int, _ notApplied: Int) -> String
    public let correctionRow: @Sendable (_ line: Int, _ field: String, _ code: String, _ detail: String) -> String

    public static var now: Words { of(CommandLanguage.current) }

    public static func of(_ lang: Language) -> Words {
        switch lang {
        case .vi: return vi
        case .en: return en
        }
    }

    public static let en = Words(
        error: "error", whatToDo: "what to do", onCommandLine: "on the command line", technicalDetail: "technical detail", cause: "cause",
        warning: "warning",
        sealed: { files, path, bytes in "sealed \(files) file(s) into \(path) (\(bytes) bytes)" },
        trustVerified: { v, dept, expires, file in "trust document version \(v) of \(dept) verified (expires \(expires)); saved to \(file)" },
        rootRotated: { old, new, root in
            "the department's trust root changed from \(old) to \(new) (signed by both); \(root) now pins the new root"
        },
        trustNotice: { notice, _, file, version in
            "\(notice); fetch it again (sealgate trust fetch --gateway URL --root ROOT.pub -o \(file)), and if it is still version \(version), tell the department"
        },
        receiptVerified: { package, unit, seq, status, leaf in
            "receipt verified (signature, and inclusion in the signed log checkpoint): package \(package) of \(unit) seq \(seq) — \(status), leaf \(leaf)"
        },
        receiptChecked: { leaf in "receipt verified, leaf \(leaf)" },
        alreadyReceived: { status, reduced in
            "already received, decided \(status)\(reduced ? " (the full receipt: submit with the unit's token, SEALGATE_TOKEN)" : " (its first receipt)")"
        },
        refusedByGateway: "refused",
        status: { $0 },
        profileWritten: { path, unit in "wrote the unit profile \(path) for \(unit)" },
        nextSeq: { "the next package will be seq \($0)" },
        sealedWithSeq: { files, path, bytes, seq in "sealed \(files) file(s) into \(path) (\(bytes) bytes), seq \(seq)" },
        submitNext: "next: sealgate submit (sends what this folder has sealed and not yet submitted)",
        nothingToSubmit: { "nothing to submit: every package sealed from \($0) has an answer" },
        trustKeptUsed: { "the trust document could not be fetched again (\($0)); using the one kept" },
        seqTakenResolved: { "the next seal from this folder takes seq \($0) by itself: seal the records again, then submit" },
        submitted: { package, http, status, code, verified in
            "\(package): \(http) \(status)\(code.map { " — \($0)" } ?? "")\(verified ? " · receipt verified (signature and log inclusion)" : "")"
        },
        profileSummary: { unit, gateway, path in "unit \(unit) · gateway \(gateway) · profile \(path)" },
        nextSeqKnown: { next, last in "next seq: \(next)\(last.map { " (the gateway's last: \($0))" } ?? "")" },
        historyLine: { seq, kind, package, sealedAt, status, code in
            "  seq \(seq) \(kind) \(package) · sealed \(sealedAt) · \(status ?? "not submitted")\(code.map { " (\($0))" } ?? "")"
        },
        correctionsAllApplied: { "corrections: all \($0) applied" },
        correctionsSomeNotApplied: { applied, not in "corrections: \(applied) applied, \(not) NOT applied — check these lines of corrections.csv:" },
        correctionRow: { line, field, code, detail in "  line \(line) (\(field)): \(code) — \(detail)" })

    public static let vi = Words(
        error: "lỗi", whatToDo: "cách xử lý", onCommandLine: "trên dòng lệnh", technicalDetail: "chi tiết kỹ thuật", cause: "nguyên nhân",
        warning: "cảnh báo",
        sealed: { files, path, bytes in "đã niêm phong \(files) tệp vào \(path) (\(bytes) byte)" },
        trustVerified: { v, dept, expires, file in
            "đã kiểm tra tệp tin cậy phiên bản \(v) của \(dept) (hết hạn \(expires)); đã lưu vào \(file)"
        },
        rootRotated: { old, new, root in
            "khóa gốc của Ban Tổ chức đã đổi từ \(old) sang \(new) (cả hai khóa cùng ký); \(root) nay giữ khóa gốc mới"
        },
        trustNotice: { _, left, file, version in
            let s = left.magnitude
            let amount = s >= 2 * 86_400 ? "\(s / 86_400) ngày" : s >= 2 * 3_600 ? "\(s / 3_600) giờ" : "\(max(s / 60, 1)) phút"
            return "tệp tin cậy phiên bản \(version) \(left > 0 ? "sẽ hết hạn sau \(amount)" : "đã hết hạn \(amount) trước")"
                + "; hãy tải lại (sealgate trust fetch --gateway URL --root ROOT.pub -o \(file)), nếu vẫn là phiên bản \(version) thì báo cho Ban Tổ chức"
        },
        receiptVerified: { package, unit, seq, status, leaf in
            "biên nhận hợp lệ (đúng chữ ký, có trong nhật ký công khai đã ký): gói \(package) của \(unit), số thứ tự \(seq) — \(status), mục nhật ký \(leaf)"
        },
        receiptChecked: { leaf in "biên nhận hợp lệ, mục nhật ký \(leaf)" },
        alreadyReceived: { status, reduced in
            "đã nhận từ trước, kết quả: \(status)\(reduced ? " (muốn có biên nhận đầy đủ: gửi kèm mã truy cập của đơn vị, SEALGATE_TOKEN)" : " (biên nhận lần đầu)")"
        },
        refusedByGateway: "bị từ chối",
        status: { s in
            switch s {
            case "accepted": return "đã tiếp nhận (accepted)"
            case "rejected": return "bị từ chối (rejected)"
            case "duplicate": return "gửi trùng (duplicate)"
            default: return s
            }
        },
        profileWritten: { path, unit in "đã ghi hồ sơ đơn vị \(path) cho \(unit)" },
        nextSeq: { "gói tiếp theo sẽ mang số thứ tự \($0)" },
        sealedWithSeq: { files, path, bytes, seq in "đã niêm phong \(files) tệp vào \(path) (\(bytes) byte), số thứ tự \(seq)" },
        submitNext: "bước tiếp: sealgate submit (gửi các gói đã niêm phong trong thư mục này mà chưa gửi)",
        nothingToSubmit: { "không có gì để gửi: mọi gói niêm phong trong \($0) đều đã có kết quả" },
        trustKeptUsed: { "không tải lại được tệp tin cậy (\($0)); dùng tệp đang giữ" },
        seqTakenResolved: { "lần niêm phong sau trong thư mục này tự dùng số thứ tự \($0): hãy niêm phong lại dữ liệu rồi gửi" },
        submitted: { package, http, status, code, verified in
            "\(package): \(http) \(status)\(code.map { " — \($0)" } ?? "")\(verified ? " · biên nhận hợp lệ (đúng chữ ký, có trong nhật ký công khai)" : "")"
        },
        profileSummary: { unit, gateway, path in "đơn vị \(unit) · cổng tiếp nhận \(gateway) · hồ sơ \(path)" },
        nextSeqKnown: { next, last in "số thứ tự tiếp theo: \(next)\(last.map { " (số cổng đã dùng gần nhất: \($0))" } ?? "")" },
        historyLine: { seq, kind, package, sealedAt, status, code in
            let s: String
            switch status {
            case nil: s = "chưa gửi"
            case "accepted": s = "đã tiếp nhận"
            case "rejected": s = "bị từ chối"
            case "refused": s = "bị từ chối trước khi xét"
            case let other?: s = other
            }
            return "  số thứ tự \(seq) \(kind) \(package) · niêm phong \(sealedAt) · \(s)\(code.map { " (\($0))" } ?? "")"
        },
        correctionsAllApplied: { "đính chính: đã áp dụng cả \($0) dòng" },
        correctionsSomeNotApplied: { applied, not in
            "đính chính: đã áp dụng \(applied) dòng, \(not) dòng KHÔNG được áp dụng — xem lại các dòng này trong corrections.csv:"
        },
        correctionRow: { line, field, code, detail in
            "  dòng \(line) (\(field)): \(code) — \(correctionRowVI[code] ?? SealErrorCode(code).text(.vi).message) (chi tiết kỹ thuật: \(detail))"
        })

    /// The codes a receipt gives a correction row it did not apply (not error codes: a row's own).
    public static let correctionRowVI: [String: String] = [
        "correction_no_member": "dữ liệu hiện có của đơn vị không có đảng viên với số CCCD này",
        "correction_old_value_mismatch": "giá trị đang lưu khác với giá trị cũ (old_value) đã ghi; xem lại dữ liệu hiện có của đảng viên",
        "correction_duplicate_id":
            "một đảng viên khác của đơn vị đã có số thẻ đảng viên này; xem lại dữ liệu của các đảng viên rồi gửi lại đính chính",
    ]
}
