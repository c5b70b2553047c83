import Foundation
import SealBase
import SealCrypto
import SystemIO
import Testing

@testable import SealPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The one body spooler (the gateway's intake, `sealgate import`): the bytes kept
/// exactly with their SHA-256, nothing left behind by a refusal or a failed write.
@Suite struct BodySpoolerTests {
    /// Feeds `bytes` in chunks of `chunk`, writing each batch the spooler says is ready.
    func feed(_ spooler: BodySpooler, _ bytes: [UInt8], chunk: Int) throws {
        var at = 0
        while at < bytes.count {
            let end = min(bytes.count, at + chunk)
            if try bytes[at..<end].withUnsafeBytes({ try spooler.take($0) }) { try spooler.writeBatch() }
            at = end
        }
    }

    @Test func keepsTheExactBytesWithTheirHash() throws {
        let dir = TempDir()
        let bytes = pseudoRandomBytes(100_003, seed: 7)
        let spooler = try BodySpooler(creating: dir.file("body"), limit: UInt64(bytes.count), batchBytes: 4096)
        try feed(spooler, bytes, chunk: 1000)
        let kept = try spooler.finish()
        #expect(kept.path == dir.file("body"))
        #expect(kept.size == UInt64(bytes.count))
        #expect(kept.sha256 == hexString(SHA256Hasher.hash(bytes)))
        #expect(dir.read("body") == bytes)
        var st = stat()
        #expect(stat(dir.file("body"), &st) == 0)
        #expect(st.st_mode & 0o777 == 0o600)
        // Kept: releasing the spooler leaves the file.
        spooler.discard()
        #expect(dir.entries == ["body"])
        // An empty body is a file of no bytes, hashed as such.
        let empty = try BodySpooler(creating: dir.file("empty"), limit: 10).finish()
        #expect(empty.size == 0 && empty.sha256 == hexString(SHA256Hasher.hash([UInt8]())))
        #expect(dir.read("empty").isEmpty)
    }

    @Test func aBodyOverTheLimitIsRefusedAndLeavesNoFile() throws {
        let dir = TempDir()
        let bytes = pseudoRandomBytes(10_001, seed: 9)
        let spooler = try BodySpooler(creating: dir.file("body"), limit: 10_000, batchBytes: 1024)
        let refusal = #expect(throws: SealError.self) { try feed(spooler, bytes, chunk: 999) }
        #expect(refusal?.code == .packageTooLarge)
        #expect(dir.entries.isEmpty)
        // Nothing more is taken, nothing kept.
        #expect(throws: SealError.self) { try spooler.finish() }
        #expect(dir.entries.isEmpty)
        // Exactly the limit is taken.
        let exact = try BodySpooler(creating: dir.file("exact"), limit: 10_000, batchBytes: 1024)
        try feed(exact, Array(bytes.prefix(10_000)), chunk: 999)
        #expect(try exact.finish().size == 10_000)
    }

    @Test func aFailedWriteIsThrownAndLeavesNoFile() throws {
        let dir = TempDir()
        let path = dir.write("body", [])
        // A descriptor that cannot be written (read-only): the write fails with EBADF.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        #expect(fd >= 0)
        let spooler = BodySpooler(path: path, fd: fd, limit: 1 << 20, batchBytes: 16)
        let error = #expect(throws: SealError.self) { try feed(spooler, pseudoRandomBytes(64, seed: 3), chunk: 32) }
        #expect(error?.code == .ioError)
        spooler.discard()
        #expect(dir.entries.isEmpty)
        // The same at the end: the last batch is written by `finish`.
        let last = dir.write("last", [])
        let spooler2 = BodySpooler(path: last, fd: open(last, O_RDONLY | O_CLOEXEC), limit: 1 << 20, batchBytes: 1 << 20)
        try feed(spooler2, pseudoRandomBytes(64, seed: 4), chunk: 32)
        let atFinish = #expect(throws: SealError.self) { try spooler2.finish() }
        #expect(atFinish?.code == .ioError)
        spooler2.discard()
        #expect(dir.entries.isEmpty)
    }

    @Test func aBodyGivenUpIsRemoved() throws {
        let dir = TempDir()
        do {
            let spooler = try BodySpooler(creating: dir.file("body"), limit: 100)
            _ = try [UInt8](repeating: 1, count: 50).withUnsafeBytes { try spooler.take($0) }
            #expect(dir.entries == ["body"])
        }
        // Released without `finish`: removed.
        #expect(dir.entries.isEmpty)
        // A name that exists is never taken over.
        _ = dir.write("taken", [1, 2, 3])
        #expect(throws: SealError.self) { try BodySpooler(creating: dir.file("taken"), limit: 100) }
        #expect(dir.read("taken") == [1, 2, 3])
    }
}

/// `swapDurably`: a file written aside takes the place of another in one step.
@Suite struct SwapDurablyTests {
    func text(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }  // lint: allow try? — nil is "no file"

    @Test func theSpareTakesThePlaceAndTheOldFileBecomesTheNextSpare() throws {
        let dir = TempDir()
        let (head, spare) = (dir.file("head"), dir.file("head.spare"))
        try "old".write(toFile: head, atomically: false, encoding: .utf8)
        try "new".write(toFile: spare, atomically: false, encoding: .utf8)
        try swapDurably(spare, head)
        #expect(text(head) == "new")
        // Exchanged where the file system can (probed on two other files); renamed otherwise.
        try "a".write(toFile: dir.file("a"), atomically: false, encoding: .utf8)
        try "b".write(toFile: dir.file("b"), atomically: false, encoding: .utf8)
        let exchanges = (try? SystemIO.exchange(dir.file("a"), dir.file("b"))) != nil  // lint: allow try? — the probe's answer
        #expect(text(spare) == (exchanges ? "old" : nil))
    }

    @Test func withNoFileInPlaceTheSpareIsRenamed() throws {
        let dir = TempDir()
        let (head, spare) = (dir.file("head"), dir.file("head.spare"))
        try "first".write(toFile: spare, atomically: false, encoding: .utf8)
        try swapDurably(spare, head)
        #expect(text(head) == "first")
        #expect(!FileManager.default.fileExists(atPath: spare))
    }
}
