public import SealCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// What to open.
public struct OpenRequest: Sendable {
    public var path: String
    /// The package's bytes when they are held in memory (a small body at the gateway): read from
    /// them, with no file and no system call; `path` then only names them in errors.
    public var body: [UInt8]?
    /// The head of `body` as parsed before (the gateway's admission): its signature and comment
    /// are not parsed again. Used only with `body`, and only when the body's container, read
    /// again (its blocks, the signature's bytes, where the payload lies), is the one it was
    /// parsed from; otherwise the body's own head is parsed.
    public var header: PackageHeader?
    /// Output folder (must not exist); nil checks everything and writes nothing.
    public var output: String?
    public var identities: [any AgeKeyIdentity]
    public var signers: [MinisignPublicKey]
    public var expectedUnit: String?
    public var maxBytes: UInt64
    /// Recipient fingerprints the reader accepts; defaults to the identities' own.
    public var acceptedFingerprints: Set<String>?
    /// Most recipient stanzas accepted in the age header (each may cost an X25519 per identity);
    /// a package is sealed to a few department recipients, so 16 is plenty.
    public var maxStanzas = OpenRequest.defaultMaxStanzas
    public static let defaultMaxStanzas = 16
    /// fsync the output files and folder before renaming (the default). A gateway that keeps
    /// the fsynced package itself may skip it: the output can be re-created from the package.
    public var durable = true
    /// The comment's signature verified just before (the gateway's decision checks it first):
    /// not verified again if it is this package's signature with its signer.
    public var verifiedComment: VerifiedComment?
    /// Both signatures verified over this payload's prehash just before (the gateway's admission
    /// read the same bytes): not verified again if the payload read now has that prehash.
    public var verifiedSignature: VerifiedSignature?
    /// With no `output`: the files' bytes are kept in memory (`OpenedPackage.files`) and no file
    /// is made — for a small package read at once (the caller bounds its size).
    public var captureFiles = false

    public init(
        path: String, output: String?, identities: [any AgeKeyIdentity], signers: [MinisignPublicKey],
        expectedUnit: String? = nil, maxBytes: UInt64 = defaultMaxPackageBytes, acceptedFingerprints: Set<String>? = nil
    ) {
        self.path = path
        self.output = output
        self.identities = identities
        self.signers = signers
        self.expectedUnit = expectedUnit
        self.maxBytes = maxBytes
        self.acceptedFingerprints = acceptedFingerprints
    }
}

/// What an opened package held.
public struct OpenedPackage: Sendable {
    public let comment: TrustedComment
    public let manifest: Manifest
    public let signer: MinisignPublicKey
    public let output: String?
    /// Each file's bytes by its manifest name, when the request asked for `captureFiles`.
    public var files: [String: [UInt8]] = [:]
}

/// Opens a package: every check of spec §5 up to "file hashes and counts", in that order, each
/// failure with its own code. The signature's BLAKE2b runs on one thread while the other
/// decrypts and unpacks into a hidden folder beside the output; the folder is renamed into place
/// only when everything checked out, and removed otherwise.
public enum Opener {
    static let batchChunks = 8

