public import Foundation
public import GatewayStore
public import SealBase
public import SealCrypto
import SealPackage
import SystemIO

/// The department's data folder:
///
///     DIR/gateway.json          department id, intake URL, limits (no secrets)
///     DIR/gateway.sqlite        the store (SQLite, WAL)
///     DIR/spool/                every package body received, fsynced before it is processed
///     DIR/packages/             where a package is opened while it is decided (removed after)
///     DIR/datasets/             sealed dataset packages (dataset-vN.sgp) and their stats
///     DIR/keys/<role>.key|.pub  recipient (age), receipt, dataset, log, root (minisign)
public struct DataDirectory: Sendable {
    public let path: String
    /// The PostgreSQL store's URL (`--database postgres://…`); nil: the one recorded in
    /// gateway.json, else the SQLite file in the folder.
    public let database: String?
    /// This process's name among several on one PostgreSQL store: its spool is `spool/<node>/`,
    /// the bodies it received and is the one to recover after a crash.
    public var node: String?
    /// A relative path is made absolute against the current directory: paths stored in the
    /// database (spool bodies, datasets) must hold wherever the gateway is started from.
    public init(_ path: String, database: String? = nil) {
        self.path = Self.absolute(path)
        self.database = database
    }

    /// `path` made absolute against the current directory as the shell and the kernel read it:
    /// `..` steps out of the folder it follows (Foundation's `standardized` dropped a leading
    /// `..` of a relative path, so `../g` became `./g`). The longest part that exists is
    /// resolved by `realpath` (symbolic links and `..` as the kernel sees them); the rest, not
    /// yet created, is appended with `.` and `..` applied to it.
    public static func absolute(_ path: String) -> String {
        guard !path.isEmpty else { return currentDirectory() }
        let full = path.hasPrefix("/") ? path : currentDirectory() + "/" + path
        var existing = full
        var rest: [Substring] = []
        while true {
            if let real = realpath(existing, nil) {
                defer { free(real) }
                var parts = String(cString: real).split(separator: "/")
                for c in rest.reversed() {
                    if c == "." || c.isEmpty { continue }
                    if c == ".." {
                        if !parts.isEmpty { parts.removeLast() }
                    } else {
                        parts.append(c)
                    }
                }
                return "/" + parts.joined(separator: "/")
            }
            guard let slash = existing.lastIndex(of: "/") else { return full }
            rest.append(existing[existing.index(after: slash)...])
            existing = slash == existing.startIndex ? "/" : String(existing[..<slash])
        }
    }

