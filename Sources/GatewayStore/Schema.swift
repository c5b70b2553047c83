import Foundation
import SealBase

/// The store's schema history: one list of named migrations applied in order to SQLite and to
/// PostgreSQL alike, recorded by name in `store_migrations` (databases from before it are
/// adopted from GRDB's `grdb_migrations` or the former PostgreSQL `schema_migrations`).
/// Statements are written in SQLite's types and rendered for PostgreSQL (`INTEGER` → `BIGINT`,
/// `BLOB` → `BYTEA`, an `AUTOINCREMENT` key → an identity column); a migration gives a statement
/// per dialect only where the two truly differ. Migrations are only ever appended.
enum Schema {
    struct Migration {
        let name: String
        let sqlite: String
        let postgres: String
        init(_ name: String, _ sql: String) {
            self.name = name
            self.sqlite = sql
            self.postgres = sql
        }
        init(_ name: String, sqlite: String, postgres: String) {
            self.name = name
            self.sqlite = sqlite
            self.postgres = postgres
        }
        func sql(for dialect: SQLDialect) -> String { dialect == .sqlite ? sqlite : Schema.postgresTypes(postgres) }
    }

    static let migrations: [Migration] = [
        Migration(
            "v1",
            """
            CREATE TABLE units (id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
            CREATE TABLE unit_keys (key_id TEXT PRIMARY KEY, unit_id TEXT NOT NULL REFERENCES units(id), public_key TEXT NOT NULL,
                                    state TEXT NOT NULL, added_at TEXT NOT NULL);
            CREATE INDEX unit_keys_unit ON unit_keys(unit_id);
            CREATE TABLE tokens (hash TEXT PRIMARY KEY, role TEXT NOT NULL, unit_id TEXT, created_at TEXT NOT NULL);
            CREATE TABLE spool (id INTEGER PRIMARY KEY AUTOINCREMENT, sha256 TEXT NOT NULL, size INTEGER NOT NULL, path TEXT NOT NULL,
                                received_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending');
            CREATE INDEX spool_pending ON spool(state) WHERE state = 'pending';
            CREATE TABLE outcomes (spool_id INTEGER PRIMARY KEY REFERENCES spool(id), status TEXT NOT NULL, code TEXT, package_id TEXT,
                                   unit_id TEXT, seq INTEGER, sha256 TEXT NOT NULL, kind TEXT, receipt TEXT NOT NULL,
                                   receipt_signature TEXT NOT NULL, leaf INTEGER NOT NULL, decided_at TEXT NOT NULL,
                                   claims_seq INTEGER NOT NULL);
            CREATE UNIQUE INDEX outcomes_unit_seq ON outcomes(unit_id, seq) WHERE claims_seq = 1;
            CREATE INDEX outcomes_package ON outcomes(package_id);
            CREATE TABLE log_entries (idx INTEGER PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);
            CREATE TABLE snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, unit_id TEXT NOT NULL, package_id TEXT NOT NULL,
                                    members INTEGER NOT NULL, organizations INTEGER NOT NULL, imported_at TEXT NOT NULL,
                                    current INTEGER NOT NULL);
            CREATE INDEX snapshots_unit ON snapshots(unit_id, current);
            CREATE TABLE organizations (snapshot_id INTEGER NOT NULL REFERENCES snapshots(id), org_id TEXT NOT NULL, name TEXT NOT NULL,
                                        type TEXT NOT NULL, parent_id TEXT NOT NULL);
            CREATE INDEX organizations_snapshot ON organizations(snapshot_id);
            CREATE TABLE members (snapshot_id INTEGER NOT NULL REFERENCES snapshots(id), member_id TEXT NOT NULL, full_name TEXT NOT NULL,
                                  gender TEXT NOT NULL, date_of_birth TEXT NOT NULL, citizen_id TEXT NOT NULL, date_joined TEXT NOT NULL,
                                  date_official TEXT NOT NULL, status TEXT NOT NULL, org_id TEXT NOT NULL, phone TEXT NOT NULL,
                                  email TEXT NOT NULL, ethnicity TEXT NOT NULL, hometown TEXT NOT NULL, education TEXT NOT NULL);
            CREATE INDEX members_snapshot ON members(snapshot_id);
            CREATE TABLE trust_documents (version INTEGER PRIMARY KEY, body TEXT NOT NULL, signature TEXT NOT NULL)
            """),
        Migration("v2-checkpoints", "CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL, created_at TEXT NOT NULL)"),
        Migration(
            "v3-recipients",
            """
            CREATE TABLE recipients (fingerprint TEXT PRIMARY KEY, recipient TEXT NOT NULL, state TEXT NOT NULL,
                                     decrypt_until TEXT, created_at TEXT NOT NULL)
            """),
        Migration("v4-unit-key-rotation", "ALTER TABLE unit_keys ADD COLUMN switched_at TEXT; ALTER TABLE unit_keys ADD COLUMN valid_until TEXT"),
        Migration(
            "v5-revocation",
            """
            ALTER TABLE unit_keys ADD COLUMN compromised_at TEXT;
            ALTER TABLE outcomes ADD COLUMN key_id TEXT;
            ALTER TABLE outcomes ADD COLUMN created TEXT;
            CREATE TABLE review_flags (package_id TEXT PRIMARY KEY, unit_id TEXT NOT NULL, seq INTEGER NOT NULL, key_id TEXT, created TEXT,
                                       reason TEXT NOT NULL, flagged_at TEXT NOT NULL)
            """),
        Migration("v6-root-rotation", "ALTER TABLE trust_documents ADD COLUMN root_cross_signature TEXT"),
        Migration(
            "v7-signing-keys",
            """
            CREATE TABLE signing_keys (key_id TEXT PRIMARY KEY, role TEXT NOT NULL, public_key TEXT NOT NULL, state TEXT NOT NULL,
                                       until TEXT, created_at TEXT NOT NULL)
            """),
        Migration("v8-token-revocation", "ALTER TABLE tokens ADD COLUMN revoked_at TEXT"),
        Migration(
            "v9-datasets",
            """
            CREATE TABLE datasets (version INTEGER PRIMARY KEY, package_id TEXT NOT NULL UNIQUE, path TEXT NOT NULL, sha256 TEXT NOT NULL,
                                   size INTEGER NOT NULL, members INTEGER NOT NULL, organizations INTEGER NOT NULL, conflicts INTEGER NOT NULL,
                                   created_at TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
                                   next_attempt_at TEXT, ack TEXT, ack_signature TEXT, delivered_at TEXT);
            CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE INDEX members_citizen ON members(snapshot_id, citizen_id)
            """),
        // The campaign view's per-unit lookups (without it each scanned every outcome and its
        // receipt: quadratic in the number of units, 6.7 s for 1,100 units).
        Migration("v10-outcomes-by-unit", "CREATE INDEX outcomes_unit ON outcomes(unit_id, kind, status, decided_at)"),
        // A replayed body is answered from the first decision on the same bytes.
        Migration("v11-outcomes-by-sha256", "CREATE INDEX outcomes_sha256 ON outcomes(sha256)"),
        // A snapshot's rows read back in file order by an explicit row number (SQLite's rowid
        // has no counterpart in PostgreSQL); existing SQLite rows are numbered in rowid order.
        Migration(
            "v12-row-numbers",
            sqlite: """
                ALTER TABLE organizations ADD COLUMN row_no INTEGER NOT NULL DEFAULT 0;
                UPDATE organizations SET row_no = rowid;
                ALTER TABLE members ADD COLUMN row_no INTEGER NOT NULL DEFAULT 0;
                UPDATE members SET row_no = rowid;
                CREATE INDEX snapshots_package ON snapshots(package_id)
                """,
            postgres: """
                ALTER TABLE organizations ADD COLUMN row_no INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE members ADD COLUMN row_no INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX snapshots_package ON snapshots(package_id)
                """),
        // The sealed dataset packages, in chunks, where gateways on several machines share no
        // disk (`SQLDriver.keepsDatasetPackages`).
        Migration(
            "v13-dataset-packages",
            """
            CREATE TABLE dataset_packages (version INTEGER NOT NULL REFERENCES datasets(version), chunk INTEGER NOT NULL, data BLOB NOT NULL,
                                           PRIMARY KEY (version, chunk))
            """),
        // The states and roles the code knows, and no other: CHECK constraints on PostgreSQL;
        // on SQLite, which cannot add a constraint to a table, triggers on insert and update.
        Migration(
            "v14-typed-states",
            sqlite: typedStates.map { t in
                let allowed = t.values.map { "'\($0)'" }.joined(separator: ", ")
                return ["INSERT", "UPDATE OF \(t.column)"].map { event in
                    """
                    CREATE TRIGGER \(t.table)_\(t.column)_\(event.hasPrefix("INSERT") ? "insert" : "update") BEFORE \(event) ON \(t.table)
                    WHEN NEW.\(t.column) NOT IN (\(allowed)) BEGIN SELECT RAISE(ABORT, 'not a known \(t.table).\(t.column)'); END
                    """
                }.joined(separator: ";\n")
            }.joined(separator: ";\n"),
            postgres: typedStates.map { t in
                "ALTER TABLE \(t.table) ADD CONSTRAINT \(t.table)_\(t.column)_known CHECK (\(t.column) IN (\(t.values.map { "'\($0)'" }.joined(separator: ", "))))"
            }.joined(separator: ";\n")),
        // Flagged packages become a state the operator resolves: a flag's decision (NULL while
        // unresolved), and what each correction package changed — the snapshot it was applied to
        // (NULL on outcomes from before: not known) and the rows it changed — so that a dataset
        // can leave out exactly the records an unresolved or rejected package brought.
        Migration(
            "v15-flag-review",
            sqlite: flagReviewSQL + ";\n"
                + ["INSERT", "UPDATE OF resolution"].map { event in
                    """
                    CREATE TRIGGER review_flags_resolution_\(event.hasPrefix("INSERT") ? "insert" : "update") BEFORE \(event) ON review_flags
                    WHEN NEW.resolution IS NOT NULL AND NEW.resolution NOT IN (\(reviewResolutions.map { "'\($0)'" }.joined(separator: ", ")))
                    BEGIN SELECT RAISE(ABORT, 'not a known review_flags.resolution'); END
                    """
                }.joined(separator: ";\n"),
            postgres: flagReviewSQL + ";\n"
                + "ALTER TABLE review_flags ADD CONSTRAINT review_flags_resolution_known CHECK (resolution IS NULL OR resolution IN ("
                + reviewResolutions.map { "'\($0)'" }.joined(separator: ", ") + "))"),
        // The roles and kinds that were still free text: a signing key's role, a log entry's
        // kind, the kind of package a decision was on (NULL allowed: a package not read that far).
        // The values are exactly those every writer used before (so existing rows pass).
        Migration("v16-typed-kinds", sqlite: knownValues(typedKinds, sqlite: true), postgres: knownValues(typedKinds, sqlite: false)),
        // The dashboard's sessions (`/ui/`): the SHA-256 of the cookie's random value (never the
        // value), the admin token it was opened with (by its hash: revoking the token ends the
        // session), when it was opened, last used, and its hard end.
        Migration(
            "v17-dashboard-sessions",
            """
            CREATE TABLE dashboard_sessions (id_hash TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created_at TEXT NOT NULL,
                                             last_seen_at TEXT NOT NULL, expires_at TEXT NOT NULL);
            CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions(expires_at)
            """),
        // The transparency log's interior as C2SP tiles: each full tile of 256 hashes (8,192
        // bytes) at its level and index, derived from the entries (written once a tile is
        // complete, re-derived and checked against the entries when the log is loaded).
        Migration(
            "v18-log-tiles",
            """
            CREATE TABLE log_tiles (level INTEGER NOT NULL, idx INTEGER NOT NULL, hashes BLOB NOT NULL, PRIMARY KEY (level, idx))
            """),
        // A snapshot's rows read in file order straight from the index (the index on the snapshot
        // alone left every read to sort its rows by row_no: 15% of the city's synthesis); one index
        // a table still, kept at its end by the writer (row numbers grow within a snapshot). (A
        // PostgreSQL database adopted from `pg-v1` has no index on the snapshot alone.)
        Migration(
            "v19-rows-in-order",
            """
            DROP INDEX IF EXISTS members_snapshot;
            CREATE INDEX members_rows ON members(snapshot_id, row_no);
            DROP INDEX IF EXISTS organizations_snapshot;
            CREATE INDEX organizations_rows ON organizations(snapshot_id, row_no)
            """),
        // No index by citizen id: every member imported paid for one (a fifth of the city's
        // submit, the writer's B-tree inserts in random order), and only a correction looks a
        // member up — it reads the snapshot's ids once (`SQLGatewayStore.locate`).
        Migration("v20-no-citizen-index", "DROP INDEX IF EXISTS members_citizen"),
        // A snapshot's row keyed by one integer, the snapshot id in the high 32 bits and the row
        // number in the low (`RowKey`): on SQLite the table's own rowid, so that an import appends
        // to the table's B-tree and a snapshot is read as one range of it, with no second index
        // to keep (the row-order index was ~30% of the writer's time in the city's import). The
        // tables are made again on SQLite (a rowid alias cannot be added); PostgreSQL adds the
        // column and its key. Row numbers are unique in a snapshot (v12; `pg-v1` keyed on them).
        // A CHECK holds every row to its key: an older sealgate's insert (no `id`: SQLite would
        // give it the next rowid, inside another snapshot's range) fails instead of misplacing rows.
        Migration(
            "v21-rows-keyed",
            sqlite: """
                CREATE TABLE organizations_keyed (id INTEGER PRIMARY KEY, snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
                    row_no INTEGER NOT NULL, org_id TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL, parent_id TEXT NOT NULL,
                    CHECK (id = ((snapshot_id << 32) | row_no) AND row_no BETWEEN 0 AND 4294967295));
                INSERT INTO organizations_keyed (id, snapshot_id, row_no, org_id, name, type, parent_id)
                    SELECT (snapshot_id << 32) | row_no, snapshot_id, row_no, org_id, name, type, parent_id
                    FROM organizations ORDER BY snapshot_id, row_no;
                DROP TABLE organizations;
                ALTER TABLE organizations_keyed RENAME TO organizations;
                CREATE TABLE members_keyed (id INTEGER PRIMARY KEY, snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
                    row_no INTEGER NOT NULL,
                    member_id TEXT NOT NULL, full_name TEXT NOT NULL, gender TEXT NOT NULL, date_of_birth TEXT NOT NULL,
                    citizen_id TEXT NOT NULL, date_joined TEXT NOT NULL, date_official TEXT NOT NULL, status TEXT NOT NULL,
                    org_id TEXT NOT NULL, phone TEXT NOT NULL, email TEXT NOT NULL, ethnicity TEXT NOT NULL, hometown TEXT NOT NULL,
                    education TEXT NOT NULL, CHECK (id = ((snapshot_id << 32) | row_no) AND row_no BETWEEN 0 AND 4294967295));
                INSERT INTO members_keyed (id, snapshot_id, row_no, member_id, full_name, gender, date_of_birth, citizen_id, date_joined,
                                           date_official, status, org_id, phone, email, ethnicity, hometown, education)
                    SELECT (snapshot_id << 32) | row_no, snapshot_id, row_no, member_id, full_name, gender, date_of_birth, citizen_id,
                           date_joined, date_official, status, org_id, phone, email, ethnicity, hometown, education
                    FROM members ORDER BY snapshot_id, row_no;
                DROP TABLE members;
                ALTER TABLE members_keyed RENAME TO members
                """,
            postgres: """
                DROP INDEX IF EXISTS organizations_rows;
                ALTER TABLE organizations DROP CONSTRAINT IF EXISTS organizations_pkey;
                ALTER TABLE organizations ADD COLUMN id BIGINT;
                UPDATE organizations SET id = (snapshot_id << 32) | row_no;
                ALTER TABLE organizations ADD PRIMARY KEY (id);
                ALTER TABLE organizations ADD CONSTRAINT organizations_keyed
                    CHECK (id = ((snapshot_id << 32) | row_no) AND row_no BETWEEN 0 AND 4294967295);
                ANALYZE organizations;
                DROP INDEX IF EXISTS members_rows;
                ALTER TABLE members DROP CONSTRAINT IF EXISTS members_pkey;
                ALTER TABLE members ADD COLUMN id BIGINT;
                UPDATE members SET id = (snapshot_id << 32) | row_no;
                ALTER TABLE members ADD PRIMARY KEY (id);
                ALTER TABLE members ADD CONSTRAINT members_keyed CHECK (id = ((snapshot_id << 32) | row_no) AND row_no BETWEEN 0 AND 4294967295);
                ANALYZE members
                """),
        // A small body kept in its spool record, committed with it (`IntakeAdmission.admit(small:)`):
        // no file made, fsynced, renamed and its folder synced a package — a quarter to a third of
        // the server's CPU for a small package. NULL for a body in a file, and once pruned.
        Migration("v22-spool-bodies", "ALTER TABLE spool ADD COLUMN body BLOB"),
        // SQLite's triggers of v14–v16 again, the same names and lists, the value compared with
        // each listed one (`<>`) instead of `NOT IN (list)`: for that, SQLite built a temporary
        // index at every insert — four a package, 4.6 against 1.9 µs an insert (docs/benchmarks.md
        // "Step 13"). PostgreSQL's CHECK constraints stay as they are (the migration is recorded).
        Migration(
            "v23-triggers-compare",
            sqlite: comparingTriggers(typedStates + [("review_flags", "resolution", reviewResolutions)] + typedKinds), postgres: ""),
    ]

