public import Foundation
public import GatewayClient
public import GatewayCore
public import PartyRecords
public import SealBase
public import SealCrypto
public import SealPackage

/// What a unit does, from its folder (`UnitFolder`): keep the trust document fresh, check its
/// records, seal them with the next seq, submit, keep the receipt, remember it all in the
/// profile's history. `sealgate seal`/`submit` (with a profile) and the desk both go through here:
/// one code path, so the page and the command line cannot disagree.
public struct UnitWork: Sendable {
    public private(set) var folder: UnitFolder
    public let clock: any GatewayClock
    /// A trust document older than this (by its file's time) is fetched again before use.
    public static let trustRefreshAfter: Duration = .seconds(86_400)

    /// The clerk's language: a refusal's problem document comes in it.
    public let language: Language

    public init(folder: UnitFolder, clock: any GatewayClock = .system, language: Language = .vi) {
        self.folder = folder
        self.clock = clock
        self.language = language
    }

    public var profile: UnitProfile { folder.profile }

    /// The HTTP client's settings for this unit's gateway (its private CA, if any).
    public func clientSettings(maxResponseBytes: Int = 4 << 20) -> ClientSettings {
        var s = ClientSettings()
        s.caFile = folder.caFilePath
        s.maxResponseBytes = maxResponseBytes
        return s
    }

    // MARK: Trust

    /// The trust document as kept, its signature checked against its own root; nil when none is kept.
    public func heldTrust() throws -> TrustDocument? {
        let path = folder.trustPath
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let body = try? String(contentsOfFile: path, encoding: .utf8),
            let sig = try? String(contentsOfFile: path + ".minisig", encoding: .utf8)
        else { return nil }
        let pinned = try MinisignPublicKey(path: folder.rootPath)
        return try TrustDocument.verify(body: body, signature: sig, root: pinned, heldVersion: nil)
    }

    /// True when the held document should be fetched again: none, expired, expiring within the
    /// warning horizon, or kept longer than `trustRefreshAfter`.
    public func trustIsStale(_ held: TrustDocument?) -> Bool {
        guard let held, let expires = held.expiresAt else { return true }
        let now = clock.now
        if expires.unixSeconds - now.unixSeconds <= ExpiryWatch.horizon.components.seconds { return true }
        let attrs = try? FileManager.default.attributesOfItem(atPath: folder.trustPath)
        guard let modified = attrs?[.modificationDate] as? Date else { return true }
        return now.unixSeconds - Int64(modified.timeIntervalSince1970) >= Self.trustRefreshAfter.components.seconds
    }

    /// What `currentTrust` did.
    public struct TrustState: Sendable {
        public var document: TrustDocument
        /// Fetched now (else the kept one was fresh, or the gateway could not be reached).
        public var fetched: Bool
        /// The gateway could not be reached and the kept document is used: why.
        public var fetchFailed: SealError?
        /// The department's trust root changed (the pin in the profile's root file moved).
        public var rootRotatedTo: String?
    }

    /// The trust document to seal and submit with: the kept one while fresh, else fetched again
    /// from the gateway (verified against the pinned root; `root` rewritten when the department
    /// rotated its root, signed by both). When the gateway cannot be reached, a kept document that
    /// has not expired is used (and the failure said); an expired or missing one is an error.
    public mutating func currentTrust(_ http: GatewayClient, force: Bool = false) async throws -> TrustState {
        let held: TrustDocument?
        do { held = try heldTrust() } catch { held = nil }
        if !force, let held, !trustIsStale(held) { return TrustState(document: held, fetched: false) }
        do {
            let pinned = try MinisignPublicKey(path: folder.rootPath)
            let floor = max(held?.version ?? 0, profile.trustVersion ?? 0)
            let latest = try await TrustDocument.fetch(http, gateway: profile.gateway, pin: pinned, heldVersion: floor > 0 ? floor : nil)
            try latest.body.write(toFile: folder.trustPath, atomically: true, encoding: .utf8)
            try latest.signature.write(toFile: folder.trustPath + ".minisig", atomically: true, encoding: .utf8)
            var rotated: String?
            let newRoot = try latest.document.publicKey("root")
            if newRoot.base64 != pinned.base64 {
                let pk = MinisignPublicKey(
                    keyId: newRoot.keyId, key: newRoot.key, comment: "sealgate root key \(newRoot.keyIdHex) of \(latest.document.department)")
                try pk.fileContents.write(toFile: folder.rootPath, atomically: true, encoding: .utf8)
                rotated = newRoot.keyIdHex
            }
            let version = latest.document.version
            if version > (profile.trustVersion ?? 0) { try folder.update { $0.trustVersion = version } }
            return TrustState(document: latest.document, fetched: true, rootRotatedTo: rotated)
        } catch let e as SealError where Self.isUnreachable(e) {
            guard let held, let expires = held.expiresAt, expires > clock.now else { throw e }
            return TrustState(document: held, fetched: false, fetchFailed: e)
        }
    }

