import Foundation
public import GatewayStore
public import SealBase
import SealCrypto
import SealPackage

// What the department holds, as an operator or a dashboard reads it: its keys with their states
// (`KeyInventory`), its dataset versions and their delivery (`DatasetInventory`), and what is
// about to expire (`ExpiryWatch`). Read-only: no secret key is read, nothing is written.

/// One department key: no secret is read to list it.
public struct DepartmentKeyEntry: Sendable, Equatable {
    /// recipient | receipt | dataset | log | root
    public var role: String
    /// pending | active | decrypt-only | verify-only | retired
    public var state: String
    /// The minisign key id (16 hex digits) or, for a recipient, its fingerprint.
    public var id: String
    /// The age1… recipient, or the minisign key's base64 line.
    public var publicKey: String
    /// A recipient: when it was made (the store's record). A signing key: when a trust document
    /// first published it, else when the store first recorded it.
    public var created: StatedTime?
    /// A decrypt-only recipient's or a verify-only signing key's end of grace (as the store or a
    /// trust document states it: an unreadable one counts as ended).
    public var until: StatedTime?
    /// What the state alone does not tell: an interrupted rotation, a grace that has ended.
    public var note: String?

    public init(
        role: String, state: String, id: String, publicKey: String, created: StatedTime?, until: StatedTime? = nil, note: String? = nil
    ) {
        self.role = role
        self.state = state
        self.id = id
        self.publicKey = publicKey
        self.created = created
        self.until = until
        self.note = note
    }

    public var json: JSON {
        .object([
            "role": .string(role), "state": .string(state), "id": .string(id), "public_key": .string(publicKey),
            "created": created.map { .string($0.text) } ?? .null, "until": until.map { .string($0.text) } ?? .null,
            "note": note.map(JSON.string) ?? .null,
        ])
    }
}

/// Every department key — the recipients and the receipt, dataset, log and root signing keys —
/// with its role, state, id, creation and end of grace, and the current trust document's
/// validity. Computed from the store (recipient and signing key states, the trust documents'
/// history) and the public key files in the data folder (`keys/ROLE.pub`: the key the gateway
/// signs with; `keys/ROLE-next.pub`: one a rotation has written).
public struct KeyInventory: Sendable {
    public var now: Timestamp
    public var trustVersion: UInt64?
    public var trustIssued: StatedTime?
    public var trustExpires: StatedTime?
    /// Root first, then recipients, receipt, dataset and log keys; within a role, in use first.
    public var keys: [DepartmentKeyEntry]

    public static let roles = ["root", "recipient", "receipt", "dataset", "log"]
    static let stateOrder = ["active", "pending", "decrypt-only", "verify-only", "retired"]

