import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import SealCrypto
import SealPackage
import Synchronization

struct DataOption: ParsableArguments {
    @Option(name: .long, help: "The gateway's data folder.") var data: String
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store: a PostgreSQL URL (postgres://USER@HOST:PORT/DB; password in PGPASSWORD). Default: $SEALGATE_DATABASE, else the one `init --database` recorded, else SQLite in the data folder.",
            valueName: "url"))
    var database: String?
    var dir: DataDirectory { DataDirectory(data, database: database ?? ProcessInfo.processInfo.environment["SEALGATE_DATABASE"]) }
}

/// Options shared by commands that report results.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print a JSON result on stdout (errors too) for scripts.")
    var json = false
}

/// The language of a unit-side command (validate, normalize, seal, submit, trust fetch, receipt
/// verify, unit …): `--lang`, else SEALGATE_LANG, else the locale (LC_ALL, LC_MESSAGES, LANG:
/// vi… or en…), else Vietnamese. Parsing it makes it the command's language (`CommandLanguage`):
/// the error printer and the command's own lines (`Words`) speak it.
struct LangOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Language of messages and errors: vi or en (default: $SEALGATE_LANG, else the locale, else vi).", valueName: "vi|en"))
    var lang: Language?

    var resolved: Language { lang ?? defaultLanguage(unitSide: true) }

    mutating func validate() throws { CommandLanguage.choose(resolved) }
}

/// The language a command speaks when it says nothing itself: SEALGATE_LANG (vi or en), else the
/// locale's, else Vietnamese for the unit-side commands and English for the department's.
func defaultLanguage(unitSide: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Language {
    if let v = environment["SEALGATE_LANG"], let l = Language.primary(v) { return l }
    return Language.fromLocale(environment) ?? (unitSide ? .vi : .en)
}

/// The language of the command running: the one its `LangOption` chose, else the department's
/// default. Read by `report` (the error lines) and `Words.now`.
enum CommandLanguage {
    private static let chosen = Mutex<Language?>(nil)
    static func choose(_ l: Language) { chosen.withLock { $0 = l } }
    static var current: Language { chosen.withLock { $0 } ?? defaultLanguage(unitSide: false) }
}

struct PassphraseOptions: ParsableArguments {
    @Option(name: .long, help: "Read the passphrase from this file (mode 0600) instead of SEALGATE_PASSPHRASE or a prompt.")
    var passphraseFile: String?

    func provider(prompt: String) -> () throws -> SecureBytes {
        { try Passphrase.obtain(file: passphraseFile, prompt: prompt) }
    }
}

/// Where a signing key on a token (a `pkcs11:` URI given as the key) is reached: its module and PIN.
struct TokenOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "The token's PKCS#11 module (a .so, loaded at run time), for a pkcs11: signing key (default: the URI's module-path, or SEALGATE_PKCS11_MODULE)."
    )
    var pkcs11Module: String?
    @Option(name: .long, help: "Read the token's PIN from this file (mode 0600) instead of SEALGATE_PKCS11_PIN or a prompt.")
    var pinFile: String?

    /// The signing key `value` names: a key file (its passphrase from `passphrase`) or, for a
    /// `pkcs11:` URI, the key on the token (its PIN from --pin-file, SEALGATE_PKCS11_PIN or a prompt).
    func signer(_ value: String, passphrase: PassphraseOptions) throws -> any MinisignSigner {
        guard Pkcs11URI.isURI(value) else {
            return try MinisignSecretKey.load(path: value, passphrase: passphrase.provider(prompt: "Passphrase for \(value): "))
        }
        let uri = try Pkcs11URI(value)
        let module = try module(for: uri)
        let pin = departmentPIN()
        return try Pkcs11Signer(uri: uri, modulePath: module, pin: { try pin(uri) })
    }

    /// The module for a `pkcs11:` key: --pkcs11-module, the URI's module-path, SEALGATE_PKCS11_MODULE.
    func module(for uri: Pkcs11URI) throws -> String {
        guard let module = pkcs11Module ?? uri.modulePath ?? ProcessInfo.processInfo.environment["SEALGATE_PKCS11_MODULE"] else {
            throw SealError(
                .usage, "a pkcs11: signing key needs its token's module",
                remedy: "give --pkcs11-module /path/to/module.so (e.g. /usr/lib/softhsm/libsofthsm2.so) or set SEALGATE_PKCS11_MODULE")
        }
        return module
    }

    /// Where the PIN of a token key comes from: the PIN file, read again at each login (a
    /// running gateway takes a PIN written there anew); else SEALGATE_PKCS11_PIN or the prompt,
    /// asked once per command and kept (in locked memory) for the logins after. A server asks at
    /// the prompt only while `mayPrompt()` (its start): a request never waits on a terminal.
    func departmentPIN(mayPrompt: @escaping @Sendable () -> Bool = { true }) -> TokenPIN {
        if let file = pinFile { return { uri in try Passphrase.obtainPIN(file: file, prompt: Self.prompt(uri)) } }
        let cached = Mutex<SecureBytes?>(nil)
        return { uri in
            try cached.withLock { value in
                if let v = value { return v }
                guard let p = try Passphrase.pinFromEnvironment() ?? (mayPrompt() ? Passphrase.obtainPIN(file: nil, prompt: Self.prompt(uri)) : nil)
                else {
                    throw SealError(
                        .tokenPinRefused, "a key is on a token (\(uri.text)) and this running process has no PIN for it",
                        remedy: "restart it with --pin-file (or SEALGATE_PKCS11_PIN)")
                }
                value = p
                return p
            }
        }
    }

    static func prompt(_ uri: Pkcs11URI) -> String { "PIN for the token \(uri.token ?? uri.serial ?? "named by \(uri.text)"): " }
}

