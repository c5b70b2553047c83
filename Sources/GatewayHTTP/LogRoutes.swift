import Foundation
import GatewayCore
import GatewayStore
import Hummingbird
import SealBase
import SealCrypto
import Synchronization
import TransparencyLog

/// The transparency log, public: the signed checkpoint, entries by page, proofs. Every answer
/// costs O(log n) or one page: nothing reads the whole log.
struct LogRoutes {
    let log: GatewayLog
    /// Reloaded before a checkpoint is signed: a log key rotated meanwhile signs it.
    let keys: IntakeKeys
    let store: any GatewayStore
    /// Entries a page holds at most (docs/api.md).
    static let pageSize: Int64 = 1000

    var routes: RouteCollection<GatewayContext> {
        RouteCollection(context: GatewayContext.self)
            .get("checkpoint", use: checkpoint)
            .get("entries", use: entries)
            .get("proof/inclusion", use: inclusion)
            .get("proof/consistency", use: consistency)
            .get("tile/**", use: tile)
    }

    /// C2SP tlog-tiles (docs/api.md "The log as tiles"): `tile/<L>/<N>[.p/<W>]` (hashes) and
    /// `tile/entries/<N>[.p/<W>]` (entry bundles), immutable once served. A tile the log does not
    /// hold (yet), or a path that is not the layout's one spelling, is 404.
    @Sendable func tile(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, [])
        let elements = context.parameters.getCatchAll()
        // The router drops a trailing slash; the layout's spelling has none.
        guard !request.uri.path.hasSuffix("/"), let resource = TlogTile.parse(elements) else {
            throw Problem(
                .notFound, "no such tile", remedy: "ask for tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>] as c2sp.org/tlog-tiles spells them")
        }
        let log = self.log
        let bytes: [UInt8]?
        switch resource {
        case .hashes(let level, let index, let width): bytes = try await log.tile(level: level, index: index, width: width)
        case .entries(let index, let width): bytes = try await log.entryBundle(index: index, width: width)
        }
        guard let bytes else {
            throw Problem(
                .notFound, "the log holds no \(TlogTile.path(resource)) yet",
                remedy: "fetch /v1/log/checkpoint and ask only for the tiles its size needs")
        }
        var headers = HTTPFields()
        headers[.contentType] = "application/octet-stream"
        // The bytes at a tile's path never change (the tree only grows): caches may keep them.
        headers[.cacheControl] = "public, max-age=31536000, immutable"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    @Sendable func checkpoint(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, [])
        let (log, keys) = (self.log, self.keys)
        // A log key rotated since the last package signs from now on.
        try await keys.refresh()
        let note = try await log.checkpoint()
        var r = jsonResponse(.ok, note, contentType: "text/plain; charset=utf-8")
        // The log's head moves: kept by a cache for a few seconds at most (tlog-tiles).
        r.headers[.cacheControl] = "public, max-age=5"
        return r
    }

    @Sendable func entries(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, ["start", "end"])
        let store = self.store
        let size = try await store.logSize()
        let start = try Param.int(request, "start", in: 0...size, fallback: 0, example: "start=0&end=1000")
        let end = try Param.int(request, "end", in: start...size, fallback: size, example: "start=0&end=1000")
        let last = min(end, start.addingReportingOverflow(Self.pageSize).overflow ? Int64.max : start + Self.pageSize)
        let entries = try await store.logEntries(start: start, end: last)
        return jsonResponse(
            .ok,
            JSON.array(
                entries.map {
                    .object([
                        "index": .int($0.index), "kind": .string($0.kind.rawValue), "body": .string($0.body),
                        "created_at": .string($0.createdAt.text),
                    ])
                }
            ).canonical)
    }

    @Sendable func inclusion(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, ["leaf", "size"])
        let leaf = try Param.int(request, "leaf", in: 0...Int64.max, fallback: nil, example: "leaf=3&size=7")
        let size = try Param.int(request, "size", in: 1...Int64.max, fallback: nil, example: "leaf=3&size=7")
        let log = self.log
        let proof = try await log.inclusionProof(leaf: leaf, size: size)
        return jsonResponse(
            .ok, JSON.object(["leaf": .int(leaf), "size": .int(size), "proof": .array(proof.map { .string(Base64.encode($0)) })]).canonical)
    }

    @Sendable func consistency(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, ["from", "to"])
        let from = try Param.int(request, "from", in: 1...Int64.max, fallback: nil, example: "from=4&to=7")
        let to = try Param.int(request, "to", in: 1...Int64.max, fallback: nil, example: "from=4&to=7")
        let log = self.log
        let proof = try await log.consistencyProof(from: from, to: to)
        return jsonResponse(
            .ok, JSON.object(["from": .int(from), "to": .int(to), "proof": .array(proof.map { .string(Base64.encode($0)) })]).canonical)
    }
}

