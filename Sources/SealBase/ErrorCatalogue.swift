// Every stable error code, in one list (docs/errors.md describes each; the HTTP status each is
// answered with is in one table, `Problem.status(for:)` in GatewayHTTP). A code is declared here
// and nowhere else — the crypto, the package format, the store, the gateway, the clients and the
// command line all name their refusals from this list, so that `SealError` and `StoreError`
// share one code space. StatusTableTests holds the list to the sources, the table and the doc.
// Codes are the contract: never change a raw value; add new ones (with their docs/errors.md line).
extension SealErrorCode {
    // MARK: Generic (every layer)

    public static let ioError = SealErrorCode("io_error")
    public static let cryptoFailure = SealErrorCode("crypto_failure")
    public static let usage = SealErrorCode("usage")

    // MARK: Keys (SealCrypto)

    public static let keyMalformed = SealErrorCode("key_malformed")
    public static let keyUnsupported = SealErrorCode("key_unsupported")
    public static let keyWrongPassphrase = SealErrorCode("key_wrong_passphrase")
    public static let keyFilePermissions = SealErrorCode("key_file_permissions")
    public static let keyFileExists = SealErrorCode("key_file_exists")
    public static let passphraseRequired = SealErrorCode("passphrase_required")

    // MARK: minisign signatures (SealCrypto)

    public static let signatureMalformed = SealErrorCode("signature_malformed")
    public static let signatureKeyMismatch = SealErrorCode("signature_key_mismatch")
    public static let signatureInvalid = SealErrorCode("signature_invalid")
    public static let commentSignatureInvalid = SealErrorCode("comment_signature_invalid")

    // MARK: age (SealCrypto)

    public static let ageArmorMalformed = SealErrorCode("age_armor_malformed")
    public static let ageHeaderMalformed = SealErrorCode("age_header_malformed")
    public static let ageUnsupportedVersion = SealErrorCode("age_unsupported_version")
    public static let ageUnsupportedRecipient = SealErrorCode("age_unsupported_recipient")
    public static let ageNoMatchingIdentity = SealErrorCode("age_no_matching_identity")
    public static let ageHeaderMACMismatch = SealErrorCode("age_header_mac_mismatch")
    public static let agePayloadCorrupt = SealErrorCode("age_payload_corrupt")
    public static let ageRecipientMalformed = SealErrorCode("age_recipient_malformed")
    /// Post-quantum (age1pq1…) and classical (age1…) recipients given for one package.
    public static let ageRecipientsMixed = SealErrorCode("age_recipients_mixed")

    // MARK: Keys on tokens (PKCS#11)

    /// The token's module cannot be loaded, the token is absent, or it failed a call.
    public static let tokenUnavailable = SealErrorCode("token_unavailable")
    /// The token refused the PIN, or the PIN is locked.
    public static let tokenPinRefused = SealErrorCode("token_pin_refused")
    /// No Ed25519 key on the token matches the URI.
    public static let tokenKeyMissing = SealErrorCode("token_key_missing")

    // MARK: Opening a package (SealPackage), in the order the checks run

    public static let packageTooLarge = SealErrorCode("package_too_large")
    public static let containerMalformed = SealErrorCode("container_malformed")
    public static let keyUnknown = SealErrorCode("key_unknown")
    public static let commentMalformed = SealErrorCode("comment_malformed")
    public static let unitMismatch = SealErrorCode("unit_mismatch")
    public static let recipientNotAccepted = SealErrorCode("recipient_not_accepted")
    public static let payloadMalformed = SealErrorCode("payload_malformed")
    public static let manifestMismatch = SealErrorCode("manifest_mismatch")
    public static let fileHashMismatch = SealErrorCode("file_hash_mismatch")
    public static let recordCountMismatch = SealErrorCode("record_count_mismatch")
    public static let outputExists = SealErrorCode("output_exists")
    public static let inputChanged = SealErrorCode("input_changed")

    // MARK: Records

    /// `seal` or the intake found errors in the records.
    public static let recordsInvalid = SealErrorCode("records_invalid")
    /// `validate`/`normalize`: the records folder cannot be read.
    public static let recordsUnreadable = SealErrorCode("records_unreadable")
    /// A .xlsx workbook that is not one: not a zip, broken XML, a part missing, a cell outside Excel's grid.
    public static let workbookMalformed = SealErrorCode("workbook_malformed")
    /// A .xlsx workbook over a bound (a part's size, the shared strings, the columns of a row).
    public static let workbookTooLarge = SealErrorCode("workbook_too_large")
    /// A .xlsx workbook built to harm its reader: a zip bomb, a DOCTYPE or entity, a member name leaving the archive.
    public static let workbookUnsafe = SealErrorCode("workbook_unsafe")

    // MARK: Transparency log

