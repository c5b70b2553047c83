import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import GatewayStore
import PackageCommands
import SealBase
import SealCrypto
import SealPackage

struct Units: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register and list units.", subcommands: [Add.self, List.self, Show.self, AddKey.self, RevokeKey.self, Flagged.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a unit and its signing key.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Unit id, e.g. HCM-U001.") var id: String
        @Option(name: .long, help: "Unit name.") var name: String
        @Option(name: .long, help: "The unit's minisign public key file.") var signingKey: String
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                guard PackageIdentifiers.isValidUnit(id) else {
                    throw SealError(.usage, "unit id '\(id)' is not [A-Z0-9][A-Z0-9-]{1,31}", remedy: "e.g. HCM-U001")
                }
                let key = try MinisignPublicKey(path: signingKey)
                let store = try await data.dir.openStore()
                let now = Timestamp.now
                let log = JSON.object(["unit": .string(id), "key_id": .string(key.keyIdHex)]).canonical
                do {
                    try await store.addUnit(
                        UnitRecord(id: id, name: name, createdAt: now),
                        key: UnitKeyRecord(keyId: key.keyIdHex, unitId: id, publicKey: key.base64, state: .active, addedAt: now), logBody: log)
                } catch let e as StoreError where e.code == .unitExists || e.code == .keyExists {
                    throw SealError(
                        SealErrorCode(e.code.rawValue), e.message, remedy: "units and keys are registered once; list them with `sealgate units list`")
                }
                if !out.json { say("registered \(id) (\(name)) with key \(key.keyIdHex)") }
                return ["unit": id, "key_id": key.keyIdHex]
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered units.")
        @OptionGroup var data: DataOption
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let store = try await data.dir.openStore()
                var list: [UnitStatus] = []
                for u in try await store.units() { if let s = try await store.unitStatus(u.id) { list.append(s) } }
                if !out.json {
                    for s in list { print("\(s.unit.id)\t\(s.unit.name)\tlast seq \(s.lastSeq.map(String.init) ?? "-")\tmembers \(s.members)") }
                }
                return ["units": list.map { ["unit": $0.unit.id, "name": $0.unit.name, "members": $0.members] as [String: Any] }]
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one unit: keys, last seq and package, record counts.")
        @OptionGroup var data: DataOption
        @Argument(help: "Unit id.") var id: String
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                guard let s = try await data.dir.openStore().unitStatus(id) else {
                    throw SealError(.unitUnknown, "no unit \(id)", remedy: "list units with `sealgate units list`")
                }
                if !out.json {
                    print("unit          \(s.unit.id) — \(s.unit.name)")
                    for k in s.keys {
                        var note = ""
                        if let sw = k.switchedAt { note += ", replaced \(sw), valid for older packages until \(k.validUntil?.text ?? "?")" }
                        if let c = k.compromisedAt { note += ", compromised from \(c)" }
                        print("key           \(k.keyId) (\(k.state.rawValue)\(note))")
                    }
                    print("last seq      \(s.lastSeq.map(String.init) ?? "-") (\(s.lastStatus?.rawValue ?? "-"), package \(s.lastPackage ?? "-"))")
                    print("records       \(s.members) members, \(s.organizations) organizations")
                    print("packages      \(s.packages)")
                }
                return ["unit": s.unit.id, "members": s.members, "organizations": s.organizations, "last_seq": s.lastSeq.map { Int($0) } as Any]
            }
        }
    }
}

