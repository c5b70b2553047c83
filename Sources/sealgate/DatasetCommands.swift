import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import SealCrypto
import SealPackage

struct Synthesize: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge every unit's current records into the next city-wide dataset version, sealed to the handbook system.",
        discussion: """
            Writes DATA/datasets/vN/ (organizations.csv, members.csv, conflicts.csv, stats.json) and DATA/datasets/dataset-vN.sgp (kind=dataset, seq = N, signed with the dataset key, encrypted to the handbook system's recipients). Records that share a citizen_id or member_id with another unit's are withheld and listed in conflicts.csv with both units. The same store contents give the same data bytes. A running gateway's forwarder delivers the version (also: POST /v1/datasets with an admin token).
            """)
    @OptionGroup var data: DataOption
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var out: OutputOptions
    func run() async throws {
        try await runAsync(json: out.json) {
            let dir = data.dir
            let (department, _) = try dir.config()
            let store = try await dir.openStore()
            let keys = try DepartmentKeys.load(dir, passphrase: cachedPassphrase(passphrase))
            let start = Date()
            if !out.json { say("synthesizing from \(try await store.campaignRows().count) registered units…") }
            let s = try await Synthesis.synthesize(
                data: dir, store: store, keys: keys, department: department, progress: { if !out.json { say("  " + $0) } })
            if !out.json {
                say(
                    String(
                        format:
                            "dataset version %llu: %d members, %d organizations from %d units; %d conflict row(s), %d record(s) withheld — %.1f s",
                        s.version, s.members, s.organizations, s.units, s.conflicts, s.withheld, Date().timeIntervalSince(start)))
                say("sealed to the handbook system: \(s.path) (package \(s.packageId)); the gateway's forwarder delivers it")
            }
            return [
                "version": s.version, "package": s.packageId, "path": s.path, "members": s.members, "organizations": s.organizations,
                "conflicts": s.conflicts, "withheld": s.withheld, "units": s.units,
            ]
        }
    }
}

extension JSON {
    /// As Foundation values, for `--json` output.
    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return i
        case .string(let s): return s
        case .array(let a): return a.map(\.foundation)
        case .object(let o): return o.mapValues(\.foundation)
        }
    }
}
