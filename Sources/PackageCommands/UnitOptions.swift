public import ArgumentParser
public import Foundation
public import SealBase
public import SealCrypto
import Synchronization

/// Options shared by commands that report results.
public struct OutputOptions: ParsableArguments, Sendable {
    public init() {}
    @Flag(name: .long, help: "Print a JSON result on stdout (errors too) for scripts.")
    public var json = false
}

/// The language of a unit-side command (validate, normalize, seal, submit, trust fetch, receipt
/// verify, unit …): `--lang`, else SEALGATE_LANG, else the locale (LC_ALL, LC_MESSAGES, LANG:
/// vi… or en…), else Vietnamese. Parsing it makes it the command's language (`CommandLanguage`):
/// the error printer and the command's own lines (`Words`) speak it.
public struct LangOption: ParsableArguments, Sendable {
    public init() {}
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Language of messages and errors: vi or en (default: $SEALGATE_LANG, else the locale, else vi).", valueName: "vi|en"))
    public var lang: Language?

    public var resolved: Language { lang ?? defaultLanguage(unitSide: true) }

    public mutating func validate() throws { CommandLanguage.choose(resolved) }
}

/// The language a command speaks when it says nothing itself: SEALGATE_LANG (vi or en), else the
/// locale's, else Vietnamese for the unit-side commands and English for the department's.
public func defaultLanguage(unitSide: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Language {
    if let v = environment["SEALGATE_LANG"], let l = Language.primary(v) { return l }
    return Language.fromLocale(environment) ?? (unitSide ? .vi : .en)
}

/// The language of the command running: the one its `LangOption` chose, else the department's
/// default. Read by `report` (the error lines) and `Words.now`.
public enum CommandLanguage {
    private static let chosen = Mutex<Language?>(nil)
    public static func choose(_ l: Language) { chosen.withLock { $0 = l } }
    public static var current: Language { chosen.withLock { $0 } ?? defaultLanguage(unitSide: false) }
}

public struct PassphraseOptions: ParsableArguments, Sendable {
    public init() {}
    @Option(name: .long, help: "Read the passphrase from this file (mode 0600) instead of SEALGATE_PASSPHRASE or a prompt.")
    public var passphraseFile: String?

    public func provider(prompt: String) -> () throws -> SecureBytes {
        { try Passphrase.obtain(file: passphraseFile, prompt: prompt) }
    }
}

/// Where a signing key on a token (a `pkcs11:` URI given as the key) is reached: its module and PIN.
public struct TokenOptions: ParsableArguments, Sendable {
    public init() {}
    @Option(
        name: .long,
        help:
            "The token's PKCS#11 module (a .so, loaded at run time), for a pkcs11: signing key (default: the URI's module-path, or SEALGATE_PKCS11_MODULE)."
    )
    public var pkcs11Module: String?
    @Option(name: .long, help: "Read the token's PIN from this file (mode 0600) instead of SEALGATE_PKCS11_PIN or a prompt.")
    public var pinFile: String?

    /// The signing key `value` names: a key file (its passphrase from `passphrase`) or, for a
    /// `pkcs11:` URI, the key on the token (its PIN from --pin-file, SEALGATE_PKCS11_PIN or a prompt).
    public func signer(_ value: String, passphrase: PassphraseOptions) throws -> any MinisignSigner {
        guard Pkcs11URI.isURI(value) else {
            return try MinisignSecretKey.load(path: value, passphrase: passphrase.provider(prompt: "Passphrase for \(value): "))
        }
        let uri = try Pkcs11URI(value)
        let module = try module(for: uri)
        let pin = departmentPIN()
        return try Pkcs11Signer(uri: uri, modulePath: module, pin: { try pin(uri) })
    }

    /// The module for a `pkcs11:` key: --pkcs11-module, the URI's module-path, SEALGATE_PKCS11_MODULE.
    public func module(for uri: Pkcs11URI) throws -> String {
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
    public func departmentPIN(mayPrompt: @escaping @Sendable () -> Bool = { true }) -> TokenPIN {
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

    public static func prompt(_ uri: Pkcs11URI) -> String { "PIN for the token \(uri.token ?? uri.serial ?? "named by \(uri.text)"): " }
}

/// Whether a server is still starting (its operator at the terminal), until `end()`.
public final class StartPhase: Sendable {
    public init() {}
    private let on = Mutex(true)
    public var isOn: Bool { on.withLock { $0 } }
    public func end() { on.withLock { $0 = false } }
}

/// A passphrase asked at most once per command.
public func cachedPassphrase(_ options: PassphraseOptions) -> @Sendable () throws -> SecureBytes {
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

public func parseSize(_ text: String) throws -> UInt64 {
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
