import Synchronization
public import Workbook

#if canImport(Glibc)
    import Glibc
#endif

/// A sheet of a workbook standing for one record file.
public struct WorkbookSheet: @unchecked Sendable {
    public let workbook: Workbook
    public let sheet: SheetInfo
    public init(workbook: Workbook, sheet: SheetInfo) {
        self.workbook = workbook
        self.sheet = sheet
    }
}

extension RecordFile {
    /// The sheet names that stand for each file (compared after NFC, lower case, spaces removed):
    /// the English names, the Vietnamese ones, and those without diacritics.
    public static let sheetNames: [RecordFile: [String]] = [
        .organizations: ["organizations", "tổ chức", "to chuc"],
        .members: ["members", "đảng viên", "dang vien"],
        .corrections: ["corrections", "đính chính", "dinh chinh"],
    ]

    static func sheetKey(_ name: String) -> String {
        String(Text.lower(Text.nfc(name)).unicodeScalars.filter { !($0.properties.isWhitespace) }.map(Character.init))
    }

    /// The record file a sheet is named for, or nil.
    public static func forSheet(_ name: String) -> RecordFile? {
        let key = sheetKey(name)
        for f in allCases where sheetNames[f]!.contains(where: { sheetKey($0) == key }) { return f }
        return nil
    }
}

extension RecordInputs {
    /// The sheets of a workbook named for record files, and the names of the others (ignored;
    /// as they may be printed: `Workbook.shown`, control characters as "?").
    public static func sheets(of workbook: Workbook) throws -> (matched: [RecordFile: WorkbookSheet], ignored: [String]) {
        var matched: [RecordFile: WorkbookSheet] = [:]
        var ignored: [String] = []
        for s in workbook.sheets {
            guard let f = RecordFile.forSheet(s.name) else {
                ignored.append(Workbook.shown(s.name))
                continue
            }
            if let other = matched[f] {
                throw RecordInputError(
                    reason:
                        "\(workbook.path): the sheets \"\(Workbook.shown(other.sheet.name))\" and \"\(Workbook.shown(s.name))\" both stand for \(f.rawValue); keep one"
                )
            }
            matched[f] = WorkbookSheet(workbook: workbook, sheet: s)
        }
        guard !matched.isEmpty else {
            throw RecordInputError(
                reason:
                    "\(workbook.path) has no sheet named organizations, members or corrections (nor Tổ chức, Đảng viên, Đính chính); its sheets: "
                    + workbook.sheets.map { "\"\(Workbook.shown($0.name))\"" }.joined(separator: ", "))
        }
        return (matched, ignored)
    }

    static func isWorkbook(_ path: String) -> Bool { path.lowercased().hasSuffix(".xlsx") }
}

/// A sheet converted to CSV records as it is read, through a socket pair into a `CSVReader` —
/// the validator reads it as it reads a file, and nothing of it is written to disk. A producer
/// thread streams the sheet (`Workbook.readRows`) and writes each row holding a value as one
/// record: the Excel row number, the row's notes, then its cells up to the header's width (or
/// further when a row has values past it). A note marks a cell the validator reports itself
/// instead of running the column's rules on it: `<position>n` a number in an id column,
/// `<position>e` an Excel error value.
///
/// Numbers become text here: in a date column a serial becomes YYYY-MM-DD (reported_at:
/// YYYY-MM-DDTHH:MM:SS+07:00), in an id column the number's shortest text (noted), elsewhere
/// the shortest text (12, not 12.0).
///
/// The records are sent every 64 KiB of them, and after 4 chunks of the sheet read without
/// sending (rows holding no value send nothing: the validator sees what came before them
/// within 4 chunks, not at the sheet's end). When
/// the validator stops early (a syntax error), `finish` sets `Box.cancelled` before it waits:
/// the producer stops at its next chunk or row instead of reading the sheet to its end.
final class SheetFeed {
    let reader: CSVReader
    private let readFD: Int32
    private let box: Box
    private var thread: pthread_t
    private var joined = false

    final class Box: @unchecked Sendable {
        let sheet: WorkbookSheet
        let file: RecordFile
        let fd: Int32
        let cancelled = Atomic<Bool>(false)
        var error: (any Error)?
        var consumerGone = false
        init(sheet: WorkbookSheet, file: RecordFile, fd: Int32) {
            self.sheet = sheet
            self.file = file
            self.fd = fd
        }
    }

