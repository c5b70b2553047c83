import Foundation
public import GatewayCore
import GatewayStore
import Hummingbird
import Logging
import NIOCore
import SealCrypto
import SealPackage
#if canImport(Glibc)
import Glibc
#endif

func datasetJSON(_ d: DatasetRecord) -> JSON {
    .object(["version": .int(Int64(d.version)), "package": .string(d.packageId), "sha256": .string(d.sha256), "size": .int(d.size),
             "members": .int(Int64(d.members)), "organizations": .int(Int64(d.organizations)), "conflicts": .int(Int64(d.conflicts)),
             "created_at": .string(d.createdAt), "state": .string(d.state), "attempts": .int(Int64(d.attempts)),
             "last_error": d.lastError.map(JSON.string) ?? .null, "next_attempt_at": d.nextAttemptAt.map(JSON.string) ?? .null,
             "delivered_at": d.deliveredAt.map(JSON.string) ?? .null, "ack": d.ack.flatMap { try? JSON(parsing: $0) } ?? .null])
}

/// Synthesis, the outbox and the campaign view (admin token required).
func addDatasetRoutes(_ router: Router<BasicRequestContext>, intake: Intake, store: any GatewayStore) {
    @Sendable func admin(_ request: Request) async throws -> Bool {
        guard let t = try await authenticate(request, store: store), t.role == "admin" else { return false }
        return true
    }
    let denied: @Sendable () -> Response = { problem(.unauthorized, code: "unauthorized", detail: "an admin token is required", remedy: "send Authorization: Bearer <admin token> (sealgate tokens create --role admin)") }

    router.get("/v1/datasets") { request, _ -> Response in
        guard try await admin(request) else { return denied() }
        let list = try await blocking { try store.datasets() }
        return jsonResponse(.ok, JSON.array(list.map(datasetJSON)).canonical)
    }
    router.get("/v1/datasets/:version") { request, context -> Response in
        guard try await admin(request) else { return denied() }
        guard let v = UInt64(try context.parameters.require("version")) else {
            return problem(.badRequest, code: "usage", detail: "the version is a number", remedy: "GET /v1/datasets/3")
        }
        guard let d = try await blocking({ try store.dataset(version: v) }) else {
            return problem(.notFound, code: "dataset_unknown", detail: "no dataset version \(v)", remedy: "GET /v1/datasets lists them")
        }
        return jsonResponse(.ok, datasetJSON(d).canonical)
    }
    router.post("/v1/datasets") { request, _ -> Response in
        guard try await admin(request) else { return denied() }
        do {
            let s = try await blocking { try Synthesis.synthesize(data: intake.data, store: store, keys: intake.keys, department: intake.department) }
            guard let d = try await blocking({ try store.dataset(version: s.version) }) else {
                return problem(.internalServerError, code: "store_failure", detail: "the dataset was not recorded", remedy: "check the gateway's log")
            }
            return jsonResponse(.created, datasetJSON(d).canonical)
        } catch let e as SealError {
            return problem(e.code == .handbookUnset || e.code == .datasetEmpty ? .conflict : .internalServerError, code: e.code.rawValue, detail: e.message, remedy: e.remedy)
        }
    }
    router.get("/v1/campaign") { request, _ -> Response in
        guard try await admin(request) else { return denied() }
        return jsonResponse(.ok, try await blocking { try CampaignStatus.build(store: store) }.canonical)
    }
}

