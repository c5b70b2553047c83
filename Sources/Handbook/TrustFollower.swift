public import Foundation
public import GatewayClient
public import GatewayCore
public import GatewayHTTP
public import Logging
import SealBase
import SealCrypto
public import SealPackage
import Synchronization

/// The handbook receiver's trust document, followed as a unit follows it: kept in a file (with
/// FILE.minisig), checked against a pinned root, and replaced by a newer version fetched from the
/// gateway (`GET /v1/trust`, the versions walked across a root rotation) when a dataset arrives
/// signed by a dataset key the document does not list, when the document has expired or is about
/// to, and once a day. A fetch is bounded (the client's timeout on each exchange, a few exchanges),
/// one at a time (a request that finds one under way waits for it), and at most one starts every
/// `minInterval`, whatever triggers it; a key id that a freshly fetched document still did not list
/// triggers no other. So a stranger's packages can make the receiver ask the gateway at most once
/// per interval, and a stranger's key at most once.
///
/// Its settings are constants; what changes is in `state` (a `Mutex`, held briefly, never across
/// an `await`); the trust and root files are read and written under `files`.
public final class TrustFollower: Sendable {
    public struct Settings: Sendable {
        /// The trust document file (from `trust fetch`), with its signature FILE.minisig beside it;
        /// rewritten when a newer version is taken.
        public var trustPath: String
        /// The pinned trust root (minisign public key). If the file does not exist, the root the
        /// trust document names (and is signed by) is pinned there at start; it is rewritten when
        /// the department rotates its root (a version signed by the old and the new root).
        public var rootPath: String
        /// The gateway asked for newer versions; nil: the trust document's intake URL.
        public var gateway: String?
        /// How the gateway is reached (its CA; `timeout` bounds each exchange).
        public var client: ClientSettings
        /// False: nothing is fetched (the document is only read from its file and its expiry warned of).
        public var fetching: Bool = true
        /// The least time between two fetches, whatever asks for them.
        public var minInterval: Duration = .seconds(60)
        /// Warnings start this long before the document expires, and a newer one is fetched.
        public var warnAhead: Duration = .seconds(14 * 86_400)
        /// A fetch at least this often while all is well (a new key is then known before it signs).
        public var routineEvery: Duration = .seconds(86_400)

        public init(trustPath: String, rootPath: String, gateway: String? = nil, client: ClientSettings = ClientSettings(timeout: .seconds(10))) {
            self.trustPath = trustPath
            self.rootPath = rootPath
            self.gateway = gateway
            self.client = client
        }
    }

    /// What one refresh did.
    public enum Outcome: Sendable, Equatable {
        /// A newer version was verified and taken.
        case updated(from: UInt64, to: UInt64)
        /// The gateway's latest version is the one held.
        case unchanged(UInt64)
        /// The fetch failed or its document was refused (the code); the held document is kept.
        case failed(String)
        /// Not fetched: fetching is off, or the last fetch was less than `minInterval` ago.
        case skipped
    }

    struct Held: Sendable {
        var doc: TrustDocument
        var body: String
        var pin: MinisignPublicKey
    }

    struct State: Sendable {
        var held: Held
        var lastAttempt: Date?
        var lastSuccess: Date?
        var inFlight: Task<Outcome, Never>?
        /// Dataset key ids a document fetched after they were seen did not list (newest last, bounded).
        var refusedKeys: [[UInt8]] = []
        /// A trust file changed by hand that did not verify (warned about once).
        var refusedFileBody: String?
        var lastWarned: Date?
    }

    public let settings: Settings
    let state: Mutex<State>
    let files = Mutex(())
    /// The follower's lines (`Logger.lines`): what it pinned, fetched and took on standard
    /// output, its warnings on standard error.
    let logger: Logger
    let warnings: Logger

    /// Keys of strangers remembered at most.
    static let maxRefusedKeys = 1024

