import ArgumentParser
import Foundation
import GatewayCore
import GatewayStore
import PackageCommands
import SealBase
import SealCrypto
import TransparencyLog

extension LogCommand {
    /// `make bench`'s log section (scripts/bench, docs/benchmarks.md "The transparency log"): a
    /// throwaway log of synthetic entries in a new folder (never an existing store), built in
    /// batches through the store and `GatewayLog` as the gateway runs them, then timed: appends,
    /// proofs and checkpoints at that size, and the process's memory as the log grows.
    struct BenchLog: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract: "Build a throwaway log of synthetic entries in a new folder and time appends, proofs and checkpoints (make bench).",
            shouldDisplay: false)
        @Option(name: .long, help: "A folder that does not exist yet: the throwaway store is made in it.") var dir: String
        @Option(name: .long, help: "Entries to append.") var entries: Int = 10_000_000
        @Option(name: .long, help: "Entries per transaction.") var batch: Int = 10_000
        @Option(name: .long, help: "Proofs of each kind to time.") var proofs: Int = 1_000

        func run() async throws {
            try await runAsync(json: false) {
                guard !FileManager.default.fileExists(atPath: dir) else {
                    throw SealError(.outputExists, "\(dir) exists", remedy: "give a new folder: the bench makes its own throwaway store there")
                }
                guard entries >= 2, batch >= 1, proofs >= 1 else {
                    throw SealError(.usage, "--entries ≥ 2, --batch ≥ 1, --proofs ≥ 1", remedy: "give counts in those ranges")
                }
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
                let store = try await SQLGatewayStore.sqlite(path: dir + "/bench.sqlite")
                let key = try MinisignSecretKey.generate()
                let log = await GatewayLog(store: store, key: key, department: "BENCH")
                try await log.load()
                let at = Timestamp.now
                var appended = 0
                var appendSeconds = 0.0
                var nextReport = 1_000_000
                say("log bench: \(entries) synthetic entries (about 110 bytes each) in batches of \(batch), SQLite at \(dir)")
                while appended < entries {
                    let n = min(batch, entries - appended)
                    let rows = (0..<n).map { i in
                        (
                            kind: LogKind.campaign,
                            body:
                                #"{"format":"sealgate-log/1","kind":"synthetic","n":\#(appended + i),"unit":"HCM-U\#(String(format: "%03d", (appended + i) % 173))","status":"accepted"}"#
                        )
                    }
                    let t0 = ContinuousClock.now
                    try await log.append(rows, at: at)
                    appendSeconds += (ContinuousClock.now - t0).seconds
                    appended += n
                    if appended >= nextReport || appended == entries {
                        say(
                            String(
                                format: "  %10d entries  %8.0f appends/s  RSS %6.1f MiB  peak %6.1f MiB", appended, Double(appended) / appendSeconds,
                                Self.memory("VmRSS:"), Self.memory("VmHWM:")))
                        nextReport += 1_000_000
                    }
                }
                let size = Int64(appended)
                // Proofs at the full size, at random leaves, every tile read from the store the first time.
                var inclusion: [Double] = []
                var consistency: [Double] = []
                for _ in 0..<proofs {
                    let leaf = Int64.random(in: 0..<size)
                    var t0 = ContinuousClock.now
                    let p = try await log.inclusionProof(leaf: leaf, size: size)
                    inclusion.append((ContinuousClock.now - t0).seconds)
                    let from = Int64.random(in: 1..<size)
                    t0 = ContinuousClock.now
                    let c = try await log.consistencyProof(from: from, to: size)
                    consistency.append((ContinuousClock.now - t0).seconds)
                    guard !p.isEmpty, !c.isEmpty else {
                        throw SealError(.logInconsistent, "an empty proof in a log of \(size)", remedy: "report this as a bug")
                    }
                }
                // Checkpoints: one entry more each time, so each is signed anew (root, signature, stored).
                var checkpoints: [Double] = []
                var computed: [Double] = []
                for i in 0..<100 {
                    try await log.append([(kind: .campaign, body: #"{"kind":"synthetic","extra":\#(i)}"#)], at: at)
                    let s = try await store.logSize()
                    var t0 = ContinuousClock.now
                    let root = try await log.root(size: s)
                    _ = try Checkpoint(origin: log.origin, size: Int(s), root: root).signed(name: log.origin, key: key)
                    computed.append((ContinuousClock.now - t0).seconds)
                    t0 = ContinuousClock.now
                    _ = try await log.checkpoint()
                    checkpoints.append((ContinuousClock.now - t0).seconds)
                }
                func ms(_ xs: [Double], _ q: Double) -> String {
                    let s = xs.sorted()
                    return String(format: "%.3f", s[min(s.count - 1, Int(Double(s.count) * q))] * 1000)
                }
                say("  at \(size) entries (ms)            median      p99      max")
                for (name, xs) in [
                    ("inclusion proof", inclusion), ("consistency proof", consistency), ("checkpoint: root + signature", computed),
                    ("checkpoint: signed and stored", checkpoints),
                ] {
                    say(
                        "  \(name.padding(toLength: 30, withPad: " ", startingAt: 0))\(ms(xs, 0.5).leftPad(8))\(ms(xs, 0.99).leftPad(9))\(ms(xs, 1).leftPad(9))"
                    )
                }
                // What a gateway's start costs at this size: every entry read, every tile derived and
                // checked against the one stored, the root checked against the last checkpoint.
                let t0 = ContinuousClock.now
                let restarted = await GatewayLog(store: store, key: key, department: "BENCH")
                try await restarted.load()
                say(String(format: "  load at start (every entry read, every tile checked): %.1f s", (ContinuousClock.now - t0).seconds))
                let bytes = (try? FileManager.default.attributesOfItem(atPath: dir + "/bench.sqlite")[.size] as? Int) ?? 0
                say(
                    String(
                        format: "  store %.1f MiB; RSS %.1f MiB, peak %.1f MiB", Double(bytes) / 1_048_576, Self.memory("VmRSS:"),
                        Self.memory("VmHWM:")))
                await store.close()
                return ["entries": appended]
            }
        }

        /// A line of /proc/self/status, in MiB.
        static func memory(_ field: String) -> Double {
            let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix(field) } ?? ""
            return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
        }
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension String {
    fileprivate func leftPad(_ n: Int) -> String { String(repeating: " ", count: max(0, n - count)) + self }
}
