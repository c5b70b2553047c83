import Foundation
import SealBase
import SealCrypto
import ZIPFoundation

/// One sheet as workbook.xml lists it.
public struct SheetInfo: Sendable, Equatable {
    public let name: String
    /// Hidden or "very hidden" in Excel: still read when named for a record file.
    public let hidden: Bool
    /// The zip member holding it (e.g. xl/worksheets/sheet1.xml).
    public let part: String
}

/// An .xlsx workbook (Office Open XML SpreadsheetML), read as a stream: the zip's members are
/// listed by ZIPFoundation and inflated chunk by chunk, each within its own bytes
/// (`MemberReader`), into `XMLTokenizer`, never written anywhere. Opening
/// reads the member list (every name checked), `_rels/.rels`, workbook.xml and its
/// relationships; `loadSharedStrings` reads the shared strings once (bounded); `readRows`
/// streams one sheet's rows. Every refusal is a `WorkbookError`.
///
/// Not `Sendable` by its members but used by one thread at a time: the shared strings are loaded
/// before a sheet's rows are read on another thread, and nothing changes after.
public final class Workbook: @unchecked Sendable {
    public let path: String
    public let limits: WorkbookLimits
    public private(set) var sheets: [SheetInfo] = []
    /// workbook.xml's `<workbookPr date1904="1">`: serials count from 1904-01-01.
    public private(set) var date1904 = false
    let archive: Archive
    private var entries: [String: Entry] = [:]
    /// Where each member's data lies (`ZipDirectory`): what the parts are read from.
    private var locations: [String: MemberLocation] = [:]
    private var sharedStringsPart: String?
    var strings: SharedStrings?
    /// Bytes inflated so far (every part read), for the bound on the whole workbook.
    private var inflatedTotal: UInt64 = 0
    let displayName: String

    public init(path: String, limits: WorkbookLimits = WorkbookLimits()) throws {
        self.path = path
        self.limits = limits
        displayName = path.split(separator: "/").last.map(String.init) ?? path
        if let head = FileHandle(forReadingAtPath: path) {
            let magic = [UInt8](head.readData(ofLength: 8))
            try? head.close()
            if magic.starts(with: [0xD0, 0xCF, 0x11, 0xE0]) {
                throw WorkbookError(
                    .workbookMalformed, "\(displayName) is an Excel 97–2003 workbook (.xls), not .xlsx",
                    remedy: "open it in Excel and save it as \"Excel Workbook (.xlsx)\"")
            }
            if !magic.starts(with: [0x50, 0x4B]) {
                throw WorkbookError(.workbookMalformed, "\(displayName) is not an Excel workbook (not a zip archive)", remedy: WorkbookError.resave)
            }
        } else {
            throw WorkbookError(.workbookMalformed, "\(displayName) cannot be read", remedy: "check the path and its permissions")
        }
        do { archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw WorkbookError(.workbookMalformed, "\(displayName) is not an Excel workbook (a damaged zip archive)", remedy: WorkbookError.resave)
        }
        var count = 0
        // The compressed sizes the members declare must fit in the file: the ratio bound below
        // then holds what every part may inflate to (a header claiming a larger compressed size
        // than its bytes would otherwise pass it).
        var compressedTotal: UInt64 = 0
        let fileSize = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
        for entry in archive {
            count += 1
            compressedTotal += entry.compressedSize
            guard compressedTotal <= fileSize else {
                throw WorkbookError.unsafe("\(displayName): its zip members declare more compressed bytes than the file holds (a zip bomb)")
            }
            guard count <= limits.maxMembers else {
                throw WorkbookError.tooLarge("\(displayName) holds more than \(limits.maxMembers) zip members")
            }
            let name = entry.path
            try Self.checkMemberName(name, in: displayName)
            guard entries[name] == nil else { throw WorkbookError.unsafe("\(displayName) holds two zip members named \(Self.shown(name))") }
            entries[name] = entry
        }
        locations = try ZipDirectory.locations(path: path, fileSize: fileSize, display: displayName)
        try readStructure()
    }