    /// Reads the trust document and the pinned root (pinning the document's root when there is no
    /// pin yet). An expired document is held all the same — datasets are refused with
    /// `trust_expired` until a newer one is fetched. Throws `usage` for a missing file,
    /// `trust_invalid` for a document the pin does not verify.
    public convenience init(
        _ settings: Settings, logger: Logger = .lines("sealgate.handbook"),
        warnings: Logger = .lines("sealgate.handbook", to: .standardError)
    ) throws {
        // Everything that can throw runs before the object exists: Swift 6.3's release-mode
        // optimizer crashed (CopyPropagation, "Found ownership error") on a throwing designated
        // init of this class, whose `Mutex` properties are noncopyable.
        let held = try Self.load(settings, logger: logger)
        self.init(settings: settings, logger: logger, warnings: warnings, held: held)
    }

    init(settings: Settings, logger: Logger, warnings: Logger, held: Held) {
        self.settings = settings
        self.logger = logger
        self.warnings = warnings
        state = Mutex(State(held: held))
    }

    func log(_ line: String) { logger.info("\(line)") }
    func warn(_ line: String) { warnings.warning("\(line)") }

    /// The trust document and the pin, as `init` takes them.
    static func load(_ settings: Settings, logger: Logger) throws -> Held {
        let path = settings.trustPath
        guard let body = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SealError(
                .usage, "cannot read the trust document \(path)",
                remedy: "fetch it first with `sealgate trust fetch` (the department's root key pinned) into that file")
        }
        guard let signature = try? String(contentsOfFile: path + ".minisig", encoding: .utf8) else {
            throw SealError(
                .usage, "cannot read \(path).minisig, the trust document's signature, which `trust fetch` writes beside \(path)",
                remedy: "keep the document and its .minisig together, or fetch both again with `sealgate trust fetch`")
        }
        let pin: MinisignPublicKey
        let pinNow = !FileManager.default.fileExists(atPath: settings.rootPath)
        if pinNow {
            guard let named = TrustDocument.namedRoot(body) else {
                throw GatewayError(.trustInvalid, "\(path) names no trust root", remedy: "fetch the trust document again with `sealgate trust fetch`")
            }
            pin = named
        } else {
            pin = try MinisignPublicKey(path: settings.rootPath)
        }
        let doc = try TrustDocument.verify(body: body, signature: signature, root: pin, heldVersion: nil, allowExpired: true)
        if pinNow {
            try Self.writeRoot(pin, department: doc.department, to: settings.rootPath)
            logger.info("trust: pinned the department's trust root \(pin.keyIdHex) (from \(path)) in \(settings.rootPath)")
        }
        return Held(doc: doc, body: body, pin: pin)
    }

    static func writeRoot(_ root: MinisignPublicKey, department: String, to path: String) throws {
        let pk = MinisignPublicKey(keyId: root.keyId, key: root.key, comment: "sealgate root key \(root.keyIdHex) of \(department)")
        try pk.fileContents.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The document held, checked: `trust_expired` once it has expired. A newer version written to
    /// the file by hand (`trust fetch`) and verified by the pin is taken at once.
    public func current() throws -> TrustDocument {
        takeFileIfNewer()
        let doc = state.withLock { $0.held.doc }
        guard let expires = doc.expiresAt, expires > Timestamp.now else {
            throw GatewayError(
                .trustExpired, "the receiver's trust document (version \(doc.version)) expired at \(doc.expires)",
                remedy: "the department must publish a newer one; the receiver fetches it from the gateway by itself")
        }
        return doc
    }

    /// The version held, whatever its expiry.
    public var held: TrustDocument { state.withLock { $0.held.doc } }

    /// The URL asked for newer versions.
    public var gatewayURL: String {
        let url = settings.gateway ?? state.withLock { $0.held.doc.intakeURL }
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    func takeFileIfNewer() {
        let path = settings.trustPath
        let (body, signature) = files.withLock { _ in
            (try? String(contentsOfFile: path, encoding: .utf8), try? String(contentsOfFile: path + ".minisig", encoding: .utf8))
        }
        guard let body, let signature else { return }
        let (held, refused) = state.withLock { ($0.held, $0.refusedFileBody) }
        guard body != held.body, body != refused else { return }
        do {
            let doc = try TrustDocument.verify(body: body, signature: signature, root: held.pin, heldVersion: nil, allowExpired: true)
            let took = state.withLock { s -> Bool in
                guard doc.version > s.held.doc.version else {
                    s.refusedFileBody = body  // an older version (or the one held, rewritten): keep what is held
                    return false
                }
                s.held = Held(doc: doc, body: body, pin: held.pin)
                return true
            }
            if took { log("trust: took trust document version \(doc.version) (expires \(doc.expires)) written to \(path)") }
        } catch {
            state.withLock { $0.refusedFileBody = body }
            let e = error as? SealError
            warn(
                "warning: \(path) was changed to a document that does not verify against the pinned root \(held.pin.keyIdHex) "
                    + "(\(e?.code.rawValue ?? "trust_invalid"): \(e?.message ?? "\(error)")); keeping version \(held.doc.version)"
            )
        }
    }

    /// Why a dataset refused with `answer` is worth a fetch (nil: it is not). Only a dataset that
    /// claims to be the department's (`key_unknown` is answered only after kind and department are
    /// checked), newer than the version imported, created no earlier than the held document was
    /// issued (a key published later signs only later), by a key no document fetched since refused
    /// — or any dataset while the held document has expired.
    public func reasonToFetch(_ answer: HandbookReceiver.Answer, _ peek: PackagePeek, latestImported: UInt64?) -> String? {
        guard settings.fetching else { return nil }
        switch answer.code {
        case "trust_expired":
            return "the trust document held has expired"
        case "key_unknown":
            let c = peek.comment
            let keyId = peek.signature.keyId
            let (doc, refused) = state.withLock { ($0.held.doc, $0.refusedKeys.contains(keyId)) }
            guard !refused, latestImported.map({ c.seq > $0 }) ?? true else { return nil }
            if let issued = doc.issued.moment, let created = c.created.moment, created < issued { return nil }
            return "dataset version \(c.seq) is signed by key \(Minisign.keyIdHex(keyId)), not a dataset key of version \(doc.version)"
        default:
            return nil
        }
    }

    /// Remembers that a document fetched after `keyId` was seen does not accept it.
    public func noteRefused(keyId: [UInt8]) {
        state.withLock { s in
            guard !s.refusedKeys.contains(keyId) else { return }
            s.refusedKeys.append(keyId)
            if s.refusedKeys.count > Self.maxRefusedKeys { s.refusedKeys.removeFirst(s.refusedKeys.count - Self.maxRefusedKeys) }
        }
    }

    /// One fetch, if none was started in the last `minInterval`; a fetch under way is waited
    /// for instead of starting another.
    public func refresh(_ reason: String, now: Date = Date()) async -> Outcome {
        await refreshStarted(reason, now: now).outcome
    }

    /// `refresh`, and when the fetch it waited for started (nil: none).
    func refreshStarted(_ reason: String, now: Date = Date()) async -> (outcome: Outcome, started: Date?) {
        guard settings.fetching else { return (.skipped, nil) }
        let found: (Task<Outcome, Never>, Date)? = state.withLock { s in
            if let t = s.inFlight, let started = s.lastAttempt { return (t, started) }
            if let last = s.lastAttempt, now.timeIntervalSince(last) < settings.minInterval.inSeconds { return nil }
            s.lastAttempt = now
            let t = Task { await self.fetchOnce(reason) }
            s.inFlight = t
            return (t, now)
        }
        guard let (task, started) = found else { return (.skipped, nil) }
        return (await task.value, started)
    }

    /// A fetch is given up after this many times the client's timeout for one exchange (a walk
    /// across root rotations makes one exchange per version).
    static let maxExchanges = 4

    func fetchOnce(_ reason: String) async -> Outcome {
        defer { state.withLock { $0.inFlight = nil } }
        let held = state.withLock { $0.held }
        let url = gatewayURL
        log("trust: fetching the department's trust document from \(url) (\(reason); version \(held.doc.version) held)")
        do {
            try GatewayClient.checkURL(url, what: "gateway URL")
            var bounded = settings.client
            bounded.maxResponseBytes = min(bounded.maxResponseBytes, 1 << 20)
            let client = bounded
            let seconds = Int(client.timeout.components.seconds) * Self.maxExchanges
            let fetched = try await Self.within(seconds: seconds, url: url) {
                try await GatewayClient.withClient(client) {
                    try await TrustDocument.fetch($0, gateway: url, pin: held.pin, heldVersion: held.doc.version)
                }
            }
            state.withLock { $0.lastSuccess = Date() }
            guard fetched.document.version > held.doc.version else {
                log("trust: version \(held.doc.version) is still the department's latest (expires \(held.doc.expires))")
                return .unchanged(held.doc.version)
            }
            try take(fetched, replacing: held, from: url)
            return .updated(from: held.doc.version, to: fetched.document.version)
        } catch {
            let e = error as? SealError
            let code = e?.code.rawValue ?? "trust_fetch_failed"
            warn(
                "warning: trust: the trust document from \(url) was not taken "
                    + "(\(code): \(e?.message ?? String(describing: error).prefix(300).description)); keeping version \(held.doc.version)"
            )
            return .failed(code)
        }
    }

    /// Makes `fetched` the document held, then writes it (and a moved pin) to the files.
    func take(_ fetched: FetchedTrust, replacing held: Held, from url: String) throws {
        let doc = fetched.document
        let moved = fetched.root.base64 != held.pin.base64
        // Held first: a reader that finds the old files meanwhile sees an older version and keeps this one.
        state.withLock { $0.held = Held(doc: doc, body: fetched.body, pin: fetched.root) }
        try files.withLock { _ in
            try fetched.body.write(toFile: settings.trustPath, atomically: true, encoding: .utf8)
            try fetched.signature.write(toFile: settings.trustPath + ".minisig", atomically: true, encoding: .utf8)
            if moved { try Self.writeRoot(fetched.root, department: doc.department, to: settings.rootPath) }
        }
        log(
            "trust: took trust document version \(doc.version) of \(doc.department) from \(url) "
                + "(was version \(held.doc.version); expires \(doc.expires)); saved to \(settings.trustPath)"
        )
        if moved {
            log(
                "trust: the department's trust root changed from \(held.pin.keyIdHex) to \(fetched.root.keyIdHex) (signed by both); "
                    + "\(settings.rootPath) now pins the new root"
            )
        }
    }

    /// Runs `work`, cancelled after `seconds` (`http_timeout`).
    static func within<T: Sendable>(seconds: Int, url: String, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(nanoseconds: UInt64(max(1, seconds)) * 1_000_000_000)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw SealError(
                    .httpTimeout, "no trust document from \(url) within \(seconds) s", remedy: "check that the gateway is up and reachable")
            }
            return value
        }
    }

    /// At start and then every `checkEvery` until cancelled: warns while the document expires
    /// within `warnAhead` (at start, then once a day) and fetches a newer one; fetches once every
    /// `routineEvery` otherwise.
    public func watch(checkEvery: Duration = .seconds(3_600)) async {
        var started = Date()
        var first = true
        while !Task.isCancelled {
            let now = Date()
            let doc = held
            let left = doc.expiresAt.map { Self.seconds(until: $0, from: now) } ?? 0
            if left < settings.warnAhead.inSeconds {
                _ = await refresh(left <= 0 ? "the trust document held has expired" : "the trust document held expires at \(doc.expires)")
            } else if now.timeIntervalSince(state.withLock { $0.lastSuccess ?? started }) >= settings.routineEvery.inSeconds {
                _ = await refresh("the daily check")
                started = now
            }
            warnOfExpiry(now: Date())
            if first {
                first = false
                let doc = held
                let pin = state.withLock { $0.held.pin }
                log(
                    "trust: holding trust document version \(doc.version) of \(doc.department) (expires \(doc.expires)), "
                        + "root \(pin.keyIdHex) pinned; "
                        + (settings.fetching
                            ? "newer versions from \(gatewayURL), at most one fetch every \(settings.minInterval.components.seconds) s"
                            : "fetching is off"))
            }
            try? await Task.sleep(for: checkEvery)
        }
    }

    /// The time from `now` to the moment `t` (negative once it has passed).
    static func seconds(until t: Timestamp, from now: Date) -> TimeInterval { Double(t.unixSeconds) - now.timeIntervalSince1970 }

    /// The expiry warning, when the document expires within `warnAhead`: the first time, then at
    /// most once a day.
    public func warnOfExpiry(now: Date = Date()) {
        let doc = held
        guard let expires = doc.expiresAt else { return }
        let left = Self.seconds(until: expires, from: now)
        guard left < settings.warnAhead.inSeconds else { return }
        let due = state.withLock { s -> Bool in
            guard s.lastWarned.map({ now.timeIntervalSince($0) >= 86_400 }) ?? true else { return false }
            s.lastWarned = now
            return true
        }
        guard due else { return }
        let fetchNote =
            settings.fetching
            ? "the receiver fetches a newer version from \(gatewayURL) by itself as soon as the department publishes one"
            : "fetching is off: fetch a newer one by hand (`sealgate trust fetch`)"
        if left <= 0 {
            warn(
                "warning: the trust document (version \(doc.version)) expired at \(doc.expires): "
                    + "datasets are refused (trust_expired) until a newer one is taken; \(fetchNote)"
            )
        } else {
            warn(
                "warning: the trust document (version \(doc.version)) expires at \(doc.expires), in \(Int(left / 86_400)) days "
                    + "\(Int(left.truncatingRemainder(dividingBy: 86_400) / 3_600)) hours; "
                    + "the department must publish a newer one (`sealgate trust publish`); \(fetchNote)"
            )
        }
    }
}

