public import Foundation
public import GatewayStore
import SealPackage

/// The campaign's deadlines (UTC instants; a package decided at or before one is on time).
/// Each is unset until the department sets it (`sealgate init --submit-by …` or
/// `sealgate campaign set`): nobody is late against a deadline that was never set.
public struct Campaign: Sendable, Equatable {
    public var submitBy: String?
    public var synthesizeBy: String?
    public var syncBy: String?
    public init(submitBy: String? = nil, synthesizeBy: String? = nil, syncBy: String? = nil) {
        self.submitBy = submitBy
        self.synthesizeBy = synthesizeBy
        self.syncBy = syncBy
    }

    public var isSet: Bool { submitBy != nil || synthesizeBy != nil || syncBy != nil }

    public var json: JSON {
        .object([
            "submit_by": submitBy.map(JSON.string) ?? .null, "synthesize_by": synthesizeBy.map(JSON.string) ?? .null,
            "sync_by": syncBy.map(JSON.string) ?? .null,
        ])
    }

    public static func load(_ store: any GatewayStore) async throws -> Campaign {
        guard let text = try await store.setting("campaign"), let j = try? JSON(parsing: text) else { return Campaign() }
        return Campaign(submitBy: j["submit_by"]?.string, synthesizeBy: j["synthesize_by"]?.string, syncBy: j["sync_by"]?.string)
    }

    /// Records the deadlines (logged).
    public func save(_ store: any GatewayStore) async throws {
        try await store.setSetting("campaign", json.canonical)
        _ = try await store.appendLog(
            kind: "campaign", body: json.canonical, at: PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970)))
    }
}

/// The campaign view (`sealgate status`, `GET /v1/campaign`).
public enum CampaignStatus {
    public static func build(store: any GatewayStore, now date: Date = Date()) async throws -> JSON {
        let campaign = try await Campaign.load(store)
        let now = Timestamp(unixSeconds: Int64(date.timeIntervalSince1970))
        let nowText = now.text
        // Done after a deadline, or not done and the deadline is past; never late without a deadline.
        func isLate(_ done: String?, _ deadline: String?) -> Bool {
            guard let by = deadline.moment else { return false }
            return (done.map { $0.moment ?? now } ?? now) > by
        }
        let rows = try await store.campaignRows()
        var clean = 0
        var warned = 0
        var rejectedOnly = 0
        var missing = 0
        var late: [JSON] = []
        var units: [JSON] = []
        for r in rows {
            let receipt = r.currentReceipt.flatMap { try? JSON(parsing: $0) }
            let warnings = receipt?["validation"]?["warnings"]?.int ?? 0
            let state: String
            if r.firstAcceptedAt != nil {
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
                    "rejected_packages": .int(Int64(r.rejected)), "first_accepted_at": r.firstAcceptedAt.map(JSON.string) ?? .null,
                    "late": .bool(unitLate),
                ]))
        }
        let datasets = try await store.datasets()
        let last: JSON =
            datasets.last.map { d in
                .object([
                    "version": .int(Int64(d.version)), "package": .string(d.packageId), "state": .string(d.state.rawValue),
                    "attempts": .int(Int64(d.attempts)),
                    "members": .int(Int64(d.members)), "conflicts": .int(Int64(d.conflicts)), "created_at": .string(d.createdAt),
                    "last_error": d.lastError.map(JSON.string) ?? .null, "delivered_at": d.deliveredAt.map(JSON.string) ?? .null,
                    "synthesized_late": .bool(isLate(d.createdAt, campaign.synthesizeBy)),
                    "delivered_late": .bool(isLate(d.deliveredAt, campaign.syncBy)),
                ])
            } ?? .null
        // Why units are late, or why nobody is: said, not left to guess.
        let deadlines: String
        if !campaign.isSet {
            deadlines = "unset"
        } else if let by = campaign.submitBy.moment, now > by {
            deadlines = "submission_closed"
        } else {
            deadlines = "open"
        }
        return .object([
            "format": .string("sealgate-campaign/1"), "now": .string(nowText), "campaign": campaign.json, "deadlines": .string(deadlines),
            "units": .object([
                "registered": .int(Int64(rows.count)), "submitted": .int(Int64(clean + warned)),
                "accepted_clean": .int(Int64(clean)), "accepted_with_warnings": .int(Int64(warned)),
                "rejected": .int(Int64(rejectedOnly)), "missing": .int(Int64(missing)), "late": .array(late),
            ]),
            "per_unit": .array(units), "last_dataset": last,
        ])
    }
}
