public import SealCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// Default size limit of a package (spec §5): what `open`, `verify`, `inspect` and the gateway accept.
public let defaultMaxPackageBytes: UInt64 = 256 << 20

/// Default size limit of a dataset package: what the handbook receiver accepts (`handbook serve --max-body`).
public let defaultMaxDatasetBytes: UInt64 = 4 << 30

/// The size a package of `kind` is sealed within by default: what its reader accepts by default.
public func defaultMaxPackageBytes(for kind: PackageKind) -> UInt64 {
    kind == .dataset ? defaultMaxDatasetBytes : defaultMaxPackageBytes
}

/// The outer container of a package, located and checked without reading payload.age.
public struct PackageContainer: Sendable {
    public let path: String
    public let size: UInt64
    /// The raw bytes of package.minisig.
    public let signatureBytes: [UInt8]
    /// Where payload.age starts in the file, and its length.
    public let payloadOffset: UInt64
    public let payloadLength: UInt64

    static let maxSignatureBytes: UInt64 = 16 * 1024
    /// Zero bytes tolerated after the end-of-archive blocks (tar pads to 10 KiB records).
    static let maxTrailingZeros: UInt64 = 64 * 1024

    /// Checks size and container shape (spec §5 steps 1–2). Throws `package_too_large` or
    /// `container_malformed`.
    public init(path: String, source: FileSource, maxBytes: UInt64 = defaultMaxPackageBytes) throws {
        self.path = path
        size = try source.size()
        guard size <= maxBytes else {
            throw SealError(
                .packageTooLarge, "package is \(size) bytes, over the limit of \(maxBytes)",
                remedy: "split the data into several packages, or raise the reader's size limit if this size is expected")
        }
        let size = self.size
        func readBlock(at offset: UInt64) throws -> Tar.Member? {
            try Self.readHeader(source: source, path: path, size: size, offset: offset)
        }
        guard let first = try readBlock(at: 0) else { throw SealError.container("empty archive") }
        guard first.name == "package.minisig" else {
            throw SealError.container("the first member is not package.minisig")
        }
        guard first.size <= Self.maxSignatureBytes else { throw SealError.container("package.minisig is too large") }
        let secondOffset = Tar.memberLength(first.size)
        guard let second = try readBlock(at: secondOffset) else { throw SealError.container("payload.age is missing") }
        guard second.name == "payload.age" else { throw SealError.container("the second member is not payload.age") }
        payloadOffset = secondOffset + UInt64(Tar.blockSize)
        payloadLength = second.size
        let end = payloadOffset + second.size + UInt64(Tar.padding(second.size))
        guard end + 2 * UInt64(Tar.blockSize) <= size else { throw SealError.container("truncated archive (payload.age or end blocks missing)") }
        // Padding, the two end blocks and any tar record padding: all zero; nothing else.
        let padStart = payloadOffset + second.size
        let trailing = size - padStart
        guard trailing <= Self.maxTrailingZeros + UInt64(Tar.blockSize) * 3 else { throw SealError.container("data after the end of the archive") }
        guard (size - end) % UInt64(Tar.blockSize) == 0 else { throw SealError.container("archive length is not a multiple of 512") }
        let reader = source.positional
        var tail = [UInt8](repeating: 0, count: Int(trailing))
        _ = try tail.withUnsafeMutableBytes { try reader.read(into: $0, at: padStart) }
        guard tail.allSatisfy({ $0 == 0 }) else {
            throw SealError.container(
                tail.count > Tar.padding(second.size) + 2 * Tar.blockSize || tail[Tar.padding(second.size)...].contains(where: { $0 != 0 })
                    ? "a third member or data after payload.age" : "non-zero padding after payload.age")
        }
        var sig = [UInt8](repeating: 0, count: Int(first.size))
        let got = try sig.withUnsafeMutableBytes { try reader.read(into: $0, at: UInt64(Tar.blockSize)) }
        guard got == sig.count else { throw SealError.container("truncated package.minisig") }
        // package.minisig's own padding must be zero too.
        var pad = [UInt8](repeating: 0, count: Tar.padding(first.size))
        _ = try pad.withUnsafeMutableBytes { try reader.read(into: $0, at: UInt64(Tar.blockSize) + first.size) }
        guard pad.allSatisfy({ $0 == 0 }) else { throw SealError.container("non-zero padding after package.minisig") }
        signatureBytes = sig
    }

