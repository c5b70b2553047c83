public import Foundation
public import GatewayCore
public import GatewayStore
public import Hummingbird
import SealCrypto
import Logging
import SealPackage

/// Server settings; every limit has a default and a flag on `sealgate serve`.
public struct GatewayServerConfig: Sendable {
    /// Address, TLS, connection limits and slow-client limits.
    public var listen = ListenSettings()
    /// Largest package body accepted (413 above).
    public var maxBodyBytes = 256 << 20
    /// Intakes processed at once; more wait their turn.
    public var maxConcurrentIntakes = 4
    /// When set, POST /v1/packages needs a unit token (Authorization: Bearer …) for the package's unit.
    public var requireUnitToken = false
    /// How long a unit's replaced key still verifies packages created before its rotation.
    public var unitKeyGraceSeconds: TimeInterval = 14 * 86_400
    /// Entries appended outside an intake (key changes by the CLI, registrations) are covered by
    /// a signed checkpoint within this many seconds (0: only on intake and on request).
    public var checkpointIntervalSeconds: Double = 5
    /// The forwarder's backoff: first retry after about this many seconds, doubling to the cap.
    public var forwardRetryBaseSeconds: Double = 1
    public var forwardRetryMaxSeconds: Double = 300
    /// Seconds a delivery may take (connect, send, answer) before it counts as failed.
    public var forwardTimeoutSeconds = 120
    /// Synthesize a new dataset version this often when a unit's records changed since the
    /// last one (0: only on request).
    public var synthesizeEverySeconds: Double = 0
    public init() {}
}

/// Limits concurrent intakes without blocking an event loop.
actor IntakeGate {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []
    init(_ n: Int) { available = n }
    func acquire() async {
        if available > 0 { available -= 1; return }
        await withCheckedContinuation { waiters.append($0) }
    }
    func release() {
        if waiters.isEmpty { available += 1 } else { waiters.removeFirst().resume() }
    }
}

/// Runs blocking work (crypto, disk, the store) off the event loops, on the shared bounded pool.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await BlockingPool.shared.run(work)
}

/// A role that one process at a time plays among every `serve` on the same store (the
/// forwarder, the checkpoint signer, scheduled synthesis): held through a store lease, taken
/// over by another process within a poll when the holder dies.
public final class LeaseKeeper: @unchecked Sendable {
    public let name: String
    let store: any GatewayStore
    private let lock = NSLock()
    private var lease: (any StoreLease)?

    public init(_ name: String, store: any GatewayStore) { self.name = name; self.store = store }

    /// True when this process holds the lease now, taking it if it is free. Blocking (a round trip).
    public func hold() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if let l = lease {
            if l.isHeld { return true }
            lease = nil
            say("lost the \(name) lease")
        }
        guard let l = (try? store.tryLease(name)) ?? nil else { return false }
        lease = l
        say("holding the \(name) lease")
        return true
    }

    public var held: Bool { lock.lock(); defer { lock.unlock() }; return lease != nil }

    public func release() { lock.lock(); lease?.release(); lease = nil; lock.unlock() }

    private func say(_ s: String) { FileHandle.standardOutput.write(Data("\(s)\n".utf8)) }
}