    /// The network, not the gateway's word: a kept document may stand in.
    static func isUnreachable(_ e: SealError) -> Bool {
        [SealErrorCode.httpError, .httpTimeout, .tlsFailed, .responseTooLarge].contains(e.code)
    }

    // MARK: Seq

    /// Asks the gateway which seq the unit used last (`GET /v1/units/{id}`, with the unit's token):
    /// noted in the profile. Quietly nothing without a token or an answer: the history and the
    /// gateway's refusals still count.
    public mutating func learnGatewaySeq(_ http: GatewayClient) async throws {
        guard let token = try folder.token() else { return }
        let base = profile.gateway.hasSuffix("/") ? String(profile.gateway.dropLast()) : profile.gateway
        guard let r = try? await http.send("GET", "\(base)/v1/units/\(profile.unit)", headers: [("Authorization", "Bearer \(token)")]),
            r.status == 200, let last = (try? JSON(parsing: r.text))?["last_seq"]?.int, last >= 0
        else { return }
        try folder.update { $0.noteGatewaySeq(UInt64(last)) }
    }

    // MARK: Records

    /// Which package kind the record inputs make (CSV files or a workbook's sheets): the
    /// corrections alone are a correction, the organizations and members a snapshot.
    public static func kind(of files: [String], unit: String) throws -> PackageKind {
        let units = try RecordCheck.resolve(files, defaultUnit: unit)
        let kinds = Set(units.flatMap { Array($0.files.keys) + Array($0.sheets.keys) })
        if kinds == [.corrections] { return .correction }
        guard kinds == [.organizations, .members] else {
            throw SealError(
                .recordsUnreadable, "a package carries either the organizations and the members, or the corrections",
                remedy: "give organizations and members together (a snapshot), or the corrections alone")
        }
        return .snapshot
    }

    /// Checks the records as the gateway will (without the cross-unit checks) at the clock's
    /// date: the validator holds the findings and the counts. `sink` receives the normalized files.
    public func validate(_ files: [String], keep: Int = 10_000, sink: (any NormalizedSink)? = nil, warn: ((String) -> Void)? = nil) throws
        -> RecordValidator
    {
        let today = CivilDate(daysSinceEpoch: Int(clock.now.unixSeconds / 86_400))
        return try RecordCheck.run(files, today: today, crossUnit: false, defaultUnit: profile.unit, sink: sink, keep: keep, warn: warn)
    }

    // MARK: Sealing

    /// What was sealed: the history entry (also saved in the profile) and the sealer's result.
    public struct Sealed: Sendable {
        public var entry: UnitProfile.HistoryEntry
        public var result: SealResult
        public var path: String
    }

