public import Foundation
public import GatewayStore
public import SealBase
import SealCrypto
import SealPackage

/// The review of flagged packages (packages a unit key signed after the time it was revoked as
/// compromised from): while a flag is unresolved, and once it is rejected, the records the package
/// brought stay out of datasets (`GatewayStore.datasetRecords`); the operator confirms a package
/// (the unit's own after all: its records are taken again) or rejects it, with a reason. Each
/// decision is a `flag_resolved` log entry — public, so the reason must carry no personal data.
public enum FlagReview {
    /// At most this many bytes of reason.
    public static let maxReasonBytes = 500

    /// Confirms or rejects the flagged package `packageId`, logged with `reason` in the same
    /// transaction, at the clock's time. Throws `reason_invalid`, `flag_unknown`, `flag_resolved`.
    public static func resolve(
        store: any GatewayStore, packageId: String, resolution: ReviewResolution, reason: String, clock: any GatewayClock = .system
    ) async throws -> FlaggedPackage {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        try checkReason(reason)
        guard let flag = try await store.flaggedPackages(unitId: nil).first(where: { $0.packageId == packageId }) else {
            throw GatewayError(
                .flagUnknown, "no package \(packageId.prefix(80)) is flagged for review",
                remedy: "name a package from the list of flagged packages (by its package id)")
        }
        // The unit's members' names and ids, as the store holds them: none may be in the reason.
        var held: [[String]] = try await store.currentRecords(unitId: flag.unitId)?.members ?? []
        held += try await store.datasetRecords(unitId: flag.unitId).records?.members ?? []
        try checkReason(reason, members: held)
        let at = clock.now
        do {
            return try await store.resolveFlag(packageId: packageId, resolution: resolution, reason: reason, at: at) { f in
                var o: [String: JSON] = [
                    "unit": .string(f.unitId), "package": .string(f.packageId), "seq": .int(Int64(bitPattern: f.seq)),
                    "resolution": .string(resolution.rawValue), "reason": .string(reason),
                ]
                if let k = f.keyId { o["key_id"] = .string(k) }
                return JSON.object(o).canonical
            }
        } catch let e as StoreError where e.code == .flagUnknown || e.code == .flagResolved {
            throw GatewayError(
                SealErrorCode(e.code.rawValue), e.message,
                remedy: e.code == .flagUnknown
                    ? "name a package from the list of flagged packages (by its package id)"
                    : "a flag is decided once; if the decision was wrong, ask the unit to submit a new snapshot")
        }
    }

    /// The reason goes into the public log: refused when empty, over `maxReasonBytes`, with
    /// control characters, or shaped like personal data — a run of 9 or more digits (a citizen
    /// id, a phone number; spaces and dots between digits do not break the run) or an `@` (an
    /// e-mail address). The refusal never repeats the reason.
    public static func checkReason(_ reason: String) throws {
        guard !reason.isEmpty, reason.utf8.count <= maxReasonBytes else {
            throw GatewayError(
                .reasonInvalid, "the reason must say why, in at most \(maxReasonBytes) bytes",
                remedy: "give a short reason, e.g. confirmed with the unit's secretary by telephone")
        }
        guard !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw GatewayError(
                .reasonInvalid, "the reason holds control characters", remedy: "give the reason as one line of text, without members' personal data")
        }
        var run = 0
        var longest = 0
        var separators = 0
        // Best effort, not a guarantee: digits of any script (full-width too), and one separator
        // or two (space, dot, dash, slash, parenthesis: `(091) 234`) inside a number keep the run going.
        for ch in reason {
            if ch.isWholeNumber {
                run += 1
                separators = 0
            } else if " .-/()".contains(ch), run > 0, separators < 2 {
                separators += 1
            } else {
                run = 0
                separators = 0
            }
            longest = max(longest, run)
        }
        guard longest < 9, !reason.contains("@") else {
            throw GatewayError(
                .reasonInvalid, "the reason holds what looks like personal data (an id or telephone number, or an e-mail address)",
                remedy: personalDataRemedy)
        }
    }

    /// Also refused: a reason naming one of `members` (members.csv rows) by full name, member
    /// id, citizen id, telephone or e-mail.
    public static func checkReason(_ reason: String, members: [[String]]) throws {
        // Compared without case and diacritics (a name typed without its accents still matches).
        let text = Self.folded(reason)
        for m in members {
            for i in [0, 1, 4, 9, 10] where i < m.count {
                let v = Self.folded(m[i].trimmingCharacters(in: .whitespaces))
                guard v.count >= 5, text.contains(v) else { continue }
                throw GatewayError(
                    .reasonInvalid, "the reason names a member of the unit (a name or an identifier held in its records)", remedy: personalDataRemedy)
            }
        }
    }

    /// Lower case, without diacritics (Vietnamese đ as d), for a best-effort comparison.
    static func folded(_ s: String) -> String {
        s.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).replacingOccurrences(of: "đ", with: "d")
            .replacingOccurrences(of: "Đ", with: "d")
    }

    static let personalDataRemedy =
        "the reason is published in the transparency log: say why without members' names, ids, telephone numbers or e-mail addresses"
}
