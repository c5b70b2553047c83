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

/// The campaign view as JSON (`GET /v1/campaign`, `sealgate status --json`): `CampaignView`'s
/// document, built once for every reader.
public enum CampaignStatus {
    /// The view at the clock's time: who is late is decided against `clock.now`.
    public static func build(store: any GatewayStore, clock: any GatewayClock = .system) async throws -> JSON {
        try await CampaignView.build(store: store, clock: clock).json
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
