import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// CPU seconds (user + system) of a process: a server's from /proc/<pid>/stat, the generator's own
/// from getrusage.
enum ProcessCPU {
    /// utime + stime from the text of /proc/<pid>/stat, in clock ticks. The command name (field 2)
    /// is in parentheses and may hold spaces and `)`: the fields are counted after the last `)`.
    static func ticks(statLine: String) -> UInt64? {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        let rest = statLine[statLine.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // rest[0] is field 3 (state): utime is field 14, stime field 15.
        guard rest.count > 12, let user = UInt64(rest[11]), let system = UInt64(rest[12]) else { return nil }
        return user + system
    }

    /// A server process's CPU seconds so far; nil when it cannot be read (gone, not ours, not Linux).
    static func seconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let t = ticks(statLine: text) else { return nil }
        let hz = sysconf(Int32(_SC_CLK_TCK))
        return Double(t) / Double(hz > 0 ? hz : 100)
    }

    /// This process's own CPU seconds so far (all threads).
    static func own() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(u.ru_utime) + s(u.ru_stime)
    }
}
