import Foundation
public import GatewayClient
public import GatewayStore
import PartyRecords
public import SealBase
public import SealCrypto
import SealPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Where datasets go: the handbook system's sync endpoint, the recipients it decrypts with, the
/// minisign key its acknowledgements are signed with, and — for `https://` — the CA its
/// certificate is checked against (PEM text, kept in the store so every process has it) and the
/// client certificate the forwarder presents when the handbook requires one.
public struct HandbookEndpoint: Sendable {
    public var url: String
    public var recipients: [any AgeKeyRecipient]
    public var ackKey: MinisignPublicKey
    public var caPEM: String?
    public var clientCertificateFile: String?
    public var clientKeyFile: String?

    public init(
        url: String, recipients: [any AgeKeyRecipient], ackKey: MinisignPublicKey, caPEM: String? = nil,
        clientCertificateFile: String? = nil, clientKeyFile: String? = nil
    ) {
        self.url = url
        self.recipients = recipients
        self.ackKey = ackKey
        self.caPEM = caPEM
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }

    public var json: JSON {
        var o: [String: JSON] = ["url": .string(url), "recipients": .array(recipients.map { .string($0.string) }), "ack_key": .string(ackKey.base64)]
        if let caPEM { o["ca_pem"] = .string(caPEM) }
        if let clientCertificateFile { o["client_cert"] = .string(clientCertificateFile) }
        if let clientKeyFile { o["client_key"] = .string(clientKeyFile) }
        return .object(o)
    }

    /// What the transparency log records of a connection (`handbook_connected`): the URL, the
    /// recipients and the acknowledgement key — all public — and only a SHA-256 of the CA
    /// certificates and whether a client certificate is used: the log is public, the gateway's
    /// file paths and trust configuration are not its business.
    public var logJSON: JSON {
        var o: [String: JSON] = [
            "url": .string(url), "recipients": .array(recipients.map { .string($0.string) }), "ack_key": .string(ackKey.base64),
            "client_certificate": .bool(clientCertificateFile != nil),
        ]
        if let caPEM { o["ca_sha256"] = .string(hexString(SHA256Hasher.hash(Array(caPEM.utf8)))) }
        return .object(o)
    }

    /// How the forwarder connects to it.
    public func clientSettings(timeout: Duration) -> ClientSettings {
        var s = ClientSettings(
            caPEM: caPEM, clientCertificateFile: clientCertificateFile, clientKeyFile: clientKeyFile, timeout: timeout)
        s.maxResponseBytes = 1 << 20  // an acknowledgement is a few hundred bytes
        return s
    }

    public static func load(_ store: any GatewayStore) async throws -> HandbookEndpoint? {
        guard let text = try await store.setting("handbook") else { return nil }
        let j = try JSON(parsing: text)
        guard let url = j["url"]?.string, let ack = j["ack_key"]?.string else { return nil }
        return HandbookEndpoint(
            url: url, recipients: try (j["recipients"]?.array ?? []).compactMap(\.string).map { try AgeKeys.recipient($0) },
            ackKey: try MinisignPublicKey(base64: ack), caPEM: j["ca_pem"]?.string,
            clientCertificateFile: j["client_cert"]?.string, clientKeyFile: j["client_key"]?.string)
    }
}

/// What a synthesis produced.
public struct SynthesisSummary: Sendable {
    public var version: UInt64
    public var packageId: String
    public var path: String
    public var members: Int
    public var organizations: Int
    public var conflicts: Int
    public var withheld: Int
    public var units: Int
    /// Flagged packages that hold records back, or are still to be reviewed (unit, seq order).
    public var flagged: [HeldPackage]
    /// Records left out because of them.
    public var flaggedWithheld: Int
}

