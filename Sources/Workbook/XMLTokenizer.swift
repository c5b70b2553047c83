#if canImport(Glibc)
    import Glibc
#endif

/// What the tokenizer hands on: elements by local name (the prefix dropped), their attributes,
/// and text (entities and character references decoded, CDATA as it is). A value type held by
/// the tokenizer (`XMLTokenizer.handler`), so that its state is checked for exclusive access at
/// compile time, not on every access at run time as a class's would be.
protocol XMLHandler {
    /// True for a SpreadsheetML part: only the elements of SpreadsheetML's main namespace (its
    /// prefix resolved through the `xmlns` declarations in scope) reach the handler — an
    /// `<evil:row>` is no row, it is skipped, its start and end alike — and the root element
    /// must be one of them.
    static var spreadsheetML: Bool { get }
    /// False while the handler ignores text (whitespace between elements, formulas): it is then
    /// skipped without being decoded or kept.
    var wantsText: Bool { get }
    mutating func startElement(_ name: UnsafeRawBufferPointer, _ attributes: XMLAttributes) throws
    mutating func endElement(_ name: UnsafeRawBufferPointer) throws
    mutating func text(_ bytes: UnsafeRawBufferPointer) throws
}

/// The attributes of one start tag (valid during `startElement` only), by local name: names
/// and values where they lie in the part, values holding an entity decoded into the
/// tokenizer's scratch.
struct XMLAttributes {
    let names: UnsafePointer<UnsafeRawBufferPointer>
    let values: UnsafePointer<UnsafeRawBufferPointer>
    let count: Int

    func value(_ local: StaticString) -> UnsafeRawBufferPointer? {
        for i in 0..<count where XMLBytes.equals(names[i], local) { return values[i] }
        return nil
    }

    func string(_ local: StaticString) -> String? { value(local).map { String(decoding: $0, as: UTF8.self) } }
}

/// Byte comparisons the handlers share.
enum XMLBytes {
    /// The bytes are exactly `s` (names are short: a byte loop, no call into libc).
    @inline(__always) static func equals(_ b: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard b.count == n else { return false }
        let p = s.utf8Start
        for i in 0..<n where b[i] != p[i] { return false }
        return true
    }
}

extension XMLHandler {
    static var spreadsheetML: Bool { false }
}

struct NoHandler: XMLHandler {
    var wantsText: Bool { false }
    func startElement(_ name: UnsafeRawBufferPointer, _ attributes: XMLAttributes) throws {}
    func endElement(_ name: UnsafeRawBufferPointer) throws {}
    func text(_ bytes: UnsafeRawBufferPointer) throws {}
}

/// A push tokenizer for the XML SpreadsheetML needs, and nothing more: elements, attributes,
/// text, the five predefined entities, numeric character references, CDATA, comments and
/// processing instructions (skipped). Any `<!DOCTYPE`, `<!ENTITY` or other declaration is
/// refused (`workbook_unsafe`): no entity is ever expanded, nothing external ever fetched. An
/// entity other than the five is `workbook_malformed`; so are two attributes of one element
/// with the same local name (handlers look attributes up by it) and a raw control byte
/// (0x00–0x1F but TAB, LF, CR: XML's own rule) in text handed on or an attribute value.
/// Namespace declarations (`xmlns`, `xmlns:p`) are not attributes: they are kept in scope (at
/// most `maxNamespaces`) to tell a SpreadsheetML handler's elements from others. Input arrives
/// in chunks (`feed`); a token cut by a chunk's end is kept until the next one, up to
/// `maxToken` bytes.
///
/// A non-copyable value owning its buffers (freed by `deinit`): one owner, mutated in place, so
/// every access to its state (and its handler's) is proven exclusive by the compiler.
struct XMLTokenizer<Handler: XMLHandler>: ~Copyable {
    var handler: Handler
    let part: String
    let maxToken: Int
    let maxDepth: Int
    /// Bytes kept from earlier chunks (a token cut by a chunk's end).
    private var buf: UnsafeMutableRawBufferPointer
    private var used = 0
    private var scratch: UnsafeMutableRawBufferPointer
    /// The names of the open elements, one after another, and where each ends (`depth` of them).
    private var names: UnsafeMutableRawBufferPointer
    private var namesUsed = 0
    private let nameEnds: UnsafeMutablePointer<Int>
    private var depth = 0
    private let attrNames: UnsafeMutablePointer<UnsafeRawBufferPointer>
    private let attrValues: UnsafeMutablePointer<UnsafeRawBufferPointer>
    private var sawRoot = false
    private var started = false
    /// Whether each open element reached the handler (its end tag then does too).
    private let passed: UnsafeMutablePointer<Bool>
    /// The namespace declarations in scope, innermost last: the prefix (in `nsPrefixBytes`, empty
    /// for the default namespace), whether it names SpreadsheetML's main namespace, and the
    /// depth of the element declaring it.
    private var nsPrefixBytes: [UInt8] = []
    private var nsScopes: [(prefixEnd: Int, main: Bool, depth: Int)] = []
    /// Whether an unprefixed name is in SpreadsheetML's main namespace (the default in scope).
    private var defaultMain = false
    /// The depth of the innermost element declaring a namespace (-1: none), so that closing
    /// an element looks at no array.
    private var nsInnermost = -1
    static var maxAttributes: Int { 64 }
    static var maxNamespaces: Int { 64 }