/// Streams a request body into a new file (fsynced off the cooperative threads), hashing it on
/// the way when given a hasher; nil (and no file) when it is over `maxBytes`.
func receiveBody(_ request: Request, to path: String, maxBytes: Int, hasher: SHA256Hasher? = nil) async throws -> Int? {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw SealError.io("cannot create \(path)", errno: errno) }
    var size = 0
    do {
        for try await buffer in request.body {
            size += buffer.readableBytes
            if size > maxBytes { close(fd); unlink(path); return nil }
            try buffer.withUnsafeReadableBytes { b in
                hasher?.update(b)
                var done = 0
                while done < b.count {
                    let n = write(fd, b.baseAddress! + done, b.count - done)
                    if n < 0 { if errno == EINTR { continue }; throw SealError.io("write \(path)", errno: errno) }
                    done += n
                }
            }
        }
        let synced = (try? await blocking { fsync(fd) == 0 }) ?? false
        close(fd)
        guard synced else { unlink(path); throw SealError.io("cannot sync \(path)", errno: errno) }
        return size
    } catch {
        close(fd); unlink(path)
        throw error
    }
}

/// The handbook receiver's HTTP API: POST /v1/datasets (a sealed dataset; answers the signed
/// acknowledgement, `Sealgate-Ack-Signature`), GET /v1/datasets (history), GET /v1/health.
public func serveHandbook(receiver: HandbookReceiver, listen: ListenSettings, tls: TLSIdentity? = nil, maxBodyBytes: Int,
                          onRunning: @escaping @Sendable (Int) async -> Void) async throws {
    let router = Router()
    router.get("/v1/health") { _, _ -> Response in
        let c = try await blocking { try receiver.store.counts() }
        let latest = try await blocking { try receiver.store.latest() }
        return jsonResponse(.ok, JSON.object(["status": .string("ok"), "version": latest.map { .int(Int64($0.version)) } ?? .null,
                                              "members": .int(Int64(c.members)), "organizations": .int(Int64(c.organizations)),
                                              "conflicts": .int(Int64(c.conflicts))]).canonical)
    }
    router.get("/v1/datasets") { _, _ -> Response in
        let list = try await blocking { try receiver.store.history() }
        return jsonResponse(.ok, JSON.array(list.map { d in
            JSON.object(["version": .int(Int64(d.version)), "package": .string(d.packageId), "sha256": .string(d.sha256), "received_at": .string(d.receivedAt),
                         "members": .int(Int64(d.members)), "organizations": .int(Int64(d.organizations)), "conflicts": .int(Int64(d.conflicts))])
        }).canonical)
    }
    router.post("/v1/datasets") { request, _ -> Response in
        let path = "\(receiver.incomingPath)/\(PackageIdentifiers.newUUIDv7()).sgp"
        guard try await receiveBody(request, to: path, maxBytes: maxBodyBytes) != nil else {
            return problem(.contentTooLarge, code: "package_too_large", detail: "body over \(maxBodyBytes) bytes", remedy: "raise --max-body")
        }
        let started = Date()
        let a = try await blocking { receiver.receive(path: path) }
        let seconds = Date().timeIntervalSince(started)
        if a.status == 201, let ack = a.ack.flatMap({ try? JSON(parsing: $0) }) {
            FileHandle.standardOutput.write(Data(String(format: "dataset v%lld (%@) imported: %lld members in %.2f s (check+decrypt %.2f s, read+store %.2f s)\n",
                                                        ack["version"]?.int ?? 0, ack["package"]?.string ?? "", ack["members"]?.int ?? 0, seconds,
                                                        a.timings.open, a.timings.store).utf8))
        } else if a.status != 200 {
            FileHandle.standardOutput.write(Data("dataset refused (\(a.status) \(a.code ?? "")): \(a.detail)\n".utf8))
        }
        guard let ack = a.ack, let sig = a.signature else {
            return problem(HTTPResponse.Status(code: a.status), code: a.code ?? "refused", detail: a.detail, remedy: a.remedy)
        }
        var r = jsonResponse(HTTPResponse.Status(code: a.status), ack)
        r.headers[.init("Sealgate-Ack-Signature")!] = Base64.encode(Array(sig.utf8))
        return r
    }
    let app = Application(router: router, server: try listen.serverBuilder(identity: tls),
                          configuration: listen.applicationConfiguration(serverName: "sealgate-handbook"),
                          onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? listen.port) })
    try await app.runService()
}
