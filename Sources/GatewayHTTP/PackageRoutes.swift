import Foundation
import GatewayCore
import GatewayStore
import Hummingbird
import Logging
import NIOCore
import SealBase
import SealCrypto
import SealPackage

/// `POST /v1/packages` (the intake) and `GET /v1/packages/{id}` (a receipt, for its unit or the
/// department).
struct PackageRoutes {
    /// The head of a body as it streams in, then the whole body.
    let admission: IntakeAdmission
    /// The decision on an admitted body.
    let decision: IntakeDecision
    /// What a replay decided meanwhile is answered with.
    let receipts: IntakeReceipts
    /// Receipts read back.
    let store: any GatewayStore
    let config: GatewayServerConfig
    /// Short store work (lookups).
    let pool: BlockingPool
    /// The intake's heavy work (verification, decryption, import): `--max-concurrent` threads.
    let metrics: GatewayMetrics

    var routes: RouteCollection<GatewayContext> {
        RouteCollection(context: GatewayContext.self)
            .post(use: submit)
            .get(":id", use: receipt)
    }

    /// A body refused before it was kept: counted, answered with its code.
    func refusal(_ e: SealError) -> Problem {
        metrics.countDecided("refused", code: e.code.rawValue)
        return Problem(e)
    }

    @Sendable func submit(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, [])
        metrics.countReceived()
        let max = config.maxBodyBytes
        // Any declared length over the limit, up to 2^64−1 (beyond `Int`), before a byte is read.
        if let len = request.declaredLength(over: max) {
            throw refusal(
                SealError(.packageTooLarge, "body of \(len) bytes is over the limit of \(max)", remedy: "split the data into several packages")
            ).closing()
        }
        // A unit token binds the package to its unit; with --require-unit-token one is needed.
        var tokenUnit: String?
        switch context.viewer {
        case .unit(let u): tokenUnit = u
        case .admin: break
        case .anyone:
            if config.requireUnitToken || context.tokenRefused {
                metrics.countDecided("refused", code: SealErrorCode.unauthorized.rawValue)
                throw context.unauthorized("a unit token")
            }
        }
        RequestNote.current?.unit = tokenUnit
        let bound = tokenUnit
        // Everything the head tells is checked: a client waiting on `Expect: 100-continue` may send.
        expectContinue(on: context.channel)
        let decision = self.decision
        let viewer = context.viewer
        // A small body is received into memory: no file is made before its head is checked.
        let received: Received
        if let length = request.declaredLength(atMost: Intake.smallBodyBytes) {
            received = .memory(try await receiveSmall(request, length: length, tokenUnit: bound))
        } else {
            received = .file(try await receive(request, tokenUnit: bound))
        }
        let admission: Admission
        do {
            switch received {
            case .memory(let b):
                admission = try await self.admission.admit(small: b.body, peek: b.peek, tokenUnit: bound, viewer: viewer, streamed: b.proof)
            case .file(let f):
                admission = try await self.admission.admit(
                    incoming: f.path, sha256: f.sha256, size: Int64(f.size), tokenUnit: bound, viewer: viewer, streamed: f.proof)
            }
        } catch {
            let fault = Self.fault(error)
            metrics.countDecided("fault", code: fault.code)
            context.logger.error("intake fault at admission, nothing kept: \(String(describing: error).prefix(300))")
            throw fault
        }
        switch admission {
        case .refused(let e):
            // A small body's head refused once it was whole is answered as a streamed body's
            // head is: the connection closed.
            if case .memory(let b) = received, b.proof == nil, IntakeAdmission.headCodes.contains(e.code) { throw refusal(e).closing() }
            throw refusal(e)
        case .duplicate(let receipt, let signature):
            metrics.countDecided("duplicate")
            return receiptResponse(receipt, signature, status: .ok)
        case .admitted(let body):
            let result: IntakeResult
            let started = ContinuousClock.now
            do { result = try await decision.process(body) } catch {
                // A fault of ours: nothing is kept or decided; the unit sends it again.
                let fault = Self.fault(error)
                metrics.countDecided("fault", code: fault.code)
                context.logger.error("intake fault, package forgotten: \(String(describing: error).prefix(300))")
                throw fault
            }
            if let unit = result.outcome.unitId { RequestNote.current?.unit = unit }
            if result.kind == .duplicate {
                // The same bytes decided meanwhile by another request: answered as a replay.
                metrics.countDecided("duplicate")
                let (r, sig) = try receipts.duplicate(result.outcome, viewer: viewer)
                return receiptResponse(r, sig, status: .ok)
            }
            metrics.recordDecision(ContinuousClock.now - started)
            let outcome = result.kind == .seqConflict ? "seq_conflict" : result.outcome.status.rawValue
            metrics.countDecided(outcome, code: result.kind == .seqConflict ? "seq_conflict" : result.outcome.code ?? "none")
            if let code = result.outcome.code { RequestNote.current?.code = code }
            return receiptResponse(result.outcome.receipt, result.outcome.receiptSignature, status: Problem.status(for: result.kind))
        }
    }

    /// A body as received: a small one in memory (with its head, if whole, and the proof of a
    /// check of it made while the rest came in), or a streamed one in an incoming file.
    enum Received {
        case memory((body: [UInt8], peek: PackagePeek?, proof: VerifiedComment?))
        case file((path: String, sha256: String, size: Int, proof: VerifiedComment?))
    }

    /// What a fault of ours is answered with: 503, nothing recorded, send it again. A fault
    /// keeps its own code (`io_error`, `store_unavailable`, …); anything else is `intake_fault`.
    static func fault(_ error: any Error) -> Problem {
        let own = (error as? SealError)?.code ?? (error as? StoreError)?.code
        let code = own.flatMap { Problem.status(for: $0) == .serviceUnavailable ? $0 : nil } ?? .intakeFault
        return Problem(
            code, "the gateway met a fault of its own and recorded nothing",
            remedy: "send the same package again in a minute (you get its one receipt)"
        ).retryAfter(30)
    }

    /// Streams the body into an incoming file (`BodySpooler`: hashed; written on the pool in 1 MiB
    /// batches; fsynced). As soon as its first member is in, the signer and comment are checked: a
    /// stranger's body is refused before the rest is read (and the connection closed). Returns
    /// that check's proof of the comment's signature too, for the admission to pass on.
    func receive(_ request: Request, tokenUnit: String?) async throws -> (String, String, Int, VerifiedComment?) {
        let admission = self.admission
        let pool = self.pool
        let max = UInt64(config.maxBodyBytes)
        let path = admission.incomingPath()
        let spooler = try await pool.run {
            try Failpoints.check("intake.receive")
            return try BodySpooler(creating: path, limit: max)
        }
        var streamed: VerifiedComment?
        let body = try await spooler.receive(
            request.body, offload: { try await pool.run($0) }, refuse: { refusal($0).closing() },
            head: { peek in
                do { streamed = try await admission.prechecked(peek, tokenUnit: tokenUnit).comment } catch let e as SealError
                    where !Intake.isGatewayFault(e)
                {
                    throw refusal(e).closing()
                }
            })
        return (body.path, body.sha256, Int(body.size), streamed)
    }

    /// A small body (its declared `length` at most `Intake.smallBodyBytes`) into memory, its
    /// head parsed as it comes (a head that is not a package's is refused at once). A head that
    /// is whole before the rest of the body has come is checked then, as a streamed body's is (a
    /// stranger's body is refused before the rest is read, and the connection closed).
    func receiveSmall(_ request: Request, length: Int, tokenUnit: String?) async throws -> ([UInt8], PackagePeek?, VerifiedComment?) {
        // Grown as bytes come (a declared length reserves nothing).
        var body: [UInt8] = []
        var collector = PackagePeek.Collector()
        var peek: PackagePeek?
        var streamed: VerifiedComment?
        for try await chunk in request.body {
            guard body.count + chunk.readableBytes <= length else {
                throw refusal(
                    SealError(.packageTooLarge, "the body is longer than its declared \(length) bytes", remedy: "send the package file as it is")
                ).closing()
            }
            body.append(contentsOf: chunk.readableBytesView)
            guard peek == nil else { continue }
            do { peek = try collector.feed(chunk.readableBytesView) } catch let e as SealError { throw refusal(e).closing() }
            if let peek, body.count < length {
                do { streamed = try await admission.prechecked(peek, tokenUnit: tokenUnit).comment } catch let e as SealError
                    where !Intake.isGatewayFault(e)
                {
                    throw refusal(e).closing()
                }
            }
        }
        return (body, peek, streamed)
    }

    /// A receipt, for its unit (token) or the department (admin token); anyone else learns
    /// nothing, not even whether the package exists.
    @Sendable func receipt(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, [])
        let id = try Param.packageId(context)
        guard context.viewer != .anyone else { throw context.unauthorized("the unit's token or an admin token") }
        let store = self.store
        guard let stored = try await store.outcome(packageId: id), context.viewer.mayRead(unit: stored.unitId) else {
            throw Problem(
                .packageUnknown, "no package \(id) of yours was received", remedy: "check the package id (sealgate inspect PKG)")
        }
        let o = try await decision.readBack(stored)
        return receiptResponse(o.receipt, o.receiptSignature, status: .ok)
    }
}

