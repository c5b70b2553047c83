#if canImport(Glibc)
    import Glibc
#endif

/// Character tables for U+0000…U+1FFF in plain memory (no reference counting on the hot path).
enum CaseTables {
    static let size = 0x2000
    static let isUpper: UInt8 = 1, isLower: UInt8 = 2, isLetter: UInt8 = 4
    nonisolated(unsafe) static let flags: UnsafeMutablePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        for v in 0..<size {
            var f: UInt8 = 0
            if let s = Unicode.Scalar(UInt32(v)) {
                let pr = s.properties
                if pr.isUppercase { f |= isUpper }
                if pr.isLowercase { f |= isLower }
                if pr.isAlphabetic && !pr.isWhitespace { f |= isLetter }
            }
            p[v] = f
        }
        return p
    }()
}

/// Checks on raw UTF-8 (already validated by the reader) that prove a value needs no
/// normalization, without building a String. A false answer only means "take the full path".
enum FastPaths {
    /// Decodes the scalar at `i`; returns (value, length).
    @inline(__always) static func scalar(_ b: UnsafeRawBufferPointer, _ i: Int) -> (UInt32, Int) {
        let c = b[i]
        if c < 0x80 { return (UInt32(c), 1) }
        if c < 0xE0 { return (UInt32(c & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F), 2) }
        if c < 0xF0 { return (UInt32(c & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F), 3) }
        return (UInt32(c & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6 | UInt32(b[i + 3] & 0x3F), 4)
    }

    @inline(__always) static func quickNFCScalar(_ v: UInt32) -> Bool { v < 0x300 || (v >= 0x1E00 && v < 0x1F00) }

    /// A name already NFC, single-spaced, letters only, title case, of two words or more.
    static func isCleanName(_ b: UnsafeRawBufferPointer) -> Bool {
        let flags = CaseTables.flags
        var i = 0
        var atWordStart = true
        var words = 0
        while i < b.count {
            let (v, n) = scalar(b, i)
            i += n
            if v == 0x20 {
                if atWordStart { return false }  // leading or double space
                atWordStart = true
                continue
            }
            guard v < CaseTables.size, quickNFCScalar(v) else { return false }
            let f = flags[Int(v)]
            guard f & CaseTables.isLetter != 0 else { return false }
            if atWordStart {
                if f & CaseTables.isLower != 0 { return false }
                words += 1
            } else if f & CaseTables.isUpper != 0 {
                return false
            }
            atWordStart = false
        }
        return !atWordStart && words >= 2
    }

    /// Free text already NFC and single-spaced.
    static func isCleanText(_ b: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        var prevSpace = true
        while i < b.count {
            let (v, n) = scalar(b, i)
            i += n
            if v == 0x20 {
                if prevSpace { return false }
                prevSpace = true
                continue
            }
            guard quickNFCScalar(v), v != 0x09, v != 0x0A, v != 0x0D, v != 0xA0 else { return false }
            prevSpace = false
        }
        return !prevSpace
    }
}

/// An open-addressing map from a non-zero UInt64 key to a UInt64 value (Fibonacci hashing,
/// linear probing, key and value side by side so a lookup touches one cache line): the ids seen
/// so far, several times faster than Dictionary here. A class over raw memory: no copy-on-write
/// and no dynamic exclusivity checks on the hot path.
final class IDTable {
    private var slots: UnsafeMutablePointer<UInt64>  // [key, value] pairs
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 16) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        self.capacity = n
        slots = .allocate(capacity: 2 * n)
        slots.initialize(repeating: 0, count: 2 * n)
    }

    deinit { slots.deallocate() }

    @inline(__always) private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20) & (capacity - 1) }

    /// The value stored for `key`; or inserts `value` and returns nil.
    @inline(__always) func findOrInsert(_ key: UInt64, _ value: UInt64) -> UInt64? {
        if count * 2 >= capacity { grow() }
        var i = slot(key)
        while true {
            let k = slots[2 * i]
            if k == key { return slots[2 * i + 1] }
            if k == 0 {
                slots[2 * i] = key
                slots[2 * i + 1] = value
                count += 1
                return nil
            }
            i = (i + 1) & (capacity - 1)
        }
    }

    /// The value for `key`, or nil.
    func value(_ key: UInt64) -> UInt64? {
        var i = slot(key)
        while true {
            let k = slots[2 * i]
            if k == key { return slots[2 * i + 1] }
            if k == 0 { return nil }
            i = (i + 1) & (capacity - 1)
        }
    }

    func update(_ key: UInt64, _ value: UInt64) {
        var i = slot(key)
        while slots[2 * i] != key { i = (i + 1) & (capacity - 1) }
        slots[2 * i + 1] = value
    }

    private func grow() {
        let old = slots
        let oldCapacity = capacity
        capacity *= 2
        slots = .allocate(capacity: 2 * capacity)
        slots.initialize(repeating: 0, count: 2 * capacity)
        count = 0
        for i in 0..<oldCapacity where old[2 * i] != 0 { _ = findOrInsert(old[2 * i], old[2 * i + 1]) }
        old.deallocate()
    }
}