    /// Statements that make the database refuse any value of `columns` outside its list (NULL
    /// passes): SQLite triggers on insert and update (it cannot add a constraint to a table),
    /// PostgreSQL CHECK constraints.
    static func knownValues(_ columns: [(table: String, column: String, values: [String])], sqlite: Bool) -> String {
        columns.map { t in
            let allowed = t.values.map { "'\($0)'" }.joined(separator: ", ")
            guard sqlite else {
                return "ALTER TABLE \(t.table) ADD CONSTRAINT \(t.table)_\(t.column)_known CHECK (\(t.column) IS NULL OR \(t.column) IN (\(allowed)))"
            }
            return ["INSERT", "UPDATE OF \(t.column)"].map { event in
                """
                CREATE TRIGGER \(t.table)_\(t.column)_\(event.hasPrefix("INSERT") ? "insert" : "update") BEFORE \(event) ON \(t.table)
                WHEN NEW.\(t.column) IS NOT NULL AND NEW.\(t.column) NOT IN (\(allowed))
                BEGIN SELECT RAISE(ABORT, 'not a known \(t.table).\(t.column)'); END
                """
            }.joined(separator: ";\n")
        }.joined(separator: ";\n")
    }

    /// SQLite's triggers of `knownValues` made again (v23): the same names, lists and messages,
    /// the value compared with each listed one — `NOT IN (list)` built a temporary index at
    /// every insert.
    static func comparingTriggers(_ columns: [(table: String, column: String, values: [String])]) -> String {
        columns.flatMap { t in
            ["INSERT", "UPDATE OF \(t.column)"].map { event in
                let name = "\(t.table)_\(t.column)_\(event.hasPrefix("INSERT") ? "insert" : "update")"
                return """
                    DROP TRIGGER \(name);
                    CREATE TRIGGER \(name) BEFORE \(event) ON \(t.table)
                    WHEN NEW.\(t.column) IS NOT NULL AND \(t.values.map { "NEW.\(t.column) <> '\($0)'" }.joined(separator: " AND "))
                    BEGIN SELECT RAISE(ABORT, 'not a known \(t.table).\(t.column)'); END
                    """
            }
        }.joined(separator: ";\n")
    }

