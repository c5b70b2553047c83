import ArgumentParser
import Foundation
import GatewayClient
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
