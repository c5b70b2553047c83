import GatewayCore
import SealBase
import SealCrypto
import Testing

/// A review decision's reason goes into the public log: what looks like a member's data is
/// refused (a best-effort check, docs/operations.md "Flagged packages").
struct FlagReasonTests {
    func refused(_ reason: String, members: [[String]] = []) -> Bool {
        do {
            try FlagReview.checkReason(reason)
            try FlagReview.checkReason(reason, members: members)
            return false
        } catch let e as SealError {
            return e.code.rawValue == "reason_invalid"
        } catch {
            return false
        }
    }

    @Test func numbersWithSeparatorsAndOtherScriptsAreRefused() {
        for r in ["gọi 0912-345-678", "CCCD 079-095-001-234", "số (091) 234 5678", "0912/345/678", "０９１２３４５６７８"] {
            #expect(refused(r), "\(r)")
        }
        for r in ["checked on 2026-12-05 by telephone", "confirmed with the unit's secretary", "seq 12"] {
            #expect(!refused(r), "\(r)")
        }
    }

    @Test func aMembersNameTypedWithoutDiacriticsIsRefused() {
        let member = ["HCM-U001-0001", "Nguyễn Văn Đức", "", "", "079095001234"]
        #expect(refused("spoke with nguyen van duc", members: [member]))
        #expect(refused("Nguyễn Văn Đức confirmed", members: [member]))
        #expect(!refused("spoke with the unit's secretary", members: [member]))
    }
}
