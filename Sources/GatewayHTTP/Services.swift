import Foundation
import GatewayCore
public import GatewayStore
public import Logging
import ServiceLifecycle
import Synchronization

/// Rounds each background role has run in this process (shown by /healthz): what a test or an
/// operator waits on, instead of sleeping and hoping something did or did not happen.
public final class ServiceRounds: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    public init() {}
    func add(_ role: String) { counts.withLock { $0[role, default: 0] += 1 } }
    public var snapshot: [String: Int] { counts.withLock { $0 } }
}

/// A role that one process at a time plays among every `serve` on the same store (the
/// forwarder, the checkpoint signer, scheduled synthesis): held through a store lease, taken
/// over by another process within a poll when the holder dies.
public final class LeaseKeeper: Sendable {
    public let name: String
    let store: any GatewayStore
    /// Where taking, waiting for and losing the lease is said (the process's background lines).
    let logger: Logger
    /// The lease held, if any, and whether waiting was said.
    private let state = Mutex<(lease: (any StoreLease)?, saidWaiting: Bool)>((nil, false))
    /// One `hold` at a time (each a round trip to the store), so two callers never take it twice.
    private let turn = AsyncMutex()

    public init(_ name: String, store: any GatewayStore, logger: Logger = .lines("sealgate")) {
        self.name = name
        self.store = store
        self.logger = logger
    }

    /// True when this process holds the lease now, taking it if it is free (a round trip).
    public func hold() async -> Bool {
        await turn.withLock {
            if let l = state.withLock({ $0.lease }) {
                if await l.isHeld() { return true }
                state.withLock { $0.lease = nil }
                say("lost the \(name) lease")
            }
            guard let l = (try? await store.tryLease(name)) ?? nil else {
                let first = state.withLock { s in
                    defer { s.saidWaiting = true }
                    return !s.saidWaiting
                }
                if first { say("waiting for the \(name) lease (another process holds it)") }
                return false
            }
            state.withLock { $0 = (l, false) }
            say("holding the \(name) lease")
            return true
        }
    }

    public var held: Bool { state.withLock { $0.lease != nil } }

    public func release() async {
        let l = state.withLock { s in
            let l = s.lease
            s.lease = nil
            return l
        }
        await l?.release()
    }

    private func say(_ s: String) { logger.info("\(s)") }
}

/// Sleeps `seconds`, or less when the service group shuts down; false when it is shutting down.
func pause(_ duration: Duration) async -> Bool {
    guard duration > .zero else { return !Task.isCancelled && !Task.isShuttingDownGracefully }
    try? await Task.sleep(for: duration)
    return !Task.isCancelled && !Task.isShuttingDownGracefully
}

/// Work done every few seconds by whichever process holds `lease` (the checkpoint signer,
/// scheduled synthesis); errors wait for the next round. Ends on graceful shutdown.
struct PeriodicService: Service {
    let every: Duration
    let lease: LeaseKeeper
    let rounds: ServiceRounds
    let work: @Sendable () async throws -> Void

    func run() async throws {
        guard every > .zero else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while await pause(every) {
                guard await lease.hold() else { continue }
                try? await work()
                rounds.add(lease.name)
            }
        }
        await lease.release()
    }
}

/// Delivers pending dataset versions to the handbook system (`Forwarder`), in whichever
/// process holds the forwarder lease. Ends on graceful shutdown.
struct ForwarderService: Service {
    /// Between two rounds that found nothing to deliver.
    static let idlePause = Duration.milliseconds(50)
    let forwarder: Forwarder
    let lease: LeaseKeeper
    let rounds: ServiceRounds

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                guard await lease.hold() else {
                    if await pause(.seconds(1)) { continue } else { break }
                }
                let step = await forwarder.step()
                rounds.add(lease.name)
                if case .delivered = step { continue }  // the next version, if any, at once
                // A dataset made by another process (`sealgate synthesize`) is found within this
                // pause: an idle round is two small reads, so it is short.
                if !(await pause(Self.idlePause)) { break }
            }
        }
        await lease.release()
    }
}
