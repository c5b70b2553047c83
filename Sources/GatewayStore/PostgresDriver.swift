import Foundation
import Logging
import PostgresNIO
import SealBase
import Synchronization

/// PostgreSQL through postgres-nio's `PostgresClient`, for any number of gateway processes on
/// one database.
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
/// The client runs in the `StoreClients` scope the driver is opened in (a `Service` of `serve`'s
/// service group, or `withStoreClients` around a command), never in a task of its own. A connection is
/// waited for at most `connectionWait` (`PGLease`): through an outage an operation is a
/// `store_unavailable` within that time, and the store heals when the server is back.
public final class PostgresDriver: SQLDriver {
    let client: PostgresClient
    let logger: Logger
    public let postgres: PostgresLocation
    public var dialect: SQLDialect { .postgres }
    public var location: String { postgres.redacted }
    public var forUpdate: String { " FOR UPDATE" }
    public var keepsDatasetPackages: Bool { true }
    /// How long an operation waits for a connection.
    let connectionWait: Duration = .seconds(8)

    /// Advisory lock ids (arbitrary, fixed): the log append order, migrations, and leases.
    static let logLock: Int64 = 0x5EA1_6A7E_0001
    static let migrationLock: Int64 = 0x5EA1_6A7E_0002
    static func leaseKey(_ name: String) -> Int64 {
        // FNV-1a of the name into the lease range: stable across processes and builds.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int64(bitPattern: 0x5EA1_0000_0000_0000 | (h & 0x0000_FFFF_FFFF_FFFF))
    }

    /// Connects lazily (at most `connections` at a time). The client runs in the current
    /// `StoreClients` scope; without one the store is refused (`store_failure`).
    public init(url: String, connections: Int = 8) throws {
        postgres = try PostgresLocation(url: url)
        guard let scope = StoreClients.current else {
            throw StoreError(.storeFailure, "a PostgreSQL store was opened outside a scope that runs its client (StoreClients)")
        }
        var l = Logger(label: "sealgate.postgres")
        l.logLevel = .critical
        logger = l
        let client = PostgresClient(configuration: postgres.clientConfiguration(connections: connections), backgroundLogger: l)
        self.client = client
        scope.add(client)
    }

    /// Closes the sessions kept for leases; the client itself ends with its scope.
    public func close() async {
        let waiters = leaseWaiters.withLock { w in
            let all = Array(w.values)
            w = [:]
            return all
        }
        for c in waiters { _ = try? await c.close().get() }
    }

    deinit {
        // Sessions kept for leases are closed (each kept alive by its completion until then).
        for c in leaseWaiters.withLock({ Array($0.values) }) where !c.isClosed { c.close().whenComplete { _ in _ = c } }
    }

    static func describe(_ e: PSQLError) -> String {
        if let m = e.serverInfo?[.message] { return "\(m) (SQLSTATE \(e.serverInfo?[.sqlState] ?? "?"))" }
        return "\(e.code)"
    }

    static func storeError(_ e: PSQLError) -> StoreError {
        if e.serverInfo?[.sqlState] == "23505" { return StoreError(.uniqueViolation, describe(e), cause: e) }
        if e.code == .serverClosedConnection || e.code == .connectionError || e.code == .clientClosedConnection {
            return StoreError(.storeUnavailable, "the PostgreSQL connection failed: \(describe(e))", cause: e)
        }
        return StoreError(.storeFailure, describe(e), cause: e)
    }

    /// Runs `body` on a leased connection (waited for at most `connectionWait`).
    func withConnection<T>(_ body: (PGConnection) async throws -> T) async throws -> T {
        let (lease, connection) = try await PGLease.take(from: client, wait: connectionWait, location: location)
        defer { lease.release() }
        return try await body(PGConnection(connection: connection, logger: logger))
    }

    @discardableResult
    public func read<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T {
        try await withConnection { c in try await body(PostgresSQLConnection(c: c)) }
    }

    @discardableResult
    public func write<T>(_ body: (any SQLConnection) async throws -> T) async throws -> T {
        try await withConnection { c in
            try await c.exec("BEGIN")
            do {
                let v = try await body(PostgresSQLConnection(c: c))
                try await c.exec("COMMIT")
                return v
            } catch {
                // A connection that cannot roll back is closed: the client does not lend it again.
                if !c.connection.isClosed, (try? await c.exec("ROLLBACK")) == nil { _ = try? await c.connection.close().get() }
                throw error
            }
        }
    }

