import Foundation
import SealCrypto
import Testing

/// Interop with the real `tar`, `minisign` and `age` binaries (Debian packages), both ways.
struct InteropTests {
    @Test func sealedPackageOpensWithStockTools() throws {
        let w = Workdir()
        sampleData(w)
        #expect(try CLI.sg(["keys", "generate", "signing", "--out", "unit", "--unencrypted"], cwd: w.path).status == 0)
        #expect(try CLI.sg(["keys", "generate", "recipient", "--out", "dept", "--unencrypted"], cwd: w.path).status == 0)
        let seal = try CLI.sg(
            [
                "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "unit.key", "--to", "dept.pub", "-o", "p.sgp",
                "organizations.csv", "members.csv",
            ], cwd: w.path)
        #expect(seal.status == 0, "\(seal.stderr)")
        try FileManager.default.createDirectory(atPath: w.file("x"), withIntermediateDirectories: false)
        let tar = try CLI.run("tar", ["-xf", "../p.sgp"], cwd: w.file("x"))
        #expect(tar.status == 0, "\(tar.stderr)")
        let listing = try CLI.run("tar", ["-tf", "p.sgp"], cwd: w.path)
        #expect(listing.out == "package.minisig\npayload.age\n")
        let ms = try CLI.run("minisign", ["-V", "-p", "../unit.pub", "-m", "payload.age", "-x", "package.minisig"], cwd: w.file("x"))
        #expect(ms.status == 0, "\(ms.stderr)")
        #expect(ms.out.contains("Trusted comment: sealgate/1 unit=HCM-U001 "))
        let age = try CLI.sh("mkdir out && age -d -i ../dept.key payload.age | tar -x -C out", cwd: w.file("x"))
        #expect(age.status == 0, "\(age.stderr)")
        #expect(sameFile(w, "x/out/members.csv", "members.csv"), "x/out/members.csv differs from members.csv")
        #expect(sameFile(w, "x/out/organizations.csv", "organizations.csv"), "x/out/organizations.csv differs from organizations.csv")
        #expect(w.exists("x/out/manifest.json"))
    }

    @Test func stockKeysWorkInSealgateAndSealgateKeysInStockTools() throws {
        let w = Workdir()
        sampleData(w)
        // Stock keys → sealgate.
        #expect(try CLI.run("minisign", ["-G", "-W", "-p", "ms.pub", "-s", "ms.key"], cwd: w.path).status == 0)
        #expect(try CLI.run("age-keygen", ["-o", "ak.key"], cwd: w.path).status == 0)
        let recipient = String(try CLI.run("age-keygen", ["-y", "ak.key"], cwd: w.path).out.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(recipient.hasPrefix("age1"))
        let seal = try CLI.sg(
            [
                "seal", "--unit", "HCM-U001", "--seq", "2", "--signing-key", "ms.key", "--to", recipient, "-o", "p.sgp", "organizations.csv",
                "members.csv",
            ], cwd: w.path)
        #expect(seal.status == 0, "\(seal.stderr)")
        let open = try CLI.sg(["open", "--identity", "ak.key", "--signer", "ms.pub", "-o", "out", "p.sgp"], cwd: w.path)
        #expect(open.status == 0, "\(open.stderr)")
        #expect(sameFile(w, "out/members.csv", "members.csv"), "out/members.csv differs from members.csv")

        // sealgate keys → stock tools (unencrypted and passphrase-protected signing keys).
        #expect(try CLI.sg(["keys", "generate", "signing", "--out", "sg", "--unencrypted"], cwd: w.path).status == 0)
        #expect(try CLI.sg(["keys", "generate", "recipient", "--out", "sgr", "--unencrypted"], cwd: w.path).status == 0)
        #expect(try CLI.run("minisign", ["-S", "-W", "-s", "sg.key", "-m", "members.csv", "-t", "hello"], cwd: w.path).status == 0)
        #expect(try CLI.run("minisign", ["-V", "-p", "sg.pub", "-m", "members.csv"], cwd: w.path).status == 0)
        let sgRecipient = try CLI.run("age-keygen", ["-y", "sgr.key"], cwd: w.path).out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(sgRecipient == w.read("sgr.pub").split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }.last)
        let rt = try CLI.sh("age -e -R sgr.pub members.csv | age -d -i sgr.key > rt.csv", cwd: w.path)
        #expect(rt.status == 0, "\(rt.stderr)")
        #expect(sameFile(w, "rt.csv", "members.csv"), "rt.csv differs from members.csv")
    }

