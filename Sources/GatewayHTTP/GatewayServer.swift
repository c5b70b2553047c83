import Dashboard
public import Foundation
public import GatewayCore
public import GatewayStore
public import Hummingbird
public import Logging
import SealBase
import SealCrypto
import SealPackage
import ServiceLifecycle

/// Server settings; every limit has a default and a flag on `sealgate serve`.
public struct GatewayServerConfig: Sendable {
    /// Address, TLS, connection limits and slow-client limits.
    public var listen = ListenSettings()
    /// Largest package body accepted (413 above).
    public var maxBodyBytes = 256 << 20
    /// Intakes opened and validated at once (threads of the intake's pool, `serve --max-concurrent`); more wait their turn.
    public var maxConcurrentIntakes = 4
    /// When set, POST /v1/packages needs a unit token (Authorization: Bearer …) for the package's unit.
    public var requireUnitToken = false
    /// How long a unit's replaced key still verifies packages created before its rotation.
    public var unitKeyGrace: Duration = .seconds(14 * 86_400)
    /// Entries appended outside an intake (key changes by the CLI, registrations) are covered by
    /// a signed checkpoint within this long (zero: only on intake and on request).
    public var checkpointInterval: Duration = .seconds(5)
    /// The forwarder's backoff: first retry after about this long, doubling to the cap.
    public var forwardRetryBase: Duration = .seconds(1)
    public var forwardRetryMax: Duration = .seconds(300)
    /// How long a delivery may take (connect, send, answer) before it counts as failed (whole seconds).
    public var forwardTimeout: Duration = .seconds(120)
    /// Synthesize a new dataset version this often when a unit's records changed since the
    /// last one (zero: only on request).
    public var synthesizeEvery: Duration = .zero
    /// A listener of its own for `GET /metrics` without a token (`serve --metrics-listen`);
    /// nil: metrics only at the API's `/metrics`, with an admin token.
    public var metricsListen: ListenSettings?
    /// How long the metrics' figures read from the store are kept (`serve --metrics-refresh`):
    /// a scrape storm costs one round of queries this often.
    public var metricsRefresh: Duration = .seconds(5)
    public init() {}
}

/// Builds the gateway application: the routes by area, token and problem middleware, the
/// listener, and the background services (checkpoint signer, forwarder, scheduled synthesis),
/// each under its lease, taken only once the server listens (a server that cannot bind its
/// address takes none). `onRunning(port)` is called once the socket is bound (port 0 binds a
/// free port). The intake's clock is the server's one clock: every part that reads the time
/// (intake, unit key rotations, synthesis, the campaign view, the forwarder) is handed it.
public func buildGatewayApplication(
    intake: Intake, store: any GatewayStore, config: GatewayServerConfig, tls: TLSIdentity? = nil,
    onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let pool = BlockingPool.shared
    let metrics = GatewayMetrics(scrapeInterval: config.metricsRefresh)
    let clock = intake.clock
    let metricsSource = MetricsSource(data: intake.data, store: store, clock: clock)
    // The background roles run in one process at a time among all those on the store: each
    // under its lease, polled so another process takes over within a second or so of the
    // holder's death. Their work is idempotent besides (a delivery is recorded once, the same
    // checkpoint signed twice is one row), so a lease lost mid-step costs nothing.
    let signerLease = LeaseKeeper("checkpoint-signer", store: store)
    let forwarderLease = LeaseKeeper("forwarder", store: store)
    let synthesisLease = LeaseKeeper("synthesis", store: store)
    let rounds = ServiceRounds()
    let listening = ListeningFlag()

    let router = Router(context: GatewayContext.self)
    // Outermost: the request's id, its line in the log and its count by route pattern and status.
    router.add(middleware: RequestLogMiddleware(metrics: metrics, logger: .lines("sealgate.http")))
    router.add(middleware: ProblemMiddleware(metrics: metrics))
    router.add(middleware: TokenMiddleware(store: store))
    HealthRoutes(
        data: intake.data, store: store, leases: [signerLease, forwarderLease, synthesisLease], metrics: metrics, source: metricsSource,
        rounds: rounds
    ).add(to: router)
    router.addRoutes(LogRoutes(log: intake.log, keys: intake.keys, store: store).routes, atPath: "/v1/log")
    router.addRoutes(TrustRoutes(store: store).routes, atPath: "/v1/trust")
    router.addRoutes(
        PackageRoutes(
            admission: intake.admission, decision: intake.decision, receipts: intake.receipts, store: store, config: config, pool: pool,
            metrics: metrics
        ).routes, atPath: "/v1/packages")
    router.addRoutes(UnitRoutes(store: store, config: config, clock: clock).routes, atPath: "/v1/units")
    let datasets = DatasetRoutes(data: intake.data, store: store, keys: intake.keys, department: intake.department, clock: clock)
    router.addRoutes(datasets.datasets, atPath: "/v1/datasets")
    router.addRoutes(datasets.campaign, atPath: "/v1/campaign")
    OpenAPIRoute.add(to: router, document: OpenAPIDocuments.gateway)
    // The department's dashboard at /ui/ (sessions in the store: any process on it serves a signed-in operator).
    var dashboard = DashboardSettings()
    dashboard.secureCookies = tls != nil
    Dashboard<GatewayContext>(store: store, data: intake.data, log: intake.log, clock: clock, settings: dashboard).register(on: router)
    router.answerMethodsNotAllowed()

    // The checkpoint signer: a new checkpoint whenever the log grew (a no-op otherwise); a log key
    // rotated meanwhile signs from the next one on.
    let signer = PeriodicService(every: config.checkpointInterval, lease: signerLease, rounds: rounds) {
        try await intake.keys.refresh()
        _ = try await intake.log.checkpoint()
    }
    // The forwarder: delivers pending dataset versions to the handbook system, with backoff.
    let forwarder = ForwarderService(
        forwarder: Forwarder(
            store: store, baseDelay: config.forwardRetryBase, maxDelay: config.forwardRetryMax,
            timeout: config.forwardTimeout, cacheDir: "\(intake.data.path)/datasets", clock: clock),
        lease: forwarderLease, rounds: rounds)
    // Scheduled synthesis: a new version only when what a dataset takes changed after the last
    // one: some unit's records (a snapshot or correction accepted), or a package flagged for
    // review or its flag resolved.
    let synthesis = PeriodicService(every: config.synthesizeEvery, lease: synthesisLease, rounds: rounds) {
        let last = try await store.datasets().last?.createdAt
        func since(_ t: Timestamp) -> Bool { last.map { t > $0 } ?? true }
        let reviewed = try await store.flaggedPackages(unitId: nil).contains { since(max($0.flaggedAt, $0.resolvedAt ?? $0.flaggedAt)) }
        let changed = try await store.campaignRows().contains(where: { $0.lastAcceptedAt.map(since) ?? false })
        guard reviewed || changed else { return }
        _ = try await Synthesis.synthesize(
            data: intake.data, store: store, keys: intake.keys.current, department: intake.department, clock: clock)
    }
    return Application(
        router: router,
        server: try config.listen.serverBuilder(identity: tls),
        configuration: config.listen.applicationConfiguration(serverName: "sealgate"),
        // Shut down in reverse order: the background work first, the intake's pool, the store last.
        services: [
            StoreService(store: store), PoolService(pool: intake.work === BlockingPool.shared ? nil : intake.work),
            AfterListening(listening: listening, service: signer), AfterListening(listening: listening, service: forwarder),
            AfterListening(listening: listening, service: synthesis),
        ] + (config.metricsListen.map { [MetricsListener(listen: $0, metrics: metrics, source: metricsSource)] } ?? []),
        onServerRunning: { channel in
            listening.set()
            await onRunning(channel.localAddress?.port ?? config.listen.port)
        },
        logger: .lines("sealgate.http", to: .standardError))
}