    /// The inventory at the clock's time (which graces have ended, what expires soon).
    public static func load(_ dir: DataDirectory, store: any GatewayStore, clock: any GatewayClock = .system) async throws -> KeyInventory {
        let now = clock.now
        let latest = try await store.latestTrust()
        let doc = latest.flatMap { try? JSON(parsing: $0.body) }.map(TrustDocument.init)
        // The trust documents' history: when each minisign key was first published, and the roots in turn.
        var firstPublished: [String: StatedTime] = [:]
        var roots: [(key: MinisignPublicKey, issued: StatedTime?, version: UInt64)] = []
        if let top = latest?.version, top > 0 {
            for v in 1...top {
                guard let record = try await store.trust(version: v), let j = try? JSON(parsing: record.body) else { continue }
                let issued = j["issued"]?.string.map(StatedTime.init)
                let named =
                    ["root_key", "receipt_key", "dataset_key", "log_key"].compactMap { j[$0]?.string }
                    + (j["signing_keys"]?.array ?? []).compactMap { $0["key"]?.string }
                for b64 in named {
                    guard let pk = try? MinisignPublicKey(base64: b64), firstPublished[pk.keyIdHex] == nil, let issued else { continue }
                    firstPublished[pk.keyIdHex] = issued
                }
                if let b64 = j["root_key"]?.string, let pk = try? MinisignPublicKey(base64: b64), roots.last?.key != pk {
                    roots.append((pk, issued, v))
                }
            }
        }
        var entries: [DepartmentKeyEntry] = []
        func publicFile(_ name: String) -> MinisignPublicKey? { try? MinisignPublicKey(path: "\(dir.keysPath)/\(name).pub") }

        // The trust root: root.pub, a rotation's root-next.pub, and the roots the history names.
        let root = publicFile("root") ?? (try? doc?.publicKey("root"))
        let nextRoot = publicFile("root-next").flatMap { $0 == root ? nil : $0 }
        if let root {
            entries.append(
                DepartmentKeyEntry(role: "root", state: "active", id: root.keyIdHex, publicKey: root.base64, created: firstPublished[root.keyIdHex]))
        }
        if let nextRoot {
            entries.append(
                DepartmentKeyEntry(
                    role: "root", state: "pending", id: nextRoot.keyIdHex, publicKey: nextRoot.base64, created: firstPublished[nextRoot.keyIdHex],
                    note: "an interrupted root rotation: rotating the root again finishes it"))
        }
        for (i, r) in roots.enumerated() where r.key != root && r.key != nextRoot {
            let replaced = i + 1 < roots.count ? " in trust document version \(roots[i + 1].version)" : ""
            entries.append(
                DepartmentKeyEntry(
                    role: "root", state: "retired", id: r.key.keyIdHex, publicKey: r.key.base64, created: firstPublished[r.key.keyIdHex],
                    note: "replaced by a new root\(replaced)"))
        }

        // Recipients: the store's states; a data folder from before them has the trust document's.
        let recipients = try await store.recipients()
        if recipients.isEmpty {
            for r in doc?.json["recipients"]?.array ?? [] {
                guard let fingerprint = r["fingerprint"]?.string, let recipient = r["recipient"]?.string else { continue }
                entries.append(
                    DepartmentKeyEntry(
                        role: "recipient", state: r["state"]?.string ?? "active", id: fingerprint, publicKey: recipient, created: nil,
                        until: r["until"]?.string.map(StatedTime.init)))
            }
        }
        for r in recipients {
            var note: String?
            if r.state == .decryptOnly, r.decryptUntil.map({ $0 <= now }) ?? true {
                note = "grace ended: packages sealed to it are refused; due for retirement"
            }
            entries.append(
                DepartmentKeyEntry(
                    role: "recipient", state: r.state.rawValue, id: r.fingerprint, publicKey: r.recipient, created: StatedTime(r.createdAt),
                    until: r.decryptUntil.map(StatedTime.init), note: note))
        }

        // Receipt, dataset and log keys: the store's records, the key in ROLE.pub (the one the
        // gateway signs with; the store records it only once it has been rotated), ROLE-next.pub.
        let stored = try await store.signingKeys()
        for role in ["receipt", "dataset", "log"] {
            let inUse = publicFile(role) ?? (try? doc?.publicKey(role))
            let mine = stored.filter { $0.role.rawValue == role }
            for k in mine {
                var note: String?
                if k.keyId == inUse?.keyIdHex && k.state != .active {
                    note = "still signs: the switch to the next key was interrupted; activating it again finishes it"
                } else if k.state == .active, let inUse, inUse.keyIdHex != k.keyId {
                    note = "not signing yet: the switch to it was interrupted; activating it again finishes it"
                } else if k.state == .verifyOnly, k.until.map({ $0 <= now }) ?? true {
                    note = "grace ended: no signature it made after that is accepted"
                }
                entries.append(
                    DepartmentKeyEntry(
                        role: role, state: k.state.rawValue, id: k.keyId, publicKey: k.publicKey,
                        created: firstPublished[k.keyId] ?? StatedTime(k.createdAt),
                        until: k.until.map(StatedTime.init), note: note))
            }
            if let inUse, !mine.contains(where: { $0.keyId == inUse.keyIdHex }) {
                entries.append(
                    DepartmentKeyEntry(
                        role: role, state: "active", id: inUse.keyIdHex, publicKey: inUse.base64, created: firstPublished[inUse.keyIdHex]))
            }
            if let next = publicFile("\(role)-next"), next != inUse, !mine.contains(where: { $0.keyId == next.keyIdHex }) {
                entries.append(
                    DepartmentKeyEntry(
                        role: role, state: "pending", id: next.keyIdHex, publicKey: next.base64, created: nil,
                        note: "written but not published (an interrupted rotation): activating it finishes the switch"))
            }
        }
        let order = { (e: DepartmentKeyEntry) in
            (roles.firstIndex(of: e.role) ?? roles.count, stateOrder.firstIndex(of: e.state) ?? stateOrder.count)
        }
        // Stable: within a role and state, the order found (the store's, oldest first).
        let sorted = entries.enumerated().sorted { a, b in
            let (x, y) = (order(a.element), order(b.element))
            return x != y ? x < y : a.offset < b.offset
        }.map(\.element)
        return KeyInventory(
            now: now, trustVersion: doc?.version, trustIssued: doc?.json["issued"]?.string.map(StatedTime.init),
            trustExpires: doc.map { StatedTime($0.expires) }, keys: sorted)
    }