    /// The values migration v16 allows, per column, frozen with it (a new kind is a new
    /// migration; a test holds the store's enums to this list).
    static let typedKinds: [(table: String, column: String, values: [String])] = [
        ("signing_keys", "role", ["receipt", "dataset", "log"]),
        ("outcomes", "kind", ["snapshot", "correction", "dataset", "files"]),
        (
            "log_entries", "kind",
            [
                "outcome", "duplicate", "unit_registered", "unit_key_added", "unit_key_rotated", "unit_key_revoked", "token_created",
                "token_revoked", "flag_resolved", "dataset", "dataset_forwarded", "handbook_connected", "campaign", "trust", "key_rotated",
                "key_activated", "key_retired", "fork_declared",
            ]
        ),
    ]

    /// Migration v15's tables and columns (the same on both databases).
    static let flagReviewSQL = """
        ALTER TABLE review_flags ADD COLUMN resolution TEXT;
        ALTER TABLE review_flags ADD COLUMN resolved_at TEXT;
        ALTER TABLE review_flags ADD COLUMN resolution_reason TEXT;
        CREATE INDEX review_flags_unit ON review_flags(unit_id);
        ALTER TABLE outcomes ADD COLUMN corrected_snapshot INTEGER;
        CREATE TABLE corrected_rows (package_id TEXT NOT NULL, snapshot_id INTEGER NOT NULL REFERENCES snapshots(id), row_no INTEGER NOT NULL);
        CREATE INDEX corrected_rows_row ON corrected_rows(snapshot_id, row_no);
        CREATE INDEX corrected_rows_package ON corrected_rows(package_id)
        """
    /// The decisions migration v15 allows in `review_flags.resolution` (or NULL), frozen with it.
    static let reviewResolutions = ["confirmed", "rejected"]

