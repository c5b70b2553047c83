import ArgumentParser
import Desk
import Foundation
import PackageCommands
import SealBase
import SealCrypto

/// `sealgate desk`: the clerk's local web app (the Desk module) for a unit folder.
struct DeskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "desk",
        abstract: "The clerk's desk: check, seal and submit the unit's records in the browser (local only).",
        discussion: """
            Serves a web page on 127.0.0.1 at a free port and opens it in the default browser (xdg-open). The address printed carries a key of this launch: it opens once, in one browser, and the page then keeps a session cookie. Without a unit profile in the folder, the first page sets one up. Stops on Ctrl-C (SIGINT) or SIGTERM; the uploaded files are removed then.
            """)

    @Option(name: .long, help: "The unit folder (where sealgate-unit.json is, or will be written).") var folder: String = "."
    @Option(name: .long, help: "The port on 127.0.0.1 (0: any free port).") var port: Int = 0
    @Flag(name: .long, help: "Print the address only; do not open a browser.") var noBrowser = false
    @OptionGroup var lang: LangOption

    func run() async throws {
        try await runAsync(json: false) {
            guard (0...65535).contains(port) else { throw SealError(.usage, "the port must be 0 to 65535", remedy: "e.g. 0 for any free port") }
            let desk = try Desk(folder: folder, lang: lang.resolved)
            defer { desk.cleanUp() }
            let openPath = desk.openPath
            let noBrowser = noBrowser
            try await desk.run(port: port) { port in
                let url = "http://127.0.0.1:\(port)\(openPath)"
                FileHandle.standardOutput.write(Data("desk listening on http://127.0.0.1:\(port)\nopen: \(url)\n".utf8))
                say(
                    CommandLanguage.current == .vi
                        ? "Bàn làm việc đang chạy trên máy này. Địa chỉ \"open:\" ở trên mở được một lần, trong một trình duyệt; dừng bằng Ctrl-C."
                        : "The desk is running on this machine. The \"open:\" address above opens once, in one browser; stop it with Ctrl-C.")
                if !noBrowser { openBrowser(desk, url) }
            }
            return [:]
        }
    }
}

/// Opens `url` with xdg-open when there is one (a desktop session); else the printed address is the way in.
/// xdg-open gets the path of a page in the desk's private work folder that leads to `url`, never
/// the key itself (a command line is readable by every user).
func openBrowser(_ desk: Desk, _ url: String) {
    let candidates = ["/usr/bin/xdg-open", "/usr/local/bin/xdg-open"]
    guard let exe = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
        say(
            CommandLanguage.current == .vi
                ? "không có xdg-open: hãy mở địa chỉ trên trong trình duyệt" : "no xdg-open: open the address above in a browser")
        return
    }
    try? desk.openInBrowser(url) { path in
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = [path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
    }
}