    public static let checkpointInvalid = SealErrorCode("checkpoint_invalid")
    public static let logInconsistent = SealErrorCode("log_inconsistent")
    public static let logMismatch = SealErrorCode("log_mismatch")
    public static let logFork = SealErrorCode("log_fork")
    /// `log verify --state`: a valid declaration abandons the checkpoint the auditor holds; the
    /// auditor reads it and decides, the state file kept until it does.
    public static let logForkDeclared = SealErrorCode("log_fork_declared")
    public static let logBehind = SealErrorCode("log_behind")

    // MARK: Talking to a server (GatewayClient)

    public static let httpError = SealErrorCode("http_error")
    public static let httpTimeout = SealErrorCode("http_timeout")
    public static let tlsUntrusted = SealErrorCode("tls_untrusted")
    public static let tlsFailed = SealErrorCode("tls_failed")
    public static let responseTooLarge = SealErrorCode("response_too_large")
    public static let tlsClientRefused = SealErrorCode("tls_client_refused")

    // MARK: The servers and their HTTP layer

    /// A server cannot listen at its address: the port is in use or needs a privilege, or the
    /// host is not this machine's or does not resolve.
    public static let listenFailed = SealErrorCode("listen_failed")
    public static let tlsSetup = SealErrorCode("tls_setup")
    public static let badParameter = SealErrorCode("bad_parameter")
    /// The request itself is malformed (request line, headers, framing).
    public static let badRequest = SealErrorCode("bad_request")
    /// No such route.
    public static let notFound = SealErrorCode("not_found")
    public static let methodNotAllowed = SealErrorCode("method_not_allowed")
    /// The HTTP layer refused a body over its limit (a route's own limit is the route's code).
    public static let bodyTooLarge = SealErrorCode("body_too_large")
    /// The server failed to answer (a bug).
    public static let internalError = SealErrorCode("internal_error")
    public static let unauthorized = SealErrorCode("unauthorized")
    public static let forbidden = SealErrorCode("forbidden")
    /// The dashboard's sign-in: too many failed attempts on this gateway process within a minute.
    public static let signinThrottled = SealErrorCode("signin_throttled")

    // MARK: The gateway

    public static let malformedDocument = SealErrorCode("malformed_document")
    public static let dataDirectory = SealErrorCode("data_directory")
    /// Another `serve` already serves this data folder's spool.
    public static let spoolLocked = SealErrorCode("spool_locked")
    public static let unitExists = SealErrorCode("unit_exists")
    public static let unitUnknown = SealErrorCode("unit_unknown")
    public static let keyExists = SealErrorCode("key_exists")
    /// A key is not in the state the request needs (a package signed by a key that is no longer
    /// active; a rotation or revocation naming such a key).
    public static let keyState = SealErrorCode("key_state")
    public static let seqConflict = SealErrorCode("seq_conflict")
    public static let seqNotIncreasing = SealErrorCode("seq_not_increasing")
    public static let seqOutOfRange = SealErrorCode("seq_out_of_range")
    public static let correctionsTooMany = SealErrorCode("corrections_too_many")
    public static let kindNotAccepted = SealErrorCode("kind_not_accepted")
    public static let tokenUnitMismatch = SealErrorCode("token_unit_mismatch")
    public static let recipientRetired = SealErrorCode("recipient_retired")
    public static let packageUnknown = SealErrorCode("package_unknown")
    /// Any other fault of the gateway's own while deciding a verified body.
    public static let intakeFault = SealErrorCode("intake_fault")
    public static let rotationInvalid = SealErrorCode("rotation_invalid")
    public static let rotationSignatureInvalid = SealErrorCode("rotation_signature_invalid")
    public static let flagUnknown = SealErrorCode("flag_unknown")
    public static let flagResolved = SealErrorCode("flag_resolved")
    public static let reasonInvalid = SealErrorCode("reason_invalid")
    public static let tokenUnknown = SealErrorCode("token_unknown")
    public static let tokenRevoked = SealErrorCode("token_revoked")
    public static let trustMissing = SealErrorCode("trust_missing")
    public static let trustInvalid = SealErrorCode("trust_invalid")
    public static let trustExpired = SealErrorCode("trust_expired")
    public static let trustRollback = SealErrorCode("trust_rollback")
    public static let receiptInvalid = SealErrorCode("receipt_invalid")
    public static let backupInvalid = SealErrorCode("backup_invalid")

    // MARK: Synthesis and forwarding

    public static let handbookUnset = SealErrorCode("handbook_unset")
    public static let datasetExists = SealErrorCode("dataset_exists")
    public static let datasetEmpty = SealErrorCode("dataset_empty")
    public static let datasetUnknown = SealErrorCode("dataset_unknown")
    public static let forwardFailed = SealErrorCode("forward_failed")
    public static let datasetMissing = SealErrorCode("dataset_missing")
    public static let ackInvalid = SealErrorCode("ack_invalid")
    public static let datasetMalformed = SealErrorCode("dataset_malformed")

    // MARK: The handbook receiver

