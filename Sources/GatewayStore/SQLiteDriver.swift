import CSQLite
import Foundation
import GRDB
import SealBase
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A group commit's transaction on the writer connection (`SQLiteDriver.groupedWrite`: run on
/// the writer queue, under `writing`).
struct SQLiteGroupTransaction: GroupTransaction {
    let driver: SQLiteDriver
    var connection: any SQLConnection { SQLiteConnection(driver: driver, writer: true) }

    func begin() async throws {
        try driver.onWriterQueue { db in
            // A transaction a failed ROLLBACK left open would refuse every BEGIN after it.
            if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") }
            try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
        }
    }

    /// The group's own statements are a few fixed texts: each compiled once and kept (SQLite's
    /// parser ran for every SAVEPOINT and RELEASE, two a package).
    func execute(_ sql: String) async throws { try driver.onWriterQueue { db in try db.cachedStatement(sql: sql).execute() } }

    func isOpen() async -> Bool { (try? driver.onWriterQueue { db in db.isInsideTransaction }) ?? false }

    func abandon() async { try? driver.onWriterQueue { db in if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") } } }
}

/// SQLite through GRDB: one database file in WAL mode with `synchronous = FULL`, so a committed
/// decision survives a crash or a power cut. Write transactions are one at a time (across
/// processes too: SQLite's own lock), so the log's order needs no lock of its own.
///
/// Async for its callers. A read runs each statement as one access of a reader connection,
/// bridged with a continuation (no thread waits); a quick read (`quickRead`) runs on the caller's
/// thread on a connection of its own when one is free. A transaction spans several accesses of the
/// writer connection — `BEGIN IMMEDIATE` in the first, `COMMIT` or `ROLLBACK` in the last
/// (GRDB's `allowsUnsafeTransactions`) — and `writing` keeps every other task of this process
/// out of it meanwhile. Its body runs on `writer`, a serial queue of the driver's own (a task
/// executor preference), where each statement is a direct call into SQLite: writes are one at a
/// time anyway, and a transaction that paused between its statements for the shared cooperative
/// threads would hold SQLite's write lock longer for everyone (SQLite has no async API; GRDB's
/// own writer is such a thread too). No hop is cancellable: a cancelled task still reaches its
/// `ROLLBACK`.
public final class SQLiteDriver: SQLDriver {
    let pool: DatabasePool
    public let path: String
    public var dialect: SQLDialect { .sqlite }
    public var location: String { path }
    public var forUpdate: String { "" }
    public var keepsDatasetPackages: Bool { false }
    /// Held from `BEGIN` to `COMMIT`/`ROLLBACK`: one transaction at a time on the writer connection.
    private let writing = AsyncMutex()
    /// Where write transactions run (see above).
    let writer = SerialQueueExecutor(label: "sealgate.sqlite.writer")
    /// The grouped writes (`groupedWrite`).
    private let groups = GroupCommit()
    /// Reader connections of the quick reads' own (`quickRead`), each used by one read at a
    /// time and taken without waiting (bit i of `quickInUse`: `quickReaders[i]` is in use): a
    /// quick read that finds them all in use reads as any other read does. GRDB's pool of
    /// readers would make the caller's thread wait for one (a backup or a long read holds some).
    private let quickReaders: [DatabaseQueue]
    private let quickInUse = Mutex<UInt64>(0)

    /// How many group commits there were, and how many grouped bodies they committed.
    public var groupCommits: (groups: Int, bodies: Int) { groups.commits }

    /// `quickReaders`: the connections of the quick reads' own (at most 64; 0: every quick read is
    /// an ordinary read).
    public init(path: String, quickReaders: Int = 2) throws {
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // Sorts, transient indexes and statement journals in memory: each as a file was an
            // inode made and deleted (`/var/tmp/etilqs_…`), 0.4 a package at the intake's rate.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        config.busyMode = .timeout(10)
        config.allowsUnsafeTransactions = true
        self.path = path
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // GRDB turns WAL on after `prepareDatabase` and sets `synchronous = NORMAL` with it
            // (a commit then survives a crash of the process, not a power cut): FULL again on the
            // writer, the one connection that commits, so a decision is on disk before its receipt.
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            var readOnly = Configuration()
            readOnly.readonly = true
            readOnly.busyMode = .timeout(10)
            readOnly.prepareDatabase { db in try db.execute(sql: "PRAGMA temp_store = MEMORY") }
            self.quickReaders = try (0..<min(max(quickReaders, 0), 64)).map { _ in try DatabaseQueue(path: path, configuration: readOnly) }
        } catch { throw Self.storeError(error) }
    }

    /// The writer connection's `PRAGMA synchronous` (2: FULL).
    public func writerSynchronous() throws -> Int {
        try onWriterQueue { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    static func storeError(_ error: any Error) -> any Error {
        guard let e = error as? DatabaseError else { return error }
        switch e.resultCode {
        case .SQLITE_CONSTRAINT:
            if e.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || e.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                return StoreError(.uniqueViolation, "the store already holds that record", cause: e)
            }
            return StoreError(.storeFailure, "a constraint of the store refused the change", cause: e)
        case .SQLITE_BUSY, .SQLITE_LOCKED: return StoreError(.storeUnavailable, "the database stayed locked by another writer", cause: e)
        case .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_READONLY:
            return StoreError(.storeUnavailable, "the database file cannot be written (\(e.resultCode))", cause: e)
        default: return StoreError(.storeFailure, "SQLite refused an operation (\(e.resultCode))", cause: e)
        }
    }

    /// One access of a reader connection (its own snapshot).
    func onReader<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (k: CheckedContinuation<T, any Error>) in
            pool.asyncRead { result in
                do { k.resume(returning: try work(try result.get())) } catch { k.resume(throwing: Self.storeError(error)) }
            }
        }
    }