    /// What expires within `horizon` (or has expired): the trust document, and the keys'
    /// graces (`ExpiryWatch`).
    public func notices(horizon: Duration = ExpiryWatch.horizon) -> [ExpiryNotice] {
        var all: [ExpiryNotice] = []
        if let trustVersion, let trustExpires,
            let n = ExpiryWatch.trustNotice(version: trustVersion, expires: trustExpires, now: now, horizon: horizon)
        {
            all.append(n)
        }
        return all + ExpiryWatch.keyNotices(keys, now: now, horizon: horizon)
    }

    public var json: JSON {
        .object([
            "now": .string(now.text),
            "trust": trustVersion.map { v in
                .object([
                    "version": .int(Int64(v)), "issued": trustIssued.map { .string($0.text) } ?? .null,
                    "expires": trustExpires.map { .string($0.text) } ?? .null,
                ])
            } ?? .null,
            "keys": .array(keys.map(\.json)),
            "warnings": .array(notices().map(\.json)),
        ])
    }
}

/// Something that expires soon, or has: the trust document (units can no longer fetch or use
/// it), a decrypt-only recipient's grace (packages sealed to it are refused after it), a
/// verify-only signing key's grace (its signatures made after it are not accepted).
public struct ExpiryNotice: Sendable, Equatable {
    public enum Subject: Sendable, Equatable {
        case trustDocument(version: UInt64)
        case key(role: String, id: String, state: String)
    }
    public var subject: Subject
    /// When it expires (or expired), as stated: an unreadable time counts as past.
    public var at: StatedTime
    /// Seconds from now until `at`; zero or less once it has passed.
    public var secondsLeft: Int64
    /// What expires, when, and what follows (no personal data, no secret).
    public var message: String
    /// What the department does about it (the command line adds its options).
    public var remedy: String

    public var hasPassed: Bool { secondsLeft <= 0 }

    public var json: JSON {
        var o: [String: JSON] = [
            "at": .string(at.text), "seconds_left": .int(secondsLeft), "message": .string(message), "remedy": .string(remedy),
        ]
        switch subject {
        case .trustDocument(let version):
            o["subject"] = .string("trust_document")
            o["version"] = .int(Int64(version))
        case .key(let role, let id, let state):
            o["subject"] = .string("key")
            o["role"] = .string(role)
            o["id"] = .string(id)
            o["state"] = .string(state)
        }
        return .object(o)
    }
}