    /// Validates and seals `files` with the next seq (or `seq`) to the trust document's active
    /// recipients, into the profile's packages folder; `records_invalid` when the records have
    /// errors (nothing sealed). The package and the seq are recorded in the history.
    public mutating func seal(
        _ files: [String], signer: any MinisignSigner, trust: TrustDocument, seq: UInt64? = nil, validated: RecordValidator? = nil,
        progress: ProgressHandler? = nil
    ) throws -> Sealed {
        let kind = try Self.kind(of: files, unit: profile.unit)
        // A workbook's sheets are sealed as the normalized CSV files of the spec, written into a
        // private folder removed as soon as the package is sealed or refused.
        let staging = try WorkbookStaging(inputs: files, recordKind: true)
        defer { staging.remove() }
        let v = try staging.sink == nil ? (validated ?? validate(files)) : validate(files, sink: staging.sink)
        let errors = v.errorCount
        guard errors == 0 else {
            throw SealError(
                .recordsInvalid, "the records have \(errors) error(s); nothing was sealed",
                remedy: "fix the rows the check lists, then seal again")
        }
        let seq = seq ?? profile.nextSeq
        try FileManager.default.createDirectory(atPath: folder.packagesPath, withIntermediateDirectories: true)
        let name = "\(profile.unit)-\(seq)-\(kind.rawValue).sgp"
        let output = "\(folder.packagesPath)/\(name)"
        let inputs = staging.files(files).map { SealRequest.Input(name: URL(fileURLWithPath: $0).lastPathComponent, path: $0) }
        let result = try Sealer.seal(
            SealRequest(
                unit: profile.unit, seq: seq, kind: kind, inputs: inputs, recipients: try trust.activeRecipients(), signer: signer, output: output),
            progress: progress)
        var entry = UnitProfile.HistoryEntry(
            seq: seq, kind: kind.rawValue, package: "\(profile.packages)/\(name)", packageId: result.comment.package, sealedAt: clock.now)
        let summary = v.units.first
        if kind == .snapshot {
            entry.organizations = summary?.organizations
            entry.members = summary?.members
        } else {
            entry.corrections = summary?.corrections
        }
        try folder.update { $0.history.append(entry) }
        return Sealed(entry: entry, result: result, path: output)
    }

    // MARK: Submitting

    /// Submits a package of the history (by package id) and records the answer there.
    public mutating func submit(packageId: String, _ http: GatewayClient, trust: TrustDocument) async throws -> SubmissionOutcome {
        guard let i = profile.history.firstIndex(where: { $0.packageId == packageId }) else {
            throw SealError(.packageUnknown, "no package \(packageId) in this unit's history", remedy: "seal it first")
        }
        let path = folder.resolve(profile.history[i].package)
        let outcome = try await Submission.send(
            http, base: Submission.intakeBase(gateway: profile.gateway, trust: trust), package: path, token: try folder.token(), trust: trust,
            language: language)
        let now = clock.now
        let root = folder.path + "/"
        let receipt = outcome.receiptPath.map { r in r.hasPrefix(root) ? String(r.dropFirst(root.count)) : r }
        try folder.update { p in
            if let last = outcome.lastSeq { p.noteGatewaySeq(last) }
            if outcome.status != nil || outcome.code != nil {
                p.history[i].status = outcome.status ?? "refused"
                p.history[i].code = outcome.code
            }
            if outcome.receipt != nil {
                p.history[i].receiptVerifiedAt = now
                p.history[i].receipt = receipt
            }
        }
        return outcome
    }

    /// Seals and submits in one go, resolving a taken seq itself: when the gateway answers
    /// `seq_not_increasing` or `seq_conflict`, the same records are sealed again with the seq
    /// after the one it names and sent again (at most `attempts` times). The trust document is
    /// refreshed first when stale.
    public mutating func sealAndSubmit(
        _ files: [String], signer: any MinisignSigner, _ http: GatewayClient, attempts: Int = 3, progress: ProgressHandler? = nil
    ) async throws -> (sealed: Sealed, outcome: SubmissionOutcome) {
        let trust = try await currentTrust(http).document
        try await learnGatewaySeq(http)
        var last: (Sealed, SubmissionOutcome)?
        for _ in 0..<max(1, attempts) {
            let sealed = try seal(files, signer: signer, trust: trust, progress: progress)
            let outcome = try await submit(packageId: sealed.entry.packageId, http, trust: trust)
            last = (sealed, outcome)
            guard outcome.seqTaken else { break }
        }
        return last!
    }
}
