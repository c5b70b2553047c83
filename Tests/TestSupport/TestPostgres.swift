import Foundation

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
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["psql", server, "-v", "ON_ERROR_STOP=1", "-q", "-c", "CREATE DATABASE \(name)"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw TestPostgresError("psql CREATE DATABASE failed: \(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        }
        guard var c = URLComponents(string: server) else { throw TestPostgresError("bad URL \(server)") }
        c.path = "/\(name)"
        return c.string!
    }

    /// Runs SQL on a database through psql (to tamper with it as an attacker would, or to count rows).
    public static func psql(_ url: String, _ sql: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-t", "-A", "-c", sql]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestPostgresError("psql failed: \(String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))") }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
