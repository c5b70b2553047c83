import Foundation
import GatewayCore
import SealCrypto
import SealPackage
import TestSupport

/// `sealgate serve` as a real process on a free loopback port.
final class GatewayProcess: @unchecked Sendable {
    let process = Process()
    private(set) var port = 0
    private(set) var scheme = "http"
    private let output = Pipe()
    private var log = ""
    private let lock = NSLock()

    convenience init(data: String, cwd: String, extra: [String] = [], env: [String: String] = [:]) throws {
        try self.init(arguments: ["serve", "--data", data, "--port", "0"] + extra, cwd: cwd, env: env)
    }

    /// Any `sealgate` server command that prints "listening on http(s)://127.0.0.1:PORT".
    /// The process gets a clean environment (`CLI.environment`): `env` and nothing of the caller's but PATH, HOME, LANG, TMPDIR.
    init(arguments: [String], cwd: String, env: [String: String] = [:]) throws {
        try CLI.requireBinary()
        process.executableURL = URL(fileURLWithPath: CLI.sealgate)
        process.arguments = arguments
        process.environment = CLI.environment(env)
        process.currentDirectoryURL = URL(fileURLWithPath: cwd)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let ready = DispatchSemaphore(value: 0)
        let handle = output.fileHandleForReading
        Thread.detachNewThread { [self] in
            var signalled = false
            while true {
                let d = handle.availableData
                if d.isEmpty { break }
                lock.lock()
                log += String(decoding: d, as: UTF8.self)
                if !signalled, let r = log.range(of: #"listening on https?://127\.0\.0\.1:"#, options: .regularExpression) {
                    let digits = log[r.upperBound...].prefix { $0.isNumber }
                    port = Int(digits) ?? 0
                    scheme = log[r].contains("https") ? "https" : "http"
                    signalled = true
                    ready.signal()
                }
                lock.unlock()
            }
            if !signalled { ready.signal() }
        }
        guard ready.wait(timeout: .now() + 60) == .success, port > 0 else {
            process.terminate()
            throw RawHTTP.Failure("the server did not start: \(logText)")
        }
    }

    var url: String { "\(scheme)://127.0.0.1:\(port)" }
    var pid: Int32 { process.processIdentifier }
    var logText: String {
        lock.lock()
        defer { lock.unlock() }
        return log
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// A department with two registered units (HCM-U001, HCM-U002), their keys, a fetched trust
/// document, and a generated city to seal from.
struct GatewayFixture {
    let w = Workdir()
    let signerA: MinisignSecretKey
    let signerB: MinisignSecretKey

    /// `database`: a PostgreSQL URL for the store (recorded by init, so later commands find it).
    init(units: Int = 2, members: Int = 120, database: String? = nil) throws {
        try requireOK(try CLI.sg(["init", "--data", "dept", "--unencrypted"] + (database.map { ["--database", $0] } ?? []), cwd: w.path))
        try requireOK(
            try CLI.sg(
                ["generate", "--units", String(max(units, 2)), "--members", String(members * max(units, 2)), "--seed", "17", "-o", "city"],
                cwd: w.path))
        for i in 1...max(units, 2) {
            let u = "HCM-U" + String(format: "%03d", i)
            try requireOK(try CLI.sg(["keys", "generate", "signing", "--out", u, "--unencrypted"], cwd: w.path))
            try requireOK(
                try CLI.sg(["units", "add", "--data", "dept", "--id", u, "--name", "Đơn vị \(i)", "--signing-key", "\(u).pub"], cwd: w.path))
        }
        signerA = try MinisignSecretKey.load(path: w.file("HCM-U001.key"), passphrase: { SecureBytes(count: 0) })
        signerB = try MinisignSecretKey.load(path: w.file("HCM-U002.key"), passphrase: { SecureBytes(count: 0) })
    }

    /// Members of a unit in the generated city (units.csv).
    func members(_ unit: String) -> Int {
        let rows = String(decoding: w.read("city/units.csv"), as: UTF8.self).split(separator: "\n")
        return rows.first { $0.hasPrefix(unit + ",") }.map { Int($0.split(separator: ",")[3])! } ?? -1
    }

    var recipient: AgeX25519Recipient {
        try! AgeX25519Recipient(string: String(decoding: w.read("dept/keys/recipient.pub"), as: UTF8.self).split(separator: "\n").last!)
    }

    /// Seals a snapshot of `unit` with the library (bypassing the CLI's record validation when needed).
    func seal(
        _ unit: String, seq: UInt64, signer: MinisignSecretKey? = nil, to: (any AgeKeyRecipient)? = nil, dir: String? = nil, name: String? = nil
    )
        throws -> String
    {
        let key =
            try signer
            ?? (unit == "HCM-U001"
                ? signerA
                : (unit == "HCM-U002" ? signerB : MinisignSecretKey.load(path: w.file("\(unit).key"), passphrase: { SecureBytes(count: 0) })))
        let src = dir ?? w.file("city/\(unit)")
        let out = w.file(name ?? "\(unit)-\(seq).sgp")
        _ = try Sealer.seal(
            SealRequest(
                unit: unit, seq: seq, kind: .snapshot,
                inputs: [.init(name: "organizations.csv", path: "\(src)/organizations.csv"), .init(name: "members.csv", path: "\(src)/members.csv")],
                recipients: [to ?? recipient], signer: key, output: out))
        return out
    }

    /// A copy of `unit`'s records in folder `name` whose member on `line` (of members.csv) has a
    /// 9-digit legacy id instead of a CCCD: an error the validator refuses (records_invalid).
    func legacyIDCopy(_ unit: String, line: Int, name: String = "bad") throws -> String {
        let bad = w.file(name)
        try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: w.file("city/\(unit)/organizations.csv"), toPath: "\(bad)/organizations.csv")
        var lines = String(decoding: w.read("city/\(unit)/members.csv"), as: UTF8.self).split(separator: "\n").map(String.init)
        var fields = lines[line].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[4] = "023456789"
        lines[line] = fields.joined(separator: ",")
        w.write("\(name)/members.csv", lines.joined(separator: "\n") + "\n")
        return bad
    }

    func post(_ gw: GatewayProcess, _ file: String) throws -> RawHTTP.Response {
        try RawHTTP.request("POST", gw.url + "/v1/packages", headers: ["Content-Type": "application/vnd.sealgate.package"], bodyFile: file)
    }
}

/// Requires a command to succeed (fixture setup), with its stderr when it does not.
func requireOK(_ r: CLI.Result, _ what: String = "") throws {
    guard r.status == 0 else { throw RawHTTP.Failure("setup step failed \(what): \(r.stderr)") }
}

enum MinisignKeyFile {
    /// The department's log public key from its data folder.
    static func logKey(_ f: GatewayFixture) throws -> [UInt8] {
        try MinisignPublicKey(path: f.w.file("dept/keys/log.pub")).key
    }
}

func Base64Decode(_ s: String) -> [UInt8] { Base64.decode(s, padded: true) ?? [] }

/// A stub HTTP server in Python on a free loopback port (the stand-in for another party's
/// misbehaving endpoint): `script` is written to `cwd/name`, run with `arguments`, and prints its
/// port on its first line. Stopped with SIGKILL: the test process's blocked signals are
/// inherited, so Python may not see SIGTERM.
final class PythonServer {
    let process = Process()
    let port: Int

    init(script: String, name: String, arguments: [String], cwd: String) throws {
        _ = FileManager.default.createFile(atPath: cwd + "/" + name, contents: Data(script.utf8))
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [cwd + "/" + name] + arguments
        process.standardOutput = out
        try process.run()
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
