public import ArgumentParser
import Foundation
import PartyRecords
public import SealBase
public import SealCrypto
public import SealPackage
import Synchronization

/// What only the full `sealgate` can do for `seal` (it needs the department's libraries): the
/// recipients of a trust document (`--trust`), and sealing with a unit profile (the trust
/// document fetched over HTTPS, the next seq learned from the gateway). Set by `sealgate` before
/// it parses; the unit-side executable leaves them unset and refuses those two ways.
public enum SealExtensions {
    public struct Hooks: Sendable {
        public var trustRecipients: @Sendable (String) throws -> [any AgeKeyRecipient]
        public var sealWithProfile: @Sendable (Seal) async throws -> Void
        public init(
            trustRecipients: @escaping @Sendable (String) throws -> [any AgeKeyRecipient],
            sealWithProfile: @escaping @Sendable (Seal) async throws -> Void
        ) {
            self.trustRecipients = trustRecipients
            self.sealWithProfile = sealWithProfile
        }
    }
    static let installed = Mutex<Hooks?>(nil)
    public static func install(_ hooks: Hooks) { installed.withLock { $0 = hooks } }
    static var hooks: Hooks? { installed.withLock { $0 } }

    static func missing(_ what: String) -> SealError {
        SealError(.usage, "\(what) needs the full sealgate program", remedy: "run it with sealgate (not sealgate-unit)")
    }
}

public struct Seal: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        abstract: "Seal data files into a signed, encrypted package.",
        discussion: """
            The package is a tar of package.minisig (minisign, prehashed, with the trusted comment `sealgate/1 unit=… package=… seq=… kind=… created=… to=…`) and payload.age (the files and their manifest, encrypted to every --to recipient). Nothing is left at -o on failure.

            A snapshot carries organizations.csv and members.csv, a correction corrections.csv; --kind files carries any files.

            Example: sealgate seal --unit HCM-U001 --seq 1 --signing-key unit.key --to dept.pub -o HCM-U001-1-snapshot.sgp organizations.csv members.csv
            """)

    @Option(name: .long, help: "The sealing unit's id, e.g. HCM-U001 (default: the unit profile's).") public var unit: String?
    @Option(name: .long, help: "Sequence number, strictly increasing per unit (default with a unit profile: the next one).") public var seq: UInt64?
    @Option(name: .long, help: "snapshot | correction | dataset | files") public var kind: PackageKind = .snapshot
    @Option(
        name: .long,
        help:
            "The unit's minisign secret key file, or a key on a token as a PKCS#11 URI (pkcs11:token=…;object=…) (default: the unit profile's)."
    ) public var signingKey: String?
    @Option(name: .long, parsing: .singleValue, help: "An age1… recipient or a file of them (repeatable).") public var to: [String] = []
    @Option(name: .long, help: "Seal to the active recipients of this trust document (from `sealgate trust fetch`) instead of --to.") public
        var trust: String?
    @Option(name: .shortAndLong, help: "Output package path (.sgp; default with a unit profile: packages/UNIT-SEQ-KIND.sgp).") public var output:
        String?
    @Option(name: .long, help: "The folder holding the unit profile (default: this folder or the nearest above).") public var profile: String?
    @Option(
        name: .long,
        help: "Refuse a package larger than this before writing it (default: what open and the gateway accept, 256MiB; 4GiB for a dataset)."
    ) public var maxSize: String?
    @Argument(help: "Data files (their base names are used inside the package).") public var files: [String]
    @OptionGroup public var language: LangOption
    public var lang: Language { language.resolved }
    @OptionGroup public var passphrase: PassphraseOptions
    @OptionGroup public var token: TokenOptions
    @OptionGroup public var out: OutputOptions

    public func run() async throws {
        if unit == nil && signingKey == nil && output == nil && to.isEmpty && trust == nil {
            guard let hooks = SealExtensions.hooks else {
                return try await runAsync(json: out.json) { throw SealExtensions.missing("sealing with a unit profile") }
            }
            return try await hooks.sealWithProfile(self)
        }
        guard let unit, let seq, let signingKey, let output else {
            throw ValidationError(
                "give --unit, --seq, --signing-key and -o (or none of them, in a folder set up with `sealgate unit init`)")
        }
        try await runAsync(json: out.json) {
            guard !to.isEmpty || trust != nil else {
                throw SealError(
                    .usage, "no recipient", remedy: "give --trust trust.json, or --to with the department's age1… recipient or its .pub file")
            }
            var recipients = try to.flatMap { try AgeRecipientList.parse(argument: $0, fileExists: FileManager.default.fileExists(atPath:)) }
            if let trust {
                guard let hooks = SealExtensions.hooks else { throw SealExtensions.missing("--trust") }
                recipients += try hooks.trustRecipients(trust)
            }
            // A workbook's sheets are sealed as the normalized CSV files of the spec, written into a
            // private folder removed as soon as the package is sealed or refused.
            let staging = try WorkbookStaging(inputs: files, recordKind: kind == .snapshot || kind == .correction)
            defer { staging.remove() }
            if kind == .snapshot || kind == .correction {
                // Record kinds are validated first; data with errors is not sealed.
                let today = CivilDate(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400))
                let v = try runValidation(files, today: today, crossUnit: false, defaultUnit: unit, sink: staging.sink)
                let report = ValidationReport(v, lang: lang)
                if report.errors > 0 {
                    FileHandle.standardError.write(Data(report.render(.table, maxRows: 50).utf8))
                    throw SealError(
                        .recordsInvalid, "the records have \(report.errors) error(s); nothing was sealed",
                        remedy: "fix the rows listed above (or run `sealgate normalize` for what can be normalized), then seal again")
                }
            }
            let key = try token.signer(signingKey, passphrase: passphrase)
            let inputs = staging.files(files).map { SealRequest.Input(name: URL(fileURLWithPath: $0).lastPathComponent, path: $0) }
            let result = try Sealer.seal(
                SealRequest(
                    unit: unit, seq: seq, kind: kind, inputs: inputs, recipients: recipients, signer: key, output: output,
                    maxBytes: try maxSize.map(parseSize)),
                progress: progressReporter())
            if !out.json {
                say(Words.now.sealed(result.manifest.files.count, output, result.packageBytes))
                say("  \(result.comment.text)")
            }
            return describe(result.comment, manifest: result.manifest, extra: ["output": output, "bytes": result.packageBytes])
        }
    }
}

