import Foundation
import GRDB
public import SealBase
import SealCrypto

/// A dataset version the handbook receiver imported, with the acknowledgement it answered.
public struct ReceivedDataset: Sendable, Equatable {
    public var version: UInt64
    public var packageId: String
    public var sha256: String
    public var receivedAt: Timestamp
    public var members: Int
    public var organizations: Int
    public var conflicts: Int
    public var ack: String
    public var ackSignature: String
    public init(
        version: UInt64, packageId: String, sha256: String, receivedAt: Timestamp, members: Int, organizations: Int, conflicts: Int, ack: String,
        ackSignature: String
    ) {
        self.version = version
        self.packageId = packageId
        self.sha256 = sha256
        self.receivedAt = receivedAt
        self.members = members
        self.organizations = organizations
        self.conflicts = conflicts
        self.ack = ack
        self.ackSignature = ackSignature
    }
}

/// The handbook receiver's own SQLite database (the stand-in for the handbook system): the
/// history of datasets received, and the records of the current one. Its API is async over
/// GRDB's async `read`/`write`: the statements run on GRDB's own queues (reads in parallel, one
/// writer), never on a thread the caller waits with.
public final class HandbookStore: Sendable {
    let db: DatabasePool

    public init(path: String) throws {
        var config = Configuration()
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA cache_size = -65536") }
        config.busyMode = .timeout(10)
        db = try DatabasePool(path: path, configuration: config)
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE datasets (version INTEGER PRIMARY KEY, package_id TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL, received_at TEXT NOT NULL,
                                           members INTEGER NOT NULL, organizations INTEGER NOT NULL, conflicts INTEGER NOT NULL,
                                           ack TEXT NOT NULL, ack_signature TEXT NOT NULL);
                    CREATE TABLE organizations (unit_id TEXT NOT NULL, org_id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, parent_id TEXT NOT NULL);
                    CREATE TABLE members (unit_id TEXT NOT NULL, member_id TEXT NOT NULL, full_name TEXT NOT NULL, gender TEXT NOT NULL,
                                          date_of_birth TEXT NOT NULL, citizen_id TEXT NOT NULL, date_joined TEXT NOT NULL, date_official TEXT NOT NULL,
                                          status TEXT NOT NULL, org_id TEXT NOT NULL, phone TEXT NOT NULL, email TEXT NOT NULL, ethnicity TEXT NOT NULL,
                                          hometown TEXT NOT NULL, education TEXT NOT NULL);
                    CREATE TABLE conflicts (key TEXT NOT NULL, value TEXT NOT NULL, unit_id TEXT NOT NULL, member_id TEXT NOT NULL, citizen_id TEXT NOT NULL,
                                            full_name TEXT NOT NULL, org_id TEXT NOT NULL);
                    """)
        }
        try m.migrate(db)
    }

    /// A row of `datasets`; its `received_at` (stored as the moment's one text) that is not a
    /// moment is a `store_failure`, never a time made up.
    static func dataset(_ r: Row) throws -> ReceivedDataset {
        let text: String = r["received_at"]
        guard let receivedAt = Timestamp(text) else {
            throw SealError(
                .storeFailure, "the handbook store holds a dataset whose received_at is not a moment",
                remedy: "restore the handbook receiver's database from a backup")
        }
        return ReceivedDataset(
            version: UInt64(bitPattern: r["version"]), packageId: r["package_id"], sha256: r["sha256"], receivedAt: receivedAt,
            members: r["members"], organizations: r["organizations"], conflicts: r["conflicts"], ack: r["ack"], ackSignature: r["ack_signature"])
    }

    public func latest() async throws -> ReceivedDataset? {
        try await db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM datasets ORDER BY version DESC LIMIT 1").map(Self.dataset) }
    }

    public func dataset(packageId: String) async throws -> ReceivedDataset? {
        try await db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM datasets WHERE package_id = ?", arguments: [packageId]).map(Self.dataset) }
    }

    public func history() async throws -> [ReceivedDataset] {
        try await db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM datasets ORDER BY version").map(Self.dataset) }
    }

    /// Counts of the current records.
    public func counts() async throws -> Counts {
        try await db.read { db in
            Counts(
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM members") ?? 0, try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM organizations") ?? 0,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM conflicts") ?? 0
            )
        }
    }

    /// Rows of the current records.
    public struct Counts: Sendable, Equatable {
        public var members: Int
        public var organizations: Int
        public var conflicts: Int
        init(_ members: Int, _ organizations: Int, _ conflicts: Int) {
            (self.members, self.organizations, self.conflicts) = (members, organizations, conflicts)
        }
    }

    public enum Table: Sendable { case organizations, members, conflicts }

    /// Replaces the current records with a dataset's, all or nothing, and records it with its
    /// acknowledgement. `rows` streams the rows in (`insert(table, fields)`), so a national
    /// dataset is never held in memory; the numbers inserted must be the counts `d` states.
    /// Throws `dataset_stale` when the version is not newer than the latest, `dataset_count`
    /// when the rows do not match the counts. `rows` runs on the store's writer queue.
    public func importDataset(
        _ d: ReceivedDataset, rows: @escaping @Sendable (_ insert: (Table, [String]) throws -> Void) throws -> Void
    ) async throws {
        try await db.write { db in
            if let v = try Int64.fetchOne(db, sql: "SELECT MAX(version) FROM datasets"), UInt64(bitPattern: v) >= d.version {
                throw SealError(
                    .datasetStale, "version \(d.version) is not newer than the version \(v) already imported",
                    remedy: "an old dataset is never imported over a newer one")
            }
            // Bulk load: the unique indexes are dropped and rebuilt after the rows are in (one sort
            // instead of a B-tree insert per row); a duplicate fails the rebuild and the transaction.
            try db.execute(
                sql: """
                    DROP INDEX IF EXISTS organizations_org_id; DROP INDEX IF EXISTS members_member_id; DROP INDEX IF EXISTS members_citizen_id;
                    DELETE FROM organizations; DELETE FROM members; DELETE FROM conflicts;
                    """)
            let o = try db.makeStatement(sql: "INSERT INTO organizations VALUES (?, ?, ?, ?, ?)")
            let m = try db.makeStatement(sql: "INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            let c = try db.makeStatement(sql: "INSERT INTO conflicts VALUES (?, ?, ?, ?, ?, ?, ?)")
            var counts = (organizations: 0, members: 0, conflicts: 0)
            try rows { table, fields in
                let statement: Statement
                switch table {
                case .organizations:
                    statement = o
                    counts.organizations += 1
                case .members:
                    statement = m
                    counts.members += 1
                case .conflicts:
                    statement = c
                    counts.conflicts += 1
                }
                try statement.execute(arguments: StatementArguments(fields))
            }
            guard counts == (d.organizations, d.members, d.conflicts) else {
                throw SealError(
                    .datasetCount,
                    "the files hold \(counts.organizations)/\(counts.members)/\(counts.conflicts) rows, the manifest \(d.organizations)/\(d.members)/\(d.conflicts)",
                    remedy: "report it to the department")
            }
            try db.execute(
                sql: """
                    CREATE UNIQUE INDEX organizations_org_id ON organizations(org_id);
                    CREATE UNIQUE INDEX members_member_id ON members(member_id);
                    CREATE UNIQUE INDEX members_citizen_id ON members(citizen_id);
                    """)
            try db.execute(
                sql: "INSERT INTO datasets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    Int64(bitPattern: d.version), d.packageId, d.sha256, d.receivedAt.text, d.members, d.organizations, d.conflicts, d.ack,
                    d.ackSignature,
                ])
        }
    }
}