/// Packs an id of up to 12 characters of [0-9A-Z.-] into a non-zero UInt64 (base 40); nil otherwise.
/// Exact: two ids pack alike only if they are the same (the validator's uniqueness, the synthesis's
/// ids in more than one unit).
@inlinable @inline(__always) public func packID(_ b: some Collection<UInt8>) -> UInt64? {
    guard b.count <= 12 else { return nil }
    var v: UInt64 = 0
    for c in b {
        let code: UInt64
        switch c {
        case 0x30...0x39: code = UInt64(c - 0x30) + 1
        case 0x41...0x5A: code = UInt64(c - 0x41) + 11
        case 0x2D: code = 37
        case 0x2E: code = 38
        default: return nil
        }
        v = v &* 40 &+ code
    }
    return v == 0 ? nil : v
}

/// The text of a packed id.
func unpackID(_ v: UInt64) -> String {
    var v = v
    var out: [UInt8] = []
    while v > 0 {
        let code = v % 40
        v /= 40
        switch code {
        case 1...10: out.append(UInt8(code - 1) + 0x30)
        case 11...36: out.append(UInt8(code - 11) + 0x41)
        case 37: out.append(0x2D)
        default: out.append(0x2E)
        }
    }
    return String(decoding: out.reversed(), as: UTF8.self)
}

/// A unit's organizations by id bytes: type codes, looked up without building Strings.
struct OrgTable {
    static let unitCommittee: UInt8 = 1, grassroots: UInt8 = 2, cell: UInt8 = 3, unknownType: UInt8 = 0
    private let index = IDTable(capacity: 64)
    private var ids: [[UInt8]] = []
    private var types: [UInt8] = []

    @inline(__always) static func hash(_ b: some Sequence<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in b { h = (h ^ UInt64(c)) &* 0x100_0000_01b3 }
        return h | 1
    }

    mutating func insert(_ id: [UInt8], type: String) {
        // (the table is a class: `index` itself never changes)
        let code: UInt8 =
            type == "unit_committee"
            ? Self.unitCommittee : type == "grassroots_committee" ? Self.grassroots : type == "cell" ? Self.cell : Self.unknownType
        if index.findOrInsert(Self.hash(id), UInt64(ids.count)) == nil {
            ids.append(id)
            types.append(code)
        } else {
            ids.append(id)
            types.append(code)
        }  // hash collision: found by the linear fallback
    }

    func type(_ b: some Collection<UInt8>) -> UInt8? {
        if let i = index.value(Self.hash(b)), bytesEqual(ids[Int(i)], b) { return types[Int(i)] }
        for (k, id) in ids.enumerated() where bytesEqual(id, b) { return types[k] }
        return nil
    }
}

@inline(__always) func bytesEqual(_ a: [UInt8], _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    if let r = b.withContiguousStorageIfAvailable({ rb in a.withUnsafeBytes { ra in memcmp(ra.baseAddress!, rb.baseAddress!, a.count) == 0 } }) {
        return r
    }
    return a.elementsEqual(b)
}

/// Byte equality with an ASCII literal.
@inline(__always) func bytesEqual(_ b: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
    b.count == literal.utf8CodeUnitCount && (b.count == 0 || memcmp(b.baseAddress!, literal.utf8Start, b.count) == 0)
}
