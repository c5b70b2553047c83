public import SealBase

/// A value bound into a statement or read from a row: the four storage classes both databases
/// share (SQLite's INTEGER, TEXT, BLOB and NULL; PostgreSQL's bigint, text, bytea and NULL).
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case text(String)
    case blob([UInt8])
}

/// Conversions to `SQLValue` for the store's bind lists.
public protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .int(self) } }
extension Int: SQLBindable { public var sqlValue: SQLValue { .int(Int64(self)) } }
/// Sequence numbers and versions are stored as their bit pattern (a UInt64 above Int64.max
/// reads back unchanged).
extension UInt64: SQLBindable { public var sqlValue: SQLValue { .int(Int64(bitPattern: self)) } }
extension Bool: SQLBindable { public var sqlValue: SQLValue { .int(self ? 1 : 0) } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}
extension SQLValue: SQLBindable { public var sqlValue: SQLValue { self } }
/// A moment is stored as its text, `YYYY-MM-DDTHH:MM:SSZ`, on both databases (the form every
/// database made so far holds: no migration); the fixed width makes text order time order.
extension Timestamp: SQLBindable { public var sqlValue: SQLValue { .text(text) } }

/// One row of a result, its values by column name. A value of the wrong type is a
/// `store_failure` (the schema and the code disagree), never a crash.
public struct SQLRow: Sendable {
    let names: [String]
    let values: [SQLValue]

    func value(_ column: String) throws -> SQLValue {
        guard let i = names.firstIndex(of: column) else { throw StoreError(.storeFailure, "no column \(column) in the result") }
        return values[i]
    }

    func string(_ column: String) throws -> String {
        guard let s = try optionalString(column) else { throw StoreError(.storeFailure, "column \(column) is NULL") }
        return s
    }

    func optionalString(_ column: String) throws -> String? {
        switch try value(column) {
        case .null: return nil
        case .text(let s): return s
        default: throw StoreError(.storeFailure, "column \(column) is not text")
        }
    }

    func int(_ column: String) throws -> Int64 {
        guard let v = try optionalInt(column) else { throw StoreError(.storeFailure, "column \(column) is NULL") }
        return v
    }

    func optionalInt(_ column: String) throws -> Int64? {
        switch try value(column) {
        case .null: return nil
        case .int(let v): return v
        default: throw StoreError(.storeFailure, "column \(column) is not an integer")
        }
    }

    /// A stored state or role; a value the type does not know is a `store_failure`.
    func state<S: StoredState>(_ column: String, _ type: S.Type = S.self) throws -> S {
        let raw = try string(column)
        guard let v = S(rawValue: raw) else { throw StoreError(.storeFailure, "column \(column) holds an unknown \(S.self) '\(raw.prefix(40))'") }
        return v
    }

    func optionalState<S: StoredState>(_ column: String, _ type: S.Type = S.self) throws -> S? {
        try optionalString(column).map { raw in
            guard let v = S(rawValue: raw) else { throw StoreError(.storeFailure, "column \(column) holds an unknown \(S.self) '\(raw.prefix(40))'") }
            return v
        }
    }

    /// A stored moment; text that is not one (`YYYY-MM-DDTHH:MM:SSZ`) is a `store_failure`.
    func timestamp(_ column: String) throws -> Timestamp {
        guard let t = try optionalTimestamp(column) else { throw StoreError(.storeFailure, "column \(column) is NULL") }
        return t
    }

    func optionalTimestamp(_ column: String) throws -> Timestamp? {
        try optionalString(column).map { raw in
            guard let t = Timestamp(raw) else { throw StoreError(.storeFailure, "column \(column) holds no moment '\(raw.prefix(40))'") }
            return t
        }
    }

    func blob(_ column: String) throws -> [UInt8] {
        switch try value(column) {
        case .blob(let b): return b
        default: throw StoreError(.storeFailure, "column \(column) is not a blob")
        }
    }

    /// The text values of every column, in order (a record's fields).
    func strings() throws -> [String] {
        try values.indices.map { i in
            guard case .text(let s) = values[i] else { throw StoreError(.storeFailure, "column \(names[i]) is not text") }
            return s
        }
    }
}

