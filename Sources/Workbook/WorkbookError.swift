public import SealBase

/// A workbook refused: the code (`workbook_malformed`, `workbook_too_large`, `workbook_unsafe`),
/// a sentence a clerk can act on, and what to do. Never a cell's value: sheet names, part
/// names, cell references and sizes only.
public struct WorkbookError: Error, Sendable, CustomStringConvertible {
    public let code: SealErrorCode
    public let message: String
    public let remedy: String

    public init(_ code: SealErrorCode, _ message: String, remedy: String) {
        self.code = code
        self.message = message
        self.remedy = remedy
    }

    public var description: String { "\(code): \(message) — \(remedy)" }

    static let resave = "open it in Excel and save it again as \"Excel Workbook (.xlsx)\""

    static func malformed(_ message: String) -> WorkbookError { WorkbookError(.workbookMalformed, message, remedy: resave) }

    static func tooLarge(_ message: String) -> WorkbookError {
        WorkbookError(
            .workbookTooLarge, message,
            remedy: "keep only the record sheets and delete cells outside the records (Ctrl+End shows the last cell), or split the workbook")
    }

    static func unsafe(_ message: String) -> WorkbookError {
        WorkbookError(
            .workbookUnsafe, message + "; nothing of it was used",
            remedy: "do not use this file: ask whoever sent it for the records again, saved from Excel")
    }
}

/// The bounds a workbook is read within (each refusal names the bound it passed).
public struct WorkbookLimits: Sendable {
    /// The largest part (zip member) inflated, declared or real.
    public var maxPartBytes: UInt64 = 1 << 30
    /// All the parts read, inflated (every sheet, the shared strings, the structure).
    public var maxTotalBytes: UInt64 = 1 << 30
    /// A member declaring more than this many times its compressed size (once it is over
    /// `ratioFloor`) is a zip bomb; Excel's largest sheets stay far below (docs/records.md).
    public var maxRatio: UInt64 = 200
    public var ratioFloor: UInt64 = 1 << 20
    /// Shared strings: bytes of text and entries.
    public var maxSharedStringBytes = 64 << 20
    public var maxSharedStrings = 4 << 20
    /// The last column a value may be in (a record file has at most a few dozen): 1,022 (AMH),
    /// so that a row with the two fields the sheet's feed puts first (its row number and notes)
    /// stays within the CSV reader's 1,024 fields.
    public var maxColumns = 1022
    /// Zip members in the archive.
    public var maxMembers = 10_000
    /// Bytes of one cell's text (Excel's limit is 32,767 characters).
    public var maxCellBytes = 32_767 * 4
    /// Element nesting.
    public var maxDepth = 64

    public init() {}
}

/// Excel's grid: columns A…XFD, rows 1…1,048,576.
public enum ExcelGrid {
    public static let maxColumn = 16_384
    public static let maxRow = 1_048_576

    /// "A" → 1, "XFD" → 16384; nil for anything else (lower case is not a reference).
    public static func column(_ letters: some Collection<UInt8>) -> Int? {
        guard !letters.isEmpty, letters.count <= 3 else { return nil }
        var n = 0
        for c in letters {
            guard c >= 0x41 && c <= 0x5A else { return nil }
            n = n * 26 + Int(c - 0x40)
        }
        return n <= maxColumn ? n : nil
    }

    /// 1 → "A", 28 → "AB".
    public static func letters(_ column: Int) -> String {
        var n = column
        var out: [UInt8] = []
        while n > 0 {
            let r = (n - 1) % 26
            out.insert(UInt8(0x41 + r), at: 0)
            n = (n - 1) / 26
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// "B12" → (2, 12); "$B$12" too. nil when the text is no reference inside the grid.
    public static func reference(_ b: UnsafeRawBufferPointer) -> (column: Int, row: Int)? {
        let n = b.count
        var i = 0
        if i < n && b[i] == 0x24 { i += 1 }
        let ls = i
        var col = 0
        while i < n && b[i] >= 0x41 && b[i] <= 0x5A {
            guard i - ls < 3 else { return nil }
            col = col * 26 + Int(b[i] - 0x40)
            i += 1
        }
        guard i > ls, col <= maxColumn else { return nil }
        if i < n && b[i] == 0x24 { i += 1 }
        let ds = i
        var row = 0
        while i < n && b[i] >= 0x30 && b[i] <= 0x39 {
            row = row * 10 + Int(b[i] - 0x30)
            if row > maxRow { return nil }
            i += 1
        }
        guard i == n, i > ds, row >= 1, b[ds] != 0x30 else { return nil }
        return (col, row)
    }
}
