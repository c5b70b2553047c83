import Foundation
import SealCrypto
import TestSupport

/// Runs the built `sealgate` and the stock tools as a person would.
enum CLI {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The `sealgate` under test: `SEALGATE_BIN`, or the one built beside this test binary (the same
    /// build configuration: a release test run tests the release build, never a stale debug one).
    static let sealgate: String = {
        if let p = ProcessInfo.processInfo.environment["SEALGATE_BIN"], !p.isEmpty { return p }
        let beside = testBinary.deletingLastPathComponent().appendingPathComponent("sealgate").path
        return FileManager.default.fileExists(atPath: beside) ? beside : repoRoot.appendingPathComponent(".build/debug/sealgate").path
    }()

    /// This test process's own executable (the test bundle `swift build --build-tests` made).
    static let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()

    /// Why `sealgate` cannot be the binary under test, or nil: it must exist and be newer than every
    /// file under Sources/ that the tests were built from — a file changed in the last minute
    /// before this test binary was linked (while the build ran, after its module was compiled:
    /// then it is in neither) or after it is not counted; nor is the test-only CZlibTesting module.
    static let binaryProblem: String? = {
        let fm = FileManager.default
        func modified(_ path: String) -> Date? { (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date }
        let hint = "build it first (swift build --build-tests), or give another with SEALGATE_BIN"
        guard fm.isExecutableFile(atPath: sealgate), let built = modified(sealgate) else { return "no executable sealgate at \(sealgate): \(hint)" }
        let testsBuilt = (modified(testBinary.path) ?? .distantFuture).addingTimeInterval(-60)
        let sources = repoRoot.appendingPathComponent("Sources").path
        guard let files = fm.enumerator(atPath: sources) else { return "cannot read \(sources)" }
        var newest: (date: Date, path: String)?
        for case let rel as String in files where !rel.hasPrefix("CZlibTesting/") {
            guard let d = modified("\(sources)/\(rel)"), d <= testsBuilt, d > (newest?.date ?? .distantPast) else { continue }
            newest = (d, rel)
        }
        if let newest, newest.date > built {
            return "the sealgate under test (\(sealgate), built \(built)) is older than Sources/\(newest.path) (\(newest.date)): \(hint)"
        }
        return nil
    }()

    /// Throws, naming the problem, when `sealgate` cannot be the binary under test.
    static func requireBinary() throws {
        if let binaryProblem { throw RawHTTP.Failure(binaryProblem) }
    }

    /// The environment a child process gets: PATH, HOME, LANG and TMPDIR from the test's own, and
    /// what the test passes — nothing else (a stray SEALGATE_FAILPOINTS or SEALGATE_PASSPHRASE in
    /// the caller's environment must not change what a test sees). SEALGATE_LANG=en unless the
    /// test passes another: the tests read the English words (LanguageTests reads both languages).
    static func environment(_ extra: [String: String]) -> [String: String] {
        let mine = ProcessInfo.processInfo.environment
        var e: [String: String] = ["SEALGATE_LANG": "en"]
        for k in ["PATH", "HOME", "LANG", "TMPDIR"] { e[k] = mine[k] }
        e.merge(extra) { $1 }
        return e
    }

    struct Result {
        let status: Int32
        let stdout: [UInt8]
        let stderr: String
        var out: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs a program (by absolute path or on PATH) with arguments in `cwd`.
    @discardableResult
    static func run(_ program: String, _ args: [String], cwd: String, stdin: [UInt8]? = nil, env: [String: String] = [:]) throws -> Result {
        let p = Process()
        let exe =
            program.hasPrefix("/")
            ? program
            : (["/usr/bin/", "/bin/", "/usr/local/bin/"].map { $0 + program }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? program)
        if exe == sealgate || args.contains(sealgate) { try requireBinary() }
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: cwd)
        p.environment = environment(env)
        let outPipe = Pipe()
        let errPipe = Pipe()
        let inPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        p.standardInput = inPipe
        try p.run()
        // Drain both pipes concurrently so a chatty child cannot block.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            outData = readAll(outPipe.fileHandleForReading)
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            errData = readAll(errPipe.fileHandleForReading)
            group.leave()
        }
        if let stdin { inPipe.fileHandleForWriting.write(Data(stdin)) }
        try inPipe.fileHandleForWriting.close()
        p.waitUntilExit()
        group.wait()
        return Result(status: p.terminationStatus, stdout: [UInt8](outData), stderr: String(decoding: errData, as: UTF8.self))
    }

    static func sg(_ args: [String], cwd: String, env: [String: String] = [:]) throws -> Result {
        try run(sealgate, args, cwd: cwd, env: env)
    }

    /// A command expected to end by itself (a server that must refuse to start): killed after
    /// `seconds` if it does not, so a wrong start fails the test (status 124) instead of hanging it.
    static func sgBounded(_ args: [String], cwd: String, seconds: Int = 60, env: [String: String] = [:]) throws -> Result {
        try run("timeout", ["--signal=KILL", String(seconds), sealgate] + args, cwd: cwd, env: env)
    }

    /// A shell pipeline, for `age -d … | tar -x`.
    static func sh(_ script: String, cwd: String) throws -> Result {
        try run("/bin/sh", ["-c", script], cwd: cwd)
    }
}

final class Workdir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "sealgate-cli-" + hexString(SecureRandom.bytes(8))
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ n: String) -> String { "\(path)/\(n)" }
    func write(_ n: String, _ s: String) { _ = FileManager.default.createFile(atPath: file(n), contents: Data(s.utf8)) }
    func write(_ n: String, bytes: [UInt8]) { _ = FileManager.default.createFile(atPath: file(n), contents: Data(bytes)) }
    func read(_ n: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: file(n)) ?? Data()) }
    func exists(_ n: String) -> Bool { FileManager.default.fileExists(atPath: file(n)) }
}

/// A valid unit (HCM-U001: organizations.csv, members.csv) made by `sealgate generate`.
func sampleData(_ w: Workdir, members: Int = 300) {
    let r = try! CLI.sg(["generate", "--units", "1", "--members", String(members), "--seed", "3", "-o", "city"], cwd: w.path)
    precondition(r.status == 0, r.stderr)
    for f in ["organizations.csv", "members.csv"] {
        try! FileManager.default.moveItem(atPath: w.file("city/HCM-U001/\(f)"), toPath: w.file(f))
    }
}

/// True when two files have the same bytes (and are not empty); failures print sizes, not bytes.
func sameFile(_ w: Workdir, _ a: String, _ b: String) -> Bool {
    let x = w.read(a)
    let y = w.read(b)
    return !x.isEmpty && x == y
}
