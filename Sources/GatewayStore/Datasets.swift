/// A unit's current records (its latest accepted snapshot, with accepted corrections applied).
public struct UnitRecords: Sendable {
    public var unitId: String
    public var packageId: String
    public var importedAt: Timestamp
    /// organizations.csv rows: org_id, name, type, parent_id.
    public var organizationRows: RowBatch
    /// members.csv rows in schema order (14 columns), as bytes (a dataset writes them as they are).
    public var memberRows: RowBatch
    public init(unitId: String, packageId: String, importedAt: Timestamp, organizationRows: RowBatch, memberRows: RowBatch) {
        self.unitId = unitId
        self.packageId = packageId
        self.importedAt = importedAt
        self.organizationRows = organizationRows
        self.memberRows = memberRows
    }
    public var organizations: [[String]] { organizationRows.rows }
    public var members: [[String]] { memberRows.rows }
}

/// One correction to apply to a unit's current members, in the commit of its package: the
/// member with `citizenId` gets `newValue` in `field` only if the field still holds `oldValue`.
public struct MemberCorrection: Sendable, Equatable {
    public var citizenId: String
    public var field: String
    public var oldValue: String
    public var newValue: String
    public init(citizenId: String, field: String, oldValue: String, newValue: String) {
        self.citizenId = citizenId
        self.field = field
        self.oldValue = oldValue
        self.newValue = newValue
    }
    /// The members.csv columns a correction may change (the column names of the table), in the file's order.
    public static let columns = [
        "member_id", "full_name", "gender", "date_of_birth", "citizen_id", "date_joined", "date_official",
        "status", "org_id", "phone", "email", "ethnicity", "hometown", "education",
    ]
    /// `columns` as a set.
    public static let fields = Set(columns)
}

public struct CorrectionImport: Sendable {
    public var unitId: String
    public var corrections: [MemberCorrection]
    /// Where the decision found the members (read outside the commit's lock): used by the commit
    /// when the unit's current snapshot is still that one, instead of reading its ids again. A
    /// row number is only a place to look: each change still checks the citizen id and the old
    /// value, so a stale one can only make the correction conflict.
    public var located: MemberRows?
    public init(unitId: String, corrections: [MemberCorrection], located: MemberRows? = nil) {
        self.unitId = unitId
        self.corrections = corrections
        self.located = located
    }
}

/// Members of one snapshot by citizen id: their rows.
public struct MemberRows: Sendable, Equatable {
    public var snapshot: Int64
    public var rows: [String: Int64]
    public init(snapshot: Int64, rows: [String: Int64]) {
        self.snapshot = snapshot
        self.rows = rows
    }
}

/// The members of a unit's current snapshot that were asked for (`GatewayStore.currentMembers`).
public struct CurrentMembers: Sendable {
    /// Where they are (nil before the unit's first snapshot).
    public var located: MemberRows?
    /// Each member found: its correctable fields (`MemberCorrection.columns`) by name.
    public var fields: [String: [String: String]]
    /// Every party card number of the snapshot with its member's citizen id, when asked for.
    public var cards: [String: String]
    public init(located: MemberRows?, fields: [String: [String: String]], cards: [String: String] = [:]) {
        self.located = located
        self.fields = fields
        self.cards = cards
    }
}

/// A synthesized dataset version and its delivery to the handbook system (the outbox).
public struct DatasetRecord: Sendable, Equatable {
    public var version: UInt64
    public var packageId: String
    /// The sealed package (kind=dataset) in the data folder.
    public var path: String
    public var sha256: String
    public var size: Int64
    public var members: Int
    public var organizations: Int
    public var conflicts: Int
    public var createdAt: Timestamp
    /// pending (not yet acknowledged) | delivered
    public var state: DatasetState
    public var attempts: Int
    public var lastError: String?
    public var nextAttemptAt: Timestamp?
    /// The handbook system's signed acknowledgement (JSON text) and its minisign signature.
    public var ack: String?
    public var ackSignature: String?
    public var deliveredAt: Timestamp?
    public init(
        version: UInt64, packageId: String, path: String, sha256: String, size: Int64, members: Int, organizations: Int, conflicts: Int,
        createdAt: Timestamp, state: DatasetState = .pending, attempts: Int = 0, lastError: String? = nil, nextAttemptAt: Timestamp? = nil,
        ack: String? = nil, ackSignature: String? = nil, deliveredAt: Timestamp? = nil
    ) {
        self.version = version
        self.packageId = packageId
        self.path = path
        self.sha256 = sha256
        self.size = size
        self.members = members
        self.organizations = organizations
        self.conflicts = conflicts
        self.createdAt = createdAt
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.nextAttemptAt = nextAttemptAt
        self.ack = ack
        self.ackSignature = ackSignature
        self.deliveredAt = deliveredAt
    }
}

/// How each unit stands in the campaign (one row per registered unit).
public struct UnitCampaignRow: Sendable {
    public var unitId: String
    public var name: String
    /// Decided snapshot packages: accepted / rejected, and the time of the first accepted one.
    public var accepted: Int
    public var rejected: Int
    public var firstAcceptedAt: Timestamp?
    /// The last accepted snapshot or correction (the unit's records last changed then).
    public var lastAcceptedAt: Timestamp?
    public var lastPackageAt: Timestamp?
    /// The current snapshot's receipt (its validation summary: warnings, completeness).
    public var currentReceipt: String?
    public var members: Int
    public init(
        unitId: String, name: String, accepted: Int, rejected: Int, firstAcceptedAt: Timestamp?, lastAcceptedAt: Timestamp? = nil,
        lastPackageAt: Timestamp?,
        currentReceipt: String?, members: Int
    ) {
        self.unitId = unitId
        self.name = name
        self.accepted = accepted
        self.rejected = rejected
        self.firstAcceptedAt = firstAcceptedAt
        self.lastAcceptedAt = lastAcceptedAt
        self.lastPackageAt = lastPackageAt
        self.currentReceipt = currentReceipt
        self.members = members
    }
}

/// SQL both backends run unchanged.
enum StoreSQL {
    /// One row per registered unit for the campaign view (the per-unit subqueries use the
    /// outcomes(unit_id, kind, status, decided_at) index).
    static let campaignRows = """
        SELECT u.id, u.name,
        (SELECT COUNT(*) FROM outcomes o WHERE o.unit_id = u.id AND o.kind = 'snapshot' AND o.status = 'accepted') AS accepted,
        (SELECT COUNT(*) FROM outcomes o WHERE o.unit_id = u.id AND o.status = 'rejected') AS rejected,
        (SELECT MIN(o.decided_at) FROM outcomes o WHERE o.unit_id = u.id AND o.kind = 'snapshot' AND o.status = 'accepted') AS first_accepted,
        (SELECT MAX(o.decided_at) FROM outcomes o WHERE o.unit_id = u.id) AS last_at,
        (SELECT MAX(o.decided_at) FROM outcomes o WHERE o.unit_id = u.id AND o.kind IN ('snapshot', 'correction') AND o.status = 'accepted') AS last_accepted,
        (SELECT o.receipt FROM outcomes o JOIN snapshots s ON s.package_id = o.package_id
        WHERE s.unit_id = u.id AND s.current = 1 AND o.status = 'accepted' LIMIT 1) AS receipt,
        (SELECT s.members FROM snapshots s WHERE s.unit_id = u.id AND s.current = 1) AS members
        FROM units u ORDER BY u.id
        """
}