/// Whether a server is still starting (its operator at the terminal), until `end()`.
final class StartPhase: Sendable {
    private let on = Mutex(true)
    var isOn: Bool { on.withLock { $0 } }
    func end() { on.withLock { $0 = false } }
}

/// A passphrase asked at most once per command.
func cachedPassphrase(_ options: PassphraseOptions) -> @Sendable () throws -> SecureBytes {
    let cached = Mutex<SecureBytes?>(nil)
    let file = options.passphraseFile
    return {
        // Asked once (under the mutex: two callers never both prompt).
        try cached.withLock { value in
            if let v = value { return v }
            let p = try Passphrase.obtain(file: file, prompt: "Passphrase for the department keys: ")
            value = p
            return p
        }
    }
}

/// How a command reaches a gateway or the handbook system over HTTP(S).
struct ClientOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "PEM file of the CA that signed the server's certificate (a private CA); default: $SEALGATE_CA_FILE, else the system's trust store.",
            valueName: "file"))
    var caFile: String?
    @Option(name: .long, help: ArgumentHelp("A client certificate (PEM) for a server that requires one (serve --client-ca).", valueName: "file"))
    var clientCert: String?
    @Option(name: .long, help: ArgumentHelp("The client certificate's private key (PEM).", valueName: "file"))
    var clientKey: String?
    @Option(name: .long, help: "Seconds an exchange (connect, send, answer) may take.")
    var timeout: Int = 120

    func settings(maxResponseBytes: Int = 16 << 20) throws -> ClientSettings {
        guard (1...86_400).contains(timeout) else { throw SealError(.usage, "--timeout must be 1 to 86400 seconds", remedy: "e.g. --timeout 120") }
        var s = ClientSettings(
            caFile: caFile ?? ProcessInfo.processInfo.environment["SEALGATE_CA_FILE"], clientCertificateFile: clientCert,
            clientKeyFile: clientKey, timeout: .seconds(timeout))
        s.maxResponseBytes = maxResponseBytes
        return s
    }
}

