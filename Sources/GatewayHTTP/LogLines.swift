import Foundation
public import Logging

/// The lines a `serve` process and the handbook receiver write about their background work (the
/// leases, the forwarder's deliveries, the handbook's imports and refusals, the trust follower):
/// each is one `Logger` line, written by this handler as the bare message and a newline on
/// standard output (or standard error), the format operators, tests and scripts read (`listening
/// on …`, `holding the forwarder lease`). No timestamp, level or metadata is added: the service
/// manager (journald) stamps lines itself.
public struct LineLogHandler: LogHandler {
    public enum Stream: Sendable { case standardOutput, standardError }
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let stream: Stream

    public init(_ stream: Stream = .standardOutput) { self.stream = stream }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let line = Data("\(event.message)\n".utf8)
        switch stream {
        case .standardOutput: FileHandle.standardOutput.write(line)
        case .standardError: FileHandle.standardError.write(line)
        }
    }
}

extension Logger {
    /// A logger for a process's background lines (`LineLogHandler`): `label` names the part
    /// ("sealgate", "sealgate.handbook").
    public static func lines(_ label: String, to stream: LineLogHandler.Stream = .standardOutput) -> Logger {
        Logger(label: label) { _ in LineLogHandler(stream) }
    }
}
