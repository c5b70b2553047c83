import Foundation
import Testing

/// Paths on the command line mean what they mean to the shell: `../g` from `a/b` is `a/g`,
/// never `a/b/g` (Foundation's `standardized` dropped a leading `..`). And what `open` writes
/// is the owner's alone whatever the umask.
struct PathTests {
    /// Every command that takes `--data`, `-o` or a file, run from a nested folder with `../` paths.
    @Test func relativePathsWithDotDotResolveAsTheShellDoes() throws {
        let w = Workdir()
        try FileManager.default.createDirectory(atPath: w.file("a/b"), withIntermediateDirectories: true)
        let here = w.file("a/b")
        func sg(_ args: [String]) throws -> CLI.Result {
            let r = try CLI.sg(args, cwd: here)
            #expect(r.status == 0, "\(args.prefix(2)): \(r.stderr)")
            return r
        }
        _ = try sg(["init", "--data", "../g", "--unencrypted"])
        #expect(w.exists("a/g/gateway.json") && !w.exists("a/b/g"), "init --data ../g from a/b must write a/g")
        _ = try sg(["generate", "--units", "1", "--members", "60", "--seed", "4", "-o", "../../city"])
        #expect(w.exists("city/HCM-U001/members.csv") && !w.exists("a/b/city") && !w.exists("a/city"))
        _ = try sg(["validate", "../../city/HCM-U001"])
        _ = try sg(["normalize", "-o", "../norm", "../../city/HCM-U001"])
        #expect(w.exists("a/norm/report.json"))
        _ = try sg(["keys", "generate", "signing", "--out", "../U1", "--unencrypted"])
        #expect(w.exists("a/U1.key") && w.exists("a/U1.pub"))
        _ = try sg(["units", "add", "--data", "../g", "--id", "HCM-U001", "--name", "Phường Một", "--signing-key", "../U1.pub"])
        let flagged = try sg(["units", "flagged", "--data", "../g"])
        #expect(flagged.stderr.contains("no package is flagged") || flagged.out.contains("no package is flagged"), "\(flagged.stderr)")
        _ = try sg(["status", "--data", "../g"])
        _ = try sg(
            [
                "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "../U1.key", "--to", "../g/keys/recipient.pub", "-o", "../../p.sgp",
                "../../city/HCM-U001/organizations.csv", "../../city/HCM-U001/members.csv",
            ])
        #expect(w.exists("p.sgp"))
        _ = try sg(["import", "--data", "../g", "../../p.sgp"])
        _ = try sg(["backup", "--data", "../g", "-o", "../../g.backup"])
        #expect(w.exists("g.backup"))
        _ = try sg(["restore", "../../g.backup", "--data", "../../restored", "--no-later-checkpoint"])
        #expect(w.exists("restored/gateway.json") && !w.exists("a/b/restored") && !w.exists("a/restored"))
        // Nothing was created where a dropped `..` would have put it.
        let stray = try FileManager.default.contentsOfDirectory(atPath: here)
        #expect(stray.isEmpty, "written into the current folder instead: \(stray)")
    }

    /// `open` under umask 022: the folder 0700, every file in it 0600.
    @Test func openedPlaintextIsTheOwnersAloneWhateverTheUmask() throws {
        let w = Workdir()
        sampleData(w, members: 40)
        try requireOK(try CLI.sg(["keys", "generate", "signing", "--out", "u", "--unencrypted"], cwd: w.path))
        try requireOK(try CLI.sg(["keys", "generate", "recipient", "--out", "d", "--unencrypted"], cwd: w.path))
        try requireOK(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "u.key", "--to", "d.pub", "-o", "p.sgp", "organizations.csv",
                    "members.csv",
                ],
                cwd: w.path))
        let opened = try CLI.sh("umask 022 && '\(CLI.sealgate)' open --identity d.key --signer u.pub -o out p.sgp", cwd: w.path)
        try requireOK(opened, "open under umask 022")
        func mode(_ n: String) throws -> Int {
            ((try FileManager.default.attributesOfItem(atPath: w.file(n))[.posixPermissions] as? NSNumber)?.intValue ?? -1) & 0o777
        }
        #expect(try mode("out") == 0o700)
        let files = try FileManager.default.contentsOfDirectory(atPath: w.file("out"))
        #expect(Set(files) == ["organizations.csv", "members.csv", "manifest.json"], "\(files)")
        for f in files {
            let m = try mode("out/\(f)")
            #expect(m == 0o600, "out/\(f) is \(String(m, radix: 8))")
        }
    }
}
