/// Up to four rule codes, held inline (no allocation, no reference counting on the hot path).
public struct RuleList: Sendable, Sequence, Equatable {
    private var r0: StaticString?, r1: StaticString?, r2: StaticString?, r3: StaticString?
    public private(set) var count = 0

    public init() {}
    public init(_ r: StaticString) {
        r0 = r
        count = 1
    }

    public var isEmpty: Bool { count == 0 }

    public mutating func append(_ r: StaticString) {
        switch count {
        case 0: r0 = r
        case 1: r1 = r
        case 2: r2 = r
        case 3: r3 = r
        default: preconditionFailure("more than four rules on one field")
        }
        count += 1
    }

    public func makeIterator() -> IndexingIterator<[String]> {
        [r0, r1, r2, r3].prefix(count).map { $0!.description }.makeIterator()
    }

    /// The codes as Strings.
    public var codes: [String] { Array(self) }

    public static func == (a: RuleList, b: RuleList) -> Bool { a.codes == b.codes }
}

/// The outcome of checking one field: the value to write (nil: write the original bytes) and
/// the rule codes it triggered.
public struct FieldOutcome: Sendable {
    public var value: String?
    public var rules = RuleList()
    public var isError = false

    static var same: FieldOutcome { FieldOutcome(value: nil) }
    static func normalized(_ v: String, _ rule: StaticString) -> FieldOutcome { FieldOutcome(value: v, rules: RuleList(rule)) }
    static func error(_ rule: StaticString) -> FieldOutcome { FieldOutcome(value: nil, rules: RuleList(rule), isError: true) }
}

/// The rule codes of one id column.
public struct IDRules: Sendable {
    let required: StaticString, normalized: StaticString, format: StaticString
    public static let memberID = IDRules(required: "member_id.required", normalized: "member_id.normalized", format: "member_id.format")
    public static let memberOrg = IDRules(required: "member_org.required", normalized: "member_org.normalized", format: "member_org.unknown")
    public static let orgID = IDRules(required: "org_id.required", normalized: "org_id.normalized", format: "org_id.format")
    public static let parentID = IDRules(required: "parent_id.unknown", normalized: "parent_id.normalized", format: "parent_id.unknown")
}

/// The rule codes of one date column.
public struct DateRules: Sendable {
    let required: StaticString, format: StaticString, invalid: StaticString
    public static let birth = DateRules(required: "date_of_birth.required", format: "date_of_birth.format", invalid: "date_of_birth.invalid")
    public static let joined = DateRules(required: "date_joined.required", format: "date_joined.format", invalid: "date_joined.invalid")
    public static let official = DateRules(required: "date_official.status", format: "date_official.format", invalid: "date_official.invalid")
}

/// Single-field rules of `party-records/1`, shared by row validation and corrections.
public enum FieldChecks {
    @inline(__always) static func isUpperAlnum(_ c: UInt8) -> Bool { (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) }

    @inline(__always) static func trimmedASCII(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var s = 0
        var e = b.count
        while s < e && (b[s] == 0x20 || b[s] == 0x09) { s += 1 }
        while e > s && (b[e - 1] == 0x20 || b[e - 1] == 0x09) { e -= 1 }
        return UnsafeRawBufferPointer(rebasing: b[s..<e])
    }

    /// Ids: org ids `[A-Z0-9][A-Z0-9-]{1,39}`, party card numbers `[0-9A-Z.-]{1,20}`.
    public enum IDKind { case org, member }

    static func idValid(_ b: some Collection<UInt8>, _ kind: IDKind) -> Bool {
        switch kind {
        case .org:
            guard b.count >= 2 && b.count <= 40, let f = b.first, isUpperAlnum(f) else { return false }
            return b.allSatisfy { isUpperAlnum($0) || $0 == 0x2D }
        case .member:
            guard b.count >= 1 && b.count <= 20 else { return false }
            return b.allSatisfy { isUpperAlnum($0) || $0 == 0x2D || $0 == 0x2E }
        }
    }

