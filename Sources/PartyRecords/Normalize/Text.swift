/// Unicode text rules for names and free text: NFC, single spaces, Vietnamese title case,
/// letters only. Fast paths cover ASCII and the Latin blocks Vietnamese uses; anything else
/// goes through the standard library's normalization and case mapping.
public enum Text {
    /// Case tables for U+0000…U+1FFF (all of Vietnamese), built once.
    private static let tableSize = 0x2000
    private static let tables: (upper: [UInt32], lower: [UInt32], isUpper: [Bool], isLower: [Bool], isLetter: [Bool]) = {
        var up = [UInt32](repeating: 0, count: tableSize)
        var lo = up
        var isU = [Bool](repeating: false, count: tableSize)
        var isL = isU
        var isLetter = isU
        for v in 0..<tableSize {
            up[Int(v)] = UInt32(v)
            lo[Int(v)] = UInt32(v)
            guard let s = Unicode.Scalar(UInt32(v)) else { continue }
            let p = s.properties
            isU[v] = p.isUppercase
            isL[v] = p.isLowercase
            isLetter[v] = p.isAlphabetic && !p.isWhitespace
            let u = p.uppercaseMapping.unicodeScalars
            let l = p.lowercaseMapping.unicodeScalars
            if u.count == 1 { up[v] = u.first!.value }
            if l.count == 1 { lo[v] = l.first!.value }
        }
        return (up, lo, isU, isL, isLetter)
    }()

    @inline(__always) static func isSpace(_ v: UInt32) -> Bool {
        v == 0x20 || v == 0x09 || v == 0xA0 || v == 0x0A || v == 0x0D || v == 0x3000 || (v >= 0x2000 && v <= 0x200B)
    }

    /// True when `s` is certainly NFC without normalizing it: every scalar is below U+0300 or
    /// in Latin Extended Additional (U+1E00…U+1EFF), whose characters are all NFC-stable.
    @inline(__always) static func quickNFC(_ s: String) -> Bool {
        for u in s.utf8 where u >= 0x80 {
            // Some non-ASCII byte: check scalars.
            for sc in s.unicodeScalars where !(sc.value < 0x300 || (sc.value >= 0x1E00 && sc.value < 0x1F00)) { return false }
            return true
        }
        return true
    }

    /// The NFC form.
    public static func nfc(_ s: String) -> String {
        if quickNFC(s) { return s }
        return String(decoding: s._nfcCodeUnits, as: UTF8.self)
    }

    /// Leading/trailing white space removed, inner runs (spaces, tabs, no-break spaces) made one space.
    public static func collapseSpaces(_ s: String) -> String {
        var needs = false
        var prevSpace = true
        for sc in s.unicodeScalars {
            let sp = isSpace(sc.value)
            if sp && (prevSpace || sc.value != 0x20) {
                needs = true
                break
            }
            prevSpace = sp
        }
        if !needs && !prevSpace { return s }
        if !needs && s.isEmpty { return s }
        var out = String.UnicodeScalarView()
        var pending = false
        for sc in s.unicodeScalars {
            if isSpace(sc.value) {
                pending = !out.isEmpty
                continue
            }
            if pending {
                out.append(" ")
                pending = false
            }
            out.append(sc)
        }
        return String(out)
    }

    @inline(__always) static func mapUpper(_ sc: Unicode.Scalar) -> String.UnicodeScalarView {
        if sc.value < tableSize { return String.UnicodeScalarView([Unicode.Scalar(tables.upper[Int(sc.value)])!]) }
        return sc.properties.uppercaseMapping.unicodeScalars
    }

    @inline(__always) static func mapLower(_ sc: Unicode.Scalar) -> String.UnicodeScalarView {
        if sc.value < tableSize { return String.UnicodeScalarView([Unicode.Scalar(tables.lower[Int(sc.value)])!]) }
        return sc.properties.lowercaseMapping.unicodeScalars
    }

    /// Vietnamese title case of an NFC, single-spaced name: each word's first letter upper
    /// case, the rest lower case (`NGUYỄN văn an` → `Nguyễn Văn An`).
    public static func titleCase(_ s: String) -> String {
        if isTitleCase(s) { return s }
        var out = String.UnicodeScalarView()
        var atWordStart = true
        for sc in s.unicodeScalars {
            if sc.value == 0x20 {
                out.append(sc)
                atWordStart = true
                continue
            }
            out.append(contentsOf: atWordStart ? mapUpper(sc) : mapLower(sc))
            atWordStart = false
        }
        return String(out)
    }

    /// True when every word starts with a non-lower-case scalar and continues in lower case.
    public static func isTitleCase(_ s: String) -> Bool {
        var atWordStart = true
        let t = tables
        for sc in s.unicodeScalars {
            let v = sc.value
            if v == 0x20 {
                atWordStart = true
                continue
            }
            if v < tableSize {
                if atWordStart { if t.isLower[Int(v)] { return false } } else if t.isUpper[Int(v)] { return false }
            } else {
                if atWordStart { if sc.properties.isLowercase { return false } } else if sc.properties.isUppercase { return false }
            }
            atWordStart = false
        }
        return true
    }

    /// Letters (any script) and single spaces only.
    public static func isLettersAndSpaces(_ s: String) -> Bool {
        let t = tables
        for sc in s.unicodeScalars {
            let v = sc.value
            if v == 0x20 { continue }
            if v < tableSize { if !t.isLetter[Int(v)] { return false } } else if !(sc.properties.isAlphabetic) { return false }
        }
        return true
    }

    /// Number of space-separated words (of a collapsed string).
    public static func wordCount(_ s: String) -> Int {
        s.isEmpty ? 0 : s.utf8.reduce(1) { $1 == 0x20 ? $0 + 1 : $0 }
    }

    /// Simple lower case (for matching words like Nam/Nữ, chính thức).
    public static func lower(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for sc in s.unicodeScalars { out.append(contentsOf: mapLower(sc)) }
        return String(out)
    }
}
