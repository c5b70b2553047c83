import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import Logging
import PackageCommands
import SealCrypto
import SealPackage

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway's HTTP API (intake, receipts, units, trust).",
        discussion: """
            With only --data it works: SQLite in the folder, the spool beside it, http://127.0.0.1:8080. Bodies spooled but not decided (after a crash) are processed first. Stops cleanly on SIGTERM or SIGINT.

            HTTPS: --tls-cert and --tls-key (PEM; TLS 1.2 or later, forward-secret AEAD suites only), re-read on SIGHUP without a restart; --client-ca to require client certificates. Or put a TLS proxy in front (docs/operations.md). Listening beyond loopback without TLS prints a warning.

            Strangers are bounded: --max-connections, a request head must arrive within --header-timeout, a body must keep up --min-body-rate after --body-grace.
            """)
    @OptionGroup var data: DataOption
    @Option(name: .long, help: "Address to bind.") var host: String = "127.0.0.1"
    @Option(name: .long, help: "Port (0: any free port; the chosen one is printed).") var port: Int = 8080
    @Option(name: .long, help: "Largest package body.") var maxBody: String = "256MiB"
    @Option(name: .long, help: "Packages processed at once.") var maxConcurrent: Int = 4
    @OptionGroup var listen: ListenOptions
    @Flag(name: .long, help: "Require a unit token (Authorization: Bearer) on POST /v1/packages and /v1/units/ID/keys.") var requireUnitToken = false
    @Option(name: .long, help: "How long a unit's replaced key still verifies packages created before its rotation (e.g. 14d, 2h).")
    var unitKeyGrace = "14d"
    @Option(
        name: .long,
        help: "Sign a checkpoint this often when the log grew outside an intake (key changes, registrations); 0s: only with receipts and on request.")
    var checkpointInterval = "5s"
    @Option(name: .long, help: "The forwarder's first retry delay after a failed delivery to the handbook system (doubles each time, with jitter).")
    var forwardRetryBase = "1s"
    @Option(name: .long, help: "The longest delay between delivery attempts.") var forwardRetryMax = "5m"
    @Option(name: .long, help: "Seconds a delivery may take before it counts as failed.") var forwardTimeout: Int = 120
    @Option(
        name: .long,
        help:
            "This process's name among several serving one store (its spool is spool/NAME/, which it recovers after a crash); default on PostgreSQL HOSTNAME-PORT (HOSTNAME-pidPID with --port 0)."
    ) var node: String?
    @Option(
        name: .long,
        help:
            "Synthesize a new dataset this often (e.g. 24h) when units' records changed since the last one; off by default (sealgate synthesize, POST /v1/datasets)."
    ) var synthesizeEvery: String?
    @Option(
        name: .long,
        help:
            "Also serve GET /metrics (Prometheus text) without a token on this plain-HTTP address, e.g. 127.0.0.1:9464 (keep it on loopback or a monitoring network); /metrics on the API needs an admin token either way."
    ) var metricsListen: String?
    @Option(name: .long, help: "How long the metrics' figures read from the store (spool, members, forwarder, log, keys) are kept between scrapes.")
    var metricsRefresh = "5s"
    @OptionGroup var logging: LogOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var token: TokenOptions

    func run() async throws {
        // Logging first, once for the process: every line after this follows --log-format/--log-level.
        try logging.bootstrap()
        // One service group for the whole process: the store's PostgreSQL client is a service of
        // it, ended after the server has stopped (SIGTERM or SIGINT, graceful once it serves).
        try await runServeGroup { [self] in try await serve() }
    }

    func serve() async throws {
        var config = GatewayServerConfig()
        let (intake, store): (Intake, any GatewayStore)
        let tls: (TLSIdentity, any DispatchSourceSignal)?
        var spoolLock: Int32 = -1
        // The one clock of the process: the intake (and through it the server's routes, forwarder
        // and scheduled synthesis) and the daily expiry warning read it.
        let clock: any GatewayClock = .system
        // The serve process's lines (recovery, the store, warnings; "listening on" on stdout) go
        // through Loggers whose handler writes each bare line, the format operators and scripts read.
        let lines = Logger.lines("sealgate.serve", to: .standardError)
        let out = Logger.lines("sealgate.serve")
        do {
            guard (1...256).contains(maxConcurrent) else {
                throw SealError(.usage, "--max-concurrent must be 1 to 256 (threads opening packages)", remedy: "e.g. --max-concurrent 4")
            }
            config.maxConcurrentIntakes = maxConcurrent
            config.requireUnitToken = requireUnitToken
            config.unitKeyGrace = .seconds(try parseDuration(unitKeyGrace))
            config.checkpointInterval = .seconds(try parseDuration(checkpointInterval))
            config.forwardRetryBase = .seconds(try parseDuration(forwardRetryBase))
            config.forwardRetryMax = .seconds(try parseDuration(forwardRetryMax))
            guard (1...86_400).contains(forwardTimeout) else {
                throw SealError(.usage, "--forward-timeout must be 1 to 86400 seconds", remedy: "e.g. --forward-timeout 120")
            }
            config.forwardTimeout = .seconds(forwardTimeout)
            config.synthesizeEvery = .seconds(try synthesizeEvery.map(parseDuration) ?? 0)
            config.metricsRefresh = .seconds(try parseDuration(metricsRefresh))
            config.listen = try listen.settings(host: host, port: port)
            if let metricsListen {
                var m = try parseMetricsListen(metricsListen)
                (m.idleTimeout, m.headerTimeout, m.bodyGrace) = (config.listen.idleTimeout, config.listen.headerTimeout, config.listen.bodyGrace)
                (m.minBodyBytesPerSecond, m.maxConnections) = (config.listen.minBodyBytesPerSecond, config.listen.maxConnections)
                config.metricsListen = m
            }
            tls = try listen.identity(config.listen)
            config.maxBodyBytes = Int(try parseSize(maxBody))
            // A port in use is refused before the store is opened, recovery runs or a lease is taken.
            try config.listen.checkListen()
            try config.metricsListen?.checkListen()
            (intake, store) = try await loadIntake(
                data, passphrase: passphrase, token: token, maxBytes: UInt64(config.maxBodyBytes),
                node: node,
                // --port 0 names no stable port: the process id keeps two such processes apart
                defaultNode: "\(ProcessInfo.processInfo.hostName)-\(port != 0 ? String(port) : "pid\(ProcessInfo.processInfo.processIdentifier)")",
                work: BlockingPool(threads: config.maxConcurrentIntakes), clock: clock)
            spoolLock = try intake.data.lockSpool()
            let stale = intake.data.removeStale()
            if stale > 0 { lines.info("removed \(stale) file(s) or folder(s) an interrupted run left (opened packages, unsealed dataset files)") }
            let recovered = try await intake.recovery.recover()
            if !recovered.decided.isEmpty {
                lines.info("decided \(recovered.decided.count) package(s) received whole but not decided by an earlier run")
            }
            if recovered.removed > 0 {
                lines.info(
                    "removed \(recovered.removed) body(ies) an earlier run received only in part (never acknowledged: their units send them again)")
            }
            if recovered.setAside > 0 {
                lines.info(
                    "set aside \(recovered.setAside) body(ies) the store does not know in \(intake.data.spoolPath)/orphans/ (never decided on start; `sealgate import` them by hand if they should be)"
                )
            }
            if !recovered.held.isEmpty {
                lines.warning(
                    "warning: set aside \(recovered.held.count) package(s) whose decision stopped the gateway on \(IntakeRecovery.maxAttempts) starts in a row, in \(intake.data.spoolPath)/held/ (\(recovered.held.joined(separator: ", "))): report them with the gateway's log — they were never acknowledged; a unit sending one again gets it decided anew"
                )
            }
            if recovered.pending > 0 {
                lines.warning(
                    "warning: \(recovered.pending) package(s) could not be decided now (a fault of the gateway's own); they stay pending for the next start"
                )
            }
        } catch let e as SealError {
            try report(e, json: false)
        }
        let listen = config.listen
        lines.info("store \(store.location)\(intake.data.node.map { ", node \($0) (spool \(intake.data.spoolPath))" } ?? "")")
        if let w = listen.plainTextWarning { lines.warning("warning: \(w)") }
        if let m = config.metricsListen, !m.isLoopback {
            lines.warning("warning: --metrics-listen \(m.host) is not loopback: anyone who reaches it reads the metrics (no token, plain HTTP)")
        }
        if let endpoint = try? await HandbookEndpoint.load(store), (try? GatewayClient.checkURL(endpoint.url)) == nil {
            lines.warning(
                "warning: the handbook endpoint recorded is not a URL datasets can be sent to (a user or password in it?): the forwarder cannot deliver; run `sealgate handbook connect` again with the URL alone"
            )
        }
        let published = await (try? Publication.load(intake.data, store: store))?.intakeURL
        let dataPath = data.data
        await warnAheadOfExpiry(store: store, data: dataPath, logger: lines, clock: clock)  // at start, then daily while serving
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await warnAheadOfExpiryDaily(store: store, data: dataPath, logger: lines, clock: clock) }
                defer { group.cancelAll() }
                try await serveGateway(intake: intake, store: store, config: config, tls: tls?.0) { port in
                    out.info("listening on \(listen.url(port: port))")
                    if let published, let w = intakeURLMismatch(published: published, listen: listen, port: port) {
                        lines.warning("warning: \(w); change it with `sealgate trust publish --intake-url URL --data \(dataPath)`")
                    }
                }
            }
        } catch let e as SealError {
            try report(e, json: false)
        }
        withExtendedLifetime(tls) {}
        close(spoolLock)
    }
}

