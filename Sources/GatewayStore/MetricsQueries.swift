public import SealBase

/// The few cheap reads the gateway's metrics make at scrape time that the `GatewayStore`
/// protocol does not answer (GatewayHTTP's `MetricsScrape`; cached a few seconds there).
extension SQLGatewayStore {
    /// The newest checkpoint's size and when it was signed; nil while none was.
    public func latestCheckpointSigned() async throws -> (size: Int64, at: Timestamp)? {
        try await driver.read { c in
            try await c.row("SELECT size, created_at FROM checkpoints ORDER BY size DESC LIMIT 1").map {
                (try $0.int("size"), try $0.timestamp("created_at"))
            }
        }
    }
}
