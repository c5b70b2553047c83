#if canImport(Glibc)
    import Glibc
#endif

/// What a cell holds, from its `t` attribute: text (`s`, `inlineStr`, `str`, `d`), a number
/// (`n` or none: the `<v>` text as written), a boolean (`b`: "TRUE"/"FALSE"), an error (`e`:
/// `#N/A`, `#VALUE!`, …).
public enum CellKind: UInt8, Sendable {
    case text
    case number
    case boolean
    case error
}

/// One row of a sheet that holds at least one value: its number and its non-empty cells by
/// column (1-based, ascending). Valid during the `readRows` call only.
public struct SheetRow {
    struct Cell {
        var column: Int
        var end: Int
        var kind: CellKind
    }
    public internal(set) var number = 0
    var cells: [Cell] = []
    /// The cells' values one after another (cell i ends at `cells[i].end`).
    var bytes: [UInt8] = []

    public var count: Int { cells.count }
    public func column(_ i: Int) -> Int { cells[i].column }
    public func kind(_ i: Int) -> CellKind { cells[i].kind }
    public func withValue<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let s = i == 0 ? 0 : cells[i - 1].end
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[s..<cells[i].end])) }
    }
    public func string(_ i: Int) -> String { withValue(i) { String(decoding: $0, as: UTF8.self) } }

    mutating func reset(_ n: Int) {
        number = n
        cells.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
    }

    /// The end of the last cell kept: the bytes after it are the cell being read.
    var committed: Int { cells.last?.end ?? 0 }
}

/// A worksheet's `<sheetData>`: rows (`<row r>`), cells (`<c r t>`), values (`<v>`, inline
/// `<is><t>` and its rich text runs); formulas (`<f>`) are skipped, their cached value kept.
/// Row numbers must rise, columns rise within a row, both inside Excel's grid; `<dimension>`
/// too. A value past `maxColumns` is `workbook_too_large`. A row inside a row, a cell inside a
/// cell, a value (`<v>`, `<is>`, `<f>`) outside a cell or a second one in a cell is
/// `workbook_malformed` (each would drop or repeat a record's values); elements of other
/// namespaces are not seen (`XMLHandler.spreadsheetML`). A cell's text is gathered in place,
/// after the row's cells so far, and kept or dropped when the cell ends.
struct SheetReader: XMLHandler {
    static var spreadsheetML: Bool { true }
    let body: (SheetRow) throws -> Void
    let where_: String
    let maxCellBytes: Int
    let maxColumns: Int
    /// The shared strings (loaded before the sheet is read, unchanged while it is).
    let strings: [UInt8]
    let stringEnds: [UInt32]
    private var row = SheetRow()
    private var inSheetData = false
    private var inRow = false
    private var lastRow = 0
    private var inCell = false
    private var cellColumn = 0
    private var lastColumn = 0
    private var cellType: UInt8 = 0  // first byte of t: s, i(nlineStr), b, e, n, d, (s)tr → 'S'
    private var capture = false
    private var inInline = false
    private var inPhonetic = 0
    private var hasValue = false
    /// The cell's `<v>` or `<is>` has begun (a cell has one).
    private var valueSeen = false
    /// The text's bytes so far in the cell being read (gathered in the row, or for a shared
    /// string's index counted in `index` and `indexDigits`, 10 when no index).
    private var cellBytes = 0
    private var index = 0
    private var indexDigits = 0

    init(workbook: Workbook, sheet: SheetInfo, body: @escaping (SheetRow) throws -> Void) {
        self.body = body
        where_ = "\(workbook.displayName): sheet \"\(Workbook.shown(sheet.name))\""
        maxCellBytes = workbook.limits.maxCellBytes
        maxColumns = workbook.limits.maxColumns
        strings = workbook.strings?.bytes ?? []
        stringEnds = workbook.strings?.ends ?? []
    }

    var wantsText: Bool { capture && inPhonetic == 0 }

    private func eq(_ b: UnsafeRawBufferPointer, _ s: StaticString) -> Bool { XMLBytes.equals(b, s) }

