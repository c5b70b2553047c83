import ArgumentParser
import Foundation
import GatewayClient
import GatewayCore
import PackageCommands
import PartyRecords
import SealCrypto
import SealPackage
import UnitWork

extension Seal {
    /// Seal with the unit profile: its unit, key and trust document (fetched again when stale),
    /// the next seq, the package into its packages folder and its history.
    func sealWithProfile() async throws {
        try await runAsync(json: out.json) {
            var work = UnitWork(folder: try requireProfile(profile), language: lang)
            let words = Words.now
            let doc = try await GatewayClient.withClient(work.clientSettings()) { http in
                let t = try await work.currentTrust(http)
                if let e = t.fetchFailed { say("\(words.warning): \(words.trustKeptUsed("\(e.code)"))") }
                if seq == nil { try await work.learnGatewaySeq(http) }
                return t.document
            }
            let v = try work.validate(files)
            let report = ValidationReport(v, lang: lang)
            if report.errors > 0 {
                FileHandle.standardError.write(Data(report.render(.table, maxRows: 50).utf8))
            }
            let key = try token.signer(work.folder.signingKeyPath, passphrase: passphrase)
            let sealed = try work.seal(files, signer: key, trust: doc, seq: seq, validated: v, progress: progressReporter())
            if !out.json {
                let r = sealed.result
                say(words.sealedWithSeq(r.manifest.files.count, sealed.path, r.packageBytes, sealed.entry.seq))
                say("  \(r.comment.text)")
                say("  \(words.submitNext)")
            }
            return describe(
                sealed.result.comment, manifest: sealed.result.manifest, extra: ["output": sealed.path, "bytes": sealed.result.packageBytes])
        }
    }
}

/// What `seal` needs of the full program (PackageCommands' `SealExtensions`): a trust
/// document's recipients, and sealing with a unit profile.
let sealExtensions = SealExtensions.Hooks(
    trustRecipients: { try loadTrust($0).activeRecipients() }, sealWithProfile: { try await $0.sealWithProfile() })