    /// A member name leaving the archive (`..`, an absolute path, a drive, a backslash) or
    /// holding control characters is refused, though nothing is ever extracted to disk.
    static func checkMemberName(_ name: String, in file: String) throws {
        let bad =
            name.hasPrefix("/") || name.contains("\\") || name.split(separator: "/", omittingEmptySubsequences: false).contains("..")
            || name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } || (name.count >= 2 && name.dropFirst().first == ":")
        if bad { throw WorkbookError.unsafe("\(file) holds a zip member whose name leaves the archive (\(shown(name)))") }
    }

    /// A name as it may be printed on a terminal: control characters (C0, DEL, C1 such as CSI),
    /// format characters (bidirectional overrides) and line or paragraph separators as "?" (as
    /// GatewayCore's TerminalText does), at most 80 characters.
    public static func shown(_ s: String) -> String {
        let clean = String(
            s.unicodeScalars.map { u in
                switch u.properties.generalCategory {
                case .control, .format, .lineSeparator, .paragraphSeparator: "?"
                default: Character(u)
                }
            })
        return clean.count > 80 ? String(clean.prefix(80)) + "…" : clean
    }

    /// Streams a member into a tokenizer, holding sizes to their bounds while inflating, and
    /// returns the handler. The CRC-32 of what is inflated is computed here (`ZipCRC32`,
    /// slicing by 8) and checked against the member's. `eachChunk` runs before each chunk is
    /// tokenized (what it throws ends the reading; `WorkbookCancelled` passes as it is).
    func stream<H: XMLHandler>(_ part: String, into handler: H, eachChunk: (() throws -> Void)? = nil) throws -> H {
        guard let entry = entries[part] else { throw WorkbookError.malformed("\(displayName): the part \(part) is missing") }
        guard let location = locations[part], location.compressedSize == entry.compressedSize, location.crc == entry.checksum else {
            throw WorkbookError.malformed("\(displayName): the part \(part) is not where the zip directory says (a damaged zip archive)")
        }
        let declared = entry.uncompressedSize
        let compressed = max(entry.compressedSize, 1)
        guard declared <= limits.maxPartBytes else {
            throw WorkbookError.tooLarge("\(displayName): the part \(part) declares \(declared >> 20) MiB, over \(limits.maxPartBytes >> 20) MiB")
        }
        guard inflatedTotal + declared <= limits.maxTotalBytes else {
            throw WorkbookError.tooLarge("\(displayName): its parts read inflate to more than \(limits.maxTotalBytes >> 20) MiB in all")
        }
        if declared > limits.ratioFloor && declared / compressed > limits.maxRatio {
            throw WorkbookError.unsafe(
                "\(displayName): the part \(part) declares \(declared / compressed) times its compressed size (a zip bomb)")
        }
        var tokenizer = XMLTokenizer(handler: handler, part: "\(displayName): \(part)", maxDepth: limits.maxDepth)
        let bomb = "\(displayName): the part \(part) inflates past the size it declares (a zip bomb)"
        var real: UInt64 = 0
        var crc = ZipCRC32()
        do {
            let inflater = Inflater(
                path: path, location: location, what: "\(displayName): the part \(part)", declared: declared, bombMessage: bomb)
            if declared > Self.chunkSize && inflater.start() {
                // Inflated on a thread of its own, a few chunks ahead.
                defer { inflater.join() }
                while let data = try inflater.take() {
                    try eachChunk?()
                    try data.withUnsafeBytes { try tokenizer.feed($0) }
                }
                inflater.join()
                (real, crc) = (inflater.real, inflater.crc)
            } else {
                try MemberReader.read(path: path, location, chunk: Self.chunkSize, what: "\(displayName): the part \(part)") { raw in
                    try eachChunk?()
                    real += UInt64(raw.count)
                    guard real <= declared else { throw WorkbookError.unsafe(bomb) }
                    crc.update(raw)
                    try tokenizer.feed(raw)
                }
            }
        } catch let e as WorkbookError {
            throw e
        } catch let e as WorkbookCancelled {
            throw e
        } catch {
            throw WorkbookError.malformed("\(displayName): the part \(part) cannot be inflated (a damaged zip archive)")
        }
        guard real == declared, crc.value == entry.checksum else {
            throw WorkbookError.malformed("\(displayName): the part \(part) does not match its size or checksum (a damaged zip archive)")
        }
        inflatedTotal += real
        try tokenizer.finish()
        return tokenizer.handler
    }

    /// The bytes read from the zip and inflated at a time.
    static let chunkSize = 1 << 16

    func exists(_ part: String) -> Bool { entries[part] != nil }

    // MARK: Structure: _rels/.rels → workbook.xml (+ its relationships)

    private func readStructure() throws {
        var workbookPart = "xl/workbook.xml"
        if exists("_rels/.rels") {
            let rels = try stream("_rels/.rels", into: RelationshipsReader())
            if let target = rels.byType("officeDocument").first {
                workbookPart = try Self.resolve(target, from: "", in: displayName)
            }
        }
        guard exists(workbookPart) else {
            throw WorkbookError.malformed("\(displayName) is not an Excel workbook (no \(workbookPart))")
        }
        let base = workbookPart.split(separator: "/").dropLast().joined(separator: "/")
        let relsPart = (base.isEmpty ? "" : base + "/") + "_rels/" + (workbookPart.split(separator: "/").last.map(String.init) ?? "") + ".rels"
        let rels = exists(relsPart) ? try stream(relsPart, into: RelationshipsReader()) : RelationshipsReader()
        let wb = try stream(workbookPart, into: WorkbookXMLReader())
        date1904 = wb.date1904
        var names = Set<String>()
        var parts = Set<String>()
        for s in wb.sheets {
            guard let target = rels.targets[s.relationship] else {
                throw WorkbookError.malformed("\(displayName): the sheet \"\(Self.shown(s.name))\" points at no part")
            }
            let part = try Self.resolve(target, from: base, in: displayName)
            guard exists(part) else { throw WorkbookError.malformed("\(displayName): the sheet \"\(Self.shown(s.name))\" is missing (\(part))") }
            guard names.insert(s.name).inserted else { throw WorkbookError.malformed("\(displayName): two sheets named \"\(Self.shown(s.name))\"") }
            // Read twice for two record files, one part would count twice against nothing.
            guard parts.insert(part).inserted else {
                throw WorkbookError.malformed("\(displayName): two sheets are the one part \(Self.shown(part)) (\"\(Self.shown(s.name))\" is one)")
            }
            sheets.append(SheetInfo(name: s.name, hidden: s.hidden, part: part))
        }
        if let target = rels.byType("sharedStrings").first {
            let part = try Self.resolve(target, from: base, in: displayName)
            guard exists(part) else { throw WorkbookError.malformed("\(displayName): the shared strings are missing (\(part))") }
            sharedStringsPart = part
        }
    }

    /// A relationship target resolved against the folder of the part that names it; one that
    /// leaves the archive is refused.
    static func resolve(_ target: String, from base: String, in file: String) throws -> String {
        var parts: [Substring] = target.hasPrefix("/") ? [] : base.split(separator: "/")
        for c in target.split(separator: "/") {
            if c == "." { continue }
            if c == ".." {
                guard !parts.isEmpty else { throw WorkbookError.unsafe("\(file) names a part outside the archive (\(shown(target)))") }
                parts.removeLast()
                continue
            }
            parts.append(c)
        }
        let joined = parts.joined(separator: "/")
        try checkMemberName(joined, in: file)
        return joined
    }

    // MARK: Shared strings

    /// Reads sharedStrings.xml once (every sheet's `t="s"` cells index it), within
    /// `maxSharedStringBytes` and `maxSharedStrings`.
    public func loadSharedStrings() throws {
        guard strings == nil else { return }
        var table = SharedStrings(limits: limits, file: displayName)
        if let part = sharedStringsPart { table = try stream(part, into: SharedStringsReader(table: table)).table }
        strings = table
    }

    /// How many shared strings, and their bytes (after `loadSharedStrings`).
    public var sharedStringFigures: (count: Int, bytes: Int) { (strings?.count ?? 0, strings?.byteCount ?? 0) }

    // MARK: Rows

    /// Streams the rows of a sheet that hold at least one value, in order, to `body` (the row is
    /// valid during the call only). Loads the shared strings first if needed. `eachChunk` runs
    /// before each 64 KiB chunk of the sheet is read: a reader that no longer wants the rows
    /// throws `WorkbookCancelled` there (or from `body`), and the reading stops.
    public func readRows(of sheet: SheetInfo, eachChunk: (() throws -> Void)? = nil, _ body: (SheetRow) throws -> Void) throws {
        try loadSharedStrings()
        try withoutActuallyEscaping(body) { body in
            _ = try stream(sheet.part, into: SheetReader(workbook: self, sheet: sheet, body: body), eachChunk: eachChunk)
        }
    }
}