    /// The values migration v14 allows, per column: frozen with the migration (a new state is a
    /// new migration; a test holds the store's enums to this list).
    static let typedStates: [(table: String, column: String, values: [String])] = [
        ("unit_keys", "state", ["active", "retiring", "retired", "revoked"]),
        ("outcomes", "status", ["accepted", "rejected", "duplicate"]),
        ("datasets", "state", ["pending", "delivered"]),
        ("tokens", "role", ["admin", "unit"]),
        ("recipients", "state", ["pending", "active", "retired", "decrypt-only"]),
        ("signing_keys", "state", ["pending", "active", "retired", "verify-only"]),
        ("spool", "state", ["pending", "done", "pruned"]),
    ]

    /// Databases made before the one history: their migrations' names, mapped to this
    /// history's. PostgreSQL's first schema (`pg-v1`) held everything up to v12. (An adopted
    /// PostgreSQL database kept that schema's small differences: `PRIMARY KEY (snapshot_id,
    /// row_no)` on organizations and members instead of the `…_snapshot` indexes — v21 drops it
    /// for its own key — and no default on `row_no`; a later migration that names those indexes
    /// or keys must allow for both.)
    static let formerNames: [String: [String]] = [
        "pg-v1": [
            "v1", "v2-checkpoints", "v3-recipients", "v4-unit-key-rotation", "v5-revocation", "v6-root-rotation", "v7-signing-keys",
            "v8-token-revocation", "v9-datasets", "v10-outcomes-by-unit", "v12-row-numbers",
        ],
        "pg-v2-dataset-packages": ["v13-dataset-packages"],
        "pg-v3-outcomes-by-sha256": ["v11-outcomes-by-sha256"],
    ]

