import Foundation
import GatewayCore
import SealCrypto
import TestSupport
import Testing
import TransparencyLog

/// A unit's signing key on a hardware token (PKCS#11), here SoftHSM2 (Debian's softhsm2, a token
/// initialised in a temporary folder; the Ed25519 key made with opensc's pkcs11-tool): its public
/// key exported, a package sealed with it and verified by stock minisign, and the refusals — a
/// wrong PIN, a key the token does not hold, no token, no module — each with its code and never
/// the PIN in what is printed.
struct TokenTests {
    static let module = "/usr/lib/softhsm/libsofthsm2.so"
    static let pin = "246810"

    static let soPin = "13579111"
    static let spy = "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so"

    /// A token labelled `label` with an Ed25519 key pair for each of `keys` (their labels; ids
    /// 01, 02, …), in `w/tokens`; its PIN in `w/pin`. Returns the environment naming SoftHSM2's
    /// configuration.
    static func token(_ w: Workdir, label: String = "unit1", keys: [String] = ["signing"]) throws -> [String: String] {
        try FileManager.default.createDirectory(atPath: w.file("tokens"), withIntermediateDirectories: false)
        w.write("softhsm2.conf", "directories.tokendir = \(w.file("tokens"))\nobjectstore.backend = file\nlog.level = ERROR\n")
        let env = ["SOFTHSM2_CONF": w.file("softhsm2.conf")]
        try addToken(w, env: env, label: label, pin: pin, pinFile: "pin", keys: keys)
        return env
    }

    /// Another token beside the first ones, with its own PIN (written to `w/pinFile`).
    static func addToken(_ w: Workdir, env: [String: String], label: String, pin: String, pinFile: String, keys: [String]) throws {
        let initToken = try CLI.run(
            "softhsm2-util", ["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", soPin], cwd: w.path, env: env)
        try #require(initToken.status == 0, "\(initToken.stderr)")
        for (n, key) in keys.enumerated() {
            let keypair = try CLI.run(
                "pkcs11-tool",
                [
                    "--module", module, "--token-label", label, "--login", "--pin", pin, "--keypairgen", "--key-type", "EC:edwards25519",
                    "--label", key, "--id", String(format: "%02d", n + 1),
                ], cwd: w.path, env: env)
            try #require(keypair.status == 0, "\(keypair.stderr)")
        }
        w.write(pinFile, pin + "\n")
        chmod(w.file(pinFile), 0o600)
    }

    @Test func aPackageSignedOnATokenVerifiesWithStockMinisign() throws {
        let w = Workdir()
        sampleData(w)
        let env = try Self.token(w)
        let uri = "pkcs11:token=unit1;object=signing"
        let pub = try CLI.sg(
            ["keys", "public", "--signing-key", uri, "--pkcs11-module", Self.module, "--pin-file", "pin", "-o", "unit.pub"], cwd: w.path, env: env)
        #expect(pub.status == 0, "\(pub.stderr)")
        #expect(try CLI.sg(["keys", "generate", "recipient", "--out", "dept", "--unencrypted"], cwd: w.path).status == 0)
        // The PIN from the environment this time, the module too.
        var sealEnv = env
        sealEnv["SEALGATE_PKCS11_PIN"] = Self.pin
        sealEnv["SEALGATE_PKCS11_MODULE"] = Self.module
        let seal = try CLI.sg(
            [
                "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", uri, "--to", "dept.pub", "-o", "p.sgp", "organizations.csv",
                "members.csv",
            ], cwd: w.path, env: sealEnv)
        #expect(seal.status == 0, "\(seal.stderr)")
        try FileManager.default.createDirectory(atPath: w.file("x"), withIntermediateDirectories: false)
        #expect(try CLI.run("tar", ["-xf", "../p.sgp"], cwd: w.file("x")).status == 0)
        let ms = try CLI.run("minisign", ["-V", "-p", "../unit.pub", "-m", "payload.age", "-x", "package.minisig"], cwd: w.file("x"))
        #expect(ms.status == 0 && ms.out.contains("Trusted comment: sealgate/1 unit=HCM-U001 "), "\(ms.stderr)")
        let opened = try CLI.sg(["open", "--identity", "dept.key", "--signer", "unit.pub", "-o", "out", "p.sgp"], cwd: w.path)
        #expect(opened.status == 0 && sameFile(w, "out/members.csv", "members.csv"), "\(opened.stderr)")
        // The key id is derived from the public key: the first 8 bytes of its SHA-256 (docs/keys.md).
        let key = try MinisignPublicKey(fileContents: String(decoding: w.read("unit.pub"), as: UTF8.self))
        #expect(key.keyId == Array(SHA256Hasher.hash(key.key).prefix(8)))
    }