    @Test func encryptedSigningKeyWorksWithMinisign() throws {
        let w = Workdir()
        sampleData(w)
        w.write("pw", "correct horse battery\n")
        chmod(w.file("pw"), 0o600)
        let gen = try CLI.sg(["keys", "generate", "signing", "--out", "enc", "--passphrase-file", "pw"], cwd: w.path)
        #expect(gen.status == 0, "\(gen.stderr)")
        // minisign reads the password from stdin when there is no terminal.
        let sign = try CLI.run("minisign", ["-S", "-s", "enc.key", "-m", "members.csv"], cwd: w.path, stdin: Array("correct horse battery\n".utf8))
        #expect(sign.status == 0, "\(sign.stderr)")
        #expect(try CLI.run("minisign", ["-V", "-p", "enc.pub", "-m", "members.csv"], cwd: w.path).status == 0)
        // And sealgate with the same key, passphrase from the environment; a wrong one is refused.
        #expect(try CLI.sg(["keys", "generate", "recipient", "--out", "dept", "--unencrypted"], cwd: w.path).status == 0)
        let ok = try CLI.sg(
            [
                "seal", "--unit", "HCM-U001", "--seq", "1", "--kind", "files", "--signing-key", "enc.key", "--to", "dept.pub", "-o", "p.sgp",
                "members.csv",
            ],
            cwd: w.path, env: ["SEALGATE_PASSPHRASE": "correct horse battery"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let bad = try CLI.sg(
            [
                "seal", "--unit", "HCM-U001", "--seq", "2", "--kind", "files", "--signing-key", "enc.key", "--to", "dept.pub", "-o", "q.sgp",
                "members.csv",
            ],
            cwd: w.path, env: ["SEALGATE_PASSPHRASE": "wrong"])
        #expect(bad.status == 77 && bad.stderr.contains("key_wrong_passphrase"))
        // The library says what to do in general; the command adds its own flags.
        #expect(!bad.stderr.contains("what to do: type the passphrase again, or check --passphrase-file"), "\(bad.stderr)")
        #expect(bad.stderr.contains("on the command line: --passphrase-file FILE or SEALGATE_PASSPHRASE"), "\(bad.stderr)")
        #expect(!w.exists("q.sgp"))
    }

    /// A package assembled by hand: manifest written with the shell, tar, age and
    /// `minisign -S -t "<trusted comment>"`, then opened by sealgate.
    @Test func handAssembledPackageOpensInSealgate() throws {
        let w = Workdir()
        sampleData(w)
        #expect(try CLI.run("minisign", ["-G", "-W", "-p", "unit.pub", "-s", "unit.key"], cwd: w.path).status == 0)
        #expect(try CLI.run("age-keygen", ["-o", "dept.key"], cwd: w.path).status == 0)
        let script = #"""
            set -e
            R=$(age-keygen -y dept.key)
            FP=$(printf %s "$R" | sha256sum | cut -c1-16)
            H1=$(sha256sum organizations.csv | cut -c1-64)
            H2=$(sha256sum members.csv | cut -c1-64)
            ID=0193a1c2-0000-7000-8000-00000000abcd
            C=2026-11-27T08:00:00Z
            printf '{"format":"sealgate-payload/1","unit":"HCM-U001","package":"%s","seq":42,"kind":"snapshot","created":"%s","schema":"party-records/1","files":[{"name":"organizations.csv","sha256":"%s","records":%d},{"name":"members.csv","sha256":"%s","records":%d}]}' "$ID" "$C" "$H1" $(($(wc -l < organizations.csv) - 1)) "$H2" $(($(wc -l < members.csv) - 1)) > manifest.json
            tar --format=ustar -cf payload.tar manifest.json organizations.csv members.csv
            age -e -r "$R" -o payload.age payload.tar
            minisign -S -s unit.key -m payload.age -x package.minisig -t "sealgate/1 unit=HCM-U001 package=$ID seq=42 kind=snapshot created=$C to=$FP"
            tar --format=ustar -cf hand.sgp package.minisig payload.age
            """#
        let made = try CLI.sh(script, cwd: w.path)
        #expect(made.status == 0, "\(made.stderr)")
        let open = try CLI.sg(
            ["open", "--identity", "dept.key", "--signer", "unit.pub", "--unit", "HCM-U001", "-o", "out", "--json", "hand.sgp"], cwd: w.path)
        #expect(open.status == 0, "\(open.stderr)")
        #expect(open.out.contains("\"seq\":42"))
        #expect(sameFile(w, "out/members.csv", "members.csv"), "out/members.csv differs from members.csv")
    }

    /// Unit B extracts A's package, re-signs A's payload.age with its own key and unit id
    /// using stock minisign, re-tars, and submits: sealgate refuses it.
    @Test func forwardingAttackWithStockToolsIsRefused() throws {
        let w = Workdir()
        sampleData(w)
        for k in ["a", "b"] { #expect(try CLI.sg(["keys", "generate", "signing", "--out", k, "--unencrypted"], cwd: w.path).status == 0) }
        #expect(try CLI.sg(["keys", "generate", "recipient", "--out", "dept", "--unencrypted"], cwd: w.path).status == 0)
        #expect(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "5", "--signing-key", "a.key", "--to", "dept.pub", "-o", "a.sgp", "organizations.csv",
                    "members.csv",
                ], cwd: w.path
            ).status == 0)
        let script = #"""
            set -e
            mkdir f && cd f && tar -xf ../a.sgp
            TC=$(minisign -V -p ../a.pub -m payload.age -x package.minisig -Q)
            NEW=$(printf %s "$TC" | sed 's/unit=HCM-U001/unit=HCM-U002/')
            minisign -S -W -s ../b.key -m payload.age -x package.minisig -t "$NEW"
            tar --format=ustar -cf ../forged.sgp package.minisig payload.age
            """#
        let made = try CLI.sh(script, cwd: w.path)
        #expect(made.status == 0, "\(made.stderr)")
        let open = try CLI.sg(["open", "--identity", "dept.key", "--signer", "b.pub", "--unit", "HCM-U002", "-o", "out", "forged.sgp"], cwd: w.path)
        #expect(open.status != 0)
        #expect(open.stderr.contains("manifest_mismatch"), "\(open.stderr)")
        #expect(!w.exists("out"))
    }

    @Test func tamperedPackageFailsWithCodeAndRemedyAndWritesNothing() throws {
        let w = Workdir()
        sampleData(w)
        #expect(try CLI.sg(["keys", "generate", "signing", "--out", "u", "--unencrypted"], cwd: w.path).status == 0)
        #expect(try CLI.sg(["keys", "generate", "recipient", "--out", "d", "--unencrypted"], cwd: w.path).status == 0)
        #expect(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "u.key", "--to", "d.pub", "-o", "p.sgp", "organizations.csv",
                    "members.csv",
                ], cwd: w.path
            ).status == 0)
        var bytes = w.read("p.sgp")
        bytes[bytes.count / 2] ^= 0x20
        w.write("t.sgp", bytes: bytes)
        for args in [["verify", "--signer", "u.pub", "t.sgp"], ["open", "--identity", "d.key", "--signer", "u.pub", "-o", "out", "t.sgp"]] {
            let r = try CLI.sg(args, cwd: w.path)
            #expect(r.status == 1)
            #expect(r.stderr.hasPrefix("error: signature_invalid: "))
            #expect(r.stderr.contains("what to do: "))
        }
        let j = try CLI.sg(["verify", "--json", "--signer", "u.pub", "t.sgp"], cwd: w.path)
        #expect(j.out.contains("\"code\":\"signature_invalid\"") && j.out.contains("\"ok\":false"))
        #expect(!w.exists("out"))
        // A world-readable secret key is refused.
        chmod(w.file("d.key"), 0o644)
        let loose = try CLI.sg(["open", "--identity", "d.key", "--signer", "u.pub", "-o", "out", "p.sgp"], cwd: w.path)
        #expect(loose.status != 0 && loose.stderr.contains("key_file_permissions"))
    }
}

/// The passphrase prompt on a real terminal (a pty from util-linux `script`): asked twice for a
/// new key, once to use it; the stock `age` reads the passphrase-protected identity too.
struct PromptTests {
    @Test func passphrasePromptOnATerminal() throws {
        let w = Workdir()
        sampleData(w)
        let sg = CLI.sealgate
        let gen = try CLI.run(
            "script", ["-qec", "\(sg) keys generate recipient --out dept", "/dev/null"], cwd: w.path,
            stdin: Array("s3cret pass\ns3cret pass\n".utf8))
        #expect(gen.status == 0, "\(gen.out) \(gen.stderr)")
        #expect(String(decoding: w.read("dept.key").prefix(34), as: UTF8.self) == "-----BEGIN AGE ENCRYPTED FILE-----")
        #expect(try CLI.sg(["keys", "generate", "signing", "--out", "u", "--unencrypted"], cwd: w.path).status == 0)
        #expect(
            try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", "u.key", "--to", "dept.pub", "-o", "p.sgp", "organizations.csv",
                    "members.csv",
                ], cwd: w.path
            ).status == 0)
        let open = try CLI.run(
            "script", ["-qec", "\(sg) open --identity dept.key --signer u.pub -o out p.sgp", "/dev/null"], cwd: w.path,
            stdin: Array("s3cret pass\n".utf8))
        #expect(open.status == 0, "\(open.out)")
        #expect(sameFile(w, "out/members.csv", "members.csv"), "out/members.csv differs from members.csv")
        // No terminal and no passphrase source: a coded refusal, not a hang.
        let none = try CLI.sg(["open", "--identity", "dept.key", "--signer", "u.pub", "-o", "out2", "p.sgp", "--json"], cwd: w.path)
        #expect(none.status == 77 && jsonCode(none) == "passphrase_required", "\(none.out) \(none.stderr)")
        #expect(!w.exists("out2"))
    }
}