/// Builds the gateway application: routes, limits, and the intake behind them.
/// `onRunning(port)` is called once the socket is bound (port 0 binds a free port).
public func buildGatewayApplication(intake: Intake, store: any GatewayStore, config: GatewayServerConfig, leases: [LeaseKeeper] = [],
                                    tls: TLSIdentity? = nil,
                                    onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
    let router = Router()
    let gate = IntakeGate(config.maxConcurrentIntakes)
    let log = intake.log

    router.get("/v1/log/checkpoint") { _, _ -> Response in
        do {
            // A log key rotated since the last package signs from now on.
            let note = try await blocking { try intake.refreshKeys(); return try log.checkpoint() }
            return jsonResponse(.ok, note, contentType: "text/plain; charset=utf-8")
        } catch let e as SealError {
            return problem(.internalServerError, code: e.code.rawValue, detail: e.message, remedy: e.remedy)
        }
    }

    router.get("/v1/log/entries") { request, _ -> Response in
        let size = try await blocking { try store.logSize() }
        let start = request.uri.queryParameters.get("start").flatMap { Int64($0) } ?? 0
        let end = min(request.uri.queryParameters.get("end").flatMap { Int64($0) } ?? size, size, start + 1000)
        guard start >= 0, start <= end else { return problem(.badRequest, code: "usage", detail: "bad range", remedy: "0 ≤ start ≤ end; at most 1000 a page") }
        let entries = try await blocking { try store.logEntries(start: start, end: end) }
        return jsonResponse(.ok, JSON.array(entries.map {
            .object(["index": .int($0.index), "kind": .string($0.kind), "body": .string($0.body), "created_at": .string($0.createdAt)])
        }).canonical)
    }

    /// A proof endpoint: two integer query parameters, a proof as base64 hashes.
    func proofRoute(_ path: RouterPath, _ a: String, _ b: String, usage: String, _ make: @escaping @Sendable (Int64, Int64) throws -> [Merkle.Hash]) {
        router.get(path) { request, _ -> Response in
            guard let x = request.uri.queryParameters.get(a).flatMap({ Int64($0) }), let y = request.uri.queryParameters.get(b).flatMap({ Int64($0) }) else {
                return problem(.badRequest, code: "usage", detail: "\(a) and \(b) are required", remedy: usage)
            }
            do {
                let proof = try await blocking { try make(x, y) }
                return jsonResponse(.ok, JSON.object([a: .int(x), b: .int(y), "proof": .array(proof.map { .string(Base64.encode($0)) })]).canonical)
            } catch let e as SealError {
                return problem(.badRequest, code: e.code.rawValue, detail: e.message, remedy: e.remedy)
            }
        }
    }
    proofRoute("/v1/log/proof/inclusion", "leaf", "size", usage: "GET /v1/log/proof/inclusion?leaf=N&size=M") { try log.inclusionProof(leaf: $0, size: $1) }
    proofRoute("/v1/log/proof/consistency", "from", "to", usage: "GET /v1/log/proof/consistency?from=N&to=M") { try log.consistencyProof(from: $0, to: $1) }

    let node = intake.data.node
    router.get("/healthz") { _, _ -> Response in
        let spool = intake.data.spoolPath
        let pending = (try? await blocking { try store.pendingSpool().filter { ($0.path as NSString).deletingLastPathComponent == spool }.count }) ?? -1
        // 503 while the store cannot be read: a load balancer takes the process out of rotation.
        return jsonResponse(pending < 0 ? .serviceUnavailable : .ok,
                            JSON.object(["status": .string(pending < 0 ? "store_unavailable" : "ok"), "pending": .int(Int64(pending)), "store": .string(store.location),
                                              "node": node.map(JSON.string) ?? .null,
                                              "leases": .array(leases.filter(\.held).map { .string($0.name) })]).canonical)
    }

    // The latest trust document, or ?version=N (units walk versions across a root rotation).
    router.get("/v1/trust") { request, _ -> Response in
        let version = request.uri.queryParameters.get("version")
        if let version, UInt64(version) == nil {
            return problem(.badRequest, code: "usage", detail: "version must be a number", remedy: "GET /v1/trust?version=3")
        }
        guard let t = try await blocking({ try version.flatMap(UInt64.init).map { try store.trust(version: $0) } ?? store.latestTrust() }) else {
            if version != nil { return problem(.notFound, code: "trust_missing", detail: "no trust document version \(version!)", remedy: "GET /v1/trust for the latest") }
            return problem(.serviceUnavailable, code: "trust_missing", detail: "no trust document published", remedy: "run `sealgate init` on the gateway")
        }
        var r = jsonResponse(.ok, t.body)
        r.headers[.init("Sealgate-Signature")!] = Base64.encode(Array(t.signature.utf8))
        if let cross = t.rootCrossSignature { r.headers[.init("Sealgate-Root-Signature")!] = Base64.encode(Array(cross.utf8)) }
        return r
    }

    router.post("/v1/packages") { request, context -> Response in
        if let len = request.headers[.contentLength].flatMap(Int.init), len > config.maxBodyBytes {
            return problem(.contentTooLarge, code: "package_too_large", detail: "body of \(len) bytes is over the limit of \(config.maxBodyBytes)",
                           remedy: "split the data into several packages")
        }
        var tokenUnit: String?
        if config.requireUnitToken {
            guard let t = try await authenticate(request, store: store), t.role == "unit" || t.role == "admin" else {
                return problem(.unauthorized, code: "unauthorized", detail: "a unit token is required to submit", remedy: "send Authorization: Bearer <your unit token>")
            }
            tokenUnit = t.role == "unit" ? t.unitId : nil
        }
        // Stream the body into the spool, hashing it; fsync before anything else happens.
        let path = "\(intake.data.spoolPath)/\(PackageIdentifiers.newUUIDv7()).sgp"
        let hasher = SHA256Hasher()
        let received: Int?
        do { received = try await receiveBody(request, to: path, maxBytes: config.maxBodyBytes, hasher: hasher) } catch let e as SealError where e.code == .ioError {
            return problem(.internalServerError, code: "io_error", detail: "cannot write the spool: \(e.message)", remedy: "check the gateway's disk")
        }
        guard let size = received else {
            return problem(.contentTooLarge, code: "package_too_large", detail: "body over the limit of \(config.maxBodyBytes) bytes", remedy: "split the data into several packages")
        }
        let sha = hexString(hasher.finalize())
        let spoolSize = size
        if let tokenUnit {
            // A unit token only submits for its own unit (checked before anything is recorded).
            let claimed = try? await blocking { try PackageHeader(path: path, source: try FileSource(path: path), maxBytes: UInt64(config.maxBodyBytes)).comment.unit }
            if let claimed, claimed != tokenUnit {
                unlink(path)
                return problem(.forbidden, code: "token_unit_mismatch", detail: "this token belongs to \(tokenUnit), the package to \(claimed)",
                               remedy: "submit with the token of the package's own unit")
            }
        }
        let spoolId: Int64
        do { spoolId = try await blocking { try intake.registerSpooled(path: path, sha256: sha, size: Int64(spoolSize)) } } catch let e as StoreError {
            // The store is down: nothing was recorded, nothing acknowledged; the unit sends it again.
            unlink(path)
            context.logger.error("store unavailable: \(e.message)")
            var r = problem(.serviceUnavailable, code: "store_unavailable", detail: "the gateway cannot reach its store: \(e.message)",
                            remedy: "nothing was recorded; send the same package again in a minute (you get its one receipt whenever it is decided)")
            r.headers[.retryAfter] = "30"
            return r
        }
        await gate.acquire()
        let result: IntakeResult
        do {
            result = try await blocking { try intake.process(spoolId: spoolId) }
        } catch {
            await gate.release()
            context.logger.error("intake failed: \(String(describing: error))")
            let down = (error as? StoreError)?.code == "store_unavailable"
            var r = problem(down ? .serviceUnavailable : .internalServerError, code: "intake_failed",
                            detail: "the package was received (spooled) but could not be processed now\(down ? ": the gateway cannot reach its store" : "")",
                            remedy: "send the same package again later (you get its one receipt), or ask for its status; it is also decided when this gateway restarts")
            if down { r.headers[.retryAfter] = "30" }
            return r
        }
        await gate.release()
        return receiptResponse(result.outcome, status: HTTPResponse.Status(code: result.httpStatus))
    }

    // A unit key rotation statement, signed by the old and the new key (docs/keys.md).
    router.post("/v1/units/:id/keys") { request, context -> Response in
        let id = try context.parameters.require("id")
        if config.requireUnitToken {
            guard let t = try await authenticate(request, store: store), t.role == "admin" || (t.role == "unit" && t.unitId == id) else {
                return problem(.unauthorized, code: "unauthorized", detail: "an admin token or this unit's token is required", remedy: "send Authorization: Bearer <token>")
            }
        }
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: 64 << 10) } catch {
            return problem(.contentTooLarge, code: "rotation_invalid", detail: "a rotation statement is a few hundred bytes; this body is over 64 KiB",
                           remedy: "send the file `sealgate keys rotate-unit` wrote")
        }
        do {
            guard let doc = try? JSON(parsing: String(buffer: body)) else {
                return problem(.unprocessableContent, code: "rotation_invalid", detail: "the body is not JSON",
                               remedy: "send the file `sealgate keys rotate-unit` wrote, unchanged (Content-Type: application/json)")
            }
            let rotation = try UnitKeyRotation(json: doc)
            let grace = config.unitKeyGraceSeconds
            let (switchAt, until) = try await blocking { try UnitKeyRotations.apply(rotation, pathUnit: id, store: store, grace: grace) }
            context.logger.info("unit \(id) rotated key \(rotation.oldKey.keyIdHex) -> \(rotation.newKey.keyIdHex)")
            return jsonResponse(.ok, JSON.object(["unit": .string(id), "active_key": .string(rotation.newKey.keyIdHex), "old_key": .string(rotation.oldKey.keyIdHex),
                                                  "old_key_state": .string("retiring"), "switch_at": .string(switchAt),
                                                  "old_key_valid_until": .string(until)]).canonical)
        } catch let e as SealError {
            let status: HTTPResponse.Status = e.code == .unitUnknown ? .notFound : (e.code == .keyState || e.code.rawValue == "key_exists" ? .conflict : .unprocessableContent)
            return problem(status, code: e.code.rawValue, detail: e.message, remedy: e.remedy)
        }
    }

    router.get("/v1/packages/:id") { _, context -> Response in
        let id = try context.parameters.require("id")
        guard let o = try await blocking({ try store.outcome(packageId: id) }) else {
            return problem(.notFound, code: "package_unknown", detail: "no package \(id) was received", remedy: "check the package id (sealgate inspect PKG)")
        }
        return receiptResponse(o, status: .ok)
    }

    router.get("/v1/units") { request, _ -> Response in
        guard let t = try await authenticate(request, store: store), t.role == "admin" else {
            return problem(.unauthorized, code: "unauthorized", detail: "an admin token is required", remedy: "send Authorization: Bearer <admin token> (sealgate tokens create --role admin)")
        }
        let list = try await blocking { try store.units().compactMap { try store.unitStatus($0.id) } }
        return jsonResponse(.ok, JSON.array(list.map(unitJSON)).canonical)
    }

    router.get("/v1/units/:id") { request, context -> Response in
        let id = try context.parameters.require("id")
        guard let t = try await authenticate(request, store: store), t.role == "admin" || (t.role == "unit" && t.unitId == id) else {
            return problem(.unauthorized, code: "unauthorized", detail: "an admin token or this unit's token is required", remedy: "send Authorization: Bearer <token>")
        }
        guard let s = try await blocking({ try store.unitStatus(id) }) else {
            return problem(.notFound, code: "unit_unknown", detail: "no unit \(id)", remedy: "check the unit id (sealgate units list)")
        }
        return jsonResponse(.ok, unitJSON(s).canonical)
    }

    addDatasetRoutes(router, intake: intake, store: store)
    return Application(
        router: router,
        server: try config.listen.serverBuilder(identity: tls),
        configuration: config.listen.applicationConfiguration(serverName: "sealgate"),
        onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? config.listen.port) })
}

