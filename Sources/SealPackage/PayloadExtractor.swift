import SealCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the decrypted payload archive as it streams in (spec §4): member 1 `manifest.json`,
/// checked against the signed comment as soon as it is complete; then each listed file once,
/// written into `directory` while its SHA-256 and record count are computed; then the end blocks.
/// Shape errors are thrown at once; hash and count mismatches are kept and reported by
/// `finish()` after the shape is known good, so the reported code follows the spec's order.
final class PayloadExtractor {
    private enum State {
        case header
        case manifest(remaining: UInt64)
        case file(name: String, remaining: UInt64)
        case padding(remaining: Int)
        case end
    }

    private let directory: String?
    private let comment: TrustedComment
    private var state = State.header
    private var headerBuffer = [UInt8]()
    private var manifestBytes = [UInt8]()
    private(set) var manifest: Manifest?
    private var seen = Set<String>()
    private var fd: Int32 = -1
    private var hasher: SHA256Hasher?
    private var counter = CSVRecordCounter()
    private var countRecords = false
    private var zeroBlocks = 0
    private var deferredError: SealError?
    private var writeBuffer = [UInt8]()
    /// Each file's bytes, when kept in memory (`capture`) instead of written to a folder.
    private(set) var captured: [String: [UInt8]] = [:]
    private var capturing: [UInt8]?

    /// `directory`: where files are written (nil: check only, or keep them in memory).
    private let durable: Bool
    private let capture: Bool

    /// `capture` (with no `directory`): each file's bytes are kept in `captured` — for a small
    /// package whose files are read at once (the gateway's decision), no file is made at all.
    init(directory: String?, comment: TrustedComment, durable: Bool = true, capture: Bool = false) {
        self.directory = directory
        self.comment = comment
        self.durable = durable
        self.capture = capture && directory == nil
        if directory != nil { writeBuffer.reserveCapacity(256 << 10) }
    }

    deinit { if fd >= 0 { close(fd) } }

    func feed(_ input: UnsafeRawBufferPointer) throws {
        var i = 0
        while i < input.count {
            switch state {
            case .header:
                let take = min(Tar.blockSize - headerBuffer.count, input.count - i)
                headerBuffer += input[i..<(i + take)]
                i += take
                if headerBuffer.count == Tar.blockSize {
                    let block = headerBuffer
                    headerBuffer.removeAll(keepingCapacity: true)
                    try startMember(block)
                }
            case .manifest(let remaining):
                let take = Int(min(UInt64(input.count - i), remaining))
                manifestBytes += input[i..<(i + take)]
                i += take
                let left = remaining - UInt64(take)
                if left == 0 {
                    let m = try Manifest(json: manifestBytes)
                    try m.check(against: comment)
                    manifest = m
                    try writeManifestCopy()
                    state = padOrHeader(UInt64(manifestBytes.count))
                } else {
                    state = .manifest(remaining: left)
                }
            case .file(let name, let remaining):
                let take = Int(min(UInt64(input.count - i), remaining))
                let chunk = UnsafeRawBufferPointer(rebasing: input[i..<(i + take)])
                hasher!.update(chunk)
                if countRecords { counter.update(chunk) }
                try write(chunk)
                i += take
                let left = remaining - UInt64(take)
                if left == 0 {
                    try endFile(name)
                    state = padOrHeader(UInt64(fileSize))
                } else {
                    state = .file(name: name, remaining: left)
                }
            case .padding(let remaining):
                let take = min(input.count - i, remaining)
                guard input[i..<(i + take)].allSatisfy({ $0 == 0 }) else { throw SealError.payload("non-zero member padding") }
                i += take
                state = remaining - take == 0 ? .header : .padding(remaining: remaining - take)
            case .end:
                guard input[i...].allSatisfy({ $0 == 0 }) else { throw SealError.payload("data after the end of the payload archive") }
                zeroBlocks += input.count - i
                i = input.count
            }
        }
    }

    private var fileSize: UInt64 = 0
    /// Payload members after the manifest, counted (1-based) to name them by position.
    private var memberNumber = 0

    private func padOrHeader(_ size: UInt64) -> State {
        let p = Tar.padding(size)
        return p == 0 ? .header : .padding(remaining: p)
    }