/// Merges every unit's current records into one city-wide dataset (issue 5): conflict-free
/// organizations.csv and members.csv (a `unit_id` column first), conflicts.csv (every record
/// whose citizen_id or member_id is also another unit's, withheld and listed with both units),
/// stats.json (per unit). The records of flagged packages not yet reviewed, or rejected, are
/// left out (`GatewayStore.datasetRecords`), counted and named in stats.json. The same store
/// contents give the same bytes.
public enum Synthesis {
    public static let memberHeader = [
        "unit_id", "member_id", "full_name", "gender", "date_of_birth", "citizen_id", "date_joined", "date_official",
        "status", "org_id", "phone", "email", "ethnicity", "hometown", "education",
    ]
    public static let organizationHeader = ["unit_id", "org_id", "name", "type", "parent_id"]
    public static let conflictHeader = ["key", "value", "unit_id", "member_id", "citizen_id", "full_name", "org_id"]
    /// The most units whose records are read ahead of the merge, and the most members they may
    /// hold in all beyond the first (a unit's rows are some 250 bytes a member in memory).
    static let readAhead = 3
    static let readAheadMembers = 300_000

    /// Writes the four files into `dir` (created); returns counts.
    public static func build(
        store: any GatewayStore, campaign: Campaign, into dir: String,
        progress: (String) -> Void = { _ in }
    ) async throws -> (members: Int, organizations: Int, conflicts: Int, withheld: Int, units: Int, flagged: [HeldPackage], flaggedWithheld: Int) {
        // Progress shows the time taken (a monotonic measure, not a time of day: not the gateway's clock).
        let started = ContinuousClock.now
        func elapsed() -> String {
            let d = ContinuousClock.now - started
            return String(format: "%.1f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let rows = try await store.campaignRows()
        progress("\(rows.count) units (\(elapsed()))")

        let orgOut = try CSVFile("\(dir)/organizations.csv")
        let memOut = try CSVFile("\(dir)/members.csv")
        let conOut = try CSVFile("\(dir)/conflicts.csv")
        try orgOut.w.record(organizationHeader)
        try memOut.w.record(memberHeader)
        try conOut.w.record(conflictHeader)
        var members = 0
        var organizations = 0
        // Every unit's rows are written as they come, their ids noted; once all are written the ids
        // in more than one unit are found (`CrossUnitIds.finish`) and their rows taken out.
        var ids = CrossUnitIds(expected: rows.reduce(0) { $0 + $1.members })
        // Each merged unit's counts, for stats.json.
        var merged: [(unit: String, package: String, importedAt: Timestamp, members: Int, organizations: Int, filled: Int)] = []
        let optional = 9...13  // phone, email, ethnicity, hometown, education (0-based columns of a members row)
        var flagged: [HeldPackage] = []
        var flaggedWithheld = 0
        var review: [String: JSON] = [:]
        // The next units' records are read (readers of the store, on the other core: reading is
        // most of the merge's work) while this unit's are written — at most `readAhead` units, and
        // beyond the first only while they hold at most `readAheadMembers` members in all.
        var ahead: [Task<DatasetUnitRecords, any Error>] = []
        var aheadMembers: [Int] = []
        var fetched = 0
        func fetchAhead() {
            while fetched < rows.count && ahead.count < readAhead
                && (ahead.isEmpty || aheadMembers.reduce(0, +) + rows[fetched].members <= readAheadMembers)
            {
                let unit = rows[fetched].unitId
                ahead.append(Task { try await store.datasetRecords(unitId: unit) })
                aheadMembers.append(rows[fetched].members)
                fetched += 1
            }
        }
        do {
            try await merge()
        } catch {
            // Reads under way are waited for: nothing goes on reading the store after a failure.
            for read in ahead { _ = try? await read.value }
            throw error
        }
        func merge() async throws {
            for row in rows {
                fetchAhead()
                guard !ahead.isEmpty else { break }
                let current = ahead.removeFirst()
                aheadMembers.removeFirst()
                let taken = try await current.value
                fetchAhead()
                if let hold = taken.hold {
                    flagged += hold.held.filter { $0.flag.resolution == nil || $0.withheld > 0 }
                    flaggedWithheld += hold.withheld
                    review[row.unitId] = reviewJSON(hold)
                }
                guard let u = taken.records else { continue }
                if (merged.count + 1) % 500 == 0 { progress("\(merged.count + 1) units merged, \(members) members (\(elapsed()))") }
                // Rows are written from the store's bytes as they are: no String per value but the two ids.
                let orgRows = u.organizationRows
                let memberRows = u.memberRows
                ids.startUnit(at: memOut.w.offset)
                try orgRows.bytes.withUnsafeBytes { bytes in
                    for r in 0..<orgRows.count { try write(orgOut.w, u.unitId, orgRows, bytes, row: r) }
                }
                organizations += orgRows.count
                var filled = 0
                try memberRows.bytes.withUnsafeBytes { bytes in
                    for r in 0..<memberRows.count {
                        for i in optional where !memberRows.range(row: r, column: i).isEmpty { filled += 1 }
                        ids.add(
                            citizen: UnsafeRawBufferPointer(rebasing: bytes[memberRows.range(row: r, column: 4)]),
                            member: UnsafeRawBufferPointer(rebasing: bytes[memberRows.range(row: r, column: 0)]), at: memOut.w.offset)
                        try write(memOut.w, u.unitId, memberRows, bytes, row: r)
                        members += 1
                    }
                }
                merged.append((u.unitId, u.packageId, u.importedAt, memberRows.count, orgRows.count, filled))
            }
        }
        try orgOut.close()
        try memOut.close()
        // Every record whose citizen_id or member_id is also another unit's is withheld and listed.
        let found = ids.finish()
        let held = found.heldRows
        progress(
            "\(merged.count) units merged; \(found.citizenCount) citizen id(s) and \(found.memberCount) member id(s) in more than one unit, \(held.count) record(s) withheld (\(elapsed()))"
        )
        var (conflictRows, heldByUnit): ([[String]], [String: Int]) = ([], [:])
        if !held.isEmpty { (conflictRows, heldByUnit) = try withhold(held, from: "\(dir)/members.csv") }
        let withheld = held.count
        members -= withheld
        let unitsInDataset = merged.count
        var perUnit: [String: JSON] = [:]
        for u in merged {
            let held = heldByUnit[u.unit] ?? 0
            let completeness = u.members == 0 ? 0 : Double(u.filled) / Double(u.members * optional.count)
            perUnit[u.unit] = .object([
                "members": .int(Int64(u.members)), "members_in_dataset": .int(Int64(u.members - held)), "withheld": .int(Int64(held)),
                "organizations": .int(Int64(u.organizations)), "completeness": .string(String(format: "%.4f", completeness)),
                "package": .string(u.package), "imported_at": .string(u.importedAt.text),
            ])
        }
        conflictRows.sort { $0.lexicographicallyPrecedes($1) }
        for r in conflictRows { try conOut.w.record(r) }
        try conOut.close()

        // stats.json: every registered unit, with its findings and timeliness.
        var units: [String: JSON] = [:]
        for r in rows {
            var o: [String: JSON] = [:]
            if case .object(let s)? = perUnit[r.unitId] { o = s }
            let receipt = r.currentReceipt.flatMap { try? JSON(parsing: $0) }
            o["name"] = .string(r.name)
            o["findings_by_rule"] = receipt?["validation"]?["rules"] ?? .object([:])
            o["warnings"] = receipt?["validation"]?["warnings"] ?? .int(0)
            o["submitted"] = .bool(r.firstAcceptedAt != nil)
            o["first_accepted_at"] = r.firstAcceptedAt.map { .string($0.text) } ?? .null
            // On time unless accepted after the deadline.
            o["on_time"] = campaign.submitBy.map { by in r.firstAcceptedAt.map { .bool($0 <= by) } ?? .bool(false) } ?? .null
            o["rejected_packages"] = .int(Int64(r.rejected))
            o["review"] = review[r.unitId] ?? .null
            units[r.unitId] = .object(o)
        }
        let stats = JSON.object([
            "format": .string("sealgate-dataset-stats/1"), "campaign": campaign.json,
            "totals": .object([
                "units_registered": .int(Int64(rows.count)), "units_in_dataset": .int(Int64(unitsInDataset)),
                "members": .int(Int64(members)), "organizations": .int(Int64(organizations)),
                "withheld": .int(Int64(withheld)), "conflicts": .int(Int64(conflictRows.count)),
                "flagged_unresolved": .int(Int64(flagged.filter { $0.flag.resolution == nil }.count)),
                "flagged_withheld": .int(Int64(flaggedWithheld)),
            ]),
            "units": .object(units),
        ])
        try (stats.canonical + "\n").write(toFile: "\(dir)/stats.json", atomically: true, encoding: .utf8)
        return (members, organizations, conflictRows.count, withheld, unitsInDataset, flagged, flaggedWithheld)
    }

    /// One dataset row: the unit, then a stored row's fields as they are (`bytes`: the batch's).
    static func write(_ w: CSVWriter, _ unit: String, _ rows: RowBatch, _ bytes: UnsafeRawBufferPointer, row r: Int) throws {
        w.field(unit)
        for col in 0..<rows.columns { w.field(UnsafeRawBufferPointer(rebasing: bytes[rows.range(row: r, column: col)])) }
        try w.endRecord()
    }

    /// Rewrites the dataset's members.csv without the records `held` (where each starts, ascending,
    /// and which of its ids is also another unit's) and lists each of them in conflicts — once for
    /// its citizen_id, once for its member_id, as marked. Only the held records are parsed (the
    /// file is this writer's: RFC 4180, LF line ends; a record of any length); the others are
    /// copied as they are. Returns the conflicts' lines and the records taken out per unit.
    static func withhold(_ held: [CrossUnitIds.Held], from path: String) throws -> (conflicts: [[String]], heldByUnit: [String: Int]) {
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw SealError.io("cannot open \(path)", errno: errno) }
        defer { close(input) }
        // The city's records in clear: gone whatever happens (renamed over members.csv when done;
        // after a crash, removed with the version's other CSV files when the gateway starts).
        let kept = "\(path.hasSuffix(".csv") ? String(path.dropLast(4)) : path).kept.csv"
        defer { unlink(kept) }
        let out = try CSVFile(kept)
        var conflicts: [[String]] = []
        var heldByUnit: [String: Int] = [:]
        var copied = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        // Copies the bytes of `input` from `copied` up to `end` (nil: its end).
        func copy(upTo end: Int?) throws {
            while end.map({ copied < $0 }) ?? true {
                let want = min(buffer.count, end.map { $0 - copied } ?? buffer.count)
                let n = buffer.withUnsafeMutableBytes { pread(input, $0.baseAddress, want, off_t(copied)) }
                guard n >= 0 else { throw SealError.io("cannot read \(path)", errno: errno) }
                if n == 0 { break }
                try buffer.withUnsafeBytes { try out.w.rawBytes(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                copied += n
            }
        }
        for h in held {
            try copy(upTo: h.offset)
            let (f, end) = try record(in: input, at: h.offset, path: path)
            // unit_id, member_id, full_name, …, citizen_id (5), …, org_id (9): the dataset's columns.
            guard f.count == memberHeader.count else { throw SealError.io("\(path): a record of \(f.count) fields at byte \(h.offset)", errno: 0) }
            let (unit, mid, name, cid, org) = (f[0], f[1], f[2], f[5], f[9])
            heldByUnit[unit, default: 0] += 1
            if h.citizen { conflicts.append(["citizen_id", cid, unit, mid, cid, name, org]) }
            if h.member { conflicts.append(["member_id", mid, unit, mid, cid, name, org]) }
            copied = end
        }
        try copy(upTo: nil)
        try out.close()
        guard rename(kept, path) == 0 else { throw SealError.io("cannot replace \(path)", errno: errno) }
        return (conflicts, heldByUnit)
    }

    /// The record of members.csv (this writer's) that starts at `offset`: its fields and where the
    /// next one starts (`OwnCSV.record`, read a growing piece at a time: a record of any length).
    static func record(in fd: Int32, at offset: Int, path: String) throws -> (fields: [String], end: Int) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            guard n >= 0 else { throw SealError.io("cannot read \(path)", errno: errno) }
            let found = try buffer.withUnsafeBytes { try OwnCSV.record(UnsafeRawBufferPointer(rebasing: $0[0..<n]), at: 0, final: n < $0.count) }
            if let (fields, end) = found { return (fields.map { String(decoding: $0, as: UTF8.self) }, offset + end) }
            buffer = [UInt8](repeating: 0, count: buffer.count * 2)
        }
    }

    /// stats.json's `review` of a unit whose flagged packages hold records back: where its
    /// records come from and, per package, its decision and the records it holds back.
    static func reviewJSON(_ h: ReviewHold) -> JSON {
        .object([
            "current_package": h.currentPackage.map(JSON.string) ?? .null, "dataset_package": h.datasetPackage.map(JSON.string) ?? .null,
            "members_in_dataset": .int(Int64(h.datasetMembers)), "withheld": .int(Int64(h.withheld)),
            "packages": .array(
                h.held.map { p in
                    .object([
                        "package": .string(p.flag.packageId), "seq": .int(Int64(bitPattern: p.flag.seq)),
                        "kind": p.kind.map { .string($0.rawValue) } ?? .null,
                        "resolution": .string(p.flag.resolution?.rawValue ?? "unresolved"), "withheld": .int(Int64(p.withheld)),
                        "flagged_at": .string(p.flag.flaggedAt.text),
                    ])
                }),
        ])
    }

    /// Synthesizes version N+1, seals it (kind=dataset, seq = version) with the dataset key to
    /// the handbook system's recipients, and records it in the outbox with its log entry. The
    /// package is created at the clock's time (its comment, the dataset record, the log entry).
    public static func synthesize(
        data: DataDirectory, store: any GatewayStore, keys: DepartmentKeys, department: String, progress: (String) -> Void = { _ in },
        clock: any GatewayClock = .system
    ) async throws -> SynthesisSummary {
        guard let handbook = try await HandbookEndpoint.load(store), !handbook.recipients.isEmpty else {
            throw GatewayError(
                .handbookUnset, "no handbook system is configured to seal the dataset to",
                remedy: "connect the handbook system first: its URL, its recipient and its acknowledgement key")
        }
        guard try await store.campaignRows().contains(where: { $0.members > 0 }) else {
            throw GatewayError(
                .datasetEmpty, "no unit has accepted records yet: there is nothing to synthesize",
                remedy: "wait for units' snapshots (sealgate status shows who has submitted)")
        }
        // One synthesis at a time, across processes (the CLI, POST /v1/datasets, the schedule):
        // the version is taken and its folder written under an exclusive lock.
        try FileManager.default.createDirectory(
            atPath: "\(data.path)/datasets", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lockFD = open("\(data.path)/datasets/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw SealError.io("cannot open \(data.path)/datasets/.lock", errno: errno) }
        defer { close(lockFD) }
        guard flock(lockFD, LOCK_EX) == 0 else { throw SealError.io("cannot lock \(data.path)/datasets/.lock", errno: errno) }
        let version = (try await store.datasets().last?.version ?? 0) + 1
        let work = "\(data.path)/datasets/v\(version)"
        try? FileManager.default.removeItem(atPath: work)  // left by an interrupted run: rebuilt
        // A dataset key on a token signs a test message before the city's records are written
        // in clear: a token away leaves no plaintext behind.
        try (keys.dataset as? Pkcs11Signer)?.check()
        // The city's records in clear live no longer than the sealing, whether it succeeds or
        // not: only the sealed package (and stats.json, counts without personal data) stay.
        defer { for f in PackageKind.dataset.requiredFiles! where f.hasSuffix(".csv") { unlink("\(work)/\(f)") } }
        let counts = try await build(store: store, campaign: try Campaign.load(store), into: work, progress: progress)
        progress("files written; sealing")
        let output = "\(data.path)/datasets/dataset-v\(version).sgp"
        try? FileManager.default.removeItem(atPath: output)
        let now = clock.now
        let created = now.text
        // Sealed to the handbook system and to the department's own active recipient: the
        // plaintext files go once sealed, and the department can still open its copy (the
        // conflicts to follow up, an audit) with `sealgate open --identity DATA/keys/recipient…`.
        // Of the handbook's type only (age does not mix post-quantum and classical recipients):
        // the active one, or — while the department moves to that type — the one announced.
        let handbookPQ = handbook.recipients.contains { $0 is AgeHybridRecipient }
        let mine = try await store.recipients().filter { $0.state == .active || $0.state == .pending }
            .map { (state: $0.state, recipient: try AgeKeys.recipient($0.recipient)) }
            .filter { ($0.recipient is AgeHybridRecipient) == handbookPQ }
        let own = (mine.contains { $0.state == .active } ? mine.filter { $0.state == .active } : mine).map(\.recipient)
        guard !own.isEmpty else {
            throw SealError(
                .ageRecipientsMixed,
                "the handbook system's recipient is \(handbookPQ ? "post-quantum" : "classical") and the department has no active or announced recipient of that type: a dataset is sealed to both, and age does not mix the two",
                remedy: "announce a department recipient of the handbook system's type (a pending one) and synthesize again")
        }
        let request = SealRequest(
            unit: department, seq: version, kind: .dataset,
            inputs: PackageKind.dataset.requiredFiles!.map { .init(name: $0, path: "\(work)/\($0)") },
            recipients: handbook.recipients + own.filter { r in !handbook.recipients.contains { $0.string == r.string } },
            signer: keys.dataset, output: output, created: created)
        // Sealing and hashing are CPU and file work: on the blocking pool.
        let (sealed, sha) = try await BlockingPool.shared.run { (try Sealer.seal(request), try sha256File(output)) }
        let size = (try FileManager.default.attributesOfItem(atPath: output)[.size] as? NSNumber)?.int64Value ?? 0
        let record = DatasetRecord(
            version: version, packageId: sealed.comment.package, path: output, sha256: sha, size: size, members: counts.members,
            organizations: counts.organizations, conflicts: counts.conflicts, createdAt: now)
        let log = JSON.object([
            "format": .string("sealgate-log/1"), "kind": .string("dataset"), "version": .int(Int64(version)),
            "package": .string(sealed.comment.package), "sha256": .string(sha), "members": .int(Int64(counts.members)),
            "organizations": .int(Int64(counts.organizations)), "conflicts": .int(Int64(counts.conflicts)),
            "withheld": .int(Int64(counts.withheld)), "units": .int(Int64(counts.units)),
            "flagged_withheld": .int(Int64(counts.flaggedWithheld)),
        ]).canonical
        do { try await store.addDataset(record, logBody: log) } catch let e as StoreError where e.code == .datasetExists {
            throw GatewayError(.datasetExists, e.message, remedy: "another gateway on the same store made this version; run it again")
        }
        return SynthesisSummary(
            version: version, packageId: sealed.comment.package, path: output, members: counts.members, organizations: counts.organizations,
            conflicts: counts.conflicts, withheld: counts.withheld, units: counts.units, flagged: counts.flagged,
            flaggedWithheld: counts.flaggedWithheld)
    }
}

/// SHA-256 of a file, hex (streamed).
public func sha256File(_ path: String) throws -> String {
    let source = try FileSource(path: path)
    let hasher = SHA256Hasher()
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { break }
        buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }
    return hexString(hasher.finalize())
}

/// A CSV file written through `CSVWriter`. Not synced: the dataset's files in clear are read once
/// by the sealing and removed — only the sealed package is made durable (by the sealer), and a
/// synthesis a crash interrupts is made again; the less of the records in clear reaches the disk,
/// the better.
final class CSVFile {
    let fd: Int32
    let w: CSVWriter
    let path: String
    private var closed = false
    init(_ path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SealError.io("cannot create \(path)", errno: errno) }
        w = CSVWriter(fd: fd)
    }
    deinit { if !closed { Glibc.close(fd) } }
    func close() throws {
        guard !closed else { return }
        defer {
            closed = true
            Glibc.close(fd)
        }
        try w.flush()
    }
}

/// The ids of a dataset's member rows that are in more than one unit, noted as the merge writes
/// the rows, unit after unit, and found once it has written them all (`finish`). A row is known by
/// where it starts in members.csv, a unit by where its first row starts. The ids are packed into
/// 64 bits — a citizen id's digits, a party card number of up to 12 characters as the validator
/// packs it (`packID`) — and kept as (key, row) in the merge's order, then sorted by key (a radix
/// sort, stable: a key's rows stay in file order), so that a key whose first and last rows are in
/// different units is in more than one: no hash table of millions of keys (each insert a cache
/// miss: a sixth of the nation's synthesis). A member costs 32 bytes while the merge runs and 16
/// more, for one kind of id at a time, while its keys are sorted. A longer card number, or an id
/// of another shape, is kept as its bytes and sorted by comparison (`IdIndex` either way). An id
/// can be twice in one unit (data from before intake refused a correction doing it): held too when
/// the id is in another unit.
struct CrossUnitIds {
    /// A row to withhold: where it starts, and which of its ids is also another unit's.
    struct Held: Equatable {
        var offset: Int
        var citizen: Bool
        var member: Bool
    }