/// A connection inside one read or one transaction. Statements are written once, with `?`
/// placeholders; each driver renders them for its database.
public protocol SQLConnection: Sendable {
    /// Runs a statement; returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ binds: [SQLValue]) async throws -> Int
    /// Runs a statement that returns rows (a SELECT, or a statement with RETURNING).
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
    /// Runs a SELECT whose `columns` columns are all text (records' fields): the rows' values as
    /// bytes in one batch, without column names or a String per value. A driver may read them
    /// faster than `query` (the city's records are millions of fields); a NULL, a non-text value
    /// or another number of columns is a store failure.
    func textBatch(_ sql: String, _ binds: [SQLValue], columns: Int) async throws -> RowBatch
    /// Runs several statements that return rows, in order, in one access where the driver can
    /// (SQLite: one reader snapshot, one hop to its queue — a decision's lookups are four):
    /// the rows of each.
    func queries(_ list: [SQLQuery]) async throws -> [[SQLRow]]
    /// Runs an INSERT of one row into a table keyed by an integer `id` (written without a
    /// RETURNING clause): the new row's id. PostgreSQL asks with `RETURNING id`; SQLite reads
    /// its last rowid (a RETURNING clause there builds a temporary table at every insert).
    func insertedID(_ sql: String, _ binds: [SQLValue]) async throws -> Int64?
}

extension [SQLRow] {
    /// The first column of the first row as an integer (nil when there is no row or it is NULL).
    func firstInt() throws -> Int64? {
        guard let v = first?.values.first else { return nil }
        switch v {
        case .null: return nil
        case .int(let i): return i
        default: throw StoreError(.storeFailure, "the first column is not an integer")
        }
    }
}

/// A statement with its values, for `SQLConnection.queries`.
public struct SQLQuery: Sendable {
    public let sql: String
    public let binds: [SQLValue]
    public init(_ sql: String, _ binds: [any SQLBindable] = []) {
        self.sql = sql
        self.binds = binds.map(\.sqlValue)
    }
}

extension SQLConnection {
    /// `sql` with `RETURNING id` (PostgreSQL's).
    public func insertedID(_ sql: String, _ binds: [SQLValue]) async throws -> Int64? {
        try await query(sql + " RETURNING id", binds).firstInt()
    }

    /// One by one (a driver whose connection is already one session: PostgreSQL's).
    public func queries(_ list: [SQLQuery]) async throws -> [[SQLRow]] {
        var out: [[SQLRow]] = []
        for q in list { out.append(try await query(q.sql, q.binds)) }
        return out
    }

    public func textBatch(_ sql: String, _ binds: [SQLValue], columns: Int) async throws -> RowBatch {
        var batch = RowBatch(columns: columns)
        for r in try await query(sql, binds) {
            guard r.values.count == columns else { throw StoreError(.storeFailure, "\(r.values.count) columns where \(columns) were asked") }
            batch.append(try r.strings())
        }
        return batch
    }
}

extension SQLConnection {
    @discardableResult
    func execute(_ sql: String, _ binds: [any SQLBindable] = []) async throws -> Int { try await execute(sql, binds.map(\.sqlValue)) }
    func query(_ sql: String, _ binds: [any SQLBindable] = []) async throws -> [SQLRow] { try await query(sql, binds.map(\.sqlValue)) }
    func textBatch(_ sql: String, _ binds: [any SQLBindable] = [], columns: Int) async throws -> RowBatch {
        try await textBatch(sql, binds.map(\.sqlValue), columns: columns)
    }
    func row(_ sql: String, _ binds: [any SQLBindable] = []) async throws -> SQLRow? { try await query(sql, binds).first }
    /// The first column of the first row as an integer (nil when there is no row or it is NULL).
    func int(_ sql: String, _ binds: [any SQLBindable] = []) async throws -> Int64? { try await query(sql, binds).firstInt() }
    func insertedID(_ sql: String, _ binds: [any SQLBindable]) async throws -> Int64? { try await insertedID(sql, binds.map(\.sqlValue)) }
    func exists(_ sql: String, _ binds: [any SQLBindable] = []) async throws -> Bool { try await !query(sql, binds).isEmpty }
}

/// The two databases' dialects, for the few statements that differ and for the schema's types.
public enum SQLDialect: String, Sendable {
    case sqlite, postgres
}

