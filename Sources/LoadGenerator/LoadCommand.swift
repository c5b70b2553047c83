import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `sealgate-load`: small-package intake load on a gateway on this machine (make bench's gateway,
/// cycle and scale-out sections; docs/benchmarks.md).
@main
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealgate-load",
        abstract: "Post package files to sealgate gateways on loopback and report rate, latency, statuses and CPU per package.",
        discussion: """
            Files are named <unit>-<seq>.sgp (a folder stands for the .sgp files in it). A unit's packages are sent in seq \
            order by one client; units are dealt out over the clients by name; each client keeps one HTTP/1.1 keep-alive \
            connection to its server (client i to server i mod n). Every file is sent once. Latency is from the request \
            to the answer's last byte, in an HDR histogram of microseconds (3 significant digits; max exact). With \
            --server-pid, the servers' CPU seconds (/proc/PID/stat utime + stime) over the posting phase, per package; \
            the generator's own CPU is always printed. Loopback only.
            """)

    @Option(name: .customLong("url"), help: "A gateway's URL, http://127.0.0.1:PORT (repeat, or comma-separate, for several processes).")
    var urls: [String]

    @Option(help: "Concurrent clients (default: one per unit).")
    var clients: Int?

    @Option(name: .customLong("server-pid"), help: "A server process whose CPU seconds to measure (repeat for several).")
    var serverPIDs: [Int32] = []

    @Option(help: "Seconds to wait for one answer.")
    var timeout: Int = 300

    @Option(help: "Event loop threads of the generator.")
    var threads: Int = 1

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    @Option(name: .customLong("goal-rate"), help: "Print whether the rate reached this many packages/s.")
    var goalRate: Double?

    @Option(name: .customLong("goal-p99-ms"), help: "Print whether p99 stayed within this many ms.")
    var goalP99: Double?

    @Option(name: .customLong("goal-wall-s"), help: "Print whether the posting phase took at most this many seconds.")
    var goalWall: Double?

    @Argument(help: "Package files, or folders of them.")
    var packages: [String]

    func run() async throws {
        let servers: [URL]
        let files: [String]
        do {
            servers = try urls.flatMap { $0.split(separator: ",").map(String.init) }.map(LoadPlan.loopbackServer)
            guard !servers.isEmpty else { throw LoadError("name a gateway with --url") }
            files = try LoadPlan.expand(packages)
            guard !files.isEmpty else { throw LoadError("no package files (.sgp) given") }
            guard (clients ?? 1) > 0, (1...64).contains(threads), timeout > 0 else {
                throw LoadError("--clients, --threads and --timeout must be positive")
            }
            for pid in serverPIDs where ProcessCPU.seconds(pid: pid) == nil { throw LoadError("cannot read /proc/\(pid)/stat: no such process") }
        } catch let e as LoadError {
            throw ValidationError(e.description)
        }
        let plan = LoadPlan.make(files: files, clients: clients ?? Int.max, servers: servers)
        let bodies = try LoadRunner.loadBodies(plan)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let serverBefore = serverPIDs.compactMap(ProcessCPU.seconds)
        let ownBefore = ProcessCPU.own()
        let (tally, wall) = await LoadRunner(plan: plan, bodies: bodies, timeout: .seconds(Int64(timeout)), group: group).run()
        let ownCPU = ProcessCPU.own() - ownBefore
        let serverAfter = serverPIDs.compactMap(ProcessCPU.seconds)
        try? await group.shutdownGracefully()
        let serverCPU = serverPIDs.isEmpty || serverAfter.count != serverBefore.count ? nil : serverAfter.reduce(0, +) - serverBefore.reduce(0, +)
        let report = LoadReport(plan: plan, tally: tally, wallSeconds: wall, serverPIDs: serverPIDs, serverCPU: serverCPU, ownCPU: ownCPU)
        print(json ? report.json() : report.table())
        if !json, let goals = report.goals(rate: goalRate, p99: goalP99, wall: goalWall) { print(goals) }
        if !tally.failures.isEmpty { throw ExitCode(1) }
    }
}
