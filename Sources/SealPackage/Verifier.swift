public import SealCrypto

/// What a verified package says (spec §5 up to the signature, no decryption).
public struct VerifiedPackage: Sendable {
    public let header: PackageHeader
    public let signer: MinisignPublicKey
    /// The proof that both signatures verified over the payload's prehash (`OpenRequest.verifiedSignature`).
    public let proof: VerifiedSignature
    public var comment: TrustedComment { header.comment }
}

/// Checks a package's container, signature and comment without decrypting.
public enum Verifier {
    /// Verifies against the trusted signer keys. `expectedUnit`: when given, the comment's unit
    /// must equal it (`unit_mismatch`). `verifiedComment`: the comment's signature verified just
    /// before (the gateway's admission), not verified again if it is this package's with its signer.
    /// `body`: the package's bytes when they are held in memory (read from them; `path` only names them).
    public static func verify(
        path: String, body: [UInt8]? = nil, signers: [MinisignPublicKey], expectedUnit: String? = nil,
        maxBytes: UInt64 = defaultMaxPackageBytes, progress: ProgressHandler? = nil, verifiedComment: VerifiedComment? = nil
    ) throws -> VerifiedPackage {
        let source = try body.map { FileSource(bytes: $0, path: path) } ?? FileSource(path: path)
        let reader = source.positional
        // The descriptor is read through `positional` (a copy of it): the source keeps it open.
        defer { withExtendedLifetime(source) {} }
        let header = try PackageHeader(path: path, source: source, maxBytes: maxBytes, keys: signers)
        let signer = signers.first { $0.keyId == header.signature.keyId }!
        try checkUnit(header.comment, expectedUnit)
        let h = BLAKE2bHasher(outputLength: 64)
        // At most 1 MiB at a time; a small package's payload at once, in no more than it needs.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(1 << 20, max(header.container.payloadLength, 1))), alignment: 64)
        defer { buffer.deallocate() }
        var offset = header.container.payloadOffset
        let end = offset + header.container.payloadLength
        while offset < end {
            let n = Int(min(UInt64(buffer.count), end - offset))
            let got = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]), at: offset)
            guard got == n else { throw SealError.container("truncated payload.age") }
            h.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += UInt64(n)
            progress?("verify", offset - header.container.payloadOffset, header.container.payloadLength)
        }
        let proof = try header.signature.verify(publicKey: signer, prehash: h.finalize(), verifiedComment: verifiedComment)
        return VerifiedPackage(header: header, signer: signer, proof: proof)
    }

    static func checkUnit(_ comment: TrustedComment, _ expected: String?) throws {
        if let expected, comment.unit != expected {
            throw SealError(
                .unitMismatch, "package says unit \(comment.unit) but its key belongs to \(expected)",
                remedy: "a unit may only submit packages under its own id; check the unit expected and the signer key")
        }
    }
}
