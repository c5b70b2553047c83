import Logging
import PostgresNIO
public import ServiceLifecycle

/// Where the PostgreSQL clients of the stores opened in a scope run (postgres-nio's
/// `PostgresClient.run()`): a `Service` of `serve`'s service group, or `withStoreClients` around
/// a command that opens a store briefly. A store opened while `StoreClients.current` is set hands
/// its client here; the clients run as child tasks of `run()` — structured, never a bare `Task` —
/// and end with it (graceful shutdown or cancellation). A PostgreSQL store opened outside any
/// scope is refused (`store_failure`): its client would never run.
public final class StoreClients: Service, Sendable {
    /// The scope of the current task, if any.
    @TaskLocal public static var current: StoreClients?

    private let clients: AsyncStream<PostgresClient>
    private let incoming: AsyncStream<PostgresClient>.Continuation

    public init() {
        (clients, incoming) = AsyncStream.makeStream(of: PostgresClient.self)
    }

    /// Runs `client` in this scope (from `PostgresDriver.init`).
    func add(_ client: PostgresClient) { incoming.yield(client) }

    /// Runs every client handed over until the task is cancelled or the group shuts down
    /// (each client ends on graceful shutdown by itself).
    public func run() async {
        await withDiscardingTaskGroup { group in
            for await client in clients.cancelOnGracefulShutdown() {
                group.addTask { await client.run() }
            }
        }
    }
}

/// Runs `body` with a scope for the PostgreSQL clients of the stores it opens: they run while
/// `body` does and are ended after it (a command that opens a store briefly; tests).
public func withStoreClients<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    let scope = StoreClients()
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await scope.run() }
        defer { group.cancelAll() }
        return try await StoreClients.$current.withValue(scope) { try await body() }
    }
}
