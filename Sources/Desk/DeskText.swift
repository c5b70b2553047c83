public import SealBase

/// Every word the desk shows, by key: one catalogue per language (`DeskText.vi`, `DeskText.en`).
/// DeskTextTests holds both to every key, and every page to these words only.
enum DeskKey: String, CaseIterable, Sendable {
    case appName
    case unitLabel
    case navHome
    case navCorrection
    case navHistory
    case switchLanguage
    case whatToDo
    case technicalDetail
    case setupTitle
    case setupIntro
    case setupFolder
    case setupUnit
    case setupUnitHint
    case setupGateway
    case setupGatewayHint
    case setupRoot
    case setupRootHint
    case setupKey
    case setupKeyHint
    case setupToken
    case setupTokenHint
    case setupCA
    case setupCAHint
    case setupSave
    case setupOrCommand
    case setupCommand
    case homeTitle
    case homeIntro
    case nextSeq
    case gatewayLabel
    case lastPackage
    case batchWaiting
    case openFindings
    case stepChoose
    case stepCorrections
    case openCorrectionForm
    case chooseFiles
    case chooseFilesHint
    case checkFiles
    case checkAgain
    case findingsTitle
    case noBatch
    case filesUnreadable
    case countOrganizations
    case countMembers
    case countCorrections
    case countErrors
    case countWarnings
    case hasErrors
    case noErrors
    case downloadCSV
    case findingsTruncated
    case colFile
    case colRow
    case colColumn
    case colRule
    case colSeverity
    case colValue
    case colMessage
    case colFix
    case severityError
    case severityWarning
    case fixNormalized
    case fixExample
    case fixWrongExample
    case fixSeeMessage
    case stepSeal
    case sealIntro
    case passphrase
    case passphraseHint
    case sealAndSend
    case stepFixAgain
    case fixAgainIntro
    case jobCheck
    case jobSend
    case jobResend
    case jobRunning
    case jobRefreshes
    case stageCheck
    case stageTrust
    case stageHash
    case stageSeal
    case stageSend
    case packageTitle
    case sendFailed
    case packageKept
    case sendAgain
    case receiptTitle
    case outcomeAccepted
    case outcomeRefused
    case recUnit
    case recSeq
    case recPackage
    case recKind
    case recDecidedAt
    case recSealedAt
    case recOutcome
    case recCode
    case recSha256
    case recChecks
    case sigChecked
    case sigNotChecked
    case logChecked
    case logNotChecked
    case firstCheckedAt
    case printReceipt
    case printHint
    case historyTitle
    case historyEmpty
    case statusNotSent
    case statusAccepted
    case statusRefused
    case correctionTitle
    case correctionIntro
    case correctionAdd
    case correctionAddButton
    case correctionCheck
    case correctionClear
    case corCitizen
    case corField
    case corOld
    case corNew
    case corReason
    case corReported
    case corReportedHint
    case notFoundTitle
    case notFound
}

enum DeskText {
    /// One language's words; a key missing from it (DeskTextTests forbids it) shows as the key.
    struct Table: Sendable {
        let words: [DeskKey: String]
        subscript(_ k: DeskKey) -> String { words[k] ?? k.rawValue }
    }

    static func table(_ lang: Language) -> Table {
        switch lang {
        case .vi: return Table(words: vi)
        case .en: return Table(words: en)
        }
    }