func unitJSON(_ s: UnitStatus) -> JSON {
    .object(["unit": .string(s.unit.id), "name": .string(s.unit.name), "registered": .string(s.unit.createdAt),
             "keys": .array(s.keys.map { .object(["key_id": .string($0.keyId), "public_key": .string($0.publicKey), "state": .string($0.state)]) }),
             "last_seq": s.lastSeq.map { .int(Int64(bitPattern: $0)) } ?? .null, "last_package": s.lastPackage.map(JSON.string) ?? .null,
             "last_status": s.lastStatus.map(JSON.string) ?? .null, "members": .int(Int64(s.members)), "organizations": .int(Int64(s.organizations)),
             "packages": .int(Int64(s.packages)),
             "validation": s.lastReceipt.flatMap { try? JSON(parsing: $0) }.flatMap { r -> JSON? in
                 guard case .object(var v)? = r["validation"] else { return nil }
                 v["findings"] = nil
                 return .object(v)
             } ?? .null])
}

func authenticate(_ request: Request, store: any GatewayStore) async throws -> TokenRecord? {
    guard let auth = request.headers[.authorization], auth.hasPrefix("Bearer ") else { return nil }
    let token = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    let hash = hexString(SHA256Hasher.hash(Array(token.utf8)))
    return try await blocking { try store.token(hash: hash) }
}

