public import ArgumentParser
public import Foundation
public import PartyRecords
public import SealBase
public import SealCrypto
public import SealPackage
import Synchronization

/// Runs a command body, turning a SealError into its code, message, remedy and exit status.
/// `hints` are the command's own words for a code, before the common table's.
public func runAsync(json: Bool, hints: Hints = [:], _ body: () async throws -> [String: Any]) async throws {
    do {
        let result = try await body()
        if json { printJSON(["ok": true, "result": result]) }
    } catch {
        try report(error, json: json, hints: hints)
    }
}

/// Prints a failure (code, message, what to do; as JSON with --json) and exits with its status.
/// In English: the error's own message and remedy. In Vietnamese: the code's text from the
/// catalogue, and the error's own (English) words kept on a line labelled as technical detail.
public func report(_ error: any Error, json: Bool, hints: Hints = [:]) throws -> Never {
    if let e = error as? ExitCode { throw e }
    // Anything that is not a SealError (a file that cannot be read, …) still gets a code and a remedy.
    let e =
        (error as? SealError)
        ?? SealError(.ioError, "\((error as NSError).localizedDescription)", remedy: "check the paths given and their permissions")
    let lang = CommandLanguage.current
    let words = Words.of(lang)
    let text = e.code.text(lang)
    // The libraries say what to do in general; the command line adds its own words (flags).
    let hint = hints[lang]?[e.code] ?? hints[.en]?[e.code] ?? commandLineHints[lang]?[e.code]
    let englishHint = hints[.en]?[e.code] ?? commandLineHints[.en]?[e.code]
    if json {
        var o: [String: Any] = [
            "code": e.code.rawValue, "message": e.message, "remedy": e.remedy, "lang": lang.rawValue,
            "localized_message": text.message, "localized_remedy": text.remedy,
        ]
        if let englishHint { o["hint"] = englishHint }
        if let hint { o["localized_hint"] = hint }
        printJSON(["ok": false, "error": o])
    }
    // The underlying cause (a system error, a TLS alert) is never a secret; it helps the operator.
    let cause = e.underlying.map { "  \(words.cause): \($0.prefix(300))\n" } ?? ""
    let onCommandLine = hint.map { "  \(words.onCommandLine): \($0)\n" } ?? ""
    let lines: String
    switch lang {
    case .en:
        lines = "\(words.error): \(e.code): \(e.message)\n  \(words.whatToDo): \(e.remedy)\n\(onCommandLine)\(cause)"
    case .vi:
        lines =
            "\(words.error): \(e.code): \(text.message)\n  \(words.whatToDo): \(text.remedy)\n\(onCommandLine)"
            + "  \(words.technicalDetail): \(e.message) — \(e.remedy)\n\(cause)"
    }
    FileHandle.standardError.write(Data(lines.utf8))
    throw ExitCode(exitStatus(for: e.code))
}

/// A command's own words for codes, in each language (`hints[.vi]` beside `hints[.en]`).
public typealias Hints = [Language: [SealErrorCode: String]]

