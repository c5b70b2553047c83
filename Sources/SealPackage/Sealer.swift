import Foundation
public import SealCrypto
import SystemIO

#if canImport(Glibc)
    import Glibc
#endif

/// What to seal.
public struct SealRequest: Sendable {
    public struct Input: Sendable {
        /// Name inside the package.
        public var name: String
        /// Path on disk.
        public var path: String
        public init(name: String, path: String) {
            self.name = name
            self.path = path
        }
    }

    public var unit: String
    public var seq: UInt64
    public var kind: PackageKind
    public var inputs: [Input]
    public var recipients: [any AgeKeyRecipient]
    public var signer: any MinisignSigner
    public var output: String
    /// Defaults to a new UUIDv7.
    public var packageID: String
    /// Defaults to now.
    public var created: String
    /// The largest package sealed; a larger one is `package_too_large`, refused before anything is
    /// written. Defaults to what its reader accepts by default (`defaultMaxPackageBytes`(for:)):
    /// `open`, `verify`, `inspect` and the gateway 256 MiB, the handbook receiver a dataset of 4 GiB.
    public var maxBytes: UInt64

    public init(
        unit: String, seq: UInt64, kind: PackageKind, inputs: [Input], recipients: [any AgeKeyRecipient],
        signer: any MinisignSigner, output: String, packageID: String? = nil, created: String? = nil, maxBytes: UInt64? = nil
    ) {
        self.unit = unit
        self.seq = seq
        self.kind = kind
        self.inputs = inputs
        self.recipients = recipients
        self.signer = signer
        self.output = output
        self.packageID = packageID ?? PackageIdentifiers.newUUIDv7()
        self.created = created ?? Timestamp.now.text
        self.maxBytes = maxBytes ?? defaultMaxPackageBytes(for: kind)
    }
}

/// What was sealed.
public struct SealResult: Sendable {
    public let comment: TrustedComment
    public let manifest: Manifest
    public let packageBytes: UInt64
    public let output: String
}

/// Progress callback: (stage, bytes done, bytes total).
public typealias ProgressHandler = @Sendable (String, UInt64, UInt64) -> Void

/// Seals data files into a package (spec §2–4), streaming end to end in constant memory:
/// pass 1 hashes the inputs for the manifest; pass 2 builds the payload archive on the fly,
/// encrypts its STREAM chunks on one thread and BLAKE2b-hashes the ciphertext on the other,
/// then signs and patches the signature into the space reserved for it at the archive's head.
public enum Sealer {
    static let batchChunks = 8

    public static func seal(_ req: SealRequest, progress: ProgressHandler? = nil) throws -> SealResult {
        guard PackageIdentifiers.isValidUnit(req.unit) else {
            throw SealError(.usage, "unit id '\(req.unit)' is not [A-Z0-9][A-Z0-9-]{1,31}", remedy: "give the unit id as registered, e.g. HCM-U001")
        }
        guard !req.recipients.isEmpty else {
            throw SealError(.usage, "no recipient", remedy: "give the department's age1… recipient or recipient file")
        }
        // age's rule: a post-quantum recipient is not mixed with a classical one.
        try AgeRecipients.checkMixing(req.recipients)
        guard !req.inputs.isEmpty else { throw SealError(.usage, "no input file", remedy: "name the data files to seal") }
        var names = Set<String>()
        for i in req.inputs {
            guard PackageIdentifiers.isValidDataFileName(i.name) else {
                throw SealError(
                    .usage, "file name '\(i.name)' cannot go in a package",
                    remedy: "use names of letters, digits, '.', '_' and '-' (at most 100), not manifest.json")
            }
            guard names.insert(i.name).inserted else {
                throw SealError(.usage, "two inputs are named \(i.name)", remedy: "give each file a distinct name")
            }
        }
        if let required = req.kind.requiredFiles, Set(required) != names {
            throw SealError(
                .usage, "a \(req.kind.rawValue) package must carry exactly \(required.joined(separator: ", "))",
                remedy: "name the files accordingly, or seal them as a package of kind files")
        }

        let trace = StageTrace()
        // Pass 1: hash and count each input.
        let sources = try req.inputs.map { try FileSource(path: $0.path) }
        let stamps = try zip(sources, req.inputs).map { try FileStamp(fd: $0.0.fd, path: $0.1.path) }
        let totalInput = stamps.reduce(UInt64(0)) { $0 + $1.size }
        // A package is larger than its inputs: refused before hashing them (the exact size is checked below).
        if totalInput > req.maxBytes { throw tooLarge(atLeast: totalInput, req.maxBytes) }
        var entries = [Manifest.Entry]()
        var hashedSoFar: UInt64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 64)
        defer { buffer.deallocate() }
        for (idx, input) in req.inputs.enumerated() {
            let hasher = SHA256Hasher()
            var counter = CSVRecordCounter()
            let countRecords = req.kind != .files && input.name.hasSuffix(".csv")
            var size: UInt64 = 0
            while true {
                let n = try preadFull(sources[idx].fd, buffer, offset: size, path: input.path)
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                hasher.update(chunk)
                if countRecords { counter.update(chunk) }
                size += UInt64(n)
                hashedSoFar += UInt64(n)
                progress?("hash", hashedSoFar, totalInput)
            }
            guard size == stamps[idx].size else { throw changed(input.path) }
            entries.append(Manifest.Entry(name: input.name, sha256: hexString(hasher.finalize()), records: countRecords ? counter.records : 0))
        }
        trace.mark("hash inputs")
        let manifest = Manifest(
            unit: req.unit, package: req.packageID, seq: req.seq, kind: req.kind, created: req.created,
            schema: req.kind.schema, files: entries)
        let mtime = UInt64(PackageIdentifiers.unixSeconds(of: req.created) ?? 0)