func jsonResponse(_ status: HTTPResponse.Status, _ text: String, contentType: String = "application/json") -> Response {
    var headers = HTTPFields()
    headers[.contentType] = contentType
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
}

func receiptResponse(_ o: Outcome, status: HTTPResponse.Status) -> Response {
    if status == .badRequest {
        var r = problem(.badRequest, code: o.code ?? "container_malformed", detail: "the body is not a sealgate package", remedy: "send a package made by `sealgate seal`",
                        extra: ["receipt": .string(o.receipt)])
        r.headers[.init("Sealgate-Receipt-Signature")!] = Base64.encode(Array(o.receiptSignature.utf8))
        return r
    }
    var r = jsonResponse(status, o.receipt)
    r.headers[.init("Sealgate-Receipt-Signature")!] = Base64.encode(Array(o.receiptSignature.utf8))
    return r
}

/// An RFC 9457 problem response carrying the stable error code.
func problem(_ status: HTTPResponse.Status, code: String, detail: String, remedy: String, extra: [String: JSON] = [:]) -> Response {
    var o: [String: JSON] = ["type": .string("https://sealgate.invalid/errors/\(code)"), "title": .string(code), "status": .int(Int64(status.code)),
                             "code": .string(code), "detail": .string(detail), "remedy": .string(remedy)]
    for (k, v) in extra { o[k] = v }
    return jsonResponse(status, JSON.object(o).canonical, contentType: "application/problem+json")
}

