import Foundation
import PostgresNIO

/// PostgreSQL through postgres-nio, for any number of gateway processes on one database.
///
/// What it supplies that SQLite does not need:
/// - a transaction-scoped advisory lock taken by every transaction that appends to the
///   transparency log (`lockLogOrder`), so entries get consecutive indexes in one order — a
///   decision's bulk import runs before it, so processes import in parallel;
/// - the bulk insert of a snapshot as multi-row `INSERT … SELECT FROM unnest(…)` (5,000 rows a
///   statement, one array bind a column);
/// - leases as session advisory locks on a connection of their own, released by the server when
///   the holder's session ends;
/// - the sealed dataset packages kept in the database (gateways on several machines share no disk).
///
/// `@unchecked Sendable`: `leaseWaiters` is touched only under `leaseLock`; the rest is constant.
public final class PostgresDriver: SQLDriver, @unchecked Sendable {
    let pool: PGPool
    public let postgres: PostgresLocation
    public var dialect: SQLDialect { .postgres }
    public var location: String { postgres.redacted }
    public var forUpdate: String { " FOR UPDATE" }
    public var keepsDatasetPackages: Bool { true }

    /// Advisory lock ids (arbitrary, fixed): the log append order, migrations, and leases.
    static let logLock: Int64 = 0x5EA1_6A7E_0001
    static let migrationLock: Int64 = 0x5EA1_6A7E_0002
    static func leaseKey(_ name: String) -> Int64 {
        // FNV-1a of the name into the lease range: stable across processes and builds.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int64(bitPattern: 0x5EA1_0000_0000_0000 | (h & 0x0000_FFFF_FFFF_FFFF))
    }

    /// Connects lazily (at most `connections` at a time).
    public init(url: String, connections: Int = 8) throws {
        postgres = try PostgresLocation(url: url)
        pool = try PGPool(location: postgres, limit: connections)
    }

    deinit {
        pool.close()
        for c in leaseWaiters.values { _ = try? syncWait(c.close()) }
    }

    static func describe(_ e: PSQLError) -> String {
        if let m = e.serverInfo?[.message] { return "\(m) (SQLSTATE \(e.serverInfo?[.sqlState] ?? "?"))" }
        return "\(e.code)"
    }

    static func storeError(_ e: PSQLError) -> StoreError {
        if e.serverInfo?[.sqlState] == "23505" { return StoreError(.uniqueViolation, describe(e), cause: e) }
        if e.code == .serverClosedConnection || e.code == .connectionError {
            return StoreError(.storeUnavailable, "the PostgreSQL connection failed: \(describe(e))", cause: e)
        }
        return StoreError(.storeFailure, describe(e), cause: e)
    }

    @discardableResult
    public func read<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try pool.with { c in try body(PostgresSQLConnection(c: c)) }
    }

    @discardableResult
    public func write<T>(_ body: (any SQLConnection) throws -> T) throws -> T {
        try pool.transaction { c in try body(PostgresSQLConnection(c: c)) }
    }

    public func lockLogOrder(_ c: any SQLConnection) throws {
        try c.execute("SELECT pg_advisory_xact_lock(?)", [Self.logLock])
    }

    public func lockMigrations(_ c: any SQLConnection) throws {
        try c.execute("SELECT pg_advisory_xact_lock(?)", [Self.migrationLock])
    }

    /// Rows per multi-row INSERT (each column bound as one array: 2 + columns binds, whatever the count).
    static let batchRows = 5_000

    public func insertRows(_ c: any SQLConnection, table: String, columns: [String], snapshot: Int64, rows: [[String]]) throws {
        guard let c = (c as? PostgresSQLConnection)?.c else { throw StoreError(.storeFailure, "not a PostgreSQL connection") }
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(start + Self.batchRows, rows.count)]
            var binds: [PGBind] = [.int(snapshot), .int(Int64(start))]
            for col in 0..<columns.count { binds.append(.texts(batch.map { col < $0.count ? $0[col] : "" })) }
            let arrays = (0..<columns.count).map { "$\($0 + 3)::text[]" }.joined(separator: ", ")
            let names = (0..<columns.count).map { "c\($0)" }
            try c.exec(
                """
                INSERT INTO \(table) (snapshot_id, row_no, \(columns.joined(separator: ", ")))
                SELECT $1, $2 + n - 1, \(names.joined(separator: ", ")) FROM unnest(\(arrays)) WITH ORDINALITY AS t(\(names.joined(separator: ", ")), n)
                """, binds)
            start += batch.count
        }
    }

    // MARK: Leases

    /// A connection kept per lease name while another process holds the lease: polling for it
    /// reuses the session instead of opening one (a server process) every poll.
    private var leaseWaiters: [String: PostgresConnection] = [:]
    private let leaseLock = NSLock()

    public func tryLease(_ name: String) throws -> (any StoreLease)? {
        leaseLock.lock()
        let kept = leaseWaiters.removeValue(forKey: name)
        leaseLock.unlock()
        let conn = try kept.flatMap { $0.isClosed ? nil : $0 } ?? pool.connect()
        let c = PGConnection(connection: conn, logger: pool.logger)
        do {
            guard let got = try c.row("SELECT pg_try_advisory_lock($1) AS got", [.int(Self.leaseKey(name))]), try got["got"].decode(Bool.self) else {
                leaseLock.lock()
                let other = leaseWaiters.updateValue(conn, forKey: name)
                leaseLock.unlock()
                if let other { _ = try? syncWait(other.close()) }
                return nil
            }
        } catch {
            _ = try? syncWait(conn.close())
            throw error
        }
        return PostgresLease(name: name, connection: conn, logger: pool.logger)
    }

    /// A server setting (`SHOW name`), for the backup's checks.
    public func show(_ name: String) throws -> String? {
        guard name.allSatisfy({ $0.isLetter || $0 == "_" }) else { return nil }
        return try pool.with { c in try c.row("SHOW \(name)").map { try $0[0].decode(String.self) } }
    }
}

/// A postgres-nio connection inside one read or transaction, speaking `SQLConnection`.
struct PostgresSQLConnection: SQLConnection {
    let c: PGConnection

    static func binds(_ binds: [any SQLBindable]) -> [PGBind] {
        binds.map { b in
            switch b.sqlValue {
            case .null: return .text(nil)
            case .int(let i): return .int(i)
            case .text(let s): return .text(s)
            case .blob(let bytes): return .bytes(ByteBuffer(bytes: bytes))
            }
        }
    }

    func execute(_ sql: String, _ binds: [any SQLBindable]) throws -> Int {
        try c.exec(numberedPlaceholders(sql), Self.binds(binds))
    }

    func query(_ sql: String, _ binds: [any SQLBindable]) throws -> [SQLRow] {
        try c.rows(numberedPlaceholders(sql), Self.binds(binds)).map { row in
            var names: [String] = []
            var values: [SQLValue] = []
            for cell in row {
                names.append(cell.columnName)
                guard cell.bytes != nil else {
                    values.append(.null)
                    continue
                }
                switch cell.dataType {
                case .int2, .int4, .int8: values.append(.int(try cell.decode(Int64.self)))
                case .bool: values.append(.int(try cell.decode(Bool.self) ? 1 : 0))
                case .bytea: values.append(.blob(Array(try cell.decode(ByteBuffer.self).readableBytesView)))
                default: values.append(.text(try cell.decode(String.self)))
                }
            }
            return SQLRow(names: names, values: values)
        }
    }
}