    static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return FileManager.default.currentDirectoryPath }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    public var configPath: String { "\(path)/gateway.json" }
    public var databasePath: String { "\(path)/gateway.sqlite" }
    public var spoolPath: String { "\(path)/\(spoolFolder)" }
    /// This process's spool folder relative to the data folder (`spool` or `spool/<node>`): the
    /// store records bodies by this relative path, so a data folder that is moved, copied or
    /// restored elsewhere still names its own files.
    public var spoolFolder: String { node.map { "spool/\($0)" } ?? "spool" }

    /// Where a spool path recorded in the store is now. Paths recorded by earlier versions were
    /// absolute: they are found again under this folder by their part from `spool/` on.
    public func resolve(spoolPath recorded: String) -> String {
        guard recorded.hasPrefix("/") else { return "\(path)/\(recorded)" }
        if let r = recorded.range(of: "/spool/", options: .backwards) { return "\(path)/spool/\(recorded[r.upperBound...])" }
        return recorded
    }

    /// The path recorded in the store for a body in this process's spool.
    public func recorded(spoolName name: String) -> String { "\(spoolFolder)/\(name)" }
    public var packagesPath: String { "\(path)/packages" }
    /// The latest checkpoint this gateway signed (`LogHead`).
    public var logHeadPath: String { "\(path)/log-head.json" }
    public var keysPath: String { "\(path)/keys" }
    public func key(_ role: KeyRole) -> String { "\(keysPath)/\(role.rawValue).key" }
    public func pub(_ role: KeyRole) -> String { "\(keysPath)/\(role.rawValue).pub" }

    public enum KeyRole: String, CaseIterable, Sendable { case recipient, receipt, dataset, log, root }

    /// Creates the folder, department keys and first trust document. Secret keys are
    /// passphrase-protected unless `unencrypted`.
    public func initialize(department: String, intakeURL: String, passphrase: SecureBytes?, clock: any GatewayClock = .system) async throws {
        umask(0o077)
        let fm = FileManager.default
        if fm.fileExists(atPath: configPath) {
            throw GatewayError(.dataDirectory, "\(path) already holds a gateway", remedy: "use another data folder, or keep using this one")
        }
        for p in [path, spoolPath, packagesPath, keysPath] {
            try fm.createDirectory(atPath: p, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let identity = try AgeX25519Identity.generate()
        let now = clock.now
        let created = now.text
        let idFile = AgeIdentityFile.fileContents(identity, created: created)
        if let passphrase {
            let armored = try Age.encryptSmallSecret(idFile, to: [AgeScryptRecipient(passphrase: passphrase)])
            try SecretFile.write(path: key(.recipient), contents: armored.withUnsafeBytes { SecureBytes(copying: $0) })
        } else {
            try SecretFile.write(path: key(.recipient), contents: idFile)
        }
        try SecretFile.writePublic(
            path: pub(.recipient), contents: "# department recipient, fingerprint \(identity.recipient.fingerprint)\n\(identity.recipient.string)\n")
        for role in [KeyRole.receipt, .dataset, .log, .root] {
            let k = MinisignSecretKey.generate()
            // The gateway's own keys use a lighter scrypt cost than minisign's default (it
            // unlocks them at every start), still far beyond a guessing budget.
            try SecretFile.write(path: key(role), contents: try k.fileContents(passphrase: passphrase, opsLimit: 1 << 20, memLimit: 1 << 26))
            let pk = MinisignPublicKey(
                keyId: k.publicKey.keyId, key: k.publicKey.key, comment: "sealgate \(role.rawValue) key \(k.publicKey.keyIdHex) of \(department)")
            try SecretFile.writePublic(path: pub(role), contents: pk.fileContents)
        }
        var config: [String: JSON] = ["department": .string(department), "intake_url": .string(intakeURL), "format": .string("sealgate-gateway/1")]
        let store: any GatewayStore
        if let database, PostgresLocation.isPostgresURL(database) {
            let pg = try await openPostgres(database)
            if try await pg.latestTrust() != nil {
                throw GatewayError(
                    .dataDirectory, "the database \(pg.location) already holds a gateway",
                    remedy:
                        "a second process of the same gateway needs no init: copy the data folder (keys, gateway.json) and run serve; else use an empty database"
                )
            }
            config["database"] = .string(pg.location)  // never the password
            store = pg
        } else {
            store = try await SQLGatewayStore.sqlite(path: databasePath)
        }
        try (JSON.object(config).canonical + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        try await store.addRecipient(
            RecipientRecord(
                fingerprint: identity.recipient.fingerprint, recipient: identity.recipient.string, state: .active,
                decryptUntil: nil, createdAt: now))
        let keys = try DepartmentKeys.load(self, passphrase: { passphrase ?? SecureBytes(count: 0) })
        try await Publication(intakeURL: intakeURL).save(self, store: store)
        try await TrustPublication.publish(self, store: store, keys: keys, clock: clock)
    }

    public func config() throws -> (department: String, intakeURL: String) {
        guard let text = try? String(contentsOfFile: configPath, encoding: .utf8) else {
            throw GatewayError(
                .dataDirectory, "\(path) is not a gateway data folder (no gateway.json)", remedy: "initialize it first (`sealgate init`)")
        }
        let j = try JSON(parsing: text)
        guard let d = j["department"]?.string, let u = j["intake_url"]?.string else {
            throw GatewayError(.dataDirectory, "gateway.json is damaged", remedy: "restore it from backup")
        }
        return (d, u)
    }

    /// Sets one member of gateway.json (written aside and renamed into place).
    public func setConfig(_ key: String, _ value: JSON) throws {
        guard let text = try? String(contentsOfFile: configPath, encoding: .utf8), case .object(var o) = try JSON(parsing: text) else {
            throw GatewayError(
                .dataDirectory, "\(path) is not a gateway data folder (no gateway.json)", remedy: "initialize it first (`sealgate init`)")
        }
        o[key] = value
        try (JSON.object(o).canonical + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// The store: PostgreSQL when `--database` or gateway.json names one, else the SQLite file.
    /// The folder is secured first (`secure()`).
    public func openStore() async throws -> any GatewayStore {
        _ = try config()
        try secure()
        if let url = try databaseURL() { return try await openPostgres(url) }
        do { return try await SQLGatewayStore.sqlite(path: databasePath) } catch {
            throw GatewayError(.storeFailure, "cannot open the store", remedy: "check \(databasePath) and free space", cause: error)
        }
    }

    /// Files this process creates are its owner's alone (umask 077); the data folder and its
    /// keys folder are 0700, the SQLite store's files 0600 — tightened when they are not, or a
    /// `data_directory` error when they cannot be (another owner).
    public func secure() throws {
        umask(0o077)
        func tighten(_ p: String, _ mode: mode_t) throws {
            var st = stat()
            guard stat(p, &st) == 0 else { return }
            guard st.st_mode & 0o777 & ~mode != 0 else { return }
            guard chmod(p, mode) == 0 else {
                throw GatewayError(
                    .dataDirectory, "\(p) is open to other users (mode \(String(st.st_mode & 0o777, radix: 8))) and cannot be restricted",
                    remedy: "run the gateway as the folder's owner, or: chmod \(String(mode, radix: 8)) \(p)", cause: SystemCallError(errno: errno))
            }
        }
        try tighten(path, 0o700)
        try tighten(keysPath, 0o700)
        for suffix in ["", "-wal", "-shm", "-journal"] { try tighten(databasePath + suffix, 0o600) }
    }

    /// Takes this process's spool folder for itself (a lock file in it, held while the process
    /// lives): a second `serve` on the same folder (the same SQLite data folder without
    /// `--node`, or the same node name) is refused instead of deciding the other's bodies.
    /// Returns the descriptor to keep open.
    public func lockSpool() throws -> Int32 {
        try FileManager.default.createDirectory(atPath: spoolPath, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock = "\(spoolPath)/.serve.lock"
        let fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SealError.io("cannot open \(lock)", errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: lock, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(fd)
            throw GatewayError(
                .spoolLocked, "another `sealgate serve` (pid \(holder)) already serves the spool \(spoolPath)",
                remedy: "stop it first, or give each process on this data folder a node name of its own")
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return fd
    }

    /// Removes what a crash left behind: folders a decision was opening into (of processes that
    /// are gone) and, when no synthesis runs, a dataset's unsealed files and partial package.
    /// Plaintext never outlives the work it was for.
    public func removeStale() -> Int {
        let fm = FileManager.default
        var removed = 0
        for name in (try? fm.contentsOfDirectory(atPath: packagesPath)) ?? [] {
            guard let r = name.range(of: ".opening-") else { continue }
            let pid = name[r.upperBound...].prefix { $0.isNumber }
            // A process of this machine that still runs may be opening into it right now.
            if let p = Int32(pid), kill(p, 0) == 0 || errno == EPERM { continue }
            if (try? fm.removeItem(atPath: "\(packagesPath)/\(name)")) != nil { removed += 1 }
        }
        let datasets = "\(path)/datasets"
        let lockFD = open("\(datasets)/.lock", O_RDWR | O_CLOEXEC)
        if lockFD >= 0 {
            defer { close(lockFD) }
            if flock(lockFD, LOCK_EX | LOCK_NB) == 0 {
                for name in (try? fm.contentsOfDirectory(atPath: datasets)) ?? [] {
                    let p = "\(datasets)/\(name)"
                    if name.hasPrefix(".") && name.contains(".partial-") {
                        if (try? fm.removeItem(atPath: p)) != nil { removed += 1 }
                    } else if name.hasPrefix("v"), Int(name.dropFirst()) != nil {
                        for f in (try? fm.contentsOfDirectory(atPath: p)) ?? [] where f.hasSuffix(".csv") {
                            if unlink("\(p)/\(f)") == 0 { removed += 1 }
                        }
                    }
                }
            }
        }
        return removed
    }

    /// The PostgreSQL URL in use, if any: `--database`, else the one gateway.json records.
    public func databaseURL() throws -> String? {
        if let database, PostgresLocation.isPostgresURL(database) { return database }
        guard let text = try? String(contentsOfFile: configPath, encoding: .utf8), let url = try JSON(parsing: text)["database"]?.string else {
            return nil
        }
        return url
    }

    func openPostgres(_ url: String) async throws -> SQLGatewayStore {
        let shown = (try? PostgresLocation(url: url).redacted) ?? "the --database URL"
        do { return try await SQLGatewayStore.postgres(url: url) } catch let e as StoreError {
            throw GatewayError(
                .storeFailure, "cannot open the PostgreSQL store at \(shown): \(e.message)",
                remedy: "check that the server is up and the URL (postgres://USER@HOST:PORT/DB); give the password in PGPASSWORD")
        }
    }
}

/// The department's recipient identity files: the first (`recipient.key`) and each rotated one
/// (`recipient-<fingerprint>.key`). A retired recipient's file is gone (or in `keys/archive/`).
func recipientKeyFiles(_ dir: DataDirectory) -> [String] {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.keysPath)) ?? []).sorted()
    return names.filter { $0 == "recipient.key" || ($0.hasPrefix("recipient-") && $0.hasSuffix(".key")) }.map { "\(dir.keysPath)/\($0)" }
}

/// The department's keys, unlocked. The receipt, dataset and log keys are files or keys on a
/// token (`SigningKeyFile`: the file names the token's key; it is opened at its first signature);
/// the root key is a file (kept offline, used for trust documents).
public struct DepartmentKeys: Sendable {
    public let recipients: [any AgeKeyIdentity]
    public let receipt: any MinisignSigner
    public let dataset: any MinisignSigner
    public let log: any MinisignSigner
    public let root: MinisignSecretKey

    public init(
        recipients: [any AgeKeyIdentity], receipt: any MinisignSigner, dataset: any MinisignSigner, log: any MinisignSigner,
        root: MinisignSecretKey
    ) {
        self.recipients = recipients
        self.receipt = receipt
        self.dataset = dataset
        self.log = log
        self.root = root
    }

    /// The same keys with the signing key of `role` (receipt, dataset, log) replaced (a rotation
    /// publishes the new key before its file takes the old one's place).
    public func replacing(_ role: DataDirectory.KeyRole, with key: any MinisignSigner) -> DepartmentKeys {
        DepartmentKeys(
            recipients: recipients, receipt: role == .receipt ? key : receipt, dataset: role == .dataset ? key : dataset,
            log: role == .log ? key : log, root: root)
    }

    /// The same keys with another root (a root rotation).
    public func replacingRoot(with key: MinisignSecretKey) -> DepartmentKeys {
        DepartmentKeys(recipients: recipients, receipt: receipt, dataset: dataset, log: log, root: key)
    }

    /// A token key's PIN when none was given: the command cannot sign with it.
    public static let noPIN: TokenPIN = { uri in
        throw SealError(
            .passphraseRequired, "a department key is on a token (\(uri.text)) and no PIN was given",
            remedy: "give the token's PIN in a file (mode 0600) or in SEALGATE_PKCS11_PIN")
    }

    /// The signing key in `path` (a key file, or a file naming a key on a token) of the data
    /// folder `dir` (a token's module inside it is refused).
    public static func signer(_ dir: DataDirectory, path: String, passphrase: () throws -> SecureBytes, pin: @escaping TokenPIN) throws
        -> any MinisignSigner
    {
        try SigningKeyFile.load(path: path, passphrase: passphrase, pin: pin, folder: dir.path)
    }

    /// These keys, with the token signers of `old` kept where the same key is named (a reload
    /// keeps the open sessions and logins instead of opening new ones).
    public func reusing(_ old: DepartmentKeys) -> DepartmentKeys {
        func keep(_ new: any MinisignSigner, _ previous: any MinisignSigner) -> any MinisignSigner {
            guard let n = new as? Pkcs11Signer, let p = previous as? Pkcs11Signer, n.publicKey.key == p.publicKey.key, n.uri == p.uri else {
                return new
            }
            return p
        }
        return DepartmentKeys(
            recipients: recipients, receipt: keep(receipt, old.receipt), dataset: keep(dataset, old.dataset), log: keep(log, old.log), root: root)
    }

    public static func load(_ dir: DataDirectory, passphrase: @escaping () throws -> SecureBytes, pin: @escaping TokenPIN = noPIN) throws
        -> DepartmentKeys
    {
        var cached: SecureBytes?
        let once: () throws -> SecureBytes = {
            if let c = cached { return c }
            let p = try passphrase()
            cached = p
            return p
        }
        return DepartmentKeys(
            recipients: try recipientKeyFiles(dir).flatMap { try AgeIdentityFile.load(path: $0, passphrase: once) },
            receipt: try signer(dir, path: dir.key(.receipt), passphrase: once, pin: pin),
            dataset: try signer(dir, path: dir.key(.dataset), passphrase: once, pin: pin),
            log: try signer(dir, path: dir.key(.log), passphrase: once, pin: pin),
            root: try MinisignSecretKey.load(path: dir.key(.root), passphrase: once))
    }

    /// Opens the token keys among the signing keys now (a gateway at start, while its operator
    /// is there to see a refusal); file keys are open already.
    public func openTokens() throws {
        for k in [receipt, dataset, log] { try (k as? Pkcs11Signer)?.open() }
    }
}