    /// Checks an id against its column's rules.
    public static func id(_ b: UnsafeRawBufferPointer, _ kind: IDKind, rules: IDRules) -> FieldOutcome {
        if b.isEmpty { return .error(rules.required) }
        if idValid(b, kind) { return .same }
        let t = trimmedASCII(b)
        if t.isEmpty { return .error(rules.required) }
        let upper = t.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 32 : $0 }
        if idValid(upper, kind) { return .normalized(String(decoding: upper, as: UTF8.self), rules.normalized) }
        return .error(rules.format)
    }

    /// A full name: NFC, single spaces, title case (each a warning when fixed); letters only
    /// and two words (errors).
    public static func fullName(_ b: UnsafeRawBufferPointer) -> FieldOutcome {
        if b.isEmpty { return .error("full_name.required") }
        if FastPaths.isCleanName(b) { return .same }
        let original = String(decoding: b, as: UTF8.self)
        var rules = RuleList()
        // Byte comparisons: String == is canonical equivalence, blind to NFC/NFD differences.
        var v = Text.nfc(original)
        if !sameBytes(v, original) { rules.append("full_name.nfc") }
        let spaced = Text.collapseSpaces(v)
        if !sameBytes(spaced, v) {
            rules.append("full_name.spaces")
            v = spaced
        }
        if v.isEmpty { return .error("full_name.required") }
        if !Text.isLettersAndSpaces(v) {
            rules.append("full_name.letters")
            return FieldOutcome(value: nil, rules: rules, isError: true)
        }
        if Text.wordCount(v) < 2 {
            rules.append("full_name.words")
            return FieldOutcome(value: nil, rules: rules, isError: true)
        }
        let titled = Text.titleCase(v)
        if !sameBytes(titled, v) {
            rules.append("full_name.case")
            v = titled
        }
        return rules.isEmpty ? .same : FieldOutcome(value: v, rules: rules)
    }

    /// Free text (ethnicity, hometown, education, organization names): NFC and single spaces.
    public static func freeText(_ b: UnsafeRawBufferPointer, rule: StaticString) -> FieldOutcome {
        if b.isEmpty || FastPaths.isCleanText(b) { return .same }
        let original = String(decoding: b, as: UTF8.self)
        let v = Text.collapseSpaces(Text.nfc(original))
        return sameBytes(v, original) ? .same : .normalized(v, rule)
    }

    static func lowerWord(_ b: UnsafeRawBufferPointer) -> String {
        Text.lower(Text.collapseSpaces(Text.nfc(String(decoding: b, as: UTF8.self))))
    }

    /// `male` / `female`; also Nam, Nữ, M, F in any case.
    public static func gender(_ b: UnsafeRawBufferPointer) -> (FieldOutcome, female: Bool?) {
        if b.isEmpty { return (.error("gender.required"), nil) }
        if bytesEqual(b, "male") { return (.same, false) }
        if bytesEqual(b, "female") { return (.same, true) }
        switch lowerWord(b) {
        case "male", "nam", "m": return (.normalized("male", "gender.normalized"), false)
        case "female", "nữ", "nu", "f": return (.normalized("female", "gender.normalized"), true)
        case "": return (.error("gender.required"), nil)
        default: return (.error("gender.invalid"), nil)
        }
    }

    /// `official` / `probationary`; also chính thức, dự bị in any case.
    public static func status(_ b: UnsafeRawBufferPointer) -> (FieldOutcome, probationary: Bool?) {
        if b.isEmpty { return (.error("status.required"), nil) }
        if bytesEqual(b, "official") { return (.same, false) }
        if bytesEqual(b, "probationary") { return (.same, true) }
        switch lowerWord(b) {
        case "official", "chính thức": return (.normalized("official", "status.normalized"), false)
        case "probationary", "dự bị": return (.normalized("probationary", "status.normalized"), true)
        case "": return (.error("status.required"), nil)
        default: return (.error("status.invalid"), nil)
        }
    }

    /// Organization types; also the Vietnamese names.
    public static func orgType(_ b: UnsafeRawBufferPointer) -> (FieldOutcome, String?) {
        if b.isEmpty { return (.error("type.required"), nil) }
        if bytesEqual(b, "cell") { return (.same, "cell") }
        if bytesEqual(b, "unit_committee") { return (.same, "unit_committee") }
        if bytesEqual(b, "grassroots_committee") { return (.same, "grassroots_committee") }
        let w = lowerWord(b)
        let map = [
            "unit_committee": "unit_committee", "grassroots_committee": "grassroots_committee", "cell": "cell",
            "chi bộ": "cell", "đảng bộ cơ sở": "grassroots_committee", "đảng bộ phường": "unit_committee",
            "đảng bộ xã": "unit_committee", "đảng bộ đặc khu": "unit_committee",
        ]
        if let t = map[w] { return (.normalized(t, "type.normalized"), t) }
        return (.error(w.isEmpty ? "type.required" : "type.invalid"), nil)
    }

    /// A date column.
    public static func date(_ b: UnsafeRawBufferPointer, rules: DateRules, required: Bool) -> (FieldOutcome, CivilDate?) {
        if b.isEmpty { return (required ? .error(rules.required) : .same, nil) }
        switch Dates.parse(b) {
        case .canonical(let d): return (.same, d)
        case .normalizable(let d): return (.normalized(d.description, rules.format), d)
        case .invalid: return (.error(rules.invalid), nil)
        }
    }

    /// A citizen id: spaces removed (warning); 9 digits (legacy CMND), other lengths or
    /// non-digits (format), unknown province: errors. Returns the 12 digits as a number.
    public static func citizenID(_ b: UnsafeRawBufferPointer) -> (FieldOutcome, UInt64?) {
        if b.isEmpty { return (.error("citizen_id.required"), nil) }
        var digits: UInt64 = 0
        var n = 0
        var spaces = false
        var other = false
        for c in b {
            if c >= 0x30 && c <= 0x39 {
                digits = digits &* 10 &+ UInt64(c - 0x30)
                n += 1
            } else if c == 0x20 || c == 0x09 {
                spaces = true
            } else {
                other = true
            }
        }
        if other || n == 0 { return (.error(n == 0 && !other ? "citizen_id.required" : "citizen_id.format"), nil) }
        if n == 9 { return (.error("citizen_id.legacy_cmnd"), nil) }
        guard n == 12 else { return (.error("citizen_id.format"), nil) }
        guard CCCD.isProvince(Int(digits / 1_000_000_000)) else { return (.error("citizen_id.province"), nil) }
        if spaces {
            let s = String(digits)
            return (.normalized(String(repeating: "0", count: 12 - s.count) + s, "citizen_id.spaces"), digits)
        }
        return (.same, digits)
    }

    /// A Vietnamese mobile number: 10 digits from 0, prefixes 03/05/07/08/09; +84, 84,
    /// spaces, dots and dashes are normalized.
    public static func phone(_ b: UnsafeRawBufferPointer) -> FieldOutcome {
        if b.isEmpty { return .same }
        var d: [UInt8] = []
        d.reserveCapacity(12)
        var changed = false
        for (i, c) in b.enumerated() {
            if c >= 0x30 && c <= 0x39 {
                d.append(c)
            } else if c == 0x20 || c == 0x2E || c == 0x2D || c == 0x28 || c == 0x29 {
                changed = true
            } else if c == 0x2B && i == 0 {
                changed = true
            } else {
                return .error("phone.invalid")
            }
        }
        if b.first == 0x2B {  // +84…
            guard d.count == 11, d[0] == 0x38, d[1] == 0x34 else { return .error("phone.invalid") }
            d = [0x30] + d[2...]
        } else if d.count == 11 && d[0] == 0x38 && d[1] == 0x34 {
            d = [0x30] + d[2...]
            changed = true
        }
        guard d.count == 10, d[0] == 0x30 else { return .error("phone.invalid") }
        switch d[1] {
        case 0x33, 0x35, 0x37, 0x38, 0x39: break
        default: return .error("phone.prefix")
        }
        return changed ? .normalized(String(decoding: d, as: UTF8.self), "phone.format") : .same
    }

    /// A plausible e-mail: one @, a non-empty local part, a dotted domain, no spaces, ASCII.
    public static func email(_ b: UnsafeRawBufferPointer) -> FieldOutcome {
        if b.isEmpty { return .same }
        let t = trimmedASCII(b)
        guard let at = t.firstIndex(of: 0x40), at > 0, t.lastIndex(of: 0x40) == at else { return .error("email.invalid") }
        let local = t[..<at]
        let domain = t[(at + 1)...]
        guard domain.count >= 3, let dot = domain.lastIndex(of: 0x2E), dot > domain.startIndex, dot < domain.endIndex - 1,
            !domain.contains(where: { $0 == 0x2E }) || !domain.starts(with: [0x2E]),
            t.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), !local.isEmpty
        else { return .error("email.invalid") }
        let lowered = Array(local) + [0x40] + domain.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }
        if lowered.count == b.count && lowered.elementsEqual(b) { return .same }
        return .normalized(String(decoding: lowered, as: UTF8.self), "email.normalized")
    }
}

/// Byte equality of two strings (String's == is canonical equivalence).
@inline(__always) func sameBytes(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
