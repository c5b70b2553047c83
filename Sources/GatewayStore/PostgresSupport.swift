import Foundation
import Logging
import PostgresNIO
import SealBase
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

    /// A lone connection's configuration (the leases' sessions).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var tlsConfig = TLSConfiguration.makeClientConfiguration()
        if !verifyServer { tlsConfig.certificateVerification = .none }
        var config = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: tls ? .require(try NIOSSLContext(configuration: tlsConfig)) : .disable)
        config.options.connectTimeout = .seconds(10)
        return config
    }

    /// The pooled client's configuration: at most `connections` at a time.
    func clientConfiguration(connections: Int) -> PostgresClient.Configuration {
        var tlsConfig = TLSConfiguration.makeClientConfiguration()
        if !verifyServer { tlsConfig.certificateVerification = .none }
        var config = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls ? .require(tlsConfig) : .disable)
        config.options.connectTimeout = .seconds(10)
        config.options.maximumConnections = connections
        return config
    }
}

/// A bind value.
enum PGBind: Sendable {
    case text(String?)
    case int(Int64?)
    case texts([String])
    case bytes(ByteBuffer)
}

/// A connection in use (leased from the client, or a lease's own session).
struct PGConnection: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs one statement and returns its rows and the number of rows it affected.
    @discardableResult
    func run(_ sql: String, _ binds: [PGBind] = []) async throws -> (rows: [PostgresRandomAccessRow], affected: Int) {
        var b = PostgresBindings(capacity: binds.count)
        for v in binds {
            switch v {
            case .text(let s): b.append(s)
            case .int(let i): b.append(i)
            case .texts(let a): b.append(a)
            case .bytes(let buf): b.append(buf)
            }
        }
        guard !connection.isClosed else { throw StoreError(.storeUnavailable, "the connection to PostgreSQL is closed (server down or restarted)") }
        do {
            let result = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: b), logger: logger).get()
            return (result.rows.map { $0.makeRandomAccess() }, result.metadata.rows ?? 0)
        } catch let e as PSQLError {
            throw PostgresDriver.storeError(e)
        }
    }

    func rows(_ sql: String, _ binds: [PGBind] = []) async throws -> [PostgresRandomAccessRow] { try await run(sql, binds).rows }
    func row(_ sql: String, _ binds: [PGBind] = []) async throws -> PostgresRandomAccessRow? { try await run(sql, binds).rows.first }
    @discardableResult func exec(_ sql: String, _ binds: [PGBind] = []) async throws -> Int { try await run(sql, binds).affected }
}

/// A connection leased from `PostgresClient` for as long as the caller needs it, with a bound on
/// the wait: the client waits for a connection as long as the server is away (its circuit
/// breaker opens only after a minute), so a request would hang through an outage. The lease is
/// taken in a task of its own, which hands the connection over and holds the lease until
/// `release`; if the wait runs out first, the caller gets `store_unavailable` and a connection
/// that comes later is given back at once.
final class PGLease: Sendable {
    private enum State {
        case waiting(CheckedContinuation<PostgresConnection, any Error>)
        case handedOver
        case abandoned
    }
    private let state: Mutex<State?> = Mutex(nil)
    private let released = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let releasedEarly = Mutex(false)
    private let timer = Mutex<Task<Void, Never>?>(nil)

    /// Leases a connection from `client`, waiting at most `wait`.
    static func take(from client: PostgresClient, wait: Duration, location: String) async throws -> (PGLease, PostgresConnection) {
        let lease = PGLease()
        let connection: PostgresConnection = try await withCheckedThrowingContinuation { k in
            lease.state.withLock { $0 = .waiting(k) }
            let holder = Task {
                do {
                    try await client.withConnection { c in
                        guard lease.handOver(c) else { return }  // the caller gave up meanwhile
                        await lease.untilReleased()
                    }
                } catch {
                    lease.fail(StoreError(.storeUnavailable, "cannot reach PostgreSQL at \(location): \(error)", cause: error))
                }
            }
            let timer = Task {
                try? await Task.sleep(for: wait)
                if Task.isCancelled { return }
                if lease.abandon(StoreError(.storeUnavailable, "no PostgreSQL connection within \(wait) (\(location))")) { holder.cancel() }
            }
            lease.timer.withLock { $0 = timer }
        }
        return (lease, connection)
    }

    private func handOver(_ c: PostgresConnection) -> Bool {
        let k = state.withLock { s -> CheckedContinuation<PostgresConnection, any Error>? in
            guard case .waiting(let k) = s else { return nil }
            s = .handedOver
            return k
        }
        k?.resume(returning: c)
        if k != nil { timer.withLock { $0 }?.cancel() }
        return k != nil
    }

    private func fail(_ error: any Error) {
        let k = state.withLock { s -> CheckedContinuation<PostgresConnection, any Error>? in
            guard case .waiting(let k) = s else { return nil }
            s = .abandoned
            return k
        }
        k?.resume(throwing: error)
    }

    /// Gives up the wait; true if the lease had not been handed over.
    private func abandon(_ error: any Error) -> Bool {
        let k = state.withLock { s -> CheckedContinuation<PostgresConnection, any Error>? in
            guard case .waiting(let k) = s else { return nil }
            s = .abandoned
            return k
        }
        k?.resume(throwing: error)
        return k != nil
    }

    private func untilReleased() async {
        await withCheckedContinuation { (k: CheckedContinuation<Void, Never>) in
            let early = releasedEarly.withLock { early in
                if !early { released.withLock { $0 = k } }
                return early
            }
            if early { k.resume() }
        }
    }

    /// Gives the connection back to the client.
    func release() {
        let k = releasedEarly.withLock { early in
            early = true
            return released.withLock { r in
                let k = r
                r = nil
                return k
            }
        }
        k?.resume()
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

    func isHeld() async -> Bool {
        guard let c = connection.withLock({ $0 }), !c.isClosed else {
            connection.withLock { $0 = nil }
            return false
        }
        // The session is alive, so its lock is held; a failed round trip means it may not be.
        do {
            _ = try await PGConnection(connection: c, logger: logger).exec("SELECT 1")
            return true
        } catch {
            _ = try? await c.close().get()
            connection.withLock { $0 = nil }
            return false
        }
    }

    func release() async {
        let c = connection.withLock { connection in
            let c = connection
            connection = nil
            return c
        }
        guard let c, !c.isClosed else { return }
        // Unlocked before the session ends: the next taker never races the server's cleanup.
        _ = try? await PGConnection(connection: c, logger: logger).exec("SELECT pg_advisory_unlock_all()")
        _ = try? await c.close().get()
    }

    deinit {
        // Released without a wait: the server ends the session's lock when the connection closes.
        // (The completion keeps the connection alive until it is closed.)
        if let c = connection.withLock({ $0 }), !c.isClosed { c.close().whenComplete { _ in _ = c } }
    }
}