extension HandbookReceiver {
    /// `precheck`, and when it refuses a dataset that a newer trust document may accept (signed by a
    /// dataset key the document held does not list, or the document has expired; `reasonToFetch`),
    /// one refresh — rate-limited, single-flight — and, if a newer version was taken, the check
    /// again: a dataset signed by a key the department has just rotated to is accepted in the same
    /// request. A refusal that stands says what the fetch found.
    public func precheckFollowingTrust(_ peek: PackagePeek) async throws -> Answer? {
        guard var answer = await precheck(peek) else { return nil }
        let latest = try await store.latest()?.version
        guard let follower, let reason = follower.reasonToFetch(answer, peek, latestImported: latest) else { return answer }
        let seen = Date()
        let (outcome, started) = await follower.refreshStarted(reason, now: seen)
        if case .updated = outcome {
            guard let again = await precheck(peek) else { return nil }
            answer = again
        }
        guard answer.code == "key_unknown" || answer.code == "trust_expired" else { return answer }
        let doc = follower.held
        switch outcome {
        case .updated, .unchanged:
            // Remembered only from a fetch that started after the key was seen (one under way
            // before may predate the department's rotation).
            if answer.code == "key_unknown", let started, started >= seen { follower.noteRefused(keyId: peek.signature.keyId) }
            answer.detail += " (version \(doc.version) is the department's latest, fetched just now)"
        case .failed(let code):
            answer.detail += " (a newer trust document could not be taken: \(code); see the receiver's log)"
        case .skipped:
            answer.detail +=
                " (the trust document was fetched less than \(follower.settings.minInterval.components.seconds) s ago; no other fetch until then)"
        }
        return answer
    }
}

extension Duration {
    /// The duration in seconds, as `Date` arithmetic counts them.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
