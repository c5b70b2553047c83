import Foundation
import Synchronization

/// Named places where a test can make the gateway fail as the machine would (a full disk, no
/// file descriptors left, a crash between two steps), armed only through the environment:
///
///     SEALGATE_FAILPOINTS="intake.open=enospc:1,keys.rotate.after-new=exit"
///
/// `name=enospc|emfile|eio[:N]` throws that I/O error the next N times (default once);
/// `name=exit` ends the process at once (a crash at that point). Unset, every check is one
/// dictionary lookup on an empty table. docs/testing.md lists the points.
public enum Failpoints {
    struct Arm: Sendable {
        var action: String
        var remaining: Int
    }
    static let table: Mutex<[String: Arm]> = Mutex(parse(ProcessInfo.processInfo.environment["SEALGATE_FAILPOINTS"] ?? ""))

    static func parse(_ text: String) -> [String: Arm] {
        var t: [String: Arm] = [:]
        for item in text.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { continue }
            let parts = kv[1].split(separator: ":").map(String.init)
            t[kv[0]] = Arm(action: parts[0], remaining: parts.count > 1 ? (Int(parts[1]) ?? 1) : 1)
        }
        return t
    }

    /// Fails here if a test armed `name`.
    public static func check(_ name: String) throws {
        let action: String? = table.withLock { t in
            guard var a = t[name], a.remaining > 0 else { return nil }
            a.remaining -= 1
            t[name] = a
            return a.action
        }
        guard let action else { return }
        switch action {
        case "exit":
            FileHandle.standardError.write(Data("failpoint \(name): exiting\n".utf8))
            _exit(86)
        case "enospc": throw SealError.io("failpoint \(name)", errno: ENOSPC)
        case "emfile": throw SealError.io("failpoint \(name)", errno: EMFILE)
        default: throw SealError.io("failpoint \(name)", errno: EIO)
        }
    }
}
