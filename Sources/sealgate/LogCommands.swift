import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
import SealBase
import SealCrypto
import SealPackage
import TransparencyLog

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "The gateway's transparency log.", subcommands: [VerifyLog.self, DeclareFork.self, BenchLog.self])

    struct VerifyLog: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the gateway's log: the checkpoint's signature, every entry against it, and consistency with the last run.",
            discussion:
                "Fetches the signed checkpoint (verified with the log key of the trust document), downloads every entry, recomputes the RFC 6962 tree, and, with --state, checks that the log only grew since the checkpoint kept there (a consistency proof) and names the first entry that changed. The state file is updated when everything checks out. A fork the department declared over the checkpoint kept is shown and refused (log_fork_declared) until the auditor, having read it, runs again with --accept-fork N (N: the declaration's entry); the state kept until then is saved beside the state file as STATE.before-fork-N.json."
        )
        @Option(name: .long, help: "Gateway URL.") var gateway: String
        @Option(name: .long, help: "The trust document (for the log key).") var trust: String
        @Option(name: .long, help: "Where the last accepted checkpoint and leaf hashes are kept.") var state: String?
        @Option(
            name: .long,
            help: "Go on from the fork declared at this log entry (shown by the run that refused it with log_fork_declared); needs --state.")
        var acceptFork: Int?
        @OptionGroup var client: ClientOptions
        @OptionGroup var out: OutputOptions

        /// An auditor's words for the codes whose common hint is the department's.
        static let auditorHints: Hints = [
            .en: [
                .logFork:
                    "keep the --state file as evidence; `sealgate log verify --gateway URL --trust trust.json --state NEW.json` audits the log from now on"
            ],
            .vi: [
                .logFork:
                    "giữ tệp --state làm bằng chứng; từ nay kiểm tra nhật ký bằng `sealgate log verify --gateway URL --trust trust.json --state MỚI.json`"
            ],
        ]

        func run() async throws {
            try await runAsync(json: out.json, hints: Self.auditorHints) {
                try checkServerURL(gateway, what: "--gateway URL")
                if acceptFork != nil, state == nil {
                    throw SealError(
                        .usage, "--accept-fork goes on from a fork declared over the checkpoint kept in a --state file, and no --state was given",
                        remedy: "give the --state file whose checkpoint the declaration abandons")
                }
                return try await GatewayClient.withClient(try client.settings(maxResponseBytes: 64 << 20)) { http in
                    let doc = try loadTrust(trust)
                    // The active log key, a pending one, or a rotated one still in its grace now.
                    let logKeys = doc.verifyingKeys("log", signedAt: Timestamp.now)
                    let name = "\(doc.department)/log"
                    let base = gateway.trimmingSlash
                    // The state file as it was read: kept as evidence when a declared fork is accepted.
                    let previousText = try state.flatMap {
                        FileManager.default.fileExists(atPath: $0) ? try String(contentsOfFile: $0, encoding: .utf8) : nil
                    }
                    let previous = try previousText.map { try LogVerifierState(text: $0) }

                    let cpResponse = try await http.send("GET", base + "/v1/log/checkpoint")
                    let checkpoint: Checkpoint?
                    var refusal: String?
                    if cpResponse.status == 200 {
                        guard let cp = logKeys.lazy.compactMap({ try? Checkpoint.verify(note: cpResponse.text, name: name, publicKey: $0.key) }).first
                        else {
                            throw GatewayError(
                                .checkpointInvalid, "the gateway's checkpoint is not signed by a log key of trust document version \(doc.version)",
                                remedy:
                                    "fetch the trust document again (`sealgate trust fetch`): the log key may have been rotated; if it still fails, do not trust this log"
                            )
                        }
                        checkpoint = cp
                    } else {
                        checkpoint = nil
                        refusal = (try? JSON(parsing: cpResponse.text))?["detail"]?.string ?? "HTTP \(cpResponse.status)"
                    }
                    let size = checkpoint?.size ?? previous?.size ?? 0
                    // The entries as C2SP tlog-tiles serves them: bundles of 256 (the last partial).
                    // Every hash tile the gateway serves must be the one these entries make (what a
                    // witness reading only tiles would trust): each full tile as it completes (level 0
                    // only past what --state already verified), the partial ones at the end.
                    var bodies: [String] = []
                    var leaves: [Merkle.Hash] = []
                    var tree = TiledTree()
                    let checkedBefore = Int64((previous?.size ?? 0) / TlogTile.width)
                    // Compared once the entries are judged (an entry changed since --state is named first).
                    var toCompare: [(level: Int, index: Int64, hashes: [Merkle.Hash])] = []
                    func compare(_ level: Int, _ index: Int64, _ expected: [Merkle.Hash]) async throws {
                        let path = TlogTile.path(.hashes(level: level, index: index, width: expected.count))
                        let r = try await http.send("GET", base + "/v1/log/" + path)
                        guard r.status == 200, r.body == Array(expected.joined()) else {
                            throw SealError(
                                .logMismatch, "the gateway's \(path) (HTTP \(r.status)) is not the tile its entries make",
                                remedy: "the log serves tiles that disagree with its entries: report it")
                        }
                    }
                    while leaves.count < size {
                        let n = Int64(leaves.count / TlogTile.width)
                        let width = min(TlogTile.width, size - leaves.count)
                        let path = TlogTile.path(.entries(index: n, width: width))
                        let r = try await http.send("GET", base + "/v1/log/" + path)
                        guard r.status == 200, let items = TlogTile.unbundle(r.body), items.count == width else {
                            throw SealError(
                                .logMismatch,
                                "the gateway served \(leaves.count) entries of the \(size) its checkpoint covers (\(path): HTTP \(r.status))",
                                remedy: r.status == 404
                                    ? "the gateway may predate the log's tiles (C2SP tlog-tiles, /v1/log/tile/…): ask the department to update it"
                                    : "the log is incomplete; report it")
                        }
                        let hasher = Merkle.Hasher()
                        let made = items.map { hasher.leaf($0) }
                        bodies += items.map { String(decoding: $0, as: UTF8.self) }
                        leaves += made
                        for t in tree.append(contentsOf: made) where t.id.level > 0 || t.id.index >= checkedBefore {
                            toCompare.append((t.id.level, t.id.index, t.hashes))
                        }
                    }
                    var level = 0
                    while level * TlogTile.height < 63, size >> (level * TlogTile.height) > 0 {
                        let partial = tree.partialTile(level: level)
                        if !partial.isEmpty { toCompare.append((level, Int64((size >> (level * TlogTile.height)) / TlogTile.width), partial)) }
                        level += 1
                    }
                    let root = try tree.root()
                    var declared: DeclaredFork?
                    if let previous, let i = (0..<min(previous.size, leaves.count)).first(where: { leaves[$0] != previous.leaves[$0] }) {
                        // A history that goes another way from entry i on. Declared to this auditor
                        // (a store restored from an older copy): a signed statement that abandons the
                        // checkpoint it holds, and the log goes on from there.
                        switch DeclaredFork.judge(
                            bodies: bodies, leaves: leaves, covered: checkpoint.map { $0.root == root } ?? false, previous: previous,
                            firstDifference: i, origin: name, department: doc.department,
                            logKeys: { at in (logKeys + doc.verifyingKeys("log", signedAt: at)).map(\.key) })
                        {
                        case .accepted(let fork):
                            // The declaration needs only the log key, which the gateway holds: the auditor
                            // reads it and decides; the state moves on only with --accept-fork naming it.
                            guard acceptFork == fork.index else {
                                // Shown with --json too (on stderr, as the error's own lines): the auditor decides on it.
                                tellDeclared(fork, size: checkpoint?.size ?? leaves.count)
                                let told =
                                    "the department declared lost the checkpoint you hold (\(fork.lostSize) entries) in log entry \(fork.index), on \(fork.declaredAt): the log goes on from its first \(fork.continuesAt) entries, without the \(fork.lostSize - fork.continuesAt) you verified after them"
                                throw SealError(
                                    .logForkDeclared,
                                    acceptFork.map { "--accept-fork \($0) names another entry than the declaration (entry \(fork.index)); \(told)" }
                                        ?? told,
                                    remedy:
                                        "read the declaration shown (when, why, what was lost) and ask the department if in doubt; to follow the log from there, run again with --accept-fork \(fork.index) (the state kept now is saved beside \(state ?? "the state file") as evidence); until then \(state ?? "the state file") stays as it is"
                                )
                            }
                            declared = fork
                        case .refused(let why?):
                            throw SealError(
                                .logFork,
                                "the log forked after entry \(i), and no fork declared in it lets you go on: \(DeclaredFork.shown(why, limit: 400))",
                                remedy:
                                    "the entries you verified from \(i) on are not in the log as it is now: keep \(state ?? "the state file") as evidence and ask the department which checkpoint its declaration abandons; to audit the log from now on, verify it with a new --state file (a first run trusts the log as it is)"
                            )
                        case .refused(nil):
                            throw SealError(
                                .logMismatch, "log entry \(i) (\(Self.kind(bodies[i]))) changed since it was verified",
                                remedy: "the gateway's history was rewritten: keep \(state ?? "the state file") as evidence and report it")
                        }
                    }
                    for t in toCompare { try await compare(t.level, t.index, t.hashes) }
                    guard let checkpoint else {
                        throw SealError(
                            .logInconsistent, "the gateway did not give a checkpoint: \(refusal ?? "")", remedy: "report it to the department")
                    }
                    guard root == checkpoint.root else {
                        throw SealError(
                            .logMismatch, "the \(size) entries served do not hash to the signed checkpoint's root",
                            remedy: "the log was altered; run again with --state from an earlier run to name the entry, and report it")
                    }
                    if let previous, declared == nil {
                        guard checkpoint.size >= previous.size else {
                            throw SealError(
                                .logFork, "the log shrank from \(previous.size) to \(checkpoint.size) entries",
                                remedy: "the gateway rolled back or forked its history: report it")
                        }
                        if checkpoint.size > previous.size {
                            let r = try await http.send("GET", base + "/v1/log/proof/consistency?from=\(previous.size)&to=\(checkpoint.size)")
                            let proof = ((try? JSON(parsing: r.text))?["proof"]?.array ?? []).compactMap {
                                $0.string.flatMap { Base64.decode($0, padded: true) }
                            }
                            guard
                                Merkle.verifyConsistency(
                                    size1: previous.size, size2: checkpoint.size, proof: proof, root1: previous.root, root2: checkpoint.root)
                            else {
                                throw SealError(
                                    .logFork, "checkpoint \(checkpoint.size) is not an extension of the one verified before (\(previous.size))",
                                    remedy: "the gateway forked its history: keep both checkpoints as evidence and report it")
                            }
                        } else if previous.root != checkpoint.root {
                            throw SealError(
                                .logFork, "two different logs of \(checkpoint.size) entries", remedy: "the gateway forked its history: report it")
                        }
                    }
                    if let n = acceptFork, declared == nil {
                        // A standing --accept-fork (a scheduled run never edited back) would accept a later
                        // declaration at that entry unread: it is for the one run that follows a declaration.
                        throw SealError(
                            .usage,
                            "--accept-fork \(n): the log holds no fork declared over the checkpoint kept in \(state ?? "the state file"); there is nothing to accept",
                            remedy: "run without --accept-fork: it is given once, for the run that follows a declaration")
                    }
                    if let state, let f = declared, let previousText {
                        try keepEvidence(previousText, of: state, fork: f.index)
                    }
                    if let state {
                        try LogVerifierState(size: checkpoint.size, root: root, leaves: leaves).text.write(
                            toFile: state, atomically: true, encoding: .utf8)
                    }
                    if !out.json {
                        if let f = declared {
                            tellDeclared(f, size: checkpoint.size)
                            say("the state you held is kept in \(Self.evidencePath(state ?? "", fork: f.index))")
                        }
                        say(
                            "log verified: \(checkpoint.size) entries, root \(Base64.encode(root))"
                                + (declared.map { ", going on from the fork declared at entry \($0.index)" }
                                    ?? previous.map { ", consistent with the \($0.size) verified before" } ?? ""))
                    }
                    var result: [String: Any] = ["size": checkpoint.size, "root": Base64.encode(root), "previous": previous?.size as Any]
                    if let f = declared {
                        result["declared_fork"] = [
                            "entry": f.index, "declared_at": f.declaredAt, "reason": f.reason, "lost_size": f.lostSize,
                            "lost_root": Base64.encode(f.lostRoot), "continues_at": f.continuesAt,
                            "previous_state": Self.evidencePath(state ?? "", fork: f.index),
                        ]
                    }
                    return result
                }
            }
        }

        /// What an entry says it is (its body's `kind`; the tree covers only the body).
        static func kind(_ body: String) -> String {
            ((try? JSON(parsing: body))?["kind"]?.string).map { String($0.prefix(40)) } ?? "an entry"
        }

        /// What was declared, as the auditor reads it (the department's words through `shown`).
        func tellDeclared(_ f: DeclaredFork, size: Int) {
            say(
                "declared fork: on \(f.declaredAt) the department declared lost the log of \(f.lostSize) entries (root \(Base64.encode(f.lostRoot))), the checkpoint you held; reason: \(DeclaredFork.shown(f.reason))"
            )
            say(
                "the log went on from its first \(f.continuesAt) entries, which you had verified (entries \(f.continuesAt) to \(f.lostSize - 1) you verified are not in it; the declaration is entry \(f.index)); it now holds \(size)"
            )
        }

        /// `STATE.before-fork-N.json` beside the state file (`log.json` → `log.before-fork-N.json`).
        static func evidencePath(_ state: String, fork: Int) -> String {
            (state.hasSuffix(".json") ? String(state.dropLast(5)) : state) + ".before-fork-\(fork).json"
        }

        /// Keeps the state held before an accepted fork (mode 0600, never replacing another file: a
        /// copy of these very bytes, left by a run that stopped before the state moved on, is fine).
        func keepEvidence(_ text: String, of state: String, fork: Int) throws {
            let path = Self.evidencePath(state, fork: fork)
            if FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.contents(atPath: path) == Data(text.utf8) else {
                    throw SealError(
                        .outputExists, "\(path) exists and holds another state than \(state)",
                        remedy: "it may be the evidence of an earlier fork: move it elsewhere, then run again")
                }
                return
            }
            let file = try DurableFile(creating: path)
            try Array(text.utf8).withUnsafeBytes { try file.append($0) }
            try file.sync()
            file.keep()
            guard chmod(path, 0o600) == 0 else { throw SealError.io("cannot set the mode of \(path)", errno: errno) }
        }
    }
}