    @Test func aWrongPinAMissingKeyAndNoTokenAreRefusedWithTheirCodes() throws {
        let w = Workdir()
        let env = try Self.token(w)
        w.write("wrong", "999999\n")
        chmod(w.file("wrong"), 0o600)
        func attempt(_ uri: String, pinFile: String, module: String = Self.module) throws -> CLI.Result {
            try CLI.sg(
                ["keys", "public", "--signing-key", uri, "--pkcs11-module", module, "--pin-file", pinFile, "-o", "k.pub", "--json"], cwd: w.path,
                env: env)
        }
        // A module in a folder others can write (someone could swap it) is never loaded.
        try FileManager.default.createDirectory(atPath: w.file("shared"), withIntermediateDirectories: false)
        chmod(w.file("shared"), 0o777)
        let moduleFile = URL(fileURLWithPath: Self.module).resolvingSymlinksInPath().path  // the file, not Debian's link to it
        try FileManager.default.copyItem(atPath: moduleFile, toPath: w.file("shared/libsofthsm2.so"))
        let swappable = try attempt("pkcs11:token=unit1;object=signing", pinFile: "pin", module: w.file("shared/libsofthsm2.so"))
        #expect(swappable.status != 0 && swappable.out.contains("only its owner can write"), "\(swappable.out)")
        let cases: [(CLI.Result, String)] = [
            (swappable, "token_unavailable"),
            (try attempt("pkcs11:token=unit1;object=signing", pinFile: "wrong"), "token_pin_refused"),
            (try attempt("pkcs11:token=unit1;object=nosuch", pinFile: "pin"), "token_key_missing"),
            (try attempt("pkcs11:token=nosuch;object=signing", pinFile: "pin"), "token_unavailable"),
            (try attempt("pkcs11:token=unit1;object=signing", pinFile: "pin", module: w.file("no-module.so")), "token_unavailable"),
            (try attempt("pkcs11:token=unit1;object=signing?pin-value=\(Self.pin)", pinFile: "pin"), "usage"),
        ]
        for (r, code) in cases {
            #expect(r.status != 0 && r.out.contains("\"code\":\"\(code)\""), "expected \(code): \(r.out)")
            #expect(!r.out.contains(Self.pin) && !r.stderr.contains(Self.pin) && !r.out.contains("999999"), "a PIN was printed: \(r.out) \(r.stderr)")
        }
        #expect(!w.exists("k.pub"))
    }

