public import Foundation

/// The throwaway PostgreSQL cluster `make test` starts (scripts/pg-cluster run): its URL is in
/// SEALGATE_TEST_DATABASE. Each test takes a database of its own.
public enum TestPostgres {
    public static var serverURL: String? { ProcessInfo.processInfo.environment["SEALGATE_TEST_DATABASE"] }
    public static var available: Bool { serverURL != nil }
    /// `make test` sets this: the PostgreSQL tests must run, not be skipped.
    public static var required: Bool { ProcessInfo.processInfo.environment["SEALGATE_REQUIRE_POSTGRES"] == "1" }

    /// Creates an empty database and returns its URL.
    public static func freshDatabase() throws -> String {
        guard let server = serverURL else { throw TestPostgresError("SEALGATE_TEST_DATABASE is not set (run the tests with make test)") }
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        _ = try psql(server, "CREATE DATABASE \(name)")
        guard var c = URLComponents(string: server) else { throw TestPostgresError("bad URL \(server)") }
        c.path = "/\(name)"
        return c.string!
    }

    /// Runs SQL on a database through psql (to tamper with it as an attacker would, or to count rows).
    public static func psql(_ url: String, _ sql: String) throws -> String {
        try runTool("/usr/bin/env", ["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql])
    }
}

/// Runs a program to its end; its trimmed stdout, or an error with its stderr.
func runTool(_ exe: String, _ args: [String], env: [String: String] = [:]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let text = String(decoding: readAll(out.fileHandleForReading), as: UTF8.self)
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw TestPostgresError("\(args.first ?? exe) failed: \(String(decoding: readAll(err.fileHandleForReading), as: UTF8.self))")
    }
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A PostgreSQL cluster of a test's own (scripts/pg-cluster), for what a shared one cannot do:
/// an outage (halt, resume), TLS. Stopped and removed by `stop()` or when released.
public final class PrivateCluster: @unchecked Sendable {
    public let url: String
    let dir: String
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/pg-cluster").standardized
        .path

    public init(ssl: Bool = false) throws {
        dir = NSTemporaryDirectory() + "sealgate-pg-private-" + UUID().uuidString
        url = try Self.run(["start", dir], env: ["PG_FSYNC": "off", "PG_SSL": ssl ? "1" : "0"])
        guard url.hasPrefix("postgres://") else { throw TestPostgresError("pg-cluster start gave '\(url)'") }
    }

    /// The server stops; its data stays (an outage).
    public func halt() throws { _ = try Self.run(["halt", dir]) }
    public func resume() throws { _ = try Self.run(["resume", dir]) }
    public func stop() { _ = try? Self.run(["stop", dir]) }
    deinit { stop() }

    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:]) throws -> String { try runTool(script, args, env: env) }
}

/// Everything a pipe gives until its end. Foundation's `readDataToEndOfFile` traps when a signal
/// interrupts its read (EINTR); this loop reads again instead.
public func readAll(_ handle: FileHandle) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
        if n > 0 {
            data.append(contentsOf: buffer[0..<n])
        } else if n == 0 || errno != EINTR {
            return data
        }
    }
}
