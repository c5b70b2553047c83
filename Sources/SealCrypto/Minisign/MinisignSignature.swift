import SealBase

/// A minisign signature file: the signature over the message (prehashed `ED` or legacy `Ed`),
/// and the global signature over signature ‖ trusted comment.
public struct MinisignSignature: Sendable, Equatable {
    public enum Algorithm: Sendable { case prehashed, legacy }

    public let algorithm: Algorithm
    public let keyId: [UInt8]
    public let signature: [UInt8]
    public let untrustedComment: String
    public let trustedComment: String
    public let globalSignature: [UInt8]

    /// The largest trusted comment we accept or write (minisign allows 8 KiB).
    public static let maxTrustedCommentBytes = 8192 - 18

    public init(algorithm: Algorithm, keyId: [UInt8], signature: [UInt8], untrustedComment: String, trustedComment: String, globalSignature: [UInt8])
    {
        self.algorithm = algorithm
        self.keyId = keyId
        self.signature = signature
        self.untrustedComment = untrustedComment
        self.trustedComment = trustedComment
        self.globalSignature = globalSignature
    }

    /// The four-line file text.
    public var fileContents: String {
        let alg: [UInt8] = algorithm == .prehashed ? Array("ED".utf8) : Array("Ed".utf8)
        return
            "untrusted comment: \(untrustedComment)\n\(Base64.encode(alg + keyId + signature))\ntrusted comment: \(trustedComment)\n\(Base64.encode(globalSignature))\n"
    }

    /// Length in bytes of `fileContents` for the given comments, known before signing.
    public static func fileLength(untrustedComment: String, trustedComment: String) -> Int {
        19 + untrustedComment.utf8.count + 1 + 100 + 1 + 17 + trustedComment.utf8.count + 1 + 88 + 1
    }

    /// Parses signature file text strictly. Throws `signature_malformed`.
    public init(fileContents bytes: [UInt8]) throws {
        func bad(_ why: String) -> SealError {
            SealError(
                .signatureMalformed, "signature file is malformed: \(why)",
                remedy: "the package or signature was damaged; ask the sender to seal it again")
        }
        guard bytes.count <= 16 * 1024 else { throw bad("too large") }
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line -> ArraySlice<UInt8> in
            line.last == 0x0D ? line.dropLast() : line
        }
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard lines.count == 4 else { throw bad("expected 4 lines, found \(lines.count)") }
        let up = Array(Minisign.untrustedPrefix.utf8)
        let tp = Array(Minisign.trustedPrefix.utf8)
        guard lines[0].starts(with: up) else { throw bad("no untrusted comment line") }
        guard lines[2].starts(with: tp) else { throw bad("no trusted comment line") }
        guard let sig = Base64.decode(String(decoding: lines[1], as: UTF8.self), padded: true), sig.count == 74 else { throw bad("signature line") }
        guard let global = Base64.decode(String(decoding: lines[3], as: UTF8.self), padded: true), global.count == 64 else {
            throw bad("global signature line")
        }
        switch (sig[0], sig[1]) {
        case (0x45, 0x44): algorithm = .prehashed  // ED
        case (0x45, 0x64): algorithm = .legacy  // Ed
        default: throw bad("unknown signature algorithm")
        }
        let tc = lines[2].dropFirst(tp.count)
        guard let trusted = String(validating: tc, as: UTF8.self) else { throw bad("trusted comment is not UTF-8") }
        keyId = Array(sig[2..<10])
        signature = Array(sig[10..<74])
        untrustedComment = String(decoding: lines[0].dropFirst(up.count), as: UTF8.self)
        trustedComment = trusted
        globalSignature = global
    }

    public init(fileContents text: String) throws { try self.init(fileContents: Array(text.utf8)) }

    /// Verifies the trusted comment's (global) signature alone: it binds the comment to the data
    /// signature, so it can be checked before the data is read. Throws `signature_key_mismatch`
    /// or `comment_signature_invalid`. Returns the proof that it did, for `verify` to skip that
    /// check on the same signature and key.
    @discardableResult
    public func verifyComment(publicKey: MinisignPublicKey) throws -> VerifiedComment {
        guard keyId == publicKey.keyId else {
            throw SealError(
                .signatureKeyMismatch, "signed by key \(Minisign.keyIdHex(keyId)), not by \(publicKey.keyIdHex)",
                remedy: "check that you use the signer's current public key")
        }
        guard Ed25519.verify(signature: globalSignature, message: signature + Array(trustedComment.utf8), publicKey: publicKey.key) else {
            throw SealError(
                .commentSignatureInvalid, "trusted comment signature does not verify", remedy: "the trusted comment was altered; do not trust it")
        }
        return VerifiedComment(signature: self, publicKey: publicKey)
    }

    /// Verifies both signatures. `prehash` is BLAKE2b-512 of the message (for `ED`); for a
    /// legacy `Ed` signature pass the message itself through `legacyMessage`. The comment's
    /// signature is not verified again when `verifiedComment` says it was, for this very
    /// signature (every field equal) and key; neither is when `verified` says both were, for this
    /// signature, key and prehash (the same bytes read twice: a gateway's admission, then its
    /// decision). Returns the proof that both verified.
    /// Throws `signature_key_mismatch`, `signature_invalid` or `comment_signature_invalid`.
    @discardableResult
    public func verify(
        publicKey: MinisignPublicKey, prehash: [UInt8]?, legacyMessage: [UInt8]? = nil, verifiedComment: VerifiedComment? = nil,
        verified: VerifiedSignature? = nil
    ) throws -> VerifiedSignature {
        guard keyId == publicKey.keyId else {
            throw SealError(
                .signatureKeyMismatch, "signed by key \(Minisign.keyIdHex(keyId)), not by \(publicKey.keyIdHex)",
                remedy: "check that you use the signer's current public key")
        }
        let ok: Bool
        switch algorithm {
        case .prehashed:
            guard let prehash else {
                throw SealError(.signatureInvalid, "prehashed signature needs the message hash", remedy: "report this as a bug")
            }
            if let verified, verified.prehash == prehash, verified.comment.covers(self, publicKey) { return verified }
            ok = Ed25519.verify(signature: signature, message: prehash, publicKey: publicKey.key)
        case .legacy:
            guard let legacyMessage else {
                throw SealError(
                    .signatureInvalid, "legacy (non-prehashed) signatures are not accepted here",
                    remedy: "sign with `minisign -S` (prehashed, the default since 0.11)")
            }
            ok = Ed25519.verify(signature: signature, message: legacyMessage, publicKey: publicKey.key)
        }
        guard ok else {
            throw SealError(.signatureInvalid, "signature does not verify", remedy: "the data was altered or signed by another key; do not trust it")
        }
        // A legacy signature's proof holds no prehash: it stands for nothing a later `verify` skips.
        let proof = VerifiedSignature(
            comment: VerifiedComment(signature: self, publicKey: publicKey), prehash: algorithm == .prehashed ? prehash : nil)
        if let verifiedComment, verifiedComment.covers(self, publicKey) { return proof }
        guard Ed25519.verify(signature: globalSignature, message: signature + Array(trustedComment.utf8), publicKey: publicKey.key) else {
            throw SealError(
                .commentSignatureInvalid, "trusted comment signature does not verify", remedy: "the trusted comment was altered; do not trust it")
        }
        return proof
    }
}