    /// A unit moves its signing key from a file onto a token with the rotation statement it
    /// already has (the old file key and the new token key both sign it); the gateway then
    /// accepts the unit's packages signed on the token.
    @Test func aUnitRotatesFromItsKeyFileToATokenKey() throws {
        let f = try GatewayFixture()
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path)
        defer { gw.stop() }
        var env = try Self.token(f.w)
        env["SEALGATE_PKCS11_MODULE"] = Self.module
        let uri = "pkcs11:token=unit1;object=signing"
        let rotate = try CLI.sg(
            ["keys", "rotate-unit", "--unit", "HCM-U001", "--old", "HCM-U001.key", "--new", uri, "--pin-file", "pin", "--gateway", gw.url],
            cwd: f.w.path, env: env)
        #expect(rotate.status == 0, "\(rotate.stderr)")
        /// Seals seq `seq` with the key `uri` names and submits it: 201.
        func sealAndSubmit(_ uri: String, pinFile: String, seq: Int) throws {
            let seal = try CLI.sg(
                [
                    "seal", "--unit", "HCM-U001", "--seq", String(seq), "--signing-key", uri, "--pin-file", pinFile, "--to", f.recipient.string, "-o",
                    "token-\(seq).sgp", "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv",
                ], cwd: f.w.path, env: env)
            #expect(seal.status == 0, "\(seal.stderr)")
            let accepted = try f.post(gw, f.w.file("token-\(seq).sgp"))
            #expect(accepted.status == 201, "\(accepted.text.prefix(300))")
        }
        try sealAndSubmit(uri, pinFile: "pin", seq: 1)
        // A unit profile holds the token key's URI: `unit send` seals with the next seq and submits.
        try FileManager.default.createDirectory(atPath: f.w.file("desk"), withIntermediateDirectories: false)
        let initProfile = try CLI.sg(
            [
                "unit", "init", "--unit", "HCM-U001", "--gateway", gw.url, "--root", f.w.file("dept/keys/root.pub"), "--signing-key", uri, "--folder",
                "desk",
            ],
            cwd: f.w.path, env: env)
        #expect(initProfile.status == 0, "\(initProfile.stderr)")
        let send = try CLI.sg(
            ["unit", "send", "--pin-file", f.w.file("pin"), f.w.file("city/HCM-U001/organizations.csv"), f.w.file("city/HCM-U001/members.csv")],
            cwd: f.w.file("desk"), env: env)
        #expect(send.status == 0 && send.stderr.contains("201"), "\(send.stderr)")
        // From that token to another one with another PIN: each key's PIN from its own file.
        try Self.addToken(f.w, env: env, label: "unit1-2027", pin: "97531", pinFile: "pin2", keys: ["signing"])
        let uri2 = "pkcs11:token=unit1-2027;object=signing"
        let onePin = try CLI.sg(
            ["keys", "rotate-unit", "--unit", "HCM-U001", "--old", uri, "--new", uri2, "--pin-file", "pin", "--gateway", gw.url, "--json"],
            cwd: f.w.path, env: env)
        #expect(onePin.status != 0 && onePin.out.contains("\"code\":\"token_pin_refused\""), "\(onePin.out)")
        let twoPins = try CLI.sg(
            [
                "keys", "rotate-unit", "--unit", "HCM-U001", "--old", uri, "--new", uri2, "--pin-file", "pin", "--new-pin-file", "pin2", "--gateway",
                gw.url,
            ],
            cwd: f.w.path, env: env)
        #expect(twoPins.status == 0, "\(twoPins.stderr)")
        try sealAndSubmit(uri2, pinFile: "pin2", seq: 3)
    }

    /// The department's receipt and log keys move onto a token with the rotation it has (the old
    /// file keys verify-only, the token keys active); `serve` signs receipts and checkpoints on
    /// the token, and `receipt verify` and stock minisign accept them. What a long-running gateway
    /// meets — a signing call failing half-way, the token removed and put back (SoftHSM2's token
    /// folder moved away and back), the PIN changed under it — is answered 503 with its code,
    /// nothing recorded, and the gateway signs again without a restart once the token is back or
    /// the PIN file holds the new PIN. The PIN is never printed.
    @Test func aGatewaySignsWithKeysOnATokenAndRecoversWithoutRestart() throws {
        let f = try GatewayFixture()
        var env = try Self.token(f.w, label: "dept", keys: ["receipt", "log", "dataset"])
        // The gateway reaches SoftHSM2 through OpenSC's pkcs11-spy, which writes down every call
        // (to count the logins the gateway tries).
        env["PKCS11SPY"] = Self.module
        env["PKCS11SPY_OUTPUT"] = f.w.file("spy.log")
        let tokenArgs = ["--pkcs11-module", Self.spy, "--pin-file", f.w.file("pin")]
        func logins() -> Int { String(decoding: f.w.read("spy.log"), as: UTF8.self).components(separatedBy: "C_Login").count - 1 }
        try requireOK(try CLI.sg(["handbook", "init", "--data", "hb", "--unencrypted"], cwd: f.w.path))
        try requireOK(
            try CLI.sg(
                [
                    "handbook", "connect", "--data", "dept", "--url", "http://127.0.0.1:9", "--recipient", "hb/identity.pub", "--ack-key",
                    "hb/ack.pub",
                ],
                cwd: f.w.path))
        let admin = try CLI.sg(["tokens", "create", "--data", "dept", "--role", "admin"], cwd: f.w.path).out.trimmingCharacters(
            in: .whitespacesAndNewlines)
        // The log key names the module by another path (a link to the same file): one module.
        for (role, module) in [("receipt", Self.spy), ("log", "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so")] {
            let r = try CLI.sg(
                [
                    "keys", "rotate", role, "--data", "dept", "--token-key", "pkcs11:token=dept;object=\(role)", "--grace", "1h",
                    "--pkcs11-module", module, "--pin-file", f.w.file("pin"),
                ], cwd: f.w.path, env: env)
            #expect(r.status == 0 && r.stderr.contains("\(role) key"), "\(r.stderr)")
            let file = String(decoding: f.w.read("dept/keys/\(role).key"), as: UTF8.self)
            #expect(file.contains("uri pkcs11:token=dept;object=\(role)") && !file.contains("secret key"), "\(file)")
        }
        // One key, one role: the log's token key is refused as the receipt key.
        let twice = try CLI.sg(
            ["keys", "rotate", "receipt", "--data", "dept", "--token-key", "pkcs11:token=dept;object=log", "--json"] + tokenArgs, cwd: f.w.path,
            env: env)
        #expect(twice.status != 0 && twice.out.contains("the log key already"), "\(twice.out)")
        // The dataset key announced, then switched: not before its token signs (no PIN here, no
        // terminal: refused, nothing switched), then with the PIN.
        try requireOK(
            try CLI.sg(
                ["keys", "rotate", "dataset", "--data", "dept", "--token-key", "pkcs11:token=dept;object=dataset", "--pending"] + tokenArgs,
                cwd: f.w.path, env: env))
        let noPin = try CLI.sg(["keys", "activate", "dataset", "--data", "dept", "--json"], cwd: f.w.path, env: env)
        #expect(noPin.status != 0 && noPin.out.contains("\"code\":\"token_pin_refused\""), "\(noPin.out)")
        #expect(f.w.exists("dept/keys/dataset-next.key"))
        try requireOK(
            try CLI.sg(["keys", "activate", "dataset", "--data", "dept", "--pin-file", f.w.file("pin")], cwd: f.w.path, env: env), "activate")
        // A key file naming a module inside the data folder (what a tampered backup could bring)
        // is refused before the module is loaded.
        try FileManager.default.copyItem(atPath: Self.spy, toPath: f.w.file("dept/keys/x.so"))
        let dataset = try MinisignPublicKey(path: f.w.file("dept/keys/dataset.pub"))
        f.w.write(
            "dept/keys/receipt-next.key",
            SigningKeyFile.tokenContents(
                uri: try Pkcs11URI("pkcs11:token=dept;object=receipt"), modulePath: f.w.file("dept/keys/x.so"), publicKey: dataset))
        chmod(f.w.file("dept/keys/receipt-next.key"), 0o600)
        let planted = try CLI.sg(["keys", "activate", "receipt", "--data", "dept", "--pin-file", f.w.file("pin"), "--json"], cwd: f.w.path, env: env)
        #expect(planted.status != 0 && planted.out.contains("inside the data folder"), "\(planted.out)")
        try FileManager.default.removeItem(atPath: f.w.file("dept/keys/receipt-next.key"))
        // A gateway with keys on a token and no PIN source does not start (no terminal to ask).
        #expect(throws: RawHTTP.Failure.self) { _ = try GatewayProcess(data: "dept", cwd: f.w.path, env: env) }
        // Armed: the first signing call and its retry fail half-way (the operation left active).
        env["SEALGATE_FAILPOINTS"] = "token.sign=eio:2"
        let gw = try GatewayProcess(data: "dept", cwd: f.w.path, extra: ["--pin-file", f.w.file("pin")], env: env)
        defer { gw.stop() }
        func code(_ r: RawHTTP.Response) throws -> String? { try JSON(parsing: r.text)["code"]?.string }
        let p1 = try f.seal("HCM-U001", seq: 1)
        let halfway = try f.post(gw, p1)
        #expect(try halfway.status == 503 && code(halfway) == "token_unavailable", "\(halfway.status) \(halfway.text.prefix(300))")
        // Nothing was recorded: the same package is decided when sent again.
        let again = try f.post(gw, p1)
        #expect(again.status == 201, "\(again.status) \(again.text.prefix(300))")
        // The receipt, signed on the token: `receipt verify` with the trust document, and stock
        // minisign with the published receipt key.
        try requireOK(try CLI.sg(["trust", "fetch", "--gateway", gw.url, "--root", "dept/keys/root.pub", "-o", "trust.json"], cwd: f.w.path))
        let p2 = try f.seal("HCM-U001", seq: 2)
        let submit = try CLI.sg(["submit", "--gateway", gw.url, "--trust", "trust.json", p2], cwd: f.w.path)
        #expect(submit.status == 0 && submit.stderr.contains("201"), "\(submit.stderr)")
        try requireOK(try CLI.sg(["receipt", "verify", "--trust", "trust.json", p2 + ".receipt.json"], cwd: f.w.path), "receipt verify")
        let ms = try CLI.run("minisign", ["-V", "-p", "dept/keys/receipt.pub", "-m", p2 + ".receipt.json"], cwd: f.w.path)
        #expect(ms.status == 0, "\(ms.stderr)")
        let trust = try JSON(parsing: String(decoding: f.w.read("trust.json"), as: UTF8.self))
        let tokenReceiptKey = try MinisignPublicKey(path: f.w.file("dept/keys/receipt.pub"))
        #expect(trust.canonical.contains(tokenReceiptKey.base64))

        // The token removed: 503 token_unavailable, nothing recorded, the gateway still up.
        try FileManager.default.moveItem(atPath: f.w.file("tokens"), toPath: f.w.file("tokens.away"))
        let p3 = try f.seal("HCM-U001", seq: 3)
        let away = try f.post(gw, p3)
        #expect(try away.status == 503 && code(away) == "token_unavailable", "\(away.status) \(away.text.prefix(300))")
        #expect(try RawHTTP.request("GET", gw.url + "/healthz").status == 200)
        // Put back: signed again, no restart (the module is looked at again at most every 2 s).
        try FileManager.default.moveItem(atPath: f.w.file("tokens.away"), toPath: f.w.file("tokens"))
        var back = try f.post(gw, p3)
        for _ in 0..<20 where back.status == 503 {
            Thread.sleep(forTimeInterval: 0.5)
            back = try f.post(gw, p3)
        }
        #expect(back.status == 201, "\(back.status) \(back.text.prefix(300))")

        // The security officer sets another user PIN (as after unlocking a locked PIN); the token
        // is re-inserted, so the gateway must log in again: its PIN is refused, once — 503
        // token_pin_refused, and not sent again — until the PIN file holds the new PIN.
        let newPin = "135790"
        let setPin = try CLI.run(
            "pkcs11-tool",
            [
                "--module", Self.module, "--token-label", "dept", "--login", "--login-type", "so", "--so-pin", Self.soPin, "--init-pin", "--new-pin",
                newPin,
            ],
            cwd: f.w.path, env: env)
        try #require(setPin.status == 0, "\(setPin.stderr)")
        try FileManager.default.moveItem(atPath: f.w.file("tokens"), toPath: f.w.file("tokens.away"))
        let p4 = try f.seal("HCM-U001", seq: 4)
        _ = try f.post(gw, p4)
        try FileManager.default.moveItem(atPath: f.w.file("tokens.away"), toPath: f.w.file("tokens"))
        var refused = try f.post(gw, p4)
        for _ in 0..<20 where refused.text.contains("\"token_unavailable\"") {
            Thread.sleep(forTimeInterval: 0.5)
            refused = try f.post(gw, p4)
        }
        #expect(try refused.status == 503 && code(refused) == "token_pin_refused", "\(refused.status) \(refused.text.prefix(300))")
        let loginsTried = logins()
        Thread.sleep(forTimeInterval: 1.1)
        let stillRefused = try f.post(gw, p4)
        #expect(try stillRefused.status == 503 && code(stillRefused) == "token_pin_refused", "\(stillRefused.text.prefix(300))")
        // Nor by another key on the token (a stranger's replay of a decided package has its
        // receipt signed anew), nor after the keys are reloaded (a new trust document).
        let replay = try f.post(gw, p1)
        #expect(try replay.status == 503 && code(replay) == "token_pin_refused", "\(replay.status) \(replay.text.prefix(300))")
        try requireOK(try CLI.sg(["trust", "publish", "--data", "dept"], cwd: f.w.path), "trust publish")
        Thread.sleep(forTimeInterval: 1.1)
        let reloaded = try f.post(gw, p4)
        #expect(try reloaded.status == 503 && code(reloaded) == "token_pin_refused", "\(reloaded.status) \(reloaded.text.prefix(300))")
        #expect(logins() == loginsTried, "the refused PIN was sent to the token again")
        f.w.write("pin", newPin + "\n")
        chmod(f.w.file("pin"), 0o600)
        var relogged = try f.post(gw, p4)
        for _ in 0..<10 where relogged.status == 503 {
            Thread.sleep(forTimeInterval: 0.5)
            relogged = try f.post(gw, p4)
        }
        #expect(relogged.status == 201, "\(relogged.status) \(relogged.text.prefix(300)) \(gw.logText.suffix(3000))")
        // A dataset synthesized by the running gateway is signed on the token: stock minisign
        // verifies it with the published dataset key.
        let synthesized = try RawHTTP.request("POST", gw.url + "/v1/datasets", headers: ["Authorization": "Bearer \(admin)"])
        #expect(synthesized.status == 201, "\(synthesized.status) \(synthesized.text.prefix(300))")
        try FileManager.default.createDirectory(atPath: f.w.file("ds"), withIntermediateDirectories: false)
        #expect(try CLI.run("tar", ["-xf", "../dept/datasets/dataset-v1.sgp"], cwd: f.w.file("ds")).status == 0)
        let dsSig = try CLI.run(
            "minisign", ["-V", "-p", "../dept/keys/dataset.pub", "-m", "payload.age", "-x", "package.minisig"], cwd: f.w.file("ds"))
        #expect(dsSig.status == 0, "\(dsSig.stderr)")
        // Checkpoints are signed on the token too: the log's checkpoint verifies with the new log key.
        let checkpoint = try RawHTTP.request("GET", gw.url + "/v1/log/checkpoint")
        #expect(checkpoint.status == 200, "\(checkpoint.text)")
        let verified = try Checkpoint.verify(note: checkpoint.text, name: "HCM-DTCD/log", publicKey: MinisignKeyFile.logKey(f))
        #expect(verified.size > 0)
        gw.stop()
        for text in [gw.logText, halfway.text, away.text, refused.text] {
            #expect(!text.contains(Self.pin) && !text.contains(newPin), "a PIN was printed")
        }
    }
}
