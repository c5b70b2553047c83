import SealBase

/// age v1 encryption and decryption (X25519 and post-quantum hybrid recipients), streaming in
/// constant memory.
public enum Age {
    /// Encrypts everything `source` yields to `recipients`, writing the age file to `sink`.
    public static func encrypt(
        to recipients: [any AgeRecipient], from source: any ByteSource,
        to sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        guard !recipients.isEmpty else { throw SealError(.usage, "no recipient given", remedy: "give at least one recipient") }
        try AgeRecipients.checkMixing(recipients)
        let fileKey = SecureBytes(random: 16)
        let (_, headerBytes) = try AgeHeader.build(stanzas: try recipients.map { try $0.wrap(fileKey: fileKey) }, fileKey: fileKey)
        try headerBytes.withUnsafeBytes { try sink($0) }
        let nonce = SecureRandom.bytes(AgeStreamCipher.nonceSize)
        try nonce.withUnsafeBytes { try sink($0) }
        let cipher = try AgeStreamCipher(fileKey: fileKey, nonce: nonce)
        let reader = BufferedReader(source, capacity: 4096)
        var plain = [UInt8](repeating: 0, count: AgeStreamCipher.chunkSize)
        defer { plain.withUnsafeMutableBytes { secureZero($0) } }
        var sealed = [UInt8](repeating: 0, count: AgeStreamCipher.sealedChunkSize)
        var index: UInt64 = 0
        while true {
            let n = try plain.withUnsafeMutableBytes { try reader.readFull(into: $0) }
            let last = try n < AgeStreamCipher.chunkSize || !reader.hasMore()
            try plain.withUnsafeBytes { p in
                try sealed.withUnsafeMutableBytes { s in
                    try cipher.seal(index: index, last: last, plaintext: UnsafeRawBufferPointer(rebasing: p[0..<n]), into: s)
                }
            }
            try sealed.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<(n + 16)])) }
            if last { break }
            index += 1
        }
    }

    /// Decrypts an age file (binary or armored) from `source` with the first matching identity,
    /// writing plaintext to `sink` chunk by chunk. A chunk reaches `sink` only once its tag has
    /// verified, but a later chunk may still fail: callers that must release nothing on failure
    /// write aside and commit at the end.
    public static func decrypt(
        with identities: [any AgeIdentity], from source: any ByteSource,
        to sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let outer = BufferedReader(source)
        let reader: BufferedReader
        if try AgeArmorSource.looksArmored(outer) {
            reader = BufferedReader(AgeArmorSource(outer))
        } else {
            reader = outer
        }
        let header = try AgeHeader.parse(reader)
        let fileKey = try header.unwrapFileKey(identities: identities)
        try header.verifyMAC(fileKey: fileKey)
        var nonce = [UInt8](repeating: 0, count: AgeStreamCipher.nonceSize)
        let got = try nonce.withUnsafeMutableBytes { try reader.readFull(into: $0) }
        guard got == AgeStreamCipher.nonceSize else { throw AgeHeader.malformed("payload nonce is missing or short") }
        let cipher = try AgeStreamCipher(fileKey: fileKey, nonce: nonce)
        try decryptPayload(cipher: cipher, reader: reader, sink: sink)
    }

    /// The STREAM loop shared by every decrypting path.
    static func decryptPayload(cipher: AgeStreamCipher, reader: BufferedReader, sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var sealed = [UInt8](repeating: 0, count: AgeStreamCipher.sealedChunkSize)
        var plain = [UInt8](repeating: 0, count: AgeStreamCipher.chunkSize)
        defer { plain.withUnsafeMutableBytes { secureZero($0) } }
        var index: UInt64 = 0
        while true {
            let n = try sealed.withUnsafeMutableBytes { try reader.readFull(into: $0) }
            let last: Bool
            if n == AgeStreamCipher.sealedChunkSize {
                last = !(try reader.hasMore())
            } else {
                last = true
                if n == 0 && index == 0 { throw AgeStreamCipher.payloadError("no chunks") }
                guard n >= AgeStreamCipher.tagSize else { throw AgeStreamCipher.payloadError("chunk shorter than its tag") }
            }
            if last && n == AgeStreamCipher.tagSize && index > 0 {
                throw AgeStreamCipher.payloadError("final chunk is empty")
            }
            let ok = try sealed.withUnsafeBytes { s in
                try plain.withUnsafeMutableBytes { p in
                    try cipher.open(index: index, last: last, ciphertext: UnsafeRawBufferPointer(rebasing: s[0..<n]), into: p)
                }
            }
            guard ok else {
                throw AgeStreamCipher.payloadError(
                    last
                        ? "final chunk \(index) does not authenticate (altered, truncated or missing its end)"
                        : "chunk \(index) does not authenticate")
            }
            try plain.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<(n - 16)])) }
            if last { return }
            index += 1
        }
    }

    /// Decrypts a small secret (an encrypted identity file) into secure memory.
    static func decryptSmallSecret(ciphertext: UnsafeRawBufferPointer, identities: [any AgeIdentity]) throws -> SecureBytes {
        let out = SecureBytes(count: 64 * 1024)
        var n = 0
        try decrypt(
            with: identities, from: MemorySource(Array(ciphertext)),
            to: { chunk in
                // (the ciphertext copy above is not secret)
                guard n + chunk.count <= out.count else { throw SealError(.keyMalformed, "identity file too large", remedy: "check the path") }
                out.withUnsafeMutableBytes { o in (o.baseAddress! + n).copyMemory(from: chunk.baseAddress!, byteCount: chunk.count) }
                n += chunk.count
            })
        return out.slice(0..<n)
    }

    /// Encrypts a small secret (an identity file) to `recipients`, armored, into secure memory.
    public static func encryptSmallSecret(_ secret: SecureBytes, to recipients: [any AgeRecipient]) throws -> [UInt8] {
        var out = [UInt8]()
        try encrypt(to: recipients, from: SecureBytesSource(secret), to: { out += $0 })
        return Array(armor(out).utf8)
    }

    /// ASCII armor for a (small) age file.
    public static func armor(_ bytes: [UInt8]) -> String {
        let b64 = Array(Base64.encode(bytes, padded: true).utf8)
        var text = "-----BEGIN AGE ENCRYPTED FILE-----\n"
        var i = 0
        while i < b64.count {
            let e = min(i + 64, b64.count)
            text += String(decoding: b64[i..<e], as: UTF8.self) + "\n"
            i = e
        }
        return text + "-----END AGE ENCRYPTED FILE-----\n"
    }
}

/// Reads from secure memory without copying the secret into an array.
final class SecureBytesSource: ByteSource {
    private let bytes: SecureBytes
    private var offset = 0
    init(_ bytes: SecureBytes) { self.bytes = bytes }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { b in buffer.baseAddress!.copyMemory(from: b.baseAddress! + offset, byteCount: n) }
        offset += n
        return n
    }
}
