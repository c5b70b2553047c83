public import SealBase

/// The one public error type of sealgate's libraries.
///
/// `description` holds the code, a message and what to do about it; it never holds secrets or
/// personal data. `cause` keeps the lower-level error (a system call's errno, an OpenSSL or TLS
/// error, a driver's error) for the operator; `debugDescription` adds it.
public struct SealError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The stable code (see `docs/errors.md`).
    public let code: SealErrorCode
    /// What went wrong, in one sentence.
    public let message: String
    /// What to do about it, in one sentence.
    public let remedy: String
    /// The lower-level error that caused this one (a system call, OpenSSL, TLS, the store);
    /// never a secret.
    public let cause: (any Error)?
    /// The cause, as the operator reads it.
    public var underlying: String? { cause.map { String(describing: $0) } }

    public init(_ code: SealErrorCode, _ message: String, remedy: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.remedy = remedy
        self.cause = cause
    }

    public var description: String { "\(code): \(message) — \(remedy)" }
    public var debugDescription: String {
        underlying.map { "\(description) [\($0)]" } ?? description
    }
}

extension SealErrorCode {
    // Generic
    public static let ioError = SealErrorCode("io_error")
    public static let cryptoFailure = SealErrorCode("crypto_failure")
    public static let usage = SealErrorCode("usage")

    // Keys
    public static let keyMalformed = SealErrorCode("key_malformed")
    public static let keyUnsupported = SealErrorCode("key_unsupported")
    public static let keyWrongPassphrase = SealErrorCode("key_wrong_passphrase")
    public static let keyFilePermissions = SealErrorCode("key_file_permissions")
    public static let keyFileExists = SealErrorCode("key_file_exists")
    public static let passphraseRequired = SealErrorCode("passphrase_required")

    // minisign signatures
    public static let signatureMalformed = SealErrorCode("signature_malformed")
    public static let signatureKeyMismatch = SealErrorCode("signature_key_mismatch")
    public static let signatureInvalid = SealErrorCode("signature_invalid")
    public static let commentSignatureInvalid = SealErrorCode("comment_signature_invalid")

    // age
    public static let ageArmorMalformed = SealErrorCode("age_armor_malformed")
    public static let ageHeaderMalformed = SealErrorCode("age_header_malformed")
    public static let ageUnsupportedVersion = SealErrorCode("age_unsupported_version")
    public static let ageUnsupportedRecipient = SealErrorCode("age_unsupported_recipient")
    public static let ageNoMatchingIdentity = SealErrorCode("age_no_matching_identity")
    public static let ageHeaderMACMismatch = SealErrorCode("age_header_mac_mismatch")
    public static let agePayloadCorrupt = SealErrorCode("age_payload_corrupt")
    public static let ageRecipientMalformed = SealErrorCode("age_recipient_malformed")
}

/// A cause known only by its text (OpenSSL's error queue gives a string).
public struct ErrorDetail: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
