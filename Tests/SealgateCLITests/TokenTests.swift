import Foundation
import SealCrypto
import TestSupport
import Testing

/// A unit's signing key on a hardware token (PKCS#11), here SoftHSM2 (Debian's softhsm2, a token
/// initialised in a temporary folder; the Ed25519 key made with opensc's pkcs11-tool): its public
/// key exported, a package sealed with it and verified by stock minisign, and the refusals — a
/// wrong PIN, a key the token does not hold, no token, no module — each with its code and never
/// the PIN in what is printed.
struct TokenTests {
    static let module = "/usr/lib/softhsm/libsofthsm2.so"
    static let pin = "246810"

    /// A token labelled `unit1` with an Ed25519 key pair labelled `signing`, in `w`.
    static func token(_ w: Workdir) throws -> [String: String] {
        try FileManager.default.createDirectory(atPath: w.file("tokens"), withIntermediateDirectories: false)
        w.write("softhsm2.conf", "directories.tokendir = \(w.file("tokens"))\nobjectstore.backend = file\nlog.level = ERROR\n")
        let env = ["SOFTHSM2_CONF": w.file("softhsm2.conf")]
        let initToken = try CLI.run(
            "softhsm2-util", ["--init-token", "--free", "--label", "unit1", "--pin", pin, "--so-pin", "13579111"], cwd: w.path, env: env)
        try #require(initToken.status == 0, "\(initToken.stderr)")
        let keypair = try CLI.run(
            "pkcs11-tool",
            [
                "--module", module, "--token-label", "unit1", "--login", "--pin", pin, "--keypairgen", "--key-type", "EC:edwards25519",
                "--label", "signing", "--id", "01",
            ], cwd: w.path, env: env)
        try #require(keypair.status == 0, "\(keypair.stderr)")
        w.write("pin", pin + "\n")
        chmod(w.file("pin"), 0o600)
        return env
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
        let cases: [(CLI.Result, String)] = [
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
        let seal = try CLI.sg(
            [
                "seal", "--unit", "HCM-U001", "--seq", "1", "--signing-key", uri, "--pin-file", "pin", "--to", f.recipient.string, "-o",
                "token.sgp", "city/HCM-U001/organizations.csv", "city/HCM-U001/members.csv",
            ], cwd: f.w.path, env: env)
        #expect(seal.status == 0, "\(seal.stderr)")
        let accepted = try f.post(gw, f.w.file("token.sgp"))
        #expect(accepted.status == 201, "\(accepted.text.prefix(300))")
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
    }
}
