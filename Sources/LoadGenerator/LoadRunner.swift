import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Posts the plan's packages: each client a task with its own HTTPClient (one keep-alive HTTP/1.1
/// connection), its packages one after another, each timed from the request to the last byte of the
/// answer. All clients share one event loop group (one thread by default), so that the generator
/// costs the machine little.
struct LoadRunner {
    var plan: LoadPlan
    /// Each client's package bodies, in the order it sends them (`plan.clients[i]`'s units' files).
    var bodies: [[ByteBuffer]]
    var timeout: TimeAmount
    var group: any EventLoopGroup

    /// The bodies of the plan's files, read into memory before any is sent.
    static func loadBodies(_ plan: LoadPlan) throws -> [[ByteBuffer]] {
        try plan.clients.map { c in
            try c.units.flatMap(\.files).map { path in
                guard let d = FileManager.default.contents(atPath: path) else { throw LoadError("cannot read \(path)") }
                return ByteBuffer(bytes: d)
            }
        }
    }

    /// Runs every client to its end; the tally of all and the wall time of the posting phase in seconds.
    func run() async -> (tally: ClientTally, wallSeconds: Double) {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: timeout), decompression: .disabled)
        configuration.httpVersion = .http1Only
        configuration.connectionPool = .init(idleTimeout: .seconds(300), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        let clients = plan.clients.map { _ in HTTPClient(eventLoopGroup: group, configuration: configuration) }
        let start = DispatchTime.now().uptimeNanoseconds
        let tally = await withTaskGroup(of: ClientTally.self) { tasks in
            for (i, c) in plan.clients.enumerated() {
                let client = clients[i]
                let url = c.server.absoluteString.trimmingSuffix("/") + "/v1/packages"
                let bodies = self.bodies[i]
                let timeout = self.timeout
                let executor = LoopExecutor(group.next())
                tasks.addTask(executorPreference: executor) { await Self.post(bodies, to: url, with: client, timeout: timeout) }
            }
            var all = ClientTally()
            for await t in tasks { all.add(t) }
            return all
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        for c in clients { try? await c.shutdown() }
        return (tally, wall)
    }

    /// One client's run: its bodies in order on its one connection.
    static func post(_ bodies: [ByteBuffer], to url: String, with client: HTTPClient, timeout: TimeAmount) async -> ClientTally {
        var tally = ClientTally()
        for body in bodies {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/vnd.sealgate.package")
            request.body = .bytes(body)
            let t0 = DispatchTime.now().uptimeNanoseconds
            do {
                let response = try await client.execute(request, timeout: timeout)
                let answer = try await response.body.collect(upTo: 1 << 20)
                let micros = (DispatchTime.now().uptimeNanoseconds - t0) / 1000
                let status = Int(response.status.code)
                let code = (200..<300).contains(status) ? nil : ClientTally.problemCode(status: status, body: Data(answer.readableBytesView))
                tally.record(micros: micros, status: status, problem: code)
            } catch {
                tally.fail(Self.reason(error))
            }
        }
        return tally
    }

    /// A short name for a request that got no answer.
    static func reason(_ error: any Error) -> String {
        if let e = error as? HTTPClientError { return String(describing: e).prefix(80).description }
        return String(describing: type(of: error))
    }
}

/// An event loop as a task's preferred executor: a client's task runs on the thread its
/// connection's answers arrive on, with no hop to Swift's shared threads and back a request.
final class LoopExecutor: TaskExecutor, Sendable {
    let loop: any EventLoop
    init(_ loop: any EventLoop) { self.loop = loop }
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ s: String) -> String { hasSuffix(s) ? String(dropLast(s.count)) : self }
}
