public import SealBase
public import SealCrypto

/// Error codes of the gateway (docs/errors.md); package-check codes come from SealPackage.
extension SealErrorCode {
    public static let malformedDocument = SealErrorCode("malformed_document")
    public static let dataDirectory = SealErrorCode("data_directory")
    /// Another `serve` already serves this data folder's spool.
    public static let spoolLocked = SealErrorCode("spool_locked")
    public static let unitExists = SealErrorCode("unit_exists")
    public static let unitUnknown = SealErrorCode("unit_unknown")
    public static let keyState = SealErrorCode("key_state")
    public static let seqConflict = SealErrorCode("seq_conflict")
    public static let seqNotIncreasing = SealErrorCode("seq_not_increasing")
    public static let seqOutOfRange = SealErrorCode("seq_out_of_range")
    public static let recordsInvalidAtIntake = SealErrorCode("records_invalid")
    public static let trustInvalid = SealErrorCode("trust_invalid")
    public static let trustExpired = SealErrorCode("trust_expired")
    public static let trustRollback = SealErrorCode("trust_rollback")
    public static let receiptInvalid = SealErrorCode("receipt_invalid")
    public static let unauthorized = SealErrorCode("unauthorized")
    public static let storeFailure = SealErrorCode("store_failure")
    public static let recipientRetired = SealErrorCode("recipient_retired")
}

/// Shorthand for the gateway's errors (they are `SealError`s, with a stable code).
public func GatewayError(_ code: SealErrorCode, _ message: String, remedy: String, cause: (any Error)? = nil) -> SealError {
    SealError(code, message, remedy: remedy, cause: cause)
}
