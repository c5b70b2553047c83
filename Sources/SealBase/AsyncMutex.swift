import Synchronization

/// A mutual exclusion lock for async code: `withLock` waits (suspending, never blocking a
/// thread) until no other task holds it, then runs `body`. Waiters are served in arrival order.
/// Not reentrant: a task that calls `withLock` inside its own `withLock` waits forever.
public final class AsyncMutex: Sendable {
    private struct State {
        var locked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    public init() {}

    public func withLock<T>(_ body: () async throws -> T) async rethrows -> T {
        await lock()
        defer { unlock() }
        return try await body()
    }

    private func lock() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.locked {
                    s.waiters.append(c)
                    return false
                }
                s.locked = true
                return true
            }
            if now { c.resume() }
        }
    }

    private func unlock() {
        // The next waiter gets the lock as it is handed over: it stays locked between the two.
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiters.isEmpty {
                s.locked = false
                return nil
            }
            return s.waiters.removeFirst()
        }
        next?.resume()
    }
}
