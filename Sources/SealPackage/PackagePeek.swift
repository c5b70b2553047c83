public import SealCrypto

/// What the first member of a package (`package.minisig`) tells before the rest has arrived:
/// the signer's key id and the trusted comment (spec §5 steps 2–3, up to the comment's syntax).
/// The gateway reads it from the head of a body as it streams in, to refuse a stranger's package
/// before spending disk and time on the rest.
public struct PackagePeek: Sendable {
    public let signature: MinisignSignature
    public let comment: TrustedComment

    public init(signature: MinisignSignature, comment: TrustedComment) {
        self.signature = signature
        self.comment = comment
    }

    /// What a parsed header says.
    public init(_ header: PackageHeader) { self.init(signature: header.signature, comment: header.comment) }

    /// Bytes of the body after which the first member is complete at the latest (its header,
    /// the largest signature file accepted, its padding).
    public static let maxPrefix = Tar.blockSize + Int(PackageContainer.maxSignatureBytes) + Tar.blockSize

    /// Collects the head of a body as it streams in, until its first member can be told.
    public struct Collector: Sendable {
        var prefix: [UInt8] = []
        var done = false

        public init() {}

        /// Feeds the body's next bytes. Returns the first member once, as soon as it is complete;
        /// nil before and after. Throws what `parse` throws.
        public mutating func feed(_ bytes: some Collection<UInt8>) throws -> PackagePeek? {
            guard !done else { return nil }
            prefix += bytes.prefix(PackagePeek.maxPrefix - prefix.count)
            guard let peek = try prefix.withUnsafeBytes({ try PackagePeek.parse(prefix: $0) }) else { return nil }
            done = true
            prefix = []
            return peek
        }
    }

    /// Parses the first member from the head of a package. Returns nil while `prefix` is too short
    /// to tell; throws `container_malformed`, `signature_malformed` or `comment_malformed`.
    public static func parse(prefix: UnsafeRawBufferPointer) throws -> PackagePeek? {
        guard prefix.count >= Tar.blockSize else { return nil }
        guard let member = try Tar.parseHeader(UnsafeRawBufferPointer(rebasing: prefix[0..<Tar.blockSize]), error: SealError.container) else {
            throw SealError.container("empty archive")
        }
        guard member.name == "package.minisig" else {
            throw SealError.container("the first member is not package.minisig")
        }
        guard member.size <= PackageContainer.maxSignatureBytes else { throw SealError.container("package.minisig is too large") }
        let end = Tar.blockSize + Int(member.size)
        guard prefix.count >= end else { return nil }
        let signature = try MinisignSignature(fileContents: Array(prefix[Tar.blockSize..<end]))
        guard signature.algorithm == .prehashed else {
            throw SealError(
                .signatureMalformed, "package.minisig is a legacy (non-prehashed) signature",
                remedy: "packages are signed in minisign's prehashed form (ED); seal again with `sealgate seal` or `minisign -S`")
        }
        return PackagePeek(signature: signature, comment: try TrustedComment(parsing: signature.trustedComment))
    }
}
