import Foundation
import Synchronization
import Testing

@testable import GatewayStore

/// The group commit's queue and leader (`GroupCommit`) over a transaction that only records its
/// statements and fails where told: which bodies share a transaction, what each caller learns when
/// a group's BEGIN or COMMIT fails or the database ends it, and who leads the bodies left queued.
@Suite struct GroupCommitTests {
    struct Refused: Error {}
    struct Failed: Error, Equatable { let what: String }

    /// A connection no body here uses.
    struct NoConnection: SQLConnection {
        func execute(_ sql: String, _ binds: [SQLValue]) async throws -> Int { throw Refused() }
        func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] { throw Refused() }
        func textBatch(_ sql: String, _ binds: [SQLValue], columns: Int) async throws -> RowBatch { throw Refused() }
        func queries(_ list: [SQLQuery]) async throws -> [[SQLRow]] { throw Refused() }
    }

    /// What a fake transaction did, and where it fails next.
    final class Script: Sendable {
        let statements = Mutex<[String]>([])
        /// Statements that fail once each (BEGIN, COMMIT).
        let failOnce = Mutex<Set<String>>([])
        /// Whether the transaction is still open after a body threw.
        let stillOpen = Mutex(true)
        /// Whether the first body of `run` is under way.
        let started = Mutex(false)
    }

    struct FakeTransaction: GroupTransaction {
        let script: Script
        var connection: any SQLConnection { NoConnection() }
        func begin() async throws { try await execute("BEGIN") }
        func execute(_ sql: String) async throws {
            script.statements.withLock { $0.append(sql) }
            if script.failOnce.withLock({ $0.remove(sql) != nil }) { throw Failed(what: sql) }
        }
        func isOpen() async -> Bool { script.stillOpen.withLock { $0 } }
        func abandon() async { script.statements.withLock { $0.append("ROLLBACK") } }
    }

    /// Writes `bodies` (a name and whether it throws) through `commit`, queued in their order: the
    /// first holds its group open until the others are queued, so they fall in the groups
    /// `commit`'s limit makes.
    /// Returns each body's outcome by name: "ok", what failed (`Failed`), or a store error's code.
    static func run(_ commit: GroupCommit, _ script: Script, _ bodies: [(String, Bool)]) async -> [String: String] {
        let (gate, open) = AsyncStream<Void>.makeStream()
        let first = bodies[0].0
        return await withTaskGroup(of: (String, String).self) { group in
            for (i, (name, throwsError)) in bodies.enumerated() {
                group.addTask {
                    do {
                        try await commit.write(
                            { _ in
                                if name == first {
                                    script.started.withLock { $0 = true }
                                    for await _ in gate { break }
                                }
                                if throwsError { throw Failed(what: name) }
                            }, lead: { run in await run(FakeTransaction(script: script)) })
                        return (name, "ok")
                    } catch let e as Failed {
                        return (name, e.what)
                    } catch let e as StoreError {
                        return (name, e.code.rawValue)
                    } catch {
                        return (name, "\(error)")
                    }
                }
                // The first body is under way (its group open) before the next is queued, and each
                // other one queued before the next is added: child tasks start in any order, and the
                // groups are made in the order of the queue.
                if i == 0 { while !script.started.withLock({ $0 }) { await Task.yield() } }
                while commit.waiting < i { await Task.yield() }
            }
            while commit.waiting < bodies.count - 1 { await Task.yield() }
            open.yield()
            open.finish()
            var all: [String: String] = [:]
            for await (name, outcome) in group { all[name] = outcome }
            return all
        }
    }

    static let sp = "SAVEPOINT grouped_write"
    static let release = "RELEASE SAVEPOINT grouped_write"
    static let undo = "ROLLBACK TO SAVEPOINT grouped_write"

    @Test func bodiesQueuedMeanwhileShareTheTransactionAndAFailedOneIsUndoneAlone() async {
        let script = Script()
        let commit = GroupCommit(age: .seconds(60))
        let outcomes = await Self.run(commit, script, [("a", false), ("b", false), ("c", true), ("d", false)])
        #expect(outcomes == ["a": "ok", "b": "ok", "c": "c", "d": "ok"])
        // One transaction: c's changes undone in its savepoint, the rest committed once.
        let (sp, release, undo) = (Self.sp, Self.release, Self.undo)
        #expect(
            script.statements.withLock { $0 } == ["BEGIN", sp, release, sp, release, sp, undo, release, sp, release, "COMMIT"])
        #expect(commit.commits == (groups: 1, bodies: 3))
    }

    @Test func aFailedCommitFailsItsGroupAndTheNextCallerLeadsTheRest() async {
        let script = Script()
        script.failOnce.withLock { $0 = ["COMMIT"] }
        let commit = GroupCommit(limit: 2, age: .seconds(60))
        let outcomes = await Self.run(commit, script, [("a", false), ("b", false), ("c", false), ("d", false)])
        // Two bodies a group: a and b learn their COMMIT failed; c, handed the turn, leads c and d.
        #expect(outcomes == ["a": "COMMIT", "b": "COMMIT", "c": "ok", "d": "ok"])
        let (sp, release) = (Self.sp, Self.release)
        #expect(
            script.statements.withLock { $0 } == [
                "BEGIN", sp, release, sp, release, "COMMIT", "ROLLBACK", "BEGIN", sp, release, sp, release, "COMMIT",
            ])
        #expect(commit.commits == (groups: 1, bodies: 2))
    }

    @Test func aTransactionTheDatabaseEndedFailsTheWholeGroup() async {
        let script = Script()
        script.stillOpen.withLock { $0 = false }
        let commit = GroupCommit(age: .seconds(60))
        let outcomes = await Self.run(commit, script, [("a", false), ("b", false), ("c", true), ("d", false)])
        // c threw and the transaction was gone: a and b are not committed either; d, still
        // queued, leads a group of its own.
        #expect(outcomes == ["a": "store_failure", "b": "store_failure", "c": "c", "d": "ok"])
        let (sp, release) = (Self.sp, Self.release)
        #expect(script.statements.withLock { $0 } == ["BEGIN", sp, release, sp, release, sp, "ROLLBACK", "BEGIN", sp, release, "COMMIT"])
    }

    @Test func aFailedBeginFailsItsBodyUnrunAndTheNextWriteLeadsAgain() async throws {
        let script = Script()
        script.failOnce.withLock { $0 = ["BEGIN"] }
        let commit = GroupCommit()
        let ran = Mutex(false)
        await #expect(throws: Failed(what: "BEGIN")) {
            try await commit.write({ _ in ran.withLock { $0 = true } }, lead: { run in await run(FakeTransaction(script: script)) })
        }
        #expect(!ran.withLock { $0 }, "a body runs only inside its group's transaction")
        let value = try await commit.write({ _ in 7 }, lead: { run in await run(FakeTransaction(script: script)) })
        #expect(value == 7)
        let (sp, release) = (Self.sp, Self.release)
        #expect(script.statements.withLock { $0 } == ["BEGIN", "ROLLBACK", "BEGIN", sp, release, "COMMIT"])
    }
}