extension LogCommand {
    struct DeclareFork: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "declare-fork",
            abstract: "Declare, in the log itself, that the entries after the restored store's last one are lost, and go on from there.",
            discussion:
                "For a store restored from a copy older than a checkpoint the gateway had signed, when no newer copy exists. A `fork_declared` entry names the lost checkpoint (its size, root and signed note), where the log goes on, and the reason; the next checkpoint, signed with the log key, covers it, and becomes the log head. An auditor whose `log verify --state` holds the abandoned checkpoint is told what was declared and refused with log_fork_declared until it accepts the fork (`--accept-fork N`, N the statement's entry); one holding an older checkpoint that covers lost entries gets log_fork (the statement does not name its checkpoint). Never run it to get past a log_inconsistent error (an altered entry): restore the store instead."
        )
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Why the entries are lost (goes into the signed log entry).") var reason: String
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var token: TokenOptions
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                guard !reason.trimmingCharacters(in: .whitespaces).isEmpty, reason.utf8.count <= 2000 else {
                    throw SealError(
                        .usage, "--reason must say why (at most 2000 bytes)", remedy: "e.g. --reason \"disk lost; restored from the 02:00 backup\"")
                }
                let dir = data.dir
                let store = try await dir.openStore()
                let (department, _) = try dir.config()
                let keys = try DepartmentKeys.load(dir, passphrase: cachedPassphrase(passphrase), pin: token.departmentPIN())
                let head = LogHead(path: dir.logHeadPath)
                guard let lost = try head.read() else {
                    throw SealError(.usage, "this data folder has no log head: there is nothing to declare", remedy: "start the gateway normally")
                }
                let log = await GatewayLog(store: store, key: keys.log, department: department)
                log.head = head
                do {
                    try await log.load()
                    throw SealError(
                        .usage, "the store's log is not behind the checkpoints this gateway signed: there is no fork to declare",
                        remedy: "start the gateway normally")
                } catch let e as SealError where e.code == .logBehind || e.code == .logFork {
                    // As expected: the store was restored behind the head.
                }
                try await log.loadIgnoringHead()
                let size = try await store.logSize()
                let at = Timestamp.now
                let statement = JSON.object([
                    "format": .string("sealgate-log/1"), "kind": .string("fork_declared"), "gateway": .string(department),
                    "lost_size": .int(Int64(lost.size)), "lost_root": .string(Base64.encode(lost.root)), "lost_checkpoint": .string(lost.note),
                    "continues_at": .int(size), "reason": .string(reason), "declared_at": .string(at.text),
                ]).canonical
                _ = try await store.appendLog(kind: .forkDeclared, body: statement, at: at)
                let note = try await log.checkpoint()
                let cp = try Checkpoint.verify(note: note, name: "\(department)/log", publicKey: keys.log.publicKey.key)
                try head.write(size: cp.size, root: cp.root, note: note)
                if !out.json {
                    say(
                        "declared: the log's entries after \(size) (of the \(lost.size) once signed) are lost; the log goes on from a checkpoint of \(cp.size) entries that covers the statement"
                    )
                    say(
                        "tell the auditors and units: a `log verify --state` that holds the abandoned checkpoint (\(lost.size) entries) reports log_fork_declared, and goes on from the statement once its auditor accepts it (--accept-fork \(size)); one that holds an older checkpoint beyond \(size) entries reports log_fork"
                    )
                }
                return ["lost_size": lost.size, "continues_at": size, "checkpoint_size": cp.size]
            }
        }
    }
}