    @discardableResult
    public func read<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T {
        try await body(SQLiteConnection(driver: self, writer: false))
    }

    /// A read from the caller's thread on a connection of the quick reads' own, taken without
    /// waiting (`quickReaders`; all in use: an ordinary read). A WAL reader does not wait for
    /// the writer, so the caller is held about as long as SQLite reads a few indexed rows; the
    /// asynchronous read's hop to a reader queue and back cost a package two thread switches.
    @discardableResult
    public func quickRead<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T {
        try await body(SQLiteConnection(driver: self, writer: false, here: true))
    }

    /// A connection of the quick reads' own, marked in use; nil when every one is.
    func takeQuickReader() -> Int? {
        let count = quickReaders.count
        return quickInUse.withLock { used -> Int? in
            guard let i = (0..<count).first(where: { used & (1 << UInt64($0)) == 0 }) else { return nil }
            used |= 1 << UInt64(i)
            return i
        }
    }

    /// One access of quick reader `i` (taken with `takeQuickReader`, given back here) from this
    /// thread, in one read transaction (one snapshot) begun and ended with statements compiled
    /// once — GRDB's own `read` compiles its BEGIN and COMMIT each time, which cost more than the
    /// lookups they surround.
    func onQuickReader<T>(_ i: Int, _ work: (Database) throws -> T) throws -> T {
        defer { quickInUse.withLock { $0 &= ~(1 << UInt64(i)) } }
        do {
            return try quickReaders[i].inDatabase { db in
                try db.cachedStatement(sql: "BEGIN DEFERRED TRANSACTION").execute()
                defer {
                    // Ended whatever happened (GRDB stops the process when an access of a reader
                    // leaves a transaction open): a read that threw, or a COMMIT that did.
                    if db.isInsideTransaction { try? db.cachedStatement(sql: "ROLLBACK").execute() }
                }
                let value = try work(db)
                try db.cachedStatement(sql: "COMMIT").execute()
                return value
            }
        } catch { throw Self.storeError(error) }
    }

