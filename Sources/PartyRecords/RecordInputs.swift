public import Workbook

#if canImport(Glibc)
    import Glibc
#endif

/// Groups command-line paths into units: a file belongs to the unit named by its folder; a
/// folder holding record files is one unit; a folder of such folders (the city) is many. A
/// `.xlsx` workbook stands for the record files its sheets are named for (`RecordFile.forSheet`):
/// a workbook given by path is the unit named by its file name (without .xlsx), one in a folder
/// without record CSVs the unit named by the folder.
public enum RecordInputs {
    public struct Unit: Sendable {
        public var unit: String
        public var files: [RecordFile: String]
        /// Record files read from a workbook's sheets (validate with `validateUnit(…, sheets:)`).
        public var sheets: [RecordFile: WorkbookSheet] = [:]
        /// Sheets of the unit's workbook named for no record file (not read).
        public var ignoredSheets: [String] = []
        public init(unit: String, files: [RecordFile: String], sheets: [RecordFile: WorkbookSheet] = [:]) {
            self.unit = unit
            self.files = files
            self.sheets = sheets
        }
    }

    static func isDirectory(_ p: String) -> Bool {
        var st = stat()
        return stat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ p: String) -> Bool { access(p, F_OK) == 0 }

    static func list(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }

    static func baseName(_ p: String) -> String {
        var s = p
        while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
        return s.split(separator: "/").last.map(String.init) ?? s
    }

    static func parent(_ p: String) -> String {
        let parts = p.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return "." }
        let joined = parts.dropLast().joined(separator: "/")
        return joined.isEmpty ? "/" : joined
    }

    /// Resolves paths to units, in a stable order. Throws for a missing path or a file that is
    /// none of the three record files (a workbook refused: its `WorkbookError`).
    public static func resolve(_ paths: [String], defaultUnit: String? = nil, limits: WorkbookLimits = WorkbookLimits()) throws -> [Unit] {
        var units: [Unit] = []
        func index(_ unit: String) -> Int {
            if let i = units.firstIndex(where: { $0.unit == unit }) { return i }
            units.append(Unit(unit: unit, files: [:]))
            return units.count - 1
        }
        func add(unit: String, kind: RecordFile, path: String) throws {
            let i = index(unit)
            if units[i].files[kind] != nil || units[i].sheets[kind] != nil {
                throw RecordInputError(reason: "two \(kind.rawValue) files for unit \(unit)")
            }
            units[i].files[kind] = path
        }
        func addWorkbook(unit: String, path: String) throws {
            let (matched, ignored) = try sheets(of: Workbook(path: path, limits: limits))
            let i = index(unit)
            for (kind, sheet) in matched.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                if units[i].files[kind] != nil || units[i].sheets[kind] != nil {
                    throw RecordInputError(reason: "two \(kind.rawValue) files for unit \(unit) (one is the sheet \"\(sheet.sheet.name)\")")
                }
                units[i].sheets[kind] = sheet
            }
            units[i].ignoredSheets += ignored
        }
        func stem(_ p: String) -> String {
            let b = baseName(p)
            return isWorkbook(b) ? String(b.dropLast(5)) : b
        }
        for p in paths {
            guard exists(p) else { throw RecordInputError(reason: "\(p) does not exist") }
            if isDirectory(p) {
                let names = list(p)
                let direct = names.compactMap { RecordFile(rawValue: $0) }
                let books = names.filter { isWorkbook($0) && !$0.hasPrefix("~$") && !isDirectory("\(p)/\($0)") }
                if !direct.isEmpty || !books.isEmpty {
                    for k in direct { try add(unit: defaultUnit ?? baseName(realPath(p)), kind: k, path: "\(p)/\(k.rawValue)") }
                    if direct.isEmpty { for b in books { try addWorkbook(unit: defaultUnit ?? baseName(realPath(p)), path: "\(p)/\(b)") } }
                } else {
                    var found = false
                    for n in names where isDirectory("\(p)/\(n)") {
                        var csv = false
                        for k in RecordFile.allCases where exists("\(p)/\(n)/\(k.rawValue)") {
                            try add(unit: n, kind: k, path: "\(p)/\(n)/\(k.rawValue)")
                            found = true
                            csv = true
                        }
                        if !csv {
                            for b in list("\(p)/\(n)") where isWorkbook(b) && !b.hasPrefix("~$") {
                                try addWorkbook(unit: n, path: "\(p)/\(n)/\(b)")
                                found = true
                            }
                        }
                    }
                    if !found {
                        throw RecordInputError(
                            reason: "\(p) holds no organizations.csv, members.csv, corrections.csv or .xlsx workbook (nor unit folders with them)")
                    }
                }
            } else if isWorkbook(p) {
                try addWorkbook(unit: defaultUnit ?? stem(p), path: p)
            } else {
                let kind = try detectKind(p)
                try add(unit: defaultUnit ?? baseName(realPath(parent(p))), kind: kind, path: p)
            }
        }
        return units
    }

    static func realPath(_ p: String) -> String {
        guard let r = realpath(p, nil) else { return p }
        defer { free(r) }
        return String(cString: r)
    }

    static func detectKind(_ path: String) throws -> RecordFile {
        if let k = RecordFile(rawValue: baseName(path)) { return k }
        let reader = try CSVReader(path: path)
        guard (try? reader.next()) == true, let k = RecordFile.detect(fileName: baseName(path), header: reader.fields.map(\.string)) else {
            throw RecordInputError(
                reason: "\(path): cannot tell which record file this is; name it organizations.csv, members.csv or corrections.csv")
        }
        return k
    }
}

