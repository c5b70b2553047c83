import Foundation
import TestSupport
import Testing

/// Docs that run. Each script in Tests/Scripts/ is a procedure of the docs written as steps
/// (testscript style) and run against the built `sealgate` in a fresh folder; each marked code
/// block of a doc (`<!-- script: Tests/Scripts/NAME.txt -->` before it) must have every one of
/// its command lines — `sealgate`, `curl`, `export`, `NAME=$(…)`, anything that is not a
/// comment — verbatim in that script. In README.md, docs/keys.md and docs/operations.md a code
/// block holding a command and no marker fails, unless `<!-- not-run: REASON -->` says why it
/// cannot run here; a variable one of their blocks uses (`$ADMIN`) is set in that block; and their
/// scripts set no passphrase the page does not show (no `env SEALGATE_PASSPHRASE=…`; an `export`
/// or `NAME=` step is a line of the page). A doc that drifts from the program, or from its script,
/// fails here.
///
/// Script lines:
///
///     # comment
///     exec CMD ARGS…          must exit 0            ! exec CMD ARGS…   must exit non-zero
///     sh SHELL LINE           /bin/sh -c with the line as written ($VARS, pipes, $(…)); ! sh: must fail
///     export K=V, K=V, K=$(CMD)   as the shell: sets K for the commands that follow ($(…) runs CMD, its stdout)
///     status N                the last exec's exit status is N
///     stdout 'REGEX'          the last exec's stdout matches (! stdout: does not); stderr alike
///     bg NAME CMD ARGS…       starts CMD in the background; `sealgate` is waited for until "listening on"
///     stop NAME               stops it (SIGTERM)
///     env KEY=VALUE           for the commands that follow (a setting the page does not show)
///     cp FROM TO / mkdir DIR / chmod MODE FILE / write FILE 'TEXT'
///     exists FILE             (! exists FILE)
///     capture NAME stdout|stderr 'REGEX'   sets $NAME to the regex's first group
///     # doc: A => B           the doc's placeholder A (a path, a host) is B in this script
///
/// `sealgate` (or `$SEALGATE` inside an argument; on the PATH of `sh` lines) is the built binary;
/// `$WORK` the script's folder; `$ROOT` the repository.
@Suite(.serialized)
struct DocScriptTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let scripts = root.appendingPathComponent("Tests/Scripts")
    /// Pages whose every command block runs or says why it cannot.
    static let strictDocs = ["README.md", "docs/keys.md", "docs/operations.md"]
    static let docs = strictDocs + ["docs/scale-out.md"]

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: scripts.path)) ?? []).filter { $0.hasSuffix(".txt") }.sorted()
    }

    /// Splits a line as a shell would split simple words: spaces, '…' and "…" quoting.
    static func words(_ line: String) -> [String] {
        var out: [String] = []
        var cur = ""
        var quote: Character?
        var started = false
        for c in line {
            if let q = quote {
                if c == q { quote = nil } else { cur.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c
                started = true
            } else if c == " " || c == "\t" {
                if started {
                    out.append(cur)
                    cur = ""
                    started = false
                }
            } else {
                cur.append(c)
                started = true
            }
        }
        if started { out.append(cur) }
        return out
    }

    /// A code block of a page: its marker (the `<!-- … -->` line right before it, blank lines
    /// between) and its commands, each with the page's line number.
    struct Block {
        var marker: String?
        var line: Int
        var commands: [(line: Int, text: String)]
    }

    /// Words that start a command line (for blocks with no marker: is there something to run?).
    static let programs: Set<String> = [
        "sealgate", "curl", "export", "kill", "minisign", "age", "tar", "python3", "sqlite3", "psql", "sudo", "openssl", "make", "nginx",
        "systemctl", "cp", "mv", "chmod", "install", "mkdir", "cat", "rm", "ln",
    ]

    static func isCommand(_ text: String) -> Bool {
        if text.hasPrefix("(") || text.hasPrefix("scripts/") { return true }
        if text.range(of: #"^[A-Za-z_][A-Za-z0-9_]*="#, options: .regularExpression) != nil { return true }
        return programs.contains(words(text).first ?? "")
    }

    /// The code blocks of a page (indented by four spaces or more after a blank line, or fenced),
    /// their lines joined as the shell reads them: a trailing `\` continues a line, a quote left
    /// open continues it too (a `python3 -c '…'` program; its lines are joined with "; "), comments
    /// (`#` lines, `  # …` at the end) dropped.
    static func blocks(_ text: String) -> [Block] {
        let lines = text.components(separatedBy: "\n")
        var out: [Block] = []
        var marker: String?
        var i = 0
        while i < lines.count {
            let l = lines[i]
            if l.trimmingCharacters(in: .whitespaces).hasPrefix("<!-- ") {
                marker = l.trimmingCharacters(in: .whitespaces)
                i += 1
                continue
            }
            let fenced = l.hasPrefix("```")
            let indented = l.hasPrefix("    ") && (i == 0 || lines[i - 1].trimmingCharacters(in: .whitespaces).isEmpty)
            guard fenced || indented else {
                if !l.trimmingCharacters(in: .whitespaces).isEmpty { marker = nil }
                i += 1
                continue
            }
            var block = Block(marker: marker, line: i + 1, commands: [])
            marker = nil
            var j = fenced ? i + 1 : i
            var command = ""
            var commandLine = 0
            while j < lines.count {
                let raw = lines[j]
                if fenced ? raw.hasPrefix("```") : !(raw.hasPrefix("    ") || raw.trimmingCharacters(in: .whitespaces).isEmpty) { break }
                var code = raw.trimmingCharacters(in: .whitespaces)
                j += 1
                if command.isEmpty && (code.hasPrefix("#") || code.isEmpty) { continue }
                if let hash = code.range(of: "  #") { code = String(code[..<hash.lowerBound]).trimmingCharacters(in: .whitespaces) }
                if command.isEmpty { commandLine = j }
                if code.hasSuffix("\\") {
                    command += code.dropLast() + " "
                    continue
                }
                command += code
                if Self.quoteLeftOpen(command) {
                    command += "; "
                    continue
                }
                block.commands.append((commandLine, command.trimmingCharacters(in: .whitespaces)))
                command = ""
            }
            out.append(block)
            i = fenced ? j + 1 : j
        }
        return out
    }

    /// Whether a '…' or "…" is still open at the end of the text (an apostrophe within "…" is no quote).
    static func quoteLeftOpen(_ text: String) -> Bool {
        var quote: Character?
        for c in text {
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            }
        }
        return quote != nil
    }

    /// A script's steps, in the forms a page's command may take there.
    struct Steps {
        var all: Set<String> = []
        var background: Set<String> = []
        var shell: Set<String> = []
        var substitutions: [(String, String)] = []
        var assignments: [(line: Int, text: String)] = []
        var passphraseEnv: [Int] = []

        init(_ script: String) {
            for (n, raw) in script.components(separatedBy: "\n").enumerated() {
                // `# doc: A => B` lines of the script: the doc's placeholder A is B in the script (B may be
                // empty, A may start with a space: the line is taken as it is).
                if raw.hasPrefix("# doc: "), let r = raw.range(of: " => ") {
                    substitutions.append((String(raw[raw.index(raw.startIndex, offsetBy: 7)..<r.lowerBound]), String(raw[r.upperBound...])))
                }
                let l = raw.trimmingCharacters(in: .whitespaces)
                if l.isEmpty || l.hasPrefix("#") { continue }
                let step = l.hasPrefix("! ") ? String(l.dropFirst(2)) : l
                let w = DocScriptTests.words(step)
                all.insert(DocScriptTests.normalized(step))
                if w.first == "bg", w.count > 2 { background.insert(w.dropFirst(2).joined(separator: " ")) }
                if w.first == "sh" { shell.insert(DocScriptTests.normalized(String(step.dropFirst(3)))) }
                if w.count == 4, w[0] == "exec", ["sh", "bash"].contains(w[1]), w[2] == "-c" { shell.insert(DocScriptTests.normalized(w[3])) }
                if DocScriptTests.assignment(step) != nil { assignments.append((n + 1, step)) }
                if w.first == "env", w.count > 1, w[1].hasPrefix("SEALGATE_PASSPHRASE=") { passphraseEnv.append(n + 1) }
            }
        }

        /// Whether a page's command (placeholders already mapped) is a step: as `exec`, as a
        /// background server, as a shell line, or as itself (`export`, `NAME=…`).
        func contain(_ command: String) -> Bool {
            let n = DocScriptTests.normalized(command)
            return all.contains(DocScriptTests.normalized("exec " + command)) || all.contains(n) || background.contains(n) || shell.contains(n)
        }

        func mapped(_ command: String) -> String {
            var c = command
            for (a, b) in substitutions { c = c.replacingOccurrences(of: a, with: b) }
            return c
        }
    }

    /// `NAME=VALUE` or `export NAME=VALUE` (the value as written): the name and the raw value.
    static func assignment(_ line: String) -> (name: String, value: String)? {
        let l = line.hasPrefix("export ") ? String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) : line
        guard let r = l.range(of: #"^[A-Za-z_][A-Za-z0-9_]*="#, options: .regularExpression) else { return nil }
        return (String(l[r].dropLast()), String(l[r.upperBound...]))
    }

    @Test func everyDocProcedureHasItsScript() throws {
        #expect(Self.names.count >= 3, "Tests/Scripts holds \(Self.names)")
        var checked = 0
        var strictScripts: [String: Set<String>] = [:]  // a strict page's script: the page's lines it holds, mapped
        for doc in Self.docs {
            let strict = Self.strictDocs.contains(doc)
            let text = try String(contentsOf: Self.root.appendingPathComponent(doc), encoding: .utf8)
            var marked = 0
            for block in Self.blocks(text) {
                let where_ = "\(doc):\(block.line)"
                guard let marker = block.marker, marker.hasPrefix("<!-- script: ") || marker.hasPrefix("<!-- not-run: ") else {
                    if strict, let c = block.commands.first(where: { Self.isCommand($0.text) }) {
                        let what = "\(doc):\(c.line): `\(c.text)` is in a block with no `<!-- script: Tests/Scripts/NAME.txt -->` before it"
                        Issue.record("\(what); add it to a script, or say why it cannot run with `<!-- not-run: REASON -->`")
                    }
                    continue
                }
                if marker.hasPrefix("<!-- not-run: ") {
                    let reason = marker.dropFirst("<!-- not-run: ".count).dropLast(" -->".count).trimmingCharacters(in: .whitespaces)
                    #expect(reason.count >= 12 && marker.hasSuffix(" -->"), "\(where_): `\(marker)` must say why the block cannot run")
                    continue
                }
                guard let r = marker.range(of: #"^<!-- script: (Tests/Scripts/[a-z0-9-]+\.txt) -->$"#, options: .regularExpression) else {
                    Issue.record("\(where_): `\(marker)` is not `<!-- script: Tests/Scripts/NAME.txt -->`")
                    continue
                }
                let path = String(marker[r].dropFirst("<!-- script: ".count).dropLast(" -->".count))
                let script = try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
                let steps = Steps(script)
                #expect(!block.commands.isEmpty, "\(where_): a marked block with no command")
                var defined: Set<String> = []  // variables the block sets before a command uses them
                for c in block.commands {
                    if strict {
                        for m in c.text.matches(of: /\$([A-Za-z_][A-Za-z0-9_]*)/) where !defined.contains(String(m.1)) {
                            Issue.record("\(doc):\(c.line): `$\(m.1)` is used in a block that does not set it (`\(m.1)=…` before it)")
                        }
                        if let a = Self.assignment(c.text) { defined.insert(a.name) }
                    }
                    let command = steps.mapped(c.text)
                    if strict || command.hasPrefix("sealgate ") {
                        let found = steps.contain(command)
                        #expect(found, "\(doc):\(c.line): `\(command)` is not a step of \(path)")
                        checked += 1
                    }
                    if strict { strictScripts[path, default: []].insert(Self.normalized(command)) }
                }
                marked += 1
            }
            #expect(marked > 0, "\(doc) marks no block as a script")
        }
        // What a strict page's script sets up must be on the page: no passphrase from `env`, and
        // every `export` or `NAME=…` step one of the page's lines.
        for (path, pageLines) in strictScripts {
            let steps = Steps(try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8))
            for n in steps.passphraseEnv {
                Issue.record("\(path):\(n): the passphrase is set where the page does not show it; export it on the page, or --passphrase-file")
            }
            for a in steps.assignments where !pageLines.contains(Self.normalized(a.text)) {
                Issue.record("\(path):\(a.line): `\(a.text)` is not a line of the page the script runs")
            }
        }
        #expect(checked >= 20, "only \(checked) documented commands were checked against scripts")
    }

    static func normalized(_ s: String) -> String { words(s).joined(separator: " ") }

    @Test(arguments: DocScriptTests.names)
    func scriptRuns(_ name: String) throws {
        let w = Workdir()
        // `sh` lines find the built `sealgate` first on the PATH, as a person's shell finds the installed one.
        let bin = URL(fileURLWithPath: CLI.sealgate).deletingLastPathComponent().path
        var env: [String: String] = [
            "WORK": w.path, "ROOT": Self.root.path, "SEALGATE": CLI.sealgate,
            "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
        ]
        // The pages' ports, each a free port for this run (suites run in parallel, and another
        // program may hold 8080): `127.0.0.1:8080`, `127.0.0.1/8080`, `"127.0.0.1",8080` and
        // `--port 8080` in a step are the mapped port, and a command that would take a fixed port by
        // default (`serve` 8080, `handbook serve` 8090, `init`'s intake URL) is given it.
        let ports = try PagePorts()
        var last: CLI.Result?
        var background: [String: () -> Void] = [:]
        defer { for (_, stop) in background { stop() } }
        let text = try String(contentsOf: Self.scripts.appendingPathComponent(name), encoding: .utf8)
        for (n, raw) in text.components(separatedBy: "\n").enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let at = "\(name):\(n + 1): \(line)"
            // Shell lines as a page writes them: `sh LINE`, `export K=V`, `K=V`, `K=$(CMD)`.
            let body = ports.mapped(line.hasPrefix("! ") ? String(line.dropFirst(2)) : line)
            if body.hasPrefix("sh ") {
                let r = try CLI.run("/bin/sh", ["-c", String(body.dropFirst(3))], cwd: w.path, env: env)
                last = r
                let failed = line.hasPrefix("! ")
                #expect((r.status == 0) != failed, "\(at): exit \(r.status)\n\(r.out)\(r.stderr)")
                if (r.status == 0) == failed { return }
                continue
            }
            if let (key, value) = Self.assignment(body) {
                if value.hasPrefix("$("), value.hasSuffix(")") {
                    let r = try CLI.run("/bin/sh", ["-c", String(value.dropFirst(2).dropLast())], cwd: w.path, env: env)
                    last = r
                    #expect(r.status == 0, "\(at): exit \(r.status)\n\(r.out)\(r.stderr)")
                    if r.status != 0 { return }
                    env[key] = String(r.out.reversed().drop { $0 == "\n" }.reversed())
                } else {
                    env[key] = expand(Self.words(value).joined(separator: " "), env)
                }
                continue
            }
            let negate = line.hasPrefix("! ")
            let ws = ports.defaulted(Self.words(body).map { expand($0, env) })
            guard let verb = ws.first else { continue }
            let args = Array(ws.dropFirst())
            switch verb {
            case "exec":
                let program = args[0] == "sealgate" ? CLI.sealgate : args[0]
                let r = try CLI.run(program, Array(args.dropFirst()), cwd: w.path, env: env)
                last = r
                if negate {
                    #expect(r.status != 0, "\(at): succeeded but should fail\n\(r.out)\(r.stderr)")
                } else {
                    #expect(r.status == 0, "\(at): exit \(r.status)\n\(r.out)\(r.stderr)")
                }
                if (r.status == 0) == negate { return }
            case "status":
                #expect(last?.status == Int32(args[0]), "\(at): exit \(last?.status ?? -1)\n\(last?.stderr ?? "")")
            case "stdout", "stderr":
                let out = verb == "stdout" ? (last?.out ?? "") : (last?.stderr ?? "")
                let found = out.range(of: args[0], options: .regularExpression) != nil
                #expect(found != negate, "\(at)\n--- \(verb):\n\(out.prefix(2000))")
            case "bg":
                if args[1] == "sealgate" {
                    let p = try GatewayProcess(arguments: Array(args.dropFirst(2)), cwd: w.path, env: env)
                    background[args[0]] = { p.stop() }
                } else {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    p.arguments = Array(args.dropFirst())
                    p.currentDirectoryURL = URL(fileURLWithPath: w.path)
                    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
                    p.standardOutput = FileHandle.nullDevice
                    p.standardError = FileHandle.nullDevice
                    try p.run()
                    background[args[0]] = {
                        if p.isRunning {
                            p.terminate()
                            p.waitUntilExit()
                        }
                    }
                }
            case "stop":
                background[args[0]]?()
                background[args[0]] = nil
            case "env":
                let kv = args[0].split(separator: "=", maxSplits: 1).map(String.init)
                env[kv[0]] = kv.count > 1 ? kv[1] : ""
            case "cp": try FileManager.default.copyItem(atPath: w.file(args[0]), toPath: w.file(args[1]))
            case "mkdir": try FileManager.default.createDirectory(atPath: w.file(args[0]), withIntermediateDirectories: true)
            case "chmod": _ = chmod(w.file(args[1]), mode_t(Int(args[0], radix: 8) ?? 0o600))
            case "write": w.write(args[0], args[1].replacingOccurrences(of: "\\n", with: "\n"))
            case "exists": #expect(w.exists(args[0]) != negate, "\(at)")
            case "capture":
                // capture NAME stdout|stderr 'REGEX with one group': env NAME = the group.
                let out = args[1] == "stdout" ? (last?.out ?? "") : (last?.stderr ?? "")
                guard let m = try Regex(args[2]).firstMatch(in: out), m.count > 1, let g = m[1].substring else {
                    Issue.record("\(at): nothing to capture in \(out.prefix(500))")
                    return
                }
                env[args[0]] = String(g)
            default: Issue.record("\(at): unknown step \(verb)")
            }
        }
    }

    func expand(_ s: String, _ env: [String: String]) -> String {
        var out = s
        // Longest names first: $SEALGATE_CA_FILE before $SEALGATE.
        for (k, v) in env.sorted(by: { $0.key.count > $1.key.count }) where out.contains("$" + k) {
            out = out.replacingOccurrences(of: "$" + k, with: v)
        }
        return out
    }
}