/// The reading of a sheet's rows was stopped by its reader (`Workbook.readRows`): not a refusal.
public struct WorkbookCancelled: Error {
    public init() {}
}

/// The shared strings: one byte store and the end offset of each string, within
/// `maxSharedStrings` and `maxSharedStringBytes`.
struct SharedStrings {
    private(set) var bytes: [UInt8] = []
    private(set) var ends: [UInt32] = []
    let limits: WorkbookLimits
    let file: String
    init(limits: WorkbookLimits, file: String) {
        self.limits = limits
        self.file = file
    }
    var count: Int { ends.count }
    var byteCount: Int { ends.last.map(Int.init) ?? 0 }

    /// Drops the text of a string not ended.
    mutating func begin() {
        let extra = bytes.count - byteCount
        if extra > 0 { bytes.removeLast(extra) }
    }

    /// More text of the string being read.
    mutating func text(_ b: UnsafeRawBufferPointer) throws {
        guard bytes.count - byteCount + b.count <= limits.maxCellBytes else {
            throw WorkbookError.tooLarge("\(file): a shared string over \(limits.maxCellBytes) bytes")
        }
        guard bytes.count + b.count <= limits.maxSharedStringBytes else {
            throw WorkbookError.tooLarge("\(file): shared strings over \(limits.maxSharedStringBytes >> 20) MiB")
        }
        bytes.append(contentsOf: b)
    }

