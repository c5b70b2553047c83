import Foundation
import GatewayCore
import SealCrypto
import TestSupport
import Testing

/// What the gateway leaves on disk and in its environment.
struct AtRestTests {
    func mode(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1 }

    /// The data folder and its store are tightened to their owner on start; a second `serve`
    /// on the same spool is refused; what a crash left in clear is removed.
    @Test func folderTightenedSecondServeRefusedLeftoversRemoved() throws {
        let f = try GatewayFixture()
        chmod(f.w.file("dept"), 0o755)
        chmod(f.w.file("dept/gateway.sqlite"), 0o644)
        // A folder a killed process was opening a package into (pid 2^22 + 1: not a live process).
        let leftover = f.w.file("dept/packages/.opening-4194305-0193a0b1-0000-7000-8000-000000000000")
        try FileManager.default.createDirectory(atPath: leftover, withIntermediateDirectories: true)
        f.w.write("dept/packages/.opening-4194305-0193a0b1-0000-7000-8000-000000000000/members.csv", "member_id,full_name\nX,Nguyễn Văn A\n")
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        #expect(mode(f.w.file("dept")) == 0o700 && mode(f.w.file("dept/gateway.sqlite")) == 0o600, "\(String(mode(f.w.file("dept")), radix: 8))")
        for file in (try FileManager.default.contentsOfDirectory(atPath: f.w.file("dept"))) where file.hasPrefix("gateway.sqlite") {
            #expect(mode(f.w.file("dept/\(file)")) & 0o077 == 0, "\(file) is open to others")
        }
        #expect(!FileManager.default.fileExists(atPath: leftover), "an opened package outlived its crash")
        let second = try CLI.sgBounded(["serve", "--data", "dept", "--port", "0"], cwd: f.w.path)
        #expect(second.status != 0 && second.stderr.contains("spool_locked") && second.stderr.contains("--node"), "\(second.stderr)")
        #expect(gw.process.isRunning)
    }

    /// A city ward's package (some hundreds of KB) is decided in memory, making no file; one
    /// larger than a decision keeps in memory (4 MiB) is opened into a folder of its own, which a
    /// crash leaves and the next start removes before it decides the package.
    @Test func onlyALargePackageIsOpenedIntoAFolder() throws {
        let f = try GatewayFixture(members: 30_000)
        let big = f.members("HCM-U001") > f.members("HCM-U002") ? "HCM-U001" : "HCM-U002"
        let small = big == "HCM-U001" ? "HCM-U002" : "HCM-U001"
        let bigPackage = try f.seal(big, seq: 1)
        let size = (try FileManager.default.attributesOfItem(atPath: bigPackage)[.size] as? Int) ?? 0
        #expect(size > 4 << 20, "the larger unit's package is \(size) bytes: not above what a decision keeps in memory")
        // The small package is opened into memory, or the failpoint would have stopped the process.
        try FileManager.default.createDirectory(atPath: f.w.file("small"), withIntermediateDirectories: true)
        f.w.write("small/organizations.csv", String(decoding: f.w.read("city/\(small)/organizations.csv"), as: UTF8.self))
        let lines = String(decoding: f.w.read("city/\(small)/members.csv"), as: UTF8.self).split(separator: "\n").prefix(3_001)
        f.w.write("small/members.csv", lines.joined(separator: "\n") + "\n")
        let smallPackage = try f.seal(small, seq: 1, dir: f.w.file("small"))
        let crash = ["SEALGATE_FAILPOINTS": "intake.opened-folder=exit"]
        let crashing = try GatewayProcess(data: "dept", cwd: f.w.path, env: crash)
        #expect(try f.post(crashing, smallPackage).status == 201)
        #expect(throws: RawHTTP.Failure.self) { try f.post(crashing, bigPackage) }
        crashing.process.waitUntilExit()
        #expect(crashing.process.terminationStatus == 86)
        let opening = { try FileManager.default.contentsOfDirectory(atPath: f.w.file("dept/packages")).filter { $0.hasPrefix(".opening-") } }
        let left = try opening()
        #expect(left.count == 1, "\(left)")
        if let folder = left.first {
            #expect(FileManager.default.fileExists(atPath: f.w.file("dept/packages/\(folder)/members.csv")), "the records were not opened there")
        }
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        let again = try f.post(gw, bigPackage)
        #expect(again.status == 200, "the decision made at start answers the resend: \(again.text)")
        let imported = try CLI.run(
            "sqlite3", ["dept/gateway.sqlite", "SELECT COUNT(*) FROM members m JOIN snapshots s ON s.id = m.snapshot_id WHERE s.unit_id = '\(big)'"],
            cwd: f.w.path
        ).out
        #expect(imported == "\(f.members(big))\n", "\(imported)")
        #expect(try opening().isEmpty, "an opened package outlived its decision")
    }

    /// SEALGATE_PASSPHRASE is gone from the process's environment once read.
    @Test func passphraseLeavesTheEnvironment() throws {
        let w = Workdir()
        let env = ["SEALGATE_PASSPHRASE": "correct horse battery staple"]
        try requireOK(try CLI.sg(["init", "--data", "dept"], cwd: w.path, env: env))
        let gw = try GatewayProcess(data: "dept", cwd: w.path, env: env)
        defer { gw.stop() }
        let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(gw.pid)/environ"))
        #expect(!environ.isEmpty)
        #expect(!String(decoding: environ, as: UTF8.self).contains("correct horse"), "the passphrase is still in /proc/PID/environ")
    }

    /// A correction's opened file does not outlive its decision.
    @Test func noOpenedPackageStaysInClear() throws {
        let c = try CityCycle(units: 2)
        let gw = try c.gatewayWithTwoUnitsSubmitted()
        defer { gw.stop() }
        let row = String(decoding: c.w.read("city/HCM-U001/members.csv"), as: UTF8.self).split(separator: "\n")[1].split(
            separator: ",", omittingEmptySubsequences: false
        ).map(String.init)
        c.w.write(
            "corrections.csv",
            "citizen_id,field,old_value,new_value,reason,reported_at\n\(row[4]),full_name,\(row[1]),Nguyễn Văn Sửa,sai chính tả,2026-11-28T09:00:00Z\n"
        )
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "2", "--kind", "correction", "--signing-key", "HCM-U001.key", "--trust", "trust.json",
                    "-o", "corr.sgp", "corrections.csv",
                ], cwd: c.w.path))
        #expect(try c.f.post(gw, c.w.file("corr.sgp")).status == 201)
        #expect((try FileManager.default.contentsOfDirectory(atPath: c.w.file("dept/packages"))).isEmpty)
    }
}
