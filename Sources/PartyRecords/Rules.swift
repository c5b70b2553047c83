// `Language` (vi, en) is SealBase's, the same for record findings and error codes; it comes with PartyRecords.
@_exported public import SealBase

/// How serious a finding is: an error refuses the record; a warning reports a value that was
/// normalized (or is suspicious) and is accepted.
public enum Severity: String, Sendable, Codable, Comparable {
    case error, warning
    public static func < (a: Severity, b: Severity) -> Bool { a == .error && b == .warning }
}

/// A validation rule: stable code, severity, the column it concerns, messages in Vietnamese and
/// English, and an example (a bad value, and what it normalizes to when it can be).
public struct Rule: Sendable {
    public let code: String
    public let severity: Severity
    public let file: String
    public let column: String
    public let en: String
    public let vi: String
    public let example: String
    public let normalizedExample: String?

    public func message(_ lang: Language) -> String { lang == .vi ? vi : en }
    /// True for rules that report a normalization (the value was changed, not refused).
    public var isNormalization: Bool { severity == .warning && normalizedExample != nil }
}

/// Every rule, by code. docs/records.md is generated from this table (`sealgate validate --list-rules`).
public enum Rules {
    private static let m = "members.csv", o = "organizations.csv", c = "corrections.csv", f = "(any file)"

