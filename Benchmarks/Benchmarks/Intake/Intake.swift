import Benchmark
import Foundation
import GatewayCore
import GatewayStore
import MicroFixtures
import SealCrypto
import SealPackage

/// A gateway without HTTP: a data folder and its SQLite store in a temporary folder, the
/// department's keys (unencrypted), one registered unit, and the intake over them — as the
/// in-process route tests build it (Tests/GatewayTests/RouteTests.swift).
final class Gateway: @unchecked Sendable {
    let fixture: UnitFixture
    let intake: Intake
    let recipients: [any AgeKeyRecipient]
    private var seq: UInt64 = 0

    init(members: Int) async throws {
        fixture = try UnitFixture(members: members)
        let dir = DataDirectory(fixture.folder + "/gateway")
        try await dir.initialize(department: "HCM-DTCD", intakeURL: "http://127.0.0.1:8080", passphrase: nil)
        let store = try await dir.openStore()
        let key = fixture.signer.publicKey
        let now = Timestamp.now
        try await store.addUnit(
            UnitRecord(id: fixture.unit, name: "benchmark", createdAt: now),
            key: UnitKeyRecord(keyId: key.keyIdHex, unitId: fixture.unit, publicKey: key.base64, state: .active, addedAt: now),
            logBody: JSON.object(["unit": .string(fixture.unit), "key_id": .string(key.keyIdHex)]).canonical)
        let keys = try DepartmentKeys.load(dir, passphrase: { SecureBytes(count: 0) })
        recipients = keys.recipients.map(\.keyRecipient)
        intake = try await Intake(data: dir, store: store, keys: keys, department: "HCM-DTCD")
    }

    /// The unit's next package, sealed (not measured).
    func nextPackage() throws -> String {
        seq += 1
        try? FileManager.default.removeItem(atPath: "\(fixture.folder)/next.sgp")
        return try fixture.seal(seq: seq, to: recipients, name: "next.sgp")
    }

    /// A package received into the spool's incoming area and admitted (verified, spooled as pending).
    func admit(_ package: String) async throws -> Int64 {
        let body = try intake.admission.receiveFile(package)
        let admission = try await intake.admission.admit(
            incoming: body.path, sha256: body.sha256, size: body.size, tokenUnit: fixture.unit, viewer: .unit(fixture.unit))
        guard case .admitted(.recorded(let entry, _)) = admission else { throw BenchmarkFailure("not admitted: \(admission)") }
        return entry.id
    }

    /// A small package as the HTTP intake takes it into memory: its bytes and their head.
    func small(_ package: String) throws -> (body: [UInt8], peek: PackagePeek?) {
        let body = [UInt8](try Data(contentsOf: URL(fileURLWithPath: package)))
        var collector = PackagePeek.Collector()
        return (body, try collector.feed(body))
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident, .throughput],
        timeUnits: .microseconds, maxDuration: .seconds(4), maxIterations: 2_000)
    Benchmark.teardown = { UnitFixture.removeAll() }

    // The decision on one admitted small package (one cell, 5 members): the key checked again,
    // the seq, open into a folder, the records validated and imported, the log entry, the signed
    // receipt, one transaction committed (SQLite, synchronous as configured, fsync included).
    // Sealing, receiving and admitting the package come before the measurement.
    Benchmark("intake decision (5 members, SQLite)") { benchmark, gateway in
        do {
            let package = try gateway.nextPackage()
            let spoolId = try await gateway.admit(package)
            benchmark.startMeasurement()
            let result = try await gateway.intake.decision.process(spoolId: spoolId)
            benchmark.stopMeasurement()
            guard result.kind == .accepted else { throw BenchmarkFailure("decided \(result.kind): \(result.outcome.code ?? "")") }
        } catch { benchmark.error("\(error)") }
    } setup: {
        try await Gateway(members: 5)
    }

    // The door before it: the body copied into the spool's incoming area (hashed, fsynced), its
    // head and key checked, the signature verified, renamed into the spool, recorded as pending.
    Benchmark("intake admission (5 members, SQLite)") { benchmark, gateway in
        do {
            let package = try gateway.nextPackage()
            benchmark.startMeasurement()
            let spoolId = try await gateway.admit(package)
            benchmark.stopMeasurement()
            await gateway.intake.decision.forget(spoolId: spoolId)
        } catch { benchmark.error("\(error)") }
    } setup: {
        try await Gateway(members: 5)
    }

    // A small package as the HTTP intake takes it (in memory, at most 64 KiB): the head and key
    // checked, the signature verified from memory (`admit(small:)`), then its decision, whose one
    // transaction records the body with it (`process(verified:)`), the log head written.
    Benchmark("intake small package, admission and decision (5 members, SQLite)") { benchmark, gateway in
        do {
            let (body, peek) = try gateway.small(try gateway.nextPackage())
            benchmark.startMeasurement()
            let admission = try await gateway.intake.admission.admit(
                small: body, peek: peek, tokenUnit: gateway.fixture.unit, viewer: .unit(gateway.fixture.unit))
            guard case .admitted(let admitted) = admission else { throw BenchmarkFailure("not admitted: \(admission)") }
            let result = try await gateway.intake.decision.process(admitted)
            benchmark.stopMeasurement()
            guard result.kind == .accepted else { throw BenchmarkFailure("decided \(result.kind): \(result.outcome.code ?? "")") }
        } catch { benchmark.error("\(error)") }
    } setup: {
        try await Gateway(members: 5)
    }

    // The department's receipt signature (`Receipt.sign`): the canonical JSON of a receipt body of
    // about 1.9 KB, BLAKE2b of it and the minisign signature with the receipt key.
    Benchmark("receipt sign (Receipt.sign, 1.9 KB body)") { benchmark, key in
        var fields: [String: JSON] = [:]
        for (k, v) in Samples.receiptFields {
            if k == "inclusion" {
                fields[k] = .array(v.split(separator: "\u{1}").map { .string(String($0)) })
            } else if let n = Int64(v), k != "package" {
                fields[k] = .int(n)
            } else {
                fields[k] = .string(v)
            }
        }
        let body = JSON.object(fields)
        for _ in benchmark.scaledIterations {
            do { blackHole(try Receipt.sign(body, key: key)) } catch { benchmark.error("\(error)") }
        }
    } setup: {
        MinisignSecretKey.generate()
    }
}
