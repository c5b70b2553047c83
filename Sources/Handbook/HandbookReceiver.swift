import Foundation
public import GatewayCore
public import GatewayHTTP
public import Logging
import PartyRecords
import SealBase
public import SealCrypto
public import SealPackage

/// The handbook receiver (`sealgate handbook serve`): a stand-in for the handbook system's sync
/// endpoint, and a model of what an integrator implements. Verifies the department's dataset
/// signature through the trust document, decrypts, checks the manifest (spec §5), imports into its
/// own SQLite all or nothing, refuses an older or repeated version (a repeat of the same package
/// gets its first acknowledgement), and answers with a signed acknowledgement.
///
/// Every property is a constant; imports are one at a time (`turns`).
public final class HandbookReceiver: Sendable {
    public struct Answer: Sendable {
        public var status: Int
        public var ack: String?
        public var signature: String?
        public var code: String?
        public var detail: String = ""
        public var remedy: String = ""
        /// Seconds spent: checking and decrypting; reading the files into the store.
        public var timings: (open: Double, store: Double) = (0, 0)
    }

    let dir: String
    public let store: HandbookStore
    let identities: [any AgeKeyIdentity]
    let ackKey: MinisignSecretKey
    let trust: @Sendable () throws -> TrustDocument
    /// Keeps the trust document current (nil: `trust` alone says what it is).
    public let follower: TrustFollower?
    let maxBytes: UInt64
    /// Imports one at a time, in order of arrival, across the store's awaits.
    /// The receiver's imports, one at a time, first come first served (across awaits).
    private let turns = AsyncMutex()
    /// Where the receiver's causes of its own faults go (never into an answer), and its
    /// imports and refusals: the process's background lines.
    let logger: Logger

    public var incomingPath: String { "\(dir)/incoming" }

