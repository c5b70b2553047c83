import Foundation

/// What the load generator sends, and from which client to which server: package files grouped by
/// unit (a unit submits in seq order), units shared out over the clients in name order, client i
/// posting to server i mod n.
struct LoadPlan: Sendable {
    /// One unit's packages, in seq order.
    struct Unit: Sendable, Equatable {
        var name: String
        var files: [String]
    }

    /// One client: one keep-alive connection to one server, posting its units' packages one after another.
    struct Client: Sendable, Equatable {
        var server: URL
        var units: [Unit]
        var packageCount: Int { units.reduce(0) { $0 + $1.files.count } }
    }

    var clients: [Client]
    var packageCount: Int { clients.reduce(0) { $0 + $1.packageCount } }

    /// Splits a package file's name `<unit>-<seq>.sgp` into the unit and the seq; a name whose last
    /// `-` part is not a number is a unit of its own with seq 0 (`HCM-U001.sgp` is unit `HCM-U001`).
    static func unitAndSeq(of path: String) -> (unit: String, seq: Int) {
        let file = (path as NSString).lastPathComponent
        let stem = file.hasSuffix(".sgp") ? String(file.dropLast(4)) : file
        if let dash = stem.lastIndex(of: "-") {
            let tail = stem[stem.index(after: dash)...]
            if !tail.isEmpty, tail.count <= 18, tail.allSatisfy({ $0.isASCII && $0.isNumber }), let seq = Int(tail) {
                return (String(stem[..<dash]), seq)
            }
        }
        return (stem, 0)
    }

    /// Groups `files` by unit (seq order within a unit, then the path), deals the units out over
    /// `clients` clients in name order, and gives client i the server i mod n. Fewer units than
    /// clients leaves the extra clients out: a unit is never split.
    static func make(files: [String], clients: Int, servers: [URL]) -> LoadPlan {
        precondition(clients > 0 && !servers.isEmpty)
        var byUnit: [String: [(seq: Int, path: String)]] = [:]
        for f in files {
            let (unit, seq) = unitAndSeq(of: f)
            byUnit[unit, default: []].append((seq, f))
        }
        let units = byUnit.keys.sorted().map { name in
            Unit(name: name, files: byUnit[name]!.sorted { ($0.seq, $0.path) < ($1.seq, $1.path) }.map(\.path))
        }
        var out = (0..<min(clients, units.count)).map { Client(server: servers[$0 % servers.count], units: []) }
        for (i, u) in units.enumerated() { out[i % out.count].units.append(u) }
        return LoadPlan(clients: out)
    }

    /// The package files named: a folder stands for the `*.sgp` files directly inside it.
    static func expand(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else { throw LoadError("no such file or folder: \(p)") }
            if isDir.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: p).filter { $0.hasSuffix(".sgp") }.sorted()
                out += names.map { (p as NSString).appendingPathComponent($0) }
            } else {
                out.append(p)
            }
        }
        return out
    }

    /// A server URL the generator may load: `http://` on a loopback address (127.0.0.0/8, ::1,
    /// localhost), with a port; anything else is refused with the reason.
    static func loopbackServer(_ text: String) throws -> URL {
        guard let u = URL(string: text), let scheme = u.scheme?.lowercased(), let rawHost = u.host?.lowercased() else {
            throw LoadError("not a URL: \(text) (give e.g. http://127.0.0.1:8443)")
        }
        guard scheme == "http" else { throw LoadError("\(text): only plain http:// to a gateway on this machine is loaded") }
        let host = rawHost.hasPrefix("[") && rawHost.hasSuffix("]") ? String(rawHost.dropFirst().dropLast()) : rawHost
        guard isLoopback(host) else {
            throw LoadError("\(text): \(host) is not a loopback address — the load generator only loads 127.0.0.0/8, ::1 or localhost")
        }
        guard u.port != nil else { throw LoadError("\(text): name the port (the one `sealgate serve` printed)") }
        return u
    }

    /// 127.0.0.0/8 written as four decimal parts, ::1 (also written out), or localhost.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.first == "127" else { return false }
        return parts.allSatisfy { p in !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && Int(p)! <= 255 }
    }
}

/// A refusal of the load generator's own (a usage error): printed, exit status 2.
struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
