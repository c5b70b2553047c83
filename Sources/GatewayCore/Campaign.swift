public import Foundation
public import GatewayStore
public import SealBase
import SealPackage

/// The campaign's deadlines (UTC instants; a package decided at or before one is on time).
/// Each is unset until the department sets it (`sealgate init --submit-by …` or
/// `sealgate campaign set`): nobody is late against a deadline that was never set. They are kept
/// in the `campaign` setting as their texts; one stored there that is not a moment reads as unset.
public struct Campaign: Sendable, Equatable {
    public var submitBy: Timestamp?
    public var synthesizeBy: Timestamp?
    public var syncBy: Timestamp?
    public init(submitBy: Timestamp? = nil, synthesizeBy: Timestamp? = nil, syncBy: Timestamp? = nil) {
        self.submitBy = submitBy
        self.synthesizeBy = synthesizeBy
        self.syncBy = syncBy
    }

    public var isSet: Bool { submitBy != nil || synthesizeBy != nil || syncBy != nil }

    public var json: JSON {
        .object([
            "submit_by": submitBy.map { .string($0.text) } ?? .null, "synthesize_by": synthesizeBy.map { .string($0.text) } ?? .null,
            "sync_by": syncBy.map { .string($0.text) } ?? .null,
        ])
    }

    public static func load(_ store: any GatewayStore) async throws -> Campaign {
        guard let text = try await store.setting("campaign"), let j = try? JSON(parsing: text) else { return Campaign() }
        return Campaign(
            submitBy: j["submit_by"]?.string.moment, synthesizeBy: j["synthesize_by"]?.string.moment, syncBy: j["sync_by"]?.string.moment)
    }

    /// Records the deadlines (logged at the clock's time).
    public func save(_ store: any GatewayStore, clock: any GatewayClock = .system) async throws {
        try await store.setSetting("campaign", json.canonical)
        _ = try await store.appendLog(kind: .campaign, body: json.canonical, at: clock.now)
    }
}

/// The campaign view (`sealgate status`, `GET /v1/campaign`).
public enum CampaignStatus {
    /// The view at the clock's time: who is late is decided against `clock.now`.
    public static func build(store: any GatewayStore, clock: any GatewayClock = .system) async throws -> JSON {
        let campaign = try await Campaign.load(store)
        let now = clock.now
        let nowText = now.text
        // Done after a deadline, or not done and the deadline is past; never late without a deadline.
        func isLate(_ done: Timestamp?, _ deadline: Timestamp?) -> Bool {
            guard let by = deadline else { return false }
            return (done ?? now) > by
        }
        let rows = try await store.campaignRows()
        // Units whose flagged packages are unresolved or rejected: what the review holds back.
        var holds: [String: ReviewHold] = [:]
        for unit in Set(try await store.flaggedPackages(unitId: nil).filter { $0.resolution != .confirmed }.map(\.unitId)).sorted() {
            holds[unit] = try await store.reviewHold(unitId: unit)
        }
        var clean = 0
        var warned = 0
        var flagged = 0
        var reviewRejected = 0
        var rejectedOnly = 0
        var missing = 0
        var late: [JSON] = []
        var units: [JSON] = []
        for r in rows {
            let receipt = r.currentReceipt.flatMap { try? JSON(parsing: $0) }
            let warnings = receipt?["validation"]?["warnings"]?.int ?? 0
            let hold = holds[r.unitId]
            let state: String
            if let hold, !hold.unresolved.isEmpty {
                // Accepted, but packages are under review: their records are withheld from datasets.
                state = "flagged"
                flagged += 1
            } else if let hold, hold.withheld > 0 || hold.fallsBack {
                // A rejected package still holds records back until the unit submits again.
                state = "review_rejected"
                reviewRejected += 1
            } else if r.firstAcceptedAt != nil {
                state = warnings > 0 ? "accepted_with_warnings" : "accepted_clean"
                if warnings > 0 { warned += 1 } else { clean += 1 }
            } else if r.rejected > 0 {
                state = "rejected"
                rejectedOnly += 1
            } else {
                state = "missing"
                missing += 1
            }
            let unitLate = isLate(r.firstAcceptedAt, campaign.submitBy)
            if unitLate { late.append(.string(r.unitId)) }
            units.append(
                .object([
                    "unit": .string(r.unitId), "name": .string(r.name), "state": .string(state), "members": .int(Int64(r.members)),
                    "completeness": receipt?["validation"]?["completeness"] ?? .null, "warnings": .int(warnings),
                    "rejected_packages": .int(Int64(r.rejected)), "first_accepted_at": r.firstAcceptedAt.map { .string($0.text) } ?? .null,
                    "late": .bool(unitLate), "review": hold.map(reviewJSON) ?? .null,
                ]))
        }
        let datasets = try await store.datasets()
        let last: JSON =
            datasets.last.map { d in
                .object([
                    "version": .int(Int64(d.version)), "package": .string(d.packageId), "state": .string(d.state.rawValue),
                    "attempts": .int(Int64(d.attempts)),
                    "members": .int(Int64(d.members)), "conflicts": .int(Int64(d.conflicts)), "created_at": .string(d.createdAt.text),
                    "last_error": d.lastError.map(JSON.string) ?? .null, "delivered_at": d.deliveredAt.map { .string($0.text) } ?? .null,
                    "synthesized_late": .bool(isLate(d.createdAt, campaign.synthesizeBy)),
                    "delivered_late": .bool(isLate(d.deliveredAt, campaign.syncBy)),
                ])
            } ?? .null
        // Why units are late, or why nobody is: said, not left to guess.
        let deadlines: String
        if !campaign.isSet {
            deadlines = "unset"
        } else if let by = campaign.submitBy, now > by {
            deadlines = "submission_closed"
        } else {
            deadlines = "open"
        }
        return .object([
            "format": .string("sealgate-campaign/1"), "now": .string(nowText), "campaign": campaign.json, "deadlines": .string(deadlines),
            "units": .object([
                "registered": .int(Int64(rows.count)), "submitted": .int(Int64(clean + warned + flagged + reviewRejected)),
                "accepted_clean": .int(Int64(clean)), "accepted_with_warnings": .int(Int64(warned)),
                "flagged": .int(Int64(flagged)), "review_rejected": .int(Int64(reviewRejected)),
                "rejected": .int(Int64(rejectedOnly)), "missing": .int(Int64(missing)), "late": .array(late),
            ]),
            "per_unit": .array(units), "last_dataset": last,
        ])
    }

    /// A unit's review in the campaign view: packages unresolved and rejected, the records they
    /// hold back, and the snapshot datasets take (null: none).
    static func reviewJSON(_ h: ReviewHold) -> JSON {
        .object([
            "unresolved": .int(Int64(h.unresolved.count)), "rejected": .int(Int64(h.held.count - h.unresolved.count)),
            "withheld": .int(Int64(h.withheld)), "dataset_package": h.datasetPackage.map(JSON.string) ?? .null,
            "members_in_dataset": .int(Int64(h.datasetMembers)),
            "packages": .array(
                h.held.map { p in
                    .object([
                        "package": .string(p.flag.packageId), "seq": .int(Int64(bitPattern: p.flag.seq)),
                        "resolution": .string(p.flag.resolution?.rawValue ?? "unresolved"), "withheld": .int(Int64(p.withheld)),
                    ])
                }),
        ])
    }
}