    init(handler: Handler, part: String, maxToken: Int = 1 << 20, maxDepth: Int = 64) {
        self.handler = handler
        self.part = part
        self.maxToken = maxToken
        self.maxDepth = maxDepth
        buf = .allocate(byteCount: 1 << 17, alignment: 16)
        scratch = .allocate(byteCount: 1 << 16, alignment: 16)
        names = .allocate(byteCount: 1 << 10, alignment: 16)
        nameEnds = .allocate(capacity: max(maxDepth, 1))
        attrNames = .allocate(capacity: Self.maxAttributes)
        attrValues = .allocate(capacity: Self.maxAttributes)
        passed = .allocate(capacity: max(maxDepth, 1))
    }

    deinit {
        buf.deallocate()
        scratch.deallocate()
        names.deallocate()
        nameEnds.deallocate()
        attrNames.deallocate()
        attrValues.deallocate()
        passed.deallocate()
    }

    func malformed(_ what: String) -> WorkbookError { .malformed("\(part): \(what)") }

    static func equals(_ b: UnsafeRawBufferPointer, _ s: StaticString) -> Bool { XMLBytes.equals(b, s) }

    /// Takes the next bytes of the part. They are parsed where they lie; only a token cut by a
    /// chunk's end is copied (into `buf`), and completed with as few of the next chunk's bytes
    /// as will do.
    mutating func feed(_ chunk: UnsafeRawBufferPointer) throws {
        guard chunk.count > 0 else { return }
        guard started else {
            keep(chunk)
            guard used >= 3 else { return }
            started = true
            let b = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
            if (b[0] == 0xFE && b[1] == 0xFF) || (b[0] == 0xFF && b[1] == 0xFE) { throw malformed("not UTF-8 (UTF-16)") }
            if b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF { try consume(3) }
            try consume(try parse(UnsafePointer(b), used, final: false))
            return
        }
        var from = 0
        if used > 0 {
            var take = min(chunk.count, 256)
            while true {
                let kept = used
                keep(UnsafeRawBufferPointer(rebasing: chunk[from..<take]))
                from = take
                let done = try parse(UnsafePointer(buf.baseAddress!.assumingMemoryBound(to: UInt8.self)), used, final: false)
                if done >= kept {
                    // The cut token is complete; what follows `done` in buf is still in the chunk.
                    from -= used - done
                    used = 0
                    break
                }
                try consume(done)
                if from == chunk.count { return }
                take = min(chunk.count, from * 2)
            }
        }
        let b = chunk.baseAddress!.assumingMemoryBound(to: UInt8.self) + from
        let done = try parse(b, chunk.count - from, final: false)
        let rest = chunk.count - from - done
        guard rest > 0 else { return }
        guard rest <= maxToken else { throw WorkbookError.tooLarge("\(part): a tag or text longer than \(maxToken >> 10) KiB") }
        keep(UnsafeRawBufferPointer(start: b + done, count: rest))
    }

