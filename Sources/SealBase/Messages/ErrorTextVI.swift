// Tiếng Việt cho mọi mã lỗi: nghĩa của mã và cách xử lý, viết cho cán bộ văn phòng cấp ủy phường,
// xã (ngắn, cụ thể, làm gì tiếp). Không nêu tham số dòng lệnh: các câu này cũng là câu trả lời
// của máy chủ (problem document); dòng lệnh tự thêm phần gợi ý của mình.
extension ErrorText {
    static let vi: [SealErrorCode: CodeText] = [
        // Chung
        .ioError: CodeText(
            "Máy tính không đọc hoặc ghi được tệp hay thư mục.",
            remedy: "Kiểm tra đường dẫn, quyền truy cập và dung lượng đĩa còn trống, rồi chạy lại lệnh."),
        .cryptoFailure: CodeText(
            "Thư viện mã hóa gặp sự cố ngoài dự kiến.",
            remedy: "Chạy lại lệnh; nếu vẫn lỗi, báo cho Ban Tổ chức (đây là lỗi phần mềm)."),
        .usage: CodeText(
            "Lệnh thiếu hoặc sai tham số.",
            remedy: "Đọc thông báo, sửa lại tham số (xem phần trợ giúp của lệnh) rồi chạy lại."),

        // Khóa
        .keyMalformed: CodeText(
            "Tệp khóa không đúng định dạng hoặc đã bị hỏng.",
            remedy: "Dùng đúng tệp khóa do sealgate tạo, không sửa đổi; nếu đã mất, tạo khóa mới và đề nghị Ban Tổ chức đăng ký lại."),
        .keyUnsupported: CodeText(
            "Khóa dùng thuật toán mà sealgate không hỗ trợ.",
            remedy: "Dùng khóa do sealgate tạo (lệnh sealgate keys generate)."),
        .keyWrongPassphrase: CodeText(
            "Mật khẩu không mở được khóa bí mật.",
            remedy: "Gõ lại đúng mật khẩu của khóa này (chú ý chữ hoa, chữ thường, dấu cách, bộ gõ tiếng Việt)."),
        .keyFilePermissions: CodeText(
            "Tệp khóa bí mật đang để người dùng khác trên máy đọc được.",
            remedy: "Chỉ để chủ tệp đọc được (chmod 600 tên-tệp-khóa) rồi chạy lại lệnh."),
        .keyFileExists: CodeText(
            "Tệp khóa đã có, lệnh sẽ ghi đè lên nó.",
            remedy: "Đặt tên khác cho khóa mới, hoặc chuyển khóa cũ sang chỗ khác trước."),
        .passphraseRequired: CodeText(
            "Cần mật khẩu nhưng không có cửa sổ dòng lệnh để hỏi.",
            remedy: "Cho mật khẩu qua một tệp chỉ chủ tệp đọc được (chế độ 0600) hoặc biến môi trường SEALGATE_PASSPHRASE."),

        // Chữ ký
        .signatureMalformed: CodeText(
            "Chữ ký của gói dữ liệu sai định dạng.",
            remedy: "Niêm phong lại dữ liệu bằng sealgate seal rồi gửi gói mới."),
        .signatureKeyMismatch: CodeText(
            "Chữ ký được tạo bằng một khóa khác với khóa đã cho.",
            remedy: "Kiểm tra bằng khóa công khai của đúng người đã ký."),
        .signatureInvalid: CodeText(
            "Chữ ký không hợp lệ: dữ liệu đã bị thay đổi hoặc được ký bằng khóa khác.",
            remedy: "Không dùng dữ liệu này; đề nghị nơi gửi niêm phong lại bằng khóa đã đăng ký."),
        .commentSignatureInvalid: CodeText(
            "Chữ ký trên phần mô tả của gói không hợp lệ: phần mô tả đã bị sửa.",
            remedy: "Không dùng gói này; đề nghị nơi gửi niêm phong lại."),

        // Mã hóa (age)
        .ageArmorMalformed: CodeText(
            "Tệp mã hóa dạng văn bản bị sai định dạng.",
            remedy: "Đề nghị gửi lại tệp mã hóa gốc (dạng nhị phân), không sửa đổi."),
        .ageHeaderMalformed: CodeText(
            "Phần đầu của dữ liệu mã hóa bị sai định dạng.",
            remedy: "Niêm phong lại dữ liệu rồi gửi gói mới."),
        .ageUnsupportedVersion: CodeText(
            "Dữ liệu mã hóa không theo phiên bản mà sealgate đọc được.",
            remedy: "Niêm phong lại dữ liệu bằng sealgate seal."),
        .ageUnsupportedRecipient: CodeText(
            "Dữ liệu được mã hóa theo cách không được chấp nhận (bằng mật khẩu).",
            remedy: "Niêm phong lại bằng sealgate seal, gửi tới khóa nhận của Ban Tổ chức."),
        .ageNoMatchingIdentity: CodeText(
            "Không khóa giải mã nào đã cho mở được dữ liệu.",
            remedy: "Dùng đúng khóa mà gói được niêm phong tới; có thể nơi gửi đã dùng khóa nhận cũ."),
        .ageHeaderMACMismatch: CodeText(
            "Phần đầu của dữ liệu mã hóa đã bị sửa.",
            remedy: "Không dùng gói này; niêm phong lại dữ liệu rồi gửi gói mới."),
        .agePayloadCorrupt: CodeText(
            "Dữ liệu mã hóa bị hỏng hoặc bị cắt cụt.",
            remedy: "Chép lại gói từ nơi gốc, hoặc niêm phong lại dữ liệu."),
        .ageRecipientMalformed: CodeText(
            "Khóa nhận đã cho không đúng dạng (phải bắt đầu bằng age1) hoặc tệp không chứa khóa nhận.",
            remedy: "Dùng tệp tin cậy (trust.json) hoặc tệp khóa nhận (.pub) do Ban Tổ chức cung cấp."),
        .tokenUnavailable: CodeText(
            "Không dùng được thiết bị (token) chứa khóa ký: mô-đun, thiết bị hoặc một lệnh gửi tới nó bị lỗi.",
            remedy: "Cắm thiết bị vào, kiểm tra đường dẫn tới mô-đun PKCS#11 của thiết bị, rồi thử lại."),
        .tokenPinRefused: CodeText(
            "Thiết bị (token) từ chối mã PIN, hoặc mã PIN đã bị khóa.",
            remedy: "Nhập đúng mã PIN người dùng của thiết bị; nếu đã bị khóa, nhờ người quản trị thiết bị mở khóa."),
        .tokenKeyMissing: CodeText(
            "Trên thiết bị (token) không có khóa ký Ed25519 nào khớp với địa chỉ pkcs11: đã cho.",
            remedy: "Kiểm tra token= và object= (hoặc id=) của địa chỉ với danh sách đối tượng trên thiết bị."),
        .ageRecipientsMixed: CodeText(
            "Gói được niêm phong cho cả khóa nhận hậu lượng tử (age1pq1…) lẫn khóa nhận cổ điển (age1…): gói khi đó chỉ an toàn bằng khóa cổ điển.",
            remedy: "Chỉ niêm phong cho các khóa nhận hậu lượng tử, hoặc chỉ cho các khóa cổ điển; tệp tin cậy cho biết Ban dùng loại nào."),

        // Mở gói
        .packageTooLarge: CodeText(
            "Gói dữ liệu vượt quá dung lượng cho phép.",
            remedy: "Chia dữ liệu thành nhiều gói, hoặc hỏi nơi nhận về giới hạn."),
        .containerMalformed: CodeText(
            "Tệp này không phải gói dữ liệu sealgate đúng định dạng.",
            remedy: "Gửi đúng tệp .sgp do sealgate seal tạo ra, không sửa đổi; hoặc niêm phong lại."),
        .keyUnknown: CodeText(
            "Gói được ký bằng khóa mà nơi nhận không biết.",
            remedy: "Ký bằng khóa đã đăng ký của đơn vị; nếu vừa tạo khóa mới, đề nghị Ban Tổ chức đăng ký trước."),
        .commentMalformed: CodeText(
            "Phần mô tả có chữ ký của gói bị sai định dạng.",
            remedy: "Niêm phong lại dữ liệu bằng sealgate seal."),
        .unitMismatch: CodeText(
            "Gói ghi mã đơn vị khác với đơn vị sở hữu khóa ký.",
            remedy: "Mỗi đơn vị chỉ niêm phong dưới mã đơn vị của mình, bằng khóa của mình."),
        .recipientNotAccepted: CodeText(
            "Gói không được mã hóa tới khóa nhận mà nơi nhận chấp nhận.",
            remedy: "Tải lại tệp tin cậy (sealgate trust fetch) rồi niêm phong lại với tệp đó."),
        .payloadMalformed: CodeText(
            "Nội dung gói sai định dạng hoặc thiếu tệp cần có.",
            remedy: "Niêm phong lại dữ liệu bằng sealgate seal."),
        .manifestMismatch: CodeText(
            "Nội dung gói không khớp với phần mô tả đã ký.",
            remedy: "Không dùng gói này; báo cho đơn vị đã ký gói."),
        .fileHashMismatch: CodeText(
            "Một tệp trong gói không khớp với mã băm đã ghi.",
            remedy: "Niêm phong lại dữ liệu rồi gửi gói mới."),
        .recordCountMismatch: CodeText(
            "Số bản ghi của một tệp trong gói khác với số đã ghi.",
            remedy: "Niêm phong lại dữ liệu rồi gửi gói mới."),
        .outputExists: CodeText(
            "Tệp hoặc thư mục đầu ra đã có sẵn.",
            remedy: "Chọn tên đầu ra khác, hoặc chuyển tệp cũ sang chỗ khác trước."),
        .inputChanged: CodeText(
            "Tệp đầu vào bị thay đổi trong lúc đang niêm phong.",
            remedy: "Đóng chương trình đang sửa tệp (Excel…) rồi niêm phong lại."),

        // Dữ liệu đảng viên
        .recordsInvalid: CodeText(
            "Dữ liệu còn lỗi; chưa có gì được niêm phong hay tiếp nhận.",
            remedy: "Sửa các dòng được liệt kê (tệp, dòng, cột, quy tắc), kiểm tra lại rồi niêm phong gói mới."),
        .recordsUnreadable: CodeText(
            "Không đọc được thư mục hoặc tệp dữ liệu.",
            remedy: "Kiểm tra đường dẫn, và các tệp có đúng chỗ, đọc được không."),
        .workbookMalformed: CodeText(
            "Tệp không phải bảng tính Excel đọc được (không phải .xlsx, hoặc bị hỏng).",
            remedy: "Mở tệp bằng Excel, lưu lại dạng Excel Workbook (.xlsx) rồi kiểm tra lại."),
        .workbookTooLarge: CodeText(
            "Bảng tính vượt quá giới hạn (trang tính, chữ trong ô, hoặc số cột quá lớn).",
            remedy: "Xóa những gì không phải dữ liệu (trang tính khác, ô thừa ở xa bên phải) hoặc tách thành nhiều tệp."),
        .workbookUnsafe: CodeText(
            "Bảng tính có cấu trúc có thể gây hại cho chương trình đọc nó; tệp đã không được đọc.",
            remedy: "Không dùng tệp này; mở dữ liệu gốc bằng Excel rồi lưu thành tệp .xlsx mới."),

        // Nhật ký công khai
        .checkpointInvalid: CodeText(
            "Điểm kiểm tra của nhật ký sai định dạng hoặc không có chữ ký đúng.",
            remedy: "Tải lại từ cổng tiếp nhận; nếu vẫn sai, báo cho Ban Tổ chức."),
        .logInconsistent: CodeText(
            "Nhật ký không còn khớp với điểm kiểm tra đã ký gần nhất.",
            remedy: "Người quản trị khôi phục cơ sở dữ liệu từ bản sao lưu; báo kèm thời điểm xảy ra."),
        .logMismatch: CodeText(
            "Các mục nhật ký đã kiểm tra trước đây bị thay đổi.",
            remedy: "Giữ lại tệp trạng thái làm bằng chứng và báo cho Ban Tổ chức."),
        .logFork: CodeText(
            "Nhật ký không nối tiếp bản đã thấy trước đây: lịch sử đã khác đi.",
            remedy: "Giữ lại bằng chứng; người quản trị khôi phục bản sao khớp hoặc công bố việc rẽ nhánh."),
        .logForkDeclared: CodeText(
            "Ban Tổ chức đã công bố rẽ nhánh nhật ký, bỏ điểm kiểm tra đang giữ.",
            remedy: "Đọc lời công bố rồi quyết định có theo nhật ký từ đó hay không."),
        .logBehind: CodeText(
            "Nhật ký trong cơ sở dữ liệu ngắn hơn điểm kiểm tra đã ký: đã khôi phục từ bản cũ.",
            remedy: "Người quản trị khôi phục bản mới hơn, hoặc công bố rẽ nhánh nếu các mục đã mất hẳn."),

        // Kết nối máy chủ
        .httpError: CodeText(
            "Không kết nối được tới máy chủ, hoặc máy chủ trả lời không như mong đợi.",
            remedy: "Kiểm tra mạng, địa chỉ (https:// hay http://) và máy chủ có đang chạy; thử lại sau."),
        .httpTimeout: CodeText(
            "Máy chủ không trả lời kịp.",
            remedy: "Thử lại sau; có thể gửi lại nguyên gói cũ (mỗi gói chỉ có một biên nhận)."),
        .tlsUntrusted: CodeText(
            "Chứng chỉ của máy chủ không đáng tin cậy hoặc cấp cho tên khác.",
            remedy: "Dùng tệp chứng chỉ gốc (CA) do Ban Tổ chức cung cấp, và kiểm tra lại địa chỉ."),
        .tlsFailed: CodeText(
            "Kết nối bảo mật (TLS) tới máy chủ không thành công.",
            remedy: "Kiểm tra địa chỉ: https:// cho máy chủ có TLS, http:// cho máy chủ thường."),
        .responseTooLarge: CodeText(
            "Câu trả lời của máy chủ lớn bất thường.",
            remedy: "Kiểm tra địa chỉ: đó không phải máy chủ sealgate."),
        .tlsClientRefused: CodeText(
            "Máy chủ đòi chứng chỉ của máy khách và đã từ chối chứng chỉ đưa ra (hoặc không có).",
            remedy: "Dùng chứng chỉ và khóa máy khách do Ban Tổ chức cấp."),

        // Máy chủ, tầng HTTP
        .listenFailed: CodeText(
            "Máy chủ không mở được cổng để lắng nghe.",
            remedy: "Dừng chương trình khác đang dùng cổng đó, hoặc chọn cổng, địa chỉ khác."),
        .tlsSetup: CodeText(
            "Không đọc được chứng chỉ hoặc khóa của máy chủ, hoặc hai tệp không đi cùng nhau.",
            remedy: "Dùng chuỗi chứng chỉ PEM đọc được và đúng khóa của nó."),
        .badParameter: CodeText(
            "Một tham số của yêu cầu sai định dạng hoặc ngoài phạm vi.",
            remedy: "Sửa lại yêu cầu (xem docs/api.md)."),
        .badRequest: CodeText(
            "Yêu cầu gửi tới máy chủ sai định dạng.",
            remedy: "Gửi yêu cầu HTTP/1.1 đúng định dạng."),
        .notFound: CodeText(
            "Không có địa chỉ này trên máy chủ.",
            remedy: "Kiểm tra lại địa chỉ (xem docs/api.md)."),
        .methodNotAllowed: CodeText(
            "Địa chỉ này không nhận phương thức đó.",
            remedy: "Dùng phương thức mà trường Allow liệt kê."),
        .bodyTooLarge: CodeText(
            "Nội dung yêu cầu vượt quá giới hạn.",
            remedy: "Gửi nội dung nhỏ hơn; chia dữ liệu thành nhiều gói."),
        .internalError: CodeText(
            "Máy chủ gặp lỗi khi trả lời yêu cầu này.",
            remedy: "Thử lại; nếu vẫn lỗi, báo cho Ban Tổ chức kèm thời điểm."),
        .unauthorized: CodeText(
            "Cần mã truy cập hợp lệ; mã bị thiếu, sai hoặc đã thu hồi.",
            remedy: "Dùng mã truy cập do Ban Tổ chức cấp cho đơn vị."),
        .forbidden: CodeText(
            "Mã truy cập này không được xem nội dung đó.",
            remedy: "Chỉ hỏi về đơn vị của mình."),
        .signinThrottled: CodeText(
            "Có quá nhiều lần đăng nhập bảng điều khiển thất bại trong một phút.",
            remedy: "Đợi một phút rồi đăng nhập lại bằng mã quản trị đúng."),

        // Cổng tiếp nhận
        .malformedDocument: CodeText(
            "Tài liệu JSON sai định dạng.",
            remedy: "Dùng đúng tệp đã nhận hoặc đã ghi, không sửa đổi; tải lại nếu cần."),
        .dataDirectory: CodeText(
            "Thư mục dữ liệu không dùng được (không phải thư mục của cổng, hoặc để người khác truy cập).",
            remedy: "Kiểm tra thư mục đã cho, chủ sở hữu và quyền truy cập."),
        .spoolLocked: CodeText(
            "Một tiến trình máy chủ khác đang dùng thư mục tạm của thư mục dữ liệu này.",
            remedy: "Dừng tiến trình kia, hoặc cho mỗi tiến trình một thư mục tạm riêng."),
        .unitExists: CodeText(
            "Đơn vị đã được đăng ký.",
            remedy: "Kiểm tra lại mã đơn vị trong danh sách đơn vị đã đăng ký."),
        .unitUnknown: CodeText(
            "Chưa có đơn vị nào đăng ký với mã này.",
            remedy: "Kiểm tra mã đơn vị; đề nghị Ban Tổ chức đăng ký đơn vị."),
        .keyExists: CodeText(
            "Khóa này đã được đăng ký.",
            remedy: "Tạo khóa mới để thay khóa."),
        .keyState: CodeText(
            "Khóa ký đã đăng ký nhưng không còn hiệu lực (đã ngừng, bị thu hồi hoặc đã thay).",
            remedy: "Ký bằng khóa hiện hành của đơn vị; hỏi Ban Tổ chức khóa nào đang có hiệu lực."),
        .seqConflict: CodeText(
            "Số thứ tự này của đơn vị đã được một gói khác dùng.",
            remedy: "Niêm phong lại với số thứ tự tiếp theo rồi gửi gói mới."),
        .seqNotIncreasing: CodeText(
            "Số thứ tự không lớn hơn số của gói trước của đơn vị.",
            remedy: "Niêm phong lại với số thứ tự lớn hơn số đã được tiếp nhận gần nhất."),
        .seqOutOfRange: CodeText(
            "Số thứ tự quá lớn.",
            remedy: "Niêm phong lại với số thứ tự nhỏ hơn (số tiếp theo của đơn vị)."),
        .correctionsTooMany: CodeText(
            "Gói đính chính có hơn 10.000 dòng.",
            remedy: "Gửi đính chính ngay khi đảng viên báo, hoặc gửi gói toàn bộ danh sách."),
        .kindNotAccepted: CodeText(
            "Đơn vị không được gửi loại gói này.",
            remedy: "Chỉ gửi gói toàn bộ danh sách, gói đính chính hoặc gói tệp."),
        .tokenUnitMismatch: CodeText(
            "Mã truy cập thuộc đơn vị khác với đơn vị của gói.",
            remedy: "Dùng mã truy cập của chính đơn vị mình."),
        .recipientRetired: CodeText(
            "Gói được mã hóa tới khóa nhận cũ của Ban Tổ chức, khóa đó đã ngừng dùng.",
            remedy: "Tải lại tệp tin cậy (sealgate trust fetch) rồi niêm phong lại với tệp đó."),
        .packageUnknown: CodeText(
            "Không có gói nào với mã này được tiếp nhận cho đơn vị.",
            remedy: "Kiểm tra lại mã gói."),
        .intakeFault: CodeText(
            "Cổng tiếp nhận gặp sự cố riêng và chưa ghi nhận gì.",
            remedy: "Một phút sau gửi lại đúng gói đó."),
        .rotationInvalid: CodeText(
            "Bản đề nghị thay khóa sai định dạng, của đơn vị khác, hoặc đã quá hạn.",
            remedy: "Lập lại bản đề nghị thay khóa ngay bây giờ, cho đúng đơn vị."),
        .rotationSignatureInvalid: CodeText(
            "Bản đề nghị thay khóa chưa được ký bằng cả khóa cũ lẫn khóa mới.",
            remedy: "Ký bản đề nghị bằng cả hai khóa."),
        .flagUnknown: CodeText(
            "Không có gói nào với mã này đang chờ xem xét.",
            remedy: "Xem danh sách gói chờ xem xét và dùng đúng mã."),
        .flagResolved: CodeText(
            "Gói chờ xem xét này đã được quyết định rồi.",
            remedy: "Mỗi gói chỉ quyết định một lần; nếu quyết định sai, đề nghị đơn vị gửi gói toàn bộ danh sách mới."),
        .reasonInvalid: CodeText(
            "Lý do để trống, quá dài, hoặc giống thông tin cá nhân.",
            remedy: "Ghi lý do ngắn gọn, không có họ tên, số định danh, số điện thoại hay thư điện tử."),
        .tokenUnknown: CodeText(
            "Không có mã truy cập nào (hoặc có nhiều hơn một) mang số hiệu này.",
            remedy: "Xem danh sách mã truy cập và dùng đúng một số hiệu."),
        .tokenRevoked: CodeText(
            "Mã truy cập này đã bị thu hồi từ trước.",
            remedy: "Không cần làm gì thêm; cấp mã mới nếu cần."),
        .trustMissing: CodeText(
            "Chưa có tệp tin cậy nào như vậy được công bố.",
            remedy: "Kiểm tra địa chỉ cổng tiếp nhận; đề nghị Ban Tổ chức công bố tệp tin cậy."),
        .trustInvalid: CodeText(
            "Tệp tin cậy không có chữ ký đúng của khóa gốc, hoặc sai định dạng.",
            remedy: "Tải lại tệp tin cậy với đúng khóa gốc (root.pub) của Ban Tổ chức; nếu vẫn sai, báo cho Ban Tổ chức."),
        .trustExpired: CodeText(
            "Tệp tin cậy đã hết hạn.",
            remedy: "Tải lại tệp tin cậy (sealgate trust fetch); nếu vẫn hết hạn, báo cho Ban Tổ chức."),
        .trustRollback: CodeText(
            "Tệp tin cậy vừa tải về cũ hơn tệp đang giữ.",
            remedy: "Giữ tệp mới hơn và báo cho Ban Tổ chức."),
        .receiptInvalid: CodeText(
            "Biên nhận không khớp với khóa ký biên nhận trong tệp tin cậy.",
            remedy: "Dùng đúng biên nhận và tệp chữ ký đi kèm như khi nhận, với tệp tin cậy hiện hành; nếu vẫn sai, báo cho Ban Tổ chức."),
        .backupInvalid: CodeText(
            "Tệp này không phải bản sao lưu sealgate dùng được.",
            remedy: "Dùng tệp sao lưu do sealgate tạo, không sửa đổi."),

        // Tổng hợp, chuyển tiếp
        .handbookUnset: CodeText(
            "Chưa kết nối hệ thống Sổ tay.",
            remedy: "Kết nối hệ thống Sổ tay trước."),
        .datasetExists: CodeText(
            "Một lần tổng hợp khác đã lấy số phiên bản này cùng lúc.",
            remedy: "Chạy tổng hợp lại."),
        .datasetEmpty: CodeText(
            "Chưa đơn vị nào có dữ liệu được tiếp nhận.",
            remedy: "Chờ các đơn vị gửi gói rồi mới tổng hợp."),
        .datasetUnknown: CodeText(
            "Không có bộ dữ liệu tổng hợp nào với phiên bản này.",
            remedy: "Xem danh sách bộ dữ liệu và dùng đúng phiên bản."),
        .forwardFailed: CodeText(
            "Hệ thống Sổ tay trả lời báo lỗi.",
            remedy: "Cổng tự gửi lại sau; xem nhật ký của hệ thống Sổ tay."),
        .datasetMissing: CodeText(
            "Bộ dữ liệu đã niêm phong bị thiếu hoặc không khớp mã băm.",
            remedy: "Khôi phục bộ dữ liệu từ bản sao lưu, hoặc tổng hợp phiên bản mới."),
        .ackInvalid: CodeText(
            "Xác nhận đã nhận bị thiếu, ký sai khóa, hoặc nói về bộ dữ liệu khác.",
            remedy: "Cổng tự gửi lại; kiểm tra khóa xác nhận của hệ thống Sổ tay."),
        .datasetMalformed: CodeText(
            "Một tệp của bộ dữ liệu không đúng định dạng CSV hoặc sai số cột.",
            remedy: "Chưa nhập gì; báo cho Ban Tổ chức."),

        // Nơi nhận của hệ thống Sổ tay
        .datasetStale: CodeText(
            "Bộ dữ liệu không mới hơn bộ đã nhập.",
            remedy: "Không cần làm gì: bộ cũ không bao giờ được nhập đè lên bộ mới."),
        .datasetCount: CodeText(
            "Số dòng trong các tệp của bộ dữ liệu khác với số ghi trong bản kê.",
            remedy: "Chưa nhập gì; báo cho Ban Tổ chức."),
        .packageReused: CodeText(
            "Một mã gói đã nhận lại đến với nội dung khác.",
            remedy: "Không dùng gói này; báo cho Ban Tổ chức."),
        .handbookFailure: CodeText(
            "Nơi nhận của hệ thống Sổ tay gặp sự cố riêng; chưa nhập gì.",
            remedy: "Gửi lại bộ dữ liệu sau; nguyên nhân ghi trong nhật ký của nơi nhận."),
        .kindNotDataset: CodeText(
            "Gói này không phải bộ dữ liệu tổng hợp.",
            remedy: "Chỉ gửi tới đây các bộ dữ liệu đã niêm phong của Ban Tổ chức."),
        .datasetNotFromDepartment: CodeText(
            "Bộ dữ liệu không phải của Ban Tổ chức ghi trong tệp tin cậy.",
            remedy: "Chỉ gửi tới đây các bộ dữ liệu đã niêm phong của Ban Tổ chức."),

        // Cơ sở dữ liệu của cổng
        .storeUnavailable: CodeText(
            "Cổng tiếp nhận không kết nối được cơ sở dữ liệu; chưa ghi nhận gì.",
            remedy: "Một phút sau gửi lại đúng yêu cầu đó."),
        .storeFailure: CodeText(
            "Cơ sở dữ liệu của cổng gặp sự cố; chưa ghi nhận gì.",
            remedy: "Một phút sau thử lại; nếu vẫn lỗi, người quản trị kiểm tra cơ sở dữ liệu."),
        .databaseURL: CodeText(
            "Địa chỉ cơ sở dữ liệu không dùng được.",
            remedy: "Dùng địa chỉ dạng postgres:// (mật khẩu để trong biến PGPASSWORD)."),
        .uniqueViolation: CodeText(
            "Cơ sở dữ liệu từ chối một mục bị trùng.",
            remedy: "Thử lại; nếu vẫn lỗi, báo kèm thời điểm."),
        .seqTaken: CodeText(
            "Một tiến trình khác vừa quyết định cùng số thứ tự đó.",
            remedy: "Gửi lại đúng gói đó: mỗi gói chỉ có một kết quả."),
        .noSnapshot: CodeText(
            "Đơn vị chưa có gói toàn bộ danh sách nào được tiếp nhận để đính chính.",
            remedy: "Gửi gói toàn bộ danh sách của đơn vị trước, rồi mới gửi đính chính."),
        .correctionField: CodeText(
            "Đính chính ghi một trường không được sửa.",
            remedy: "Chỉ đính chính các cột của members.csv, trừ cột citizen_id."),
        .correctionConflict: CodeText(
            "Đính chính mâu thuẫn với dữ liệu hiện có của đảng viên.",
            remedy: "Kiểm tra dữ liệu hiện có của đảng viên rồi gửi lại đính chính."),
        .trustVersion: CodeText(
            "Phiên bản tệp tin cậy không phải phiên bản kế tiếp.",
            remedy: "Công bố lại tệp tin cậy."),
        .datasetUnreadable: CodeText(
            "Không đọc được một bộ dữ liệu đã lưu.",
            remedy: "Khôi phục bộ dữ liệu từ bản sao lưu, hoặc tổng hợp phiên bản mới."),
        .datasetUnwritable: CodeText(
            "Không ghi được bộ dữ liệu.",
            remedy: "Kiểm tra dung lượng trống và quyền của thư mục dữ liệu rồi tổng hợp lại."),
        .datasetIncomplete: CodeText(
            "Một bộ dữ liệu trong cơ sở dữ liệu chưa đầy đủ.",
            remedy: "Tổng hợp phiên bản mới."),

        // Hồ sơ đơn vị
        .profileInvalid: CodeText(
            "Không đọc được hồ sơ đơn vị trong thư mục này.",
            remedy: "Thiết lập lại thư mục bằng sealgate unit init (các gói và biên nhận vẫn giữ nguyên)."),
        .profileExists: CodeText(
            "Thư mục này đã có hồ sơ đơn vị.",
            remedy: "Dùng hồ sơ đang có; chỉ thay hồ sơ mới khi chấp nhận mất lịch sử các gói đã gửi."),
        .profileMissing: CodeText(
            "Không tìm thấy hồ sơ đơn vị trong thư mục này hay thư mục bên trên.",
            remedy: "Thiết lập thư mục một lần bằng sealgate unit init, hoặc ghi đủ mã đơn vị, khóa ký và tệp tin cậy trong lệnh."),
    ]
}
