import Foundation
import Histogram
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import LoadGenerator

/// `sealgate-load`: what it refuses, how it plans, how it reads /proc and answers, and a run against a stub server.
@Suite struct LoadGeneratorTests {
    @Test func onlyPlainHTTPOnLoopbackWithAPortIsLoaded() throws {
        for ok in ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:80", "http://127.1.2.3:9/", "HTTP://127.0.0.1:5"] {
            #expect(throws: Never.self, "\(ok)") { try LoadPlan.loopbackServer(ok) }
        }
        let refused = [
            "http://10.0.0.1:80", "http://example.com:80", "https://127.0.0.1:443", "http://127.0.0.1", "http://127.0.0.1.evil.com:80",
            "http://0x7f.0.0.1:80", "http://128.0.0.1:80", "http://127.0.0.256:80", "http://[::2]:80", "127.0.0.1:80", "",
        ]
        for bad in refused {
            #expect(throws: LoadError.self, "\(bad)") { try LoadPlan.loopbackServer(bad) }
        }
    }

    @Test func aUnitsPackagesGoInSeqOrderFromOneClientAndClientsAlternateServers() throws {
        let a = try #require(URL(string: "http://127.0.0.1:1"))
        let b = try #require(URL(string: "http://127.0.0.1:2"))
        let files = ["d/SML-U002-1.sgp", "d/SML-U001-10.sgp", "d/SML-U001-9.sgp", "d/HCM-U001.sgp", "d/SML-U003-2.sgp", "d/SML-U001-1.sgp"]
        #expect(LoadPlan.unitAndSeq(of: "x/SML-U001-10.sgp") == ("SML-U001", 10))
        #expect(LoadPlan.unitAndSeq(of: "HCM-U001.sgp") == ("HCM-U001", 0))
        let plan = LoadPlan.make(files: files, clients: 2, servers: [a, b])
        #expect(plan.clients.map(\.server) == [a, b])
        #expect(plan.clients[0].units.map(\.name) == ["HCM-U001", "SML-U002"])
        #expect(plan.clients[1].units.map(\.name) == ["SML-U001", "SML-U003"])
        #expect(plan.clients[1].units[0].files == ["d/SML-U001-1.sgp", "d/SML-U001-9.sgp", "d/SML-U001-10.sgp"])
        #expect(plan.packageCount == files.count)
        // More clients than units: one client per unit, none idle.
        #expect(LoadPlan.make(files: files, clients: 64, servers: [a]).clients.count == 4)
    }

    @Test func cpuTicksAreCountedAfterTheCommandNamesLastParenthesis() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
        let line = "4242 (serve) 1 2 3) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 567 0 0 20 0 9 0 100 0\n"
        #expect(ProcessCPU.ticks(statLine: line) == 1801)
        #expect(ProcessCPU.ticks(statLine: "4242 (x) S 1") == nil)
        #expect(ProcessCPU.seconds(pid: getpid()) != nil)
    }

    @Test func aNon2xxAnswerIsCountedByItsProblemCode() {
        let problem = Data(#"{"code":"unit_unknown","detail":"x"}"#.utf8)
        let receipt = Data(#"{"receipt":{"code":"seq_conflict"}}"#.utf8)
        #expect(ClientTally.problemCode(status: 201, body: problem) == nil)
        #expect(ClientTally.problemCode(status: 403, body: problem) == "unit_unknown")
        #expect(ClientTally.problemCode(status: 409, body: receipt) == "seq_conflict")
        #expect(ClientTally.problemCode(status: 502, body: Data("<html>".utf8)) == "unreadable")
    }

    @Test func theReportsPercentilesAndRateComeFromTheTally() throws {
        let plan = LoadPlan.make(files: (1...100).map { "U-\($0).sgp" }, clients: 1, servers: [try #require(URL(string: "http://127.0.0.1:1"))])
        var t = ClientTally()
        for i in 1...100 { t.record(micros: UInt64(i * 1000), status: i == 100 ? 422 : 201, problem: i == 100 ? "seq_gap" : nil) }
        let r = LoadReport(plan: plan, tally: t, wallSeconds: 2, serverPIDs: [7], serverCPU: 0.5, ownCPU: 0.1)
        #expect(r.answered == 100 && r.per_s == 50)
        #expect(abs(r.p50_ms - 50) < 0.1 && abs(r.p99_ms - 99) < 0.1 && r.max_ms == 100)
        #expect(r.codes == ["201": 99, "422": 1] && r.problems == ["seq_gap": 1])
        #expect(r.server_cpu_ms_per_package == 5 && r.own_cpu_ms_per_package == 1)
        let decoded = try JSONDecoder().decode(LoadReport.self, from: Data(r.json().utf8))
        #expect(decoded == r)
        #expect(r.table().contains("5.000 ms/package"))
        #expect(r.goals(rate: 50, p99: 98, wall: nil) == "targets: >= 50 packages/s (met), p99 <= 98 ms (MISSED)")
        #expect(r.goals(rate: nil, p99: nil, wall: nil) == nil)
    }

    /// A stub gateway on a free loopback port: 201 for a body starting `ok`, a 409 problem
    /// `seq_conflict` otherwise; it records the order in which it got each unit's bodies.
    @Test func aRunPostsEveryPackageOnceInOrderAndCountsTheAnswers() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sealgate-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }  // lint: allow try? — cleanup
        for u in 1...3 {
            for s in 1...12 {
                let body = (u == 2 && s == 5 ? "no " : "ok ") + "U\(u) \(s)"
                try Data(body.utf8).write(to: dir.appendingPathComponent("U\(u)-\(s).sgp"))
            }
        }
        let seen = Seen()
        let router = Router()
        router.post("/v1/packages") { request, _ -> Response in
            let body = String(buffer: try await request.body.collect(upTo: 1024))
            seen.add(body)
            if body.hasPrefix("ok") { return Response(status: .created, body: .init(byteBuffer: ByteBuffer(string: "{}"))) }
            return Response(
                status: .conflict, headers: [.contentType: "application/problem+json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"code":"seq_conflict"}"#)))
        }
        let ports = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { ports.continuation.yield($0.localAddress?.port ?? 0) },
            logger: Logger(label: "stub", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await app.run() }
            var it = ports.stream.makeAsyncIterator()
            let port = try #require(await it.next())
            let server = try LoadPlan.loopbackServer("http://127.0.0.1:\(port)")
            let plan = LoadPlan.make(files: try LoadPlan.expand([dir.path]), clients: 2, servers: [server, server])
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let (tally, wall) = await LoadRunner(plan: plan, bodies: try LoadRunner.loadBodies(plan), timeout: .seconds(30), group: group).run()
            try await group.shutdownGracefully()
            tasks.cancelAll()
            #expect(wall > 0)
            #expect(tally.latency.totalCount == 36 && tally.failures.isEmpty)
            #expect(tally.statuses == [201: 35, 409: 1] && tally.problems == ["seq_conflict": 1])
            let bodies = seen.all
            #expect(bodies.count == 36)
            for u in 1...3 {
                let seqs = bodies.filter { $0.contains(" U\(u) ") }.compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
                #expect(seqs == Array(1...12), "unit U\(u)")
            }
        }
    }
}

/// The bodies the stub server got, in arrival order.
final class Seen: @unchecked Sendable {
    private var bodies: [String] = []
    private let lock = NSLock()
    func add(_ b: String) { lock.withLock { bodies.append(b) } }
    var all: [String] { lock.withLock { bodies } }
}