extension PackageKind: ExpressibleByArgument {}

public struct Verify: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        abstract: "Check a package's container, signature and trusted comment, without decrypting.",
        discussion: "Same as: tar -xf PKG && minisign -V -p PUB -m payload.age -x package.minisig (plus the format checks).")

    @Option(name: .long, parsing: .singleValue, help: "The signer's minisign public key file (repeatable).") var signer: [String]
    @Option(name: .long, help: "Require the package's unit to be this one.") var unit: String?
    @Option(name: .long, help: "Refuse packages larger than this (e.g. 512MiB, 1GiB).") var maxSize: String = "256MiB"
    @Argument(help: "The package.") var package: String
    @OptionGroup var out: OutputOptions

    public func run() async throws {
        try await runAsync(json: out.json) {
            let v = try Verifier.verify(
                path: package, signers: try loadSigners(signer), expectedUnit: unit,
                maxBytes: try parseSize(maxSize), progress: progressReporter())
            if !out.json {
                say("OK: signature by key \(v.signer.keyIdHex) verified")
                say("  \(v.comment.text)")
            }
            return describe(v.comment, manifest: nil, extra: ["signer_key_id": v.signer.keyIdHex])
        }
    }
}

public struct Open: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        abstract: "Verify, decrypt and unpack a package into a new folder.",
        discussion: "The folder appears only if every check passed; it holds manifest.json and the data files.")

    @Option(
        name: .long, parsing: .singleValue,
        help: "An age identity file (repeatable), or a folder: every recipient*.key in it (a gateway's keys/, whatever its rotations).") var identity:
        [String]
    @Option(name: .long, parsing: .singleValue, help: "The signer's minisign public key file (repeatable).") var signer: [String]
    @Option(name: .shortAndLong, help: "Output folder (must not exist).") var output: String
    @Option(name: .long, help: "Require the package's unit to be this one.") var unit: String?
    @Option(name: .long, help: "Refuse packages larger than this (e.g. 512MiB, 1GiB).") var maxSize: String = "256MiB"
    @Argument(help: "The package.") var package: String
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var out: OutputOptions

    public func run() async throws {
        try await runAsync(json: out.json) {
            guard !identity.isEmpty else {
                throw SealError(.usage, "no identity given", remedy: "give --identity with the department's age identity file")
            }
            let pass = cachedPassphrase(passphrase)
            let files = try identity.flatMap { path -> [String] in
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else { return [path] }
                let keys = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix("recipient") && $0.hasSuffix(".key") }
                    .sorted()
                guard !keys.isEmpty else {
                    throw SealError(
                        .usage, "\(path) holds no recipient*.key", remedy: "give --identity an age identity file, or a gateway's keys/ folder")
                }
                return keys.map { "\(path)/\($0)" }
            }
            let ids = try files.flatMap { try AgeIdentityFile.load(path: $0, passphrase: pass) }
            let r = try Opener.open(
                OpenRequest(
                    path: package, output: output, identities: ids, signers: try loadSigners(signer),
                    expectedUnit: unit, maxBytes: try parseSize(maxSize)), progress: progressReporter())
            if !out.json {
                say("opened \(package) into \(output): \(r.manifest.files.map { "\($0.name) (\($0.records) records)" }.joined(separator: ", "))")
                say("  \(r.comment.text)")
            }
            return describe(r.comment, manifest: r.manifest, extra: ["output": output, "signer_key_id": r.signer.keyIdHex])
        }
    }
}

