import GatewayStore
import SealBase
import SealCrypto
import Synchronization

/// The department's keys as the intake sees them, and which recipients it accepts now: active
/// ones, and decrypt-only ones within their grace. Reloaded when a rotation publishes a new trust
/// document (no restart).
///
/// The keys and recipient sets are read and replaced under a `Mutex`; reloads are one at a time
/// under `reloading` (each may run scrypt at 256 MiB): the others wait for it and find the keys
/// fresh.
public final class IntakeKeys: Sendable {
    /// One consistent view: the keys, the recipients accepted and retired, and the trust
    /// document version they were read at.
    struct Sets: Sendable {
        var keys: DepartmentKeys
        var accepted: Set<String>
        var retired: Set<String>
        var trustVersion: UInt64
    }
    private let sets: Mutex<Sets>
    private let reloading = AsyncMutex()
    private let data: DataDirectory
    private let store: any GatewayStore
    private let passphrase: @Sendable () throws -> SecureBytes
    private let pin: TokenPIN
    private let work: BlockingPool
    /// Re-keyed when a reload finds a new log key.
    private let log: GatewayLog
    /// Whose time decides which recipients are still within their grace.
    private let clock: any GatewayClock

    init(
        data: DataDirectory, store: any GatewayStore, keys: DepartmentKeys, passphrase: @escaping @Sendable () throws -> SecureBytes,
        pin: @escaping TokenPIN, work: BlockingPool, log: GatewayLog, clock: any GatewayClock = .system
    ) {
        self.pin = pin
        self.clock = clock
        self.data = data
        self.store = store
        self.passphrase = passphrase
        self.work = work
        self.log = log
        sets = Mutex(Sets(keys: keys, accepted: [], retired: [], trustVersion: 0))
    }

    /// The department's keys now.
    public var current: DepartmentKeys { sets.withLock { $0.keys } }

    /// The keys with the recipient sets, read at once.
    func snapshot() -> Sets { sets.withLock { $0 } }

    /// Which recipients are accepted now: active ones, and decrypt-only ones within their grace.
    /// Reloads the keys when a new trust document was published (a rotation, without a restart).
    /// `seen`: the latest version as a read just made found it (`GatewayStore.intakeLookup`):
    /// when it is the one the keys were read at, the store is not asked again.
    public func refresh(force: Bool = false, seen: UInt64? = nil) async throws {
        func stale() async throws -> (Bool, UInt64) {
            let version = try await store.latestTrustVersion()
            return (sets.withLock { force || version != $0.trustVersion }, version)
        }
        if !force, let seen, sets.withLock({ seen == $0.trustVersion }) { return }
        guard try await stale().0 else { return }
        try await reloading.withLock { try await reload(force: force, stale: stale) }
    }

    private func reload(force: Bool, stale: () async throws -> (Bool, UInt64)) async throws {
        let (isStale, version) = try await stale()  // another caller may have reloaded meanwhile
        guard isStale else { return }
        // A reload runs scrypt (256 MiB): on the intake's pool, never on the shared threads.
        let (data, passphrase, pin) = (self.data, self.passphrase, self.pin)
        let current = self.current
        let keys = force ? current : try await work.run { try DepartmentKeys.load(data, passphrase: passphrase, pin: pin).reusing(current) }
        let rows = try await store.recipients()
        let now = clock.now
        var accepted = Set<String>()
        var retired = Set<String>()
        if rows.isEmpty {
            accepted = Set(keys.recipients.map(\.keyRecipient.fingerprint))  // a data folder from before recipient states
        }
        for r in rows {
            switch r.state {
            case .active, .pending: accepted.insert(r.fingerprint)  // pending: announced, the secret is here
            case .decryptOnly:
                if let until = r.decryptUntil, until > now { accepted.insert(r.fingerprint) } else { retired.insert(r.fingerprint) }
            default: retired.insert(r.fingerprint)
            }
        }
        let logKeyChanged = sets.withLock { c in
            let changed = c.keys.log.publicKey != keys.log.publicKey
            c = Sets(keys: keys, accepted: accepted, retired: retired, trustVersion: version)
            return changed
        }
        if logKeyChanged { await log.rekey(keys.log) }  // receipts pick up a new receipt key through `current`
    }
}