    /// One kind of id: its keys and rows in the merge's order.
    struct IdIndex<Key: Equatable> {
        private(set) var keys: [Key] = []
        private(set) var rows: [Int] = []

        init(expected: Int = 0) {
            keys.reserveCapacity(expected)
            rows.reserveCapacity(expected)
        }

        mutating func add(_ key: Key, at row: Int) {
            keys.append(key)
            rows.append(row)
        }

        /// How many keys are in more than one unit, and every row of theirs (in key order), once
        /// `sort` has put the keys in order, their rows with them, stably; the units start at
        /// `unitStarts` (ascending). The keys are dropped.
        mutating func inMoreThanOne(unitStarts: [Int], sortedBy sort: (inout [Key], inout [Int]) -> Void) -> (count: Int, rows: [Int]) {
            sort(&keys, &rows)
            func unit(of row: Int) -> Int {
                // The last unit starting at or before `row`.
                var (lo, hi) = (0, unitStarts.count)
                while hi - lo > 1 {
                    let mid = (lo + hi) / 2
                    if unitStarts[mid] <= row { lo = mid } else { hi = mid }
                }
                return lo
            }
            var count = 0
            var found: [Int] = []
            var i = 0
            while i < keys.count {
                var j = i + 1
                while j < keys.count && keys[j] == keys[i] { j += 1 }
                if j - i > 1 && unit(of: rows[i]) != unit(of: rows[j - 1]) {
                    count += 1
                    found += rows[i..<j]
                }
                i = j
            }
            keys = []
            rows = []
            return (count, found)
        }
    }

