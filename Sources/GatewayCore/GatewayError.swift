public import SealBase
public import SealCrypto

/// Shorthand for the gateway's errors (they are `SealError`s, with a stable code).
public func GatewayError(_ code: SealErrorCode, _ message: String, remedy: String, cause: (any Error)? = nil) -> SealError {
    SealError(code, message, remedy: remedy, cause: cause)
}