    public func lockLogOrder(_ c: any SQLConnection) async throws {
        try await c.execute("SELECT pg_advisory_xact_lock(?)", [Self.logLock])
    }

    public func lockMigrations(_ c: any SQLConnection) async throws {
        try await c.execute("SELECT pg_advisory_xact_lock(?)", [Self.migrationLock])
    }

    /// Rows per multi-row INSERT (each column bound as one array: 2 + columns binds, whatever the count).
    static let batchRows = 5_000

    public func insertRows(_ c: any SQLConnection, table: String, columns: [String], snapshot: Int64, firstRow: Int, rows: RowBatch) async throws {
        guard let c = (c as? PostgresSQLConnection)?.c else { throw StoreError(.storeFailure, "not a PostgreSQL connection") }
        guard rows.columns == columns.count else { throw StoreError(.storeFailure, "a batch of \(rows.columns) columns for \(columns.count)") }
        var start = 0
        while start < rows.count {
            let batch = start..<min(start + Self.batchRows, rows.count)
            var binds: [PGBind] = [.int(snapshot), .int(Int64(firstRow + start))]
            for col in 0..<columns.count { binds.append(.texts(batch.map { rows.string(row: $0, column: col) })) }
            let arrays = (0..<columns.count).map { "$\($0 + 3)::text[]" }.joined(separator: ", ")
            let names = (0..<columns.count).map { "c\($0)" }
            try await c.exec(
                """
                INSERT INTO \(table) (id, snapshot_id, row_no, \(columns.joined(separator: ", ")))
                SELECT ($1::bigint << 32) | ($2::bigint + n - 1), $1, $2 + n - 1, \(names.joined(separator: ", ")) FROM unnest(\(arrays)) WITH ORDINALITY AS t(\(names.joined(separator: ", ")), n)
                """, binds)
            start += batch.count
        }
    }

    // MARK: Leases

    /// A connection kept per lease name while another process holds the lease: polling for it
    /// reuses the session instead of opening one (a server process) every poll.
    private let leaseWaiters = Mutex<[String: PostgresConnection]>([:])

    /// A new connection of its own, outside the client (a lease's session).
    func connect() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(
                on: PostgresConnection.defaultEventLoopGroup.next(), configuration: try postgres.connectionConfiguration(),
                id: Int.random(in: 1...Int.max), logger: logger
            ).get()
        } catch let e as PSQLError {
            throw StoreError(.storeUnavailable, "cannot connect to \(postgres.redacted): \(Self.describe(e))", cause: e)
        } catch {
            throw StoreError(.storeUnavailable, "cannot connect to \(postgres.redacted): \(error)", cause: error)
        }
    }

    public func tryLease(_ name: String) async throws -> (any StoreLease)? {
        let kept = leaseWaiters.withLock { $0.removeValue(forKey: name) }
        let conn: PostgresConnection
        if let kept, !kept.isClosed { conn = kept } else { conn = try await connect() }
        let c = PGConnection(connection: conn, logger: logger)
        do {
            guard let got = try await c.row("SELECT pg_try_advisory_lock($1) AS got", [.int(Self.leaseKey(name))]), try got["got"].decode(Bool.self)
            else {
                let other = leaseWaiters.withLock { $0.updateValue(conn, forKey: name) }
                if let other { _ = try? await other.close().get() }
                return nil
            }
        } catch {
            _ = try? await conn.close().get()
            throw error
        }
        return PostgresLease(name: name, connection: conn, logger: logger)
    }

    /// A server setting (`SHOW name`), for the backup's checks.
    public func show(_ name: String) async throws -> String? {
        guard name.allSatisfy({ $0.isLetter || $0 == "_" }) else { return nil }
        return try await withConnection { c in try await c.row("SHOW \(name)").map { try $0[0].decode(String.self) } }
    }
}

/// A postgres-nio connection inside one read or transaction, speaking `SQLConnection`.
struct PostgresSQLConnection: SQLConnection {
    let c: PGConnection

    static func binds(_ binds: [SQLValue]) -> [PGBind] {
        binds.map { b in
            switch b {
            case .null: return .text(nil)
            case .int(let i): return .int(i)
            case .text(let s): return .text(s)
            case .blob(let bytes): return .bytes(ByteBuffer(bytes: bytes))
            }
        }
    }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws -> Int {
        try await c.exec(numberedPlaceholders(sql), Self.binds(binds))
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await c.rows(numberedPlaceholders(sql), Self.binds(binds)).map { row in
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
