import Foundation
import ZIPFoundation

/// A small .xlsx writer for the tests: the parts Excel writes ([Content_Types].xml, the
/// relationships, workbook.xml, one part per sheet, sharedStrings.xml), deflated by
/// ZIPFoundation; `raw` adds or replaces any member as given (hostile workbooks).
struct TestWorkbook {
    struct Sheet {
        var name: String
        var xml: String
        var hidden = false
    }
    var sheets: [Sheet] = []
    /// `<si>` bodies, e.g. `<t>member_id</t>` or `<r><t>Nguyễn </t></r><r><t>Văn</t></r>`.
    var sharedStrings: [String] = []
    var date1904 = false
    /// Members written as given, after (and instead of) the generated ones of the same name.
    var raw: [(path: String, bytes: [UInt8])] = []
    /// Members the generated list leaves out (a sheet listed but missing).
    var omit: Set<String> = []

    static let ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    static let rns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

    /// A worksheet part around rows (`row(…)`).
    static func sheet(_ rows: [String], dimension: String? = nil, prolog: String = "") -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\(prolog)<worksheet xmlns=\"\(ns)\" xmlns:r=\"\(rns)\">"
            + (dimension.map { "<dimension ref=\"\($0)\"/>" } ?? "") + "<sheetData>" + rows.joined() + "</sheetData></worksheet>"
    }

    static func row(_ r: Int, _ cells: [String], attributes: String = "") -> String { "<row r=\"\(r)\"\(attributes)>" + cells.joined() + "</row>" }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Cells: inline string, shared string index, number, formula string, boolean, error.
    static func inline(_ ref: String, _ text: String) -> String { "<c r=\"\(ref)\" t=\"inlineStr\"><is><t>\(escape(text))</t></is></c>" }
    static func shared(_ ref: String, _ index: Int) -> String { "<c r=\"\(ref)\" t=\"s\"><v>\(index)</v></c>" }
    static func number(_ ref: String, _ v: String) -> String { "<c r=\"\(ref)\" s=\"1\"><v>\(v)</v></c>" }
    static func formulaString(_ ref: String, _ v: String) -> String { "<c r=\"\(ref)\" t=\"str\"><f>A1&amp;\"\"</f><v>\(escape(v))</v></c>" }
    static func error(_ ref: String, _ v: String) -> String { "<c r=\"\(ref)\" t=\"e\"><f>VLOOKUP(1,A:A,2,0)</f><v>\(v)</v></c>" }

    func parts() -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        func add(_ p: String, _ s: String) { out.append((p, Array(s.utf8))) }
        add(
            "[Content_Types].xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
                + "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
                + "<Default Extension=\"xml\" ContentType=\"application/xml\"/></Types>")
        add(
            "_rels/.rels",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
                + "<Relationship Id=\"rId1\" Type=\"\(Self.rns)/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>")
        var wb = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"\(Self.ns)\" xmlns:r=\"\(Self.rns)\">"
        if date1904 { wb += "<workbookPr date1904=\"1\"/>" }
        wb += "<sheets>"
        var rels = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
        for (i, s) in sheets.enumerated() {
            wb += "<sheet name=\"\(Self.escape(s.name))\" sheetId=\"\(i + 1)\"\(s.hidden ? " state=\"hidden\"" : "") r:id=\"rId\(i + 1)\"/>"
            rels += "<Relationship Id=\"rId\(i + 1)\" Type=\"\(Self.rns)/worksheet\" Target=\"worksheets/sheet\(i + 1).xml\"/>"
            add("xl/worksheets/sheet\(i + 1).xml", s.xml)
        }
        wb += "</sheets></workbook>"
        if !sharedStrings.isEmpty {
            rels += "<Relationship Id=\"rIdS\" Type=\"\(Self.rns)/sharedStrings\" Target=\"sharedStrings.xml\"/>"
            add(
                "xl/sharedStrings.xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst xmlns=\"\(Self.ns)\" count=\"\(sharedStrings.count)\">"
                    + sharedStrings.map { "<si>\($0)</si>" }.joined() + "</sst>")
        }
        rels += "</Relationships>"
        add("xl/workbook.xml", wb)
        add("xl/_rels/workbook.xml.rels", rels)
        let replaced = Set(raw.map(\.path))
        out = out.filter { !replaced.contains($0.0) && !omit.contains($0.0) }
        return out + raw.map { ($0.path, $0.bytes) }
    }

    @discardableResult
    func write(to path: String) throws -> String {
        try? FileManager.default.removeItem(atPath: path)
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        for (name, bytes) in parts() {
            let data = Data(bytes)
            try archive.addEntry(
                with: name, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate,
                provider: { position, size in data.subdata(in: Int(position)..<Int(position) + size) })
        }
        return path
    }
}

/// Sets a zip member's declared uncompressed size, in its local header and in the central
/// directory (a lying header: the zip bomb that declares little and inflates much).
func patchDeclaredSize(_ path: String, member: String, to size: UInt32) throws {
    try patchHeaders(path, member: member, local: 22, central: 24, to: size)
}

/// Sets a zip member's CRC-32, in its local header and in the central directory (a member
/// whose bytes are not those it was written with).
func patchChecksum(_ path: String, member: String, to crc: UInt32) throws {
    try patchHeaders(path, member: member, local: 14, central: 16, to: crc)
}

/// Writes a 32-bit field of a member's local header and of its central directory entry.
func patchHeaders(_ path: String, member: String, local: Int, central: Int, to value: UInt32) throws {
    var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let name = Array(member.utf8)
    func u16(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
    func put32(_ i: Int, _ v: UInt32) { for k in 0..<4 { b[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) } }
    var i = 0
    var patched = 0
    while i + 46 < b.count {
        if b[i] == 0x50 && b[i + 1] == 0x4B && b[i + 2] == 0x03 && b[i + 3] == 0x04, u16(i + 26) == name.count,
            Array(b[(i + 30)..<(i + 30 + name.count)]) == name
        {
            put32(i + local, value)
            patched += 1
        }
        if b[i] == 0x50 && b[i + 1] == 0x4B && b[i + 2] == 0x01 && b[i + 3] == 0x02, u16(i + 28) == name.count,
            Array(b[(i + 46)..<(i + 46 + name.count)]) == name
        {
            put32(i + central, value)
            patched += 1
        }
        i += 1
    }
    precondition(patched == 2, "patched \(patched) headers")
    try Data(b).write(to: URL(fileURLWithPath: path))
}

/// The CRC-32 of zip (bit by bit, from its definition: the reference for the reader's
/// table-driven one).
func referenceCRC32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        c ^= UInt32(byte)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return ~c
}
