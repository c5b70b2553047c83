public import Foundation
public import GatewayStore
import SealPackage

/// The campaign's deadlines (UTC instants; a package decided at or before one is on time).
public struct Campaign: Sendable, Equatable {
    public var submitBy: String
    public var synthesizeBy: String
    public var syncBy: String
    /// The seed campaign: 27 Nov, 30 Nov and 3 Dec 2026, end of day in Vietnam (UTC+7).
    public static let seed = Campaign(submitBy: "2026-11-27T16:59:59Z", synthesizeBy: "2026-11-30T16:59:59Z", syncBy: "2026-12-03T16:59:59Z")
    public init(submitBy: String, synthesizeBy: String, syncBy: String) { self.submitBy = submitBy; self.synthesizeBy = synthesizeBy; self.syncBy = syncBy }

    public var json: JSON { .object(["submit_by": .string(submitBy), "synthesize_by": .string(synthesizeBy), "sync_by": .string(syncBy)]) }

    public static func load(_ store: any GatewayStore) throws -> Campaign {
        guard let text = try store.setting("campaign"), let j = try? JSON(parsing: text) else { return .seed }
        return Campaign(submitBy: j["submit_by"]?.string ?? seed.submitBy, synthesizeBy: j["synthesize_by"]?.string ?? seed.synthesizeBy,
                        syncBy: j["sync_by"]?.string ?? seed.syncBy)
    }
}

/// The campaign view (`sealgate status`, `GET /v1/campaign`).
public enum CampaignStatus {
    public static func build(store: any GatewayStore, now: Date = Date()) throws -> JSON {
        let campaign = try Campaign.load(store)
        let nowText = PackageIdentifiers.timestamp(unixSeconds: Int(now.timeIntervalSince1970))
        let rows = try store.campaignRows()
        var clean = 0, warned = 0, rejectedOnly = 0, missing = 0, late: [JSON] = []
        var units: [JSON] = []
        for r in rows {
            let receipt = r.currentReceipt.flatMap { try? JSON(parsing: $0) }
            let warnings = receipt?["validation"]?["warnings"]?.int ?? 0
            let state: String
            if r.firstAcceptedAt != nil { state = warnings > 0 ? "accepted_with_warnings" : "accepted_clean"; if warnings > 0 { warned += 1 } else { clean += 1 } }
            else if r.rejected > 0 { state = "rejected"; rejectedOnly += 1 }
            else { state = "missing"; missing += 1 }
            let isLate = r.firstAcceptedAt.map { $0 > campaign.submitBy } ?? (nowText > campaign.submitBy)
            if isLate { late.append(.string(r.unitId)) }
            units.append(.object(["unit": .string(r.unitId), "name": .string(r.name), "state": .string(state), "members": .int(Int64(r.members)),
                                  "completeness": receipt?["validation"]?["completeness"] ?? .null, "warnings": .int(warnings),
                                  "rejected_packages": .int(Int64(r.rejected)), "first_accepted_at": r.firstAcceptedAt.map(JSON.string) ?? .null,
                                  "late": .bool(isLate)]))
        }
        let datasets = try store.datasets()
        let last: JSON = datasets.last.map { d in
            .object(["version": .int(Int64(d.version)), "package": .string(d.packageId), "state": .string(d.state), "attempts": .int(Int64(d.attempts)),
                     "members": .int(Int64(d.members)), "conflicts": .int(Int64(d.conflicts)), "created_at": .string(d.createdAt),
                     "last_error": d.lastError.map(JSON.string) ?? .null, "delivered_at": d.deliveredAt.map(JSON.string) ?? .null,
                     "synthesized_late": .bool(d.createdAt > campaign.synthesizeBy),
                     "delivered_late": d.deliveredAt.map { .bool($0 > campaign.syncBy) } ?? .bool(nowText > campaign.syncBy)])
        } ?? .null
        return .object(["format": .string("sealgate-campaign/1"), "now": .string(nowText), "campaign": campaign.json,
                        "units": .object(["registered": .int(Int64(rows.count)), "submitted": .int(Int64(clean + warned)),
                                          "accepted_clean": .int(Int64(clean)), "accepted_with_warnings": .int(Int64(warned)),
                                          "rejected": .int(Int64(rejectedOnly)), "missing": .int(Int64(missing)), "late": .array(late)]),
                        "per_unit": .array(units), "last_dataset": last])
    }
}