/// How `serve` and `handbook serve` listen: TLS and what they tolerate from clients.
struct ListenOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("Serve HTTPS with this certificate chain (PEM, the server's certificate first); re-read on SIGHUP.", valueName: "file"))
    var tlsCert: String?
    @Option(name: .long, help: ArgumentHelp("The certificate's private key (PEM).", valueName: "file"))
    var tlsKey: String?
    @Option(name: .long, help: ArgumentHelp("Require client certificates signed by this CA (PEM); needs --tls-cert.", valueName: "file"))
    var clientCa: String?
    @Option(name: .long, help: "Connections open at once; more wait in the listen backlog.") var maxConnections: Int = 512
    @Option(name: .long, help: "Seconds before a connection with no request in progress is closed.") var idleTimeout: Int64 = 30
    @Option(name: .long, help: "Seconds a client has to send a request's head (line and headers).") var headerTimeout: Int64 = 10
    @Option(name: .long, help: "Seconds a request body may start slowly before --min-body-rate applies.") var bodyGrace: Int64 = 10
    @Option(name: .long, help: "Lowest average rate of a request body after the grace (e.g. 16KiB: bytes a second; 0: no minimum).") var minBodyRate:
        String = "16KiB"

    /// The settings for `host`:`port`, checked; TLS files are loaded (and their pairing checked) by the caller.
    func settings(host: String, port: Int) throws -> ListenSettings {
        var l = ListenSettings()
        l.host = host
        l.port = port
        switch (tlsCert, tlsKey) {
        case (let cert?, let key?):
            l.tls = TLSFiles(
                certificate: DataDirectory.absolute(cert), key: DataDirectory.absolute(key), clientCA: clientCa.map(DataDirectory.absolute))
        case (nil, nil):
            if clientCa != nil {
                throw SealError(.usage, "--client-ca needs --tls-cert and --tls-key", remedy: "client certificates are checked over TLS only")
            }
        default: throw SealError(.usage, "--tls-cert and --tls-key go together", remedy: "give both, or neither for plain http on loopback")
        }
        guard (0...65535).contains(port) else { throw SealError(.usage, "--port must be 0 to 65535", remedy: "e.g. --port 8443") }
        guard (1...1_000_000).contains(maxConnections) else {
            throw SealError(.usage, "--max-connections must be 1 to 1000000", remedy: "e.g. --max-connections 512")
        }
        for (name, v) in [("--idle-timeout", idleTimeout), ("--header-timeout", headerTimeout), ("--body-grace", bodyGrace)] {
            guard (1...86_400).contains(v) else { throw SealError(.usage, "\(name) must be 1 to 86400 seconds", remedy: "e.g. \(name) 10") }
        }
        l.maxConnections = maxConnections
        l.idleTimeout = .seconds(idleTimeout)
        l.headerTimeout = .seconds(headerTimeout)
        l.bodyGrace = .seconds(bodyGrace)
        let rate = try parseSize(minBodyRate)
        guard rate <= 1 << 30 else { throw SealError(.usage, "--min-body-rate must be at most 1GiB", remedy: "e.g. --min-body-rate 16KiB") }
        l.minBodyBytesPerSecond = Int64(rate)
        try l.validate()
        return l
    }

    /// Loads the TLS identity (nil without TLS) and arranges the SIGHUP reload.
    func identity(_ l: ListenSettings) throws -> (TLSIdentity, any DispatchSourceSignal)? {
        ignoreSIGHUP()
        guard let files = l.tls else { return nil }
        let id = try TLSIdentity(files)
        _ = try id.configuration()  // the client CA is read now, not at the first handshake
        let source = reloadOnSIGHUP(id) { line in FileHandle.standardOutput.write(Data("\(line)\n".utf8)) }
        return (id, source)
    }
}

/// Checks a server URL given on the command line (`what` names the option) and warns when a
/// plain http:// URL leads to another machine.
func checkServerURL(_ url: String, what: String) throws {
    try GatewayClient.checkURL(url, what: what)
    warnIfPlainText(url)
}

/// Prints the clear-text warning for a plain http:// URL to another machine (once per URL).
func warnIfPlainText(_ url: String, origin: String? = nil) {
    if let w = GatewayClient.plainTextWarning(url) { say("warning: \(w)\(origin.map { " (address from \($0))" } ?? "")") }
}

/// A duration: a number and d, h, m or s (seconds without a unit); finite, 0 to 100 years
/// (a longer one would overflow the time arithmetic it feeds).
func parseDuration(_ text: String) throws -> TimeInterval {
    var seconds: Double?
    for (u, mult) in [("d", 86_400.0), ("h", 3_600.0), ("m", 60.0), ("s", 1.0)] where text.hasSuffix(u) {
        if let v = Double(text.dropLast()) { seconds = v * mult }
    }
    if seconds == nil, let v = Double(text) { seconds = v }
    guard let seconds, seconds.isFinite, seconds >= 0, seconds <= maxDurationSeconds else {
        throw SealError(.usage, "bad duration '\(text.prefix(40))'", remedy: "e.g. 14d, 12h, 30m (at most 36500d)")
    }
    return seconds
}

let maxDurationSeconds = 36_500.0 * 86_400

/// A UTC time as the gateway writes it (2026-11-29T04:10:00Z), a day of the calendar, or "now".
func parseMoment(_ text: String) throws -> Timestamp {
    if text == "now" { return Timestamp.now }
    guard let t = Timestamp(text) else {
        throw SealError(.usage, "bad time '\(text.prefix(40))'", remedy: "give a UTC time like 2026-11-29T04:10:00Z, or now")
    }
    return t
}

func parseSize(_ text: String) throws -> UInt64 {
    let units: [(String, UInt64)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("", 1)]
    for (suffix, mult) in units where text.hasSuffix(suffix) {
        if let v = UInt64(text.dropLast(suffix.count)) {
            let (bytes, overflow) = v.multipliedReportingOverflow(by: mult)
            guard !overflow, bytes <= UInt64(Int64.max) else { break }
            return bytes
        }
    }
    throw SealError(.usage, "bad size '\(text.prefix(40))'", remedy: "give a size like 256MiB, 1GiB or a byte count")
}