/// A background service (under a lease) that starts only once the server listens: a server
/// that cannot bind its address ends without having taken a lease.
struct AfterListening<S: Service>: Service {
    let listening: ListeningFlag
    let service: S
    func run() async throws {
        while !listening.isSet {
            guard await pause(.milliseconds(50)) else { return }
        }
        try await service.run()
    }
}

/// Shuts the intake's own pool down with the application.
struct PoolService: Service {
    let pool: BlockingPool?
    func run() async throws {
        // Until the group shuts down (or is cancelled: the pool is shut down all the same).
        try? await gracefulShutdown()
        await pool?.shutdown()
    }
}

/// Closes the store's sessions (PostgreSQL's lease sessions) once everything else has stopped;
/// the PostgreSQL client itself is a service of the serve group (`runServeGroup`), ended after.
struct StoreService: Service {
    let store: any GatewayStore
    func run() async throws {
        try? await gracefulShutdown()
        await (store as? SQLGatewayStore)?.close()
    }
}

/// The `serve` process's one service group: the PostgreSQL clients of the stores opened in it
/// (`StoreClients`, first in the list, so shut down last) and `body` — opening the store,
/// recovery, then `serveGateway` — run with those clients as its `StoreClients.current`. When
/// `body` ends, the group shuts down gracefully (the clients end after everything that used
/// them). SIGTERM and SIGINT are the server's own (`serveGateway`): until the gateway runs, they
/// end the process at once as they always did (an interrupted recovery is taken up again at the
/// next start), never leaving it to finish a long recovery first.
public func runServeGroup(logger: Logger = .lines("sealgate"), _ body: @escaping @Sendable () async throws -> Void) async throws {
    let clients = StoreClients()
    let serve = ServeBody(clients: clients, body: body)
    let group = ServiceGroup(
        configuration: .init(
            services: [.init(service: clients), .init(service: serve, successTerminationBehavior: .gracefullyShutdownGroup)],
            logger: logger))
    try await group.run()
}

/// `serve`'s work as a service: everything after the address check, with the store's clients.
struct ServeBody: Service {
    let clients: StoreClients
    let body: @Sendable () async throws -> Void
    func run() async throws { try await StoreClients.$current.withValue(clients) { try await body() } }
}

/// Builds and runs the gateway, in `runServeGroup`, until SIGTERM or SIGINT (graceful shutdown:
/// requests in flight are answered, the background services stop between steps, leases are
/// released). A failure to bind the address is `listen_failed`.
public func serveGateway(
    intake: Intake, store: any GatewayStore, config: GatewayServerConfig, tls: TLSIdentity? = nil,
    onRunning: @escaping @Sendable (Int) async -> Void
) async throws {
    let listening = ListeningFlag()
    let app = try buildGatewayApplication(intake: intake, store: store, config: config, tls: tls) { port in
        listening.set()
        await onRunning(port)
    }
    do { try await app.runService() } catch {
        guard !listening.isSet, let e = config.listen.listenFailure(ifBindError: error) else { throw error }
        throw e
    }
}