/// The command line's words for codes whose library remedy cannot name a flag (the libraries
/// speak of what happened; the flags are the command's). Each code has its hint in both languages.
public let commandLineHints: Hints = [
    .en: [
        .keyWrongPassphrase: "--passphrase-file FILE or SEALGATE_PASSPHRASE give the passphrase without a prompt",
        .passphraseRequired: "--passphrase-file FILE (mode 0600) or SEALGATE_PASSPHRASE give the passphrase when no terminal can ask for it",
        .keyFileExists: "choose another --out prefix (or --force where the command takes it)",
        .packageTooLarge: "`open` and `verify` take --max-size for a larger package",
        .unitMismatch: "check --unit and the --signer key",
        .tlsUntrusted: "--ca-file FILE (or SEALGATE_CA_FILE) with the CA that signed the server's certificate",
        .tlsClientRefused: "--client-cert FILE and --client-key FILE",
        .tlsSetup: "--tls-cert (the chain, the server's certificate first), --tls-key, --client-ca",
        .handbookUnset: "sealgate handbook connect --data DIR --url URL --recipient handbook.pub --ack-key ack.pub",
        .ackInvalid: "sealgate handbook connect --data DIR --ack-key ack.pub sets the acknowledgement key again",
        .logInconsistent: "sealgate log verify --gateway URL --trust trust.json --state FILE names the altered entry",
        .logBehind: "restore a newer copy: sealgate restore --data DIR FILE; or sealgate log declare-fork --data DIR --reason TEXT",
        .logFork: "restore the matching copy: sealgate restore --data DIR FILE; or sealgate log declare-fork --data DIR --reason TEXT",
        .spoolLocked: "serve --node NAME gives each process on one data folder a spool of its own",
        .listenFailed: "--host ADDRESS and --port N choose where to listen (--port 0: any free port)",
        .rotationSignatureInvalid: "sealgate keys rotate-unit --unit ID --old OLD.key --new NEW.key signs with both",
    ],
    .vi: [
        .keyWrongPassphrase: "--passphrase-file TỆP hoặc biến SEALGATE_PASSPHRASE cho mật khẩu mà không phải gõ",
        .passphraseRequired: "--passphrase-file TỆP (chế độ 0600) hoặc biến SEALGATE_PASSPHRASE cho mật khẩu khi không có cửa sổ dòng lệnh để hỏi",
        .keyFileExists: "chọn tên khác cho --out (hoặc thêm --force ở lệnh có tham số này)",
        .packageTooLarge: "lệnh `open` và `verify` có tham số --max-size cho gói lớn hơn",
        .unitMismatch: "xem lại --unit và khóa --signer",
        .tlsUntrusted: "--ca-file TỆP (hoặc biến SEALGATE_CA_FILE) với chứng chỉ gốc (CA) đã ký chứng chỉ của máy chủ",
        .tlsClientRefused: "dùng --client-cert TỆP và --client-key TỆP",
        .tlsSetup: "dùng --tls-cert (chuỗi chứng chỉ, chứng chỉ của máy chủ đứng đầu), --tls-key, --client-ca",
        .handbookUnset: "kết nối bằng: sealgate handbook connect --data THƯ-MỤC --url URL --recipient handbook.pub --ack-key ack.pub",
        .ackInvalid: "đặt lại khóa xác nhận: sealgate handbook connect --data THƯ-MỤC --ack-key ack.pub",
        .logInconsistent: "sealgate log verify --gateway URL --trust trust.json --state TỆP chỉ ra mục bị sửa",
        .logBehind: "khôi phục bản mới hơn: sealgate restore --data THƯ-MỤC TỆP; hoặc sealgate log declare-fork --data THƯ-MỤC --reason LÝ-DO",
        .logFork: "khôi phục bản khớp: sealgate restore --data THƯ-MỤC TỆP; hoặc sealgate log declare-fork --data THƯ-MỤC --reason LÝ-DO",
        .spoolLocked: "serve --node TÊN cho mỗi tiến trình trên cùng thư mục dữ liệu một thư mục tạm riêng",
        .listenFailed: "--host ĐỊA-CHỈ và --port SỐ chọn nơi lắng nghe (--port 0: cổng trống bất kỳ)",
        .rotationSignatureInvalid: "ký bằng cả hai khóa: sealgate keys rotate-unit --unit MÃ --old KHÓA-CŨ.key --new KHÓA-MỚI.key",
    ],
]

/// The hints of the commands that make new keys (`keys generate`, `init`, `handbook init`): only
/// there can a key be made without a passphrase.
public let newKeyHints: Hints = [
    .en: [
        .passphraseRequired:
            "--passphrase-file FILE (mode 0600) or SEALGATE_PASSPHRASE give the new keys' passphrase when no terminal can ask for it;"
            + " --unencrypted makes keys without one (tests, demos)"
    ],
    .vi: [
        .passphraseRequired:
            "--passphrase-file TỆP (chế độ 0600) hoặc biến SEALGATE_PASSPHRASE cho mật khẩu của khóa mới khi không có cửa sổ dòng lệnh để hỏi;"
            + " --unencrypted tạo khóa không có mật khẩu (chỉ để thử nghiệm)"
    ],
]

public func exitStatus(for code: SealErrorCode) -> Int32 {
    switch code {
    case .usage, .outputExists, .keyFileExists: return 64
    case .ioError: return 74
    case .passphraseRequired, .keyWrongPassphrase, .keyFilePermissions, .keyMalformed, .keyUnsupported: return 77
    default: return 1  // a check failed: the package or input was refused
    }
}