        // The payload archive's segments and length.
        let manifestJSON = manifest.json
        var segments: [PayloadSegment] = [
            .bytes(Tar.header(name: "manifest.json", size: UInt64(manifestJSON.count), mtime: mtime)),
            .bytes(manifestJSON), .zeros(Tar.padding(UInt64(manifestJSON.count))),
        ]
        for (idx, input) in req.inputs.enumerated() {
            segments.append(.bytes(Tar.header(name: input.name, size: stamps[idx].size, mtime: mtime)))
            segments.append(.file(sources[idx].fd, input.path, stamps[idx].size))
            segments.append(.zeros(Tar.padding(stamps[idx].size)))
        }
        segments.append(.zeros(2 * Tar.blockSize))
        let payloadLength = segments.reduce(UInt64(0)) { $0 + $1.length }

        // age header, nonce, cipher.
        let fileKey = SecureBytes(random: 16)
        let (_, ageHeader) = try AgeHeader.build(stanzas: try req.recipients.map { try $0.wrap(fileKey: fileKey) }, fileKey: fileKey)
        let nonce = SecureRandom.bytes(AgeStreamCipher.nonceSize)
        let cipher = try AgeStreamCipher(fileKey: fileKey, nonce: nonce)
        let cipherLength = AgeStreamCipher.sealedLength(plaintextLength: payloadLength)
        let ageLength = UInt64(ageHeader.count + nonce.count) + cipherLength
        let chunkCount = (payloadLength + UInt64(AgeStreamCipher.chunkSize) - 1) / UInt64(AgeStreamCipher.chunkSize)

        // Trusted comment and the reserved signature space.
        let comment = TrustedComment(
            unit: req.unit, package: req.packageID, seq: req.seq, kind: req.kind, created: req.created,
            to: req.recipients.map(\.fingerprint))
        let untrusted = "sealgate package signature from key \(req.signer.publicKey.keyIdHex)"
        let sigLength = MinisignSignature.fileLength(untrustedComment: untrusted, trustedComment: comment.text)
        guard comment.text.utf8.count <= TrustedComment.maxBytes else {
            throw SealError(.usage, "trusted comment too long (too many recipients?)", remedy: "seal to fewer recipients")
        }

        let ageOffset = UInt64(Tar.memberLength(UInt64(sigLength))) + UInt64(Tar.blockSize)
        let endOffset = ageOffset + ageLength
        let packageBytes = endOffset + UInt64(Tar.padding(ageLength) + 2 * Tar.blockSize)
        guard packageBytes <= req.maxBytes else { throw tooLarge(atLeast: packageBytes, req.maxBytes) }

        let out = try AsideFile(finalPath: req.output)
        try out.write(Tar.header(name: "package.minisig", size: UInt64(sigLength), mtime: mtime))
        try out.write([UInt8](repeating: 0, count: sigLength + Tar.padding(UInt64(sigLength))))
        try out.write(Tar.header(name: "payload.age", size: ageLength, mtime: mtime))
        let blake = BLAKE2bHasher(outputLength: 64)
        let prefix = ageHeader + nonce
        try out.write(prefix)
        blake.update(prefix)

