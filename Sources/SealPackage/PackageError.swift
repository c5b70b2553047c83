public import SealBase
import SealCrypto

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
