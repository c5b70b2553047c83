import Foundation
import GatewayCore
import PartyRecords
import SealBase
import SealCrypto
import SealPackage
import Synchronization
import UnitWork

/// What one launch of the desk holds: its secrets (the launch key, the session, the CSRF token),
/// the clerk's language, the records being checked and the long steps running. Nothing of it is
/// written anywhere but the private work folder; the unit's profile stays the one truth of what
/// was sealed and sent (`UnitFolder`, read again for every page).
final class DeskState: Sendable {
    /// The folder the desk serves (where sealgate-unit.json is, or will be).
    let folderPath: String
    /// The private work folder (0700) inside it: uploads, corrections being written. Removed at exit.
    let workPath: String
    /// The per-launch secret every path of the desk carries (`/s/<secret>/…`): the cookie alone is
    /// not the credential (a browser sends it to every port of 127.0.0.1).
    let pathSecret: String
    /// The prefix of every path of this launch: `/s/<secret>` (a page's link is `base + "/findings"`).
    var base: String { "/s/\(pathSecret)" }
    /// The work folder's lock (held for the desk's lifetime: another desk on the folder leaves it alone).
    let lockFD: Int32
    let inner: Mutex<Inner>

    struct Inner {
        var port = 0
        /// The per-launch key in the opened URL; nil once exchanged for the session.
        var launchKey: String?
        /// The session cookie's value, once the launch key was exchanged.
        var session: String?
        let csrf: String
        var lang: Language
        var batch: Batch?
        var jobs: [String: Job] = [:]
        /// Correction rows typed into the form, not yet checked.
        var draft: [[String]] = []
        /// A failure to show on the page named by the key ("findings", "setup", a package id).
        var notices: [String: SealError] = [:]
        /// The page handed to the browser opener (it holds the launch key): removed once the key is redeemed.
        var launcherFile: String?
    }

    init(folderPath: String, workPath: String, lockFD: Int32 = -1, lang: Language) {
        self.folderPath = folderPath
        self.workPath = workPath
        self.lockFD = lockFD
        pathSecret = Self.randomToken()
        inner = Mutex(Inner(launchKey: Self.randomToken(), csrf: Self.randomToken(), lang: lang))
    }

    /// 32 random bytes from SealCrypto's source, base64url without padding.
    static func randomToken() -> String {
        let b64 = Base64.encode(SecureRandom.bytes(32), padded: false)
        return String(b64.map { $0 == "+" ? "-" : ($0 == "/" ? "_" : $0) })
    }

    /// The unit's folder as it is on disk now (nil before the setup).
    func unitFolder() throws -> UnitFolder? { try UnitFolder.find(folderPath) }

    func with<R: Sendable>(_ body: (inout Inner) -> R) -> R { inner.withLock { body(&$0) } }

    func notice(_ key: String, _ e: SealError) { with { $0.notices[key] = e } }
    func takeNotice(_ key: String) -> SealError? { with { $0.notices.removeValue(forKey: key) } }
}

/// The records uploaded (or written from the correction form) and what the check found.
struct Batch: Sendable {
    let id: String
    /// Its folder inside the work folder.
    let dir: String
    /// The record files, by their canonical names (organizations.csv, …) or the workbook.
    var files: [String]
    var kind: PackageKind?
    var report: Findings?
    /// The check could not read the files at all.
    var failure: SealError?
}

/// The findings of one check, kept for the table and the CSV download.
struct Findings: Sendable {
    var rows: [Finding]
    var errors: Int
    var warnings: Int
    var organizations: Int
    var members: Int
    var corrections: Int
    /// Findings counted but not kept (more than the validator keeps).
    var dropped: Int
}

/// A long step (checking, sealing and sending, sending again) running in the background; its
/// page refreshes itself until it is done, then leads to `next`.
struct Job: Sendable {
    enum Kind: String, Sendable {
        case check
        case send
        case resend
    }
    let id: String
    let kind: Kind
    var stage: DeskKey?
    var done: UInt64 = 0
    var total: UInt64 = 0
    var finished = false
    /// Where the clerk goes when it is done.
    var next = "/"
}