    /// Whether this container and `other` are the same bytes where a head is read from: the
    /// size, the signature's bytes and where the payload lies (each container's blocks and
    /// padding were checked when it was read).
    func holds(the other: PackageContainer) -> Bool {
        size == other.size && payloadOffset == other.payloadOffset && payloadLength == other.payloadLength && signatureBytes == other.signatureBytes
    }

    /// Whether two containers carry the same signature: the same key id, signature, trusted
    /// comment and global signature (the untrusted comment is not signed). For two packages
    /// whose signatures both verified under one key, that is the same signed package — the same
    /// `payload.age` bytes and the same claim (libsodium's Ed25519 verifies one message per
    /// signature: a second message under the same signature would be a forgery or a BLAKE2b
    /// collision). What else may differ is the tar around them, which anyone can change without
    /// the signer's key (record padding after the end blocks, GNU or POSIX magic, header fields).
    /// A signature that does not parse is not the same.
    public static func sameSignature(_ a: PackageContainer, _ b: PackageContainer) -> Bool {
        guard let sa = try? MinisignSignature(fileContents: a.signatureBytes), let sb = try? MinisignSignature(fileContents: b.signatureBytes)
        else { return false }
        return sa.algorithm == sb.algorithm && sa.keyId == sb.keyId && sa.signature == sb.signature && sa.trustedComment == sb.trustedComment
            && sa.globalSignature == sb.globalSignature
    }

    private static func readHeader(source: FileSource, path: String, size: UInt64, offset: UInt64) throws -> Tar.Member? {
        guard offset + UInt64(Tar.blockSize) <= size else { throw SealError.container("truncated archive") }
        var block = [UInt8](repeating: 0, count: Tar.blockSize)
        let n = try block.withUnsafeMutableBytes { try source.positional.read(into: $0, at: offset) }
        guard n == Tar.blockSize else { throw SealError.container("truncated archive") }
        return try block.withUnsafeBytes { try Tar.parseHeader($0, error: SealError.container) }
    }
}

/// The signed facts of a package, read without decrypting (spec §5 up to the comment).
public struct PackageHeader: Sendable {
    public let container: PackageContainer
    public let signature: MinisignSignature
    public let comment: TrustedComment
    /// The age header's stanzas (types and counts), without decrypting.
    public let stanzaTypes: [String]

    /// Steps 1–2 and 3 (signature syntax), then the comment syntax. `keys` are the signer keys
    /// the caller trusts; when non-empty the signature's key id must be one of them
    /// (`key_unknown`), checked before the comment as the spec orders.
    public init(path: String, source: FileSource, maxBytes: UInt64 = defaultMaxPackageBytes, keys: [MinisignPublicKey]? = nil) throws {
        container = try PackageContainer(path: path, source: source, maxBytes: maxBytes)
        signature = try MinisignSignature(fileContents: container.signatureBytes)
        guard signature.algorithm == .prehashed else {
            throw SealError(
                .signatureMalformed, "package.minisig is a legacy (non-prehashed) signature",
                remedy: "packages are signed in minisign's prehashed form (ED); seal again with `sealgate seal` or `minisign -S`")
        }
        let keyId = signature.keyId
        if let keys, !keys.contains(where: { $0.keyId == keyId }) {
            throw SealError(
                .keyUnknown, "package is signed by key \(Minisign.keyIdHex(keyId)), which is not a known signer",
                remedy: "register the unit's public key, or check that the unit signed with its registered key")
        }
        let sig = signature
        comment = try TrustedComment(parsing: sig.trustedComment)
        // Peek at the age header for inspection (no key needed).
        let c = container
        let reader = BufferedReader(BoundedSource(source.positional, offset: c.payloadOffset, length: c.payloadLength), capacity: 4096)
        stanzaTypes = (try? AgeHeader.parse(reader).stanzas.map(\.type)) ?? []
    }
}

/// A byte range of a file (or of bytes in memory), read at its offsets.
final class BoundedSource: ByteSource {
    let reader: PositionalReader
    private var offset: UInt64
    private let end: UInt64
    init(_ reader: PositionalReader, offset: UInt64, length: UInt64) {
        self.reader = reader
        self.offset = offset
        self.end = offset + length
    }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = Int(min(UInt64(buffer.count), end - offset))
        guard n > 0 else { return 0 }
        let got = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]), at: offset)
        offset += UInt64(got)
        return got
    }
}
