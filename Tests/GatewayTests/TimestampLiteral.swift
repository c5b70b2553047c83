import SealBase

/// A moment written in a test as the text records keep (`moment("2026-11-29T00:00:00Z")`); a
/// text that is not a moment is a mistake in the test itself and stops it at once.
func moment(_ text: String) -> Timestamp {
    guard let t = Timestamp(text) else { preconditionFailure("not a moment: \(text)") }
    return t
}
