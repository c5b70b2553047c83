/// A stable, machine-readable error code. Codes are the contract: receipts, HTTP problem
/// responses, exit statuses and tests carry them. New codes may be added; existing ones never
/// change meaning.
public struct SealErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}