    private var citizens: IdIndex<UInt64>
    private var members: IdIndex<UInt64>
    /// Ids of another shape (not packed), as their bytes: few, sorted by comparison.
    private var otherCitizens = IdIndex<[UInt8]>()
    private var otherMembers = IdIndex<[UInt8]>()
    private var unitStarts: [Int] = []

    /// What `finish` found: how many citizen ids and member ids are in more than one unit, and
    /// the rows to withhold in file order, once each.
    struct Found {
        let citizenCount: Int
        let memberCount: Int
        let heldRows: [Held]
    }

    /// A citizen id of up to 18 digits as a number behind a leading 1 (its leading zeros kept).
    static func citizenKey(_ b: UnsafeRawBufferPointer) -> UInt64? {
        guard (1...18).contains(b.count) else { return nil }
        var v: UInt64 = 1
        for c in b {
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v &* 10 &+ UInt64(c - 0x30)
        }
        return v
    }

    init(expected: Int) {
        citizens = IdIndex(expected: expected)
        members = IdIndex(expected: expected)
    }

    /// The next unit's rows start at `row`.
    mutating func startUnit(at row: Int) {
        if unitStarts.last != row { unitStarts.append(row) }
    }

    mutating func add(citizen: UnsafeRawBufferPointer, member: UnsafeRawBufferPointer, at row: Int) {
        if let key = Self.citizenKey(citizen) { citizens.add(key, at: row) } else { otherCitizens.add(Array(citizen), at: row) }
        if let key = packID(member) { members.add(key, at: row) } else { otherMembers.add(Array(member), at: row) }
    }

