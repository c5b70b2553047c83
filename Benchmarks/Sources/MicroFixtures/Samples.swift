import Foundation
import SealCrypto

/// Fixed inputs of the benchmarks: a log entry and a receipt body of the sizes the gateway makes,
/// and a random-looking but repeatable sequence of numbers.
public enum Samples {
    /// A decision's log entry as the gateway writes it (about 300 bytes of canonical JSON).
    public static func logEntry(_ i: Int) -> [UInt8] {
        Array(
            (#"{"code":null,"decided_at":"2026-12-06T05:00:00.000Z","kind":"snapshot","package":"0193a1b2-c3d4-7e5f-8a9b-"#
                + String(format: "%012d", i)
                + #"","seq":\#(i + 1),"sha256":"9f2c3a6d1e0b7c4f5a8e2d9b6c3f0a1e4d7b8c5f2a9e6d3c0b7f4a1e8d5c2b9f","#
                + #""size":4180,"status":"accepted","type":"decision","unit":"HCM-U001"}"#).utf8)
    }

    /// A receipt's body as `IntakeReceipts.sign` signs it for a log of about a million entries:
    /// the package's facts, its leaf, log entry, an inclusion proof of 20 hashes and the checkpoint
    /// (about 1.9 KB of canonical JSON; the field names and order of the real one).
    public static let receiptFields: [(String, String)] = {
        let proof = (0..<20).map { i in Base64.encode(SHA256Hasher.hash(Array("proof \(i)".utf8))) }
        let note =
            "HCM-DTCD/log\n1000000\n\(Base64.encode(SHA256Hasher.hash(Array("root".utf8))))\n\n"
            + "— HCM-DTCD/log \(Base64.encode([UInt8](repeating: 0x5a, count: 68)))\n"
        return [
            ("checkpoint", note), ("decided_at", "2026-12-06T05:00:00.000Z"), ("format", "sealgate-receipt/1"), ("gateway", "HCM-DTCD"),
            ("inclusion", proof.joined(separator: "\u{1}")), ("kind", "snapshot"), ("leaf", "999999"),
            ("log_entry", String(decoding: logEntry(999_999), as: UTF8.self)), ("package", "0193a1b2-c3d4-7e5f-8a9b-000000999999"),
            ("received_at", "2026-12-06T04:59:59.000Z"), ("seq", "1000000"),
            ("sha256", "9f2c3a6d1e0b7c4f5a8e2d9b6c3f0a1e4d7b8c5f2a9e6d3c0b7f4a1e8d5c2b9f"), ("size", "4180"), ("status", "accepted"),
            ("unit", "HCM-U001"),
        ]
    }()

    /// The receipt body as text (JSON-like, the same length as the canonical one within a few bytes),
    /// for a signature without GatewayCore's JSON.
    public static let receiptText: String = {
        "{" + receiptFields.map { k, v in "\"\(k)\":\"\(v)\"" }.joined(separator: ",") + "}"
    }()

    /// A repeatable sequence (SplitMix64) for choosing leaves.
    public struct Sequence: Sendable {
        var state: UInt64
        public init(seed: UInt64) { state = seed }
        public mutating func next(below n: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(n))
        }
    }
}
