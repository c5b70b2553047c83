import Foundation
import SealBase
import SealCrypto
import Synchronization
import Testing
import TransparencyLog

@testable import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// The log head written once for many decisions (`HeadGroup`, `LogHead.advanceGrouped`): no
/// decision is told its head is durable (and so no receipt leaves) before a write of a head at
/// least its size has returned.
@Suite struct LogHeadGroupTests {
    static func pending(_ size: Int) -> HeadGroup.Pending {
        let root = [UInt8](repeating: UInt8(size % 256), count: 32)
        return HeadGroup.Pending(size: size, note: note(size, root), root: root)
    }

    /// A note shaped as a checkpoint's (origin, size, root, a signature line): a head's note
    /// must state its size and root.
    static func note(_ size: Int, _ root: [UInt8]) -> String {
        "test/log\n\(size)\n\(Base64.encode(root))\n\n— test/log c2lnbmF0dXJl\n"
    }

    /// A write as `HeadGroup.record` is given one: what to write is asked as it begins.
    typealias Write = @Sendable (_ next: @escaping @Sendable () -> HeadGroup.Pending) async throws -> Void

    /// What the writes did: the sizes whose write returned (in order), whether the first began.
    final class Probe: Sendable {
        let written = Mutex<[Int]>([])
        let started = Mutex(false)
        var largest: Int { written.withLock { $0.max() ?? 0 } }
    }

    /// Waits (without a deadline) until `condition` holds.
    static func until(_ condition: () -> Bool) async throws {
        while !condition() { try await Task.sleep(for: .milliseconds(1)) }
    }

    @Test func aDecisionReturnsOnlyOnceAWriteCoversItAndOneWriteCoversThoseWaiting() async throws {
        let group = HeadGroup()
        // The first write is held until the others wait.
        let probe = Probe()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let write: Write = { next in
            let p = next()
            if p.size == 1 {
                probe.started.withLock { $0 = true }
                for await _ in gate { break }
            }
            probe.written.withLock { $0.append(p.size) }
        }
        // Each decision notes the largest head written when it was told to go on.
        let first = Task { () async throws -> Int in
            try await group.record(Self.pending(1), write: write)
            return probe.largest
        }
        try await Self.until { probe.started.withLock { $0 } }
        var later: [(Int, Task<Int, any Error>)] = []
        for size in [3, 2, 4] {
            later.append(
                (
                    size,
                    Task {
                        try await group.record(Self.pending(size), write: write)
                        return probe.largest
                    }
                ))
        }
        try await Self.until { group.waiting == 3 }
        #expect(probe.written.withLock { $0.isEmpty })
        open.yield()
        #expect(try await first.value >= 1)
        for (size, task) in later {
            let seen = try await task.value
            #expect(seen >= size, "decision \(size) went on when the head written was \(seen)")
        }
        // The first write, then one for the three that waited (the largest of them).
        #expect(probe.written.withLock { $0 } == [1, 4])
    }

    /// What a write takes is asked as it begins: decisions that hand theirs in while the write is
    /// on its way to its thread (the rest of a group commit) are covered by that one write.
    @Test func aWriteTakesTheLargestHandedInByTheTimeItBegins() async throws {
        let group = HeadGroup()
        let probe = Probe()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let write: Write = { next in
            // On its way: the write has not asked what to write yet.
            probe.started.withLock { $0 = true }
            for await _ in gate { break }
            probe.written.withLock { $0.append(next().size) }
        }
        let first = Task { try await group.record(Self.pending(1), write: write) }
        try await Self.until { probe.started.withLock { $0 } }
        let others = [3, 2].map { size in Task { try await group.record(Self.pending(size), write: write) } }
        try await Self.until { group.waiting == 2 }
        open.yield()
        open.finish()
        try await first.value
        for task in others { try await task.value }
        #expect(probe.written.withLock { $0 } == [3], "one write, of the largest handed in before it began")
    }

    /// A write that returns without asking what to write has written nothing: the decision is
    /// not told its head is durable.
    @Test func aWriteThatAskedNothingCoversNobody() async throws {
        let group = HeadGroup()
        let write: Write = { _ in }
        let error = await #expect(throws: SealError.self) { try await group.record(Self.pending(1), write: write) }
        #expect(error?.code == .logInconsistent)
        // The next decision writes, and is covered.
        let probe = Probe()
        let writes: Write = { next in probe.written.withLock { $0.append(next().size) } }
        try await group.record(Self.pending(2), write: writes)
        #expect(probe.written.withLock { $0 } == [2])
    }

    struct WriteFailed: Error {}