func receiptResponse(_ receipt: String, _ signature: String, status: HTTPResponse.Status) -> Response {
    var r = jsonResponse(status, receipt)
    r.headers[.init("Sealgate-Receipt-Signature")!] = Base64.encode(Array(signature.utf8))
    return r
}

/// The units: the list (admin), one unit (its token or admin), a key rotation statement.
struct UnitRoutes {
    let store: any GatewayStore
    let config: GatewayServerConfig
    /// The server's clock: a rotation switches at its time.
    let clock: any GatewayClock

    var routes: RouteCollection<GatewayContext> {
        RouteCollection(context: GatewayContext.self)
            .get(use: list)
            .get(":id", use: show)
            .post(":id/keys", use: rotate)
    }

    @Sendable func list(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, [])
        try context.requireAdmin()
        let store = self.store
        var list: [UnitStatus] = []
        for u in try await store.units() { if let s = try await store.unitStatus(u.id) { list.append(s) } }
        return jsonResponse(.ok, JSON.array(list.map(unitJSON)).canonical)
    }

    @Sendable func show(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, [])
        let id = try Param.unit(context)
        try context.requireUnitOrAdmin(id)
        let store = self.store
        guard let s = try await store.unitStatus(id) else {
            throw Problem(.unitUnknown, "no unit \(id)", remedy: "check the unit id (sealgate units list)")
        }
        return jsonResponse(.ok, unitJSON(s).canonical)
    }

    /// A unit key rotation statement, signed by the old and the new key (docs/keys.md).
    @Sendable func rotate(_ request: Request, _ context: GatewayContext) async throws -> Response {
        try Param.only(request, [])
        let id = try Param.unit(context)
        if config.requireUnitToken || context.tokenRefused { try context.requireUnitOrAdmin(id) }
        if let len = request.declaredLength(over: 64 << 10) {
            throw Problem.overLimit(
                .rotationInvalid, "a rotation statement is a few hundred bytes; this body declares \(len) bytes",
                remedy: "send the file `sealgate keys rotate-unit` wrote")
        }
        expectContinue(on: context.channel)
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: 64 << 10) } catch {
            throw Problem.overLimit(
                .rotationInvalid, "a rotation statement is a few hundred bytes; this body is over 64 KiB",
                remedy: "send the file `sealgate keys rotate-unit` wrote")
        }
        guard let text = String(validating: body.readableBytesView, as: UTF8.self), let doc = try? JSON(parsing: text) else {
            throw Problem(
                .rotationInvalid, "the body is not JSON",
                remedy: "send the file `sealgate keys rotate-unit` wrote, unchanged (Content-Type: application/json)")
        }
        let rotation = try UnitKeyRotation(json: doc)
        let grace = config.unitKeyGrace
        let store = self.store
        let (switchAt, until) = try await UnitKeyRotations.apply(rotation, pathUnit: id, store: store, grace: grace, clock: clock)
        context.logger.info("unit \(id) rotated key \(rotation.oldKey.keyIdHex) -> \(rotation.newKey.keyIdHex)")
        return jsonResponse(
            .ok,
            JSON.object([
                "unit": .string(id), "active_key": .string(rotation.newKey.keyIdHex), "old_key": .string(rotation.oldKey.keyIdHex),
                "old_key_state": .string("retiring"), "switch_at": .string(switchAt.text),
                "old_key_valid_until": .string(until.text),
            ]).canonical)
    }
}

func unitJSON(_ s: UnitStatus) -> JSON {
    .object([
        "unit": .string(s.unit.id), "name": .string(s.unit.name), "registered": .string(s.unit.createdAt.text),
        "keys": .array(
            s.keys.map { .object(["key_id": .string($0.keyId), "public_key": .string($0.publicKey), "state": .string($0.state.rawValue)]) }),
        "last_seq": s.lastSeq.map { .int(Int64(bitPattern: $0)) } ?? .null, "last_package": s.lastPackage.map(JSON.string) ?? .null,
        "last_status": s.lastStatus.map { .string($0.rawValue) } ?? .null, "members": .int(Int64(s.members)),
        "organizations": .int(Int64(s.organizations)),
        "packages": .int(Int64(s.packages)),
        "validation": s.lastReceipt.flatMap { try? JSON(parsing: $0) }.flatMap { r -> JSON? in
            guard case .object(var v)? = r["validation"] else { return nil }
            v["findings"] = nil
            return .object(v)
        } ?? .null,
    ])
}
