import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
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
