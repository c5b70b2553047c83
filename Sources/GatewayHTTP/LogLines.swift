import Foundation
public import Logging
import SealPackage
import Synchronization
import SystemIO

/// How a server process writes its lines: `serve --log-format text|json --log-level LEVEL`
/// (and `handbook serve`), set once by `LogSettings.bootstrap`.
public struct LogSettings: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable { case text, json }
    public var format: Format = .text
    public var level: Logger.Level = .info
    public init(format: Format = .text, level: Logger.Level = .info) {
        self.format = format
        self.level = level
    }

    private static let state = Mutex(LogSettings())
    /// The settings every `LineLogHandler` made from now on follows.
    public static var current: LogSettings { state.withLock { $0 } }

    /// Sets the process's log settings and bootstraps swift-log once with `LineLogHandler`
    /// (standard error), so that a library's logger writes the same lines; the process's own
    /// loggers (`Logger.lines`) take the same handler and settings. A second call only changes
    /// the settings (swift-log's bootstrap is once per process).
    public static func bootstrap(_ settings: LogSettings) {
        let first = state.withLock { s -> Bool in
            defer { s = settings }
            return !bootstrapped.exchange(true, ordering: .relaxed)
        }
        if first { LoggingSystem.bootstrap { label in LineLogHandler(label: label, .standardError) } }
    }

    private static let bootstrapped = Atomic<Bool>(false)
}

/// The lines a `serve` process and the handbook receiver write (the leases, the forwarder's
/// deliveries, the handbook's imports and refusals, the trust follower, one line per request):
/// one `Logger` line each, on standard output (or standard error). Text (the default): the bare
/// message and a newline — the format operators, tests and scripts read (`listening on …`,
/// `holding the forwarder lease`) — then the metadata as `key=value`, if any; no timestamp or
/// level (the service manager, journald, stamps lines itself). JSON: one object a line with
/// `ts`, `level`, `label`, `msg` and the metadata as fields.
public struct LineLogHandler: LogHandler {
    public enum Stream: Sendable { case standardOutput, standardError }
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let stream: Stream
    let label: String
    let format: LogSettings.Format

    public init(label: String = "sealgate", _ stream: Stream = .standardOutput, settings: LogSettings = LogSettings.current) {
        self.label = label
        self.stream = stream
        self.format = settings.format
        self.logLevel = settings.level
    }

    public init(_ stream: Stream) { self.init(label: "sealgate", stream) }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let more = event.metadata { all.merge(more) { $1 } }
        // Hummingbird's own id of a request: ours is `request_id`.
        all["hb.request.id"] = nil
        var line = Self.line(event, label: label, metadata: all, format: format)
        line.append("\n")
        // One write(2) a line (as FileHandle did: a line up to PIPE_BUF is not split between
        // writers); a write that fails (a full disk) loses the line and throws nothing.
        line.withUTF8 { try? SystemIO.writeAll(stream == .standardOutput ? 1 : 2, UnsafeRawBufferPointer($0)) }
    }

    static func line(_ event: LogEvent, label: String, metadata: Logger.Metadata, format: LogSettings.Format, now: Date = Date()) -> String {
        switch format {
        case .text:
            var line = event.message.description
            for k in metadata.keys.sorted() {
                line += " \(k)=\(metadata[k]!)"
            }
            return line
        case .json:
            var fields: [(String, String)] = [
                ("ts", jsonQuote(Self.timestamp(now))), ("level", jsonQuote(event.level.rawValue)), ("label", jsonQuote(label)),
                ("msg", jsonQuote(event.message.description)),
            ]
            for k in metadata.keys.sorted() where !["ts", "level", "label", "msg"].contains(k) {
                fields.append((k, Self.json(metadata[k]!)))
            }
            return "{" + fields.map { jsonQuote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
        }
    }

    /// A metadata value as JSON: a number stated as one stays a number, strings are quoted,
    /// lists and dictionaries nest.
    static func json(_ v: Logger.Metadata.Value) -> String {
        switch v {
        case .string(let s): return jsonQuote(s)
        case .stringConvertible(let c):
            let s = c.description
            let number = Double(s) != nil && !s.isEmpty && s.allSatisfy({ "0123456789.-+eE".contains($0) }) && s.first != "+" && s.first != "."
            return number ? s : jsonQuote(s)
        case .array(let a): return "[" + a.map(json).joined(separator: ",") + "]"
        case .dictionary(let d): return "{" + d.keys.sorted().map { jsonQuote($0) + ":" + json(d[$0]!) }.joined(separator: ",") + "}"
        }
    }

    /// RFC 3339 in UTC to the millisecond.
    static func timestamp(_ d: Date) -> String {
        let ms = Int64((d.timeIntervalSince1970 * 1000).rounded(.down))
        var t = time_t(ms / 1000)
        var tm = tm()
        gmtime_r(&t, &tm)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday), Int(tm.tm_hour),
            Int(tm.tm_min), Int(tm.tm_sec), Int(ms % 1000))
    }
}

extension Logger {
    /// A logger for a process's lines (`LineLogHandler`, with the process's `LogSettings`):
    /// `label` names the part ("sealgate", "sealgate.handbook").
    public static func lines(_ label: String, to stream: LineLogHandler.Stream = .standardOutput) -> Logger {
        Logger(label: label) { label in LineLogHandler(label: label, stream) }
    }
}
