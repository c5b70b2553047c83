import SealBase
import Synchronization
public import TransparencyLog

/// One write of the log head for many decisions ("group fsync"). A decision that committed
/// hands in its signed checkpoint and waits until a head of at least its size is durable. One
/// decision at a time writes: the largest checkpoint handed in so far, then it wakes every
/// decision of that size or smaller and, if later ones are waiting, hands the next write to one
/// of them (a writer never writes for others after its own is covered). A failed write fails
/// the decisions it would have covered (their receipts do not leave).
final class HeadGroup: Sendable {
    /// A checkpoint signed over the committed log, to be kept as the head.
    struct Pending: Sendable {
        let size: Int
        let note: String
        let root: Merkle.Hash
    }

    private struct State {
        /// The largest checkpoint handed in and not yet taken by a write.
        var latest: Pending?
        /// A write is under way (or about to be, by a waiter just handed the turn).
        var writing = false
        /// Decisions waiting: resumed with `false` once covered, `true` when handed the next write.
        var waiters: [(size: Int, continuation: CheckedContinuation<Bool, any Error>)] = []
    }

    private let state = Mutex(State())

    /// Decisions waiting for a write (tests wait for their turn with it).
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Returns once a head of at least `p.size` is durable (a `write` of a size ≥ `p.size`
    /// returned); throws what the write that should have covered it threw. `write` is given what
    /// to write as a function, called as the write begins (on the thread that writes): the
    /// largest checkpoint handed in by then — decisions of the same group commit hand theirs in
    /// while the write is on its way to that thread, and are covered by it, not by the next.
    func record(_ p: Pending, write: @escaping @Sendable (_ next: @escaping @Sendable () -> Pending) async throws -> Void) async throws {
        let lead: Bool = try await withCheckedThrowingContinuation { c in
            let now: Bool? = state.withLock { s in
                if (s.latest?.size ?? -1) < p.size { s.latest = p }
                guard !s.writing else {
                    s.waiters.append((p.size, c))
                    return nil
                }
                s.writing = true
                return true
            }
            if let now { c.resume(returning: now) }
        }
        guard lead else { return }
        // The largest checkpoint handed in and not yet written (at least the writer's own: a
        // waiter handed the turn was not covered by the write before, so its own is not taken).
        let taken = Mutex<Pending?>(nil)
        let next: @Sendable () -> Pending = { [self] in
            let n = state.withLock { s -> Pending in
                defer { s.latest = nil }
                guard let l = s.latest, l.size >= p.size else { return p }
                return l
            }
            taken.withLock { $0 = n }
            return n
        }
        var failure: (any Error)?
        // The write serves the decisions waiting too: this task's cancellation (a request ended,
        // the server stopping) must not cancel it for them, so it runs as a task of its own.
        let writing = Task { try await write(next) }
        do { try await writing.value } catch { failure = error }
        let wrote = taken.withLock { $0 }
        // A write that returned without asking what to write covered nobody.
        if wrote == nil, failure == nil {
            failure = GatewayError(.logInconsistent, "the log head's write wrote nothing", remedy: "report this as a bug")
        }
        handOn(through: wrote?.size ?? p.size, failure: failure)
        if let failure { throw failure }
    }

    /// After a write of `size`: wakes the decisions it covered (or fails them with `failure`),
    /// and hands the next write to a decision still waiting.
    private func handOn(through size: Int, failure: (any Error)?) {
        let (covered, next) = state.withLock { s in
            let covered = s.waiters.filter { $0.size <= size }.map(\.continuation)
            s.waiters.removeAll { $0.size <= size }
            guard !s.waiters.isEmpty else {
                s.writing = false
                return (covered, nil as CheckedContinuation<Bool, any Error>?)
            }
            return (covered, s.waiters.removeFirst().continuation)
        }
        for c in covered {
            if let failure { c.resume(throwing: failure) } else { c.resume(returning: false) }
        }
        next?.resume(returning: true)
    }
}

extension LogHead {
    /// Keeps the checkpoint `note` (of `size` entries, root `root`) as the head, sharing the write
    /// and its fsyncs with the decisions committed meanwhile (`HeadGroup`); returns once a head of
    /// at least `size` is durable. The write runs on `pool`.
    func advanceGrouped(size: Int, note: String, root: Merkle.Hash, on pool: BlockingPool) async throws {
        try await group.record(HeadGroup.Pending(size: size, note: note, root: root)) { next in
            try await pool.run {
                let p = next()
                try self.advance(size: p.size, note: p.note, root: { p.root })
            }
        }
    }
}