/// Ahead of expiry: what `serve` logs at start and then daily, what `keys list` shows, what
/// `submit` tells a unit about its trust document.
public enum ExpiryWatch {
    /// Warn this long ahead: 14 days.
    public static let horizon: Duration = .seconds(14 * 86_400)

    /// "in 3 days", "in 5 hours", "2 days ago", …
    public static func inWords(_ seconds: Int64) -> String {
        let s = seconds.magnitude
        let amount =
            s >= 2 * 86_400 ? "\(s / 86_400) days" : s >= 2 * 3_600 ? "\(s / 3_600) hours" : s >= 2 * 60 ? "\(s / 60) minutes" : "\(s) seconds"
        return seconds > 0 ? "in \(amount)" : "\(amount) ago"
    }

    /// The trust document `version`, valid until `expires`: a notice when that is within `horizon`
    /// (or past); nil otherwise. A text that is not a moment counts as expired.
    public static func trustNotice(version: UInt64, expires: StatedTime, now: Timestamp, horizon: Duration = Self.horizon) -> ExpiryNotice? {
        let left = expires.secondsLeft(from: now)
        guard left <= horizon.components.seconds else { return nil }
        return ExpiryNotice(
            subject: .trustDocument(version: version), at: expires, secondsLeft: left,
            message: left > 0
                ? "trust document version \(version) expires at \(expires) (\(inWords(left))): after that units can neither fetch nor use it"
                : "trust document version \(version) expired at \(expires) (\(inWords(left))): units refuse it",
            remedy: "publish a new trust document version\(left > 0 ? " before then" : " now")")
    }

    /// A unit's trust document, at the clock's time.
    public static func trustNotice(_ doc: TrustDocument, clock: any GatewayClock = .system, horizon: Duration = Self.horizon) -> ExpiryNotice? {
        trustNotice(version: doc.version, expires: StatedTime(doc.expires), now: clock.now, horizon: horizon)
    }

    /// Graces that end within `horizon`: decrypt-only recipients (also once ended: they are due
    /// for retirement) and verify-only signing keys (until they end).
    public static func keyNotices(_ keys: [DepartmentKeyEntry], now: Timestamp, horizon: Duration = Self.horizon) -> [ExpiryNotice] {
        keys.compactMap { k in
            guard k.state == "decrypt-only" || k.state == "verify-only", let until = k.until else { return nil }
            let left = until.secondsLeft(from: now)
            guard left <= horizon.components.seconds else { return nil }
            let subject = ExpiryNotice.Subject.key(role: k.role, id: k.id, state: k.state)
            if k.state == "decrypt-only" {
                return left > 0
                    ? ExpiryNotice(
                        subject: subject, at: until, secondsLeft: left,
                        message: "recipient \(k.id) is decrypt-only until \(until) (\(inWords(left))): packages sealed to it are refused after that",
                        remedy: "units still sealing to it must fetch the trust document again; retire it once the grace has ended")
                    : ExpiryNotice(
                        subject: subject, at: until, secondsLeft: left,
                        message: "recipient \(k.id)'s grace ended at \(until) (\(inWords(left))): packages sealed to it are refused",
                        remedy: "retire it; its secret key is then destroyed or archived")
            }
            guard left > 0 else { return nil }  // an ended verify-only grace asks for nothing
            return ExpiryNotice(
                subject: subject, at: until, secondsLeft: left,
                message: "\(k.role) key \(k.id) is verify-only until \(until) (\(inWords(left))): its signatures made after that are not accepted",
                remedy: "nothing to do: it signs nothing since its rotation")
        }
    }

