public import SealCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// One entry point that drives every parser of untrusted bytes with the same input: minisign
/// signature files, trusted comments, manifests, tar headers, age files (binary and armored,
/// with a fixed identity) and whole packages. Used by the libFuzzer target (`Fuzz/`) and by the
/// tests that replay the corpus. It must never crash, hang or leak; errors are expected.
public enum ParserFuzzing {
    /// A fixed identity so that the fuzzer can reach past the age header.
    public static let identity: AgeX25519Identity = {
        let secret = SecureBytes(count: 32)
        secret.withUnsafeMutableBytes { for i in 0..<32 { $0[i] = UInt8(i &* 7 &+ 1) } }
        return try! AgeX25519Identity(secret: secret)
    }()

    /// The identity's recipient, for building seed inputs.
    public static var recipient: AgeX25519Recipient { identity.recipient }

    public static func exercise(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        _ = try? MinisignSignature(fileContents: bytes)
        if let text = String(validating: bytes, as: UTF8.self) {
            _ = try? TrustedComment(parsing: text)
            _ = try? MinisignPublicKey(fileContents: text)
        }
        _ = try? Manifest(json: bytes)
        if bytes.count >= Tar.blockSize {
            _ = try? bytes.withUnsafeBytes { try Tar.parseHeader(UnsafeRawBufferPointer(rebasing: $0[0..<Tar.blockSize]), error: SealError.payload) }
        }
        _ = try? Age.decrypt(with: [identity], from: MemorySource(bytes), to: { _ in })
        exerciseContainer(bytes)
    }

    /// Writes the bytes to a temporary file and runs the whole opener over them, then over the
    /// same bytes in memory.
    public static func exerciseContainer(_ bytes: [UInt8]) {
        var template = Array("/tmp/sealgate-fuzz-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer {
            close(fd)
            unlink(path)
        }
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let signer = MinisignPublicKey(keyId: [UInt8](repeating: 1, count: 8), key: [UInt8](repeating: 2, count: 32))
        var request = OpenRequest(
            path: path, output: nil, identities: [identity], signers: [signer], acceptedFingerprints: [identity.recipient.fingerprint])
        _ = try? Opener.open(request)
        // The same bytes held in memory (the gateway's small bodies), read without a file.
        request.body = bytes
        request.captureFiles = true
        _ = try? Opener.open(request)
        _ = try? Verifier.verify(path: path, body: bytes, signers: [signer])
    }
}
