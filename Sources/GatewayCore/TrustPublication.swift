public import Foundation
public import GatewayStore
public import SealBase
public import SealCrypto
import SealPackage

/// What the department publishes besides its keys — the intake URL and how long a trust
/// document is valid — kept in the store (setting `publication`), so every process and every
/// later publication agrees. A data folder from before keeps its gateway.json's intake URL.
public struct Publication: Sendable, Equatable {
    public var intakeURL: String
    public var validityDays: Int

    public static let defaultValidityDays = 90

    public init(intakeURL: String, validityDays: Int = Publication.defaultValidityDays) {
        self.intakeURL = intakeURL
        self.validityDays = validityDays
    }

    public static func load(_ dir: DataDirectory, store: any GatewayStore) async throws -> Publication {
        if let text = try await store.setting("publication"), let j = try? JSON(parsing: text), let url = j["intake_url"]?.string {
            return Publication(intakeURL: url, validityDays: Int(j["validity_days"]?.int ?? Int64(defaultValidityDays)))
        }
        return Publication(intakeURL: try dir.config().intakeURL)
    }

    /// Records the settings in the store and the intake URL in gateway.json too.
    public func save(_ dir: DataDirectory, store: any GatewayStore) async throws {
        try await store.setSetting(
            "publication", JSON.object(["intake_url": .string(intakeURL), "validity_days": .int(Int64(validityDays))]).canonical)
        try dir.setConfig("intake_url", .string(intakeURL))
    }
}

/// Publishing a trust document: always computed from the store's current state — the intake
/// URL and validity of `Publication`, every recipient with its state (active, pending,
/// decrypt-only with its date; retired ones left out), every rotated signing key (pending,
/// verify-only with its date) — so a routine republication can never resurrect a retired or
/// decrypt-only key, nor drop a key still accepted for older signatures. Logged.
public enum TrustPublication {
    /// Publishes the next version. `keys` are the department's keys as they are to be named (a
    /// rotation passes the new key before its file takes the old one's place); `previousRoot`
    /// cross-signs the version that changes the root. Issued (and logged) at the clock's time,
    /// valid for the publication's days from it.
    @discardableResult
    public static func publish(
        _ dir: DataDirectory, store: any GatewayStore, keys: DepartmentKeys, previousRoot: MinisignSecretKey? = nil,
        clock: any GatewayClock = .system
    ) async throws -> TrustDocument {
        let now = clock.now
        let (department, _) = try dir.config()
        let publication = try await Publication.load(dir, store: store)
        let version = (try await store.latestTrust()?.version ?? 0) + 1
        let recipients = try await store.recipients()
        let doc = try TrustDocument.make(
            version: version, department: department, intakeURL: publication.intakeURL, keys: keys,
            recipients: recipients.isEmpty ? nil : recipients, signingKeys: try await store.signingKeys(), now: now,
            validity: .seconds(Int64(publication.validityDays) * 86_400))
        try await store.addTrust(try doc.signed(with: keys.root, previousRoot: previousRoot))
        _ = try await store.appendLog(kind: .trust, body: doc.json.canonical, at: now)
        return doc
    }
}