    public static func open(_ req: OpenRequest, progress: ProgressHandler? = nil) throws -> OpenedPackage {
        let trace = StageTrace()
        let source = try req.body.map { FileSource(bytes: $0, path: req.path) } ?? FileSource(path: req.path)
        let packageReader = source.positional
        // The descriptor is read through `positional` (a copy of it): the source keeps it open.
        defer { withExtendedLifetime(source) {} }
        let header: PackageHeader
        if let parsed = req.header, req.body != nil,
            try PackageContainer(path: req.path, source: source, maxBytes: req.maxBytes).holds(the: parsed.container)
        {
            header = parsed
        } else {
            header = try PackageHeader(path: req.path, source: source, maxBytes: req.maxBytes, keys: req.signers)
        }
        let signerKeyId = header.signature.keyId
        guard let signer = req.signers.first(where: { $0.keyId == signerKeyId }) else {
            throw SealError(
                .keyUnknown, "package is signed by key \(Minisign.keyIdHex(signerKeyId)), which is not a known signer",
                remedy: "register the unit's public key, or check that the unit signed with its registered key")
        }
        try Verifier.checkUnit(header.comment, req.expectedUnit)
        let comment = header.comment
        let container = header.container
        let aside = try req.output.map { try AsideDirectory(finalPath: $0) }

        // Errors found before the signature is known good wait until it is (spec order).
        var pending: SealError?
        let accepted = req.acceptedFingerprints ?? Set(req.identities.map(\.keyRecipient.fingerprint))
        if !comment.to.contains(where: accepted.contains) {
            pending = SealError(
                .recipientNotAccepted, "package is sealed to \(comment.to.joined(separator: ",")), none of which this reader accepts",
                remedy: "the unit sealed to an old or wrong recipient; it should fetch the current trust document and seal again")
        }

        // age header, file key, MAC, nonce.
        let reader = BufferedReader(
            BoundedSource(packageReader, offset: container.payloadOffset, length: container.payloadLength), capacity: 4096)
        var cipher: AgeStreamCipher?
        var headerLength: UInt64 = 0
        do {
            let ageHeader = try AgeHeader.parse(reader, maxStanzas: req.maxStanzas)
            headerLength = UInt64(ageHeader.encodedLength)
            if pending == nil {
                let fileKey = try ageHeader.unwrapFileKey(identities: req.identities)
                try ageHeader.verifyMAC(fileKey: fileKey)
                var nonce = [UInt8](repeating: 0, count: AgeStreamCipher.nonceSize)
                let got = try nonce.withUnsafeMutableBytes { try reader.readFull(into: $0) }
                guard got == nonce.count else { throw AgeHeader.malformedNonce() }
                cipher = try AgeStreamCipher(fileKey: fileKey, nonce: nonce)
            }
        } catch let e as SealError {
            if pending == nil { pending = e }
        }
        let prefixLength = headerLength == 0 ? 0 : min(headerLength + UInt64(AgeStreamCipher.nonceSize), container.payloadLength)
        let cipherLength = container.payloadLength - prefixLength
        let S = UInt64(AgeStreamCipher.sealedChunkSize)
        let rem = cipherLength % S
        let chunkCount = cipherLength / S + (rem > 0 ? 1 : 0)
        if pending == nil {
            if cipherLength == 0 {
                pending = AgeStreamCipher.payloadError("no chunks")
            } else if rem > 0 && rem < UInt64(AgeStreamCipher.tagSize) {
                pending = AgeStreamCipher.payloadError("final chunk shorter than its tag")
            } else if rem == UInt64(AgeStreamCipher.tagSize) && chunkCount > 1 {
                pending = AgeStreamCipher.payloadError("final chunk is empty")
            }
        }

        // Hash the age header (and nonce) on this thread, then run the pipeline.
        let blake = BLAKE2bHasher(outputLength: 64)
        var prefix = [UInt8](repeating: 0, count: Int(prefixLength))
        _ = try prefix.withUnsafeMutableBytes { try packageReader.read(into: $0, at: container.payloadOffset) }
        blake.update(prefix)

        let extractor = PayloadExtractor(directory: aside?.tempPath, comment: comment, durable: req.durable, capture: req.captureFiles)
        var failure: SealError? = pending
        // Buffers sized to the payload: a small package gets at most one chunk's worth, not 4 MiB.
        let batchChunks = Int(min(UInt64(Self.batchChunks), max(1, chunkCount)))
        let batchSealed = batchChunks * AgeStreamCipher.sealedChunkSize
        let slots = Int(min(2, max(1, (chunkCount + UInt64(batchChunks) - 1) / UInt64(batchChunks))))
        // No larger than the ciphertext either (a package of one short chunk: a few KiB, not two
        // chunks' worth allocated and wiped). Chunk k's plaintext lands at k × chunkSize, below
        // k × sealedChunkSize: every chunk read fits, and its slice of `a` holds its plaintext.
        let pipeline = SlotPipeline(
            count: slots, aSize: Int(max(1, min(UInt64(batchChunks * AgeStreamCipher.chunkSize), cipherLength))),
            bSize: Int(max(1, min(UInt64(batchSealed), cipherLength))))
        let cipherStart = container.payloadOffset + prefixLength
        let batches = max(1, (cipherLength + UInt64(batchSealed) - 1) / UInt64(batchSealed))
        // Decryption is split: the reading thread (which also runs BLAKE2b) opens the first
        // `producerShare` chunks of each batch with its own cipher; this thread opens the rest,
        // then unpacks the whole batch in order.
        let producerCipher = try cipher?.copy()
        let producerShare = batchChunks / 2
        @Sendable func openChunks(_ slot: SlotPipeline.Slot, _ c: AgeStreamCipher, from: Int, to: Int) throws {
            var k = from
            while k < to {
                let start = k * AgeStreamCipher.sealedChunkSize
                guard start < slot.bCount else { break }
                let end = min(start + AgeStreamCipher.sealedChunkSize, slot.bCount)
                let index = UInt64(slot.index) * UInt64(batchChunks) + UInt64(k)
                let last = index == chunkCount - 1
                let out = UnsafeMutableRawBufferPointer(rebasing: slot.a[(k * AgeStreamCipher.chunkSize)...].prefix(AgeStreamCipher.chunkSize))
                guard try c.open(index: index, last: last, ciphertext: UnsafeRawBufferPointer(rebasing: slot.b[start..<end]), into: out) else {
                    throw AgeStreamCipher.payloadError(
                        last
                            ? "final chunk \(index) does not authenticate (altered, truncated or missing its end)"
                            : "chunk \(index) does not authenticate")
                }
                k += 1
            }
        }
        let decrypting = pending == nil
        try pipeline.run(
            produce: { slot in
                let offset = UInt64(slot.index) * UInt64(batchSealed)
                let n = Int(min(UInt64(batchSealed), cipherLength - min(offset, cipherLength)))
                let got = try packageReader.read(into: UnsafeMutableRawBufferPointer(rebasing: slot.b[0..<n]), at: cipherStart + offset)
                guard got == n else { throw SealError.container("package changed while it was being read") }
                slot.bCount = n
                blake.update(UnsafeRawBufferPointer(rebasing: slot.b[0..<n]))
                slot.last = UInt64(slot.index) + 1 >= batches
                if decrypting, let producerCipher {
                    do { try openChunks(slot, producerCipher, from: 0, to: producerShare) } catch let e as SealError { slot.preprocessError = e }
                    slot.preprocessed = producerShare
                }
            },
            consume: { slot in
                defer { progress?("open", min(UInt64(slot.index + 1) * UInt64(batchSealed), cipherLength), cipherLength) }
                guard failure == nil, let cipher else { return }
                do {
                    if let e = slot.preprocessError { throw e }
                    try openChunks(slot, cipher, from: slot.preprocessed, to: batchChunks)
                    let plainCount =
                        slot.bCount - ((slot.bCount + AgeStreamCipher.sealedChunkSize - 1) / AgeStreamCipher.sealedChunkSize)
                        * AgeStreamCipher.tagSize
                    try extractor.feed(UnsafeRawBufferPointer(rebasing: slot.a[0..<plainCount]))
                } catch let e as SealError {
                    failure = e
                }
            }, singleBatch: batches == 1)

        trace.mark("read + BLAKE2b ‖ decrypt + unpack")
        // The signature decides first; then what was found while decrypting.
        try header.signature.verify(
            publicKey: signer, prehash: blake.finalize(), verifiedComment: req.verifiedComment, verified: req.verifiedSignature)
        if let failure { throw failure }
        let manifest = try extractor.finish()
        trace.mark("checks")
        try aside?.commit()
        trace.mark("fsync + rename")
        var opened = OpenedPackage(comment: comment, manifest: manifest, signer: signer, output: req.output)
        opened.files = extractor.captured
        return opened
    }
}

extension AgeHeader {
    static func malformedNonce() -> SealError {
        SealError(
            .ageHeaderMalformed, "age payload nonce is missing or short",
            remedy: "the encrypted payload is truncated; ask the sender to seal it again")
    }
}