/// Trust documents (public) and the process's health.
struct TrustRoutes {
    let store: any GatewayStore

    var routes: RouteCollection<GatewayContext> {
        RouteCollection(context: GatewayContext.self).get(use: trust)
    }

    /// The latest trust document, or ?version=N (units walk versions across a root rotation).
    @Sendable func trust(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, ["version"])
        let version: Int64? =
            request.uri.queryParameters.has("version")
            ? try Param.int(request, "version", in: 1...Int64.max, fallback: nil, example: "version=3") : nil
        let store = self.store
        let found: TrustRecord?
        if let version { found = try await store.trust(version: UInt64(version)) } else { found = try await store.latestTrust() }
        guard let t = found else {
            if let version {
                throw Problem(.trustMissing, "no trust document version \(version)", remedy: "GET /v1/trust for the latest")
            }
            throw Problem(.trustMissing, "no trust document published", remedy: "run `sealgate init` on the gateway")
        }
        var r = jsonResponse(.ok, t.body)
        r.headers[.init("Sealgate-Signature")!] = Base64.encode(Array(t.signature.utf8))
        if let cross = t.rootCrossSignature { r.headers[.init("Sealgate-Root-Signature")!] = Base64.encode(Array(cross.utf8)) }
        return r
    }
}

struct HealthRoutes {
    /// Whose spool's pending bodies are counted.
    let data: DataDirectory
    let store: any GatewayStore
    let leases: [LeaseKeeper]
    let metrics: GatewayMetrics
    /// Where the scrape-time figures are read.
    let source: MetricsSource
    let rounds: ServiceRounds

    func add(to router: Router<GatewayContext>) {
        router.get("healthz", use: health)
        router.get("metrics", use: metricsText)
    }

    /// 503 while the store cannot be read: a load balancer takes the process out of rotation.
    /// Says nothing of where the store or the data folder is.
    @Sendable func health(_ request: Request, _ context: GatewayContext) async throws -> Response {
        let store = self.store
        let data = self.data
        let pending = try? await store.pendingSpool().filter { data.resolve(spoolPath: $0.path).hasPrefix(data.spoolPath + "/") }.count
        let kind = store.location.hasPrefix("postgres") ? "postgresql" : "sqlite"
        return jsonResponse(
            pending == nil ? .serviceUnavailable : .ok,
            JSON.object([
                "status": .string(pending == nil ? "store_unavailable" : "ok"), "pending": .int(Int64(pending ?? -1)),
                "store": .string(kind), "node": data.node.map(JSON.string) ?? .null,
                "leases": .array(leases.filter(\.held).map { .string($0.name) }),
                "rounds": .object(rounds.snapshot.mapValues { .int(Int64($0)) }),
            ]).canonical)
    }

    /// Prometheus text (admin token; without one on `serve --metrics-listen`'s own listener):
    /// `GatewayMetrics`, docs/operations.md "Metrics".
    @Sendable func metricsText(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try context.requireAdmin()
        return metricsResponse(await metrics.render(source))
    }
}
