import Foundation
import GatewayCore
import GatewayHTTP
import SealCrypto
import TestSupport
import Testing

/// The gateway server itself when its address is taken after `serve`'s early check (another
/// process won the race): the failure is `listen_failed`, and no background role took its lease.
@Suite struct ServerListenTests {
    @Test func aServerThatCannotBindIsListenFailedAndTakesNoLease() async throws {
        let path = NSTemporaryDirectory() + "sealgate-listen-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }  // lint: allow try? — cleanup
        let dir = DataDirectory(path)
        try await dir.initialize(department: "HCM-DTCD", intakeURL: "http://127.0.0.1:8080", passphrase: nil)
        let store = try await dir.openStore()
        let keys = try DepartmentKeys.load(dir, passphrase: { SecureBytes(count: 0) })
        let intake = try await Intake(data: dir, store: store, keys: keys, department: "HCM-DTCD")
        let occupant = try PortOccupant()
        var config = GatewayServerConfig()
        config.listen.port = occupant.port

        var caught: (any Error)?
        do { try await serveGateway(intake: intake, store: store, config: config) { _ in } } catch { caught = error }
        let e = try #require(caught as? SealError, "\(String(describing: caught))")
        #expect(e.code == .listenFailed)
        #expect(e.message.contains("127.0.0.1:\(occupant.port)") && e.message.contains("in use"), "\(e.message)")
        // The forwarder, the checkpoint signer and synthesis wait for the listener: no lease file
        // beside the database.
        let leases = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".lease") }
        #expect(leases.isEmpty, "\(leases)")
    }
}
