import Synchronization

/// One transaction a group of grouped writes runs in (`GroupCommit`): a driver's own (SQLite's
/// writer connection; PostgreSQL's grouped writes are plain writes — grouped on one connection
/// they were no faster, docs/benchmarks.md "Step 9").
protocol GroupTransaction {
    /// The connection the group's bodies run on.
    var connection: any SQLConnection { get }
    /// Opens the transaction.
    func begin() async throws
    /// Runs one of the group's own statements (SAVEPOINT, RELEASE, ROLLBACK TO, COMMIT).
    func execute(_ sql: String) async throws
    /// Whether the transaction is still open after a body threw (false: the database ended it,
    /// and the group failed whole).
    func isOpen() async -> Bool
    /// Ends a failed group's transaction, as well as it can.
    func abandon() async
}

/// A grouped write waiting for its group (`GroupCommit.write`): its body, run by the group's
/// leader, and how its caller is told the group ended.
final class GroupedBody: @unchecked Sendable {
    // Unchecked: `body` is the caller's own (made escaping for the time the caller waits for it:
    // `withoutActuallyEscaping`); it is run once, by the group's leader, while its caller is
    // suspended, and let go of, with `groupFailure` set, before the caller is resumed. `turn` is
    // set before the body is queued and taken once, under the queue's lock or by `end`.
    /// Runs the body and keeps its value or error where its caller reads them; true when it threw.
    /// Let go of before the caller is resumed (the body must not outlive its caller's wait).
    private var body: ((any SQLConnection) async -> Bool)?
    /// Resumed with `false` once the body's group ended, with `true` when its caller is to lead
    /// the next group (the body not run yet).
    var turn: CheckedContinuation<Bool, Never>?
    /// Why the group failed whole (nil: it committed, or the body's own error stands).
    var groupFailure: (any Error)?

    init(run: @escaping (any SQLConnection) async -> Bool) { body = run }

    /// Runs the body (once); true when it threw.
    func run(_ c: any SQLConnection) async -> Bool {
        guard let b = body else { return true }
        body = nil
        return await b(c)
    }

    /// Tells the caller its group ended (the body let go of first, run or not).
    func end() {
        body = nil
        let k = turn
        turn = nil
        k?.resume(returning: false)
    }
}

/// Where a grouped body's value or error is kept for its caller (see `GroupedBody`).
final class GroupedResult<T>: @unchecked Sendable {
    var value: Result<T, any Error>?
}

/// Group commit (`SQLDriver.groupedWrite`), for a driver that gives it a transaction. Grouped
/// bodies run one after another in one transaction, each inside a savepoint of it, with no
/// hand-over between them: the caller that finds no group under way leads one — it gets a
/// transaction from its driver (`lead`: SQLite's writer) and runs its
/// own body and every body queued meanwhile (up to `limit` bodies and `age`), then commits them —
/// one commit and one flush of the database's log for the group — and every caller of the group
/// returns then, or throws the commit's error. Bodies queued while a group ran are led by the
/// first of their callers, handed the turn as the group ends. A body runs in its leader's task:
/// it sees that task's cancellation, task-local values and priority, not its own caller's — a
/// grouped body must not look at any of them (the store's are SQL statements on the connection it
/// is given, and never check for cancellation). A body that throws has its own changes undone (`ROLLBACK
/// TO`) and throws once its group has ended (a retry then sees what the others committed, e.g.
/// the rival that took its seq); if the database ended the transaction itself (an I/O error, a
/// full disk), the group fails whole.
final class GroupCommit: Sendable {
    /// Bodies waiting for a group, and whether a caller leads one now.
    private let queued = Mutex((bodies: [GroupedBody](), leading: false))
    /// Groups that committed a body, and the bodies they committed.
    private let tally = Mutex((groups: 0, bodies: 0))
    /// The most bodies one group commit holds (a group's first waits for its last).
    let limit: Int
    /// How long a group takes more bodies after its first began (a group's first waits for its
    /// last; grouped bodies are small decisions of a few milliseconds each).
    let age: Duration

    init(limit: Int = 64, age: Duration = .milliseconds(20)) {
        self.limit = limit
        self.age = age
    }