    /// What expires within `horizon` as the store says: the latest trust document and the
    /// recipients' and signing keys' graces (no files, no trust history: cheap enough to run
    /// often), at the clock's time.
    public static func check(store: any GatewayStore, clock: any GatewayClock = .system, horizon: Duration = Self.horizon) async throws
        -> [ExpiryNotice]
    {
        let now = clock.now
        var all: [ExpiryNotice] = []
        if let latest = try await store.latestTrust(), let j = try? JSON(parsing: latest.body) {
            let doc = TrustDocument(json: j)
            if let n = trustNotice(version: doc.version, expires: StatedTime(doc.expires), now: now, horizon: horizon) { all.append(n) }
        }
        let keys =
            try await store.recipients().map {
                DepartmentKeyEntry(
                    role: "recipient", state: $0.state.rawValue, id: $0.fingerprint, publicKey: $0.recipient, created: StatedTime($0.createdAt),
                    until: $0.decryptUntil.map(StatedTime.init))
            }
            + (try await store.signingKeys()).map {
                DepartmentKeyEntry(
                    role: $0.role.rawValue, state: $0.state.rawValue, id: $0.keyId, publicKey: $0.publicKey, created: StatedTime($0.createdAt),
                    until: $0.until.map(StatedTime.init))
            }
        return all + keyNotices(keys, now: now, horizon: horizon)
    }
}

/// One dataset version and its delivery to the handbook system.
public struct DatasetEntry: Sendable, Equatable {
    public var version: UInt64
    public var packageId: String
    public var created: Timestamp
    public var members: Int
    public var organizations: Int
    /// Rows of conflicts.csv: each record shared with another unit, listed with both units.
    public var conflicts: Int
    /// Records withheld from the dataset (stats.json in the data folder; nil where it is not:
    /// another machine of a scale-out deployment).
    public var withheld: Int?
    /// pending | delivered
    public var state: String
    public var attempts: Int
    public var lastError: String?
    public var nextAttempt: Timestamp?
    /// When the gateway recorded the handbook system's signed acknowledgement.
    public var acknowledgedAt: Timestamp?
    /// The handbook system's own time in that acknowledgement, as it signed it (another system's
    /// word: a moment when it is one, else shown as written).
    public var importedAt: StatedTime?
    public var sha256: String
    public var size: Int64

    public var json: JSON {
        .object([
            "version": .int(Int64(version)), "package": .string(packageId), "created": .string(created.text), "members": .int(Int64(members)),
            "organizations": .int(Int64(organizations)), "conflicts": .int(Int64(conflicts)), "withheld": withheld.map { .int(Int64($0)) } ?? .null,
            "state": .string(state), "attempts": .int(Int64(attempts)), "last_error": lastError.map(JSON.string) ?? .null,
            "next_attempt": nextAttempt.map { .string($0.text) } ?? .null, "acknowledged_at": acknowledgedAt.map { .string($0.text) } ?? .null,
            "handbook_imported_at": importedAt.map { .string($0.text) } ?? .null, "sha256": .string(sha256), "size": .int(size),
        ])
    }
}

/// Every dataset version, oldest first, with its delivery state (the outbox).
public struct DatasetInventory: Sendable {
    public var datasets: [DatasetEntry]

    public static func load(_ dir: DataDirectory, store: any GatewayStore) async throws -> DatasetInventory {
        DatasetInventory(
            datasets: try await store.datasets().map { d in
                let stats = (try? String(contentsOfFile: "\(dir.path)/datasets/v\(d.version)/stats.json", encoding: .utf8)).flatMap {
                    try? JSON(parsing: $0)
                }
                return DatasetEntry(
                    version: d.version, packageId: d.packageId, created: d.createdAt, members: d.members, organizations: d.organizations,
                    conflicts: d.conflicts, withheld: stats?["totals"]?["withheld"]?.int.map { Int($0) }, state: d.state.rawValue,
                    attempts: d.attempts, lastError: d.lastError, nextAttempt: d.state == .pending ? d.nextAttemptAt : nil,
                    acknowledgedAt: d.deliveredAt, importedAt: d.ack.flatMap { try? JSON(parsing: $0) }?["imported_at"]?.string.map(StatedTime.init),
                    sha256: d.sha256, size: d.size)
            })
    }

    public var json: JSON { .object(["datasets": .array(datasets.map(\.json))]) }
}