    /// Ends the string being read.
    mutating func end() throws {
        guard ends.count < limits.maxSharedStrings else {
            throw WorkbookError.tooLarge("\(file): more than \(limits.maxSharedStrings) shared strings")
        }
        ends.append(UInt32(bytes.count))
    }
}

/// `<Relationships><Relationship Id Type Target/>`.
struct RelationshipsReader: XMLHandler {
    var targets: [String: String] = [:]
    var types: [(type: String, target: String)] = []
    var wantsText: Bool { false }
    mutating func startElement(_ name: UnsafeRawBufferPointer, _ a: XMLAttributes) throws {
        guard XMLBytes.equals(name, "Relationship") else { return }
        guard let id = a.string("Id"), let target = a.string("Target") else { return }
        if a.string("TargetMode") == "External" { return }
        targets[id] = target
        types.append((a.string("Type") ?? "", target))
    }
    func endElement(_ name: UnsafeRawBufferPointer) throws {}
    func text(_ bytes: UnsafeRawBufferPointer) throws {}
    func byType(_ suffix: String) -> [String] { types.filter { $0.type.hasSuffix("/" + suffix) }.map(\.target) }
}

/// workbook.xml: `<workbookPr date1904>` and `<sheets><sheet name state r:id/>`.
struct WorkbookXMLReader: XMLHandler {
    static var spreadsheetML: Bool { true }
    struct Sheet {
        var name: String
        var hidden: Bool
        var relationship: String
    }
    var sheets: [Sheet] = []
    var date1904 = false
    var wantsText: Bool { false }
    mutating func startElement(_ name: UnsafeRawBufferPointer, _ a: XMLAttributes) throws {
        if XMLBytes.equals(name, "workbookPr") {
            let v = a.string("date1904")
            date1904 = v == "1" || v == "true"
        } else if XMLBytes.equals(name, "sheet") {
            guard let n = a.string("name"), let rid = a.string("id") else { throw WorkbookError.malformed("workbook.xml: a sheet without a name") }
            guard sheets.count < 1000 else { throw WorkbookError.tooLarge("workbook.xml: more than 1000 sheets") }
            let state = a.string("state")
            sheets.append(Sheet(name: n, hidden: state == "hidden" || state == "veryHidden", relationship: rid))
        }
    }
    func endElement(_ name: UnsafeRawBufferPointer) throws {}
    func text(_ bytes: UnsafeRawBufferPointer) throws {}
}

/// sharedStrings.xml: `<si>` holds `<t>` or rich text runs `<r><t>`, concatenated; the
/// phonetic runs (`<rPh><t>`) are not the cell's text.
struct SharedStringsReader: XMLHandler {
    static var spreadsheetML: Bool { true }
    var table: SharedStrings
    private var inSI = false
    private var inT = false
    private var inPhonetic = 0
    init(table: SharedStrings) { self.table = table }
    var wantsText: Bool { inT && inPhonetic == 0 }
    mutating func startElement(_ name: UnsafeRawBufferPointer, _ a: XMLAttributes) throws {
        if XMLBytes.equals(name, "si") {
            inSI = true
            table.begin()
        } else if XMLBytes.equals(name, "t") {
            inT = inSI
        } else if XMLBytes.equals(name, "rPh") {
            inPhonetic += 1
        }
    }
    mutating func endElement(_ name: UnsafeRawBufferPointer) throws {
        if XMLBytes.equals(name, "si") {
            inSI = false
            try table.end()
        } else if XMLBytes.equals(name, "t") {
            inT = false
        } else if XMLBytes.equals(name, "rPh") {
            inPhonetic -= 1
        }
    }
    mutating func text(_ bytes: UnsafeRawBufferPointer) throws { try table.text(bytes) }
}
