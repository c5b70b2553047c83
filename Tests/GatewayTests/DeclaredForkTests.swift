import Foundation
import GatewayCore
import GatewayStore
import SealCrypto
import Testing
import TransparencyLog

/// `DeclaredFork.judge`: when a fork declared in the log lets an auditor go on (`log verify
/// --state`), and every way a declaration fails to.
@Suite struct DeclaredForkJudgeTests {
    static let origin = "HCM-DTCD/log"
    let key = MinisignSecretKey.generate()
    /// The history the auditor verified (6 entries), and the checkpoint it holds.
    let lost: [LogEntry] = (0..<6).map {
        LogEntry(index: Int64($0), kind: .unitRegistered, body: "{\"n\":\($0)}", createdAt: moment("2026-12-02T03:00:00Z"))
    }
    var previous: LogVerifierState {
        let leaves = lost.map(GatewayLog.leaf)
        return LogVerifierState(size: 6, root: Merkle.root(leaves), leaves: leaves)
    }

    func declaration(
        at index: Int, lostSize: Int = 6, lostRoot: Merkle.Hash? = nil, continuesAt: Int? = nil, signer: MinisignSecretKey? = nil,
        gateway: String = "HCM-DTCD"
    ) throws -> LogEntry {
        let root = lostRoot ?? previous.root
        let note = try Checkpoint(origin: Self.origin, size: lostSize, root: root).signed(name: Self.origin, key: signer ?? key)
        let body = JSON.object([
            "format": .string("sealgate-log/1"), "kind": .string("fork_declared"), "gateway": .string(gateway),
            "lost_size": .int(Int64(lostSize)), "lost_root": .string(Base64.encode(root)), "lost_checkpoint": .string(note),
            "continues_at": .int(Int64(continuesAt ?? index)), "reason": .string("disk lost\u{1B}[2J"),
            "declared_at": .string("2026-12-02T03:00:00Z"),
        ]).canonical
        return LogEntry(index: Int64(index), kind: .forkDeclared, body: body, createdAt: moment("2026-12-02T03:00:00Z"))
    }

    /// The log as served: the first `kept` entries of the lost history, then `rest`.
    func judge(kept: Int, _ rest: [LogEntry], covered: Bool = true) -> DeclaredFork.Judgement {
        let entries = Array(lost.prefix(kept)) + rest
        let leaves = entries.map(GatewayLog.leaf)
        let first = (0..<min(previous.size, leaves.count)).first { leaves[$0] != previous.leaves[$0] } ?? leaves.count
        return DeclaredFork.judge(
            bodies: entries.map(\.body), leaves: leaves, covered: covered, previous: previous, firstDifference: first, origin: Self.origin,
            department: "HCM-DTCD", logKeys: { _ in [key.publicKey.key] })
    }

    func refusal(_ j: DeclaredFork.Judgement) -> String {
        if case .refused(let why?) = j { return why }
        return "not refused with a reason: \(j)"
    }

    let later = LogEntry(index: 4, kind: .unitRegistered, body: "{\"n\":\"new\"}", createdAt: moment("2026-12-02T03:00:00Z"))

    @Test func aDeclarationOfTheAuditorsCheckpointLetsItGoOn() throws {
        let j = judge(kept: 3, [try declaration(at: 3), later])
        guard case .accepted(let fork) = j else {
            Issue.record("\(j)")
            return
        }
        #expect(fork.index == 3 && fork.continuesAt == 3 && fork.lostSize == 6 && fork.lostRoot == previous.root)
        #expect(fork.reason == "disk lost\u{1B}[2J" && fork.declaredAt.text == "2026-12-02T03:00:00Z")
        // The operator's text is printed without its control characters.
        #expect(DeclaredFork.shown(fork.reason) == "disk lost\u{FFFD}[2J")
        #expect(DeclaredFork.shown("a\nb\u{202E}c", limit: 2) == "a\u{FFFD}…")
    }

    @Test func noDeclarationIsNoneAtAll() throws {
        #expect(judge(kept: 3, [later]) == .refused(nil))
        // The entry's kind is not covered by the log; a body that is not a declaration is none.
        let posing = LogEntry(index: 3, kind: .forkDeclared, body: "{\"n\":\"posing\"}", createdAt: moment("2026-12-02T03:00:00Z"))
        #expect(judge(kept: 3, [posing]) == .refused(nil))
    }

    @Test func aDeclarationOfAnotherCheckpointIsRefused() throws {
        let other = judge(kept: 3, [try declaration(at: 3, lostSize: 7, lostRoot: Array(repeating: 7, count: 32))])
        #expect(refusal(other).contains("abandons a checkpoint of 7 entries") && refusal(other).contains("not the one you hold"), "\(other)")
        let sameSize = judge(kept: 3, [try declaration(at: 3, lostRoot: Array(repeating: 7, count: 32))])
        #expect(refusal(sameSize).contains("not the one you hold"), "\(sameSize)")
        let otherGateway = judge(kept: 3, [try declaration(at: 3, gateway: "HCM-OTHER")])
        #expect(refusal(otherGateway).contains("not a well-formed fork_declared statement"), "\(otherGateway)")
    }

    @Test func aDeclarationWhoseSignedNoteFailsIsRefused() throws {
        let forged = judge(kept: 3, [try declaration(at: 3, signer: MinisignSecretKey.generate())])
        #expect(refusal(forged).contains("its signed note of it does not verify"), "\(forged)")
        // Not covered by the signed checkpoint: nothing in the entries served is the log's word.
        let uncovered = judge(kept: 3, [try declaration(at: 3)], covered: false)
        #expect(refusal(uncovered).contains("do not hash to the checkpoint"), "\(uncovered)")
    }

    @Test func aDeclarationAnywhereButWhereTheLogDiffersIsRefused() throws {
        // The log differs at 3, but the declaration says it goes on from 4 (after an entry the auditor never saw).
        let late = judge(kept: 3, [later, try declaration(at: 4)])
        #expect(refusal(late).contains("differs from the one you verified at entry 3"), "\(late)")
        // A declaration that claims another continuation than its own place.
        let misplaced = judge(kept: 3, [try declaration(at: 3, continuesAt: 2)])
        #expect(refusal(misplaced).contains("goes on from 2 entries"), "\(misplaced)")
        // A declaration the auditor had verified already (before the difference) explains nothing.
        let old = try declaration(at: 3)
        let oldLeaves = Array(lost.prefix(3)) + [old] + [later]
        let j = DeclaredFork.judge(
            bodies: oldLeaves.map(\.body), leaves: oldLeaves.map(GatewayLog.leaf), covered: true,
            previous: LogVerifierState(size: 5, root: [], leaves: (Array(lost.prefix(3)) + [old, lost[4]]).map(GatewayLog.leaf)),
            firstDifference: 4, origin: Self.origin, department: "HCM-DTCD", logKeys: { _ in [key.publicKey.key] })
        #expect(j == .refused(nil), "\(j)")
    }
}
