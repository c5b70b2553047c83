import Foundation
import PartyRecords
public import SealCrypto
public import SealPackage

/// A unit's records, signing key and packages sealed from them, in a temporary folder of its
/// own below `UnitFixture.root` (removed by `removeAll()`, the benchmarks' teardown): what the
/// benchmarks open, verify and submit. The records come
/// from the synthetic city's generator, one unit of `members` members with its one cell.
public final class UnitFixture: @unchecked Sendable {
    public let folder: String
    public let unit: String
    public let signer: MinisignSecretKey
    public let inputs: [SealRequest.Input]
    /// The CSV files' size in bytes.
    public let csvBytes: Int

    public init(members: Int, prefix: String = "BEN") throws {
        folder = Self.root + "/" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let records = folder + "/records"
        _ = try CityGenerator(CityGenerator.Options(units: 1, members: members, seed: 7, dirt: 0, prefix: prefix)).generate(into: records)
        let unit = "\(prefix)-U001"
        self.unit = unit
        let inputs = ["organizations.csv", "members.csv"].map { SealRequest.Input(name: $0, path: "\(records)/\(unit)/\($0)") }
        self.inputs = inputs
        csvBytes = try inputs.reduce(0) { $0 + (try FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int ?? 0) }
        signer = MinisignSecretKey.generate()
    }

    /// Seals the unit's records as snapshot `seq` to `recipients`; returns the package's path.
    @discardableResult
    public func seal(seq: UInt64, to recipients: [any AgeKeyRecipient], name: String? = nil) throws -> String {
        let path = "\(folder)/\(name ?? "\(unit)-\(seq).sgp")"
        _ = try Sealer.seal(
            SealRequest(unit: unit, seq: seq, kind: .snapshot, inputs: inputs, recipients: recipients, signer: signer, output: path))
        return path
    }

    /// This process's temporary folders.
    public static let root = NSTemporaryDirectory() + "sealgate-micro-\(getpid())"

    /// Removes every fixture's folder (and anything else made below `root`).
    public static func removeAll() { try? FileManager.default.removeItem(atPath: root) }
}