    /// One access of the writer connection, made from the writer queue (a direct call).
    func onWriterQueue<T>(_ work: (Database) throws -> T) throws -> T {
        do { return try pool.writeWithoutTransaction(work) } catch { throw Self.storeError(error) }
    }

    @discardableResult
    public func write<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T {
        try await writing.withLock {
            try await withTaskExecutorPreference(writer) {
                try onWriterQueue { db in
                    // A transaction a failed ROLLBACK left open would refuse every BEGIN after it.
                    if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") }
                    try db.execute(sql: "BEGIN IMMEDIATE")
                }
                let value: T
                do {
                    value = try await body(SQLiteConnection(driver: self, writer: true))
                    try onWriterQueue { db in try db.execute(sql: "COMMIT") }
                } catch {
                    // A failed COMMIT leaves the transaction open too: end it either way.
                    try? onWriterQueue { db in if db.isInsideTransaction { try db.execute(sql: "ROLLBACK") } }
                    throw error
                }
                return value
            }
        }
    }

    /// Group commit (`GroupCommit`): a group's leader takes the writer (`writing`) and runs the
    /// group on the writer queue — one commit and one WAL fsync for the group, and no hand-over
    /// of the writer between its bodies. A plain `write` runs between groups, never inside one.
    @discardableResult
    public func groupedWrite<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T {
        try await groups.write(body) { run in
            await writing.withLock {
                await withTaskExecutorPreference(writer) { await run(SQLiteGroupTransaction(driver: self)) }
            }
        }
    }

    public func close() async {}

    public func lockLogOrder(_ c: any SQLConnection) async throws {}
    public func lockMigrations(_ c: any SQLConnection) async throws {}

    public func insertRows(_ c: any SQLConnection, table: String, columns: [String], snapshot: Int64, firstRow: Int, rows: RowBatch) async throws {
        guard let c = c as? SQLiteConnection, c.writer else { throw StoreError(.storeFailure, "not a SQLite transaction") }
        guard rows.columns == columns.count else { throw StoreError(.storeFailure, "a batch of \(rows.columns) columns for \(columns.count)") }
        // One access for the whole batch: a prepared statement run once a row, each value bound
        // with SQLite's own calls straight from the batch's bytes, which outlive every step
        // (SQLITE_STATIC: no copy; GRDB's arguments boxed every value — a quarter of a
        // package's decision went there).
        try onWriterQueue { db in
            // Compiled once a table and kept (the store's two record tables: a fixed text each):
            // compiling it cost a small package more than inserting its rows.
            let marks = Array(repeating: "?", count: columns.count + 3).joined(separator: ", ")
            let statement = try db.cachedStatement(
                sql: "INSERT INTO \(table) (id, snapshot_id, row_no, \(columns.joined(separator: ", "))) VALUES (\(marks))")
            let s = statement.sqliteStatement
            defer {
                sqlite3_reset(s)
                sqlite3_clear_bindings(s)
            }
            func check(_ rc: Int32, _ done: Int32 = SQLITE_OK) throws {
                guard rc == done else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                }
            }
            try rows.bytes.withUnsafeBufferPointer { bytes in
                try rows.ends.withUnsafeBufferPointer { ends in
                    var k = 0
                    var from = 0
                    for n in 0..<rows.count {
                        try check(sqlite3_reset(s))
                        // The key grows row by row: each row is appended to the table's B-tree.
                        try check(sqlite3_bind_int64(s, 1, RowKey.of(snapshot: snapshot, row: Int64(firstRow + n))))
                        try check(sqlite3_bind_int64(s, 2, snapshot))
                        try check(sqlite3_bind_int64(s, 3, Int64(firstRow + n)))
                        for i in 0..<columns.count {
                            let to = ends[k]
                            k += 1
                            // Text, never NULL: an empty value is bound as "" (a pointer that is not nil).
                            let p: UnsafePointer<CChar> =
                                to > from
                                ? UnsafeRawPointer(bytes.baseAddress! + from).assumingMemoryBound(to: CChar.self) : Self.emptyText
                            try check(sqlite3_bind_text(s, Int32(i + 4), p, Int32(to - from), nil))
                            from = to + 1  // past the field's separator
                        }
                        try check(sqlite3_step(s), SQLITE_DONE)
                    }
                }
            }
        }
    }

    /// "" for an empty value bound without a copy (SQLITE_STATIC): lives as long as the process.
    nonisolated(unsafe) static let emptyText: UnsafePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    /// A lease is an exclusive `flock` on a file beside the database: released when the holder
    /// closes it or dies (processes sharing a SQLite store are on one machine).
    public func tryLease(_ name: String) async throws -> (any StoreLease)? {
        let file = "\(path)-\(name).lease"
        let fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreError(.storeFailure, "cannot open \(file) (errno \(errno))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(fd)
            return nil
        }
        return FileLease(name: name, fd: fd)
    }

    /// A consistent copy of the whole database at `path` (SQLite's online backup: writers go
    /// on meanwhile; the copy is the state of one moment).
    public func backup(to path: String) throws {
        let copy = try DatabaseQueue(path: path)
        try pool.backup(to: copy)
        try copy.close()
    }

    /// The latest signed checkpoint of a store file (a backup's copy), read without migrating it.
    public static func latestCheckpoint(ofCopyAt path: String) throws -> (size: Int64, note: String)? {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1").map { ($0["size"], $0["note"]) }
        }
    }
}

