import Foundation
import TestSupport
import Testing

/// Docs that run. Each script in Tests/Scripts/ is a procedure of the docs written as steps
/// (testscript style) and run against the built `sealgate` in a fresh folder; each marked code
/// block of a doc (`<!-- script: Tests/Scripts/NAME.txt -->` before it) must have every one of
/// its `sealgate …` lines, verbatim, in that script. A doc that drifts from the program, or from
/// its script, fails here.
///
/// Script lines:
///
///     # comment
///     exec CMD ARGS…          must exit 0            ! exec CMD ARGS…   must exit non-zero
///     status N                the last exec's exit status is N
///     stdout 'REGEX'          the last exec's stdout matches (! stdout: does not); stderr alike
///     bg NAME CMD ARGS…       starts CMD in the background; `sealgate` is waited for until "listening on"
///     stop NAME               stops it (SIGTERM)
///     env KEY=VALUE           for the commands that follow
///     cp FROM TO / mkdir DIR / chmod MODE FILE / write FILE 'TEXT'
///     exists FILE             (! exists FILE)
///     capture NAME stdout|stderr 'REGEX'   sets $NAME to the regex's first group
///     # doc: A => B           the doc's placeholder A (a path, a host) is B in this script
///
/// `sealgate` (or `$SEALGATE` inside an argument) is the built binary; `$WORK` the script's folder; `$ROOT` the repository.
@Suite(.serialized)
struct DocScriptTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let scripts = root.appendingPathComponent("Tests/Scripts")

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

    @Test func everyDocProcedureHasItsScript() throws {
        #expect(Self.names.count >= 3, "Tests/Scripts holds \(Self.names)")
        var checked = 0
        for doc in ["README.md", "docs/keys.md", "docs/operations.md", "docs/scale-out.md"] {
            let text = try String(contentsOf: Self.root.appendingPathComponent(doc), encoding: .utf8)
            let lines = text.components(separatedBy: "\n")
            var i = 0
            var blocks = 0
            while i < lines.count {
                guard let r = lines[i].range(of: #"<!-- script: (Tests/Scripts/[a-z0-9-]+\.txt) -->"#, options: .regularExpression) else {
                    i += 1
                    continue
                }
                let path = String(lines[i][r].dropFirst("<!-- script: ".count).dropLast(" -->".count))
                let script = try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
                let steps = Set(script.components(separatedBy: "\n").map { Self.normalized($0.hasPrefix("! ") ? String($0.dropFirst(2)) : $0) })
                // `# doc: A => B` lines of the script: the doc's placeholder A is B in the script.
                let substitutions = script.components(separatedBy: "\n").compactMap { l -> (String, String)? in
                    guard l.hasPrefix("# doc: "), let r = l.range(of: " => ") else { return nil }
                    return (String(l[l.index(l.startIndex, offsetBy: 7)..<r.lowerBound]), String(l[r.upperBound...]))
                }
                // The code block that follows.
                var j = i + 1
                while j < lines.count, !lines[j].hasPrefix("    ") && !lines[j].hasPrefix("```") { j += 1 }
                let fenced = j < lines.count && lines[j].hasPrefix("```")
                if fenced { j += 1 }
                var command = ""
                while j < lines.count {
                    let l = lines[j]
                    if fenced ? l.hasPrefix("```") : !(l.hasPrefix("    ") || l.isEmpty) { break }
                    var code = fenced ? l : String(l.dropFirst(min(4, l.count)))
                    if let hash = code.range(of: "  #") { code = String(code[..<hash.lowerBound]) }
                    code = code.trimmingCharacters(in: .whitespaces)
                    if code.hasSuffix("\\") {
                        command += code.dropLast() + " "
                        j += 1
                        continue
                    }
                    command += code
                    for (a, b) in substitutions { command = command.replacingOccurrences(of: a, with: b) }
                    if command.hasPrefix("sealgate ") {
                        let n = Self.normalized("exec " + command)
                        let b = Self.normalized(command)
                        #expect(
                            steps.contains(n) || steps.contains { $0.hasPrefix("bg ") && $0.hasSuffix(" " + b) },
                            "\(doc): `\(command)` is not a step of \(path)")
                        checked += 1
                    }
                    command = ""
                    j += 1
                }
                blocks += 1
                i = j
            }
            #expect(blocks > 0, "\(doc) marks no block as a script")
        }
        #expect(checked >= 20, "only \(checked) documented commands were checked against scripts")
    }

    static func normalized(_ s: String) -> String { words(s).joined(separator: " ") }

    @Test(arguments: DocScriptTests.names)
    func scriptRuns(_ name: String) throws {
        let w = Workdir()
        var env: [String: String] = ["WORK": w.path, "ROOT": Self.root.path, "SEALGATE": CLI.sealgate]
        var last: CLI.Result?
        var background: [String: () -> Void] = [:]
        defer { for (_, stop) in background { stop() } }
        let text = try String(contentsOf: Self.scripts.appendingPathComponent(name), encoding: .utf8)
        for (n, raw) in text.components(separatedBy: "\n").enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            var negate = false
            var ws = Self.words(line).map { expand($0, env) }
            if ws.first == "!" {
                negate = true
                ws.removeFirst()
            }
            let at = "\(name):\(n + 1): \(line)"
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