    @Test func aFailedWriteFailsTheDecisionsItWouldHaveCoveredAndTheNextWriteGoesOn() async throws {
        let group = HeadGroup()
        let probe = Probe()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let write: Write = { next in
            let p = next()
            if p.size == 1 {
                probe.started.withLock { $0 = true }
                for await _ in gate { break }
            }
            if p.size == 3 { throw WriteFailed() }
            probe.written.withLock { $0.append(p.size) }
        }
        let first = Task { try await group.record(Self.pending(1), write: write) }
        try await Self.until { probe.started.withLock { $0 } }
        let two = Task { try await group.record(Self.pending(2), write: write) }
        let three = Task { try await group.record(Self.pending(3), write: write) }
        try await Self.until { group.waiting == 2 }
        open.yield()
        try await first.value
        await #expect(throws: WriteFailed.self) { try await two.value }
        await #expect(throws: WriteFailed.self) { try await three.value }
        // Nothing waits or writes any more: the next decision leads its own write.
        try await group.record(Self.pending(5), write: write)
        #expect(probe.written.withLock { $0 } == [1, 5])
    }

    @Test func concurrentDecisionsEachFindTheirHeadInTheFileWhenTheyReturn() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loghead-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let head = LogHead(path: dir + "/log-head.json")
        let pool = BlockingPool(threads: 2)
        try await withThrowingTaskGroup(of: (Int, Int).self) { tasks in
            for size in 1...40 {
                tasks.addTask {
                    let p = Self.pending(size)
                    try await head.advanceGrouped(size: size, note: p.note, root: p.root, on: pool)
                    return (size, try LogHead(path: head.path).read()?.size ?? 0)
                }
            }
            for try await (size, onDisk) in tasks {
                #expect(onDisk >= size, "decision \(size) went on with a head of \(onDisk) in the file")
            }
        }
        await pool.shutdown()
        let last = try #require(try LogHead(path: head.path).read())
        #expect(last.size == 40)
        #expect(last.note == Self.pending(40).note)
    }

    /// Two processes sharing the folder (two `LogHead`s on one file): each knows the head it
    /// left only while the file still holds its bytes — never writes an older head over the
    /// other's newer one.
    @Test func aHeadAnotherProcessWroteIsReadNotOverwritten() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loghead-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let a = LogHead(path: dir + "/log-head.json")
        let b = LogHead(path: a.path)
        func advance(_ h: LogHead, _ size: Int) throws {
            let p = Self.pending(size)
            try h.advance(size: size, note: p.note, root: { p.root })
        }
        try advance(a, 5)
        try advance(b, 9)
        try advance(a, 7)
        #expect(try LogHead(path: a.path).read()?.size == 9, "an older head was written over the other process's")
        try advance(a, 11)
        try advance(b, 10)
        #expect(try LogHead(path: a.path).read()?.size == 11)
        // Its own head still in place: the next one is written over it.
        try advance(a, 12)
        #expect(try LogHead(path: a.path).read()?.note == Self.pending(12).note)
    }

    /// The head's two names are exchanged without a flush of the folder (`swapIn`): after a
    /// power cut the newest head may be in the spare, or the file being rewritten torn. What a
    /// crash can leave, made by hand: the newer valid file is the head; the next write puts it
    /// back under the head's name before it rewrites the spare; a spare alone is no head.
    @Test func theNewerOfTheHeadAndItsSpareIsTheHeadAfterACrash() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loghead-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let head = LogHead(path: dir + "/log-head.json")
        let spare = head.path + ".spare"
        func advance(_ size: Int) throws {
            let p = Self.pending(size)
            try head.advance(size: size, note: p.note, root: { p.root })
        }
        func bytes(_ path: String) throws -> Data { try #require(FileManager.default.contents(atPath: path)) }
        try advance(4)
        try advance(6)
        let (four, six) = (try bytes(spare), try bytes(head.path))
        #expect(try LogHead(path: head.path).read()?.size == 6)
        // The exchange of 6 lost: 4 under the head's name, 6 in the spare.
        try four.write(to: URL(fileURLWithPath: head.path))
        try six.write(to: URL(fileURLWithPath: spare))
        #expect(try LogHead(path: head.path).read()?.size == 6)
        #expect(try LogHead(path: head.path).bytes() == [UInt8](six))
        // The head's file torn while it was being rewritten as the spare: the spare is the head.
        try Data(six.prefix(20)).write(to: URL(fileURLWithPath: head.path))
        #expect(try LogHead(path: head.path).read()?.size == 6)
        // A torn spare beside a valid head: the head.
        try six.write(to: URL(fileURLWithPath: head.path))
        try Data(four.prefix(20)).write(to: URL(fileURLWithPath: spare))
        #expect(try LogHead(path: head.path).read()?.size == 6)
        // A mix of two heads (one's size, the other's note and root): no head; the other file is.
        try six.write(to: URL(fileURLWithPath: spare))
        let sixText = try #require(String(data: six, encoding: .utf8))
        let six7 = sixText.replacingOccurrences(of: "\"size\":6", with: "\"size\":7")
        #expect(six7 != sixText)
        try Data(six7.utf8).write(to: URL(fileURLWithPath: head.path))
        #expect(try LogHead(path: head.path).read()?.size == 6)
        // A size that agrees with its note's but a root that does not: no head either.
        let otherRoot = Base64.encode([UInt8](repeating: 7, count: 32))
        let root7 = six7.replacingOccurrences(of: "\"root\":\"\(Base64.encode(Self.pending(6).root))\"", with: "\"root\":\"\(otherRoot)\"")
            .replacingOccurrences(of: "\\n6\\n", with: "\\n7\\n")
        #expect(root7.contains(otherRoot) && root7.contains("\\n7\\n"))
        try Data(root7.utf8).write(to: URL(fileURLWithPath: head.path))
        #expect(try LogHead(path: head.path).read()?.size == 6)
        // Both damaged: refused, not taken for no head.
        try Data("{".utf8).write(to: URL(fileURLWithPath: head.path))
        try Data(four.prefix(20)).write(to: URL(fileURLWithPath: spare))
        let damaged = #expect(throws: SealError.self) { try LogHead(path: head.path).read() }
        #expect(damaged?.code == .logInconsistent)
        // The newest in the spare again; a process that did not write it goes on from 6, and the
        // head's file holds 6 before the spare (then the older file) is rewritten with 8.
        try four.write(to: URL(fileURLWithPath: head.path))
        try six.write(to: URL(fileURLWithPath: spare))
        let other = LogHead(path: head.path)
        let p5 = Self.pending(5)
        try other.advance(size: 5, note: p5.note, root: { p5.root })
        #expect(try bytes(head.path) == six, "the newest head was not put back under its name")
        let p8 = Self.pending(8)
        try other.advance(size: 8, note: p8.note, root: { p8.root })
        #expect(try LogHead(path: head.path).read()?.size == 8)
        #expect(try bytes(spare) == six)
        // No file under the head's name (an operator removed it): no head, whatever the spare holds.
        try FileManager.default.removeItem(atPath: head.path)
        #expect(try LogHead(path: head.path).read() == nil)
        // A head written over (a restore, a declared fork) is not outranked by a larger spare.
        try six.write(to: URL(fileURLWithPath: spare))
        try head.write(size: 2, root: p5.root, note: Self.note(2, p5.root))
        #expect(try LogHead(path: head.path).read()?.size == 2)
    }

    /// `restore --checkpoint DIR/log-head.json` (`Backup.notePath`) takes the newer head of the
    /// file and the spare beside it, as the gateway does.
    @Test func aLogHeadGivenAsCheckpointIsReadWithItsSpare() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loghead-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let head = LogHead(path: dir + "/log-head.json")
        for size in [4, 6] {
            let p = Self.pending(size)
            try head.advance(size: size, note: p.note, root: { p.root })
        }
        #expect(try Backup.notePath(head.path) == Self.pending(6).note)
        // The exchange of 6 lost: 4 under the head's name, 6 in the spare.
        let spare = head.path + ".spare"
        let (four, six) = (try #require(FileManager.default.contents(atPath: spare)), try #require(FileManager.default.contents(atPath: head.path)))
        try four.write(to: URL(fileURLWithPath: head.path))
        try six.write(to: URL(fileURLWithPath: spare))
        #expect(try Backup.notePath(head.path) == Self.pending(6).note)
    }

    /// A writer rewrites the file that was the head before the last (`swapIn`): a read waits
    /// while a writer holds the lock file, rather than meet a file being rewritten.
    @Test func aReadOfTheHeadWaitsForAWriterHoldingTheLock() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loghead-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let head = LogHead(path: dir + "/log-head.json")
        let p = Self.pending(3)
        try head.advance(size: 3, note: p.note, root: { p.root })
        let fd = open(head.path + ".lock", O_RDWR | O_CLOEXEC)
        try #require(fd >= 0)
        #expect(flock(fd, LOCK_EX) == 0)
        let done = Mutex(false)
        let reader = Task.detached {
            let known = try head.read()
            done.withLock { $0 = true }
            return known?.size
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(!done.withLock { $0 }, "the head was read while a writer held the lock")
        flock(fd, LOCK_UN)
        close(fd)
        #expect(try await reader.value == 3)
    }

    /// A decision whose task is cancelled while it waits, then handed the write, still writes for
    /// the others: they are not failed for its cancellation (the write was cancellation-aware).
    @Test func aCancelledWriterStillWritesForTheOthers() async throws {
        let group = HeadGroup()
        let probe = Probe()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let write: Write = { next in
            let p = next()
            if p.size == 1 {
                probe.started.withLock { $0 = true }
                for await _ in gate { break }
            }
            // As the blocking pool does: a cancelled task's work is not run.
            try Task.checkCancellation()
            probe.written.withLock { $0.append(p.size) }
        }
        let first = Task { try await group.record(Self.pending(1), write: write) }
        try await Self.until { probe.started.withLock { $0 } }
        let cancelled = Task { try await group.record(Self.pending(2), write: write) }
        try await Self.until { group.waiting == 1 }
        let other = Task { try await group.record(Self.pending(2), write: write) }
        try await Self.until { group.waiting == 2 }
        cancelled.cancel()
        open.yield()
        try await first.value
        try await other.value
        // The cancelled decision's own wait ends too (its head is written).
        try await cancelled.value
        #expect(probe.written.withLock { $0 } == [1, 2])
    }
}
