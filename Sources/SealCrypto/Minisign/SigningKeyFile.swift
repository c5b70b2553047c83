import Foundation
import SealBase

/// Where a token key's PIN comes from when its token asks for a login: asked with the key's URI
/// (for the prompt), at the first signature and again after the token came back.
public typealias TokenPIN = @Sendable (Pkcs11URI) throws -> SecureBytes

/// A signing key's file: a minisign secret key, or a file naming a key on a token (the
/// department's `keys/ROLE.key` once that key lives on a token). The token file holds no secret:
///
///     # sealgate: this key is on a token (PKCS#11); its secret never leaves the token
///     uri pkcs11:token=dept;object=receipt
///     module /usr/lib/softhsm/libsofthsm2.so
///     public-key RWQ…
///
/// The public key is the one published: the token is opened at the first signature, and a token
/// holding another key under that URI is refused (`token_key_missing`), never signed with.
public enum SigningKeyFile {
    static let tokenHeader = "# sealgate: this key is on a token (PKCS#11); its secret never leaves the token"

    /// The file naming `uri`'s key on a token reached through `modulePath`.
    public static func tokenContents(uri: Pkcs11URI, modulePath: String, publicKey: MinisignPublicKey) -> String {
        "\(tokenHeader)\nuri \(uri.text)\nmodule \(modulePath)\npublic-key \(publicKey.base64)\n"
    }

    /// Whether `contents` names a key on a token.
    public static func namesToken(_ contents: SecureBytes) -> Bool {
        contents.withUnsafeBytes { $0.starts(with: tokenHeader.utf8) }
    }

    /// Whether the file at `path` names a key on a token.
    public static func namesToken(path: String) -> Bool {
        (try? SecretFile.read(path: path)).map(namesToken) ?? false
    }

    /// The URI, module and public key a token file names.
    public static func parseToken(_ contents: SecureBytes) throws -> (uri: Pkcs11URI, modulePath: String, publicKey: MinisignPublicKey) {
        let text = contents.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let kv = line.split(separator: " ", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        guard let u = fields["uri"], let module = fields["module"], let k = fields["public-key"] else {
            throw SealError(
                .keyMalformed, "a token key file lacks its uri, module or public-key line",
                remedy: "restore the file from a backup, or rotate the key onto the token again (the rotation writes it)")
        }
        return (try Pkcs11URI(u), module, try MinisignPublicKey(base64: k))
    }

    /// The signer a key file holds: its secret (the passphrase asked if it is encrypted), or the
    /// key on a token it names (loaded and opened at the first signature, `pin` asked then). A
    /// module inside `folder` (the data folder the key file is in) is refused: what a restored
    /// backup brings must never be code this process runs.
    public static func load(path: String, passphrase: () throws -> SecureBytes, pin: @escaping TokenPIN, folder: String? = nil) throws
        -> any MinisignSigner
    {
        let contents = try SecretFile.read(path: path)
        guard namesToken(contents) else { return try MinisignSecretKey.parse(fileContents: contents, passphrase: passphrase) }
        let (uri, module, key) = try parseToken(contents)
        if let folder, let inside = realPath(folder), let real = realPath(module), real.hasPrefix(inside + "/") {
            throw SealError(
                .tokenUnavailable, "\(path) names a PKCS#11 module inside the data folder (\(module))",
                remedy: "install the token's module as a system library outside the data folder and name that path in the key file")
        }
        return try Pkcs11Signer(uri: uri, modulePath: module, expecting: key, pin: { try pin(uri) })
    }

    static func realPath(_ path: String) -> String? {
        guard let r = realpath(path, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }
}