/// Loads the store, keys and intake. On a PostgreSQL store several processes share, each
/// spools into `spool/<node>/` (`node`: this process's name, stable across its restarts).
/// `node` is taken when given; on PostgreSQL a process always has one (`defaultNode`).
func loadIntake(
    _ data: DataOption, passphrase: PassphraseOptions, token: TokenOptions, maxBytes: UInt64 = defaultMaxPackageBytes, node: String? = nil,
    defaultNode: String = "\(ProcessInfo.processInfo.hostName)-cli", work: BlockingPool = .shared, clock: any GatewayClock = .system
) async throws -> (Intake, any GatewayStore) {
    var dir = data.dir
    let (department, _) = try dir.config()
    let store = try await dir.openStore()
    if let node {
        guard !node.isEmpty, !node.contains("/"), !node.hasPrefix(".") else {
            throw SealError(.usage, "--node '\(node)' is not a folder name", remedy: "e.g. --node gw1")
        }
        dir.node = node
    } else if try dir.databaseURL() != nil {
        dir.node = defaultNode
    }
    if dir.node != nil {
        try FileManager.default.createDirectory(atPath: dir.spoolPath, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }
    let pass = cachedPassphrase(passphrase)
    // A PIN is asked at the terminal only now, while the operator is there; later logins (a
    // token put back, a key rotated onto a token) take it from the file or what was given here.
    let starting = StartPhase()
    let pin = token.departmentPIN(mayPrompt: { starting.isOn })
    let keys = try DepartmentKeys.load(dir, passphrase: pass, pin: pin)
    // A key on a token is opened now: its PIN asked, a refusal seen at the start.
    try keys.openTokens()
    starting.end()
    return (
        try await Intake(
            data: dir, store: store, keys: keys, department: department, maxPackageBytes: maxBytes, passphrase: pass, pin: pin, work: work,
            clock: clock
        ), store
    )
}

/// Why units would not reach this process at the published intake URL, if they would not:
/// another scheme or port (unless a proxy in front forwards one to the other).
func intakeURLMismatch(published: String, listen: ListenSettings, port: Int) -> String? {
    guard let u = URL(string: published), let scheme = u.scheme?.lowercased() else { return "the published intake URL '\(published)' is not a URL" }
    let ownScheme = listen.tls == nil ? "http" : "https"
    let publishedPort = u.port ?? (scheme == "https" ? 443 : 80)
    let host = (u.host ?? "").lowercased()
    let loopbackURL = host == "localhost" || host.hasPrefix("127.") || host == "::1"
    if scheme == ownScheme && publishedPort == port && (loopbackURL == listen.isLoopback || !loopbackURL) { return nil }
    return
        "units seal and submit to the published intake URL \(published), but this process listens on \(listen.url(port: port)): they reach it only if a proxy forwards one to the other"
}
