public import SealBase
import SealCrypto

/// Error codes of the package format, one per check of spec §5 (see docs/errors.md).
extension SealErrorCode {
    public static let packageTooLarge = SealErrorCode("package_too_large")
    public static let containerMalformed = SealErrorCode("container_malformed")
    // signature_malformed comes from SealCrypto
    public static let keyUnknown = SealErrorCode("key_unknown")
    public static let commentMalformed = SealErrorCode("comment_malformed")
    public static let unitMismatch = SealErrorCode("unit_mismatch")
    // signature_invalid / comment_signature_invalid come from SealCrypto
    public static let recipientNotAccepted = SealErrorCode("recipient_not_accepted")
    // age_* codes come from SealCrypto (decryption)
    public static let payloadMalformed = SealErrorCode("payload_malformed")
    public static let manifestMismatch = SealErrorCode("manifest_mismatch")
    public static let fileHashMismatch = SealErrorCode("file_hash_mismatch")
    public static let recordCountMismatch = SealErrorCode("record_count_mismatch")
    public static let outputExists = SealErrorCode("output_exists")
    public static let inputChanged = SealErrorCode("input_changed")
}

extension SealError {
    static func container(_ why: String) -> SealError {
        SealError(
            .containerMalformed, "package container is malformed: \(why)",
            remedy: "a package is a ustar archive of exactly package.minisig then payload.age; ask the sender to seal it again with `sealgate seal`")
    }
    static func comment(_ why: String) -> SealError {
        SealError(
            .commentMalformed, "trusted comment is malformed: \(why)",
            remedy: "the package was not sealed by a sealgate/1 sealer; ask the sender to seal it again with `sealgate seal`")
    }
    static func payload(_ why: String) -> SealError {
        SealError(
            .payloadMalformed, "payload archive is malformed: \(why)",
            remedy: "the payload inside the encryption is not a valid sealgate payload; ask the sender to seal it again")
    }
}
