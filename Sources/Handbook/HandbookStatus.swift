import SealBase

/// The handbook receiver's one status table: every answer it gives, by what it means, to its
/// HTTP status. Nothing else in the receiver names a status number. Its codes are SealBase's
/// (`SealErrorCode`, "The handbook receiver"); docs/errors.md lists them with these statuses.
enum HandbookStatus {
    /// A dataset imported now (the acknowledgement).
    static let imported = 201
    /// A repeat of a package imported before (its first acknowledgement).
    static let repeated = 200

    /// The receiver's own refusals.
    static let table: [SealErrorCode: Int] = [
        .packageReused: 409, .datasetStale: 409,
        .keyUnknown: 422, .kindNotDataset: 422, .datasetNotFromDepartment: 422, .datasetCount: 422, .datasetMalformed: 422,
        .trustExpired: 503, .packageTooLarge: 413,
    ]

    /// What a refusal whose code comes from the package checks (SealPackage: signatures,
    /// manifest, decryption) or from a fault means, when the table does not list its code.
    enum Otherwise: Int {
        /// The body is not a sealgate package at all.
        case notAPackage = 400
        /// A package the checks refused.
        case refusedByChecks = 422
        /// A fault of the receiver's own.
        case fault = 500
    }

    static func status(_ code: SealErrorCode, otherwise: Otherwise) -> Int { table[code] ?? otherwise.rawValue }
}
