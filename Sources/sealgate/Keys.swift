import ArgumentParser
import Foundation
import SealCrypto
import SealPackage

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate keys (minisign signing keys, age recipient keys).",
        subcommands: [Generate.self, Rotate.self, Retire.self, RotateUnit.self, Activate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub.",
            discussion: """
            signing: an Ed25519 minisign key pair (works with `minisign -S -s PREFIX.key` and `minisign -V -p PREFIX.pub`).

            recipient: an X25519 age identity (PREFIX.key, works with `age -d -i`) and its age1… recipient (PREFIX.pub).

            The secret key is encrypted with a passphrase unless --unencrypted is given (minisign's scrypt for signing keys; age's scrypt recipient for identities, so `age -d -i` still asks for the passphrase).
            """)

        enum Kind: String, ExpressibleByArgument, CaseIterable { case signing, recipient }

        @Argument(help: "signing | recipient") var kind: Kind
        @Option(name: .long, help: "Path prefix: writes PREFIX.key and PREFIX.pub.") var out: String
        @Flag(name: .long, help: "Store the secret key without a passphrase (test keys, automated services with protected storage).")
        var unencrypted = false
        @Flag(name: .long, help: "Overwrite existing files.") var force = false
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try sealgate.run(json: output.json) {
                let keyPath = out + ".key", pubPath = out + ".pub"
                if !force {
                    for p in [keyPath, pubPath] where FileManager.default.fileExists(atPath: p) {
                        throw SealError(.keyFileExists, "\(p) already exists", remedy: "choose another --out prefix, or pass --force to replace it")
                    }
                }
                let pass: SecureBytes? = unencrypted ? nil : try Passphrase.obtain(file: passphrase.passphraseFile, prompt: "Passphrase for the new key: ", confirm: true)
                switch kind {
                case .signing:
                    let key = MinisignSecretKey.generate()
                    try SecretFile.write(path: keyPath, contents: try key.fileContents(passphrase: pass), force: force)
                    try SecretFile.writePublic(path: pubPath, contents: key.publicKey.fileContents, force: force)
                    if !output.json { say("wrote \(keyPath) (secret\(pass == nil ? ", UNENCRYPTED" : "")) and \(pubPath); key id \(key.publicKey.keyIdHex)") }
                    return ["kind": "signing", "secret_key": keyPath, "public_key": pubPath, "key_id": key.publicKey.keyIdHex, "encrypted": pass != nil]
                case .recipient:
                    let identity = try AgeX25519Identity.generate()
                    let created = PackageIdentifiers.timestamp(unixSeconds: Int(Date().timeIntervalSince1970))
                    let plain = AgeIdentityFile.fileContents(identity, created: created)
                    if let pass {
                        let armored = try Age.encryptSmallSecret(plain, to: [AgeScryptRecipient(passphrase: pass)])
                        try SecretFile.write(path: keyPath, contents: armored.withUnsafeBytes { SecureBytes(copying: $0) }, force: force)
                    } else {
                        try SecretFile.write(path: keyPath, contents: plain, force: force)
                    }
                    let r = identity.recipient
                    try SecretFile.writePublic(path: pubPath, contents: "# sealgate recipient, fingerprint \(r.fingerprint)\n\(r.string)\n", force: force)
                    if !output.json { say("wrote \(keyPath) (secret\(pass == nil ? ", UNENCRYPTED" : "")) and \(pubPath); recipient \(r.string) (fingerprint \(r.fingerprint))") }
                    return ["kind": "recipient", "secret_key": keyPath, "public_key": pubPath, "recipient": r.string, "fingerprint": r.fingerprint, "encrypted": pass != nil]
                }
            }
        }
    }
}
