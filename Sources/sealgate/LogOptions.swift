import ArgumentParser
import GatewayHTTP
import Logging
import PackageCommands
import SealBase
import SealCrypto

/// `--log-format` and `--log-level` of `serve` and `handbook serve`: applied once, before
/// anything is logged (`LogSettings.bootstrap`: swift-log's bootstrap and every `Logger.lines`).
struct LogOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Lines as text (the bare message, then key=value fields; journald stamps them) or json (one object a line: ts, level, label, msg, fields)."
    ) var logFormat = "text"
    @Option(name: .long, help: "The least level written: trace, debug, info, notice, warning, error or critical.") var logLevel = "info"

    func settings() throws -> LogSettings {
        guard let format = LogSettings.Format(rawValue: logFormat) else {
            throw SealError(.usage, "--log-format must be text or json", remedy: "e.g. --log-format json")
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw SealError(
                .usage, "--log-level must be one of trace, debug, info, notice, warning, error, critical", remedy: "e.g. --log-level info")
        }
        return LogSettings(format: format, level: level)
    }

    /// Bootstraps the process's logging; a bad value is reported as `usage`.
    func bootstrap() throws {
        do { LogSettings.bootstrap(try settings()) } catch let e as SealError { try report(e, json: false) }
    }
}

/// `--metrics-listen HOST:PORT` (IPv6 as [ADDR]:PORT): the metrics listener's address.
func parseMetricsListen(_ s: String) throws -> ListenSettings {
    let bad = SealError(.usage, "--metrics-listen '\(s.prefix(60))' is not HOST:PORT", remedy: "e.g. --metrics-listen 127.0.0.1:9464")
    guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else { throw bad }
    var host = String(s[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    guard !host.isEmpty else { throw bad }
    var l = ListenSettings()
    l.host = host
    l.port = port
    return l
}
