import Foundation
import FuzzTargets
import Testing

/// Replays every fuzz target's corpus (Fuzz/corpus/<target>/) and its past crash inputs
/// (Fuzz/crashes/<target>/, committed with their fix) through the target: none may crash. A
/// target whose corpus is missing or empty fails — a replay of nothing proves nothing.
struct FuzzReplayTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(_ sub: String, _ target: String) throws -> [(String, Data)] {
        let dir = fuzz.appendingPathComponent(sub).appendingPathComponent(target)
        guard FileManager.default.fileExists(atPath: dir.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".") }.sorted().map {
            ($0, try Data(contentsOf: dir.appendingPathComponent($0)))
        }
    }

    @Test(arguments: FuzzTargets.all.keys.sorted())
    func corpusAndCrashesReplay(_ target: String) throws {
        let corpus = try Self.inputs("corpus", target)
        #expect(corpus.count >= 2, "Fuzz/corpus/\(target)/ is missing or nearly empty (\(corpus.count) inputs)")
        let run = try #require(FuzzTargets.all[target])
        for (_, data) in corpus + (try Self.inputs("crashes", target)) {
            data.withUnsafeBytes { run($0) }
        }
    }
}