    /// `trust`: the department's trust document, asked for every dataset; with a `follower`, its
    /// document (`follower.current`), and a dataset signed by a key it does not list is checked
    /// again after a fetch (`precheckFollowingTrust`).
    public init(
        dir: String, identities: [any AgeKeyIdentity], ackKey: MinisignSecretKey, trust: @escaping @Sendable () throws -> TrustDocument,
        follower: TrustFollower? = nil, maxBytes: UInt64 = 4 << 30, logger: Logger = .lines("sealgate.handbook")
    ) throws {
        self.dir = dir
        self.logger = logger
        self.identities = identities
        self.ackKey = ackKey
        if let follower {
            self.trust = { try follower.current() }
        } else {
            self.trust = trust
        }
        self.follower = follower
        self.maxBytes = maxBytes
        for p in [dir, "\(dir)/incoming", "\(dir)/received", "\(dir)/opened"] {
            try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        store = try HandbookStore(path: "\(dir)/handbook.sqlite")
    }

    /// A refusal with one of the receiver's own codes (its status from `HandbookStatus.table`).
    static func refuse(_ code: SealErrorCode, _ detail: String, _ remedy: String) -> Answer {
        Answer(status: HandbookStatus.status(code, otherwise: .fault), ack: nil, signature: nil, code: code.rawValue, detail: detail, remedy: remedy)
    }

    /// A refusal passed on from the package checks, answered as `kind` says.
    static func refuse(_ e: SealError, as kind: HandbookStatus.Otherwise, detail: String? = nil, remedy: String? = nil) -> Answer {
        Answer(status: kind.rawValue, ack: nil, signature: nil, code: e.code.rawValue, detail: detail ?? e.message, remedy: remedy ?? e.remedy)
    }

    /// A fault of the receiver's own: the answer keeps the code, the cause (a path, an errno)
    /// goes to the log only.
    func fault(_ error: any Error) -> Answer {
        let code = (error as? SealError)?.code.rawValue ?? SealErrorCode.handbookFailure.rawValue
        logger.error("handbook fault (\(code)): \(String(describing: error).prefix(500))")
        return Answer(
            status: HandbookStatus.Otherwise.fault.rawValue, ack: nil, signature: nil, code: code,
            detail: "the receiver met a fault of its own and imported nothing",
            remedy: "send the dataset again later; the operator has the cause in the receiver's log")
    }

    /// The checks the first member (`package.minisig`) allows, made while the body streams in
    /// so that a stranger's body is refused before the rest is read: a dataset from the trust
    /// document's department, signed by one of its dataset keys (the comment's signature checked
    /// before anything about the store is said), newer than the latest version. A repeat of a
    /// package received before passes when its first member is the one received (its key may
    /// have been retired since): it is answered with its first acknowledgement. Returns the
    /// refusal, or nil to go on.
    public func precheck(_ peek: PackagePeek) async -> Answer? {
        do {
            let c = peek.comment
            let doc = try trust()
            if let refusal = Self.checkOrigin(c, doc) { return refusal }
            if let prior = try await store.dataset(packageId: c.package), let first = receivedFirstMember(version: prior.version, package: c.package)
            {
                let same =
                    first.signature.keyId == peek.signature.keyId && first.signature.signature == peek.signature.signature
                    && first.signature.trustedComment == peek.signature.trustedComment
                    && first.signature.globalSignature == peek.signature.globalSignature
                return same
                    ? nil
                    : Self.refuse(
                        .packageReused, "package \(c.package) was received before with another signature",
                        "a package id is used once; seal a new version")
            }
            guard let key = doc.verifyingKeys("dataset", signedAt: c.created.moment).first(where: { $0.keyId == peek.signature.keyId }) else {
                return Self.refuse(
                    .keyUnknown,
                    "the dataset is signed by key \(Minisign.keyIdHex(peek.signature.keyId)), "
                        + "not a dataset key of trust document version \(doc.version)",
                    follower?.settings.fetching == true
                        ? "the receiver fetches the department's newer trust document by itself "
                            + "(at most one fetch every \(follower?.settings.minInterval.components.seconds ?? 0) s); "
                            + "if the key stays unknown, the dataset is not the department's"
                        : "fetch the department's current trust document (`sealgate trust fetch`) for the receiver")
            }
            do { try peek.signature.verifyComment(publicKey: key) } catch let e as SealError {
                return Self.refuse(e, as: .refusedByChecks)
            }
            return try await checkNewer(c)
        } catch let e as SealError where e.code == .trustExpired {
            return Self.expired(e)
        } catch {
            return fault(error)
        }
    }

    /// The trust document has expired: nothing can be checked until a newer one is taken.
    static func expired(_ e: SealError) -> Answer {
        refuse(e.code, e.message, e.remedy)
    }

    /// The first member of a package received before (kept in `received/`), if it is there.
    func receivedFirstMember(version: UInt64, package: String) -> PackagePeek? {
        guard let h = FileHandle(forReadingAtPath: "\(dir)/received/v\(version)-\(package).sgp") else { return nil }
        defer { try? h.close() }
        guard let head = try? h.read(upToCount: PackagePeek.maxPrefix) else { return nil }
        return try? Array(head).withUnsafeBytes { try PackagePeek.parse(prefix: $0) }
    }

    /// Kind and department: what the trusted comment must say.
    static func checkOrigin(_ c: TrustedComment, _ doc: TrustDocument) -> Answer? {
        guard c.kind == .dataset else {
            return refuse(
                .kindNotDataset, "package kind is \(c.kind.rawValue), not dataset", "only the department's datasets are received here")
        }
        guard c.unit == doc.department else {
            return refuse(
                .datasetNotFromDepartment, "the dataset names \(c.unit), not the department \(doc.department) of the trust document",
                "do not forward other parties' packages")
        }
        return nil
    }

    /// A new package must be newer than the latest version imported (said only to a signer the
    /// trust document knows).
    func checkNewer(_ c: TrustedComment) async throws -> Answer? {
        if let latest = try await store.latest(), c.seq <= latest.version {
            return Self.refuse(
                .datasetStale, "version \(c.seq) is not newer than version \(latest.version) already imported",
                "an old dataset is never imported over a newer one; synthesize a new version")
        }
        return nil
    }

    /// Decides one received body (a file under `incomingPath`); one at a time. The signature
    /// over the payload is checked (one BLAKE2b pass, no key unwrapped) before anything is
    /// decrypted. The file work (hashing, verifying, decrypting) runs on `pool`.
    public func receive(path: String, pool: BlockingPool) async -> Answer {
        await turns.withLock { await receiveNow(path: path, pool: pool) }
    }

    private func receiveNow(path: String, pool: BlockingPool) async -> Answer {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let refuse = Self.refuse as (SealErrorCode, String, String) -> Answer
        let (dir, identities, maxBytes) = (dir, identities, maxBytes)
        do {
            let sha = try await pool.run { try sha256File(path) }
            let header: PackageHeader
            do { header = try await pool.run { try PackageHeader(path: path, source: try FileSource(path: path), maxBytes: maxBytes) } } catch let e
                as SealError where e.code != .ioError
            {
                return Self.refuse(
                    e, as: .notAPackage, detail: "not a sealgate package: \(e.message)", remedy: "send the sealed dataset file unchanged")
            }
            let c = header.comment
            let doc = try trust()
            if let refusal = Self.checkOrigin(c, doc) { return refusal }
            if let prior = try await store.dataset(packageId: c.package) {
                guard prior.sha256 == sha else {
                    return refuse(
                        .packageReused, "package \(c.package) was received before with other bytes",
                        "a package id is used once; seal a new version")
                }
                return Answer(status: HandbookStatus.repeated, ack: prior.ack, signature: prior.ackSignature, code: nil)
            }
            let out = "\(dir)/opened/\(c.package)"
            try? FileManager.default.removeItem(atPath: out)
            defer { try? FileManager.default.removeItem(atPath: out) }
            let t0 = Date()
            let signers = doc.verifyingKeys("dataset", signedAt: c.created.moment)
            do {
                _ = try await pool.run { try Verifier.verify(path: path, signers: signers, expectedUnit: doc.department, maxBytes: maxBytes) }
            } catch let e as SealError where e.code != .ioError {
                return Self.refuse(e, as: .refusedByChecks)
            }
            if let refusal = try await checkNewer(c) { return refusal }
            let opened: OpenedPackage
            do {
                opened = try await pool.run {
                    try Opener.open(
                        OpenRequest(
                            path: path, output: out, identities: identities,
                            signers: signers, expectedUnit: doc.department, maxBytes: maxBytes))
                }
            } catch let e as SealError where e.code != .ioError {
                return Self.refuse(e, as: .refusedByChecks)
            }
            // The manifest's record counts (checked by the opener) go into the acknowledgement;
            // the store checks that the rows streamed in match them.
            func count(_ name: String) -> Int { Int(opened.manifest.files.first { $0.name == name }?.records ?? 0) }
            let (orgs, members, conflicts) = (count("organizations.csv"), count("members.csv"), count("conflicts.csv"))
            let t1 = Date()
            let now = Timestamp.now
            let (text, sig) = try HandbookAck.sign(
                .object([
                    "format": .string("sealgate-handbook-ack/1"), "package": .string(c.package), "version": .int(Int64(c.seq)),
                    "sha256": .string(sha),
                    "members": .int(Int64(members)), "organizations": .int(Int64(orgs)), "conflicts": .int(Int64(conflicts)),
                    "imported_at": .string(now.text), "signer": .string(opened.signer.keyIdHex),
                ]), key: ackKey)
            do {
                try await store.importDataset(
                    ReceivedDataset(
                        version: c.seq, packageId: c.package, sha256: sha, receivedAt: now, members: members,
                        organizations: orgs, conflicts: conflicts, ack: text, ackSignature: sig)
                ) { insert in
                    for (name, table, columns) in [
                        ("organizations.csv", HandbookStore.Table.organizations, Synthesis.organizationHeader.count),
                        ("members.csv", .members, Synthesis.memberHeader.count), ("conflicts.csv", .conflicts, Synthesis.conflictHeader.count),
                    ] {
                        let r = try CSVReader(path: "\(out)/\(name)")
                        var first = true
                        while try malformed(name, { try r.next() }) {
                            if first {
                                first = false
                                continue
                            }
                            let f = r.fields.map(\.string)
                            guard f.count == columns else {
                                throw GatewayError(
                                    .datasetMalformed, "\(name) has a row of \(f.count) fields, not \(columns)", remedy: "report it to the department"
                                )
                            }
                            try insert(table, f)
                        }
                    }
                }
            } catch let e as SealError where [.datasetStale, .datasetCount, .datasetMalformed].contains(e.code) {
                return refuse(e.code, e.message, e.remedy)
            }
            try? FileManager.default.moveItem(atPath: path, toPath: "\(dir)/received/v\(c.seq)-\(c.package).sgp")
            var answer = Answer(status: HandbookStatus.imported, ack: text, signature: sig, code: nil)
            answer.timings = (t1.timeIntervalSince(t0), Date().timeIntervalSince(t1))
            return answer
        } catch let e as SealError where e.code == .trustExpired {
            return Self.expired(e)
        } catch {
            return fault(error)
        }
    }
}

/// A CSV syntax error in a dataset file, as `dataset_malformed` (the store rolls back).
private func malformed<T>(_ name: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as CSVSyntaxError {
        throw GatewayError(.datasetMalformed, "\(name) is not valid CSV: \(e)", remedy: "report it to the department; nothing was imported")
    }
}
