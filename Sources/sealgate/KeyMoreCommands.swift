import ArgumentParser
import Foundation
import PackageCommands
import SealBase
import SealCrypto

extension Keys {
    /// `make bench`'s figure for the post-quantum recipient type (scripts/bench, docs/benchmarks.md
    /// "Packages"): a package's file key wrapped (seal) and unwrapped (open) for one recipient, in
    /// this process, X25519 beside ML-KEM-768/X25519 — the cost a recipient type adds to each
    /// package, whatever its size, which a whole seal's wall time (a process start) hides.
    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time a file key's wrap and unwrap for an X25519 and a post-quantum recipient (make bench).", shouldDisplay: false)
        @Option(name: .long, help: "Wraps and unwraps of each type to time.") var count: Int = 2_000

        func run() async throws {
            try await runAsync(json: false) {
                guard count >= 1, count <= 1_000_000 else { throw SealError(.usage, "--count 1 to 1000000", remedy: "give a count in that range") }
                let types: [(String, any AgeKeyIdentity)] = [
                    ("X25519", try AgeX25519Identity.generate()), ("mlkem768x25519", try AgeHybridIdentity.generate()),
                ]
                for (name, identity) in types {
                    let fileKey = SecureBytes(random: 16)
                    var stanzas: [AgeStanza] = []
                    stanzas.reserveCapacity(count)
                    let clock = ContinuousClock()
                    let wrap = try clock.measure { for _ in 0..<count { stanzas.append(try identity.keyRecipient.wrap(fileKey: fileKey)) } }
                    var opened = 0
                    let unwrap = try clock.measure {
                        for s in stanzas where try identity.unwrap(stanzas: [s]) == fileKey { opened += 1 }
                    }
                    guard opened == count else {
                        throw SealError(.cryptoFailure, "\(name): \(count - opened) wraps did not open", remedy: "report this as a bug")
                    }
                    func us(_ d: Duration) -> String {
                        String(
                            format: "%.1f",
                            Double(d.components.seconds) * 1e6 / Double(count) + Double(d.components.attoseconds) / 1e12 / Double(count))
                    }
                    let size = stanzas[0].arguments.joined(separator: " ").utf8.count + stanzas[0].body.count
                    say(
                        "  \(name.padding(toLength: 16, withPad: " ", startingAt: 0)) wrap \(us(wrap)) µs   unwrap \(us(unwrap)) µs   stanza ~\(size) bytes"
                    )
                }
                return ["count": count]
            }
        }
    }
}

extension Keys {
    /// The minisign public key of a signing key — a key file's, or a token's (PKCS#11), whose
    /// public key the token gives and whose key id is derived from it (docs/keys.md).
    struct Public: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the minisign public key of a signing key: a key file, or a key on a token (pkcs11:token=…;object=…).",
            discussion: """
                For a key on a token, the key id is the first 8 bytes of SHA-256 of the Ed25519 public key (a token key has no minisign id of its own). The .pub file works with stock `minisign -V -p FILE.pub`, and registers the unit's key (`sealgate units add --signing-key FILE.pub`).

                Example: sealgate keys public --signing-key 'pkcs11:token=HCM-U001;object=signing' --pkcs11-module /usr/lib/softhsm/libsofthsm2.so -o unit.pub
                """)
        @Option(name: .long, help: "A minisign secret key file, or a key on a token as a PKCS#11 URI.") var signingKey: String
        @Option(name: .shortAndLong, help: "Where to write the public key (.pub).") var output: String
        @Flag(name: .long, help: "Overwrite an existing file.") var force = false
        @OptionGroup var passphrase: PassphraseOptions
        @OptionGroup var token: TokenOptions
        @OptionGroup var out: OutputOptions

        func run() async throws {
            try await runAsync(json: out.json) {
                let signer = try token.signer(signingKey, passphrase: passphrase)
                // One signature made and checked first: a token whose public object is not its
                // private key's is refused here, not after the .pub is registered.
                _ = try Array("sealgate keys public".utf8).withUnsafeBytes { try signer.signRaw($0) }
                try SecretFile.writePublic(path: output, contents: signer.publicKey.fileContents, force: force)
                if !out.json { say("wrote \(output); key id \(signer.publicKey.keyIdHex)") }
                return ["public_key": output, "key_id": signer.publicKey.keyIdHex]
            }
        }
    }
}