    init(_ sheet: WorkbookSheet, file: RecordFile) throws {
        // The shared strings load here, on the caller's thread: their errors come out as they are.
        try sheet.workbook.loadSharedStrings()
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw CSVIOError(path: sheet.workbook.path, reason: String(cString: strerror(errno)))
        }
        readFD = fds[0]
        box = Box(sheet: sheet, file: file, fd: fds[1])
        let context = Unmanaged.passRetained(box).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(
            &tid, nil,
            { raw in
                let box = Unmanaged<SheetFeed.Box>.fromOpaque(raw!).takeRetainedValue()
                SheetFeed.produce(box)
                return nil
            }, context)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            close(fds[0])
            close(fds[1])
            throw CSVIOError(path: sheet.workbook.path, reason: String(cString: strerror(rc)))
        }
        thread = tid
        reader = try CSVReader(fd: fds[0], name: "\(sheet.workbook.path) (sheet \(sheet.sheet.name))")
    }

    /// Stops the producer if it is still writing, waits for it, and throws what it met (a
    /// workbook refused mid-sheet is refused as a whole).
    func finish() throws {
        guard !joined else { return }
        joined = true
        box.cancelled.store(true, ordering: .releasing)
        shutdown(readFD, Int32(SHUT_RDWR))
        pthread_join(thread, nil)
        if let e = box.error, !box.consumerGone { throw e }
    }

    deinit { try? finish() }

    static func produce(_ box: Box) {
        let out = Output(fd: box.fd)
        defer { close(box.fd) }
        do {
            var converter = RowConverter(file: box.file, date1904: box.sheet.workbook.date1904)
            var quiet = 0
            let eachChunk = {
                if box.cancelled.load(ordering: .acquiring) { throw WorkbookCancelled() }
                // Records that waited 4 chunks for 64 KiB of them are sent as they are.
                quiet = out.count > 0 && out.flushes == 0 ? quiet + 1 : 0
                out.flushes = 0
                if quiet >= 4 {
                    quiet = 0
                    try out.flush()
                }
            }
            try box.sheet.workbook.readRows(of: box.sheet.sheet, eachChunk: eachChunk) { row in
                if box.cancelled.load(ordering: .acquiring) { throw WorkbookCancelled() }
                try converter.convert(row, into: out)
                if out.count >= 1 << 16 { try out.flush() }
            }
            try out.flush()
        } catch is WorkbookCancelled {
            box.consumerGone = true
        } catch {
            box.error = error
        }
    }

    /// CSV bytes, sent with MSG_NOSIGNAL: a reader that stopped early ends the producer, it
    /// does not raise SIGPIPE. Gathered in raw memory (flushed every 64 KiB by the producer; a
    /// field grows it at most to twice a cell's bound).
    final class Output {
        let fd: Int32
        private var buf: UnsafeMutablePointer<UInt8>
        private var capacity = 1 << 17
        private(set) var count = 0
        /// Flushes since the producer last looked.
        var flushes = 0
        init(fd: Int32) {
            self.fd = fd
            buf = .allocate(capacity: capacity)
        }
        deinit { buf.deallocate() }

        private func reserve(_ n: Int) {
            guard count + n > capacity else { return }
            var c = capacity
            while c < count + n { c *= 2 }
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            bigger.update(from: buf, count: count)
            buf.deallocate()
            buf = bigger
            capacity = c
        }

        func field(_ b: UnsafeRawBufferPointer, first: Bool) {
            reserve(2 * b.count + 3)
            let out = buf
            var o = count
            if !first {
                out[o] = 0x2C
                o += 1
            }
            count = o + CSVWriter.write(b, to: out + o)
        }

        func field(_ s: String, first: Bool = false) {
            var s = s
            s.withUTF8 { field(UnsafeRawBufferPointer($0), first: first) }
        }

        func endRecord() {
            reserve(1)
            buf[count] = 0x0A
            count += 1
        }

        func flush() throws {
            flushes += 1
            var sent = 0
            while sent < count {
                let n = send(fd, buf + sent, count - sent, Int32(MSG_NOSIGNAL))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw WorkbookCancelled()
                }
                sent += n
            }
            count = 0
        }
    }
}

/// Turns sheet rows into the feed's records (see `SheetFeed`).
struct RowConverter {
    enum Kind {
        case plain
        case id
        case date
        case dateTime
        /// corrections' old_value/new_value: the kind of the column the row's `field` names.
        case byField
    }
    let file: RecordFile
    let date1904: Bool
    var header = true
    var kinds: [Kind] = []
    var width = 0
    var fieldColumn: Int?

    init(file: RecordFile, date1904: Bool) {
        self.file = file
        self.date1904 = date1904
    }

    static func kind(of column: String?, in file: RecordFile) -> Kind {
        switch (file, column) {
        case (.members, "citizen_id"), (.members, "phone"), (.members, "member_id"), (.corrections, "citizen_id"): return .id
        case (.members, "date_of_birth"), (.members, "date_joined"), (.members, "date_official"): return .date
        case (.corrections, "reported_at"): return .dateTime
        case (.corrections, "old_value"), (.corrections, "new_value"): return .byField
        default: return .plain
        }
    }

