import NIOPosix

/// Runs blocking work — fsync, crypto and parsing over files (opening a package, validating its
/// records, hashing a dataset) — on a bounded pool of threads of its own, never on an event loop
/// or on Swift's cooperative threads. More work than threads waits its turn in the pool's queue.
/// The store needs none of it: it is async.
public final class BlockingPool: Sendable {
    let pool: NIOThreadPool
    public let threads: Int

    public init(threads: Int) {
        self.threads = max(1, threads)
        pool = NIOThreadPool(numberOfThreads: self.threads)
        pool.start()
    }

    /// Runs `work` on one of the pool's threads and returns its result (or rethrows).
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(work)
    }

    /// Lets queued work finish, then stops the threads.
    public func shutdown() async { try? await pool.shutdownGracefully() }

    /// For the file work of the HTTP handlers and background services (8 threads).
    public static let shared = BlockingPool(threads: 8)
}
