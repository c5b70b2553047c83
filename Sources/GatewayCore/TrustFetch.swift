public import Foundation
public import GatewayClient
public import SealCrypto
import SealPackage

/// A trust document fetched from the gateway and verified against a pinned root.
public struct FetchedTrust: Sendable {
    public let document: TrustDocument
    /// The document's canonical text and its root signature (minisign), as kept on disk.
    public let body: String
    public let signature: String
    /// The root the document is signed by: the pin given, or the new root when the department
    /// rotated its root since the version held (taken from a version signed by both).
    public let root: MinisignPublicKey
}

extension TrustDocument {
    /// Versions walked at most across root rotations in one fetch (each one request).
    public static let maxVersionsWalked: UInt64 = 10_000

    /// Fetches the latest trust document from `gateway` (`GET /v1/trust`) and verifies it against
    /// the pinned root and the version held (`trust_invalid`, `trust_expired`, `trust_rollback`).
    /// When it names another root, the versions after the one held are fetched in turn, each
    /// checked against the current pin; the pin moves only at a version signed by both the old and
    /// the new root (the cross signature, `Sealgate-Root-Signature`). This is what a unit's
    /// `trust fetch` and the handbook receiver do alike.
    public static func fetch(_ http: GatewayClient, gateway: String, pin pinned: MinisignPublicKey, heldVersion held: UInt64?) async throws
        -> FetchedTrust
    {
        let base = gateway.hasSuffix("/") ? String(gateway.dropLast()) : gateway
        func get(_ version: UInt64?) async throws -> (body: String, signature: String, cross: String?) {
            let r = try await http.send("GET", base + "/v1/trust" + (version.map { "?version=\($0)" } ?? ""))
            guard r.status == 200, let sigB64 = r.headers["sealgate-signature"], let sig = Base64.decode(sigB64, padded: true) else {
                throw SealError(
                    .httpError, "\(base) answered \(r.status) without a signed trust document",
                    remedy: "check the gateway's URL: GET URL/v1/trust must answer the department's trust document")
            }
            let cross = r.headers["sealgate-root-signature"].flatMap { Base64.decode($0, padded: true) }.map {
                String(decoding: $0, as: UTF8.self)
            }
            return (r.text, String(decoding: sig, as: UTF8.self), cross)
        }
        var pin = pinned
        let latest = try await get(nil)
        if let named = namedRoot(latest.body), named.base64 != pin.base64 {
            // The root changed since: walk the versions after the one held, each checked against
            // the current pin; the pin moves only on a doubly signed version.
            let last = UInt64(try JSON(parsing: latest.body)["version"]?.int ?? 0)
            let first = (held ?? 0) + 1
            if first < last {
                guard last - first <= maxVersionsWalked else {
                    throw GatewayError(
                        .trustInvalid, "the gateway names trust document version \(last), \(last - first) versions after the one held",
                        remedy: "fetch it again; if it persists, the gateway or the network is not to be trusted")
                }
                for v in first..<last {
                    let d = try await get(v)
                    _ = try verify(
                        body: d.body, signature: d.signature, root: pin, heldVersion: held, rootCrossSignature: d.cross, allowExpired: true)
                    if let n = namedRoot(d.body) { pin = n }
                }
            }
        }
        let doc = try verify(body: latest.body, signature: latest.signature, root: pin, heldVersion: held, rootCrossSignature: latest.cross)
        return FetchedTrust(document: doc, body: latest.body, signature: latest.signature, root: try doc.publicKey("root"))
    }

    public var issued: String { json["issued"]?.string ?? "" }
}