    /// Appends bytes to `buf`, growing it.
    private mutating func keep(_ chunk: UnsafeRawBufferPointer) {
        if used + chunk.count > buf.count {
            var c = buf.count
            while c < used + chunk.count { c *= 2 }
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: c, alignment: 16)
            if used > 0 { bigger.baseAddress!.copyMemory(from: buf.baseAddress!, byteCount: used) }
            buf.deallocate()
            buf = bigger
        }
        (buf.baseAddress! + used).copyMemory(from: chunk.baseAddress!, byteCount: chunk.count)
        used += chunk.count
    }

    /// The part has ended: what is left must be whitespace, and every element closed.
    mutating func finish() throws {
        if !started && used > 0 { started = true }
        let done = try parse(UnsafePointer(buf.baseAddress!.assumingMemoryBound(to: UInt8.self)), used, final: true)
        try consume(done)
        guard used == 0 else { throw malformed("ends inside a tag") }
        guard sawRoot, depth == 0 else { throw malformed("ends before its elements are closed") }
    }

    private mutating func consume(_ n: Int) throws {
        guard n > 0 else {
            if used > maxToken { throw WorkbookError.tooLarge("\(part): a tag or text longer than \(maxToken >> 10) KiB") }
            return
        }
        let rest = used - n
        if rest > 0 { memmove(buf.baseAddress!, buf.baseAddress! + n, rest) }
        used = rest
        if used > maxToken { throw WorkbookError.tooLarge("\(part): a tag or text longer than \(maxToken >> 10) KiB") }
    }

    /// Parses the complete tokens of [b, b + e); returns how many bytes were used.
    private mutating func parse(_ b: UnsafePointer<UInt8>, _ e: Int, final: Bool) throws -> Int {
        var p = 0
        while p < e {
            if b[p] != 0x3C {
                // Text up to the next '<'.
                let rest = e - p
                let lt = find(b, p, p + rest, 0x3C)
                if !handler.wantsText {
                    guard let lt else {
                        if final { try requireWhitespace(b, p, e) }
                        return e
                    }
                    if depth == 0 { try requireWhitespace(b, p, lt) }
                    p = lt
                    continue
                }
                guard let lt else {
                    if final { throw malformed("text after the last element") }
                    return p
                }
                try handler.text(try decode(b, p, lt))
                p = lt
                continue
            }
            guard p + 1 < e else { return p }
            let c = b[p + 1]
            if c == 0x3F {  // <? … ?>
                guard let end = find2(b, p + 2, e, 0x3F, 0x3E) else { return p }
                p = end + 2
                continue
            }
            if c == 0x21 {  // <!
                if startsWith(b, p, e, "<!--") {
                    guard let end = find3(b, p + 4, e, 0x2D, 0x2D, 0x3E) else { return p }
                    p = end + 3
                    continue
                }
                if startsWith(b, p, e, "<![CDATA[") {
                    guard depth > 0 else { throw malformed("CDATA outside the elements") }
                    guard let end = find3(b, p + 9, e, 0x5D, 0x5D, 0x3E) else { return p }
                    if handler.wantsText {
                        _ = try requireNoControl(b, p + 9, end)
                        try handler.text(UnsafeRawBufferPointer(start: b + p + 9, count: end - p - 9))
                    }
                    p = end + 3
                    continue
                }
                // A prefix of the two allowed forms may still be arriving.
                let have = e - p
                if have < 9 && (prefixOf(b, p, e, "<!--") || prefixOf(b, p, e, "<![CDATA[")) && !final { return p }
                if startsWith(b, p, e, "<!DOCTYPE") || startsWith(b, p, e, "<!ENTITY") {
                    throw WorkbookError.unsafe("\(part) declares a DOCTYPE or an entity (entity expansion, external entities)")
                }
                throw WorkbookError.unsafe("\(part) holds an XML declaration (<!…>) a workbook never has")
            }
            // A tag: find its '>' outside quotes (bytes none of " ' < > pass at one test each).
            var q = p + 1
            var quote: UInt8 = 0
            while q < e {
                let d = b[q]
                if !Self.isTagSpecial(d) {
                    q += 1
                    continue
                }
                if quote != 0 {
                    if d == quote { quote = 0 }
                } else if d == 0x22 || d == 0x27 {
                    quote = d
                } else if d == 0x3E {
                    break
                } else if d == 0x3C {
                    throw malformed("'<' inside a tag")
                }
                q += 1
            }
            guard q < e else { return p }
            if c == 0x2F {
                try endTag(b, p + 2, q)
            } else {
                try startTag(b, p + 1, q)
            }
            p = q + 1
        }
        return p
    }

    private func requireWhitespace(_ b: UnsafePointer<UInt8>, _ from: Int, _ to: Int) throws {
        for i in from..<to where !isSpace(b[i]) { throw malformed("text outside the root element") }
    }

    // Byte classes as bit masks over the bytes below 64 (every byte these name is ASCII below '@').
    private static var spaceMask: UInt64 { 1 << 0x20 | 1 << 0x0A | 1 << 0x0D | 1 << 0x09 }
    private static var notNameMask: UInt64 { spaceMask | 1 << 0x2F | 1 << 0x3E | 1 << 0x3D | 1 << 0x22 | 1 << 0x27 | 1 << 0x3C | 1 << 0x26 }
    private static var tagSpecialMask: UInt64 { 1 << 0x22 | 1 << 0x27 | 1 << 0x3C | 1 << 0x3E }

    @inline(__always) private static func isTagSpecial(_ c: UInt8) -> Bool { c < 64 && (tagSpecialMask >> UInt64(c)) & 1 != 0 }

    @inline(__always) private func isSpace(_ c: UInt8) -> Bool { c < 64 && (Self.spaceMask >> UInt64(c)) & 1 != 0 }

    private func startsWith(_ b: UnsafePointer<UInt8>, _ p: Int, _ e: Int, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        return e - p >= n && memcmp(b + p, s.utf8Start, n) == 0
    }

    private func prefixOf(_ b: UnsafePointer<UInt8>, _ p: Int, _ e: Int, _ s: StaticString) -> Bool {
        let n = min(e - p, s.utf8CodeUnitCount)
        return memcmp(b + p, s.utf8Start, n) == 0
    }

    private func find2(_ b: UnsafePointer<UInt8>, _ from: Int, _ e: Int, _ x: UInt8, _ y: UInt8) -> Int? {
        var i = from
        while i + 1 < e {
            if b[i] == x && b[i + 1] == y { return i }
            i += 1
        }
        return nil
    }

    private func find3(_ b: UnsafePointer<UInt8>, _ from: Int, _ e: Int, _ x: UInt8, _ y: UInt8, _ z: UInt8) -> Int? {
        var i = from
        while i + 2 < e {
            if b[i] == x && b[i + 1] == y && b[i + 2] == z { return i }
            i += 1
        }
        return nil
    }

    /// The first `x` in [from, to): most texts in a sheet are a few bytes, looked at one by
    /// one; longer ones through memchr.
    @inline(__always) private func find(_ b: UnsafePointer<UInt8>, _ from: Int, _ to: Int, _ x: UInt8) -> Int? {
        var i = from
        let quick = min(to, from + 16)
        while i < quick {
            if b[i] == x { return i }
            i += 1
        }
        guard i < to else { return nil }
        return memchr(b + i, Int32(x), to - i).map { UnsafePointer<UInt8>(OpaquePointer($0)) - b }
    }

    /// [from, to) of a name, its prefix dropped.
    private func localName(_ b: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> (Int, Int) {
        var s = from
        for i in from..<to where b[i] == 0x3A { s = i + 1 }
        return (s, to - s)
    }

    @inline(__always) private func isNameByte(_ c: UInt8) -> Bool { c >= 64 || (Self.notNameMask >> UInt64(c)) & 1 == 0 }

    private mutating func endTag(_ b: UnsafePointer<UInt8>, _ from: Int, _ to: Int) throws {
        var n = from
        while n < to && isNameByte(b[n]) { n += 1 }
        guard n > from else { throw malformed("an end tag without a name") }
        for i in n..<to where !isSpace(b[i]) { throw malformed("text inside an end tag") }
        guard depth > 0 else { throw malformed("an end tag without its start") }
        depth -= 1
        let start = depth == 0 ? 0 : nameEnds[depth - 1]
        let len = nameEnds[depth] - start
        var same = len == n - from
        if same {
            let open = names.baseAddress!.assumingMemoryBound(to: UInt8.self) + start
            for k in 0..<len where open[k] != b[from + k] {
                same = false
                break
            }
        }
        guard same else { throw malformed("an end tag that does not match its start") }
        namesUsed = start
        if nsInnermost >= depth { popNamespaces() }
        guard passed[depth] else { return }
        let (ls, ll) = localName(b, from, n)
        try handler.endElement(UnsafeRawBufferPointer(start: b + ls, count: ll))
    }

    /// Ends the namespace declarations of the element at `depth` (being closed).
    private mutating func popNamespaces() {
        while let last = nsScopes.last, last.depth >= depth { nsScopes.removeLast() }
        nsPrefixBytes.removeLast(nsPrefixBytes.count - (nsScopes.last?.prefixEnd ?? 0))
        nsInnermost = nsScopes.last?.depth ?? -1
        defaultMain = false
        for i in nsScopes.indices.reversed() where nsScopes[i].prefixEnd == (i == 0 ? 0 : nsScopes[i - 1].prefixEnd) {
            defaultMain = nsScopes[i].main
            break
        }
    }

    private static var mainNamespace: StaticString { "http://schemas.openxmlformats.org/spreadsheetml/2006/main" }
    private static var strictNamespace: StaticString { "http://purl.oclc.org/ooxml/spreadsheetml/main" }

    /// Notes a declaration `xmlns="uri"` (empty prefix) or `xmlns:p="uri"` on the element at `depth`.
    private mutating func declareNamespace(_ prefix: UnsafeRawBufferPointer, _ uri: UnsafeRawBufferPointer) throws {
        guard nsScopes.count < Self.maxNamespaces else {
            throw WorkbookError.tooLarge("\(part): more than \(Self.maxNamespaces) namespace declarations in scope")
        }
        let main = Self.equals(uri, Self.mainNamespace) || Self.equals(uri, Self.strictNamespace)
        nsPrefixBytes.append(contentsOf: prefix)
        nsScopes.append((nsPrefixBytes.count, main, depth))
        nsInnermost = depth
        if prefix.isEmpty { defaultMain = main }
    }

    /// Whether the element name [from, to) (its prefix up to `colon`, or none) is in
    /// SpreadsheetML's main namespace.
    private func inMainNamespace(_ b: UnsafePointer<UInt8>, _ from: Int, _ localStart: Int) -> Bool {
        guard localStart > from else { return defaultMain }
        let len = localStart - 1 - from
        var i = nsScopes.count - 1
        while i >= 0 {
            let end = nsScopes[i].prefixEnd
            let start = i == 0 ? 0 : nsScopes[i - 1].prefixEnd
            if end - start == len {
                var same = true
                for k in 0..<len where nsPrefixBytes[start + k] != b[from + k] {
                    same = false
                    break
                }
                if same { return nsScopes[i].main }
            }
            i -= 1
        }
        return false
    }

    private mutating func startTag(_ b: UnsafePointer<UInt8>, _ from: Int, _ to: Int) throws {
        var end = to
        var empty = false
        if end > from && b[end - 1] == 0x2F {
            empty = true
            end -= 1
        }
        var n = from
        while n < end && isNameByte(b[n]) { n += 1 }
        guard n > from else { throw malformed("a tag without a name") }
        if depth == 0 {
            guard !sawRoot else { throw malformed("a second root element") }
            sawRoot = true
        }
        guard depth < maxDepth else { throw WorkbookError.tooLarge("\(part): elements nested deeper than \(maxDepth)") }
        // Attributes: name = "value" pairs; a value holding an entity is decoded into `scratch`
        // (sized first for the whole tag: decoded text is never longer than its source, and
        // scratch never moves while the tag's values point into it).
        if end - n + 8 > scratch.count { growScratch(end - n + 8) }
        let sc = scratch.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var count = 0
        var s = 0
        var i = n
        while true {
            while i < end && isSpace(b[i]) { i += 1 }
            if i >= end { break }
            guard i > n && isSpace(b[i - 1]) else { throw malformed("attributes not separated by spaces") }
            let ns = i
            while i < end && isNameByte(b[i]) { i += 1 }
            guard i > ns else { throw malformed("an attribute without a name") }
            let (ls, ll) = localName(b, ns, i)
            // xmlns or xmlns:p: a namespace declaration, not an attribute.
            let declaration = b[ns] == 0x78 && (i - ns == 5 || ls == ns + 6) && startsWith(b, ns, i, "xmlns")
            while i < end && isSpace(b[i]) { i += 1 }
            guard i < end && b[i] == 0x3D else { throw malformed("an attribute without a value") }
            i += 1
            while i < end && isSpace(b[i]) { i += 1 }
            guard i < end && (b[i] == 0x22 || b[i] == 0x27) else { throw malformed("an attribute value without quotes") }
            let quote = b[i]
            i += 1
            let vs = i
            var plain = true
            while i < end && b[i] != quote {
                let d = b[i]
                if d < 0x40 {
                    if d == 0x26 {
                        plain = false
                    } else if d == 0x3C {
                        throw malformed("'<' inside an attribute value")
                    } else if d < 0x20 && !isSpace(d) {
                        throw malformed("a control character inside an attribute value")
                    }
                }
                i += 1
            }
            guard i < end else { throw malformed("an attribute value without its closing quote") }
            guard count < Self.maxAttributes else { throw WorkbookError.tooLarge("\(part): a tag with more than \(Self.maxAttributes) attributes") }
            let name = UnsafeRawBufferPointer(start: b + ls, count: ll)
            let value: UnsafeRawBufferPointer
            if plain {
                value = UnsafeRawBufferPointer(start: b + vs, count: i - vs)
            } else {
                let decoded = try decodeInto(b, vs, i, at: s)
                value = UnsafeRawBufferPointer(start: sc + s, count: decoded)
                s += decoded
            }
            i += 1
            if declaration {
                try declareNamespace(ls == ns ? UnsafeRawBufferPointer(start: b + ls, count: 0) : name, value)
                continue
            }
            for k in 0..<count where attrNames[k].count == ll {
                let other = attrNames[k]
                var same = true
                for j in 0..<ll where other[j] != b[ls + j] {
                    same = false
                    break
                }
                if same { throw malformed("an element with two attributes named \(Workbook.shown(String(decoding: name, as: UTF8.self)))") }
            }
            attrNames[count] = name
            attrValues[count] = value
            count += 1
        }
        let attrs = XMLAttributes(names: attrNames, values: attrValues, count: count)
        let (ls, ll) = localName(b, from, n)
        let name = UnsafeRawBufferPointer(start: b + ls, count: ll)
        let pass = !Handler.spreadsheetML || (ls == from ? defaultMain : inMainNamespace(b, from, ls))
        if depth == 0 && !pass { throw malformed("its root element is not in SpreadsheetML's namespace") }
        if empty {
            if pass {
                try handler.startElement(name, attrs)
                try handler.endElement(name)
            }
            if nsInnermost >= depth { popNamespaces() }
        } else {
            let len = n - from
            if namesUsed + len > names.count { growNames(namesUsed + len) }
            let to = names.baseAddress!.assumingMemoryBound(to: UInt8.self) + namesUsed
            for k in 0..<len { to[k] = b[from + k] }
            namesUsed += len
            nameEnds[depth] = namesUsed
            passed[depth] = pass
            depth += 1
            if pass { try handler.startElement(name, attrs) }
        }
    }

    private mutating func growNames(_ need: Int) {
        var c = names.count
        while c < need { c *= 2 }
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: c, alignment: 16)
        if namesUsed > 0 { bigger.baseAddress!.copyMemory(from: names.baseAddress!, byteCount: namesUsed) }
        names.deallocate()
        names = bigger
    }

    private mutating func growScratch(_ need: Int) {
        var c = scratch.count
        while c < need { c *= 2 }
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: c, alignment: 16)
        bigger.baseAddress!.copyMemory(from: scratch.baseAddress!, byteCount: scratch.count)
        scratch.deallocate()
        scratch = bigger
    }

    /// A raw control byte (0x00–0x1F but TAB, LF, CR) in [from, to) is refused; returns
    /// whether an '&' is there.
    @inline(__always) private func requireNoControl(_ b: UnsafePointer<UInt8>, _ from: Int, _ to: Int) throws -> Bool {
        var amp = false
        for i in from..<to where b[i] < 0x27 {
            let c = b[i]
            if c == 0x26 {
                amp = true
            } else if c < 0x20 && !isSpace(c) {
                throw malformed("a control character in its text")
            }
        }
        return amp
    }

    /// Text [from, to) decoded into scratch (from offset 0); a raw control byte is refused.
    private mutating func decode(_ b: UnsafePointer<UInt8>, _ from: Int, _ to: Int) throws -> UnsafeRawBufferPointer {
        if try !requireNoControl(b, from, to) { return UnsafeRawBufferPointer(start: b + from, count: to - from) }
        if to - from + 8 > scratch.count { growScratch(to - from + 8) }
        let n = try decodeInto(b, from, to, at: 0)
        return UnsafeRawBufferPointer(start: scratch.baseAddress!, count: n)
    }

    /// Decodes [from, to) into scratch at `at` (decoded text is never longer than its source);
    /// returns the decoded length.
    private func decodeInto(_ b: UnsafePointer<UInt8>, _ from: Int, _ to: Int, at: Int) throws -> Int {
        let sc = scratch.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var o = at
        var i = from
        while i < to {
            let c = b[i]
            if c != 0x26 {
                if c == 0x3C { throw malformed("'<' inside an attribute value") }
                sc[o] = c
                o += 1
                i += 1
                continue
            }
            var semi = i + 1
            while semi < to && semi - i <= 12 && b[semi] != 0x3B { semi += 1 }
            guard semi < to && b[semi] == 0x3B else { throw malformed("an '&' that starts no entity") }
            let name = UnsafeRawBufferPointer(start: b + i + 1, count: semi - i - 1)
            var out: UInt8 = 0
            if Self.equals(name, "lt") {
                out = 0x3C
            } else if Self.equals(name, "gt") {
                out = 0x3E
            } else if Self.equals(name, "amp") {
                out = 0x26
            } else if Self.equals(name, "quot") {
                out = 0x22
            } else if Self.equals(name, "apos") {
                out = 0x27
            } else if name.count >= 2 && name[0] == 0x23 {
                let cp = try characterReference(name)
                o += encodeUTF8(cp, sc + o)
                i = semi + 1
                continue
            } else {
                throw malformed("an entity other than the five of XML (never expanded)")
            }
            sc[o] = out
            o += 1
            i = semi + 1
        }
        return o - at
    }

    private func characterReference(_ name: UnsafeRawBufferPointer) throws -> UInt32 {
        var cp: UInt32 = 0
        let hex = name[1] == 0x78
        let digits = name.dropFirst(hex ? 2 : 1)
        guard !digits.isEmpty, digits.count <= 8 else { throw malformed("a character reference that is no character") }
        for d in digits {
            let v: UInt32
            switch d {
            case 0x30...0x39: v = UInt32(d - 0x30)
            case 0x61...0x66 where hex: v = UInt32(d - 0x61 + 10)
            case 0x41...0x46 where hex: v = UInt32(d - 0x41 + 10)
            default: throw malformed("a character reference that is no character")
            }
            cp = cp * (hex ? 16 : 10) + v
        }
        let allowed =
            cp == 0x9 || cp == 0xA || cp == 0xD || (0x20...0xD7FF).contains(cp) || (0xE000...0xFFFD).contains(cp) || (0x10000...0x10FFFF).contains(cp)
        guard allowed else { throw malformed("a character reference that is no character") }
        return cp
    }

    /// Writes a scalar as UTF-8; at most 4 bytes, never more than the reference it replaces.
    private func encodeUTF8(_ cp: UInt32, _ out: UnsafeMutablePointer<UInt8>) -> Int {
        switch cp {
        case 0..<0x80:
            out[0] = UInt8(cp)
            return 1
        case 0x80..<0x800:
            out[0] = UInt8(0xC0 | cp >> 6)
            out[1] = UInt8(0x80 | cp & 0x3F)
            return 2
        case 0x800..<0x10000:
            out[0] = UInt8(0xE0 | cp >> 12)
            out[1] = UInt8(0x80 | cp >> 6 & 0x3F)
            out[2] = UInt8(0x80 | cp & 0x3F)
            return 3
        default:
            out[0] = UInt8(0xF0 | cp >> 18)
            out[1] = UInt8(0x80 | cp >> 12 & 0x3F)
            out[2] = UInt8(0x80 | cp >> 6 & 0x3F)
            out[3] = UInt8(0x80 | cp & 0x3F)
            return 4
        }
    }
}