    static let vi: [DeskKey: String] = [
        .appName: "Bàn làm việc sealgate",
        .unitLabel: "Đơn vị",
        .navHome: "Nộp dữ liệu",
        .navCorrection: "Đính chính",
        .navHistory: "Lịch sử",
        .switchLanguage: "English",
        .whatToDo: "Cách xử lý:",
        .technicalDetail: "Chi tiết kỹ thuật",
        .setupTitle: "Thiết lập đơn vị",
        .setupIntro: "Thư mục này chưa có hồ sơ đơn vị. Điền một lần các thông tin Ban Tổ chức đã cấp; từ đó về sau không phải nhập lại.",
        .setupFolder: "Hồ sơ sẽ được ghi trong thư mục",
        .setupUnit: "Mã đơn vị",
        .setupUnitHint: "Như đã đăng ký với Ban Tổ chức, ví dụ HCM-U001.",
        .setupGateway: "Địa chỉ cổng tiếp nhận",
        .setupGatewayHint: "Ví dụ https://cong.example.vn",
        .setupRoot: "Tệp khóa gốc tin cậy (root.pub)",
        .setupRootHint: "Đường dẫn tới tệp root.pub Ban Tổ chức đã giao (tính từ thư mục này, hoặc đường dẫn đầy đủ).",
        .setupKey: "Tệp khóa ký của đơn vị",
        .setupKeyHint: "Đường dẫn tới tệp khóa bí mật của đơn vị (tệp .key).",
        .setupToken: "Tệp mã truy cập (nếu có)",
        .setupTokenHint: "Chỉ khi cổng tiếp nhận yêu cầu mã truy cập của đơn vị.",
        .setupCA: "Chứng chỉ gốc riêng (nếu có)",
        .setupCAHint: "Chỉ khi Ban Tổ chức dùng chứng chỉ gốc (CA) riêng cho cổng tiếp nhận.",
        .setupSave: "Lưu hồ sơ đơn vị",
        .setupOrCommand: "Hoặc thiết lập bằng dòng lệnh:",
        .setupCommand: "sealgate unit init --unit … --gateway … --root … --signing-key …",
        .homeTitle: "Nộp dữ liệu đảng viên",
        .homeIntro: "Chọn tệp dữ liệu, xem kết quả kiểm tra, sửa nếu có lỗi, rồi niêm phong và gửi. Số thứ tự gói do phần mềm tự đếm.",
        .nextSeq: "Gói tiếp theo số",
        .gatewayLabel: "Cổng tiếp nhận",
        .lastPackage: "Gói gần nhất:",
        .batchWaiting: "Có tệp đã kiểm tra đang chờ.",
        .openFindings: "Xem kết quả kiểm tra",
        .stepChoose: "1. Chọn tệp dữ liệu",
        .stepCorrections: "Đính chính theo phản ánh của đảng viên",
        .openCorrectionForm: "Mở biểu mẫu đính chính",
        .chooseFiles: "Tệp dữ liệu",
        .chooseFilesHint:
            "Tệp Excel (.xlsx) có các trang tổ chức và đảng viên, hoặc hai tệp organizations.csv và members.csv (hoặc tệp corrections.csv).",
        .checkFiles: "Kiểm tra",
        .checkAgain: "Kiểm tra lại",
        .findingsTitle: "Kết quả kiểm tra",
        .noBatch: "Chưa có tệp nào được kiểm tra.",
        .filesUnreadable: "Không đọc được tệp đã chọn.",
        .countOrganizations: "Tổ chức đảng",
        .countMembers: "Đảng viên",
        .countCorrections: "Dòng đính chính",
        .countErrors: "Lỗi",
        .countWarnings: "Cảnh báo",
        .hasErrors: "Dữ liệu còn lỗi: sửa các dòng trong bảng dưới đây trong tệp gốc, rồi chọn lại tệp và kiểm tra lại. Chưa có gì được niêm phong.",
        .noErrors: "Dữ liệu không có lỗi: có thể niêm phong và gửi.",
        .downloadCSV: "Tải bảng kết quả (CSV, mở bằng Excel)",
        .findingsTruncated: "Bảng chỉ hiện một phần; tệp tải về có đủ các dòng đã ghi nhận:",
        .colFile: "Tệp / trang",
        .colRow: "Dòng",
        .colColumn: "Cột",
        .colRule: "Quy tắc",
        .colSeverity: "Mức",
        .colValue: "Giá trị",
        .colMessage: "Thông báo",
        .colFix: "Cách sửa",
        .severityError: "lỗi",
        .severityWarning: "cảnh báo",
        .fixNormalized: "Đã tự chuẩn hóa thành:",
        .fixExample: "Ví dụ:",
        .fixWrongExample: "Ví dụ giá trị sai:",
        .fixSeeMessage: "Xem thông báo.",
        .stepSeal: "2. Niêm phong và gửi",
        .sealIntro: "Nhập mật khẩu của khóa ký đơn vị. Mật khẩu chỉ dùng cho lần niêm phong này, không được lưu lại.",
        .passphrase: "Mật khẩu khóa ký",
        .passphraseHint: "Phân biệt chữ hoa, chữ thường và dấu cách.",
        .sealAndSend: "Niêm phong và gửi",
        .stepFixAgain: "Sửa rồi kiểm tra lại",
        .fixAgainIntro: "Sau khi sửa tệp gốc, chọn lại tệp để kiểm tra lại.",
        .jobCheck: "Đang kiểm tra dữ liệu",
        .jobSend: "Đang niêm phong và gửi",
        .jobResend: "Đang gửi lại",
        .jobRunning: "Vui lòng chờ trong giây lát…",
        .jobRefreshes: "Trang tự cập nhật mỗi giây; không cần bấm gì.",
        .stageCheck: "Kiểm tra từng dòng dữ liệu",
        .stageTrust: "Lấy tài liệu tin cậy của Ban Tổ chức",
        .stageHash: "Tính mã băm các tệp",
        .stageSeal: "Mã hóa và ký gói dữ liệu",
        .stageSend: "Gửi gói tới cổng tiếp nhận",
        .packageTitle: "Gói chưa gửi được",
        .sendFailed: "Chưa gửi được gói dữ liệu.",
        .packageKept: "Gói đã được niêm phong và lưu lại, không mất gì. Hãy thử gửi lại (khi có mạng hoặc khi cổng tiếp nhận hoạt động trở lại).",
        .sendAgain: "Gửi lại",
        .receiptTitle: "Biên nhận",
        .outcomeAccepted: "Cổng tiếp nhận đã nhận gói dữ liệu.",
        .outcomeRefused: "Cổng tiếp nhận đã từ chối gói dữ liệu; xem mã lỗi dưới đây.",
        .recUnit: "Đơn vị",
        .recSeq: "Số thứ tự gói",
        .recPackage: "Mã gói",
        .recKind: "Loại gói",
        .recDecidedAt: "Thời điểm tiếp nhận",
        .recSealedAt: "Thời điểm niêm phong",
        .recOutcome: "Kết quả",
        .recCode: "Mã lỗi",
        .recSha256: "Mã băm SHA-256",
        .recChecks: "Kiểm tra biên nhận",
        .sigChecked: "Chữ ký của cổng tiếp nhận trên biên nhận này đã được kiểm tra và hợp lệ.",
        .sigNotChecked: "Chưa kiểm tra được chữ ký của cổng tiếp nhận trên biên nhận này.",
        .logChecked: "Biên nhận này đã được kiểm tra là có trong sổ nhật ký công khai của cổng tiếp nhận.",
        .logNotChecked: "Chưa kiểm tra được biên nhận này trong sổ nhật ký công khai của cổng tiếp nhận.",
        .firstCheckedAt: "Kiểm tra lần đầu lúc",
        .printReceipt: "In biên nhận",
        .printHint: "Để lưu thành PDF, chọn “Lưu dưới dạng PDF” trong hộp thoại in.",
        .historyTitle: "Lịch sử gói và biên nhận",
        .historyEmpty: "Chưa niêm phong gói nào từ thư mục này.",
        .statusNotSent: "chưa gửi",
        .statusAccepted: "đã nhận",
        .statusRefused: "bị từ chối",
        .correctionTitle: "Đính chính thông tin đảng viên",
        .correctionIntro: "Ghi từng đính chính đảng viên đã phản ánh, rồi kiểm tra; sau đó niêm phong và gửi như dữ liệu thường.",
        .correctionAdd: "Thêm một đính chính",
        .correctionAddButton: "Thêm dòng",
        .correctionCheck: "Kiểm tra các dòng đính chính",
        .correctionClear: "Xóa các dòng",
        .corCitizen: "Số CCCD",
        .corField: "Trường cần sửa",
        .corOld: "Giá trị cũ",
        .corNew: "Giá trị mới",
        .corReason: "Lý do",
        .corReported: "Thời điểm phản ánh",
        .corReportedHint: "Ví dụ 2026-03-01T08:00:00Z",
        .notFoundTitle: "Không tìm thấy trang",
        .notFound: "Trang này không có.",
    ]

