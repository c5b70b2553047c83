/// The three record files of `party-records/1`, their columns and the Vietnamese headings a
/// unit's spreadsheet would carry.
public enum RecordFile: String, Sendable, CaseIterable {
    case organizations = "organizations.csv"
    case members = "members.csv"
    case corrections = "corrections.csv"

    public var columns: [String] {
        switch self {
        case .organizations: return Self.organizationColumns
        case .members: return Self.memberColumns
        case .corrections: return Self.correctionColumns
        }
    }
    static let organizationColumns = ["org_id", "name", "type", "parent_id"]
    static let memberColumns = [
        "member_id", "full_name", "gender", "date_of_birth", "citizen_id", "date_joined", "date_official",
        "status", "org_id", "phone", "email", "ethnicity", "hometown", "education",
    ]
    static let correctionColumns = ["citizen_id", "field", "old_value", "new_value", "reason", "reported_at"]

    /// Columns that may be missing from the header (filled as empty).
    public var optionalColumns: Set<String> {
        switch self {
        case .members: return ["phone", "email", "ethnicity", "hometown", "education"]
        default: return []
        }
    }

    /// Vietnamese headings (compared after NFC, trimming and lower-casing).
    public var vietnameseHeadings: [String: String] {
        switch self {
        case .members: return Self.memberHeadings
        case .organizations: return Self.organizationHeadings
        case .corrections: return Self.correctionHeadings
        }
    }
    // Made once (a heading is looked up for every column of every file a package holds).
    static let memberHeadings = Self.headings(.members)
    static let organizationHeadings = Self.headings(.organizations)
    static let correctionHeadings = Self.headings(.corrections)

    private static func headings(_ file: RecordFile) -> [String: String] {
        switch file {
        case .members:
            return [
                "số thẻ đảng viên": "member_id", "họ và tên": "full_name", "họ tên": "full_name", "giới tính": "gender",
                "ngày sinh": "date_of_birth", "số cccd": "citizen_id", "ngày vào đảng": "date_joined",
                "ngày chính thức": "date_official", "trạng thái": "status", "chi bộ": "org_id", "số điện thoại": "phone",
                "email": "email", "dân tộc": "ethnicity", "quê quán": "hometown", "trình độ": "education",
            ]
        case .organizations:
            return [
                "mã tổ chức": "org_id", "tên tổ chức": "name", "loại": "type", "loại tổ chức": "type", "mã tổ chức cấp trên": "parent_id",
                "tổ chức cấp trên": "parent_id",
            ]
        case .corrections:
            return [
                "số cccd": "citizen_id", "trường": "field", "giá trị cũ": "old_value", "giá trị mới": "new_value", "lý do": "reason",
                "thời điểm báo": "reported_at",
            ]
        }
    }

    /// Which file a header belongs to, from the file name or else the columns.
    public static func detect(fileName: String, header: [String]) -> RecordFile? {
        if let f = RecordFile(rawValue: fileName) { return f }
        let cols = Set(
            header.compactMap {
                RecordFile.members.canonicalColumn($0) ?? RecordFile.organizations.canonicalColumn($0) ?? RecordFile.corrections.canonicalColumn($0)
            })
        if cols.contains("full_name") || cols.contains("member_id") { return .members }
        if cols.contains("field") && cols.contains("new_value") { return .corrections }
        if cols.contains("type") && cols.contains("name") { return .organizations }
        return nil
    }

    /// The schema column a heading means, or nil.
    public func canonicalColumn(_ heading: String) -> String? {
        // A heading that is a column's name already (lower-case ASCII, no space) is that column.
        if columns.contains(heading) { return heading }
        let h = Text.lower(Text.collapseSpaces(Text.nfc(heading)))
        if columns.contains(h) { return h }
        return vietnameseHeadings[h]
    }
}