    private func startMember(_ block: [UInt8]) throws {
        let member = try block.withUnsafeBytes { try Tar.parseHeader($0, error: SealError.payload) }
        guard let member else {
            guard manifest != nil else { throw SealError.payload("archive ends before manifest.json") }
            state = .end
            zeroBlocks = Tar.blockSize
            return
        }
        guard let manifest else {
            guard member.name == "manifest.json" else {
                throw SealError.payload("the payload's first member is not manifest.json")
            }
            guard member.size <= UInt64(Manifest.maxBytes) else { throw SealError.payload("manifest.json is larger than \(Manifest.maxBytes) bytes") }
            state = member.size == 0 ? .header : .manifest(remaining: member.size)
            if member.size == 0 { _ = try Manifest(json: []) }
            return
        }
        // Places are named by position, never by the member's name (the unit's text).
        memberNumber += 1
        guard let index = manifest.files.firstIndex(where: { $0.name == member.name }) else {
            throw SealError.payload("payload member \(memberNumber) is not listed in the manifest")
        }
        let entry = manifest.files[index]
        guard seen.insert(entry.name).inserted else {
            throw SealError.payload("payload member \(memberNumber) repeats manifest entry \(index + 1)")
        }
        if let directory {
            fd = open("\(directory)/\(entry.name)", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw SealError.io("cannot create the file of manifest entry \(index + 1) in the output folder", errno: errno) }
            fchmod(fd, 0o600)  // whatever the umask: opened plaintext is the owner's alone
        }
        if capture { capturing = [] }
        hasher = SHA256Hasher()
        counter = CSVRecordCounter()
        countRecords = comment.kind != .files && entry.name.hasSuffix(".csv")
        fileSize = member.size
        if member.size == 0 {
            try endFile(entry.name)
            state = .header
        } else {
            state = .file(name: entry.name, remaining: member.size)
        }
    }

    /// Keeps the (verified-later) manifest beside the files for audit.
    private func writeManifestCopy() throws {
        guard let directory else { return }
        let f = open("\(directory)/manifest.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard f >= 0 else { throw SealError.io("cannot create manifest.json in the output folder", errno: errno) }
        defer { close(f) }
        try manifestBytes.withUnsafeBytes { try writeAll(f, $0, what: "manifest.json") }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        if capturing != nil { capturing! += bytes }
        guard fd >= 0 else { return }
        if writeBuffer.count + bytes.count > (256 << 10) { try flush() }
        writeBuffer += bytes
    }

    private var written: UInt64 = 0

    private func flush() throws {
        guard fd >= 0, !writeBuffer.isEmpty else { return }
        defer {
            if durable { startWriteback(fd, offset: written, length: writeBuffer.count) }
            written += UInt64(writeBuffer.count)
            writeBuffer.removeAll(keepingCapacity: true)
        }
        try writeBuffer.withUnsafeBytes { try writeAll(fd, $0, what: "the output file") }
    }

    private func endFile(_ name: String) throws {
        // Named by the schema's own file name, else by its manifest entry: never the unit's text.
        let known = PackageKind.allCases.contains { $0.requiredFiles?.contains(name) == true }
        let place = known ? name : "the file of manifest entry \((manifest!.files.firstIndex { $0.name == name } ?? -1) + 1)"
        try flush()
        if fd >= 0 {
            if durable { guard fsync(fd) == 0 else { throw SealError.io("cannot sync \(place)", errno: errno) } }
            close(fd)
            fd = -1
            written = 0
        }
        if let bytes = capturing {
            captured[name] = bytes
            capturing = nil
        }
        let entry = manifest!.files.first { $0.name == name }!
        let digest = hexString(hasher!.finalize())
        hasher = nil
        if deferredError == nil && digest != entry.sha256 {
            deferredError = SealError(
                .fileHashMismatch, "\(place) does not match its SHA-256 in the manifest",
                remedy: "the sender's sealer is broken or the payload was forged; ask the sender to seal it again")
        }
        let records = countRecords ? counter.records : 0
        if deferredError == nil && records != entry.records {
            deferredError = SealError(
                .recordCountMismatch, "\(place) holds \(records) records, the manifest says \(entry.records)",
                remedy: "the sender's sealer is broken or the payload was forged; ask the sender to seal it again")
        }
    }

    /// Called after the last byte: the archive must have ended properly with every listed file.
    func finish() throws -> Manifest {
        switch state {
        case .end: guard zeroBlocks >= 2 * Tar.blockSize else { throw SealError.payload("missing end-of-archive blocks") }
        case .header where headerBuffer.isEmpty && manifest != nil: throw SealError.payload("missing end-of-archive blocks")
        default: throw SealError.payload("archive is truncated")
        }
        guard let manifest else { throw SealError.payload("no manifest.json") }
        let missing = manifest.files.indices.filter { !seen.contains(manifest.files[$0].name) }.map { String($0 + 1) }
        guard missing.isEmpty else {
            throw SealError.payload("files listed in the manifest are missing (entries \(missing.joined(separator: ", ")))")
        }
        if let deferredError { throw deferredError }
        return manifest
    }
}
