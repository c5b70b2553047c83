public import GatewayStore
public import SealBase
import SealCrypto
public import TransparencyLog

/// A fork the department declared in its log (`sealgate log declare-fork`: a `fork_declared`
/// entry), as an auditor holding a checkpoint of the abandoned history reads it.
///
/// The declaration is the log key's word twice over: its entry is covered by the checkpoint the
/// gateway signs now, and it carries the abandoned checkpoint's own signed note. An auditor goes
/// on from it only when it abandons exactly the checkpoint the auditor holds (size and root),
/// the log as served keeps the auditor's entries up to where the declaration says it goes on,
/// and the declaration is that point's entry. Anything else is a fork nobody declared to this
/// auditor.
public struct DeclaredFork: Sendable, Equatable {
    /// The declaration's entry: the first of the history that goes on (`continuesAt`).
    public let index: Int
    /// The abandoned checkpoint (the auditor's).
    public let lostSize: Int
    public let lostRoot: Merkle.Hash
    /// How many entries of the abandoned history the log kept.
    public let continuesAt: Int
    /// Why, as the department wrote it (shown through `shown`: it is the operator's text).
    public let reason: String
    public let declaredAt: Timestamp

    public enum Judgement: Sendable, Equatable {
        case accepted(DeclaredFork)
        /// Why no declaration lets the auditor go on; nil when the log holds none at all.
        case refused(String?)
    }

    /// Judges the log as served against the checkpoint an auditor holds (`previous`).
    ///
    /// - `bodies`, `leaves`: the log's entries as served (their bodies) and their leaf hashes; `covered` says whether they
    ///   hash to the root of a checkpoint signed by a log key of the trust document.
    /// - `firstDifference`: the first entry whose leaf differs from the one the auditor verified.
    /// - `logKeys`: the log keys that may have signed a checkpoint at a given moment (the
    ///   abandoned checkpoint was signed before the declaration).
    public static func judge(
        bodies: [String], leaves: [Merkle.Hash], covered: Bool, previous: LogVerifierState, firstDifference: Int, origin: String,
        department: String, logKeys: (Timestamp) -> [[UInt8]]
    ) -> Judgement {
        // Only a declaration the auditor has not verified can explain the difference (one before
        // it is history both sides share). The entry's `kind` field is not covered by the tree
        // (only its body is): the body says what it is.
        let declarations = bodies.indices.filter { $0 >= firstDifference }.compactMap { i -> (Int, JSON)? in
            guard bodies[i].contains("fork_declared"), let j = try? JSON(parsing: bodies[i]), j["kind"]?.string == "fork_declared"
            else { return nil }
            return (i, j)
        }
        guard !declarations.isEmpty else { return .refused(nil) }
        guard covered else {
            return .refused("the entries served do not hash to the checkpoint the log key signed, so no declaration among them is the log's")
        }
        var refusals: [(namesYours: Bool, why: String)] = []
        for (i, j) in declarations {
            guard j["format"]?.string == "sealgate-log/1", j["gateway"]?.string == department,
                let lostSize = j["lost_size"]?.int, let lostRoot = j["lost_root"]?.string.flatMap({ Base64.decode($0, padded: true) }),
                let continuesAt = j["continues_at"]?.int, let note = j["lost_checkpoint"]?.string,
                let reason = j["reason"]?.string, let declaredAt = j["declared_at"]?.string?.moment
            else {
                refusals.append((false, "the declaration at entry \(i) is not a well-formed fork_declared statement of \(department)"))
                continue
            }
            guard Int(lostSize) == previous.size, lostRoot == previous.root else {
                refusals.append(
                    (
                        false,
                        "the declaration at entry \(i) abandons a checkpoint of \(lostSize) entries (root \(Base64.encode(lostRoot))), not the one you hold (\(previous.size) entries, root \(Base64.encode(previous.root)))"
                    ))
                continue
            }
            // The declaration opens the history that goes on, right where it differs from the
            // auditor's: everything before it is what the auditor verified.
            guard continuesAt == Int64(i), i == firstDifference, i < previous.size else {
                refusals.append(
                    (
                        true,
                        "the declaration at entry \(i) says the log goes on from \(continuesAt) entries, but the log served differs from the one you verified at entry \(firstDifference)"
                    ))
                continue
            }
            let signed = logKeys(declaredAt).lazy.compactMap { try? Checkpoint.verify(note: note, name: origin, publicKey: $0) }.first
            guard let signed, signed.size == previous.size, signed.root == previous.root else {
                refusals.append(
                    (
                        true,
                        "the declaration at entry \(i) names your checkpoint, but its signed note of it \(signed == nil ? "does not verify with a log key of the trust document" : "is of another checkpoint")"
                    ))
                continue
            }
            return .accepted(
                DeclaredFork(
                    index: i, lostSize: previous.size, lostRoot: previous.root, continuesAt: i, reason: reason, declaredAt: declaredAt))
        }
        return .refused((refusals.first { $0.namesYours } ?? refusals[0]).why)
    }

    /// Text from the log (an operator's reason) fit to print: control characters (a terminal's
    /// escape sequences, line breaks) shown as `�`, at most `limit` characters (`TerminalText`).
    public static func shown(_ text: String, limit: Int = 200) -> String { TerminalText.shown(text, limit: limit) }
}
