import Foundation
import GatewayCore
import GatewayStore
import Hummingbird
import SealBase
import SealCrypto

func datasetJSON(_ d: DatasetRecord) -> JSON {
    .object([
        "version": .int(Int64(d.version)), "package": .string(d.packageId), "sha256": .string(d.sha256), "size": .int(d.size),
        "members": .int(Int64(d.members)), "organizations": .int(Int64(d.organizations)), "conflicts": .int(Int64(d.conflicts)),
        "created_at": .string(d.createdAt.text), "state": .string(d.state.rawValue), "attempts": .int(Int64(d.attempts)),
        "last_error": d.lastError.map(JSON.string) ?? .null, "next_attempt_at": d.nextAttemptAt.map { .string($0.text) } ?? .null,
        "delivered_at": d.deliveredAt.map { .string($0.text) } ?? .null, "ack": d.ack.flatMap { try? JSON(parsing: $0) } ?? .null,
    ])
}

/// Synthesis, the outbox and the campaign view (admin token required).
struct DatasetRoutes {
    let data: DataDirectory
    let store: any GatewayStore
    /// The dataset key signs what synthesis seals.
    let keys: IntakeKeys
    let department: String
    /// The server's clock: a dataset is created, and the campaign's lateness decided, at its time.
    let clock: any GatewayClock

    var datasets: RouteCollection<GatewayContext> {
        RouteCollection(context: GatewayContext.self)
            .get(use: list)
            .get(":version", use: show)
            .post(use: synthesize)
    }

    var campaign: RouteCollection<GatewayContext> {
        RouteCollection(context: GatewayContext.self).get(use: campaignView)
    }

    @Sendable func list(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, [])
        try context.requireAdmin()
        let store = self.store
        return jsonResponse(.ok, JSON.array(try await store.datasets().map(datasetJSON)).canonical)
    }

    @Sendable func show(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, [])
        try context.requireAdmin()
        let v = UInt64(try Param.int(context.parameters.get("version") ?? "", "the version", in: 1...Int64.max, example: "/v1/datasets/3"))
        let store = self.store
        guard let d = try await store.dataset(version: v) else {
            throw Problem(.datasetUnknown, "no dataset version \(v)", remedy: "GET /v1/datasets lists them")
        }
        return jsonResponse(.ok, datasetJSON(d).canonical)
    }

    @Sendable func synthesize(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, [])
        try context.requireAdmin()
        let store = self.store
        let s = try await Synthesis.synthesize(data: data, store: store, keys: keys.current, department: department, clock: clock)
        let d = try await store.dataset(version: s.version)
        guard let d else { throw Problem(.storeFailure, "the dataset was not recorded", remedy: "check the gateway's log").retryAfter(30) }
        return jsonResponse(.created, datasetJSON(d).canonical)
    }

    @Sendable func campaignView(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, [])
        try context.requireAdmin()
        let store = self.store
        return jsonResponse(.ok, try await CampaignStatus.build(store: store, clock: clock).canonical)
    }
}
