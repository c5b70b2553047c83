import Foundation
import SealCrypto
import TestSupport
import Testing

/// `serve` and `handbook serve` on an address they cannot listen at (issue #21, item 8): a coded
/// `listen_failed` that names the address, and nothing done before it — no store opened, no
/// lease taken, no file written.
@Suite struct ListenFailedTests {
    /// Every file under `dir` (hidden ones too) with a digest of its bytes.
    static func snapshot(_ dir: String) -> [String: String] {
        var files: [String: String] = [:]
        let e = FileManager.default.enumerator(atPath: dir)
        while let f = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            FileManager.default.fileExists(atPath: "\(dir)/\(f)", isDirectory: &isDir)
            let bytes = isDir.boolValue ? [] : [UInt8](FileManager.default.contents(atPath: "\(dir)/\(f)") ?? Data())
            files[f] = isDir.boolValue ? "dir" : hexString(SHA256Hasher.hash(bytes))
        }
        return files
    }

    static func expectListenFailed(_ r: CLI.Result, port: Int) {
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("error: listen_failed: cannot listen on 127.0.0.1:\(port): the address is in use"), "\(r.stderr)")
        #expect(r.stderr.contains("what to do: stop the other process, or choose another port"), "\(r.stderr)")
        #expect(r.stderr.contains("on the command line: --host ADDRESS and --port N"), "\(r.stderr)")
        #expect(!r.out.contains("listening on"), "\(r.out)")
    }

    @Test func serveOnAPortInUseIsRefusedBeforeAnythingElse() throws {
        let w = Workdir()
        try requireOK(try CLI.sg(["init", "--data", "dept", "--unencrypted"], cwd: w.path))
        let before = Self.snapshot(w.file("dept"))
        let occupant = try PortOccupant()
        let r = try CLI.sgBounded(["serve", "--data", "dept", "--port", String(occupant.port)], cwd: w.path)
        Self.expectListenFailed(r, port: occupant.port)
        // Not opened, recovered or leased: no lease file beside the database, the folder as it was.
        let after = Self.snapshot(w.file("dept"))
        #expect(after.keys.filter { $0.hasSuffix(".lease") }.isEmpty, "\(after.keys.sorted())")
        #expect(after == before, "changed: \(Set(after.map { "\($0.key) \($0.value)" }).symmetricDifference(before.map { "\($0.key) \($0.value)" }))")

        // A host that does not resolve, and an address that is not this machine's: the same code.
        let unknown = try CLI.sgBounded(["serve", "--data", "dept", "--host", "no-such-host.invalid", "--port", "8080"], cwd: w.path)
        #expect(
            unknown.status == 1 && unknown.stderr.contains("error: listen_failed: cannot listen on no-such-host.invalid:8080"), "\(unknown.stderr)")
        let foreign = try CLI.sgBounded(["serve", "--data", "dept", "--host", "192.0.2.1", "--port", "8080"], cwd: w.path)
        #expect(foreign.status == 1 && foreign.stderr.contains("error: listen_failed: cannot listen on 192.0.2.1:8080"), "\(foreign.stderr)")
        #expect(Self.snapshot(w.file("dept")) == before)
    }

    @Test func handbookServeOnAPortInUseIsRefusedBeforeAnythingElse() throws {
        let w = Workdir()
        try requireOK(try CLI.sg(["init", "--data", "dept", "--unencrypted"], cwd: w.path))
        do {
            let gw = try GatewayProcess(data: "dept", cwd: w.path)
            defer { gw.stop() }
            try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: w.path))
        }
        try requireOK(try CLI.sg(["handbook", "init", "--data", "hb", "--unencrypted"], cwd: w.path))
        let before = Self.snapshot(w.file("hb"))
        let occupant = try PortOccupant()
        let r = try CLI.sgBounded(["handbook", "serve", "--data", "hb", "--trust", "trust.json", "--port", String(occupant.port)], cwd: w.path)
        Self.expectListenFailed(r, port: occupant.port)
        // The receiver's store was not created.
        #expect(!w.exists("hb/handbook.sqlite"))
        #expect(Self.snapshot(w.file("hb")) == before)

        // The port free again, the same command starts.
        occupant.close()
        let hb = try GatewayProcess(
            arguments: ["handbook", "serve", "--data", "hb", "--trust", "trust.json", "--port", String(occupant.port)], cwd: w.path)
        hb.stop()
    }
}