/// Both signatures of a signature file verified (`MinisignSignature.verify`) over a message's
/// prehash: made only there, so that a later `verify` of the same signature, key and prehash
/// need not check them again.
public struct VerifiedSignature: Sendable {
    let comment: VerifiedComment
    let prehash: [UInt8]?

    fileprivate init(comment: VerifiedComment, prehash: [UInt8]?) {
        self.comment = comment
        self.prehash = prehash
    }
}

/// A trusted comment's signature verified (`MinisignSignature.verifyComment`): made only there,
/// so that a later `verify` of the same signature file with the same key need not check it again.
public struct VerifiedComment: Sendable {
    let signature: MinisignSignature
    let publicKey: MinisignPublicKey

    fileprivate init(signature: MinisignSignature, publicKey: MinisignPublicKey) {
        self.signature = signature
        self.publicKey = publicKey
    }

    /// Whether this is the verification of `signature` (every field; the trusted comment byte for
    /// byte, as it is signed — `String`'s `==` takes a canonically equivalent text as equal) with
    /// `key` (its bytes).
    public func covers(_ signature: MinisignSignature, _ key: MinisignPublicKey) -> Bool {
        self.signature == signature && self.signature.trustedComment.utf8.elementsEqual(signature.trustedComment.utf8)
            && publicKey.keyId == key.keyId && publicKey.key == key.key
    }
}

extension MinisignSigner {
    /// Signs a BLAKE2b-512 prehash (`ED`), with a trusted comment.
    public func sign(prehash: [UInt8], trustedComment: String, untrustedComment: String = "signature from minisign secret key") throws
        -> MinisignSignature
    {
        try sign(algorithm: .prehashed, message: prehash, trustedComment: trustedComment, untrustedComment: untrustedComment)
    }

    /// Signs a whole message in the legacy `Ed` form (kept for reading old signatures; we write `ED`).
    public func signLegacy(message: [UInt8], trustedComment: String, untrustedComment: String = "signature from minisign secret key") throws
        -> MinisignSignature
    {
        try sign(algorithm: .legacy, message: message, trustedComment: trustedComment, untrustedComment: untrustedComment)
    }

    private func sign(algorithm: MinisignSignature.Algorithm, message: [UInt8], trustedComment: String, untrustedComment: String) throws
        -> MinisignSignature
    {
        guard !trustedComment.contains(where: { $0 == "\n" || $0 == "\r" }), !untrustedComment.contains(where: { $0 == "\n" || $0 == "\r" }) else {
            throw SealError(.usage, "comments must be one line", remedy: "remove line breaks from the comment")
        }
        guard trustedComment.utf8.count <= MinisignSignature.maxTrustedCommentBytes else {
            throw SealError(.usage, "trusted comment too long", remedy: "shorten the trusted comment")
        }
        let sig = try message.withUnsafeBytes { try signRaw($0) }
        let global = try (sig + Array(trustedComment.utf8)).withUnsafeBytes { try signRaw($0) }
        return MinisignSignature(
            algorithm: algorithm, keyId: keyId, signature: sig, untrustedComment: untrustedComment,
            trustedComment: trustedComment, globalSignature: global)
    }

    /// Signs a file's BLAKE2b-512, streaming it.
    public func signFile(path: String, trustedComment: String) throws -> MinisignSignature {
        try sign(prehash: try Minisign.prehash(path: path), trustedComment: trustedComment)
    }
}

extension Minisign {
    /// BLAKE2b-512 of a file, streamed.
    public static func prehash(path: String) throws -> [UInt8] {
        let src = try FileSource(path: path)
        let h = BLAKE2bHasher(outputLength: 64)
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = try buf.withUnsafeMutableBytes { try src.read(into: $0) }
            if n == 0 { break }
            buf.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return h.finalize()
    }
}

extension MinisignSigner {
    /// A bare Ed25519 signature with this key (for C2SP signed notes, which are not minisign files).
    public func signEd25519(_ message: [UInt8]) throws -> [UInt8] {
        try message.withUnsafeBytes { try signRaw($0) }
    }
}