    /// How many group commits committed a body, and how many grouped bodies they committed.
    var commits: (groups: Int, bodies: Int) { tally.withLock { $0 } }

    /// Bodies queued and not yet taken into a group (tests wait for them).
    var waiting: Int { queued.withLock { $0.bodies.count } }

    /// `body` run in a group; `lead` takes what the driver needs (SQLite: the writer) and calls
    /// `run` with its transaction, returning what `run` returned (a failure to open the
    /// transaction is `GroupTransaction.begin`'s to throw).
    func write<T>(
        _ body: (any SQLConnection) async throws -> T,
        lead: (_ run: (any GroupTransaction) async -> [GroupedBody]) async -> [GroupedBody]
    ) async throws -> T {
        try await withoutActuallyEscaping(body) { body in
            let result = GroupedResult<T>()
            let mine = GroupedBody { c in
                do {
                    result.value = .success(try await body(c))
                    return false
                } catch {
                    result.value = .failure(error)
                    return true
                }
            }
            let leads = await withCheckedContinuation { (k: CheckedContinuation<Bool, Never>) in
                mine.turn = k
                let now = queued.withLock { q -> Bool in
                    q.bodies.append(mine)
                    guard !q.leading else { return false }
                    q.leading = true
                    return true
                }
                if now {
                    mine.turn = nil
                    k.resume(returning: true)
                }
            }
            if leads { await leadGroup(lead) }
            // The group ended: the body's own error first, then the group's.
            switch (result.value, mine.groupFailure) {
            case (.failure(let e)?, _): throw e
            case (_, let failure?): throw failure
            case (.success(let value)?, nil): return value
            case (nil, nil): throw StoreError(.storeFailure, "a grouped write ended without running")
            }
        }
    }

    /// One group, led by the caller whose body is first in the queue: run in a transaction
    /// `lead` gets, committed, its callers resumed; the next caller waiting is handed the turn.
    private func leadGroup(_ lead: (_ run: (any GroupTransaction) async -> [GroupedBody]) async -> [GroupedBody]) async {
        let ran = await lead(runGroup)
        // The next group's leader first (its wake-up overlaps the callers' returns).
        let next = queued.withLock { q -> CheckedContinuation<Bool, Never>? in
            guard let first = q.bodies.first else {
                q.leading = false
                return nil
            }
            defer { first.turn = nil }
            return first.turn
        }
        next?.resume(returning: true)
        for b in ran { b.end() }
    }

    /// Takes the first queued body (nil when none is left).
    private func nextQueued() -> GroupedBody? {
        queued.withLock { q in q.bodies.isEmpty ? nil : q.bodies.removeFirst() }
    }

    /// Runs queued bodies in `t` and ends it; returns the bodies it ran, each told whether its
    /// group failed whole.
    private func runGroup(_ t: any GroupTransaction) async -> [GroupedBody] {
        var ran: [GroupedBody] = []
        func fail(_ error: any Error) async -> [GroupedBody] {
            await t.abandon()
            for b in ran { b.groupFailure = error }
            return ran
        }
        guard let first = nextQueued() else { return [] }
        ran.append(first)
        do { try await t.begin() } catch { return await fail(error) }
        let opened = ContinuousClock.now
        var body = first
        var committing = 0
        while true {
            do { try await t.execute("SAVEPOINT grouped_write") } catch { return await fail(error) }
            if await body.run(t.connection) {
                // This body's changes undone; the group goes on without it, unless the database
                // ended the transaction (then the group failed whole).
                guard await t.isOpen() else { return await fail(StoreError(.storeFailure, "the group's transaction ended")) }
                do {
                    try await t.execute("ROLLBACK TO SAVEPOINT grouped_write")
                    try await t.execute("RELEASE SAVEPOINT grouped_write")
                } catch { return await fail(error) }
            } else {
                do { try await t.execute("RELEASE SAVEPOINT grouped_write") } catch { return await fail(error) }
                committing += 1
            }
            guard ran.count < limit, ContinuousClock.now - opened <= age, let next = nextQueued() else { break }
            ran.append(next)
            body = next
        }
        do { try await t.execute("COMMIT") } catch { return await fail(error) }
        if committing > 0 {
            tally.withLock { c in
                c.groups += 1
                c.bodies += committing
            }
        }
        return ran
    }
}
