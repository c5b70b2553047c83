import Testing

@testable import GatewayHTTP

/// `trimmedOWS`: HTTP's optional whitespace (spaces and tabs) is taken off both ends of a header
/// value, nothing else — not a Unicode space, not inside — and the slice ends on a character.
@Suite struct HeaderTrimTests {
    @Test func spacesAndTabsAtBothEndsOnly() {
        for (value, trimmed) in [
            ("", ""), ("   ", ""), ("\t \t", ""), ("12", "12"), ("  12 \t", "12"), ("\t1 2\t", "1 2"), ("\u{A0}12\u{A0}", "\u{A0}12\u{A0}"),
            (" đồng ", "đồng"), ("tôi\u{2003} ", "tôi\u{2003}"), (" 👍🏽 ", "👍🏽"),
        ] {
            #expect(String(trimmedOWS(value[...])) == trimmed, "\(value.debugDescription)")
        }
        let inner = "xx  7680 \tyy".dropFirst(2).dropLast(2)
        #expect(String(trimmedOWS(inner)) == "7680")
    }
}