extension Units {
    struct AddKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-key",
            abstract: "Register another signing key for a unit (e.g. after its key was revoked or lost).",
            discussion:
                "Check the unit's identity and the key's fingerprint out of band first: this is the path that needs no signature from the old key. Prefer `keys rotate-unit` when the unit still holds its current key. Logged as unit_key_added."
        )
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Unit id.") var unit: String
        @Option(name: .long, help: "The new minisign public key file.") var signingKey: String
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let key = try MinisignPublicKey(path: signingKey)
                let store = try await data.dir.openStore()
                let now = Timestamp.now
                let log = JSON.object(["unit": .string(unit), "key_id": .string(key.keyIdHex), "public_key": .string(key.base64)]).canonical
                do {
                    try await store.addUnitKey(
                        UnitKeyRecord(keyId: key.keyIdHex, unitId: unit, publicKey: key.base64, state: .active, addedAt: now), logBody: log)
                } catch let e as StoreError where e.code == .unitUnknown || e.code == .keyExists {
                    throw SealError(
                        SealErrorCode(e.code.rawValue), e.message,
                        remedy: e.code == .unitUnknown ? "register the unit first (sealgate units add)" : "give a newly generated key")
                }
                if !out.json { say("added key \(key.keyIdHex) to \(unit) (active)") }
                return ["unit": unit, "key_id": key.keyIdHex]
            }
        }
    }

    struct RevokeKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-key",
            abstract: "Revoke a unit's signing key as compromised from a given time.",
            discussion: """
                Packages signed by the key and created at or after --compromised-at are refused from now on (key_state); packages it signed that were already imported and created from then on are flagged for review and listed (again with `sealgate units flagged`), and so is every package it signed that is decided from now on, whatever creation time it names (one sent before the revocation and still on its way, or one backdated by a thief). Choose the earliest time the key may have left the unit's hands: a thief can write any creation time. Takes effect in a running gateway with its next package. Logged as unit_key_revoked. The unit then needs a new key: `sealgate units add-key` after an out-of-band check.

                Example: sealgate units revoke-key --data /srv/sealgate --unit HCM-U001 --key-id 3F2A… --compromised-at 2026-11-20T00:00:00Z
                """)
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Unit id.") var unit: String
        @Option(name: .long, help: "The key id (16 hex digits, as `sealgate units show` prints it).") var keyId: String
        @Option(name: .long, help: "From when the key may have been compromised (UTC, 2026-11-29T04:10:00Z, or now).") var compromisedAt: String
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let t = try parseMoment(compromisedAt)
                let store = try await data.dir.openStore()
                let now = Timestamp.now
                let id = keyId.uppercased()
                let log = JSON.object(["unit": .string(unit), "key_id": .string(id), "compromised_at": .string(t.text)]).canonical
                let flagged: [FlaggedPackage]
                do {
                    flagged = try await store.revokeUnitKey(unitId: unit, keyId: id, compromisedAt: t, at: now, logBody: log)
                } catch let e as StoreError where e.code == .keyUnknown || e.code == .keyState {
                    let show = "sealgate units show --data \(data.data) \(unit)"
                    throw SealError(SealErrorCode(e.code.rawValue), e.message, remedy: "check the unit's keys with `\(show)`")
                }
                if !out.json {
                    say("revoked key \(id) of \(unit) as compromised from \(t)")
                    say(flagged.isEmpty ? "no imported package needs review" : "\(flagged.count) imported package(s) flagged for review:")
                    for f in flagged { print("\(f.unitId)\tseq \(f.seq)\t\(f.packageId)\tcreated \(f.created?.text ?? "?")") }
                }
                return ["unit": unit, "key_id": id, "compromised_at": t.text, "flagged": flagged.map(flaggedJSON)]
            }
        }
    }

    struct Flagged: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Packages flagged for review (signed by a key revoked as compromised): list them, confirm or reject one.",
            discussion: """
                While a flag is unresolved, `synthesize` withholds the records the package brought (a snapshot that is the unit's current one: the unit's earlier snapshot is taken instead, or none; a correction: the rows it changed), and `status` shows the unit as flagged. `confirm` (the package was the unit's own) puts its records back into the next dataset; `reject` keeps them out (until the unit submits a new snapshot). Each decision is final and logged as flag_resolved with the reason, which is public: no members' names, ids, telephone numbers or e-mail addresses.
                """,
            subcommands: [List.self, Confirm.self, Reject.self], defaultSubcommand: List.self)

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List flagged packages, with their review state (the default).")
            @OptionGroup var data: DataOption
            @Option(name: .long, help: "Only this unit.") var unit: String?
            @OptionGroup var out: OutputOptions
            func run() async throws {
                try await runAsync(json: out.json) {
                    let list = try await data.dir.openStore().flaggedPackages(unitId: unit)
                    if !out.json {
                        if list.isEmpty { say("no package is flagged") }
                        for f in list {
                            let state = f.resolution.map { "\($0.rawValue) at \(f.resolvedAt?.text ?? "?")" } ?? "unresolved"
                            print("\(f.unitId)\tseq \(f.seq)\t\(f.packageId)\tcreated \(f.created?.text ?? "?")\t\(state)\t\(f.reason)")
                        }
                    }
                    return ["flagged": list.map(flaggedJSON)]
                }
            }
        }

        struct Confirm: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Confirm a flagged package: it was the unit's own; its records go back into the next dataset. Logged (flag_resolved).")
            @OptionGroup var review: ReviewOptions
            func run() async throws { try await review.resolve(.confirmed) }
        }

        struct Reject: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract:
                    "Reject a flagged package: not the unit's; its records stay out of datasets until the unit submits a new snapshot. Logged (flag_resolved)."
            )
            @OptionGroup var review: ReviewOptions
            func run() async throws { try await review.resolve(.rejected) }
        }
    }
}

/// What `units flagged confirm` and `reject` take.
struct ReviewOptions: ParsableArguments {
    @OptionGroup var data: DataOption
    @Option(name: .long, help: "The flagged package's id (as `sealgate units flagged` lists it).") var package: String
    @Option(
        name: .long,
        help: "Why (required; published in the transparency log: no members' names, ids, telephone numbers or e-mail addresses).")
    var reason: String
    @OptionGroup var out: OutputOptions

    func resolve(_ resolution: ReviewResolution) async throws {
        try await runAsync(json: out.json) {
            let store = try await data.dir.openStore()
            let f = try await FlagReview.resolve(store: store, packageId: package, resolution: resolution, reason: reason)
            let hold = try await store.reviewHold(unitId: f.unitId)
            if !out.json {
                say("\(resolution.rawValue) package \(f.packageId) (\(f.unitId) seq \(f.seq)); logged as flag_resolved")
                switch resolution {
                case .confirmed: say("its records go back into the next dataset (sealgate synthesize)")
                case .rejected:
                    say(
                        hold?.datasetPackage == nil
                            ? "its records stay out of datasets; \(f.unitId) has no other records to take until it submits a new snapshot"
                            : "its records stay out of datasets; the next dataset takes \(f.unitId)'s records from package \(hold?.datasetPackage ?? "")"
                    )
                }
                if let left = hold?.unresolved.count, left > 0 { say("\(left) package(s) of \(f.unitId) still to review") }
            }
            return ["flag": flaggedJSON(f), "unresolved_left": hold?.unresolved.count ?? 0]
        }
    }
}

func flaggedJSON(_ f: FlaggedPackage) -> [String: Any] {
    [
        "package": f.packageId, "unit": f.unitId, "seq": Int(f.seq), "key_id": f.keyId as Any, "created": f.created?.text as Any, "reason": f.reason,
        "flagged_at": f.flaggedAt.text, "resolution": f.resolution?.rawValue ?? "unresolved", "resolved_at": f.resolvedAt?.text as Any,
        "resolution_reason": f.resolutionReason as Any,
    ]
}
