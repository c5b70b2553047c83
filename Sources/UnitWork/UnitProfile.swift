public import Foundation
import GatewayClient
import GatewayCore
public import SealBase
import SealCrypto
import SealPackage

/// A unit's profile: the small file (`sealgate-unit.json`) in the clerk's folder that says who the
/// unit is, where its gateway and keys are, and what it has sent. Written by `sealgate unit init`;
/// from then on `seal`, `submit` and the desk need no repeated flags and count seq themselves.
/// Paths in it are relative to the folder holding it (the folder can move). It holds no secret:
/// the signing key stays in its own (passphrase-protected) file, a token only in the environment or
/// in a token file of its own.
public struct UnitProfile: Codable, Sendable, Equatable {
    public static let fileName = "sealgate-unit.json"
    public static let format = "sealgate-unit/1"

    public var format: String = Self.format
    /// The unit id, e.g. HCM-U001.
    public var unit: String
    /// The gateway's base URL (https://…).
    public var gateway: String
    /// The department's trust-root public key (pinned): `trust fetch` moves it on a root rotation.
    public var root: String
    /// The unit's minisign secret key file.
    public var signingKey: String
    /// Where the trust document is kept (and its `.minisig` beside it).
    public var trust: String = "trust.json"
    /// A private CA's certificate for an https:// gateway, if any.
    public var caFile: String?
    /// A file holding the unit's token (mode 0600), when the gateway asks for one.
    public var tokenFile: String?
    /// Where sealed packages and their receipts are written.
    public var packages: String = "packages"
    /// The last seq the gateway is known to have used for this unit (its answers: a unit view, a
    /// `seq_not_increasing` refusal). Never lowered.
    public var gatewayLastSeq: UInt64?
    /// The highest trust document version this folder has verified: a fetch never goes back
    /// below it, even when trust.json is lost or damaged (`trust_rollback`).
    public var trustVersion: UInt64?
    /// Every package sealed from this folder, oldest first.
    public var history: [HistoryEntry] = []

    public struct HistoryEntry: Codable, Sendable, Equatable {
        public var seq: UInt64
        public var kind: String
        /// The package file, relative to the profile's folder.
        public var package: String
        public var packageId: String
        public var sealedAt: Timestamp
        public var organizations: Int?
        public var members: Int?
        public var corrections: Int?
        /// The gateway's answer, once submitted: accepted | rejected | … (nil: not yet submitted
        /// or not answered).
        public var status: String?
        /// The refusal's code, when the gateway gave one.
        public var code: String?
        /// When the receipt was checked (signature and log inclusion).
        public var receiptVerifiedAt: Timestamp?
        /// The receipt file beside the package, once kept.
        public var receipt: String?

        public init(seq: UInt64, kind: String, package: String, packageId: String, sealedAt: Timestamp) {
            self.seq = seq
            self.kind = kind
            self.package = package
            self.packageId = packageId
            self.sealedAt = sealedAt
        }
    }

    public init(unit: String, gateway: String, root: String, signingKey: String) {
        self.unit = unit
        self.gateway = gateway
        self.root = root
        self.signingKey = signingKey
    }

    enum CodingKeys: String, CodingKey {
        case format, unit, gateway, root, trust, packages, history
        case signingKey = "signing_key"
        case caFile = "ca_file"
        case tokenFile = "token_file"
        case gatewayLastSeq = "gateway_last_seq"
        case trustVersion = "trust_version"
    }

    /// The next seq to seal with: above every seq sealed from this folder and every seq the
    /// gateway is known to have used.
    public var nextSeq: UInt64 {
        let local = history.map(\.seq).max() ?? 0
        return max(local, gatewayLastSeq ?? 0) + 1
    }

    /// Notes a seq the gateway has used (never lowers what is known).
    public mutating func noteGatewaySeq(_ seq: UInt64) {
        gatewayLastSeq = max(gatewayLastSeq ?? 0, seq)
    }
}

extension UnitProfile.HistoryEntry {
    enum CodingKeys: String, CodingKey {
        case seq, kind, package, organizations, members, corrections, status, code, receipt
        case packageId = "package_id"
        case sealedAt = "sealed_at"
        case receiptVerifiedAt = "receipt_verified_at"
    }
}

extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let t = Timestamp(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a moment (YYYY-MM-DDTHH:MM:SSZ)")
        }
        self = t
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

/// A unit's folder: its profile and the files it names, resolved against the folder.
public struct UnitFolder: Sendable {
    /// The folder holding `sealgate-unit.json` (absolute).
    public let path: String
    public private(set) var profile: UnitProfile

    /// The profile file's path.
    public var profilePath: String { "\(path)/\(UnitProfile.fileName)" }

    /// A path named by the profile, resolved against the folder.
    public func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : "\(path)/\(p)" }

    public var trustPath: String { resolve(profile.trust) }
    public var rootPath: String { resolve(profile.root) }
    /// The signing key: a key file's path, resolved, or a key on a token (a `pkcs11:` URI) as it is.
    public var signingKeyPath: String { Pkcs11URI.isURI(profile.signingKey) ? profile.signingKey : resolve(profile.signingKey) }
    public var packagesPath: String { resolve(profile.packages) }
    public var caFilePath: String? { profile.caFile.map(resolve) }

    /// The unit's token: SEALGATE_TOKEN, else the profile's token file — a regular file (not a
    /// link), the user's own, readable by no one else (mode 0600), holding one token (`sgt_…`):
    /// a profile someone else edited cannot make the tool send another file's contents.
    public func token(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let t = environment["SEALGATE_TOKEN"], !t.isEmpty { return t }
        guard let f = profile.tokenFile else { return nil }
        let path = resolve(f)
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw SealError(.ioError, "cannot read the token file \(path)", remedy: "check the path in the unit profile (token_file)")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw SealError(
                .keyFilePermissions, "the token file \(path) is not a regular file (a link, a folder, a device)",
                remedy: "keep the token in a plain file of its own, mode 0600")
        }
        guard st.st_uid == getuid(), st.st_mode & 0o077 == 0 else {
            throw SealError(
                .keyFilePermissions, "the token file \(path) can be read by other users, or is not yours",
                remedy: "chmod 600 it (and keep it owned by the user running sealgate)")
        }
        guard st.st_size <= 4096, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SealError(.profileInvalid, "the token file \(path) does not hold a token", remedy: "write the unit's token (sgt_…) into it, alone")
        }
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.hasPrefix("sgt_"), t.count <= 200, t.utf8.allSatisfy({ $0 < 0x80 && (isalnum(Int32($0)) != 0 || $0 == 0x2D || $0 == 0x5F) })
        else {
            throw SealError(.profileInvalid, "the token file \(path) does not hold a token", remedy: "write the unit's token (sgt_…) into it, alone")
        }
        return t
    }

    public init(path: String, profile: UnitProfile) {
        self.path = path
        self.profile = profile
    }

    /// The profile in `folder` (or, when `folder` is nil, the current folder or the nearest
    /// parent holding one); nil when there is none.
    public static func find(_ folder: String? = nil) throws -> UnitFolder? {
        let fm = FileManager.default
        if let folder {
            let abs = URL(fileURLWithPath: folder).standardizedFileURL.path
            guard fm.fileExists(atPath: "\(abs)/\(UnitProfile.fileName)") else { return nil }
            return try load(abs)
        }
        var dir = URL(fileURLWithPath: fm.currentDirectoryPath).standardizedFileURL
        while true {
            if fm.fileExists(atPath: dir.appendingPathComponent(UnitProfile.fileName).path) { return try load(dir.path) }
            let up = dir.deletingLastPathComponent()
            if up.path == dir.path { return nil }
            dir = up
        }
    }

    /// Reads `folder/sealgate-unit.json`: `profile_invalid` when it is not a profile.
    public static func load(_ folder: String) throws -> UnitFolder {
        let file = "\(folder)/\(UnitProfile.fileName)"
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw SealError(.ioError, "cannot read the unit profile \(file)", remedy: "check the folder and its permissions", cause: error)
        }
        guard data.count <= 16 << 20 else {
            throw SealError(.profileInvalid, "the unit profile \(file) is larger than 16 MiB", remedy: "restore it from a backup, or create it again")
        }
        let profile: UnitProfile
        do { profile = try JSONDecoder().decode(UnitProfile.self, from: data) } catch {
            throw SealError(
                .profileInvalid, "the unit profile \(file) cannot be read (\(Self.describe(error)))",
                remedy: "restore it from a backup, or create it again (the packages and receipts beside it are kept)")
        }
        guard profile.format == UnitProfile.format else {
            throw SealError(
                .profileInvalid, "the unit profile \(file) has format \(TerminalText.shown(profile.format)), not \(UnitProfile.format)",
                remedy: "use the sealgate version that wrote it, or create it again")
        }
        do { try GatewayClient.checkURL(profile.gateway, what: "gateway URL of the unit profile") } catch let e as SealError {
            throw SealError(.profileInvalid, "the unit profile \(file): \(e.message)", remedy: "create it again with the gateway's https:// URL")
        }
        guard PackageIdentifiers.isValidUnit(profile.unit) else {
            throw SealError(
                .profileInvalid, "the unit profile \(file) names no valid unit id", remedy: "create it again with the unit id as registered")
        }
        return UnitFolder(path: folder, profile: profile)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "no \(key.stringValue)"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.dataCorrupted(let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "not JSON" : "\(path) is wrong"
        default: return "not JSON"
        }
    }

    /// Writes the profile (atomically: a crash leaves the old or the new one, mode 0644: no secret).
    public mutating func save(_ profile: UnitProfile) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try enc.encode(profile)
        do { try data.write(to: URL(fileURLWithPath: profilePath), options: .atomic) } catch {
            throw SealError(
                .ioError, "cannot write the unit profile \(profilePath)", remedy: "check the folder's permissions and free space", cause: error)
        }
        self.profile = profile
    }

    /// Changes the profile and saves it.
    public mutating func update(_ change: (inout UnitProfile) -> Void) throws {
        var p = profile
        change(&p)
        try save(p)
    }

    /// Creates `folder/sealgate-unit.json`: `profile_exists` when there is one (unless `replace`).
    /// The keys are checked to exist and to be keys (the secret key is not opened: no passphrase).
    public static func create(
        _ folder: String, unit: String, gateway: String, root: String, signingKey: String, caFile: String? = nil, tokenFile: String? = nil,
        replace: Bool = false
    ) throws -> UnitFolder {
        let abs = URL(fileURLWithPath: folder).standardizedFileURL.path
        let fm = FileManager.default
        guard PackageIdentifiers.isValidUnit(unit) else {
            throw SealError(
                .usage, "unit id '\(TerminalText.shown(unit))' is not [A-Z0-9][A-Z0-9-]{1,31}",
                remedy: "give the unit id as registered, e.g. HCM-U001")
        }
        if !replace, fm.fileExists(atPath: "\(abs)/\(UnitProfile.fileName)") {
            throw SealError(
                .profileExists, "\(abs) already holds a unit profile",
                remedy: "keep it, or replace it on purpose (its history of packages is then lost)")
        }
        try fm.createDirectory(atPath: abs, withIntermediateDirectories: true)
        func relative(_ p: String) -> String {
            let a = URL(fileURLWithPath: p).standardizedFileURL.path
            return a.hasPrefix(abs + "/") ? String(a.dropFirst(abs.count + 1)) : a
        }
        do { _ = try MinisignPublicKey(path: root) } catch let e as SealError {
            throw SealError(
                e.code, "the trust root \(root): \(e.message)", remedy: "give the department's root.pub as it was handed to the unit", cause: e)
        }
        // A key on a token is kept as its URI (checked for form here, used at each seal).
        let onToken = Pkcs11URI.isURI(signingKey)
        if onToken {
            _ = try Pkcs11URI(signingKey)
        } else {
            guard let head = fm.contents(atPath: signingKey).map({ String(decoding: $0.prefix(200), as: UTF8.self) }),
                head.hasPrefix("untrusted comment:")
            else {
                throw SealError(
                    .keyMalformed, "\(signingKey) is not a minisign secret key", remedy: "give the unit's secret key file (made by `sealgate keygen`)"
                )
            }
        }
        var profile = UnitProfile(unit: unit, gateway: gateway, root: relative(root), signingKey: onToken ? signingKey : relative(signingKey))
        profile.caFile = caFile.map(relative)
        profile.tokenFile = tokenFile.map(relative)
        var f = UnitFolder(path: abs, profile: profile)
        if tokenFile != nil { _ = try f.token(environment: [:]) }  // checked before anything is written
        try f.save(profile)
        return f
    }
}
