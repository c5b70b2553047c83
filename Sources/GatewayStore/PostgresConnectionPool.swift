import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Where a PostgreSQL store lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require]`.
/// The password may instead come from the `PGPASSWORD` environment variable; it is never
/// printed (`redacted` is what logs and errors show).
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var tls: Bool
    /// `sslmode=verify-full`: the server's certificate is checked against the system's trust
    /// store and the host name; `require`: encrypted, not verified (libpq's meanings).
    public var verifyServer: Bool
    var password: String?

    public static func isPostgresURL(_ s: String) -> Bool { s.hasPrefix("postgres://") || s.hasPrefix("postgresql://") }

    public init(url: String) throws { try self.init(url: url, environment: ProcessInfo.processInfo.environment) }

    public init(url: String, environment: [String: String]) throws {
        guard Self.isPostgresURL(url), let c = URLComponents(string: url), let host = c.host, !host.isEmpty else {
            throw StoreError(.databaseURL, "not a PostgreSQL URL (expected postgres://USER@HOST:PORT/DATABASE)")
        }
        self.host = host
        self.port = c.port ?? 5432
        self.user = c.user.flatMap { $0.removingPercentEncoding } ?? environment["PGUSER"] ?? "postgres"
        let db = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        self.database = db.isEmpty ? user : db
        self.password = c.password.flatMap { $0.removingPercentEncoding } ?? environment["PGPASSWORD"]
        switch c.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable" {
        case "disable":
            tls = false
            verifyServer = false
        case "require":
            tls = true
            verifyServer = false
        case "verify-full":
            tls = true
            verifyServer = true
        case let other: throw StoreError(.databaseURL, "sslmode=\(other) is not supported (use disable, require or verify-full)")
        }
    }

    /// The URL without its password, for logs, errors and gateway.json.
    public var redacted: String {
        "postgres://\(user)@\(host):\(port)/\(database)\(tls ? (verifyServer ? "?sslmode=verify-full" : "?sslmode=require") : "")"
    }
    // However it is printed or dumped, the password is not shown.
    public var description: String { redacted }
    public var debugDescription: String { redacted }
    public var customMirror: Mirror { Mirror(self, children: ["url": redacted]) }

    func configuration() throws -> PostgresConnection.Configuration {
        var tlsConfig = TLSConfiguration.makeClientConfiguration()
        if !verifyServer { tlsConfig.certificateVerification = .none }
        var config = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: tls ? .require(try NIOSSLContext(configuration: tlsConfig)) : .disable)
        config.options.connectTimeout = .seconds(10)
        return config
    }
}

/// One event loop group for every PostgreSQL connection of the process, apart from the HTTP
/// server's: the store's synchronous calls wait on it from worker threads, never on its own threads.
let postgresEventLoops = MultiThreadedEventLoopGroup(numberOfThreads: 2)

/// `@unchecked Sendable`: written once by the future's callback before the semaphore is
/// signalled, read once after the wait — the semaphore orders the two.
final class WaitBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
    init() {}
}

/// Waits for a future from a thread that is not one of `postgresEventLoops`; gives up after
/// `timeout` seconds (a server that stopped answering must not hold a request forever).
func syncWait<T>(_ future: EventLoopFuture<T>, timeout: Double = 600) throws -> T {
    let box = WaitBox<T>()
    let done = DispatchSemaphore(value: 0)
    future.whenComplete { r in
        box.result = r
        done.signal()
    }
    guard done.wait(timeout: .now() + timeout) == .success else {
        throw StoreError(.storeUnavailable, "PostgreSQL did not answer within \(Int(timeout)) s")
    }
    return try box.result!.get()
}

/// A bind value.
enum PGBind {
    case text(String?)
    case int(Int64?)
    case texts([String])
    case bytes(ByteBuffer)
}

/// A connection in use, with synchronous helpers.
struct PGConnection {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs one statement and returns its rows and the number of rows it affected.
    @discardableResult
    func run(_ sql: String, _ binds: [PGBind] = []) throws -> (rows: [PostgresRandomAccessRow], affected: Int) {
        var b = PostgresBindings(capacity: binds.count)
        for v in binds {
            switch v {
            case .text(let s): b.append(s)
            case .int(let i): b.append(i)
            case .texts(let a): b.append(a)
            case .bytes(let buf): b.append(buf)
            }
        }
        // A query written to a closed connection is never answered (postgres-nio drops the
        // write): refuse it here, so an outage is an error at once, not a hang.
        guard !connection.isClosed else { throw StoreError(.storeUnavailable, "the connection to PostgreSQL is closed (server down or restarted)") }
        do {
            let result = try syncWait(connection.query(PostgresQuery(unsafeSQL: sql, binds: b), logger: logger))
            return (result.rows.map { $0.makeRandomAccess() }, result.metadata.rows ?? 0)
        } catch let e as PSQLError {
            throw PostgresDriver.storeError(e)
        }
    }

    func rows(_ sql: String, _ binds: [PGBind] = []) throws -> [PostgresRandomAccessRow] { try run(sql, binds).rows }
    func row(_ sql: String, _ binds: [PGBind] = []) throws -> PostgresRandomAccessRow? { try run(sql, binds).rows.first }
    @discardableResult func exec(_ sql: String, _ binds: [PGBind] = []) throws -> Int { try run(sql, binds).affected }
    func int(_ sql: String, _ binds: [PGBind] = []) throws -> Int64? { try row(sql, binds).flatMap { try $0[0].decode(Int64?.self) } }
}

extension PostgresRandomAccessRow {
    func s(_ col: String) throws -> String { try self[col].decode(String.self) }
    func so(_ col: String) throws -> String? { try self[col].decode(String?.self) }
    func i(_ col: String) throws -> Int64 { try self[col].decode(Int64.self) }
    func io(_ col: String) throws -> Int64? { try self[col].decode(Int64?.self) }
}

/// A small synchronous pool: at most `limit` connections, opened on demand, a broken one
/// dropped rather than reused.
///
/// `@unchecked Sendable`: `idle`, `open`, `nextID` and `closed` are touched only under `cond`.
final class PGPool: @unchecked Sendable {
    let location: PostgresLocation
    let config: PostgresConnection.Configuration
    let limit: Int
    private let cond = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var nextID = 0
    private var closed = false
    let logger: Logger

    init(location: PostgresLocation, limit: Int) throws {
        self.location = location
        self.config = try location.configuration()
        self.limit = limit
        var l = Logger(label: "sealgate.postgres")
        l.logLevel = .critical
        self.logger = l
    }

    /// A new connection of its own (not pooled): the caller closes it.
    func connect() throws -> PostgresConnection {
        cond.lock()
        nextID += 1
        let id = nextID
        cond.unlock()
        do {
            return try syncWait(PostgresConnection.connect(on: postgresEventLoops.next(), configuration: config, id: id, logger: logger))
        } catch let e as PSQLError {
            throw StoreError(.storeUnavailable, "cannot connect to \(location.redacted): \(PostgresDriver.describe(e))", cause: e)
        } catch {
            throw StoreError(.storeUnavailable, "cannot connect to \(location.redacted): \(error)", cause: error)
        }
    }

    @discardableResult
    func with<T>(_ body: (PGConnection) throws -> T) throws -> T {
        cond.lock()
        while idle.isEmpty && open >= limit { cond.wait() }
        var taken: PostgresConnection?
        while let c = idle.popLast() {
            if c.isClosed {
                open -= 1
                continue
            }  // the server closed it meanwhile
            taken = c
            break
        }
        if taken == nil { open += 1 }
        cond.unlock()
        if taken == nil {
            do { taken = try connect() } catch {
                cond.lock()
                open -= 1
                cond.signal()
                cond.unlock()
                throw error
            }
        }
        let conn = taken!
        defer {
            cond.lock()
            if conn.isClosed || closed {
                open -= 1
                if !conn.isClosed { _ = try? syncWait(conn.close()) }
            } else {
                idle.append(conn)
            }
            cond.signal()
            cond.unlock()
        }
        return try body(PGConnection(connection: conn, logger: logger))
    }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    @discardableResult
    func transaction<T>(_ body: (PGConnection) throws -> T) throws -> T {
        try with { c in
            try c.exec("BEGIN")
            do {
                let v = try body(c)
                try c.exec("COMMIT")
                return v
            } catch {
                // A connection that cannot roll back is not given back to the pool.
                if !c.connection.isClosed, (try? c.exec("ROLLBACK")) == nil { _ = try? syncWait(c.connection.close()) }
                throw error
            }
        }
    }

    func close() {
        cond.lock()
        closed = true
        let all = idle
        idle = []
        open -= all.count
        cond.unlock()
        for c in all { _ = try? syncWait(c.close()) }
    }
}

/// A lease held through a PostgreSQL session advisory lock on a connection of its own: the
/// server releases it when that session ends — the holder stopped, was killed or lost its
/// network — so another process can take it over.
final class PostgresLease: StoreLease {
    let name: String
    /// The lease's own session; nil once released or lost.
    private let connection: Mutex<PostgresConnection?>
    private let logger: Logger

    init(name: String, connection: PostgresConnection, logger: Logger) {
        self.name = name
        self.connection = Mutex(connection)
        self.logger = logger
    }

    var isHeld: Bool {
        connection.withLock { connection in
            guard let c = connection, !c.isClosed else {
                connection = nil
                return false
            }
            // The session is alive, so its lock is held; a failed round trip means it may not be.
            do {
                _ = try PGConnection(connection: c, logger: logger).exec("SELECT 1")
                return true
            } catch {
                _ = try? syncWait(c.close())
                connection = nil
                return false
            }
        }
    }

    func release() {
        let c = connection.withLock { connection in
            let c = connection
            connection = nil
            return c
        }
        if let c, !c.isClosed { _ = try? syncWait(c.close()) }
    }

    deinit { release() }
}
