import GatewayStore
import Testing

/// Runs each test of a suite inside `withStoreClients`, so that the PostgreSQL stores it opens
/// have their client running (as the command's and `serve`'s scopes do).
struct StoreClientsScope: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }
    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        guard testCase != nil else { return try await function() }
        try await withStoreClients { try await function() }
    }
}

extension Trait where Self == StoreClientsScope {
    /// The PostgreSQL clients of the stores a test opens run for the test's duration.
    static var storeClients: Self { StoreClientsScope() }
}