/// Runs `work` off the event loops every `seconds` (never when 0) in whichever process holds
/// `lease` at that moment; errors wait for the next round.
func periodically(every seconds: Double, holding lease: LeaseKeeper, _ work: @escaping @Sendable () throws -> Void) -> Task<Void, Never> {
    Task {
        while seconds > 0, !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            if Task.isCancelled { break }
            guard (try? await blocking { lease.hold() }) == true else { continue }
            try? await blocking(work)
        }
    }
}

/// Builds and runs the gateway until SIGTERM or SIGINT (graceful shutdown).
public func serveGateway(intake: Intake, store: any GatewayStore, config: GatewayServerConfig, tls: TLSIdentity? = nil,
                         onRunning: @escaping @Sendable (Int) async -> Void) async throws {
    // The background roles run in one process at a time among all those on the store: each
    // under its lease, polled so another process takes over within a second or so of the
    // holder's death. Their work is idempotent besides (a delivery is recorded once, the same
    // checkpoint signed twice is one row), so a lease lost mid-step costs nothing.
    let signerLease = LeaseKeeper("checkpoint-signer", store: store)
    let forwarderLease = LeaseKeeper("forwarder", store: store)
    let synthesisLease = LeaseKeeper("synthesis", store: store)
    let app = try buildGatewayApplication(intake: intake, store: store, config: config, leases: [signerLease, forwarderLease, synthesisLease], tls: tls,
                                          onRunning: onRunning)
    defer { for l in [signerLease, forwarderLease, synthesisLease] { l.release() } }
    let leasePoll: UInt64 = 1_000_000_000
    // The checkpoint signer: a new checkpoint whenever the log grew (a no-op otherwise); a log key
    // rotated meanwhile signs from the next one on.
    let signer = periodically(every: config.checkpointIntervalSeconds, holding: signerLease) {
        try intake.refreshKeys()
        _ = try intake.log.checkpoint()
    }
    defer { signer.cancel() }
    // The forwarder: delivers pending dataset versions to the handbook system, with backoff.
    let forwarder = Forwarder(store: store, baseDelay: config.forwardRetryBaseSeconds, maxDelay: config.forwardRetryMaxSeconds, timeout: config.forwardTimeoutSeconds,
                              cacheDir: "\(intake.data.path)/datasets")
    let forwarding = Task {
        while !Task.isCancelled {
            guard (try? await blocking { forwarderLease.hold() }) == true else {
                try? await Task.sleep(nanoseconds: leasePoll)
                continue
            }
            let step = await forwarder.step()
            if case .delivered = step { continue } // the next version, if any, at once
            try? await Task.sleep(nanoseconds: 200_000_000)
        }
    }
    defer { forwarding.cancel() }
    // Scheduled synthesis: a new version only when some unit's records changed (a snapshot or
    // correction accepted) after the last one.
    let scheduler = periodically(every: config.synthesizeEverySeconds, holding: synthesisLease) {
        let last = try store.datasets().last?.createdAt ?? ""
        guard try store.campaignRows().contains(where: { ($0.lastAcceptedAt ?? "") > last }) else { return }
        _ = try Synthesis.synthesize(data: intake.data, store: store, keys: intake.keys, department: intake.department)
    }
    defer { scheduler.cancel() }
    try await app.runService()
}
