import Foundation
public import GatewayStore
public import SealBase
public import SealCrypto
public import SealPackage

#if canImport(Glibc)
    import Glibc
#endif

/// One decided body: what was decided (its HTTP status is the Problem layer's,
/// `Problem.status(for: kind)` in GatewayHTTP).
public struct IntakeResult: Sendable {
    public enum Kind: Sendable { case accepted, duplicate, seqConflict, rejected }
    public let kind: Kind
    public let outcome: Outcome
}

/// Who asks: a stranger (anyone on the network), a unit (its token), or the department (an admin token).
public enum Viewer: Sendable, Equatable {
    case anyone
    case unit(String)
    case admin

    /// A receipt beyond what the log already shows is for its unit and the department only.
    public func mayRead(unit: String?) -> Bool {
        switch self {
        case .admin: return true
        case .unit(let u): return unit == u
        case .anyone: return false
        }
    }
}
/// The department's intake pipeline (spec §5), cheapest refusal first, in parts (Intake/):
///
/// 1. while the body streams in, its first member (`package.minisig`) names the signer key and
///    the trusted comment: a key that no unit holds, a key not valid for that unit, a comment
///    whose signature fails, a unit token of another unit — refused before the rest is read
///    (`IntakeAdmission.precheck`);
/// 2. once received and fsynced: the container and the signature over `payload.age` (one pass
///    over the file) — a body that does not verify is refused and forgotten
///    (`IntakeAdmission.admit`); a replay of bytes already decided is answered from that decision;
/// 3. only a verified body is recorded and decided (`IntakeDecision.process`): the seq,
///    decryption (at most 16 recipient stanzas), the records, the all-or-nothing import and the
///    signed receipt (`IntakeReceipts`), committed with the log entry in one transaction — a
///    streamed body recorded as pending first, a small one recorded by that transaction itself.
///
/// Bodies admitted but not decided before a crash are decided at the next start
/// (`IntakeRecovery`). The department's keys and the recipients accepted are `IntakeKeys`.
///
/// A fault of the gateway's own (I/O, a full disk, the store down) is thrown, never recorded as
/// a decision: the body is forgotten and the unit sends it again (`IntakeDecision.forget`).
///
/// `Intake` only builds the parts over one data folder, store, log and key set; the HTTP routes
/// are handed the parts they use.
public final class Intake: Sendable {
    public let data: DataDirectory
    public let store: any GatewayStore
    /// The department's keys and the recipients accepted; reloaded when a rotation publishes a new trust document.
    public let keys: IntakeKeys
    public let department: String
    public let maxPackageBytes: UInt64
    /// The transparency log receipts are proven in.
    public let log: GatewayLog
    /// Where verification, decryption and validation run (threads of their own, bounded).
    public let work: BlockingPool
    public let receipts: IntakeReceipts
    public let admission: IntakeAdmission
    public let decision: IntakeDecision
    public let recovery: IntakeRecovery
    /// Where every part reads the time: receipts' and outcomes' times, the spool's received-at,
    /// which keys and recipients are still good, "today" for the record rules.
    public let clock: any GatewayClock

    /// Loads the log first: throws `log_inconsistent` when the store's history was altered.
    /// `passphrase` unlocks rotated recipient keys when they are reloaded (cached by the caller);
    /// `pin` is a token key's PIN, asked when its token needs a login.
    public init(
        data: DataDirectory, store: any GatewayStore, keys: DepartmentKeys, department: String, maxPackageBytes: UInt64 = defaultMaxPackageBytes,
        passphrase: @escaping @Sendable () throws -> SecureBytes = { SecureBytes(count: 0) }, pin: @escaping TokenPIN = DepartmentKeys.noPIN,
        work: BlockingPool = .shared, clock: any GatewayClock = .system
    ) async throws {
        self.clock = clock
        self.work = work
        self.data = data
        self.store = store
        self.department = department
        self.maxPackageBytes = maxPackageBytes
        let log = await GatewayLog(store: store, key: keys.log, department: department)
        self.log = log
        let intakeKeys = IntakeKeys(data: data, store: store, keys: keys, passphrase: passphrase, pin: pin, work: work, log: log, clock: clock)
        self.keys = intakeKeys
        let receipts = IntakeReceipts(department: department, keys: intakeKeys)
        self.receipts = receipts
        let admission = IntakeAdmission(
            data: data, store: store, receipts: receipts, log: log, maxPackageBytes: maxPackageBytes, work: work, clock: clock)
        self.admission = admission
        let decision = IntakeDecision(
            data: data, store: store, keys: intakeKeys, receipts: receipts, admission: admission, log: log, department: department,
            maxPackageBytes: maxPackageBytes, work: work, clock: clock)
        self.decision = decision
        recovery = IntakeRecovery(data: data, store: store, decision: decision)
        log.head = LogHead(path: data.logHeadPath)
        try await log.load()
        try await intakeKeys.refresh(force: true)
    }

    /// Faults of the gateway's own (not of the package): the unit is told to send it again. A
    /// department key on a token that cannot sign now (gone, its PIN refused, its key not the
    /// published one) is one: the package is not refused for it.
    public static func isGatewayFault(_ e: SealError) -> Bool {
        [.ioError, .cryptoFailure, .storeFailure, .tokenUnavailable, .tokenPinRefused, .tokenKeyMissing].contains(e.code)
    }

    /// A body whose declared length is at most this is received into memory, not streamed into
    /// a file (`IntakeAdmission.admit(small:…)`): its head checked, its signature verified from
    /// memory, and its spool record made by its decision's commit (no file).
    public static let smallBodyBytes = 64 << 10

    /// Packages up to this size are opened and validated where the decision runs (a millisecond
    /// or two of work: a hop to the pool and back would cost as much); larger ones on `work`.
    static let inlineBytes: Int64 = 256 << 10

    /// Packages up to this size are opened, validated and imported in memory, making no file
    /// (a city ward's snapshot is some 330 KB; each file made and removed cost the kernel's
    /// inode allocation more than the rest of the decision's file work) — while the packages
    /// decided in memory at once add up to at most `inMemoryBudget`; others go to a folder. A
    /// decision in memory holds about five times its package: the plaintext, the normalized
    /// copy and the reader's, the first batch of rows and the next.
    static let inMemoryBytes: Int64 = 4 << 20
    /// The most package bytes decided in memory at once, whatever `--max-concurrent` allows.
    static let inMemoryBudget: Int64 = 16 << 20
}

extension BlockingPool {
    /// Runs `job` here, or where the caller is when `inline` (small work, not worth the hop).
    func run<T: Sendable>(inline: Bool, _ job: @escaping @Sendable () throws -> T) async throws -> T {
        inline ? try job() : try await run(job)
    }
}