    /// Finds the ids in more than one unit once every row is added. Once: the ids noted are given
    /// up to the sort (`consuming`).
    consuming func finish() -> Found {
        let starts = unitStarts.isEmpty ? [0] : unitStarts
        let c = citizens.inMoreThanOne(unitStarts: starts, sortedBy: radixSort)
        let m = members.inMoreThanOne(unitStarts: starts, sortedBy: radixSort)
        let oc = otherCitizens.inMoreThanOne(unitStarts: starts, sortedBy: Self.sortBytes)
        let om = otherMembers.inMoreThanOne(unitStarts: starts, sortedBy: Self.sortBytes)
        var marks: [Int: Held] = [:]
        for row in c.rows + oc.rows { marks[row, default: Held(offset: row, citizen: false, member: false)].citizen = true }
        for row in m.rows + om.rows { marks[row, default: Held(offset: row, citizen: false, member: false)].member = true }
        return Found(
            citizenCount: c.count + oc.count, memberCount: m.count + om.count, heldRows: marks.values.sorted { $0.offset < $1.offset })
    }

    /// Sorts ids kept as bytes, and their rows with them, stably (a comparison sort: they are few).
    static func sortBytes(_ keys: inout [[UInt8]], carrying rows: inout [Int]) {
        let order = keys.indices.sorted { a, b in keys[a] == keys[b] ? a < b : keys[a].lexicographicallyPrecedes(keys[b]) }
        keys = order.map { keys[$0] }
        rows = order.map { rows[$0] }
    }
}

/// Sorts `keys` ascending, and `values` with them, stably: least significant digit first, 11 bits a
/// pass, the passes above the largest key's highest bit skipped.
func radixSort(_ keys: inout [UInt64], carrying values: inout [Int]) {
    precondition(keys.count == values.count)
    let n = keys.count
    guard n > 1, let top = keys.max(), top > 0 else { return }
    let bits = 11
    let passes = (64 - top.leadingZeroBitCount + bits - 1) / bits
    var keys2 = [UInt64](repeating: 0, count: n)
    var values2 = [Int](repeating: 0, count: n)
    var counts = [Int](repeating: 0, count: 1 << bits)
    for pass in 0..<passes {
        let shift = UInt64(pass * bits)
        let mask = UInt64((1 << bits) - 1)
        for i in counts.indices { counts[i] = 0 }
        for k in keys { counts[Int((k >> shift) & mask)] += 1 }
        var sum = 0
        for i in counts.indices {
            let c = counts[i]
            counts[i] = sum
            sum += c
        }
        keys.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in
                keys2.withUnsafeMutableBufferPointer { k2 in
                    values2.withUnsafeMutableBufferPointer { v2 in
                        counts.withUnsafeMutableBufferPointer { c in
                            for i in 0..<n {
                                let d = Int((k[i] >> shift) & mask)
                                let at = c[d]
                                c[d] = at + 1
                                k2[at] = k[i]
                                v2[at] = v[i]
                            }
                        }
                    }
                }
            }
        }
        swap(&keys, &keys2)
        swap(&values, &values2)
    }
}
