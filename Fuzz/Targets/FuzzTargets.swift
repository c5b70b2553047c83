import Foundation
import GatewayCore
import GatewayHTTP
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SealCrypto
import SealPackage
import TransparencyLog

/// The fuzz targets, one for each parser of untrusted bytes a stranger reaches (docs/testing.md,
/// Fuzzing). Each takes any bytes and must never crash, hang or leak; errors are expected.
/// `make fuzz` runs them under libFuzzer + AddressSanitizer; the tests replay their corpora.
public enum FuzzTargets {
    public static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        // The request line's path and query, and the routes' parameter parsers.
        "http-params": { ParameterFuzzing.exercise($0) },
        // JSON bodies: the canonical JSON parser, a unit key rotation statement, a trust document.
        "json": { data in
            _ = try? Manifest(json: Array(data))
            guard let text = String(validating: data, as: UTF8.self), let json = try? JSON(parsing: text) else { return }
            _ = json.canonical
            _ = try? UnitKeyRotation(json: json)
            _ = try? TrustDocument(json: json).publicKey("root")
        },
        // The first member of a body, as the intake reads it while the body streams in.
        "package-head": { _ = try? PackagePeek.parse(prefix: $0) },
        // A tar header block.
        "tar": { data in
            guard data.count >= Tar.blockSize else { return }
            _ = try? Tar.parseHeader(
                UnsafeRawBufferPointer(rebasing: data[0..<Tar.blockSize]), error: { SealError(.containerMalformed, $0, remedy: "") })
        },
        // minisign signature files and their trusted comments, public key files.
        "minisign": { data in
            let bytes = Array(data)
            if let sig = try? MinisignSignature(fileContents: bytes) { _ = try? TrustedComment(parsing: sig.trustedComment) }
            if let text = String(validating: bytes, as: UTF8.self) {
                _ = try? TrustedComment(parsing: text)
                _ = try? MinisignPublicKey(fileContents: text)
                _ = try? Checkpoint.verify(note: text, name: "HCM-DTCD/log", publicKey: [UInt8](repeating: 7, count: 32))
            }
        },
        // The age header with the package's stanza limit, unwrapped with a fixed identity.
        "age-header": { data in
            guard let h = try? AgeHeader.parse(BufferedReader(MemorySource(Array(data)), capacity: 4096), maxStanzas: OpenRequest.defaultMaxStanzas)
            else { return }
            if let key = try? h.unwrapFileKey(identities: [ParserFuzzing.identity]) { _ = try? h.verifyMAC(fileKey: key) }
        },
        // The HTTP client's answer parser (NIO's decoder, as AsyncHTTPClient uses it), the body
        // collected with the client's bound.
        "http-response": { data in
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
            defer { _ = try? channel.finish() }
            var buffer = channel.allocator.buffer(capacity: data.count)
            buffer.writeBytes(data)
            // The decoder expects to have seen a request first.
            _ = try? channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")))
            _ = try? channel.readOutbound(as: HTTPClientRequestPart.self)
            _ = try? channel.writeInbound(buffer)
            var body = 0
            while let part = try? channel.readInbound(as: HTTPClientResponsePart.self) {
                if case .body(let b) = part {
                    body += b.readableBytes
                    if body > 1 << 20 { return }
                }
            }
        },
        // A whole package through the opener (slower: a file a run).
        "package": { ParserFuzzing.exerciseContainer(Array($0)) },
    ]
}