    /// SQLite's column types as PostgreSQL's.
    static func postgresTypes(_ sql: String) -> String {
        sql.replacingOccurrences(of: "INTEGER PRIMARY KEY AUTOINCREMENT", with: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
            .replacingOccurrences(of: "INTEGER", with: "BIGINT")
            .replacingOccurrences(of: "BLOB", with: "BYTEA")
    }

    /// The statements of a migration, one by one (PostgreSQL takes one statement per query); a
    /// trigger's `BEGIN … END` body stays in one statement.
    static func statements(_ sql: String) -> [String] {
        var out: [String] = []
        var pending = ""
        for piece in sql.split(separator: ";", omittingEmptySubsequences: false) {
            pending += pending.isEmpty ? String(piece) : ";" + piece
            let words = pending.split(whereSeparator: { !$0.isLetter && $0 != "_" })
            if words.filter({ $0 == "BEGIN" }).count > words.filter({ $0 == "END" }).count { continue }
            let statement = pending.trimmingCharacters(in: .whitespacesAndNewlines)
            if !statement.isEmpty { out.append(statement) }
            pending = ""
        }
        let rest = pending.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { out.append(rest) }
        return out
    }

    /// Applies the migrations not yet recorded, in one transaction under the migration lock;
    /// returns the names applied.
    @discardableResult
    static func migrate(_ driver: any SQLDriver) async throws -> [String] {
        // Up to date (the common case): a read, no write lock — a command opening the store
        // never waits behind a running gateway's writes for nothing.
        let recorded = try? await driver.read { c in Set(try await c.query("SELECT version FROM store_migrations").map { try $0.string("version") }) }
        if let recorded { try refuseNewer(recorded) }
        if let recorded, migrations.allSatisfy({ recorded.contains($0.name) }) { return [] }
        return try await driver.write { c in
            try await driver.lockMigrations(c)
            try await c.execute("CREATE TABLE IF NOT EXISTS store_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            var done = Set(try await c.query("SELECT version FROM store_migrations").map { try $0.string("version") })
            try refuseNewer(done)
            if done.isEmpty { done = try await adoptFormerHistory(c, driver.dialect) }
            var applied: [String] = []
            for m in migrations where !done.contains(m.name) {
                for statement in statements(m.sql(for: driver.dialect)) { try await c.execute(statement) }
                try await c.execute("INSERT INTO store_migrations (version, applied_at) VALUES (?, ?)", [m.name, Timestamp.now])
                applied.append(m.name)
            }
            return applied
        }
    }

    /// A store that a newer sealgate migrated (a migration this one does not know) is refused: its
    /// tables may be shaped in a way this version would write wrongly (v21's keys, say).
    static func refuseNewer(_ recorded: Set<String>) throws {
        let known = Set(migrations.map(\.name))
        let unknown = recorded.subtracting(known).sorted()
        guard unknown.isEmpty else {
            throw StoreError(
                .storeFailure,
                "the store was migrated by a newer sealgate (\(unknown.joined(separator: ", "))), which this version cannot use: run that version, or restore the backup taken before the upgrade"
            )
        }
    }

    /// A database from before the one history: records what its own history had applied (GRDB's
    /// `grdb_migrations` on SQLite, `pg-…` names on PostgreSQL) under this history's names.
    static func adoptFormerHistory(_ c: any SQLConnection, _ dialect: SQLDialect) async throws -> Set<String> {
        var names: [String] = []
        switch dialect {
        case .sqlite:
            if try await c.exists("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'grdb_migrations'") {
                names = try await c.query("SELECT identifier FROM grdb_migrations").map { try $0.string("identifier") }
            }
        case .postgres:
            if try await c.exists(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'")
            {
                names = try await c.query("SELECT version FROM schema_migrations").map { try $0.string("version") }
            }
        }
        var adopted = Set<String>()
        for n in names { adopted.formUnion(formerNames[n] ?? [n]) }
        for n in adopted.sorted() { try await c.execute("INSERT INTO store_migrations (version, applied_at) VALUES (?, ?)", [n, Timestamp.now]) }
        return adopted
    }
}