public struct RecordInputError: Error, Sendable { public let reason: String }

/// Keeps normalized files in memory (a small package's, read back at once by the gateway).
public final class MemorySink: NormalizedSink {
    private var writers: [RecordFile: CSVWriter] = [:]
    /// Each finished file's bytes, its header included.
    public private(set) var contents: [RecordFile: [UInt8]] = [:]
    /// Data records written to each finished file (its header not counted).
    public private(set) var dataRecords: [RecordFile: Int] = [:]

    public init() {}

    public func writer(unit: String, file: RecordFile) throws -> CSVWriter {
        let w = CSVWriter()
        writers[file] = w
        return w
    }

    public func finished(unit: String, file: RecordFile, writer: CSVWriter) throws {
        writers[file] = nil
        contents[file] = writer.bytes
        dataRecords[file] = max(0, writer.records - 1)
    }
}

/// Writes normalized files into a folder: one unit → DIR/<file>, several → DIR/<unit>/<file>.
public final class DirectorySink: NormalizedSink {
    let root: String
    let perUnit: Bool
    private var fds: [ObjectIdentifier: Int32] = [:]
    public private(set) var written: [String] = []
    /// Data records written to each finished file (its header not counted), by path.
    public private(set) var dataRecords: [String: Int] = [:]
    private var paths: [ObjectIdentifier: String] = [:]

    public init(root: String, perUnit: Bool) throws {
        self.root = root
        self.perUnit = perUnit
        try makeDirectory(root)
    }

    public func writer(unit: String, file: RecordFile) throws -> CSVWriter {
        let dir = perUnit ? "\(root)/\(unit)" : root
        if perUnit { try makeDirectory(dir) }
        let path = "\(dir)/\(file.rawValue)"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CSVIOError(path: path, reason: String(cString: strerror(errno))) }
        let w = CSVWriter(fd: fd)
        fds[ObjectIdentifier(w)] = fd
        paths[ObjectIdentifier(w)] = path
        written.append(path)
        return w
    }

    public func finished(unit: String, file: RecordFile, writer: CSVWriter) throws {
        try writer.flush()
        if let fd = fds.removeValue(forKey: ObjectIdentifier(writer)) { close(fd) }
        if let path = paths.removeValue(forKey: ObjectIdentifier(writer)) { dataRecords[path] = max(0, writer.records - 1) }
    }
}
