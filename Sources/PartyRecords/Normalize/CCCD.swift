/// The 12-digit citizen identity number (CCCD): province (digits 1–3), gender and century
/// (digit 4), last two digits of the birth year (5–6), then six more.
public enum CCCD {
    /// Province codes (Circular 07/2016/TT-BCA), with their names.
    public static let provinces: [Int: String] = [
        1: "Hà Nội", 2: "Hà Giang", 4: "Cao Bằng", 6: "Bắc Kạn", 8: "Tuyên Quang", 10: "Lào Cai", 11: "Điện Biên",
        12: "Lai Châu", 14: "Sơn La", 15: "Yên Bái", 17: "Hòa Bình", 19: "Thái Nguyên", 20: "Lạng Sơn", 22: "Quảng Ninh",
        24: "Bắc Giang", 25: "Phú Thọ", 26: "Vĩnh Phúc", 27: "Bắc Ninh", 30: "Hải Dương", 31: "Hải Phòng", 33: "Hưng Yên",
        34: "Thái Bình", 35: "Hà Nam", 36: "Nam Định", 37: "Ninh Bình", 38: "Thanh Hóa", 40: "Nghệ An", 42: "Hà Tĩnh",
        44: "Quảng Bình", 45: "Quảng Trị", 46: "Thừa Thiên Huế", 48: "Đà Nẵng", 49: "Quảng Nam", 51: "Quảng Ngãi",
        52: "Bình Định", 54: "Phú Yên", 56: "Khánh Hòa", 58: "Ninh Thuận", 60: "Bình Thuận", 62: "Kon Tum", 64: "Gia Lai",
        66: "Đắk Lắk", 67: "Đắk Nông", 68: "Lâm Đồng", 70: "Bình Phước", 72: "Tây Ninh", 74: "Bình Dương", 75: "Đồng Nai",
        77: "Bà Rịa – Vũng Tàu", 79: "Hồ Chí Minh", 80: "Long An", 82: "Tiền Giang", 83: "Bến Tre", 84: "Trà Vinh",
        86: "Vĩnh Long", 87: "Đồng Tháp", 89: "An Giang", 91: "Kiên Giang", 92: "Cần Thơ", 93: "Hậu Giang", 94: "Sóc Trăng",
        95: "Bạc Liêu", 96: "Cà Mau",
    ]
    static let provinceTable: [Bool] = {
        var t = [Bool](repeating: false, count: 1000)
        for k in provinces.keys { t[k] = true }
        return t
    }()

    public static func isProvince(_ code: Int) -> Bool { code >= 0 && code < 1000 && provinceTable[code] }

    /// The expected fourth digit for a gender and birth year (nil outside 1900–2199).
    public static func genderCenturyDigit(female: Bool, birthYear: Int) -> Int? {
        guard birthYear >= 1900 && birthYear <= 2199 else { return nil }
        return (birthYear / 100 - 19) * 2 + (female ? 1 : 0)
    }
}
