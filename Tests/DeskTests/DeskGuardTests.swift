import Foundation
import SealBase
import SealCrypto
import Testing

@testable import Desk

/// The desk's guard and launch, below the browser: the path secret, the language switch's way
/// back, the page handed to the browser opener, the work folder's lock, the passphrase's wipe.
@Suite struct DeskGuardTests {
    /// A unit folder of its own, removed after.
    static func folder() throws -> String {
        let dir = NSTemporaryDirectory() + "desk-guard-\(hexString(SecureRandom.bytes(6)))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func workFolders(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".desk-work-") }.sorted()
    }

    @Test func everyPathCarriesTheLaunchSecret() {
        let secret = DeskState.randomToken()
        #expect(secret.utf8.count == 43)
        for ok in ["/s/\(secret)/", "/s/\(secret)/findings.csv", "/s/\(secret)/open", "/s/\(secret)/package/x/send", "/s/\(secret)"] {
            #expect(DeskGuard.underSecret(ok, secret), "\(ok)")
        }
        // The old paths, another launch's, a prefix of it, more than it: refused (with the right cookie too).
        let other = DeskState.randomToken()
        for bad in [
            "/", "/findings.csv", "/history", "/open", "/s/", "/s//findings", "/s/\(other)/findings.csv", "/s/\(secret.dropLast())/history",
            "/s/\(secret)x/history", "/x/\(secret)/history", "s/\(secret)/history", "//s/\(secret)/history",
        ] {
            #expect(!DeskGuard.underSecret(bad, secret), "\(bad)")
        }
    }

    @Test func languageSwitchGoesBackOnlyToAPathOfTheDesk() {
        for ok in ["/", "/findings", "/package/01a2", "/history?x=1"] { #expect(DeskRoutes.safeBack(ok), "\(ok)") }
        let refused = ["//evil.example", "/\t/evil.example", "/\n/evil.example", "/ /evil", "/\u{7F}/evil", "/\\evil.example"]
        for bad in refused + ["evil.example", "", "/\r/x"] {
            #expect(!DeskRoutes.safeBack(bad), "\(bad.debugDescription)")
        }
    }

    @Test func theOpenerGetsAPrivatePageNotTheKey() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        let desk = try Desk(folder: dir, lang: .en)
        defer { desk.cleanUp() }
        let key = try #require(desk.openPath.split(separator: "=").last.map(String.init))
        let url = "http://127.0.0.1:4242" + desk.openPath
        var given: [String] = []
        try desk.openInBrowser(url) { given.append($0) }
        #expect(given.count == 1)
        let path = try #require(given.first)
        #expect(!path.contains(key) && !path.contains(desk.state.pathSecret) && !path.contains("127.0.0.1"), "\(path)")
        #expect(path.hasPrefix(desk.state.workPath + "/"), "\(path)")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let page = try String(contentsOfFile: path, encoding: .utf8)
        #expect(page.contains(HTML.esc(url)))
        #expect(desk.state.with { $0.launcherFile } == path)
    }

    @Test func aSecondDeskLeavesTheFirstAloneAndAStaleFolderGoes() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }  // lint: allow try? — cleanup
        // A desk that did not end cleanly: its work folder, its lock free.
        let stale = try Desk(folder: dir, lang: .en)
        close(stale.state.lockFD)
        let first = try Desk(folder: dir, lang: .en)
        #expect(!FileManager.default.fileExists(atPath: stale.state.workPath), "a stale work folder left")
        let second = try Desk(folder: dir, lang: .en)
        #expect(FileManager.default.fileExists(atPath: first.state.workPath), "the second desk removed the first one's work folder")
        #expect(try Self.workFolders(dir).count == 2)
        second.cleanUp()
        #expect(FileManager.default.fileExists(atPath: first.state.workPath))
        first.cleanUp()
        #expect(try Self.workFolders(dir).isEmpty)
    }

    @Test func thePassphraseIsWipedWhereTheFormHeldIt() {
        let f = FormFields(Array("csrf=t&passphrase=m%E1%BA%ADt+kh%E1%BA%A9u".utf8))
        let i = f.fields.firstIndex { $0.name == "passphrase" } ?? 0
        // The address of the form's own storage (kept alive by the form itself).
        let storage = f.fields[i].value.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        let count = f.fields[i].value.count
        let secret = f.secret("passphrase")
        f.wipe()
        #expect(secret.withUnsafeBytes { Array($0) } == Array("mật khẩu".utf8))
        // Zeroed in place: the same storage, all zeros (not a copy-on-write copy zeroed instead).
        #expect(f.fields[i].value.withUnsafeBytes { UInt(bitPattern: $0.baseAddress) } == storage)
        let raw = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: storage), count: count)
        #expect(raw.allSatisfy { $0 == 0 })
        #expect(f.secret("absent").count == 0)
    }
}