    public static let all: [Rule] = [
        // File level
        Rule(
            code: "file.csv_syntax", severity: .error, file: f, column: "",
            en: "The file is not valid CSV (RFC 4180), not UTF-8, or a value holds a control character; nothing after this line was read.",
            vi:
                "Tệp không đúng định dạng CSV (RFC 4180), không phải UTF-8, hoặc có ký tự điều khiển trong giá trị; phần sau dòng này không được đọc.",
            example: "a,\"b",
            normalizedExample: nil),
        Rule(
            code: "file.missing_column", severity: .error, file: f, column: "", en: "A required column is missing from the header.",
            vi: "Thiếu cột bắt buộc trong dòng tiêu đề.", example: "header without citizen_id", normalizedExample: nil),
        Rule(
            code: "file.unknown_column", severity: .error, file: f, column: "", en: "The header has a column this schema does not know.",
            vi: "Dòng tiêu đề có cột không thuộc lược đồ.", example: "Ghi chú", normalizedExample: nil),
        Rule(
            code: "file.duplicate_column", severity: .error, file: f, column: "", en: "The header names the same column twice.",
            vi: "Dòng tiêu đề có cột bị lặp.", example: "member_id,…,Số thẻ đảng viên", normalizedExample: nil),
        Rule(
            code: "row.field_count", severity: .error, file: f, column: "", en: "The row does not have as many fields as the header.",
            vi: "Số trường của dòng khác số cột của tiêu đề.", example: "1,Nguyễn Văn An", normalizedExample: nil),

        // Workbooks (.xlsx): cells as Excel typed them
        Rule(
            code: "cell.number_as_text", severity: .error, file: f, column: "",
            en: "An id was typed as a number (a CCCD, phone or party card number loses its leading zero): "
                + "format the column as Text and type the leading zero.",
            vi: "Số định danh được nhập dạng số (CCCD, số điện thoại, số thẻ đảng viên mất số 0 ở đầu): "
                + "định dạng cột là Văn bản (Text) và nhập lại số 0 ở đầu.",
            example: "79123456789 (a number)", normalizedExample: nil),
        Rule(
            code: "cell.error", severity: .error, file: f, column: "",
            en: "The cell shows an Excel error (#N/A, #VALUE!, #REF!, …) instead of a value: fix the formula or type the value.",
            vi: "Ô hiển thị lỗi của Excel (#N/A, #VALUE!, #REF!, …) thay vì giá trị: sửa công thức hoặc nhập giá trị.", example: "#N/A",
            normalizedExample: nil),

        // organizations.csv
        Rule(
            code: "org_id.required", severity: .error, file: o, column: "org_id", en: "The organization id is empty.",
            vi: "Mã tổ chức đang để trống.", example: "", normalizedExample: nil),
        Rule(
            code: "org_id.format", severity: .error, file: o, column: "org_id",
            en: "The organization id must be 2–40 of A–Z, 0–9 and '-', starting with a letter or digit.",
            vi: "Mã tổ chức phải gồm 2–40 ký tự A–Z, 0–9, '-', bắt đầu bằng chữ hoặc số.", example: "HCM U001/1", normalizedExample: nil),
        Rule(
            code: "org_id.normalized", severity: .warning, file: o, column: "org_id", en: "The organization id was trimmed or put in upper case.",
            vi: "Mã tổ chức đã được bỏ khoảng trắng thừa hoặc viết hoa.", example: " hcm-u001-c01", normalizedExample: "HCM-U001-C01"),
        Rule(
            code: "org_id.duplicate", severity: .error, file: o, column: "org_id", en: "The organization id appears twice in the unit.",
            vi: "Mã tổ chức bị trùng trong đơn vị.", example: "HCM-U001-C01 (twice)", normalizedExample: nil),
        Rule(
            code: "org_id.cross_unit", severity: .error, file: o, column: "org_id", en: "The organization id is also used by another unit.",
            vi: "Mã tổ chức trùng với mã của đơn vị khác.", example: "HCM-U002-C01 in HCM-U001", normalizedExample: nil),
        Rule(
            code: "name.required", severity: .error, file: o, column: "name", en: "The organization name is empty.", vi: "Tên tổ chức đang để trống.",
            example: "", normalizedExample: nil),
        Rule(
            code: "name.normalized", severity: .warning, file: o, column: "name",
            en: "The organization name was put in NFC or its spaces were tidied.",
            vi: "Tên tổ chức đã được chuẩn hóa Unicode (NFC) hoặc khoảng trắng.", example: "Chi  bộ khu phố 1 ", normalizedExample: "Chi bộ khu phố 1"
        ),
        Rule(
            code: "type.required", severity: .error, file: o, column: "type", en: "The organization type is empty.",
            vi: "Loại tổ chức đang để trống.", example: "", normalizedExample: nil),
        Rule(
            code: "type.invalid", severity: .error, file: o, column: "type",
            en: "The organization type must be unit_committee, grassroots_committee or cell.",
            vi: "Loại tổ chức phải là unit_committee, grassroots_committee hoặc cell.", example: "tổ đảng", normalizedExample: nil),
        Rule(
            code: "type.normalized", severity: .warning, file: o, column: "type",
            en: "The organization type was written another way (Vietnamese words, case) and was normalized.",
            vi: "Loại tổ chức được viết theo cách khác (tiếng Việt, chữ hoa) và đã được chuẩn hóa.", example: "Chi bộ", normalizedExample: "cell"),
        Rule(
            code: "parent_id.required", severity: .error, file: o, column: "parent_id", en: "Only the unit committee may have no parent.",
            vi: "Chỉ đảng bộ đơn vị được để trống tổ chức cấp trên.", example: "cell with empty parent_id", normalizedExample: nil),
        Rule(
            code: "parent_id.unexpected", severity: .error, file: o, column: "parent_id", en: "The unit committee must not have a parent.",
            vi: "Đảng bộ đơn vị không có tổ chức cấp trên.", example: "unit_committee with parent HCM", normalizedExample: nil),
        Rule(
            code: "parent_id.normalized", severity: .warning, file: o, column: "parent_id", en: "The parent id was trimmed or put in upper case.",
            vi: "Mã tổ chức cấp trên đã được bỏ khoảng trắng thừa hoặc viết hoa.", example: "hcm-u001", normalizedExample: "HCM-U001"),
        Rule(
            code: "parent_id.unknown", severity: .error, file: o, column: "parent_id", en: "The parent is not an organization of this file.",
            vi: "Tổ chức cấp trên không có trong tệp.", example: "HCM-U001-G99", normalizedExample: nil),
        Rule(
            code: "parent_id.cycle", severity: .error, file: o, column: "parent_id", en: "The parent chain loops back to this organization.",
            vi: "Chuỗi tổ chức cấp trên bị vòng lặp.", example: "A→B→A", normalizedExample: nil),
        Rule(
            code: "parent_id.cell_parent", severity: .error, file: o, column: "parent_id", en: "A cell cannot be the parent of another organization.",
            vi: "Chi bộ không thể là cấp trên của tổ chức khác.", example: "parent is a cell", normalizedExample: nil),
        Rule(
            code: "org.unit_committee_count", severity: .error, file: o, column: "type", en: "A unit has exactly one unit committee.",
            vi: "Mỗi đơn vị có đúng một đảng bộ đơn vị.", example: "none, or two", normalizedExample: nil),

        // members.csv
        Rule(
            code: "member_id.required", severity: .error, file: m, column: "member_id", en: "The party card number is empty.",
            vi: "Số thẻ đảng viên đang để trống.", example: "", normalizedExample: nil),
        Rule(
            code: "member_id.format", severity: .error, file: m, column: "member_id",
            en: "The party card number must be 1–20 of 0–9, A–Z, '.' and '-'.", vi: "Số thẻ đảng viên phải gồm 1–20 ký tự 0–9, A–Z, '.', '-'.",
            example: "79/0001", normalizedExample: nil),
        Rule(
            code: "member_id.normalized", severity: .warning, file: m, column: "member_id",
            en: "The party card number was trimmed or put in upper case.", vi: "Số thẻ đảng viên đã được bỏ khoảng trắng thừa hoặc viết hoa.",
            example: " 79.000123a", normalizedExample: "79.000123A"),
        Rule(
            code: "member_id.duplicate", severity: .error, file: m, column: "member_id", en: "The party card number appears twice in the unit.",
            vi: "Số thẻ đảng viên bị trùng trong đơn vị.", example: "7900000123 (twice)", normalizedExample: nil),
        Rule(
            code: "member_id.cross_unit", severity: .error, file: m, column: "member_id",
            en: "The party card number is also in another unit's records (a conflict for the Organization Committee).",
            vi: "Số thẻ đảng viên trùng với hồ sơ của đơn vị khác (cần Ban Tổ chức xử lý).", example: "same card in HCM-U001 and HCM-U002",
            normalizedExample: nil),
        Rule(
            code: "full_name.required", severity: .error, file: m, column: "full_name", en: "The full name is empty.", vi: "Họ và tên đang để trống.",
            example: "", normalizedExample: nil),
        Rule(
            code: "full_name.nfc", severity: .warning, file: m, column: "full_name",
            en: "The name was in decomposed Unicode (NFD) and was put in NFC.", vi: "Họ tên ở dạng Unicode tổ hợp (NFD) và đã được chuyển sang NFC.",
            example: "Nguyễn (NFD)", normalizedExample: "Nguyễn"),
        Rule(
            code: "full_name.spaces", severity: .warning, file: m, column: "full_name", en: "Stray spaces in the name were removed.",
            vi: "Khoảng trắng thừa trong họ tên đã được bỏ.", example: " Nguyễn  Văn An", normalizedExample: "Nguyễn Văn An"),
        Rule(
            code: "full_name.case", severity: .warning, file: m, column: "full_name", en: "The name was put in Vietnamese title case.",
            vi: "Họ tên đã được viết hoa chữ cái đầu mỗi từ.", example: "NGUYỄN văn an", normalizedExample: "Nguyễn Văn An"),
        Rule(
            code: "full_name.letters", severity: .error, file: m, column: "full_name", en: "A name holds letters only.",
            vi: "Họ tên chỉ gồm chữ cái.", example: "Nguyễn Văn An 2", normalizedExample: nil),
        Rule(
            code: "full_name.words", severity: .error, file: m, column: "full_name", en: "A full name has at least two words.",
            vi: "Họ và tên có ít nhất hai từ.", example: "An", normalizedExample: nil),
        Rule(
            code: "gender.required", severity: .error, file: m, column: "gender", en: "The gender is empty.", vi: "Giới tính đang để trống.",
            example: "", normalizedExample: nil),
        Rule(
            code: "gender.invalid", severity: .error, file: m, column: "gender", en: "The gender must be male or female (Nam, Nữ, M, F accepted).",
            vi: "Giới tính phải là male hoặc female (chấp nhận Nam, Nữ, M, F).", example: "x", normalizedExample: nil),
        Rule(
            code: "gender.normalized", severity: .warning, file: m, column: "gender", en: "The gender was written another way and was normalized.",
            vi: "Giới tính được viết theo cách khác và đã được chuẩn hóa.", example: "Nữ", normalizedExample: "female"),
        Rule(
            code: "date_of_birth.required", severity: .error, file: m, column: "date_of_birth", en: "The date of birth is empty.",
            vi: "Ngày sinh đang để trống.", example: "", normalizedExample: nil),
        Rule(
            code: "date_of_birth.format", severity: .warning, file: m, column: "date_of_birth",
            en: "The date of birth was written day first (dd/mm/yyyy) and was put as YYYY-MM-DD.",
            vi: "Ngày sinh viết dạng ngày/tháng/năm và đã được chuyển sang YYYY-MM-DD.", example: "07/03/1975", normalizedExample: "1975-03-07"),
        Rule(
            code: "date_of_birth.invalid", severity: .error, file: m, column: "date_of_birth",
            en: "The date of birth is not a real date in a known form.", vi: "Ngày sinh không phải ngày hợp lệ hoặc không đúng định dạng.",
            example: "1975-02-30", normalizedExample: nil),
        Rule(
            code: "date_of_birth.age", severity: .error, file: m, column: "date_of_birth", en: "The member's age today must be 18 to 120.",
            vi: "Tuổi của đảng viên hiện nay phải từ 18 đến 120.", example: "2012-01-01", normalizedExample: nil),
        Rule(
            code: "citizen_id.required", severity: .error, file: m, column: "citizen_id", en: "The citizen id (CCCD) is empty.",
            vi: "Số CCCD đang để trống.", example: "", normalizedExample: nil),
        Rule(
            code: "citizen_id.spaces", severity: .warning, file: m, column: "citizen_id", en: "Spaces were removed from the citizen id.",
            vi: "Đã bỏ khoảng trắng trong số CCCD.", example: "079 075 001234", normalizedExample: "079075001234"),
        Rule(
            code: "citizen_id.legacy_cmnd", severity: .error, file: m, column: "citizen_id",
            en: "This is a 9-digit legacy CMND number; the 12-digit CCCD is required.", vi: "Đây là số CMND 9 số cũ; cần số CCCD 12 số.",
            example: "023456789", normalizedExample: nil),
        Rule(
            code: "citizen_id.format", severity: .error, file: m, column: "citizen_id", en: "The citizen id must be exactly 12 digits.",
            vi: "Số CCCD phải có đúng 12 chữ số.", example: "07907500123", normalizedExample: nil),
        Rule(
            code: "citizen_id.province", severity: .error, file: m, column: "citizen_id", en: "Digits 1–3 of the citizen id are not a province code.",
            vi: "Ba số đầu của CCCD không phải mã tỉnh.", example: "003075001234", normalizedExample: nil),
        Rule(
            code: "citizen_id.century_digit", severity: .error, file: m, column: "citizen_id",
            en:
                "Digit 4 of the citizen id does not match the gender and century of birth (0/1: 1900s, 2/3: 2000s, 4/5: 2100s; even male, odd female).",
            vi: "Số thứ 4 của CCCD không khớp giới tính và thế kỷ sinh (0/1: 1900–1999, 2/3: 2000–2099, 4/5: 2100–2199; chẵn nam, lẻ nữ).",
            example: "079275001234 for a man born 1975", normalizedExample: nil),
        Rule(
            code: "citizen_id.birth_year", severity: .error, file: m, column: "citizen_id",
            en: "Digits 5–6 of the citizen id are not the last two digits of the birth year.",
            vi: "Số thứ 5–6 của CCCD không khớp hai số cuối năm sinh.", example: "079076001234 for 1975", normalizedExample: nil),
        Rule(
            code: "citizen_id.duplicate", severity: .error, file: m, column: "citizen_id", en: "The citizen id appears twice in the unit.",
            vi: "Số CCCD bị trùng trong đơn vị.", example: "079075001234 (twice)", normalizedExample: nil),
        Rule(
            code: "citizen_id.cross_unit", severity: .error, file: m, column: "citizen_id",
            en: "The same person (citizen id) is also in another unit's records (a conflict for the Organization Committee).",
            vi: "Cùng một người (số CCCD) có trong hồ sơ của đơn vị khác (cần Ban Tổ chức xử lý).", example: "same CCCD in HCM-U001 and HCM-U002",
            normalizedExample: nil),
        Rule(
            code: "date_joined.required", severity: .error, file: m, column: "date_joined", en: "The admission date is empty.",
            vi: "Ngày vào Đảng đang để trống.", example: "", normalizedExample: nil),
        Rule(
            code: "date_joined.format", severity: .warning, file: m, column: "date_joined",
            en: "The admission date was written day first and was put as YYYY-MM-DD.",
            vi: "Ngày vào Đảng viết dạng ngày/tháng/năm và đã được chuyển sang YYYY-MM-DD.", example: "19/05/2000", normalizedExample: "2000-05-19"),
        Rule(
            code: "date_joined.invalid", severity: .error, file: m, column: "date_joined",
            en: "The admission date is not a real date in a known form.", vi: "Ngày vào Đảng không hợp lệ.", example: "2000-13-01",
            normalizedExample: nil),
        Rule(
            code: "date_joined.future", severity: .error, file: m, column: "date_joined", en: "The admission date is in the future.",
            vi: "Ngày vào Đảng ở tương lai.", example: "2031-01-01", normalizedExample: nil),
        Rule(
            code: "date_joined.under_18", severity: .error, file: m, column: "date_joined", en: "The member was under 18 on the admission date.",
            vi: "Đảng viên chưa đủ 18 tuổi vào ngày vào Đảng.", example: "joined 1990-01-01, born 1975-03-07", normalizedExample: nil),
        Rule(
            code: "date_official.format", severity: .warning, file: m, column: "date_official",
            en: "The official date was written day first and was put as YYYY-MM-DD.",
            vi: "Ngày chính thức viết dạng ngày/tháng/năm và đã được chuyển sang YYYY-MM-DD.", example: "19/05/2001", normalizedExample: "2001-05-19"),
        Rule(
            code: "date_official.invalid", severity: .error, file: m, column: "date_official",
            en: "The official date is not a real date in a known form.", vi: "Ngày chính thức không hợp lệ.", example: "2001-02-29",
            normalizedExample: nil),
        Rule(
            code: "date_official.status", severity: .error, file: m, column: "date_official",
            en: "The official date is empty exactly when the status is probationary.",
            vi: "Ngày chính thức để trống khi và chỉ khi là đảng viên dự bị.", example: "official with no date", normalizedExample: nil),
        Rule(
            code: "date_official.too_early", severity: .error, file: m, column: "date_official",
            en: "The official date is at least 12 months after the admission date.", vi: "Ngày chính thức phải sau ngày vào Đảng ít nhất 12 tháng.",
            example: "joined 2000-05-19, official 2000-12-01", normalizedExample: nil),
        Rule(
            code: "date_official.future", severity: .error, file: m, column: "date_official", en: "The official date is in the future.",
            vi: "Ngày chính thức ở tương lai.", example: "2031-01-01", normalizedExample: nil),
        Rule(
            code: "status.required", severity: .error, file: m, column: "status", en: "The status is empty.", vi: "Trạng thái đang để trống.",
            example: "", normalizedExample: nil),
        Rule(
            code: "status.invalid", severity: .error, file: m, column: "status",
            en: "The status must be official or probationary (chính thức, dự bị accepted).",
            vi: "Trạng thái phải là official hoặc probationary (chấp nhận chính thức, dự bị).", example: "đã chuyển", normalizedExample: nil),
        Rule(
            code: "status.normalized", severity: .warning, file: m, column: "status", en: "The status was written another way and was normalized.",
            vi: "Trạng thái được viết theo cách khác và đã được chuẩn hóa.", example: "Chính thức", normalizedExample: "official"),
        Rule(
            code: "member_org.required", severity: .error, file: m, column: "org_id", en: "The member's organization (party cell) is empty.",
            vi: "Chi bộ của đảng viên đang để trống.", example: "", normalizedExample: nil),
        Rule(
            code: "member_org.normalized", severity: .warning, file: m, column: "org_id",
            en: "The member's organization id was trimmed or put in upper case.", vi: "Mã chi bộ đã được bỏ khoảng trắng thừa hoặc viết hoa.",
            example: "hcm-u001-c01", normalizedExample: "HCM-U001-C01"),
        Rule(
            code: "member_org.unknown", severity: .error, file: m, column: "org_id",
            en: "The member's organization is not in the unit's organizations.csv.",
            vi: "Chi bộ của đảng viên không có trong organizations.csv của đơn vị.", example: "HCM-U001-C999", normalizedExample: nil),
        Rule(
            code: "member_org.wrong_type", severity: .error, file: m, column: "org_id",
            en: "A member belongs to a cell or a grassroots committee, not to the unit committee.",
            vi: "Đảng viên thuộc chi bộ hoặc đảng bộ cơ sở, không thuộc trực tiếp đảng bộ đơn vị.", example: "HCM-U001", normalizedExample: nil),
        Rule(
            code: "phone.format", severity: .warning, file: m, column: "phone",
            en: "The phone number was written another way (+84, spaces, dots) and was normalized.",
            vi: "Số điện thoại được viết theo cách khác (+84, dấu cách, dấu chấm) và đã được chuẩn hóa.", example: "+84 912 345 678",
            normalizedExample: "0912345678"),
        Rule(
            code: "phone.invalid", severity: .error, file: m, column: "phone", en: "The phone number is not 10 digits starting with 0.",
            vi: "Số điện thoại không phải 10 chữ số bắt đầu bằng 0.", example: "091234", normalizedExample: nil),
        Rule(
            code: "phone.prefix", severity: .error, file: m, column: "phone",
            en: "The phone number's prefix is not a mobile prefix (03, 05, 07, 08, 09).",
            vi: "Đầu số không phải đầu số di động (03, 05, 07, 08, 09).", example: "0212345678", normalizedExample: nil),
        Rule(
            code: "email.invalid", severity: .error, file: m, column: "email", en: "The email address is not plausible.",
            vi: "Địa chỉ email không hợp lệ.", example: "an@", normalizedExample: nil),
        Rule(
            code: "email.normalized", severity: .warning, file: m, column: "email",
            en: "Spaces around the email address were removed and its domain put in lower case.",
            vi: "Đã bỏ khoảng trắng quanh email và viết thường tên miền.", example: " an@Gmail.com", normalizedExample: "an@gmail.com"),
        Rule(
            code: "ethnicity.normalized", severity: .warning, file: m, column: "ethnicity",
            en: "The ethnicity was put in NFC or its spaces were tidied.", vi: "Dân tộc đã được chuẩn hóa Unicode hoặc khoảng trắng.",
            example: "Kinh ", normalizedExample: "Kinh"),
        Rule(
            code: "hometown.normalized", severity: .warning, file: m, column: "hometown",
            en: "The hometown was put in NFC or its spaces were tidied.", vi: "Quê quán đã được chuẩn hóa Unicode hoặc khoảng trắng.",
            example: "Nam  Định", normalizedExample: "Nam Định"),
        Rule(
            code: "education.normalized", severity: .warning, file: m, column: "education",
            en: "The education was put in NFC or its spaces were tidied.", vi: "Trình độ đã được chuẩn hóa Unicode hoặc khoảng trắng.",
            example: " Đại học", normalizedExample: "Đại học"),

        // corrections.csv
        Rule(
            code: "correction.citizen_id", severity: .error, file: c, column: "citizen_id",
            en: "A correction names a member by a 12-digit citizen id.", vi: "Yêu cầu đính chính phải ghi số CCCD 12 số của đảng viên.",
            example: "12345", normalizedExample: nil),
        Rule(
            code: "correction.field", severity: .error, file: c, column: "field",
            en: "The field to correct must be a column of members.csv other than citizen_id.",
            vi: "Trường cần đính chính phải là một cột của members.csv (trừ citizen_id).", example: "salary", normalizedExample: nil),
        Rule(
            code: "correction.new_value", severity: .error, file: c, column: "new_value", en: "The new value breaks the rule of its field.",
            vi: "Giá trị mới không đúng quy tắc của trường.", example: "date_of_birth → 1975-02-30", normalizedExample: nil),
        Rule(
            code: "correction.unchanged", severity: .error, file: c, column: "new_value", en: "The new value equals the old value.",
            vi: "Giá trị mới trùng giá trị cũ.", example: "Kinh → Kinh", normalizedExample: nil),
        Rule(
            code: "correction.reason", severity: .error, file: c, column: "reason", en: "A correction gives its reason.",
            vi: "Yêu cầu đính chính phải ghi lý do.", example: "", normalizedExample: nil),
        Rule(
            code: "correction.reported_at", severity: .error, file: c, column: "reported_at", en: "reported_at must be an RFC 3339 time.",
            vi: "reported_at phải là thời điểm theo RFC 3339.", example: "27/11/2026", normalizedExample: nil),
    ]

    public static let byCode: [String: Rule] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

    public static func rule(_ code: String) -> Rule {
        guard let r = byCode[code] else { preconditionFailure("unknown rule \(code)") }
        return r
    }
}