    /// A version not newer than the one imported.
    public static let datasetStale = SealErrorCode("dataset_stale")
    /// A dataset's files do not hold the rows its manifest counts.
    public static let datasetCount = SealErrorCode("dataset_count")
    /// A known package id with other bytes.
    public static let packageReused = SealErrorCode("package_reused")
    /// A fault of the receiver's own.
    public static let handbookFailure = SealErrorCode("handbook_failure")
    public static let kindNotDataset = SealErrorCode("kind_not_dataset")
    public static let datasetNotFromDepartment = SealErrorCode("dataset_not_from_department")

    // MARK: The store (GatewayStore's `StoreError`)

    /// The database cannot be reached or did not answer: nothing was recorded; try again.
    public static let storeUnavailable = SealErrorCode("store_unavailable")
    /// The database refused or failed an operation it should have done.
    public static let storeFailure = SealErrorCode("store_failure")
    /// The `--database` URL is not one the store can use.
    public static let databaseURL = SealErrorCode("database_url")
    /// A driver's unique-constraint refusal, before the store names what exists.
    public static let uniqueViolation = SealErrorCode("unique_violation")
    /// Another process decided the same (unit, seq) meanwhile: decide again.
    public static let seqTaken = SealErrorCode("seq_taken")
    public static let noSnapshot = SealErrorCode("no_snapshot")
    public static let correctionField = SealErrorCode("correction_field")
    public static let correctionConflict = SealErrorCode("correction_conflict")
    public static let trustVersion = SealErrorCode("trust_version")
    public static let datasetUnreadable = SealErrorCode("dataset_unreadable")
    public static let datasetUnwritable = SealErrorCode("dataset_unwritable")
    public static let datasetIncomplete = SealErrorCode("dataset_incomplete")

    // MARK: The unit's profile and desk (UnitWork)

    /// `sealgate-unit.json` cannot be read as a unit profile.
    public static let profileInvalid = SealErrorCode("profile_invalid")
    /// `unit init` found a profile already in the folder.
    public static let profileExists = SealErrorCode("profile_exists")
    /// A command that needs the unit profile found none.
    public static let profileMissing = SealErrorCode("profile_missing")

    /// Every code, once: what the status table, docs/errors.md and the sources are checked against.
    public static let catalogue: [SealErrorCode] = [
        .ioError, .cryptoFailure, .usage,
        .keyMalformed, .keyUnsupported, .keyWrongPassphrase, .keyFilePermissions, .keyFileExists, .passphraseRequired,
        .signatureMalformed, .signatureKeyMismatch, .signatureInvalid, .commentSignatureInvalid,
        .ageArmorMalformed, .ageHeaderMalformed, .ageUnsupportedVersion, .ageUnsupportedRecipient, .ageNoMatchingIdentity,
        .ageHeaderMACMismatch, .agePayloadCorrupt, .ageRecipientMalformed, .ageRecipientsMixed, .tokenUnavailable, .tokenPinRefused,
        .tokenKeyMissing,
        .packageTooLarge, .containerMalformed, .keyUnknown, .commentMalformed, .unitMismatch, .recipientNotAccepted, .payloadMalformed,
        .manifestMismatch, .fileHashMismatch, .recordCountMismatch, .outputExists, .inputChanged,
        .recordsInvalid, .recordsUnreadable, .workbookMalformed, .workbookTooLarge, .workbookUnsafe,
        .checkpointInvalid, .logInconsistent, .logMismatch, .logFork, .logForkDeclared, .logBehind,
        .httpError, .httpTimeout, .tlsUntrusted, .tlsFailed, .responseTooLarge, .tlsClientRefused,
        .listenFailed, .tlsSetup, .badParameter, .badRequest, .notFound, .methodNotAllowed, .bodyTooLarge, .internalError,
        .unauthorized, .forbidden, .signinThrottled,
        .malformedDocument, .dataDirectory, .spoolLocked, .unitExists, .unitUnknown, .keyExists, .keyState, .seqConflict,
        .seqNotIncreasing, .seqOutOfRange, .correctionsTooMany, .kindNotAccepted, .tokenUnitMismatch, .recipientRetired,
        .packageUnknown, .intakeFault, .rotationInvalid, .rotationSignatureInvalid, .flagUnknown, .flagResolved, .reasonInvalid,
        .tokenUnknown, .tokenRevoked, .trustMissing, .trustInvalid, .trustExpired, .trustRollback, .receiptInvalid, .backupInvalid,
        .handbookUnset, .datasetExists, .datasetEmpty, .datasetUnknown, .forwardFailed, .datasetMissing, .ackInvalid, .datasetMalformed,
        .datasetStale, .datasetCount, .packageReused, .handbookFailure, .kindNotDataset, .datasetNotFromDepartment,
        .storeUnavailable, .storeFailure, .databaseURL, .uniqueViolation, .seqTaken, .noSnapshot, .correctionField,
        .correctionConflict, .trustVersion, .datasetUnreadable, .datasetUnwritable, .datasetIncomplete,
        .profileInvalid, .profileExists, .profileMissing,
    ]
}