        // Pass 2: payload archive → STREAM → file, hashed on the way.
        let stream = PayloadStream(segments: segments)
        let batchChunks = Int(min(UInt64(Self.batchChunks), max(1, chunkCount)))
        let batchPlain = batchChunks * AgeStreamCipher.chunkSize
        let batchSealed = batchChunks * AgeStreamCipher.sealedChunkSize
        let slots = Int(min(2, max(1, (chunkCount + UInt64(batchChunks) - 1) / UInt64(batchChunks))))
        let pipeline = SlotPipeline(count: slots, aSize: batchPlain, bSize: batchSealed)
        let fd = out.fd
        let path = req.output
        let cipherStart = ageOffset + UInt64(prefix.count)
        try pipeline.run(
            produce: { slot in
                let firstChunk = UInt64(slot.index) * UInt64(batchChunks)
                let n = try stream.fill(slot.a)
                slot.aCount = n
                var sealedCount = 0
                var chunk = 0
                while chunk * AgeStreamCipher.chunkSize < n || (n == 0 && chunk == 0) {
                    let start = chunk * AgeStreamCipher.chunkSize
                    let end = min(start + AgeStreamCipher.chunkSize, n)
                    let index = firstChunk + UInt64(chunk)
                    try cipher.seal(
                        index: index, last: index == chunkCount - 1,
                        plaintext: UnsafeRawBufferPointer(rebasing: slot.a[start..<end]),
                        into: UnsafeMutableRawBufferPointer(rebasing: slot.b[sealedCount...]))
                    sealedCount += end - start + AgeStreamCipher.tagSize
                    chunk += 1
                    if n == 0 { break }
                }
                slot.bCount = sealedCount
                let offset = cipherStart + firstChunk * UInt64(AgeStreamCipher.sealedChunkSize)
                do throws(SystemCallError) {
                    try SystemIO.pwriteAll(fd, UnsafeRawBufferPointer(rebasing: slot.b[0..<sealedCount]), at: offset)
                } catch { throw SealError.io("cannot write \(path)", errno: error.errno) }
                startWriteback(fd, offset: offset, length: sealedCount)
                slot.last = firstChunk + UInt64(chunk) >= chunkCount
            },
            consume: { slot in
                blake.update(UnsafeRawBufferPointer(rebasing: slot.b[0..<slot.bCount]))
                progress?("seal", min(UInt64(slot.index + 1) * UInt64(batchPlain), payloadLength), payloadLength)
            }, singleBatch: slots == 1 && chunkCount <= UInt64(batchChunks))
        trace.mark("encrypt + BLAKE2b")
        guard stream.finished else { throw changed(req.inputs.map(\.path).joined(separator: ", ")) }
        for (idx, src) in sources.enumerated() {
            guard try FileStamp(fd: src.fd, path: req.inputs[idx].path) == stamps[idx] else { throw changed(req.inputs[idx].path) }
        }

        // Sign, patch the signature in, close the archive.
        let signature = try req.signer.sign(prehash: blake.finalize(), trustedComment: comment.text, untrustedComment: untrusted)
        let sigBytes = Array(signature.fileContents.utf8)
        precondition(sigBytes.count == sigLength)
        try out.pwrite(sigBytes, at: UInt64(Tar.blockSize))
        try out.pwrite([UInt8](repeating: 0, count: Tar.padding(ageLength) + 2 * Tar.blockSize), at: endOffset)
        trace.mark("sign")
        try out.commit(replace: false)
        trace.mark("fsync + rename")
        return SealResult(comment: comment, manifest: manifest, packageBytes: packageBytes, output: req.output)
    }

    static func tooLarge(atLeast bytes: UInt64, _ limit: UInt64) -> SealError {
        SealError(
            .packageTooLarge, "the package would be \(bytes) bytes or more, over the limit of \(limit); nothing was written",
            remedy: "split the data into several packages (or raise the limit for the sealing and for every reader alike)")
    }

    static func changed(_ path: String) -> SealError {
        SealError(.inputChanged, "\(path) changed while it was being sealed", remedy: "seal again once nothing is writing to the file")
    }
}

enum PayloadSegment {
    case bytes([UInt8])
    case file(Int32, String, UInt64)
    case zeros(Int)

    var length: UInt64 {
        switch self {
        case .bytes(let b): return UInt64(b.count)
        case .file(_, _, let n): return n
        case .zeros(let n): return UInt64(n)
        }
    }
}

/// Produces the payload archive's bytes in order from its segments.
/// `@unchecked Sendable`: handed to the pipeline's producer, the one thread that reads from it.
final class PayloadStream: @unchecked Sendable {
    private let segments: [PayloadSegment]
    private var segment = 0
    private var offset: UInt64 = 0

    init(segments: [PayloadSegment]) { self.segments = segments }

    var finished: Bool { segment >= segments.count }

    /// Fills `buffer` as far as the archive goes; returns the count.
    func fill(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var done = 0
        while done < buffer.count && segment < segments.count {
            let seg = segments[segment]
            let remaining = seg.length - offset
            if remaining == 0 {
                segment += 1
                offset = 0
                continue
            }
            let n = Int(min(UInt64(buffer.count - done), remaining))
            let dest = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + n)])
            switch seg {
            case .bytes(let b):
                b.withUnsafeBytes { dest.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[Int(offset)..<(Int(offset) + n)])) }
            case .zeros:
                dest.initializeMemory(as: UInt8.self, repeating: 0)
            case .file(let fd, let path, _):
                let got = try preadFull(fd, dest, offset: offset, path: path)
                guard got == n else { throw Sealer.changed(path) }
            }
            offset += UInt64(n)
            done += n
        }
        // Step past segments just used up, so `finished` holds even when the archive ended
        // exactly at the end of the buffer.
        while segment < segments.count && offset == segments[segment].length {
            segment += 1
            offset = 0
        }
        return done
    }
}
