/// The program's version: what `sealgate --version` prints and every HTTP request names in its
/// `User-Agent` (sealgate/VERSION) — one constant, so the two cannot differ.
public enum SealgateVersion {
    public static let current = "0.2.0"
    public static var userAgent: String { "sealgate/\(current)" }
}
