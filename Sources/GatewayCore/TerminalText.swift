/// Text that comes from elsewhere — an operator's reason in the log, a handbook endpoint's
/// answer kept as a dataset's last error — made fit to print on the operator's terminal.
public enum TerminalText {
    /// Control characters (a terminal's escape sequences, C1 controls, line breaks), format
    /// characters (bidirectional overrides) and line or paragraph separators shown as `�`; at most
    /// `limit` characters, then `…`.
    public static func shown(_ text: String, limit: Int = 200) -> String {
        let cleaned = String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { s in
                    switch s.properties.generalCategory {
                    case .control, .format, .lineSeparator, .paragraphSeparator: "\u{FFFD}"
                    default: s
                    }
                }))
        return cleaned.count > limit ? String(cleaned.prefix(limit)) + "…" : cleaned
    }
}