/// A read or a transaction of `SQLiteDriver`: each statement one access of GRDB's.
struct SQLiteConnection: SQLConnection {
    let driver: SQLiteDriver
    /// Inside a transaction (the writer connection) or a read (a reader).
    let writer: Bool
    /// A quick read's (`SQLiteDriver.quickRead`): a connection of its own from the caller's thread
    /// when one is free.
    var here = false

    /// Runs `work` where this connection's accesses run: the writer queue (a direct call), a
    /// reader from this thread, or a reader's queue.
    private func access<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if writer { return try driver.onWriterQueue(work) }
        if here, let i = driver.takeQuickReader() { return try driver.onQuickReader(i, work) }
        return try await driver.onReader(work)
    }

    static func arguments(_ binds: [SQLValue]) -> StatementArguments {
        StatementArguments(
            binds.map { b -> (any DatabaseValueConvertible)? in
                switch b {
                case .null: return nil
                case .int(let i): return i
                case .text(let s): return s
                case .blob(let bytes): return Data(bytes)
                }
            })
    }

    /// The connection's prepared statement for `sql`, compiled once and kept (SQLite then only
    /// binds and steps): for the store's fixed statements — one statement, a few parameters.
    /// Others (several statements, a batch of rows, a list of values) are compiled each time,
    /// so the cache holds only the store's own finite set of texts.
    static func statement(_ db: Database, _ sql: String, binds: Int) throws -> Statement? {
        guard binds <= 16, !sql.utf8.contains(0x3B) else { return nil }
        return try db.cachedStatement(sql: sql)
    }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws -> Int {
        let work: @Sendable (Database) throws -> Int = { db in
            if let statement = try Self.statement(db, sql, binds: binds.count) {
                try Self.stepped(db, statement, binds) { _ in }
            } else {
                try db.execute(sql: sql, arguments: Self.arguments(binds))
            }
            return db.changesCount
        }
        return try await access(work)
    }

    /// The row's id as SQLite gives it (`sqlite3_last_insert_rowid` on the same connection, in
    /// the same access): an INSERT with RETURNING made SQLite build a temporary table each time.
    func insertedID(_ sql: String, _ binds: [SQLValue]) async throws -> Int64? {
        let work: @Sendable (Database) throws -> Int64? = { db in
            if let statement = try Self.statement(db, sql, binds: binds.count) {
                try Self.stepped(db, statement, binds) { _ in }
            } else {
                try db.execute(sql: sql, arguments: Self.arguments(binds))
            }
            return db.changesCount == 1 ? db.lastInsertedRowID : nil
        }
        return try await access(work)
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        let work: @Sendable (Database) throws -> [SQLRow] = { db in try Self.rows(db, sql, binds) }
        return try await access(work)
    }

    /// Every statement in one access: on a reader, one snapshot and one hop to its queue.
    func queries(_ list: [SQLQuery]) async throws -> [[SQLRow]] {
        let work: @Sendable (Database) throws -> [[SQLRow]] = { db in try list.map { try Self.rows(db, $0.sql, $0.binds) } }
        return try await access(work)
    }

    /// Text rows into one batch of bytes, read with SQLite's own calls: no GRDB row, no boxed
    /// value per field (the synthesis reads every member of the city through here).
    func textBatch(_ sql: String, _ binds: [SQLValue], columns expected: Int) async throws -> RowBatch {
        let work: @Sendable (Database) throws -> RowBatch = { db in
            let statement = try Self.statement(db, sql, binds: binds.count) ?? db.makeStatement(sql: sql)
            try statement.setArguments(Self.arguments(binds))
            let s = statement.sqliteStatement
            defer { sqlite3_reset(s) }
            let columns = Int32(sqlite3_column_count(s))
            guard expected == Int(columns) else { throw StoreError(.storeFailure, "\(columns) columns where \(expected) were asked") }
            var batch = RowBatch(columns: Int(columns))
            while true {
                let rc = sqlite3_step(s)
                if rc == SQLITE_DONE { break }
                guard rc == SQLITE_ROW else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                }
                for i in 0..<columns {
                    guard sqlite3_column_type(s, i) == SQLITE_TEXT else {
                        throw StoreError(.storeFailure, "column \(String(cString: sqlite3_column_name(s, i))) is not text")
                    }
                }
                batch.appendRow(fieldCount: Int(columns)) { i in
                    let n = Int(sqlite3_column_bytes(s, Int32(i)))
                    return UnsafeRawBufferPointer(start: n > 0 ? sqlite3_column_text(s, Int32(i)) : nil, count: n)
                }
            }
            return batch
        }
        return try await access(work)
    }

    /// Runs a prepared statement of the store's own with `binds` bound by SQLite's own calls (no
    /// GRDB argument boxed a value), calling `row` for each row it gives; leaves it reset, its
    /// bindings cleared. A failure is SQLite's code as GRDB would have thrown it. GRDB does not
    /// see these runs (its record of the statement's arguments goes stale): a cached statement
    /// is run only through here or with arguments given (`setArguments`, `execute(arguments:)`),
    /// never by GRDB with the arguments it believes bound.
    static func stepped(_ db: Database, _ statement: Statement, _ binds: [SQLValue], row: (OpaquePointer) throws -> Void) throws {
        let s = statement.sqliteStatement
        func check(_ rc: Int32) throws {
            guard rc == SQLITE_OK else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
            }
        }
        defer {
            sqlite3_reset(s)
            sqlite3_clear_bindings(s)
        }
        try check(sqlite3_reset(s))
        guard Int(sqlite3_bind_parameter_count(s)) == binds.count else {
            throw StoreError(.storeFailure, "\(binds.count) values for \(sqlite3_bind_parameter_count(s)) parameters")
        }
        for (i, b) in zip(Int32(1)..., binds) {
            switch b {
            case .null: try check(sqlite3_bind_null(s, i))
            case .int(let v): try check(sqlite3_bind_int64(s, i, v))
            case .text(var t):
                // From the string's own UTF-8 (SQLite copies it): passing the string as a C string
                // made a copy of it first. Bound to its first NUL, as a C string was (the store
                // binds none: JSON escapes it, the records' reader refuses control characters).
                try check(
                    t.withUTF8 { u in
                        let n = u.firstIndex(of: 0) ?? u.count
                        let p = n > 0 ? UnsafeRawPointer(u.baseAddress!) : UnsafeRawPointer(SQLiteDriver.emptyText)
                        return sqlite3_bind_text64(s, i, p.assumingMemoryBound(to: CChar.self), UInt64(n), sqliteTransient, UInt8(SQLITE_UTF8))
                    })
            case .blob(let bytes):
                try check(
                    bytes.withUnsafeBytes {
                        sqlite3_bind_blob64(s, i, $0.baseAddress ?? UnsafeRawPointer(SQLiteDriver.emptyText), UInt64($0.count), sqliteTransient)
                    })
            }
        }
        while true {
            let rc = sqlite3_step(s)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
            }
            try row(s)
        }
    }

    /// Tells SQLite to copy a bound text or blob (`SQLITE_TRANSIENT`).
    nonisolated(unsafe) static let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    static func rows(_ db: Database, _ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        // The store's own statements: read with SQLite's calls, the column names taken once.
        if let statement = try statement(db, sql, binds: binds.count) {
            let s = statement.sqliteStatement
            let names = (0..<sqlite3_column_count(s)).map { String(cString: sqlite3_column_name(s, $0)) }
            var out: [SQLRow] = []
            try stepped(db, statement, binds) { s in
                out.append(SQLRow(names: names, values: try (0..<Int32(names.count)).map { try value(s, $0) }))
            }
            return out
        }
        let fetched = try Row.fetchAll(db, sql: sql, arguments: arguments(binds))
        return try fetched.map { r in
            SQLRow(
                names: Array(r.columnNames),
                values: try r.databaseValues.map { v in
                    switch v.storage {
                    case .null: return .null
                    case .int64(let i): return .int(i)
                    case .double(let d):
                        // SQLite turns an integer that overflows into a REAL: refused, never trapped on.
                        guard let i = Int64(exactly: d) else { throw StoreError(.storeFailure, "a number out of the 64-bit range in the result") }
                        return .int(i)
                    case .string(let s): return .text(s)
                    case .blob(let data): return .blob([UInt8](data))
                    }
                })
        }
    }

    /// Column `i` of the row `s` stands on, as `rows` gives it (GRDB's reading of it: an integer
    /// stored as REAL only when exact, text as UTF-8, an empty blob as no bytes). Text is read
    /// to its length (GRDB stops at a NUL byte; the store never binds one: texts are bound as
    /// C strings, and the records' reader refuses control characters).
    static func value(_ s: OpaquePointer, _ i: Int32) throws -> SQLValue {
        switch sqlite3_column_type(s, i) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .int(sqlite3_column_int64(s, i))
        case SQLITE_FLOAT:
            // SQLite turns an integer that overflows into a REAL: refused, never trapped on.
            guard let v = Int64(exactly: sqlite3_column_double(s, i)) else {
                throw StoreError(.storeFailure, "a number out of the 64-bit range in the result")
            }
            return .int(v)
        case SQLITE_TEXT:
            let n = Int(sqlite3_column_bytes(s, i))
            guard n > 0, let p = sqlite3_column_text(s, i) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        default:
            let n = Int(sqlite3_column_bytes(s, i))
            guard n > 0, let p = sqlite3_column_blob(s, i) else { return .blob([]) }
            return .blob([UInt8](UnsafeRawBufferPointer(start: p, count: n)))
        }
    }
}

/// A lease held as an exclusive `flock`.
final class FileLease: StoreLease {
    let name: String
    private let fd: Mutex<Int32>
    init(name: String, fd: Int32) {
        self.name = name
        self.fd = Mutex(fd)
    }
    func isHeld() async -> Bool { fd.withLock { $0 >= 0 } }
    func release() async { closeLock() }
    private func closeLock() {
        fd.withLock { fd in
            if fd >= 0 {
                close(fd)
                fd = -1
            }
        }
    }
    deinit { closeLock() }
}

/// A task executor over a serial dispatch queue of its own: jobs run one at a time, in order,
/// on that queue's thread.
final class SerialQueueExecutor: TaskExecutor {
    let queue: DispatchQueue
    init(label: String) { queue = DispatchQueue(label: label) }
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