public struct Inspect: AsyncParsableCommand {
    public init() {}
    public static let configuration = CommandConfiguration(
        abstract: "Show a package's trusted comment, signer key id and recipients, without keys or decryption.",
        discussion: "Nothing shown here is verified: use `verify` to check the signature.")

    @Argument(help: "The package.") var package: String
    @Option(name: .long, help: "Refuse packages larger than this (e.g. 512MiB, 1GiB).") var maxSize: String = "256MiB"
    @OptionGroup var out: OutputOptions

    public func run() async throws {
        try await runAsync(json: out.json) {
            let h = try PackageHeader(path: package, source: try FileSource(path: package), maxBytes: try parseSize(maxSize))
            let c = h.comment
            if !out.json {
                print("package        \(package) (\(h.container.size) bytes; payload.age \(h.container.payloadLength) bytes)")
                print("unit           \(c.unit)")
                print("package id     \(c.package)")
                print("seq            \(c.seq)")
                print("kind           \(c.kind.rawValue)")
                print("created        \(c.created)")
                print("signer key id  \(Minisign.keyIdHex(h.signature.keyId)) (not verified)")
                print("recipients     \(c.to.joined(separator: ", ")) (fingerprints)")
                print("age stanzas    \(h.stanzaTypes.joined(separator: ", "))")
            }
            return describe(
                c, manifest: nil,
                extra: [
                    "signer_key_id": Minisign.keyIdHex(h.signature.keyId), "bytes": h.container.size,
                    "payload_bytes": h.container.payloadLength, "stanzas": h.stanzaTypes, "verified": false,
                ])
        }
    }
}

public func describe(_ c: TrustedComment, manifest: Manifest?, extra: [String: Any]) -> [String: Any] {
    var d: [String: Any] = [
        "unit": c.unit, "package": c.package, "seq": c.seq, "kind": c.kind.rawValue, "created": c.created, "to": c.to,
        "trusted_comment": c.text,
    ]
    if let manifest {
        d["files"] = manifest.files.map { ["name": $0.name, "sha256": $0.sha256, "records": $0.records] as [String: Any] }
    }
    for (k, v) in extra { d[k] = v }
    return d
}

public func loadSigners(_ paths: [String]) throws -> [MinisignPublicKey] {
    guard !paths.isEmpty else { throw SealError(.usage, "no signer public key given", remedy: "give --signer with the unit's .pub file") }
    return try paths.map { p in
        if p.hasPrefix("RW") && !FileManager.default.fileExists(atPath: p) { return try MinisignPublicKey(base64: p) }
        return try MinisignPublicKey(path: p)
    }
}
