public import Foundation
import GatewayClient
public import GatewayStore
public import SealBase
import SealCrypto
import SealPackage
import Synchronization

/// Delivers dataset versions to the handbook system, oldest pending first (an older version is
/// never sent after a newer one), each until the handbook answers with a signed acknowledgement
/// for that package: exponential backoff with jitter between attempts, the package id as the
/// idempotency key (the receiver answers a repeat with its first acknowledgement), every state
/// change in the store — so a restart or a long outage loses nothing and imports nothing twice.
///
/// Its settings are constants; `notBefore`, the only mutable state, is in a `Mutex`. Whether an
/// attempt is due, and when the next one is, is read from `clock`.
public final class Forwarder: Sendable {
    let store: any GatewayStore
    public let baseDelay: Duration
    public let maxDelay: Duration
    public let timeout: Duration
    public let clock: any GatewayClock
    private let notBefore = Mutex<[UInt64: Timestamp]>([:])

    /// Where a package made on another machine is written from the store's copy before it is sent.
    let cacheDir: String?

    public init(
        store: any GatewayStore, baseDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(300), timeout: Duration = .seconds(60),
        cacheDir: String? = nil,
        clock: any GatewayClock = .system
    ) {
        self.store = store
        self.clock = clock
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.timeout = timeout
        self.cacheDir = cacheDir
    }

    /// The sealed package to send: the file the synthesis wrote, or — on another machine — a copy
    /// fetched from the store and checked against the recorded SHA-256.
    func packageFile(_ d: DatasetRecord) async throws -> String {
        if FileManager.default.fileExists(atPath: d.path) { return d.path }
        guard let dir = cacheDir else {
            throw GatewayError(
                .datasetMissing, "dataset \(d.version)'s package \(d.path) is not on this machine",
                remedy: "restore the data folder's datasets/ from backup")
        }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let local = "\(dir)/dataset-v\(d.version).sgp"
        if !FileManager.default.fileExists(atPath: local) {
            guard try await store.fetchDatasetPackage(version: d.version, to: local) else {
                throw GatewayError(
                    .datasetMissing, "dataset \(d.version)'s package is neither at \(d.path) nor in the store",
                    remedy: "restore the data folder's datasets/ from backup, or synthesize a new version")
            }
        }
        guard try await BlockingPool.shared.run({ try sha256File(local) }) == d.sha256 else {
            try? FileManager.default.removeItem(atPath: local)
            throw GatewayError(
                .datasetMissing, "the store's copy of dataset \(d.version) does not match its recorded SHA-256",
                remedy: "investigate the store; synthesize a new version")
        }
        return local
    }

    /// The delay before attempt `attempts + 1`: base × 2^attempts, capped, times a jitter in [0.5, 1].
    public func delay(afterAttempts attempts: Int) -> Duration {
        min(maxDelay, baseDelay * pow(2, Double(min(attempts, 30)))) * Double.random(in: 0.5...1.0)
    }

    public enum Step: Sendable, Equatable {
        case idle, waiting
        case delivered(UInt64)
        case failed(UInt64, String)
    }

    /// One attempt at the oldest pending version, if it is due by the clock. Called by one task
    /// at a time (the forwarder service). A failed attempt is due again after `delay`, rounded up
    /// to the second: that moment is recorded as the next attempt and waited for.
    @discardableResult
    public func step() async -> Step {
        let now = clock.now
        guard let endpoint = try? await HandbookEndpoint.load(store),
            let next = try? await store.datasets().first(where: { $0.state == .pending })
        else { return .idle }
        if let t = notBefore.withLock({ $0[next.version] }), t > now { return .waiting }
        do {
            let file = try await packageFile(next)
            let r = try await GatewayClient.withClient(endpoint.clientSettings(timeout: timeout)) { client in
                try await client.send(
                    "POST", endpoint.url.trimmingSuffix("/") + "/v1/datasets",
                    headers: [("Content-Type", "application/vnd.sealgate.package"), ("Idempotency-Key", next.packageId)], body: .file(file))
            }
            guard r.status == 200 || r.status == 201 else {
                let j = try? JSON(parsing: r.text)
                let code = j?["code"]?.string.map { " \(String($0.prefix(64)))" } ?? ""
                throw GatewayError(
                    .forwardFailed, "the handbook system answered \(r.status)\(code): \(String((j?["detail"]?.string ?? r.text).prefix(200)))",
                    remedy: "see the handbook system's log; the forwarder retries")
            }
            guard let b64 = r.headers["sealgate-ack-signature"], let sigBytes = Base64.decode(b64, padded: true) else {
                throw GatewayError(
                    .ackInvalid, "the handbook system answered \(r.status) without an acknowledgement signature",
                    remedy: "check the handbook endpoint URL")
            }
            let sig = String(decoding: sigBytes, as: UTF8.self)
            let ack = try HandbookAck.verify(text: r.text, signature: sig, key: endpoint.ackKey, package: next.packageId, version: next.version)
            guard ack["sha256"]?.string == next.sha256 else {
                throw GatewayError(
                    .ackInvalid, "the acknowledgement names other bytes than the dataset sent", remedy: "the dataset stays pending and is sent again")
            }
            let at = now
            let body = JSON.object([
                "format": .string("sealgate-log/1"), "kind": .string("dataset_forwarded"), "version": .int(Int64(next.version)),
                "package": .string(next.packageId), "sha256": .string(next.sha256),
                "ack_sha256": .string(hexString(SHA256Hasher.hash(Array(r.text.utf8)))),
                "delivered_at": .string(at.text),
            ]).canonical
            try await store.recordDelivery(version: next.version, ack: r.text, ackSignature: sig, at: at, logBody: body)
            notBefore.withLock { $0[next.version] = nil }
            return .delivered(next.version)
        } catch {
            let message = (error as? SealError).map { "\($0.code): \($0.message)" } ?? "\(error)"
            let wait = delay(afterAttempts: next.attempts)
            let due = now.adding(.seconds(Int64(Self.seconds(wait).rounded(.up))))
            notBefore.withLock { $0[next.version] = due }
            _ = try? await store.recordAttempt(version: next.version, error: message, nextAttemptAt: due)
            return .failed(next.version, message)
        }
    }
}

extension Forwarder {
    /// A duration in seconds, with its fraction.
    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
}

extension String {
    func trimmingSuffix(_ s: String) -> String { hasSuffix(s) ? String(dropLast(s.count)) : self }
}
