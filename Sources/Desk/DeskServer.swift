public import Foundation
import GatewayClient
import GatewayCore
import GatewayHTTP
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PartyRecords
public import SealBase
import SealCrypto
import SealPackage
import UnitWork

/// The clerk's desk: a local web app over `UnitWork` (the one code path of the unit's work) on
/// 127.0.0.1 at a free port. `DeskGuard` stands before every page; the pages are `Pages`; the
/// long steps run as jobs whose pages refresh themselves.
public struct Desk: Sendable {
    let state: DeskState
    /// Uploads of one request are at most this (all files together).
    public static let maxUploadBytes = 200 << 20

    /// A desk for the unit folder `folder` (which may not hold a profile yet). Creates the
    /// private work folder (0700) inside it, locked (`flock`) for the desk's lifetime, and removes
    /// any a desk that did not end cleanly left (a work folder whose lock is free); a desk running
    /// on the same folder keeps its own.
    public init(folder: String, lang: Language) throws {
        let abs = URL(fileURLWithPath: folder).standardizedFileURL.path
        let fm = FileManager.default
        try fm.createDirectory(atPath: abs, withIntermediateDirectories: true)
        for name in (try? fm.contentsOfDirectory(atPath: abs)) ?? [] where name.hasPrefix(".desk-work-") {
            let dir = "\(abs)/\(name)"
            let fd = open("\(dir)/\(Self.lockName)", O_RDWR | O_CLOEXEC | O_NOFOLLOW)
            if fd < 0 {
                // No lock file: not a desk's folder being made (made under another name, then renamed).
                if errno == ENOENT { try? fm.removeItem(atPath: dir) }
                continue
            }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { try? fm.removeItem(atPath: dir) }
            close(fd)
        }
        // Made under a name the cleanup above skips, locked, then renamed: never seen unlocked.
        let id = hexString(SecureRandom.bytes(6))
        let fresh = "\(abs)/.desk-new-\(id)"
        let work = "\(abs)/.desk-work-\(id)"
        let fd: Int32
        do {
            try fm.createDirectory(atPath: fresh, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            fd = open("\(fresh)/\(Self.lockName)", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            guard rename(fresh, work) == 0 else {
                close(fd)
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
        } catch {
            try? fm.removeItem(atPath: fresh)
            throw SealError(.ioError, "cannot create the desk's work folder in \(abs)", remedy: "check the folder's permissions", cause: error)
        }
        state = DeskState(folderPath: abs, workPath: work, lockFD: fd, lang: lang)
    }

    /// The work folder's lock file.
    static let lockName = "lock"

    /// The path to open first (with the per-launch key); valid once.
    public var openPath: String { state.base + "/open?key=" + (state.with { $0.launchKey } ?? "") }

    /// Hands the opening address to `opener` without putting the key on a command line (any user
    /// reads /proc/*/cmdline): a page (0600, in the private work folder) that leads to `url` is
    /// written, and `opener` gets its path. The page is removed once the key is redeemed, or at exit.
    public func openInBrowser(_ url: String, opener: (String) throws -> Void) throws {
        let path = "\(state.workPath)/open-\(hexString(SecureRandom.bytes(6))).html"
        let target = HTML.esc(url)
        let page = """
            <!DOCTYPE html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">\
            <meta http-equiv="refresh" content="0;url=\(target)"><title>sealgate desk</title></head>\
            <body><p><a href="\(target)">sealgate desk</a></p></body></html>

            """
        guard FileManager.default.createFile(atPath: path, contents: Data(page.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SealError(.ioError, "cannot write into the desk's work folder", remedy: "check the free disk space")
        }
        state.with { $0.launcherFile = path }
        try opener(path)
    }

    /// Removes the work folder (the uploaded records) and lets its lock go: at exit.
    public func cleanUp() {
        try? FileManager.default.removeItem(atPath: state.workPath)
        if state.lockFD >= 0 { close(state.lockFD) }
    }

    /// The web server's own lines (requests, "started") stay out of the clerk's terminal: only
    /// warnings and errors are printed.
    static var quietLogger: Logger {
        var l = Logger(label: "sealgate-desk")
        l.logLevel = .warning
        return l
    }

    /// Serves until SIGTERM or SIGINT. `onRunning` gets the port.
    public func run(port: Int, onRunning: @escaping @Sendable (Int) async -> Void) async throws {
        var listen = ListenSettings()
        listen.host = "127.0.0.1"
        listen.port = port
        // A clerk's upload over loopback is fast; a client that stalls is cut off as the gateway's are.
        listen.maxConnections = 32
        try listen.validate()
        let router = Router(context: DeskContext.self)
        router.add(middleware: DeskGuard(state: state))
        DeskRoutes(state: state).add(to: router)
        let state = state
        let listening = ListeningFlag()
        let app = Application(
            router: router, server: try listen.serverBuilder(identity: nil),
            configuration: listen.applicationConfiguration(serverName: "sealgate-desk"),
            onServerRunning: { channel in
                listening.set()
                let p = channel.localAddress?.port ?? port
                state.with { $0.port = p }
                await onRunning(p)
            }, logger: Self.quietLogger)
        do { try await app.runService() } catch {
            guard !listening.isSet, let e = listen.listenFailure(ifBindError: error) else { throw error }
            throw e
        }
    }
}

struct DeskRoutes: Sendable {
    let state: DeskState

    /// Every route is under `/s/{secret}` (`DeskGuard` checks the segment in constant time; the
    /// router only takes it as a parameter); anything else reaches the guard alone, and is refused.
    func add(to router: Router<DeskContext>) {
        let g = router.group("s/{desk_secret}")
        g.get("/") { r, c in try await home(r, c) }
        g.post("/setup") { r, c in try await setup(r, c) }
        g.post("/lang") { r, c in lang(r, c) }
        g.post("/upload") { r, c in try await upload(r, c) }
        g.get("/findings") { r, c in try findings(r, c) }
        g.get("/findings.csv") { r, c in findingsCSV(r, c) }
        g.post("/seal") { r, c in try await seal(r, c) }
        g.get("/job/{id}") { r, c in job(r, c) }
        g.get("/package/{id}") { r, c in try package(r, c) }
        g.post("/package/{id}/send") { r, c in try resend(r, c) }
        g.get("/history") { r, c in try history(r, c) }
        g.get("/correction") { r, c in correction(r, c) }
        g.post("/correction/add") { r, c in correctionAdd(r, c) }
        g.post("/correction/clear") { r, c in correctionClear(r, c) }
        g.post("/correction/check") { r, c in try correctionCheck(r, c) }
        g.get("/static/desk.css") { _, _ in asset(HTML.css, "text/css; charset=utf-8") }
        g.get("/static/desk.js") { _, _ in asset(HTML.js, "text/javascript; charset=utf-8") }
        g.get("/**") { r, c in page(Pages.notFound(chrome(r, unit: nil)), status: .notFound) }
    }

    // MARK: Helpers

    /// A page's chrome; its `path` is the page's own path under the launch's prefix.
    func chrome(_ r: Request, unit: String?, refresh: Int? = nil) -> HTML.Chrome {
        let (lang, csrf) = state.with { ($0.lang, $0.csrf) }
        let path = r.uri.path.hasPrefix(state.base + "/") ? String(r.uri.path.dropFirst(state.base.utf8.count)) : "/"
        return HTML.Chrome(lang: lang, csrf: csrf, base: state.base, unit: unit, path: path, refresh: refresh)
    }

    func page(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        var h = HTTPFields()
        h[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func asset(_ text: String, _ type: String) -> Response {
        var h = HTTPFields()
        h[.contentType] = type
        return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A redirect to `to`, a path of the desk (`/findings`): under the launch's prefix.
    func redirect(_ to: String) -> Response {
        var h = HTTPFields()
        h[.location] = state.base + to
        return Response(status: .seeOther, headers: h)
    }

    /// The unit folder, or the setup page's redirect.
    func requireFolder() throws -> UnitFolder? { try state.unitFolder() }

    // MARK: Setup and home

    func home(_ r: Request, _ c: DeskContext) async throws -> Response {
        guard let folder = try requireFolder() else {
            return page(Pages.setup(chrome(r, unit: nil), folder: state.folderPath, problem: state.takeNotice("setup")))
        }
        let batch = state.with { $0.batch }
        return page(Pages.home(chrome(r, unit: folder.profile.unit), profile: folder.profile, batch: batch, problem: state.takeNotice("home")))
    }

    func setup(_ r: Request, _ c: DeskContext) async throws -> Response {
        guard try requireFolder() == nil, let form = c.form else { return redirect("/") }
        func path(_ name: String) -> String? {
            guard let v = form[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v.hasPrefix("/") ? v : "\(state.folderPath)/\(v)"
        }
        do {
            guard let unit = form["unit"]?.trimmingCharacters(in: .whitespaces), let gateway = form["gateway"]?.trimmingCharacters(in: .whitespaces),
                let root = path("root"), let key = path("signing_key")
            else {
                throw SealError(.usage, "the unit id, the gateway, the trust root and the signing key are all needed", remedy: "fill in every field")
            }
            guard gateway.hasPrefix("https://") || gateway.hasPrefix("http://") else {
                throw SealError(
                    .usage, "the gateway's address starts with https:// (or http:// on this machine)", remedy: "copy it as the department gave it")
            }
            let f = try UnitFolder.create(
                state.folderPath, unit: unit, gateway: gateway, root: root, signingKey: key, caFile: path("ca_file"), tokenFile: path("token_file"))
            var work = UnitWork(folder: f)
            do {
                try await GatewayClient.withClient(work.clientSettings()) { http in
                    _ = try await work.currentTrust(http, force: true)
                    try await work.learnGatewaySeq(http)
                }
            } catch let e as SealError {
                state.notice("home", e)
            }
        } catch let e as SealError {
            state.notice("setup", e)
        }
        return redirect("/")
    }

    func lang(_ r: Request, _ c: DeskContext) -> Response {
        if let l = c.form?["lang"].flatMap(Language.init(rawValue:)) { state.with { $0.lang = l } }
        let back = c.form?["back"] ?? "/"
        let safe = Self.safeBack(back) ? back : "/"
        return redirect(safe)
    }

    /// A path of this desk to come back to, never another host: one `/` first (not `//`, not
    /// `/\`), no byte ≤ 0x20 or 0x7F anywhere (a browser drops a tab: `/\t/evil` is `//evil`).
    static func safeBack(_ back: String) -> Bool {
        back.hasPrefix("/") && !back.hasPrefix("//") && !back.contains("\\") && back.utf8.count < 200
            && back.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F }
    }

    // MARK: Records in, findings out

    func upload(_ r: Request, _ c: DeskContext) async throws -> Response {
        guard try requireFolder() != nil else { return redirect("/") }
        if r.declaredLength(over: Desk.maxUploadBytes) != nil {
            throw DeskRefusal(.contentTooLarge, .bodyTooLarge, "the files are larger than 200 MiB together", remedy: "send fewer or smaller files")
        }
        guard let boundary = Multipart.boundary(contentType: r.headers[.contentType] ?? "") else {
            throw DeskRefusal(.badRequest, .badRequest, "not a file upload form", remedy: "use the desk's own pages")
        }
        let batchID = hexString(SecureRandom.bytes(8))
        let dir = "\(state.workPath)/batch-\(batchID)"
        let raw = "\(state.workPath)/upload-\(batchID).part"
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? fm.removeItem(atPath: raw) }
        // The body streams to a file (0600), bounded; then it is split into its files.
        guard fm.createFile(atPath: raw, contents: nil, attributes: [.posixPermissions: 0o600]), let out = FileHandle(forWritingAtPath: raw) else {
            throw SealError(.ioError, "cannot write into the desk's work folder", remedy: "check the free disk space")
        }
        var total = 0
        do {
            for try await chunk in r.body {
                total += chunk.readableBytes
                guard total <= Desk.maxUploadBytes else {
                    try? out.close()
                    try? fm.removeItem(atPath: dir)
                    throw DeskRefusal(
                        .contentTooLarge, .bodyTooLarge, "the files are larger than 200 MiB together", remedy: "send fewer or smaller files")
                }
                try out.write(contentsOf: chunk.readableBytesView)
            }
            try out.close()
        }
        let parts: [Multipart.Part]
        do { parts = try Multipart.parse(file: raw, boundary: boundary, into: dir) } catch let m as Multipart.Malformed {
            try? fm.removeItem(atPath: dir)
            throw DeskRefusal(
                .badRequest, .badRequest, "the upload is malformed: \(m.why)", remedy: "choose the files again and send them from the desk's page")
        }
        var files: [String] = []
        var problem: SealError?
        for (i, p) in parts.enumerated() where p.name == "files" {
            guard let path = p.path, let name = p.filename, !name.isEmpty else { continue }
            let lower = name.lowercased()
            if lower.hasSuffix(".xlsx") {
                let dest = "\(dir)/workbook-\(i).xlsx"
                try fm.moveItem(atPath: path, toPath: dest)
                files.append(dest)
            } else if lower.hasSuffix(".csv") {
                // Named for what its header says (the package carries organizations.csv, members.csv, corrections.csv).
                let probe = "\(dir)/upload-\(i).csv"
                try fm.moveItem(atPath: path, toPath: probe)
                do {
                    let kind = try RecordInputs.resolve([probe], defaultUnit: "X").first?.files.keys.first
                    guard let kind, !fm.fileExists(atPath: "\(dir)/\(kind.rawValue)") else {
                        problem = SealError(
                            .recordsUnreadable, "\(name): two files of the same kind",
                            remedy: "give the organizations and members files, or the corrections file")
                        continue
                    }
                    try fm.moveItem(atPath: probe, toPath: "\(dir)/\(kind.rawValue)")
                    files.append("\(dir)/\(kind.rawValue)")
                } catch let e as RecordInputError {
                    problem = SealError(
                        .recordsUnreadable, "\(name): \(e.reason)", remedy: "give the organizations and members files, or the corrections file")
                }
            } else {
                problem = SealError(
                    .recordsUnreadable, "\(name) is neither a workbook (.xlsx) nor a CSV file", remedy: "save the sheets as .xlsx or CSV UTF-8")
            }
        }
        if files.isEmpty, problem == nil {
            problem = SealError(.recordsUnreadable, "no file was chosen", remedy: "choose the workbook, or the CSV files")
        }
        return startCheck(Batch(id: batchID, dir: dir, files: files, failure: problem))
    }

    /// Replaces the batch (the last one's files removed) and checks it as a job.
    func startCheck(_ batch: Batch) -> Response {
        let old = state.with { s -> Batch? in
            let o = s.batch
            s.batch = batch
            return o
        }
        if let old, old.dir != batch.dir { try? FileManager.default.removeItem(atPath: old.dir) }
        if batch.failure != nil { return redirect("/findings") }
        let state = state
        let id = Jobs.start(state, .check) { job in
            var b = batch
            do {
                guard let folder = try state.unitFolder() else { return "/" }
                let work = UnitWork(folder: folder)
                job.stage(.stageCheck)
                b.kind = try UnitWork.kind(of: b.files, unit: folder.profile.unit)
                let v = try work.validate(b.files)
                v.sortFindings()
                let s = v.units.first
                b.report = Findings(
                    rows: v.findings, errors: v.errorCount, warnings: v.warningCount, organizations: s?.organizations ?? 0, members: s?.members ?? 0,
                    corrections: s?.corrections ?? 0, dropped: v.findingsDropped)
            } catch let e as SealError {
                b.failure = e
            } catch {
                b.failure = SealError(.recordsUnreadable, "the files cannot be read", remedy: "save them again as .xlsx or CSV UTF-8")
            }
            state.with { s in if s.batch?.id == b.id { s.batch = b } }
            return "/findings"
        }
        return redirect("/job/\(id)")
    }

    func findings(_ r: Request, _ c: DeskContext) throws -> Response {
        guard let folder = try requireFolder() else { return redirect("/") }
        let batch = state.with { $0.batch }
        return page(Pages.findings(chrome(r, unit: folder.profile.unit), batch: batch, problem: state.takeNotice("findings")))
    }

    /// The findings as CSV for Excel: UTF-8 with a BOM, CRLF lines, the page's language.
    func findingsCSV(_ r: Request, _ c: DeskContext) -> Response {
        let (batch, lang) = state.with { ($0.batch, $0.lang) }
        let t = DeskText.table(lang)
        let w = CSVWriter()
        try? w.record([t[.colFile], t[.colRow], t[.colColumn], t[.colRule], t[.colSeverity], t[.colValue], t[.colMessage], t[.colFix]])
        for f in batch?.report?.rows ?? [] {
            let row = Pages.FindingText(f, lang)
            try? w.record([row.file, String(f.line), f.column, f.rule, row.severity, Self.cellSafe(f.original), row.message, row.fix])
        }
        var h = HTTPFields()
        h[.contentType] = "text/csv; charset=utf-8"
        h[.contentDisposition] = "attachment; filename=\"findings.csv\""
        var buffer = ByteBuffer(bytes: [0xEF, 0xBB, 0xBF])
        buffer.writeBytes(w.bytes)
        return Response(status: .ok, headers: h, body: .init(byteBuffer: buffer))
    }

    /// A value Excel would take for a formula (=, +, -, @ first) is kept as text (a leading ').
    static func cellSafe(_ s: String) -> String {
        guard let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return s }
        return "'" + s
    }

    // MARK: Sealing and sending

    func seal(_ r: Request, _ c: DeskContext) async throws -> Response {
        guard let folder = try requireFolder(), let form = c.form else { return redirect("/") }
        guard let batch = state.with({ $0.batch }), let report = batch.report, report.errors == 0, batch.failure == nil else {
            return redirect("/findings")
        }
        // The passphrase: from the form's bytes into SecureBytes, for this request only.
        // Copied from the form's own storage (no second reference to it: the wipe zeroes that
        // storage in place, not a copy-on-write copy of it).
        let passphrase = form.secret("passphrase")
        form.wipe()
        let key: MinisignSecretKey
        do { key = try MinisignSecretKey.load(path: folder.signingKeyPath, passphrase: { passphrase }) } catch let e as SealError {
            state.notice("findings", e)
            return redirect("/findings")
        }
        let state = state
        let before = folder.profile.history.count
        let id = Jobs.start(state, .send) { job in
            do {
                var work = UnitWork(folder: folder)
                job.stage(.stageTrust)
                let (sealed, _) = try await GatewayClient.withClient(work.clientSettings()) { http in
                    try await work.sealAndSubmit(batch.files, signer: key, http, progress: job.progress)
                }
                Self.dropBatch(state, batch)
                return "/package/\(sealed.entry.packageId)"
            } catch {
                let e = (error as? SealError) ?? SealError(.internalError, "sealing stopped unexpectedly", remedy: "try again")
                // A package sealed before the failure (the gateway could not be reached) is kept: its page offers to send it again.
                if let f = try? state.unitFolder(), f.profile.history.count > before, let last = f.profile.history.last {
                    Self.dropBatch(state, batch)
                    state.notice(last.packageId, e)
                    return "/package/\(last.packageId)"
                }
                state.notice("findings", e)
                return "/findings"
            }
        }
        return redirect("/job/\(id)")
    }

    /// The records of a batch, once sealed, are no longer needed on disk.
    static func dropBatch(_ state: DeskState, _ batch: Batch) {
        try? FileManager.default.removeItem(atPath: batch.dir)
        state.with { s in if s.batch?.id == batch.id { s.batch = nil } }
    }

    func resend(_ r: Request, _ c: DeskContext) throws -> Response {
        guard let folder = try requireFolder(), let id = c.parameters.get("id"),
            folder.profile.history.contains(where: { $0.packageId == id && $0.status == nil })
        else { return redirect("/history") }
        let state = state
        let job = Jobs.start(state, .resend) { job in
            do {
                var work = UnitWork(folder: folder)
                job.stage(.stageSend)
                _ = try await GatewayClient.withClient(work.clientSettings()) { http in
                    let trust = try await work.currentTrust(http).document
                    return try await work.submit(packageId: id, http, trust: trust)
                }
            } catch {
                state.notice(id, (error as? SealError) ?? SealError(.internalError, "sending stopped unexpectedly", remedy: "try again"))
            }
            return "/package/\(id)"
        }
        return redirect("/job/\(job)")
    }

    func job(_ r: Request, _ c: DeskContext) -> Response {
        guard let id = c.parameters.get("id"), let j = state.with({ $0.jobs[id] }) else { return redirect("/") }
        if j.finished {
            _ = state.with { $0.jobs.removeValue(forKey: id) }
            return redirect(j.next)
        }
        let unit = try? state.unitFolder()?.profile.unit
        return page(Pages.job(chrome(r, unit: unit, refresh: 1), j))
    }

    func package(_ r: Request, _ c: DeskContext) throws -> Response {
        guard let folder = try requireFolder(), let id = c.parameters.get("id"),
            let entry = folder.profile.history.first(where: { $0.packageId == id })
        else { return page(Pages.notFound(chrome(r, unit: nil)), status: .notFound) }
        var view = Pages.ReceiptView(entry: entry, unit: folder.profile.unit)
        if let rel = entry.receipt, let text = try? String(contentsOfFile: folder.resolve(rel), encoding: .utf8),
            let sig = try? String(contentsOfFile: folder.resolve(rel) + ".minisig", encoding: .utf8)
        {
            view.receipt = try? JSON(parsing: text)
            // Checked again now, each sentence on its own: the signature, then the log inclusion.
            let trust = try? UnitWork(folder: folder).heldTrust()
            if let trust, let parsed = try? MinisignSignature(fileContents: sig) {
                let at = view.receipt?["decided_at"]?.string?.moment
                if let key = try? trust.signer("receipt", keyId: parsed.keyId, signedAt: at) {
                    view.signatureChecked = (try? Receipt.verify(text: text, signature: sig, key: key)) != nil
                }
                view.logChecked = (try? Receipt.verify(text: text, signature: sig, trust: trust)) != nil
            }
        }
        return page(Pages.package(chrome(r, unit: folder.profile.unit), view, problem: state.takeNotice(id)))
    }

    func history(_ r: Request, _ c: DeskContext) throws -> Response {
        guard let folder = try requireFolder() else { return redirect("/") }
        return page(Pages.history(chrome(r, unit: folder.profile.unit), profile: folder.profile))
    }

    // MARK: Corrections

    func correction(_ r: Request, _ c: DeskContext) -> Response {
        guard let folder = try? requireFolder() else { return redirect("/") }
        let draft = state.with { $0.draft }
        return page(Pages.correction(chrome(r, unit: folder.profile.unit), draft: draft, problem: state.takeNotice("correction")))
    }

    func correctionAdd(_ r: Request, _ c: DeskContext) -> Response {
        guard let form = c.form else { return redirect("/correction") }
        let row = ["citizen_id", "field", "old_value", "new_value", "reason", "reported_at"].map {
            (form[$0] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        state.with { if $0.draft.count < 10_000 { $0.draft.append(row) } }
        return redirect("/correction")
    }

    func correctionClear(_ r: Request, _ c: DeskContext) -> Response {
        state.with { $0.draft = [] }
        return redirect("/correction")
    }

    /// The rows typed become corrections.csv in the private folder, checked like an upload.
    func correctionCheck(_ r: Request, _ c: DeskContext) throws -> Response {
        let draft = state.with { $0.draft }
        guard !draft.isEmpty else { return redirect("/correction") }
        let batchID = hexString(SecureRandom.bytes(8))
        let dir = "\(state.workPath)/batch-\(batchID)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let w = CSVWriter()
        try w.record(RecordFile.corrections.columns)
        for row in draft { try w.record(row) }
        let path = "\(dir)/\(RecordFile.corrections.rawValue)"
        guard FileManager.default.createFile(atPath: path, contents: Data(w.bytes), attributes: [.posixPermissions: 0o600]) else {
            throw SealError(.ioError, "cannot write into the desk's work folder", remedy: "check the free disk space")
        }
        state.with { $0.draft = [] }
        return startCheck(Batch(id: batchID, dir: dir, files: [path]))
    }
}

/// The long steps: each runs as a task; its page (`/job/ID`) refreshes itself until it is done.
enum Jobs {
    struct Handle: Sendable {
        let state: DeskState
        let id: String
        func stage(_ k: DeskKey) {
            state.with { s in
                s.jobs[id]?.stage = k
                s.jobs[id]?.done = 0
                s.jobs[id]?.total = 0
            }
        }
        var progress: ProgressHandler {
            let (state, id) = (state, id)
            return { stage, done, total in
                state.with { s in
                    s.jobs[id]?.stage = stage == "hash" ? .stageHash : .stageSeal
                    s.jobs[id]?.done = done
                    s.jobs[id]?.total = total
                }
            }
        }
    }

    static func start(_ state: DeskState, _ kind: Job.Kind, _ work: @escaping @Sendable (Handle) async -> String) -> String {
        let id = hexString(SecureRandom.bytes(8))
        state.with { $0.jobs[id] = Job(id: id, kind: kind) }
        Task.detached {
            let next = await work(Handle(state: state, id: id))
            state.with { s in
                s.jobs[id]?.finished = true
                s.jobs[id]?.next = next
            }
        }
        return id
    }
}
