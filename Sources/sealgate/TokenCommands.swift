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

struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "API tokens (stored hashed; shown once).", subcommands: [Create.self, List.self, Revoke.self])
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; it is printed once and only its SHA-256 is stored.")
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "admin or unit.") var role: String
        @Option(name: .long, help: "The unit, for a unit token.") var unit: String?
        func run() async throws {
            try await runAsync(json: false) {
                guard let role = TokenRole(rawValue: self.role), role == .admin || unit != nil else {
                    throw SealError(.usage, "--role must be admin, or unit with --unit ID", remedy: "e.g. --role unit --unit HCM-U001")
                }
                let store = try await data.dir.openStore()
                if let unit, try await store.unit(unit) == nil { throw SealError(.unitUnknown, "no unit \(unit)", remedy: "register it first") }
                // The token lives in secure memory; only its SHA-256 is stored.
                let token = SecretToken.generate()
                let now = Timestamp.now
                try await store.addToken(TokenRecord(hash: SecretToken.hash(token), role: role, unitId: unit, createdAt: now))
                _ = try await store.appendLog(
                    kind: .tokenCreated, body: JSON.object(["role": .string(role.rawValue), "unit": unit.map(JSON.string) ?? .null]).canonical,
                    at: now)
                SecretToken.write(token, to: STDOUT_FILENO)
                let article = role == .admin ? "an" : "a"
                say(
                    "created \(article) \(role.rawValue) token\(unit.map { " for \($0)" } ?? "") (id \(String(SecretToken.hash(token).prefix(16))), for `tokens revoke`); it is shown only now"
                )
                return [:]
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List tokens by id (the first 16 hex digits of their SHA-256; the tokens themselves are not stored).")
        @OptionGroup var data: DataOption
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let list = try await data.dir.openStore().tokens()
                if !out.json {
                    for t in list {
                        print(
                            "\(t.id)\t\(t.role.rawValue)\t\(t.unitId ?? "-")\tcreated \(t.createdAt)\t\(t.revokedAt.map { "REVOKED \($0)" } ?? "valid")"
                        )
                    }
                }
                return [
                    "tokens": list.map {
                        [
                            "id": $0.id, "role": $0.role.rawValue, "unit": $0.unitId as Any, "created_at": $0.createdAt.text,
                            "revoked_at": $0.revokedAt?.text as Any,
                        ]
                    }
                ]
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token: it authenticates nothing from the next request on (401 unauthorized). Logged as token_revoked.",
            discussion:
                "Name it by its id (from `tokens create` or `tokens list`; a unique prefix of 6 or more hex digits will do). A running gateway checks tokens on every request, so no restart is needed."
        )
        @OptionGroup var data: DataOption
        @Option(name: .long, help: "The token id (16 hex digits, or a unique prefix).") var id: String
        @OptionGroup var out: OutputOptions
        func run() async throws {
            try await runAsync(json: out.json) {
                let now = Timestamp.now
                let t: TokenRecord
                do {
                    t = try await data.dir.openStore().revokeToken(id: id, at: now) { t in
                        JSON.object(["id": .string(t.id), "role": .string(t.role.rawValue), "unit": t.unitId.map(JSON.string) ?? .null]).canonical
                    }
                } catch let e as StoreError where e.code == .tokenUnknown || e.code == .tokenRevoked {
                    throw SealError(
                        SealErrorCode(e.code.rawValue), e.message, remedy: "check the id with `sealgate tokens list --data \(data.dir.path)`")
                }
                if !out.json { say("revoked token \(t.id) (\(t.role.rawValue)\(t.unitId.map { " of \($0)" } ?? ""))") }
                return ["id": t.id, "revoked_at": now.text]
            }
        }
    }
}