    /// A number as Excel writes one in `<v>`: decimal (`-12`, `0.5`, `1.5E+20`), finite; nil
    /// for anything else `Double(_:)` would take (`0x1p14`, `inf`, `nan`).
    static func decimal(_ text: String) -> Double? {
        var digits = 0
        var i = text.utf8.startIndex
        let u = text.utf8
        func skipDigits() -> Int {
            var n = 0
            while i < u.endIndex, u[i] >= 0x30 && u[i] <= 0x39 {
                n += 1
                i = u.index(after: i)
            }
            return n
        }
        if i < u.endIndex, u[i] == 0x2D || u[i] == 0x2B { i = u.index(after: i) }
        digits += skipDigits()
        if i < u.endIndex, u[i] == 0x2E {
            i = u.index(after: i)
            digits += skipDigits()
        }
        guard digits > 0 else { return nil }
        if i < u.endIndex, u[i] == 0x45 || u[i] == 0x65 {
            i = u.index(after: i)
            if i < u.endIndex, u[i] == 0x2D || u[i] == 0x2B { i = u.index(after: i) }
            guard skipDigits() > 0 else { return nil }
        }
        guard i == u.endIndex, let d = Double(text), d.isFinite else { return nil }
        return d
    }

    /// The shortest text of a number as Excel wrote it (12, 0.5, 1e+20); the text itself
    /// when it is no decimal number (`decimal`).
    static func shortest(_ text: String) -> String {
        guard let d = decimal(text) else { return text }
        if d == d.rounded(), abs(d) < 9_007_199_254_740_992 { return String(Int64(d)) }
        return String(d)
    }

    mutating func convert(_ row: SheetRow, into out: SheetFeed.Output) throws {
        if header {
            header = false
            width = row.column(row.count - 1)
            kinds = Array(repeating: .plain, count: width + 1)
            out.field(String(row.number), first: true)
            out.field("")
            var next = 1
            for i in 0..<row.count {
                let c = row.column(i)
                while next < c {
                    out.field("")
                    next += 1
                }
                let heading = row.kind(i) == .number ? Self.shortest(row.string(i)) : row.string(i)
                let column = file.canonicalColumn(heading)
                kinds[c] = Self.kind(of: column, in: file)
                if column == "field" { fieldColumn = c }
                out.field(heading)
                next = c + 1
            }
            out.endRecord()
            return
        }
        // The column a correction names, for its old and new values.
        var byField = Kind.plain
        if let fc = fieldColumn, let i = (0..<row.count).first(where: { row.column($0) == fc }) {
            byField = Self.kind(of: RecordFile.members.canonicalColumn(row.string(i)), in: .members)
        }
        func kindAt(_ c: Int) -> Kind {
            let k = c < kinds.count ? kinds[c] : .plain
            return k == .byField ? byField : k
        }
        // The notes first (they come before the cells): Excel errors, numbers in id columns.
        var notes = ""
        for i in 0..<row.count {
            let c = row.column(i)
            switch row.kind(i) {
            case .error: notes += (notes.isEmpty ? "" : ";") + "\(c - 1)e"
            case .number where kindAt(c) == .id: notes += (notes.isEmpty ? "" : ";") + "\(c - 1)n"
            default: break
            }
        }
        out.field(String(row.number), first: true)
        out.field(notes)
        var next = 1
        let last = max(width, row.column(row.count - 1))
        for i in 0..<row.count {
            let c = row.column(i)
            while next < c {
                out.field("")
                next += 1
            }
            switch row.kind(i) {
            case .text, .boolean:
                row.withValue(i) { out.field($0, first: false) }
            case .error:
                out.field(row.string(i))
            case .number:
                let raw = row.string(i)
                switch kindAt(c) {
                case .date:
                    out.field(Self.decimal(raw).flatMap { ExcelDate.date(serial: $0, date1904: date1904) } ?? Self.shortest(raw))
                case .dateTime:
                    out.field(
                        Self.decimal(raw).flatMap { ExcelDate.dateTime(serial: $0, date1904: date1904) }.map { $0 + "+07:00" } ?? Self.shortest(raw))
                case .id, .plain, .byField:
                    out.field(Self.shortest(raw))
                }
            }
            next = c + 1
        }
        while next <= last {
            out.field("")
            next += 1
        }
        out.endRecord()
    }
}

/// For sealing: when record inputs include a workbook, the validator's normalized output (the
/// CSV files of the spec) goes into a private folder (0700, under TMPDIR) and those files are
/// sealed instead of the inputs; `remove()` deletes the folder at once, also after a refusal.
/// Inactive (no folder, the inputs sealed as given) when no input is a `.xlsx`.
public final class WorkbookStaging {
    public let folder: String?
    public let sink: DirectorySink?

    public init(inputs: [String], recordKind: Bool) throws {
        guard recordKind, inputs.contains(where: RecordInputs.isWorkbook) else {
            folder = nil
            sink = nil
            return
        }
        let tmp = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(tmp.hasSuffix("/") ? String(tmp.dropLast()) : tmp)/sealgate-seal-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CSVIOError(path: tmp, reason: String(cString: strerror(errno)))
        }
        let path = String(cString: made)
        folder = path
        do { sink = try DirectorySink(root: path, perUnit: false) } catch {
            Self.removeTree(path)
            throw error
        }
    }

    /// What to seal: the normalized files written, or the inputs as given.
    public func files(_ inputs: [String]) -> [String] { sink?.written ?? inputs }

    public func remove() {
        if let folder { Self.removeTree(folder) }
    }

    static func removeTree(_ path: String) {
        for name in RecordInputs.list(path) { unlink("\(path)/\(name)") }
        rmdir(path)
    }
}