public func printJSON(_ value: Any) {
    let ready = jsonReady(value)
    guard JSONSerialization.isValidJSONObject(ready),
        let data = try? JSONSerialization.data(withJSONObject: ready, options: [.sortedKeys, .withoutEscapingSlashes])
    else {
        // A value JSON cannot hold is a fault of this program: said, never printed as `{}`.
        say("error: internal_error: the result could not be written as JSON — report it with the command line")
        FileHandle.standardOutput.write(Data(#"{"error":{"code":"internal_error"},"ok":false}"#.utf8) + Data("\n".utf8))
        return
    }
    FileHandle.standardOutput.write(terminalSafeJSON(data) + Data("\n".utf8))
}

/// A command's result as JSON holds it: a moment as its text, an absent optional as null,
/// dictionaries and arrays walked.
public func jsonReady(_ value: Any) -> Any {
    switch value {
    case let t as Timestamp: return t.text
    case let d as [String: Any]: return d.mapValues(jsonReady)
    case let a as [Any]: return a.map(jsonReady)
    default:
        let m = Mirror(reflecting: value)
        if m.displayStyle == .optional { return m.children.first.map { jsonReady($0.value) } ?? NSNull() }
        return value
    }
}

/// JSON text with every character a terminal acts on that JSONSerialization leaves as it is — DEL,
/// C1 controls (U+009B is a CSI), format characters (bidirectional overrides), line and paragraph
/// separators — written as a `\u` escape: the same JSON value (such characters are only ever inside
/// strings), and text from elsewhere (a handbook endpoint's answer, an operator's reason) cannot
/// drive the screen it is printed on.
public func terminalSafeJSON(_ data: Data) -> Data {
    guard data.contains(where: { $0 >= 0x7F }), let text = String(data: data, encoding: .utf8) else { return data }
    var out = String.UnicodeScalarView()
    let acted: Set<Unicode.GeneralCategory> = [.control, .format, .lineSeparator, .paragraphSeparator]
    for s in text.unicodeScalars {
        if s.value >= 0x7F, acted.contains(s.properties.generalCategory) {
            for unit in String(s).utf16 { out.append(contentsOf: String(format: "\\u%04x", unit).unicodeScalars) }
        } else {
            out.append(s)
        }
    }
    return Data(String(out).utf8)
}

public func say(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Progress on stderr, only when stderr is a terminal and the work is over a few MiB.
public func progressReporter() -> ProgressHandler? {
    guard isatty(STDERR_FILENO) == 1 else { return nil }
    let state = ProgressState()
    return { stage, done, total in
        guard total >= 4 << 20 else { return }
        state.report(stage: stage, done: done, total: total)
    }
}

public final class ProgressState: Sendable {
    /// The last percentage and stage reported.
    private let last = Mutex<(percent: Int, stage: String)>((-1, ""))
    public func report(stage: String, done: UInt64, total: UInt64) {
        last.withLock { last in
            let pct = Int(done * 100 / max(total, 1))
            guard pct != last.percent || stage != last.stage else { return }
            last = (pct, stage)
            let mib = { (v: UInt64) in String(format: "%.1f", Double(v) / 1_048_576) }
            FileHandle.standardError.write(Data("\r\(stage): \(pct)% (\(mib(done))/\(mib(total)) MiB)\u{1B}[K".utf8))
            if done >= total { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }
}

/// Validates record inputs as `validate`, `normalize` and `seal` do (RecordCheck), warnings on stderr.
public func runValidation(
    _ paths: [String], today: CivilDate, crossUnit: Bool, defaultUnit: String? = nil, sink: (any NormalizedSink)? = nil,
    keep: Int = 10_000, perUnit: ((String, Int, Int) -> Void)? = nil
) throws -> RecordValidator {
    try RecordCheck.run(
        paths, today: today, crossUnit: crossUnit, defaultUnit: defaultUnit, sink: sink, keep: keep, warn: { say("warning: \($0)") },
        perUnit: perUnit)
}

extension Language: ExpressibleByArgument {}
extension ReportFormat: ExpressibleByArgument {}