    static let en: [DeskKey: String] = [
        .appName: "sealgate desk",
        .unitLabel: "Unit",
        .navHome: "Submit data",
        .navCorrection: "Corrections",
        .navHistory: "History",
        .switchLanguage: "Tiếng Việt",
        .whatToDo: "What to do:",
        .technicalDetail: "Technical detail",
        .setupTitle: "Set up the unit",
        .setupIntro: "This folder has no unit profile yet. Fill in once what the department gave you; from then on nothing needs typing again.",
        .setupFolder: "The profile will be written in the folder",
        .setupUnit: "Unit id",
        .setupUnitHint: "As registered at the department, e.g. HCM-U001.",
        .setupGateway: "The gateway's address",
        .setupGatewayHint: "E.g. https://gateway.example.vn",
        .setupRoot: "The trust root key file (root.pub)",
        .setupRootHint: "The path to the root.pub the department handed over (from this folder, or a full path).",
        .setupKey: "The unit's signing key file",
        .setupKeyHint: "The path to the unit's secret key (the .key file).",
        .setupToken: "Token file (if any)",
        .setupTokenHint: "Only when the gateway asks for the unit's token.",
        .setupCA: "Private CA certificate (if any)",
        .setupCAHint: "Only when the department uses a CA of its own for the gateway.",
        .setupSave: "Save the unit profile",
        .setupOrCommand: "Or set it up on the command line:",
        .setupCommand: "sealgate unit init --unit … --gateway … --root … --signing-key …",
        .homeTitle: "Submit the party members' data",
        .homeIntro:
            "Choose the data files, read what the check found, fix what is wrong, then seal and send. The package's number is counted for you.",
        .nextSeq: "Next package number",
        .gatewayLabel: "Gateway",
        .lastPackage: "Last package:",
        .batchWaiting: "Checked files are waiting.",
        .openFindings: "Show what the check found",
        .stepChoose: "1. Choose the data files",
        .stepCorrections: "Corrections members reported",
        .openCorrectionForm: "Open the correction form",
        .chooseFiles: "Data files",
        .chooseFilesHint:
            "The Excel workbook (.xlsx) with the organizations and members sheets, or organizations.csv and members.csv (or corrections.csv).",
        .checkFiles: "Check",
        .checkAgain: "Check again",
        .findingsTitle: "What the check found",
        .noBatch: "No files have been checked yet.",
        .filesUnreadable: "The files chosen cannot be read.",
        .countOrganizations: "Party organizations",
        .countMembers: "Members",
        .countCorrections: "Correction rows",
        .countErrors: "Errors",
        .countWarnings: "Warnings",
        .hasErrors:
            "The data has errors: fix the rows of the table below in the original file, then choose it again and check again. Nothing was sealed.",
        .noErrors: "The data has no errors: it can be sealed and sent.",
        .downloadCSV: "Download the findings (CSV, opens in Excel)",
        .findingsTruncated: "The table shows a part only; the download holds every finding kept:",
        .colFile: "File / sheet",
        .colRow: "Row",
        .colColumn: "Column",
        .colRule: "Rule",
        .colSeverity: "Severity",
        .colValue: "Value",
        .colMessage: "Message",
        .colFix: "How to fix",
        .severityError: "error",
        .severityWarning: "warning",
        .fixNormalized: "Normalized to:",
        .fixExample: "For example:",
        .fixWrongExample: "A wrong value, for example:",
        .fixSeeMessage: "See the message.",
        .stepSeal: "2. Seal and send",
        .sealIntro: "Type the passphrase of the unit's signing key. It is used for this sealing only and never kept.",
        .passphrase: "Signing key passphrase",
        .passphraseHint: "Capitals, small letters and spaces count.",
        .sealAndSend: "Seal and send",
        .stepFixAgain: "Fix and check again",
        .fixAgainIntro: "After fixing the original file, choose it again to check it again.",
        .jobCheck: "Checking the data",
        .jobSend: "Sealing and sending",
        .jobResend: "Sending again",
        .jobRunning: "Please wait a moment…",
        .jobRefreshes: "This page refreshes itself every second; nothing to click.",
        .stageCheck: "Checking every row",
        .stageTrust: "Fetching the department's trust document",
        .stageHash: "Hashing the files",
        .stageSeal: "Encrypting and signing the package",
        .stageSend: "Sending the package to the gateway",
        .packageTitle: "Package not sent yet",
        .sendFailed: "The package could not be sent.",
        .packageKept: "The package is kept, sealed: nothing is lost. Try sending again (when the network or the gateway is back).",
        .sendAgain: "Send again",
        .receiptTitle: "Receipt",
        .outcomeAccepted: "The gateway accepted the package.",
        .outcomeRefused: "The gateway refused the package; see the code below.",
        .recUnit: "Unit",
        .recSeq: "Package number (seq)",
        .recPackage: "Package id",
        .recKind: "Kind",
        .recDecidedAt: "Decided at",
        .recSealedAt: "Sealed at",
        .recOutcome: "Outcome",
        .recCode: "Code",
        .recSha256: "SHA-256",
        .recChecks: "Checks of this receipt",
        .sigChecked: "The gateway's signature on this receipt was checked and is valid.",
        .sigNotChecked: "The gateway's signature on this receipt could not be checked.",
        .logChecked: "This receipt was checked to be included in the gateway's public log.",
        .logNotChecked: "This receipt's inclusion in the gateway's public log could not be checked.",
        .firstCheckedAt: "First checked at",
        .printReceipt: "Print the receipt",
        .printHint: "To keep it as a PDF, choose “Save as PDF” in the print dialog.",
        .historyTitle: "Packages and receipts",
        .historyEmpty: "No package has been sealed from this folder yet.",
        .statusNotSent: "not sent",
        .statusAccepted: "accepted",
        .statusRefused: "refused",
        .correctionTitle: "Correct members' records",
        .correctionIntro: "Write down each correction a member reported, then check them; they are sealed and sent like the data.",
        .correctionAdd: "Add a correction",
        .correctionAddButton: "Add the row",
        .correctionCheck: "Check the correction rows",
        .correctionClear: "Clear the rows",
        .corCitizen: "Citizen id (CCCD)",
        .corField: "Field to change",
        .corOld: "Old value",
        .corNew: "New value",
        .corReason: "Reason",
        .corReported: "Reported at",
        .corReportedHint: "E.g. 2026-03-01T08:00:00Z",
        .notFoundTitle: "Page not found",
        .notFound: "There is no such page.",
    ]
}