    mutating func startElement(_ name: UnsafeRawBufferPointer, _ a: XMLAttributes) throws {
        switch name.count {
        case 1 where name[0] == 0x63:  // c
            guard inRow else { throw WorkbookError.malformed("\(where_): a cell outside a row") }
            guard !inCell else { throw WorkbookError.malformed("\(where_): a cell inside the cell \(refText((cellColumn, row.number)))") }
            if let r = a.value("r") {
                guard let ref = ExcelGrid.reference(r) else {
                    throw WorkbookError.malformed(
                        "\(where_): the cell reference \(Workbook.shown(String(decoding: r, as: UTF8.self))) is outside Excel's grid")
                }
                guard ref.row == row.number else { throw WorkbookError.malformed("\(where_): the cell \(refText(ref)) is not in row \(row.number)") }
                guard ref.column > lastColumn else { throw WorkbookError.malformed("\(where_): the cells of row \(row.number) are out of order") }
                cellColumn = ref.column
            } else {
                cellColumn = lastColumn + 1
                guard cellColumn <= ExcelGrid.maxColumn else {
                    throw WorkbookError.malformed("\(where_): row \(row.number) has cells past column XFD")
                }
            }
            lastColumn = cellColumn
            inCell = true
            hasValue = false
            valueSeen = false
            dropCurrent()
            cellBytes = 0
            index = 0
            indexDigits = 0
            if let t = a.value("t"), t.count > 0 {
                cellType = t.count == 3 && t[0] == 0x73 ? 0x53 : t[0]  // "str" → 'S'
            } else {
                cellType = 0x6E
            }
        case 1 where name[0] == 0x76:  // v
            try beginValue("<v>")
            capture = true
            hasValue = true
        case 1 where name[0] == 0x66:  // f: skipped, but only in a cell
            guard inCell else { throw WorkbookError.malformed("\(where_): a formula outside a cell in row \(row.number)") }
        case 1 where name[0] == 0x74:  // t (inside <is>, maybe inside <r>)
            if inInline {
                capture = true
                hasValue = true
            }
        case 2 where name[0] == 0x69 && name[1] == 0x73:  // is
            try beginValue("<is>")
            inInline = true
        case 3 where eq(name, "row"):
            guard inSheetData else { throw WorkbookError.malformed("\(where_): a row outside the sheet data") }
            guard !inRow else { throw WorkbookError.malformed("\(where_): a row inside row \(row.number)") }
            var n = lastRow + 1
            if let r = a.value("r") {
                guard let v = Self.number(r), v >= 1, v <= ExcelGrid.maxRow else {
                    throw WorkbookError.malformed(
                        "\(where_): the row number \(Workbook.shown(String(decoding: r, as: UTF8.self))) is outside Excel's grid")
                }
                n = v
            }
            guard n > lastRow, n <= ExcelGrid.maxRow else {
                throw WorkbookError.malformed("\(where_): the rows are out of order or past row 1,048,576")
            }
            lastRow = n
            row.reset(n)
            lastColumn = 0
            inRow = true
        case 3 where eq(name, "rPh"):
            inPhonetic += 1
        case 9 where eq(name, "sheetData"):
            inSheetData = true
        case 9 where eq(name, "dimension"):
            if let ref = a.value("ref") { try checkDimension(ref) }
        default:
            break
        }
    }

    private func refText(_ r: (column: Int, row: Int)) -> String { "\(ExcelGrid.letters(r.column))\(r.row)" }

    /// A cell's value (`<v>` or `<is>`): in a cell, once.
    private mutating func beginValue(_ what: StaticString) throws {
        guard inCell else { throw WorkbookError.malformed("\(where_): a value (\(what)) outside a cell in row \(row.number)") }
        guard !valueSeen else {
            throw WorkbookError.malformed("\(where_): the cell \(refText((cellColumn, row.number))) holds more than one value")
        }
        valueSeen = true
    }

    static func number(_ b: UnsafeRawBufferPointer) -> Int? {
        guard !b.isEmpty, b.count <= 9 else { return nil }
        var n = 0
        for c in b {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            n = n * 10 + Int(c - 0x30)
        }
        return n
    }

    /// `A1:N400001` (or one cell): both ends inside the grid.
    private func checkDimension(_ ref: UnsafeRawBufferPointer) throws {
        let text = String(decoding: ref, as: UTF8.self)
        for part in text.split(separator: ":", omittingEmptySubsequences: false) {
            var s = String(part)
            let ok = s.withUTF8 { ExcelGrid.reference(UnsafeRawBufferPointer($0)) != nil }
            if !ok { throw WorkbookError.malformed("\(where_): its dimension \(Workbook.shown(text)) is outside Excel's grid") }
        }
    }

    mutating func endElement(_ name: UnsafeRawBufferPointer) throws {
        switch name.count {
        case 1 where name[0] == 0x63:  // </c>
            inCell = false
            inInline = false
            try finishCell()
        case 1 where name[0] == 0x76 || name[0] == 0x74:
            capture = false
        case 2 where name[0] == 0x69 && name[1] == 0x73:
            inInline = false
        case 3 where eq(name, "row"):
            inRow = false
            if row.count > 0 { try body(row) }
        case 3 where eq(name, "rPh"):
            inPhonetic -= 1
        case 9 where eq(name, "sheetData"):
            inSheetData = false
        default:
            break
        }
    }

    mutating func text(_ bytes: UnsafeRawBufferPointer) throws {
        guard cellBytes + bytes.count <= maxCellBytes else {
            throw WorkbookError.tooLarge(
                "\(where_): the cell \(ExcelGrid.letters(cellColumn))\(row.number) holds more than Excel's 32,767 characters")
        }
        cellBytes += bytes.count
        guard cellType == 0x73 else { return row.bytes.append(contentsOf: bytes) }
        // A shared string's index: its digits (at most 9) are counted, not kept.
        for c in bytes {
            guard c >= 0x30 && c <= 0x39, indexDigits < 9 else {
                indexDigits = 10
                continue
            }
            index = index * 10 + Int(c - 0x30)
            indexDigits += 1
        }
    }

