import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import SealCrypto

/// How a command reaches a gateway or the handbook system over HTTP(S).
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("PEM file of the CA that signed the server's certificate (a private CA); default: $SEALGATE_CA_FILE, else the system's trust store.", valueName: "file"))
    var caFile: String?
    @Option(name: .long, help: ArgumentHelp("A client certificate (PEM) for a server that requires one (serve --client-ca).", valueName: "file"))
    var clientCert: String?
    @Option(name: .long, help: ArgumentHelp("The client certificate's private key (PEM).", valueName: "file"))
    var clientKey: String?
    @Option(name: .long, help: "Seconds an exchange (connect, send, answer) may take.")
    var timeout: Int = 120

    func settings(maxResponseBytes: Int = 16 << 20) throws -> ClientSettings {
        guard (1...86_400).contains(timeout) else { throw SealError(.usage, "--timeout must be 1 to 86400 seconds", remedy: "e.g. --timeout 120") }
        var s = ClientSettings(caFile: caFile ?? ProcessInfo.processInfo.environment["SEALGATE_CA_FILE"], clientCertificateFile: clientCert,
                               clientKeyFile: clientKey, timeoutSeconds: timeout)
        s.maxResponseBytes = maxResponseBytes
        return s
    }
}

/// Prints the clear-text warning for a plain http:// URL to another machine (once per URL).
func warnIfPlainText(_ url: String, origin: String? = nil) {
    if let w = GatewayClient.plainTextWarning(url) { say("warning: \(w)\(origin.map { " (address from \($0))" } ?? "")") }
}

/// `run` for commands that talk to a server.
func runAsync(json: Bool, _ body: () async throws -> [String: Any]) async throws {
    do {
        let result = try await body()
        if json { printJSON(["ok": true, "result": result]) }
    } catch {
        try report(error, json: json)
    }
}

/// How `serve` and `handbook serve` listen: TLS and what they tolerate from clients.
struct ListenOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Serve HTTPS with this certificate chain (PEM, the server's certificate first); re-read on SIGHUP.", valueName: "file"))
    var tlsCert: String?
    @Option(name: .long, help: ArgumentHelp("The certificate's private key (PEM).", valueName: "file"))
    var tlsKey: String?
    @Option(name: .long, help: ArgumentHelp("Require client certificates signed by this CA (PEM); needs --tls-cert.", valueName: "file"))
    var clientCa: String?
    @Option(name: .long, help: "Connections open at once; more wait in the listen backlog.") var maxConnections: Int = 512
    @Option(name: .long, help: "Seconds before a connection with no request in progress is closed.") var idleTimeout: Int64 = 30
    @Option(name: .long, help: "Seconds a client has to send a request's head (line and headers).") var headerTimeout: Int64 = 10
    @Option(name: .long, help: "Seconds a request body may start slowly before --min-body-rate applies.") var bodyGrace: Int64 = 10
    @Option(name: .long, help: "Lowest average rate of a request body after the grace (e.g. 16KiB: bytes a second; 0: no minimum).") var minBodyRate: String = "16KiB"

    /// The settings for `host`:`port`, checked; TLS files are loaded (and their pairing checked) by the caller.
    func settings(host: String, port: Int) throws -> ListenSettings {
        var l = ListenSettings()
        l.host = host
        l.port = port
        switch (tlsCert, tlsKey) {
        case let (cert?, key?): l.tls = TLSFiles(certificate: DataDirectory.absolute(cert), key: DataDirectory.absolute(key), clientCA: clientCa.map(DataDirectory.absolute))
        case (nil, nil):
            if clientCa != nil { throw SealError(.usage, "--client-ca needs --tls-cert and --tls-key", remedy: "client certificates are checked over TLS only") }
        default: throw SealError(.usage, "--tls-cert and --tls-key go together", remedy: "give both, or neither for plain http on loopback")
        }
        l.maxConnections = maxConnections
        l.idleTimeoutSeconds = idleTimeout
        l.headerTimeoutSeconds = headerTimeout
        l.bodyGraceSeconds = bodyGrace
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
        _ = try id.configuration() // the client CA is read now, not at the first handshake
        let source = reloadOnSIGHUP(id) { line in FileHandle.standardOutput.write(Data("\(line)\n".utf8)) }
        return (id, source)
    }
}
