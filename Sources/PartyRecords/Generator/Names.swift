/// Name and place data for the synthetic city.
enum Names {
    static let families: [(String, Int)] = [
        ("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 5), ("Phan", 4), ("Vũ", 4), ("Võ", 4),
        ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 2), ("Ngô", 1), ("Dương", 1), ("Lý", 1), ("Trương", 1), ("Đinh", 1),
    ]
    static let middleMale = ["Văn", "Minh", "Thanh", "Hữu", "Đức", "Quốc", "Công", "Ngọc", "Hoàng", "Quang"]
    static let middleFemale = ["Thị", "Ngọc", "Thanh", "Minh", "Thu", "Kim", "Thùy", "Mỹ", "Hồng", "Bích"]
    static let givenMale = [
        "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hùng", "Huy", "Khoa", "Long", "Nam", "Phong", "Phúc", "Quân",
        "Sơn", "Tâm", "Thắng", "Thành", "Trung", "Tuấn", "Việt", "Vinh", "Hiếu", "Khánh", "Lộc", "Nghĩa", "Tài", "Toàn",
    ]
    static let givenFemale = [
        "An", "Anh", "Châu", "Chi", "Diệp", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Lan", "Linh",
        "Mai", "My", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Thảo", "Trang", "Tuyết", "Uyên", "Vân", "Yến",
    ]
    static let wards = [
        "Bến Nghé", "Bến Thành", "Đa Kao", "Tân Định", "Cầu Kho", "Nguyễn Thái Bình", "Phạm Ngũ Lão", "Cô Giang",
        "Võ Thị Sáu", "Bàn Cờ", "Xuân Hòa", "Nhiêu Lộc", "Chợ Quán", "An Đông", "Chợ Lớn", "Bình Tây", "Bình Phú",
        "Tân Thuận", "Phú Thuận", "Tân Mỹ", "Tân Hưng", "Chánh Hưng", "Phú Định", "Bình Đông", "Diên Hồng", "Vườn Lài",
        "Hòa Hưng", "Minh Phụng", "Bình Thới", "Hòa Bình", "Phú Thọ", "Đông Hưng Thuận", "Trung Mỹ Tây", "Tân Thới Hiệp",
        "Thới An", "An Phú Đông", "An Lạc", "Bình Tân", "Tân Tạo", "Bình Trị Đông", "Bình Hưng Hòa", "Gia Định",
        "Bình Thạnh", "Bình Lợi Trung", "Thạnh Mỹ Tây", "Bình Quới", "Hạnh Thông", "An Nhơn", "Gò Vấp", "An Hội Đông",
        "Thông Tây Hội", "An Hội Tây", "Đức Nhuận", "Cầu Kiệu", "Phú Nhuận", "Tân Sơn Hòa", "Tân Sơn Nhất", "Tân Hòa",
        "Bảy Hiền", "Tân Bình", "Tân Sơn", "Tây Thạnh", "Tân Sơn Nhì", "Phú Thọ Hòa", "Tân Phú", "Phú Thạnh", "Hiệp Bình",
        "Thủ Đức", "Tam Bình", "Linh Xuân", "Tăng Nhơn Phú", "Long Bình", "Long Phước", "Long Trường", "Cát Lái",
        "Bình Trưng", "Phước Long", "An Khánh", "Thủ Dầu Một", "Phú Lợi", "Bình Dương", "Dĩ An", "Thuận An", "Vũng Tàu",
        "Rạch Dừa", "Phước Thắng", "Bà Rịa", "Long Hương", "Tam Long", "Phú Mỹ", "Tân Thành", "Tân Phước",
    ]
    static let communes = [
        "Bình Chánh", "Tân Nhựt", "Vĩnh Lộc", "Bình Lợi", "Hưng Long", "Bình Hưng", "Nhà Bè", "Hiệp Phước",
        "Cần Giờ", "Bình Khánh", "An Thới Đông", "Thạnh An", "Củ Chi", "Tân An Hội", "Thái Mỹ", "An Nhơn Tây",
        "Nhuận Đức", "Phú Hòa Đông", "Bình Mỹ", "Hóc Môn", "Bà Điểm", "Xuân Thới Sơn", "Đông Thạnh", "Long Sơn",
        "Long Hải", "Đất Đỏ", "Phước Hải", "Châu Đức", "Ngãi Giao", "Xuyên Mộc", "Hồ Tràm", "Bàu Bàng", "Dầu Tiếng",
        "Minh Thạnh", "Thanh An", "Bắc Tân Uyên", "Phú Giáo", "Trừ Văn Thố",
    ]
    static let entities = [
        "Trường THPT Lê Quý Đôn", "Trường THCS Nguyễn Du", "Bệnh viện Quận", "Công ty Điện lực", "Ủy ban nhân dân",
        "Công an", "Trung tâm Y tế", "Trường Tiểu học Kim Đồng", "Hợp tác xã Nông nghiệp", "Ban Chỉ huy Quân sự",
        "Công ty Cấp nước", "Chợ", "Trung tâm Văn hóa", "Kho bạc Nhà nước", "Chi cục Thuế",
    ]
    static let ethnicities: [(String, Int)] = [("Kinh", 92), ("Hoa", 4), ("Khmer", 2), ("Chăm", 1), ("Tày", 1)]
    static let education: [(String, Int)] = [
        ("Đại học", 45), ("Thạc sĩ", 8), ("Tiến sĩ", 1), ("Cao đẳng", 12), ("Trung cấp", 14),
        ("Trung học phổ thông", 20),
    ]
    static let phonePrefixes = [
        "032", "033", "034", "035", "036", "037", "038", "039", "056", "058", "070", "076", "077", "078",
        "079", "081", "082", "083", "084", "085", "086", "088", "089", "090", "091", "093", "094", "096",
        "097", "098", "099",
    ]
}

/// NFD for the letters Vietnamese uses, built from the standard library's NFC: each base vowel
/// with its modifier (breve, circumflex, horn) and tone mark, marks in canonical order.
enum Decompose {
    static let table: [UInt32: [Unicode.Scalar]] = {
        var t: [UInt32: [Unicode.Scalar]] = [:]
        let bases: [Unicode.Scalar] = ["a", "e", "i", "o", "u", "y", "A", "E", "I", "O", "U", "Y"]
        let modifiers: [UInt32?] = [nil, 0x0306, 0x0302, 0x031B]
        let tones: [UInt32?] = [nil, 0x0300, 0x0301, 0x0303, 0x0309, 0x0323]
        for b in bases {
            for m in modifiers {
                for tone in tones {
                    var marks = [m, tone].compactMap { $0 }.map { Unicode.Scalar($0)! }
                    guard !marks.isEmpty else { continue }
                    marks.sort { $0.properties.canonicalCombiningClass.rawValue < $1.properties.canonicalCombiningClass.rawValue }
                    var s = String.UnicodeScalarView([b])
                    s.append(contentsOf: marks)
                    let composed = String(decoding: String(s)._nfcCodeUnits, as: UTF8.self).unicodeScalars
                    if composed.count == 1 { t[composed.first!.value] = [b] + marks }
                }
            }
        }
        return t
    }()

    /// The canonical decomposition of Vietnamese text.
    static func nfd(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for sc in s.unicodeScalars {
            if let d = table[sc.value] { out.append(contentsOf: d) } else { out.append(sc) }
        }
        return String(out)
    }
}