/// The fixed ports the pages show, each mapped to a free loopback port for one script run.
struct PagePorts {
    static let shown = [8080, 8081, 8090, 8443, 18443, 18444, 18500, 18501]
    let map: [Int: Int]

    init() throws {
        var map: [Int: Int] = [:]
        // Held together while chosen, so the eight are distinct.
        let held = try Self.shown.map { _ in try PortOccupant() }
        for (shown, socket) in zip(Self.shown, held) { map[shown] = socket.port }
        for socket in held { socket.close() }
        self.map = map
    }

    /// The line with every shown port in an address or after `--port` replaced by its free port.
    func mapped(_ line: String) -> String {
        line.replacing(/(127\.0\.0\.1[:\/]|"127\.0\.0\.1",\s*|--port\s+)(\d{4,5})(?!\d)/) { m in
            guard let n = Int(m.output.2), let port = map[n] else { return String(m.output.0) }
            return String(m.output.1) + String(port)
        }
    }

    /// A step's words, with the port a command would take by default made explicit: `serve`
    /// (8080), `handbook serve` (8090), `init`'s intake URL (http://127.0.0.1:8080).
    func defaulted(_ words: [String]) -> [String] {
        var ws = words
        guard let i = ws.firstIndex(of: "sealgate") ?? ws.firstIndex(where: { $0.hasSuffix("/sealgate") }) else { return ws }
        let rest = ws[(i + 1)...]
        if rest.first == "serve", !rest.contains("--port") {
            ws += ["--port", String(map[8080]!)]
        } else if rest.starts(with: ["handbook", "serve"]), !rest.contains("--port") {
            ws += ["--port", String(map[8090]!)]
        } else if rest.first == "init", !rest.contains("--intake-url") {
            ws += ["--intake-url", "http://127.0.0.1:\(map[8080]!)"]
        }
        return ws
    }
}
