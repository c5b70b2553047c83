@_exported public import SealBase

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

/// A cause known only by its text (OpenSSL's error queue gives a string).
public struct ErrorDetail: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
