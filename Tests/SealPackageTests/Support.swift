import Foundation
import SealBase
import SealCrypto

@testable import SealPackage

/// A temporary folder for one test, removed at the end.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "sealgate-test-" + hexString(SecureRandom.bytes(8))
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { "\(path)/\(name)" }
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        _ = FileManager.default.createFile(atPath: file(name), contents: Data(bytes))
        return file(name)
    }
    func read(_ name: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: file(name)) ?? Data()) }
    /// Entries in the folder (to check that nothing was left behind).
    var entries: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path).sorted()) ?? [] }
}

/// Keys for a department and two units.
struct Fixture {
    let dept = try! AgeX25519Identity.generate()
    let unitA = MinisignSecretKey.generate()
    let unitB = MinisignSecretKey.generate()
}

func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var x = seed &+ 0x9E37_79B9_7F4A_7C15
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        out[i] = UInt8(truncatingIfNeeded: x)
    }
    return out
}

func snapshotInputs(_ dir: TempDir, members: Int = 3) -> [SealRequest.Input] {
    let orgs = dir.write("organizations.csv", Array("org_id,name,type,parent_id\nHCM-U001,\"Đảng bộ, phường 1\",unit_committee,\n".utf8))
    var m = "member_id,full_name,note\n"
    for i in 0..<members { m += "\(i),Nguyễn Văn \(i),\"multi\nline\"\n" }
    let mem = dir.write("members.csv", Array(m.utf8))
    return [SealRequest.Input(name: "organizations.csv", path: orgs), SealRequest.Input(name: "members.csv", path: mem)]
}

func sealError(_ body: () throws -> Void) -> SealError? {
    do {
        try body()
        return nil
    } catch let e as SealError { return e } catch { return SealError(.init("non_seal_error"), "\(error)", remedy: "") }
}