/// What a database supplies to the one store implementation (`SQLGatewayStore`): a read, a
/// transaction, and only what truly differs between SQLite and PostgreSQL — the lock that puts
/// log appends in one order across processes, the bulk insert of a snapshot's rows, row locks,
/// leases, and whether the store keeps the sealed dataset packages. Everything is async: no
/// thread waits on the database.
public protocol SQLDriver: Sendable {
    var dialect: SQLDialect { get }
    /// Where the database is, for logs (never a password).
    var location: String { get }
    /// Runs `body` on a connection outside a write transaction; each statement sees what was
    /// committed when it ran (the store's multi-statement reads only combine rows that never
    /// change once committed, or tolerate it).
    @discardableResult
    func read<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T
    /// As `read`, for a few statements over indexed rows that take microseconds (the intake's
    /// lookups a package): run from the caller's thread where the driver can (SQLite), never
    /// for a scan or a read that may wait.
    @discardableResult
    func quickRead<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T
    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    @discardableResult
    func write<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T
    /// As `write`, but `body` may share its transaction with other grouped writes that run
    /// one after the other meanwhile (group commit: one commit, one fsync for them all). Its own
    /// changes are undone if it throws (a savepoint); it returns only once the shared transaction
    /// committed, and throws if that commit fails. Only for bodies that append nothing to the
    /// log except through the caller's own tree (`GatewayLog.extend`), which knows the leaves of
    /// a transaction not yet committed.
    @discardableResult
    func groupedWrite<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T
    /// Inside a transaction: waits until no other transaction of any process appends to the log
    /// (held to the transaction's end). SQLite's write transactions are already one at a time.
    func lockLogOrder(_ c: any SQLConnection) async throws
    /// Inside a transaction: serializes the schema's migrations across processes.
    func lockMigrations(_ c: any SQLConnection) async throws
    /// Appends `rows` to `table` (`id` as `RowKey.of`, `snapshot_id`, `row_no` from `firstRow`,
    /// then `columns`).
    func insertRows(_ c: any SQLConnection, table: String, columns: [String], snapshot: Int64, firstRow: Int, rows: RowBatch) async throws
    /// " FOR UPDATE" where the database locks rows read in a transaction; "" for SQLite.
    var forUpdate: String { get }
    /// Takes the lease `name` if no other process holds it; nil if one does.
    func tryLease(_ name: String) async throws -> (any StoreLease)?
    /// Whether the sealed dataset packages are kept in the database (gateways on several
    /// machines share no disk) or only in the data folder of the one machine.
    var keepsDatasetPackages: Bool { get }
    /// Ends the driver's connections (the store is not used after).
    func close() async
}

extension SQLDriver {
    /// A driver whose reads are all asynchronous: a quick read is a read.
    @discardableResult
    public func quickRead<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T { try await read(body) }

    /// A driver without group commit: each grouped write is a transaction of its own.
    @discardableResult
    public func groupedWrite<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T { try await write(body) }
}

/// Renders `?` placeholders as `$1, $2, …` (PostgreSQL), skipping quoted literals and identifiers.
func numberedPlaceholders(_ sql: String) -> String {
    var out = ""
    out.reserveCapacity(sql.utf8.count + 16)
    var n = 0
    var quote: Character?
    for ch in sql {
        if let q = quote {
            if ch == q { quote = nil }
            out.append(ch)
        } else if ch == "'" || ch == "\"" {
            quote = ch
            out.append(ch)
        } else if ch == "?" {
            n += 1
            out += "$\(n)"
        } else {
            out.append(ch)
        }
    }
    return out
}

/// A snapshot's row as one integer (`members.id`, `organizations.id`, migration v21): the
/// snapshot id in the high 32 bits, the row number in the low. A snapshot's rows are one range of
/// keys, in file order; on SQLite the key is the table's rowid, so an import appends.
public enum RowKey {
    /// Row numbers of one snapshot stay below this (checked before a snapshot is imported), and
    /// snapshot ids below `2^31` — about two billion imports (a campaign makes thousands; on
    /// PostgreSQL an import rolled back uses its id too), after which every import fails.
    public static let rowLimit: Int64 = 1 << 32
    /// The key of row `row` of snapshot `snapshot`.
    public static func of(snapshot: Int64, row: Int64) -> Int64 { snapshot << 32 | row }
    /// The keys of snapshot `snapshot`'s rows, first and last (`BETWEEN ? AND ?`).
    public static func range(snapshot: Int64) -> (first: Int64, last: Int64) { (snapshot << 32, snapshot << 32 | (rowLimit - 1)) }
    /// Whether `count` rows of snapshot `snapshot` all have keys.
    static func fits(snapshot: Int64, count: Int) -> Bool { snapshot > 0 && snapshot < 1 << 31 && Int64(count) <= rowLimit }
}