    /// Drops the text gathered for a cell not kept.
    private mutating func dropCurrent() {
        let extra = row.bytes.count - row.committed
        if extra > 0 { row.bytes.removeLast(extra) }
    }

    /// Replaces the cell's gathered text with `value`.
    private mutating func replaceCurrent(with value: UnsafeRawBufferPointer) {
        dropCurrent()
        row.bytes.append(contentsOf: value)
    }

    private mutating func finishCell() throws {
        guard hasValue else { return dropCurrent() }
        hasValue = false
        let start = row.committed
        let kind: CellKind
        switch cellType {
        case 0x73:  // s: an index into the shared strings (1 to 9 digits)
            guard indexDigits >= 1 && indexDigits <= 9 && index < stringEnds.count else {
                throw WorkbookError.malformed(
                    "\(where_): the cell \(ExcelGrid.letters(cellColumn))\(row.number) names a shared string that does not exist")
            }
            let s = index == 0 ? 0 : Int(stringEnds[index - 1])
            let e = Int(stringEnds[index])
            strings.withUnsafeBytes { row.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[s..<e])) }
            kind = .text
        case 0x62:
            kind = .boolean
            let text: StaticString = row.bytes.count == start + 1 && row.bytes[start] == 0x31 ? "TRUE" : "FALSE"
            replaceCurrent(with: UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        case 0x65: kind = .error
        case 0x6E:
            kind = .number
            // Numbers carry no spaces; a blank <v/> is an empty cell.
            while let l = row.bytes.last, row.bytes.count > start, Self.isSpace(l) { row.bytes.removeLast() }
            var lead = start
            while lead < row.bytes.count && Self.isSpace(row.bytes[lead]) { lead += 1 }
            if lead > start { row.bytes.removeSubrange(start..<lead) }
        default: kind = .text  // inlineStr, str, d
        }
        guard row.bytes.count > start else { return }
        guard cellColumn <= maxColumns else {
            throw WorkbookError.tooLarge(
                "\(where_): the cell \(ExcelGrid.letters(cellColumn))\(row.number) holds a value past column \(ExcelGrid.letters(maxColumns))"
            )
        }
        row.cells.append(SheetRow.Cell(column: cellColumn, end: row.bytes.count, kind: kind))
    }

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }
}

/// Excel's date serials: the 1900 system (serial 1 = 1900-01-01, with Lotus's 1900-02-29 as
/// serial 60) and the 1904 system (serial 0 = 1904-01-01).
public enum ExcelDate {
    /// The date text of a serial's day ("YYYY-MM-DD"; serial 60 of the 1900 system is
    /// "1900-02-29", a day that never was, which the date rules then refuse), or nil outside
    /// 1900-01-01 (1904-01-01) … 9999-12-31.
    public static func date(serial: Double, date1904: Bool) -> String? {
        guard let (days, _) = split(serial, date1904: date1904) else { return nil }
        if days == Int.min { return "1900-02-29" }
        let (y, m, d) = civil(days)
        // Years 1900…9999: four digits. Written as bytes, not joined from padded strings.
        return String(unsafeUninitializedCapacity: 10) { out in
            func put(_ v: Int, at: Int, width: Int) {
                var v = v
                for k in (0..<width).reversed() {
                    out[at + k] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                    v /= 10
                }
            }
            put(y, at: 0, width: 4)
            out[4] = 0x2D
            put(m, at: 5, width: 2)
            out[7] = 0x2D
            put(d, at: 8, width: 2)
            return 10
        }
    }

    /// "YYYY-MM-DDTHH:MM:SS" of a serial with its fraction of a day (rounded to the second).
    public static func dateTime(serial: Double, date1904: Bool) -> String? {
        guard let (days, seconds) = split(serial, date1904: date1904), days != Int.min else { return nil }
        let (y, m, d) = civil(days)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T" + pad(seconds / 3600, 2) + ":" + pad(seconds / 60 % 60, 2) + ":"
            + pad(seconds % 60, 2)
    }

    /// Days since 1970-01-01 and seconds into the day; Int.min for the 1900 system's day 60.
    private static func split(_ serial: Double, date1904: Bool) -> (Int, Int)? {
        guard serial.isFinite, serial >= (date1904 ? 0 : 1), serial < (date1904 ? 2_957_004 : 2_958_466) else { return nil }
        var whole = serial.rounded(.down)
        var seconds = Int(((serial - whole) * 86_400).rounded())
        if seconds >= 86_400 {
            whole += 1
            seconds -= 86_400
        }
        let n = Int(whole)
        if date1904 { return (n - 24_107, seconds) }  // 1904-01-01 is day -24107 of 1970
        if n == 60 { return (Int.min, seconds) }
        // Serial 61 is 1900-03-01: from there on, day 0 is 1899-12-30; before it, 1899-12-31.
        return (n < 60 ? n - 25_568 : n - 25_569, seconds)
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's civil_from_days).
    static func civil(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
